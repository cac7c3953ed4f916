//! Secrets with the file driver: each is `secrets/ID.data` (the bytes) and
//! `secrets/ID.json` (name, dates, labels) in a directory only the store's owner can
//! enter. Both are written to a temporary name, synced and renamed, the data first, so
//! a secret is visible (its JSON there) only once whole. A lock serialises changes so
//! two creates never take one name.

use crate::engine::StoreContext;
use crate::store::fsutil::write_atomic;
use crate::store::lock::FileLock;
use berth_types::secret::{SecretCreateRequest, SecretInfo};
use berth_types::{EngineError, ErrorKind, Result};
use std::path::PathBuf;

/// Secrets larger than this are refused (Podman's limit).
const MAX_BYTES: usize = 512 * 1024;

fn dir(ctx: &StoreContext) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let d = ctx.paths.root.join("secrets");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&d)
        .map_err(|e| io(format!("creating {}: {e}", d.display())))?;
    Ok(d)
}

fn io(msg: String) -> EngineError {
    EngineError::new(ErrorKind::Storage, msg)
}

fn lock(ctx: &StoreContext) -> Result<FileLock> {
    FileLock::exclusive(&ctx.paths.locks().join("secrets.lock"))
        .map_err(|e| io(format!("locking the secrets: {e}")))
}

/// Every secret's record.
fn all(ctx: &StoreContext) -> Result<Vec<SecretInfo>> {
    let d = dir(ctx)?;
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&d).map_err(|e| io(format!("reading {}: {e}", d.display())))?;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "json") {
            if let Some(info) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<SecretInfo>(&b).ok())
            {
                out.push(info);
            }
        }
    }
    out.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// The secret named `name`, or whose ID is `name` (or starts with it).
pub fn find(ctx: &StoreContext, name: &str) -> Result<SecretInfo> {
    let secrets = all(ctx)?;
    if let Some(s) = secrets.iter().find(|s| s.name == name || s.id == name) {
        return Ok(s.clone());
    }
    let by_prefix: Vec<&SecretInfo> = secrets
        .iter()
        .filter(|s| !name.is_empty() && s.id.starts_with(name))
        .collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(EngineError::not_found(format!(
            "no secret with name or id {name:?}: no such secret"
        ))),
    }
}

/// A secret's bytes.
pub fn data(ctx: &StoreContext, name: &str) -> Result<Vec<u8>> {
    let s = find(ctx, name)?;
    let path = dir(ctx)?.join(format!("{}.data", s.id));
    std::fs::read(&path).map_err(|e| io(format!("reading secret {}: {e}", s.name)))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.contains(['/', '=', ',', '\0'])
        && name.trim() == name
}

pub fn create(ctx: &StoreContext, req: &SecretCreateRequest) -> Result<String> {
    if !valid_name(&req.name) {
        return Err(EngineError::invalid(format!(
            "secret name {:?} is invalid: it must be 1 to 253 characters, without '/', '=' or ','",
            req.name
        )));
    }
    if !req.driver.is_empty() && req.driver != "file" {
        return Err(EngineError::invalid(format!(
            "secret driver {:?} is not supported: use file",
            req.driver
        )));
    }
    if req.data.is_empty() {
        return Err(EngineError::invalid("secret data must not be empty"));
    }
    if req.data.len() > MAX_BYTES {
        return Err(EngineError::invalid(format!(
            "secret data is {} bytes: the limit is {MAX_BYTES}",
            req.data.len()
        )));
    }
    let _lock = lock(ctx)?;
    if all(ctx)?.iter().any(|s| s.name == req.name) {
        return Err(EngineError::conflict(format!(
            "{}: secret name in use",
            req.name
        )));
    }
    let id = crate::container::names::new_id()[..25].to_string();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let info = SecretInfo {
        id: id.clone(),
        name: req.name.clone(),
        driver: "file".into(),
        created: now.clone(),
        updated: now,
        labels: req.labels.clone(),
    };
    let d = dir(ctx)?;
    write_atomic(&d.join(format!("{id}.data")), &req.data, 0o600)
        .map_err(|e| io(format!("writing secret {}: {e}", req.name)))?;
    let json = serde_json::to_vec(&info).map_err(|e| io(e.to_string()))?;
    if let Err(e) = write_atomic(&d.join(format!("{id}.json")), &json, 0o600) {
        let _ = std::fs::remove_file(d.join(format!("{id}.data")));
        return Err(io(format!("writing secret {}: {e}", req.name)));
    }
    Ok(id)
}

pub fn list(ctx: &StoreContext) -> Result<Vec<SecretInfo>> {
    all(ctx)
}

/// Removes the named secrets (all with `all`); a missing one is an error after the
/// others are gone.
pub fn remove(ctx: &StoreContext, names: &[String], all_secrets: bool) -> Result<Vec<String>> {
    let _lock = lock(ctx)?;
    let d = dir(ctx)?;
    let targets: Vec<SecretInfo> = if all_secrets {
        all(ctx)?
    } else {
        let mut t = Vec::new();
        for n in names {
            t.push(find(ctx, n)?);
        }
        t
    };
    let mut removed = Vec::new();
    for s in targets {
        // The record first: without it the secret is gone, whatever else is left.
        std::fs::remove_file(d.join(format!("{}.json", s.id)))
            .map_err(|e| io(format!("removing secret {}: {e}", s.name)))?;
        let _ = std::fs::remove_file(d.join(format!("{}.data", s.id)));
        removed.push(s.id);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_separators_are_refused() {
        assert!(valid_name("db-password"));
        assert!(valid_name("a.b_c"));
        for bad in ["", "a/b", "a=b", "a,b", " a"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
