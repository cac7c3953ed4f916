//! The volume operations behind the `volume` commands: create, list, inspect, exists,
//! remove, prune. Creation and removal hold the store's volumes lock (a flock in the
//! run root) around their directory and row changes, so parallel `berth` processes
//! agree on who created a name; a volume's row is written only once its directory is
//! complete, and deleted before the directory is moved aside and removed.

use super::filter::{Filters, Subject, LIST_KEYS, PRUNE_KEYS};
use super::{dirs, names, options, view, VolumeError};
use crate::engine::StoreContext;
use crate::image::gc::now_nanos;
use crate::store::db::{self, VolumeRow};
use crate::store::lock::FileLock;
use berth_types::volume::*;
use berth_types::Result;
use rusqlite::TransactionBehavior;
use std::path::PathBuf;

/// The lock every creation and removal holds: `<runroot>/locks/volumes.lock`.
fn volumes_lock(ctx: &StoreContext) -> Result<FileLock, VolumeError> {
    let path = ctx.paths.locks().join("volumes.lock");
    FileLock::exclusive(&path).map_err(|e| VolumeError::io("", "locking", &path, e))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

pub fn create(ctx: &StoreContext, req: &VolumeCreateRequest) -> Result<String> {
    let _span =
        tracing::info_span!("volume_create", volume = req.name.as_deref().unwrap_or("")).entered();
    Ok(create_volume(ctx, req, false)?.name)
}

/// Creates a volume (or, with `ignore_if_exists`, returns the existing one).
pub(crate) fn create_volume(
    ctx: &StoreContext,
    req: &VolumeCreateRequest,
    anonymous: bool,
) -> Result<VolumeRow, VolumeError> {
    let name = match &req.name {
        Some(n) => {
            names::validate(n)?;
            n.clone()
        }
        None => names::random().map_err(|e| {
            VolumeError::io(
                "",
                "reading random bytes from",
                std::path::Path::new("/dev/urandom"),
                e,
            )
        })?,
    };
    let driver = req.driver.as_deref().unwrap_or("local");
    if driver != "local" {
        return Err(VolumeError::Driver {
            name,
            driver: driver.to_string(),
        });
    }
    let parsed = options::parse(&req.options)?;
    let existing = |ctx: &StoreContext| -> Result<Option<VolumeRow>, VolumeError> {
        match db::get_volume(&ctx.db(), &name)? {
            Some(row) if req.ignore_if_exists => Ok(Some(row)),
            Some(_) => Err(VolumeError::Exists(name.clone())),
            None => Ok(None),
        }
    };
    if let Some(row) = existing(ctx)? {
        return Ok(row);
    }
    let volumes = ctx.paths.volumes();
    let _lock = volumes_lock(ctx)?;
    // Another process may have created it while we waited for the lock.
    if let Some(row) = existing(ctx)? {
        return Ok(row);
    }
    let io = |what, e| VolumeError::io(&name, what, &volumes.join(&name), e);
    dirs::sweep_staging(&volumes);
    let prepared =
        dirs::prepare(&volumes, parsed.uid, parsed.gid).map_err(|e| io("creating directory", e))?;
    dirs::install(&volumes, &prepared, &name).map_err(|e| io("creating directory", e))?;
    let absolute =
        std::path::absolute(volumes.join(&name).join("_data")).map_err(|e| io("resolving", e))?;
    let json = |m| serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
    let row = VolumeRow {
        name: name.clone(),
        driver: driver.to_string(),
        mountpoint: absolute.display().to_string(),
        created: now_nanos(),
        labels: json(&req.labels),
        options: json(&parsed.stored),
        anonymous,
        needs_copy_up: true,
    };
    if let Err(e) = db::insert_volume(&ctx.db(), &row) {
        if let Ok(Some(trash)) = dirs::detach(&volumes, &name) {
            dirs::remove_tree(&trash);
        }
        return Err(if is_unique_violation(&e) {
            VolumeError::Exists(name)
        } else {
            e.into()
        });
    }
    tracing::debug!(volume = %name, "created volume");
    Ok(row)
}

/// Volumes, their inspect views and whether a container uses each.
fn all(ctx: &StoreContext) -> Result<Vec<(VolumeRow, VolumeInspect, bool)>, VolumeError> {
    let (rows, used) = {
        let conn = ctx.db();
        (db::list_volumes(&conn)?, db::used_volumes(&conn)?)
    };
    rows.into_iter()
        .map(|r| {
            let v = view::inspect(&r)?;
            let in_use = used.contains(&r.name);
            Ok((r, v, in_use))
        })
        .collect()
}

fn filtered(
    ctx: &StoreContext,
    filters: &[String],
    keys: &[&str],
) -> Result<Vec<(VolumeRow, VolumeInspect, bool)>, VolumeError> {
    let vols = all(ctx)?;
    let created_of = |n: &str| {
        vols.iter()
            .find(|(r, _, _)| r.name == n)
            .map(|(r, _, _)| r.created)
            .ok_or_else(|| VolumeError::NotFound(n.to_string()))
    };
    let f = Filters::parse(filters, keys, now_nanos(), &created_of)?;
    let keep = |(r, v, used): &(VolumeRow, VolumeInspect, bool)| {
        f.matches(&Subject {
            volume: v,
            created: r.created,
            in_use: *used,
        })
    };
    Ok(vols.iter().filter(|x| keep(x)).cloned().collect())
}

pub fn list(ctx: &StoreContext, filters: &[String]) -> Result<Vec<VolumeInspect>> {
    Ok(filtered(ctx, filters, LIST_KEYS)?
        .into_iter()
        .map(|(_, v, _)| v)
        .collect())
}

pub fn inspect(ctx: &StoreContext, name: &str) -> Result<VolumeInspect> {
    let row = db::get_volume(&ctx.db(), name)
        .map_err(VolumeError::from)?
        .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
    Ok(view::inspect(&row)?)
}

pub fn exists(ctx: &StoreContext, name: &str) -> Result<bool> {
    Ok(db::get_volume(&ctx.db(), name)
        .map_err(VolumeError::from)?
        .is_some())
}

/// Removes the named volumes (or all with `all`), each on its own; a failure does not
/// stop the others, and the first one is returned after all were tried. `force` skips
/// missing names. A volume a container uses is refused: its containers go first.
pub fn remove(ctx: &StoreContext, req: &VolumeRemoveRequest) -> Result<Vec<String>> {
    let names: Vec<String> = if req.all {
        db::list_volumes(&ctx.db())
            .map_err(VolumeError::from)?
            .into_iter()
            .map(|r| r.name)
            .collect()
    } else {
        req.names.clone()
    };
    let mut removed = Vec::new();
    let mut first_error = None;
    for name in names {
        let _span = tracing::info_span!("volume_rm", volume = %name).entered();
        match remove_one(ctx, &name, None) {
            Ok(true) => removed.push(name),
            Ok(false) => {}
            Err(VolumeError::NotFound(_)) if req.force => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(removed),
    }
}

/// Deletes one volume's row (unless a container uses it) and then its directory.
/// With `only_if`, the volume is removed only when it still passes that check
/// (prune: still unused and matching). Returns whether it was removed.
fn remove_one(
    ctx: &StoreContext,
    name: &str,
    only_if: Option<&dyn Fn(&VolumeRow) -> bool>,
) -> Result<bool, VolumeError> {
    let volumes = ctx.paths.volumes();
    let lock = volumes_lock(ctx)?;
    {
        let mut conn = ctx.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(row) = db::get_volume(&tx, name)? else {
            return Err(VolumeError::NotFound(name.to_string()));
        };
        let users = db::volume_users(&tx, name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users,
            });
        }
        if only_if.is_some_and(|keep| !keep(&row)) {
            return Ok(false);
        }
        db::delete_volume(&tx, name)?;
        tx.commit()?;
    }
    // A crash here leaves a directory without a row: the next create of the name or a
    // prune clears it away.
    let trash = dirs::detach(&volumes, name)
        .map_err(|e| VolumeError::io(name, "moving aside directory", &volumes.join(name), e))?;
    drop(lock);
    if let Some(trash) = trash {
        dirs::remove_tree(&trash);
    }
    tracing::debug!(volume = name, "removed volume");
    Ok(true)
}

/// Removes the volumes no container uses that match `filters`; returns their names.
/// Also clears directories left without a row by an interrupted removal.
pub fn prune(ctx: &StoreContext, filters: &[String]) -> Result<Vec<String>> {
    let _span = tracing::info_span!("volume_prune").entered();
    let candidates = filtered(ctx, filters, PRUNE_KEYS)?;
    sweep_orphans(ctx)?;
    let mut removed = Vec::new();
    for (row, _, in_use) in candidates {
        if in_use {
            continue;
        }
        let created = row.created;
        match remove_one(
            ctx,
            &row.name,
            Some(&|now: &VolumeRow| now.created == created),
        ) {
            Ok(true) => removed.push(row.name),
            // Gone meanwhile, or a container started using it: not ours to prune.
            Ok(false) | Err(VolumeError::NotFound(_)) | Err(VolumeError::InUse { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// Removes directories under `volumes/` that have no row (and the staging area's leftovers).
fn sweep_orphans(ctx: &StoreContext) -> Result<(), VolumeError> {
    let volumes = ctx.paths.volumes();
    let _lock = volumes_lock(ctx)?;
    dirs::sweep_staging(&volumes);
    let known: std::collections::HashSet<String> = db::list_volumes(&ctx.db())?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let Ok(entries) = std::fs::read_dir(&volumes) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && names::validate(&name).is_ok() && !known.contains(&name) {
            tracing::warn!(volume = %name, "removing a volume directory without a record");
            if let Ok(Some(trash)) = dirs::detach(&volumes, &name) {
                dirs::remove_tree(&trash);
            }
        }
    }
    Ok(())
}

/// The host directory a volume's row names.
pub(crate) fn data_dir(row: &VolumeRow) -> PathBuf {
    PathBuf::from(&row.mountpoint)
}
