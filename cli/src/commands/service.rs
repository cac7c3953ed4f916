//! `berth system service [--time SECS] [URI]`: serves the API on a unix socket (root's
//! /run/berth/berth.sock, a user's $XDG_RUNTIME_DIR/berth/berth.sock by default, or
//! the one systemd passes on socket activation), or on TCP when `tcp://HOST:PORT` asks
//! for it (unauthenticated: a warning says so), until it has been idle for `--time`
//! seconds (0: forever).

use berth_types::Engine;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServiceArgs {
    /// Seconds without a connection before the service exits (0: never)
    #[arg(short, long, value_name = "SECONDS", default_value_t = 5)]
    pub time: u64,
    /// Where to listen: unix:///path/to.sock, or tcp://IP:PORT (unauthenticated)
    #[arg(value_name = "URI")]
    pub uri: Option<String>,
    /// Also serve a machine's host on this vsock port (its bytes framed)
    #[arg(long, value_name = "PORT", hide = true)]
    pub machine_vsock: Option<u32>,
}

/// Where to listen, as the URI says.
enum Target {
    Unix(PathBuf),
    Tcp(String),
}

fn target(uri: Option<&str>, rootful: bool) -> anyhow::Result<Target> {
    let Some(u) = uri else {
        return Ok(Target::Unix(berth_api::server::socket::default_path(
            rootful,
        )));
    };
    if let Some(p) = u.strip_prefix("unix://") {
        if !p.starts_with('/') {
            anyhow::bail!("invalid URI {u:?}: unix:// needs an absolute path, got {p:?}");
        }
        return Ok(Target::Unix(PathBuf::from(p)));
    }
    if let Some(addr) = u.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        if addr.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "invalid URI {u:?}: tcp:// needs an IP address and a port (tcp://127.0.0.1:8080)"
            );
        }
        return Ok(Target::Tcp(addr.to_string()));
    }
    anyhow::bail!("invalid URI {u:?}: use unix:///path/to.sock or tcp://IP:PORT")
}

fn listen_error(what: &str, e: std::io::Error) -> anyhow::Error {
    crate::exit::with_code(crate::exit::ENGINE, format!("listening on {what}: {e}"))
}

pub fn run(engine: Box<dyn Engine>, a: ServiceArgs) -> anyhow::Result<i32> {
    use berth_api::server::Listener;
    let rootful = rustix::process::getuid().is_root() && !is_rootless();
    let idle = (a.time > 0).then(|| std::time::Duration::from_secs(a.time));
    let engine = std::sync::Arc::from(engine);
    let listeners = |first: Listener| -> anyhow::Result<Vec<Listener>> {
        let mut all = vec![first];
        if let Some(port) = a.machine_vsock {
            #[cfg(target_os = "linux")]
            all.push(Listener::VsockFramed(port));
            #[cfg(not(target_os = "linux"))]
            anyhow::bail!("--machine-vsock {port}: vsock is served on Linux only");
        }
        Ok(all)
    };
    // Socket activation: systemd made the socket and owns it.
    if let Some(activated) = berth_api::server::socket::activated() {
        let listener = activated.map_err(|e| listen_error("the activated socket", e))?;
        berth_api::server::serve(engine, listeners(Listener::Unix(listener))?, idle)
            .map_err(|e| anyhow::anyhow!("serving on the activated socket: {e}"))?;
        return Ok(0);
    }
    match target(a.uri.as_deref(), rootful)? {
        Target::Tcp(addr) => {
            let listener =
                std::net::TcpListener::bind(&addr).map_err(|e| listen_error(&addr, e))?;
            eprintln!(
                "warning: serving the API on tcp://{addr} without authentication or encryption: anyone who can reach it controls this engine"
            );
            berth_api::server::serve(engine, listeners(Listener::Tcp(listener))?, idle)
                .map_err(|e| anyhow::anyhow!("serving on tcp://{addr}: {e}"))?;
        }
        Target::Unix(path) => {
            let listener = berth_api::server::socket::bind(&path, rootful)
                .map_err(|e| listen_error(&path.display().to_string(), e))?;
            let served =
                berth_api::server::serve(engine, listeners(Listener::Unix(listener))?, idle);
            let _ = std::fs::remove_file(&path);
            served.map_err(|e| anyhow::anyhow!("serving on {}: {e}", path.display()))?;
        }
    }
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
