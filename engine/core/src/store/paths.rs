//! Where a store lives: the graph root (persistent) and the run root (volatile), with
//! Podman's defaults for root and for rootless users.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct StorePaths {
    pub root: PathBuf,
    pub runroot: PathBuf,
}

impl StorePaths {
    /// `/var/lib/berth` + `/run/berth` for root; XDG data and runtime dirs otherwise.
    pub fn default_for_current_user() -> StorePaths {
        if !crate::rootless::active() {
            return StorePaths {
                root: "/var/lib/berth".into(),
                runroot: "/run/berth".into(),
            };
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".local/share"));
        let uid = crate::rootless::host_uid().unwrap_or(rustix::process::geteuid().as_raw());
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| std::env::temp_dir().join(format!("berth-run-{uid}")));
        StorePaths {
            root: data.join("berth"),
            runroot: runtime.join("berth"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.root.join("berth.db")
    }
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }
    /// Staging area on the same filesystem as `layers`, so commits are renames.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// Named volumes, each at `volumes/<name>/_data` (Podman's layout).
    pub fn volumes(&self) -> PathBuf {
        self.root.join("volumes")
    }
    /// Image trees copied for containers with user namespaces (`layer::shifted`).
    pub fn idmapped(&self) -> PathBuf {
        self.root.join("idmapped")
    }
    pub fn locks(&self) -> PathBuf {
        self.runroot.join("locks")
    }
    pub fn layer_dir(&self, diff_hex: &str) -> PathBuf {
        self.layers().join(diff_hex)
    }
    pub fn blob(&self, hex: &str) -> PathBuf {
        self.blobs().join(hex)
    }

    /// Creates the directories the store needs (idempotent).
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        for dir in [&self.root, &self.runroot] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        for dir in [
            self.blobs(),
            self.layers(),
            self.tmp(),
            self.volumes(),
            self.locks(),
        ] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
        }
        Ok(())
    }
}

/// A path's display form for messages.
pub fn show(p: &Path) -> String {
    p.display().to_string()
}
