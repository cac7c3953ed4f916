//! Pods: groups of containers that share namespaces (network, IPC, UTS by default)
//! held open by an infra container, and the Kubernetes YAML that describes them
//! (`kube play`, `kube down`, `kube generate`).

use crate::container::Resources;
use crate::network::{NetworkAttachment, PortMapping};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The namespaces a pod shares when `--share` is not given (as Podman).
pub const DEFAULT_SHARE: &[&str] = &["ipc", "net", "uts"];

/// The namespaces `--share` may name.
pub const SHAREABLE: &[&str] = &["cgroup", "ipc", "net", "pid", "uts"];

/// `pod create`: every flag, already parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodCreateRequest {
    pub name: Option<String>,
    /// Whether the pod gets an infra container (`--infra`, default true).
    pub infra: bool,
    /// `--infra-image`: an image instead of Berth's own pause image.
    pub infra_image: Option<String>,
    /// `--infra-command`: the infra image's entrypoint instead of its own.
    pub infra_command: Option<Vec<String>>,
    /// `--infra-name` (default: the pod ID's first 12 digits, then `-infra`).
    pub infra_name: Option<String>,
    /// Namespaces the containers share (`--share`), from [`SHAREABLE`].
    pub share: Vec<String>,
    /// As a container's: `bridge` (the networks below), `host`, `none`, `pasta`…
    pub network: String,
    pub networks: Vec<NetworkAttachment>,
    pub ports: Vec<PortMapping>,
    pub hostname: Option<String>,
    pub add_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub no_hosts: bool,
    /// Limits every container of the pod gets unless it sets its own.
    pub resources: Resources,
    pub labels: BTreeMap<String, String>,
    pub userns: String,
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
    /// `continue` (default) or `stop`: stop the pod when its last container exits.
    pub exit_policy: String,
    /// `--replace`: remove a pod of the same name first.
    pub replace: bool,
    /// OCI runtime for the infra container.
    pub runtime: Option<String>,
    pub create_command: Vec<String>,
}

impl Default for PodCreateRequest {
    fn default() -> Self {
        PodCreateRequest {
            name: None,
            infra: true,
            infra_image: None,
            infra_command: None,
            infra_name: None,
            share: DEFAULT_SHARE.iter().map(|s| s.to_string()).collect(),
            network: "bridge".into(),
            networks: Vec::new(),
            ports: Vec::new(),
            hostname: None,
            add_hosts: Vec::new(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            no_hosts: false,
            resources: Resources::default(),
            labels: BTreeMap::new(),
            userns: String::new(),
            uidmap: Vec::new(),
            gidmap: Vec::new(),
            exit_policy: "continue".into(),
            replace: false,
            runtime: None,
            create_command: Vec::new(),
        }
    }
}

/// One container of a pod, as `pod ps` and `pod inspect` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodContainer {
    pub id: String,
    pub names: String,
    pub status: String,
}

/// A row of `pod ps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodSummary {
    pub id: String,
    pub name: String,
    /// `Created`, `Running`, `Degraded`, `Paused`, `Exited`, `Error`.
    pub status: String,
    /// Seconds since the epoch.
    pub created: i64,
    pub infra_id: String,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<String>,
    /// The infra container first.
    pub containers: Vec<PodContainer>,
}

/// `pod rm`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovePodsRequest {
    pub names: Vec<String>,
    pub force: bool,
    pub all: bool,
    pub ignore_missing: bool,
    pub timeout: Option<u32>,
}

/// `kube play`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubePlayRequest {
    /// The YAML, one or more documents.
    pub yaml: String,
    /// `--replace`: remove pods of the same names first.
    pub replace: bool,
    /// `--start=false` leaves the pods created.
    pub start: bool,
    /// `--network`: the networks the pods join instead of the default one.
    pub networks: Vec<String>,
    /// Directory that relative `hostPath`s are read against (the YAML file's).
    pub context_dir: Option<String>,
    /// How to reach registries for the images (`--tls-verify`, `--authfile`…).
    #[serde(default)]
    pub registry: crate::image::RegistryOptions,
}

/// What `kube play` created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubePlayReport {
    /// Each pod's ID and its containers' IDs.
    pub pods: Vec<(String, Vec<String>)>,
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
}

/// What `kube down` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeDownReport {
    pub pods: Vec<String>,
    pub secrets: Vec<String>,
    pub volumes: Vec<String>,
}
