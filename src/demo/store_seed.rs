//! Writes a [`Seed`] into a store: templates, groups, their revisions and releases, and the
//! demo policy — so the demo's in-memory store, or an etcd a benchmark watches
//! (`flightdeck sim --seed-store`), holds the same estate the simulated cluster runs.

use std::collections::BTreeMap;

use serde_json::json;

use super::Seed;
use crate::authz::policy::Policy;
use crate::domain::audit::{AuditDraft, AuditTarget, AuditUser, Outcome};
use crate::domain::{InstanceGroup, Revision, Template, Track};
use crate::engine::render::render;
use crate::store::{ReleaseChange, Store, StoreError};

/// Who the seed's audit entries name.
pub const SEED_USER: &str = "system:demo";

pub async fn seed_store(store: &dyn Store, seed: &Seed, admin: &str) -> Result<(), StoreError> {
    let policy = serde_json::to_value(Policy::demo(admin))
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.put_policy(&policy).await?;
    for t in &seed.templates {
        store.put_template(t).await?;
    }
    for (g, release) in seed.groups.iter().zip(&seed.releases) {
        store.put_group(g).await?;
        let template = seed
            .templates
            .iter()
            .find(|t| t.metadata.name == g.spec.template);
        let mut revisions = vec![revision(g, template, 1, &g.spec.params)?];
        if let (Some(n), Some(tag)) = (release.canary_revision, seed.canary_tags.get(g.name())) {
            let mut params = g.spec.params.clone();
            params.insert("tag".into(), json!(tag));
            revisions.push(revision(g, template, n, &params)?);
        }
        let mut first = true;
        for r in revisions {
            let mut audit = AuditDraft::new(
                AuditUser::named(SEED_USER, "system"),
                "seed",
                AuditTarget::from(&g.key()),
            );
            audit.outcome = Outcome::Applied;
            audit.reason = format!("demo estate: revision {} of {}", r.number, g.name());
            audit.after = json!({ "phase": release.phase.as_str(), "weight": release.weight, "step": release.step });
            let expect = if first {
                None
            } else {
                store.get_release(&g.key()).await?.map(|v| v.mod_revision)
            };
            first = false;
            store
                .commit_release(ReleaseChange {
                    key: g.key(),
                    expect_mod_revision: expect,
                    release: release.clone(),
                    revision: Some(r),
                    audit,
                })
                .await?;
        }
    }
    Ok(())
}

fn revision(
    g: &InstanceGroup,
    template: Option<&Template>,
    number: u64,
    params: &BTreeMap<String, serde_json::Value>,
) -> Result<Revision, StoreError> {
    let mut rendered = Vec::new();
    if let Some(t) = template {
        for track in [Track::Stable, Track::Canary] {
            rendered.extend(
                render(t, g, track, params, g.replicas())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            );
        }
    }
    Ok(Revision {
        number,
        group: g.key(),
        params: params.clone(),
        rendered,
        created: jiff::Timestamp::now(),
        created_by: SEED_USER.into(),
    })
}
