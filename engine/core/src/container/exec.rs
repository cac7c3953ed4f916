//! `exec`: a new process in a running container, through the runtime's `exec` with a
//! process document derived from the container's own (its namespaces, caps, rlimits,
//! seccomp), with the command, user, environment and directory asked for.

use super::ops::{lookup, now_nanos};
use super::paths::ContainerPaths;
use super::store::State;
use crate::engine::{LocalEngine, StoreContext};
use berth_types::container::{AttachStreams, ExecRequest};
use berth_types::{EngineError, ErrorKind, Result};
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

fn fail(msg: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, msg.to_string())
}

/// The process document for the exec, from the container's config.json.
fn process_doc(ctx: &StoreContext, id: &str, req: &ExecRequest) -> Result<Value> {
    let paths = ContainerPaths::new(&ctx.paths, id);
    let bytes = std::fs::read(paths.config_json())
        .map_err(|e| fail(format!("reading the spec of container {id}: {e}")))?;
    let spec: Value = serde_json::from_slice(&bytes).map_err(fail)?;
    let mut process = spec
        .get("process")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if req.command.is_empty() {
        return Err(EngineError::invalid("exec requires a command"));
    }
    process["args"] = Value::from(req.command.clone());
    process["terminal"] = Value::Bool(req.tty);
    if let Some(w) = &req.workdir {
        process["cwd"] = Value::from(w.clone());
    }
    let mut env: Vec<String> = process["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for kv in &req.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    process["env"] = Value::from(env);
    if let Some(u) = &req.user {
        let user = super::user::resolve_user(&paths.merged(), Some(u), &[])
            .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
        process["user"] = serde_json::json!({ "uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids });
    }
    if req.privileged {
        let all = super::spec::host_bounding_caps().unwrap_or_default();
        for set in ["bounding", "effective", "permitted"] {
            process["capabilities"][set] = Value::from(all.clone());
        }
    }
    if let Some(map) = process.as_object_mut() {
        map.remove("consoleSize");
    }
    Ok(process)
}

pub fn exec(
    engine: &LocalEngine,
    name: &str,
    req: &ExecRequest,
    io: AttachStreams<'_>,
) -> Result<i32> {
    exec_with_limit(engine, name, req, io, None).map(|(code, _)| code)
}

/// What became of an exec run with a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    InTime,
    /// The limit passed: the process was killed.
    TimedOut,
}

/// `exec`, killing the process once `limit` has passed (health checks' `--health-timeout`).
pub fn exec_with_limit(
    engine: &LocalEngine,
    name: &str,
    req: &ExecRequest,
    io: AttachStreams<'_>,
    limit: Option<std::time::Duration>,
) -> Result<(i32, Ended)> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    if row.state != State::Running {
        return Err(EngineError::new(
            ErrorKind::BadState,
            "can only create exec sessions on running containers: container state improper",
        ));
    }
    // A TTY exec runs the runtime in the foreground, which sets up the container's
    // terminal from its own: with none to inherit, it gets a pty of its own here.
    let console = if req.tty && !req.detach && !has_controlling_terminal() {
        let c =
            super::exec_pty::Console::open().map_err(|e| fail(format!("opening a pty: {e}")))?;
        Some(c)
    } else {
        None
    };
    // The size the client's terminal has now: the process's terminal starts with it.
    let size = console
        .as_ref()
        .and(io.resize.as_ref())
        .and_then(|rx| rx.try_recv().ok());
    let mut process = process_doc(ctx, &row.id, req)?;
    if let (Some(c), Some((rows, cols))) = (&console, size) {
        c.resize(rows, cols);
        process["consoleSize"] = serde_json::json!({"height": rows, "width": cols});
    }
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let exec_id = format!("exec-{}", now_nanos());
    let process_file = paths.run.join(format!("{exec_id}.json"));
    let log_file = paths.run.join(format!("{exec_id}.log"));
    let pid_file = paths.run.join(format!("{exec_id}.pid"));
    crate::store::fsutil::write_atomic(
        &process_file,
        &serde_json::to_vec(&process).map_err(fail)?,
        0o600,
    )
    .map_err(fail)?;
    let runtime = super::runtime::Runtime::of_container(&ctx.paths, &row)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    let mut cmd = match &console {
        Some(c) => c.command(&runtime.command()),
        None => runtime.command(),
    };
    cmd.arg("--log")
        .arg(&log_file)
        .arg("--log-format")
        .arg("json")
        .arg("exec")
        .arg("--process")
        .arg(&process_file)
        .arg("--pid-file")
        .arg(&pid_file);
    if req.tty {
        cmd.arg("--tty");
    }
    if req.detach {
        cmd.arg("--detach");
    }
    cmd.arg(&row.id);
    cmd.stdin(match &console {
        Some(c) => c.stdin().map_err(|e| fail(format!("opening a pty: {e}")))?,
        None if req.interactive && !req.detach => Stdio::piped(),
        None => Stdio::null(),
    });
    cmd.stdout(if req.detach {
        Stdio::null()
    } else {
        Stdio::piped()
    });
    cmd.stderr(if req.detach {
        Stdio::null()
    } else {
        Stdio::piped()
    });
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("running {} exec: {e}", runtime.name)))?;
    let AttachStreams {
        stdin,
        mut stdout,
        mut stderr,
        resize,
        ..
    } = io;
    match &console {
        Some(c) => c.relay(stdin.filter(|_| req.interactive), resize),
        None => {
            if let (Some(mut input), Some(mut to_child)) = (stdin, child.stdin.take()) {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut input, &mut to_child);
                });
            }
        }
    }
    let out = child.stdout.take();
    let err = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (status, ended) = std::thread::scope(|scope| {
        if let Some(err) = err {
            let stop = &stop;
            scope.spawn(move || relay_output(err, &mut stderr, stop));
        }
        if let Some(out) = out {
            let stop = &stop;
            scope.spawn(move || relay_output(out, &mut stdout, stop));
        }
        let (status, ended) = match limit.map(|l| rx.recv_timeout(l)) {
            None | Some(Err(std::sync::mpsc::RecvTimeoutError::Disconnected)) => {
                (rx.recv().ok(), Ended::InTime)
            }
            Some(Ok(status)) => (Some(status), Ended::InTime),
            Some(Err(std::sync::mpsc::RecvTimeoutError::Timeout)) => {
                kill_exec_process(&pid_file);
                (rx.recv().ok(), Ended::TimedOut)
            }
        };
        if ended == Ended::TimedOut {
            // Whatever the killed process started may still hold the pipes open.
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        (status, ended)
    });
    let status = status
        .ok_or_else(|| fail(format!("waiting for {} exec", runtime.name)))?
        .map_err(|e| fail(format!("waiting for {} exec: {e}", runtime.name)))?;
    let _ = std::fs::remove_file(&pid_file);
    let log = std::fs::read(&log_file).unwrap_or_default();
    let _ = std::fs::remove_file(&process_file);
    let _ = std::fs::remove_file(&log_file);
    let code = status.code().unwrap_or(255);
    if code == 255 && !log.is_empty() {
        let msg = super::runtime::runtime_message(&log);
        let lower = msg.to_ascii_lowercase();
        let kind = if lower.contains("not found") || lower.contains("no such file") {
            ErrorKind::CommandNotFound
        } else if lower.contains("permission denied") {
            ErrorKind::CommandNotExecutable
        } else {
            ErrorKind::Storage
        };
        return Err(EngineError::new(kind, msg));
    }
    Ok((if req.detach { 0 } else { code }, ended))
}

/// Whether this process has a controlling terminal the runtime can take over.
fn has_controlling_terminal() -> bool {
    std::fs::File::open("/dev/tty").is_ok()
}

/// Copies a pipe to `to` until it ends, or, once `stop` is set, until it goes quiet.
fn relay_output(
    from: impl std::os::fd::AsFd,
    to: &mut dyn Write,
    stop: &std::sync::atomic::AtomicBool,
) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = [PollFd::new(&from, PollFlags::IN)];
        let tick = Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        match poll(&mut fds, Some(&tick)) {
            Ok(0) => {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        }
        match rustix::io::read(&from, &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buf[..n]).and_then(|_| to.flush()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Kills the exec'd process the runtime recorded in `pid_file`.
fn kill_exec_process(pid_file: &std::path::Path) {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    if let Some(pid) = pid {
        let _ = super::monitor::signal(pid, rustix::process::Signal::KILL);
    }
}
