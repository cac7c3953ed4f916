//! The volume commands end to end: create (names, labels, options, --ignore), ls with
//! filters and formats, inspect (several names, one missing), rm (exit 1 for a missing
//! volume), prune, exists, the on-disk layout Podman uses, and eight processes racing
//! to create one name. Volumes used by containers are tested with the containers.

use berth_e2e::Store;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

fn inspect(store: &Store, name: &str) -> Value {
    let out = store.berth(["volume", "inspect", name]).ok().to_string();
    let v: Value = serde_json::from_str(&out).expect("inspect prints JSON");
    v[0].clone()
}

fn create(store: &Store, args: &[&str]) -> String {
    let mut a = vec!["volume", "create"];
    a.extend_from_slice(args);
    store.berth(a).ok().trim().to_string()
}

fn names(store: &Store, filters: &[&str]) -> Vec<String> {
    let mut a = vec!["volume", "ls", "-q"];
    for f in filters {
        a.extend(["--filter", f]);
    }
    store.berth(a).ok().lines().map(str::to_string).collect()
}

/// Entries of `<root>/volumes`, the empty staging area left out.
fn volume_dirs(store: &Store) -> Vec<String> {
    let dir = store.root().join("volumes");
    let staged = std::fs::read_dir(dir.join(".staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staged, 0, "nothing left in volumes/.staging");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".staging")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn create_prints_the_name_and_lays_the_volume_out_like_podman() {
    let store = Store::new();
    let out = store.berth(["volume", "create", "v"]);
    assert_eq!(out.ok(), "v\n");
    let data = store.root().join("volumes/v/_data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").mode() & 0o7777;
    assert_eq!(mode(&data), 0o755);
    assert_eq!(mode(&store.root().join("volumes/v")), 0o700);
    let v = inspect(&store, "v");
    assert_eq!(v["Name"], "v");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Mountpoint"], data.display().to_string());
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"], serde_json::json!({}));
    assert_eq!(v["Options"], serde_json::json!({}));
    assert_eq!(v["MountCount"], 0);
    assert_eq!(v["NeedsCopyUp"], true);
    assert_eq!(v["NeedsChown"], true);
    assert!(v.get("Anonymous").is_none() && v.get("UID").is_none());
    let created = v["CreatedAt"].as_str().expect("CreatedAt");
    assert!(
        created.len() > 20 && created.as_bytes()[10] == b'T' && created.contains(':'),
        "RFC 3339: {created}"
    );
    let keys: Vec<&str> = v
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "Name",
            "Driver",
            "Mountpoint",
            "CreatedAt",
            "Labels",
            "Scope",
            "Options",
            "MountCount",
            "NeedsCopyUp",
            "NeedsChown"
        ]
    );
    let text = store.berth(["volume", "inspect", "v"]).ok().to_string();
    assert!(
        text.starts_with("[\n     {\n          \"Name\": \"v\",\n"),
        "Podman's indentation: {text}"
    );
}

#[test]
fn create_without_a_name_makes_a_random_64_hex_name() {
    let store = Store::new();
    let name = create(&store, &[]);
    assert_eq!(name.len(), 64, "{name}");
    assert!(name.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(store
        .root()
        .join("volumes")
        .join(&name)
        .join("_data")
        .is_dir());
    assert_ne!(create(&store, &[]), name);
}

#[test]
fn creating_an_existing_name_fails_like_podman_unless_ignore() {
    let store = Store::new();
    create(&store, &["v"]);
    let created = inspect(&store, "v")["CreatedAt"].clone();
    let err = store.berth(["volume", "create", "v"]);
    assert_eq!(
        err.fails_with(125),
        "Error: volume with name v already exists: volume already exists\n"
    );
    assert_eq!(err.stdout, "");
    let again = store.berth(["volume", "create", "--ignore", "v"]);
    assert_eq!(again.ok(), "v\n");
    assert_eq!(inspect(&store, "v")["CreatedAt"], created, "not recreated");
}

#[test]
fn create_refuses_bad_names_drivers_and_options() {
    let store = Store::new();
    for bad in ["bad/name", ".hidden", "a b", "_x"] {
        let err = store.berth(["volume", "create", bad]);
        let msg = err.fails_with(125);
        assert!(msg.contains(&format!("{bad:?}")), "names the volume: {msg}");
        assert!(
            msg.contains("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
            "{msg}"
        );
    }
    let err = store.berth(["volume", "create", "--driver", "foo", "y"]);
    assert_eq!(
        err.fails_with(125),
        "Error: volume y uses volume plugin foo but it could not be retrieved: \
         no volume plugin with name foo available: required plugin missing\n"
    );
    let err = store.berth(["volume", "create", "-o", "foo=bar", "x"]);
    assert_eq!(
        err.fails_with(125),
        "Error: invalid mount option foo for driver 'local': invalid argument\n"
    );
    let err = store.berth(["volume", "create", "-o", "o=uid", "x"]);
    assert_eq!(
        err.fails_with(125),
        "Error: uid option must provide a UID: invalid argument\n"
    );
    assert!(names(&store, &[]).is_empty(), "nothing was created");
    assert!(volume_dirs(&store).is_empty());
}

#[test]
fn labels_and_options_are_kept_and_an_owner_option_chowns_the_data() {
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    if uid != 0 {
        eprintln!("skipped: giving a volume to uid 1000 needs root");
        return;
    }
    let store = Store::new();
    create(
        &store,
        &[
            "--label",
            "a=b",
            "-l",
            "c",
            "--opt",
            "o=uid=1000,gid=1001,nodev",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "own",
        ],
    );
    let v = inspect(&store, "own");
    assert_eq!(v["Labels"], serde_json::json!({"a": "b", "c": ""}));
    assert_eq!(
        v["Options"],
        serde_json::json!({
            "GID": "1001", "UID": "1000", "device": "tmpfs",
            "o": "uid=1000,gid=1001,nodev", "type": "tmpfs"
        })
    );
    assert_eq!(v["UID"], 1000);
    assert_eq!(v["GID"], 1001);
    assert!(v.get("NeedsChown").is_none(), "the owner was given: {v}");
    let data = std::fs::metadata(store.root().join("volumes/own/_data")).expect("_data");
    assert_eq!((data.uid(), data.gid()), (1000, 1001));
    let t = store
        .berth([
            "volume",
            "inspect",
            "--format",
            "{{.Name}} {{.Labels}} {{.UID}} {{.Anonymous}} {{.NeedsChown}}",
            "own",
        ])
        .ok()
        .to_string();
    assert_eq!(t, "own map[a:b c:] 1000 false false\n");
}

#[test]
fn ls_prints_podmans_table_and_filters_like_podman() {
    let store = Store::new();
    create(&store, &["--label", "env=prod", "alpha"]);
    create(
        &store,
        &["--label", "env=dev", "--label", "tier=web", "beta"],
    );
    create(&store, &["-o", "type=tmpfs", "gamma"]);
    let table = store.berth(["volume", "ls"]).ok().to_string();
    assert_eq!(
        table,
        "DRIVER      VOLUME NAME\nlocal       alpha\nlocal       beta\nlocal       gamma\n"
    );
    assert_eq!(names(&store, &[]), ["alpha", "beta", "gamma"]);
    assert_eq!(names(&store, &["name=^a"]), ["alpha"]);
    assert_eq!(
        names(&store, &["name=a"]),
        ["alpha", "beta", "gamma"],
        "a regex, unanchored"
    );
    assert_eq!(
        names(&store, &["name=alpha", "name=gamma"]),
        ["alpha", "gamma"]
    );
    assert!(names(&store, &["name=alpha", "driver=other"]).is_empty());
    assert_eq!(names(&store, &["label=env"]), ["alpha", "beta"]);
    assert_eq!(names(&store, &["label=env=prod"]), ["alpha"]);
    assert_eq!(
        names(&store, &["label=env", "label=tier"]),
        ["beta"],
        "labels: all"
    );
    assert_eq!(names(&store, &["label!=env"]), ["gamma"]);
    assert_eq!(names(&store, &["opt=type=tmpfs"]), ["gamma"]);
    assert_eq!(names(&store, &["driver=local", "scope=local"]).len(), 3);
    assert_eq!(names(&store, &["dangling=true"]).len(), 3);
    assert!(names(&store, &["dangling=false"]).is_empty());
    assert_eq!(names(&store, &["anonymous=false"]).len(), 3);
    assert_eq!(names(&store, &["since=alpha"]), ["beta", "gamma"]);
    assert!(names(&store, &["until=1h"]).is_empty());
    assert_eq!(names(&store, &["until=2999-01-01T00:00:00Z"]).len(), 3);

    let err = store.berth(["volume", "ls", "--filter", "bogus=1"]);
    assert_eq!(
        err.fails_with(125),
        "Error: \"bogus\" is an invalid volume filter\n"
    );
    let err = store.berth(["volume", "ls", "--filter", "dangling=maybe"]);
    assert_eq!(
        err.fails_with(125),
        "Error: \"maybe\" is not a valid value for the \"dangling\" filter - must be true or false\n"
    );

    let t = store
        .berth([
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}} {{.Labels}}",
        ])
        .ok()
        .to_string();
    assert_eq!(
        t,
        "alpha local map[env:prod]\nbeta local map[env:dev tier:web]\ngamma local map[]\n"
    );
    let t = store
        .berth([
            "volume",
            "ls",
            "--noheading",
            "--format",
            "table {{.Name}} {{.Scope}}",
        ])
        .ok()
        .to_string();
    assert_eq!(
        t,
        "alpha       local\nbeta        local\ngamma       local\n"
    );
    let t = store
        .berth([
            "volume",
            "ls",
            "--format",
            "table {{.Name}} {{.MountCount}}",
        ])
        .ok()
        .to_string();
    assert!(t.starts_with("VOLUME NAME  MOUNT COUNT\n"), "{t}");
    let json = store
        .berth(["volume", "ls", "--format", "json"])
        .ok()
        .to_string();
    let docs: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(docs.as_array().map(Vec::len), Some(3));
    assert_eq!(docs[1]["Labels"]["tier"], "web");
    assert!(
        json.starts_with("[\n  {\n    \"Name\": \"alpha\""),
        "{json}"
    );
}

#[test]
fn inspect_of_several_names_prints_those_found_and_fails_naming_the_missing() {
    let store = Store::new();
    create(&store, &["one"]);
    create(&store, &["two"]);
    let out = store.berth(["volume", "inspect", "one", "nope", "two"]);
    assert_eq!(
        out.fails_with(125),
        "Error: inspecting object: no such volume nope\n"
    );
    let docs: Value = serde_json::from_str(&out.stdout).expect("the found ones as JSON");
    let found: Vec<&str> = docs
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["Name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(found, ["one", "two"]);

    let out = store.berth(["volume", "inspect", "x", "y"]);
    assert_eq!(
        out.fails_with(125),
        "error inspecting object: no such volume y\nError: inspecting object: no such volume x\n"
    );
    assert_eq!(out.stdout, "[]\n");

    let all = store
        .berth(["volume", "inspect", "--all", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert_eq!(all, "one\ntwo\n");
    let err = store.berth(["volume", "inspect"]);
    assert_eq!(
        err.fails_with(125),
        "Error: provide one or more volume names or use --all\n"
    );
}

#[test]
fn rm_removes_the_volume_and_its_directory_and_missing_names_exit_1() {
    let store = Store::new();
    for n in ["a", "b", "c", "d"] {
        create(&store, &[n]);
    }
    std::fs::write(store.root().join("volumes/a/_data/file"), b"content").expect("write");
    std::fs::create_dir(store.root().join("volumes/a/_data/dir")).expect("dir");
    std::os::unix::fs::symlink("/etc", store.root().join("volumes/a/_data/etc")).expect("link");
    assert_eq!(store.berth(["volume", "rm", "a"]).ok(), "a\n");
    assert_eq!(volume_dirs(&store), ["b", "c", "d"]);
    assert!(
        std::path::Path::new("/etc/passwd").exists(),
        "symlinks are not followed"
    );

    let err = store.berth(["volume", "rm", "nope"]);
    assert_eq!(
        err.fails_with(1),
        "Error: no volume with name \"nope\" found: no such volume\n"
    );
    let out = store.berth(["volume", "rm", "b", "nope", "gone"]);
    assert_eq!(
        out.fails_with(1),
        "Error: no volume with name \"nope\" found: no such volume\n\
         Error: no volume with name \"gone\" found: no such volume\n"
    );
    assert_eq!(out.stdout, "b\n", "what exists is removed");
    assert_eq!(store.berth(["volume", "rm", "-f", "nope"]).ok(), "");
    let err = store.berth(["volume", "rm"]);
    assert_eq!(
        err.fails_with(125),
        "Error: choose either one or more volumes or all\n"
    );
    store.berth(["volume", "rm", "--all", "c"]).fails_with(125);
    assert_eq!(store.berth(["volume", "rm", "--all"]).ok(), "c\nd\n");
    assert!(volume_dirs(&store).is_empty());
    assert!(names(&store, &[]).is_empty());
}

#[test]
fn prune_removes_unused_volumes_and_prints_their_names() {
    let store = Store::new();
    create(&store, &["--label", "k=v", "p1"]);
    create(&store, &["p2"]);
    create(&store, &["p3"]);
    let out = store.berth(["volume", "prune", "-f", "--filter", "label=k=v"]);
    assert_eq!(out.ok(), "p1\n");
    let declined = store.berth_input(["volume", "prune"], b"n\n");
    assert_eq!(
        declined.ok(),
        "WARNING! This will remove all volumes not used by at least one container. \
         The following volumes will be removed:\np2\np3\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(names(&store, &[]), ["p2", "p3"]);
    store
        .berth(["volume", "prune", "-f", "--filter", "name=p2"])
        .fails_with(125);
    let accepted = store.berth_input(["volume", "prune", "--filter", "label!=k"], b"y\n");
    assert!(accepted.ok().ends_with("[y/N] p2\np3\n"), "{accepted}");
    assert!(names(&store, &[]).is_empty());
    assert!(volume_dirs(&store).is_empty());
    let empty = store.berth(["volume", "prune"]);
    assert!(
        empty.ok().ends_with("No dangling volumes found\n"),
        "{empty}"
    );
}

#[test]
fn exists_answers_with_the_exit_code_only() {
    let store = Store::new();
    create(&store, &["here"]);
    let yes = store.berth(["volume", "exists", "here"]);
    assert_eq!(
        (yes.code, yes.stdout.as_str(), yes.stderr.as_str()),
        (Some(0), "", "")
    );
    let no = store.berth(["volume", "exists", "nope"]);
    assert_eq!(
        (no.code, no.stdout.as_str(), no.stderr.as_str()),
        (Some(1), "", "")
    );
}

/// Starts `n` `berth volume create ARGS` at once; returns each (exit code, stdout, stderr).
fn race(store: &Store, n: usize, args: &[&str]) -> Vec<(Option<i32>, String, String)> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut c = store.command(["volume", "create"]);
            c.args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().expect("spawning berth")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("waiting for berth");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

#[test]
fn eight_processes_creating_one_name_have_exactly_one_winner() {
    let store = Store::new();
    for round in 0..3 {
        let name = format!("race{round}");
        let results = race(&store, 8, &[&name]);
        let winners: Vec<_> = results.iter().filter(|r| r.0 == Some(0)).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert_eq!(winners[0].1, format!("{name}\n"));
        for r in results.iter().filter(|r| r.0 != Some(0)) {
            assert_eq!(r.0, Some(125), "{r:?}");
            assert_eq!(
                r.2,
                format!("Error: volume with name {name} already exists: volume already exists\n")
            );
        }
    }
    let with_ignore = race(&store, 8, &["--ignore", "shared"]);
    assert!(
        with_ignore
            .iter()
            .all(|r| r.0 == Some(0) && r.1 == "shared\n"),
        "{with_ignore:?}"
    );
    let expected = ["race0", "race1", "race2", "shared"];
    assert_eq!(names(&store, &[]), expected, "one row each");
    assert_eq!(volume_dirs(&store), expected, "one directory each");
    for n in expected {
        let meta =
            std::fs::metadata(store.root().join("volumes").join(n).join("_data")).expect("_data");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    }
}

#[test]
fn a_directory_left_without_a_record_is_never_listed_and_is_replaced_or_pruned() {
    let store = Store::new();
    create(&store, &["keep"]);
    // What a crash between the row's deletion and the directory's removal leaves.
    for orphan in ["orphan", "stale"] {
        let data = store.root().join("volumes").join(orphan).join("_data");
        std::fs::create_dir_all(&data).expect("orphan dir");
        std::fs::write(data.join("old"), b"old").expect("old content");
    }
    assert_eq!(names(&store, &[]), ["keep"]);
    store.berth(["volume", "exists", "orphan"]).fails_with(1);
    create(&store, &["orphan"]);
    assert!(
        !store.root().join("volumes/orphan/_data/old").exists(),
        "a new volume starts empty"
    );
    assert_eq!(
        store.berth(["volume", "prune", "-f"]).ok(),
        "keep\norphan\n"
    );
    assert!(volume_dirs(&store).is_empty(), "prune swept the stale dir");
}
