//! `rmi` and `image prune`: untagging, deleting images, and collecting what they freed.
//! Podman's rules: removing by name untags that name and deletes the image only when
//! it was the last; removing by ID deletes the image, which needs `--force` when the
//! image has several names.

use crate::engine::{lookup_err, storage, LocalEngine};
use crate::image::{gc, names};
use crate::store::db;
use berth_types::image::{PruneImagesRequest, RemoveImagesReport, RemoveImagesRequest};
use berth_types::{Engine, EngineError, ErrorKind, Result};

pub fn remove(engine: &LocalEngine, req: &RemoveImagesRequest) -> Result<RemoveImagesReport> {
    let ctx = engine.ctx()?;
    let mut report = RemoveImagesReport::default();
    let mut missing = Vec::new();
    {
        let conn = ctx.db();
        let targets: Vec<String> = if req.all {
            db::list_images(&conn)
                .map_err(storage)?
                .into_iter()
                .map(|r| r.id)
                .collect()
        } else {
            req.names.clone()
        };
        for target in targets {
            let (id, matched_name) =
                match names::find_name(&conn, &ctx.registries, &target).map_err(lookup_err)? {
                    Some((id, stored)) => (id, Some(stored)),
                    None => match names::find_image(&conn, &ctx.registries, &target) {
                        Ok(Some(id)) => (id, None),
                        Ok(None) => {
                            missing.push(target);
                            continue;
                        }
                        Err(e) => return Err(lookup_err(e)),
                    },
                };
            let Some(row) = db::get_image(&conn, &id).map_err(storage)? else {
                continue; // removed earlier in this same request
            };
            if let Some(name) =
                matched_name.filter(|n| row.names.contains(n) && row.names.len() > 1 && !req.all)
            {
                db::remove_name(&conn, &name).map_err(storage)?;
                report.untagged.push(name);
                continue;
            }
            let users = crate::container::store::using_image(&conn, &row.id).map_err(storage)?;
            if !users.is_empty() {
                if !req.force {
                    return Err(EngineError::new(
                        ErrorKind::BadState,
                        format!(
                            "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                            users[0]
                        ),
                    ));
                }
                for c in &users {
                    crate::container::ops::remove_one(ctx, c, true, false, Some(0))?;
                }
            }
            if row.names.len() > 1 && !req.force && !req.all {
                return Err(EngineError::conflict(format!(
                    "unable to delete image {:.12} by ID with more than one tag ({}): please force removal",
                    row.id,
                    row.names.join(", ")
                )));
            }
            report.untagged.extend(row.names.iter().cloned());
            db::delete_image(&conn, &row.id).map_err(storage)?;
            report.deleted.push(row.id);
        }
    }
    if !report.deleted.is_empty() {
        gc::collect(ctx)
            .map_err(|e| EngineError::new(ErrorKind::Storage, format!("freeing layers: {e}")))?;
    }
    if !missing.is_empty() && !req.ignore_missing {
        // The images that did exist are gone; report the first that did not (exit code 1 as Podman).
        return Err(EngineError::not_found(format!(
            "{}: image not known",
            missing.join(", ")
        )));
    }
    Ok(report)
}

pub fn prune(engine: &LocalEngine, req: &PruneImagesRequest) -> Result<Vec<String>> {
    let ctx = engine.ctx()?;
    let mut filters = req.filters.clone();
    if !req.all {
        filters.push("dangling=true".into());
    }
    let rows = engine.list_images(&berth_types::image::ListImagesRequest { all: true, filters })?;
    let mut removed = Vec::new();
    {
        let conn = ctx.db();
        for r in rows {
            if db::delete_image(&conn, &r.id).map_err(storage)? {
                removed.push(r.id);
            }
        }
    }
    gc::collect(ctx)
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("freeing layers: {e}")))?;
    Ok(removed)
}
