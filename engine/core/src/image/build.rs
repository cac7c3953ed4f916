//! Making images locally: a layer from a tar on disk (verified and unpacked like any
//! pulled layer), and an image from a config plus layers (config and manifest blobs
//! written, one database transaction). Used by `commit` and `import`.

use crate::engine::{storage, StoreContext};
use crate::image::gc;
use crate::layer::store::{ExpectedLayer, LayerStore};
use crate::store::db::{self, LayerRow};
use crate::store::lock::FileLock;
use berth_registry::digest::{Digest, HashingReader};
use berth_registry::manifest::{
    Compression, Descriptor, ImageConfig, ImageManifest, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};
use berth_types::{EngineError, ErrorKind, Result};
use std::path::Path;

fn fail(msg: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, msg.to_string())
}

/// Stores the layer in the tar file at `path` (compressed or not); returns its diff ID.
pub fn add_layer_from_file(
    ctx: &StoreContext,
    path: &Path,
    compression: Compression,
) -> Result<Digest> {
    let open =
        || std::fs::File::open(path).map_err(|e| fail(format!("opening {}: {e}", path.display())));
    let (blob_digest, blob_size, _) = HashingReader::new(std::io::BufReader::new(open()?))
        .finish()
        .map_err(fail)?;
    // The diff ID is the digest of the uncompressed tar.
    let diff_id = match compression {
        Compression::None => blob_digest.clone(),
        Compression::Gzip => {
            HashingReader::new(flate2::read::MultiGzDecoder::new(open()?))
                .finish()
                .map_err(fail)?
                .0
        }
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(open()?).map_err(fail)?;
            HashingReader::new(dec).finish().map_err(fail)?.0
        }
    };
    let layers = LayerStore::new(&ctx.paths);
    let _lock = layers.lock_layer(&diff_id).map_err(fail)?;
    if db::layer_exists(&ctx.db(), diff_id.as_str()).map_err(storage)? {
        return Ok(diff_id);
    }
    let expected = ExpectedLayer {
        blob_digest: blob_digest.clone(),
        blob_size: Some(blob_size),
        compression,
        diff_id: diff_id.clone(),
    };
    let staged = layers
        .stage(
            std::io::BufReader::with_capacity(256 * 1024, open()?),
            &expected,
        )
        .map_err(|e| {
            EngineError::from_chain(
                if e.is_corrupt() {
                    ErrorKind::Corrupt
                } else {
                    ErrorKind::Storage
                },
                &e,
            )
        })?;
    let size = staged.size;
    layers
        .commit(staged)
        .map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))?;
    db::insert_layer(
        &ctx.db(),
        &LayerRow {
            diff_id: diff_id.to_string(),
            size,
            blob_digest: Some(blob_digest.to_string()),
            blob_size: Some(blob_size),
            blob_media_type: Some(OCI_LAYER.to_string()),
        },
    )
    .map_err(storage)?;
    Ok(diff_id)
}

/// Stores an image whose layers are all in the store; `names` are stored names. Returns the ID.
pub fn store_image(ctx: &StoreContext, config: &ImageConfig, names: &[String]) -> Result<String> {
    let config_bytes = serde_json::to_vec(config).map_err(fail)?;
    let mut layers = Vec::new();
    for d in &config.rootfs.diff_ids {
        let size = db::get_layer(&ctx.db(), d.as_str())
            .map_err(storage)?
            .map(|l| l.size)
            .unwrap_or(0);
        layers.push(Descriptor {
            media_type: OCI_LAYER.into(),
            digest: d.clone(),
            size,
            platform: None,
            annotations: None,
            urls: None,
        });
    }
    store_image_bytes(ctx, &config_bytes, config, layers, names)
}

/// Like [`store_image`] for config bytes that must be kept exactly (their digest is the
/// image ID), with the layer descriptors its manifest lists.
pub fn store_image_bytes(
    ctx: &StoreContext,
    config_bytes: &[u8],
    config: &ImageConfig,
    layers: Vec<Descriptor>,
    names: &[String],
) -> Result<String> {
    let config_digest = Digest::of(config_bytes);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: Descriptor {
            media_type: OCI_CONFIG.into(),
            digest: config_digest.clone(),
            size: config_bytes.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        },
        layers,
        annotations: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(fail)?;
    let manifest_digest = Digest::of(&manifest_bytes);
    for (d, b) in [
        (&config_digest, config_bytes),
        (&manifest_digest, manifest_bytes.as_slice()),
    ] {
        let p = ctx.paths.blob(d.hex());
        if !p.exists() {
            crate::store::fsutil::write_atomic(&p, b, 0o644).map_err(fail)?;
        }
    }
    let id = config_digest.hex().to_string();
    let record = gc::image_record(
        &id,
        &manifest_digest,
        &manifest_digest,
        OCI_MANIFEST,
        config,
        ctx,
        Vec::new(),
    )
    .map_err(storage)?;
    db::commit_image(&mut ctx.db(), &record, names, gc::now_nanos()).map_err(storage)?;
    Ok(id)
}

/// Holds off garbage collection while an image is being assembled.
pub fn hold_gc(ctx: &StoreContext) -> Result<FileLock> {
    FileLock::shared(&ctx.paths.locks().join("gc.lock")).map_err(fail)
}

/// Applies Dockerfile-style `--change` instructions (`CMD ["sh"]`, `ENV A=b`, `LABEL k=v`,
/// `WORKDIR /x`, `USER u`, `ENTRYPOINT …`, `EXPOSE 80/tcp`, `STOPSIGNAL SIGINT`, `VOLUME /v`).
pub fn apply_changes(config: &mut ImageConfig, changes: &[String]) -> Result<()> {
    let run = config.config.get_or_insert_with(Default::default);
    for change in changes {
        let change = change.trim();
        let split = change
            .find(|c: char| c == '=' || c.is_whitespace())
            .ok_or_else(|| {
                EngineError::invalid(format!(
                    "invalid change {change:?}: expected INSTRUCTION VALUE"
                ))
            })?;
        let (instr, value) = (
            change[..split].to_ascii_uppercase(),
            change[split + 1..].trim(),
        );
        let list = |v: &str| -> Result<Vec<String>> {
            if v.starts_with('[') {
                serde_json::from_str(v)
                    .map_err(|e| EngineError::invalid(format!("invalid change {change:?}: {e}")))
            } else {
                Ok(vec!["/bin/sh".into(), "-c".into(), v.to_string()])
            }
        };
        match instr.as_str() {
            "CMD" => run.cmd = Some(list(value)?),
            "ENTRYPOINT" => run.entrypoint = Some(list(value)?),
            "WORKDIR" => run.working_dir = Some(value.to_string()),
            "USER" => run.user = Some(value.to_string()),
            "STOPSIGNAL" => run.stop_signal = Some(value.to_string()),
            "ENV" => {
                let (k, v) = value.split_once('=').or_else(|| value.split_once(' ')).unwrap_or((value, ""));
                let env = run.env.get_or_insert_with(Vec::new);
                env.retain(|e| e.split('=').next() != Some(k));
                env.push(format!("{k}={}", v.trim()));
            }
            "LABEL" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                run.labels.get_or_insert_with(Default::default).insert(k.trim_matches('"').to_string(), v.trim_matches('"').to_string());
            }
            "EXPOSE" => {
                let port = if value.contains('/') { value.to_string() } else { format!("{value}/tcp") };
                run.exposed_ports.get_or_insert_with(Default::default).insert(port, serde_json::json!({}));
            }
            "VOLUME" => {
                for v in list(value).map(|l| if value.starts_with('[') { l } else { vec![value.to_string()] })? {
                    run.volumes.get_or_insert_with(Default::default).insert(v, serde_json::json!({}));
                }
            }
            other => {
                return Err(EngineError::invalid(format!(
                    "invalid change {change:?}: {other} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_use_dockerfile_forms() {
        let mut c = ImageConfig::default();
        apply_changes(
            &mut c,
            &[
                "CMD [\"/bin/echo\", \"hi\"]".into(),
                "ENV A=b".into(),
                "LABEL k=v".into(),
                "ENTRYPOINT top -b".into(),
            ],
        )
        .expect("changes");
        let run = c.config.expect("run config");
        assert_eq!(
            run.cmd,
            Some(vec!["/bin/echo".to_string(), "hi".to_string()])
        );
        assert_eq!(
            run.entrypoint,
            Some(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                "top -b".to_string()
            ])
        );
        assert_eq!(run.env, Some(vec!["A=b".to_string()]));
        assert!(apply_changes(&mut ImageConfig::default(), &["FROM x".into()]).is_err());
    }
}
