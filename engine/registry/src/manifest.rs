//! Manifests, image indexes and image configs in their OCI and Docker schema 2 forms,
//! and platform selection from an index.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The Accept header for manifest requests, most preferred first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest or config accepted from a registry or an archive.
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// How a layer blob is compressed, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("unsupported layer media type {0:?}")]
    UnsupportedLayer(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedManifest(String),
    #[error(
        "Docker schema 1 manifests are not supported; push the image again with a current client"
    )]
    Schema1,
    #[error("malformed manifest")]
    Malformed(#[source] serde_json::Error),
    #[error("malformed image config")]
    MalformedConfig(#[source] serde_json::Error),
    #[error(
        "no image found in manifest list for architecture {wanted}; the list has: {available}"
    )]
    NoMatchingPlatform { wanted: String, available: String },
}

impl Compression {
    pub fn from_media_type(mt: &str) -> Result<Compression, ManifestError> {
        match mt {
            OCI_LAYER | "application/vnd.docker.image.rootfs.diff.tar" => Ok(Compression::None),
            OCI_LAYER_GZIP
            | DOCKER_LAYER_GZIP
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Ok(Compression::Gzip),
            OCI_LAYER_ZSTD => Ok(Compression::Zstd),
            other => Err(ManifestError::UnsupportedLayer(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

/// An image manifest (OCI or Docker schema 2: the shapes agree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// What a manifest request returned.
#[derive(Debug, Clone)]
pub enum AnyManifest {
    Image(Box<ImageManifest>),
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

impl AnyManifest {
    /// Parses manifest bytes; the media type comes from the document, else the Content-Type.
    pub fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<(AnyManifest, String), ManifestError> {
        let probe: Probe = serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
        if probe.schema_version == Some(1) {
            return Err(ManifestError::Schema1);
        }
        let content_type =
            content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
        let mt = match (probe.media_type, content_type) {
            (Some(m), _) => m,
            (None, Some(c)) if c != "application/json" && c != "text/plain" => c,
            (None, _) if probe.manifests.is_some() => OCI_INDEX.to_string(),
            (None, _) => OCI_MANIFEST.to_string(),
        };
        match mt.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => {
                let m: ImageManifest =
                    serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
                Ok((AnyManifest::Image(Box::new(m)), mt))
            }
            OCI_INDEX | DOCKER_LIST => {
                let m: ImageIndex =
                    serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
                Ok((AnyManifest::Index(m), mt))
            }
            DOCKER_SCHEMA1 | "application/vnd.docker.distribution.manifest.v1+json" => {
                Err(ManifestError::Schema1)
            }
            other => Err(ManifestError::UnsupportedManifest(other.to_string())),
        }
    }
}

/// The platform wanted from an index, with the host's values filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedPlatform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl WantedPlatform {
    /// Normalises Go-style architecture names (`x86_64` → `amd64`, `aarch64` → `arm64`).
    pub fn new(os: Option<&str>, arch: Option<&str>, variant: Option<&str>) -> WantedPlatform {
        let architecture = normalize_arch(arch.unwrap_or(host_arch()));
        let variant = variant.map(str::to_string);
        WantedPlatform {
            os: os.unwrap_or("linux").to_string(),
            architecture,
            variant,
        }
    }

    fn matches(&self, p: &Platform) -> bool {
        if p.os != self.os || normalize_arch(&p.architecture) != self.architecture {
            return false;
        }
        match (&self.variant, &p.variant) {
            (None, _) => true,
            (Some(w), Some(v)) => w == v,
            // arm64 images without a variant are v8.
            (Some(w), None) => self.architecture == "arm64" && w == "v8",
        }
    }
}

impl std::fmt::Display for WantedPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The Go name of the architecture Berth was built for.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        "i386" | "i686" => "386".into(),
        other => other.to_string(),
    }
}

impl ImageIndex {
    /// Picks the manifest for `wanted`; with several matches the first in the list wins.
    pub fn select(&self, wanted: &WantedPlatform) -> Result<&Descriptor, ManifestError> {
        self.manifests
            .iter()
            .filter(|d| d.media_type != OCI_INDEX && d.media_type != DOCKER_LIST)
            .find(|d| d.platform.as_ref().is_some_and(|p| wanted.matches(p)))
            .ok_or_else(|| ManifestError::NoMatchingPlatform {
                wanted: wanted.to_string(),
                available: self
                    .manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref())
                    .map(|p| match &p.variant {
                        Some(v) => format!("{}/{}/{}", p.os, p.architecture, v),
                        None => format!("{}/{}", p.os, p.architecture),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The OCI image configuration document (the blob an image ID is the digest of).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(
        rename = "ExposedPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ManifestError> {
        serde_json::from_slice(bytes).map_err(ManifestError::MalformedConfig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(arch: &str, variant: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: Digest::of(arch.as_bytes()),
            size: 1,
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(Into::into),
                os_version: None,
            }),
            annotations: None,
            urls: None,
        }
    }

    #[test]
    fn select_picks_requested_arch_and_variant() {
        let idx = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            manifests: vec![
                desc("amd64", None),
                desc("arm", Some("v7")),
                desc("arm64", Some("v8")),
            ],
            annotations: None,
        };
        let amd = idx
            .select(&WantedPlatform::new(None, Some("x86_64"), None))
            .expect("amd64");
        assert_eq!(amd.digest, Digest::of(b"amd64"));
        let arm = idx
            .select(&WantedPlatform::new(
                Some("linux"),
                Some("arm64"),
                Some("v8"),
            ))
            .expect("arm64");
        assert_eq!(arm.digest, Digest::of(b"arm64"));
        let err = idx
            .select(&WantedPlatform::new(None, Some("s390x"), None))
            .expect_err("none");
        assert!(err.to_string().contains("linux/s390x"), "{err}");
        assert!(err.to_string().contains("linux/arm/v7"), "{err}");
    }

    #[test]
    fn parse_detects_kind_from_media_type_or_shape() {
        let idx = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            AnyManifest::parse(idx, None),
            Ok((AnyManifest::Index(_), _))
        ));
        let s1 = br#"{"schemaVersion":1,"name":"x"}"#;
        assert!(matches!(
            AnyManifest::parse(s1, None),
            Err(ManifestError::Schema1)
        ));
        assert!(AnyManifest::parse(b"not json", None).is_err());
    }
}
