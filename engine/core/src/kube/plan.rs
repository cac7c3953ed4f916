//! Kubernetes YAML → what `kube play` must create, as Podman's `kube play` reads it:
//! volumes (with the files of ConfigMap and Secret volumes), secrets, and pods with
//! their init and regular containers. Nothing is touched; applying the plan is the
//! engine's.

mod container;
mod parse;
mod sources;
mod volume;

pub use parse::parse;

use crate::kube::model::{Document, ObjectMeta, PodSpec};
use crate::kube::{valid_name, KubeError};
use berth_types::container::ContainerCreateRequest;
use berth_types::network::{NetworkAttachment, PortMapping};
use berth_types::pod::PodCreateRequest;
use berth_types::secret::SecretCreateRequest;
use container::{container_place, create_request, restart_policy, PodContext};
use sources::Sources;
use std::collections::BTreeMap;
use volume::VolumePlanner;

/// `kube play`'s flags that change the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--network`: the bridge networks every pod joins (none: the default one).
    pub networks: Vec<String>,
}

/// Everything one YAML text asks for, in the order to create it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub volumes: Vec<PlannedVolume>,
    pub secrets: Vec<SecretCreateRequest>,
    pub pods: Vec<PlannedPod>,
}

/// Why a volume is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeOrigin {
    /// A PersistentVolumeClaim document.
    Claim,
    /// A `configMap` volume: the map's keys as files.
    ConfigMap,
    /// A `secret` volume: the secret's keys as files.
    Secret,
    /// An `emptyDir` volume (one per pod).
    EmptyDir,
}

/// A named volume to create (or find) before the pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVolume {
    pub name: String,
    pub origin: VolumeOrigin,
    pub labels: BTreeMap<String, String>,
    /// Files to write into it (ConfigMap and Secret volumes).
    pub files: Vec<PlannedFile>,
}

/// A file of a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Relative to the volume's root; never absolute, never with empty or `..` parts.
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

/// A pod and its containers, in the order they are created.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPod {
    pub request: PodCreateRequest,
    /// Run to completion, in order, before `containers` start.
    pub init_containers: Vec<ContainerCreateRequest>,
    pub containers: Vec<ContainerCreateRequest>,
}

/// The most pods one Deployment may ask for: each is an infra container and more.
const MAX_REPLICAS: u32 = 1000;

/// Reads `text` (one or more YAML documents) and plans what `kube play` creates.
pub fn plan(text: &str, opts: &PlanOptions) -> Result<Plan, KubeError> {
    let docs = parse(text)?;
    let mut sources = Sources::default();
    let mut volumes = VolumePlanner::default();
    let mut plan = Plan::default();
    for doc in &docs {
        match doc {
            Document::ConfigMap(map) => sources.add_config_map(map)?,
            Document::Secret(secret) => plan.secrets.push(sources.add_secret(secret)?),
            Document::PersistentVolumeClaim(claim) => volumes.add(PlannedVolume {
                name: claim.metadata.name.clone(),
                origin: VolumeOrigin::Claim,
                labels: claim.metadata.labels.clone(),
                files: Vec::new(),
            })?,
            Document::Pod(_) | Document::Deployment(_) | Document::Service(_) => {}
        }
    }
    // Host ports taken so far, and by which pod.
    let mut ports: BTreeMap<(u16, String), String> = BTreeMap::new();
    for doc in &docs {
        if let Document::Deployment(d) = doc {
            let replicas = d.spec.replicas.unwrap_or(1);
            if replicas > MAX_REPLICAS {
                return Err(KubeError::InvalidValue {
                    place: format!("Deployment \"{}\"", d.metadata.name),
                    field: "spec.replicas",
                    value: replicas.to_string(),
                    expected: "at most 1000 replicas",
                });
            }
        }
    }
    for (name, meta, spec) in docs.iter().flat_map(pods_of) {
        if plan
            .pods
            .iter()
            .any(|p| p.request.name.as_deref() == Some(&name))
        {
            return Err(KubeError::Duplicate { kind: "pod", name });
        }
        let pod = planned_pod(&name, meta, spec, &sources, &mut volumes, opts)?;
        for port in &pod.request.ports {
            let key = (port.host_port, port.protocol.clone());
            if ports.insert(key, name.clone()).is_some() {
                return Err(KubeError::HostPortConflict {
                    port: port.host_port,
                    protocol: port.protocol.clone(),
                    pod: name,
                });
            }
        }
        plan.pods.push(pod);
    }
    plan.volumes = volumes.volumes;
    Ok(plan)
}

/// The pods a document describes: a Pod's one, a Deployment's replicas.
fn pods_of(doc: &Document) -> Vec<(String, &ObjectMeta, &PodSpec)> {
    match doc {
        Document::Pod(pod) => vec![(pod.metadata.name.clone(), &pod.metadata, &pod.spec)],
        Document::Deployment(d) => {
            let template = &d.spec.template;
            (0..d.spec.replicas.unwrap_or(1))
                .map(|i| {
                    let name = format!("{}-pod-{i}", d.metadata.name);
                    (name, &template.metadata, &template.spec)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn planned_pod(
    name: &str,
    meta: &ObjectMeta,
    spec: &PodSpec,
    sources: &Sources,
    volumes: &mut VolumePlanner,
    opts: &PlanOptions,
) -> Result<PlannedPod, KubeError> {
    if !valid_name(name) {
        return Err(KubeError::InvalidName {
            what: "pod",
            name: name.to_string(),
        });
    }
    if spec.containers.is_empty() {
        return Err(KubeError::NoContainers {
            pod: name.to_string(),
        });
    }
    let all = spec.init_containers.iter().chain(&spec.containers);
    let mut seen = Vec::new();
    for c in all {
        if seen.contains(&&c.name) {
            return Err(KubeError::Duplicate {
                kind: "container",
                name: format!("{name}-{}", c.name),
            });
        }
        seen.push(&c.name);
    }
    let ctx = PodContext {
        pod: name,
        spec,
        sources,
        restart: restart_policy(name, spec.restart_policy.as_deref())?,
    };
    let init_containers = spec
        .init_containers
        .iter()
        .map(|c| create_request(&ctx, volumes, c, true))
        .collect::<Result<Vec<_>, _>>()?;
    let containers = spec
        .containers
        .iter()
        .map(|c| create_request(&ctx, volumes, c, false))
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = PodCreateRequest {
        name: Some(name.to_string()),
        hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
        labels: meta.labels.clone(),
        ..Default::default()
    };
    if spec.host_network {
        // The host's ports are the pod's own: nothing to publish.
        request.network = "host".into();
    } else {
        request.networks = opts
            .networks
            .iter()
            .map(|n| NetworkAttachment {
                network: n.clone(),
                ..Default::default()
            })
            .collect();
        request.ports = host_ports(name, spec)?;
    }
    Ok(PlannedPod {
        request,
        init_containers,
        containers,
    })
}

/// The ports of the pod's containers that name a `hostPort`; one host port twice is
/// an error.
fn host_ports(pod: &str, spec: &PodSpec) -> Result<Vec<PortMapping>, KubeError> {
    let mut out: Vec<PortMapping> = Vec::new();
    for c in &spec.containers {
        for port in &c.ports {
            let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
                continue;
            };
            let place = || container_place(pod, &c.name);
            if port.container_port == 0 {
                return Err(KubeError::MissingField {
                    place: format!("port {host_port} of {}", place()),
                    field: "containerPort",
                });
            }
            let protocol = match port.protocol.to_ascii_lowercase().as_str() {
                "" | "tcp" => "tcp",
                "udp" => "udp",
                "sctp" => "sctp",
                _ => {
                    return Err(KubeError::InvalidValue {
                        place: place(),
                        field: "protocol",
                        value: port.protocol.clone(),
                        expected: "TCP, UDP or SCTP",
                    })
                }
            };
            if out
                .iter()
                .any(|p| p.host_port == host_port && p.protocol == protocol)
            {
                return Err(KubeError::HostPortConflict {
                    port: host_port,
                    protocol: protocol.to_string(),
                    pod: pod.to_string(),
                });
            }
            out.push(PortMapping {
                host_ip: port.host_ip.clone(),
                container_port: port.container_port,
                host_port,
                protocol: protocol.to_string(),
                range: 1,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
