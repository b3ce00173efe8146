//! Where the console meets the log viewer: opening it on a group, routing keys, pastes and
//! stream events to it, closing it. The event loop starts and stops the streams.

use crossterm::event::KeyEvent;

use super::{LogsOutcome, LogsView};
use crate::logs::{BufferLimits, LogEvent, LogSource};
use crate::tui::app::state::Screen;
use crate::tui::app::{App, Effect};

impl App {
    /// `l` on a group: the logs of all its pods.
    pub(crate) fn open_group_logs(&mut self) -> Option<Effect> {
        let Screen::Group(g) = &self.screen else {
            return None;
        };
        let key = g.key.clone();
        self.logs = Some(LogsView::new(
            format!("{}/{}", key.namespace, key.group),
            BufferLimits::default(),
        ));
        Some(Effect::OpenLogs {
            cluster: key.cluster.clone(),
            source: LogSource::group(&key.namespace, &key.group),
        })
    }

    /// Keys while the viewer is open; `None` when the viewer did not want the key either.
    pub(crate) fn on_logs_key(&mut self, key: KeyEvent) -> Result<Option<Effect>, KeyEvent> {
        let Some(view) = self.logs.as_mut() else {
            return Err(key);
        };
        match view.on_key(key, &self.keymap) {
            LogsOutcome::Consumed => Ok(None),
            LogsOutcome::Close => {
                self.logs = None;
                Ok(Some(Effect::CloseLogs))
            }
            LogsOutcome::Ignored => Err(key),
        }
    }

    pub fn on_log_event(&mut self, ev: LogEvent) {
        if let Some(v) = self.logs.as_mut() {
            v.apply(ev);
        }
    }

    pub fn logs_view(&self) -> Option<&LogsView> {
        self.logs.as_ref()
    }
}
