//! `berth system service [--time SECS] [URI]`: serves the API on a unix socket (root's
//! /run/berth/berth.sock, a user's $XDG_RUNTIME_DIR/berth/berth.sock by default)
//! until it has been idle for `--time` seconds (0: forever).

use berth_types::Engine;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServiceArgs {
    /// Seconds without a connection before the service exits (0: never)
    #[arg(short, long, value_name = "SECONDS", default_value_t = 5)]
    pub time: u64,
    /// Where to listen: unix:///path/to.sock
    #[arg(value_name = "URI")]
    pub uri: Option<String>,
}

/// The socket path `uri` names, or the default one.
fn socket_path(uri: Option<&str>, rootful: bool) -> anyhow::Result<PathBuf> {
    match uri {
        None => Ok(berth_api::server::socket::default_path(rootful)),
        Some(u) => match u.strip_prefix("unix://") {
            Some(p) if p.starts_with('/') => Ok(PathBuf::from(p)),
            Some(p) => anyhow::bail!("invalid URI {u:?}: unix:// needs an absolute path, got {p:?}"),
            None if u.starts_with("tcp://") => anyhow::bail!(
                "invalid URI {u:?}: only unix:// sockets are served (a TCP listener would be unauthenticated)"
            ),
            None => anyhow::bail!("invalid URI {u:?}: use unix:///path/to.sock"),
        },
    }
}

pub fn run(engine: Box<dyn Engine>, a: ServiceArgs) -> anyhow::Result<i32> {
    let rootful = rustix::process::getuid().is_root() && !is_rootless();
    let path = socket_path(a.uri.as_deref(), rootful)?;
    let listener = berth_api::server::socket::bind(&path, rootful).map_err(|e| {
        crate::exit::with_code(
            crate::exit::ENGINE,
            format!("listening on {}: {e}", path.display()),
        )
    })?;
    let idle = (a.time > 0).then(|| std::time::Duration::from_secs(a.time));
    let served = berth_api::server::serve(std::sync::Arc::from(engine), listener, idle);
    let _ = std::fs::remove_file(&path);
    served.map_err(|e| anyhow::anyhow!("serving on {}: {e}", path.display()))?;
    Ok(0)
}

/// Whether this is a rootless user's berth (in its own user namespace, root there).
fn is_rootless() -> bool {
    #[cfg(all(target_os = "linux", feature = "local"))]
    {
        berth_engine::rootless::active()
    }
    #[cfg(not(all(target_os = "linux", feature = "local")))]
    {
        false
    }
}
