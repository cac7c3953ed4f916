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

/// The monitor's hooks into the engine.
pub struct EngineHooks;

impl super::monitor::Hooks for EngineHooks {
    fn started(&self, cfg: &MonitorConfig, pid: i32, monitor_pid: i32) -> std::io::Result<()> {
        let engine = open_engine(cfg).map_err(|e| std::io::Error::other(e.message))?;
        let ctx = engine.ctx().map_err(|e| std::io::Error::other(e.message))?;
        let ticks = super::monitor::process_start_ticks(pid as i64).unwrap_or(0);
        let recorded = store::record_started(
            &ctx.db(),
            &cfg.id,
            pid as i64,
            ticks,
            monitor_pid as i64,
            ops::now_nanos(),
        );
        recorded.map_err(std::io::Error::other)
    }

    fn exited(&self, cfg: &MonitorConfig, code: i32) {
        on_exit(cfg, code)
    }
}

fn open_engine(cfg: &MonitorConfig) -> berth_types::Result<LocalEngine> {
    LocalEngine::new(EngineOptions {
        root: Some(cfg.root.clone()),
        runroot: Some(cfg.runroot.clone()),
        ..Default::default()
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
    let before = store::get(&ctx.db(), &cfg.id).ok().flatten();
    let recorded = store::record_exited(&ctx.db(), &cfg.id, code, ops::now_nanos(), oom);
    if let Err(e) = &recorded {
        tracing::error!(container = %cfg.id, error = %e, "recording the exit");
    }
    if let Some(row) = before {
        // A stop asked for by the user leaves the row "stopping": never restart then.
        if row.state != store::State::Stopping && should_restart(&row, code) {
            restart_after_backoff(&engine, &row);
            return;
        }
    }
    ops::auto_remove(&engine, &cfg.id);
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
