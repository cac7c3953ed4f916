//! Everything a container needs on disk before the runtime sees it: the overlay root
//! mounted, volumes resolved (created and copied up on first use), the user resolved
//! inside the image, the seccomp profile loaded, and the OCI spec written as the
//! bundle's config.json (temp file, fsync, rename).

use super::paths::ContainerPaths;
use super::rootfs;
use super::runtime::Runtime;
use super::spec::{self, MountType, ResolvedMount, SpecInput};
use super::store::ContainerRow;
use crate::engine::StoreContext;
use berth_registry::manifest::ImageConfig;
use berth_types::container::MountKind;
use berth_types::{EngineError, ErrorKind, Result};
use std::path::{Path, PathBuf};

fn fail(what: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, what.to_string())
}

/// The image config of the container's image.
pub fn image_config(ctx: &StoreContext, row: &ContainerRow) -> Result<ImageConfig> {
    let bytes = std::fs::read(ctx.paths.blob(&row.image_id))
        .map_err(|e| fail(format!("reading config of image {}: {e}", row.image_id)))?;
    ImageConfig::parse(&bytes).map_err(|e| fail(format!("image {}: {e}", row.image_id)))
}

/// Mounts the container's root at `merged`: the image's layers, or their copy shifted
/// into the container's user namespace, under its own upper directory. Returns the
/// container's ID mappings. Does nothing (but return them) when already mounted.
pub fn mount_root(
    ctx: &StoreContext,
    row: &ContainerRow,
) -> Result<Option<super::idmap::IdMappings>> {
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let id_mappings = super::idmap::for_request(&row.config).map_err(EngineError::invalid)?;
    // Overlay wants the topmost layer first.
    let mut lowers: Vec<PathBuf> = super::changes::lower_roots_for(ctx, &row.image_id)?
        .into_iter()
        .rev()
        .collect();
    let mut root_owner = None;
    if let Some(m) = &id_mappings {
        let tree = crate::layer::shifted::shifted_tree(&ctx.paths, &row.image_id, &lowers, m)
            .map_err(|e| fail(format!("container {}: {e}", row.id)))?;
        lowers = vec![tree];
        root_owner = m.host_uid(0).zip(m.host_gid(0));
    }
    rootfs::mount_rootfs(&paths, &lowers, root_owner)
        .map_err(|e| fail(format!("container {}: {e}", row.id)))?;
    Ok(id_mappings)
}

/// Mounts, volumes and bind sources resolved to host paths.
fn resolve_mounts(
    ctx: &StoreContext,
    row: &ContainerRow,
    image: &ImageConfig,
    merged: &Path,
) -> Result<Vec<ResolvedMount>> {
    let mut out = Vec::new();
    let mut destinations: Vec<String> = Vec::new();
    for m in &row.config.mounts {
        destinations.push(m.destination.clone());
        match m.kind {
            MountKind::Bind => {
                let source = m.source.clone().unwrap_or_default();
                if std::fs::metadata(&source).is_err() {
                    return Err(EngineError::invalid(format!(
                        "statfs {source}: no such file or directory"
                    )));
                }
                out.push(ResolvedMount {
                    source: PathBuf::from(source),
                    destination: m.destination.clone(),
                    kind: MountType::Bind,
                    options: m.options.clone(),
                });
            }
            MountKind::Volume => {
                let (name, data) = crate::volume::mount::ensure_volume(ctx, m.source.as_deref())?;
                crate::volume::mount::record_use(&ctx.db(), &row.id, &name, &m.destination);
                if !m.options.iter().any(|o| o == "nocopy") {
                    let source = crate::volume::copy::Source {
                        root: merged,
                        path: &m.destination,
                    };
                    crate::volume::mount::copy_up(ctx, &name, &source)?;
                }
                out.push(ResolvedMount {
                    source: data,
                    destination: m.destination.clone(),
                    kind: MountType::Bind,
                    options: m.options.clone(),
                });
            }
            MountKind::Tmpfs => {
                out.push(ResolvedMount {
                    source: PathBuf::from("tmpfs"),
                    destination: m.destination.clone(),
                    kind: MountType::Tmpfs,
                    options: m.options.clone(),
                });
            }
        }
    }
    // Image VOLUMEs without a mount of their own get anonymous volumes, as in Podman.
    let image_volumes = image
        .config
        .as_ref()
        .and_then(|c| c.volumes.clone())
        .unwrap_or_default();
    for dest in image_volumes.keys() {
        if destinations
            .iter()
            .any(|d| d.trim_end_matches('/') == dest.trim_end_matches('/'))
        {
            continue;
        }
        let (name, data) = crate::volume::mount::ensure_volume(ctx, None)?;
        crate::volume::mount::record_use(&ctx.db(), &row.id, &name, dest);
        let source = crate::volume::copy::Source {
            root: merged,
            path: dest,
        };
        crate::volume::mount::copy_up(ctx, &name, &source)?;
        out.push(ResolvedMount {
            source: data,
            destination: dest.clone(),
            kind: MountType::Bind,
            options: Vec::new(),
        });
    }
    Ok(out)
}

fn host_rlimits() -> Vec<(String, u64)> {
    use rustix::process::{getrlimit, Resource};
    [
        ("RLIMIT_NOFILE", Resource::Nofile),
        ("RLIMIT_NPROC", Resource::Nproc),
    ]
    .into_iter()
    .filter_map(|(name, r)| getrlimit(r).maximum.map(|max| (name.to_string(), max)))
    .collect()
}

/// The seccomp profile for this container, or `None` when it runs unconfined.
fn seccomp(row: &ContainerRow) -> Result<Option<(serde_json::Value, Option<PathBuf>)>> {
    let explicit = row.config.security_opt.iter().any(|o| {
        o.strip_prefix("seccomp=")
            .or_else(|| o.strip_prefix("seccomp:"))
            .is_some_and(|v| v != "unconfined")
    });
    // --privileged drops the default profile, but not one the user named (as Podman).
    if row.config.privileged && !explicit {
        return Ok(None);
    }
    let mut path = None;
    for opt in &row.config.security_opt {
        if let Some(v) = opt
            .strip_prefix("seccomp=")
            .or_else(|| opt.strip_prefix("seccomp:"))
        {
            if v == "unconfined" {
                return Ok(None);
            }
            path = Some(PathBuf::from(v));
        }
    }
    match super::seccomp::load_profile(path.as_deref()).map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))? {
        Some(p) => Ok(Some((p, path))),
        None => Err(EngineError::invalid(
            "no default seccomp profile found (/usr/share/containers/seccomp.json): install golang-github-containers-common (or containers-common), or run with --security-opt seccomp=unconfined",
        )),
    }
}

/// Mounts the root, resolves everything, and writes config.json. Idempotent.
pub fn prepare(ctx: &StoreContext, row: &ContainerRow, runtime: &Runtime) -> Result<()> {
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    std::fs::create_dir_all(paths.bundle())
        .map_err(|e| fail(format!("creating {}: {e}", paths.bundle().display())))?;
    std::fs::create_dir_all(&paths.run)
        .map_err(|e| fail(format!("creating {}: {e}", paths.run.display())))?;
    let image = image_config(ctx, row)?;
    let id_mappings = mount_root(ctx, row)?;
    let result = (|| {
        let merged = paths.merged();
        let joined = joined_namespaces(ctx, row)?;
        let userns_path = shared_userns(ctx, row, id_mappings.is_some())?;
        let hostname = hostname(ctx, row)?;
        let (netns, net) = network_namespace(ctx, row, &hostname, &image, &paths)?;
        let etc_input = rootfs::EtcInput {
            id: &row.id,
            name: &row.name,
            hostname: &hostname,
            req: &row.config,
            net: net.as_ref(),
        };
        let mut etc_files = rootfs::write_etc_files(&paths, &etc_input)
            .map_err(|e| fail(format!("container {}: writing /etc files: {e}", row.id)))?;
        share_network_files(ctx, row, &mut etc_files);
        let mut mounts = resolve_mounts(ctx, row, &image, &merged)?;
        let mut config = std::borrow::Cow::Borrowed(&row.config);
        for (i, s) in row.config.secrets.iter().enumerate() {
            let data = crate::secret::data(ctx, &s.name)?;
            if s.env {
                let value = String::from_utf8_lossy(&data);
                config.to_mut().env.push(format!("{}={value}", s.target));
            } else {
                mounts.push(secret_file(&paths, i, s, &data, id_mappings.as_ref())?);
            }
        }
        let kept = super::user::keep_id_user(&row.config.userns, &merged)
            .map_err(|e| fail(format!("container {}: --userns=keep-id: {e}", row.id)))?;
        let user_spec = row.config.user.clone().or(kept).or_else(|| {
            image
                .config
                .as_ref()
                .and_then(|c| c.user.clone())
                .filter(|u| !u.is_empty())
        });
        let user = super::user::resolve_user(&merged, user_spec.as_deref(), &row.config.group_add)
            .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
        // Volume option U: owned by the container's user as the host sees it.
        let (owner_uid, owner_gid) = match &id_mappings {
            Some(m) => (
                m.host_uid(user.uid).unwrap_or(user.uid),
                m.host_gid(user.gid).unwrap_or(user.gid),
            ),
            None => (user.uid, user.gid),
        };
        for m in mounts.iter().filter(|m| m.options.iter().any(|o| o == "U")) {
            if m.kind == MountType::Bind {
                crate::volume::chown::chown_tree(&m.source, owner_uid, owner_gid).map_err(|e| {
                    fail(format!(
                        "changing the owner of {} to {}:{} (volume option U): {e}",
                        m.source.display(),
                        user.uid,
                        user.gid
                    ))
                })?;
            }
        }
        if let Some(m) = &id_mappings {
            // The runtime mounts these from inside the container's user namespace,
            // whose root is nobody special to the store's directories.
            let sources = etc_files.iter().map(|(p, _)| p.as_path()).chain(
                mounts
                    .iter()
                    .filter(|m| m.kind == MountType::Bind)
                    .map(|m| m.source.as_path()),
            );
            let stores = [ctx.paths.root.as_path(), ctx.paths.runroot.as_path()];
            for path in sources.chain([merged.as_path()]) {
                make_traversable(path, &stores)
                    .map_err(|e| fail(format!("container {}: {e}", row.id)))?;
            }
            for store in stores {
                check_reachable(store, m)?;
            }
        }
        let seccomp = seccomp(row)?;
        let init_binary = row.config.init.then(find_init).transpose()?;
        let input = SpecInput {
            req: &config,
            image: &image,
            rootfs: &merged,
            hostname,
            etc_files,
            mounts,
            user,
            cgroups_path: super::cgroup::CgroupManager::from_recorded(&row.config.cgroup_manager)
                .spec_path(&row.id),
            host_rlimits: host_rlimits(),
            seccomp: seccomp.map(|(p, _)| p),
            init_binary,
            devices: devices(row)?,
            userns_owns_netns: (net.is_some() || userns_path.is_some()) && id_mappings.is_some(),
            userns_path,
            netns,
            id_mappings,
            joined,
        };
        let mut spec = spec::build_spec(&input)
            .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))?;
        if runtime.name == "crun" {
            precompiled_seccomp(ctx, &mut spec);
        }
        if crate::rootless::active() {
            rootless_spec(&mut spec);
        }
        let bytes = serde_json::to_vec(&spec).map_err(fail)?;
        crate::store::fsutil::write_replace(&paths.config_json(), &bytes, 0o600)
            .map_err(|e| fail(format!("writing {}: {e}", paths.config_json().display())))
    })();
    if result.is_err() {
        let _ = crate::network::setup::teardown(&row.id, &paths.run);
        let _ = rootfs::unmount_rootfs(&paths);
    }
    result
}

/// The `index`th `--secret` as a file: written to the run directory (owned by its uid
/// and gid as the host sees them, with its mode) and bound read-only at its target.
fn secret_file(
    paths: &ContainerPaths,
    index: usize,
    s: &berth_types::secret::SecretUse,
    data: &[u8],
    mappings: Option<&super::idmap::IdMappings>,
) -> Result<ResolvedMount> {
    use std::os::unix::fs::PermissionsExt;
    let dir = paths.run.join("secrets");
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
    let file = dir.join(format!("{index}-{}", s.name));
    crate::store::fsutil::write_replace(&file, data, s.mode & 0o777)
        .and_then(|()| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(s.mode & 0o777))
        })
        .map_err(|e| fail(format!("writing secret {}: {e}", s.name)))?;
    let (uid, gid) = match mappings {
        Some(m) => (
            m.host_uid(s.uid).unwrap_or(s.uid),
            m.host_gid(s.gid).unwrap_or(s.gid),
        ),
        None => (s.uid, s.gid),
    };
    std::os::unix::fs::chown(&file, Some(uid), Some(gid))
        .map_err(|e| fail(format!("secret {}: {e}", s.name)))?;
    let destination = if s.target.starts_with('/') {
        s.target.clone()
    } else {
        format!("/run/secrets/{}", s.target)
    };
    Ok(ResolvedMount {
        source: file,
        destination,
        kind: MountType::Bind,
        options: vec!["ro".into()],
    })
}

/// Lets anyone search (not list) the directories from the store root in `stores` that
/// holds `path` down to `path`'s parent, as Podman's store does for containers with
/// user namespaces. Paths outside the stores are left as they are.
fn make_traversable(path: &Path, stores: &[&Path]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Some(store) = stores.iter().find(|s| path.starts_with(s)) else {
        return Ok(());
    };
    for dir in path.ancestors().skip(1) {
        if !dir.starts_with(store) {
            break;
        }
        let meta = std::fs::metadata(dir)?;
        let mode = meta.permissions().mode();
        if mode & 0o011 != 0o011 {
            std::fs::set_permissions(
                dir,
                std::fs::Permissions::from_mode((mode | 0o011) & 0o7777),
            )
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        }
    }
    Ok(())
}

/// The directories above a store must be searchable by the container's root: by
/// group and others (the runtime prepares the root still holding the caller's group),
/// or by an owner the container maps (whose files its root may enter).
fn check_reachable(store: &Path, m: &super::idmap::IdMappings) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    for dir in store.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        let mapped = m
            .uids
            .iter()
            .any(|r| meta.uid() >= r.host && meta.uid() - r.host < r.size);
        if meta.mode() & 0o011 != 0o011 && !mapped {
            return Err(EngineError::invalid(format!(
                "the container's root cannot reach the store through {} (mode {:o}; its owner is not mapped in the container's user namespace): allow it with `chmod go+x {}`",
                dir.display(),
                meta.mode() & 0o7777,
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The running container a `container:ID` namespace mode names.
fn running_owner(
    ctx: &StoreContext,
    row: &ContainerRow,
    other: &str,
    what: &str,
) -> Result<ContainerRow> {
    let o = super::ops::lookup(ctx, other)?;
    if o.state != super::store::State::Running {
        return Err(EngineError::new(
            ErrorKind::BadState,
            format!(
                "container {} cannot join the {what} namespace of container {}: it is not running",
                row.id, o.id
            ),
        ));
    }
    Ok(o)
}

/// The PID, IPC, UTS and cgroup namespaces the container joins (`container:ID` modes).
fn joined_namespaces(
    ctx: &StoreContext,
    row: &ContainerRow,
) -> Result<Vec<(&'static str, PathBuf)>> {
    let mut out = Vec::new();
    let c = &row.config;
    for (kind, mode) in [
        ("pid", &c.pid),
        ("ipc", &c.ipc),
        ("uts", &c.uts),
        ("cgroup", &c.cgroupns),
    ] {
        if let Some(other) = mode.strip_prefix("container:") {
            let o = running_owner(ctx, row, other, kind)?;
            out.push((kind, PathBuf::from(format!("/proc/{}/ns/{kind}", o.pid))));
        }
    }
    Ok(out)
}

/// A container with mappings of its own in another's network namespace joins that
/// one's user namespace, which owns it (a pod's infra container's).
fn shared_userns(ctx: &StoreContext, row: &ContainerRow, mapped: bool) -> Result<Option<PathBuf>> {
    let Some(other) = row.config.network.strip_prefix("container:") else {
        return Ok(None);
    };
    if !mapped {
        return Ok(None);
    }
    let o = running_owner(ctx, row, other, "user")?;
    if super::idmap::for_request(&o.config)
        .ok()
        .flatten()
        .is_none()
    {
        return Ok(None);
    }
    Ok(Some(PathBuf::from(format!("/proc/{}/ns/user", o.pid))))
}

/// The container's hostname: its own, its UTS namespace owner's, or its short ID.
fn hostname(ctx: &StoreContext, row: &ContainerRow) -> Result<String> {
    if let Some(other) = row.config.uts.strip_prefix("container:") {
        let o = super::ops::lookup(ctx, other)?;
        return Ok(o.config.hostname.unwrap_or_else(|| o.id[..12].to_string()));
    }
    if row.config.uts == "host" {
        return Ok(rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned());
    }
    Ok(row
        .config
        .hostname
        .clone()
        .unwrap_or_else(|| row.id[..12].to_string()))
}

/// A container in another's network namespace (a pod's member) shares its
/// /etc/hosts and /etc/resolv.conf too, as Podman does.
fn share_network_files(ctx: &StoreContext, row: &ContainerRow, files: &mut [(PathBuf, String)]) {
    let Some(other) = row.config.network.strip_prefix("container:") else {
        return;
    };
    let Ok(o) = super::ops::lookup(ctx, other) else {
        return;
    };
    let theirs = ContainerPaths::new(&ctx.paths, &o.id).bundle();
    for (source, target) in files.iter_mut() {
        let name = match target.as_str() {
            "/etc/hosts" => "hosts",
            "/etc/resolv.conf" => "resolv.conf",
            _ => continue,
        };
        let candidate = theirs.join(name);
        if candidate.exists() {
            *source = candidate;
        }
    }
}

/// The image's EXPOSEd ports (`80/tcp`), for `-P`.
fn exposed_ports(image: &ImageConfig) -> Vec<String> {
    image
        .config
        .as_ref()
        .and_then(|c| c.exposed_ports.as_ref())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The network namespace the container joins: a bridge network's (set up now), a
/// given one (`ns:PATH`), another running container's (`container:ID`); `None` for a
/// new empty one (`none`) or the host's.
fn network_namespace(
    ctx: &StoreContext,
    row: &ContainerRow,
    hostname: &str,
    image: &ImageConfig,
    paths: &ContainerPaths,
) -> Result<(Option<PathBuf>, Option<crate::network::setup::NetState>)> {
    let mode = row.config.network.as_str();
    if matches!(mode, "bridge" | "pasta" | "slirp4netns") {
        use crate::network::setup;
        let exposed = exposed_ports(image);
        let state = if mode == "bridge" {
            setup::setup(
                ctx,
                &row.id,
                &row.name,
                hostname,
                &row.config,
                &exposed,
                &paths.run,
            )
        } else {
            setup::setup_user_mode(ctx, &row.id, &row.config, &exposed, &paths.run)
        }
        .map_err(|e| fail(format!("container {}: setting up the network: {e}", row.id)))?;
        return Ok((Some(state.netns.clone()), Some(state)));
    }
    if let Some(path) = mode.strip_prefix("ns:") {
        return Ok((Some(PathBuf::from(path)), None));
    }
    if let Some(other) = mode.strip_prefix("container:") {
        let o = super::ops::lookup(ctx, other)?;
        if o.state != super::store::State::Running {
            return Err(EngineError::new(
                ErrorKind::BadState,
                format!(
                    "container {} whose network namespace is to be shared is not running",
                    o.id
                ),
            ));
        }
        return Ok((Some(PathBuf::from(format!("/proc/{}/ns/net", o.pid))), None));
    }
    Ok((None, None))
}

/// A rootless user may not create cgroups on a cgroup v1 host, nor on a v2 host that
/// delegated it no cgroup tree: the runtime runs the container without one of its own
/// (resource limits need cgroup v2 delegation).
fn rootless_spec(spec: &mut serde_json::Value) {
    if let Some(linux) = spec.get_mut("linux").and_then(|l| l.as_object_mut()) {
        if !super::cgroup::unified() || !super::cgroup::delegated() {
            linux.remove("cgroupsPath");
            linux.remove("resources");
        }
    }
}

/// Hands crun the seccomp profile already compiled (see `seccomp_bpf`); when that
/// fails, crun compiles the spec's section itself as usual.
fn precompiled_seccomp(ctx: &StoreContext, spec: &mut serde_json::Value) {
    use base64::Engine as _;
    let Some(profile) = spec.pointer("/linux/seccomp").filter(|p| !p.is_null()) else {
        return;
    };
    let cache = ctx.paths.runroot.join("seccomp");
    match super::seccomp_bpf::program(profile, &cache) {
        Ok(Some(bpf)) => {
            let data = base64::engine::general_purpose::STANDARD.encode(bpf);
            if let Some(annotations) = spec
                .as_object_mut()
                .map(|o| {
                    o.entry("annotations")
                        .or_insert_with(|| serde_json::json!({}))
                })
                .and_then(|a| a.as_object_mut())
            {
                annotations.insert(super::seccomp_bpf::ANNOTATION.into(), data.into());
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "precompiling the seccomp profile"),
    }
}

/// `--device`s, stat'ed on the host; with `--privileged`, every host device (as Podman).
fn devices(row: &ContainerRow) -> Result<Vec<spec::ResolvedDevice>> {
    let mut out = Vec::new();
    let invalid = |e: spec::SpecError| EngineError::from_chain(ErrorKind::InvalidArgument, &e);
    if row.config.privileged {
        for path in host_device_nodes(Path::new("/dev")) {
            let p = path.display().to_string();
            let req = spec::DeviceRequest {
                host: p.clone(),
                container: p,
                permissions: "rwm".into(),
            };
            if let Ok(d) = spec::stat_device(&req) {
                out.push(d);
            }
        }
    }
    for arg in &row.config.devices {
        let req = spec::parse_device(arg).map_err(invalid)?;
        let dev = spec::stat_device(&req).map_err(invalid)?;
        out.retain(|d: &spec::ResolvedDevice| d.path != dev.path);
        out.push(dev);
    }
    Ok(out)
}

/// Character and block devices under `dir`, skipping the kernel's per-namespace ones.
fn host_device_nodes(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !matches!(
                e.file_name().to_str(),
                Some("pts" | "shm" | "mqueue" | "hugepages")
            ) {
                out.extend(host_device_nodes(&path));
            }
        } else if (ft.is_char_device() || ft.is_block_device())
            && e.file_name() != "console"
            && e.file_name() != "ptmx"
        {
            out.push(path);
        }
    }
    out
}

/// The init binary for `--init` (catatonit, as Podman; tini otherwise).
fn find_init() -> Result<PathBuf> {
    [
        "/usr/libexec/podman/catatonit",
        "/usr/bin/catatonit",
        "/usr/bin/tini-static",
        "/usr/bin/tini",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .ok_or_else(|| EngineError::invalid("--init needs catatonit or tini installed"))
}
