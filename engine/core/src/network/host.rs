//! The host's networks, shared by every store of one user, as Podman shares them:
//! bridges, subnets, firewall chains and addresses belong to the host, not to a store.
//! Definitions are JSON files (`/etc/berth/networks/NAME.json` for root,
//! `$XDG_CONFIG_HOME/berth/networks` otherwise); the run directory (`/run/berth/networks`
//! or `$XDG_RUNTIME_DIR/berth/networks`) holds the address leases, aardvark-dns's
//! configuration and the lock that serialises every change and every netavark call.

use crate::store::fsutil::write_atomic;
use crate::store::lock::FileLock;
use berth_types::network::Network;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// Addresses leased per network: network → address → container ID.
pub type Leases = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone)]
pub struct HostNetworks {
    pub config_dir: PathBuf,
    pub run_dir: PathBuf,
}

impl HostNetworks {
    /// The caller's: root's system-wide directories, or a user's own.
    pub fn for_caller() -> HostNetworks {
        if !crate::rootless::active() {
            return HostNetworks {
                config_dir: PathBuf::from("/etc/berth/networks"),
                run_dir: PathBuf::from("/run/berth/networks"),
            };
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        let run = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                // The user's own uid, not the 0 it is inside its namespace.
                let uid = crate::rootless::host_uid()
                    .unwrap_or_else(|| rustix::process::geteuid().as_raw());
                std::env::temp_dir().join(format!("berth-{uid}"))
            });
        HostNetworks {
            config_dir: config.join("berth/networks"),
            run_dir: run.join("berth/networks"),
        }
    }

    /// Held around every change of definitions or leases and every netavark call.
    pub fn lock(&self) -> io::Result<FileLock> {
        std::fs::create_dir_all(&self.run_dir)?;
        FileLock::exclusive(&self.run_dir.join("networks.lock"))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.json"))
    }

    /// Every network, the default one included (first).
    pub fn list(&self) -> io::Result<Vec<Network>> {
        let mut out = vec![super::default_network()];
        let entries = match std::fs::read_dir(&self.config_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        let mut found: Vec<Network> = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            match serde_json::from_slice::<Network>(&bytes) {
                Ok(n) if n.name == super::DEFAULT_NETWORK => out[0] = n,
                Ok(n) => found.push(n),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipping an unreadable network file")
                }
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(found);
        Ok(out)
    }

    /// By name, full ID or unique ID prefix.
    pub fn find(&self, name: &str) -> io::Result<Option<Network>> {
        let all = self.list()?;
        if let Some(n) = all.iter().find(|n| n.name == name || n.id == name) {
            return Ok(Some(n.clone()));
        }
        if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut hits = all.into_iter().filter(|n| n.id.starts_with(name));
        match (hits.next(), hits.next()) {
            (Some(n), None) => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    /// Writes a definition (under the lock).
    pub fn write(&self, n: &Network) -> io::Result<()> {
        std::fs::create_dir_all(&self.config_dir)?;
        let bytes = serde_json::to_vec_pretty(n).map_err(io::Error::other)?;
        write_atomic(&self.file(&n.name), &bytes, 0o644)
    }

    pub fn remove(&self, name: &str) -> io::Result<bool> {
        match std::fs::remove_file(self.file(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn leases_file(&self) -> PathBuf {
        self.run_dir.join("leases.json")
    }

    /// The leases (under the lock).
    pub fn leases(&self) -> io::Result<Leases> {
        match std::fs::read(self.leases_file()) {
            Ok(b) => serde_json::from_slice(&b).map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Leases::new()),
            Err(e) => Err(e),
        }
    }

    pub fn save_leases(&self, leases: &Leases) -> io::Result<()> {
        std::fs::create_dir_all(&self.run_dir)?;
        let bytes = serde_json::to_vec(leases).map_err(io::Error::other)?;
        write_atomic(&self.leases_file(), &bytes, 0o600)
    }

    fn last_ips_file(&self) -> PathBuf {
        self.run_dir.join("last-ips.json")
    }

    /// The address last handed out in each subnet (under the lock).
    pub fn last_ips(&self) -> io::Result<super::ipam::LastIps> {
        match std::fs::read(self.last_ips_file()) {
            Ok(b) => serde_json::from_slice(&b).map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(e),
        }
    }

    pub fn save_last_ips(&self, last: &super::ipam::LastIps) -> io::Result<()> {
        std::fs::create_dir_all(&self.run_dir)?;
        let bytes = serde_json::to_vec(last).map_err(io::Error::other)?;
        write_atomic(&self.last_ips_file(), &bytes, 0o600)
    }

    /// Gives back what `container` leased (in `network`, or everywhere); under the lock.
    pub fn release(&self, container: &str, network: Option<&str>) -> io::Result<()> {
        let mut leases = self.leases()?;
        for (net, ips) in leases.iter_mut() {
            if network.is_none_or(|n| n == net) {
                ips.retain(|_, c| c != container);
            }
        }
        leases.retain(|_, ips| !ips.is_empty());
        self.save_leases(&leases)
    }
}
