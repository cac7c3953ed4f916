//! Builds the engine a command talks to from the global options: the local Linux
//! engine when compiled in, otherwise a clear error (remote mode arrives with the API).

use crate::cli::GlobalOpts;
use berth_types::Engine;

#[cfg(all(target_os = "linux", feature = "local"))]
pub fn connect(g: &GlobalOpts) -> anyhow::Result<Box<dyn Engine>> {
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
pub fn connect(_g: &GlobalOpts) -> anyhow::Result<Box<dyn Engine>> {
    anyhow::bail!(
        "this build of berth has no local engine and remote connections are not supported yet"
    )
}

/// For transfers (pull, push, load): Ctrl-C removes this process's staging data first.
#[cfg(all(target_os = "linux", feature = "local"))]
pub fn cleanup_on_interrupt() {
    berth_engine::layer::staging::install_interrupt_cleanup();
}

#[cfg(not(all(target_os = "linux", feature = "local")))]
pub fn cleanup_on_interrupt() {}
