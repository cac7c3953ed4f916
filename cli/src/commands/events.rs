//! `berth events`: what happened to containers, images, volumes, networks and pods,
//! as Podman prints it, following the log until interrupted (`--stream=false`, or an
//! `--until`, stops at the end), with `--filter`, `--since` and `--format`.

use super::logs::parse_time;
use crate::format::{render_items, OutputFormat};
use berth_types::event::{Event, EventsRequest};
use berth_types::Engine;
use clap::{ArgAction, Args};
use serde_json::{json, Value};
use std::io::Write;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output (container=, image=, event=, type=, label=, volume=, network=, pod=)
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format the output using JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Show events created since this time
    #[arg(long)]
    pub since: Option<String>,
    /// Show events created until this time
    #[arg(long)]
    pub until: Option<String>,
    /// Stream new events; with false, stop after the events logged so far
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub stream: bool,
    /// Do not truncate the output (the default)
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub no_trunc: bool,
}

/// Go's `time.Time` string, in local time: `2006-01-02 15:04:05.999999999 -0700 MST`.
pub fn go_time(nanos: i64) -> String {
    use chrono::TimeZone;
    let t = chrono::Local.timestamp_nanos(nanos);
    let frac = format!("{:09}", t.timestamp_subsec_nanos());
    let frac = frac.trim_end_matches('0');
    let offset = t.format("%z").to_string();
    let zone = if offset == "+0000" {
        "UTC".to_string()
    } else {
        t.format("%Z").to_string()
    };
    let dot = if frac.is_empty() { "" } else { "." };
    format!(
        "{}{dot}{frac} {offset} {zone}",
        t.format("%Y-%m-%d %H:%M:%S")
    )
}

/// Podman's line for an event.
fn human(e: &Event) -> String {
    let time = go_time(e.time);
    match e.kind.as_str() {
        "container" | "pod" => {
            let mut s = format!(
                "{time} {} {} {} (image={}, name={}",
                e.kind, e.action, e.id, e.image, e.name
            );
            if let Some(code) = e.exit_code {
                s.push_str(&format!(", containerExitCode={code}"));
            }
            for (k, v) in &e.attributes {
                s.push_str(&format!(", {k}={v}"));
            }
            s + ")"
        }
        "network" => format!(
            "{time} network {} {} (container={}, name={})",
            e.action,
            e.id,
            e.attributes.get("container").map_or("", String::as_str),
            e.name
        ),
        "image" => format!("{time} image {} {} {}", e.action, e.id, e.name),
        _ => format!("{time} {} {} {}", e.kind, e.action, e.name),
    }
}

/// What `--format` sees: Podman's event fields.
fn document(e: &Event) -> Value {
    json!({
        "ID": e.id,
        "Image": e.image,
        "Name": e.name,
        "Status": e.action,
        "Time": go_time(e.time),
        "Type": e.kind,
        "Attributes": e.attributes,
        "ContainerExitCode": e.exit_code.unwrap_or(0),
    })
}

pub fn run(engine: &dyn Engine, a: EventsArgs) -> anyhow::Result<i32> {
    let format = a
        .format
        .as_deref()
        .map(OutputFormat::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let req = EventsRequest {
        since: a.since.as_deref().map(parse_time).transpose()?,
        until: a.until.as_deref().map(parse_time).transpose()?,
        follow: a.stream,
        filters: a.filter,
    };
    let mut out = std::io::stdout().lock();
    let mut failure = None;
    engine.events(&req, &mut |event| {
        let Some(e) = event else {
            return true;
        };
        let line = match &format {
            None => human(e) + "\n",
            Some(OutputFormat::Json) => document(e).to_string() + "\n",
            Some(f) => match render_items(f, &[document(e)], &[], "") {
                Ok(s) => s,
                Err(err) => {
                    failure = Some(anyhow::anyhow!("{err}"));
                    return false;
                }
            },
        };
        out.write_all(line.as_bytes())
            .and_then(|_| out.flush())
            .is_ok()
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_print_as_gos() {
        // Trailing zeros of the fraction go, as Go drops them; seconds do not depend on the zone.
        let t = super::go_time(1_700_000_000_120_000_000);
        assert!(t.contains(":20.12 "), "{t}");
        let t = super::go_time(1_700_000_000_000_000_000);
        assert!(t.contains(":20 ") && !t.contains(":20."), "{t}");
    }
}
