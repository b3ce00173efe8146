//! The release actions on the command line — deploy, step, pause, resume, promote, abort,
//! restart, weight, rollback — each one request to the release controller, the same path
//! as the console's keys. Arguments are checked before anything is contacted, so bad input
//! never touches the store.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::context::{ask_error, finish};
use super::target::resolve;
use super::{CliError, Exit, Global};
use crate::controller::Ask;
use crate::controller::edits::check_reason;
use crate::domain::Track;
use crate::engine::{Action, parse_weight};

pub use super::args::release::{
    ActOptions, DeployArgs, GroupArgs, KillArgs, RestartArgs, RollbackArgs, TrackArg, WeightArgs,
};

impl DeployArgs {
    pub fn action(&self) -> Result<Action, CliError> {
        self.action_with(self.tag.as_deref().unwrap_or_default())
    }

    /// The deploy of `tag` with this command's `--set`s, checked before anything is sent.
    pub fn action_with(&self, tag: &str) -> Result<Action, CliError> {
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CliError::new(
                Exit::BadInput,
                format!("--tag {tag:?} is not an image tag"),
            ));
        }
        let params = parse_sets(&self.set)?;
        // The controller checks again; checking here refuses before anything is contacted.
        let mut all = params.clone();
        all.insert("tag".into(), Value::String(tag.to_string()));
        crate::engine::render::check_params(&all)
            .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
        Ok(Action::Deploy {
            tag: tag.to_string(),
            params,
        })
    }
}

impl WeightArgs {
    pub fn action(&self) -> Result<Action, CliError> {
        parse_weight(&self.percent)
            .map(Action::Weight)
            .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))
    }
}

impl RestartArgs {
    pub fn action(&self) -> Action {
        Action::Restart {
            track: match self.track {
                TrackArg::Stable => Track::Stable,
                TrackArg::Canary => Track::Canary,
            },
        }
    }
}

/// `--set k=v` pairs; `tag` has its own flag so a deploy always says what it releases.
fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, Value>, CliError> {
    let mut out = BTreeMap::new();
    for s in sets {
        let bad = |why: &str| CliError::new(Exit::BadInput, format!("--set {s:?}: {why}"));
        let (k, v) = s.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(bad("the key is empty"));
        }
        if k == "tag" {
            return Err(bad("use --tag for the tag"));
        }
        // YAML reads `3` as a number and `true` as a bool; anything else stays a string.
        let value = match serde_norway::from_str::<Value>(v) {
            Ok(Value::Null) | Err(_) => Value::String(v.to_string()),
            Ok(Value::Array(_)) | Ok(Value::Object(_)) => Value::String(v.to_string()),
            Ok(scalar) => scalar,
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

/// Asks the release controller to run `action` on the group `group` names.
/// `deploy GROUP --tag-from OTHER`: the tag OTHER runs as stable, with the source in the
/// audit reason.
pub async fn deploy_from(global: &Global, args: &DeployArgs, from: &str) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let source = resolve(store.as_ref(), from).await?;
    let key = source.key();
    let release = store
        .get_release(&key)
        .await
        .map_err(super::context::store_error)?
        .map(|v| v.value)
        .ok_or_else(|| {
            CliError::new(
                Exit::Refused,
                format!("{key} has never been deployed: no tag to take"),
            )
        })?;
    let n = release.stable_revision;
    let revision = store
        .get_revision(&key, n)
        .await
        .map_err(super::context::store_error)?
        .ok_or_else(|| {
            CliError::new(
                Exit::Refused,
                format!("{key} has no revision r{n} in the store"),
            )
        })?;
    let tag = revision
        .params
        .get("tag")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::new(Exit::Refused, format!("{key} r{n} has no tag parameter")))?
        .to_string();
    let action = args.action_with(&tag)?;
    let origin = format!("tag {tag} from {key} (stable r{n})");
    let reason = match args.opts.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => format!("{r}; {origin}"),
        _ => origin,
    };
    let opts = ActOptions {
        reason: Some(reason),
        json: args.opts.json,
    };
    act(global, &args.group, action, &opts).await
}

pub async fn act(
    global: &Global,
    group: &str,
    action: Action,
    opts: &ActOptions,
) -> Result<(), CliError> {
    check_reason(opts.reason.as_deref()).map_err(|e| CliError::new(Exit::BadInput, e))?;
    let requester = global.requester().await?;
    let target = resolve(requester.store().as_ref(), group).await?;
    let name = action.name();
    let answer = requester
        .ask(Ask::Act {
            group: target.key(),
            action,
            reason: opts.reason.clone(),
        })
        .await
        .map_err(ask_error)?;
    if opts.json && answer.release.is_some() {
        super::output::print_json(&json!({
            "action": name,
            "group": target.key(),
            "summary": answer.message,
            "release": answer.release,
            "exit": answer.exit,
        }))?;
        if answer.exit == 0 {
            return Ok(());
        }
    }
    finish(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_read_scalars_and_refuse_the_tag() {
        let p = parse_sets(&[
            "replicas=3".into(),
            "image=reg/x:y".into(),
            "debug=true".into(),
        ])
        .unwrap();
        assert_eq!(p["replicas"], json!(3));
        assert_eq!(p["image"], json!("reg/x:y"));
        assert_eq!(p["debug"], json!(true));
        assert_eq!(
            parse_sets(&["tag=1".into()]).unwrap_err().exit,
            Exit::BadInput
        );
        assert_eq!(
            parse_sets(&["novalue".into()]).unwrap_err().exit,
            Exit::BadInput
        );
    }
}
