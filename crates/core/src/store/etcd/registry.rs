//! [`Registry`] on etcd: absolute keys through a connection made without flightdeck's
//! prefix, and real etcd leases.

use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};
use futures::stream::BoxStream;

use super::super::StoreError;
use super::super::backend::{Backend, Kv, RawEvent};
use super::super::registry::{EtcdRegistry, Registry};

#[async_trait]
impl Registry for EtcdRegistry {
    fn location(&self) -> String {
        format!("etcd at {}", self.store.at())
    }

    async fn list(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError> {
        self.store.range(prefix).await
    }

    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        let from = if from_revision > 0 {
            from_revision
        } else {
            self.store.range(prefix).await?.1 + 1
        };
        self.store.watch_prefix(prefix, from).await
    }

    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        mod_revision: i64,
    ) -> Result<bool, StoreError> {
        let txn = Txn::new()
            .when(vec![Compare::mod_revision(
                key,
                CompareOp::Equal,
                mod_revision,
            )])
            .and_then(vec![TxnOp::put(
                key,
                value,
                Some(PutOptions::new().with_ignore_lease()),
            )]);
        let mut kv = self.store.client().kv_client();
        Ok(self.store.call(kv.txn(txn)).await?.succeeded())
    }

    async fn remove(&self, key: &str, mod_revision: i64) -> Result<bool, StoreError> {
        let txn = Txn::new()
            .when(vec![Compare::mod_revision(
                key,
                CompareOp::Equal,
                mod_revision,
            )])
            .and_then(vec![TxnOp::delete(key, None)]);
        let mut kv = self.store.client().kv_client();
        Ok(self.store.call(kv.txn(txn)).await?.succeeded())
    }

    async fn register(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<i64, StoreError> {
        let mut lc = self.store.client().lease_client();
        let id = self
            .store
            .call(lc.grant(ttl.as_secs().max(1) as i64, None))
            .await?
            .id();
        let mut kv = self.store.client().kv_client();
        self.store
            .call(kv.put(key, value, Some(PutOptions::new().with_lease(id))))
            .await?;
        Ok(id)
    }

    async fn keep_alive(&self, lease: i64) -> Result<bool, StoreError> {
        let mut lc = self.store.client().lease_client();
        let (mut keeper, mut answers) = self.store.call(lc.keep_alive(lease)).await?;
        self.store.call(keeper.keep_alive()).await?;
        match self.store.call(answers.message()).await? {
            Some(a) => Ok(a.ttl() > 0),
            None => Ok(false),
        }
    }

    async fn revoke(&self, lease: i64) -> Result<(), StoreError> {
        let mut lc = self.store.client().lease_client();
        match self.store.call(lc.revoke(lease)).await {
            Ok(_) => Ok(()),
            // Already gone: what revoking wanted.
            Err(StoreError::Invalid(m)) if m.contains("not found") => Ok(()),
            Err(e) => Err(e),
        }
    }
}
