//! Registry transfers, reported as Docker's stream of JSON messages or an `error`
//! message that ends the stream: `POST /images/create?fromImage=…&tag=…` (a pull:
//! `Pulling fs layer`, `Pull complete`, the digest and the status line) and
//! `POST /images/{name}/push?tag=…` (`Pushed` per layer, then the digest).

use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::image::{PullPolicy, PullRequest};
use berth_types::progress::{ProgressEvent, ProgressSink};
use berth_types::Engine;
use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// Sends each message as one JSON line; a client gone away just stops the messages.
pub struct Messages(pub UnboundedSender<Bytes>);

impl Messages {
    pub fn send(&self, v: serde_json::Value) {
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        let _ = self.0.send(Bytes::from(line));
    }
}

fn short(digest: &str) -> String {
    digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

impl ProgressSink for Messages {
    fn event(&self, event: ProgressEvent) {
        use berth_types::progress::BlobKind::Layer;
        match event {
            ProgressEvent::BlobStarted {
                kind: Layer,
                digest,
                ..
            } => self.send(
                json!({"status": "Pulling fs layer", "progressDetail": {}, "id": short(&digest)}),
            ),
            ProgressEvent::BlobSkipped {
                kind: Layer,
                digest,
            } => self.send(
                json!({"status": "Already exists", "progressDetail": {}, "id": short(&digest)}),
            ),
            ProgressEvent::BlobDone { digest } => self.send(
                json!({"status": "Pull complete", "progressDetail": {}, "id": short(&digest)}),
            ),
            _ => {}
        }
    }
}

pub fn create(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Reply {
    let Some(from) = req.param("fromImage").filter(|f| !f.is_empty()) else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "fromImage is required (importing with fromSrc is not supported)",
        );
    };
    let reference = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) if t.starts_with("sha256:") => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from.to_string(),
    };
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let engine = engine.clone();
    let registry = super::registry::options(req);
    let from = from.to_string();
    std::thread::spawn(move || {
        let messages = Messages(tx);
        let tag = reference
            .rsplit([':', '@'])
            .next()
            .unwrap_or("latest")
            .to_string();
        messages.send(json!({"status": format!("Pulling from {from}"), "id": tag}));
        let pulled = engine.pull_image(
            &PullRequest {
                reference: reference.clone(),
                platform: Default::default(),
                registry: registry.clone(),
                policy: PullPolicy::Always,
            },
            &messages,
        );
        match pulled {
            Ok(p) => {
                messages.send(json!({"status": format!("Digest: sha256:{}", p.id.trim_start_matches("sha256:"))}));
                messages.send(
                    json!({"status": format!("Status: Downloaded newer image for {reference}")}),
                );
            }
            Err(e) => {
                messages.send(json!({"errorDetail": {"message": e.message}, "error": e.message}))
            }
        }
    });
    reply
}

/// `POST /images/{name}/push?tag=`.
pub fn push(engine: &Arc<dyn Engine>, req: &ApiRequest, name: &str) -> Reply {
    let source = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    if !engine.image_exists(&source).unwrap_or(false) {
        return reply::error(StatusCode::NOT_FOUND, format!("No such image: {source}"));
    }
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let engine = engine.clone();
    let registry = super::registry::options(req);
    let repo = name.to_string();
    std::thread::spawn(move || {
        let messages = PushMessages(Messages(tx));
        messages
            .0
            .send(json!({"status": format!("The push refers to repository [{repo}]")}));
        let pushed = engine.push_image(
            &berth_types::image::PushRequest {
                source: source.clone(),
                destination: None,
                registry: registry.clone(),
                ..Default::default()
            },
            &messages,
        );
        match pushed {
            Ok(p) => {
                let tag = source.rsplit(':').next().unwrap_or("latest");
                messages.0.send(
                    json!({"status": format!("{tag}: digest: {} size: 0", p.manifest_digest)}),
                );
                messages.0.send(json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": p.manifest_digest, "Size": 0}}));
            }
            Err(e) => messages
                .0
                .send(json!({"errorDetail": {"message": e.message}, "error": e.message})),
        }
    });
    reply
}

/// A push's progress as Docker's messages.
struct PushMessages(Messages);

impl ProgressSink for PushMessages {
    fn event(&self, event: ProgressEvent) {
        use berth_types::progress::BlobKind::Layer;
        match event {
            ProgressEvent::BlobStarted {
                kind: Layer,
                digest,
                ..
            } => self.0.send(
                json!({"status": "Preparing", "progressDetail": {}, "id": short(&digest)}),
            ),
            ProgressEvent::BlobSkipped {
                kind: Layer,
                digest,
            } => self.0.send(
                json!({"status": "Layer already exists", "progressDetail": {}, "id": short(&digest)}),
            ),
            ProgressEvent::BlobDone { digest } => self.0.send(
                json!({"status": "Pushed", "progressDetail": {}, "id": short(&digest)}),
            ),
            _ => {}
        }
    }
}
