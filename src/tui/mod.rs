pub mod action;
pub mod app;
pub mod views;
pub mod widgets;
