//! `flightdeck admin init` and `flightdeck admin add-user` (DESIGN.md §3, §5): etcd's own
//! users and roles, so that etcd is the wall — the controller writes state, people read
//! and write only their own requests. Both run as etcd's root user (before `init` has
//! switched auth on: with no login at all), print one line per step, and can be run again.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde_json::{Value, json};

use super::context::store_error;
use super::{CliError, Exit, Global};
use crate::authz::policy::{Binding, Policy, Role, Scope};
use crate::domain::audit::{AuditDraft, AuditTarget, AuditUser, Outcome, SigningKey};
use crate::domain::user::{
    CONTROLLER_USER, ControllerRecord, UserRecord, check_group_name, check_user_name,
};
use crate::store::{EtcdAdmin, ROOT, StoreConfig, group_of_role, group_role, layout, user_role};

pub use super::args::bootstrap::AdminCommand;

pub async fn run(global: &Global, cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::Init {
            root_password_file,
            controller_password_file,
            admins,
            signing_key_file,
        } => {
            init(
                global,
                root_password_file.as_deref(),
                &controller_password_file,
                &admins,
                signing_key_file.as_deref(),
            )
            .await
        }
        AdminCommand::AddUser {
            name,
            groups,
            password_file,
            cert_only,
        } => add_user(global, &name, &groups, password_file.as_deref(), cert_only).await,
    }
}

fn bad(message: impl Into<String>) -> CliError {
    CliError::new(Exit::BadInput, message)
}

async fn connect(global: &Global) -> Result<(StoreConfig, EtcdAdmin), CliError> {
    let cfg = global.store_config()?;
    let admin = EtcdAdmin::connect(&cfg).await.map_err(store_error)?;
    Ok((cfg, admin))
}

async fn init(
    global: &Global,
    root_password_file: Option<&Path>,
    controller_password_file: &Path,
    admins: &[String],
    signing_key_file: Option<&Path>,
) -> Result<(), CliError> {
    for a in admins {
        check_user_name(a).map_err(bad)?;
    }
    let signing = signing_key_file
        .map(|f| signing_key(f, true).map(|(k, made)| (k.public_key(), made, f)))
        .transpose()?;
    let (mut cfg, admin) = connect(global).await?;
    let auth_on = admin.auth_enabled().await.map_err(store_error)?;
    admin.require_root().await.map_err(store_error)?;
    // A key that would replace the recorded one is refused before anything changes.
    let recorded = match admin
        .get_json(layout::CONTROLLER)
        .await
        .map_err(store_error)?
    {
        Some(v) => serde_json::from_value::<ControllerRecord>(v)
            .ok()
            .and_then(|r| r.public_key),
        None => None,
    };
    let public_key = match (&signing, recorded) {
        (None, recorded) => recorded,
        (Some((mine, _, _)), Some(old)) if old != mine.hex() => {
            // Checkpoints signed so far would no longer verify: not done by accident.
            return Err(CliError::new(
                Exit::Refused,
                format!(
                    "the store already records the controller's public key ed25519:{old}, not {mine}: use that key's file (replacing a key is not supported)"
                ),
            ));
        }
        (Some((mine, _, _)), _) => Some(mine.hex()),
    };
    if auth_on {
        println!("etcd auth: on already");
    } else {
        // Without auth, etcd lets anyone in; log in only once it is on.
        cfg.options.user = None;
        cfg.options.password = None;
        match admin.user_roles(ROOT).await.map_err(store_error)? {
            Some(_) => {
                admin.ensure_root("").await.map_err(store_error)?;
                println!("user root: exists");
            }
            None => {
                let file = root_password_file.ok_or_else(|| {
                    bad("etcd has no root user yet: pass --root-password-file FILE (read if it exists, else written)")
                })?;
                let (password, made) = read_or_make_secret(file)?;
                admin.ensure_root(&password).await.map_err(store_error)?;
                println!("user root: created ({})", secret_note(file, made));
            }
        }
    }

    let created = admin.ensure_controller_role().await.map_err(store_error)?;
    println!(
        "role {CONTROLLER_USER}: {} (read-write on {})",
        created_or(created, "exists"),
        admin.prefix()
    );
    let password = random_secret();
    write_secret(controller_password_file, &password)?;
    let created = admin
        .add_user(CONTROLLER_USER, Some(&password))
        .await
        .map_err(store_error)?;
    if !created {
        admin
            .change_password(CONTROLLER_USER, &password)
            .await
            .map_err(store_error)?;
    }
    admin
        .grant_role(CONTROLLER_USER, CONTROLLER_USER)
        .await
        .map_err(store_error)?;
    println!(
        "user {CONTROLLER_USER}: {} (password in {})",
        created_or(created, "new password"),
        controller_password_file.display()
    );

    let record = ControllerRecord {
        user: CONTROLLER_USER.to_string(),
        public_key: public_key.clone(),
    };
    admin
        .put_json(layout::CONTROLLER, &to_json(&record))
        .await
        .map_err(store_error)?;
    println!("key {}{}: written", admin.prefix(), layout::CONTROLLER);
    if let Some((mine, made, file)) = &signing {
        let how = if *made {
            "new key written to"
        } else {
            "key from"
        };
        println!(
            "signing key {mine}: recorded ({how} {}; the private key stays there)",
            file.display()
        );
    }

    if !admins.is_empty() {
        if admin
            .get_json(layout::POLICY)
            .await
            .map_err(store_error)?
            .is_some()
        {
            println!("policy: present, left as it is");
        } else {
            admin
                .put_json(layout::POLICY, &to_json(&first_policy(admins)))
                .await
                .map_err(store_error)?;
            println!("policy: written (admin: {})", admins.join(", "));
        }
    }

    let mut request = json!({ "controller": CONTROLLER_USER, "admins": admins });
    if let Some(k) = &public_key {
        request["publicKey"] = json!(k);
    }
    let seq = audit(&cfg, "admin.init", request).await?;
    println!("audit: entry {seq} (admin.init)");

    if auth_on {
        println!("etcd auth: on");
    } else {
        admin.enable_auth().await.map_err(store_error)?;
        println!("etcd auth: switched on (from now on log in as root: --etcd-user root)");
    }
    Ok(())
}

async fn add_user(
    global: &Global,
    name: &str,
    groups: &[String],
    password_file: Option<&Path>,
    cert_only: bool,
) -> Result<(), CliError> {
    check_user_name(name).map_err(bad)?;
    let mut groups: Vec<String> = groups
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort();
    groups.dedup();
    for g in &groups {
        check_group_name(g).map_err(bad)?;
    }
    let (mut cfg, admin) = connect(global).await?;
    admin.require_root().await.map_err(store_error)?;
    if !admin.auth_enabled().await.map_err(store_error)? {
        cfg.options.user = None;
        cfg.options.password = None;
    }
    let password = match (password_file, cert_only) {
        (Some(file), false) => Some((read_or_make_secret(file)?, file)),
        _ => None,
    };

    let existing = admin.user_roles(name).await.map_err(store_error)?;
    let created = admin
        .add_user(name, password.as_ref().map(|((p, _), _)| p.as_str()))
        .await
        .map_err(store_error)?;
    if !created && let Some(((p, _), _)) = &password {
        admin.change_password(name, p).await.map_err(store_error)?;
    }
    let how = match &password {
        Some(((_, made), file)) => secret_note(file, *made),
        None => "client certificate only".to_string(),
    };
    println!(
        "user {name}: {} ({how})",
        created_or(created, "exists, updated")
    );

    let role = user_role(name);
    let created = admin.ensure_user_role(name).await.map_err(store_error)?;
    admin.grant_role(name, &role).await.map_err(store_error)?;
    println!(
        "role {role}: {}, granted (read {p}, write {p}{}{name}/)",
        created_or(created, "exists"),
        layout::REQUESTS,
        p = admin.prefix()
    );
    for g in &groups {
        let role = group_role(g);
        let created = admin.add_role(&role).await.map_err(store_error)?;
        admin.grant_role(name, &role).await.map_err(store_error)?;
        println!(
            "group {g}: role {role} {}, granted",
            created_or(created, "exists")
        );
    }
    for old in existing.unwrap_or_default() {
        if let Some(g) = group_of_role(&old)
            && !groups.iter().any(|mine| mine == g)
        {
            admin.revoke_role(name, &old).await.map_err(store_error)?;
            println!("group {g}: role {old} revoked");
        }
    }

    let key = layout::user(name);
    let added = match admin.get_json(&key).await.map_err(store_error)? {
        Some(v) => serde_json::from_value::<UserRecord>(v)
            .map(|r| r.added)
            .unwrap_or_else(|_| jiff::Timestamp::now()),
        None => jiff::Timestamp::now(),
    };
    let record = UserRecord {
        name: name.to_string(),
        groups: groups.clone(),
        added,
        cert_only,
    };
    admin
        .put_json(&key, &to_json(&record))
        .await
        .map_err(store_error)?;
    println!("key {}{key}: written", admin.prefix());

    let request = json!({ "name": name, "groups": groups, "certOnly": cert_only });
    let seq = audit(&cfg, "admin.add-user", request).await?;
    println!("audit: entry {seq} (admin.add-user)");
    Ok(())
}

fn created_or(created: bool, otherwise: &str) -> String {
    if created {
        "created".to_string()
    } else {
        otherwise.to_string()
    }
}

fn secret_note(file: &Path, made: bool) -> String {
    if made {
        format!("new password written to {}", file.display())
    } else {
        format!("password from {}", file.display())
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("plain data serialises")
}

/// Admin everywhere for `admins`; releaser for the controller's own timed steps.
fn first_policy(admins: &[String]) -> Policy {
    Policy::new(vec![
        Binding {
            role: Role::Admin,
            users: admins.to_vec(),
            groups: vec![],
            scope: Scope::everywhere(),
        },
        Binding {
            role: Role::Releaser,
            users: vec![crate::agent::AGENT_USER.to_string()],
            groups: vec![],
            scope: Scope::everywhere(),
        },
    ])
}

/// One audit entry by etcd's root, through the store (so it joins the hash chain).
async fn audit(cfg: &StoreConfig, action: &str, request: Value) -> Result<u64, CliError> {
    let store = crate::store::connect(cfg).await.map_err(store_error)?;
    let mut draft = AuditDraft::new(
        AuditUser::named(ROOT, "etcd-auth"),
        action,
        AuditTarget::default(),
    );
    draft.request = request;
    draft.outcome = Outcome::Applied;
    let entry = store.append_audit(draft).await.map_err(store_error)?;
    Ok(entry.seq)
}

fn random_secret() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The first line of `file` if it exists, else a new secret written there (0600).
/// The bool says whether it was made.
fn read_or_make_secret(file: &Path) -> Result<(String, bool), CliError> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let line = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end()
                .to_string();
            if line.is_empty() {
                return Err(bad(format!(
                    "{} is empty: its first line should be the password",
                    file.display()
                )));
            }
            Ok((line, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret();
            write_secret(file, &secret)?;
            Ok((secret, true))
        }
        Err(e) => Err(bad(format!("cannot read {}: {e}", file.display()))),
    }
}

/// The controller's signing key from `file` (PKCS#8 DER), or — when `file` does not exist
/// and `make` — a new one written there (0600). The bool says whether it was made.
pub(super) fn signing_key(file: &Path, make: bool) -> Result<(SigningKey, bool), CliError> {
    match std::fs::read(file) {
        Ok(der) => SigningKey::from_pkcs8(&der)
            .map(|k| (k, false))
            .map_err(|e| bad(format!("{}: {e}", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && make => {
            let (key, der) = SigningKey::generate().map_err(bad)?;
            write_private(file, &der)?;
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bad(format!(
            "{} does not exist: `flightdeck admin init --signing-key-file {}` makes it",
            file.display(),
            file.display()
        ))),
        Err(e) => Err(bad(format!("cannot read {}: {e}", file.display()))),
    }
}

/// Writes `secret` and a newline to `file`, readable by its owner only.
fn write_secret(file: &Path, secret: &str) -> Result<(), CliError> {
    write_private(file, format!("{secret}\n").as_bytes())
}

/// Writes `bytes` to `file`, readable by its owner only.
fn write_private(file: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| bad(format!("cannot write {}: {e}", file.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .map_err(fail)?;
    // An existing file keeps its mode on open; narrow it before the secret goes in.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_or_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        let (made, fresh) = read_or_make_secret(&file).unwrap();
        assert!(fresh && made.len() == 32);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_or_make_secret(&file).unwrap(), (made, false));
        std::fs::write(&file, "").unwrap();
        assert_eq!(read_or_make_secret(&file).unwrap_err().exit, Exit::BadInput);
    }

    #[test]
    fn a_signing_key_is_made_private_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        assert_eq!(signing_key(&file, false).unwrap_err().exit, Exit::BadInput);
        let (made, fresh) = signing_key(&file, true).unwrap();
        assert!(fresh);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (read, fresh) = signing_key(&file, true).unwrap();
        assert!(!fresh);
        assert_eq!(read.public_key(), made.public_key());
        std::fs::write(&file, "not a key").unwrap();
        assert_eq!(signing_key(&file, true).unwrap_err().exit, Exit::BadInput);
    }

    #[test]
    fn the_first_policy_is_valid() {
        let p = first_policy(&["alice".to_string()]);
        p.validate().unwrap();
    }
}
