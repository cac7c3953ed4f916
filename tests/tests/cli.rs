//! The command line itself, as Podman's: `help COMMAND` and `--help` print the same
//! page, `--version` says `berth version X`, and bad usage (an unknown command or
//! flag, a missing argument) exits 125 with one `Error:` line naming what was wrong,
//! then where the command's help is.

use berth_e2e::Store;

#[test]
fn help_and_version_print_and_exit_0() {
    let store = Store::new();
    let out = store.berth(["help", "run"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("Usage: berth run"), "{out}");
    assert_eq!(store.berth(["run", "--help"]).stdout, out.stdout);
    let out = store.berth(["help", "image", "ls"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("Usage: berth image ls"), "{out}");
    let out = store.berth(["--help"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("help ")),
        "{out}"
    );
    let out = store.berth(["--version"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        out.stdout.trim_end(),
        format!("berth version {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_usage_exits_125_naming_what_was_wrong() {
    let store = Store::new();
    for (args, named) in [
        (&["nope"][..], "'nope'"),
        (&["help", "nope"], "'nope'"),
        (&["image", "ls", "--no-such-flag"], "'--no-such-flag'"),
        (&["rename", "only-one"], "<NAME>"),
        (&["run", "--memory"], "'--memory <SIZE>'"),
    ] {
        let out = store.berth(args);
        assert_eq!(out.code, Some(125), "{args:?}: {out}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {out}");
        assert!(lines[0].starts_with("Error: "), "{args:?}: {out}");
        assert!(lines[0].contains(named), "{args:?}: {out}");
        assert!(lines[1].starts_with("See 'berth"), "{args:?}: {out}");
        assert_eq!(out.stdout, "", "{args:?}: {out}");
    }
    // Where the command is missing, its help says what there is.
    let out = store.berth(["image"]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(out.stderr.contains("Usage: berth image"), "{out}");
}
