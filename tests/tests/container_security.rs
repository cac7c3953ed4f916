//! Security defaults of `berth run` with real runc containers, side by side with
//! Podman 4.3 (Debian's, driven with runc, cgroupfs and `--network none`) on the same
//! image: the default capability set and `--cap-add`/`--cap-drop`/`-u`, the default
//! seccomp profile (a blocked syscall gets EPERM; `seccomp=unconfined` and
//! `--privileged` lift it), masked and read-only /proc and /sys paths (`mask=`,
//! `unmask=`), `no-new-privileges`, default rlimits clamped to the caller's hard
//! limits, `--read-only`, devices, and mounts whose destination goes through a
//! symlink to `/etc` or `../../` in the image or in a volume: they land inside the
//! container's root, and nothing of the host is written or copied. A bind source
//! that is a symlink on the host is the user's choice and is resolved on the host,
//! as Podman does.
//!
//! Podman runs here only with `--ulimit` given by hand (it asks for 1048576 open
//! files, above the hard limit of these machines); Berth's own default must work.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_e2e::containers::oci_runtime;
use berth_e2e::{cmd, images, CmdResult, Store, TestEnv};
use sha2::{Digest, Sha256};

/// Every capability, in bit order, as /proc/self/status encodes them.
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// containers.conf's `default_capabilities` (Podman 4.3), sorted.
const DEFAULT_CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// containers/common's default masked paths.
const MASKED: [&str; 11] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
];

/// containers/common's default read-only paths.
const READ_ONLY: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The /proc/self/status lines about privileges.
const STATUS_KEYS: [&str; 7] = [
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
];

/// Podman's default RLIMIT_NOFILE/RLIMIT_NPROC (`define.RLimitDefaultValue`).
const RLIMIT_DEFAULT: u64 = 1_048_576;

/// The marker file name the symlink tests try to plant outside the container.
const MARKER: &str = "berth-security-marker";

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Capability names for a hex mask from /proc/self/status, sorted.
fn cap_names(hex: &str) -> Vec<&'static str> {
    let mask = u64::from_str_radix(hex.trim(), 16)
        .unwrap_or_else(|e| panic!("capability mask {hex:?}: {e}"));
    let mut names: Vec<&'static str> = CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, name)| *name)
        .collect();
    names.sort_unstable();
    names
}

/// `Key:\tvalue` lines of a /proc/PID/status text, for the keys in STATUS_KEYS.
fn status_fields(status: &str) -> BTreeMap<String, String> {
    status
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| STATUS_KEYS.contains(k))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(fields: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

/// The test process's own bounding set: what `--privileged` and `--cap-add ALL` give.
fn host_bounding_caps() -> Vec<&'static str> {
    let status = fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    cap_names(field(&status_fields(&status), "CapBnd"))
}

/// The hard limit `name` (as /proc/self/limits words it) of this process.
fn host_hard_limit(name: &str) -> u64 {
    let limits = fs::read_to_string("/proc/self/limits").expect("reading /proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} in /proc/self/limits:\n{limits}"));
    let hard = line[name.len()..]
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no hard limit in {line:?}"));
    if hard == "unlimited" {
        u64::MAX
    } else {
        hard.parse()
            .unwrap_or_else(|e| panic!("hard limit {hard:?}: {e}"))
    }
}

/// One line of /proc/self/mountinfo: mount point, per-mount options, fs type.
#[derive(Debug, Clone)]
struct MountLine {
    point: String,
    options: Vec<String>,
    fstype: String,
}

/// Parses mountinfo text; later mounts at the same point come later.
fn mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            Some(MountLine {
                point: fields.get(4)?.replace("\\040", " "),
                options: fields.get(5)?.split(',').map(str::to_string).collect(),
                fstype: right.split(' ').next()?.to_string(),
            })
        })
        .collect()
}

/// The topmost mount at `point`, if any.
fn mount_at<'a>(mounts: &'a [MountLine], point: &str) -> Option<&'a MountLine> {
    mounts.iter().rev().find(|m| m.point == point)
}

/// A Berth store and a Podman store side by side in one temporary directory, both
/// holding the harness's busybox.
struct Pair {
    store: Store,
    image: String,
}

impl Pair {
    fn new() -> Pair {
        let store = Store::new();
        let image = TestEnv::get().image_ref("busybox");
        store
            .berth(["pull", "-q", "--tls-verify=false", image.as_str()])
            .ok();
        let pair = Pair { store, image };
        pair.podman(&["pull", "-q", "--tls-verify=false", &pair.image])
            .ok();
        pair
    }

    /// `berth run --rm ARGS`.
    fn berth_run(&self, args: &[&str]) -> CmdResult {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        self.store.berth(all)
    }

    /// `berth run --rm FLAGS busybox COMMAND`.
    fn berth(&self, flags: &[&str], command: &[&str]) -> CmdResult {
        let mut args = flags.to_vec();
        args.push(&self.image);
        args.extend_from_slice(command);
        self.berth_run(&args)
    }

    /// `podman --root .. --runroot .. --storage-driver overlay --cgroup-manager cgroupfs ARGS`.
    fn podman(&self, args: &[&str]) -> CmdResult {
        let dir = self.store.path().join("podman");
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args([
                "--storage-driver",
                "overlay",
                "--cgroup-manager",
                "cgroupfs",
            ])
            .args(args)
            .env("HOME", self.store.home())
            .env_remove("CONTAINERS_CONF");
        cmd::run(c, None, cmd::timeout())
    }

    /// `podman run --rm --runtime RUNTIME --network none [--ulimit ..] ARGS`: the
    /// `--ulimit`s Podman needs here, at the caller's hard limits, unless ARGS has some.
    fn podman_run(&self, args: &[&str]) -> CmdResult {
        let nofile = host_hard_limit("Max open files").min(RLIMIT_DEFAULT);
        let nproc = host_hard_limit("Max processes").min(32768);
        let nofile = format!("nofile={nofile}:{nofile}");
        let nproc = format!("nproc={nproc}:{nproc}");
        let runtime = oci_runtime();
        let mut all = vec!["run", "--rm", "--runtime", &runtime, "--network", "none"];
        if !args.contains(&"--ulimit") {
            all.extend(["--ulimit", &nofile, "--ulimit", &nproc]);
        }
        all.extend_from_slice(args);
        self.podman(&all)
    }

    /// `podman run --rm .. FLAGS busybox COMMAND`.
    fn podman_busybox(&self, flags: &[&str], command: &[&str]) -> CmdResult {
        let mut args = flags.to_vec();
        args.push(&self.image);
        args.extend_from_slice(command);
        self.podman_run(&args)
    }

    /// Runs `sh -c SCRIPT` with FLAGS in both; asserts the same exit code and the same
    /// stdout (scripts send the messages that matter there with `2>&1`), and returns
    /// Berth's stdout.
    #[track_caller]
    fn same(&self, flags: &[&str], script: &str) -> String {
        let b = self.berth(flags, &["sh", "-c", script]);
        let p = self.podman_busybox(flags, &["sh", "-c", script]);
        assert_eq!(
            (b.code, &b.stdout),
            (p.code, &p.stdout),
            "berth and podman differ for {flags:?} {script:?}\nberth: {b}\npodman: {p}"
        );
        b.stdout
    }

    /// /proc/self/status of a container run with FLAGS, asserting that the privilege
    /// lines are the same under Podman; returns Berth's lines.
    #[track_caller]
    fn status(&self, flags: &[&str]) -> BTreeMap<String, String> {
        let b = self.berth(flags, &["cat", "/proc/self/status"]);
        let p = self.podman_busybox(flags, &["cat", "/proc/self/status"]);
        let berth = status_fields(b.ok());
        let podman = status_fields(p.ok());
        assert_eq!(
            berth, podman,
            "/proc/self/status with {flags:?}: berth left, podman right"
        );
        assert_eq!(berth.len(), STATUS_KEYS.len(), "{berth:?}");
        berth
    }
}

// ---------------------------------------------------------------- capabilities

#[test]
fn default_capabilities_are_podmans_default_set() {
    let pair = Pair::new();
    let status = pair.status(&[]);
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_names(field(&status, key)), DEFAULT_CAPS, "{key}");
    }
    assert_eq!(field(&status, "CapEff"), "00000000800405fb");
    assert_eq!(cap_names(field(&status, "CapInh")), Vec::<&str>::new());
    assert_eq!(cap_names(field(&status, "CapAmb")), Vec::<&str>::new());
}

#[test]
fn cap_add_net_admin_adds_it_and_lets_root_configure_the_network() {
    let pair = Pair::new();
    let status = pair.status(&["--cap-add", "NET_ADMIN"]);
    let mut want: Vec<&str> = DEFAULT_CAPS.to_vec();
    want.push("CAP_NET_ADMIN");
    want.sort_unstable();
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_names(field(&status, key)), want, "{key}");
    }
    let denied = pair.berth(&[], &["ip", "link", "set", "lo", "down"]);
    assert!(
        denied.fails().contains("Operation not permitted"),
        "without NET_ADMIN: {denied}"
    );
    pair.berth(
        &["--cap-add", "net_admin"],
        &["ip", "link", "set", "lo", "down"],
    )
    .ok();
}

#[test]
fn cap_drop_chown_removes_it_and_chown_fails_with_eperm() {
    let pair = Pair::new();
    let status = pair.status(&["--cap-drop", "CHOWN"]);
    let want: Vec<&str> = DEFAULT_CAPS
        .iter()
        .copied()
        .filter(|c| *c != "CAP_CHOWN")
        .collect();
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_names(field(&status, key)), want, "{key}");
    }
    let script = "touch /f && chown 1000 /f";
    let out = pair.berth(&["--cap-drop", "CHOWN"], &["sh", "-c", script]);
    assert_eq!(out.fails_with(1), "chown: /f: Operation not permitted\n");
    let out = pair.berth(
        &[],
        &["sh", "-c", "touch /f && chown 1000 /f && stat -c %u /f"],
    );
    assert_eq!(out.ok(), "1000\n", "CAP_CHOWN is there by default");
    pair.same(
        &["--cap-drop", "CHOWN"],
        "touch /f; chown 1000 /f 2>&1; echo $?",
    );
}

#[test]
fn cap_add_all_gives_the_callers_whole_bounding_set() {
    let pair = Pair::new();
    let status = pair.status(&["--cap-add", "ALL"]);
    let host = host_bounding_caps();
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_names(field(&status, key)), host, "{key}");
    }
    assert_eq!(
        field(&status, "Seccomp"),
        "2",
        "--cap-add ALL keeps seccomp"
    );
}

#[test]
fn a_non_root_user_has_no_effective_capabilities_unless_added() {
    let pair = Pair::new();
    let status = pair.status(&["-u", "1000"]);
    for key in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(field(&status, key), "0000000000000000", "{key}");
    }
    assert_eq!(cap_names(field(&status, "CapBnd")), DEFAULT_CAPS);
    let status = pair.status(&["-u", "1000", "--cap-add", "NET_RAW"]);
    for key in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(cap_names(field(&status, key)), ["CAP_NET_RAW"], "{key}");
    }
    let out = pair.berth(&["-u", "1000"], &["touch", "/f"]);
    assert!(out.fails().contains("Permission denied"), "{out}");
}

#[test]
fn unknown_or_conflicting_capabilities_are_refused_with_125() {
    let pair = Pair::new();
    let out = pair.berth(&["--cap-add", "BOGUS"], &["true"]);
    assert!(out.fails_with(125).contains("BOGUS"), "{out}");
    let out = pair.berth(
        &["--cap-add", "NET_RAW", "--cap-drop", "NET_RAW"],
        &["true"],
    );
    assert!(out.fails_with(125).contains("NET_RAW"), "{out}");
    let listed = pair.store.berth(["ps", "-a", "-q"]);
    assert_eq!(listed.ok(), "", "no container left behind");
}

// --------------------------------------------------------------------- seccomp

#[test]
fn default_seccomp_blocks_swapoff_with_eperm_and_unconfined_lifts_it() {
    // swapoff is in the profile's unconditional errno list; with CAP_SYS_ADMIN the
    // kernel itself would get as far as looking the file up (ENOENT).
    let pair = Pair::new();
    let blocked = pair.berth(&["--cap-add", "SYS_ADMIN"], &["swapoff", "/nonexistent"]);
    assert_eq!(
        blocked.fails_with(1),
        "swapoff: /nonexistent: Operation not permitted\n"
    );
    let free = pair.berth(
        &[
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "seccomp=unconfined",
        ],
        &["swapoff", "/nonexistent"],
    );
    assert_eq!(
        free.fails_with(1),
        "swapoff: /nonexistent: No such file or directory\n"
    );
    for flags in [
        &["--cap-add", "SYS_ADMIN"][..],
        &[
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "seccomp=unconfined",
        ],
    ] {
        pair.same(flags, "swapoff /nonexistent 2>&1; echo $?");
    }
}

#[test]
fn seccomp_status_is_filtered_by_default_and_off_when_unconfined_or_privileged() {
    let pair = Pair::new();
    assert_eq!(field(&pair.status(&[]), "Seccomp"), "2");
    let unconfined = pair.status(&["--security-opt", "seccomp=unconfined"]);
    assert_eq!(field(&unconfined, "Seccomp"), "0");
    assert_eq!(cap_names(field(&unconfined, "CapEff")), DEFAULT_CAPS);
    assert_eq!(field(&pair.status(&["--privileged"]), "Seccomp"), "0");
}

#[test]
fn crun_gets_the_seccomp_profile_compiled_once_and_runc_compiles_its_own() {
    let pair = Pair::new();
    let store = &pair.store;
    for name in ["s1", "s2"] {
        let mut args = vec!["create", "--network", "none", "--name", name];
        args.extend([pair.image.as_str(), "true"]);
        store.berth(args).ok();
        store.berth(["start", name]).ok();
    }
    let id = store
        .berth(["inspect", "--format", "{{.Id}}", "s1"])
        .ok()
        .trim()
        .to_string();
    let spec: serde_json::Value = serde_json::from_slice(
        &fs::read(
            store
                .root()
                .join("containers")
                .join(&id)
                .join("userdata/config.json"),
        )
        .expect("the container's spec"),
    )
    .expect("JSON");
    let bpf = &spec["annotations"]["run.oci.seccomp_bpf_data"];
    let cached: Vec<_> = fs::read_dir(store.runroot().join("seccomp"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    if oci_runtime() == "crun" {
        assert!(bpf.as_str().is_some_and(|b| b.len() > 1000), "{spec}");
        assert!(
            spec["linux"]["seccomp"].is_object(),
            "the profile stays in the spec"
        );
        assert_eq!(cached.len(), 1, "one compiled program for one profile");
    } else {
        assert!(bpf.is_null(), "runc does not read the annotation");
        assert!(cached.is_empty());
    }
}

/// A profile allowing everything but mkdir/mkdirat (EPERM), in the containers/common format.
fn write_mkdir_profile(store: &Store) -> PathBuf {
    let path = store.path().join("no-mkdir.json");
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    fs::write(&path, profile.to_string()).expect("writing the seccomp profile");
    path
}

#[test]
fn a_custom_seccomp_profile_is_applied() {
    let pair = Pair::new();
    let profile = write_mkdir_profile(&pair.store);
    let opt = format!("seccomp={}", path_str(&profile));
    let out = pair.berth(&["--security-opt", &opt], &["mkdir", "/d"]);
    assert_eq!(
        out.fails_with(1),
        "mkdir: can't create directory '/d': Operation not permitted\n"
    );
    pair.same(&["--security-opt", &opt], "mkdir /d 2>&1; echo $?");
}

#[test]
fn privileged_keeps_an_explicitly_given_seccomp_profile_like_podman() {
    // Podman 4.3 drops seccomp for --privileged only when no profile was named.
    let pair = Pair::new();
    let profile = write_mkdir_profile(&pair.store);
    let opt = format!("seccomp={}", path_str(&profile));
    let flags = ["--privileged", "--security-opt", opt.as_str()];
    let status = pair.status(&flags);
    assert_eq!(field(&status, "Seccomp"), "2");
    let out = pair.berth(&flags, &["mkdir", "/d"]);
    assert_eq!(
        out.fails_with(1),
        "mkdir: can't create directory '/d': Operation not permitted\n"
    );
}

#[test]
fn a_missing_seccomp_profile_is_an_error_naming_it() {
    let pair = Pair::new();
    let out = pair.berth(&["--security-opt", "seccomp=/nonexistent.json"], &["true"]);
    assert!(out.fails_with(125).contains("/nonexistent.json"), "{out}");
    assert_eq!(pair.store.berth(["ps", "-a", "-q"]).ok(), "");
}

// ------------------------------------------------------- masked and read-only paths

/// A script printing, for each default masked path and each of `extra`: `PATH absent`,
/// or `PATH TYPE:MAJOR:MINOR ENTRIES BYTES` (entries listed by `ls -A`, up to 64 bytes
/// read).
fn mask_probe(extra: &[&str]) -> String {
    let paths: Vec<&str> = MASKED.iter().chain(extra).copied().collect();
    format!(
        r#"for f in {}; do
  if [ -e "$f" ]; then
    echo "$f $(stat -c %F:%t:%T "$f") $(ls -A "$f" 2>/dev/null | wc -l) $(head -c 64 "$f" 2>/dev/null | wc -c)"
  else
    echo "$f absent"
  fi
done"#,
        paths.join(" ")
    )
}

fn probe_lines(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, rest)| (p.to_string(), rest.to_string()))
        .collect()
}

#[test]
fn masked_paths_are_masked_like_podman() {
    let pair = Pair::new();
    let probe = probe_lines(&pair.same(&[], &mask_probe(&[])));
    for path in MASKED {
        let got = &probe[path];
        if !Path::new(path).exists() {
            assert_eq!(got, "absent", "{path} is not on this host");
        } else if Path::new(path).is_dir() {
            assert_eq!(got, "directory:0:0 0 0", "{path}: an empty tmpfs");
        } else {
            assert_eq!(got, "character special file:1:3 1 0", "{path}: /dev/null");
        }
    }
    let mounts = mountinfo(pair.berth(&[], &["cat", "/proc/self/mountinfo"]).ok());
    for path in MASKED.iter().filter(|p| Path::new(p).is_dir()) {
        let m = mount_at(&mounts, path).unwrap_or_else(|| panic!("{path} not masked"));
        assert_eq!(m.fstype, "tmpfs", "{path}");
        assert!(m.options.iter().any(|o| o == "ro"), "{path}: {m:?}");
    }
}

#[test]
fn read_only_paths_refuse_writes() {
    let pair = Pair::new();
    let mounts = mountinfo(pair.berth(&[], &["cat", "/proc/self/mountinfo"]).ok());
    for path in READ_ONLY.iter().filter(|p| Path::new(p).exists()) {
        let m = mount_at(&mounts, path).unwrap_or_else(|| panic!("{path} is not a mount"));
        assert!(m.options.iter().any(|o| o == "ro"), "{path}: {m:?}");
    }
    let sys = mount_at(&mounts, "/sys").expect("/sys is mounted");
    assert!(sys.options.iter().any(|o| o == "ro"), "/sys: {sys:?}");
    let out = pair.berth(&[], &["sh", "-c", "echo evil > /proc/sys/kernel/hostname"]);
    assert!(
        out.fails().contains("Read-only file system"),
        "writing /proc/sys: {out}"
    );
    let out = pair.berth(&[], &["touch", "/sys/kernel/berth-test"]);
    assert!(out.fails().contains("Read-only file system"), "{out}");
    pair.same(
        &[],
        "echo evil > /proc/sys/kernel/hostname 2>/dev/null; echo $?; touch /sys/x 2>/dev/null; echo $?",
    );
}

#[test]
fn privileged_lifts_masks_read_only_paths_and_seccomp_and_gets_every_capability() {
    let pair = Pair::new();
    let status = pair.status(&["--privileged"]);
    let host = host_bounding_caps();
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_names(field(&status, key)), host, "{key}");
    }
    assert_eq!(field(&status, "Seccomp"), "0");
    let mounts = mountinfo(
        pair.berth(&["--privileged"], &["cat", "/proc/self/mountinfo"])
            .ok(),
    );
    for path in MASKED.iter().chain(READ_ONLY.iter()) {
        assert!(mount_at(&mounts, path).is_none(), "{path} is still a mount");
    }
    let sys = mount_at(&mounts, "/sys").expect("/sys is mounted");
    assert!(sys.options.iter().any(|o| o == "rw"), "/sys: {sys:?}");
    let probe_out = pair.berth(&["--privileged"], &["sh", "-c", &mask_probe(&[])]);
    let probe = probe_lines(probe_out.ok());
    assert!(
        probe["/proc/keys"].starts_with("regular"),
        "/proc/keys: {}",
        probe["/proc/keys"]
    );
    let host_firmware = fs::read_dir("/sys/firmware").map_or(0, Iterator::count);
    assert_eq!(
        probe["/sys/firmware"],
        format!("directory:0:0 {host_firmware} 0"),
        "/sys/firmware shows the host's entries"
    );
    if Path::new("/proc/kcore").exists() {
        assert!(probe["/proc/kcore"].starts_with("regular"), "{probe:?}");
    }
}

#[test]
fn mask_adds_a_masked_path_even_when_privileged() {
    let pair = Pair::new();
    for flags in [
        &["--security-opt", "mask=/etc/hostname"][..],
        &["--privileged", "--security-opt", "mask=/etc/hostname"],
    ] {
        let probe = probe_lines(&pair.same(flags, &mask_probe(&["/etc/hostname"])));
        assert_eq!(
            probe["/etc/hostname"], "character special file:1:3 1 0",
            "{flags:?}"
        );
    }
    let out = pair.berth(&["--security-opt", "mask=relative"], &["true"]);
    assert!(out.fails_with(125).contains("mask=relative"), "{out}");
}

#[test]
fn unmask_lifts_one_path_or_all_of_them() {
    let pair = Pair::new();
    let probe = probe_lines(&pair.same(&["--security-opt", "unmask=/proc/keys"], &mask_probe(&[])));
    assert!(probe["/proc/keys"].starts_with("regular"), "{probe:?}");
    assert_eq!(probe["/proc/timer_list"], "character special file:1:3 1 0");
    for flags in [
        &["--security-opt", "unmask=ALL"][..],
        &["--security-opt", "systempaths=unconfined"],
    ] {
        let out = pair.berth(flags, &["cat", "/proc/self/mountinfo", "/proc/self/status"]);
        let mounts = mountinfo(out.ok());
        for path in MASKED.iter().chain(READ_ONLY.iter()) {
            assert!(
                mount_at(&mounts, path).is_none(),
                "{flags:?}: {path} still a mount"
            );
        }
        let sys = mount_at(&mounts, "/sys").expect("/sys is mounted");
        assert!(
            sys.options.iter().any(|o| o == "ro"),
            "unmask leaves /sys read-only: {sys:?}"
        );
        assert_eq!(
            field(&status_fields(&out.stdout), "Seccomp"),
            "2",
            "{flags:?}"
        );
    }
    pair.same(&["--security-opt", "unmask=ALL"], &mask_probe(&[]));
}

// ------------------------------------------------------ no-new-privileges, rlimits

#[test]
fn no_new_privileges_sets_the_flag_only_when_asked() {
    let pair = Pair::new();
    assert_eq!(field(&pair.status(&[]), "NoNewPrivs"), "0");
    let status = pair.status(&["--security-opt", "no-new-privileges"]);
    assert_eq!(field(&status, "NoNewPrivs"), "1");
    assert_eq!(cap_names(field(&status, "CapEff")), DEFAULT_CAPS);
    let status = pair.status(&["--security-opt", "no-new-privileges=true"]);
    assert_eq!(field(&status, "NoNewPrivs"), "1");
    let status = pair.status(&["--security-opt", "no-new-privileges=false"]);
    assert_eq!(field(&status, "NoNewPrivs"), "0");
}

#[test]
fn no_new_privileges_also_holds_for_exec() {
    let pair = Pair::new();
    let id = pair
        .store
        .berth([
            "run",
            "-d",
            "--security-opt",
            "no-new-privileges",
            pair.image.as_str(),
            "sleep",
            "60",
        ])
        .ok()
        .trim()
        .to_string();
    let out = pair.store.berth(["exec", &id, "cat", "/proc/self/status"]);
    let status = status_fields(out.ok());
    pair.store.berth(["rm", "-f", "-t", "0", &id]).ok();
    assert_eq!(field(&status, "NoNewPrivs"), "1");
    assert_eq!(field(&status, "Seccomp"), "2");
    assert_eq!(cap_names(field(&status, "CapEff")), DEFAULT_CAPS);
}

#[test]
fn default_rlimits_are_clamped_to_the_callers_hard_limits() {
    let pair = Pair::new();
    let nofile = host_hard_limit("Max open files").min(RLIMIT_DEFAULT);
    let nproc = host_hard_limit("Max processes").min(RLIMIT_DEFAULT);
    let out = pair.berth(
        &[],
        &["sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu"],
    );
    assert_eq!(out.ok(), format!("{nofile}\n{nofile}\n{nproc}\n{nproc}\n"));
    // What Podman gives when it is told the same limits.
    let flags = [
        "--ulimit",
        "nofile=1024:2048",
        "--ulimit",
        "nproc=10000:20000",
    ];
    let got = pair.same(
        &flags,
        "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    );
    assert_eq!(
        got, "1024\n2048\n10000\n20000\n2048\n",
        "pids.max is Podman's 2048"
    );
    if nofile < u64::MAX {
        let above = format!("nofile={}:{}", nofile + 1, nofile + 1);
        let out = pair.berth(&["--ulimit", &above], &["true"]);
        assert!(out.fails_with(125).contains("nofile"), "{out}");
    }
}

// ---------------------------------------------------------------- --read-only

#[test]
fn read_only_root_refuses_writes_but_tmp_run_and_var_tmp_are_writable() {
    let pair = Pair::new();
    let script = "touch /x 2>&1; for d in /tmp /run /var/tmp /dev/shm; do touch $d/f 2>&1 && echo $d writable; done; awk '$5 == \"/\" {print $6}' /proc/self/mountinfo";
    let out = pair.same(&["--read-only"], script);
    assert_eq!(
        out,
        "touch: /x: Read-only file system\n/tmp writable\n/run writable\n/var/tmp writable\n/dev/shm writable\nro,relatime\n"
    );
    let out = pair.same(&["--read-only", "--read-only-tmpfs=false"], script);
    assert!(
        out.starts_with("touch: /x: Read-only file system\ntouch: /tmp/f: Read-only file system\n"),
        "{out}"
    );
    let out = pair.berth(&[], &["sh", "-c", "touch /x && echo ok"]);
    assert_eq!(out.ok(), "ok\n", "the root is writable without --read-only");
}

// -------------------------------------------------------------------- devices

#[test]
fn the_device_cgroup_refuses_nodes_made_with_cap_mknod_except_the_default_ones() {
    // With CAP_MKNOD a container may make nodes; the device cgroup lets it use only
    // Podman's default devices (c 1:3 is /dev/null), so c 1:1 (/dev/mem) is refused.
    // The nodes are made in /dev, a tmpfs without nodev in both engines.
    let pair = Pair::new();
    let script = "mknod /dev/null2 c 1 3 && echo hi > /dev/null2 && echo null2 usable; mknod /dev/mem2 c 1 1 && head -c 1 /dev/mem2 2>&1; echo $?";
    let out = pair.same(&["--cap-add", "MKNOD"], script);
    assert_eq!(
        out,
        "null2 usable\nhead: /dev/mem2: Operation not permitted\n1\n"
    );
    let out = pair.berth(&[], &["mknod", "/dev/null2", "c", "1", "3"]);
    assert!(
        out.fails().contains("Operation not permitted"),
        "no CAP_MKNOD by default: {out}"
    );
}

#[test]
fn a_node_made_in_the_root_file_system_is_usable_like_podman() {
    // Podman mounts the container's overlay root without nodev, so a node the
    // container makes there (or one an image ships) works, within the device cgroup.
    let pair = Pair::new();
    let script = "mknod /null2 c 1 3 && echo hi > /null2 && echo null2 usable; awk '$5 == \"/\" {print $6}' /proc/self/mountinfo";
    let out = pair.same(&["--cap-add", "MKNOD"], script);
    assert_eq!(out, "null2 usable\nrw,relatime\n");
}

#[test]
fn device_adds_the_host_device() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("skipped: this host has no /dev/fuse");
        return;
    }
    let pair = Pair::new();
    let out = pair.same(&["--device", "/dev/fuse"], "stat -c '%F %t:%T' /dev/fuse");
    assert_eq!(out, "character special file a:e5\n");
}

#[test]
fn privileged_sees_the_host_devices_like_podman() {
    let pair = Pair::new();
    let berth = pair.berth(&["--privileged"], &["ls", "/dev"]);
    let podman = pair.podman_busybox(&["--privileged"], &["ls", "/dev"]);
    let names = |out: &str| -> Vec<String> { out.lines().map(str::to_string).collect() };
    let (berth, podman) = (names(berth.ok()), names(podman.ok()));
    let missing: Vec<&String> = podman.iter().filter(|n| !berth.contains(n)).collect();
    let extra: Vec<&String> = berth.iter().filter(|n| !podman.contains(n)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "/dev of a --privileged container: missing {missing:?}, not in podman's {extra:?}"
    );
}

// ------------------------------------------------------------------ symlinks

/// Names of a directory's entries, sorted; empty when it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A volume's `_data` on the host (Podman's layout).
fn volume_data(store: &Store, name: &str) -> PathBuf {
    store.root().join("volumes").join(name).join("_data")
}

/// Host paths that must never appear: panics (after removing them) if one did.
struct MustNotExist(Vec<PathBuf>);

impl MustNotExist {
    fn new(paths: Vec<PathBuf>) -> MustNotExist {
        for p in &paths {
            assert!(
                fs::symlink_metadata(p).is_err(),
                "{} exists before the test: remove it (left by an earlier run?)",
                p.display()
            );
        }
        MustNotExist(paths)
    }

    #[track_caller]
    fn check(&self) {
        let found: Vec<&PathBuf> = self
            .0
            .iter()
            .filter(|p| fs::symlink_metadata(p).is_ok())
            .collect();
        for p in &found {
            let _ = fs::remove_file(p).or_else(|_| fs::remove_dir_all(p));
        }
        assert!(found.is_empty(), "written on the host: {found:?}");
    }
}

impl Drop for MustNotExist {
    fn drop(&mut self) {
        for p in &self.0 {
            if fs::symlink_metadata(p).is_ok() {
                let _ = fs::remove_file(p).or_else(|_| fs::remove_dir_all(p));
            }
        }
    }
}

/// A unique name for host paths this test process may touch.
fn unique(what: &str) -> String {
    format!("{MARKER}-{}-{what}", std::process::id())
}

/// A directory in the host's /etc that the test image does not have (its /etc holds
/// only passwd and group): what a copy-up through `/etc2 -> /etc` would leak.
fn host_only_etc_dir() -> String {
    let mut dirs: Vec<String> = fs::read_dir("/etc")
        .expect("reading /etc")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .next()
        .expect("the host's /etc has a non-empty directory")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The symlinks the test image adds on top of busybox: `/etc2 -> /etc` and
/// `/up -> ../../../..` (deep enough to reach `/` from anywhere on the host).
const UP: &str = "../../../../../../../../../../../../../../../..";

/// The name the symlink image is loaded under, in both engines.
const SYMLINK_IMAGE: &str = "localhost/berth-test/symlinks:latest";

/// Writes a docker-archive: busybox's layer (from the harness's OCI layout) plus a
/// layer with `etc2 -> /etc` and `up -> UP`, and the image VOLUMEs `volumes`.
fn symlink_archive(dir: &Path, volumes: &[&str]) -> PathBuf {
    let env = TestEnv::get();
    let busybox = images().get("busybox");
    let blob = &busybox.layers[0];
    let blob_path = env
        .images_dir
        .join("busybox/blobs/sha256")
        .join(blob.digest.strip_prefix("sha256:").expect("sha256 digest"));
    let mut base = Vec::new();
    flate2::read::GzDecoder::new(
        fs::File::open(&blob_path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", blob_path.display())),
    )
    .read_to_end(&mut base)
    .expect("gunzipping the busybox layer");
    assert_eq!(format!("sha256:{}", sha256_hex(&base)), blob.diff_id);

    let mut links = tar::Builder::new(Vec::new());
    for (name, target) in [("etc2", "/etc"), ("up", UP)] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(1_704_067_200);
        h.set_link_name(target).expect("link name");
        links
            .append_data(&mut h, name, std::io::empty())
            .expect("adding a symlink");
    }
    let links = links.into_inner().expect("finishing the symlink layer");

    let diff_ids = [sha256_hex(&base), sha256_hex(&links)];
    let vols: serde_json::Map<String, serde_json::Value> = volumes
        .iter()
        .map(|v| (v.to_string(), serde_json::json!({})))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Volumes": vols,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| format!("sha256:{d}")).collect::<Vec<_>>()},
    })
    .to_string()
    .into_bytes();
    let config_name = format!("{}.json", sha256_hex(&config));
    let layer_names: Vec<String> = diff_ids.iter().map(|d| format!("{d}.tar")).collect();
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [SYMLINK_IMAGE],
        "Layers": layer_names,
    }])
    .to_string()
    .into_bytes();

    let path = dir.join("symlinks.tar");
    let mut archive = tar::Builder::new(fs::File::create(&path).expect("creating the archive"));
    for (name, data) in [
        (config_name.as_str(), &config),
        (layer_names[0].as_str(), &base),
        (layer_names[1].as_str(), &links),
        ("manifest.json", &manifest),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_704_067_200);
        archive
            .append_data(&mut h, name, data.as_slice())
            .expect("adding to the archive");
    }
    archive.finish().expect("writing the archive");
    path
}

/// A pair whose stores also hold the symlink image (with image VOLUMEs `volumes`).
fn symlink_pair(volumes: &[&str]) -> Pair {
    let pair = Pair::new();
    let archive = symlink_archive(pair.store.path(), volumes);
    let out = pair.store.berth(["load", "-i", path_str(&archive)]);
    assert_eq!(out.ok(), format!("Loaded image: {SYMLINK_IMAGE}\n"));
    pair.podman(&["load", "-q", "-i", path_str(&archive)]).ok();
    pair
}

#[test]
fn bind_destinations_through_image_symlinks_land_inside_the_container() {
    let pair = symlink_pair(&[]);
    let via_etc = unique("etc2");
    let via_up = unique("up");
    let guard = MustNotExist::new(vec![
        Path::new("/etc").join(&via_etc),
        Path::new("/etc").join(&via_up),
        Path::new("/").join(&via_up),
    ]);
    let host_dir = pair.store.path().join("bind-src");
    fs::create_dir(&host_dir).expect("mkdir bind-src");
    let src = path_str(&host_dir);
    let script = format!(
        "touch /etc2/{via_etc}/{MARKER} /up/etc/{via_up}/{MARKER} && awk '$5 ~ /{MARKER}/ {{print $5}}' /proc/self/mountinfo"
    );
    let out = pair.berth_run(&[
        "-v",
        &format!("{src}:/etc2/{via_etc}"),
        "--mount",
        &format!("type=bind,src={src},dst=/up/etc/{via_up}"),
        SYMLINK_IMAGE,
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        out.ok(),
        format!("/etc/{via_etc}\n/etc/{via_up}\n"),
        "both binds are at the container's /etc"
    );
    assert_eq!(
        entries(&host_dir),
        [MARKER],
        "the marker went into the bind"
    );
    guard.check();
}

#[test]
fn tmpfs_and_volume_destinations_through_image_symlinks_stay_inside() {
    let pair = symlink_pair(&[]);
    let names: Vec<String> = ["tmpfs-etc2", "tmpfs-up", "vol-etc2", "vol-up"]
        .iter()
        .map(|w| unique(w))
        .collect();
    let guard = MustNotExist::new(
        names
            .iter()
            .flat_map(|n| [Path::new("/etc").join(n), Path::new("/").join(n)])
            .collect(),
    );
    let script = format!(
        "for d in /etc2/{0} /up/etc/{1} /etc2/{2} /up/{3}; do touch $d/{MARKER} || exit 1; done; awk '$5 ~ /{MARKER}/ {{print $5}}' /proc/self/mountinfo | sort",
        names[0], names[1], names[2], names[3]
    );
    let out = pair.berth_run(&[
        "--mount",
        &format!("type=tmpfs,dst=/etc2/{}", names[0]),
        "--tmpfs",
        &format!("/up/etc/{}", names[1]),
        "-v",
        &format!("vol1:/etc2/{}", names[2]),
        "--mount",
        &format!("type=volume,src=vol2,dst=/up/{}", names[3]),
        SYMLINK_IMAGE,
        "sh",
        "-c",
        &script,
    ]);
    let mut want = vec![
        format!("/etc/{}", names[0]),
        format!("/etc/{}", names[1]),
        format!("/etc/{}", names[2]),
        format!("/{}", names[3]),
    ];
    want.sort();
    assert_eq!(out.ok().lines().collect::<Vec<_>>(), want);
    assert_eq!(entries(&volume_data(&pair.store, "vol1")), [MARKER]);
    assert_eq!(entries(&volume_data(&pair.store, "vol2")), [MARKER]);
    guard.check();
}

#[test]
fn symlinks_planted_in_a_volume_are_resolved_inside_the_next_container() {
    let pair = Pair::new();
    let etc_name = unique("planted-etc");
    let up_name = unique("planted-up");
    let guard = MustNotExist::new(vec![
        Path::new("/etc").join(&etc_name),
        Path::new("/etc").join(&up_name),
        Path::new("/").join(&etc_name),
    ]);
    pair.berth(
        &["-v", "plant:/v"],
        &["sh", "-c", &format!("ln -s /etc /v/x && ln -s {UP} /v/up")],
    )
    .ok();
    assert_eq!(entries(&volume_data(&pair.store, "plant")), ["up", "x"]);
    let host_dir = pair.store.path().join("bind-src");
    fs::create_dir(&host_dir).expect("mkdir bind-src");
    let src = path_str(&host_dir);
    let script = format!(
        "touch /v/x/{etc_name}/{MARKER} && awk '$5 ~ /{MARKER}/ {{print $5}}' /proc/self/mountinfo | sort"
    );
    let out = pair.berth(
        &[
            "-v",
            "plant:/v",
            "-v",
            &format!("{src}:/v/x/{etc_name}"),
            "-v",
            &format!("{src}:/v/up/etc/{up_name}"),
            "-v",
            &format!("inner:/v/x/{etc_name}-vol"),
        ],
        &["sh", "-c", &script],
    );
    let mut want = vec![
        format!("/etc/{etc_name}"),
        format!("/etc/{etc_name}-vol"),
        format!("/etc/{up_name}"),
    ];
    want.sort();
    assert_eq!(out.ok().lines().collect::<Vec<_>>(), want);
    assert_eq!(entries(&host_dir), [MARKER]);
    guard.check();
    assert!(
        fs::symlink_metadata(Path::new("/etc").join(format!("{etc_name}-vol"))).is_err(),
        "the volume's mount point was made in the host's /etc"
    );
}

#[test]
fn volume_copy_up_never_reads_the_host_through_an_image_symlink() {
    // The image has no /etc/<dir> and no <store>/secret: a new volume mounted through
    // `/etc2 -> /etc` or `/up -> ../..` must stay empty, as under Podman (which
    // resolves the copy-up source inside the root with SecureJoin).
    let pair = symlink_pair(&[]);
    let secret_dir = pair.store.path().join("secret/sub");
    fs::create_dir_all(&secret_dir).expect("mkdir secret/sub");
    fs::write(secret_dir.join("secret.txt"), "host secret\n").expect("writing the secret");
    let etc_dir = host_only_etc_dir();
    let up_dest = format!("/up{}", path_str(&secret_dir));
    let etc_dest = format!("/etc2/{etc_dir}");
    let script = format!("ls -A {up_dest} /etc/{etc_dir} | grep -v :$ | grep -v '^$'; true");
    for (engine, out) in [
        (
            "podman",
            pair.podman_run(&[
                "-v",
                &format!("leak-up:{up_dest}"),
                "-v",
                &format!("leak-etc:{etc_dest}"),
                SYMLINK_IMAGE,
                "sh",
                "-c",
                &script,
            ]),
        ),
        (
            "berth",
            pair.berth_run(&[
                "-v",
                &format!("leak-up:{up_dest}"),
                "-v",
                &format!("leak-etc:{etc_dest}"),
                SYMLINK_IMAGE,
                "sh",
                "-c",
                &script,
            ]),
        ),
    ] {
        assert_eq!(
            out.ok(),
            "",
            "{engine}: the new volumes show host files (from {} and /etc/{etc_dir})",
            secret_dir.display()
        );
    }
    assert_eq!(
        entries(&volume_data(&pair.store, "leak-up")),
        Vec::<String>::new()
    );
    assert_eq!(
        entries(&volume_data(&pair.store, "leak-etc")),
        Vec::<String>::new()
    );
}

#[test]
fn image_volume_under_an_image_symlink_is_not_filled_from_the_host() {
    // The VOLUME's path is only known once the store exists: the image is built after.
    let pair = Pair::new();
    let secret_dir = pair.store.path().join("secret/sub");
    fs::create_dir_all(&secret_dir).expect("mkdir secret/sub");
    fs::write(secret_dir.join("secret.txt"), "host secret\n").expect("writing the secret");
    let volume = format!("/up{}", path_str(&secret_dir));
    let archive = symlink_archive(pair.store.path(), &[&volume]);
    pair.store.berth(["load", "-i", path_str(&archive)]).ok();
    pair.podman(&["load", "-q", "-i", path_str(&archive)]).ok();
    let podman = pair.podman_run(&[SYMLINK_IMAGE, "ls", "-A", &volume]);
    assert_eq!(podman.ok(), "", "podman");
    let out = pair.berth_run(&[SYMLINK_IMAGE, "ls", "-A", &volume]);
    assert_eq!(
        out.ok(),
        "",
        "the anonymous volume for VOLUME {volume} holds the host's {}",
        secret_dir.display()
    );
}

#[test]
fn a_container_cannot_plant_a_symlink_that_makes_copy_up_read_the_host() {
    // A plain busybox container (default capabilities) swaps the directory above its
    // volume's mount point for a symlink to /etc; when it is started again, the
    // volume (never copied up: the image had nothing there) must not be filled with
    // the host's /etc/<dir>. Podman resolves the copy-up source inside the root.
    let pair = Pair::new();
    let dir = host_only_etc_dir();
    let name = unique("planter");
    let flags = [
        "--name",
        name.as_str(),
        "-v",
        &format!("planted:/etc3/{dir}"),
    ];
    let script = "[ -L /etc3 ] || { mv /etc3 /etc3.old && ln -s /etc /etc3; }; ls -A /etc/ | wc -l";
    let mut args = vec!["run"];
    args.extend_from_slice(&flags);
    args.extend([pair.image.as_str(), "sh", "-c", script]);
    pair.store.berth(&args).ok();
    pair.store.berth(["start", "-a", &name]).ok();
    let data = volume_data(&pair.store, "planted");
    let leaked = entries(&data);
    pair.store.berth(["rm", "-f", &name]).ok();
    assert_eq!(
        leaked,
        Vec::<String>::new(),
        "the volume was filled from the host's /etc/{dir}"
    );
    // Podman, for the record: the same steps leave its volume empty.
    let runtime = oci_runtime();
    let mut args = vec!["run", "--runtime", &runtime, "--network", "none"];
    let nofile = host_hard_limit("Max open files").min(RLIMIT_DEFAULT);
    let nofile = format!("nofile={nofile}:{nofile}");
    args.extend(["--ulimit", &nofile, "--ulimit", "nproc=32768:32768"]);
    args.extend_from_slice(&flags);
    args.extend([pair.image.as_str(), "sh", "-c", script]);
    pair.podman(&args).ok();
    pair.podman(&["start", "-a", &name]).ok();
    pair.podman(&["rm", "-f", &name]).ok();
    let podman_data = pair.store.path().join("podman/root/volumes/planted/_data");
    assert_eq!(entries(&podman_data), Vec::<String>::new(), "podman");
}

#[test]
fn a_volume_at_a_symlink_to_etc_is_filled_from_the_image_not_the_host() {
    // `-v vol:/etc2` with `/etc2 -> /etc` in the image: the volume covers the
    // container's /etc, and Podman fills it with the image's /etc (passwd, group).
    let pair = symlink_pair(&[]);
    pair.podman_run(&["-v", "etcvol:/etc2", SYMLINK_IMAGE, "true"])
        .ok();
    let podman_data = pair.store.path().join("podman/root/volumes/etcvol/_data");
    let podman_entries = entries(&podman_data);
    assert!(
        podman_entries.contains(&"passwd".to_string()),
        "podman: {podman_entries:?}"
    );
    pair.berth_run(&["-v", "etcvol:/etc2", SYMLINK_IMAGE, "true"])
        .ok();
    let data = volume_data(&pair.store, "etcvol");
    let got = entries(&data);
    for host_only in ["os-release".to_string(), host_only_etc_dir()] {
        assert!(
            !got.contains(&host_only),
            "host file {host_only} in {got:?}"
        );
    }
    for want in ["group", "passwd"] {
        assert!(
            got.contains(&want.to_string()),
            "the image's /etc/{want} was not copied up: {got:?} (podman: {podman_entries:?})"
        );
    }
    let passwd = fs::read_to_string(data.join("passwd")).unwrap_or_default();
    assert!(passwd.starts_with("root:x:0:0:"), "{passwd:?}");
}

#[test]
fn a_bind_source_that_is_a_host_symlink_is_resolved_on_the_host_like_podman() {
    // The source is the user's own path: both engines follow the symlink on the host,
    // and keep the path as given in inspect.
    let pair = Pair::new();
    let target = pair.store.path().join("real-dir");
    fs::create_dir(&target).expect("mkdir real-dir");
    fs::write(target.join("hello"), "hi\n").expect("writing hello");
    let link = pair.store.path().join("link-dir");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let rel_link = pair.store.path().join("rel-link");
    std::os::unix::fs::symlink("real-dir", &rel_link).expect("symlink");
    for src in [&link, &rel_link] {
        let spec = format!("{}:/mnt", path_str(src));
        let out = pair.same(
            &["-v", &spec],
            &format!(
                "cat /mnt/hello && touch /mnt/from-{}",
                src.file_name().and_then(|n| n.to_str()).unwrap_or("x")
            ),
        );
        assert_eq!(out, "hi\n");
    }
    let mut got = entries(&target);
    got.retain(|n| n != "hello");
    assert_eq!(got, ["from-link-dir", "from-rel-link"]);
    let mounted = pair.berth(
        &[
            "--mount",
            &format!("type=bind,src={},dst=/mnt", path_str(&link)),
        ],
        &["cat", "/mnt/hello"],
    );
    assert_eq!(mounted.ok(), "hi\n");
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));

    let name = unique("inspect-src");
    pair.store
        .berth([
            "create",
            "--name",
            name.as_str(),
            "-v",
            &format!("{}:/mnt", path_str(&link)),
            pair.image.as_str(),
            "true",
        ])
        .ok();
    let mounts = pair
        .store
        .berth(["inspect", "--format", "{{json .Mounts}}", &name]);
    pair.store.berth(["rm", &name]).ok();
    let mounts: serde_json::Value = serde_json::from_str(mounts.ok()).expect("Mounts as JSON");
    assert_eq!(
        mounts[0]["Source"],
        path_str(&link),
        "inspect keeps the path as given: {mounts}"
    );
}
