//! The server side of Berth's remote protocol (`crate::frames`): `POST
//! /berth/v1/call/{method}`, upgraded, runs one `Engine` call with the arguments the
//! client sends, relays its progress, items, output and input as frames, and ends
//! with its result. Every `Engine` method is callable, so a remote CLI behaves as a
//! local one.

use super::hijack::{self, Reader, Writer};
use super::reply::{self, Reply};
use super::request::ApiRequest;
use crate::frames;
use berth_types::container::AttachStreams;
use berth_types::progress::{ProgressEvent, ProgressSink};
use berth_types::{Engine, EngineError, ErrorKind};
use hyper::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// How a remote client attaches: what it sends and wants.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AttachSpec {
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    pub resize: bool,
    /// The client's terminal size when it called (rows, columns).
    #[serde(default)]
    pub size: Option<(u16, u16)>,
}

fn bad_args(e: impl std::fmt::Display) -> EngineError {
    EngineError::invalid(format!("invalid arguments: {e}"))
}

fn arg<T: DeserializeOwned>(args: &Value, key: &str) -> Result<T, EngineError> {
    serde_json::from_value(args.get(key).cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_args(format!("{key}: {e}")))
}

fn to_value<T: serde::Serialize>(r: Result<T, EngineError>) -> Result<Value, EngineError> {
    r.and_then(|v| serde_json::to_value(v).map_err(bad_args))
}

/// The session's output side: frames written under one lock.
#[derive(Clone)]
struct Out(Arc<Mutex<hijack::StreamWriter>>);

impl Out {
    fn send(&self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        frames::write_frame(&mut *w, kind, payload)
    }

    /// A writer sending its bytes as frames of `kind`.
    fn writer(&self, kind: u8) -> OutWriter {
        OutWriter(self.clone(), kind)
    }
}

struct OutWriter(Out, u8);

impl Write for OutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(frames::MAX_FRAME);
        self.0.send(self.1, &buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ProgressSink for Out {
    fn event(&self, event: ProgressEvent) {
        if let Ok(json) = serde_json::to_vec(&event) {
            let _ = self.send(frames::PROGRESS, &json);
        }
    }
}

/// The client's input: its bytes (`IN` until `IN_END`) as a reader, its resizes on a
/// channel; read from the connection by a thread of its own.
struct Inputs {
    data: ChannelReader,
    resize: mpsc::Receiver<(u16, u16)>,
}

struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn inputs(mut reader: Reader) -> Inputs {
    let (tx, rx) = mpsc::channel();
    let (resize_tx, resize) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        while let Ok(Some((kind, payload))) = frames::read_frame(&mut reader) {
            match kind {
                frames::IN => {
                    if let Some(t) = &tx {
                        let _ = t.send(payload);
                    }
                }
                frames::IN_END => tx = None,
                frames::RESIZE if payload.len() == 4 => {
                    let rows = u16::from_be_bytes([payload[0], payload[1]]);
                    let cols = u16::from_be_bytes([payload[2], payload[3]]);
                    let _ = resize_tx.send((rows, cols));
                }
                _ => {}
            }
        }
    });
    Inputs {
        data: ChannelReader {
            rx,
            current: Vec::new(),
            at: 0,
        },
        resize,
    }
}

/// Streams for an attached call: stdin from the client, output to it.
fn attach_streams(spec: AttachSpec, input: Inputs, out: &Out) -> AttachStreams<'static> {
    let started = out.clone();
    // The size at call time first, then the client's changes.
    let resize = spec.resize.then(|| {
        let (tx, rx) = mpsc::channel();
        if let Some(size) = spec.size {
            let _ = tx.send(size);
        }
        let changes = input.resize;
        std::thread::spawn(move || {
            while let Ok(size) = changes.recv() {
                if tx.send(size).is_err() {
                    return;
                }
            }
        });
        rx
    });
    AttachStreams {
        stdin: spec
            .stdin
            .then(|| Box::new(input.data) as Box<dyn Read + Send>),
        stdout: Box::new(out.writer(frames::OUT)),
        stderr: Box::new(out.writer(frames::ERR)),
        detach_keys: spec.detach_keys,
        resize,
        started: Some(Box::new(move || {
            let _ = started.send(frames::STARTED, &[]);
        })),
    }
}

/// Runs `method`. `input` is taken by the calls that read from the client.
fn dispatch(
    e: &dyn Engine,
    method: &str,
    a: &Value,
    out: &Out,
    input: impl FnOnce() -> Inputs,
) -> Result<Value, EngineError> {
    let name = || arg::<String>(a, "name");
    match method {
        "version" => to_value(e.version()),
        "info" => to_value(e.info()),
        "disk_usage" => to_value(e.disk_usage()),
        "reset" => to_value(e.reset()),
        "pull_image" => to_value(e.pull_image(&arg(a, "req")?, out)),
        "push_image" => to_value(e.push_image(&arg(a, "req")?, out)),
        "search_images" => to_value(e.search_images(&arg(a, "req")?)),
        "list_images" => to_value(e.list_images(&arg(a, "req")?)),
        "inspect_image" => to_value(e.inspect_image(&name()?)),
        "image_exists" => to_value(e.image_exists(&name()?)),
        "image_history" => to_value(e.image_history(&name()?)),
        "tag_image" => to_value(e.tag_image(&name()?, &arg::<Vec<String>>(a, "new_names")?)),
        "untag_image" => to_value(e.untag_image(&name()?, &arg::<Vec<String>>(a, "names")?)),
        "remove_images" => to_value(e.remove_images(&arg(a, "req")?)),
        "prune_images" => to_value(e.prune_images(&arg(a, "req")?)),
        "save_images" => to_value(e.save_images(&arg(a, "req")?, &mut out.writer(frames::OUT))),
        "load_images" => to_value(e.load_images(&mut input().data)),
        "login" => to_value(e.login(&arg(a, "req")?)),
        "logout" => {
            let authfile: Option<std::path::PathBuf> = arg(a, "authfile")?;
            to_value(e.logout(
                arg::<Option<String>>(a, "registry")?.as_deref(),
                authfile.as_deref(),
            ))
        }
        "create_secret" => to_value(e.create_secret(&arg(a, "req")?)),
        "list_secrets" => to_value(e.list_secrets()),
        "inspect_secret" => to_value(e.inspect_secret(&name()?)),
        "secret_exists" => to_value(e.secret_exists(&name()?)),
        "remove_secrets" => {
            to_value(e.remove_secrets(&arg::<Vec<String>>(a, "names")?, arg(a, "all")?))
        }
        "create_volume" => to_value(e.create_volume(&arg(a, "req")?)),
        "list_volumes" => to_value(e.list_volumes(&arg::<Vec<String>>(a, "filters")?)),
        "inspect_volume" => to_value(e.inspect_volume(&name()?)),
        "volume_exists" => to_value(e.volume_exists(&name()?)),
        "remove_volumes" => to_value(e.remove_volumes(&arg(a, "req")?)),
        "prune_volumes" => to_value(e.prune_volumes(&arg::<Vec<String>>(a, "filters")?)),
        "create_container" => to_value(e.create_container(&arg(a, "req")?, out)),
        "start_container" => {
            let spec: Option<AttachSpec> = arg(a, "attach")?;
            let streams = spec.map(|s| attach_streams(s, input(), out));
            to_value(e.start_container(&name()?, streams))
        }
        "attach_container" => {
            let streams = attach_streams(arg(a, "attach")?, input(), out);
            to_value(e.attach_container(&name()?, streams))
        }
        "stop_container" => to_value(e.stop_container(&name()?, arg(a, "timeout")?)),
        "kill_container" => to_value(e.kill_container(&name()?, &arg::<String>(a, "signal")?)),
        "remove_containers" => to_value(e.remove_containers(&arg(a, "req")?)),
        "list_containers" => to_value(e.list_containers(&arg(a, "req")?)),
        "inspect_container" => to_value(e.inspect_container(&name()?)),
        "container_exists" => to_value(e.container_exists(&name()?)),
        "wait_container" => to_value(e.wait_container(&name()?, &arg::<String>(a, "condition")?)),
        "container_logs" => {
            let r = e.container_logs(&arg(a, "req")?, &mut |line| {
                serde_json::to_vec(line)
                    .map(|j| out.send(frames::ITEM, &j).is_ok())
                    .unwrap_or(true)
            });
            to_value(r)
        }
        "exec_container" => {
            let streams = attach_streams(arg(a, "attach")?, input(), out);
            to_value(e.exec_container(&name()?, &arg(a, "req")?, streams))
        }
        "restart_container" => to_value(e.restart_container(&name()?, arg(a, "timeout")?)),
        "pause_container" => to_value(e.pause_container(&name()?)),
        "unpause_container" => to_value(e.unpause_container(&name()?)),
        "rename_container" => {
            to_value(e.rename_container(&name()?, &arg::<String>(a, "new_name")?))
        }
        "update_container" => to_value(e.update_container(&name()?, &arg(a, "resources")?)),
        "prune_containers" => to_value(e.prune_containers()),
        "container_diff" => to_value(e.container_diff(&name()?)),
        "export_container" => to_value(e.export_container(&name()?, &mut out.writer(frames::OUT))),
        "commit_container" => to_value(e.commit_container(&arg(a, "req")?)),
        "import_image" => to_value(e.import_image(&arg(a, "req")?, &mut input().data)),
        "copy_from_container" => {
            let path: String = arg(a, "path")?;
            to_value(e.copy_from_container(&name()?, &path, &mut out.writer(frames::OUT)))
        }
        "copy_to_container" => {
            let path: String = arg(a, "path")?;
            to_value(e.copy_to_container(&name()?, &path, &mut input().data))
        }
        "container_path_kind" => {
            to_value(e.container_path_kind(&name()?, &arg::<String>(a, "path")?))
        }
        "container_path_stat" => {
            to_value(e.container_path_stat(&name()?, &arg::<String>(a, "path")?))
        }
        "top_container" => {
            to_value(e.top_container(&name()?, &arg::<Vec<String>>(a, "descriptors")?))
        }
        "container_stats" => to_value(e.container_stats(&arg::<Vec<String>>(a, "names")?)),
        "healthcheck_run" => to_value(e.healthcheck_run(&name()?)),
        "create_network" => to_value(e.create_network(&arg(a, "req")?)),
        "list_networks" => to_value(e.list_networks(&arg::<Vec<String>>(a, "filters")?)),
        "inspect_network" => to_value(e.inspect_network(&name()?)),
        "network_exists" => to_value(e.network_exists(&name()?)),
        "remove_network" => to_value(e.remove_network(&name()?, arg(a, "force")?)),
        "prune_networks" => to_value(e.prune_networks(&arg::<Vec<String>>(a, "filters")?)),
        "connect_network" => {
            to_value(e.connect_network(&arg::<String>(a, "container")?, &arg(a, "attachment")?))
        }
        "disconnect_network" => to_value(e.disconnect_network(
            &arg::<String>(a, "container")?,
            &arg::<String>(a, "network")?,
            arg(a, "force")?,
        )),
        "create_pod" => to_value(e.create_pod(&arg(a, "req")?, out)),
        "start_pod" => to_value(e.start_pod(&name()?)),
        "stop_pod" => to_value(e.stop_pod(&name()?, arg(a, "timeout")?)),
        "restart_pod" => to_value(e.restart_pod(&name()?)),
        "kill_pod" => to_value(e.kill_pod(&name()?, &arg::<String>(a, "signal")?)),
        "pause_pod" => to_value(e.pause_pod(&name()?, arg(a, "resume")?)),
        "remove_pods" => to_value(e.remove_pods(&arg(a, "req")?)),
        "list_pods" => to_value(e.list_pods(&arg::<Vec<String>>(a, "filters")?)),
        "inspect_pod" => to_value(e.inspect_pod(&name()?)),
        "pod_exists" => to_value(e.pod_exists(&name()?)),
        "prune_pods" => to_value(e.prune_pods()),
        "play_kube" => to_value(e.play_kube(&arg(a, "req")?, out)),
        "down_kube" => to_value(e.down_kube(&arg::<String>(a, "yaml")?)),
        "generate_kube" => {
            to_value(e.generate_kube(&arg::<Vec<String>>(a, "names")?, arg(a, "service")?))
        }
        "reload_networks" => {
            to_value(e.reload_networks(&arg::<Vec<String>>(a, "containers")?, arg(a, "all")?))
        }
        "events" => {
            let r = e.events(&arg(a, "req")?, &mut |event| match event {
                Some(ev) => serde_json::to_vec(ev)
                    .map(|j| out.send(frames::ITEM, &j).is_ok())
                    .unwrap_or(true),
                None => out.send(frames::TICK, &[]).is_ok(),
            });
            to_value(r)
        }
        other => Err(EngineError::new(
            ErrorKind::Unsupported,
            format!("unknown call {other:?}"),
        )),
    }
}

/// One call over the upgraded connection.
fn session(engine: Arc<dyn Engine>, method: String, mut reader: Reader, writer: Writer) {
    let out = Out(Arc::new(Mutex::new(writer.stream(None))));
    let result = match frames::read_frame(&mut reader) {
        Ok(Some((frames::ARGS, payload))) => serde_json::from_slice::<Value>(&payload)
            .map_err(bad_args)
            .and_then(|args| dispatch(engine.as_ref(), &method, &args, &out, || inputs(reader))),
        _ => Err(bad_args("the call's arguments did not come")),
    };
    let doc = match result {
        Ok(v) => serde_json::json!({ "Ok": v }),
        Err(e) => serde_json::json!({ "Err": e }),
    };
    let _ = out.send(frames::RESULT, doc.to_string().as_bytes());
    writer.close();
}

pub fn route(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let ["berth", "v1", "call", method] = seg.as_slice() else {
        return None;
    };
    if req.method != hyper::Method::POST {
        return Some(reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "calls are POSTed",
        ));
    }
    let Some(on_upgrade) = req.take_upgrade() else {
        return Some(reply::error(
            StatusCode::BAD_REQUEST,
            "a call needs the connection upgraded (Connection: Upgrade, Upgrade: berth)",
        ));
    };
    let (engine, method) = (engine.clone(), method.to_string());
    hijack::spawn(on_upgrade, move |reader, writer| {
        session(engine, method, reader, writer)
    });
    Some(reply::upgrade("application/vnd.berth.frames"))
}
