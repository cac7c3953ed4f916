//! `version`, `info`, `system df` and `system reset` for the local engine.

use crate::engine::{storage, LocalEngine};
use crate::store::db;
use berth_types::system::*;
use berth_types::{EngineError, ErrorKind, Result};

pub fn version() -> VersionInfo {
    VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        api_version: env!("CARGO_PKG_VERSION").to_string(),
        rust_version: option_env!("BERTH_RUSTC_VERSION")
            .unwrap_or("rust")
            .to_string(),
        git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or("").to_string(),
        built: 0,
        built_time: "Thu Jan  1 00:00:00 1970".to_string(),
        os_arch: format!(
            "{}/{}",
            std::env::consts::OS,
            berth_registry::manifest::host_arch()
        ),
        os: std::env::consts::OS.to_string(),
    }
}

fn meminfo(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|kb| kb * 1024)
            })
        })
        .unwrap_or(0)
}

fn uptime() -> String {
    let secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0) as u64;
    format!("{}h {}m {}s", secs / 3600, (secs / 60) % 60, secs % 60)
}

fn cgroup_version() -> &'static str {
    match rustix::fs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.f_type == 0x6367_7270 => "v2",
        _ => "v1",
    }
}

pub fn info(engine: &LocalEngine) -> Result<SystemInfo> {
    let ctx = engine.ctx()?;
    let images = db::list_images(&ctx.db()).map_err(storage)?.len() as u64;
    let uname = rustix::system::uname();
    Ok(SystemInfo {
        host: HostInfo {
            arch: berth_registry::manifest::host_arch().to_string(),
            os: std::env::consts::OS.to_string(),
            kernel: uname.release().to_string_lossy().into_owned(),
            hostname: uname.nodename().to_string_lossy().into_owned(),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
            mem_total: meminfo("MemTotal:"),
            mem_free: meminfo("MemAvailable:"),
            uptime: uptime(),
            rootless: crate::rootless::active(),
            // What a new container would get here.
            oci_runtime: crate::container::runtime::select(
                engine.options.runtime.as_deref(),
                |n| crate::container::paths::runtime_root(&ctx.paths, n),
            )
            .map(|r| r.name)
            .unwrap_or_else(|_| engine.options.runtime.clone().unwrap_or_default()),
            cgroup_version: cgroup_version().to_string(),
            cgroup_manager: crate::container::cgroup::choose(
                engine.options.cgroup_manager.as_deref(),
                crate::container::cgroup::systemd(),
                crate::rootless::active(),
            )
            .map(|(m, _)| m.as_str().to_string())
            .unwrap_or_else(|_| engine.options.cgroup_manager.clone().unwrap_or_default()),
        },
        store: StoreInfo {
            graph_root: engine.paths.root.display().to_string(),
            run_root: engine.paths.runroot.display().to_string(),
            graph_driver_name: "overlay".into(),
            image_store: ImageStoreInfo { number: images },
            config_file: ctx
                .registries
                .files
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        },
        registries: RegistriesInfo {
            search: ctx.registries.unqualified_search_registries.clone(),
        },
        version: version(),
    })
}

pub fn disk_usage(engine: &LocalEngine) -> Result<Vec<DiskUsageRow>> {
    let ctx = engine.ctx()?;
    let conn = ctx.db();
    let images = db::list_images(&conn).map_err(storage)?.len() as u64;
    let (_, size) = db::layer_stats(&conn).map_err(storage)?;
    Ok(vec![
        DiskUsageRow {
            kind: "Images".into(),
            total: images,
            active: 0,
            size,
            reclaimable: size,
        },
        DiskUsageRow {
            kind: "Containers".into(),
            total: 0,
            active: 0,
            size: 0,
            reclaimable: 0,
        },
        DiskUsageRow {
            kind: "Local Volumes".into(),
            total: 0,
            active: 0,
            size: 0,
            reclaimable: 0,
        },
    ])
}

/// Removes the whole store (graph root and run root), its pods and containers stopped and
/// removed first so that nothing of theirs (monitors, mounts, network namespaces and
/// addresses) outlives it; then the default network's bridge, if nothing else uses it.
pub fn reset(engine: &LocalEngine) -> Result<()> {
    if engine.paths.db().exists() {
        let pods = berth_types::pod::RemovePodsRequest {
            all: true,
            force: true,
            timeout: Some(0),
            ..Default::default()
        };
        for removed in crate::pod::ops::remove(engine, &pods)? {
            if let Err(e) = removed {
                tracing::warn!(error = %e, "system reset: removing a pod");
            }
        }
        let req = berth_types::container::RemoveContainersRequest {
            all: true,
            force: true,
            volumes: true,
            timeout: Some(0),
            ..Default::default()
        };
        for removed in crate::container::ops::remove(engine, &req)? {
            if let Err(e) = removed {
                tracing::warn!(error = %e, "system reset: removing a container");
            }
        }
    }
    for dir in [&engine.paths.root, &engine.paths.runroot] {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(EngineError::new(
                    ErrorKind::Storage,
                    format!("removing {}: {e}", dir.display()),
                ));
            }
        }
    }
    if !crate::rootless::active() {
        crate::network::ops::release_default_if_idle()?;
    }
    Ok(())
}
