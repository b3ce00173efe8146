//! What a key means: the actions live with the keymap that binds them (`config::action`).

pub use crate::config::action::*;
