//! Volumes: named storage that outlives containers (`volume create/ls/inspect/rm/prune`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCreateRequest {
    /// `None` generates a 64-hex name (an anonymous volume).
    pub name: Option<String>,
    /// Only `local` is supported.
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `-o` driver options (`type=tmpfs`, `device=…`, `o=…`, `uid=…`, `gid=…`…).
    pub options: BTreeMap<String, String>,
    /// Succeed when a volume of that name exists (`--ignore`).
    pub ignore_if_exists: bool,
}

/// `volume inspect` (Podman's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeInspect {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    pub options: BTreeMap<String, String>,
    #[serde(rename = "UID", skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(rename = "GID", skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    pub mount_count: u32,
    pub needs_copy_up: bool,
    pub needs_chown: bool,
    pub anonymous: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRemoveRequest {
    pub names: Vec<String>,
    pub force: bool,
    pub all: bool,
}
