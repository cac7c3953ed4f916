//! What the container code needs from volumes: a volume for `-v name:/path` (created
//! on first use, as Podman does) or an anonymous one for `-v /path`, the record of
//! which container mounts which volume where, and copy-up of the image's content
//! into a new volume before its first mount.
//!
//! Order for a container: `ensure_volume`, then `record_use` (in the transaction that
//! stores the container, so the volume cannot be removed from under it), then
//! `copy_up` with the image's directory at the destination, then mount.

use super::copy::populate;
use super::{ops, options, view, VolumeError};
use crate::engine::StoreContext;
use crate::store::db::{self, DbResult};
use crate::store::lock::FileLock;
use berth_types::volume::VolumeCreateRequest;
use berth_types::EngineError;
use rusqlite::Connection;
use std::path::PathBuf;

/// The named volume (created when missing), or a new anonymous one for `None`.
/// Returns its name and the host directory to mount (`.../volumes/<name>/_data`).
pub fn ensure_volume(
    ctx: &StoreContext,
    name: Option<&str>,
) -> Result<(String, PathBuf), EngineError> {
    let req = VolumeCreateRequest {
        name: name.map(str::to_string),
        ignore_if_exists: true,
        ..VolumeCreateRequest::default()
    };
    let row = ops::create_volume(ctx, &req, name.is_none())?;
    let dir = ops::data_dir(&row);
    Ok((row.name, dir))
}

/// Records that `container_id` mounts `volume` at `destination`, so the volume cannot
/// be removed or pruned while the container exists. Call it after `ensure_volume` (the
/// row references the volume) and before `copy_up`. A failure is logged; use
/// [`try_record_use`] to handle it.
pub fn record_use(conn: &Connection, container_id: &str, volume: &str, destination: &str) {
    if let Err(e) = try_record_use(conn, container_id, volume, destination) {
        tracing::error!(container = container_id, volume, destination, error = %e, "recording a volume mount");
    }
}

/// [`record_use`], returning the database error (a foreign-key failure when the volume
/// or the container row does not exist).
pub fn try_record_use(
    conn: &Connection,
    container_id: &str,
    volume: &str,
    destination: &str,
) -> DbResult<()> {
    db::add_container_volume(conn, container_id, volume, destination)
}

/// The anonymous volumes a container mounts (removed with it by `rm -v` and `--rm`).
/// A database failure is logged and yields none (the volumes then stay, unused).
pub fn anonymous_volumes_of(conn: &Connection, container_id: &str) -> Vec<String> {
    db::anonymous_volumes_of(conn, container_id).unwrap_or_else(|e| {
        tracing::warn!(container = container_id, error = %e, "listing a container's anonymous volumes");
        Vec::new()
    })
}

/// Copies `source_dir` (the image's directory at the mount destination, inside the
/// mounted container root) into the volume when it still needs copy-up and its `_data`
/// is empty, then clears that need. Symlinks are copied, never followed. A volume
/// created with `nocopy` or `copy=false` is never filled. Without an owner given at
/// creation (`uid`/`gid`), `_data` takes the source directory's mode and owner, as
/// Podman does for a new volume. Serialised per volume by a lock in the run root.
pub fn copy_up(
    ctx: &StoreContext,
    volume: &str,
    source_dir: &super::copy::Source<'_>,
) -> Result<(), EngineError> {
    let _span = tracing::debug_span!("volume_copy_up", volume).entered();
    let needs = |ctx: &StoreContext| -> Result<Option<db::VolumeRow>, VolumeError> {
        let row = db::get_volume(&ctx.db(), volume)?
            .ok_or_else(|| VolumeError::NotFound(volume.to_string()))?;
        Ok(row.needs_copy_up.then_some(row))
    };
    if needs(ctx)?.is_none() {
        return Ok(());
    }
    let lock_path = ctx.paths.locks().join(format!("volume-{volume}.lock"));
    let _lock = FileLock::exclusive(&lock_path)
        .map_err(|e| VolumeError::io(volume, "locking", &lock_path, e))?;
    let Some(row) = needs(ctx)? else {
        return Ok(()); // another container did it while we waited
    };
    let stored = view::stored_options(&row)?;
    if !options::copy_disabled(&stored) {
        let data = ops::data_dir(&row);
        let volume_dir = data.parent().unwrap_or(&data).to_path_buf();
        let (uid, gid) = options::owner(&stored);
        let take_owner = uid.is_none() && gid.is_none();
        let outcome = populate(&volume_dir, source_dir, take_owner)
            .map_err(|e| VolumeError::io(volume, "copying image content into", &data, e))?;
        tracing::debug!(volume, ?outcome, source = source_dir.path, "copy-up");
    }
    db::set_volume_needs_copy_up(&ctx.db(), volume, false).map_err(VolumeError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests;
