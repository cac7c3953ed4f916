//! Events: what happened to which object, when (`berth events`, the API's
//! `/events`), and the filters that select them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One event, as recorded (Podman's names: `died`, `remove`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix nanoseconds.
    pub time: i64,
    /// `container`, `image`, `volume`, `network` or `pod`.
    #[serde(rename = "type")]
    pub kind: String,
    pub action: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Labels and other details (`signal`, `container`, `oldName`…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `events`: which to read, and whether to wait for more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsRequest {
    /// Unix nanoseconds bounds.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Wait for new events (until `until`, or until the reader stops).
    pub follow: bool,
    /// `key=value`: container, image, event (or status), type, label, volume,
    /// network, pod. Values of one key are alternatives; different keys must all match.
    pub filters: Vec<String>,
}

const FILTER_KEYS: &[&str] = &[
    "container",
    "image",
    "event",
    "status",
    "type",
    "label",
    "volume",
    "network",
    "pod",
];

/// Checks that every filter has a known key.
pub fn check_filters(filters: &[String]) -> Result<(), String> {
    for f in filters {
        let key = f.split_once('=').map(|(k, _)| k).unwrap_or(f);
        if !FILTER_KEYS.contains(&key) {
            return Err(format!(
                "invalid filter {f:?}: the keys are {}",
                FILTER_KEYS.join(", ")
            ));
        }
    }
    Ok(())
}

impl Event {
    fn matches_one(&self, key: &str, value: &str) -> bool {
        let named = |kind: &str| {
            self.kind == kind
                && (self.name == value || (!value.is_empty() && self.id.starts_with(value)))
        };
        match key {
            "container" => named("container"),
            "volume" => named("volume"),
            "network" => named("network"),
            "pod" => named("pod"),
            "image" => {
                self.image == value
                    || self.image.starts_with(&format!("{value}:"))
                    || self.image.ends_with(&format!("/{value}"))
                    || self.image.contains(&format!("/{value}:"))
                    || named("image")
            }
            "event" | "status" => self.action == value,
            "type" => self.kind == value,
            "label" => match value.split_once('=') {
                Some((k, v)) => self.attributes.get(k).is_some_and(|x| x == v),
                None => self.attributes.contains_key(value),
            },
            _ => false,
        }
    }

    /// Whether the event passes `filters` (see [`EventsRequest::filters`]).
    pub fn matches(&self, filters: &[String]) -> bool {
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in filters {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            let k = if k == "status" { "event" } else { k };
            by_key.entry(k).or_default().push(v);
        }
        by_key
            .iter()
            .all(|(k, values)| values.iter().any(|v| self.matches_one(k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_of_one_key_are_alternatives_and_keys_all_apply() {
        let e = Event {
            kind: "container".into(),
            action: "start".into(),
            id: "abcdef".into(),
            name: "web".into(),
            image: "localhost/busybox:latest".into(),
            attributes: [("tier".to_string(), "front".to_string())].into(),
            ..Default::default()
        };
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(e.matches(&[]));
        assert!(e.matches(&f(&["container=web", "event=start"])));
        assert!(e.matches(&f(&["container=abc"])));
        assert!(e.matches(&f(&["event=stop", "event=start"])));
        assert!(!e.matches(&f(&["container=web", "event=stop"])));
        assert!(e.matches(&f(&["image=busybox", "type=container", "label=tier=front"])));
        assert!(!e.matches(&f(&["label=tier=back"])));
        assert!(!e.matches(&f(&["volume=web"])));
        assert!(check_filters(&f(&["event=start", "label=a"])).is_ok());
        assert!(check_filters(&f(&["bogus=1"])).is_err());
    }
}
