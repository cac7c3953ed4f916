//! `LocalEngine`: the `Engine` implementation that works on a store on this machine.
//! It parses nothing and prints nothing; it turns requests into store operations and
//! library errors into `EngineError`s with a kind and a message that names the object.

use crate::image::names::{self, LookupError};
use crate::image::{gc, pull, view};
use crate::store::db;
use crate::store::paths::StorePaths;
use berth_registry::auth::{AuthPaths, Credentials};
use berth_registry::registries_conf::RegistriesConf;
use berth_types::container::*;
use berth_types::image::*;
use berth_types::network::{Network, NetworkAttachment, NetworkCreateRequest};
use berth_types::progress::ProgressSink;
use berth_types::system::*;
use berth_types::volume::*;
use berth_types::{Engine, EngineError, ErrorKind, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Global options that shape the engine (Podman's `--root`, `--runroot`, …).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub storage_driver: Option<String>,
    pub runtime: Option<String>,
    pub cgroup_manager: Option<String>,
    /// A registries.conf to use instead of the system's.
    pub registries_conf: Option<PathBuf>,
}

/// An opened store: paths, the database connection, and registry configuration.
pub struct StoreContext {
    pub paths: StorePaths,
    pub registries: RegistriesConf,
    conn: Mutex<Connection>,
}

impl StoreContext {
    pub fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Credentials for `registry/repository` from `authfile` or the usual auth files.
    pub fn credentials_for(
        &self,
        registry: &str,
        repository: &str,
        authfile: Option<&Path>,
    ) -> std::result::Result<Option<Credentials>, Box<dyn std::error::Error + Send + Sync>> {
        let paths = auth_paths(authfile)?;
        Ok(berth_registry::auth::lookup(registry, repository, &paths)?)
    }
}

/// The auth files to read: only `authfile` when given (as Podman), else the usual ones.
pub fn auth_paths(
    authfile: Option<&Path>,
) -> std::result::Result<AuthPaths, berth_registry::auth::AuthError> {
    match authfile {
        Some(f) => Ok(AuthPaths::with_authfile(f)),
        None => AuthPaths::from_env(),
    }
}

pub struct LocalEngine {
    pub options: EngineOptions,
    pub(crate) paths: StorePaths,
    ctx: OnceLock<StoreContext>,
}

impl LocalEngine {
    pub fn new(options: EngineOptions) -> Result<LocalEngine> {
        let defaults = StorePaths::default_for_current_user();
        let paths = StorePaths {
            root: options.root.clone().unwrap_or(defaults.root),
            runroot: options.runroot.clone().unwrap_or(defaults.runroot),
        };
        if let Some(driver) = options.storage_driver.as_deref() {
            if driver != "overlay" && driver != "overlay2" {
                return Err(EngineError::new(
                    ErrorKind::Unsupported,
                    format!("storage driver {driver:?} is not supported; use \"overlay\""),
                ));
            }
        }
        Ok(LocalEngine {
            options,
            paths,
            ctx: OnceLock::new(),
        })
    }

    /// Opens the store on first use (creating it), so commands that need none stay fast.
    pub fn ctx(&self) -> Result<&StoreContext> {
        if let Some(c) = self.ctx.get() {
            return Ok(c);
        }
        self.paths.create().map_err(|e| {
            EngineError::new(
                ErrorKind::Storage,
                format!("creating store at {}: {e}", self.paths.root.display()),
            )
        })?;
        let conn = db::open(&self.paths.db(), &self.paths.locks().join("db-init.lock"))
            .map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))?;
        let registries = self.registries_conf()?;
        let _ = self.ctx.set(StoreContext {
            paths: self.paths.clone(),
            registries,
            conn: Mutex::new(conn),
        });
        self.ctx
            .get()
            .ok_or_else(|| EngineError::new(ErrorKind::Storage, "store context unavailable"))
    }

    pub(crate) fn registries_conf(&self) -> Result<RegistriesConf> {
        let loaded = match &self.options.registries_conf {
            Some(p) => RegistriesConf::load(std::slice::from_ref(p)),
            None => RegistriesConf::load_default(),
        };
        loaded.map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))
    }

    fn lookup(&self, name: &str) -> Result<db::ImageRow> {
        let ctx = self.ctx()?;
        let conn = ctx.db();
        let id = names::require_image(&conn, &ctx.registries, name).map_err(lookup_err)?;
        db::get_image(&conn, &id)
            .map_err(storage)?
            .ok_or_else(|| EngineError::not_found(format!("{name}: image not known")))
    }
}

pub(crate) fn storage(e: impl std::error::Error) -> EngineError {
    EngineError::from_chain(ErrorKind::Storage, &e)
}

pub(crate) fn lookup_err(e: LookupError) -> EngineError {
    let kind = match &e {
        LookupError::NotFound(_) => ErrorKind::NotFound,
        LookupError::Ambiguous { .. } | LookupError::Reference(_) => ErrorKind::InvalidArgument,
        LookupError::Db(_) => ErrorKind::Storage,
    };
    EngineError::from_chain(kind, &e)
}

fn pull_err(e: pull::PullError) -> EngineError {
    use berth_registry::RegistryError as R;
    use pull::PullError as P;
    let kind = match &e {
        P::Registry(R::Unauthorized { .. } | R::BadCredentials { .. } | R::Denied { .. }) => {
            ErrorKind::Unauthorized
        }
        P::Registry(R::NotFound { .. }) => ErrorKind::NotFound,
        P::Registry(R::DigestMismatch { .. } | R::TooLarge { .. }) => ErrorKind::Corrupt,
        P::Registry(_) => ErrorKind::Registry,
        P::Manifest { .. } | P::LayerCount { .. } => ErrorKind::Corrupt,
        P::Layer(l) if l.is_corrupt() => ErrorKind::Corrupt,
        P::Layer(_) | P::Store(_) => ErrorKind::Storage,
        P::Config(_) => ErrorKind::InvalidArgument,
        P::Interrupted(_) => ErrorKind::Interrupted,
    };
    EngineError::from_chain(kind, &e)
}

/// Matches `text` against a glob with `*` and `?` (for `reference=` filters).
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

impl LocalEngine {
    /// A network event naming the container that joined or left.
    fn network_event(&self, container: &str, network: &str, action: &str) {
        let Ok(ctx) = self.ctx() else { return };
        let id = crate::container::ops::lookup(ctx, container)
            .map(|r| r.id)
            .unwrap_or_default();
        let mut e = berth_types::event::Event {
            kind: "network".into(),
            action: action.into(),
            name: network.into(),
            ..Default::default()
        };
        if let Ok(n) = crate::network::ops::inspect(self, network) {
            e.id = n.id;
        }
        e.attributes.insert("container".into(), id);
        crate::events::emit(ctx, e);
    }

    fn pod_event(&self, name: &str, action: &str) {
        let Ok(ctx) = self.ctx() else { return };
        if let Ok(pod) = crate::pod::ops::lookup(ctx, name) {
            crate::events::object(ctx, "pod", action, &pod.id, &pod.name);
        }
    }

    fn filter_images(
        &self,
        rows: Vec<db::ImageRow>,
        filters: &[String],
    ) -> Result<Vec<db::ImageRow>> {
        let mut rows = rows;
        for f in filters {
            let (key, value) = f.split_once('=').ok_or_else(|| {
                EngineError::invalid(format!("invalid filter {f:?}: expected key=value"))
            })?;
            let created_of = |name: &str| -> Result<i64> { Ok(self.lookup(name)?.created) };
            rows = match key {
                "dangling" => {
                    let want = match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(EngineError::invalid(format!("invalid filter {f:?}: dangling takes true or false"))),
                    };
                    rows.into_iter().filter(|r| r.names.is_empty() == want).collect()
                }
                "label" => {
                    let (k, v) = match value.split_once('=') {
                        Some((k, v)) => (k, Some(v)),
                        None => (value, None),
                    };
                    rows.into_iter()
                        .filter(|r| {
                            let l = view::labels(r).unwrap_or_default();
                            match v {
                                Some(v) => l.get(k).is_some_and(|x| x == v),
                                None => l.contains_key(k),
                            }
                        })
                        .collect()
                }
                "reference" => rows
                    .into_iter()
                    .filter(|r| {
                        r.names.iter().any(|n| {
                            let (repo, tag) = names::split_repo_tag(n);
                            let short = repo.rsplit('/').next().unwrap_or(&repo).to_string();
                            glob(value, n)
                                || glob(value, &repo)
                                || glob(value, &format!("{short}:{tag}"))
                                || glob(value, &short)
                                || repo.ends_with(&format!("/{value}"))
                        })
                    })
                    .collect(),
                "before" => {
                    let t = created_of(value)?;
                    rows.into_iter().filter(|r| r.created < t).collect()
                }
                "since" | "after" => {
                    let t = created_of(value)?;
                    rows.into_iter().filter(|r| r.created > t).collect()
                }
                "id" => rows.into_iter().filter(|r| r.id.starts_with(value.trim_start_matches("sha256:"))).collect(),
                "digest" => rows
                    .into_iter()
                    .filter(|r| r.digest == value || r.repo_digests.iter().any(|d| d.ends_with(&format!("@{value}"))))
                    .collect(),
                other => return Err(EngineError::invalid(format!("invalid filter {other:?}: supported filters are dangling, label, reference, before, since, id, digest"))),
            };
        }
        Ok(rows)
    }
}

impl Engine for LocalEngine {
    fn version(&self) -> Result<VersionInfo> {
        Ok(crate::system::version())
    }

    fn info(&self) -> Result<SystemInfo> {
        crate::system::info(self)
    }

    fn disk_usage(&self) -> Result<Vec<DiskUsageRow>> {
        crate::system::disk_usage(self)
    }

    fn reset(&self) -> Result<()> {
        crate::system::reset(self)
    }

    fn pull_image(&self, req: &PullRequest, progress: &dyn ProgressSink) -> Result<PullReport> {
        let ctx = self.ctx()?;
        match req.policy {
            PullPolicy::Always => {}
            PullPolicy::Missing | PullPolicy::Never | PullPolicy::Newer => {
                let found = {
                    let conn = ctx.db();
                    names::find_name(&conn, &ctx.registries, &req.reference).map_err(lookup_err)?
                };
                match (found, req.policy) {
                    (Some((id, name)), PullPolicy::Missing | PullPolicy::Never) => {
                        return Ok(PullReport { id, name })
                    }
                    (None, PullPolicy::Never) => {
                        return Err(EngineError::not_found(format!(
                            "{}: image not known",
                            req.reference
                        )))
                    }
                    _ => {}
                }
            }
        }
        let _span = tracing::info_span!("pull", image = %req.reference).entered();
        let report = pull::pull(ctx, req, progress).map_err(pull_err)?;
        crate::events::image(ctx, "pull", &report.id, &report.name);
        Ok(report)
    }

    fn push_image(&self, req: &PushRequest, progress: &dyn ProgressSink) -> Result<PushReport> {
        crate::image::push::push(self, req, progress)
    }

    fn search_images(&self, req: &SearchRequest) -> Result<Vec<SearchResult>> {
        crate::image::search::search(self, req)
    }

    fn list_images(&self, req: &ListImagesRequest) -> Result<Vec<ImageSummary>> {
        let ctx = self.ctx()?;
        let rows = db::list_images(&ctx.db()).map_err(storage)?;
        let rows = self.filter_images(rows, &req.filters)?;
        Ok(rows.iter().map(view::summary).collect())
    }

    fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        let row = self.lookup(name)?;
        let ctx = self.ctx()?;
        let history = db::names_history(&ctx.db(), &row.id).map_err(storage)?;
        view::inspect(ctx, &row, history).map_err(|e| {
            EngineError::new(
                ErrorKind::Storage,
                format!("reading config of image {}: {e}", row.id),
            )
        })
    }

    fn image_exists(&self, name: &str) -> Result<bool> {
        let ctx = self.ctx()?;
        let conn = ctx.db();
        match names::find_image(&conn, &ctx.registries, name) {
            Ok(found) => Ok(found.is_some()),
            Err(LookupError::Ambiguous { .. }) => Ok(true),
            Err(e) => Err(lookup_err(e)),
        }
    }

    fn image_history(&self, name: &str) -> Result<Vec<HistoryRow>> {
        let row = self.lookup(name)?;
        let ctx = self.ctx()?;
        let sizes = {
            let conn = ctx.db();
            let mut sizes = Vec::new();
            for l in &row.layers {
                sizes.push(
                    db::get_layer(&conn, l)
                        .map_err(storage)?
                        .map(|r| r.size)
                        .unwrap_or(0),
                );
            }
            sizes
        };
        view::history(ctx, &row, &sizes).map_err(|e| {
            EngineError::new(
                ErrorKind::Storage,
                format!("reading config of image {}: {e}", row.id),
            )
        })
    }

    fn tag_image(&self, name: &str, new_names: &[String]) -> Result<()> {
        let row = self.lookup(name)?;
        let mut normalized = Vec::new();
        for n in new_names {
            normalized.push(names::normalize_new_name(n).map_err(lookup_err)?);
        }
        let ctx = self.ctx()?;
        db::add_names(&mut ctx.db(), &row.id, &normalized, gc::now_nanos()).map_err(storage)?;
        for n in &normalized {
            crate::events::image(ctx, "tag", &row.id, n);
        }
        Ok(())
    }

    fn untag_image(&self, name: &str, untag: &[String]) -> Result<Vec<String>> {
        let row = self.lookup(name)?;
        let ctx = self.ctx()?;
        let conn = ctx.db();
        let targets: Vec<String> = if untag.is_empty() {
            row.names.clone()
        } else {
            let mut t = Vec::new();
            for n in untag {
                let full = names::normalize_new_name(n).map_err(lookup_err)?;
                let matched = names::find_name(&conn, &ctx.registries, n)
                    .map_err(lookup_err)?
                    .filter(|(id, _)| *id == row.id)
                    .map(|(_, stored)| stored);
                match matched.or_else(|| row.names.contains(&full).then_some(full)) {
                    Some(s) => t.push(s),
                    None => {
                        return Err(EngineError::not_found(format!(
                            "{n}: tag not known for image {}",
                            &row.id[..12]
                        )))
                    }
                }
            }
            t
        };
        for t in &targets {
            db::remove_name(&conn, t).map_err(storage)?;
        }
        drop(conn);
        for t in &targets {
            crate::events::image(ctx, "untag", &row.id, t);
        }
        Ok(targets)
    }

    fn remove_images(&self, req: &RemoveImagesRequest) -> Result<RemoveImagesReport> {
        let report = crate::image::remove::remove(self, req)?;
        let ctx = self.ctx()?;
        for name in &report.untagged {
            crate::events::image(ctx, "untag", "", name);
        }
        for id in &report.deleted {
            crate::events::image(ctx, "remove", id, "");
        }
        Ok(report)
    }

    fn prune_images(&self, req: &PruneImagesRequest) -> Result<Vec<String>> {
        crate::image::remove::prune(self, req)
    }

    fn save_images(&self, req: &SaveRequest, out: &mut dyn std::io::Write) -> Result<()> {
        crate::image::archive::save(self, req, out)
    }

    fn load_images(&self, input: &mut dyn std::io::Read) -> Result<Vec<String>> {
        let loaded = crate::image::archive::load(self, input)?;
        for name in &loaded {
            crate::events::image(self.ctx()?, "loadfromarchive", "", name);
        }
        Ok(loaded)
    }

    fn login(&self, req: &LoginRequest) -> Result<()> {
        crate::image::login::login(self, req)
    }

    fn logout(&self, registry: Option<&str>, authfile: Option<&Path>) -> Result<bool> {
        crate::image::login::logout(registry, authfile)
    }

    fn create_secret(&self, req: &berth_types::secret::SecretCreateRequest) -> Result<String> {
        crate::secret::create(self.ctx()?, req)
    }

    fn list_secrets(&self) -> Result<Vec<berth_types::secret::SecretInfo>> {
        crate::secret::list(self.ctx()?)
    }

    fn inspect_secret(&self, name: &str) -> Result<berth_types::secret::SecretInfo> {
        crate::secret::find(self.ctx()?, name)
    }

    fn secret_exists(&self, name: &str) -> Result<bool> {
        match crate::secret::find(self.ctx()?, name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn remove_secrets(&self, names: &[String], all: bool) -> Result<Vec<String>> {
        crate::secret::remove(self.ctx()?, names, all)
    }

    fn create_container(
        &self,
        req: &ContainerCreateRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ContainerCreated> {
        let created = crate::container::ops::create(self, req, progress)?;
        crate::events::container_named(self.ctx()?, &created.id, "create");
        Ok(created)
    }

    fn start_container(
        &self,
        name: &str,
        attach: Option<AttachStreams<'_>>,
    ) -> Result<Option<AttachEnd>> {
        crate::container::ops::start(self, name, attach)
    }

    fn attach_container(&self, name: &str, attach: AttachStreams<'_>) -> Result<AttachEnd> {
        crate::container::ops::attach(self, name, attach)
    }

    fn stop_container(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        let id = crate::container::ops::stop(self, name, timeout)?;
        crate::events::container_named(self.ctx()?, &id, "stop");
        Ok(id)
    }

    fn kill_container(&self, name: &str, signal: &str) -> Result<String> {
        let id = crate::container::ops::kill(self, name, signal)?;
        crate::events::container_named(self.ctx()?, &id, "kill");
        Ok(id)
    }

    fn remove_containers(&self, req: &RemoveContainersRequest) -> Result<Vec<Result<String>>> {
        crate::container::ops::remove(self, req)
    }

    fn list_containers(&self, req: &ListContainersRequest) -> Result<Vec<ContainerSummary>> {
        crate::container::view::list(self.ctx()?, req)
    }

    fn inspect_container(&self, name: &str) -> Result<serde_json::Value> {
        crate::container::view::inspect(self.ctx()?, name)
    }

    fn container_exists(&self, name: &str) -> Result<bool> {
        crate::container::ops::exists(self, name)
    }

    fn wait_container(&self, name: &str, condition: &str) -> Result<i32> {
        crate::container::ops::wait(self, name, condition)
    }

    fn container_logs(
        &self,
        req: &LogsRequest,
        sink: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()> {
        crate::container::logs::logs(self.ctx()?, req, sink)
    }

    fn container_logs_while(
        &self,
        req: &LogsRequest,
        sink: &mut dyn FnMut(&LogLine) -> bool,
        wanted: &(dyn Fn() -> bool + Sync),
    ) -> Result<()> {
        crate::container::logs::logs_while(self.ctx()?, req, sink, wanted)
    }

    fn exec_container(&self, name: &str, req: &ExecRequest, io: AttachStreams<'_>) -> Result<i32> {
        crate::container::exec::exec(self, name, req, io)
    }

    fn restart_container(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        let id = crate::container::ops::restart(self, name, timeout)?;
        crate::events::container_named(self.ctx()?, &id, "restart");
        Ok(id)
    }

    fn pause_container(&self, name: &str) -> Result<String> {
        let id = crate::container::ops::pause(self, name, false)?;
        crate::events::container_named(self.ctx()?, &id, "pause");
        Ok(id)
    }

    fn unpause_container(&self, name: &str) -> Result<String> {
        let id = crate::container::ops::pause(self, name, true)?;
        crate::events::container_named(self.ctx()?, &id, "unpause");
        Ok(id)
    }

    fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        crate::container::ops::rename(self, name, new_name)?;
        crate::events::container_named(self.ctx()?, new_name, "rename");
        Ok(())
    }

    fn update_container(&self, name: &str, resources: &Resources) -> Result<String> {
        let id = crate::container::ops::update(self, name, resources)?;
        crate::events::container_named(self.ctx()?, &id, "update");
        Ok(id)
    }

    fn prune_containers(&self) -> Result<Vec<String>> {
        crate::container::ops::prune(self)
    }

    fn container_diff(&self, name: &str) -> Result<Vec<Change>> {
        let changes = crate::container::changes::diff(self, name)?;
        Ok(changes
            .into_iter()
            .map(|(kind, path)| Change { kind, path })
            .collect())
    }

    fn export_container(&self, name: &str, out: &mut dyn std::io::Write) -> Result<()> {
        crate::container::changes::export(self, name, out)
    }

    fn commit_container(&self, req: &CommitRequest) -> Result<String> {
        crate::container::changes::commit(self, req)
    }

    fn import_image(&self, req: &ImportRequest, input: &mut dyn std::io::Read) -> Result<String> {
        crate::container::changes::import(self, req, input)
    }

    fn copy_from_container(
        &self,
        name: &str,
        path: &str,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        crate::container::copy::copy_from(self, name, path, out)
    }

    fn copy_to_container(
        &self,
        name: &str,
        path: &str,
        input: &mut dyn std::io::Read,
    ) -> Result<()> {
        crate::container::copy::copy_to(self, name, path, input)
    }

    fn container_path_kind(&self, name: &str, path: &str) -> Result<Option<bool>> {
        crate::container::copy::path_kind(self, name, path)
    }

    fn container_path_stat(
        &self,
        name: &str,
        path: &str,
    ) -> Result<Option<berth_types::container::PathStat>> {
        crate::container::copy::path_stat(self, name, path)
    }

    fn top_container(&self, name: &str, descriptors: &[String]) -> Result<Vec<Vec<String>>> {
        crate::container::top::top(self, name, descriptors)
    }

    fn container_stats(&self, names: &[String]) -> Result<Vec<ContainerStats>> {
        crate::container::stats::stats(self, names)
    }

    fn healthcheck_run(&self, name: &str) -> Result<String> {
        crate::container::health::run(self, name)
    }

    fn create_network(&self, req: &NetworkCreateRequest) -> Result<Network> {
        let net = crate::network::ops::create(self, req)?;
        crate::events::object(self.ctx()?, "network", "create", &net.id, &net.name);
        Ok(net)
    }

    fn list_networks(&self, filters: &[String]) -> Result<Vec<Network>> {
        crate::network::ops::list(self, filters)
    }

    fn inspect_network(&self, name: &str) -> Result<Network> {
        crate::network::ops::inspect(self, name)
    }

    fn network_exists(&self, name: &str) -> Result<bool> {
        crate::network::ops::exists(self, name)
    }

    fn remove_network(&self, name: &str, force: bool) -> Result<String> {
        let removed = crate::network::ops::remove(self, name, force)?;
        crate::events::object(self.ctx()?, "network", "remove", "", &removed);
        Ok(removed)
    }

    fn prune_networks(&self, filters: &[String]) -> Result<Vec<String>> {
        let removed = crate::network::ops::prune(self, filters)?;
        for name in &removed {
            crate::events::object(self.ctx()?, "network", "remove", "", name);
        }
        Ok(removed)
    }

    fn connect_network(&self, container: &str, attachment: &NetworkAttachment) -> Result<()> {
        crate::network::ops::connect(self, container, attachment)?;
        self.network_event(container, &attachment.network, "connect");
        Ok(())
    }

    fn disconnect_network(&self, container: &str, network: &str, force: bool) -> Result<()> {
        crate::network::ops::disconnect(self, container, network, force)?;
        self.network_event(container, network, "disconnect");
        Ok(())
    }

    fn reload_networks(&self, containers: &[String], all: bool) -> Result<Vec<String>> {
        crate::network::ops::reload(self, containers, all)
    }

    fn events(
        &self,
        req: &berth_types::event::EventsRequest,
        sink: &mut dyn FnMut(Option<&berth_types::event::Event>) -> bool,
    ) -> Result<()> {
        crate::events::read(self.ctx()?, req, sink)
    }

    fn create_pod(
        &self,
        req: &berth_types::pod::PodCreateRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ContainerCreated> {
        let created = crate::pod::ops::create(self, req, progress)?;
        self.pod_event(&created.id, "create");
        Ok(created)
    }

    fn start_pod(&self, name: &str) -> Result<String> {
        let id = crate::pod::ops::start(self, name)?;
        self.pod_event(&id, "start");
        Ok(id)
    }

    fn stop_pod(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        let id = crate::pod::ops::stop(self, name, timeout)?;
        self.pod_event(&id, "stop");
        Ok(id)
    }

    fn restart_pod(&self, name: &str) -> Result<String> {
        crate::pod::ops::restart(self, name)
    }

    fn kill_pod(&self, name: &str, signal: &str) -> Result<String> {
        crate::pod::ops::kill(self, name, signal)
    }

    fn pause_pod(&self, name: &str, resume: bool) -> Result<String> {
        crate::pod::ops::pause(self, name, resume)
    }

    fn remove_pods(
        &self,
        req: &berth_types::pod::RemovePodsRequest,
    ) -> Result<Vec<Result<String>>> {
        crate::pod::ops::remove(self, req)
    }

    fn list_pods(&self, filters: &[String]) -> Result<Vec<berth_types::pod::PodSummary>> {
        crate::pod::view::list(self.ctx()?, filters)
    }

    fn inspect_pod(&self, name: &str) -> Result<serde_json::Value> {
        crate::pod::view::inspect(self.ctx()?, name)
    }

    fn pod_exists(&self, name: &str) -> Result<bool> {
        let ctx = self.ctx()?;
        Ok(matches!(
            crate::pod::store::find(&ctx.db(), name).map_err(storage)?,
            Ok(Some(_)) | Err(_)
        ))
    }

    fn prune_pods(&self) -> Result<Vec<String>> {
        crate::pod::ops::prune(self)
    }

    fn play_kube(
        &self,
        req: &berth_types::pod::KubePlayRequest,
        progress: &dyn ProgressSink,
    ) -> Result<berth_types::pod::KubePlayReport> {
        crate::kube::play::play(self, req, progress)
    }

    fn down_kube(&self, yaml: &str) -> Result<berth_types::pod::KubeDownReport> {
        crate::kube::play::down(self, yaml)
    }

    fn generate_kube(&self, names: &[String], service: bool) -> Result<String> {
        crate::kube::play::generate(self, names, service)
    }

    fn create_volume(&self, req: &VolumeCreateRequest) -> Result<String> {
        let name = crate::volume::ops::create(self.ctx()?, req)?;
        crate::events::object(self.ctx()?, "volume", "create", &name, &name);
        Ok(name)
    }

    fn list_volumes(&self, filters: &[String]) -> Result<Vec<VolumeInspect>> {
        crate::volume::ops::list(self.ctx()?, filters)
    }

    fn inspect_volume(&self, name: &str) -> Result<VolumeInspect> {
        crate::volume::ops::inspect(self.ctx()?, name)
    }

    fn volume_exists(&self, name: &str) -> Result<bool> {
        crate::volume::ops::exists(self.ctx()?, name)
    }

    fn remove_volumes(&self, req: &VolumeRemoveRequest) -> Result<Vec<String>> {
        let removed = crate::volume::ops::remove(self.ctx()?, req)?;
        for name in &removed {
            crate::events::object(self.ctx()?, "volume", "remove", name, name);
        }
        Ok(removed)
    }

    fn prune_volumes(&self, filters: &[String]) -> Result<Vec<String>> {
        let removed = crate::volume::ops::prune(self.ctx()?, filters)?;
        for name in &removed {
            crate::events::object(self.ctx()?, "volume", "remove", name, name);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_stars_and_question_marks() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*/busybox:*", "localhost/busybox:latest"));
        assert!(glob("b?sybox", "busybox"));
        assert!(!glob("busy", "busybox"));
    }
}
