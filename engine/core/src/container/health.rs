//! Health checks (`--health-cmd` and friends): `healthcheck run` executes the test in
//! the running container, killed past `--health-timeout`, and records the result — status `starting`,
//! `healthy` or `unhealthy`, the failing streak, and the last five results — which
//! inspect and ps show. The monitor runs `berth healthcheck run` every interval.

use super::ops::{lookup, now_nanos};
use super::store::State;
use crate::engine::{storage, LocalEngine, StoreContext};
use berth_types::container::{AttachStreams, ExecRequest};
use berth_types::{EngineError, ErrorKind, Result};
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

/// Results kept in the log, as Podman keeps them.
const KEEP: usize = 5;

/// The recorded health: (status, failing streak, log).
pub fn read(ctx: &StoreContext, id: &str) -> (String, i64, Value) {
    let row: Option<(String, i64, String)> = ctx
        .db()
        .query_row(
            "SELECT health_status, health_failing, health_log FROM containers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .ok()
        .flatten();
    match row {
        Some((s, f, l)) => (s, f, serde_json::from_str(&l).unwrap_or(json!([]))),
        None => (String::new(), 0, json!([])),
    }
}

/// The command the health test runs.
fn test_command(test: &[String]) -> Option<Vec<String>> {
    match test.first().map(String::as_str) {
        Some("CMD-SHELL") => Some(vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")]),
        Some("CMD") => Some(test[1..].to_vec()),
        Some("NONE") | None => None,
        Some(_) => Some(test.to_vec()),
    }
}

/// Runs the check once and records it; returns the status (`healthy`/`unhealthy`/`starting`).
pub fn run(engine: &LocalEngine, name: &str) -> Result<String> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let Some(health) = row.config.health.clone() else {
        return Err(EngineError::invalid(format!(
            "container {} has no defined healthcheck",
            row.name
        )));
    };
    if row.state != State::Running {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!("container {} is not running", row.name),
        ));
    }
    let command = test_command(&health.test)
        .ok_or_else(|| EngineError::invalid("the healthcheck is disabled (NONE)"))?;
    let start = chrono::Utc::now();
    let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let mut o = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if o.len() < 4096 {
                o.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let cmd = command.clone();
    let streams = AttachStreams {
        stdin: None,
        stdout: Box::new(Sink(output.clone())),
        stderr: Box::new(Sink(output.clone())),
        detach_keys: Vec::new(),
        resize: None,
        started: None,
    };
    let req = ExecRequest {
        command: cmd,
        ..Default::default()
    };
    // Podman's default --health-timeout is 30s; past it the check is killed and fails.
    let limit = std::time::Duration::from_secs(match health.timeout_secs {
        0 => 30,
        t => t,
    });
    let (code, ended) = super::exec::exec_with_limit(engine, &row.id, &req, streams, Some(limit))
        .unwrap_or((127, super::exec::Ended::InTime));
    if ended == super::exec::Ended::TimedOut {
        let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
        out.extend_from_slice(
            format!(
                "healthcheck command exceeded timeout of {}s",
                limit.as_secs()
            )
            .as_bytes(),
        );
    }
    let code = if ended == super::exec::Ended::TimedOut {
        1
    } else {
        code
    };
    let (_, mut failing, log) = read(ctx, &row.id);
    let in_start_period =
        (now_nanos() - row.started_at) < (health.start_period_secs as i64) * 1_000_000_000;
    let status = if code == 0 {
        failing = 0;
        "healthy".to_string()
    } else if in_start_period {
        "starting".to_string()
    } else {
        failing += 1;
        if failing >= health.retries.max(1) as i64 {
            "unhealthy".to_string()
        } else {
            "starting".to_string()
        }
    };
    let mut log: Vec<Value> = log.as_array().cloned().unwrap_or_default();
    log.push(json!({
        "Start": start.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "End": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "ExitCode": code,
        "Output": String::from_utf8_lossy(&output.lock().unwrap_or_else(|p| p.into_inner())).into_owned(),
    }));
    if log.len() > KEEP {
        log.drain(..log.len() - KEEP);
    }
    // A previously healthy container stays healthy until the streak reaches the retries.
    let previous = read(ctx, &row.id).0;
    let status = if status == "starting"
        && previous == "healthy"
        && failing < health.retries.max(1) as i64
    {
        previous
    } else {
        status
    };
    ctx.db()
        .execute(
            "UPDATE containers SET health_status = ?2, health_failing = ?3, health_log = ?4 WHERE id = ?1",
            params![row.id, status, failing, Value::Array(log).to_string()],
        )
        .map_err(storage)?;
    Ok(status)
}
