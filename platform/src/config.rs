//! A machine's configuration and where its files live: the config document
//! (`$XDG_CONFIG_HOME/berth/machine/NAME.json`, written whole: temp file, fsync,
//! rename), its data folder (disks, kernel, keys), its runtime folder (sockets, pid
//! files, console log), and the lock that keeps parallel `berth machine` commands on
//! one machine in turn.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::PathBuf;

/// The machine `berth machine` commands use when none is named.
pub const DEFAULT_NAME: &str = "berth-machine-default";

/// A host folder shared into the machine (`--volume HOST:GUEST[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub source: PathBuf,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

impl Volume {
    /// `HOST:GUEST[:ro|rw]`; GUEST defaults to HOST. Both must be absolute.
    pub fn parse(spec: &str) -> Result<Volume, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, opt) = match parts.as_slice() {
            [s] => (*s, *s, None),
            [s, t] => (*s, *t, None),
            [s, t, o] => (*s, *t, Some(*o)),
            _ => return Err(format!("invalid volume {spec:?}: want HOST:GUEST[:ro]")),
        };
        let read_only = match opt {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(o) => return Err(format!("invalid volume {spec:?}: unknown option {o:?}")),
        };
        if !source.starts_with('/') || !target.starts_with('/') {
            return Err(format!(
                "invalid volume {spec:?}: both paths must be absolute"
            ));
        }
        if target.split('/').any(|p| p == "..") {
            return Err(format!(
                "invalid volume {spec:?}: the guest path may not contain .."
            ));
        }
        Ok(Volume {
            source: PathBuf::from(source),
            target: target.to_string(),
            read_only,
        })
    }
}

/// What `machine init` recorded, and `set` changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfig {
    pub name: String,
    pub provider: String,
    pub cpus: u32,
    pub memory_mib: u64,
    /// The data disk's size (the OS disk is the image's own).
    pub disk_gib: u64,
    /// The image as given (a reference, a file, a URL) and the digest it had.
    pub image: String,
    pub image_digest: String,
    pub rootful: bool,
    pub username: String,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub user_mode_networking: bool,
    pub ssh_port: u16,
    #[serde(default)]
    pub timezone: String,
    /// Unix seconds.
    pub created: i64,
    #[serde(default)]
    pub last_up: i64,
    /// A provisioning document of the user's, merged over the generated one.
    #[serde(default)]
    pub provision_override: Option<PathBuf>,
}

/// A machine name: what Podman accepts, short enough for socket paths.
pub fn valid_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 30
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid machine name {name:?}: use letters, digits, '_', '.' and '-' (starting with a letter or digit, at most 30)"
        ))
    }
}

fn xdg(var: &str, home_rel: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_rel)))
        .unwrap_or_else(|| std::env::temp_dir().join("berth"))
}

/// Where machines' files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
    pub run: PathBuf,
}

impl Dirs {
    /// From the XDG variables (the user's), as Podman keeps its machines.
    pub fn from_env() -> Dirs {
        let run = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| {
                let uid = rustix::process::getuid().as_raw();
                if uid == 0 {
                    PathBuf::from("/run")
                } else {
                    std::env::temp_dir().join(format!("berth-run-{uid}"))
                }
            });
        Dirs {
            config: xdg("XDG_CONFIG_HOME", ".config").join("berth/machine"),
            data: xdg("XDG_DATA_HOME", ".local/share").join("berth/machine"),
            run: run.join("berth/machine"),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config.join(format!("{name}.json"))
    }
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.data.join(name)
    }
    pub fn run_dir(&self, name: &str) -> PathBuf {
        self.run.join(name)
    }

    /// The machine's lock, held while a command changes it.
    pub fn lock(&self, name: &str) -> std::io::Result<MachineLock> {
        fs::create_dir_all(&self.config)?;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.config.join(format!(".{name}.lock")))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(MachineLock { _file: file })
    }

    pub fn load(&self, name: &str) -> std::io::Result<MachineConfig> {
        let bytes = fs::read(self.config_file(name))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.config_file(name).is_file()
    }

    /// Writes the config whole: a temp file, fsync, rename.
    pub fn save(&self, c: &MachineConfig) -> std::io::Result<()> {
        fs::create_dir_all(&self.config)?;
        let path = self.config_file(&c.name);
        let tmp = self.config.join(format!(".{}.json.tmp", c.name));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(c).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    }

    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        match fs::remove_file(self.config_file(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for dir in [self.data_dir(name), self.run_dir(name)] {
            match fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        let _ = fs::remove_file(self.config.join(format!(".{name}.lock")));
        Ok(())
    }

    /// Every machine's config, by name.
    pub fn list(&self) -> std::io::Result<Vec<MachineConfig>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.config) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".json").filter(|s| !s.starts_with('.')) {
                if let Ok(c) = self.load(stem) {
                    out.push(c);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Held while a command changes one machine; released when dropped.
pub struct MachineLock {
    _file: fs::File,
}

/// A loopback TCP port nothing listens on now.
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Whether `port` on loopback can be bound now.
pub fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_are_checked() {
        for ok in ["berth-machine-default", "m1", "a.b_c"] {
            assert!(valid_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a/b", "a b", "../x", &"x".repeat(31)] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_parse_as_podman_writes_them() {
        let v = Volume::parse("/src:/mnt/src:ro").expect("valid");
        assert_eq!(
            (v.source.as_path(), v.target.as_str(), v.read_only),
            (Path::new("/src"), "/mnt/src", true)
        );
        assert_eq!(Volume::parse("/data").expect("valid").target, "/data");
        for bad in ["rel:/x", "/x:rel", "/x:/y:zz", "/x:/../etc", "/a:/b:ro:x"] {
            assert!(Volume::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configs_round_trip_and_list() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs = Dirs {
            config: tmp.path().join("c"),
            data: tmp.path().join("d"),
            run: tmp.path().join("r"),
        };
        let c = MachineConfig {
            name: "m1".into(),
            provider: "qemu".into(),
            cpus: 2,
            memory_mib: 2048,
            disk_gib: 10,
            image: "x".into(),
            image_digest: "sha256:0".into(),
            rootful: false,
            username: "core".into(),
            volumes: vec![],
            user_mode_networking: false,
            ssh_port: 2222,
            timezone: String::new(),
            created: 1,
            last_up: 0,
            provision_override: None,
        };
        let _lock = dirs.lock("m1").expect("lock");
        dirs.save(&c).expect("save");
        assert_eq!(dirs.load("m1").expect("load"), c);
        assert_eq!(dirs.list().expect("list"), vec![c]);
        dirs.remove("m1").expect("remove");
        assert!(dirs.list().expect("list").is_empty());
    }
}
