//! Leases in etcd: the key `leases/<name>` is put with an etcd lease only if it does not
//! exist (create_revision == 0), and renewed by keep-alive while the holder runs. When the
//! holder stops renewing, etcd deletes the key after the TTL and the next candidate wins.

use std::time::Duration;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};

use super::EtcdStore;
use crate::store::StoreError;
use crate::store::lease::lease_key;

impl EtcdStore {
    pub(super) async fn etcd_hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let key = self.full(&lease_key(name));
        let mut leases = self.leases.lock().await;
        if let Some(id) = leases.get(name).copied() {
            let mut lc = self.client.lease_client();
            let renewed = self
                .call(async {
                    let (mut keeper, mut stream) = lc.keep_alive(id).await?;
                    keeper.keep_alive().await?;
                    stream.message().await
                })
                .await?;
            if renewed.is_some_and(|r| r.ttl() > 0) {
                return Ok(holder.to_string());
            }
            // Expired while we were away: the key is gone or someone else's.
            leases.remove(name);
        }
        let mut kv = self.client.kv_client();
        let current = self.call(kv.get(key.clone(), None)).await?;
        if let Some(kv) = current.kvs().first() {
            return Ok(String::from_utf8_lossy(kv.value()).into_owned());
        }
        let mut lc = self.client.lease_client();
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
            return Ok(holder.to_string());
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
        Ok(winner.unwrap_or_default())
    }

    pub(super) async fn etcd_lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut kv = self.client.kv_client();
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
        let mut lc = self.client.lease_client();
        self.call(lc.revoke(id)).await.map(|_| ())
    }
}
