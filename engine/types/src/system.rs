//! What `version`, `info`, `system df` and `system reset` report.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionInfo {
    pub version: String,
    #[serde(rename = "APIVersion")]
    pub api_version: String,
    pub rust_version: String,
    pub git_commit: String,
    pub built: i64,
    pub built_time: String,
    #[serde(rename = "OsArch")]
    pub os_arch: String,
    pub os: String,
}

/// `berth info`: the host, the store and the registries, as Podman groups them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    pub host: HostInfo,
    pub store: StoreInfo,
    pub registries: RegistriesInfo,
    pub version: VersionInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    pub arch: String,
    pub os: String,
    pub kernel: String,
    pub hostname: String,
    pub cpus: u64,
    pub mem_total: u64,
    pub mem_free: u64,
    pub uptime: String,
    pub rootless: bool,
    pub oci_runtime: String,
    pub cgroup_version: String,
    pub cgroup_manager: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    pub graph_root: String,
    pub run_root: String,
    pub graph_driver_name: String,
    pub image_store: ImageStoreInfo,
    pub config_file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStoreInfo {
    pub number: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistriesInfo {
    pub search: Vec<String>,
}

/// One line of `system df`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsageRow {
    #[serde(rename = "Type")]
    pub kind: String,
    pub total: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}
