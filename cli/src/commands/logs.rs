//! `berth logs`: a container's output, with `--follow`, `--tail`, `--since`,
//! `--until` and `--timestamps`.

use crate::container_cli::LogsArgs;
use crate::exit;
use berth_types::container::{LogStream, LogsRequest};
use berth_types::Engine;
use std::io::Write;

/// Unix nanoseconds for Podman's time arguments: RFC 3339, Unix seconds, or a duration ago.
pub fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return t
            .timestamp_nanos_opt()
            .ok_or_else(|| anyhow::anyhow!("time {s:?} is out of range"));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1e9) as i64);
    }
    let d = parse_duration(s).ok_or_else(|| {
        anyhow::anyhow!("invalid time {s:?}: use RFC 3339, Unix seconds, or a duration like 10m")
    })?;
    Ok(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) - d)
}

/// Go duration strings (`1h30m`, `500ms`, `10s`) in nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mul = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mul;
        rest = &rest[u_end..];
    }
    Some(total as i64)
}

pub fn run(engine: &dyn Engine, a: LogsArgs) -> anyhow::Result<i32> {
    let since = a.since.as_deref().map(parse_time).transpose()?;
    let until = a.until.as_deref().map(parse_time).transpose()?;
    let tail = a.tail.filter(|t| *t >= 0).map(|t| t as usize);
    for name in &a.names {
        let req = LogsRequest {
            name: name.clone(),
            follow: a.follow,
            tail,
            since,
            until,
            timestamps: a.timestamps,
        };
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let mut at_line_start = true;
        engine
            .container_logs(&req, &mut |line| {
                let mut out: Box<dyn Write> = match line.stream {
                    LogStream::Stdout => Box::new(stdout.lock()),
                    LogStream::Stderr => Box::new(stderr.lock()),
                };
                if a.timestamps && at_line_start {
                    // Podman prints RFC 3339 with nanoseconds in UTC ("…Z").
                    let t = chrono::DateTime::parse_from_rfc3339(&line.time)
                        .map(|t| {
                            t.with_timezone(&chrono::Utc)
                                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                        })
                        .unwrap_or_else(|_| line.time.clone());
                    let _ = write!(out, "{t} ");
                }
                let _ = out.write_all(&line.text);
                if !line.partial {
                    let _ = out.write_all(b"\n");
                }
                at_line_start = !line.partial;
                out.flush().is_ok()
            })
            .map_err(exit::engine)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_durations_parse() {
        assert_eq!(super::parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(super::parse_duration("500ms"), Some(500_000_000));
        assert_eq!(super::parse_duration("3x"), None);
    }
}
