//! The event log: one JSON line per event, appended to `RUNROOT/events/events.log`
//! with `O_APPEND` (each line one `write`, so parallel writers never interleave),
//! moved aside to `events.log.old` past [`ROTATE_AT`]. Readers go through the old
//! log and the current one, and following, poll the current one for more (starting
//! over when it was moved aside under them).

use crate::engine::StoreContext;
use berth_types::event::{Event, EventsRequest};
use berth_types::{EngineError, ErrorKind, Result};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// The size past which the log is moved aside.
const ROTATE_AT: u64 = 4 * 1024 * 1024;
/// How often a follower looks for more.
const POLL: Duration = Duration::from_millis(100);

fn log_path(ctx: &StoreContext) -> PathBuf {
    ctx.paths.runroot.join("events").join("events.log")
}

fn now() -> i64 {
    crate::container::ops::now_nanos()
}

/// Appends `event` (its time set now); a failure is logged, never returned: an
/// operation that happened is not undone because its event could not be written.
pub fn emit(ctx: &StoreContext, mut event: Event) {
    event.time = now();
    let path = log_path(ctx);
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_AT) {
            let _ = std::fs::rename(&path, path.with_extension("log.old"));
        }
        let mut line = serde_json::to_vec(&event)?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(&line)
    };
    if let Err(e) = write() {
        tracing::warn!(error = %e, path = %path.display(), "writing an event");
    }
}

/// An event of `kind` for the object `id` (named `name`).
pub fn object(ctx: &StoreContext, kind: &str, action: &str, id: &str, name: &str) {
    emit(
        ctx,
        Event {
            kind: kind.into(),
            action: action.into(),
            id: id.into(),
            name: name.into(),
            ..Default::default()
        },
    );
}

/// A container event, its image and labels taken from its row.
pub fn container(
    ctx: &StoreContext,
    row: &crate::container::store::ContainerRow,
    action: &str,
    exit_code: Option<i32>,
) {
    emit(
        ctx,
        Event {
            kind: "container".into(),
            action: action.into(),
            id: row.id.clone(),
            name: row.name.clone(),
            image: row.image_name.clone(),
            exit_code,
            attributes: row.config.labels.clone().into_iter().collect(),
            ..Default::default()
        },
    );
}

/// A container event for the container `name` (looked up now); nothing if it is gone.
pub fn container_named(ctx: &StoreContext, name: &str, action: &str) {
    if let Ok(row) = crate::container::ops::lookup(ctx, name) {
        container(ctx, &row, action, None);
    }
}

/// An image event.
pub fn image(ctx: &StoreContext, action: &str, id: &str, name: &str) {
    emit(
        ctx,
        Event {
            kind: "image".into(),
            action: action.into(),
            id: id.into(),
            name: name.into(),
            image: name.into(),
            ..Default::default()
        },
    );
}

/// Reads the events `req` asks for into `sink` (see `Engine::events`).
pub fn read(
    ctx: &StoreContext,
    req: &EventsRequest,
    sink: &mut dyn FnMut(Option<&Event>) -> bool,
) -> Result<()> {
    berth_types::event::check_filters(&req.filters).map_err(EngineError::invalid)?;
    let path = log_path(ctx);
    if let Ok(f) = std::fs::File::open(path.with_extension("log.old")) {
        for line in BufReader::new(f).split(b'\n').map_while(|l| l.ok()) {
            if !deliver(req, sink, &line) {
                return Ok(());
            }
        }
    }
    let mut offset = 0u64;
    let mut inode = None;
    loop {
        if let Ok(mut f) = std::fs::File::open(&path) {
            use std::os::unix::fs::MetadataExt;
            let meta = f.metadata().map_err(storage)?;
            if inode.is_some_and(|i| i != meta.ino()) || meta.len() < offset {
                offset = 0; // moved aside: a new log
            }
            inode = Some(meta.ino());
            if meta.len() > offset {
                f.seek(SeekFrom::Start(offset)).map_err(storage)?;
                let mut reader = BufReader::new(f);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    let n = reader.read_until(b'\n', &mut buf).map_err(storage)?;
                    if n == 0 || !buf.ends_with(b"\n") {
                        break;
                    }
                    offset += n as u64;
                    if !deliver(req, sink, &buf[..n - 1]) {
                        return Ok(());
                    }
                }
            }
        }
        if !req.follow || req.until.is_some_and(|u| now() > u) || !sink(None) {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// Passes one logged line on; false once the reader is done (the sink said so, or
/// the events are past `until`).
fn deliver(req: &EventsRequest, sink: &mut dyn FnMut(Option<&Event>) -> bool, line: &[u8]) -> bool {
    let Ok(e) = serde_json::from_slice::<Event>(line) else {
        return true;
    };
    if req.since.is_some_and(|s| e.time < s) {
        return true;
    }
    if req.until.is_some_and(|u| e.time > u) {
        return false;
    }
    !e.matches(&req.filters) || sink(Some(&e))
}

fn storage(e: std::io::Error) -> EngineError {
    EngineError::new(ErrorKind::Storage, format!("reading the event log: {e}"))
}
