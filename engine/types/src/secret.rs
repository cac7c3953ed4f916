//! Secrets: small named blobs kept by the engine (not world-readable) and handed to
//! containers as a file under /run/secrets or an environment variable.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `secret create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretCreateRequest {
    pub name: String,
    pub data: Vec<u8>,
    /// Only `file` is supported.
    pub driver: String,
    pub labels: BTreeMap<String, String>,
}

/// What `secret ls` and `secret inspect` show (never the data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// RFC 3339.
    pub created: String,
    pub updated: String,
    pub labels: BTreeMap<String, String>,
}

/// How a container gets a secret (`--secret NAME[,type=mount|env,target=…]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretUse {
    pub name: String,
    /// `env`: an environment variable; otherwise a file.
    pub env: bool,
    /// The variable's name, or the file's path (relative ones are under /run/secrets).
    pub target: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}
