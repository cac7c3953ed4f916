//! Where a container's files live: persistent ones under the graph root (its writable
//! layer, the bundle, the log) and volatile ones under the run root (attach socket,
//! pid and exit files), plus each OCI runtime's state directory.

use crate::store::paths::StorePaths;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ContainerPaths {
    /// `ROOT/containers/<id>`: upper, work, merged, bundle config, log.
    pub dir: PathBuf,
    /// `RUNROOT/containers/<id>`: attach socket, pid file, exit file.
    pub run: PathBuf,
}

impl ContainerPaths {
    pub fn new(store: &StorePaths, id: &str) -> ContainerPaths {
        ContainerPaths {
            dir: store.root.join("containers").join(id),
            run: store.runroot.join("containers").join(id),
        }
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
    /// The OCI bundle directory (holds config.json; its root is `merged`).
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("userdata")
    }
    pub fn config_json(&self) -> PathBuf {
        self.bundle().join("config.json")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("userdata/ctr.log")
    }
    /// The run directory as the monitor knows it (sockets, pid, started and exit files).
    pub fn run_dir(&self) -> berth_monitor::config::RunDir {
        berth_monitor::config::RunDir(self.run.clone())
    }
}

/// The state directory given to an OCI runtime with `--root`.
pub fn runtime_root(store: &StorePaths, runtime_name: &str) -> PathBuf {
    store.runroot.join("runtime").join(runtime_name)
}

/// Where containers of the store live.
pub fn containers_dir(store: &StorePaths) -> PathBuf {
    store.root.join("containers")
}
