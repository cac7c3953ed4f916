//! Applying Kubernetes YAML to the store: `kube play` (check everything, then create
//! secrets, volumes, pods and containers, and start the pods; on any failure remove
//! what this play made), `kube down` (remove what a play of the same YAML made) and
//! `kube generate` (read pods and containers back as [`GenPod`]s).

use super::generate::{pod_yaml, GenContainer, GenPod};
use super::plan::{self, Plan, PlanOptions, PlannedVolume, VolumeOrigin};
use crate::engine::LocalEngine;
use berth_types::container::MountKind;
use berth_types::image::PullRequest;
use berth_types::pod::{KubeDownReport, KubePlayReport, KubePlayRequest, RemovePodsRequest};
use berth_types::progress::ProgressSink;
use berth_types::volume::{VolumeCreateRequest, VolumeRemoveRequest};
use berth_types::{Engine, EngineError, ErrorKind, Result};
use std::path::{Path, PathBuf};

fn panicked() -> EngineError {
    EngineError::new(ErrorKind::Storage, "kube play: a worker thread panicked")
}

fn invalid(e: super::KubeError) -> EngineError {
    EngineError::invalid(format!("kube play: {e}"))
}

/// What a play has made so far, removed again when it fails.
#[derive(Default)]
struct Made {
    pods: Vec<String>,
    volumes: Vec<String>,
    secrets: Vec<String>,
}

impl Made {
    fn undo(&self, engine: &LocalEngine) {
        let _ = engine.remove_pods(&RemovePodsRequest {
            names: self.pods.clone(),
            force: true,
            timeout: Some(0),
            ..Default::default()
        });
        if !self.volumes.is_empty() {
            let _ = engine.remove_volumes(&VolumeRemoveRequest {
                names: self.volumes.clone(),
                force: true,
                all: false,
            });
        }
        if !self.secrets.is_empty() {
            let _ = engine.remove_secrets(&self.secrets, false);
        }
    }
}

pub fn play(
    engine: &LocalEngine,
    req: &KubePlayRequest,
    progress: &dyn ProgressSink,
) -> Result<KubePlayReport> {
    let opts = PlanOptions {
        networks: req.networks.clone(),
    };
    let mut plan = plan::plan(&req.yaml, &opts).map_err(invalid)?;
    check(engine, req, &mut plan, progress)?;
    let mut made = Made::default();
    match apply(engine, req, &plan, &mut made, progress) {
        Ok(report) => Ok(report),
        Err(e) => {
            made.undo(engine);
            Err(e)
        }
    }
}

/// Everything that can be known wrong before anything is made: images (pulled now),
/// names already taken, host paths.
fn check(
    engine: &LocalEngine,
    req: &KubePlayRequest,
    plan: &mut Plan,
    progress: &dyn ProgressSink,
) -> Result<()> {
    for pod in &plan.pods {
        let name = pod.request.name.clone().unwrap_or_default();
        if !req.replace && engine.pod_exists(&name)? {
            return Err(EngineError::conflict(format!(
                "kube play: pod \"{name}\" already exists: remove it first, or play with --replace"
            )));
        }
        for c in pod.init_containers.iter().chain(&pod.containers) {
            let cname = c.name.clone().unwrap_or_default();
            if engine.container_exists(&cname)? {
                let own = engine
                    .inspect_container(&cname)
                    .map(|d| d["Pod"].as_str().is_some_and(|p| !p.is_empty()))
                    .unwrap_or(false);
                if !(req.replace && own) {
                    return Err(EngineError::conflict(format!(
                        "kube play: the container name \"{cname}\" is already in use: remove that container first"
                    )));
                }
            }
        }
    }
    for secret in &plan.secrets {
        if !req.replace && engine.secret_exists(&secret.name)? {
            return Err(EngineError::conflict(format!(
                "kube play: secret \"{}\" already exists: remove it first, or play with --replace",
                secret.name
            )));
        }
    }
    let context = req.context_dir.as_deref().map(Path::new);
    for pod in &mut plan.pods {
        for c in pod
            .init_containers
            .iter_mut()
            .chain(pod.containers.iter_mut())
        {
            for m in c.mounts.iter_mut().filter(|m| m.kind == MountKind::Bind) {
                let source = m.source.clone().unwrap_or_default();
                m.source = Some(host_path(&source, context)?.display().to_string());
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for pod in &mut plan.pods {
        for c in pod
            .init_containers
            .iter_mut()
            .chain(pod.containers.iter_mut())
        {
            c.registry = req.registry.clone();
            if !seen.insert((c.image.clone(), format!("{:?}", c.pull))) {
                continue;
            }
            engine
                .pull_image(
                    &PullRequest {
                        reference: c.image.clone(),
                        platform: c.platform.clone(),
                        registry: c.registry.clone(),
                        policy: c.pull,
                    },
                    progress,
                )
                .map_err(|e| {
                    EngineError::new(
                        e.kind,
                        format!(
                            "kube play: image {} of container {}: {}",
                            c.image,
                            c.name.as_deref().unwrap_or_default(),
                            e.message
                        ),
                    )
                })?;
        }
    }
    Ok(())
}

/// A hostPath as the container will bind it: relative ones against the YAML's
/// directory, made when missing (as `DirectoryOrCreate`), and for a rootless user
/// only within what that user owns.
fn host_path(source: &str, context: Option<&Path>) -> Result<PathBuf> {
    let path = match (Path::new(source).is_absolute(), context) {
        (true, _) => PathBuf::from(source),
        (false, Some(dir)) => dir.join(source),
        (false, None) => std::env::current_dir()
            .map_err(|e| EngineError::invalid(format!("kube play: hostPath {source}: {e}")))?
            .join(source),
    };
    if crate::rootless::active() {
        rootless_allowed(&path)?;
    }
    if !path.exists() {
        std::fs::create_dir_all(&path).map_err(|e| {
            EngineError::invalid(format!(
                "kube play: creating hostPath {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(path)
}

/// A rootless user may bind only paths it owns: the path (or, when missing, its
/// nearest existing parent), after symlinks, must belong to the user.
fn rootless_allowed(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let real = std::fs::canonicalize(existing).map_err(|e| {
        EngineError::invalid(format!("kube play: hostPath {}: {e}", path.display()))
    })?;
    let meta = std::fs::metadata(&real).map_err(|e| {
        EngineError::invalid(format!("kube play: hostPath {}: {e}", path.display()))
    })?;
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(EngineError::new(
            ErrorKind::InvalidArgument,
            format!(
                "kube play: hostPath {} is not allowed for a rootless user: {} is not yours (owner uid {} as seen from Berth's user namespace); bind only paths you own",
                path.display(),
                real.display(),
                meta.uid()
            ),
        ));
    }
    Ok(())
}

fn apply(
    engine: &LocalEngine,
    req: &KubePlayRequest,
    plan: &Plan,
    made: &mut Made,
    progress: &dyn ProgressSink,
) -> Result<KubePlayReport> {
    let mut report = KubePlayReport::default();
    if req.replace {
        remove_planned(engine, plan)?;
    }
    for s in &plan.secrets {
        engine.create_secret(s)?;
        made.secrets.push(s.name.clone());
        report.secrets.push(s.name.clone());
    }
    for v in &plan.volumes {
        if ensure_volume(engine, v, made)? {
            report.volumes.push(v.name.clone());
        }
    }
    // Each pod's infra container starts while its other containers are being made
    // (it holds the namespaces they join); then the pods start at once.
    std::thread::scope(|s| -> Result<()> {
        let mut infra_starts = Vec::new();
        for pod in &plan.pods {
            let mut request = pod.request.clone();
            request.replace = false;
            let created = engine.create_pod(&request, progress)?;
            made.pods.push(created.id.clone());
            if req.start {
                let infra = crate::pod::ops::lookup(engine.ctx()?, &created.id)?.infra_id;
                if !infra.is_empty() {
                    infra_starts.push(s.spawn(move || engine.start_container(&infra, None)));
                }
            }
            let mut ids = Vec::new();
            for c in pod.init_containers.iter().chain(&pod.containers) {
                let mut c = c.clone();
                c.pod = created.id.clone();
                c.pull = berth_types::image::PullPolicy::Never;
                ids.push(engine.create_container(&c, progress)?.id);
            }
            report.pods.push((created.id, ids));
        }
        for h in infra_starts {
            h.join().map_err(|_| panicked())??;
        }
        if req.start {
            let starts: Vec<_> = report
                .pods
                .iter()
                .map(|(pod, _)| s.spawn(move || engine.start_pod(pod)))
                .collect();
            for h in starts {
                h.join().map_err(|_| panicked())??;
            }
        }
        Ok(())
    })?;
    Ok(report)
}

/// Creates a planned volume (a claim that exists is used as it is) and writes its
/// files. Returns whether this play created it.
fn ensure_volume(engine: &LocalEngine, v: &PlannedVolume, made: &mut Made) -> Result<bool> {
    let exists = engine.volume_exists(&v.name)?;
    let created = if exists {
        false
    } else {
        engine.create_volume(&VolumeCreateRequest {
            name: Some(v.name.clone()),
            labels: v.labels.clone(),
            ..Default::default()
        })?;
        made.volumes.push(v.name.clone());
        true
    };
    if v.origin == VolumeOrigin::Claim || v.files.is_empty() {
        return Ok(created);
    }
    let root = PathBuf::from(engine.inspect_volume(&v.name)?.mountpoint);
    for f in &v.files {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                EngineError::new(
                    ErrorKind::Storage,
                    format!("kube play: volume {}: {}: {e}", v.name, dir.display()),
                )
            })?;
        }
        crate::store::fsutil::write_replace(&path, &f.data, f.mode & 0o777).map_err(|e| {
            EngineError::new(
                ErrorKind::Storage,
                format!("kube play: volume {}: writing {}: {e}", v.name, f.path),
            )
        })?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode & 0o777));
    }
    Ok(created)
}

/// Removes the pods (with their containers) and the secrets the plan names, those
/// that exist; returns the pods' IDs and the secrets' names.
fn remove_planned(engine: &LocalEngine, plan: &Plan) -> Result<(Vec<String>, Vec<String>)> {
    let names: Vec<String> = plan
        .pods
        .iter()
        .filter_map(|p| p.request.name.clone())
        .collect();
    let mut pods = Vec::new();
    for r in engine.remove_pods(&RemovePodsRequest {
        names,
        force: true,
        ignore_missing: true,
        timeout: Some(0),
        ..Default::default()
    })? {
        let id = r?;
        if !id.is_empty() {
            pods.push(id);
        }
    }
    let secrets: Vec<String> = plan
        .secrets
        .iter()
        .filter(|s| engine.secret_exists(&s.name).unwrap_or(false))
        .map(|s| s.name.clone())
        .collect();
    if !secrets.is_empty() {
        engine.remove_secrets(&secrets, false)?;
    }
    Ok((pods, secrets))
}

/// `kube down`: the pods the YAML names (with their containers), the secrets it
/// defines, and the volumes made from its ConfigMaps, Secrets and emptyDirs; claims
/// stay (they hold data), as in Podman.
pub fn down(engine: &LocalEngine, yaml: &str) -> Result<KubeDownReport> {
    let plan = plan::plan(yaml, &PlanOptions::default()).map_err(invalid)?;
    let (pods, secrets) = remove_planned(engine, &plan)?;
    let mut report = KubeDownReport {
        pods,
        secrets,
        ..Default::default()
    };
    let volumes: Vec<String> = plan
        .volumes
        .iter()
        .filter(|v| v.origin != VolumeOrigin::Claim)
        .filter(|v| engine.volume_exists(&v.name).unwrap_or(false))
        .map(|v| v.name.clone())
        .collect();
    if !volumes.is_empty() {
        report.volumes = engine.remove_volumes(&VolumeRemoveRequest {
            names: volumes,
            force: true,
            all: false,
        })?;
    }
    Ok(report)
}

/// `kube generate`: a Pod document per pod named (its containers, not the infra
/// container), or per container named (in a pod of its own, `<name>-pod`).
pub fn generate(engine: &LocalEngine, names: &[String], service: bool) -> Result<String> {
    let ctx = engine.ctx()?;
    let mut docs = Vec::new();
    for name in names {
        let gen = if engine.pod_exists(name)? {
            let pod = crate::pod::ops::lookup(ctx, name)?;
            let members = crate::pod::ops::members(ctx, &pod)?;
            GenPod {
                name: pod.name.clone(),
                labels: pod.config.labels.clone(),
                hostname: pod.config.hostname.clone(),
                host_network: pod.config.network == "host",
                ports: pod.config.ports.clone(),
                containers: members
                    .iter()
                    .filter(|r| r.id != pod.infra_id)
                    .map(|r| GenContainer {
                        name: r.name.clone(),
                        image: r.image_name.clone(),
                        req: r.config.clone(),
                        init: r.config.init_container.is_some(),
                    })
                    .collect(),
            }
        } else {
            let row = crate::container::ops::lookup(ctx, name).map_err(|e| {
                if e.kind == ErrorKind::NotFound {
                    EngineError::not_found(format!(
                        "kube generate: no pod or container with name or ID {name} found"
                    ))
                } else {
                    e
                }
            })?;
            // A pod's container publishes what its pod publishes.
            let ports = match crate::pod::store::get(&ctx.db(), &row.config.pod)
                .map_err(crate::engine::storage)?
            {
                Some(pod) => pod.config.ports,
                None => row.config.ports.clone(),
            };
            GenPod {
                name: format!("{}-pod", row.name),
                labels: row.config.labels.clone(),
                hostname: row.config.hostname.clone(),
                host_network: row.config.network == "host",
                ports,
                containers: vec![GenContainer {
                    name: row.name.clone(),
                    image: row.image_name.clone(),
                    req: row.config.clone(),
                    init: false,
                }],
            }
        };
        docs.push(
            pod_yaml(&gen, service)
                .map_err(|e| EngineError::new(ErrorKind::Storage, format!("kube generate: {e}")))?,
        );
    }
    Ok(docs.join("---\n"))
}
