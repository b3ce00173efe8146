//! `flightdeck admin init` and `admin add-user` against a real etcd: the roles they make are
//! the wall of DESIGN.md §5 — people read, and write only their own requests; only the
//! controller writes state — checked with etcdctl, the tool a user would try it with.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use etcd_client::{Client, ConnectOptions};
use flightdeck::authz::policy::{Policy, Role};
use flightdeck::domain::UserRecord;
use flightdeck::store::{StoreConfig, StoreOptions};
use support::cli::{Flightdeck, Out};
use support::etcd::Etcd;

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("password file")
        .lines()
        .next()
        .expect("a first line")
        .to_string()
}

/// The binary with no cluster (admin commands never touch one).
fn flightdeck(etcd: &Etcd) -> Flightdeck {
    Flightdeck::new(&etcd.url(), Path::new("/nonexistent/kubeconfig"))
}

/// The same binary with extra global flags.
fn with_flags(fd: &Flightdeck, flags: &[&str]) -> Flightdeck {
    let mut out = Flightdeck::new(&fd.store, &fd.kubeconfig);
    out.extra = flags.iter().map(|s| s.to_string()).collect();
    out
}

struct Setup {
    etcd: Etcd,
    fd: Flightdeck,
    root: Flightdeck,
    root_pw: String,
    controller_pw_file: PathBuf,
    dave_pw: String,
}

/// `admin init --admin alice`, then `add-user alice` and `add-user dave --groups payments`.
async fn setup() -> Setup {
    let etcd = Etcd::start().await;
    let fd = flightdeck(&etcd);
    let root_file = fd.dir.path().join("root-password");
    let controller_pw_file = fd.dir.path().join("controller-password");
    let out = fd
        .run(&[
            "admin",
            "init",
            "--root-password-file",
            root_file.to_str().unwrap(),
            "--controller-password-file",
            controller_pw_file.to_str().unwrap(),
            "--admin",
            "alice",
        ])
        .await
        .expect(0);
    assert!(
        out.stdout.contains("etcd auth: switched on"),
        "{}",
        out.stdout
    );
    let root_pw = first_line(&root_file);
    assert!(
        !out.stdout.contains(&root_pw) && !out.stderr.contains(&root_pw),
        "the root password was printed"
    );
    let root = fd.as_etcd_user("root", &root_pw);
    let alice_file = fd.dir.path().join("alice-password");
    root.run(&[
        "admin",
        "add-user",
        "alice",
        "--password-file",
        alice_file.to_str().unwrap(),
    ])
    .await
    .expect(0);
    let dave_file = fd.file("dave-password", "dave-secret\n");
    let out = root
        .run(&[
            "admin",
            "add-user",
            "dave",
            "--groups",
            "payments",
            "--password-file",
            &dave_file,
        ])
        .await
        .expect(0);
    assert!(!out.stdout.contains("dave-secret"), "{}", out.stdout);
    Setup {
        etcd,
        fd,
        root,
        root_pw,
        controller_pw_file,
        dave_pw: "dave-secret".to_string(),
    }
}

async fn root_client(s: &Setup) -> Client {
    let opts = ConnectOptions::new().with_user("root", s.root_pw.clone());
    Client::connect([s.etcd.endpoint()], Some(opts))
        .await
        .expect("root client")
}

/// etcdctl with `auth` (`--user=…` or certificate flags); (success, stdout + stderr).
fn etcdctl(endpoint: &str, auth: &[String], args: &[&str]) -> (bool, String) {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(auth)
        .args(args)
        .output()
        .expect("run etcdctl (apt-get install etcd-client)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Keys a user must not write: state, audit, policy, leases, other people's requests.
const FORBIDDEN: [&str; 8] = [
    "/flightdeck/releases/sim/shop/web",
    "/flightdeck/audit/00000000000000000001",
    "/flightdeck/audit-head",
    "/flightdeck/policy",
    "/flightdeck/leases/controller",
    "/flightdeck/groups/sim/shop/web",
    "/flightdeck/users/dave",
    "/flightdeck/requests/alice/x",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_and_add_user_make_roles_records_and_a_policy() {
    let s = setup().await;

    // Auth is on: a client without a login may no longer write.
    let mut anon = s.etcd.client().await;
    assert!(anon.put("/flightdeck/x", "v", None).await.is_err());

    let mut root = root_client(&s).await;
    let dave = root.user_get("dave").await.expect("dave exists");
    let roles = dave.roles().to_vec();
    assert!(
        roles.contains(&"flightdeck-user-dave".to_string()),
        "{roles:?}"
    );
    assert!(
        roles.contains(&"flightdeck-group-payments".to_string()),
        "{roles:?}"
    );
    let ctl = root.user_get("flightdeck-controller").await.unwrap();
    assert!(ctl.roles().contains(&"flightdeck-controller".to_string()));

    let resp = root.get("/flightdeck/users/dave", None).await.unwrap();
    let record: UserRecord = serde_json::from_slice(resp.kvs()[0].value()).unwrap();
    assert_eq!(record.name, "dave");
    assert_eq!(record.groups, vec!["payments".to_string()]);
    assert!(!record.cert_only);

    let mode = std::fs::metadata(&s.controller_pw_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let resp = root.get("/flightdeck/policy", None).await.unwrap();
    let policy: Policy = serde_json::from_slice(resp.kvs()[0].value()).unwrap();
    assert!(
        policy
            .bindings
            .iter()
            .any(|b| b.role == Role::Admin && b.users == vec!["alice".to_string()]),
        "{policy:?}"
    );
    assert!(resp.kvs()[0].value().len() > 2);
    let resp = root.get("/flightdeck/controller", None).await.unwrap();
    assert!(!resp.kvs().is_empty(), "the controller key is written");

    // Both commands left an audit entry in the chain, by root.
    let store = support::cli::open_store(&s.etcd.url(), Some(("root", &s.root_pw))).await;
    let entries = store.list_audit(&Default::default()).await.unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["admin.init", "admin.add-user", "admin.add-user"]);
    assert!(entries.iter().all(|e| e.user.name == "root"));
    assert!(
        !serde_json::to_string(&entries)
            .unwrap()
            .contains(&s.dave_pw)
    );
    assert_eq!(store.verify_audit().await.unwrap(), 3);

    // Again, as root: nothing breaks, the policy stays, groups follow the new list.
    let ctl_before = first_line(&s.controller_pw_file);
    let out = s
        .root
        .run(&[
            "admin",
            "init",
            "--controller-password-file",
            s.controller_pw_file.to_str().unwrap(),
            "--admin",
            "zed",
        ])
        .await
        .expect(0);
    assert!(
        out.stdout.contains("etcd auth: on already"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("policy: present"), "{}", out.stdout);
    assert_ne!(first_line(&s.controller_pw_file), ctl_before);
    let ops = s.fd.file("ops-dave", "dave-secret\n");
    s.root
        .run(&[
            "admin",
            "add-user",
            "dave",
            "--groups",
            "ops",
            "--password-file",
            &ops,
        ])
        .await
        .expect(0);
    let roles = root.user_get("dave").await.unwrap().roles().to_vec();
    assert!(
        roles.contains(&"flightdeck-group-ops".to_string()),
        "{roles:?}"
    );
    assert!(
        !roles.contains(&"flightdeck-group-payments".to_string()),
        "{roles:?}"
    );
    let resp = root.get("/flightdeck/users/dave", None).await.unwrap();
    let again: UserRecord = serde_json::from_slice(resp.kvs()[0].value()).unwrap();
    assert_eq!(again.groups, vec!["ops".to_string()]);
    assert_eq!(again.added, record.added);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_writes_only_their_own_requests_and_the_controller_writes_state() {
    let s = setup().await;
    let ep = s.etcd.endpoint();
    let dave = vec![format!("--user=dave:{}", s.dave_pw)];
    for key in FORBIDDEN {
        let (ok, text) = etcdctl(&ep, &dave, &["put", key, "v"]);
        assert!(!ok && text.contains("permission denied"), "{key}: {text}");
    }
    let (ok, text) = etcdctl(&ep, &dave, &["put", "/flightdeck/requests/dave/x", "v"]);
    assert!(ok, "{text}");
    let (ok, text) = etcdctl(&ep, &dave, &["get", "/flightdeck/policy"]);
    assert!(ok && text.contains("bindings"), "{text}");
    let (ok, text) = etcdctl(&ep, &dave, &["put", "/elsewhere", "v"]);
    assert!(!ok && text.contains("permission denied"), "{text}");

    let controller = vec![format!(
        "--user=flightdeck-controller:{}",
        first_line(&s.controller_pw_file)
    )];
    let (ok, text) = etcdctl(&ep, &controller, &["put", "/flightdeck/releases/x", "v"]);
    assert!(ok, "{text}");
    let (ok, text) = etcdctl(&ep, &controller, &["put", "/elsewhere", "v"]);
    assert!(!ok && text.contains("permission denied"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_identities() {
    let etcd = Etcd::start_tls().await;
    let ca = etcd.pki().unwrap().ca.clone();
    let (root_cert, root_key) = etcd.client_cert("root");
    let (dave_cert, dave_key) = etcd.client_cert("dave");
    let fd = flightdeck(&etcd);
    let as_root = with_flags(
        &fd,
        &[
            "--etcd-ca",
            ca.to_str().unwrap(),
            "--etcd-cert",
            root_cert.to_str().unwrap(),
            "--etcd-key",
            root_key.to_str().unwrap(),
        ],
    );
    let root_file = fd.dir.path().join("root-password");
    let ctl_file = fd.dir.path().join("controller-password");
    as_root
        .run(&[
            "admin",
            "init",
            "--root-password-file",
            root_file.to_str().unwrap(),
            "--controller-password-file",
            ctl_file.to_str().unwrap(),
            "--admin",
            "dave",
        ])
        .await
        .expect(0);
    // Auth is on now; the root certificate still acts as root.
    let out = as_root
        .run(&["admin", "add-user", "dave", "--cert-only"])
        .await
        .expect(0);
    assert!(
        out.stdout.contains("client certificate only"),
        "{}",
        out.stdout
    );

    let options = StoreOptions {
        ca: Some(ca.clone()),
        cert: Some(dave_cert.clone()),
        key: Some(dave_key.clone()),
        ..StoreOptions::default()
    };
    let cfg = StoreConfig::parse(&etcd.url(), options).unwrap();
    let store = flightdeck::store::connect(&cfg)
        .await
        .expect("store as dave");
    assert_eq!(store.authenticated_user().as_deref(), Some("dave"));
    assert!(store.get_policy().await.unwrap().is_some(), "dave may read");

    let certs = |cert: &Path, key: &Path| {
        vec![
            format!("--cacert={}", ca.display()),
            format!("--cert={}", cert.display()),
            format!("--key={}", key.display()),
        ]
    };
    let ep = etcd.endpoint();
    let dave = certs(&dave_cert, &dave_key);
    let (ok, text) = etcdctl(&ep, &dave, &["put", "/flightdeck/requests/dave/x", "v"]);
    assert!(ok, "{text}");
    let (ok, text) = etcdctl(
        &ep,
        &dave,
        &["put", "/flightdeck/releases/sim/shop/web", "v"],
    );
    assert!(!ok && text.contains("permission denied"), "{text}");
    // A certificate for someone etcd does not know gets nowhere.
    let (eve_cert, eve_key) = etcd.client_cert("eve");
    let (ok, text) = etcdctl(
        &ep,
        &certs(&eve_cert, &eve_key),
        &["put", "/flightdeck/requests/eve/x", "v"],
    );
    assert!(!ok, "{text}");
    let as_eve = with_flags(
        &fd,
        &[
            "--etcd-ca",
            ca.to_str().unwrap(),
            "--etcd-cert",
            eve_cert.to_str().unwrap(),
            "--etcd-key",
            eve_key.to_str().unwrap(),
        ],
    );
    let out = as_eve
        .run(&["admin", "add-user", "mallory", "--cert-only"])
        .await
        .expect(1);
    assert!(one_line(&out).contains("user eve"), "{}", out.stderr);
}

fn one_line(out: &Out) -> &str {
    let text = out.stderr.trim();
    assert_eq!(text.lines().count(), 1, "one line of error: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_are_bad_input_and_non_root_is_refused() {
    let s = setup().await;
    for name in ["root", "a/b", "system:agent", "Dave"] {
        let out = s
            .root
            .run(&["admin", "add-user", name, "--cert-only"])
            .await
            .expect(2);
        assert!(one_line(&out).contains("user name"), "{}", out.stderr);
    }
    let out = s
        .root
        .run(&[
            "admin",
            "add-user",
            "eve",
            "--groups",
            "Bad/Group",
            "--cert-only",
        ])
        .await
        .expect(2);
    one_line(&out);
    let out = s
        .root
        .run(&[
            "admin",
            "add-user",
            "eve",
            "--password-file",
            "/nonexistent/dir/pw",
        ])
        .await
        .expect(2);
    one_line(&out);

    let dave = s.fd.as_etcd_user("dave", &s.dave_pw);
    let out = dave
        .run(&["admin", "add-user", "eve", "--cert-only"])
        .await
        .expect(1);
    assert!(one_line(&out).contains("root"), "{}", out.stderr);
    let out = dave
        .run(&[
            "admin",
            "init",
            "--controller-password-file",
            s.fd.dir.path().join("x").to_str().unwrap(),
        ])
        .await
        .expect(1);
    one_line(&out);
    let mut root = root_client(&s).await;
    assert!(root.user_get("eve").await.is_err(), "eve was not made");

    // etcd gone: unreachable.
    let mut s = s;
    s.etcd.stop();
    let out = s
        .root
        .run(&["admin", "add-user", "eve", "--cert-only"])
        .await
        .expect(3);
    one_line(&out);
}
