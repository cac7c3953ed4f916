//! `login` and `logout`: credentials are checked against the registry, then written to
//! the containers auth file (or `--authfile`); logout removes them from that file.

use crate::engine::{auth_paths, LocalEngine};
use berth_registry::auth::{self, Credentials};
use berth_registry::{Endpoint, RegistryClient, RegistryError};
use berth_types::image::LoginRequest;
use berth_types::{EngineError, ErrorKind, Result};
use std::path::{Path, PathBuf};

fn auth_file(authfile: Option<&Path>) -> Result<PathBuf> {
    auth_paths(authfile)
        .map(|p| p.containers)
        .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))
}

pub fn login(engine: &LocalEngine, req: &LoginRequest) -> Result<()> {
    let registries = engine.registries_conf()?;
    let host = req
        .registry
        .split('/')
        .next()
        .unwrap_or(&req.registry)
        .to_string();
    let endpoint = Endpoint {
        host: host.clone(),
        insecure: req.options.tls_verify == Some(false) || registries.is_insecure(&host),
        cert_dir: req.options.cert_dir.clone(),
    };
    let creds = Credentials {
        username: req.username.clone(),
        password: req.password.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("starting I/O runtime: {e}")))?;
    runtime
        .block_on(RegistryClient::login(&endpoint, creds.clone()))
        .map_err(|e| {
            let kind = match &e {
                RegistryError::BadCredentials { .. }
                | RegistryError::Unauthorized { .. }
                | RegistryError::Denied { .. } => ErrorKind::Unauthorized,
                _ => ErrorKind::Registry,
            };
            EngineError::from_chain(kind, &e)
        })?;
    let path = auth_file(req.options.authfile.as_deref())?;
    auth::store(&req.registry, &creds, &path)
        .map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))
}

pub fn logout(registry: Option<&str>, authfile: Option<&Path>) -> Result<bool> {
    let path = auth_file(authfile)?;
    match registry {
        Some(r) => {
            auth::remove(r, &path).map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))
        }
        None => auth::remove_all(&path)
            .map(|_| true)
            .map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e)),
    }
}
