//! The Apple Hypervisor provider: boots the machine with `vfkit` (Virtualization.framework)
//! and controls it through vfkit's REST API on a unix socket in the run directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::provider::{Channel, Provider, ProviderError, VmSpec, VmState};

/// The guest vsock port the guest agent serves its API on.
pub const API_VSOCK_PORT: u32 = berth_types::machine::API_PORT;

/// Drives `vfkit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleHv {
    /// The `vfkit` executable.
    pub vfkit: PathBuf,
}

/// The unix socket vfkit serves its REST API on.
pub fn rest_socket(run_dir: &Path) -> PathBuf {
    run_dir.join("vfkit-rest.sock")
}

/// The unix socket vfkit exposes the guest's API vsock port on.
pub fn api_socket(run_dir: &Path) -> PathBuf {
    run_dir.join("api-vsock.sock")
}

/// The file the guest's serial console is written to.
pub fn console_log(run_dir: &Path) -> PathBuf {
    run_dir.join("console.log")
}

/// `GET /vm/state`: prints `{"state":"VirtualMachineState…"}`, read with [`parse_state`].
pub fn state_request(run_dir: &Path) -> Command {
    let mut c = rest_request(run_dir);
    c.arg("http://localhost/vm/state");
    c
}

/// Reads the answer of [`state_request`]. `None` for states Berth has no name for
/// (paused, pausing, stopping, saving, restoring) and for anything unreadable.
pub fn parse_state(json: &str) -> Option<VmState> {
    match json_string_field(json, "state")? {
        "VirtualMachineStateRunning" => Some(VmState::Running),
        "VirtualMachineStateStopped" | "VirtualMachineStateError" => Some(VmState::Stopped),
        "VirtualMachineStateStarting" | "VirtualMachineStateResuming" => Some(VmState::Starting),
        _ => None,
    }
}

/// The string value of `"key"` in a flat JSON object (vfkit's answers carry no escapes).
fn json_string_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted_key = format!("\"{key}\"");
    let after_key = &json[json.find(&quoted_key)? + quoted_key.len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = value.strip_prefix('"')?;
    Some(&value[..value.find('"')?])
}

/// `curl` talking to vfkit's REST socket; `--fail` so an error status fails the command.
fn rest_request(run_dir: &Path) -> Command {
    let mut c = Command::new("curl");
    c.args(["--silent", "--show-error", "--fail", "--unix-socket"])
        .arg(rest_socket(run_dir));
    c
}

/// A value inside a vfkit option list (`key=value,key=value`): vfkit splits on commas and
/// treats double quotes as grouping, so neither may appear in a path.
fn option_value(what: &str, path: &Path) -> Result<String, ProviderError> {
    let value = path.display().to_string();
    if value.contains([',', '"']) {
        return Err(ProviderError::Failed(format!(
            "vfkit cannot take the {what} path {value:?}: it contains a comma or a double quote"
        )));
    }
    Ok(value)
}

/// `--bootloader linux,kernel=…,cmdline="…"`: the command line is quoted so that its
/// spaces and commas stay one value; it cannot itself contain a double quote.
fn bootloader_arg(spec: &VmSpec) -> Result<String, ProviderError> {
    if spec.cmdline.contains('"') {
        return Err(ProviderError::Failed(format!(
            "vfkit cannot take the kernel command line {:?}: it contains a double quote",
            spec.cmdline
        )));
    }
    let kernel = option_value("kernel", &spec.kernel)?;
    Ok(format!(
        "linux,kernel={kernel},cmdline=\"{}\"",
        spec.cmdline
    ))
}

/// Every `--device` value, in the order the guest sees them: the disks, then the
/// provisioning seed disk, then network, entropy, console, shares and the API channel.
fn device_args(spec: &VmSpec) -> Result<Vec<String>, ProviderError> {
    let mut devices = Vec::new();
    for disk in &spec.disks {
        devices.push(format!("nvme,path={}", option_value("disk", disk)?));
    }
    let seed = option_value("provisioning disk", &spec.provision)?;
    devices.push(format!("virtio-blk,path={seed}"));
    devices.push("virtio-net,nat".to_owned());
    devices.push("virtio-rng".to_owned());
    let log = option_value("console log", &console_log(&spec.run_dir))?;
    devices.push(format!("virtio-serial,logFilePath={log}"));
    for share in &spec.shares {
        // vfkit has no read-only virtio-fs; the guest mounts read-only shares `ro`.
        let source = option_value("share", &share.source)?;
        devices.push(format!(
            "virtio-fs,sharedDir={source},mountTag={}",
            share.tag
        ));
    }
    if let Some(vsock) = vsock_device(spec)? {
        devices.push(vsock);
    }
    Ok(devices)
}

/// The API channel: the host connects to the guest's port through a unix socket.
fn vsock_device(spec: &VmSpec) -> Result<Option<String>, ProviderError> {
    match spec.channel {
        Channel::Vsock { .. } | Channel::HybridVsock { .. } => {
            let socket = option_value("API socket", &api_socket(&spec.run_dir))?;
            Ok(Some(format!(
                "virtio-vsock,port={API_VSOCK_PORT},socketURL={socket},connect"
            )))
        }
        Channel::Ssh => Ok(None),
    }
}

impl AppleHv {
    /// The `vfkit` command that boots `spec`; it runs for as long as the VM does.
    pub fn vfkit_command(&self, spec: &VmSpec) -> Result<Command, ProviderError> {
        let mut c = Command::new(&self.vfkit);
        c.arg("--cpus")
            .arg(spec.cpus.to_string())
            .arg("--memory")
            .arg(spec.memory_mib.to_string())
            .arg("--bootloader")
            .arg(bootloader_arg(spec)?);
        for device in device_args(spec)? {
            c.arg("--device").arg(device);
        }
        c.arg("--restful-uri")
            .arg(format!("unix://{}", rest_socket(&spec.run_dir).display()))
            .args(["--log-level", "info"]);
        Ok(c)
    }
}

impl Provider for AppleHv {
    fn name(&self) -> &'static str {
        "applehv"
    }

    fn start_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError> {
        Ok(vec![self.vfkit_command(spec)?])
    }

    /// Asks the guest to shut down (`Stop`); vfkit exits when the VM has stopped.
    fn stop_commands(&self, spec: &VmSpec) -> Vec<Command> {
        let mut c = rest_request(&spec.run_dir);
        c.args([
            "-X",
            "POST",
            "http://localhost/vm/state",
            "-d",
            r#"{"state":"Stop"}"#,
        ]);
        vec![c]
    }

    /// vfkit holds nothing outside the run directory, which the caller removes.
    fn remove_commands(&self, _spec: &VmSpec) -> Vec<Command> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{command_line, Share};

    fn spec(channel: Channel) -> VmSpec {
        VmSpec {
            name: "dev".to_owned(),
            cpus: 4,
            memory_mib: 4096,
            kernel: PathBuf::from("/m/dev/vmlinux"),
            cmdline: "console=hvc0 root=/dev/vda rw".to_owned(),
            disks: vec![
                PathBuf::from("/m/dev/os.raw"),
                PathBuf::from("/m/dev/data.raw"),
            ],
            shares: vec![Share {
                source: PathBuf::from("/Users/me"),
                target: "/Users/me".to_owned(),
                tag: "vol0".to_owned(),
                read_only: false,
            }],
            channel,
            ssh_port: 2222,
            provision: PathBuf::from("/m/dev/seed.img"),
            run_dir: PathBuf::from("/r/dev"),
        }
    }

    fn hv() -> AppleHv {
        AppleHv {
            vfkit: PathBuf::from("/opt/berth/vfkit"),
        }
    }

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn start_runs_vfkit_with_every_device_and_the_rest_socket() {
        let commands = hv()
            .start_commands(&spec(Channel::Vsock { cid: 3 }))
            .expect("the spec is valid");
        assert_eq!(commands.len(), 1);
        assert_eq!(commands[0].get_program(), "/opt/berth/vfkit");
        assert_eq!(
            args(&commands[0]),
            [
                "--cpus",
                "4",
                "--memory",
                "4096",
                "--bootloader",
                "linux,kernel=/m/dev/vmlinux,cmdline=\"console=hvc0 root=/dev/vda rw\"",
                "--device",
                "nvme,path=/m/dev/os.raw",
                "--device",
                "nvme,path=/m/dev/data.raw",
                "--device",
                "virtio-blk,path=/m/dev/seed.img",
                "--device",
                "virtio-net,nat",
                "--device",
                "virtio-rng",
                "--device",
                "virtio-serial,logFilePath=/r/dev/console.log",
                "--device",
                "virtio-fs,sharedDir=/Users/me,mountTag=vol0",
                "--device",
                "virtio-vsock,port=1024,socketURL=/r/dev/api-vsock.sock,connect",
                "--restful-uri",
                "unix:///r/dev/vfkit-rest.sock",
                "--log-level",
                "info",
            ]
        );
    }

    #[test]
    fn hybrid_vsock_also_gets_the_api_socket() {
        let spec = spec(Channel::HybridVsock {
            cid: 3,
            uds: PathBuf::from("/r/dev/vsock.sock"),
            control: PathBuf::from("/r/dev/vhost.sock"),
        });
        let line = command_line(&hv().vfkit_command(&spec).expect("the spec is valid"));
        assert!(line
            .contains(" --device virtio-vsock,port=1024,socketURL=/r/dev/api-vsock.sock,connect "));
    }

    #[test]
    fn ssh_channel_has_no_vsock_device() {
        let line = command_line(
            &hv()
                .vfkit_command(&spec(Channel::Ssh))
                .expect("the spec is valid"),
        );
        assert!(!line.contains("virtio-vsock"), "{line}");
        assert!(line.ends_with(
            "--device virtio-serial,logFilePath=/r/dev/console.log \
             --device virtio-fs,sharedDir=/Users/me,mountTag=vol0 \
             --restful-uri unix:///r/dev/vfkit-rest.sock --log-level info"
        ));
    }

    #[test]
    fn start_refuses_a_disk_path_with_a_comma() {
        let mut spec = spec(Channel::Ssh);
        spec.disks[1] = PathBuf::from("/m/dev/data,1.raw");
        let err = hv().start_commands(&spec).expect_err("the spec is refused");
        assert!(err.to_string().contains("\"/m/dev/data,1.raw\""), "{err}");
    }

    #[test]
    fn start_refuses_a_cmdline_with_a_double_quote() {
        let mut spec = spec(Channel::Ssh);
        spec.cmdline = "console=hvc0 msg=\"hi\"".to_owned();
        assert!(hv().start_commands(&spec).is_err());
    }

    #[test]
    fn stop_posts_stop_to_the_rest_socket() {
        let commands = hv().stop_commands(&spec(Channel::Ssh));
        assert_eq!(commands.len(), 1);
        assert_eq!(
            command_line(&commands[0]),
            "curl --silent --show-error --fail --unix-socket /r/dev/vfkit-rest.sock \
             -X POST http://localhost/vm/state -d \"{\\\"state\\\":\\\"Stop\\\"}\""
        );
        assert_eq!(
            args(&commands[0]).last().expect("curl has arguments"),
            r#"{"state":"Stop"}"#
        );
    }

    #[test]
    fn remove_runs_nothing() {
        assert!(hv().remove_commands(&spec(Channel::Ssh)).is_empty());
    }

    #[test]
    fn state_request_gets_vm_state() {
        assert_eq!(
            command_line(&state_request(Path::new("/r/dev"))),
            "curl --silent --show-error --fail --unix-socket /r/dev/vfkit-rest.sock \
             http://localhost/vm/state"
        );
    }

    #[test]
    fn parse_state_maps_vfkit_states() {
        let cases = [
            (
                r#"{"state":"VirtualMachineStateRunning"}"#,
                Some(VmState::Running),
            ),
            (
                r#"{"state": "VirtualMachineStateStopped"}"#,
                Some(VmState::Stopped),
            ),
            (
                r#"{"state":"VirtualMachineStateError"}"#,
                Some(VmState::Stopped),
            ),
            (
                r#"{ "state" : "VirtualMachineStateStarting" }"#,
                Some(VmState::Starting),
            ),
            (
                r#"{"state":"VirtualMachineStateResuming"}"#,
                Some(VmState::Starting),
            ),
            (r#"{"state":"VirtualMachineStatePaused"}"#, None),
            (r#"{"error":"not running"}"#, None),
            (r#"{"state":"VirtualMachineStateRunning"#, None),
            ("", None),
        ];
        for (json, want) in cases {
            assert_eq!(parse_state(json), want, "{json}");
        }
    }
}
