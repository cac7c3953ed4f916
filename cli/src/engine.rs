//! Builds the engine a command talks to from the global options: a Berth service's
//! (remote mode: `--url`, `--connection`, `CONTAINER_HOST`, `CONTAINER_CONNECTION`,
//! `--remote`), else the local Linux engine when compiled in.

use crate::cli::GlobalOpts;
use berth_types::Engine;

/// The remote destination the options name, if any: `--url` first, then
/// `--connection`, then with `--remote` the default connection or the default socket.
fn remote_destination(g: &GlobalOpts) -> anyhow::Result<Option<berth_api::client::Destination>> {
    use berth_api::client::Destination;
    let parse = |url: &str| Destination::parse(url).map_err(|e| anyhow::anyhow!(e));
    if let Some(url) = g.url.as_deref().filter(|u| !u.is_empty()) {
        return parse(url).map(|d| Some(d.with_identity(g.identity.clone())));
    }
    // A connection's identity, unless --identity names another.
    let with_identity = |d: Destination, saved: &str| {
        let saved = (!saved.is_empty()).then(|| std::path::PathBuf::from(saved));
        d.with_identity(g.identity.clone().or(saved))
    };
    let conns = crate::commands::connection::load()?;
    let connection = g.connection_short.as_deref().or(g.connection.as_deref());
    if let Some(name) = connection.filter(|n| !n.is_empty()) {
        let c = conns.connections.get(name).ok_or_else(|| {
            crate::exit::with_code(
                crate::exit::ENGINE,
                format!("connection {name:?} not found: see berth system connection ls"),
            )
        })?;
        return parse(&c.uri).map(|d| Some(with_identity(d, &c.identity)));
    }
    if !g.remote {
        // A machine that is the default connection takes the commands while it runs.
        if let Some(c) = conns
            .connections
            .get(&conns.default)
            .filter(|c| c.is_machine)
        {
            let socket = c.uri.strip_prefix("unix://").map(std::path::Path::new);
            if socket.is_some_and(berth_platform::machine::api_answers) {
                return parse(&c.uri).map(|d| Some(with_identity(d, &c.identity)));
            }
        }
        return Ok(None);
    }
    if let Some(c) = conns.connections.get(&conns.default) {
        return parse(&c.uri).map(|d| Some(with_identity(d, &c.identity)));
    }
    let rootful = rustix::process::getuid().is_root();
    Ok(Some(Destination::Unix(
        berth_api::server::socket::default_path(rootful),
    )))
}

#[cfg(all(target_os = "linux", feature = "local"))]
pub fn connect(g: &GlobalOpts) -> anyhow::Result<Box<dyn Engine>> {
    if let Some(dest) = remote_destination(g)? {
        return Ok(Box::new(berth_api::client::RemoteEngine::new(dest)));
    }
    if let Some(dir) = &g.config {
        // Podman's --config names the Docker config directory credentials are read from.
        std::env::set_var("DOCKER_CONFIG", dir);
    }
    // A rootless user works in its own user and mount namespaces (joined before any
    // thread exists).
    berth_engine::rootless::pause::enter().map_err(|e| anyhow::anyhow!(e))?;
    let opts = berth_engine::EngineOptions {
        root: g.root.clone(),
        runroot: g.runroot.clone(),
        storage_driver: g.storage_driver.clone(),
        runtime: g.runtime.clone(),
        cgroup_manager: g.cgroup_manager.clone(),
        registries_conf: g.registries_conf.clone(),
    };
    Ok(Box::new(berth_engine::LocalEngine::new(opts)?))
}

#[cfg(not(all(target_os = "linux", feature = "local")))]
pub fn connect(g: &GlobalOpts) -> anyhow::Result<Box<dyn Engine>> {
    match remote_destination(g)? {
        Some(dest) => Ok(Box::new(berth_api::client::RemoteEngine::new(dest))),
        None => anyhow::bail!(
            "this build of berth has no local engine: name a Berth service with --url or --connection"
        ),
    }
}

/// For transfers (pull, push, load): Ctrl-C removes this process's staging data first.
#[cfg(all(target_os = "linux", feature = "local"))]
pub fn cleanup_on_interrupt() {
    berth_engine::layer::staging::install_interrupt_cleanup();
}

#[cfg(not(all(target_os = "linux", feature = "local")))]
pub fn cleanup_on_interrupt() {}
