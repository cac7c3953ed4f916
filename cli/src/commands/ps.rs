//! `berth ps`: containers with Podman's columns, status strings, filters and sorting.

use crate::container_cli::PsArgs;
use crate::exit;
use crate::human;
use crate::output::print_list;
use berth_types::container::{ContainerSummary, ListContainersRequest};
use berth_types::Engine;
use serde_json::{json, Value};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Created", "CREATED"),
    ("CreatedHuman", "CREATED"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Size", "SIZE"),
];

/// Podman's STATUS column: `Up 3 seconds ago`, `Exited (0) 2 minutes ago`, `Created`.
pub fn status(c: &ContainerSummary) -> String {
    match c.state.as_str() {
        "running" => match &c.health {
            Some(h) => format!("Up {} ({h})", human::since(c.started_at)),
            None => format!("Up {}", human::since(c.started_at)),
        },
        "paused" => "Paused".into(),
        "exited" => format!("Exited ({}) {}", c.exit_code, human::since(c.exited_at)),
        "stopping" => "Stopping".into(),
        "created" => "Created".into(),
        other => other.to_string(),
    }
}

fn command(c: &ContainerSummary, no_trunc: bool) -> String {
    let full = c.command.join(" ");
    if no_trunc || full.chars().count() <= 20 {
        full
    } else {
        full.chars().take(17).collect::<String>() + "..."
    }
}

fn item(c: &ContainerSummary, no_trunc: bool) -> Value {
    let id = if no_trunc {
        c.id.clone()
    } else {
        c.id[..c.id.len().min(12)].to_string()
    };
    json!({
        "ID": id,
        "Id": c.id,
        "Image": c.image,
        "ImageID": c.image_id,
        "Command": command(c, no_trunc),
        "Created": human::since(c.created),
        "CreatedHuman": human::since(c.created),
        "RunningFor": human::since(c.created),
        "CreatedAt": human::timestamp(c.created),
        "Status": status(c),
        "State": c.state,
        "Ports": ports(&c.ports),
        "Names": c.names.join(","),
        "Labels": c.labels,
        "Mounts": c.mounts.join(","),
        "Networks": c.networks.join(","),
        "Pid": c.pid,
        "ExitCode": c.exit_code,
        "Exited": c.exited,
        "ExitedAt": c.exited_at,
        "StartedAt": c.started_at,
        "AutoRemove": c.auto_remove,
        "Pod": "",
        "PodName": "",
        "Size": c.size.map(human::size).unwrap_or_default(),
    })
}

pub fn run(engine: &dyn Engine, a: PsArgs) -> anyhow::Result<i32> {
    let all = a.all || a.last.is_some() || a.latest;
    let mut list = engine
        .list_containers(&ListContainersRequest {
            all,
            filters: a.filter.clone(),
            size: a.size,
        })
        .map_err(exit::engine)?;
    // -l and -n pick the newest; the listing itself is oldest first, as Podman prints it.
    if a.latest || a.last.is_some() {
        // The engine lists oldest first (to the nanosecond): keep the newest N.
        let n = if a.latest {
            1
        } else {
            a.last.unwrap_or(usize::MAX)
        };
        let skip = list.len().saturating_sub(n);
        list.drain(..skip);
    }
    match a.sort.as_str() {
        "created" | "runningfor" => {} // already oldest first
        "id" => list.sort_by(|x, y| x.id.cmp(&y.id)),
        "image" => list.sort_by(|x, y| x.image.cmp(&y.image)),
        "names" => list.sort_by(|x, y| x.names.cmp(&y.names)),
        "command" => list.sort_by(|x, y| x.command.cmp(&y.command)),
        "status" => list.sort_by(|x, y| x.state.cmp(&y.state)),
        "size" => list.sort_by_key(|c| c.size.unwrap_or(0)),
        other => anyhow::bail!("invalid --sort {other:?}: use command, created, id, image, names, runningfor, size or status"),
    }
    if a.quiet {
        for c in &list {
            println!(
                "{}",
                if a.no_trunc {
                    &c.id[..]
                } else {
                    &c.id[..c.id.len().min(12)]
                }
            );
        }
        return Ok(0);
    }
    let default = if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    let items: Vec<Value> = list.iter().map(|c| item(c, a.no_trunc)).collect();
    let json = || -> anyhow::Result<Value> {
        Ok(Value::Array(
            list.iter()
                .map(|c| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("Status".into(), Value::from(status(c)));
                        if let Some(id) = o.remove("ImageId") {
                            o.insert("ImageID".into(), id);
                        }
                    }
                    v
                })
                .collect(),
        ))
    };
    print_list(
        a.format.as_deref(),
        default,
        HEADERS,
        &items,
        &json,
        a.noheading,
    )?;
    Ok(0)
}

/// Podman's PORTS column: `127.0.0.1:8080->80/tcp, 0.0.0.0:9000-9002->90-92/udp`.
fn ports(ports: &[berth_types::network::PortMapping]) -> String {
    ports
        .iter()
        .map(|p| {
            let ip = if p.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                &p.host_ip
            };
            let span = |start: u16| {
                if p.range > 1 {
                    format!("{start}-{}", start + p.range - 1)
                } else {
                    start.to_string()
                }
            };
            format!(
                "{ip}:{}->{}/{}",
                span(p.host_port),
                span(p.container_port),
                p.protocol
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
