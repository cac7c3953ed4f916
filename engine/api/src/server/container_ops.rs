//! The rest of Docker's container endpoints: top, stats (one-shot and streamed),
//! changes, export, rename, update, pause and unpause, and prune.

use super::attach::container_error;
use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::container::ContainerStats;
use berth_types::Engine;
use hyper::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How often a streamed `stats` reports.
const STATS_EVERY: Duration = Duration::from_secs(1);

fn top(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let descriptors: Vec<String> = req
        .param("ps_args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    match engine.top_container(name, &descriptors) {
        Ok(mut rows) if !rows.is_empty() => {
            let titles = rows.remove(0);
            reply::ok_json(&json!({"Titles": titles, "Processes": rows}))
        }
        Ok(_) => reply::ok_json(&json!({"Titles": [], "Processes": []})),
        Err(e) => container_error(&e, name),
    }
}

/// One stats report in Docker's shape; `pre` is the previous CPU reading.
fn stats_doc(s: &ContainerStats, pre: Option<(u64, u64)>, read: &str) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    // Docker's clients compute CPU% from the container's and the system's deltas;
    // the system's clock here is wall time across all CPUs.
    let system = (s.up_time * 1e9) as u64 * cpus;
    let (pre_cpu, pre_system) = pre.unwrap_or((0, 0));
    json!({
        "id": s.container_id,
        "name": format!("/{}", s.name),
        "read": read,
        "preread": "0001-01-01T00:00:00Z",
        "pids_stats": {"current": s.pids},
        "num_procs": 0,
        "cpu_stats": {
            "cpu_usage": {"total_usage": s.cpu_nano, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": system,
            "online_cpus": cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": pre_cpu, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": pre_system,
            "online_cpus": cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "memory_stats": {"usage": s.mem_usage, "limit": s.mem_limit, "stats": {}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": s.block_input},
            {"major": 0, "minor": 0, "op": "write", "value": s.block_output},
        ]},
        "networks": {},
    })
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn read_stats(engine: &dyn Engine, name: &str) -> Result<ContainerStats, Reply> {
    match engine.container_stats(&[name.to_string()]) {
        Ok(mut v) if !v.is_empty() => Ok(v.remove(0)),
        Ok(_) => Err(reply::error(
            StatusCode::CONFLICT,
            format!("container {name} is not running"),
        )),
        Err(e) => Err(container_error(&e, name)),
    }
}

fn stats(engine: &Arc<dyn Engine>, req: &ApiRequest, name: &str) -> Reply {
    let first = match read_stats(engine.as_ref(), name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let stream = req.param("stream").is_none_or(|v| v == "1" || v == "true");
    if !stream {
        return reply::ok_json(&stats_doc(&first, None, &now_rfc3339()));
    }
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let (engine, name) = (engine.clone(), name.to_string());
    std::thread::spawn(move || {
        let mut current = first;
        let mut pre = None;
        loop {
            let doc = stats_doc(&current, pre, &now_rfc3339());
            let line = format!("{doc}\n");
            if tx.send(bytes::Bytes::from(line)).is_err() {
                return;
            }
            pre = doc["cpu_stats"]["system_cpu_usage"]
                .as_u64()
                .map(|sys| (current.cpu_nano, sys));
            std::thread::sleep(STATS_EVERY);
            match read_stats(engine.as_ref(), &name) {
                Ok(s) => current = s,
                Err(_) => return,
            }
        }
    });
    reply
}

fn changes(engine: &dyn Engine, name: &str) -> Reply {
    match engine.container_diff(name) {
        Ok(list) => reply::ok_json(&Value::Array(
            list.iter()
                .map(|c| {
                    let kind = match c.kind {
                        'A' => 1,
                        'D' => 2,
                        _ => 0,
                    };
                    json!({"Path": c.path, "Kind": kind})
                })
                .collect(),
        )),
        Err(e) => container_error(&e, name),
    }
}

fn export(engine: &Arc<dyn Engine>, name: &str) -> Reply {
    if let Err(e) = engine.inspect_container(name) {
        return container_error(&e, name);
    }
    let (reply, mut out) = reply::bulk(StatusCode::OK, "application/x-tar");
    let (engine, name) = (engine.clone(), name.to_string());
    std::thread::spawn(move || {
        if let Err(e) = engine.export_container(&name, &mut out) {
            tracing::debug!(error = %e.message, "export ended early");
        }
    });
    reply
}

fn rename(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let Some(new_name) = req.param("name").filter(|n| !n.is_empty()) else {
        return reply::error(StatusCode::BAD_REQUEST, "the new name is required");
    };
    match engine.rename_container(name, new_name.trim_start_matches('/')) {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => container_error(&e, name),
    }
}

fn pause(engine: &dyn Engine, name: &str, resume: bool) -> Reply {
    let r = if resume {
        engine.unpause_container(name)
    } else {
        engine.pause_container(name)
    };
    match r {
        Ok(_) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => container_error(&e, name),
    }
}

/// `POST /containers/{id}/update`: Docker's resource fields (zero: unchanged).
fn update(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let body = match req.json_body() {
        Ok(v) => v,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let positive = |k: &str| body[k].as_i64().filter(|v| *v > 0);
    let quota = positive("CpuQuota");
    let period = positive("CpuPeriod").unwrap_or(100_000);
    let cpus = positive("NanoCpus")
        .map(|n| n as f64 / 1e9)
        .or(quota.map(|q| q as f64 / period as f64));
    let resources = berth_types::container::Resources {
        memory: positive("Memory"),
        memory_swap: body["MemorySwap"].as_i64().filter(|v| *v != 0),
        cpus,
        cpu_shares: positive("CpuShares").map(|v| v as u64),
        cpuset_cpus: body["CpusetCpus"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        pids_limit: body["PidsLimit"].as_i64().filter(|v| *v != 0),
    };
    match engine.update_container(name, &resources) {
        Ok(_) => reply::ok_json(&json!({"Warnings": []})),
        Err(e) => container_error(&e, name),
    }
}

fn prune(engine: &dyn Engine) -> Reply {
    match engine.prune_containers() {
        Ok(ids) => reply::ok_json(&json!({"ContainersDeleted": ids, "SpaceReclaimed": 0})),
        Err(e) => reply::engine_error(&e),
    }
}

pub fn route(shared: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let engine = shared.as_ref();
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::GET, ["containers", name, "top"]) => top(engine, req, name),
        (&Method::GET, ["containers", name, "stats"]) => stats(shared, req, name),
        (&Method::GET, ["containers", name, "changes"]) => changes(engine, name),
        (&Method::GET, ["containers", name, "export"]) => export(shared, name),
        (&Method::POST, ["containers", "prune"]) => prune(engine),
        (&Method::POST, ["containers", name, "rename"]) => rename(engine, req, name),
        (&Method::POST, ["containers", name, "update"]) => update(engine, req, name),
        (&Method::POST, ["containers", name, "pause"]) => pause(engine, name, false),
        (&Method::POST, ["containers", name, "unpause"]) => pause(engine, name, true),
        _ => return None,
    })
}
