//! The OS user of the process, from the real uid through the password database — never
//! `$USER`, which anyone can set. (When etcd auth is on, the store's user wins; see store.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    /// `etcd-auth` or `os`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    pub host: String,
    /// `SSH_CONNECTION`'s client address and port, when the console runs over SSH: on a
    /// bastion it tells which workstation the person came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
}

impl Identity {
    pub fn os() -> Identity {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Identity {
            name: user_name(uid).unwrap_or_else(|| format!("uid:{uid}")),
            source: "os".into(),
            uid: Some(uid),
            host: host_name(),
            ssh: std::env::var("SSH_CONNECTION")
                .ok()
                .map(|s| s.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty()),
        }
    }
}

fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers point at live buffers of the sizes given; getpwuid_r writes
    // only inside them and sets `result` to `&pwd` or null.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name is a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_user_does_not_come_from_the_environment() {
        let real = Identity::os();
        // SAFETY: single-threaded test section; nothing else reads USER concurrently here.
        unsafe { std::env::set_var("USER", "mallory") };
        let again = Identity::os();
        assert_eq!(real.name, again.name);
        assert_ne!(again.name, "mallory");
        assert_eq!(again.source, "os");
    }
}
