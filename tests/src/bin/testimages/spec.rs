//! Image configs, manifests and indexes as JSON, in OCI or Docker schema2
//! form, and the `manifest.json` records (`ImageInfo`) describing them.

use anyhow::Result;
use berth_e2e::images::{ImageInfo, LayerInfo, PlatformInfo};
use serde_json::{json, Value};

use crate::layout::{Blob, Layout};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// `created` of every config and history entry.
pub const CREATED: &str = "2024-01-01T00:00:00Z";
pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// OCI or Docker media types for manifests, configs and indexes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
}

/// What a config says beyond its layers.
pub struct ImageSpec {
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
    /// The config's `config` object: Env, Cmd, Entrypoint, Labels, ...
    pub runtime: Value,
    /// `created_by` of each layer's history entry, bottom first.
    pub history: Vec<String>,
}

/// An image whose config and manifest were stored in a layout.
pub struct Built {
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<LayerInfo>,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
}

/// The image config JSON for `spec` over `layers`.
pub fn config_json(spec: &ImageSpec, layers: &[LayerInfo]) -> Value {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    let history: Vec<Value> = spec
        .history
        .iter()
        .map(|by| json!({ "created": CREATED, "created_by": by }))
        .collect();
    let mut config = json!({
        "created": CREATED,
        "architecture": spec.architecture,
        "os": "linux",
        "config": spec.runtime,
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    });
    if let Some(variant) = spec.variant {
        config["variant"] = json!(variant);
    }
    config
}

/// Stores the config and manifest of an image whose layers are already stored.
pub fn write_image(
    layout: &Layout,
    format: Format,
    spec: &ImageSpec,
    layers: Vec<LayerInfo>,
) -> Result<Built> {
    let (manifest_type, config_type) = match format {
        Format::Oci => (OCI_MANIFEST, OCI_CONFIG),
        Format::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG),
    };
    let config = layout.put_json(config_type, &config_json(spec, &layers))?;
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| json!({ "mediaType": l.media_type, "digest": l.digest, "size": l.size }))
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config.descriptor(),
        "layers": layer_descs,
    });
    let manifest = layout.put_json(manifest_type, &manifest)?;
    Ok(Built {
        manifest,
        config,
        layers,
        architecture: spec.architecture,
        variant: spec.variant,
    })
}

/// Tags a single image in the layout and returns its record.
pub fn finish_image(layout: &Layout, built: Built, tag: &str) -> Result<ImageInfo> {
    layout.finish(&built.manifest, tag)?;
    Ok(ImageInfo {
        tag: tag.to_string(),
        media_type: built.manifest.media_type,
        manifest_digest: built.manifest.digest,
        manifest_size: built.manifest.size,
        config_digest: Some(built.config.digest),
        layers: built.layers,
        platforms: Vec::new(),
    })
}

/// Stores an index (OCI index or Docker manifest list) over `images`, tags it,
/// and returns its record.
pub fn finish_index(
    layout: &Layout,
    format: Format,
    images: Vec<Built>,
    tag: &str,
) -> Result<ImageInfo> {
    let index_type = match format {
        Format::Oci => OCI_INDEX,
        Format::Docker => DOCKER_LIST,
    };
    let manifests: Vec<Value> = images
        .iter()
        .map(|b| {
            let mut desc = b.manifest.descriptor();
            desc["platform"] = json!({ "architecture": b.architecture, "os": "linux" });
            if let Some(variant) = b.variant {
                desc["platform"]["variant"] = json!(variant);
            }
            desc
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": index_type, "manifests": manifests });
    let index = layout.put_json(index_type, &index)?;
    layout.finish(&index, tag)?;
    let platforms = images
        .into_iter()
        .map(|b| PlatformInfo {
            os: "linux".into(),
            architecture: b.architecture.into(),
            variant: b.variant.map(String::from),
            media_type: b.manifest.media_type,
            manifest_digest: b.manifest.digest,
            manifest_size: b.manifest.size,
            config_digest: b.config.digest,
            layers: b.layers,
        })
        .collect();
    Ok(ImageInfo {
        tag: tag.to_string(),
        media_type: index.media_type,
        manifest_digest: index.digest,
        manifest_size: index.size,
        config_digest: None,
        layers: Vec::new(),
        platforms,
    })
}
