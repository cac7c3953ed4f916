//! Pod lifecycle: create (the row, then the infra container that holds the shared
//! namespaces), joining a container to a pod, start (infra, then init containers in
//! order, then the rest at once), stop (the rest at once, then infra), kill, pause,
//! remove. Creating and removing a pod hold its lock, so no container joins a pod
//! that is going away.

use super::store::{self, PodRow};
use crate::container::ops as ctr;
use crate::container::store::{self as ctr_store, ContainerRow, State};
use crate::engine::{storage, LocalEngine, StoreContext};
use crate::store::lock::FileLock;
use berth_types::container::{ContainerCreateRequest, ContainerCreated};
use berth_types::pod::{PodCreateRequest, RemovePodsRequest, SHAREABLE};
use berth_types::progress::ProgressSink;
use berth_types::{EngineError, ErrorKind, Result};

/// The lock that serialises creating, joining and removing one pod.
fn lock(ctx: &StoreContext, id: &str) -> Result<FileLock> {
    FileLock::exclusive(&ctx.paths.locks().join(format!("pod-{id}.lock")))
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("locking pod {id}: {e}")))
}

/// Finds a pod by name, ID or unique ID prefix.
pub fn lookup(ctx: &StoreContext, name: &str) -> Result<PodRow> {
    match store::find(&ctx.db(), name).map_err(storage)? {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(EngineError::not_found(format!(
            "no pod with name or ID {name} found: no such pod"
        ))),
        Err(n) => Err(EngineError::invalid(format!(
            "more than one result for pod {name:?} ({n} pods): use a longer ID"
        ))),
    }
}

/// The pod's containers (the infra container first, then by creation), their states
/// reconciled with reality.
pub fn members(ctx: &StoreContext, pod: &PodRow) -> Result<Vec<ContainerRow>> {
    let rows = ctr_store::list(&ctx.db()).map_err(storage)?;
    let mut out: Vec<ContainerRow> = rows
        .into_iter()
        .filter(|r| r.config.pod == pod.id)
        .map(|r| crate::container::reconcile::refreshed(ctx, r))
        .collect();
    out.sort_by_key(|r| (r.id != pod.infra_id, r.created));
    Ok(out)
}

fn validate(req: &PodCreateRequest) -> Result<()> {
    if let Some(n) = &req.name {
        if !crate::container::names::valid_name(n) {
            return Err(EngineError::invalid(format!(
                "pod name {n:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
            )));
        }
    }
    for ns in &req.share {
        if !SHAREABLE.contains(&ns.as_str()) {
            return Err(EngineError::invalid(format!(
                "invalid kernel namespace to share: {ns}: use cgroup, ipc, net, pid or uts"
            )));
        }
    }
    if !req.infra {
        if !req.share.is_empty() {
            return Err(EngineError::invalid(
                "you must have an infra container to share namespaces (--infra=false needs --share=none)",
            ));
        }
        if !req.ports.is_empty() || req.network != "bridge" || !req.networks.is_empty() {
            return Err(EngineError::invalid(
                "you must have an infra container to publish ports or configure the pod's network",
            ));
        }
    }
    if !matches!(req.exit_policy.as_str(), "continue" | "stop") {
        return Err(EngineError::invalid(format!(
            "invalid pod exit policy {:?}: use continue or stop",
            req.exit_policy
        )));
    }
    Ok(())
}

/// The infra container's create request: the pod's network, hostname, limits and
/// user namespace, running the pause process (or `--infra-command`).
fn infra_request(pod: &PodRow, image: String, pull_never: bool) -> ContainerCreateRequest {
    let r = &pod.config;
    ContainerCreateRequest {
        image,
        name: Some(
            r.infra_name
                .clone()
                .unwrap_or_else(|| format!("{}-infra", &pod.id[..12])),
        ),
        entrypoint: r.infra_command.clone(),
        hostname: Some(r.hostname.clone().unwrap_or_else(|| pod.name.clone())),
        network: r.network.clone(),
        networks: r.networks.clone(),
        ports: r.ports.clone(),
        dns: r.dns.clone(),
        dns_search: r.dns_search.clone(),
        dns_options: r.dns_options.clone(),
        add_hosts: r.add_hosts.clone(),
        no_hosts: r.no_hosts,
        resources: r.resources.clone(),
        userns: r.userns.clone(),
        uidmap: r.uidmap.clone(),
        gidmap: r.gidmap.clone(),
        runtime: r.runtime.clone(),
        log_driver: "k8s-file".into(),
        pull: if pull_never {
            berth_types::image::PullPolicy::Never
        } else {
            berth_types::image::PullPolicy::Missing
        },
        pod: pod.id.clone(),
        ..Default::default()
    }
}

pub fn create(
    engine: &LocalEngine,
    req: &PodCreateRequest,
    progress: &dyn ProgressSink,
) -> Result<ContainerCreated> {
    validate(req)?;
    let ctx = engine.ctx()?;
    if req.replace {
        if let Some(n) = &req.name {
            match remove_one(engine, n, true, None) {
                Err(e) if e.kind != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    let id = crate::container::names::new_id();
    let mut pod = PodRow {
        id: id.clone(),
        name: req
            .name
            .clone()
            .unwrap_or_else(crate::container::names::generated_name),
        created: ctr::now_nanos(),
        config: req.clone(),
        infra_id: String::new(),
    };
    let _lock = lock(ctx, &id)?;
    let mut inserted = store::insert(&ctx.db(), &pod);
    for _ in 0..20 {
        match &inserted {
            Err(e) if is_constraint(e) && req.name.is_none() => {
                pod.name = crate::container::names::generated_name();
                inserted = store::insert(&ctx.db(), &pod);
            }
            _ => break,
        }
    }
    if let Err(e) = inserted {
        if is_constraint(&e) {
            return Err(EngineError::conflict(format!(
                "adding pod to state: name \"{}\" is in use: pod already exists",
                pod.name
            )));
        }
        return Err(storage(e));
    }
    let mut warnings = Vec::new();
    if req.infra {
        let made = (|| {
            let (image, own) = match &req.infra_image {
                Some(i) => (i.clone(), false),
                None => (super::pause_image::ensure(engine)?, true),
            };
            let infra = infra_request(&pod, image, own);
            ctr::create_container(engine, &infra, progress, true)
        })();
        match made {
            Ok(c) => {
                warnings.extend(c.warnings);
                if let Err(e) = store::set_infra(&ctx.db(), &id, &c.id) {
                    let _ = ctr::remove_one(ctx, &c.id, true, true, None);
                    let _ = store::delete(&ctx.db(), &id);
                    return Err(storage(e));
                }
            }
            Err(e) => {
                let _ = store::delete(&ctx.db(), &id);
                return Err(e);
            }
        }
    }
    Ok(ContainerCreated { id, warnings })
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Makes `req` a member of the pod it names: the pod's ID, the infra container's
/// namespaces for the shared ones, and the pod's limits unless it sets its own.
/// Refuses what the pod decides (ports, networks, a hostname of a shared UTS).
/// Returns the pod's lock, to hold until the container's row is in.
pub fn join(ctx: &StoreContext, req: &mut ContainerCreateRequest) -> Result<FileLock> {
    let pod = lookup(ctx, &req.pod)?;
    let guard = lock(ctx, &pod.id)?;
    // Removed while we waited for its lock?
    let pod = lookup(ctx, &pod.id)?;
    req.pod = pod.id.clone();
    if pod.infra_id.is_empty() {
        return Ok(guard);
    }
    let shares = |ns: &str| pod.config.share.iter().any(|s| s == ns);
    let container = format!("container:{}", pod.infra_id);
    if shares("net") {
        if !req.ports.is_empty() || req.publish_all {
            return Err(EngineError::invalid(
                "invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod",
            ));
        }
        let default_net = req.network == "bridge" && req.networks.is_empty();
        if !default_net && req.network != container {
            return Err(EngineError::invalid(
                "invalid config provided: networks must be defined when the pod is created: network cannot be configured when it is shared with a pod",
            ));
        }
        req.network = container.clone();
    }
    if shares("uts") {
        if req.hostname.is_some() {
            return Err(EngineError::invalid(
                "invalid config provided: cannot set hostname when joining the pod UTS namespace",
            ));
        }
        req.uts = container.clone();
    }
    if shares("ipc") && req.ipc.is_empty() {
        req.ipc = container.clone();
    }
    if shares("pid") && req.pid.is_empty() {
        req.pid = container.clone();
    }
    if shares("cgroup") && req.cgroupns.is_empty() {
        req.cgroupns = container.clone();
    }
    // The pod's user namespace: the infra container's mappings (an `auto` range as it
    // was picked), whose namespace the container joins at start.
    let userns = !pod.config.userns.is_empty() || !pod.config.uidmap.is_empty();
    if userns {
        if !req.userns.is_empty() || !req.uidmap.is_empty() || !req.gidmap.is_empty() {
            return Err(EngineError::invalid(
                "invalid config provided: the user namespace of a pod's container is the pod's: set --userns on the pod",
            ));
        }
        let infra = ctr_store::get(&ctx.db(), &pod.infra_id)
            .map_err(storage)?
            .ok_or_else(|| {
                EngineError::not_found(format!("pod {}: its infra container is gone", pod.name))
            })?;
        req.userns = infra.config.userns.clone();
        req.uidmap = infra.config.uidmap.clone();
        req.gidmap = infra.config.gidmap.clone();
    }
    let r = &mut req.resources;
    let p = &pod.config.resources;
    r.memory = r.memory.or(p.memory);
    r.cpus = r.cpus.or(p.cpus);
    r.cpu_shares = r.cpu_shares.or(p.cpu_shares);
    r.cpuset_cpus = r.cpuset_cpus.clone().or(p.cpuset_cpus.clone());
    r.pids_limit = r.pids_limit.or(p.pids_limit);
    Ok(guard)
}

/// Before a pod's container starts: its infra container must run (it holds the
/// namespaces the container joins).
pub fn ensure_infra_running(engine: &LocalEngine, row: &ContainerRow) -> Result<()> {
    if row.config.pod.is_empty() {
        return Ok(());
    }
    let ctx = engine.ctx()?;
    let Some(pod) = store::get(&ctx.db(), &row.config.pod).map_err(storage)? else {
        return Ok(());
    };
    if pod.infra_id.is_empty() || pod.infra_id == row.id {
        return Ok(());
    }
    let infra = ctr::lookup(ctx, &pod.infra_id)?;
    if infra.state != State::Running {
        ctr::start(engine, &infra.id, None)?;
    }
    Ok(())
}

/// Runs `f` on each container at once (one thread each); the errors, in order.
fn each_parallel<F>(rows: &[ContainerRow], f: F) -> Vec<(String, EngineError)>
where
    F: Fn(&ContainerRow) -> Result<()> + Sync,
{
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = rows.iter().map(|r| (r, s.spawn(move || f(r)))).collect();
        handles
            .into_iter()
            .filter_map(|(r, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some((r.name.clone(), e)),
                Err(_) => Some((
                    r.name.clone(),
                    EngineError::new(ErrorKind::Storage, "the worker thread panicked"),
                )),
            })
            .collect()
    })
}

/// One error for the containers that failed (`what`: "starting", "stopping"…).
fn combined(pod: &PodRow, what: &str, errors: Vec<(String, EngineError)>) -> Result<String> {
    let Some(kind) = errors.first().map(|(_, e)| e.kind) else {
        return Ok(pod.id.clone());
    };
    let list: Vec<String> = errors
        .iter()
        .map(|(name, e)| format!("{what} container {name}: {}", e.message))
        .collect();
    Err(EngineError::new(
        kind,
        format!("pod {}: {}", pod.name, list.join("; ")),
    ))
}

pub fn start(engine: &LocalEngine, name: &str) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    let rows = members(ctx, &pod)?;
    if let Some(infra) = rows.iter().find(|r| r.id == pod.infra_id) {
        if infra.state != State::Running {
            ctr::start(engine, &infra.id, None).map_err(|e| {
                EngineError::new(
                    e.kind,
                    format!(
                        "pod {}: starting its infra container: {}",
                        pod.name, e.message
                    ),
                )
            })?;
        }
    }
    for init in rows.iter().filter(|r| r.config.init_container.is_some()) {
        run_init(engine, &pod, init)?;
    }
    let rest: Vec<ContainerRow> = rows
        .into_iter()
        .filter(|r| r.id != pod.infra_id && r.config.init_container.is_none())
        .filter(|r| !matches!(r.state, State::Running | State::Paused))
        .collect();
    let errors = each_parallel(&rest, |r| ctr::start(engine, &r.id, None).map(|_| ()));
    combined(&pod, "starting", errors)
}

/// Runs an init container to its end; it must exit 0. A `once` one is removed then.
fn run_init(engine: &LocalEngine, pod: &PodRow, row: &ContainerRow) -> Result<()> {
    let ctx = engine.ctx()?;
    ctr::start(engine, &row.id, None)?;
    let code = ctr::wait(engine, &row.id, "exited")?;
    if code != 0 {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!(
                "pod {}: init container {} exited with code {code}",
                pod.name, row.name
            ),
        ));
    }
    if row.config.init_container.as_deref() == Some("once") {
        ctr::remove_one(ctx, &row.id, false, true, None)?;
    }
    Ok(())
}

pub fn stop(engine: &LocalEngine, name: &str, timeout: Option<u32>) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    stop_members(ctx, &pod, timeout)
}

/// Stops the containers at once, then the infra container.
fn stop_members(ctx: &StoreContext, pod: &PodRow, timeout: Option<u32>) -> Result<String> {
    let rows = members(ctx, pod)?;
    let (infra, rest): (Vec<ContainerRow>, Vec<ContainerRow>) =
        rows.into_iter().partition(|r| r.id == pod.infra_id);
    let stop = |r: &ContainerRow| -> Result<()> {
        let _lock = ctr::lock(ctx, &r.id)?;
        ctr::stop_locked(ctx, &r.id, timeout)
    };
    let mut errors = each_parallel(&rest, stop);
    for r in &infra {
        if let Err(e) = stop(r) {
            errors.push((r.name.clone(), e));
        }
    }
    combined(pod, "stopping", errors)
}

pub fn restart(engine: &LocalEngine, name: &str) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    stop_members(ctx, &pod, None)?;
    start(engine, &pod.id)
}

pub fn kill(engine: &LocalEngine, name: &str, signal: &str) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    let running: Vec<ContainerRow> = members(ctx, &pod)?
        .into_iter()
        .filter(|r| matches!(r.state, State::Running | State::Paused))
        .collect();
    if running.is_empty() {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!("pod {} has no running containers to kill", pod.name),
        ));
    }
    let errors = each_parallel(&running, |r| ctr::kill(engine, &r.id, signal).map(|_| ()));
    combined(&pod, "killing", errors)
}

pub fn pause(engine: &LocalEngine, name: &str, resume: bool) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    let want = if resume {
        State::Paused
    } else {
        State::Running
    };
    let rows: Vec<ContainerRow> = members(ctx, &pod)?
        .into_iter()
        .filter(|r| r.state == want)
        .collect();
    if rows.is_empty() {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!(
                "pod {} has no {} containers",
                pod.name,
                if resume { "paused" } else { "running" }
            ),
        ));
    }
    let errors = each_parallel(&rows, |r| ctr::pause(engine, &r.id, resume).map(|_| ()));
    combined(&pod, if resume { "unpausing" } else { "pausing" }, errors)
}

/// Removes a pod: its containers (stopped first with `force`), then the pod, then
/// the infra container (no longer anyone's infra, so a failure leaves a plain one).
pub fn remove_one(
    engine: &LocalEngine,
    name: &str,
    force: bool,
    timeout: Option<u32>,
) -> Result<String> {
    let ctx = engine.ctx()?;
    let pod = lookup(ctx, name)?;
    let _lock = lock(ctx, &pod.id)?;
    let pod = lookup(ctx, &pod.id)?;
    let rows = members(ctx, &pod)?;
    if !force {
        if let Some(r) = rows
            .iter()
            .find(|r| matches!(r.state, State::Running | State::Paused | State::Stopping))
        {
            return Err(EngineError::new(
                ErrorKind::BadState,
                format!(
                    "pod {} has running containers (container {} is {}): stop the pod first or remove it with --force",
                    pod.name,
                    r.name,
                    r.state.as_str()
                ),
            ));
        }
    }
    let (infra, rest): (Vec<ContainerRow>, Vec<ContainerRow>) =
        rows.into_iter().partition(|r| r.id == pod.infra_id);
    let errors = each_parallel(&rest, |r| {
        ctr::remove_one(ctx, &r.id, force, true, timeout).map(|_| ())
    });
    combined(&pod, "removing", errors)?;
    store::delete(&ctx.db(), &pod.id).map_err(storage)?;
    for r in &infra {
        ctr::remove_one(ctx, &r.id, true, true, timeout)?;
    }
    crate::events::object(ctx, "pod", "remove", &pod.id, &pod.name);
    Ok(pod.id)
}

pub fn remove(engine: &LocalEngine, req: &RemovePodsRequest) -> Result<Vec<Result<String>>> {
    let ctx = engine.ctx()?;
    let names: Vec<String> = if req.all {
        store::list(&ctx.db())
            .map_err(storage)?
            .into_iter()
            .map(|p| p.id)
            .collect()
    } else {
        req.names.clone()
    };
    Ok(names
        .iter()
        .map(|n| match remove_one(engine, n, req.force, req.timeout) {
            Err(e) if e.kind == ErrorKind::NotFound && req.ignore_missing => Ok(String::new()),
            other => other,
        })
        .collect())
}

/// Removes every pod none of whose containers runs.
pub fn prune(engine: &LocalEngine) -> Result<Vec<String>> {
    let ctx = engine.ctx()?;
    let mut removed = Vec::new();
    let pods = store::list(&ctx.db()).map_err(storage)?;
    for pod in pods {
        let idle = members(ctx, &pod)?
            .iter()
            .all(|r| matches!(r.state, State::Exited | State::Created));
        if idle {
            removed.push(remove_one(engine, &pod.id, false, None)?);
        }
    }
    Ok(removed)
}

/// After a container of a pod exited: with exit policy `stop`, the pod stops once no
/// other container of it runs.
pub fn after_member_exit(engine: &LocalEngine, row: &ContainerRow) {
    let Ok(ctx) = engine.ctx() else { return };
    let Ok(Some(pod)) = store::get(&ctx.db(), &row.config.pod) else {
        return;
    };
    if pod.config.exit_policy != "stop" || pod.infra_id.is_empty() || pod.infra_id == row.id {
        return;
    }
    let Ok(rows) = members(ctx, &pod) else { return };
    let busy = rows.iter().any(|r| {
        r.id != pod.infra_id && matches!(r.state, State::Running | State::Paused | State::Stopping)
    });
    if !busy {
        if let Ok(_lock) = ctr::lock(ctx, &pod.infra_id) {
            if let Err(e) = ctr::stop_locked(ctx, &pod.infra_id, None) {
                tracing::warn!(pod = %pod.id, error = %e, "stopping the pod (exit policy stop)");
            }
        }
    }
}
