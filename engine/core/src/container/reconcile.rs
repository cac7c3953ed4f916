//! The truth about a container on every read: a row that says "running" is checked
//! against the process table (pid and start time, so a reused pid does not fool us).
//! If the process is gone and its monitor did not record the exit (it was killed too),
//! the exit is recorded here from the exit file, and the root filesystem unmounted. A
//! start the monitor reported but nobody recorded (its starter was killed) is adopted.

use super::monitor::{process_alive, Started};
use super::paths::ContainerPaths;
use super::rootfs;
use super::store::{self, ContainerRow, State};
use crate::engine::StoreContext;
use std::time::{Duration, Instant};

/// The exit code the monitor left in the exit file, if it did.
pub fn exit_file_code(ctx: &StoreContext, id: &str) -> Option<i32> {
    let paths = ContainerPaths::new(&ctx.paths, id);
    std::fs::read_to_string(paths.run_dir().exit_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A start the monitor reported in its started file that the row does not show yet
/// (the command that started the container was killed before recording it).
fn unrecorded_start(ctx: &StoreContext, row: &ContainerRow) -> Option<Started> {
    if !matches!(row.state, State::Created | State::Exited) {
        return None;
    }
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let text = std::fs::read_to_string(paths.run_dir().started_file()).ok()?;
    let s = Started::parse(&text)?;
    let exited_since = row.state == State::Exited && row.finished_at >= s.at;
    (s.at > row.started_at && !exited_since).then_some(s)
}

/// `row` with its state brought up to date.
pub fn refreshed(ctx: &StoreContext, row: ContainerRow) -> ContainerRow {
    let row = match unrecorded_start(ctx, &row) {
        Some(s) => {
            let _ = store::record_started(&ctx.db(), &row.id, &s);
            store::get(&ctx.db(), &row.id).ok().flatten().unwrap_or(row)
        }
        None => row,
    };
    if !matches!(row.state, State::Running | State::Paused | State::Stopping)
        || process_alive(row.pid, row.pid_start)
    {
        return row;
    }
    let monitor_alive = process_alive(row.monitor_pid, 0);
    // A live monitor is about to record the exit itself: give it a moment.
    if monitor_alive {
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            match store::get(&ctx.db(), &row.id) {
                Ok(Some(r)) if r.state == State::Exited => return r,
                // Recorded and removed meanwhile (`--rm`): what its exit left is all there is.
                Ok(None) => {
                    let mut gone = row;
                    gone.state = State::Exited;
                    gone.exit_code = exit_file_code(ctx, &gone.id)
                        .or_else(|| super::exit_codes::recall(ctx, &gone.id))
                        .unwrap_or(gone.exit_code);
                    return gone;
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let code = exit_file_code(ctx, &row.id).unwrap_or(-1);
    let now = super::ops::now_nanos();
    let recorded = store::record_exited(&ctx.db(), &row.id, code, now, false);
    // Only the one who records the exit logs it (its monitor may be doing so too).
    if matches!(recorded, Ok(true)) {
        crate::events::container(ctx, &row, "died", Some(code));
    }
    if !process_alive(row.monitor_pid, 0) {
        // The monitor died before cleaning up: release the runtime's state (and with it
        // the cgroup) and the root filesystem mount here.
        if let Ok(rt) = super::runtime::Runtime::of_container(&ctx.paths, &row) {
            if rt.root.join(&row.id).exists() {
                let _ = rt.delete(&row.id, true);
            }
        }
        let paths = ContainerPaths::new(&ctx.paths, &row.id);
        let _ = crate::network::setup::teardown(&row.id, &paths.run);
        let _ = rootfs::unmount_rootfs(&paths);
    }
    store::get(&ctx.db(), &row.id).ok().flatten().unwrap_or(row)
}

/// Waits (bounded) until the container's monitor has finished its cleanup.
pub fn wait_monitor_gone(row: &ContainerRow, limit: Duration) {
    let deadline = Instant::now() + limit;
    while process_alive(row.monitor_pid, 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}
