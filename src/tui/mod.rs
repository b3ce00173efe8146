//! The console: the terminal (`terminal`), the event loop (`run`), the app state and its
//! key handling (`app`, `action`), what is drawn (`views`, `widgets`) and the startup
//! figures for the benchmark (`bench`).

pub mod action;
pub mod app;
pub mod bench;
pub mod feeds;
pub mod logs_view;
pub mod registry_feed;
pub mod run;
pub mod terminal;
pub mod views;
pub mod widgets;
