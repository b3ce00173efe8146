//! Leases in etcd: the key `leases/<name>` is put with an etcd lease only if it does not
//! exist (create_revision == 0), and renewed by keep-alive while the holder runs. When the
//! holder stops renewing, etcd deletes the key after the TTL and the next candidate wins.

use std::time::Duration;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};

use super::EtcdStore;
use crate::store::StoreError;
use crate::store::backend::{Fence, LeaseState};
use crate::store::lease::lease_key;

impl EtcdStore {
    pub(super) async fn etcd_hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseState, StoreError> {
        let key = self.full(&lease_key(name));
        let mine = |cleared_stale| LeaseState {
            holder: holder.to_string(),
            cleared_stale,
        };
        let mut leases = self.leases.lock().await;
        if let Some(id) = leases.get(name).copied() {
            let mut lc = self.client().lease_client();
            let renewed = self
                .call(async {
                    let (mut keeper, mut stream) = match lc.keep_alive(id).await {
                        Ok(pair) => pair,
                        // etcd-client answers an expired lease (TTL 0) with an error of its
                        // own, not a status from etcd: it is not the store being away, and
                        // taken for that, a holder whose lease ran out while it or etcd was
                        // stopped would never take one again.
                        Err(etcd_client::Error::LeaseKeepAliveError(m))
                            if m.contains("lease not found") =>
                        {
                            return Ok(None);
                        }
                        Err(e) => return Err(e),
                    };
                    keeper.keep_alive().await?;
                    stream.message().await
                })
                .await;
            match renewed {
                Ok(r) if r.as_ref().is_some_and(|r| r.ttl() > 0) => return Ok(mine(None)),
                // The store did not answer: we cannot know, try again next time.
                Err(e @ StoreError::Unavailable { .. }) => return Err(e),
                // Expired or gone ("lease not found"): take it afresh below.
                _ => {}
            }
            // Expired while we were away: the key is gone or someone else's. The fence
            // stays as it was, so nothing this process still tries to write lands.
            leases.remove(name);
        }
        let mut kv = self.client().kv_client();
        let current = self.call(kv.get(key.clone(), None)).await?;
        let mut cleared_stale = None;
        if let Some(found) = current.kvs().first() {
            let value = String::from_utf8_lossy(found.value()).into_owned();
            if self.lease_alive(found.lease()).await? {
                return Ok(LeaseState {
                    holder: value,
                    cleared_stale: None,
                });
            }
            // A lease key no live lease keeps (put by hand, or by a crashed older
            // version) would block every controller for ever: remove it, say so.
            let txn = Txn::new()
                .when([Compare::mod_revision(
                    key.clone(),
                    CompareOp::Equal,
                    found.mod_revision(),
                )])
                .and_then([TxnOp::delete(key.clone(), None)]);
            self.call(kv.txn(txn)).await?;
            tracing::warn!(key = %key, holder = %value, "removed a lease key without a live lease");
            cleared_stale = Some(value);
        }
        let mut lc = self.client().lease_client();
        let secs = ttl.as_secs().max(1) as i64;
        let id = self.call(lc.grant(secs, None)).await?.id();
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                key.clone(),
                holder,
                Some(PutOptions::new().with_lease(id)),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.call(kv.txn(txn)).await?;
        if resp.succeeded() {
            leases.insert(name.to_string(), id);
            let rev = resp.header().map_or(0, |h| h.revision());
            *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = Some(Fence {
                key: lease_key(name),
                mod_revision: rev,
            });
            return Ok(mine(cleared_stale));
        }
        // Lost the race: give the unused lease back (it would expire anyway).
        let _ = self.call(lc.revoke(id)).await;
        let winner = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(g) => g
                .kvs()
                .first()
                .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
            _ => None,
        });
        Ok(LeaseState {
            holder: winner.unwrap_or_default(),
            cleared_stale,
        })
    }

    /// Whether etcd lease `id` still lives (0: the key was put without a lease).
    async fn lease_alive(&self, id: i64) -> Result<bool, StoreError> {
        if id == 0 {
            return Ok(false);
        }
        let mut lc = self.client().lease_client();
        // etcd answers a dead lease with TTL -1 or with NotFound, by version.
        let answer = self
            .call(async {
                match lc.time_to_live(id, None).await {
                    Ok(r) => Ok(r.ttl() > 0),
                    Err(etcd_client::Error::GRpcStatus(s)) if i32::from(s.code()) == 5 => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(answer)
    }

    pub(super) async fn etcd_lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut kv = self.client().kv_client();
        let resp = self.call(kv.get(self.full(&lease_key(name)), None)).await?;
        Ok(resp
            .kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()))
    }

    pub(super) async fn etcd_release_lease(
        &self,
        name: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let Some(id) = self.leases.lock().await.remove(name) else {
            return Ok(());
        };
        // Revoking deletes the key with it.
        let _ = holder;
        *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut lc = self.client().lease_client();
        self.call(lc.revoke(id)).await.map(|_| ())
    }
}
