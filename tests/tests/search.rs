//! `berth search` against the harness's registries: catalog search with Podman's
//! table, `--limit`, `--list-tags`, `--format`, `--compatible`, filters, credentials
//! (basic and token auth), and the errors of bad input.

use berth_e2e::{Store, TestEnv};

fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn search_lists_matching_repositories_as_podman_does() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let out = store
        .berth(["search", "--tls-verify=false", &format!("{reg}/busy")])
        .ok()
        .to_string();
    assert_eq!(
        out.lines()
            .next()
            .map(str::split_whitespace)
            .map(|w| w.collect::<Vec<_>>()),
        Some(vec!["NAME", "DESCRIPTION"])
    );
    let found = names(&out);
    assert!(
        found.contains(&format!("{reg}/berth-test/busybox")),
        "{out}"
    );
    assert!(
        found
            .iter()
            .all(|n| n.starts_with(&format!("{reg}/")) && n.contains("busy")),
        "{out}"
    );

    // REGISTRY/ lists everything, 25 at most by default, --limit fewer.
    let all = names(
        store
            .berth(["search", "--tls-verify=false", &format!("{reg}/")])
            .ok(),
    );
    assert!(all.len() > found.len() && all.len() <= 25, "{all:?}");
    let two = names(
        store
            .berth([
                "search",
                "--tls-verify=false",
                "--limit",
                "2",
                &format!("{reg}/"),
            ])
            .ok(),
    );
    assert_eq!(two, all[..2].to_vec());

    let doc: serde_json::Value = serde_json::from_str(
        store
            .berth([
                "search",
                "--tls-verify=false",
                "--format",
                "json",
                &format!("{reg}/berth-test/busybox"),
            ])
            .ok(),
    )
    .expect("json");
    let first = &doc[0];
    assert_eq!(first["Index"], reg.as_str());
    assert_eq!(first["Name"], format!("{reg}/berth-test/busybox"));
    assert_eq!(first["Stars"], 0);
    assert_eq!(first["Official"], "");

    let out = store
        .berth([
            "search",
            "--tls-verify=false",
            "--format",
            "{{.Index}}|{{.Name}}",
            &format!("{reg}/berth-test/busybox"),
        ])
        .ok()
        .to_string();
    assert!(
        out.lines()
            .any(|l| l == format!("{reg}|{reg}/berth-test/busybox")),
        "{out}"
    );
    let out = store
        .berth([
            "search",
            "--tls-verify=false",
            "--compatible",
            &format!("{reg}/busy"),
        ])
        .ok()
        .to_string();
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
    );

    // Catalog entries have no stars and are not official: these filters drop them all.
    for f in ["stars=1", "is-official=true"] {
        let out = store
            .berth([
                "search",
                "--tls-verify=false",
                "--filter",
                f,
                &format!("{reg}/busy"),
            ])
            .ok()
            .to_string();
        assert_eq!(out.lines().count(), 1, "{f}: {out}");
    }
    let out = store
        .berth([
            "search",
            "--tls-verify=false",
            "--filter",
            "is-automated=false",
            &format!("{reg}/busy"),
        ])
        .ok()
        .to_string();
    assert_eq!(names(&out), found);

    let out = store
        .berth([
            "search",
            "--tls-verify=false",
            "--list-tags",
            &format!("{reg}/berth-test/busybox"),
        ])
        .ok()
        .to_string();
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "TAG"]);
    assert!(
        rows.contains(&vec![
            format!("{reg}/berth-test/busybox").as_str(),
            "latest"
        ]),
        "{out}"
    );
}

#[test]
fn search_uses_credentials_with_basic_and_token_auth() {
    let store = Store::new();
    let env = TestEnv::get();
    let cd = env.cert_dir_arg();
    let creds = format!("{}:{}", env.auth_user, env.auth_pass);
    let err = store
        .berth([
            "search",
            "--cert-dir",
            &cd,
            &format!("{}/", env.registry_auth),
        ])
        .fails_with(125)
        .to_string();
    assert!(err.contains("authentication required"), "{err}");
    for reg in [&env.registry_auth, &env.registry_token] {
        let out = store
            .berth([
                "search",
                "--cert-dir",
                &cd,
                "--creds",
                &creds,
                &format!("{reg}/"),
            ])
            .ok()
            .to_string();
        assert!(
            names(&out).contains(&format!("{reg}/berth-test/busybox")),
            "{reg}: {out}"
        );
        let out = store
            .berth([
                "search",
                "--cert-dir",
                &cd,
                "--creds",
                &creds,
                "--list-tags",
                &format!("{reg}/berth-test/busybox"),
            ])
            .ok()
            .to_string();
        assert!(out.contains("latest"), "{reg}: {out}");
    }
    // After login, the stored credentials are used.
    store.login(&env.registry_auth);
    let out = store
        .berth([
            "search",
            "--cert-dir",
            &cd,
            &format!("{}/multi", env.registry_auth),
        ])
        .ok()
        .to_string();
    assert_eq!(
        names(&out),
        [format!("{}/berth-test/multilayer", env.registry_auth)]
    );
}

#[test]
fn bad_searches_fail_with_one_clear_line() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--filter".into(), "colour=red".into(), format!("{reg}/x")],
            "invalid filter \"colour=red\"",
        ),
        (
            vec!["--filter".into(), "stars=many".into(), format!("{reg}/x")],
            "invalid filter \"stars=many\"",
        ),
        (
            vec!["--list-tags".into(), "busybox".into()],
            "fully qualified",
        ),
        (
            vec![
                "--list-tags".into(),
                format!("{reg}/berth-test/busybox:latest"),
            ],
            "without a tag",
        ),
        (
            vec![
                "--tls-verify=false".into(),
                "--list-tags".into(),
                format!("{reg}/berth-test/none"),
            ],
            "not found",
        ),
        (vec!["127.0.0.1:1/x".into()], "127.0.0.1:1"),
    ];
    for (args, want) in cases {
        let mut argv = vec!["search".to_string()];
        argv.extend(args.iter().cloned());
        let err = store.berth(&argv).fails_with(125).to_string();
        assert!(
            err.starts_with("Error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}
