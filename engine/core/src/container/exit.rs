//! What the monitor does when the container's process has exited: record the exit in
//! the database (unless a reader already did), release the runtime's state and the
//! root filesystem mount, and remove the container when it was run with `--rm`.

use super::monitor::MonitorConfig;
use super::paths::ContainerPaths;
use super::runtime::Runtime;
use super::{ops, rootfs, store};
use crate::engine::{EngineOptions, LocalEngine};

/// Whether the kernel OOM-killed something in the container's memory cgroup (v1 or v2).
fn oom_killed(id: &str) -> bool {
    let candidates = [
        format!("/sys/fs/cgroup/memory/berth/berth-{id}/memory.oom_control"),
        format!("/sys/fs/cgroup/berth/berth-{id}/memory.events"),
    ];
    candidates.iter().any(|p| {
        std::fs::read_to_string(p).is_ok_and(|s| {
            s.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

pub fn on_exit(cfg: &MonitorConfig, code: i32) {
    let oom = oom_killed(&cfg.id);
    let runtime = Runtime {
        name: cfg.runtime_name.clone(),
        path: cfg.runtime_path.clone(),
        root: cfg.runtime_root.clone(),
    };
    let _ = runtime.delete(&cfg.id, true);
    let engine = match LocalEngine::new(EngineOptions {
        root: Some(cfg.root.clone()),
        runroot: Some(cfg.runroot.clone()),
        ..Default::default()
    }) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(container = %cfg.id, error = %e, "opening the store to record the exit");
            return;
        }
    };
    let Ok(ctx) = engine.ctx() else { return };
    let _ = rootfs::unmount_rootfs(&ContainerPaths::new(&ctx.paths, &cfg.id));
    if let Err(e) = store::record_exited(&ctx.db(), &cfg.id, code, ops::now_nanos(), oom) {
        tracing::error!(container = %cfg.id, error = %e, "recording the exit");
    }
    ops::auto_remove(&engine, &cfg.id);
}
