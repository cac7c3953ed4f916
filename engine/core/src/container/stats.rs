//! `stats`: memory, CPU, PIDs and block I/O of running containers, read from their
//! cgroups (v1 controllers under /sys/fs/cgroup/<controller>/berth/berth-ID, or the
//! v2 unified directory /sys/fs/cgroup/berth/berth-ID).

use super::ops::lookup;
use super::store::{self, State};
use crate::engine::{storage, LocalEngine};
use berth_types::container::ContainerStats;
use berth_types::{EngineError, ErrorKind, Result};
use std::path::PathBuf;

fn read_u64(p: PathBuf) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn keyed(p: PathBuf, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(p).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// The figures of the cgroup at `cg` under the hierarchies (v2, else v1).
fn sample(cg: &str) -> ContainerStats {
    let v2 = PathBuf::from("/sys/fs/cgroup").join(cg);
    let mut s = ContainerStats::default();
    if v2.join("memory.current").exists() {
        s.mem_usage = read_u64(v2.join("memory.current")).unwrap_or(0);
        // crun's systemd driver sets the limits on the scope's `container` child.
        s.mem_limit = [v2.clone(), v2.join("container")]
            .iter()
            .filter_map(|d| read_u64(d.join("memory.max")))
            .min()
            .unwrap_or(u64::MAX);
        s.cpu_nano = keyed(v2.join("cpu.stat"), "usage_usec ").unwrap_or(0) * 1000;
        s.pids = read_u64(v2.join("pids.current")).unwrap_or(0);
        if let Ok(io) = std::fs::read_to_string(v2.join("io.stat")) {
            for field in io.split_whitespace() {
                if let Some(v) = field
                    .strip_prefix("rbytes=")
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    s.block_input += v;
                }
                if let Some(v) = field
                    .strip_prefix("wbytes=")
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    s.block_output += v;
                }
            }
        }
    } else {
        let v1 = |ctrl: &str, file: &str| {
            PathBuf::from("/sys/fs/cgroup")
                .join(ctrl)
                .join(cg)
                .join(file)
        };
        s.mem_usage = read_u64(v1("memory", "memory.usage_in_bytes")).unwrap_or(0);
        // Page cache is reclaimable: subtract it as Podman does.
        s.mem_usage = s.mem_usage.saturating_sub(
            keyed(v1("memory", "memory.stat"), "total_inactive_file ").unwrap_or(0),
        );
        s.mem_limit = read_u64(v1("memory", "memory.limit_in_bytes")).unwrap_or(u64::MAX);
        s.cpu_nano = read_u64(v1("cpuacct", "cpuacct.usage")).unwrap_or(0);
        s.pids = read_u64(v1("pids", "pids.current")).unwrap_or(0);
        if let Ok(io) = std::fs::read_to_string(v1("blkio", "blkio.throttle.io_service_bytes")) {
            for l in io.lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                match (f.get(1), f.get(2).and_then(|v| v.parse::<u64>().ok())) {
                    (Some(&"Read"), Some(v)) => s.block_input += v,
                    (Some(&"Write"), Some(v)) => s.block_output += v,
                    _ => {}
                }
            }
        }
    }
    let host = host_memory();
    if s.mem_limit == 0 || s.mem_limit > host {
        s.mem_limit = host;
    }
    if s.mem_limit > 0 {
        s.mem_perc = 100.0 * s.mem_usage as f64 / s.mem_limit as f64;
    }
    s
}

pub fn stats(engine: &LocalEngine, names: &[String]) -> Result<Vec<ContainerStats>> {
    let ctx = engine.ctx()?;
    let rows = if names.is_empty() {
        store::list(&ctx.db())
            .map_err(storage)?
            .into_iter()
            .map(|r| super::reconcile::refreshed(ctx, r))
            .filter(|r| r.state == State::Running)
            .collect()
    } else {
        names
            .iter()
            .map(|n| lookup(ctx, n))
            .collect::<Result<Vec<_>>>()?
    };
    let now = super::ops::now_nanos();
    let mut out = Vec::new();
    for row in rows {
        if row.state != State::Running {
            return Err(EngineError::new(
                ErrorKind::BadState,
                format!(
                    "container {} is not running: stats need a running container",
                    row.name
                ),
            ));
        }
        let manager = super::cgroup::CgroupManager::from_recorded(&row.config.cgroup_manager);
        let mut s = sample(&manager.relative_dir(&row.id));
        s.container_id = row.id.clone();
        s.name = row.name.clone();
        s.up_time = (now - row.started_at).max(0) as f64 / 1e9;
        if s.up_time > 0.0 {
            s.avg_cpu = 100.0 * (s.cpu_nano as f64 / 1e9) / s.up_time;
        }
        out.push(s);
    }
    Ok(out)
}
