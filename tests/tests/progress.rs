//! Progress output: bars on a terminal (run under `script`, which gives berth a pty),
//! plain lines in a pipe, nothing but the ID with `--quiet`.

use berth_e2e::{cmd, Store, TestEnv};
use std::process::Command;

#[test]
fn a_terminal_gets_progress_bars_and_the_id() {
    let store = Store::new();
    let env = TestEnv::get();
    let inner = store.command(["pull", "--tls-verify=false", &env.image_ref("multilayer")]);
    let line = std::iter::once(inner.get_program().to_string_lossy().into_owned())
        .chain(inner.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"]);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = cmd::run(c, None, cmd::timeout());
    let text = out.ok();
    assert!(
        text.contains("[=============================="),
        "a drawn bar: {out}"
    );
    assert!(
        text.contains("\u{1b}["),
        "terminal control sequences: {out}"
    );
    let id = berth_e2e::images().get("multilayer").id();
    assert!(
        text.contains(&format!("Copying config {} done", &id[..12])),
        "{out}"
    );
    assert!(text.contains(id), "{out}");
}
