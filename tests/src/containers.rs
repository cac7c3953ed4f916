//! Helpers for the container tests: a store with busybox pulled, container IDs and
//! inspect documents, what `ps` lists, and the leftovers a removed container must
//! not leave behind (mounts under the store, `berth __monitor` processes, container
//! directories); polling, process checks, the database's integrity check, and an
//! image with a `VOLUME` (loaded from a docker-archive built here, since none of
//! the registry's test images declares one).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cmd::{self, CmdResult};
use crate::env::{images, TestEnv};
use crate::fault::{entries, pull_plain};
use crate::images::strip_algo;
use crate::store::Store;

/// The busybox test image on the plain registry.
pub fn busybox() -> String {
    TestEnv::get().image_ref("busybox")
}

/// A `Store` for container tests: on drop (a failed test included) it runs
/// `berth pod rm -a -f -t 0` and `berth rm -a -f -t 0` first, so no container, monitor or `runc init` outlives the
/// test; `BERTH_TEST_KEEP=1` keeps them, with the store, for a look.
pub struct ContainerStore(Store);

impl std::ops::Deref for ContainerStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0
    }
}

impl Drop for ContainerStore {
    fn drop(&mut self) {
        if std::env::var("BERTH_TEST_KEEP").as_deref() != Ok("1") {
            // Not cmd::run: a panic inside a drop that runs during a panic aborts.
            // Pods first: their infra containers go only with them.
            for args in [
                ["pod", "rm", "-a", "-f", "-t", "0"].as_slice(),
                ["rm", "-a", "-f", "-t", "0"].as_slice(),
            ] {
                let _ = self
                    .0
                    .command(args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// A fresh store holding busybox, pulled from the plain registry.
pub fn store_with_busybox() -> ContainerStore {
    let store = Store::new();
    pull_plain(&store, &busybox(), &["-q"]).ok();
    ContainerStore(store)
}

/// `berth run --pull never ARGS.. busybox CMD..` (busybox is already in the store).
pub fn run(store: &Store, args: &[&str], command: &[&str]) -> CmdResult {
    store.berth(run_args("run", args, command))
}

/// `[SUBCOMMAND, --pull never, ARGS.., busybox, COMMAND..]`.
pub fn run_args(subcommand: &str, args: &[&str], command: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![subcommand.into(), "--pull".into(), "never".into()];
    v.extend(args.iter().map(|s| s.to_string()));
    v.push(busybox());
    v.extend(command.iter().map(|s| s.to_string()));
    v
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Asserts success and that stdout is exactly one 64-hex container ID; returns it.
#[track_caller]
pub fn container_id(result: &CmdResult) -> String {
    let out = result.ok();
    let id = out.trim_end_matches('\n');
    assert!(
        is_full_id(id) && out.ends_with('\n'),
        "expected one 64-hex container ID on stdout: {result}"
    );
    id.to_string()
}

/// `berth run -d ARGS.. busybox COMMAND..`; returns the container ID.
#[track_caller]
pub fn run_detached(store: &Store, args: &[&str], command: &[&str]) -> String {
    let mut all = vec!["-d"];
    all.extend_from_slice(args);
    container_id(&run(store, &all, command))
}

/// `berth container inspect NAME`'s single object.
#[track_caller]
pub fn inspect(store: &Store, name: &str) -> Value {
    let out = store.berth(["container", "inspect", name]);
    let list: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|e| panic!("container inspect output is not a JSON array ({e}): {out}"));
    assert_eq!(list.len(), 1, "container inspect {name}: {out}");
    list.into_iter().next().expect("one element")
}

/// The lines `berth ps ARGS..` prints.
#[track_caller]
pub fn ps(store: &Store, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ps"];
    all.extend_from_slice(args);
    store.berth(all).ok().lines().map(str::to_string).collect()
}

/// `ps -a --format '{{.Names}} {{.Status}}'`.
pub fn names_and_status(store: &Store) -> Vec<String> {
    ps(store, &["-a", "--format", "{{.Names}} {{.Status}}"])
}

/// The full IDs of every container (`ps -a -q --no-trunc`), sorted.
pub fn all_ids(store: &Store) -> Vec<String> {
    let mut ids = ps(store, &["-a", "-q", "--no-trunc"]);
    ids.sort();
    ids
}

/// `berth logs ARGS.. NAME`.
pub fn logs(store: &Store, args: &[&str], name: &str) -> CmdResult {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    all.push(name);
    store.berth(all)
}

/// Polls `check` every 20 ms until it returns `Some`, panicking after `limit`.
#[track_caller]
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the container's log (stdout and stderr) contains `text`.
#[track_caller]
pub fn wait_for_log(store: &Store, name: &str, text: &str) {
    wait_for(
        &format!("{text:?} in the log of {name}"),
        Duration::from_secs(20),
        || {
            let r = logs(store, &[], name);
            (r.stdout.contains(text) || r.stderr.contains(text)).then_some(())
        },
    );
}

/// Whether process `pid` exists (and is not a zombie).
pub fn pid_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the command name's closing parenthesis.
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            !matches!(state, Some(Some('Z')) | Some(Some('X')))
        }
        Err(_) => false,
    }
}

/// Sends SIGKILL to `pid` with kill(1).
pub fn kill9(pid: i64) {
    let r = cmd::run(
        {
            let mut c = Command::new("kill");
            c.args(["-9", &pid.to_string()]);
            c
        },
        None,
        Duration::from_secs(10),
    );
    r.ok();
}

/// Mount points at or under `dir` in /proc/self/mountinfo.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect()
}

fn unescape_mountinfo(field: &str) -> String {
    let mut out = Vec::new();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(b) = field
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// PIDs of live `berth-monitor` processes whose command line names this store's root.
pub fn monitors_of(store: &Store) -> Vec<i64> {
    let root = store.root();
    let root = root.to_str().expect("UTF-8 store path");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i64>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        // The monitor, or the exit command it becomes.
        let is_monitor =
            cmdline.contains("berth-monitor") || cmdline.contains("__container-exited");
        if is_monitor && cmdline.contains(root) && pid_alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// Names under `ROOT/containers/`.
pub fn container_dirs(store: &Store) -> BTreeSet<String> {
    entries(&store.root().join("containers"))
}

/// Asserts that no container is left: `ps -a -q` prints nothing, no directory under
/// ROOT/containers, no mount under the store, no monitor process for it.
#[track_caller]
pub fn assert_no_containers_left(store: &Store, after: &str) {
    let listed = ps(store, &["-a", "-q"]);
    assert!(listed.is_empty(), "ps -a -q after {after}: {listed:?}");
    let dirs = container_dirs(store);
    assert!(
        dirs.is_empty(),
        "directories left under {}/containers after {after}: {dirs:?}",
        store.root().display()
    );
    let mounts = mounts_under(store.path());
    assert!(
        mounts.is_empty(),
        "mounts left under the store after {after}: {mounts:?}"
    );
    // A monitor finishes its cleanup just after the container is gone from the list.
    let monitors = wait_for_monitors_gone(store);
    assert!(
        monitors.is_empty(),
        "berth __monitor processes left for the store after {after}: {monitors:?}"
    );
}

/// The store's monitor processes still alive after waiting up to 5 s for them to exit.
pub fn wait_for_monitors_gone(store: &Store) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = monitors_of(store);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `PRAGMA integrity_check` on a SQLite database, with the sqlite3 CLI or, where it
/// is missing, python3's sqlite3 module (read-only either way).
pub fn integrity_check(db: &Path) -> String {
    let db = db.to_str().expect("UTF-8 path");
    let has_cli = Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut c = if has_cli {
        let mut c = Command::new("sqlite3");
        c.args(["-readonly", db, "PRAGMA integrity_check"]);
        c
    } else {
        let mut c = Command::new("python3");
        c.args([
            "-c",
            "import sqlite3, sys\n\
             con = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
             for row in con.execute('PRAGMA integrity_check'):\n    print(row[0])",
            db,
        ]);
        c
    };
    c.env_remove("PYTHONPATH");
    cmd::run(c, None, Duration::from_secs(60))
        .ok()
        .trim()
        .to_string()
}

/// The name of the image `load_volume_image` loads.
pub const VOLUME_IMAGE: &str = "localhost/berth-test/volume-image:latest";

/// Loads an image made of busybox plus a layer holding `/vol/seed` ("from the
/// image\n") whose config declares `VOLUME /vol`, as a docker-archive (uncompressed
/// layers); returns its name, `VOLUME_IMAGE`.
pub fn load_volume_image(store: &Store) -> String {
    let env = TestEnv::get();
    let layer = &images().get("busybox").layers[0];
    let blob = env
        .images_dir
        .join("busybox/blobs/sha256")
        .join(strip_algo(&layer.digest));
    let gz = std::fs::read(&blob).unwrap_or_else(|e| panic!("reading {}: {e}", blob.display()));
    let mut base = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut base)
        .expect("decompressing the busybox layer");

    let mut seed = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    seed.append_data(&mut dir, "vol/", &[][..])
        .expect("tar dir");
    let data = b"from the image\n";
    let mut file = tar::Header::new_ustar();
    file.set_mode(0o644);
    file.set_size(data.len() as u64);
    file.set_mtime(0);
    seed.append_data(&mut file, "vol/seed", &data[..])
        .expect("tar file");
    let seed = seed.into_inner().expect("finishing the seed layer");

    let diff = |b: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(b)));
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Volumes": { "/vol": {} },
        },
        "rootfs": { "type": "layers", "diff_ids": [diff(&base), diff(&seed)] },
    });
    let manifest = json!([{
        "Config": "config.json",
        "RepoTags": [VOLUME_IMAGE],
        "Layers": ["base.tar", "seed.tar"],
    }]);
    let mut archive = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("config.json", serde_json::to_vec(&config).expect("json")),
        ("base.tar", base),
        ("seed.tar", seed),
        (
            "manifest.json",
            serde_json::to_vec(&manifest).expect("json"),
        ),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        h.set_mtime(0);
        archive.append_data(&mut h, name, &bytes[..]).expect("tar");
    }
    let archive = archive.into_inner().expect("finishing the archive");
    let path = store.path().join("volume-image.tar");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&archive))
        .expect("writing the archive");
    store
        .berth(["load", "-i", path.to_str().expect("UTF-8 path")])
        .ok();
    VOLUME_IMAGE.to_string()
}

/// The OCI runtime the tests' containers run on: `BERTH_TEST_RUNTIME` (set by
/// tests/run.sh), else what Berth picks by itself (crun, unless hybrid cgroups block it).
/// Comparisons with Podman run Podman on the same one.
pub fn oci_runtime() -> String {
    if let Some(rt) = std::env::var("BERTH_TEST_RUNTIME")
        .ok()
        .filter(|r| !r.is_empty())
    {
        return rt;
    }
    let hybrid = std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .is_ok_and(|c| !c.trim().is_empty());
    if hybrid { "runc" } else { "crun" }.to_string()
}
