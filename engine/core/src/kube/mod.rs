//! Kubernetes YAML for `kube play`, `kube down` and `kube generate`: the objects
//! ([`model`]), their translation into engine requests ([`plan`]) and pods written
//! back out as YAML ([`generate`]), all pure; and [`play`], which applies them to the
//! store.

pub mod generate;
pub mod model;
pub mod plan;
pub mod play;
mod quantity;

/// What can be wrong with a Kubernetes YAML text, or with writing one.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("invalid YAML in document {document}{}: {reason}", at(.location))]
    Yaml {
        document: usize,
        /// Line and column, from 1.
        location: Option<(usize, usize)>,
        reason: String,
    },
    #[error("document {document} is not a Kubernetes object (a mapping with kind and metadata)")]
    NotAnObject { document: usize },
    #[error("document {document} has no kind")]
    MissingKind { document: usize },
    #[error(
        "unsupported kind \"{kind}\" in document {document}: supported kinds are Pod, \
         Deployment, PersistentVolumeClaim, ConfigMap, Secret, Service"
    )]
    UnsupportedKind { kind: String, document: usize },
    #[error("the {kind} in document {document} has no metadata.name")]
    MissingName { kind: &'static str, document: usize },
    #[error("the YAML holds no Kubernetes objects")]
    NoObjects,
    #[error("{kind} \"{name}\" is defined twice")]
    Duplicate { kind: &'static str, name: String },
    #[error("invalid {what} name \"{name}\": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName { what: &'static str, name: String },
    #[error("pod \"{pod}\" has no containers")]
    NoContainers { pod: String },
    /// A required field is missing; `place` names the pod, container or volume.
    #[error("{place} has no {field}")]
    MissingField { place: String, field: &'static str },
    #[error("invalid {field} \"{value}\" in {place}: expected {expected}")]
    InvalidValue {
        place: String,
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("host port {port}/{protocol} is published twice (again by pod \"{pod}\")")]
    HostPortConflict {
        port: u16,
        protocol: String,
        pod: String,
    },
    #[error("{place} uses {kind} \"{name}\", which is not in the YAML")]
    MissingSource {
        place: String,
        kind: &'static str,
        name: String,
    },
    #[error("{kind} \"{name}\" has no key \"{key}\" (used by {place})")]
    MissingKey {
        place: String,
        kind: &'static str,
        name: String,
        key: String,
    },
    #[error(
        "environment variable \"{var}\" of {place} takes its value from something other \
         than a configMapKeyRef or secretKeyRef, which is not supported"
    )]
    UnsupportedEnvSource { place: String, var: String },
    #[error("{kind} \"{name}\" key \"{key}\" is not valid base64")]
    InvalidBase64 {
        kind: &'static str,
        name: String,
        key: String,
    },
    #[error("{kind} \"{name}\" key \"{key}\" is not UTF-8 text")]
    NotText {
        kind: &'static str,
        name: String,
        key: String,
    },
    #[error("{place} mounts volume \"{volume}\", which the pod's spec.volumes does not declare")]
    UndeclaredVolume { place: String, volume: String },
    #[error("{place} mounts volume \"{volume}\" with a subPath, which is not supported")]
    SubPath { place: String, volume: String },
    #[error(
        "volume \"{volume}\" of pod \"{pod}\" has no supported source (hostPath, \
         persistentVolumeClaim, configMap, secret or emptyDir)"
    )]
    VolumeWithoutSource { pod: String, volume: String },
    #[error(
        "invalid file path \"{path}\" in volume \"{volume}\": it must be relative, without \
         empty or \"..\" parts"
    )]
    InvalidFilePath { path: String, volume: String },
    #[error(
        "volume \"{name}\" is wanted twice with different contents (a claim, ConfigMap, \
         Secret or emptyDir of the same name, or one mounted with different items or modes)"
    )]
    VolumeConflict { name: String },
    #[error("cannot encode Secret \"{name}\" as JSON")]
    SecretJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the Kubernetes YAML")]
    Write(#[source] serde_yaml::Error),
}

fn at(location: &Option<(usize, usize)>) -> String {
    match location {
        Some((line, column)) => format!(" at line {line}, column {column}"),
        None => String::new(),
    }
}

/// Podman's rule for pod and container names.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}
