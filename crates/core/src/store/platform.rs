//! The store's meaning on top of any [`Backend`]: JSON values under the layout's keys.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::audit::AuditHead;
use crate::domain::{AuditDraft, AuditEntry, GroupKey, InstanceGroup, Release, Revision, Template};

use super::backend::{Backend, Cond, Kv, LeaseState, Write};
use super::{
    AuditFilter, Committed, Listed, ReleaseChange, Scope, Snapshot, Store, StoreError, StoreEvent,
    Unreadable, Versioned, chain, events, layout,
};

pub(super) fn encode<T: Serialize>(key: &str, v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::corrupt(key, e))
}

pub(super) fn decode<T: DeserializeOwned>(kv: &Kv) -> Result<T, StoreError> {
    serde_json::from_slice(&kv.value).map_err(|e| StoreError::corrupt(&kv.key, e))
}

pub(super) fn versioned<T: DeserializeOwned>(kv: &Kv) -> Result<Versioned<T>, StoreError> {
    Ok(Versioned {
        value: decode(kv)?,
        mod_revision: kv.mod_revision,
    })
}

async fn get_json<B: Backend + ?Sized, T: DeserializeOwned>(
    b: &B,
    key: &str,
) -> Result<Option<T>, StoreError> {
    b.get(key).await?.map(|kv| decode(&kv)).transpose()
}

async fn list_json<B: Backend + ?Sized, T: DeserializeOwned>(
    b: &B,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    let (kvs, _) = b.range(prefix).await?;
    kvs.iter().map(decode).collect()
}

/// Decodes every value; one that does not decode is set aside with its key, never fatal
/// for the rest (a value put with etcdctl must not stop the estate).
fn decode_all<T>(kvs: &[Kv], one: impl Fn(&Kv) -> Result<T, StoreError>) -> Listed<T> {
    let mut listed = Listed {
        items: Vec::with_capacity(kvs.len()),
        unreadable: Vec::new(),
    };
    for kv in kvs {
        match one(kv) {
            Ok(v) => listed.items.push(v),
            Err(e) => listed.unreadable.push(unreadable(&kv.key, e)),
        }
    }
    listed
}

fn unreadable(key: &str, e: StoreError) -> Unreadable {
    let detail = match e {
        StoreError::Corrupt { detail, .. } => detail,
        other => other.to_string(),
    };
    Unreadable {
        key: key.to_string(),
        detail,
    }
}

async fn put_json<B: Backend + ?Sized, T: Serialize>(
    b: &B,
    key: &str,
    v: &T,
) -> Result<i64, StoreError> {
    let (_, rev) = b
        .txn(vec![], vec![Write::Put(key.to_string(), encode(key, v)?)])
        .await?;
    Ok(rev)
}

async fn delete_existing<B: Backend + ?Sized>(
    b: &B,
    key: &str,
    what: String,
) -> Result<(), StoreError> {
    let (done, _) = b
        .txn(
            vec![Cond::Present(key.to_string())],
            vec![Write::Delete(key.to_string())],
        )
        .await?;
    if done {
        Ok(())
    } else {
        Err(StoreError::NotFound { what })
    }
}

/// Groups and releases below a scope sit exactly three segments deep; a deeper key
/// (a group named like a scope prefix) is not one of them.
fn in_scope(kvs: Vec<Kv>, base: &str) -> Vec<Kv> {
    kvs.into_iter()
        .filter(|kv| kv.key[base.len()..].split('/').count() == 3)
        .collect()
}

#[async_trait]
impl<B: Backend> Store for B {
    fn describe(&self) -> String {
        Backend::location(self)
    }

    fn authenticated_user(&self) -> Option<String> {
        Backend::login(self)
    }

    async fn put_template(&self, t: &Template) -> Result<i64, StoreError> {
        layout::check_segment("template", &t.metadata.name)?;
        put_json(self, &layout::template(&t.metadata.name), t).await
    }

    async fn get_template(&self, name: &str) -> Result<Option<Template>, StoreError> {
        layout::check_segment("template", name)?;
        get_json(self, &layout::template(name)).await
    }

    async fn read_templates(&self) -> Result<Listed<Template>, StoreError> {
        let (kvs, _) = self.range(layout::TEMPLATES).await?;
        Ok(decode_all(&kvs, decode))
    }

    async fn delete_template(&self, name: &str) -> Result<(), StoreError> {
        layout::check_segment("template", name)?;
        delete_existing(self, &layout::template(name), format!("template {name}")).await
    }

    async fn put_group(&self, g: &InstanceGroup) -> Result<i64, StoreError> {
        let key = g.key();
        layout::check_group(&key)?;
        put_json(self, &layout::group(&key), g).await
    }

    async fn get_group(&self, key: &GroupKey) -> Result<Option<InstanceGroup>, StoreError> {
        layout::check_group(key)?;
        get_json(self, &layout::group(key)).await
    }

    async fn read_groups(&self, scope: &Scope) -> Result<Listed<InstanceGroup>, StoreError> {
        let prefix = scope.prefix(layout::GROUPS)?;
        let (kvs, _) = self.range(&prefix).await?;
        Ok(decode_all(&in_scope(kvs, layout::GROUPS), decode))
    }

    async fn delete_group(&self, key: &GroupKey) -> Result<(), StoreError> {
        layout::check_group(key)?;
        delete_existing(self, &layout::group(key), format!("group {key}")).await
    }

    async fn next_revision_number(&self, key: &GroupKey) -> Result<u64, StoreError> {
        layout::check_group(key)?;
        let prefix = layout::revisions(key);
        // Numbers are zero-padded, so the last key is the highest: one key read.
        let page = self.range_page(&prefix, None, 1, true).await?;
        let last = page
            .kvs
            .first()
            .and_then(|kv| kv.key[prefix.len()..].parse::<u64>().ok())
            .unwrap_or(0);
        Ok(last + 1)
    }

    async fn create_revision(&self, r: &Revision) -> Result<i64, StoreError> {
        layout::check_group(&r.group)?;
        let key = layout::revision(&r.group, r.number);
        let (done, rev) = self
            .txn(
                vec![Cond::Absent(key.clone())],
                vec![Write::Put(key.clone(), encode(&key, r)?)],
            )
            .await?;
        if !done {
            return Err(StoreError::AlreadyExists {
                what: format!("revision {} of {}", r.number, r.group),
            });
        }
        Ok(rev)
    }

    async fn get_revision(&self, key: &GroupKey, n: u64) -> Result<Option<Revision>, StoreError> {
        layout::check_group(key)?;
        get_json(self, &layout::revision(key, n)).await
    }

    async fn list_revisions(&self, key: &GroupKey) -> Result<Vec<Revision>, StoreError> {
        layout::check_group(key)?;
        list_json(self, &layout::revisions(key)).await
    }

    async fn get_release(&self, key: &GroupKey) -> Result<Option<Versioned<Release>>, StoreError> {
        layout::check_group(key)?;
        self.get(&layout::release(key))
            .await?
            .map(|kv| versioned(&kv))
            .transpose()
    }

    async fn action_view(&self, key: &GroupKey) -> Result<super::ActionView, StoreError> {
        layout::check_group(key)?;
        let (group_key, release_key, revisions) = (
            layout::group(key),
            layout::release(key),
            layout::revisions(key),
        );
        // Exact keys read as prefixes: anything longer (group `web2` beside `web`) is
        // dropped below.
        // Revisions by name only: an action needs their numbers, not a thousand bodies.
        let (kvs, _) = self
            .range_view(&[&group_key, layout::POLICY, &release_key], &[&revisions])
            .await?;
        let mut view = super::ActionView::default();
        for kv in &kvs {
            if kv.key == group_key {
                view.group = Some(decode(kv)?);
            } else if kv.key == layout::POLICY {
                view.policy = Some(decode(kv)?);
            } else if kv.key == release_key {
                view.release = Some(versioned(kv)?);
            } else if let Some(n) = kv.key.strip_prefix(&revisions)
                && let Ok(n) = n.parse::<u64>()
            {
                view.revisions.push(n);
            }
        }
        view.revisions.sort_unstable();
        Ok(view)
    }

    async fn read_releases(&self, scope: &Scope) -> Result<Listed<Versioned<Release>>, StoreError> {
        let prefix = scope.prefix(layout::RELEASES)?;
        let (kvs, _) = self.range(&prefix).await?;
        Ok(decode_all(&in_scope(kvs, layout::RELEASES), versioned))
    }

    async fn commit_release_with(
        &self,
        change: ReleaseChange,
        also: Vec<Write>,
    ) -> Result<Committed, StoreError> {
        chain::commit_release(self, change, also).await
    }

    async fn append_audit_with(
        &self,
        draft: AuditDraft,
        when: Vec<Cond>,
        writes: Vec<Write>,
    ) -> Result<AuditEntry, StoreError> {
        chain::append(self, draft, when, writes).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        chain::list(self, filter).await
    }

    async fn verify_audit(&self) -> Result<u64, StoreError> {
        chain::verify(self).await
    }

    async fn get_policy(&self) -> Result<Option<Versioned<Value>>, StoreError> {
        self.get(layout::POLICY)
            .await?
            .map(|kv| versioned(&kv))
            .transpose()
    }

    async fn put_policy(&self, policy: &Value) -> Result<i64, StoreError> {
        put_json(self, layout::POLICY, policy).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let (kvs, revision) = self
            .range_many(&[
                layout::TEMPLATES,
                layout::GROUPS,
                layout::RELEASES,
                layout::POLICY,
                layout::AUDIT_HEAD,
            ])
            .await?;
        let mut snap = Snapshot {
            revision,
            templates: vec![],
            groups: vec![],
            releases: vec![],
            policy: None,
            audit_head: AuditHead::default(),
            unreadable: Vec::new(),
        };
        for kv in &kvs {
            // A value that does not decode is left out and named, never fatal: the
            // console shows the rest and counts what it could not read.
            let read = match layout::parse(&kv.key) {
                Some(layout::KeyKind::Template(_)) => decode(kv).map(|t| snap.templates.push(t)),
                Some(layout::KeyKind::Group(_)) => decode(kv).map(|g| snap.groups.push(g)),
                Some(layout::KeyKind::Release(_)) => versioned(kv).map(|r| snap.releases.push(r)),
                Some(layout::KeyKind::Policy) => decode(kv).map(|p| snap.policy = Some(p)),
                Some(layout::KeyKind::AuditHead) => decode(kv).map(|h| snap.audit_head = h),
                _ => Ok(()),
            };
            if let Err(e) = read {
                snap.unreadable.push(unreadable(&kv.key, e));
            }
        }
        Ok(snap)
    }

    async fn watch(
        &self,
        from_revision: i64,
    ) -> Result<BoxStream<'static, StoreEvent>, StoreError> {
        let raw = self.watch_keys(from_revision).await?;
        Ok(raw
            .filter_map(|ev| async move { events::to_store_event(ev) })
            .boxed())
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        self.compact_history(revision).await
    }

    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        Backend::hold_lease(self, name, holder, ttl).await
    }

    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Backend::lease_holder(self, name).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        Backend::release_lease(self, name, holder).await
    }

    fn backend(&self) -> &dyn Backend {
        self
    }
}
