//! Restart, healthcheck, entrypoint, network, pull, logging and the rest.

use super::*;

#[test]
fn restart_on_failure_takes_a_retry_count() {
    let restart = |v: &str| request(&format!("run --restart {v} busybox")).restart;
    assert_eq!(
        restart("on-failure:3"),
        RestartPolicy {
            name: "on-failure".into(),
            max_retries: 3
        }
    );
    assert_eq!(
        restart("on-failure"),
        RestartPolicy {
            name: "on-failure".into(),
            max_retries: 0
        }
    );
    assert_eq!(
        restart("unless-stopped"),
        RestartPolicy {
            name: "unless-stopped".into(),
            max_retries: 0
        }
    );
    assert!(error("run --restart always:3 busybox")
        .contains("retries can only be specified with on-failure"));
    assert!(error("run --restart on-failure:x busybox").contains("retry count"));
    assert!(error("run --restart sometimes busybox")
        .contains(r#""sometimes" is not a valid restart policy"#));
}

#[test]
fn rm_and_restart_always_conflict() {
    assert_eq!(
        error("run --rm --restart always busybox"),
        r#"the --rm option conflicts with --restart, when the restartPolicy is not "" and "no""#
    );
    assert!(error("run --rm --restart on-failure:2 busybox").contains("conflicts"));
    assert!(request("run --rm --restart on-failure busybox").remove);
    assert!(request("run --rm --restart no busybox").remove);
}

#[test]
fn entrypoint_empty_string_clears_it() {
    let ep = |args: &[&str]| {
        convert_with(&FakeHost::new(), args)
            .expect("valid")
            .0
            .entrypoint
    };
    assert_eq!(ep(&["run", "--entrypoint", "", "busybox"]), Some(vec![]));
    assert_eq!(ep(&["run", "--entrypoint", "[]", "busybox"]), Some(vec![]));
    assert_eq!(
        ep(&["run", "--entrypoint", "/bin/sh -c", "busybox"]),
        Some(strings(&["/bin/sh -c"]))
    );
    assert_eq!(
        ep(&["run", "--entrypoint", r#"["/bin/sh","-c"]"#, "busybox"]),
        Some(strings(&["/bin/sh", "-c"]))
    );
    assert_eq!(ep(&["run", "busybox"]), None);
}

#[test]
fn healthcheck_flags_build_the_check() {
    let (req, _) = convert_with(
        &FakeHost::new(),
        &[
            "run",
            "--health-cmd",
            "curl -f http://localhost/",
            "--health-interval",
            "1m30s",
            "--health-timeout",
            "500ms",
            "busybox",
        ],
    )
    .expect("valid");
    assert_eq!(
        req.health,
        Some(HealthConfig {
            test: strings(&["CMD-SHELL", "curl -f http://localhost/"]),
            interval_secs: 90,
            timeout_secs: 1,
            start_period_secs: 0,
            retries: 3,
        })
    );
    assert_eq!(
        request("run --no-healthcheck busybox")
            .health
            .map(|h| h.test),
        Some(strings(&["NONE"]))
    );
    assert!(error("run --health-cmd true --no-healthcheck busybox").contains("cannot specify both"));
    assert!(error("run --health-cmd true --health-interval 30 busybox")
        .contains(r#"invalid argument "30" for "--health-interval""#));
    assert!(error("run --health-cmd true --health-retries 0 busybox").contains("greater than 0"));
    assert!(error("run --health-interval 10s busybox").contains("without --health-cmd"));
}

#[test]
fn network_modes_and_networks() {
    assert_eq!(request("run --network none busybox").network, "none");
    assert_eq!(request("run --net=host busybox").network, "host");
    let bridge = request("run --network bridge busybox");
    assert_eq!(bridge.network, "bridge");
    let named = request("run --network a --network b:alias=x busybox");
    assert_eq!(named.networks.len(), 2);
    assert_eq!(named.networks[1].aliases, ["x"]);
    let one = request("run --network a --ip 10.0.0.1 busybox");
    assert_eq!(one.networks[0].ips, ["10.0.0.1"]);
    assert!(error("run --network a --network b --ip 10.0.0.1 busybox").contains("--ip"));
    assert_eq!(request("run busybox").network, "bridge");
    let ports = request("run -p 127.0.0.1:8080:80 -p 53:53/udp -P busybox");
    assert_eq!(ports.ports.len(), 2);
    assert!(ports.publish_all);
    assert!(error("run --network none -p 80 busybox").contains("--publish"));
    assert!(error("run --no-hosts --add-host a:1.2.3.4 busybox").contains("--no-hosts"));
    assert!(error("run --add-host nohost busybox").contains("HOST:IP"));
    assert!(error("run --dns nonsense busybox").contains("--dns"));
}

#[test]
fn pull_registry_and_platform_options() {
    let (req, client) = convert_with(
        &FakeHost::new(),
        &[
            "run",
            "--pull=never",
            "--tls-verify=false",
            "--creds",
            "me:pw",
            "--platform",
            "linux/arm64/v8",
            "-q",
            "busybox",
        ],
    )
    .expect("valid");
    assert_eq!(req.pull, PullPolicy::Never);
    assert_eq!(req.registry.tls_verify, Some(false));
    assert_eq!(req.registry.credentials, Some(("me".into(), "pw".into())));
    assert_eq!(req.platform.architecture.as_deref(), Some("arm64"));
    assert_eq!(req.platform.variant.as_deref(), Some("v8"));
    assert!(client.quiet);
    // `--tls-verify` takes its value only after `=`: the next word is the image.
    assert_eq!(
        request("run --tls-verify busybox").registry.tls_verify,
        Some(true)
    );
    assert!(error("run --pull sometimes busybox").contains(r#""--pull" flag"#));
    assert!(error("run --creds :pw busybox").contains("username is empty"));
}

#[test]
fn logging_security_and_misc_flags() {
    let req = request(
        "run --log-driver json-file --log-opt max-size=10m,max-file=3 --cap-add net_admin --cap-drop ALL \
         --security-opt no-new-privileges --device /dev/fuse --stop-signal 9 --stop-timeout 5 --timeout 60 \
         --name web-1 -w /srv -u 1000:1000 --group-add wheel --init --privileged busybox",
    );
    assert_eq!(req.log_driver, "json-file");
    assert_eq!(req.log_opts["max-size"], "10000000");
    assert_eq!(req.log_opts["max-file"], "3");
    assert_eq!(req.cap_add, ["CAP_NET_ADMIN"]);
    assert_eq!(req.cap_drop, ["ALL"]);
    assert_eq!(req.security_opt, ["no-new-privileges"]);
    assert_eq!(req.devices, ["/dev/fuse:/dev/fuse:rwm"]);
    assert_eq!(req.stop_signal.as_deref(), Some("SIGKILL"));
    assert_eq!((req.stop_timeout, req.timeout), (Some(5), Some(60)));
    assert_eq!(req.name.as_deref(), Some("web-1"));
    assert_eq!(req.workdir.as_deref(), Some("/srv"));
    assert_eq!(req.user.as_deref(), Some("1000:1000"));
    assert_eq!(req.group_add, ["wheel"]);
    assert!(req.init && req.privileged);
    assert!(error("run --log-driver journald busybox")
        .contains("not supported yet; use k8s-file, json-file or none"));
    assert!(error("run --log-driver syslog busybox").contains("invalid log driver"));
    assert!(
        error("run --log-opt compress=true busybox").contains(r#"unknown log option "compress""#)
    );
    assert!(error("run --name _bad busybox").contains("names must match"));
    assert!(error("run -w rel busybox").contains("must be an absolute path"));
}
