//! Small drawing pieces shared by the views.

pub mod age;
pub mod columns;
pub mod table;
pub mod timeline;
