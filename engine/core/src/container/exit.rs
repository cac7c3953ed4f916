//! What the monitor does when the container's process has exited: record the exit in
//! the database (unless a reader already did), release the runtime's state and the
//! root filesystem mount, and remove the container when it was run with `--rm`.

use super::paths::ContainerPaths;
use super::{ops, rootfs, store};
use crate::engine::{EngineOptions, LocalEngine};
use std::path::Path;

/// Whether the kernel OOM-killed something in the container: the monitor's record (a
/// systemd scope is gone by now), else the memory cgroup's own (v1 or v2) at `cgroup`
/// under the hierarchies.
fn oom_killed(paths: &ContainerPaths, cgroup: &str) -> bool {
    let candidates = [
        format!("/sys/fs/cgroup/memory/{cgroup}/memory.oom_control"),
        format!("/sys/fs/cgroup/{cgroup}/memory.events"),
    ];
    paths.run_dir().oom_file().exists()
        || candidates
            .iter()
            .any(|p| std::fs::read_to_string(p).is_ok_and(|s| berth_monitor::oom::kills(&s) > 0))
}

/// `berth __container-exited ROOT RUNROOT ID CODE`: the monitor's exit command, run in
/// its place once the container's process has exited with `code`.
pub fn container_exited(root: &Path, runroot: &Path, id: &str, code: i32) {
    let engine = match LocalEngine::new(EngineOptions {
        root: Some(root.to_path_buf()),
        runroot: Some(runroot.to_path_buf()),
        ..Default::default()
    }) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(container = %id, error = %e, "opening the store to record the exit");
            return;
        }
    };
    record_exit(&engine, id, code, true);
}

/// Records that the container exited with `code` and releases what it held (runtime
/// state, cgroup, root mount), then, with `policies`, restarts it or removes it as its
/// restart policy and `--rm` say. The monitor's exit command does this, or, in its
/// stead, an attached `run` as soon as it hears the exit. Every step may be done twice
/// (a `rm -f` holding the container's lock waits for the monitor, so no lock here).
pub fn record_exit(engine: &LocalEngine, id: &str, code: i32, policies: bool) {
    let Ok(ctx) = engine.ctx() else { return };
    let Some(row) = store::get(&ctx.db(), id).ok().flatten() else {
        return;
    };
    // The kernel's OOM record lives in the cgroup, which the runtime's delete removes.
    let manager = super::cgroup::CgroupManager::from_recorded(&row.config.cgroup_manager);
    let paths = ContainerPaths::new(&ctx.paths, id);
    let oom = oom_killed(&paths, &manager.relative_dir(id));
    if let Ok(runtime) = super::runtime::Runtime::of_container(&ctx.paths, &row) {
        if runtime.root.join(id).exists() {
            let _ = runtime.delete(id, true);
        }
    }
    if let Err(e) = crate::network::setup::teardown(id, &paths.run) {
        tracing::warn!(container = %id, error = %e, "tearing the network down");
    }
    if rootfs::is_mounted(&paths.merged()) {
        let _ = rootfs::unmount_rootfs(&paths);
    }
    let recorded = store::record_exited(&ctx.db(), id, code, ops::now_nanos(), oom);
    // Only the one who records the exit logs it (a reader that found the process gone
    // may have been first).
    if matches!(recorded, Ok(true)) {
        crate::events::container(ctx, &row, "died", Some(code));
    }
    if let Err(e) = &recorded {
        tracing::error!(container = %id, error = %e, "recording the exit");
    }
    // A stop asked for by the user leaves the row "stopping": never restart then.
    if policies && row.state != store::State::Stopping && should_restart(&row, code) {
        restart_after_backoff(engine, &row);
        return;
    }
    ops::auto_remove(engine, id);
    if policies && !row.config.pod.is_empty() {
        crate::pod::ops::after_member_exit(engine, &row);
    }
}

/// Whether the restart policy asks for another run after this exit.
fn should_restart(row: &store::ContainerRow, code: i32) -> bool {
    let policy = &row.config.restart;
    match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            code != 0 && (policy.max_retries == 0 || row.restart_count < policy.max_retries as i64)
        }
        _ => false,
    }
}

/// Waits 100 ms doubling per restart (at most a minute), then starts the container again.
fn restart_after_backoff(engine: &LocalEngine, row: &store::ContainerRow) {
    let delay = 100u64
        .saturating_mul(1u64 << row.restart_count.clamp(0, 10))
        .min(60_000);
    std::thread::sleep(std::time::Duration::from_millis(delay));
    let Ok(ctx) = engine.ctx() else { return };
    // The user may have stopped or removed it meanwhile.
    match store::get(&ctx.db(), &row.id) {
        Ok(Some(now)) if now.state == store::State::Exited => {}
        _ => return,
    }
    let _ = store::increment_restarts(&ctx.db(), &row.id);
    if let Err(e) = ops::start(engine, &row.id, None) {
        tracing::error!(container = %row.id, error = %e, "restarting");
        let _ = store::record_error(&ctx.db(), &row.id, &e.message);
    }
}
