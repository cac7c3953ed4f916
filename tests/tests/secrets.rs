//! Secrets: `secret create/ls/inspect/rm/exists` with Podman's output and exit codes, a
//! store only its owner can read, `run --secret` as a read-only file (mode, owner,
//! target) or an environment variable, and bad input refused with nothing made.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use berth_e2e::containers::{busybox, inspect, run, store_with_busybox};
use serde_json::Value;

#[test]
fn create_ls_inspect_exists_and_rm_as_podman() {
    let store = store_with_busybox();
    let id = store
        .berth_input(
            ["secret", "create", "--label", "team=db", "dbpass", "-"],
            b"s3cr3t",
        )
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 25, "a 25-digit ID: {id}");
    let file = store.path().join("token.txt");
    std::fs::write(&file, "tok").expect("write");
    store
        .berth(["secret", "create", "token", file.to_str().expect("utf-8")])
        .ok();

    let ls = store.berth(["secret", "ls"]).ok().to_string();
    let header: Vec<&str> = ls.lines().next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"],
        "{ls}"
    );
    assert!(
        ls.lines()
            .any(|l| l.starts_with(&id) && l.contains(" dbpass ") && l.contains(" file ")),
        "{ls}"
    );
    let names = store
        .berth(["secret", "ls", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert_eq!(names, "dbpass\ntoken\n");
    assert_eq!(store.berth(["secret", "ls", "-q"]).ok().lines().count(), 2);

    let doc: Value = serde_json::from_str(store.berth(["secret", "inspect", "dbpass"]).ok())
        .expect("inspect JSON");
    assert_eq!(doc[0]["ID"], id.as_str());
    assert_eq!(doc[0]["Spec"]["Name"], "dbpass");
    assert_eq!(doc[0]["Spec"]["Driver"]["Name"], "file");
    assert_eq!(doc[0]["Spec"]["Labels"]["team"], "db");
    assert!(
        !doc.to_string().contains("s3cr3t"),
        "inspect never shows the data"
    );
    assert_eq!(
        store
            .berth(["secret", "inspect", "--format", "{{.Spec.Name}}", &id[..8]])
            .ok(),
        "dbpass\n",
        "found by ID prefix too"
    );

    // Only the store's owner reads the data.
    let dir = store.root().join("secrets");
    assert_eq!(
        std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777,
        0o700
    );
    let data = dir.join(format!("{id}.data"));
    assert_eq!(
        std::fs::metadata(&data).expect("data").mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read(&data).expect("read"), b"s3cr3t");

    assert_eq!(store.berth(["secret", "exists", "dbpass"]).code, Some(0));
    assert_eq!(store.berth(["secret", "exists", "nope"]).code, Some(1));
    assert_eq!(
        store.berth(["secret", "rm", "dbpass"]).ok(),
        format!("{id}\n")
    );
    assert_eq!(store.berth(["secret", "exists", "dbpass"]).code, Some(1));
    assert!(!data.exists(), "its data is gone");
    let missing = store.berth(["secret", "rm", "dbpass"]);
    assert!(
        missing.fails_with(1).contains("no such secret"),
        "{missing}"
    );
    store.berth(["secret", "rm", "--all"]).ok();
    assert_eq!(store.berth(["secret", "ls", "-q"]).ok(), "");
}

#[test]
fn run_gets_secrets_as_read_only_files_and_variables() {
    let store = store_with_busybox();
    store
        .berth_input(["secret", "create", "dbpass", "-"], b"s3cr3t")
        .ok();
    let out = run(
        &store,
        &[
            "--name",
            "withsecrets",
            "--secret",
            "dbpass",
            "--secret",
            "dbpass,type=env,target=DB_PASS",
            "--secret",
            "dbpass,target=/etc/db.conf,uid=1000,gid=100,mode=0400",
        ],
        &[
            "sh",
            "-c",
            "cat /run/secrets/dbpass; echo; echo $DB_PASS; stat -c '%a %u:%g' /run/secrets/dbpass /etc/db.conf; echo x 2>/dev/null > /run/secrets/dbpass || echo read-only",
        ],
    );
    assert_eq!(
        out.ok(),
        "s3cr3t\ns3cr3t\n444 0:0\n400 1000:100\nread-only\n",
        "{out}"
    );
    // The value is not part of the container's recorded config.
    let doc = inspect(&store, "withsecrets");
    assert!(!doc.to_string().contains("s3cr3t"), "{doc}");
}

#[test]
fn bad_secrets_are_refused_and_nothing_is_made() {
    let store = store_with_busybox();
    store
        .berth_input(["secret", "create", "one", "-"], b"x")
        .ok();
    let again = store.berth_input(["secret", "create", "one", "-"], b"y");
    assert!(
        again.fails_with(125).contains("one: secret name in use"),
        "{again}"
    );
    let bad_name = store.berth_input(["secret", "create", "a/b", "-"], b"x");
    assert!(
        bad_name
            .fails_with(125)
            .contains("secret name \"a/b\" is invalid"),
        "{bad_name}"
    );
    let empty = store.berth_input(["secret", "create", "empty", "-"], b"");
    assert!(
        empty.fails_with(125).contains("must not be empty"),
        "{empty}"
    );
    assert_eq!(store.berth(["secret", "ls", "-q"]).ok().lines().count(), 1);

    let r = store.berth([
        "create",
        "--name",
        "c",
        "--secret",
        "nope",
        &busybox(),
        "true",
    ]);
    assert!(
        r.fails_with(125)
            .contains("no secret with name or id \"nope\": no such secret"),
        "{r}"
    );
    assert_eq!(store.berth(["container", "exists", "c"]).code, Some(1));
    let bad_flag = store.berth(["create", "--secret", "one,type=file", &busybox(), "true"]);
    assert!(bad_flag.fails_with(125).contains("--secret"), "{bad_flag}");
}

#[test]
fn parallel_creates_of_one_name_make_exactly_one_secret() {
    let store = store_with_busybox();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut c = store.command(["secret", "create", "raced", "-"]);
            c.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let mut child = c.spawn().expect("berth secret create");
            use std::io::Write;
            let _ = child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("value{i}").as_bytes());
            child
        })
        .collect();
    let ok = children
        .into_iter()
        .map(|mut c| c.wait().expect("wait").success())
        .filter(|s| *s)
        .count();
    assert_eq!(ok, 1, "exactly one create wins");
    assert_eq!(
        store.berth(["secret", "ls", "--format", "{{.Name}}"]).ok(),
        "raced\n"
    );
}
