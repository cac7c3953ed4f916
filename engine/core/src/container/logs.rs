//! `logs`: reads the container's k8s-file log with tail, since/until and follow.

use super::logfile::{line_nanos, parse_line, read_all};
use super::ops::lookup;
use super::paths::ContainerPaths;
use super::store::State;
use crate::engine::StoreContext;
use berth_types::container::{LogLine, LogsRequest};
use berth_types::{EngineError, ErrorKind, Result};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::time::Duration;

fn in_window(l: &LogLine, req: &LogsRequest) -> bool {
    let t = line_nanos(l);
    req.since.is_none_or(|s| t >= s) && req.until.is_none_or(|u| t <= u)
}

pub fn logs(
    ctx: &StoreContext,
    req: &LogsRequest,
    sink: &mut dyn FnMut(&LogLine) -> bool,
) -> Result<()> {
    logs_while(ctx, req, sink, &|| true)
}

/// `logs`; a follower also stops once `wanted` says its reader has gone (asked at
/// each poll, so a quiet container's follower ends too).
pub fn logs_while(
    ctx: &StoreContext,
    req: &LogsRequest,
    sink: &mut dyn FnMut(&LogLine) -> bool,
    wanted: &(dyn Fn() -> bool + Sync),
) -> Result<()> {
    let row = lookup(ctx, &req.name)?;
    if row.config.log_driver == "none" {
        return Err(EngineError::new(
            ErrorKind::Unsupported,
            format!(
                "container {} has the \"none\" log driver: no logs are kept",
                row.id
            ),
        ));
    }
    let path = ContainerPaths::new(&ctx.paths, &row.id).log();
    let fail = |e: std::io::Error| {
        EngineError::new(
            ErrorKind::Storage,
            format!("reading {}: {e}", path.display()),
        )
    };
    let mut lines: Vec<LogLine> = read_all(&path)
        .map_err(fail)?
        .into_iter()
        .filter(|l| in_window(l, req))
        .collect();
    if let Some(n) = req.tail {
        // Count whole lines: a run of partial pieces plus its end is one.
        let mut complete = 0;
        let mut start = lines.len();
        while start > 0 {
            if !lines[start - 1].partial {
                if complete == n {
                    break;
                }
                complete += 1;
            }
            start -= 1;
        }
        lines.drain(..start);
    }
    for l in &lines {
        if !sink(l) {
            return Ok(());
        }
    }
    if !req.follow {
        return Ok(());
    }
    let mut offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    loop {
        let running = lookup(ctx, &row.id)
            .map(|r| matches!(r.state, State::Running | State::Paused | State::Stopping))
            .unwrap_or(false);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            offset = 0; // rotated
        }
        if len > offset {
            let mut f = std::fs::File::open(&path).map_err(fail)?;
            f.seek(SeekFrom::Start(offset)).map_err(fail)?;
            let mut reader = BufReader::new(f);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let n = reader.read_until(b'\n', &mut buf).map_err(fail)?;
                if n == 0 || !buf.ends_with(b"\n") {
                    break;
                }
                offset += n as u64;
                if let Some(l) = parse_line(&buf) {
                    if req.until.is_some_and(|u| line_nanos(&l) > u) {
                        return Ok(());
                    }
                    if !sink(&l) {
                        return Ok(());
                    }
                }
            }
        } else if !running {
            return Ok(());
        }
        if !wanted() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
