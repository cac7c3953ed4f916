//! The catalogue of test images: the typed form of `manifest.json`, which
//! `berth-testimages` writes beside the OCI layouts it builds and which tests
//! read to assert on exact digests and image IDs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Name of the catalogue file at the top of the images directory.
pub const CATALOGUE_FILE: &str = "manifest.json";

/// Every image `berth-testimages` built, by name (`busybox`, `multilayer`, ...).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Catalogue {
    /// Version string of the builder that made the images.
    pub version: String,
    pub images: BTreeMap<String, ImageInfo>,
}

/// One image: an OCI layout at `<images dir>/<name>/`, tagged `tag` there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageInfo {
    /// Tag of the image inside its OCI layout (and in the registries).
    pub tag: String,
    /// Media type of what the tag points at: an image manifest or an index/list.
    pub media_type: String,
    /// Digest of what the tag points at (`sha256:...`); for an index, the index digest.
    pub manifest_digest: String,
    pub manifest_size: u64,
    /// Digest of the image config, i.e. the image ID; `None` for an index.
    pub config_digest: Option<String>,
    /// Layers, bottom first; empty for an index.
    pub layers: Vec<LayerInfo>,
    /// For an index: its manifests, in index order; empty for a single image.
    pub platforms: Vec<PlatformInfo>,
}

/// One layer blob of an image manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerInfo {
    pub media_type: String,
    /// Digest of the blob as stored (compressed, if it is).
    pub digest: String,
    /// Size of the blob as stored.
    pub size: u64,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: String,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// One manifest of an index, with the platform it is for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlatformInfo {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub media_type: String,
    pub manifest_digest: String,
    pub manifest_size: u64,
    pub config_digest: String,
    pub layers: Vec<LayerInfo>,
}

impl Catalogue {
    /// Reads `manifest.json` from the images directory.
    pub fn load(images_dir: &Path) -> anyhow::Result<Self> {
        let path = images_dir.join(CATALOGUE_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The image called `name`, panicking with the known names if there is none.
    pub fn get(&self, name: &str) -> &ImageInfo {
        self.images.get(name).unwrap_or_else(|| {
            let known: Vec<&String> = self.images.keys().collect();
            panic!("no test image {name:?} in {CATALOGUE_FILE}; known: {known:?}")
        })
    }
}

impl ImageInfo {
    /// Whether the tag points at an index (OCI index or Docker manifest list).
    pub fn is_index(&self) -> bool {
        !self.platforms.is_empty()
    }

    /// The image ID as engines print it: the config digest's hex, without `sha256:`.
    /// Panics for an index, which has no single config.
    pub fn id(&self) -> &str {
        let digest = self
            .config_digest
            .as_deref()
            .expect("an index has no image ID; pick one of its platforms");
        strip_algo(digest)
    }

    /// The platform entry for `architecture` (e.g. `arm64`), panicking if absent.
    pub fn platform(&self, architecture: &str) -> &PlatformInfo {
        self.platforms
            .iter()
            .find(|p| p.architecture == architecture)
            .unwrap_or_else(|| panic!("image has no {architecture} platform"))
    }

    /// Total size of the uncompressed layers.
    pub fn uncompressed_size(&self) -> u64 {
        self.layers.iter().map(|l| l.uncompressed_size).sum()
    }
}

impl PlatformInfo {
    /// The image ID of this platform's image (config hex without `sha256:`).
    pub fn id(&self) -> &str {
        strip_algo(&self.config_digest)
    }
}

/// `sha256:abc` -> `abc`.
pub fn strip_algo(digest: &str) -> &str {
    digest.split_once(':').map_or(digest, |(_, hex)| hex)
}
