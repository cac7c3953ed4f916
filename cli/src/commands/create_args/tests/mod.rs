//! Whole command lines through clap into the request, against a fake host; one
//! file per area, the harness here.

mod env;
mod lifecycle;
mod limits;
mod mounts;

use super::*;
use berth_types::container::{
    HealthConfig, MountKind, MountSpec, Resources, RestartPolicy, Ulimit,
};
use berth_types::image::PullPolicy;
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Parser, Debug)]
#[command(name = "berth")]
struct TestCli {
    #[command(subcommand)]
    command: TestCommand,
}

#[derive(Subcommand, Debug)]
pub(super) enum TestCommand {
    /// Run a command in a new container
    Run(RunArgs),
    /// Create but do not start a container
    Create(CreateArgs),
}

pub(super) struct FakeHost {
    env: Vec<(String, String)>,
    files: BTreeMap<PathBuf, String>,
    cwd: PathBuf,
}

impl FakeHost {
    pub(super) fn new() -> Self {
        FakeHost {
            env: vec![
                ("HOME".into(), "/home/me".into()),
                ("LANG".into(), "C.UTF-8".into()),
                ("TOKEN".into(), "from-host".into()),
            ],
            files: BTreeMap::new(),
            cwd: PathBuf::from("/work/project"),
        }
    }

    pub(super) fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(PathBuf::from(path), text.to_string());
        self
    }
}

impl Host for FakeHost {
    fn var(&self, key: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.env.clone()
    }
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
    fn current_dir(&self) -> io::Result<PathBuf> {
        Ok(self.cwd.clone())
    }
}

pub(super) fn argv(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

pub(super) fn parse(args: &[&str]) -> Result<TestCommand, clap::Error> {
    TestCli::try_parse_from(std::iter::once("berth").chain(args.iter().copied())).map(|c| c.command)
}

pub(super) fn convert_with(
    host: &FakeHost,
    args: &[&str],
) -> Result<(ContainerCreateRequest, ClientOptions), ArgError> {
    let line: Vec<String> = std::iter::once("berth")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect();
    match parse(args).unwrap_or_else(|e| panic!("{args:?} does not parse: {e}")) {
        TestCommand::Run(a) => a.to_request(host, line),
        TestCommand::Create(a) => a.to_request(host, line),
    }
}

pub(super) fn request(line: &str) -> ContainerCreateRequest {
    convert_with(
        &FakeHost::new(),
        &argv(line).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .unwrap_or_else(|e| panic!("{line}: {e}"))
    .0
}

pub(super) fn error(line: &str) -> String {
    error_with(&FakeHost::new(), line)
}

pub(super) fn error_with(host: &FakeHost, line: &str) -> String {
    match convert_with(
        host,
        &argv(line).iter().map(String::as_str).collect::<Vec<_>>(),
    ) {
        Ok(_) => panic!("{line}: expected an error"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_plain_run_gets_podmans_defaults() {
    let req = request("run busybox");
    assert_eq!(
        req,
        ContainerCreateRequest {
            image: "busybox".into(),
            log_driver: "k8s-file".into(),
            network: "bridge".into(),
            pull: PullPolicy::Missing,
            create_command: strings(&["berth", "run", "busybox"]),
            ..ContainerCreateRequest::default()
        }
    );
}

#[test]
fn flags_after_the_image_belong_to_the_container() {
    let req = request("run -l app=web busybox ls -l / --rm -e X=1");
    assert_eq!(req.command, ["ls", "-l", "/", "--rm", "-e", "X=1"]);
    assert_eq!(
        req.labels,
        BTreeMap::from([("app".to_string(), "web".to_string())])
    );
    assert!(!req.remove);
    assert!(req.env.is_empty());
    // Even right after the image, and `--` too (Podman passes it on).
    let req = request("run -e A=1 busybox -e B=2 -- x");
    assert_eq!(
        (req.image.as_str(), req.env.as_slice()),
        ("busybox", ["A=1".to_string()].as_slice())
    );
    assert_eq!(req.command, ["-e", "B=2", "--", "x"]);
    assert_eq!(request("run -- busybox ls").command, ["ls"]);
}

#[test]
fn an_unknown_flag_before_the_image_is_not_taken_for_the_image() {
    assert_eq!(error("run --bogus busybox"), "unknown flag: --bogus");
    assert_eq!(error("run -dZ busybox"), "unknown flag: -dZ");
    let err = parse(&["run"]).expect_err("no image");
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
}

#[test]
fn short_h_is_hostname_and_help_is_long_only() {
    assert_eq!(
        request("run -h box busybox").hostname.as_deref(),
        Some("box")
    );
    let err = parse(&["run", "--help"]).expect_err("help exits");
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
}

#[test]
fn combined_short_flags_and_explicit_false() {
    let (req, client) = convert_with(
        &FakeHost::new(),
        &["run", "-dit", "--rm=false", "busybox", "sh"],
    )
    .expect("valid");
    assert!(client.detach && req.interactive && req.tty);
    assert!(!req.remove);
    assert_eq!(req.command, ["sh"]);
    let req = request("run --read-only busybox");
    assert!(req.read_only && req.read_only_tmpfs);
    let req = request("run --read-only --read-only-tmpfs=false busybox");
    assert!(req.read_only && !req.read_only_tmpfs);
    assert!(!request("run --read-only-tmpfs busybox").read_only_tmpfs);
}

#[test]
fn run_only_flags_go_to_the_client_and_create_refuses_them() {
    let (_, client) = convert_with(
        &FakeHost::new(),
        &[
            "run",
            "-d",
            "--detach-keys",
            "ctrl-a,x",
            "--sig-proxy=false",
            "--cidfile",
            "/tmp/cid",
            "busybox",
        ],
    )
    .expect("valid");
    assert_eq!(
        client,
        ClientOptions {
            detach: true,
            detach_keys: vec![1, b'x'],
            sig_proxy: false,
            cidfile: Some(PathBuf::from("/tmp/cid")),
            pidfile: None,
            quiet: false,
        }
    );
    let (_, client) = convert_with(&FakeHost::new(), &["create", "busybox"]).expect("valid");
    assert_eq!(client.detach_keys, DEFAULT_DETACH_KEYS);
    assert_eq!(error("create -d busybox"), "unknown flag: -d");
    assert!(error("run --detach-keys ctrl-1 busybox")
        .contains(r#"invalid argument "ctrl-1" for "--detach-keys" flag"#));
}
