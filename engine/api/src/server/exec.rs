//! Exec sessions: `POST /containers/{id}/exec` makes one, `POST /exec/{id}/start`
//! runs it (over a hijacked connection, or in the background when detached, or with
//! its output as the answer's body for a client that does not upgrade),
//! `GET /exec/{id}/json` reports it and `POST /exec/{id}/resize` sizes its terminal.

use super::attach::{container_error, size, target};
use super::fields::strings;
use super::hijack;
use super::reply::{self, Reply};
use super::request::ApiRequest;
use super::state::{Exec, State};
use berth_types::container::{AttachStreams, ExecRequest};
use berth_types::ErrorKind;
use hyper::StatusCode;
use serde_json::json;
use std::io::Read;
use std::sync::{mpsc, Arc, Mutex};

/// A new random session ID (64 hex digits, as Docker's).
fn new_id() -> String {
    let mut bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn no_such_exec(id: &str) -> Reply {
    reply::error(
        StatusCode::NOT_FOUND,
        format!("No such exec instance: {id}"),
    )
}

/// `POST /containers/{id}/exec`.
fn create(state: &State, req: &ApiRequest, name: &str) -> Reply {
    let body = match req.json_body() {
        Ok(v) => v,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let t = match target(state, name) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let command = strings(&body["Cmd"]);
    if command.is_empty() {
        return reply::error(StatusCode::BAD_REQUEST, "No exec command specified");
    }
    if t.status != "running" {
        return reply::error(
            StatusCode::CONFLICT,
            format!("Container {} is not running", t.id),
        );
    }
    let text = |k: &str| {
        body[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let stdin = body["AttachStdin"].as_bool().unwrap_or(false);
    let request = ExecRequest {
        command,
        env: strings(&body["Env"]),
        user: text("User"),
        workdir: text("WorkingDir"),
        tty: body["Tty"].as_bool().unwrap_or(false),
        interactive: stdin,
        privileged: body["Privileged"].as_bool().unwrap_or(false),
        detach: false,
    };
    let id = new_id();
    state.add_exec(
        id.clone(),
        Exec {
            container: t.id,
            request,
            stdin,
            stdout: body["AttachStdout"].as_bool().unwrap_or(false),
            stderr: body["AttachStderr"].as_bool().unwrap_or(false),
            running: false,
            started: false,
            exit_code: None,
            resize: None,
        },
    );
    reply::json(StatusCode::CREATED, &json!({ "Id": id }))
}

/// Runs the session with `io`, recording its exit code before the output ends.
fn run(state: &State, id: &str, container: &str, request: &ExecRequest, io: AttachStreams<'_>) {
    let code = state
        .engine
        .exec_container(container, request, io)
        .unwrap_or_else(|e| {
            tracing::debug!(error = %e.message, "exec failed");
            match e.kind {
                ErrorKind::CommandNotFound => 127,
                ErrorKind::CommandNotExecutable => 126,
                _ => 125,
            }
        });
    state.with_exec(id, |e| {
        e.running = false;
        e.exit_code = Some(code);
        e.resize = None;
    });
}

/// `POST /exec/{id}/start`.
fn start(state: &Arc<State>, req: &ApiRequest, id: &str) -> Reply {
    let body = match req.json_body() {
        Ok(v) => v,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let detach = body["Detach"].as_bool().unwrap_or(false);
    let (resize_tx, resize_rx) = mpsc::channel();
    let claimed = state.with_exec(id, |e| {
        if e.started {
            return Err(reply::error(
                StatusCode::CONFLICT,
                format!("exec session {id} has already been started"),
            ));
        }
        e.started = true;
        e.running = true;
        if let Some(tty) = body["Tty"].as_bool() {
            e.request.tty = e.request.tty || tty;
        }
        e.resize = e.request.tty.then_some(resize_tx);
        Ok((
            e.container.clone(),
            e.request.clone(),
            (e.stdin, e.stdout, e.stderr),
        ))
    });
    let (container, mut request, want) = match claimed {
        None => return no_such_exec(id),
        Some(Err(r)) => return r,
        Some(Ok(c)) => c,
    };
    if let Err(e) = state.engine.inspect_container(&container) {
        state.with_exec(id, |e| e.running = false);
        return container_error(&e, &container);
    }
    let tty = request.tty;
    let (shared, id) = (state.clone(), id.to_string());
    if detach {
        request.interactive = false;
        std::thread::spawn(move || {
            let io = sink_streams(None);
            run(&shared, &id, &container, &request, io);
        });
        return reply::empty(StatusCode::OK);
    }
    let Some(on_upgrade) = req.take_upgrade() else {
        // No upgrade: the output, framed, is the answer's body.
        request.interactive = false;
        let out = Arc::new(Mutex::new(Vec::new()));
        run(
            &shared,
            &id,
            &container,
            &request,
            sink_streams(Some((out.clone(), tty))),
        );
        let body = std::mem::take(&mut *out.lock().unwrap_or_else(|p| p.into_inner()));
        return reply::bytes(StatusCode::OK, hijack::content_type(tty), body);
    };
    hijack::spawn(on_upgrade, move |reader, writer| {
        let rx = tty.then_some(resize_rx);
        let io = hijack::streams(reader, &writer, want, tty, Vec::new(), rx);
        run(&shared, &id, &container, &request, io);
        writer.close();
    });
    reply::upgrade(hijack::content_type(tty))
}

/// Streams that drop the output, or collect it framed into a buffer.
fn sink_streams(collect: Option<(Arc<Mutex<Vec<u8>>>, bool)>) -> AttachStreams<'static> {
    struct Collect(Arc<Mutex<Vec<u8>>>, Option<u8>);
    impl std::io::Write for Collect {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
            match self.1 {
                Some(s) => out.extend_from_slice(&hijack::frame(s, buf)),
                None => out.extend_from_slice(buf),
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = |s: u8| -> Box<dyn std::io::Write + Send> {
        match &collect {
            Some((buf, tty)) => Box::new(Collect(buf.clone(), (!tty).then_some(s))),
            None => Box::new(std::io::sink()),
        }
    };
    AttachStreams {
        stdin: None,
        stdout: out(hijack::STDOUT),
        stderr: out(hijack::STDERR),
        detach_keys: Vec::new(),
        resize: None,
        started: None,
    }
}

/// `GET /exec/{id}/json`.
fn inspect(state: &State, id: &str) -> Reply {
    let doc = state.with_exec(id, |e| {
        let (entry, args) = e
            .request
            .command
            .split_first()
            .map(|(a, b)| (a.clone(), b.to_vec()))
            .unwrap_or_default();
        json!({
            "ID": id,
            "Running": e.running,
            "ExitCode": e.exit_code.unwrap_or(0),
            "ProcessConfig": {
                "tty": e.request.tty,
                "entrypoint": entry,
                "arguments": args,
                "privileged": e.request.privileged,
                "user": e.request.user.clone().unwrap_or_default(),
            },
            "OpenStdin": e.stdin,
            "OpenStdout": e.stdout,
            "OpenStderr": e.stderr,
            "CanRemove": !e.running,
            "ContainerID": e.container,
            "DetachKeys": "",
            "Pid": 0,
        })
    });
    match doc {
        Some(d) => reply::ok_json(&d),
        None => no_such_exec(id),
    }
}

/// `POST /exec/{id}/resize`.
fn resize(state: &State, req: &ApiRequest, id: &str) -> Reply {
    let (rows, cols) = match size(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = state.with_exec(id, |e| {
        if let Some(tx) = &e.resize {
            let _ = tx.send((rows, cols));
        }
    });
    match found {
        Some(()) => reply::empty(StatusCode::CREATED),
        None => no_such_exec(id),
    }
}

pub fn route(state: &Arc<State>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::POST, ["containers", name, "exec"]) => create(state, req, name),
        (&Method::POST, ["exec", id, "start"]) => start(state, req, id),
        (&Method::GET, ["exec", id, "json"]) => inspect(state, id),
        (&Method::POST, ["exec", id, "resize"]) => resize(state, req, id),
        _ => return None,
    })
}
