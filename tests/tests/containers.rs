//! The container lifecycle end to end on the busybox test image, checked against
//! what Podman 4.3 prints for the same commands on this machine: attached runs (the
//! container's streams, exit codes 125/126/127, stdin, a TTY), the run flags that
//! shape the container (environment, user, workdir, entrypoint, hostname, labels,
//! read-only root, tmpfs, bind mounts, named, anonymous and image volumes, ulimits,
//! memory, pids, init), detached containers with ps/logs/stop/kill/wait/start/
//! attach/inspect, and removal that leaves nothing behind.

use std::process::Command;
use std::time::{Duration, Instant};

use berth_e2e::containers::{
    all_ids, assert_no_containers_left, busybox, container_id, inspect, is_full_id,
    load_volume_image, logs, names_and_status, pid_alive, ps, run, run_args, run_detached,
    store_with_busybox, wait_for, wait_for_log,
};
use berth_e2e::fault::engine_error;
use berth_e2e::{cmd, images, Store, TestEnv};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a JSON string, got {v}"))
}

fn volume_names(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .berth(["volume", "ls", "-q"])
        .ok()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Waits until `name`'s ps status starts with `prefix` (e.g. "Exited (0)").
#[track_caller]
fn wait_status(store: &Store, name: &str, prefix: &str) -> String {
    wait_for(
        &format!("{name} to be {prefix}"),
        Duration::from_secs(20),
        || {
            names_and_status(store)
                .into_iter()
                .find(|l| l.starts_with(&format!("{name} {prefix}")))
        },
    )
}

// ---- attached runs -------------------------------------------------------------

#[test]
fn attached_run_keeps_stdout_and_stderr_apart_and_exits_with_the_containers_code() {
    let store = store_with_busybox();
    let out = run(&store, &[], &["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.fails_with(3), "err\n", "{out}");
    assert_eq!(out.stdout, "out\n", "{out}");
    assert_eq!(
        run(&store, &[], &["true"]).ok(),
        "",
        "a silent container prints nothing"
    );
}

#[test]
fn a_command_missing_from_the_image_exits_127_naming_it() {
    let store = store_with_busybox();
    let out = run(&store, &["--rm"], &["nosuchcmd"]);
    let err = out.fails_with(127);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error: ")).collect();
    assert_eq!(errors.len(), 1, "one Error: line: {out}");
    assert!(errors[0].contains("nosuchcmd"), "{out}");
    assert_eq!(out.stdout, "");
    assert_no_containers_left(&store, "a --rm run of a missing command");
}

#[test]
fn a_file_that_is_not_executable_exits_126() {
    let store = store_with_busybox();
    let out = run(&store, &["--rm"], &["/etc/passwd"]);
    let err = out.fails_with(126);
    assert!(err.contains("/etc/passwd"), "{out}");
    assert!(err.to_lowercase().contains("permission denied"), "{out}");
    assert_no_containers_left(&store, "a --rm run of a non-executable file");
}

#[test]
fn interactive_run_passes_piped_stdin_to_the_container() {
    let store = store_with_busybox();
    let out = store.berth_input(run_args("run", &["-i", "--rm"], &["cat"]), b"hi\n");
    assert_eq!(out.ok(), "hi\n", "{out}");
    let out = store.berth_input(
        run_args("run", &["-i", "--rm"], &["sh", "-c", "wc -c; exit 4"]),
        &vec![b'x'; 200_000],
    );
    assert_eq!(out.fails_with(4), "", "{out}");
    assert_eq!(out.stdout.trim(), "200000", "all of stdin arrives: {out}");
}

#[test]
fn without_interactive_the_container_reads_no_stdin() {
    let store = store_with_busybox();
    let out = store.berth_input(run_args("run", &["--rm"], &["cat"]), b"not for you\n");
    assert_eq!(out.ok(), "", "{out}");
}

#[test]
fn run_rm_leaves_no_container_directory_mount_or_monitor() {
    let store = store_with_busybox();
    let out = run(&store, &["--rm"], &["sh", "-c", "echo bye; exit 5"]);
    out.fails_with(5);
    assert_eq!(out.stdout, "bye\n");
    assert_no_containers_left(&store, "run --rm");
    let named = run(&store, &["--rm", "--name", "again"], &["true"]);
    named.ok();
    run(&store, &["--rm", "--name", "again"], &["true"]).ok();
    assert_no_containers_left(&store, "two run --rm with the same name");
}

#[test]
fn env_flags_and_env_file_set_the_environment_with_e_winning() {
    let store = store_with_busybox();
    let file = store.path().join("env.list");
    std::fs::write(&file, "A=1\n# a comment\n\nB=two words\nX=from-file\n")
        .expect("writing a test file");
    let file = file.to_str().expect("UTF-8 path");
    let out = run(
        &store,
        &["--rm", "-e", "X=y", "--env-file", file, "-e", "EMPTY="],
        &[
            "sh",
            "-c",
            "echo \"[$X] [$A] [$B] [${EMPTY-unset}] [$PATH]\"",
        ],
    );
    assert_eq!(
        out.ok(),
        "[y] [1] [two words] [] [/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]\n",
        "{out}"
    );
}

#[test]
fn workdir_and_user_flags_set_the_directory_uid_and_gid() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "-w", "/tmp", "-u", "1000:1000"],
        &["sh", "-c", "pwd; id -u; id -g"],
    );
    assert_eq!(out.ok(), "/tmp\n1000\n1000\n", "{out}");
    let out = run(&store, &["--rm"], &["sh", "-c", "pwd; id -u"]);
    assert_eq!(out.ok(), "/\n0\n", "defaults: / and root: {out}");
}

#[test]
fn entrypoint_flag_replaces_the_images_entrypoint() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--entrypoint", "echo"],
        &["hello", "there"],
    );
    assert_eq!(out.ok(), "hello there\n", "{out}");
    let out = run(
        &store,
        &["--rm", "--entrypoint", r#"["/bin/echo","from","json"]"#],
        &["arg"],
    );
    assert_eq!(out.ok(), "from json arg\n", "JSON form: {out}");
}

#[test]
fn hostname_defaults_to_the_short_id_and_the_flag_sets_it() {
    let store = store_with_busybox();
    let out = run(&store, &["--rm", "--hostname", "harbour"], &["hostname"]);
    assert_eq!(out.ok(), "harbour\n", "{out}");
    let id = run_detached(&store, &[], &["hostname"]);
    assert_eq!(store.berth(["wait", &id]).ok(), "0\n");
    let out = logs(&store, &[], &id);
    assert_eq!(
        out.ok(),
        format!("{}\n", &id[..12]),
        "Podman's default: {out}"
    );
}

#[test]
fn name_flag_names_the_container_everywhere() {
    let store = store_with_busybox();
    let id = container_id(&run(&store, &["-d", "--name", "web-1.a_b"], &["true"]));
    wait_status(&store, "web-1.a_b", "Exited (0)");
    assert_eq!(inspect(&store, "web-1.a_b")["Id"], id);
    assert_eq!(inspect(&store, &id)["Name"], "web-1.a_b");
    assert_eq!(
        ps(&store, &["-a", "--format", "{{.ID}} {{.Names}}"]),
        vec![format!("{} web-1.a_b", &id[..12])]
    );
}

#[test]
fn label_flags_show_in_inspect() {
    let store = store_with_busybox();
    run(
        &store,
        &[
            "--name",
            "l",
            "-l",
            "app=web",
            "-l",
            "tier=front",
            "-l",
            "bare",
        ],
        &["true"],
    )
    .ok();
    let labels = &inspect(&store, "l")["Config"]["Labels"];
    assert_eq!(labels["app"], "web", "{labels}");
    assert_eq!(labels["tier"], "front", "{labels}");
    assert_eq!(labels["bare"], "", "{labels}");
}

#[test]
fn read_only_root_refuses_writes_but_tmp_is_writable() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--read-only"],
        &[
            "sh",
            "-c",
            "touch /foo && echo root-writable; touch /tmp/x /run/x /var/tmp/x && echo tmp-ok",
        ],
    );
    assert_eq!(out.ok(), "tmp-ok\n", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
}

#[test]
fn tmpfs_flag_mounts_a_writable_tmpfs() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--tmpfs", "/x"],
        &[
            "sh",
            "-c",
            "awk '$2 == \"/x\" {print $3}' /proc/mounts; echo data > /x/f && cat /x/f",
        ],
    );
    assert_eq!(out.ok(), "tmpfs\ndata\n", "{out}");
}

#[test]
fn bind_mount_is_read_write_and_ro_refuses_writes() {
    let store = store_with_busybox();
    let host = store.path().join("hostdir");
    std::fs::create_dir(&host).expect("creating a test dir");
    std::fs::write(host.join("f"), "from host\n").expect("writing a test file");
    let rw = format!("{}:/in", host.display());
    let out = run(
        &store,
        &["--rm", "-v", &rw],
        &["sh", "-c", "cat /in/f; echo from container > /in/g"],
    );
    assert_eq!(out.ok(), "from host\n", "{out}");
    assert_eq!(
        std::fs::read_to_string(host.join("g")).expect("reading a file"),
        "from container\n"
    );
    let ro = format!("{}:/in:ro", host.display());
    let out = run(
        &store,
        &["--rm", "-v", &ro],
        &["sh", "-c", "cat /in/f; echo x > /in/h"],
    );
    out.fails_with(1);
    assert_eq!(out.stdout, "from host\n", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert!(!host.join("h").exists(), "nothing written through :ro");
}

#[test]
fn volume_option_u_gives_the_tree_to_the_container_user_without_following_symlinks() {
    use std::os::unix::fs::MetadataExt;
    let store = store_with_busybox();
    let host = store.path().join("owned");
    std::fs::create_dir_all(host.join("sub")).expect("creating a test dir");
    std::fs::write(host.join("sub/f"), "x").expect("writing a test file");
    let outside = store.path().join("outside");
    std::fs::write(&outside, "keep").expect("writing a test file");
    std::os::unix::fs::symlink(&outside, host.join("escape")).expect("symlink");
    std::os::unix::fs::symlink("../..", host.join("up")).expect("symlink");
    let spec = format!("{}:/data:U", host.display());
    let out = run(
        &store,
        &["--rm", "--user", "1234:2345", "-v", &spec],
        &[
            "sh",
            "-c",
            "touch /data/new && stat -c %u:%g /data /data/sub/f /data/new",
        ],
    );
    assert_eq!(out.ok(), "1234:2345\n1234:2345\n1234:2345\n", "{out}");
    let link = std::fs::symlink_metadata(host.join("escape")).expect("stat");
    assert_eq!(
        (link.uid(), link.gid()),
        (1234, 2345),
        "the link itself changes"
    );
    let kept = std::fs::metadata(&outside).expect("stat");
    assert_eq!(
        (kept.uid(), kept.gid()),
        (0, 0),
        "chown followed a symlink out"
    );
    let parent = std::fs::metadata(store.path()).expect("stat");
    assert_eq!(parent.uid(), 0, "chown followed ../.. out");
}

#[test]
fn named_volume_keeps_its_data_across_containers() {
    let store = store_with_busybox();
    run(
        &store,
        &["--rm", "-v", "keep:/data"],
        &["sh", "-c", "echo persisted > /data/f"],
    )
    .ok();
    assert_eq!(volume_names(&store), vec!["keep"], "created on first use");
    let out = run(&store, &["--rm", "-v", "keep:/data"], &["cat", "/data/f"]);
    assert_eq!(out.ok(), "persisted\n", "{out}");
    let data = store.root().join("volumes/keep/_data/f");
    assert_eq!(
        std::fs::read_to_string(&data).expect("reading a file"),
        "persisted\n"
    );
    assert_no_containers_left(&store, "two --rm runs with a named volume");
    assert_eq!(
        volume_names(&store),
        vec!["keep"],
        "--rm keeps named volumes"
    );
}

#[test]
fn anonymous_volume_is_created_and_removed_with_rm_v() {
    let store = store_with_busybox();
    run(
        &store,
        &["--name", "anon", "-v", "/data"],
        &["sh", "-c", "echo x > /data/y"],
    )
    .ok();
    let vols = volume_names(&store);
    assert_eq!(vols.len(), 1, "one anonymous volume: {vols:?}");
    assert!(
        is_full_id(&vols[0]),
        "anonymous volumes get 64-hex names: {vols:?}"
    );
    let data = store.root().join("volumes").join(&vols[0]).join("_data/y");
    assert_eq!(
        std::fs::read_to_string(&data).expect("reading a file"),
        "x\n"
    );
    store.berth(["rm", "-v", "anon"]).ok();
    assert_eq!(volume_names(&store), Vec::<String>::new());
}

#[test]
fn run_rm_removes_anonymous_volumes_but_keeps_named_ones() {
    let store = store_with_busybox();
    run(
        &store,
        &["--rm", "-v", "/anon", "-v", "named:/named"],
        &["true"],
    )
    .ok();
    assert_eq!(volume_names(&store), vec!["named"]);
}

#[test]
fn inspect_mounts_name_each_volume_and_its_host_path_like_podman() {
    let store = store_with_busybox();
    let host = store.path().join("hostdir");
    std::fs::create_dir(&host).expect("creating a test dir");
    let ro = format!("{}:/hd:ro", host.display());
    run(
        &store,
        &[
            "--name",
            "m",
            "-v",
            "namedv:/data",
            "-v",
            &ro,
            "-v",
            "/anon",
        ],
        &["true"],
    )
    .ok();
    let doc = inspect(&store, "m");
    let mounts = doc["Mounts"].as_array().expect("Mounts array");
    let find = |dest: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == dest)
            .unwrap_or_else(|| panic!("no mount at {dest}: {mounts:?}"))
    };
    let data_path = |name: &str| {
        store
            .root()
            .join("volumes")
            .join(name)
            .join("_data")
            .to_str()
            .expect("UTF-8 path")
            .to_string()
    };
    let mut differences = Vec::new();
    let named = find("/data");
    assert_eq!(named["Type"], "volume", "{named}");
    assert_eq!(named["Name"], "namedv", "{named}");
    assert_eq!(named["RW"], true, "{named}");
    if named["Source"] != data_path("namedv").as_str() {
        differences.push(format!(
            "named volume: Source is not the volume's host path: {named}"
        ));
    }
    let bind = find("/hd");
    assert_eq!(bind["Type"], "bind", "{bind}");
    assert_eq!(bind["Source"], host.to_str().expect("UTF-8 path"), "{bind}");
    assert_eq!(bind["RW"], false, "{bind}");
    let anon = find("/anon");
    assert_eq!(anon["Type"], "volume", "{anon}");
    let vols = volume_names(&store);
    let anon_name = vols
        .iter()
        .find(|v| *v != "namedv")
        .expect("an anonymous volume");
    if anon["Name"] != anon_name.as_str() {
        differences.push(format!("anonymous volume: Name is not {anon_name}: {anon}"));
    }
    if anon["Source"] != data_path(anon_name).as_str() {
        differences.push(format!(
            "anonymous volume: Source is not the volume's host path: {anon}"
        ));
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn image_volume_is_populated_from_the_image() {
    let store = Store::new();
    let image = load_volume_image(&store);
    let out = store.berth(["run", "--rm", "--pull", "never", &image, "cat", "/vol/seed"]);
    assert_eq!(out.ok(), "from the image\n", "{out}");
    assert_eq!(
        volume_names(&store),
        Vec::<String>::new(),
        "--rm removes the image VOLUME's anonymous volume"
    );
    let out = store.berth([
        "run",
        "--name",
        "v",
        "--pull",
        "never",
        &image,
        "sh",
        "-c",
        "grep -c ' /vol ' /proc/mounts",
    ]);
    assert_eq!(out.ok(), "1\n", "/vol is a mount of its own: {out}");
    assert_eq!(
        volume_names(&store).len(),
        1,
        "an anonymous volume for /vol"
    );
}

#[test]
fn an_empty_named_volume_gets_the_images_content_copied_up() {
    let store = Store::new();
    let image = load_volume_image(&store);
    let out = store.berth([
        "run",
        "--rm",
        "--pull",
        "never",
        "-v",
        "fresh:/vol",
        &image,
        "sh",
        "-c",
        "cat /vol/seed; echo more > /vol/more",
    ]);
    assert_eq!(out.ok(), "from the image\n", "{out}");
    let out = store.berth([
        "run",
        "--rm",
        "--pull",
        "never",
        "-v",
        "fresh:/data",
        &busybox_loaded(&store),
        "ls",
        "/data",
    ]);
    assert_eq!(out.ok(), "more\nseed\n", "{out}");
}

/// Pulls busybox into a store made by `Store::new` and returns its reference.
fn busybox_loaded(store: &Store) -> String {
    berth_e2e::fault::pull_plain(store, &busybox(), &["-q"]).ok();
    busybox()
}

#[test]
fn ulimit_flag_sets_the_soft_and_hard_limits() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--ulimit", "nofile=100:200"],
        &["sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    assert_eq!(out.ok(), "100\n200\n", "{out}");
}

#[test]
fn memory_limit_kills_a_hog_with_137_and_inspect_says_oom_killed() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--name", "hog", "--memory", "20m"],
        &["sh", "-c", "x=a; while true; do x=$x$x; done"],
    );
    out.fails_with(137);
    let doc = inspect(&store, "hog");
    assert_eq!(doc["State"]["OOMKilled"], true, "{}", doc["State"]);
    assert_eq!(doc["State"]["ExitCode"], 137, "{}", doc["State"]);
    assert_eq!(doc["HostConfig"]["Memory"], 20 * 1024 * 1024);
    let status = &names_and_status(&store)[0];
    assert!(status.starts_with("hog Exited (137) "), "{status}");
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--pids-limit", "5"],
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all forked",
        ],
    );
    assert_eq!(out.stdout, "", "{out}");
    assert!(out.stderr.contains("can't fork"), "{out}");
    assert_eq!(out.code, Some(2), "{out}");
    let out = run(
        &store,
        &["--rm", "--pids-limit", "20"],
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 0.1 & done; wait; echo all forked",
        ],
    );
    assert_eq!(out.ok(), "all forked\n", "{out}");
}

#[test]
fn init_flag_runs_an_init_as_pid_1_that_reaps_and_forwards() {
    let store = store_with_busybox();
    let out = run(
        &store,
        &["--rm", "--init"],
        &["sh", "-c", "echo $$; tr '\\0' ' ' < /proc/1/cmdline"],
    );
    let text = out.ok();
    let mut lines = text.lines();
    assert_ne!(lines.next(), Some("1"), "the command is not PID 1: {out}");
    let pid1 = lines.next().unwrap_or_default();
    assert!(
        pid1.ends_with("-- sh -c echo $$; tr '\\0' ' ' < /proc/1/cmdline "),
        "PID 1 is an init running the command: {out}"
    );
    let out = run(&store, &["--rm"], &["sh", "-c", "echo $$"]);
    assert_eq!(out.ok(), "1\n", "without --init the command is PID 1");
}

/// Runs `berth ARGS` in the store under `script`, so its stdin and stdout are a terminal.
fn under_script(store: &Store, args: &[String]) -> berth_e2e::CmdResult {
    let env = TestEnv::get();
    let mut line = vec![env.berth_bin.to_str().expect("UTF-8 path").to_string()];
    line.extend(store.args());
    line.extend(args.iter().map(|a| format!("'{a}'")));
    let mut c = Command::new("script");
    c.args(["-qec", &line.join(" "), "/dev/null"])
        .env("HOME", store.home());
    cmd::run(c, None, cmd::timeout())
}

#[test]
fn tty_flag_gives_the_container_a_terminal() {
    let store = store_with_busybox();
    let out = under_script(
        &store,
        &run_args("run", &["--rm", "-t"], &["sh", "-c", "tty; exit 4"]),
    );
    assert_eq!(out.code, Some(4), "the exit code passes through: {out}");
    assert!(out.stdout.starts_with("/dev/pts/0\r"), "{out}");
    let out = run(&store, &["--rm"], &["sh", "-c", "tty; true"]);
    assert_eq!(out.ok(), "not a tty\n", "without -t: {out}");
}

#[test]
fn tty_output_reaches_the_terminal_untranslated_like_podman() {
    // Podman puts the local terminal in raw mode: the container's pty already
    // turned "\n" into "\r\n", so the user's terminal gets exactly that.
    let store = store_with_busybox();
    let out = under_script(&store, &run_args("run", &["--rm", "-t"], &["tty"]));
    assert_eq!(out.ok(), "/dev/pts/0\r\n", "{out:?}");
}

// ---- detached containers ---------------------------------------------------------

#[test]
fn detached_run_prints_the_full_id_and_ps_shows_it_up() {
    let store = store_with_busybox();
    let out = run(&store, &["-d", "--name", "up"], &["sleep", "60"]);
    let id = container_id(&out);
    assert_eq!(out.stderr, "", "{out}");
    let listed = ps(&store, &["--format", "{{.ID}} {{.Names}} {{.Status}}"]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].starts_with(&format!("{} up Up ", &id[..12])),
        "{listed:?}"
    );
    assert!(listed[0].ends_with(" ago"), "{listed:?}");
    store.berth(["rm", "-f", "-t", "0", "up"]).ok();
}

#[test]
fn ps_prints_podmans_table_header_and_columns() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "tbl"], &["sleep", "60"]);
    let out = store.berth(["ps"]);
    let text = out.ok();
    let mut lines = text.lines();
    let header = lines.next().expect("a header line");
    let columns: Vec<&str> = header.split("  ").filter(|c| !c.is_empty()).collect();
    let columns: Vec<&str> = columns.iter().map(|c| c.trim()).collect();
    assert_eq!(
        columns,
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{out}"
    );
    let row = lines.next().expect("one container row");
    assert!(lines.next().is_none(), "{out}");
    assert!(
        row.starts_with(&format!("{}  {}  ", &id[..12], busybox())),
        "{out}"
    );
    assert!(row.contains("  sleep 60  "), "{out}");
    assert!(row.ends_with("  tbl"), "{out}");
    // Columns line up: every column starts where its header does.
    for name in ["IMAGE", "COMMAND", "CREATED", "STATUS"] {
        let at = header.find(name).expect("a header column");
        assert!(
            at > 0 && &row[at - 2..at] == "  " && !row[at..].starts_with(' '),
            "{name} column not aligned:\n{header}\n{row}"
        );
    }
    store.berth(["rm", "-f", "-t", "0", "tbl"]).ok();
}

#[test]
fn logs_show_a_detached_containers_stdout_and_stderr_apart() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &[],
        &["sh", "-c", "echo one; echo two; echo three >&2"],
    );
    let out = store.berth(["wait", &id]);
    assert_eq!(out.ok(), "0\n");
    let out = logs(&store, &[], &id);
    assert_eq!(out.ok(), "one\ntwo\n", "{out}");
    assert_eq!(out.stderr, "three\n", "{out}");
}

#[test]
fn logs_tail_prints_only_the_last_lines() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &[],
        &["sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done"],
    );
    store.berth(["wait", &id]).ok();
    assert_eq!(logs(&store, &["--tail", "2"], &id).ok(), "l4\nl5\n");
    assert_eq!(logs(&store, &["--tail", "0"], &id).ok(), "");
    assert_eq!(
        logs(&store, &["--tail", "99"], &id).ok(),
        "l1\nl2\nl3\nl4\nl5\n"
    );
}

#[test]
fn logs_timestamps_prefix_each_line_like_podman() {
    let store = store_with_busybox();
    let id = run_detached(&store, &[], &["sh", "-c", "echo one; echo two"]);
    store.berth(["wait", &id]).ok();
    let out = logs(&store, &["-t"], &id);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for (line, text) in lines.iter().zip(["one", "two"]) {
        let (stamp, rest) = line.split_once(' ').expect("a timestamp, then the line");
        assert_eq!(rest, text, "{out}");
        // Podman: RFC 3339 with nanoseconds, UTC as "Z" (this machine runs in UTC),
        // e.g. 2026-11-25T09:35:22.226069641Z.
        let b = stamp.as_bytes();
        assert!(
            stamp.len() == 30
                && b[4] == b'-'
                && b[10] == b'T'
                && b[19] == b'.'
                && stamp.ends_with('Z'),
            "timestamp {stamp:?} is not Podman's RFC3339Nano UTC form: {out}"
        );
    }
}

#[test]
fn logs_since_drops_older_lines() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &[],
        &["sh", "-c", "echo early; sleep 3; echo late; sleep 60"],
    );
    wait_for_log(&store, &id, "early");
    std::thread::sleep(Duration::from_millis(1500));
    let cut = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    wait_for_log(&store, &id, "late");
    assert_eq!(
        logs(&store, &["--since", &cut.to_string()], &id).ok(),
        "late\n",
        "--since UNIX-SECONDS"
    );
    assert_eq!(
        logs(&store, &["--since", "2000-01-01T00:00:00Z"], &id).ok(),
        "early\nlate\n",
        "--since RFC3339"
    );
    assert_eq!(
        logs(&store, &["--since", "1h"], &id).ok(),
        "early\nlate\n",
        "--since DURATION"
    );
    store.berth(["rm", "-f", "-t", "0", &id]).ok();
}

#[test]
fn logs_follow_streams_until_the_container_exits() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &[],
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do echo line$i; sleep 0.5; done; exit 7",
        ],
    );
    let start = Instant::now();
    let out = logs(&store, &["-f"], &id);
    assert_eq!(out.ok(), "line1\nline2\nline3\n", "{out}");
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "-f waited for the later lines"
    );
    assert_eq!(inspect(&store, &id)["State"]["Status"], "exited");
}

#[test]
fn stop_of_a_process_ignoring_sigterm_kills_it_after_the_timeout_with_137() {
    let store = store_with_busybox();
    // PID 1 has no default SIGTERM action: sleep ignores it.
    run_detached(&store, &["--name", "stubborn"], &["sleep", "60"]);
    let start = Instant::now();
    let out = store.berth(["stop", "-t", "1", "stubborn"]);
    assert_eq!(out.ok(), "stubborn\n", "stop prints what was named: {out}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "stop -t 1 waited {took:?}"
    );
    let status = &names_and_status(&store)[0];
    assert!(status.starts_with("stubborn Exited (137) "), "{status}");
    let doc = inspect(&store, "stubborn");
    assert_eq!(doc["State"]["Status"], "exited");
    assert_eq!(doc["State"]["ExitCode"], 137);
    assert_eq!(doc["State"]["Running"], false);
}

#[test]
fn stop_of_a_process_that_dies_on_sigterm_exits_143_at_once() {
    let store = store_with_busybox();
    run_detached(&store, &["--name", "polite", "--init"], &["sleep", "60"]);
    let start = Instant::now();
    store.berth(["stop", "-t", "20", "polite"]).ok();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "no wait for the timeout"
    );
    assert_eq!(inspect(&store, "polite")["State"]["ExitCode"], 143);
    assert!(names_and_status(&store)[0].starts_with("polite Exited (143) "));
    let out = store.berth(["stop", "polite"]);
    assert_eq!(out.ok(), "polite\n", "stopping a stopped container is fine");
}

#[test]
fn kill_with_a_signal_delivers_it_and_plain_kill_is_sigkill() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &["--name", "k"],
        &[
            "sh",
            "-c",
            "trap 'echo got usr1' USR1; echo ready; while true; do sleep 0.1; done",
        ],
    );
    wait_for_log(&store, "k", "ready");
    assert_eq!(store.berth(["kill", "-s", "USR1", "k"]).ok(), "k\n");
    wait_for_log(&store, "k", "got usr1");
    assert!(names_and_status(&store)[0].starts_with("k Up "));
    assert_eq!(store.berth(["kill", "k"]).ok(), "k\n");
    wait_status(&store, "k", "Exited (137)");
    let out = store.berth(["kill", "k"]);
    let msg = engine_error(&out);
    assert!(msg.contains("can only kill running containers"), "{out}");
}

#[test]
fn wait_prints_the_exit_code() {
    let store = store_with_busybox();
    let id = run_detached(&store, &[], &["sh", "-c", "sleep 0.5; exit 42"]);
    assert_eq!(store.berth(["wait", &id]).ok(), "42\n");
    assert_eq!(
        store.berth(["wait", &id]).ok(),
        "42\n",
        "again, after the exit"
    );
}

#[test]
fn start_runs_an_exited_container_again() {
    let store = store_with_busybox();
    run(&store, &["--name", "again"], &["echo", "hello"]).ok();
    assert_eq!(store.berth(["start", "again"]).ok(), "again\n");
    assert_eq!(store.berth(["wait", "again"]).ok(), "0\n");
    assert_eq!(logs(&store, &[], "again").ok(), "hello\nhello\n");
    assert!(names_and_status(&store)[0].starts_with("again Exited (0) "));
}

#[test]
fn create_then_start_attach_runs_it_attached() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args(
        "create",
        &["--name", "c1"],
        &["sh", "-c", "echo hello; echo oops >&2; exit 5"],
    )));
    assert_eq!(names_and_status(&store), vec!["c1 Created"]);
    assert_eq!(inspect(&store, "c1")["State"]["Status"], "created");
    let out = store.berth(["start", "-a", "c1"]);
    assert_eq!(out.fails_with(5), "oops\n", "{out}");
    assert_eq!(out.stdout, "hello\n", "{out}");
    let listed = names_and_status(&store);
    assert!(listed[0].starts_with("c1 Exited (5) "), "{listed:?}");
    assert_eq!(inspect(&store, &id)["State"]["ExitCode"], 5);
}

#[test]
fn attach_relays_a_running_containers_output_and_returns_its_code() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &["--name", "a1"],
        &[
            "sh",
            "-c",
            "sleep 1; for i in 1 2 3; do echo at$i; sleep 0.2; done; exit 6",
        ],
    );
    let out = store.berth(["attach", "a1"]);
    out.fails_with(6);
    assert_eq!(out.stdout, "at1\nat2\nat3\n", "{out}");
}

#[test]
fn inspect_reports_the_state_while_running_and_after_the_exit() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "st"], &["sleep", "60"]);
    let doc = inspect(&store, "st");
    let state = &doc["State"];
    assert_eq!(doc["Id"], id);
    assert_eq!(state["Status"], "running", "{state}");
    assert_eq!(state["Running"], true, "{state}");
    let pid = state["Pid"].as_i64().expect("Pid");
    assert!(pid_alive(pid), "State.Pid {pid} is a live process");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).expect("reading a file");
    assert_eq!(comm.trim(), "sleep");
    assert!(pid_alive(state["ConmonPid"].as_i64().expect("ConmonPid")));
    assert_eq!(state["ExitCode"], 0);
    assert!(s(&state["StartedAt"]).starts_with("20"), "{state}");
    assert_eq!(state["FinishedAt"], "0001-01-01T00:00:00Z", "{state}");
    store.berth(["kill", "st"]).ok();
    wait_status(&store, "st", "Exited (137)");
    let state = inspect(&store, "st")["State"].clone();
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(state["Pid"], 0, "{state}");
    assert_eq!(state["ExitCode"], 137, "{state}");
    let (started, finished) = (s(&state["StartedAt"]), s(&state["FinishedAt"]));
    assert!(
        finished.starts_with("20") && finished > started,
        "FinishedAt after StartedAt: {state}"
    );
}

#[test]
fn inspect_reports_the_config_and_host_config() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &[
            "--name",
            "cfg",
            "-e",
            "E=1",
            "-l",
            "k=v",
            "--memory",
            "64m",
            "--pids-limit",
            "100",
            "-w",
            "/tmp",
        ],
        &["sleep", "60"],
    );
    let doc = inspect(&store, "cfg");
    assert_eq!(doc["Id"], id);
    assert_eq!(doc["Name"], "cfg");
    assert_eq!(doc["Path"], "sleep");
    assert_eq!(doc["Args"], serde_json::json!(["60"]));
    assert_eq!(doc["Image"], images().get("busybox").id());
    assert_eq!(doc["ImageName"], busybox());
    let config = &doc["Config"];
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["sleep", "60"]),
        "{config}"
    );
    assert_eq!(config["Image"], busybox(), "{config}");
    assert_eq!(config["WorkingDir"], "/tmp", "{config}");
    assert_eq!(config["Labels"]["k"], "v", "{config}");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .map(s)
        .collect();
    assert!(env.contains(&"E=1"), "{env:?}");
    assert!(
        env.contains(&"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{env:?}"
    );
    let host = &doc["HostConfig"];
    assert_eq!(host["Memory"], 64 * 1024 * 1024, "{host}");
    assert_eq!(host["PidsLimit"], 100, "{host}");
    assert_eq!(host["NetworkMode"], "bridge", "{host}");
    assert_eq!(
        doc["OCIRuntime"],
        berth_e2e::containers::oci_runtime(),
        "the runtime it ran on"
    );
    assert_eq!(
        store
            .berth(["inspect", "--format", "{{.State.Status}} {{.Name}}", "cfg"])
            .ok(),
        "running cfg\n"
    );
    store.berth(["rm", "-f", "-t", "0", "cfg"]).ok();
}

// ---- ps ---------------------------------------------------------------------------

/// Three containers: `old` (exited 0, label app=x), `mid` (exited 3), `new` (running).
fn three_containers(store: &Store) -> [String; 3] {
    let old = container_id(&run(
        store,
        &["-d", "--name", "old", "-l", "app=x"],
        &["true"],
    ));
    wait_status(store, "old", "Exited (0)");
    let mid = container_id(&run(
        store,
        &["-d", "--name", "mid"],
        &["sh", "-c", "exit 3"],
    ));
    wait_status(store, "mid", "Exited (3)");
    let new = run_detached(store, &["--name", "new"], &["sleep", "60"]);
    [old, mid, new]
}

#[test]
fn ps_all_quiet_last_and_no_trunc() {
    let store = store_with_busybox();
    let [old, mid, new] = three_containers(&store);
    assert_eq!(
        ps(&store, &["-q"]),
        vec![new[..12].to_string()],
        "running only"
    );
    let mut all = ps(&store, &["-a", "-q"]);
    all.sort();
    let mut short = vec![
        old[..12].to_string(),
        mid[..12].to_string(),
        new[..12].to_string(),
    ];
    short.sort();
    assert_eq!(all, short);
    let mut full = vec![old.clone(), mid.clone(), new.clone()];
    full.sort();
    assert_eq!(all_ids(&store), full);
    assert_eq!(
        ps(&store, &["-a", "-n", "1", "--format", "{{.Names}}"]),
        ["new"]
    );
    assert_eq!(ps(&store, &["-l", "--format", "{{.Names}}"]), ["new"]);
    let wide = ps(&store, &["--no-trunc"]);
    assert!(wide[1].starts_with(&format!("{new}  ")), "{wide:?}");
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn ps_lists_oldest_first_like_podman() {
    let store = store_with_busybox();
    three_containers(&store);
    assert_eq!(
        ps(&store, &["-a", "--format", "{{.Names}}"]),
        ["old", "mid", "new"],
        "Podman 4.3 sorts by creation time, oldest first"
    );
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

/// `ps -a --format {{.Names}}` with a `--filter` for each of `filters`, sorted.
fn filtered(store: &Store, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["-a", "--format", "{{.Names}}"];
    for x in filters {
        args.extend(["--filter", x]);
    }
    let mut v = ps(store, &args);
    v.sort();
    v
}

#[test]
fn ps_filters_by_status_name_label_and_exit_code() {
    let store = store_with_busybox();
    three_containers(&store);
    let f = |filters: &[&str]| filtered(&store, filters);
    assert_eq!(f(&["status=exited"]), ["mid", "old"]);
    assert_eq!(f(&["status=running"]), ["new"]);
    assert_eq!(f(&["name=ne"]), ["new"]);
    assert_eq!(f(&["label=app=x"]), ["old"]);
    assert_eq!(f(&["label=app"]), ["old"]);
    assert_eq!(f(&["label=app=y"]), Vec::<String>::new());
    assert_eq!(f(&["exited=3"]), ["mid"]);
    assert_eq!(f(&["status=exited", "name=old"]), ["old"], "keys AND");
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn ps_name_filter_is_a_regular_expression_like_podman() {
    let store = store_with_busybox();
    three_containers(&store);
    assert_eq!(filtered(&store, &["name=^mid$"]), ["mid"]);
    assert_eq!(filtered(&store, &["name=^(old|new)$"]), ["new", "old"]);
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn ps_filters_of_one_key_match_any_of_their_values_like_podman() {
    let store = store_with_busybox();
    three_containers(&store);
    assert_eq!(
        filtered(&store, &["status=exited", "status=running"]),
        ["mid", "new", "old"]
    );
    assert_eq!(filtered(&store, &["name=old", "name=new"]), ["new", "old"]);
    assert_eq!(
        filtered(&store, &["name=old", "name=new", "status=running"]),
        ["new"],
        "different keys still AND"
    );
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn ps_format_templates_pick_fields() {
    let store = store_with_busybox();
    let [_, _, new] = three_containers(&store);
    let lines = ps(&store, &["-a", "--format", "{{.Names}} {{.Status}}"]);
    let find = |n: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{n} ")))
            .unwrap_or_else(|| panic!("{n} not in {lines:?}"))
            .clone()
    };
    assert!(find("old").starts_with("old Exited (0) "), "{lines:?}");
    assert!(find("mid").starts_with("mid Exited (3) "), "{lines:?}");
    assert!(find("new").starts_with("new Up "), "{lines:?}");
    assert_eq!(
        ps(
            &store,
            &["--format", "{{.ID}} {{.Image}} {{.Command}} {{.State}}"]
        ),
        [format!("{} {} sleep 60 running", &new[..12], busybox())]
    );
    assert_eq!(
        ps(&store, &["-a", "--format", "table {{.Names}}"])[0].trim_end(),
        "NAMES",
        "a table template has a header"
    );
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn ps_format_json_has_podmans_keys_and_values() {
    let store = store_with_busybox();
    let [_, mid, _] = three_containers(&store);
    let out = store.berth(["ps", "-a", "--format", "json"]);
    let list: Vec<Value> = serde_json::from_str(out.ok()).expect("ps --format json is JSON");
    assert_eq!(list.len(), 3, "{out}");
    let m = list
        .iter()
        .find(|c| c["Id"] == mid.as_str())
        .unwrap_or_else(|| panic!("mid in {out}"));
    assert_eq!(m["Names"], serde_json::json!(["mid"]), "{m}");
    assert_eq!(m["Image"], busybox(), "{m}");
    assert_eq!(m["State"], "exited", "{m}");
    assert_eq!(m["ExitCode"], 3, "{m}");
    assert_eq!(m["Exited"], true, "{m}");
    assert_eq!(
        m["Command"],
        serde_json::json!(["sh", "-c", "exit 3"]),
        "{m}"
    );
    let mut differences = Vec::new();
    if m["ImageID"] != images().get("busybox").id() {
        differences.push("no ImageID key (Podman's spelling) with the image ID");
    }
    let status = m["Status"].as_str().unwrap_or_default();
    if !(status.starts_with("Exited (3) ") && status.ends_with(" ago")) {
        differences.push("Status is not the human status (\"Exited (3) … ago\") Podman prints");
    }
    assert!(differences.is_empty(), "{differences:?}: {m}");
    store.berth(["rm", "-f", "-t", "0", "new"]).ok();
}

#[test]
fn container_exists_answers_with_its_exit_code() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args("create", &["--name", "here"], &["true"])));
    for name in ["here", &id, &id[..12]] {
        let out = store.berth(["container", "exists", name]);
        assert_eq!(out.ok(), "", "{out}");
        assert_eq!(out.stderr, "", "{out}");
    }
    let out = store.berth(["container", "exists", "nothere"]);
    assert_eq!(out.fails_with(1), "", "exit 1 and silence: {out}");
}

#[test]
fn container_ls_and_container_inspect_are_ps_and_inspect() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args("create", &["--name", "x"], &["true"])));
    assert_eq!(
        store
            .berth(["container", "ls", "-a", "--format", "{{.Names}}"])
            .ok(),
        "x\n"
    );
    assert_eq!(inspect(&store, "x")["Id"], id);
}

// ---- removal ----------------------------------------------------------------------

#[test]
fn rm_by_id_prints_the_full_id() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args("create", &[], &["true"])));
    assert_eq!(store.berth(["rm", &id]).ok(), format!("{id}\n"));
    assert_no_containers_left(&store, "rm ID");
}

#[test]
fn rm_by_name_prints_the_name_like_podman() {
    // Podman 4 prints each argument as the user gave it (`podman rm web` → "web").
    let store = store_with_busybox();
    store
        .berth(run_args("create", &["--name", "web"], &["true"]))
        .ok();
    assert_eq!(store.berth(["rm", "web"]).ok(), "web\n");
}

#[test]
fn rm_of_a_running_container_without_force_fails_with_exit_2() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "busy"], &["sleep", "60"]);
    let out = store.berth(["rm", "busy"]);
    let err = out.fails_with(2);
    assert_eq!(
        err,
        format!(
            "Error: cannot remove container {id} as it is running - running or paused containers cannot be removed without force: container state improper\n"
        ),
        "Podman's message: {out}"
    );
    assert_eq!(out.stdout, "");
    assert!(names_and_status(&store)[0].starts_with("busy Up "));
    store.berth(["rm", "-f", "-t", "0", "busy"]).ok();
}

#[test]
fn rm_force_with_timeout_0_removes_a_running_container_at_once() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "busy"], &["sleep", "60"]);
    let pid = inspect(&store, "busy")["State"]["Pid"]
        .as_i64()
        .expect("a numeric pid");
    let start = Instant::now();
    let out = store.berth(["rm", "-f", "-t", "0", &id]);
    assert_eq!(out.ok(), format!("{id}\n"), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!pid_alive(pid), "the container's process is gone");
    assert_no_containers_left(&store, "rm -f -t 0");
}

#[test]
fn rm_all_force_removes_every_container() {
    let store = store_with_busybox();
    let mut ids = vec![
        run_detached(&store, &[], &["sleep", "60"]),
        run_detached(&store, &[], &["sleep", "60"]),
        container_id(&store.berth(run_args("create", &[], &["true"]))),
    ];
    run(&store, &[], &["true"]).ok();
    ids.push(
        all_ids(&store)
            .into_iter()
            .find(|i| !ids.contains(i))
            .expect("the attached run's container"),
    );
    let out = store.berth(["rm", "-a", "-f", "-t", "0"]);
    let mut printed: Vec<String> = out.ok().lines().map(str::to_string).collect();
    printed.sort();
    ids.sort();
    assert_eq!(printed, ids, "rm -a prints every full ID: {out}");
    assert_no_containers_left(&store, "rm -a -f");
}

#[test]
fn detached_run_with_rm_removes_the_container_after_its_exit() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &["--rm", "--name", "brief"],
        &["sh", "-c", "sleep 0.3"],
    );
    wait_for("the --rm container to go", Duration::from_secs(20), || {
        ps(&store, &["-a", "-q"]).is_empty().then_some(())
    });
    assert_no_containers_left(&store, "run -d --rm");
}

// ---- images and names -----------------------------------------------------------

#[test]
fn run_pulls_an_image_it_does_not_have() {
    let store = Store::new();
    let image = busybox();
    let out = store.berth([
        "run",
        "--rm",
        "--tls-verify=false",
        &image,
        "echo",
        "pulled",
    ]);
    assert_eq!(out.ok(), "pulled\n", "{out}");
    assert!(
        out.stderr.contains(&format!("Trying to pull {image}...")),
        "progress on stderr: {out}"
    );
    let listed = store.berth(["images", "-q", "--no-trunc"]);
    assert!(
        listed.ok().contains(images().get("busybox").id()),
        "{listed}"
    );
}

#[test]
fn two_hundred_unnamed_containers_all_get_distinct_generated_names() {
    // Podman retries a generated name that is taken; a create must never fail
    // because the name it made up for itself is in use.
    let store = store_with_busybox();
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    let out = store.berth(run_args("create", &[], &["true"]));
                    if !out.success() {
                        failures
                            .lock()
                            .expect("a test thread panicked")
                            .push(out.to_string());
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("a test thread panicked");
    assert!(
        failures.is_empty(),
        "{} of 200 creates failed, first: {}",
        failures.len(),
        failures[0]
    );
    let mut names = ps(&store, &["-a", "--format", "{{.Names}}"]);
    assert_eq!(names.len(), 200);
    assert!(
        names.iter().all(|n| {
            let parts: Vec<&str> = n.split('_').collect();
            parts.len() == 2 && parts.iter().all(|p| !p.is_empty())
        }),
        "adjective_noun names: {names:?}"
    );
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 200, "every name distinct");
}

#[test]
fn timeout_kills_a_container_that_runs_too_long() {
    let store = store_with_busybox();
    let started = std::time::Instant::now();
    let out = run(&store, &["--rm", "--timeout", "1"], &["sleep", "30"]);
    assert_eq!(
        out.code,
        Some(137),
        "killed by SIGKILL after the timeout: {out}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "not the full sleep"
    );
    assert_no_containers_left(&store, "run --rm --timeout");
}

#[test]
fn port_lists_nothing_without_published_ports_and_names_a_missing_one() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "noports"], &["sleep", "30"]);
    assert_eq!(store.berth(["port", "noports"]).ok(), "", "{id}");
    let missing = store.berth(["port", "noports", "80"]);
    assert!(
        missing
            .fails_with(125)
            .contains("failed to find published port \"80/tcp\""),
        "{missing}"
    );
}

#[test]
fn cp_copies_both_ways_and_symlinks_never_reach_the_host() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &["--name", "cpc"],
        &["sh", "-c", "mkdir -p /data/sub && echo inner > /data/sub/f && ln -s /etc /data/etclink && ln -s ../../../../.. /data/up && sleep 60"],
    );
    wait_for(
        "the container set up /data",
        std::time::Duration::from_secs(10),
        || {
            store
                .berth(["exec", "cpc", "test", "-L", "/data/up"])
                .success()
                .then_some(())
        },
    );
    let host = tempfile::tempdir().expect("temp dir");
    let h = host.path().display().to_string();
    // Out of the container: a tree, with its symlinks kept as links.
    store.berth(["cp", "cpc:/data", &h]).ok();
    assert_eq!(
        std::fs::read_to_string(host.path().join("data/sub/f")).expect("copied file"),
        "inner\n"
    );
    assert_eq!(
        std::fs::read_link(host.path().join("data/etclink")).expect("link kept"),
        std::path::PathBuf::from("/etc")
    );
    // A path through a container symlink reads the container's file, not the host's.
    store
        .berth(["cp", "cpc:/data/etclink/hostname", &format!("{h}/hn")])
        .ok();
    let container_hostname = store
        .berth(["exec", "cpc", "cat", "/etc/hostname"])
        .ok()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(host.path().join("hn")).expect("hn"),
        container_hostname
    );
    // Into the container through its symlinks: lands inside its root, never in the host's /etc or /.
    let marker = format!("berth-cp-marker-{}", std::process::id());
    std::fs::write(host.path().join(&marker), "x").expect("write");
    let src = format!("{h}/{marker}");
    store.berth(["cp", &src, "cpc:/data/etclink/"]).ok();
    store.berth(["cp", &src, "cpc:/data/up/"]).ok();
    assert!(
        !std::path::Path::new("/etc").join(&marker).exists(),
        "nothing written to the host's /etc"
    );
    assert!(
        !std::path::Path::new("/").join(&marker).exists(),
        "nothing written to the host's /"
    );
    store
        .berth(["exec", "cpc", "test", "-f", &format!("/etc/{marker}")])
        .ok();
    store
        .berth(["exec", "cpc", "test", "-f", &format!("/{marker}")])
        .ok();
    // Tar streams with -.
    let out = store
        .command(["cp", "cpc:/data/sub/f", "-"])
        .output()
        .expect("cp to stdout");
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let names: Vec<String> = archive
        .entries()
        .expect("tar")
        .filter_map(|e| e.ok())
        .map(|e| e.path().expect("path").display().to_string())
        .collect();
    assert_eq!(names, vec!["f".to_string()]);
    // A symlink named as the source is followed inside the container, and the copy takes
    // the target's name, as Podman does: /data/up (../../../../..) is the container's /.
    let followed = tempfile::tempdir().expect("temp dir");
    let f = followed.path().display().to_string();
    store.berth(["cp", "cpc:/data/etclink", &f]).ok();
    assert_eq!(
        std::fs::read_to_string(followed.path().join("etc/hostname")).expect("copied /etc"),
        container_hostname
    );
    store
        .berth(["cp", "cpc:/data/up", &format!("{f}/root")])
        .ok();
    assert!(
        followed.path().join("root/data/sub/f").is_file(),
        "the container's root, not the host's"
    );
    assert!(
        followed.path().join("root").join(&marker).is_file()
            && !followed.path().join("root/work").exists(),
        "the copy is of the container's / (with the marker put there), not the host's"
    );
    let missing = store.berth(["cp", "cpc:/no/such", &h]);
    assert!(
        missing.fails_with(125).contains("could not be found"),
        "{missing}"
    );
}

#[test]
fn a_health_check_past_its_timeout_is_killed_and_counts_as_failed() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &[
            "--name",
            "slow",
            "--health-cmd",
            "sleep 30",
            "--health-timeout",
            "1s",
            "--health-retries",
            "1",
        ],
        &["sleep", "60"],
    );
    let started = std::time::Instant::now();
    let run = store.berth(["healthcheck", "run", "slow"]);
    let took = started.elapsed();
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(1), "unhealthy\n"),
        "{run}"
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "the check was not cut off at its timeout: {took:?}"
    );
    let health = &inspect(&store, "slow")["State"]["Health"];
    let last = &health["Log"][0];
    assert_eq!(last["ExitCode"], 1, "{health}");
    assert!(
        last["Output"]
            .as_str()
            .is_some_and(|o| o.contains("timeout of 1s")),
        "{health}"
    );
    let top = store.berth(["top", "slow"]);
    assert!(
        !top.ok().contains("sleep 30"),
        "the timed-out check still runs:\n{top}"
    );
}

#[test]
fn health_checks_move_from_starting_to_unhealthy_to_healthy() {
    let store = store_with_busybox();
    run_detached(
        &store,
        &[
            "--name",
            "hc",
            "--health-cmd",
            "test -f /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
        ],
        &["sleep", "60"],
    );
    assert_eq!(
        inspect(&store, "hc")["State"]["Health"]["Status"],
        "starting"
    );
    // Failing checks (the monitor's, every second, or ours) reach the retry count.
    wait_for(
        "the container to turn unhealthy",
        std::time::Duration::from_secs(15),
        || (inspect(&store, "hc")["State"]["Health"]["Status"] == "unhealthy").then_some(()),
    );
    assert!(ps(&store, &["--format", "{{.Status}}"])
        .iter()
        .any(|s| s.ends_with("(unhealthy)")));
    let run = store.berth(["healthcheck", "run", "hc"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(1), "unhealthy\n"),
        "{run}"
    );
    store.berth(["exec", "hc", "touch", "/tmp/ok"]).ok();
    assert_eq!(store.berth(["healthcheck", "run", "hc"]).ok(), "");
    let health = &inspect(&store, "hc")["State"]["Health"];
    assert_eq!(health["Status"], "healthy", "{health}");
    assert_eq!(health["FailingStreak"], 0, "{health}");
    assert!(
        health["Log"]
            .as_array()
            .is_some_and(|l| !l.is_empty() && l.len() <= 5),
        "{health}"
    );
    let none = store.berth(["healthcheck", "run", "nosuch"]);
    none.fails_with(125);
}

#[test]
fn create_with_platform_pulls_the_image_of_that_platform() {
    let store = Store::new();
    let reference = TestEnv::get().image_ref("multiarch");
    let arm = images()
        .get("multiarch")
        .platform("arm64")
        .config_digest
        .clone();
    let out = store.berth([
        "create",
        "--tls-verify=false",
        "--platform",
        "linux/arm64",
        "--name",
        "armed",
        &reference,
        "true",
    ]);
    out.ok();
    assert_eq!(
        format!(
            "sha256:{}",
            inspect(&store, "armed")["Image"].as_str().unwrap_or("")
        ),
        arm
    );
    let bad = store.berth(["create", "--platform", "linux", &reference, "true"]);
    assert!(bad.fails_with(125).contains("--platform"), "{bad}");
    assert_eq!(all_ids(&store).len(), 1, "a bad --platform creates nothing");
}

#[test]
fn cgroup_manager_systemd_without_systemd_falls_back_to_cgroupfs_with_a_warning() {
    let store = store_with_busybox();
    let systemd = std::path::Path::new("/run/systemd/system").is_dir();
    let out = store.berth([
        "--cgroup-manager",
        "systemd",
        "run",
        "--name",
        "cgm",
        &busybox(),
        "true",
    ]);
    out.ok();
    let manager = inspect(&store, "cgm")["HostConfig"]["CgroupManager"].clone();
    if systemd {
        assert_eq!(manager, "systemd", "{out}");
    } else {
        assert_eq!(manager, "cgroupfs", "{out}");
        assert!(
            out.stderr.contains("systemd is not running as PID 1"),
            "says why: {out}"
        );
    }
    let bad = store.berth([
        "--cgroup-manager",
        "sysd",
        "create",
        "--name",
        "bad",
        &busybox(),
    ]);
    assert!(
        bad.fails_with(125)
            .contains("invalid --cgroup-manager \"sysd\""),
        "{bad}"
    );
    assert_eq!(store.berth(["container", "exists", "bad"]).code, Some(1));
}
