//! What the server keeps between requests: the engine, attach sessions waiting for
//! their container to start, exec sessions, and the resize channels of the attached
//! terminals. It lives in the server process only, as the sessions themselves do.

use berth_types::container::{AttachStreams, ExecRequest};
use berth_types::Engine;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The most exec sessions remembered; finished ones are forgotten first.
const MAX_EXECS: usize = 1024;

/// How long an attach made before its container's start waits for that start.
const PARKED_TTL: Duration = Duration::from_secs(3600);

/// An exec session (`POST /containers/{id}/exec`), until it is forgotten.
pub struct Exec {
    pub container: String,
    pub request: ExecRequest,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub running: bool,
    pub started: bool,
    pub exit_code: Option<i32>,
    pub resize: Option<Sender<(u16, u16)>>,
}

pub struct State {
    pub engine: Arc<dyn Engine>,
    /// Container ID → the streams of a client attached before the container started.
    /// Forgotten (and their connections closed) when their container is gone or after
    /// [`PARKED_TTL`] without a start.
    attaches: Mutex<HashMap<String, (Instant, Receiver<AttachStreams<'static>>)>>,
    execs: Mutex<HashMap<String, Exec>>,
    /// Container ID → the resize channel of its attached terminal.
    resizers: Mutex<HashMap<String, Sender<(u16, u16)>>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    pub fn new(engine: Arc<dyn Engine>) -> Arc<State> {
        Arc::new(State {
            engine,
            attaches: Mutex::default(),
            execs: Mutex::default(),
            resizers: Mutex::default(),
        })
    }

    pub fn park_attach(&self, id: &str, streams: Receiver<AttachStreams<'static>>) {
        let mut map = locked(&self.attaches);
        map.retain(|parked, (since, _)| {
            since.elapsed() < PARKED_TTL && self.engine.container_exists(parked).unwrap_or(true)
        });
        map.insert(id.to_string(), (Instant::now(), streams));
    }

    pub fn take_attach(&self, id: &str) -> Option<Receiver<AttachStreams<'static>>> {
        locked(&self.attaches).remove(id).map(|(_, rx)| rx)
    }

    pub fn set_resizer(&self, id: &str, tx: Option<Sender<(u16, u16)>>) {
        let mut map = locked(&self.resizers);
        match tx {
            Some(tx) => map.insert(id.to_string(), tx),
            None => map.remove(id),
        };
    }

    /// Passes a terminal size on to the container's attached session; whether one took it.
    pub fn resize(&self, id: &str, rows: u16, cols: u16) -> bool {
        locked(&self.resizers)
            .get(id)
            .is_some_and(|tx| tx.send((rows, cols)).is_ok())
    }

    pub fn add_exec(&self, id: String, exec: Exec) {
        let mut map = locked(&self.execs);
        if map.len() >= MAX_EXECS {
            map.retain(|_, e| e.running || !e.started);
        }
        map.insert(id, exec);
    }

    /// Runs `f` on the exec session `id`, if there is one.
    pub fn with_exec<T>(&self, id: &str, f: impl FnOnce(&mut Exec) -> T) -> Option<T> {
        locked(&self.execs).get_mut(id).map(f)
    }
}
