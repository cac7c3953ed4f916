//! The Hyper-V provider: the machine is a generation 2 Hyper-V VM (`berth-<name>`) booting
//! its OS disk through UEFI, driven with Hyper-V's PowerShell cmdlets. The spec's kernel
//! and command line are not used: Hyper-V cannot boot a kernel directly, nor hand the
//! guest a document as QEMU's fw_cfg does, so the provisioning document goes on a seed
//! disk (as for Apple's hypervisor), written as a fixed VHD ([`seed_image`]) at the
//! spec's `provision` path and attached as one more disk.

use std::path::Path;
use std::process::Command;

use crate::provider::{Channel, Provider, ProviderError, VmSpec};
use berth_types::machine::Provision;

/// The guest vsock port the guest agent serves its API on.
pub const API_VSOCK_PORT: u32 = berth_types::machine::API_PORT;

/// Where Hyper-V sockets services are registered; a service must be registered before
/// the host can connect to it.
const GUEST_SERVICES_KEY: &str =
    r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\GuestCommunicationServices";

/// The seed disk Hyper-V attaches for `provision`: its seed (see
/// `Provision::seed_disk`, which the guest agent looks for on every disk) as a fixed VHD.
pub fn seed_image(provision: &Provision) -> Vec<u8> {
    crate::vhd::fixed(&provision.seed_disk())
}

/// Drives Hyper-V through `powershell.exe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HyperV;

/// The Hyper-V VM that holds the machine `name`.
pub fn vm_name(name: &str) -> String {
    format!("berth-{name}")
}

/// The Hyper-V sockets service ID a Linux guest's vsock port `port` is reached by: the
/// port in the first field of the fixed vsock template.
pub fn vsock_service_guid(port: u32) -> String {
    format!("{port:08X}-FACB-11E6-BD58-64006A7986D3")
}

/// `value` as a single-quoted PowerShell string. PowerShell ends such a string at any of
/// its four single-quote characters, and reads each one doubled as itself.
pub fn ps_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// `powershell.exe … -Command SCRIPT`.
fn powershell(script: String) -> Command {
    let mut c = Command::new("powershell.exe");
    c.args(["-NoProfile", "-NonInteractive", "-Command"])
        .arg(script);
    c
}

/// `Verb -Name 'berth-NAME' REST`, for the cmdlets that take the VM by `-Name`.
fn vm_cmdlet(verb: &str, spec: &VmSpec, rest: &str) -> Command {
    let name = ps_quote(&vm_name(&spec.name));
    powershell(format!("{verb} -Name {name}{rest}"))
}

/// The path of `path` as a quoted PowerShell string.
fn ps_path(path: &Path) -> String {
    ps_quote(&path.display().to_string())
}

/// Registers the Hyper-V sockets service for the API port, so that the host may connect
/// to the guest agent. The registration is host-wide (every machine uses the same port)
/// and needs an administrator; `-Force` makes it idempotent.
fn register_vsock_service_commands() -> Vec<Command> {
    let guid = vsock_service_guid(API_VSOCK_PORT);
    let create_key = format!(
        "New-Item -Path {} -Name {} -Force",
        ps_quote(GUEST_SERVICES_KEY),
        ps_quote(&guid)
    );
    let name_it = format!(
        "New-ItemProperty -Path {} -Name 'ElementName' -Value 'Berth API' -PropertyType String -Force",
        ps_quote(&format!(r"{GUEST_SERVICES_KEY}\{guid}"))
    );
    vec![powershell(create_key), powershell(name_it)]
}

impl HyperV {
    /// Creates the VM for `spec`: its OS disk (`spec.disks[0]`), further disks and the
    /// provisioning seed disk, CPUs, memory, the Default Switch, Secure Boot off (the guest's boot loader is not signed
    /// for Microsoft's keys), and for a vsock channel the API's Hyper-V sockets service.
    pub fn create_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError> {
        let (os_disk, data_disks) = spec.disks.split_first().ok_or_else(|| {
            ProviderError::Failed(format!(
                "machine {} has no OS disk to create its Hyper-V VM with",
                spec.name
            ))
        })?;
        let name = ps_quote(&vm_name(&spec.name));
        let mut commands = vec![
            vm_cmdlet(
                "New-VM",
                spec,
                &format!(
                    " -MemoryStartupBytes {}MB -Generation 2 -VHDPath {} -SwitchName 'Default Switch'",
                    spec.memory_mib,
                    ps_path(os_disk)
                ),
            ),
            powershell(format!("Set-VMProcessor -VMName {name} -Count {}", spec.cpus)),
        ];
        commands.extend(data_disks.iter().chain([&spec.provision]).map(|disk| {
            powershell(format!(
                "Add-VMHardDiskDrive -VMName {name} -Path {}",
                ps_path(disk)
            ))
        }));
        commands.push(powershell(format!(
            "Set-VMFirmware -VMName {name} -EnableSecureBoot Off"
        )));
        if matches!(
            spec.channel,
            Channel::Vsock { .. } | Channel::HybridVsock { .. }
        ) {
            commands.extend(register_vsock_service_commands());
        }
        Ok(commands)
    }
}

impl Provider for HyperV {
    fn name(&self) -> &'static str {
        "hyperv"
    }

    /// Starts the VM made by [`HyperV::create_commands`].
    fn start_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError> {
        Ok(vec![vm_cmdlet("Start-VM", spec, "")])
    }

    fn stop_commands(&self, spec: &VmSpec) -> Vec<Command> {
        vec![vm_cmdlet("Stop-VM", spec, " -Force")]
    }

    /// Removes the VM from Hyper-V; its disks stay for the caller to delete.
    fn remove_commands(&self, spec: &VmSpec) -> Vec<Command> {
        vec![vm_cmdlet("Remove-VM", spec, " -Force")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn spec(channel: Channel) -> VmSpec {
        VmSpec {
            name: "dev".to_owned(),
            cpus: 4,
            memory_mib: 4096,
            kernel: PathBuf::new(),
            cmdline: String::new(),
            disks: vec![
                PathBuf::from(r"C:\berth\dev\os.vhdx"),
                PathBuf::from(r"C:\berth\dev\data.vhdx"),
            ],
            shares: Vec::new(),
            channel,
            ssh_port: 2222,
            provision: PathBuf::from(r"C:\berth\dev\seed.vhd"),
            run_dir: PathBuf::from(r"C:\berth\dev\run"),
        }
    }

    /// The `-Command` scripts of `commands`, after checking each is a PowerShell call.
    fn scripts(commands: &[Command]) -> Vec<String> {
        commands
            .iter()
            .map(|c| {
                assert_eq!(c.get_program(), "powershell.exe");
                let args: Vec<String> = c
                    .get_args()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                assert_eq!(args.len(), 4, "{args:?}");
                assert_eq!(args[..3], ["-NoProfile", "-NonInteractive", "-Command"]);
                args[3].clone()
            })
            .collect()
    }

    fn scripts_of_stop(spec: &VmSpec) -> Vec<String> {
        scripts(&HyperV.stop_commands(spec))
    }

    #[test]
    fn vsock_service_guid_puts_the_port_in_hex() {
        assert_eq!(
            vsock_service_guid(1024),
            "00000400-FACB-11E6-BD58-64006A7986D3"
        );
        assert_eq!(
            vsock_service_guid(22),
            "00000016-FACB-11E6-BD58-64006A7986D3"
        );
        assert_eq!(
            vsock_service_guid(0xABCDEF01),
            "ABCDEF01-FACB-11E6-BD58-64006A7986D3"
        );
    }

    #[test]
    fn ps_quote_doubles_every_single_quote_character() {
        assert_eq!(ps_quote("berth-dev"), "'berth-dev'");
        assert_eq!(ps_quote("o'brien"), "'o''brien'");
        assert_eq!(ps_quote("it\u{2019}s"), "'it\u{2019}\u{2019}s'");
        assert_eq!(ps_quote("$env:x \"y\""), "'$env:x \"y\"'");
        assert_eq!(ps_quote(""), "''");
    }

    #[test]
    fn create_makes_a_generation_2_vm_with_every_disk_and_the_api_service() {
        let commands = HyperV
            .create_commands(&spec(Channel::Vsock { cid: 3 }))
            .expect("the spec is valid");
        let key = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\GuestCommunicationServices";
        assert_eq!(
            scripts(&commands),
            [
                r"New-VM -Name 'berth-dev' -MemoryStartupBytes 4096MB -Generation 2 -VHDPath 'C:\berth\dev\os.vhdx' -SwitchName 'Default Switch'".to_owned(),
                "Set-VMProcessor -VMName 'berth-dev' -Count 4".to_owned(),
                r"Add-VMHardDiskDrive -VMName 'berth-dev' -Path 'C:\berth\dev\data.vhdx'".to_owned(),
                r"Add-VMHardDiskDrive -VMName 'berth-dev' -Path 'C:\berth\dev\seed.vhd'".to_owned(),
                "Set-VMFirmware -VMName 'berth-dev' -EnableSecureBoot Off".to_owned(),
                format!("New-Item -Path '{key}' -Name '00000400-FACB-11E6-BD58-64006A7986D3' -Force"),
                format!(
                    r"New-ItemProperty -Path '{key}\00000400-FACB-11E6-BD58-64006A7986D3' -Name 'ElementName' -Value 'Berth API' -PropertyType String -Force"
                ),
            ]
        );
    }

    #[test]
    fn the_seed_image_is_a_vhd_holding_the_document() {
        let provision = Provision {
            name: "dev".into(),
            ..Provision::default()
        };
        let image = seed_image(&provision);
        assert_eq!(&image[image.len() - 512..][..8], b"conectix");
        assert_eq!(Provision::from_seed(&image), Some(provision));
    }

    #[test]
    fn create_over_ssh_registers_no_service() {
        let mut spec = spec(Channel::Ssh);
        spec.disks.truncate(1);
        let scripts = scripts(&HyperV.create_commands(&spec).expect("the spec is valid"));
        assert_eq!(scripts.len(), 4, "{scripts:?}");
        assert!(scripts[2].ends_with(r"seed.vhd'"), "{scripts:?}");
        assert!(scripts[3].starts_with("Set-VMFirmware "), "{scripts:?}");
    }

    #[test]
    fn create_quotes_names_and_paths_with_quotes() {
        let mut spec = spec(Channel::Ssh);
        spec.name = "o'brien".to_owned();
        spec.disks = vec![PathBuf::from(r"C:\Users\o'brien\os.vhdx")];
        let scripts = scripts(&HyperV.create_commands(&spec).expect("the spec is valid"));
        assert_eq!(
            scripts[0],
            r"New-VM -Name 'berth-o''brien' -MemoryStartupBytes 4096MB -Generation 2 -VHDPath 'C:\Users\o''brien\os.vhdx' -SwitchName 'Default Switch'"
        );
        assert_eq!(
            scripts[1],
            "Set-VMProcessor -VMName 'berth-o''brien' -Count 4"
        );
        let stop = scripts_of_stop(&spec);
        assert_eq!(stop, ["Stop-VM -Name 'berth-o''brien' -Force"]);
    }

    #[test]
    fn create_without_a_disk_names_the_machine() {
        let mut spec = spec(Channel::Ssh);
        spec.disks.clear();
        let err = HyperV
            .create_commands(&spec)
            .expect_err("the spec is refused");
        assert!(err.to_string().contains("machine dev"), "{err}");
    }

    #[test]
    fn start_stop_and_remove_address_the_vm_by_name() {
        let spec = spec(Channel::Ssh);
        assert_eq!(
            scripts(&HyperV.start_commands(&spec).expect("the spec is valid")),
            ["Start-VM -Name 'berth-dev'"]
        );
        assert_eq!(scripts_of_stop(&spec), ["Stop-VM -Name 'berth-dev' -Force"]);
        assert_eq!(
            scripts(&HyperV.remove_commands(&spec)),
            ["Remove-VM -Name 'berth-dev' -Force"]
        );
    }

    #[test]
    fn command_line_shows_the_whole_powershell_call() {
        let commands = HyperV
            .start_commands(&spec(Channel::Ssh))
            .expect("the spec is valid");
        assert_eq!(
            crate::provider::command_line(&commands[0]),
            "powershell.exe -NoProfile -NonInteractive -Command \"Start-VM -Name 'berth-dev'\""
        );
    }
}
