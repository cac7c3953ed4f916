//! Berth's machine images as OCI artifacts: an image index with one manifest per disk
//! format and architecture (annotated `disktype`), each holding the zstd-compressed disk
//! and, for the formats booted directly, the kernel. The builder writes this layout;
//! `machine init` reads it.

use crate::digest::Digest;
use crate::manifest::{Descriptor, ImageIndex, ImageManifest, Platform, OCI_INDEX, OCI_MANIFEST};
use serde_json::json;
use std::collections::BTreeMap;

pub const ARTIFACT_TYPE: &str = "application/vnd.berth.machine-image.v1";
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The empty config's bytes (`{}`).
pub const EMPTY_CONFIG_BYTES: &[u8] = b"{}";
pub const KERNEL: &str = "application/vnd.berth.machine.kernel";
pub const DISKTYPE: &str = "disktype";
pub const TITLE: &str = "org.opencontainers.image.title";

/// One file of a build (`image.json` lists them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildFile {
    /// The file's name in the build folder.
    pub file: String,
    pub sha256: String,
    pub size: u64,
}

/// What a finished image build holds (its `image.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildInfo {
    pub key: String,
    /// Rust's name of the architecture (`x86_64`).
    pub arch: String,
    pub suite: String,
    /// The kernel, booted directly.
    pub kernel: BuildFile,
    pub qcow2: BuildFile,
    pub raw: BuildFile,
    pub tar: BuildFile,
}

/// The disk formats published: QEMU's, Apple HV's, WSL2's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Qcow2,
    Raw,
    Wsl,
}

impl DiskFormat {
    pub const ALL: [DiskFormat; 3] = [DiskFormat::Qcow2, DiskFormat::Raw, DiskFormat::Wsl];

    /// The `disktype` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Raw => "raw",
            DiskFormat::Wsl => "wsl",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            DiskFormat::Qcow2 => "application/vnd.berth.machine.disk.qcow2+zstd",
            DiskFormat::Raw => "application/vnd.berth.machine.disk.raw+zstd",
            DiskFormat::Wsl => "application/vnd.berth.machine.rootfs.tar+zstd",
        }
    }

    /// Whether the machine boots the image's kernel directly (WSL brings its own).
    pub fn has_kernel(self) -> bool {
        self != DiskFormat::Wsl
    }
}

/// OCI's name for this machine's architecture (`amd64`, `arm64`).
pub fn oci_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn empty_config() -> Descriptor {
    descriptor(EMPTY_CONFIG, Digest::of(EMPTY_CONFIG_BYTES), 2, None)
}

pub fn descriptor(media_type: &str, digest: Digest, size: u64, title: Option<&str>) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        platform: None,
        annotations: title.map(|t| BTreeMap::from([(TITLE.to_string(), t.to_string())])),
        urls: None,
    }
}

/// A format's manifest: the disk, then the kernel when it has one.
pub fn manifest(disk: Descriptor, kernel: Option<Descriptor>) -> Vec<u8> {
    let mut layers = vec![disk];
    layers.extend(kernel);
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": empty_config(),
        "layers": layers,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The index over the formats' manifests: `(format, OCI arch, manifest digest, size)`.
pub fn index(entries: &[(DiskFormat, &str, Digest, u64)]) -> Vec<u8> {
    let manifests: Vec<Descriptor> = entries
        .iter()
        .map(|(format, arch, digest, size)| Descriptor {
            media_type: OCI_MANIFEST.to_string(),
            digest: digest.clone(),
            size: *size,
            platform: Some(Platform {
                architecture: arch.to_string(),
                os: "linux".into(),
                ..Default::default()
            }),
            annotations: Some(BTreeMap::from([(
                DISKTYPE.to_string(),
                format.as_str().to_string(),
            )])),
            urls: None,
        })
        .collect();
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": ARTIFACT_TYPE,
        "manifests": manifests,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The index entry for `format` on `arch` (OCI's name).
pub fn pick<'a>(index: &'a ImageIndex, arch: &str, format: DiskFormat) -> Option<&'a Descriptor> {
    index.manifests.iter().find(|d| {
        d.platform.as_ref().is_some_and(|p| p.architecture == arch)
            && d.annotations
                .as_ref()
                .and_then(|a| a.get(DISKTYPE))
                .is_some_and(|t| t == format.as_str())
    })
}

/// A format manifest's disk and kernel layers.
pub fn layers(m: &ImageManifest, format: DiskFormat) -> (Option<&Descriptor>, Option<&Descriptor>) {
    let disk = m
        .layers
        .iter()
        .find(|l| l.media_type == format.media_type());
    let kernel = m.layers.iter().find(|l| l.media_type == KERNEL);
    (disk, kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_picks_the_format_and_arch_and_its_layers() {
        let disk = descriptor(
            DiskFormat::Qcow2.media_type(),
            Digest::of(b"disk"),
            4,
            Some("disk.qcow2.zst"),
        );
        let kernel = descriptor(KERNEL, Digest::of(b"k"), 1, Some("vmlinuz"));
        let m = manifest(disk.clone(), Some(kernel.clone()));
        let parsed: ImageManifest = serde_json::from_slice(&m).expect("manifest");
        assert_eq!(
            layers(&parsed, DiskFormat::Qcow2),
            (Some(&disk), Some(&kernel))
        );
        assert_eq!(layers(&parsed, DiskFormat::Raw).0, None);
        assert_eq!(
            parsed.config.digest.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let idx = index(&[
            (DiskFormat::Raw, "amd64", Digest::of(b"r"), 10),
            (DiskFormat::Qcow2, "arm64", Digest::of(b"q-arm"), 11),
            (DiskFormat::Qcow2, "amd64", Digest::of(&m), m.len() as u64),
        ]);
        let parsed: ImageIndex = serde_json::from_slice(&idx).expect("index");
        let got = pick(&parsed, "amd64", DiskFormat::Qcow2).expect("qcow2/amd64");
        assert_eq!(got.digest, Digest::of(&m));
        assert!(pick(&parsed, "amd64", DiskFormat::Wsl).is_none());
        assert_eq!(oci_arch("x86_64"), "amd64");
    }
}
