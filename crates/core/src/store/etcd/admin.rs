//! etcd's own users and roles for flightdeck (DESIGN.md §3, §5), for `flightdeck admin`:
//! the controller's read-write role, one role per person (read the prefix, write their own
//! `requests/<name>/`), one empty role per group, and etcd auth switched on. Everything is
//! idempotent, so a command that failed halfway can simply be run again.
//!
//! Also [`cert_common_name`]: who a client certificate says it is (etcd's
//! `--client-cert-auth` takes the subject's common name as the user).

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, GetOptions, Permission, UserAddOptions};
use serde_json::Value;

use super::{bounded, map_error, tls_options};
use crate::domain::user::CONTROLLER_USER;
use crate::store::StoreError;
use crate::store::config::{Backend as BackendKind, StoreConfig};

/// etcd's administrator: user and role.
pub const ROOT: &str = "root";

/// The role that makes `name` a flightdeck user.
pub fn user_role(name: &str) -> String {
    format!("flightdeck-user-{name}")
}

/// The role that puts a user in group `group` (it grants nothing by itself).
pub fn group_role(group: &str) -> String {
    format!("flightdeck-group-{group}")
}

/// The group a role name stands for, if it is a group role.
pub fn group_of_role(role: &str) -> Option<&str> {
    role.strip_prefix("flightdeck-group-")
}

/// What a role may do with its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

/// A connection to etcd for managing auth, made from the same [`StoreConfig`] (endpoints,
/// TLS, user and password) as the store's own.
pub struct EtcdAdmin {
    client: Client,
    prefix: String,
    at: String,
    /// Who we are: the `--etcd-user`, else the certificate's common name, else nobody.
    user: Option<String>,
    tls: bool,
    timeout: Duration,
    options: ConnectOptions,
    endpoints: Vec<String>,
    /// Whether etcd refused our login because auth is still off.
    auth_off_at_login: bool,
}

fn message(e: &etcd_client::Error) -> String {
    match e {
        etcd_client::Error::GRpcStatus(s) => s.message().to_string(),
        other => other.to_string(),
    }
}

impl EtcdAdmin {
    /// Connects as the config says. A login etcd turns down only because auth is not on
    /// yet (the state `admin init` starts from) falls back to no login.
    pub async fn connect(cfg: &StoreConfig) -> Result<EtcdAdmin, StoreError> {
        let BackendKind::Etcd { endpoints } = &cfg.backend else {
            return Err(StoreError::Invalid(
                "admin commands need an etcd store: pass --store etcd://host:2379".to_string(),
            ));
        };
        let o = &cfg.options;
        let mut base = ConnectOptions::new()
            .with_connect_timeout(o.dial_timeout)
            .with_timeout(o.request_timeout);
        if cfg.tls() {
            base = base.with_tls(tls_options(cfg)?);
        }
        let at = endpoints.join(",");
        let tls = cfg.tls();
        let cert_user = match &o.cert {
            Some(path) if o.user.is_none() => {
                let pem = std::fs::read(path).map_err(|e| {
                    StoreError::Invalid(format!("cannot read --etcd-cert {}: {e}", path.display()))
                })?;
                Some(cert_common_name(&pem)?)
            }
            _ => None,
        };
        let mut auth_off_at_login = false;
        let mut user = o.user.clone().or(cert_user);
        let client = match &o.user {
            Some(u) => {
                let with_user = base
                    .clone()
                    .with_user(u, o.password.clone().unwrap_or_default());
                match bounded(
                    o.request_timeout,
                    &at,
                    Client::connect(endpoints, Some(with_user)),
                )
                .await?
                {
                    Ok(c) => c,
                    Err(e) if message(&e).contains("authentication is not enabled") => {
                        auth_off_at_login = true;
                        user = None;
                        bounded(
                            o.request_timeout,
                            &at,
                            Client::connect(endpoints, Some(base.clone())),
                        )
                        .await?
                        .map_err(|e| map_error(e, &at, None, tls))?
                    }
                    Err(e) => return Err(map_error(e, &at, Some(u), tls)),
                }
            }
            None => bounded(
                o.request_timeout,
                &at,
                Client::connect(endpoints, Some(base.clone())),
            )
            .await?
            .map_err(|e| map_error(e, &at, user.as_deref(), tls))?,
        };
        Ok(EtcdAdmin {
            client,
            prefix: o.prefix.clone(),
            at,
            user,
            tls,
            timeout: o.request_timeout,
            options: base,
            endpoints: endpoints.clone(),
            auth_off_at_login,
        })
    }

    /// The store's key prefix (ends with `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Who this connection acts as, if anyone (login or certificate).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    fn error(&self, e: etcd_client::Error) -> StoreError {
        let msg = message(&e);
        if msg.contains("permission denied") || msg.contains("user name is empty") {
            return StoreError::Denied {
                user: self
                    .user
                    .as_ref()
                    .map_or("the anonymous user".to_string(), |u| format!("user {u}")),
                detail: "admin commands must run as etcd's root user (--etcd-user root)"
                    .to_string(),
            };
        }
        if msg.contains("user name not found") {
            // Only the caller can be missing here (a certificate's CN etcd does not know).
            return StoreError::Denied {
                user: self
                    .user
                    .as_ref()
                    .map_or("the anonymous user".to_string(), |u| format!("user {u}")),
                detail: "etcd has no such user; admin commands must run as etcd's root user (--etcd-user root)"
                    .to_string(),
            };
        }
        map_error(e, &self.at, self.user.as_deref(), self.tls)
    }

    async fn call<T>(
        &self,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StoreError> {
        bounded(self.timeout, &self.at, fut)
            .await?
            .map_err(|e| self.error(e))
    }

    /// Runs `fut`, taking the etcd error whose message contains `benign` as `Ok(false)`.
    async fn call_unless<T>(
        &self,
        benign: &str,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<bool, StoreError> {
        match bounded(self.timeout, &self.at, fut).await? {
            Ok(_) => Ok(true),
            Err(e) if message(&e).contains(benign) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Whether etcd auth is on. etcd 3.4 has no AuthStatus call; a login with a name no one
    /// has tells: "not enabled" when off, "authentication failed" when on.
    pub async fn auth_enabled(&self) -> Result<bool, StoreError> {
        if self.auth_off_at_login {
            return Ok(false);
        }
        let probe: String = {
            use rand::Rng;
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(24)
                .map(char::from)
                .collect()
        };
        let opts = self
            .options
            .clone()
            .with_user("flightdeck-auth-probe", probe);
        match bounded(
            self.timeout,
            &self.at,
            Client::connect(&self.endpoints, Some(opts)),
        )
        .await?
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let msg = message(&e);
                if msg.contains("not enabled") {
                    Ok(false)
                } else if msg.contains("authentication failed") || msg.contains("invalid user") {
                    Ok(true)
                } else {
                    Err(map_error(e, &self.at, None, self.tls))
                }
            }
        }
    }

    /// Refuses unless this connection may manage users (etcd's root, or auth still off).
    pub async fn require_root(&self) -> Result<(), StoreError> {
        let mut auth = self.client.auth_client();
        self.call(auth.user_list()).await.map(|_| ())
    }

    /// The roles of user `name`, or `None` when etcd has no such user.
    pub async fn user_roles(&self, name: &str) -> Result<Option<Vec<String>>, StoreError> {
        let mut auth = self.client.auth_client();
        match bounded(self.timeout, &self.at, auth.user_get(name)).await? {
            Ok(r) => Ok(Some(r.roles().to_vec())),
            Err(e) if message(&e).contains("user name not found") => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Adds the user (`None`: no password, for client-certificate login). `false` when
    /// it existed already (then nothing changed).
    pub async fn add_user(&self, name: &str, password: Option<&str>) -> Result<bool, StoreError> {
        let mut auth = self.client.auth_client();
        let (pw, opts) = match password {
            Some(pw) => (pw.to_string(), None),
            None => (String::new(), Some(UserAddOptions::new().with_no_pwd())),
        };
        self.call_unless("already exists", auth.user_add(name, pw, opts))
            .await
    }

    pub async fn change_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        let mut auth = self.client.auth_client();
        self.call(auth.user_change_password(name, password))
            .await
            .map(|_| ())
    }

    /// Adds the role; `false` when it existed already.
    pub async fn add_role(&self, name: &str) -> Result<bool, StoreError> {
        let mut auth = self.client.auth_client();
        self.call_unless("already exists", auth.role_add(name))
            .await
    }

    /// Lets `role` read (or read and write) every key under `prefix + relative` (a
    /// relative prefix ending in `/`, or "" for the whole store). Granting twice is harmless.
    pub async fn grant_prefix(
        &self,
        role: &str,
        access: Access,
        relative: &str,
    ) -> Result<(), StoreError> {
        let key = format!("{}{relative}", self.prefix);
        let perm = match access {
            Access::Read => Permission::read(key),
            Access::ReadWrite => Permission::read_write(key),
        }
        .with_prefix();
        let mut auth = self.client.auth_client();
        self.call(auth.role_grant_permission(role, perm))
            .await
            .map(|_| ())
    }

    /// Grants `role` to `user` (harmless when already granted).
    pub async fn grant_role(&self, user: &str, role: &str) -> Result<(), StoreError> {
        let mut auth = self.client.auth_client();
        self.call(auth.user_grant_role(user, role))
            .await
            .map(|_| ())
    }

    pub async fn revoke_role(&self, user: &str, role: &str) -> Result<(), StoreError> {
        let mut auth = self.client.auth_client();
        self.call_unless("not granted", auth.user_revoke_role(user, role))
            .await
            .map(|_| ())
    }

    /// Makes etcd's `root` user with `password` and the `root` role. `false` when root
    /// existed already (its password is left alone).
    pub async fn ensure_root(&self, password: &str) -> Result<bool, StoreError> {
        let created = self.add_user(ROOT, Some(password)).await?;
        let mut auth = self.client.auth_client();
        // etcd 3.4 knows the root role without being told; older ones want it created.
        if !self
            .call_unless("role name not found", auth.user_grant_role(ROOT, ROOT))
            .await?
        {
            self.add_role(ROOT).await?;
            self.grant_role(ROOT, ROOT).await?;
        }
        Ok(created)
    }

    /// The controller's role: read-write on the whole prefix. `false` when it existed.
    pub async fn ensure_controller_role(&self) -> Result<bool, StoreError> {
        let created = self.add_role(CONTROLLER_USER).await?;
        self.grant_prefix(CONTROLLER_USER, Access::ReadWrite, "")
            .await?;
        Ok(created)
    }

    /// A person's role: read the prefix, read-write on their own `requests/<name>/`.
    pub async fn ensure_user_role(&self, name: &str) -> Result<bool, StoreError> {
        let role = user_role(name);
        let created = self.add_role(&role).await?;
        self.grant_prefix(&role, Access::Read, "").await?;
        let own = format!("{}{name}/", crate::store::layout::REQUESTS);
        self.grant_prefix(&role, Access::ReadWrite, &own).await?;
        Ok(created)
    }

    /// Switches etcd auth on (a no-op when it is on already).
    pub async fn enable_auth(&self) -> Result<(), StoreError> {
        let mut auth = self.client.auth_client();
        self.call(auth.auth_enable()).await.map(|_| ())
    }

    /// The JSON value at a key relative to the prefix.
    pub async fn get_json(&self, relative: &str) -> Result<Option<Value>, StoreError> {
        let key = format!("{}{relative}", self.prefix);
        let mut kv = self.client.kv_client();
        let resp = self.call(kv.get(key.clone(), None::<GetOptions>)).await?;
        match resp.kvs().first() {
            None => Ok(None),
            Some(kv) => serde_json::from_slice(kv.value())
                .map(Some)
                .map_err(|e| StoreError::corrupt(&key, e)),
        }
    }

    /// Writes JSON at a key relative to the prefix.
    pub async fn put_json(&self, relative: &str, value: &Value) -> Result<(), StoreError> {
        let key = format!("{}{relative}", self.prefix);
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::corrupt(&key, e))?;
        let mut kv = self.client.kv_client();
        self.call(kv.put(key, bytes, None)).await.map(|_| ())
    }
}

/// The subject common name (OID 2.5.4.3) of the first certificate in a PEM file: the etcd
/// user a client certificate logs in as under `--client-cert-auth`.
pub fn cert_common_name(pem: &[u8]) -> Result<String, StoreError> {
    let bad = |why: &str| StoreError::Invalid(format!("client certificate: {why}"));
    let text = std::str::from_utf8(pem).map_err(|_| bad("not a PEM file"))?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = text
        .find(begin)
        .ok_or_else(|| bad("no CERTIFICATE block in the PEM file"))?
        + begin.len();
    let end = text[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| bad("the CERTIFICATE block does not end"))?;
    let der = base64_decode(&text[start..start + end]).ok_or_else(|| bad("bad base64"))?;
    der::common_name(&der).ok_or_else(|| bad("no common name (CN) in the subject"))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Just enough DER to walk Certificate → TBSCertificate → subject → CN.
mod der {
    /// (tag, contents, rest) of the first element of `b`.
    fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&first, mut b) = b.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || b.len() < n {
                return None;
            }
            let len = b[..n]
                .iter()
                .fold(0usize, |a, &x| (a << 8) | usize::from(x));
            b = &b[n..];
            len
        };
        (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
    }

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    /// 2.5.4.3, commonName.
    const CN: [u8; 3] = [0x55, 0x04, 0x03];

    pub fn common_name(der: &[u8]) -> Option<String> {
        let (tag, cert, _) = element(der)?;
        if tag != SEQUENCE {
            return None;
        }
        let (tag, tbs, _) = element(cert)?;
        if tag != SEQUENCE {
            return None;
        }
        // version [0] (optional), serial, signature, issuer, validity, subject.
        let mut rest = tbs;
        let (tag, _, r) = element(rest)?;
        rest = r;
        if tag == 0xa0 {
            rest = element(rest)?.2; // the serial number
        }
        rest = element(rest)?.2; // signature algorithm
        rest = element(rest)?.2; // issuer
        rest = element(rest)?.2; // validity
        let (tag, mut rdns, _) = element(rest)?;
        if tag != SEQUENCE {
            return None;
        }
        let mut found = None;
        while !rdns.is_empty() {
            let (tag, mut set, r) = element(rdns)?;
            rdns = r;
            if tag != SET {
                return None;
            }
            while !set.is_empty() {
                let (_, atv, r) = element(set)?;
                set = r;
                let (tag, oid, value) = element(atv)?;
                if tag == OID && oid == CN {
                    let (_, text, _) = element(value)?;
                    // The last CN wins, as in Go's crypto/x509 (which etcd uses).
                    found = Some(String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl(dir: &std::path::Path, args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn common_name_of_an_openssl_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "k.pem",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "k.pem",
                "-days",
                "1",
                "-out",
                "c.pem",
                "-subj",
                "/O=payments/CN=dave.smith@example.com/OU=ops",
            ],
        );
        let pem = std::fs::read(d.join("c.pem")).unwrap();
        assert_eq!(cert_common_name(&pem).unwrap(), "dave.smith@example.com");
        // A long RSA one: multi-byte lengths everywhere.
        openssl(
            d,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "r.key", "-days", "1",
                "-out", "r.pem", "-subj", "/CN=root",
            ],
        );
        let pem = std::fs::read(d.join("r.pem")).unwrap();
        assert_eq!(cert_common_name(&pem).unwrap(), "root");
        assert!(cert_common_name(b"not a certificate").is_err());
    }

    #[test]
    fn role_names() {
        assert_eq!(user_role("dave"), "flightdeck-user-dave");
        assert_eq!(group_role("payments"), "flightdeck-group-payments");
        assert_eq!(group_of_role("flightdeck-group-payments"), Some("payments"));
        assert_eq!(group_of_role("flightdeck-user-dave"), None);
    }
}
