//! The release controller's manifests (`assets/deploy/`) applied with the real `kubectl` to
//! the simulated cluster: every object lands, the RBAC stays least-privilege, the
//! controller's pods come up, and a re-apply changes nothing.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Sim;

const NS: &str = "flightdeck-system";
const NAME: &str = "flightdeck-controller";

fn deploy_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/deploy")
        .to_string_lossy()
        .into_owned()
}

fn kubectl(sim: &Sim, args: &[&str]) -> (bool, String) {
    sim.kubectl(args)
}

fn ok(sim: &Sim, args: &[&str]) -> String {
    let (success, text) = kubectl(sim, args);
    assert!(success, "kubectl {args:?} failed:\n{text}");
    text
}

fn get_json(sim: &Sim, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let text = ok(sim, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("kubectl {all:?}: {e}\n{text}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_manifests_apply_and_come_up() {
    let sim = Sim::start().await;
    let dir = deploy_dir();

    let first = ok(&sim, &["apply", "-f", &dir]);
    for line in [
        "namespace/flightdeck-system created",
        "serviceaccount/flightdeck-controller created",
        "clusterrole.rbac.authorization.k8s.io/flightdeck-controller created",
        "clusterrolebinding.rbac.authorization.k8s.io/flightdeck-controller created",
        "role.rbac.authorization.k8s.io/flightdeck-controller created",
        "rolebinding.rbac.authorization.k8s.io/flightdeck-controller created",
        "secret/flightdeck-controller created",
        "deployment.apps/flightdeck-controller created",
    ] {
        assert!(first.contains(line), "missing {line:?} in:\n{first}");
    }

    // Each object, by kind and name, where it belongs.
    let ns = ["-n", NS];
    for (kind, scoped) in [
        ("serviceaccount", true),
        ("secret", true),
        ("role", true),
        ("rolebinding", true),
        ("deployment", true),
        ("clusterrole", false),
        ("clusterrolebinding", false),
    ] {
        let mut args = vec![kind, NAME];
        if scoped {
            args.extend_from_slice(&ns);
        }
        let obj = get_json(&sim, &args);
        assert!(
            obj["kind"].as_str().unwrap().eq_ignore_ascii_case(kind),
            "{obj}"
        );
        assert_eq!(obj["metadata"]["name"], NAME);
        let want_ns = if scoped { json!(NS) } else { Value::Null };
        assert_eq!(obj["metadata"]["namespace"], want_ns, "{kind}");
    }
    assert_eq!(
        get_json(&sim, &["namespace", NS])["status"]["phase"],
        "Active"
    );

    // Least privilege: no wildcards, no Secrets cluster-wide.
    let role = get_json(&sim, &["clusterrole", NAME]);
    let rules = role["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    for rule in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            assert!(!strings(&rule[field]).contains(&"*"), "wildcard in {rule}");
        }
        assert!(
            !strings(&rule["resources"]).contains(&"secrets"),
            "secrets granted cluster-wide: {rule}"
        );
        assert!(rule.get("nonResourceURLs").is_none(), "{rule}");
    }
    let grants = |resource: &str, verb: &str| {
        rules.iter().any(|r| {
            strings(&r["resources"]).contains(&resource) && strings(&r["verbs"]).contains(&verb)
        })
    };
    for (resource, verb) in [
        ("deployments", "patch"),
        ("deployments/scale", "update"),
        ("replicasets", "watch"),
        ("services", "create"),
        ("pods", "list"),
        ("pods/log", "get"),
        ("pods/proxy", "get"),
        ("events", "create"),
    ] {
        assert!(grants(resource, verb), "no {verb} on {resource}");
    }
    assert!(!grants("deployments", "delete"));

    // The binding names the ServiceAccount; the namespaced Role reads one Secret by name.
    let binding = get_json(&sim, &["clusterrolebinding", NAME]);
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": NAME, "namespace": NS}])
    );
    let secret_role = get_json(&sim, &["role", NAME, "-n", NS]);
    assert_eq!(
        secret_role["rules"],
        json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [NAME], "verbs": ["get"]}])
    );
    assert_eq!(
        get_json(&sim, &["rolebinding", NAME, "-n", NS])["roleRef"]["kind"],
        "Role"
    );

    // The Secret keeps its keys in `data`; stringData is never stored.
    let secret = get_json(&sim, &["secret", NAME, "-n", NS]);
    assert_eq!(secret["type"], "Opaque");
    assert!(secret.get("stringData").is_none(), "{secret}");
    let keys: Vec<&String> = secret["data"].as_object().expect("data").keys().collect();
    assert_eq!(keys, ["etcd-password", "signing-key"]);

    // The Deployment: two replicas, probes, the password from the Secret, locked down.
    let deploy = get_json(&sim, &["deployment", NAME, "-n", NS]);
    assert_eq!(deploy["spec"]["replicas"], 2);
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], NAME);
    let c = &pod["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["args"][0], "agent");
    let password = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "FLIGHTDECK_ETCD_PASSWORD")
        .expect("password env");
    assert_eq!(
        password["valueFrom"]["secretKeyRef"],
        json!({"name": NAME, "key": "etcd-password"})
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(c["resources"]["limits"]["memory"].is_string());

    // Both replicas come up in the simulated cluster.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = get_json(&sim, &["deployment", NAME, "-n", NS]);
        if d["status"]["readyReplicas"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "never 2 ready: {}", d["status"]);
        std::thread::sleep(Duration::from_millis(200));
    }

    // Tables: sensible columns, and never what a Secret holds.
    let table = ok(&sim, &["get", "secret", "-n", NS]);
    let row = table.lines().find(|l| l.starts_with(NAME)).expect("row");
    assert_eq!(
        row.split_whitespace().take(3).collect::<Vec<_>>(),
        [NAME, "Opaque", "2"]
    );
    assert!(
        table.starts_with("NAME") && table.contains("DATA"),
        "{table}"
    );
    for field in secret["data"].as_object().unwrap().values() {
        assert!(!table.contains(field.as_str().unwrap()), "{table}");
    }
    assert!(!table.contains("REPLACE-ME"), "{table}");
    assert!(ok(&sim, &["get", "sa", "-n", NS]).contains(NAME));
    let cr = ok(&sim, &["get", "clusterrole", NAME]);
    assert!(cr.contains("CREATED AT") && cr.contains(NAME), "{cr}");
    let rb = ok(&sim, &["get", "rolebinding", "-n", NS, "-o", "wide"]);
    assert!(
        rb.contains("Role/flightdeck-controller")
            && rb.contains("flightdeck-system/flightdeck-controller"),
        "{rb}"
    );
    let crb = ok(&sim, &["get", "clusterrolebinding", NAME]);
    assert!(crb.contains("ClusterRole/flightdeck-controller"), "{crb}");

    // Applying again is housekeeping: nothing created, nothing refused. The Secret reads
    // `configured`, as on a real cluster: its stringData is never stored, so kubectl's
    // three-way patch always carries it.
    let again = ok(&sim, &["apply", "-f", &dir]);
    let lines: Vec<&str> = again.lines().collect();
    assert_eq!(lines.len(), 8, "{again}");
    for line in &lines {
        assert!(
            line.ends_with(" unchanged") || line.ends_with(" configured"),
            "{again}"
        );
    }
    assert!(
        again.contains("deployment.apps/flightdeck-controller unchanged")
            && again
                .contains("clusterrole.rbac.authorization.k8s.io/flightdeck-controller unchanged"),
        "{again}"
    );
    assert_eq!(
        get_json(&sim, &["deployment", NAME, "-n", NS])["metadata"]["generation"],
        deploy["metadata"]["generation"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_cluster_role_is_refused_with_422() {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};

    let sim = Sim::start().await;
    let client = sim.client().await;
    let gvk = GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRole");
    let api: Api<DynamicObject> = Api::all_with(client, &ApiResource::from_gvk(&gvk));
    let role = |name: &str, rules: Value| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": rules,
        }))
        .expect("dynamic object")
    };
    for (name, rules) in [
        ("not-a-list", json!("everything")),
        (
            "verbs-not-a-list",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": "get"}]),
        ),
        (
            "no-verbs",
            json!([{"apiGroups": [""], "resources": ["pods"]}]),
        ),
        (
            "no-resources",
            json!([{"apiGroups": [""], "verbs": ["get"]}]),
        ),
    ] {
        match api.create(&PostParams::default(), &role(name, rules)).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!(s.code, 422, "{name}: {s:?}");
                assert_eq!(s.reason, "Invalid", "{name}");
            }
            other => panic!("{name}: expected 422, got {other:?}"),
        }
    }
    // The server is still there, and a well-formed role goes in.
    let good = role(
        "fine",
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
    );
    api.create(&PostParams::default(), &good)
        .await
        .expect("well-formed role created");

    // kubectl says so too, and exits non-zero.
    let file = sim.dir.path().join("bad-role.yaml");
    std::fs::write(
        &file,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: bad}\nrules: everything\n",
    )
    .unwrap();
    let (success, text) = kubectl(&sim, &["apply", "-f", &file.to_string_lossy()]);
    assert!(!success && text.contains("is invalid"), "{text}");
}
