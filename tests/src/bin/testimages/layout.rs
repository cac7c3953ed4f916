//! Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`):
//! stores blobs by digest, compresses layers, and records the descriptors
//! that manifests and `manifest.json` need.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use berth_e2e::images::LayerInfo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// How a layer blob is compressed.
#[derive(Clone, Copy)]
pub enum Compression {
    /// gzip at the given level (1 = fastest, 6 = default).
    Gzip(u32),
    Zstd,
    None,
}

/// A blob that was stored: what a descriptor needs.
#[derive(Clone)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Blob {
    /// The OCI descriptor JSON of this blob.
    pub fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size })
    }
}

/// An OCI layout directory being written.
pub struct Layout {
    dir: PathBuf,
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Serialises JSON deterministically (serde_json sorts object keys).
pub fn json_bytes(value: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec(value).context("serialising JSON")
}

impl Layout {
    /// Creates an empty layout at `dir` (which must not exist yet).
    pub fn create(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join("blobs/sha256"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let marker = json_bytes(&json!({ "imageLayoutVersion": "1.0.0" }))?;
        write_file(&dir.join("oci-layout"), &marker)?;
        Ok(Layout {
            dir: dir.to_path_buf(),
        })
    }

    /// Stores `bytes` under blobs/sha256/ and returns its descriptor.
    pub fn put_blob(&self, media_type: &str, bytes: &[u8]) -> Result<Blob> {
        let digest = sha256_digest(bytes);
        let hex = berth_e2e::images::strip_algo(&digest);
        let path = self.dir.join("blobs/sha256").join(hex);
        if !path.exists() {
            write_file(&path, bytes)?;
        }
        let size = bytes.len() as u64;
        Ok(Blob {
            media_type: media_type.to_string(),
            digest,
            size,
        })
    }

    /// Stores a JSON document (config, manifest, index) as a blob.
    pub fn put_json(&self, media_type: &str, value: &Value) -> Result<Blob> {
        self.put_blob(media_type, &json_bytes(value)?)
    }

    /// Compresses a layer tar, stores it, and returns its layer record.
    pub fn put_layer(
        &self,
        tar: &[u8],
        compression: Compression,
        docker: bool,
    ) -> Result<LayerInfo> {
        let (media_type, bytes) = match compression {
            Compression::Gzip(level) => {
                let media_type = if docker {
                    DOCKER_LAYER_GZIP
                } else {
                    OCI_LAYER_GZIP
                };
                (media_type, gzip(tar, level)?)
            }
            Compression::Zstd => (OCI_LAYER_ZSTD, zstd::bulk::compress(tar, 3)?),
            Compression::None => (OCI_LAYER_TAR, tar.to_vec()),
        };
        let blob = self.put_blob(media_type, &bytes)?;
        Ok(LayerInfo {
            media_type: blob.media_type,
            digest: blob.digest,
            size: blob.size,
            diff_id: sha256_digest(tar),
            uncompressed_size: tar.len() as u64,
        })
    }

    /// Writes index.json with one entry: `top`, tagged `tag`.
    pub fn finish(&self, top: &Blob, tag: &str) -> Result<()> {
        let mut desc = top.descriptor();
        desc["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [desc],
        });
        write_file(&self.dir.join("index.json"), &json_bytes(&index)?)
    }
}

fn gzip(data: &[u8], level: u32) -> Result<Vec<u8>> {
    // GzBuilder writes mtime 0 and no file name, so the output is reproducible.
    let mut enc = flate2::GzBuilder::new().operating_system(255).write(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::new(level),
    );
    enc.write_all(data).context("gzip")?;
    enc.finish().context("gzip")
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
