//! The simulated cluster through the real `kubectl` binary: what an operator would see.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Sim, deployment};

fn kubectl(sim: &Sim, args: &[&str]) -> (bool, String) {
    sim.kubectl(args)
}

fn ok(sim: &Sim, args: &[&str]) -> String {
    let (success, text) = kubectl(sim, args);
    assert!(success, "kubectl {args:?} failed:\n{text}");
    text
}

/// Runs kubectl until its output satisfies `check`.
fn until(sim: &Sim, args: &[&str], secs: u64, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, text) = kubectl(sim, args);
        if check(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {args:?} never matched; last output:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn rows_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

async fn demo() -> Sim {
    Sim::start_with(
        Sim::sample_scenario(),
        vec![
            deployment("demo", "web", "web:v1", 3),
            deployment("demo", "crash", "web:v1-crash", 1),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_tables_like_a_real_cluster() {
    let sim = demo().await;
    let pods = until(&sim, &["get", "pods", "-n", "demo"], 20, |t| {
        rows_of(t, "web-")
            .iter()
            .filter(|l| l.contains(" 1/1 ") && l.contains("Running"))
            .count()
            == 3
            && t.contains("CrashLoopBackOff")
    });
    assert_eq!(
        columns(pods.lines().next().unwrap()),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let crash = rows_of(&pods, "crash-")[0];
    let cols = columns(crash);
    assert_eq!(&cols[1..3], ["0/1", "CrashLoopBackOff"], "{crash}");
    assert!(
        cols[3].parse::<u32>().unwrap() > 0,
        "restarts counted: {crash}"
    );
    assert!(crash.contains(" ago)"), "last restart shown: {crash}");

    let deploys = until(&sim, &["get", "deploy", "-n", "demo"], 10, |t| {
        rows_of(t, "web ")
            .first()
            .is_some_and(|l| columns(l)[1..4] == ["3/3", "3", "3"])
    });
    assert_eq!(
        columns(deploys.lines().next().unwrap()),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(columns(rows_of(&deploys, "crash ")[0])[1], "0/1");

    let rs = ok(&sim, &["get", "rs", "-n", "demo", "-o", "wide"]);
    let header = columns(rs.lines().next().unwrap());
    assert_eq!(&header[..5], ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    assert!(header.contains(&"IMAGES"), "wide columns: {header:?}");
    let web_rs = rows_of(&rs, "web-")[0];
    assert_eq!(&columns(web_rs)[1..4], ["3", "3", "3"]);
    assert!(web_rs.contains("web:v1"));

    let events = ok(&sim, &["get", "events", "-n", "demo"]);
    assert_eq!(
        columns(events.lines().next().unwrap()),
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    assert!(
        events
            .lines()
            .any(|l| l.contains("Warning") && l.contains("BackOff") && l.contains("pod/crash-"))
    );
    assert!(
        events
            .lines()
            .any(|l| l.contains("ScalingReplicaSet") && l.contains("deployment/web"))
    );
    assert!(
        events
            .lines()
            .any(|l| l.contains("SuccessfulCreate") && l.contains("replicaset/web-"))
    );
    assert!(events.contains("Successfully assigned demo/web-"));

    let nodes = ok(&sim, &["get", "nodes"]);
    assert_eq!(
        columns(nodes.lines().next().unwrap()),
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    );
    assert_eq!(
        rows_of(&nodes, "sim-node-")
            .iter()
            .filter(|l| l.contains(" Ready "))
            .count(),
        4,
        "{nodes}"
    );

    let ns = ok(&sim, &["get", "ns"]);
    assert!(rows_of(&ns, "demo ")[0].contains("Active"));
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_pod_shows_its_events() {
    let sim = demo().await;
    let name = until(
        &sim,
        &["get", "pods", "-n", "demo", "-l", "app=crash", "-o", "name"],
        10,
        |t| t.starts_with("pod/"),
    );
    let name = name.trim().to_string();
    // Between restarts the container is briefly Running; wait for a back-off moment.
    let out = until(&sim, &["describe", "-n", "demo", &name], 20, |t| {
        t.contains("(x2 over") && t.contains("CrashLoopBackOff")
    });
    assert!(out.contains("Node:         sim-node-"), "{out}");
    let events = out.split("Events:").nth(1).expect("Events section");
    assert!(events.contains("default-scheduler"), "{events}");
    assert!(
        events.contains("Back-off restarting failed container app in pod"),
        "{events}"
    );
    assert!(out.contains("Last State:     Terminated"), "{out}");
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_rollout_and_delete() {
    let sim = demo().await;
    ok(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/web",
            "--timeout=20s",
        ],
    );

    let out = ok(&sim, &["scale", "-n", "demo", "deploy/web", "--replicas=5"]);
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    let out = ok(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/web",
            "--timeout=20s",
        ],
    );
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );
    let pods = ok(&sim, &["get", "pods", "-n", "demo", "-l", "app=web"]);
    assert_eq!(rows_of(&pods, "web-").len(), 5);

    ok(
        &sim,
        &["set", "image", "-n", "demo", "deploy/web", "app=web:v2"],
    );
    let out = ok(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/web",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let deploy = ok(&sim, &["get", "deploy", "web", "-n", "demo", "-o", "wide"]);
    let row = rows_of(&deploy, "web ")[0];
    assert_eq!(&columns(row)[1..4], ["5/5", "5", "5"], "{row}");
    assert!(row.contains("web:v2"));

    // A deleted pod is replaced by its ReplicaSet.
    // Old pods may still be Terminating right after the rollout; pick a running one.
    let before = ok(&sim, &["get", "pods", "-n", "demo", "-l", "app=web"]);
    let victim_name = rows_of(&before, "web-")
        .into_iter()
        .find(|l| l.contains("Running"))
        .map(|l| columns(l)[0].to_string())
        .expect("a running pod");
    let out = ok(&sim, &["delete", "-n", "demo", "pod", &victim_name]);
    assert!(out.contains("deleted"), "{out}");
    let after = until(
        &sim,
        &["get", "pods", "-n", "demo", "-l", "app=web"],
        20,
        |t| {
            let rows = rows_of(t, "web-");
            rows.len() == 5
                && rows
                    .iter()
                    .all(|l| l.contains("Running") && l.contains(" 1/1 "))
        },
    );
    assert!(
        !after.contains(&victim_name),
        "{victim_name} is gone:\n{after}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_watch_streams_changes() {
    let sim = demo().await;
    ok(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/web",
            "--timeout=20s",
        ],
    );
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--cache-dir")
        .arg(sim.dir.path().join("cache"))
        .args(["get", "pods", "-n", "demo", "-l", "app=web", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl -w starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next = |lines: &mut Vec<String>| {
        let l = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from kubectl -w");
        lines.push(l.clone());
        l
    };
    assert_eq!(
        columns(&next(&mut lines)),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    for _ in 0..3 {
        assert!(next(&mut lines).contains("Running"));
    }
    ok(&sim, &["scale", "-n", "demo", "deploy/web", "--replicas=4"]);
    // The new pod walks through its life on the open watch.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut saw = (false, false);
    while Instant::now() < deadline && !(saw.0 && saw.1) {
        let l = next(&mut lines);
        saw.0 |= l.contains("ContainerCreating") || l.contains("Pending");
        saw.1 |= l.contains(" 1/1 ") && l.contains("Running") && lines.len() > 4;
    }
    // Ours to stop; it would watch forever.
    let _ = child.kill();
    let _ = child.wait();
    assert!(saw.0 && saw.1, "watch output:\n{}", lines.join("\n"));
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_from_a_file() {
    let sim = Sim::start().await;
    let manifest = sim.dir.path().join("api.yaml");
    let write = |image: &str| {
        let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: api}}\n  template:\n    metadata:\n      labels: {{app: api}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
        );
        std::fs::write(&manifest, yaml).unwrap();
    };
    let path = manifest.to_str().unwrap().to_string();
    write("api:v1");
    assert!(ok(&sim, &["apply", "-f", &path]).contains("deployment.apps/api created"));
    assert!(ok(&sim, &["apply", "-f", &path]).contains("deployment.apps/api unchanged"));
    write("api:v2");
    assert!(ok(&sim, &["apply", "-f", &path]).contains("deployment.apps/api configured"));
    ok(&sim, &["rollout", "status", "deploy/api", "--timeout=20s"]);
    let rs = ok(&sim, &["get", "rs", "-l", "app=api", "-o", "wide"]);
    let live: Vec<_> = rows_of(&rs, "api-")
        .into_iter()
        .filter(|l| columns(l)[1] == "2")
        .collect();
    assert_eq!(live.len(), 1, "{rs}");
    assert!(live[0].contains("api:v2"));
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_create_commands_send_protobuf() {
    let sim = Sim::start().await;
    assert!(ok(&sim, &["create", "namespace", "extra"]).contains("namespace/extra created"));
    let ns = ok(&sim, &["get", "ns", "extra"]);
    assert!(rows_of(&ns, "extra ")[0].contains("Active"), "{ns}");
    let out = ok(
        &sim,
        &[
            "create",
            "configmap",
            "settings",
            "-n",
            "extra",
            "--from-literal=LOG_LEVEL=info",
        ],
    );
    assert!(out.contains("configmap/settings created"), "{out}");
    let out = ok(
        &sim,
        &[
            "create",
            "secret",
            "generic",
            "token",
            "-n",
            "extra",
            "--from-literal=t=hunter2",
        ],
    );
    assert!(out.contains("secret/token created"), "{out}");
    let cms = ok(&sim, &["get", "configmaps", "-n", "extra"]);
    assert_eq!(
        columns(cms.lines().next().unwrap()),
        ["NAME", "DATA", "AGE"]
    );
    assert_eq!(columns(rows_of(&cms, "settings ")[0])[1], "1", "{cms}");
    let value = ok(
        &sim,
        &[
            "get",
            "cm",
            "settings",
            "-n",
            "extra",
            "-o",
            "jsonpath={.data.LOG_LEVEL}",
        ],
    );
    assert_eq!(value, "info");
    let secret = ok(
        &sim,
        &[
            "get",
            "secret",
            "token",
            "-n",
            "extra",
            "-o",
            "jsonpath={.data.t}",
        ],
    );
    assert_eq!(secret, "aHVudGVyMg==");
    // Kinds whose protobuf is not read are refused with a clear 415 and what to do.
    let (success, out) = kubectl(&sim, &["create", "deployment", "d", "--image=web:v1"]);
    assert!(!success);
    assert!(
        out.contains("UnsupportedMediaType") || out.contains("kubectl apply -f"),
        "{out}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_through_kubectl() {
    let sim = Sim::start().await;
    let crds = ok(&sim, &["get", "crd"]);
    assert_eq!(
        columns(crds.lines().next().unwrap()),
        ["NAME", "CREATED", "AT"]
    );
    for name in [
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "httproutes.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io",
    ] {
        assert_eq!(rows_of(&crds, name).len(), 1, "{crds}");
    }

    let file = sim.dir.path().join("vs.yaml");
    let write = |stable: u32| {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: web\nspec:\n  hosts: [web]\n  http:\n    - route:\n        - destination: {{ host: web, subset: stable }}\n          weight: {stable}\n        - destination: {{ host: web, subset: canary }}\n          weight: {}\n",
            100 - stable
        );
        std::fs::write(&file, yaml).unwrap();
    };
    let path = file.to_str().unwrap().to_string();
    write(90);
    let out = ok(&sim, &["apply", "-f", &path]);
    assert!(
        out.contains("virtualservice.networking.istio.io/web created"),
        "{out}"
    );
    assert!(ok(&sim, &["apply", "-f", &path]).contains("web unchanged"));
    write(75);
    assert!(ok(&sim, &["apply", "-f", &path]).contains("web configured"));
    let all = ok(&sim, &["get", "virtualservices", "-A"]);
    assert_eq!(
        columns(all.lines().next().unwrap()),
        ["NAMESPACE", "NAME", "GATEWAYS", "HOSTS", "AGE"]
    );
    let row = columns(rows_of(&all, "default ")[0]);
    assert_eq!(&row[1..3], ["web", "[\"web\"]"], "{all}");
    let weight = ok(
        &sim,
        &[
            "get",
            "vs",
            "web",
            "-o",
            "jsonpath={.spec.http[0].route[1].weight}",
        ],
    );
    assert_eq!(weight, "25");
    // Served in its older versions too.
    let beta = ok(
        &sim,
        &[
            "get",
            "virtualservices.v1beta1.networking.istio.io",
            "web",
            "-o",
            "jsonpath={.apiVersion}",
        ],
    );
    assert_eq!(beta, "networking.istio.io/v1beta1");

    // A CRD applied at run time serves its kind at once, with its printer columns.
    let crd = sim.dir.path().join("crd.yaml");
    std::fs::write(
        &crd,
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: { kind: Widget, plural: widgets, singular: widget, shortNames: [wd] }\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }\n      additionalPrinterColumns:\n        - { name: Size, type: integer, jsonPath: .spec.size }\n        - { name: Age, type: date, jsonPath: .metadata.creationTimestamp }\n",
    )
    .unwrap();
    ok(&sim, &["apply", "-f", crd.to_str().unwrap()]);
    ok(
        &sim,
        &[
            "wait",
            "--for",
            "condition=established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ],
    );
    let widget = sim.dir.path().join("w.yaml");
    std::fs::write(
        &widget,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n",
    )
    .unwrap();
    assert!(
        ok(&sim, &["apply", "-f", widget.to_str().unwrap()])
            .contains("widget.example.com/w1 created")
    );
    ok(
        &sim,
        &[
            "patch",
            "wd",
            "w1",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"size":5}}"#,
        ],
    );
    let widgets = ok(&sim, &["get", "widgets"]);
    assert_eq!(
        columns(widgets.lines().next().unwrap()),
        ["NAME", "SIZE", "AGE"]
    );
    assert_eq!(&columns(rows_of(&widgets, "w1 ")[0])[..2], ["w1", "5"]);

    assert!(ok(&sim, &["delete", "-f", &path]).contains("deleted"));
    let (_, none) = kubectl(&sim, &["get", "vs"]);
    assert!(none.contains("No resources found"), "{none}");
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_rollout_exceeds_its_progress_deadline() {
    // 20 s of deadline are one second at the tests' time scale.
    let mut d = deployment("demo", "stuck", "app:v1", 2);
    d["spec"]["progressDeadlineSeconds"] = 20.into();
    let sim = Sim::start_with(Sim::sample_scenario(), vec![d]).await;
    ok(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/stuck",
            "--timeout=20s",
        ],
    );
    ok(
        &sim,
        &[
            "set",
            "image",
            "-n",
            "demo",
            "deploy/stuck",
            "app=app:v2-crash",
        ],
    );
    let (success, out) = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "-n",
            "demo",
            "deploy/stuck",
            "--timeout=30s",
        ],
    );
    assert!(!success, "{out}");
    assert!(out.contains("exceeded its progress deadline"), "{out}");
    // The old pods keep serving meanwhile; the one new pod is up to date but not ready.
    let deploy = ok(&sim, &["get", "deploy", "stuck", "-n", "demo"]);
    let row = rows_of(&deploy, "stuck ")[0];
    assert_eq!(&columns(row)[1..4], ["2/2", "1", "2"], "{deploy}");
    sim.handle.shutdown().await;
}
