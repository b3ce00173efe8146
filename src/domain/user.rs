//! People and the controller as the store records them (`users/<name>`, `controller`).
//! `flightdeck admin add-user` writes a user's record as etcd root; the controller reads
//! it for the user's groups (their etcd roles, which only root may read from etcd itself).

use serde::{Deserialize, Serialize};

/// The release controller's etcd user.
pub const CONTROLLER_USER: &str = "flightdeck-controller";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub name: String,
    pub groups: Vec<String>,
    pub added: jiff::Timestamp,
    pub cert_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerRecord {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}
