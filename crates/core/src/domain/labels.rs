//! Labels that tie cluster objects to instance groups. Templates must set them on the
//! Deployment and on its pod template, so pods, replicasets and events can be traced back
//! to a group and a track.

pub const GROUP: &str = "flightdeck.dev/group";
pub const APP: &str = "flightdeck.dev/app";
pub const TRACK: &str = "flightdeck.dev/track";
/// Annotation on a Deployment: the revision flightdeck last applied to it.
pub const REVISION: &str = "flightdeck.dev/revision";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "flightdeck";
