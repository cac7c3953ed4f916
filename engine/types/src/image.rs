//! Images as front ends see them: the requests for pull, push, list, remove, save and
//! load, and the summaries and inspect documents they return (Podman's JSON shapes).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The platform a pull asks for; `None` fields mean "the host's".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

impl PlatformSpec {
    /// From the `--os`, `--arch`, `--variant` and `--platform OS/ARCH[/VARIANT]` flags;
    /// `--platform` wins. The error says what a platform must look like.
    pub fn from_flags(
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
        platform: Option<&str>,
    ) -> std::result::Result<PlatformSpec, &'static str> {
        let mut spec = PlatformSpec {
            os: os.map(str::to_string),
            architecture: arch.map(str::to_string),
            variant: variant.map(str::to_string),
        };
        if let Some(p) = platform {
            let parts: Vec<&str> = p.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|s| s.is_empty()) {
                return Err("expected OS/ARCH[/VARIANT]");
            }
            spec.os = Some(parts[0].to_string());
            spec.architecture = Some(parts[1].to_string());
            spec.variant = parts.get(2).map(|v| v.to_string());
        }
        Ok(spec)
    }
}

/// How to reach a registry: TLS verification, extra certificates and credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryOptions {
    /// `Some(false)` disables TLS verification and allows plain HTTP (`--tls-verify=false`).
    pub tls_verify: Option<bool>,
    /// A directory of `*.crt` CA certificates and `*.cert`/`*.key` client pairs (`--cert-dir`).
    pub cert_dir: Option<PathBuf>,
    /// `user:password` given on the command line (`--creds`).
    pub credentials: Option<(String, String)>,
    /// The auth file to read instead of the default (`--authfile`).
    pub authfile: Option<PathBuf>,
}

/// When a pull contacts the registry (`--pull` / `--policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    #[default]
    Always,
    Missing,
    Never,
    Newer,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub reference: String,
    pub platform: PlatformSpec,
    pub registry: RegistryOptions,
    pub policy: PullPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    /// The image ID (hex of the config digest).
    pub id: String,
    /// The fully-qualified name the image was stored under.
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The local image (name or ID).
    pub source: String,
    /// Where to push; defaults to the source name.
    pub destination: Option<String>,
    pub registry: RegistryOptions,
    /// Write the pushed manifest's digest here (`--digestfile`).
    pub digest_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    pub manifest_digest: String,
    pub destination: String,
}

/// One local image in the shape of `podman images --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub size: u64,
    pub shared_size: u64,
    pub virtual_size: u64,
    pub labels: Option<BTreeMap<String, String>>,
    pub containers: u64,
    pub names: Vec<String>,
    pub digest: String,
    pub history: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub created_at: String,
    pub dangling: bool,
}

/// The `Config` block of an image (the OCI image config's execution parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRunConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

/// One history entry of an image (`podman history` and inspect's `History`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub empty_layer: bool,
}

/// `podman image inspect` output for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub digest: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub config: ImageRunConfig,
    pub version: String,
    pub author: String,
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub size: u64,
    pub virtual_size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: BTreeMap<String, String>,
    pub manifest_type: String,
    pub user: String,
    pub history: Vec<HistoryEntry>,
    pub names_history: Vec<String>,
}

/// One row of `podman history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// The layer's image ID for the top entry, `<missing>` for the others (as Podman).
    pub id: String,
    pub created: Option<String>,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListImagesRequest {
    /// Include intermediate images (there are none in a pulled store; accepted for compatibility).
    pub all: bool,
    /// `key=value` filters as Podman takes them (`dangling`, `label`, `reference`, `before`, `since`, `id`, `digest`).
    pub filters: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveImagesRequest {
    pub names: Vec<String>,
    pub force: bool,
    pub all: bool,
    /// Succeed when a named image does not exist (`--ignore`).
    pub ignore_missing: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveImagesReport {
    /// Names that were untagged.
    pub untagged: Vec<String>,
    /// Image IDs that were deleted.
    pub deleted: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneImagesRequest {
    /// Remove every unused image, not only dangling ones (`-a`).
    pub all: bool,
    pub filters: Vec<String>,
}

/// The archive formats `save` writes and `load` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArchiveFormat {
    #[default]
    DockerArchive,
    OciArchive,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveRequest {
    pub names: Vec<String>,
    pub format: ArchiveFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub registry: String,
    pub username: String,
    pub password: String,
    pub options: RegistryOptions,
}

/// `search`: a term, optionally `registry/term`, looked for in registries' catalogs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub term: String,
    /// Results per registry (0: the default of 25).
    pub limit: usize,
    /// `stars=N`, `is-official=BOOL`, `is-automated=BOOL`.
    pub filters: Vec<String>,
    /// List the tags of the repository `term` names instead.
    pub list_tags: bool,
    pub registry: RegistryOptions,
}

/// One search hit, in Podman's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The registry searched.
    pub index: String,
    /// `registry/repository`.
    pub name: String,
    pub description: String,
    pub stars: u64,
    pub official: bool,
    pub automated: bool,
    /// The tag, when listing tags.
    pub tag: String,
}
