//! `top`: the container's processes (as the runtime lists them) described with
//! ps-style descriptors read from /proc: user, pid, ppid, %cpu, elapsed, tty, time, comm, args.

use super::ops::lookup;
use super::store::State;
use crate::engine::LocalEngine;
use berth_types::{EngineError, ErrorKind, Result};

/// The descriptors Podman shows when none are asked for.
pub const DEFAULT: &[&str] = &[
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

fn header(d: &str) -> Option<&'static str> {
    Some(match d {
        "user" | "uname" => "USER",
        "pid" => "PID",
        "ppid" => "PPID",
        "pcpu" | "%cpu" => "%CPU",
        "etime" => "ELAPSED",
        "tty" => "TTY",
        "time" => "TIME",
        "args" => "COMMAND",
        "comm" => "COMMAND",
        "uid" => "UID",
        "gid" => "GID",
        "group" => "GROUP",
        "nice" => "NI",
        "rss" => "RSS",
        "vsz" => "VSZ",
        "state" => "STATE",
        _ => return None,
    })
}

fn clock_ticks() -> f64 {
    100.0
}

fn hms(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn etime(secs: u64) -> String {
    let d = secs / 86400;
    let h = (secs / 3600) % 24;
    let m = (secs / 60) % 60;
    let s = secs % 60;
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

fn describe(pid: i64, d: &str, uptime: f64) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let comm = stat
        .find('(')
        .zip(stat.rfind(')'))
        .map(|(a, b)| stat[a + 1..b].to_string())
        .unwrap_or_default();
    let rest: Vec<&str> = stat
        .rfind(')')
        .map(|i| stat[i + 2..].split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        rest.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let id_of = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    let cpu_secs = (field(11) + field(12)) / clock_ticks();
    let elapsed = (uptime - field(19) / clock_ticks()).max(0.0);
    match d {
        "user" | "uname" | "uid" => id_of("Uid:"),
        "group" | "gid" => id_of("Gid:"),
        "pid" => pid.to_string(),
        "ppid" => (field(1) as i64).to_string(),
        "pcpu" | "%cpu" => format!(
            "{:.3}",
            if elapsed > 0.0 {
                100.0 * cpu_secs / elapsed
            } else {
                0.0
            }
        ),
        "etime" => etime(elapsed as u64),
        "tty" => {
            if field(4) as i64 == 0 {
                "?".into()
            } else {
                format!("pts/{}", (field(4) as i64) & 0xff)
            }
        }
        "time" => hms(cpu_secs as u64),
        "comm" => comm,
        "args" => {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.is_empty() {
                format!("[{comm}]")
            } else {
                args.join(" ")
            }
        }
        "nice" => (field(16) as i64).to_string(),
        "rss" => ((field(21) as u64) * 4).to_string(),
        "vsz" => ((field(20) as u64) / 1024).to_string(),
        "state" => rest.first().map(|s| s.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The header and one row per process.
pub fn top(engine: &LocalEngine, name: &str, descriptors: &[String]) -> Result<Vec<Vec<String>>> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    if row.state != State::Running {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!(
                "top can only be used on running containers: container {} is {}",
                row.id,
                row.state.as_str()
            ),
        ));
    }
    let descriptors: Vec<String> = if descriptors.is_empty() {
        DEFAULT.iter().map(|s| s.to_string()).collect()
    } else {
        descriptors.to_vec()
    };
    let mut table = vec![Vec::new()];
    for d in &descriptors {
        let h =
            header(d).ok_or_else(|| EngineError::invalid(format!("unknown descriptor: {d}")))?;
        table[0].push(h.to_string());
    }
    let runtime = super::runtime::Runtime::of_container(&ctx.paths, &row)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
    let out = runtime
        .command()
        .args(["ps", "--format", "json", &row.id])
        .output()
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("listing processes: {e}")))?;
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0);
    for pid in pids {
        table.push(
            descriptors
                .iter()
                .map(|d| describe(pid, d, uptime))
                .collect(),
        );
    }
    Ok(table)
}
