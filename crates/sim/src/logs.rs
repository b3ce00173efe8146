//! `pods/{name}/log`: what a kubelet would return, from lines generated on demand
//! ([`generate`]) at the rate the scenario sets for the pod's image, plus lines a test
//! injected. Supports `container`, `follow`, `tailLines`, `sinceSeconds`, `sinceTime`,
//! `timestamps`, `previous` and `limitBytes` like the real API server.

mod generate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::SinkExt;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::api::ResourceRequest;
use super::api::status::ApiError;
use super::resource::{Kind, ObjectKey, i64_at, str_at, uid_of};
use super::scenario::Scenario;
use super::store::Store;
pub use generate::LogSpec;

/// Lines per second a container writes when the scenario does not say.
pub const DEFAULT_LOG_RATE: f64 = 2.0;
/// Fraction of requests that fail when the scenario does not say: a healthy service still
/// sees the odd 5xx.
pub const DEFAULT_ERROR_RATE: f64 = 0.002;
/// Injected lines kept per pod.
const INJECTED_PER_POD: usize = 1_000;
/// A follower checks the pod at least this often, to end when the container stops.
const RECHECK: Duration = Duration::from_millis(200);

/// A line a test put into a pod's log.
#[derive(Debug, Clone)]
struct Injected {
    key: ObjectKey,
    container: Option<String>,
    time_ns: i64,
    bytes: Vec<u8>,
}

/// The log side of the simulated cluster: the scenario (for rates), injected lines and the
/// switch that cuts every open stream.
pub struct LogHub {
    scenario: watch::Receiver<Arc<Scenario>>,
    cut: watch::Sender<u64>,
    injected: Mutex<HashMap<ObjectKey, Vec<Injected>>>,
    injected_tx: broadcast::Sender<Arc<Injected>>,
}

impl LogHub {
    pub fn new(scenario: watch::Receiver<Arc<Scenario>>) -> Arc<LogHub> {
        Arc::new(LogHub {
            scenario,
            cut: watch::channel(0).0,
            injected: Mutex::new(HashMap::new()),
            injected_tx: broadcast::channel(1024).0,
        })
    }

    /// Ends every `follow` stream now, the way a kubelet restart or a proxy timeout would.
    pub fn cut_streams(&self) {
        self.cut.send_modify(|g| *g += 1);
    }

    /// Appends raw bytes (escape sequences and invalid UTF-8 allowed) as one line of a pod's
    /// log, in `container` or in every container.
    pub fn inject(&self, namespace: &str, pod: &str, container: Option<&str>, bytes: &[u8]) {
        let line = Injected {
            key: ObjectKey::new(namespace, pod),
            container: container.map(str::to_string),
            time_ns: now_ns(),
            bytes: bytes.iter().copied().filter(|b| *b != b'\n').collect(),
        };
        {
            let mut map = self.injected.lock().unwrap_or_else(|e| e.into_inner());
            let v = map.entry(line.key.clone()).or_default();
            v.push(line.clone());
            if v.len() > INJECTED_PER_POD {
                v.remove(0);
            }
        }
        // No follower is fine.
        let _ = self.injected_tx.send(Arc::new(line));
    }

    fn injected_between(
        &self,
        key: &ObjectKey,
        container: &str,
        from: i64,
        to: i64,
    ) -> Vec<Injected> {
        let map = self.injected.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .map(|v| {
                v.iter()
                    .filter(|l| l.time_ns >= from && l.time_ns <= to)
                    .filter(|l| l.container.as_deref().is_none_or(|c| c == container))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The query of a log request.
#[derive(Debug, Default)]
struct LogQuery {
    container: Option<String>,
    follow: bool,
    previous: bool,
    timestamps: bool,
    tail: Option<u64>,
    since_ns: Option<i64>,
    limit_bytes: Option<u64>,
}

fn flag(rr: &ResourceRequest, k: &str) -> bool {
    matches!(rr.param(k), Some("true" | "1"))
}

fn parse_query(rr: &ResourceRequest) -> Result<LogQuery, ApiError> {
    let int = |k: &str| -> Result<Option<i64>, ApiError> {
        rr.param(k)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid {k}: {v:?} is not an integer"))
                })
            })
            .transpose()
    };
    let since_seconds = int("sinceSeconds")?;
    let since_time = rr
        .param("sinceTime")
        .map(|v| {
            v.parse::<Timestamp>()
                .map_err(|_| ApiError::bad_request(format!("invalid sinceTime: {v:?}")))
        })
        .transpose()?;
    if since_seconds.is_some() && since_time.is_some() {
        return Err(ApiError::bad_request(
            "at most one of sinceTime or sinceSeconds may be specified",
        ));
    }
    if since_seconds.is_some_and(|s| s < 1) {
        return Err(ApiError::bad_request(
            "sinceSeconds: must be greater than 0",
        ));
    }
    let tail = int("tailLines")?;
    if tail.is_some_and(|t| t < 0) {
        return Err(ApiError::bad_request(
            "tailLines: must be greater than or equal to 0",
        ));
    }
    let limit = int("limitBytes")?;
    if limit.is_some_and(|l| l < 1) {
        return Err(ApiError::bad_request("limitBytes: must be greater than 0"));
    }
    let since_ns = since_seconds
        .map(|s| now_ns() - s * 1_000_000_000)
        .or_else(|| since_time.map(|t| t.as_nanosecond() as i64));
    Ok(LogQuery {
        container: rr.param("container").map(str::to_string),
        follow: flag(rr, "follow"),
        previous: flag(rr, "previous"),
        timestamps: flag(rr, "timestamps"),
        tail: tail.map(|t| t as u64),
        since_ns,
        limit_bytes: limit.map(|l| l as u64),
    })
}

fn now_ns() -> i64 {
    Timestamp::now().as_nanosecond() as i64
}

fn time_ns(s: &str) -> Option<i64> {
    s.parse::<Timestamp>()
        .ok()
        .map(|t| t.as_nanosecond() as i64)
}

/// The container a request means: the named one, the only one, or the default-container
/// annotation; otherwise the same refusal a real API server gives.
fn choose_container(pod: &Value, asked: Option<&str>) -> Result<String, ApiError> {
    let name = str_at(pod, "/metadata/name");
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().map(|c| str_at(c, "/name")).collect())
        .unwrap_or_default();
    if let Some(c) = asked {
        return if names.contains(&c) {
            Ok(c.to_string())
        } else {
            Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )))
        };
    }
    let default = str_at(
        pod,
        "/metadata/annotations/kubectl.kubernetes.io~1default-container",
    );
    match names.as_slice() {
        [only] => Ok(only.to_string()),
        _ if names.contains(&default) => Ok(default.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// Which instance of the container the request reads, as a log spec, and whether it is
/// still running (only a running one can be followed).
fn instance(
    hub: &LogHub,
    pod: &Value,
    container: &str,
    previous: bool,
) -> Result<(LogSpec, bool), ApiError> {
    let pod_name = str_at(pod, "/metadata/name");
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| str_at(c, "/name") == container));
    let image = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| str_at(c, "/name") == container))
        .map(|c| str_at(c, "/image").to_string())
        .unwrap_or_default();
    let restarts = status.map(|s| i64_at(s, "/restartCount")).unwrap_or(0);
    let waiting = || {
        let reason = status
            .map(|s| str_at(s, "/state/waiting/reason"))
            .filter(|r| !r.is_empty())
            .unwrap_or("ContainerCreating");
        ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
        ))
    };
    let status = status.ok_or_else(waiting)?;
    let terminated = |at: &str, restarts: i64| -> Option<(i64, i64, i64, i64)> {
        let t = status.pointer(at)?;
        Some((
            time_ns(str_at(t, "/startedAt"))?,
            time_ns(str_at(t, "/finishedAt"))?,
            i64_at(t, "/exitCode"),
            restarts,
        ))
    };
    let (start, end, exit, instance_no, running) = if previous {
        let (s, e, x, n) = terminated("/lastState/terminated", restarts - 1).ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            ))
        })?;
        (s, Some(e), x, n, false)
    } else if let Some(s) = status
        .pointer("/state/running/startedAt")
        .and_then(Value::as_str)
        .and_then(time_ns)
    {
        (s, None, 0, restarts, true)
    } else if let Some((s, e, x, n)) = terminated("/state/terminated", restarts)
        .or_else(|| terminated("/lastState/terminated", restarts - 1))
    {
        // A kubelet keeps a stopped container's log until the next one starts.
        (s, Some(e), x, n, false)
    } else {
        return Err(waiting());
    };
    let scenario = hub.scenario.borrow().clone();
    let rule = scenario.rule_for(&image);
    let spec = LogSpec {
        seed: generate::seed_of(&[uid_of(pod), container, &instance_no.to_string()]),
        start_ns: start,
        end_ns: end,
        exit_code: exit,
        rate: rule
            .and_then(|r| r.log_rate)
            .filter(|r| *r > 0.0)
            .unwrap_or(DEFAULT_LOG_RATE),
        error_rate: rule
            .and_then(|r| r.error_rate)
            .unwrap_or(DEFAULT_ERROR_RATE),
        image,
        pod_ip: str_at(pod, "/status/podIP").to_string(),
    };
    Ok((spec, running))
}

/// Formats lines into the response body, counting down `limitBytes`.
struct Writer {
    timestamps: bool,
    left: Option<u64>,
}

impl Writer {
    fn push(&mut self, out: &mut Vec<u8>, time_ns: i64, text: &[u8]) {
        if self.left == Some(0) {
            return;
        }
        let start = out.len();
        if self.timestamps {
            let t =
                Timestamp::from_nanosecond(i128::from(time_ns)).unwrap_or(Timestamp::UNIX_EPOCH);
            out.extend_from_slice(t.to_string().as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(text);
        out.push(b'\n');
        if let Some(left) = self.left.as_mut() {
            let n = (out.len() - start) as u64;
            if n >= *left {
                out.truncate(start + *left as usize);
                *left = 0;
            } else {
                *left -= n;
            }
        }
    }

    fn done(&self) -> bool {
        self.left == Some(0)
    }
}

/// Generated lines `from..to` merged by time with the injected lines in the same window.
fn render(
    hub: &LogHub,
    key: &ObjectKey,
    container: &str,
    spec: &LogSpec,
    (from, to): (u64, u64),
    window_ns: (i64, i64),
    w: &mut Writer,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut injected = hub
        .injected_between(key, container, window_ns.0, window_ns.1)
        .into_iter()
        .peekable();
    for i in from..to {
        let t = spec.time_of(i);
        while let Some(l) = injected.next_if(|l| l.time_ns <= t) {
            w.push(&mut out, l.time_ns, &l.bytes);
        }
        w.push(&mut out, t, spec.line(i).as_bytes());
        if w.done() {
            return out;
        }
    }
    for l in injected {
        w.push(&mut out, l.time_ns, &l.bytes);
    }
    out
}

/// Serves `GET pods/{name}/log`.
pub fn serve(
    hub: &Arc<LogHub>,
    store: &Arc<Store>,
    rr: &ResourceRequest,
) -> Result<Response, ApiError> {
    let key = ObjectKey::new(
        rr.namespace.clone().unwrap_or_else(|| "default".into()),
        rr.name.clone().unwrap_or_default(),
    );
    let pod = store
        .get(Kind::Pod, &key)
        .ok_or_else(|| ApiError::not_found(format!("pods \"{}\" not found", key.name)))?;
    let q = parse_query(rr)?;
    let container = choose_container(&pod, q.container.as_deref())?;
    let (spec, running) = instance(hub, &pod, &container, q.previous)?;
    let now = now_ns();
    let to = spec.count_at(now);
    let mut from = q.since_ns.map_or(0, |t| spec.first_at_or_after(t));
    if let Some(tail) = q.tail {
        from = from.max(to.saturating_sub(tail));
    }
    let window_start = if from < to {
        spec.time_of(from)
    } else {
        q.since_ns.unwrap_or(now)
    };
    // With a tail of 0 nothing before now is shown, injected lines included.
    let window_start = if q.tail == Some(0) {
        now + 1
    } else {
        window_start.max(spec.start_ns)
    };
    let mut w = Writer {
        timestamps: q.timestamps,
        left: q.limit_bytes,
    };
    // Subscribed before the first chunk is rendered, so no injected line falls between.
    let first = render(
        hub,
        &key,
        &container,
        &spec,
        (from, to),
        (window_start, now),
        &mut w,
    );
    if !(q.follow && running) || w.done() {
        return Ok(text_response(Body::from(first)));
    }
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let follower = Follower {
        cut: hub.cut.subscribe(),
        injected: hub.injected_tx.subscribe(),
        store: store.clone(),
        key,
        container,
        spec,
        uid: uid_of(&pod).to_string(),
        next: to,
        since_ns: now,
        writer: w,
    };
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        follower.run(tx).await;
    });
    Ok(text_response(Body::from_stream(rx)))
}

fn text_response(body: Body) -> Response {
    Response::builder()
        .header("content-type", "text/plain")
        .body(body)
        .unwrap_or_default()
}

/// One `follow` stream after its first chunk.
struct Follower {
    cut: watch::Receiver<u64>,
    injected: broadcast::Receiver<Arc<Injected>>,
    store: Arc<Store>,
    key: ObjectKey,
    container: String,
    spec: LogSpec,
    uid: String,
    next: u64,
    /// Injected lines after this time are still to send.
    since_ns: i64,
    writer: Writer,
}

impl Follower {
    async fn run(mut self, mut tx: futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>) {
        loop {
            let wait = Duration::from_nanos(
                (self.spec.time_of(self.next) - now_ns())
                    .clamp(1_000_000, RECHECK.as_nanos() as i64) as u64,
            );
            let mut out = Vec::new();
            tokio::select! {
                _ = self.cut.changed() => return,
                line = self.injected.recv() => match line {
                    Ok(l) if l.key == self.key && l.container.as_deref().is_none_or(|c| c == self.container) => {
                        self.writer.push(&mut out, l.time_ns, &l.bytes);
                        self.since_ns = self.since_ns.max(l.time_ns);
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(wait) => {}
            }
            if !self.still_running() {
                return;
            }
            let to = self.spec.count_at(now_ns());
            for i in self.next..to {
                self.writer
                    .push(&mut out, self.spec.time_of(i), self.spec.line(i).as_bytes());
                if self.writer.done() {
                    break;
                }
            }
            self.next = to;
            if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                return;
            }
            if self.writer.done() {
                return;
            }
        }
    }

    /// The same pod, with the same container instance still running.
    fn still_running(&self) -> bool {
        let Some(pod) = self.store.get(Kind::Pod, &self.key) else {
            return false;
        };
        if uid_of(&pod) != self.uid || !str_at(&pod, "/metadata/deletionTimestamp").is_empty() {
            return false;
        }
        pod.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| str_at(c, "/name") == self.container))
            .and_then(|c| c.pointer("/state/running/startedAt"))
            .and_then(Value::as_str)
            .and_then(time_ns)
            == Some(self.spec.start_ns)
    }
}
