//! `attach` over a hijacked connection, `start` (which hands a waiting attach its
//! container's output from the first byte) and `resize`.
//!
//! Docker clients attach before they start: `docker run` creates, attaches, waits,
//! then starts. An attach to a container not running yet is parked here until its
//! `start` comes, which then starts the container attached, as `start -a` does, so
//! no output is lost however quickly the container exits.

use super::hijack;
use super::reply::{self, Reply};
use super::request::ApiRequest;
use super::state::State;
use berth_types::container::{AttachStreams, LogStream, LogsRequest};
use berth_types::{EngineError, ErrorKind};
use hyper::StatusCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How long a start waits for a parked attach's connection to finish upgrading.
const UPGRADE_WAIT: Duration = Duration::from_secs(5);

pub fn no_such_container(name: &str) -> Reply {
    reply::error(StatusCode::NOT_FOUND, format!("No such container: {name}"))
}

pub fn container_error(e: &EngineError, name: &str) -> Reply {
    if e.kind == ErrorKind::NotFound {
        return no_such_container(name);
    }
    reply::engine_error(e)
}

/// What a session needs to know of its container.
pub struct Target {
    pub id: String,
    pub status: String,
    pub tty: bool,
}

pub fn target(state: &State, name: &str) -> Result<Target, Reply> {
    let doc = state
        .engine
        .inspect_container(name)
        .map_err(|e| container_error(&e, name))?;
    Ok(Target {
        id: doc["Id"].as_str().unwrap_or(name).to_string(),
        status: doc["State"]["Status"].as_str().unwrap_or("").to_string(),
        tty: doc["Config"]["Tty"].as_bool().unwrap_or(false),
    })
}

fn detach_keys(req: &ApiRequest) -> Result<Vec<u8>, Reply> {
    berth_types::container::parse_detach_keys(req.param("detachKeys").unwrap_or("ctrl-p,ctrl-q"))
        .map_err(|e| reply::error(StatusCode::BAD_REQUEST, e))
}

/// Writes the container's log so far to the session (`logs=1`).
fn replay_logs(state: &State, id: &str, out: &hijack::Writer, tty: bool, want: (bool, bool)) {
    let request = LogsRequest {
        name: id.to_string(),
        ..Default::default()
    };
    let _ = state.engine.container_logs(&request, &mut |line| {
        let (on, stream) = match line.stream {
            LogStream::Stdout => (want.0, hijack::STDOUT),
            LogStream::Stderr => (want.1, hijack::STDERR),
        };
        if !on {
            return true;
        }
        let mut payload = line.text.clone();
        if !line.partial {
            payload.push(b'\n');
        }
        use std::io::Write;
        out.stream((!tty).then_some(stream))
            .write_all(&payload)
            .is_ok()
    });
}

/// `POST /containers/{id}/attach`.
fn attach(state: &Arc<State>, req: &ApiRequest, name: &str) -> Reply {
    let t = match target(state, name) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let keys = match detach_keys(req) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(on_upgrade) = req.take_upgrade() else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "attach needs the connection upgraded (Connection: Upgrade, Upgrade: tcp)",
        );
    };
    let want = (req.flag("stdin"), req.flag("stdout"), req.flag("stderr"));
    let (logs, stream) = (req.flag("logs"), req.flag("stream"));
    let running = matches!(t.status.as_str(), "running" | "paused");
    // Parked before answering, so a start that follows at once finds it.
    let parked = if stream && !running {
        let (tx, rx) = mpsc::sync_channel(1);
        state.park_attach(&t.id, rx);
        Some(tx)
    } else {
        None
    };
    let shared = state.clone();
    hijack::spawn(on_upgrade, move |reader, writer| {
        if logs {
            replay_logs(&shared, &t.id, &writer, t.tty, (want.1, want.2));
        }
        if !stream {
            writer.close();
            return;
        }
        let resize = t.tty.then(|| {
            let (tx, rx) = mpsc::channel();
            shared.set_resizer(&t.id, Some(tx));
            rx
        });
        let streams = hijack::streams(reader, &writer, want, t.tty, keys, resize);
        match parked {
            // The start relays the session and closes it.
            Some(tx) => {
                if tx.send(streams).is_err() {
                    writer.close();
                }
            }
            None => {
                let _ = shared.engine.attach_container(&t.id, streams);
                shared.set_resizer(&t.id, None);
                writer.close();
            }
        }
    });
    reply::upgrade(hijack::content_type(t.tty))
}

/// `POST /containers/{id}/start`; a parked attach gets the run's output.
fn start(state: &Arc<State>, name: &str) -> Reply {
    let t = match target(state, name) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if t.status == "running" {
        return reply::empty(StatusCode::NOT_MODIFIED);
    }
    let streams = state
        .take_attach(&t.id)
        .and_then(|rx| rx.recv_timeout(UPGRADE_WAIT).ok());
    let Some(streams) = streams else {
        return match state.engine.start_container(&t.id, None) {
            Ok(_) => reply::empty(StatusCode::NO_CONTENT),
            Err(e) => container_error(&e, name),
        };
    };
    start_attached(state, &t.id, name, streams)
}

/// Starts with `streams` attached on a thread of its own; answers once the container
/// runs, or with the error that stopped it.
fn start_attached(
    state: &Arc<State>,
    id: &str,
    name: &str,
    mut streams: AttachStreams<'static>,
) -> Reply {
    let (tx, rx) = mpsc::channel::<Result<(), EngineError>>();
    let ok = tx.clone();
    streams.started = Some(Box::new(move || {
        let _ = ok.send(Ok(()));
    }));
    let (shared, id) = (state.clone(), id.to_string());
    std::thread::spawn(move || {
        let result = shared.engine.start_container(&id, Some(streams));
        shared.set_resizer(&id, None);
        if let Err(e) = result {
            let _ = tx.send(Err(e));
        }
    });
    match rx.recv() {
        Ok(Err(e)) => container_error(&e, name),
        Ok(Ok(())) | Err(_) => reply::empty(StatusCode::NO_CONTENT),
    }
}

/// `POST /containers/{id}/resize?h=&w=`.
fn resize(state: &State, req: &ApiRequest, name: &str) -> Reply {
    let t = match target(state, name) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match size(req) {
        Ok((rows, cols)) => {
            state.resize(&t.id, rows, cols);
            reply::empty(StatusCode::OK)
        }
        Err(r) => r,
    }
}

/// The `h` and `w` of a resize request.
pub fn size(req: &ApiRequest) -> Result<(u16, u16), Reply> {
    let dim = |k: &str| {
        req.param(k)
            .and_then(|v| v.parse::<u16>().ok())
            .ok_or_else(|| {
                reply::error(
                    StatusCode::BAD_REQUEST,
                    format!("resize needs {k}, a number from 0 to 65535"),
                )
            })
    };
    Ok((dim("h")?, dim("w")?))
}

pub fn route(state: &Arc<State>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::POST, ["containers", name, "attach"]) => attach(state, req, name),
        (&Method::POST, ["containers", name, "start"]) => start(state, name),
        (&Method::POST, ["containers", name, "resize"]) => resize(state, req, name),
        _ => return None,
    })
}
