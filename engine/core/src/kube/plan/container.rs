//! One Kubernetes container as the engine's create request: command, environment
//! (ConfigMap and Secret references resolved), limits, security context, mounts.

use super::sources::{SourceKind, Sources};
use super::volume::VolumePlanner;
use crate::kube::model::{Container, EnvVar, PodSpec};
use crate::kube::{quantity, valid_name, KubeError};
use berth_types::container::{ContainerCreateRequest, Resources, RestartPolicy};
use berth_types::image::PullPolicy;

/// What every container of one pod shares.
pub(super) struct PodContext<'a> {
    pub(super) pod: &'a str,
    pub(super) spec: &'a PodSpec,
    pub(super) sources: &'a Sources,
    /// The engine's restart policy name for the pod's `restartPolicy`.
    pub(super) restart: &'a str,
}

/// The pod's `restartPolicy` as the engine's restart policy name.
pub(super) fn restart_policy(pod: &str, policy: Option<&str>) -> Result<&'static str, KubeError> {
    match policy {
        None | Some("Always") => Ok("always"),
        Some("OnFailure") => Ok("on-failure"),
        Some("Never") => Ok("no"),
        Some(other) => Err(KubeError::InvalidValue {
            place: format!("pod \"{pod}\""),
            field: "restartPolicy",
            value: other.to_string(),
            expected: "Always, OnFailure or Never",
        }),
    }
}

pub(super) fn container_place(pod: &str, container: &str) -> String {
    format!("container \"{container}\" of pod \"{pod}\"")
}

/// The create request for `c`; `init` for one of `initContainers`.
pub(super) fn create_request(
    ctx: &PodContext,
    volumes: &mut VolumePlanner,
    c: &Container,
    init: bool,
) -> Result<ContainerCreateRequest, KubeError> {
    let pod = ctx.pod;
    if c.name.is_empty() {
        return Err(KubeError::MissingField {
            place: format!("a container of pod \"{pod}\""),
            field: "name",
        });
    }
    if !valid_name(&c.name) {
        return Err(KubeError::InvalidName {
            what: "container",
            name: c.name.clone(),
        });
    }
    let place = container_place(pod, &c.name);
    if c.image.is_empty() {
        return Err(KubeError::MissingField {
            place,
            field: "image",
        });
    }
    let mut req = ContainerCreateRequest {
        image: c.image.clone(),
        name: Some(format!("{pod}-{}", c.name)),
        pod: pod.to_string(),
        entrypoint: (!c.command.is_empty()).then(|| c.command.clone()),
        command: c.args.clone(),
        workdir: c.working_dir.clone().filter(|w| !w.is_empty()),
        env: env(ctx.sources, &place, c)?,
        interactive: c.stdin,
        tty: c.tty,
        pull: pull_policy(&place, c.image_pull_policy.as_deref())?,
        resources: resources(&place, c)?,
        network: "bridge".into(),
        log_driver: "k8s-file".into(),
        ..Default::default()
    };
    if init {
        req.init_container = Some("always".into());
    } else {
        req.restart = RestartPolicy {
            name: ctx.restart.to_string(),
            max_retries: 0,
        };
    }
    security(ctx.spec, c, &mut req);
    for mount in &c.volume_mounts {
        req.mounts
            .push(volumes.mount(ctx.sources, pod, ctx.spec, &place, mount)?);
    }
    Ok(req)
}

fn pull_policy(place: &str, policy: Option<&str>) -> Result<PullPolicy, KubeError> {
    match policy {
        None | Some("IfNotPresent") => Ok(PullPolicy::Missing),
        Some("Always") => Ok(PullPolicy::Always),
        Some("Never") => Ok(PullPolicy::Never),
        Some(other) => Err(KubeError::InvalidValue {
            place: place.to_string(),
            field: "imagePullPolicy",
            value: other.to_string(),
            expected: "Always, IfNotPresent or Never",
        }),
    }
}

/// `envFrom` first, then `env`, so that `env` wins for the same name.
fn env(sources: &Sources, place: &str, c: &Container) -> Result<Vec<String>, KubeError> {
    let mut out = Vec::new();
    for from in &c.env_from {
        let refs = [
            (SourceKind::ConfigMap, &from.config_map_ref),
            (SourceKind::Secret, &from.secret_ref),
        ];
        for (kind, source) in refs {
            let Some(source) = source else { continue };
            for (key, value) in sources.values(place, kind, &source.name, source.optional)? {
                out.push(format!("{}{key}={value}", from.prefix));
            }
        }
    }
    for var in &c.env {
        if let Some(value) = env_value(sources, place, var)? {
            out.push(format!("{}={value}", var.name));
        }
    }
    Ok(out)
}

/// A variable's value; `None` for a missing optional reference.
fn env_value(sources: &Sources, place: &str, var: &EnvVar) -> Result<Option<String>, KubeError> {
    if var.name.is_empty() {
        return Err(KubeError::MissingField {
            place: format!("an environment variable of {place}"),
            field: "name",
        });
    }
    let Some(from) = &var.value_from else {
        return Ok(Some(var.value.clone().unwrap_or_default()));
    };
    let (kind, sel) = match (&from.config_map_key_ref, &from.secret_key_ref) {
        (Some(sel), _) => (SourceKind::ConfigMap, sel),
        (None, Some(sel)) => (SourceKind::Secret, sel),
        (None, None) => {
            return Err(KubeError::UnsupportedEnvSource {
                place: place.to_string(),
                var: var.name.clone(),
            })
        }
    };
    sources.value(place, kind, &sel.name, &sel.key, sel.optional)
}

fn resources(place: &str, c: &Container) -> Result<Resources, KubeError> {
    let mut out = Resources::default();
    let Some(limits) = c.resources.as_ref().map(|r| &r.limits) else {
        return Ok(out);
    };
    if let Some(q) = limits.get("memory") {
        let bytes = quantity::bytes(&q.0).ok_or_else(|| KubeError::InvalidValue {
            place: place.to_string(),
            field: "resources.limits.memory",
            value: q.0.clone(),
            expected: "a quantity such as 128Mi or 1G",
        })?;
        out.memory = (bytes > 0).then_some(bytes);
    }
    if let Some(q) = limits.get("cpu") {
        let cpus = quantity::cpus(&q.0).ok_or_else(|| KubeError::InvalidValue {
            place: place.to_string(),
            field: "resources.limits.cpu",
            value: q.0.clone(),
            expected: "a quantity such as 500m or 1.5",
        })?;
        out.cpus = (cpus > 0.0).then_some(cpus);
    }
    Ok(out)
}

/// A capability as the CLI writes it: `CAP_NET_ADMIN`, or `ALL`.
fn capability(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if bare == "ALL" {
        bare.to_string()
    } else {
        format!("CAP_{bare}")
    }
}

/// The container's security context, with the pod's user and group as defaults.
fn security(spec: &PodSpec, c: &Container, req: &mut ContainerCreateRequest) {
    let pod = spec.security_context.clone().unwrap_or_default();
    let own = c.security_context.clone().unwrap_or_default();
    let uid = own.run_as_user.or(pod.run_as_user);
    let gid = own.run_as_group.or(pod.run_as_group);
    req.user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        // As Podman: a group alone runs as root in that group.
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    if let Some(caps) = own.capabilities {
        req.cap_add = caps.add.iter().map(|c| capability(c)).collect();
        req.cap_drop = caps.drop.iter().map(|c| capability(c)).collect();
    }
    req.read_only = own.read_only_root_filesystem.unwrap_or(false);
    req.privileged = own.privileged.unwrap_or(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_written_as_the_cli_writes_them() {
        assert_eq!(capability("net_admin"), "CAP_NET_ADMIN");
        assert_eq!(capability("NET_RAW"), "CAP_NET_RAW");
        assert_eq!(capability("cap_chown"), "CAP_CHOWN");
        assert_eq!(capability("all"), "ALL");
    }

    #[test]
    fn restart_policies_map_to_the_engines() {
        assert_eq!(restart_policy("p", None).expect("default"), "always");
        assert_eq!(
            restart_policy("p", Some("OnFailure")).expect("valid"),
            "on-failure"
        );
        assert_eq!(restart_policy("p", Some("Never")).expect("valid"), "no");
        let err = restart_policy("p", Some("Sometimes")).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid restartPolicy \"Sometimes\" in pod \"p\": expected Always, OnFailure or Never"
        );
    }
}
