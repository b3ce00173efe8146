//! Range reads in pages. One unpaged read of a long prefix (a 100,000-entry audit log, a
//! group with a thousand revisions) is one gRPC answer, and past 4 MiB the client refuses
//! it ("decoded message length too large") — for everyone, for good. Here every read asks
//! for at most [`PAGE`] keys, pins the rest of the read to the first page's revision (so it
//! is still one consistent view), and halves the page when one page's values are too big.

use etcd_client::{GetOptions, KvClient, SortOrder, SortTarget, Txn, TxnOp, TxnOpResponse};

use super::super::StoreError;
use super::super::backend::{Kv, Page};
use super::EtcdStore;

/// Keys per page. Values are bounded (a group file ≤ 1 MiB, a template body ≤ 64 KiB, an
/// audit reason ≤ 1 KiB), and a page too big for [`MAX_ANSWER`] is halved and retried.
pub(super) const PAGE: usize = 500;

/// The largest answer this client accepts. Well above the 4 MiB default, so a page of
/// big values rarely needs halving; a page is never larger than PAGE values anyway.
const MAX_ANSWER: usize = 64 << 20;

/// A read pinned to a revision that was compacted meanwhile starts over, this many times.
const RESTARTS: u32 = 3;

/// One prefix to read, with or without values.
struct Span {
    prefix: String,
    keys_only: bool,
}

impl EtcdStore {
    fn kv(&self) -> KvClient {
        self.client()
            .kv_client()
            .max_decoding_message_size(MAX_ANSWER)
    }

    /// Everything under `values` (with values) and `keys` (names only), at one revision:
    /// the first page of each in one transaction (one round trip when everything fits,
    /// as it usually does), then the rest of each prefix page by page at that revision.
    pub(super) async fn read_view(
        &self,
        values: &[&str],
        keys: &[&str],
    ) -> Result<(Vec<Kv>, i64), StoreError> {
        let spans: Vec<Span> = values
            .iter()
            .map(|p| (p, false))
            .chain(keys.iter().map(|p| (p, true)))
            .map(|(p, keys_only)| Span {
                prefix: self.full(p),
                keys_only,
            })
            .collect();
        let mut restarts = 0;
        loop {
            match self.read_spans(&spans).await {
                Err(StoreError::Invalid(m)) if compacted(&m) && restarts < RESTARTS => {
                    restarts += 1;
                }
                other => return other,
            }
        }
    }

    async fn read_spans(&self, spans: &[Span]) -> Result<(Vec<Kv>, i64), StoreError> {
        let mut limit = PAGE;
        let resp = loop {
            let gets: Vec<TxnOp> = spans
                .iter()
                .map(|s| TxnOp::get(s.prefix.clone(), Some(options(s, limit).with_prefix())))
                .collect();
            match self.raw(self.kv().txn(Txn::new().and_then(gets))).await? {
                Ok(resp) => break resp,
                Err(e) if too_large(&e) && limit > 1 => limit /= 2,
                Err(e) => return Err(self.fail(e)),
            }
        };
        let revision = resp.header().map_or(0, |h| h.revision());
        let mut out = Vec::new();
        for (span, op) in spans.iter().zip(resp.op_responses()) {
            let TxnOpResponse::Get(get) = op else {
                continue;
            };
            out.extend(get.kvs().iter().map(|kv| self.relative(kv)));
            if get.more()
                && let Some(last) = get.kvs().last()
            {
                let mut after = last.key().to_vec();
                self.read_rest(span, &mut after, revision, limit, &mut out)
                    .await?;
            }
        }
        Ok((out, revision))
    }

    /// The keys of `span` after `after`, at `revision`, appended to `out`.
    async fn read_rest(
        &self,
        span: &Span,
        after: &mut Vec<u8>,
        revision: i64,
        mut limit: usize,
        out: &mut Vec<Kv>,
    ) -> Result<(), StoreError> {
        let end = prefix_end(span.prefix.as_bytes());
        loop {
            let mut from = after.clone();
            from.push(0);
            let opts = options(span, limit)
                .with_range(end.clone())
                .with_revision(revision);
            let resp = match self.raw(self.kv().get(from, Some(opts))).await? {
                Ok(r) => r,
                Err(e) if too_large(&e) && limit > 1 => {
                    limit /= 2;
                    continue;
                }
                Err(e) => return Err(self.fail(e)),
            };
            out.extend(resp.kvs().iter().map(|kv| self.relative(kv)));
            match resp.kvs().last() {
                Some(last) if resp.more() => *after = last.key().to_vec(),
                _ => return Ok(()),
            }
        }
    }

    /// One page of `prefix` after `after` (exclusive; in descending order when `reverse`).
    pub(super) async fn read_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Page, StoreError> {
        let full = self.full(prefix);
        let end = prefix_end(full.as_bytes());
        let (from, to) = match (after, reverse) {
            (Some(a), false) => {
                let mut from = self.full(a).into_bytes();
                from.push(0);
                (from, end)
            }
            (Some(a), true) => (full.clone().into_bytes(), self.full(a).into_bytes()),
            (None, _) => (full.clone().into_bytes(), end),
        };
        if from >= to && to != [0] {
            return Ok(Page::default());
        }
        let mut opts = GetOptions::new()
            .with_range(to)
            .with_limit(limit.max(1) as i64);
        if reverse {
            opts = opts.with_sort(SortTarget::Key, SortOrder::Descend);
        }
        let resp = match self.raw(self.kv().get(from, Some(opts))).await? {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e)),
        };
        Ok(Page {
            kvs: resp.kvs().iter().map(|kv| self.relative(kv)).collect(),
            more: resp.more(),
            revision: resp.header().map_or(0, |h| h.revision()),
        })
    }
}

fn options(span: &Span, limit: usize) -> GetOptions {
    let opts = GetOptions::new().with_limit(limit as i64);
    if span.keys_only {
        opts.with_keys_only()
    } else {
        opts
    }
}

/// The first key after every key that starts with `prefix` (`[0]`: to the end of all).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The client refused an answer over [`MAX_ANSWER`].
fn too_large(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(s)
        if i32::from(s.code()) == 11 && s.message().contains("message length too large"))
}

/// etcd compacted the revision a paged read was pinned to.
fn compacted(message: &str) -> bool {
    message.contains("required revision has been compacted")
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_just_after_its_last_key() {
        assert_eq!(prefix_end(b"audit/"), b"audit0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b""), vec![0]);
    }
}
