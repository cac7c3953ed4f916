//! `RemoteEngine`: the `Engine` of a Berth service elsewhere (`--url`, `--connection`,
//! `CONTAINER_HOST`), every call made over Berth's remote protocol
//! (`crate::frames`), its progress, output, log lines, events and attached sessions
//! relayed as they come, its errors those of the remote engine, kind and message.

pub mod conn;
mod engine;
pub mod ssh;

use berth_types::progress::{ProgressEvent, ProgressSink};
use berth_types::{EngineError, ErrorKind, Result};
use conn::unreachable;
pub use conn::Destination;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use crate::frames;

pub struct RemoteEngine {
    dest: Destination,
    /// The SSH session, made on the first call (an `ssh://` destination).
    ssh: std::sync::OnceLock<std::result::Result<ssh::SshSession, String>>,
}

impl RemoteEngine {
    pub fn new(dest: Destination) -> RemoteEngine {
        RemoteEngine {
            dest,
            ssh: std::sync::OnceLock::new(),
        }
    }

    /// A fresh connection to the service, upgraded for `method`.
    fn open(&self, method: &str) -> Result<UnixStream> {
        let stream = match &self.dest {
            Destination::Unix(path) => {
                UnixStream::connect(path).map_err(|e| unreachable(&self.dest, e))?
            }
            Destination::Ssh(t) => {
                let session = self
                    .ssh
                    .get_or_init(|| ssh::SshSession::connect(t).map_err(|e| e.to_string()));
                let session = session.as_ref().map_err(|e| unreachable(&self.dest, e))?;
                session.open().map_err(|e| unreachable(&self.dest, e))?
            }
        };
        conn::upgrade(&self.dest, stream, method)
    }

    pub fn destination(&self) -> &Destination {
        &self.dest
    }
}

/// Takes a log line or event (JSON), or `None` for an idle tick; false ends the call.
pub(crate) type ItemSink<'a> = dyn FnMut(Option<&[u8]>) -> bool + 'a;

/// What a call does besides returning: where its progress, items and output go,
/// and what it reads.
#[derive(Default)]
pub(crate) struct Hooks<'a> {
    pub progress: Option<&'a dyn ProgressSink>,
    /// A log line or event (JSON), or `None` for an idle tick; false ends the call.
    pub items: Option<&'a mut ItemSink<'a>>,
    pub out: Option<Box<dyn Write + 'a>>,
    pub err: Option<Box<dyn Write + 'a>>,
    /// Input sent while the call runs (an archive), then its end.
    pub input: Option<&'a mut dyn Read>,
    /// An attached session's stdin (read on a thread of its own) and resizes.
    pub stdin: Option<Box<dyn Read + Send + 'static>>,
    pub resize: Option<std::sync::mpsc::Receiver<(u16, u16)>>,
    pub started: Option<Box<dyn FnOnce() + Send + 'a>>,
}

/// Sends frames from several threads.
#[derive(Clone)]
struct Sender(Arc<Mutex<UnixStream>>);

impl Sender {
    /// Writes one frame; a closed connection is an error, never a SIGPIPE.
    fn send(&self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        let s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut frame = Vec::with_capacity(payload.len() + 5);
        frames::write_frame(&mut frame, kind, payload)?;
        let mut at = 0;
        while at < frame.len() {
            match rustix::net::send(&*s, &frame[at..], rustix::net::SendFlags::NOSIGNAL) {
                Ok(n) => at += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    let doc: Value = serde_json::from_slice(payload).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("the service's answer is not JSON: {e}"),
        )
    })?;
    if let Some(err) = doc.get("Err") {
        return Err(serde_json::from_value(err.clone()).unwrap_or_else(|_| {
            EngineError::new(ErrorKind::Storage, format!("the service failed: {err}"))
        }));
    }
    serde_json::from_value(doc.get("Ok").cloned().unwrap_or(Value::Null)).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("the service's answer has an unexpected shape: {e}"),
        )
    })
}

impl RemoteEngine {
    /// A call without streams.
    pub(crate) fn call<T: DeserializeOwned>(&self, method: &str, args: Value) -> Result<T> {
        self.call_with(method, args, Hooks::default())
    }

    /// A call, relaying what `hooks` asks for. An items sink that says stop ends the
    /// call (as the local engine returns when its sink does).
    pub(crate) fn call_with<T: DeserializeOwned>(
        &self,
        method: &str,
        args: Value,
        mut hooks: Hooks<'_>,
    ) -> Result<T> {
        let stream = self.open(method)?;
        let fail = |e: std::io::Error| unreachable(&self.dest, e);
        let sender = Sender(Arc::new(Mutex::new(stream.try_clone().map_err(fail)?)));
        sender
            .send(frames::ARGS, args.to_string().as_bytes())
            .map_err(fail)?;
        if let Some(stdin) = hooks.stdin.take() {
            let sender = sender.clone();
            std::thread::spawn(move || pump(stdin, &sender));
        }
        if let Some(rx) = hooks.resize.take() {
            let sender = sender.clone();
            std::thread::spawn(move || {
                while let Ok((rows, cols)) = rx.recv() {
                    let mut p = rows.to_be_bytes().to_vec();
                    p.extend_from_slice(&cols.to_be_bytes());
                    if sender.send(frames::RESIZE, &p).is_err() {
                        return;
                    }
                }
            });
        }
        // Input first, all of it: the calls that take input answer only at its end
        // (the service drains what it does not use, so this never blocks for good).
        if let Some(input) = hooks.input.take() {
            pump(input, &sender);
        }
        {
            let mut reader = std::io::BufReader::new(&stream);
            let result = loop {
                let frame = frames::read_frame(&mut reader).map_err(fail)?;
                let Some((kind, payload)) = frame else {
                    break Err(unreachable(
                        &self.dest,
                        "the service closed the call before answering",
                    ));
                };
                match kind {
                    frames::RESULT => break decode(&payload),
                    frames::PROGRESS => {
                        if let (Some(p), Ok(ev)) = (
                            hooks.progress,
                            serde_json::from_slice::<ProgressEvent>(&payload),
                        ) {
                            p.event(ev);
                        }
                    }
                    frames::ITEM | frames::TICK => {
                        let item = (kind == frames::ITEM).then_some(payload.as_slice());
                        if let Some(sink) = hooks.items.as_mut() {
                            if !sink(item) {
                                break decode(br#"{"Ok":null}"#);
                            }
                        }
                    }
                    frames::OUT => {
                        if let Some(w) = hooks.out.as_mut() {
                            w.write_all(&payload).and_then(|_| w.flush()).map_err(|e| {
                                EngineError::new(
                                    ErrorKind::Storage,
                                    format!("writing the output: {e}"),
                                )
                            })?;
                        }
                    }
                    frames::ERR => {
                        if let Some(w) = hooks.err.as_mut() {
                            let _ = w.write_all(&payload).and_then(|_| w.flush());
                        }
                    }
                    frames::STARTED => {
                        if let Some(f) = hooks.started.take() {
                            f();
                        }
                    }
                    _ => {}
                }
            };
            // Whatever still reads or writes on the connection ends with it.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            result
        }
    }
}

/// Sends everything `input` yields as `IN` frames, then `IN_END`.
fn pump(mut input: impl Read, sender: &Sender) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match input.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = sender.send(frames::IN_END, &[]);
                return;
            }
            Ok(n) => {
                if sender.send(frames::IN, &buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
