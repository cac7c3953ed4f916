//! `Store`: a throwaway berth image/container store (`--root`, `--runroot`) in
//! a temporary directory, with its own HOME so that auth files and config do
//! not leak between tests, and helpers that run the real berth binary in it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::cmd::{self, CmdResult};
use crate::env::TestEnv;

/// A fresh store; removed (after unmounting anything left inside) on drop,
/// unless `BERTH_TEST_KEEP=1`.
pub struct Store {
    dir: Option<TempDir>,
    path: PathBuf,
}

impl Store {
    pub fn new() -> Store {
        let dir = tempfile::Builder::new()
            .prefix("berth-store-")
            .tempdir()
            .expect("creating a temporary store dir");
        let path = dir.path().to_path_buf();
        for sub in ["root", "runroot", "home", "xdg-runtime"] {
            std::fs::create_dir_all(path.join(sub)).expect("creating store subdirectories");
        }
        Store {
            dir: Some(dir),
            path,
        }
    }

    /// The temporary directory holding root, runroot and home.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `--root`: images, layers, containers.
    pub fn root(&self) -> PathBuf {
        self.path.join("root")
    }

    /// `--runroot`: runtime state.
    pub fn runroot(&self) -> PathBuf {
        self.path.join("runroot")
    }

    /// The HOME berth runs with (holds e.g. `~/.config/containers/auth.json`).
    pub fn home(&self) -> PathBuf {
        self.path.join("home")
    }

    /// `["--root", ROOT, "--runroot", RUNROOT]`.
    pub fn args(&self) -> Vec<String> {
        let (root, runroot) = (self.root(), self.runroot());
        let mut args = vec![
            "--root".into(),
            path_str(&root),
            "--runroot".into(),
            path_str(&runroot),
        ];
        // tests/run.sh runs the container suites once per OCI runtime.
        if let Some(rt) = std::env::var("BERTH_TEST_RUNTIME")
            .ok()
            .filter(|r| !r.is_empty())
        {
            args.extend(["--runtime".into(), rt]);
        }
        args
    }

    /// A `berth --root .. --runroot .. ARGS` command with this store's HOME and
    /// XDG dirs and none of the caller's auth settings; for spawning by hand.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let bin = &TestEnv::get().berth_bin;
        assert!(
            bin.exists(),
            "BERTH_BIN {} does not exist: build berth (cargo build -p berth-cli) or set BERTH_BIN",
            bin.display()
        );
        let mut cmd = Command::new(bin);
        cmd.args(self.args()).args(args);
        cmd.env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.path.join("xdg-runtime"))
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .env_remove("CONTAINERS_CONF")
            .env_remove("CONTAINERS_REGISTRIES_CONF");
        cmd
    }

    /// Runs berth in this store and returns what it printed.
    pub fn berth<I, S>(&self, args: I) -> CmdResult
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cmd::run(self.command(args), None, cmd::timeout())
    }

    /// Like `berth`, feeding `stdin` to it.
    /// `berth login` to `registry` with the harness's CA and test credentials.
    pub fn login(&self, registry: &str) -> CmdResult {
        let env = TestEnv::get();
        self.login_as(registry, &env.auth_user, &env.auth_pass)
    }

    /// `berth login` to `registry` with the harness's CA and the given credentials.
    pub fn login_as(&self, registry: &str, user: &str, password: &str) -> CmdResult {
        let cert_dir = path_str(&TestEnv::get().cert_dir);
        self.berth([
            "login",
            "--cert-dir",
            cert_dir.as_str(),
            "-u",
            user,
            "-p",
            password,
            registry,
        ])
    }

    pub fn berth_input<I, S>(&self, args: I, stdin: &[u8]) -> CmdResult
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cmd::run(self.command(args), Some(stdin), cmd::timeout())
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Containers a test left behind: stop and remove them (their processes,
        // monitors and cgroups) before the store's files go.
        // Pods first: their infra containers go only with them.
        if self.root().join("containers").is_dir() {
            for args in [
                ["pod", "rm", "--all", "--force", "--time", "0"].as_slice(),
                ["rm", "--all", "--force", "--time", "0"].as_slice(),
            ] {
                if let Ok(mut c) = std::panic::catch_unwind(|| self.command(args)) {
                    let _ = c
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status();
                }
            }
        }
        unmount_under(&self.path);
        if std::env::var("BERTH_TEST_KEEP").as_deref() == Ok("1") {
            if let Some(dir) = self.dir.take() {
                eprintln!("BERTH_TEST_KEEP=1: kept store {}", dir.keep().display());
            }
        }
    }
}

fn path_str(path: &Path) -> String {
    path.to_str()
        .expect("temporary paths are UTF-8")
        .to_string()
}

/// Lazily unmounts every mount point under `dir`, deepest first, so removing
/// the store never reaches into an overlay or bind mount berth left behind.
fn unmount_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for point in points {
        let _ = Command::new("umount").arg("-l").arg(&point).status();
    }
}

/// Decodes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes() {
        assert_eq!(super::unescape(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
    }
}
