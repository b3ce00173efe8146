//! `flightdeck` with no command: the console on a real cluster.

use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::kube::ClusterConn;
use crate::tui::app::{App, AppInit};

/// The console's state for this user, theme and keymap (the user's XDG files layered on
/// the built-in ones). A bad config file stops here, before the terminal is taken.
pub fn new_app(global: &Global, conn: &ClusterConn, store: &str, who: Identity) -> Result<App, CliError> {
    let (theme, keymap) = crate::config::load(global.theme.as_deref(), global.keymap.as_deref())
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    Ok(App::new(AppInit {
        context: conn.context.clone(),
        contexts: conn.contexts.clone(),
        user: who.name,
        store: store.to_string(),
        theme,
        keymap,
        first_run: first_run(),
    }))
}

/// True the first time this user opens the console: a marker file in the state dir.
fn first_run() -> bool {
    let marker = crate::logging::state_dir().join("seen-hint");
    if marker.exists() {
        return false;
    }
    let _ = std::fs::write(&marker, b"");
    true
}

pub async fn run(global: &Global) -> Result<(), CliError> {
    let _ = global;
    Err(CliError::new(Exit::BadInput, "the console on a real cluster needs the platform store (not wired yet); try `flightdeck demo`"))
}
