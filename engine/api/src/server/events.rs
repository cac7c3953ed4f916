//! `GET /events`: the event log as Docker streams it, one JSON object per event
//! (Docker's names: `die`, `destroy`, `delete`), following it until `until` or until
//! the client goes away, with Docker's filters.

use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::event::{Event, EventsRequest};
use berth_types::Engine;
use hyper::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// An action's name in Docker's words.
fn docker_action(e: &Event) -> &str {
    match (e.kind.as_str(), e.action.as_str()) {
        ("container", "died") => "die",
        ("container" | "volume" | "network" | "pod", "remove") => "destroy",
        ("image", "remove") => "delete",
        ("image", "loadfromarchive") => "load",
        (_, a) => a,
    }
}

/// A Docker filter as the engine's (`event=die` → `event=died`…).
fn engine_filter(f: String) -> String {
    match f.split_once('=') {
        Some(("event" | "status", v)) => {
            let ours = match v {
                "die" => "died",
                "destroy" | "delete" => "remove",
                "load" => "loadfromarchive",
                other => other,
            };
            format!("event={ours}")
        }
        _ => f,
    }
}

/// The event as Docker's JSON message.
pub fn message(e: &Event) -> serde_json::Value {
    let action = docker_action(e);
    let mut attributes: serde_json::Map<String, serde_json::Value> = e
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !e.name.is_empty() {
        attributes.insert("name".into(), json!(e.name));
    }
    if !e.image.is_empty() && e.kind == "container" {
        attributes.insert("image".into(), json!(e.image));
    }
    if let Some(code) = e.exit_code {
        attributes.insert("exitCode".into(), json!(code.to_string()));
    }
    let id = if e.id.is_empty() { &e.name } else { &e.id };
    let mut m = json!({
        "Type": e.kind,
        "Action": action,
        "Actor": {"ID": id, "Attributes": attributes},
        "scope": "local",
        "time": e.time / 1_000_000_000,
        "timeNano": e.time,
    });
    if e.kind == "container" {
        m["status"] = json!(action);
        m["id"] = json!(id);
        m["from"] = json!(e.image);
    }
    m
}

/// Docker's `since`/`until`: Unix seconds, maybe with a fraction.
fn nanos(v: Option<&str>) -> Result<Option<i64>, Reply> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .map(|secs| Some((secs * 1e9) as i64))
            .map_err(|_| {
                reply::error(
                    StatusCode::BAD_REQUEST,
                    format!("invalid time {s:?}: expected Unix seconds"),
                )
            }),
    }
}

fn events(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Reply {
    let filters = match req.filters() {
        Ok(f) => f.into_iter().map(engine_filter).collect::<Vec<_>>(),
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    if let Err(e) = berth_types::event::check_filters(&filters) {
        return reply::error(StatusCode::BAD_REQUEST, e);
    }
    let (since, until) = match (nanos(req.param("since")), nanos(req.param("until"))) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let request = EventsRequest {
        // Without a start, only what happens from now on.
        since: since.or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_nanos() as i64)
        }),
        until,
        follow: true,
        filters,
    };
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let engine = engine.clone();
    std::thread::spawn(move || {
        let _ = engine.events(&request, &mut |event| match event {
            None => !tx.is_closed(),
            Some(e) => {
                let mut line = message(e).to_string();
                line.push('\n');
                tx.send(bytes::Bytes::from(line)).is_ok()
            }
        });
    });
    reply
}

pub fn route(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, seg.as_slice()) {
        (&hyper::Method::GET, ["events"]) => Some(events(engine, req)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_dockers() {
        let e = Event {
            time: 1_700_000_000_500_000_000,
            kind: "container".into(),
            action: "died".into(),
            id: "abc".into(),
            name: "web".into(),
            image: "busybox".into(),
            exit_code: Some(3),
            ..Default::default()
        };
        let m = message(&e);
        assert_eq!(m["Action"], "die");
        assert_eq!(m["status"], "die");
        assert_eq!(m["time"], 1_700_000_000);
        assert_eq!(m["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(m["Actor"]["Attributes"]["name"], "web");
        assert_eq!(engine_filter("event=destroy".into()), "event=remove");
        assert_eq!(engine_filter("type=image".into()), "type=image");
    }
}
