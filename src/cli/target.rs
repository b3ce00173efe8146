//! The GROUP argument: `name` when the name is unique across the store, or
//! `cluster/namespace/name` to say exactly which.

use super::context::store_error;
use super::{CliError, Exit};
use crate::domain::{GroupKey, InstanceGroup};
use crate::store::{Scope, Store};

/// The group `arg` names. Unknown or ambiguous is bad input (exit 2); an ambiguous name
/// lists the candidates to choose from.
pub async fn resolve(store: &dyn Store, arg: &str) -> Result<InstanceGroup, CliError> {
    let parts: Vec<&str> = arg.split('/').collect();
    match parts.as_slice() {
        [cluster, namespace, name] if ![cluster, namespace, name].iter().any(|p| p.is_empty()) => {
            let key = GroupKey::new(*cluster, *namespace, *name);
            store
                .get_group(&key)
                .await
                .map_err(store_error)?
                .ok_or_else(|| unknown(arg))
        }
        [name] if !name.is_empty() => {
            // An unreadable group elsewhere is named on stderr, never fatal here.
            let listed = store
                .read_groups(&Scope::all())
                .await
                .map_err(store_error)?;
            super::output::report_unreadable(&listed.unreadable);
            pick(listed.items, name, arg).map_err(|mut e| {
                let suffix = format!("/{name}");
                if let Some(u) = listed.unreadable.iter().find(|u| u.key.ends_with(&suffix)) {
                    e.message = format!("{} ({u})", e.message);
                }
                e
            })
        }
        _ => Err(CliError::new(
            Exit::BadInput,
            format!("group {arg:?} is neither a name nor cluster/namespace/name"),
        )),
    }
}

fn pick(groups: Vec<InstanceGroup>, name: &str, arg: &str) -> Result<InstanceGroup, CliError> {
    let mut found: Vec<InstanceGroup> = groups.into_iter().filter(|g| g.name() == name).collect();
    match found.len() {
        0 => Err(unknown(arg)),
        1 => Ok(found.remove(0)),
        _ => {
            let keys: Vec<String> = found.iter().map(|g| g.key().to_string()).collect();
            Err(CliError::new(
                Exit::BadInput,
                format!(
                    "group name {name} is ambiguous: say which with one of {}",
                    keys.join(", ")
                ),
            ))
        }
    }
}

fn unknown(arg: &str) -> CliError {
    CliError::new(
        Exit::BadInput,
        format!("unknown group {arg} (see `flightdeck groups list`)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn group(cluster: &str, ns: &str, name: &str) -> InstanceGroup {
        serde_norway::from_str(&format!(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: {name}, app: a}}\n\
             spec: {{cluster: {cluster}, namespace: {ns}, template: t}}"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn names_resolve_when_unique_and_list_candidates_when_not() {
        let store = MemoryStore::new();
        for g in [
            group("a", "x", "web"),
            group("b", "x", "web"),
            group("a", "x", "api"),
        ] {
            store.put_group(&g).await.unwrap();
        }
        assert_eq!(
            resolve(&store, "api").await.unwrap().key().to_string(),
            "a/x/api"
        );
        assert_eq!(resolve(&store, "b/x/web").await.unwrap().key().cluster, "b");
        let amb = resolve(&store, "web").await.unwrap_err();
        assert_eq!(amb.exit, Exit::BadInput);
        assert!(amb.message.contains("a/x/web, b/x/web"), "{}", amb.message);
        let none = resolve(&store, "nope").await.unwrap_err();
        assert_eq!(none.exit, Exit::BadInput);
        assert!(resolve(&store, "a//web").await.is_err());
    }
}
