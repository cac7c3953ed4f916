//! Exit codes of removed containers, kept a few minutes under the run root, so a
//! wait that began before the removal (`run --rm`, the API's `condition=removed`)
//! still learns how the container ended.

use crate::engine::StoreContext;
use std::path::PathBuf;
use std::time::Duration;

/// How long a removed container's exit code is kept.
const KEEP: Duration = Duration::from_secs(300);

fn dir(ctx: &StoreContext) -> PathBuf {
    ctx.paths.runroot.join("exit-codes")
}

/// Records `code` for the container `id` being removed; forgets old ones.
pub fn remember(ctx: &StoreContext, id: &str, code: i32) {
    let dir = dir(ctx);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let _ = crate::store::fsutil::write_atomic(&dir.join(id), code.to_string().as_bytes(), 0o600);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The exit code recorded for the removed container `id`.
pub fn recall(ctx: &StoreContext, id: &str) -> Option<i32> {
    std::fs::read_to_string(dir(ctx).join(id))
        .ok()?
        .trim()
        .parse()
        .ok()
}
