//! Image records and garbage collection: building the database row for a new image,
//! and freeing layers and blobs no image uses any more (under the exclusive `gc` lock,
//! so a pull that is still assembling an image never loses a layer it just fetched).

use crate::engine::StoreContext;
use crate::layer::store::LayerStore;
use crate::store::db::{self, ImageRow};
use crate::store::lock::FileLock;
use berth_registry::digest::Digest;
use berth_registry::manifest::ImageConfig;

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Seconds since the epoch of an RFC 3339 timestamp (0 when absent or unparsable).
pub fn parse_created(text: Option<&str>) -> i64 {
    text.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// The database row for an image whose layers are all in the store.
pub fn image_record(
    id: &str,
    digest: &Digest,
    manifest_digest: &Digest,
    manifest_type: &str,
    config: &ImageConfig,
    ctx: &StoreContext,
    repo_digests: Vec<String>,
) -> Result<ImageRow, rusqlite::Error> {
    let conn = ctx.db();
    let mut size = 0;
    let layers: Vec<String> = config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| d.to_string())
        .collect();
    for l in &layers {
        size += db::get_layer(&conn, l)?.map(|r| r.size).unwrap_or(0);
    }
    let labels = config
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .filter(|l| !l.is_empty())
        .and_then(|l| serde_json::to_string(l).ok());
    Ok(ImageRow {
        id: id.to_string(),
        digest: digest.to_string(),
        manifest_digest: manifest_digest.to_string(),
        manifest_type: manifest_type.to_string(),
        created: parse_created(config.created.as_deref()),
        created_text: config.created.clone().unwrap_or_default(),
        size,
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        labels,
        added: now_nanos(),
        names: Vec::new(),
        repo_digests,
        layers,
    })
}

/// Frees every layer and blob no image references. Waits for running pulls to finish.
pub fn collect(ctx: &StoreContext) -> std::io::Result<()> {
    let lock = FileLock::exclusive(&ctx.paths.locks().join("gc.lock"))?;
    collect_locked(ctx, lock)
}

/// After a failed pull or load: frees what it left behind unless another pull is running
/// (that one may be about to use those layers; a later collection frees them).
pub fn collect_if_idle(ctx: &StoreContext) {
    match FileLock::try_exclusive(&ctx.paths.locks().join("gc.lock")) {
        Ok(Some(lock)) => {
            if let Err(e) = collect_locked(ctx, lock) {
                tracing::warn!(error = %e, "could not free layers of a failed transfer");
            }
        }
        Ok(None) => tracing::debug!("another transfer is running; leaving unused layers for later"),
        Err(e) => tracing::warn!(error = %e, "could not lock the store for cleanup"),
    }
}

fn collect_locked(ctx: &StoreContext, _lock: FileLock) -> std::io::Result<()> {
    let layers = LayerStore::new(&ctx.paths);
    let (doomed, keep_blobs) = {
        let conn = ctx.db();
        let doomed = db::unreferenced_layers(&conn).map_err(std::io::Error::other)?;
        for d in &doomed {
            db::delete_layer(&conn, d).map_err(std::io::Error::other)?;
        }
        (
            doomed,
            db::referenced_blobs(&conn).map_err(std::io::Error::other)?,
        )
    };
    for d in doomed {
        layers.remove(d.trim_start_matches("sha256:"));
    }
    if let Ok(entries) = std::fs::read_dir(ctx.paths.blobs()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !keep_blobs.contains(&name) && !name.starts_with(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    layers.sweep_staging();
    let images: Vec<String> = db::list_images(&ctx.db())
        .map_err(std::io::Error::other)?
        .into_iter()
        .map(|i| i.id)
        .collect();
    crate::layer::shifted::remove_unused(&ctx.paths, &images);
    Ok(())
}
