//! Container lifecycle operations: create, start (prepare the root and bundle, start
//! the monitor, start the process, optionally attach), stop, kill, remove and wait.
//! Each operation on one container holds that container's lock, so parallel `berth`
//! processes never interleave a start with a removal.

use super::names;
use super::paths::{runtime_root, ContainerPaths};
use super::reconcile::{self, refreshed};
use super::runtime::{self, Runtime};
use super::store::{self, ContainerRow, State};
use super::{monitor, prepare, rootfs};
use crate::engine::{storage, LocalEngine, StoreContext};
use crate::image::names as image_names;
use crate::store::lock::FileLock;
use berth_types::container::*;
use berth_types::image::PullRequest;
use berth_types::progress::ProgressSink;
use berth_types::{Engine, EngineError, ErrorKind, Result};
use std::time::{Duration, Instant};

/// The lock that serialises lifecycle changes of one container.
pub fn lock(ctx: &StoreContext, id: &str) -> Result<FileLock> {
    FileLock::exclusive(&ctx.paths.locks().join(format!("ctr-{id}.lock")))
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("locking container {id}: {e}")))
}

/// Finds a container by name, ID or unique ID prefix (state reconciled with reality).
pub fn lookup(ctx: &StoreContext, name: &str) -> Result<ContainerRow> {
    let found = store::find(&ctx.db(), name).map_err(storage)?;
    match found {
        Ok(Some(row)) => Ok(refreshed(ctx, row)),
        Ok(None) => Err(EngineError::not_found(format!(
            "no container with name or ID \"{name}\" found: no such container"
        ))),
        Err(n) => Err(EngineError::invalid(format!(
            "more than one result for container {name:?} ({n} containers): use a longer ID"
        ))),
    }
}

pub fn now_nanos() -> i64 {
    crate::image::gc::now_nanos()
}

fn runtime_for(ctx: &StoreContext, row: &ContainerRow) -> Result<Runtime> {
    Runtime::of_container(&ctx.paths, row)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))
}

pub fn create(
    engine: &LocalEngine,
    req: &ContainerCreateRequest,
    progress: &dyn ProgressSink,
) -> Result<ContainerCreated> {
    create_container(engine, req, progress, false)
}

/// Creates a container; `infra`: the infra container of the pod `req.pod` names (by
/// ID), which joins no one's namespaces.
pub fn create_container(
    engine: &LocalEngine,
    req: &ContainerCreateRequest,
    progress: &dyn ProgressSink,
    infra: bool,
) -> Result<ContainerCreated> {
    let ctx = engine.ctx()?;
    let mut warnings = Vec::new();
    if let Some(n) = &req.name {
        if !names::valid_name(n) {
            return Err(EngineError::invalid(format!(
                "container name {n:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
            )));
        }
    }
    let mut req = req.clone();
    // No mode given: the default, a bridge network.
    if req.network.is_empty() {
        req.network = "bridge".into();
    }
    // A pod's member takes the pod's namespaces; the pod stays until the row is in.
    let _pod_lock = if req.pod.is_empty() || infra {
        None
    } else {
        Some(crate::pod::ops::join(ctx, &mut req)?)
    };
    // A rootless container's default network is pasta (slirp4netns where pasta is
    // missing); the bridge networks it names live in the user's rootless namespace.
    if crate::rootless::active()
        && req.network == "bridge"
        && req
            .networks
            .iter()
            .all(|a| a.network.is_empty() || a.network == "bridge")
    {
        req.network = crate::network::setup::user_mode_default().into();
        req.networks.clear();
    }
    let (manager, warning) = super::cgroup::choose(
        engine.options.cgroup_manager.as_deref(),
        super::cgroup::systemd(),
        crate::rootless::active(),
    )
    .map_err(EngineError::invalid)?;
    req.cgroup_manager = manager.as_str().into();
    warnings.extend(warning);
    if crate::rootless::active() && req.resources != berth_types::container::Resources::default() {
        if !super::cgroup::unified() {
            warnings.push(super::cgroup::ROOTLESS_V1_LIMITS.into());
        } else if !super::cgroup::delegated() {
            warnings.push(super::cgroup::ROOTLESS_UNDELEGATED_LIMITS.into());
        }
    }
    let req = &req;
    let known_mode = matches!(
        req.network.as_str(),
        "bridge" | "none" | "host" | "pasta" | "slirp4netns"
    ) || req.network.starts_with("container:")
        || req.network.starts_with("ns:");
    if !known_mode {
        return Err(EngineError::invalid(format!(
            "invalid network mode {:?}: use bridge (with networks to join), none, host, pasta, slirp4netns, container:ID or ns:PATH",
            req.network
        )));
    }
    super::idmap::for_request(req).map_err(EngineError::invalid)?;
    for s in &req.secrets {
        crate::secret::find(ctx, &s.name)?;
    }
    let runtime = runtime::select(
        req.runtime.as_deref().or(engine.options.runtime.as_deref()),
        |n| runtime_root(&ctx.paths, n),
    )
    .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    let pulled = engine.pull_image(
        &PullRequest {
            reference: req.image.clone(),
            platform: req.platform.clone(),
            registry: req.registry.clone(),
            policy: req.pull,
        },
        progress,
    )?;
    let image_name = {
        let conn = ctx.db();
        match image_names::find_name(&conn, &ctx.registries, &req.image) {
            Ok(Some((_, stored))) => stored,
            _ => pulled.name.clone(),
        }
    };
    if req
        .resources
        .memory
        .is_some_and(|m| m > 0 && m < 6 * 1024 * 1024)
    {
        return Err(EngineError::invalid("minimum memory limit allowed is 6MB"));
    }
    let id = names::new_id();
    let name = req.name.clone().unwrap_or_else(names::generated_name);
    let row = ContainerRow {
        id: id.clone(),
        name: name.clone(),
        image_id: pulled.id.clone(),
        image_name,
        created: now_nanos(),
        config: req.clone(),
        runtime: runtime.name.clone(),
        state: State::Created,
        pid: 0,
        pid_start: 0,
        monitor_pid: 0,
        exit_code: 0,
        started_at: 0,
        finished_at: 0,
        oom_killed: false,
        restart_count: 0,
        error: String::new(),
    };

    if req.network == "bridge" {
        for a in &req.networks {
            crate::network::ops::lookup(crate::network::ops::network_name(&a.network))?;
        }
    }
    let mut row = row;
    // `--userns=auto` picks its range under a lock held until the row is in.
    let _auto_lock = if req.userns.starts_with("auto") {
        let lock =
            crate::store::lock::FileLock::exclusive(&ctx.paths.locks().join("userns-auto.lock"))
                .map_err(|e| {
                    EngineError::new(ErrorKind::Storage, format!("locking the store: {e}"))
                })?;
        let others = store::list(&ctx.db()).map_err(storage)?;
        super::idmap::assign_auto(&mut row.config, others.iter().map(|r| &r.config))
            .map_err(EngineError::invalid)?;
        Some(lock)
    } else {
        None
    };
    let mut inserted = store::insert(&ctx.db(), &row);
    // A generated name may already be taken: draw another, as Podman does.
    for _ in 0..20 {
        match &inserted {
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation && req.name.is_none() =>
            {
                row.name = names::generated_name();
                inserted = store::insert(&ctx.db(), &row);
            }
            _ => break,
        }
    }
    let name = row.name.clone();
    if let Err(e) = inserted {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                let holder = store::id_of_name(&ctx.db(), &name)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                return Err(EngineError::conflict(format!(
                    "creating container storage: the container name \"{name}\" is already in use by {holder}. You have to remove that container to be able to reuse that name: that name is already in use"
                )));
            }
        }
        return Err(storage(e));
    }
    if req.network == "bridge" {
        let joined = crate::network::ops::join_at_create(&ctx.db(), &id, &req.networks);
        if let Err(e) = joined {
            let _ = store::delete(&ctx.db(), &id);
            return Err(e);
        }
    }
    // Files come after the row: a kill in between leaves a container `start` completes.
    let paths = ContainerPaths::new(&ctx.paths, &id);
    std::fs::create_dir_all(paths.bundle()).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("creating {}: {e}", paths.dir.display()),
        )
    })?;
    if req.runtime.is_none()
        && engine.options.runtime.is_none()
        && runtime.name == "runc"
        && runtime::crun_blocker().is_some()
    {
        tracing::info!("crun cannot run containers on this host (hybrid cgroups); using runc");
    }
    if req.resources.memory_swap.is_some() && req.resources.memory.is_none() {
        warnings.push("--memory-swap has no effect without --memory".into());
    }
    Ok(ContainerCreated { id, warnings })
}

/// Starts `name`. With `attach`, connects before the process runs and relays until it ends.
/// How long a start or a removal waits for the last run's monitor to finish cleaning
/// up (it ends at once when it is done; this bounds a stuck one).
const MONITOR_CLEANUP_WAIT: Duration = Duration::from_secs(30);

pub fn start(
    engine: &LocalEngine,
    name: &str,
    attach: Option<AttachStreams<'_>>,
) -> Result<Option<AttachEnd>> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    // Held while starting, never during an attached session (stop, kill… need it).
    let guard = lock(ctx, &row.id)?;
    let row = lookup(ctx, &row.id)?;
    match row.state {
        State::Running => {
            drop(guard);
            return match attach {
                Some(a) => attach_running(ctx, &row, a).map(Some),
                None => Ok(None),
            };
        }
        State::Paused => return Err(bad_state(&row, "it is paused; unpause it instead")),
        State::Removing => return Err(bad_state(&row, "it is being removed")),
        _ => {}
    }
    // The last run's monitor may still be cleaning up (its exit command tears the
    // network down from state files this start rewrites, and unmounts the root this
    // start mounts): let it finish first, however loaded the machine is.
    reconcile::wait_monitor_gone(&row, MONITOR_CLEANUP_WAIT);
    crate::pod::ops::ensure_infra_running(engine, &row)?;
    let runtime = runtime_for(ctx, &row)?;
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    prepare::prepare(ctx, &row, &runtime)?;
    // An attached terminal's size now: the container's terminal starts with it.
    if let Some((rows, cols)) = attach
        .as_ref()
        .filter(|_| row.config.tty)
        .and_then(|a| a.resize.as_ref())
        .and_then(|rx| rx.try_recv().ok())
    {
        set_console_size(&paths, rows, cols);
    }
    let cfg = monitor_config(ctx, &row, &runtime, &paths, attach.is_some());
    let fail = |msg: String| {
        let _ = store::record_error(&ctx.db(), &row.id, &msg);
        let _ = rootfs::unmount_rootfs(&paths);
        start_error(&row, &msg)
    };
    let mut spawned = monitor::spawn(&cfg).map_err(|e| fail(e.to_string()))?;
    let mut session = None;
    // An attached run without a restart policy records the exit and cleans up itself,
    // at once, instead of waiting for the monitor's exit command to start.
    let takes_over = matches!(row.config.restart.name.as_str(), "" | "no");
    if attach.is_some() {
        match spawned.next_report() {
            Ok(monitor::Report::Ready { .. }) => {}
            Ok(monitor::Report::Error(msg)) => return Err(fail(msg)),
            Ok(other) => return Err(fail(format!("unexpected monitor report {other:?}"))),
            Err(e) => return Err(fail(e.to_string())),
        }
        let mut stream = attach_connect(&paths)?;
        if takes_over {
            super::attach::write_frame(&mut stream, super::attach::TAKEOVER, &[])
                .map_err(|e| attach_error(&row, e))?;
        }
        super::attach::write_frame(&mut stream, super::attach::START, &[])
            .map_err(|e| attach_error(&row, e))?;
        session = Some(stream);
    }
    match spawned.next_report() {
        Ok(monitor::Report::Started(s)) => {
            store::record_started(&ctx.db(), &row.id, &s).map_err(storage)?;
            crate::events::container(ctx, &row, "start", None);
        }
        Ok(monitor::Report::Error(msg)) => return Err(fail(msg)),
        Ok(other) => return Err(fail(format!("unexpected monitor report {other:?}"))),
        Err(e) => return Err(fail(e.to_string())),
    }
    drop(guard);
    let (Some(stream), Some(a)) = (session, attach) else {
        return Ok(None);
    };
    let mut ack = stream.try_clone().map_err(|e| attach_error(&row, e))?;
    let end = super::attach::client_session(stream, a).map_err(|e| attach_error(&row, e))?;
    if let (AttachEnd::Exited(code), true) = (end, takes_over) {
        // Record the exit and clean up (with --rm, remove), then tell the monitor it
        // need not; had we died first, its exit command would have done it all.
        super::exit::record_exit(engine, &row.id, code, false);
        if super::attach::write_frame(&mut ack, super::attach::TAKEOVER, &[]).is_ok() {
            // It ends on reading that: nothing of the run is left once we return.
            spawned.wait_finished(Duration::from_secs(5));
        }
    }
    let _ = ack.shutdown(std::net::Shutdown::Both);
    Ok(Some(end))
}

/// Sets `process.consoleSize` in the bundle's config.json (best effort: without it
/// the terminal starts at the runtime's default size and is resized when attached).
fn set_console_size(paths: &ContainerPaths, rows: u16, cols: u16) {
    let path = paths.config_json();
    let Ok(mut spec) = std::fs::read(&path)
        .map_err(|_| ())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|_| ()))
    else {
        return;
    };
    spec["process"]["consoleSize"] = serde_json::json!({"height": rows, "width": cols});
    if let Ok(bytes) = serde_json::to_vec(&spec) {
        let _ = crate::store::fsutil::write_atomic(&path, &bytes, 0o600);
    }
}

fn attach_error(row: &ContainerRow, e: std::io::Error) -> EngineError {
    EngineError::new(
        ErrorKind::Storage,
        format!("attaching to container {}: {e}", row.id),
    )
}

/// `berth [--root R --runroot RR] ARGS…` as the monitor should run it.
fn berth_command(ctx: &StoreContext, args: &[&str]) -> Vec<String> {
    let exe = monitor::companion_binary("berth")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "berth".into());
    let mut cmd = vec![
        exe,
        "--root".into(),
        ctx.paths.root.to_string_lossy().into_owned(),
        "--runroot".into(),
        ctx.paths.runroot.to_string_lossy().into_owned(),
    ];
    cmd.extend(args.iter().map(|a| a.to_string()));
    cmd
}

fn monitor_config(
    ctx: &StoreContext,
    row: &ContainerRow,
    runtime: &Runtime,
    paths: &ContainerPaths,
    attach: bool,
) -> monitor::MonitorConfig {
    let opts = &row.config.log_opts;
    let unified = super::cgroup::unified();
    let manager = super::cgroup::CgroupManager::from_recorded(&row.config.cgroup_manager);
    monitor::MonitorConfig {
        id: row.id.clone(),
        runtime: monitor::RuntimeCommand {
            name: runtime.name.clone(),
            path: runtime.path.clone(),
            root: runtime.root.clone(),
            flags: runtime.flags.clone(),
        },
        bundle: paths.bundle(),
        run_dir: paths.run_dir(),
        log: (row.config.log_driver != "none").then(|| monitor::LogConfig {
            path: paths.log(),
            max_size: opts.get("max-size").and_then(|s| parse_size(s)),
            max_files: opts
                .get("max-file")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1),
        }),
        tty: row.config.tty,
        stdin: row.config.interactive,
        attach,
        timeout_secs: row.config.timeout,
        health: row.config.health.as_ref().map(|h| monitor::Periodic {
            every_secs: h.interval_secs.max(1),
            command: berth_command(ctx, &["healthcheck", "run", &row.id]),
        }),
        exit_command: berth_command(ctx, &["__container-exited", &row.id]),
        oom_events: unified.then(|| {
            std::path::Path::new("/sys/fs/cgroup")
                .join(manager.relative_dir(&row.id))
                .join("memory.events")
        }),
        watch_before_start: unified && manager == super::cgroup::CgroupManager::Systemd,
    }
}

fn attach_connect(paths: &ContainerPaths) -> Result<std::os::unix::net::UnixStream> {
    super::attach::connect(&paths.run_dir().attach_socket()).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!(
                "connecting to {}: {e}",
                paths.run_dir().attach_socket().display()
            ),
        )
    })
}

fn attach_running(
    ctx: &StoreContext,
    row: &ContainerRow,
    a: AttachStreams<'_>,
) -> Result<AttachEnd> {
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let stream = attach_connect(&paths)?;
    super::attach::client_session(stream, a).map_err(|e| attach_error(row, e))
}

pub fn attach(engine: &LocalEngine, name: &str, a: AttachStreams<'_>) -> Result<AttachEnd> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    if row.state != State::Running {
        return Err(bad_state(&row, "you can only attach to running containers"));
    }
    attach_running(ctx, &row, a)
}

fn bad_state(row: &ContainerRow, why: &str) -> EngineError {
    EngineError::new(
        ErrorKind::BadState,
        format!("container {} is {}: {why}", row.id, row.state.as_str()),
    )
}

/// A start failure with Podman's exit-code kind: 127 command not found, 126 not runnable.
fn start_error(row: &ContainerRow, msg: &str) -> EngineError {
    let lower = msg.to_ascii_lowercase();
    let kind = if lower.contains("not found") || lower.contains("no such file or directory") {
        ErrorKind::CommandNotFound
    } else if lower.contains("permission denied") || lower.contains("is a directory") {
        ErrorKind::CommandNotExecutable
    } else {
        ErrorKind::Storage
    };
    // crun does not name the program it could not run; say which it was.
    let program = row
        .config
        .entrypoint
        .as_ref()
        .and_then(|e| e.first())
        .or(row.config.command.first())
        .filter(|p| kind != ErrorKind::Storage && !msg.contains(p.as_str()));
    match program {
        Some(p) => EngineError::new(kind, format!("starting container {}: {p}: {msg}", row.id)),
        None => EngineError::new(kind, format!("starting container {}: {msg}", row.id)),
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mul) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1024),
        'm' => (&s[..s.len() - 1], 1024 * 1024),
        'g' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        'b' => (&s[..s.len() - 1], 1),
        _ => (&s[..], 1),
    };
    num.parse::<u64>().ok().map(|n| n * mul)
}

/// Waits until the container is no longer running, up to `limit`.
fn wait_stopped(ctx: &StoreContext, id: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match lookup(ctx, id) {
            Ok(r) if matches!(r.state, State::Running | State::Paused | State::Stopping) => {}
            _ => return true,
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The signal `stop` sends first: the container's, else the image's, else SIGTERM.
fn stop_signal(ctx: &StoreContext, row: &ContainerRow) -> String {
    if let Some(s) = &row.config.stop_signal {
        return s.clone();
    }
    prepare::image_config(ctx, row)
        .ok()
        .and_then(|c| c.config.and_then(|r| r.stop_signal))
        .unwrap_or_else(|| "SIGTERM".into())
}

pub fn stop(engine: &LocalEngine, name: &str, timeout: Option<u32>) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let _lock = lock(ctx, &row.id)?;
    stop_locked(ctx, &row.id, timeout)?;
    Ok(row.id)
}

pub fn stop_locked(ctx: &StoreContext, id: &str, timeout: Option<u32>) -> Result<()> {
    let row = lookup(ctx, id)?;
    if !matches!(row.state, State::Running | State::Paused | State::Stopping) {
        return Ok(());
    }
    let runtime = runtime_for(ctx, &row)?;
    // "stopping" tells the monitor this exit was asked for: no restart policy applies.
    store::set_state(&ctx.db(), &row.id, State::Stopping).map_err(storage)?;
    let timeout = timeout.or(row.config.stop_timeout).unwrap_or(10);
    if row.state == State::Paused {
        let _ = runtime.resume(&row.id);
    }
    if timeout > 0 {
        let _ = runtime.kill(&row.id, &stop_signal(ctx, &row), false);
        if wait_stopped(ctx, &row.id, Duration::from_secs(timeout as u64)) {
            return Ok(());
        }
        tracing::info!(container = %row.id, "stop timeout elapsed; sending SIGKILL");
    }
    // `--all` finds the processes through the container's cgroup, which a rootless
    // container on cgroup v1, or on v2 without a delegated tree, does not have: there
    // its init alone is killed (and with it the pid namespace).
    let has_cgroup =
        !crate::rootless::active() || (super::cgroup::unified() && super::cgroup::delegated());
    let _ = runtime.kill(&row.id, "KILL", has_cgroup);
    if wait_stopped(ctx, &row.id, Duration::from_secs(10)) {
        return Ok(());
    }
    Err(EngineError::new(
        ErrorKind::Storage,
        format!("container {} did not stop after SIGKILL", row.id),
    ))
}

pub fn kill(engine: &LocalEngine, name: &str, signal: &str) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    if !matches!(row.state, State::Running | State::Paused | State::Stopping) {
        return Err(bad_state(&row, "can only kill running containers"));
    }
    let runtime = runtime_for(ctx, &row)?;
    runtime
        .kill(&row.id, signal.trim_start_matches("SIG"), false)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    Ok(row.id)
}

/// Removes one container (stopping it first with `force`); returns its ID.
pub fn remove_one(
    ctx: &StoreContext,
    name: &str,
    force: bool,
    volumes: bool,
    timeout: Option<u32>,
) -> Result<String> {
    let row = lookup(ctx, name)?;
    if let Some(pod) = crate::pod::store::of_infra(&ctx.db(), &row.id).map_err(storage)? {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!(
                "container {} is the infra container of pod {} and cannot be removed without removing the pod",
                row.id, pod.id
            ),
        ));
    }
    let _lock = lock(ctx, &row.id)?;
    let row = lookup(ctx, &row.id)?;
    if matches!(row.state, State::Running | State::Paused | State::Stopping) {
        if !force {
            return Err(EngineError::new(
                ErrorKind::BadState,
                format!(
                    "cannot remove container {} as it is {} - running or paused containers cannot be removed without force: container state improper",
                    row.id,
                    row.state.as_str()
                ),
            ));
        }
        stop_locked(ctx, &row.id, timeout)?;
    }
    reconcile::wait_monitor_gone(&row, MONITOR_CLEANUP_WAIT);
    destroy(ctx, &row, volumes)?;
    Ok(row.id)
}

/// Deletes everything of a stopped container: runtime state, mount, files, row.
pub fn destroy(ctx: &StoreContext, row: &ContainerRow, volumes: bool) -> Result<()> {
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    if let Ok(rt) = runtime_for(ctx, row) {
        // The monitor usually deleted it already; only ask the runtime when it still knows it.
        if rt.root.join(&row.id).exists() {
            let _ = rt.delete(&row.id, true);
        }
    }
    let mut errors = Vec::new();
    if let Err(e) = crate::network::setup::teardown(&row.id, &paths.run) {
        errors.push(e);
    }
    if let Err(e) = rootfs::unmount_rootfs(&paths) {
        errors.push(e.to_string());
    }
    let anonymous = crate::volume::mount::anonymous_volumes_of(&ctx.db(), &row.id);
    for dir in [&paths.dir, &paths.run] {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                errors.push(format!("removing {}: {e}", dir.display()));
            }
        }
    }
    if !errors.is_empty() {
        // Keep the row: the container stays listed, and `rm` can be tried again.
        return Err(EngineError::new(
            ErrorKind::Storage,
            format!("removing container {}: {}", row.id, errors.join("; ")),
        ));
    }
    if row.state == State::Exited {
        super::exit_codes::remember(ctx, &row.id, row.exit_code);
    }
    // The row goes last: once it is gone, so is everything else (`run --rm` waits for that).
    store::delete(&ctx.db(), &row.id).map_err(storage)?;
    crate::events::container(ctx, row, "remove", None);
    if volumes && !anonymous.is_empty() {
        let req = berth_types::volume::VolumeRemoveRequest {
            names: anonymous,
            force: false,
            all: false,
        };
        if let Err(e) = crate::volume::ops::remove(ctx, &req) {
            errors.push(e.message);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(EngineError::new(
            ErrorKind::Storage,
            format!("removing container {}: {}", row.id, errors.join("; ")),
        ))
    }
}

pub fn remove(engine: &LocalEngine, req: &RemoveContainersRequest) -> Result<Vec<Result<String>>> {
    let ctx = engine.ctx()?;
    let names: Vec<String> = if req.all {
        store::list(&ctx.db())
            .map_err(storage)?
            .into_iter()
            .map(|r| r.id)
            .collect()
    } else {
        req.names.clone()
    };
    Ok(names
        .iter()
        .map(
            |n| match remove_one(ctx, n, req.force, req.volumes, req.timeout) {
                // Ignored missing names answer an empty ID: one answer per name.
                Err(e) if e.kind == ErrorKind::NotFound && req.ignore_missing => Ok(String::new()),
                other => other,
            },
        )
        .collect())
}

/// Waits for `condition` (`stopped`/`exited` by default, or `running`); returns the exit code.
pub fn wait(engine: &LocalEngine, name: &str, condition: &str) -> Result<i32> {
    let ctx = engine.ctx()?;
    let id = lookup(ctx, name)?.id;
    loop {
        let row = match lookup(ctx, &id) {
            Ok(r) => r,
            // Removed while we waited (--rm): its exit code is in the exit file it left, if any.
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Ok(reconcile::exit_file_code(ctx, &id)
                    .or_else(|| super::exit_codes::recall(ctx, &id))
                    .unwrap_or(0))
            }
            Err(e) => return Err(e),
        };
        let done = match condition {
            "running" => row.state == State::Running,
            "created" => row.state == State::Created,
            "paused" => row.state == State::Paused,
            "stopped" | "exited" | "" => {
                matches!(row.state, State::Exited | State::Created) && row.started_at > 0
                    || row.state == State::Exited
            }
            other => {
                return Err(EngineError::invalid(format!(
                    "invalid condition {other:?}: use created, running, paused, stopped or exited"
                )))
            }
        };
        if done {
            return Ok(row.exit_code);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes a container after its process ended, when it was created with `--rm`.
pub fn auto_remove(engine: &LocalEngine, id: &str) {
    if let Ok(ctx) = engine.ctx() {
        let row = store::get(&ctx.db(), id);
        if let Ok(Some(row)) = row {
            if row.config.remove {
                if let Err(e) = destroy(ctx, &row, true) {
                    tracing::warn!(container = %id, error = %e, "removing container");
                }
            }
        }
    }
}

pub fn exists(engine: &LocalEngine, name: &str) -> Result<bool> {
    let ctx = engine.ctx()?;
    Ok(matches!(
        store::find(&ctx.db(), name).map_err(storage)?,
        Ok(Some(_)) | Err(_)
    ))
}

/// Helper for the Engine impl: the ID a name resolves to.
pub fn id_of(engine: &LocalEngine, name: &str) -> Result<String> {
    Ok(lookup(engine.ctx()?, name)?.id)
}

pub fn restart(engine: &LocalEngine, name: &str, timeout: Option<u32>) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    {
        let _lock = lock(ctx, &row.id)?;
        stop_locked(ctx, &row.id, timeout)?;
    }
    // `start` waits for the stopped run's monitor to finish its cleanup.
    start(engine, &row.id, None)?;
    Ok(row.id)
}

pub fn pause(engine: &LocalEngine, name: &str, resume: bool) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let _lock = lock(ctx, &row.id)?;
    let (want, next) = if resume {
        (State::Paused, State::Running)
    } else {
        (State::Running, State::Paused)
    };
    if row.state != want {
        return Err(bad_state(
            &row,
            if resume {
                "it is not paused"
            } else {
                "it is not running"
            },
        ));
    }
    let runtime = runtime_for(ctx, &row)?;
    let result = if resume {
        runtime.resume(&row.id)
    } else {
        runtime.pause(&row.id)
    };
    result.map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))?;
    store::set_state(&ctx.db(), &row.id, next).map_err(storage)?;
    Ok(row.id)
}

/// `update`: new resource limits, applied at once to a running container (through
/// the runtime) and kept for its next runs. A limit the runtime refuses changes nothing.
pub fn update(engine: &LocalEngine, name: &str, changes: &Resources) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let _lock = lock(ctx, &row.id)?;
    let row = lookup(ctx, &row.id)?;
    let mut config = row.config.clone();
    let r = &mut config.resources;
    let c = changes.clone();
    r.memory = c.memory.or(r.memory);
    r.memory_swap = c.memory_swap.or(r.memory_swap);
    r.cpus = c.cpus.or(r.cpus);
    r.cpu_shares = c.cpu_shares.or(r.cpu_shares);
    r.cpuset_cpus = c.cpuset_cpus.or(r.cpuset_cpus.take());
    r.pids_limit = c.pids_limit.or(r.pids_limit);
    let limits = super::spec::limits(&config)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    if matches!(row.state, State::Running | State::Paused) {
        let runtime = runtime_for(ctx, &row)?;
        let paths = ContainerPaths::new(&ctx.paths, &row.id);
        let file = paths.run.join("update-resources.json");
        crate::store::fsutil::write_atomic(&file, limits.to_string().as_bytes(), 0o600).map_err(
            |e| {
                EngineError::new(
                    ErrorKind::Storage,
                    format!("writing {}: {e}", file.display()),
                )
            },
        )?;
        let applied = runtime.update(&row.id, &file);
        let _ = std::fs::remove_file(&file);
        applied.map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    }
    store::set_config(&ctx.db(), &row.id, &config).map_err(storage)?;
    Ok(row.id)
}

pub fn rename(engine: &LocalEngine, name: &str, new_name: &str) -> Result<()> {
    let ctx = engine.ctx()?;
    if !names::valid_name(new_name) {
        return Err(EngineError::invalid(format!(
            "container name {new_name:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        )));
    }
    let row = lookup(ctx, name)?;
    let renamed = store::rename(&ctx.db(), &row.id, new_name);
    match renamed {
        Ok(()) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(EngineError::conflict(format!("renaming container {}: the name \"{new_name}\" is already in use: that name is already in use", row.id)))
        }
        Err(e) => Err(storage(e)),
    }
}

/// Removes every container that is not running; returns their IDs.
pub fn prune(engine: &LocalEngine) -> Result<Vec<String>> {
    let ctx = engine.ctx()?;
    let rows = store::list(&ctx.db()).map_err(storage)?;
    let mut removed = Vec::new();
    for row in rows {
        let row = refreshed(ctx, row);
        let infra = crate::pod::store::of_infra(&ctx.db(), &row.id)
            .map_err(storage)?
            .is_some();
        if matches!(row.state, State::Exited | State::Created) && !infra {
            removed.push(remove_one(ctx, &row.id, false, false, None)?);
        }
    }
    Ok(removed)
}
