//! The etcd backend: etcd-client with the prefix, timeouts, login and TLS of
//! [`StoreConfig`]. Watches live in `watch.rs`.

mod admin;
mod lease;
mod paged;
mod registry;
mod watch;

pub use admin::{Access, EtcdAdmin, ROOT, cert_common_name, group_of_role, group_role, user_role};

use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, Identity, TlsOptions, Txn, TxnOp,
};
use futures::stream::BoxStream;

use super::StoreError;
use super::backend::{Backend, Cond, Fence, Kv, LeaseState, Page, RawEvent, Write};
use super::config::{Backend as BackendKind, StoreConfig};

/// How often the connection is pinged, so a dead peer is noticed without traffic.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

pub struct EtcdStore {
    /// The clients (for reads and writes, each request bounded by the request timeout; for
    /// watches, no request timeout but keep-alive pings), swapped for clients of the live
    /// members when a member of a cluster goes away or comes back (see `follow_members`).
    clients: Clients,
    prefix: String,
    endpoints: Vec<String>,
    user: Option<String>,
    /// The client certificate's common name: etcd's user when there is no login.
    cert_user: Option<String>,
    tls: bool,
    request_timeout: Duration,
    /// The etcd lease behind each lease name this process holds.
    leases: tokio::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Set when this connection takes a lease: every transaction then carries it.
    fence: std::sync::Mutex<Option<Fence>>,
    /// The etcd lease leased puts share while it is young: (id, granted, ttl).
    put_lease: tokio::sync::Mutex<Option<(i64, std::time::Instant, Duration)>>,
}

impl EtcdStore {
    pub async fn connect(cfg: &StoreConfig) -> Result<EtcdStore, StoreError> {
        let BackendKind::Etcd { endpoints } = &cfg.backend else {
            return Err(StoreError::Invalid("not an etcd:// store URL".to_string()));
        };
        let o = &cfg.options;
        let mut base = ConnectOptions::new()
            .with_connect_timeout(o.dial_timeout)
            .with_keep_alive(KEEP_ALIVE, o.dial_timeout)
            .with_keep_alive_while_idle(true)
            // etcd's simple tokens die with a restart and after idling; log in again.
            .with_auto_token_refresh(true);
        if let Some(user) = &o.user {
            base = base.with_user(user, o.password.clone().unwrap_or_default());
        }
        if cfg.tls() {
            base = base.with_tls(tls_options(cfg)?);
        }
        let at = endpoints.join(",");
        let timeout = o.request_timeout;
        let tls = cfg.tls();
        let unavailable = |e: etcd_client::Error| map_error(e, &at, o.user.as_deref(), tls);
        // A member that is down would take its share of requests and fail them: start
        // with the members that accept a connection (all of them if none does, for the
        // error).
        let all = endpoints.clone();
        let live = reachable(endpoints, o.dial_timeout).await;
        let endpoints = if live.is_empty() { endpoints } else { &live };
        let pair = bounded(timeout, &at, connect_pair(endpoints, &base, timeout))
            .await?
            .map_err(unavailable)?;
        let clients: Clients = std::sync::Arc::new(std::sync::RwLock::new(pair));
        if cfg_endpoints_len(cfg) > 1 {
            tokio::spawn(follow_members(
                std::sync::Arc::downgrade(&clients),
                all.clone(),
                live_set(endpoints),
                base.clone(),
                timeout,
                o.dial_timeout,
            ));
        }
        let cert_user = match (&o.user, &o.cert) {
            (None, Some(cert)) => Some(cert_common_name(&std::fs::read(cert).map_err(|e| {
                StoreError::Invalid(format!("cannot read --etcd-cert {}: {e}", cert.display()))
            })?)?),
            _ => None,
        };
        let store = EtcdStore {
            clients,
            prefix: o.prefix.clone(),
            endpoints: all,
            user: o.user.clone(),
            cert_user,
            tls,
            request_timeout: timeout,
            leases: Default::default(),
            fence: Default::default(),
            put_lease: Default::default(),
        };
        Ok(store)
    }

    fn at(&self) -> String {
        self.endpoints.join(",")
    }

    /// The client for reads and writes (cheap: the connection is shared).
    fn client(&self) -> Client {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn relative(&self, kv: &etcd_client::KeyValue) -> Kv {
        let key = String::from_utf8_lossy(kv.key());
        Kv {
            key: key.strip_prefix(&self.prefix).unwrap_or(&key).to_string(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        }
    }

    /// Runs one request with the request timeout, mapping errors to `StoreError`.
    async fn call<T>(
        &self,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StoreError> {
        self.raw(fut).await?.map_err(|e| self.fail(e))
    }

    /// [`Self::call`] keeping etcd's own error, for callers that act on its kind (a page
    /// too large for one answer is halved, not failed).
    async fn raw<T>(
        &self,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<Result<T, etcd_client::Error>, StoreError> {
        bounded(self.request_timeout, &self.at(), fut).await
    }

    fn fail(&self, e: etcd_client::Error) -> StoreError {
        map_error(e, &self.at(), self.user.as_deref(), self.tls)
    }
}

/// The request client and the watch client, shared with `follow_members`.
pub(super) type Clients = std::sync::Arc<std::sync::RwLock<(Client, Client)>>;

fn cfg_endpoints_len(cfg: &StoreConfig) -> usize {
    match &cfg.backend {
        BackendKind::Etcd { endpoints } => endpoints.len(),
        BackendKind::Memory => 0,
    }
}

fn live_set(endpoints: &[String]) -> Vec<String> {
    let mut v = endpoints.to_vec();
    v.sort();
    v
}

async fn connect_pair(
    endpoints: &[String],
    base: &ConnectOptions,
    timeout: Duration,
) -> Result<(Client, Client), etcd_client::Error> {
    let requests = Client::connect(endpoints, Some(base.clone().with_timeout(timeout))).await?;
    let watches = Client::connect(endpoints, Some(base.clone())).await?;
    Ok((requests, watches))
}

/// While the store is in use, checks every second which members of the cluster accept
/// a connection and, when that changes, swaps in clients of just those: a connection
/// balanced over a dead member keeps sending it requests that fail.
async fn follow_members(
    clients: std::sync::Weak<std::sync::RwLock<(Client, Client)>>,
    all: Vec<String>,
    mut current: Vec<String>,
    base: ConnectOptions,
    timeout: Duration,
    dial: Duration,
) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if clients.strong_count() == 0 {
            return;
        }
        let live = live_set(&reachable(&all, dial).await);
        if live.is_empty() || live == current {
            continue;
        }
        match tokio::time::timeout(timeout, connect_pair(&live, &base, timeout)).await {
            Ok(Ok(pair)) => {
                let Some(shared) = clients.upgrade() else {
                    return;
                };
                tracing::info!(members = ?live, "etcd members reachable now; reconnected");
                *shared.write().unwrap_or_else(|p| p.into_inner()) = pair;
                current = live;
            }
            _ => continue,
        }
    }
}

/// The endpoints a TCP connection reaches within `within` (tried at once).
async fn reachable(endpoints: &[String], within: Duration) -> Vec<String> {
    if endpoints.len() < 2 {
        return endpoints.to_vec();
    }
    let within = within.min(Duration::from_millis(500));
    let tries = endpoints.iter().map(|e| async move {
        let addr = e
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let ok = matches!(
            tokio::time::timeout(within, tokio::net::TcpStream::connect(addr)).await,
            Ok(Ok(_))
        );
        ok.then(|| e.clone())
    });
    futures::future::join_all(tries)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// tonic's own timeout covers a request once a connection exists; this also bounds the
/// wait for a connection that never comes.
async fn bounded<T>(
    timeout: Duration,
    at: &str,
    fut: impl Future<Output = T>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout + Duration::from_millis(500), fut)
        .await
        .map_err(|_| StoreError::Unavailable {
            at: at.to_string(),
            detail: format!("no answer within {:.1}s", timeout.as_secs_f64()),
        })
}

fn tls_options(cfg: &StoreConfig) -> Result<TlsOptions, StoreError> {
    let read = |flag: &str, p: &std::path::Path| {
        std::fs::read(p)
            .map_err(|e| StoreError::Invalid(format!("cannot read {flag} {}: {e}", p.display())))
    };
    let o = &cfg.options;
    let mut tls = TlsOptions::new();
    if let Some(ca) = &o.ca {
        tls = tls.ca_certificate(Certificate::from_pem(read("--etcd-ca", ca)?));
    }
    if let (Some(cert), Some(key)) = (&o.cert, &o.key) {
        tls = tls.identity(Identity::from_pem(
            read("--etcd-cert", cert)?,
            read("--etcd-key", key)?,
        ));
    }
    Ok(tls)
}

pub(super) fn map_error(
    e: etcd_client::Error,
    at: &str,
    user: Option<&str>,
    tls: bool,
) -> StoreError {
    use etcd_client::Error as E;
    let unavailable = |detail: String| StoreError::Unavailable {
        at: at.to_string(),
        // A TLS handshake etcd rejects looks like a dropped connection; say where to look.
        detail: if tls && !detail.contains("refused") {
            format!("{detail}; check --etcd-ca, --etcd-cert and --etcd-key")
        } else {
            detail
        },
    };
    match e {
        E::GRpcStatus(s) => {
            let msg = s.message().to_string();
            match i32::from(s.code()) {
                // PermissionDenied, Unauthenticated, or a failed login (InvalidArgument).
                7 | 16 => denied(user, msg),
                3 if msg.contains("authentication failed") => denied(user, msg),
                // etcd auth is on and no user was given.
                3 if msg.contains("user name is empty") => denied(
                    user,
                    "etcd requires a login; pass --etcd-user and its password".to_string(),
                ),
                // InvalidArgument, OutOfRange (a compacted or future revision).
                3 | 11 => StoreError::Invalid(format!("etcd refused the request: {msg}")),
                // ResourceExhausted: over the space quota. Its own error, not "unreachable":
                // retrying cannot help until an admin frees space, and the user must hear that.
                8 if msg.contains("database space exceeded") => {
                    StoreError::NoSpace { at: at.to_string() }
                }
                // Unknown, DeadlineExceeded, Unavailable, Cancelled, Aborted, Internal …
                _ if msg.is_empty() => unavailable(s.code().description().to_string()),
                _ => unavailable(match std::error::Error::source(&s) {
                    Some(cause) => append_causes(msg, cause),
                    None => msg,
                }),
            }
        }
        E::TransportError(t) => unavailable(source_chain(&t)),
        E::IoError(io) => unavailable(io.to_string()),
        E::InvalidUri(u) => StoreError::Invalid(format!("bad etcd endpoint: {u}")),
        E::InvalidArgs(a) => StoreError::Invalid(format!("bad etcd settings: {a}")),
        other => unavailable(other.to_string()),
    }
}

fn denied(user: Option<&str>, detail: String) -> StoreError {
    StoreError::Denied {
        user: user.map_or("the anonymous user".to_string(), |u| format!("user {u}")),
        detail,
    }
}

/// Transport errors hide the useful part ("Connection refused") in their sources.
fn source_chain(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(cause) => append_causes(e.to_string(), cause),
        None => e.to_string(),
    }
}

fn append_causes(mut out: String, first: &dyn std::error::Error) -> String {
    let mut cur = Some(first);
    while let Some(c) = cur {
        let text = c.to_string();
        // Layers often repeat their inner message; say each thing once.
        if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
        cur = c.source();
    }
    out
}

fn compare(prefix: &str, c: Cond) -> Compare {
    match c {
        Cond::ModRevision(k, rev) => {
            Compare::mod_revision(format!("{prefix}{k}"), CompareOp::Equal, rev)
        }
        Cond::Absent(k) => Compare::create_revision(format!("{prefix}{k}"), CompareOp::Equal, 0),
        Cond::Present(k) => Compare::create_revision(format!("{prefix}{k}"), CompareOp::Greater, 0),
    }
}

#[async_trait]
impl Backend for EtcdStore {
    fn location(&self) -> String {
        format!("etcd at {}", self.at())
    }

    fn login(&self) -> Option<String> {
        self.user.clone().or_else(|| self.cert_user.clone())
    }

    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseState, StoreError> {
        self.etcd_hold_lease(name, holder, ttl).await
    }

    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.etcd_lease_holder(name).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.etcd_release_lease(name, holder).await
    }

    async fn get(&self, key: &str) -> Result<Option<Kv>, StoreError> {
        let mut kv = self.client().kv_client();
        let resp = self.call(kv.get(self.full(key), None)).await?;
        Ok(resp.kvs().first().map(|kv| self.relative(kv)))
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError> {
        self.read_view(&[prefix], &[]).await
    }

    async fn range_view(
        &self,
        prefixes: &[&str],
        keys_only: &[&str],
    ) -> Result<(Vec<Kv>, i64), StoreError> {
        self.read_view(prefixes, keys_only).await
    }

    async fn range_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Page, StoreError> {
        self.read_page(prefix, after, limit, reverse).await
    }

    async fn txn(&self, when: Vec<Cond>, writes: Vec<Write>) -> Result<(bool, i64), StoreError> {
        let fence = self.fence();
        let mut compares: Vec<Compare> =
            when.into_iter().map(|c| compare(&self.prefix, c)).collect();
        if let Some(f) = &fence {
            compares.push(compare(
                &self.prefix,
                Cond::ModRevision(f.key.clone(), f.mod_revision),
            ));
        }
        let ops: Vec<TxnOp> = writes
            .into_iter()
            .map(|w| match w {
                Write::Put(k, v) => TxnOp::put(self.full(&k), v, None),
                Write::Delete(k) => TxnOp::delete(self.full(&k), None),
            })
            .collect();
        let mut kv = self.client().kv_client();
        let resp = self
            .call(kv.txn(Txn::new().when(compares).and_then(ops)))
            .await?;
        let rev = resp.header().map_or(0, |h| h.revision());
        if !resp.succeeded()
            && let Some(f) = fence
        {
            let now = self.get(&f.key).await?.map_or(0, |kv| kv.mod_revision);
            if now != f.mod_revision {
                return Err(StoreError::Fenced { key: f.key });
            }
        }
        Ok((resp.succeeded(), rev))
    }

    async fn put_leased(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        // One lease serves every put while it has at least half its time left: granting
        // is a raft write, and a console asks many times.
        let id = {
            let mut cached = self.put_lease.lock().await;
            match *cached {
                Some((id, at, t)) if t == ttl && at.elapsed() < ttl / 2 => id,
                _ => {
                    let mut lc = self.client().lease_client();
                    let id = self
                        .call(lc.grant(ttl.as_secs().max(1) as i64, None))
                        .await?
                        .id();
                    *cached = Some((id, std::time::Instant::now(), ttl));
                    id
                }
            }
        };
        let mut kv = self.client().kv_client();
        let resp = self
            .call(kv.put(
                self.full(key),
                value,
                Some(etcd_client::PutOptions::new().with_lease(id)),
            ))
            .await?;
        Ok(resp.header().map_or(0, |h| h.revision()))
    }

    async fn watch_prefix(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        let from = if from_revision > 0 {
            from_revision
        } else {
            self.range(super::layout::AUDIT_HEAD).await?.1 + 1
        };
        Ok(watch::spawn(watch::Watch {
            client: self
                .clients
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .1
                .clone(),
            source: Some(std::sync::Arc::downgrade(&self.clients)),
            prefix: self.prefix.clone(),
            key: self.full(prefix),
            next: from,
            relogin: self.user.is_some(),
        }))
    }

    fn fence(&self) -> Option<Fence> {
        self.fence.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn watch_keys(
        &self,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        self.watch_prefix("", from_revision).await
    }

    async fn compact_history(&self, revision: i64) -> Result<(), StoreError> {
        let mut kv = self.client().kv_client();
        self.call(kv.compact(revision, None)).await?;
        Ok(())
    }

    async fn write_alarm(&self) -> Option<StoreError> {
        // Status, not the alarm list: etcd answers it to any user, and every member
        // reports the cluster's alarms (alarm names like "memberID:… alarm:NOSPACE").
        let mut m = self.client().maintenance_client();
        let status = self.call(m.status()).await.ok()?;
        status
            .errors()
            .iter()
            .any(|e| e.contains("NOSPACE"))
            .then(|| StoreError::NoSpace { at: self.at() })
    }
}
