//! Pods and containers as the engine records them → Kubernetes YAML (`kube generate`):
//! a Pod document and, when asked, a NodePort Service for its published ports.

use crate::kube::model::{
    Capabilities, ClaimSource, Container, ContainerPort, EmptyDirSource, EnvVar, HostPathSource,
    IntOrString, ObjectMeta, Pod, PodSpec, Quantity, ResourceRequirements, SecurityContext,
    Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use crate::kube::KubeError;
use berth_types::container::{ContainerCreateRequest, MountKind, MountSpec};
use berth_types::network::PortMapping;
use std::collections::BTreeMap;

/// A pod as `kube generate` reads it from the engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenPod {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub host_network: bool,
    /// The pod's published ports.
    pub ports: Vec<PortMapping>,
    /// Init containers and regular ones, in creation order; not the infra container.
    pub containers: Vec<GenContainer>,
}

/// One container of a [`GenPod`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenContainer {
    /// The engine's container name (`<pod>-<name>` for containers `kube play` made).
    pub name: String,
    pub image: String,
    pub req: ContainerCreateRequest,
    /// An init container.
    pub init: bool,
}

/// The Pod document for `pod`, and after `---` its Service when `service`.
pub fn pod_yaml(pod: &GenPod, service: bool) -> Result<String, KubeError> {
    let mut labels = pod.labels.clone();
    let app = labels
        .entry("app".to_string())
        .or_insert_with(|| pod.name.clone())
        .clone();
    let regular: Vec<&GenContainer> = pod.containers.iter().filter(|c| !c.init).collect();
    let restart = regular
        .first()
        .copied()
        .or(pod.containers.first())
        .map(|c| restart_policy(&c.req.restart.name));
    let mut volumes = VolumeNamer::default();
    let mut containers = Vec::new();
    let mut init_containers = Vec::new();
    let mut first = true;
    for c in &pod.containers {
        let ports = if !c.init && first {
            first = false;
            &pod.ports[..]
        } else {
            &[]
        };
        let out = container(&pod.name, c, ports, &mut volumes);
        if c.init {
            init_containers.push(out);
        } else {
            containers.push(out);
        }
    }
    let doc = Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            name: pod.name.clone(),
            labels,
            annotations: BTreeMap::new(),
        },
        spec: PodSpec {
            hostname: pod.hostname.clone().filter(|h| !h.is_empty()),
            host_network: pod.host_network,
            restart_policy: restart.map(str::to_string),
            security_context: None,
            init_containers,
            containers,
            volumes: volumes.volumes,
        },
    };
    let mut text = serde_yaml::to_string(&doc).map_err(KubeError::Write)?;
    if service {
        text.push_str("---\n");
        let svc = service_doc(pod, app);
        text.push_str(&serde_yaml::to_string(&svc).map_err(KubeError::Write)?);
    }
    Ok(text)
}

/// The engine's restart policy name as a pod's `restartPolicy`.
fn restart_policy(name: &str) -> &'static str {
    match name {
        "always" | "unless-stopped" => "Always",
        "on-failure" => "OnFailure",
        _ => "Never",
    }
}

/// Every port of `ports`, ranges expanded to one entry per port.
fn expanded(ports: &[PortMapping]) -> impl Iterator<Item = (PortMapping, u16, u16)> + '_ {
    ports.iter().flat_map(|p| {
        (0..p.range.max(1)).filter_map(move |i| {
            let container = p.container_port.checked_add(i)?;
            let host = match p.host_port {
                0 => 0,
                h => h.checked_add(i)?,
            };
            Some((p.clone(), container, host))
        })
    })
}

fn service_doc(pod: &GenPod, app: String) -> Service {
    let ports = expanded(&pod.ports)
        .map(|(p, container, host)| {
            let proto = if p.protocol.is_empty() {
                "tcp"
            } else {
                &p.protocol
            };
            ServicePort {
                name: format!("{container}-{}", proto.to_ascii_lowercase()),
                port: container,
                target_port: Some(IntOrString::Int(i64::from(container))),
                protocol: proto.to_ascii_uppercase(),
                node_port: (host != 0).then_some(host),
            }
        })
        .collect();
    Service {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: ObjectMeta {
            name: pod.name.clone(),
            ..Default::default()
        },
        spec: ServiceSpec {
            selector: [("app".to_string(), app)].into(),
            service_type: "NodePort".into(),
            ports,
        },
    }
}

fn container(
    pod: &str,
    c: &GenContainer,
    ports: &[PortMapping],
    volumes: &mut VolumeNamer,
) -> Container {
    let req = &c.req;
    let name = c
        .name
        .strip_prefix(pod)
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(&c.name);
    let env = req
        .env
        .iter()
        .map(|kv| {
            let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
            EnvVar {
                name: key.to_string(),
                value: Some(value.to_string()),
                value_from: None,
            }
        })
        .collect();
    let ports = expanded(ports)
        .map(|(p, container, host)| ContainerPort {
            name: String::new(),
            container_port: container,
            host_port: (host != 0).then_some(host),
            host_ip: p.host_ip.clone(),
            protocol: if p.protocol.is_empty() {
                "TCP".into()
            } else {
                p.protocol.to_ascii_uppercase()
            },
        })
        .collect();
    let volume_mounts = req
        .mounts
        .iter()
        .filter_map(|m| {
            Some(VolumeMount {
                name: volumes.name_for(m)?,
                mount_path: m.destination.clone(),
                read_only: m.options.iter().any(|o| o == "ro"),
                sub_path: String::new(),
            })
        })
        .collect();
    Container {
        name: name.to_string(),
        image: c.image.clone(),
        command: req.entrypoint.clone().unwrap_or_default(),
        args: req.command.clone(),
        working_dir: req.workdir.clone().filter(|w| !w.is_empty()),
        env,
        env_from: Vec::new(),
        ports,
        resources: resources(req),
        security_context: security_context(req),
        volume_mounts,
        stdin: req.interactive,
        tty: req.tty,
        image_pull_policy: None,
    }
}

fn resources(req: &ContainerCreateRequest) -> Option<ResourceRequirements> {
    let mut limits = BTreeMap::new();
    if let Some(bytes) = req.resources.memory {
        limits.insert("memory".to_string(), Quantity(bytes.to_string()));
    }
    if let Some(cpus) = req.resources.cpus {
        let millis = (cpus * 1000.0).round() as i64;
        limits.insert("cpu".to_string(), Quantity(format!("{millis}m")));
    }
    (!limits.is_empty()).then(|| ResourceRequirements {
        limits,
        requests: BTreeMap::new(),
    })
}

fn security_context(req: &ContainerCreateRequest) -> Option<SecurityContext> {
    let mut ctx = SecurityContext::default();
    if let Some(user) = &req.user {
        // Only numeric users have a Kubernetes spelling.
        let (u, g) = user.split_once(':').unwrap_or((user, ""));
        if let Ok(uid) = u.parse::<u32>() {
            ctx.run_as_user = Some(uid);
            ctx.run_as_group = g.parse::<u32>().ok();
        }
    }
    let bare = |caps: &[String]| -> Vec<String> {
        caps.iter()
            .map(|c| c.strip_prefix("CAP_").unwrap_or(c).to_string())
            .collect()
    };
    if !req.cap_add.is_empty() || !req.cap_drop.is_empty() {
        ctx.capabilities = Some(Capabilities {
            add: bare(&req.cap_add),
            drop: bare(&req.cap_drop),
        });
    }
    ctx.read_only_root_filesystem = req.read_only.then_some(true);
    ctx.privileged = req.privileged.then_some(true);
    (ctx != SecurityContext::default()).then_some(ctx)
}

/// The pod's volumes, one per distinct host path, named volume or tmpfs mount.
#[derive(Default)]
struct VolumeNamer {
    volumes: Vec<Volume>,
    /// Host paths and volume names already given a volume.
    named: Vec<(MountKind, String, String)>,
}

impl VolumeNamer {
    /// The pod volume for `m`, added when new; `None` for an anonymous volume.
    fn name_for(&mut self, m: &MountSpec) -> Option<String> {
        if m.kind == MountKind::Tmpfs {
            let name = self.unique(&format!("{}-tmpfs", dns_label(&m.destination)));
            self.volumes.push(Volume {
                name: name.clone(),
                empty_dir: Some(EmptyDirSource {
                    medium: "Memory".into(),
                    size_limit: None,
                }),
                ..Default::default()
            });
            return Some(name);
        }
        let source = m.source.as_ref().filter(|s| !s.is_empty())?;
        if let Some((_, _, name)) = self
            .named
            .iter()
            .find(|(kind, s, _)| *kind == m.kind && s == source)
        {
            return Some(name.clone());
        }
        let mut volume = Volume::default();
        if m.kind == MountKind::Bind {
            let hosts = self
                .volumes
                .iter()
                .filter(|v| v.host_path.is_some())
                .count();
            volume.name = self.unique(&format!("{}-host-{hosts}", dns_label(source)));
            volume.host_path = Some(HostPathSource {
                path: source.clone(),
                path_type: String::new(),
            });
        } else {
            volume.name = self.unique(&format!("{}-pvc", dns_label(source)));
            volume.persistent_volume_claim = Some(ClaimSource {
                claim_name: source.clone(),
                read_only: false,
            });
        }
        let name = volume.name.clone();
        self.named.push((m.kind, source.clone(), name.clone()));
        self.volumes.push(volume);
        Some(name)
    }

    /// `base`, or `base-N` when a volume has that name already.
    fn unique(&self, base: &str) -> String {
        let taken = |n: &str| self.volumes.iter().any(|v| v.name == n);
        let mut name = base.to_string();
        let mut i = 1;
        while taken(&name) {
            name = format!("{base}-{i}");
            i += 1;
        }
        name
    }
}

/// `text` as a DNS-1123 label stem: lower case, `[a-z0-9-]`, no leading, trailing or
/// doubled `-`, at most 50 characters (room for a suffix); `root` when nothing is left.
fn dns_label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(50);
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "root".to_string()
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests;
