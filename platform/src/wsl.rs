//! The WSL2 provider: the machine is a WSL distro (`berth-<name>`) imported from a rootfs
//! tarball and driven with `wsl.exe`. Host folders need no shares: WSL mounts every
//! Windows drive in the guest itself, so `C:\Users\me` is `/mnt/c/Users/me` there
//! ([`share_guest_path`]). CPUs and memory are WSL-wide settings (`.wslconfig`), not
//! per distro, so the spec's are not used.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::provider::{Provider, ProviderError, VmSpec, VmState};

/// Where the guest agent reads the provisioning document.
pub const GUEST_PROVISION_PATH: &str = "/etc/berth/provision.json";

/// Drives `wsl.exe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wsl {
    /// Where the distro's `ext4.vhdx` lives.
    pub distro_dir: PathBuf,
}

/// The WSL distro that holds the machine `name`.
pub fn distro_name(name: &str) -> String {
    format!("berth-{name}")
}

/// `wsl.exe --list --verbose`: read its output with [`decode_wsl_output`], then
/// [`parse_list`] or [`is_imported`].
pub fn list_command() -> Command {
    let mut c = Command::new("wsl.exe");
    c.args(["--list", "--verbose"]);
    c
}

/// `wsl.exe` prints UTF-16LE (with or without a byte-order mark) unless `WSL_UTF8=1`;
/// its child processes print UTF-8. Either becomes a `String`.
pub fn decode_wsl_output(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16le(rest);
    }
    // UTF-8 text has no NUL bytes; UTF-16LE text of ASCII has one in every other byte.
    if bytes.contains(&0) {
        return decode_utf16le(bytes);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

fn decode_utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// One row of `wsl.exe --list --verbose` (`* NAME STATE VERSION`, `*` marking the
/// default distro): the name and the state column.
fn list_rows(output: &str) -> impl Iterator<Item = (&str, &str)> {
    output.lines().filter_map(|line| {
        let line = line.trim().trim_start_matches('*').trim();
        let (name, rest) = line.split_once(char::is_whitespace)?;
        let (state, _version) = rest.trim().rsplit_once(char::is_whitespace)?;
        Some((name, state.trim()))
    })
}

/// Whether `distro` is in the output of [`list_command`], whatever its state.
pub fn is_imported(output: &str, distro: &str) -> bool {
    list_rows(output).any(|(name, _)| name == distro)
}

/// The state of `distro` in the output of [`list_command`]. `None` when it is not listed
/// or its state is not one WSL prints in English.
pub fn parse_list(output: &str, distro: &str) -> Option<VmState> {
    let (_, state) = list_rows(output).find(|(name, _)| *name == distro)?;
    match state {
        "Running" => Some(VmState::Running),
        "Stopped" | "Uninstalling" => Some(VmState::Stopped),
        "Installing" | "Converting" => Some(VmState::Starting),
        _ => None,
    }
}

/// Where the guest sees the Windows path `host` (`C:\src` → `/mnt/c/src`); `None` for a
/// path that is not on a drive letter (a UNC path, a relative path).
pub fn share_guest_path(host: &Path) -> Option<String> {
    let host = host.to_str()?;
    let mut chars = host.chars();
    let drive = chars.next().filter(char::is_ascii_alphabetic)?;
    let rest = chars.as_str().strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(['\\', '/'])) {
        return None;
    }
    let rest = rest.replace('\\', "/");
    Some(format!(
        "/mnt/{}{}",
        drive.to_ascii_lowercase(),
        rest.trim_end_matches('/')
    ))
}

/// `wsl.exe -d berth-NAME -u root -- ARGS…`: a command as root inside the machine.
fn in_distro(spec: &VmSpec) -> Command {
    let mut c = Command::new("wsl.exe");
    c.arg("-d")
        .arg(distro_name(&spec.name))
        .args(["-u", "root", "--"]);
    c
}

impl Wsl {
    /// Imports the machine's distro from its rootfs tarball (`spec.disks[0]`); run only
    /// when [`is_imported`] says it is not there yet.
    pub fn import_command(&self, spec: &VmSpec) -> Result<Command, ProviderError> {
        let rootfs = spec.disks.first().ok_or_else(|| {
            ProviderError::Failed(format!(
                "machine {} has no rootfs tarball to import into WSL",
                spec.name
            ))
        })?;
        let mut c = Command::new("wsl.exe");
        c.arg("--import")
            .arg(distro_name(&spec.name))
            .arg(&self.distro_dir)
            .arg(rootfs)
            .args(["--version", "2"]);
        Ok(c)
    }
}

/// Writes the provisioning document, piped to its stdin by the caller, to `guest_path`
/// inside the machine (usually [`GUEST_PROVISION_PATH`]), creating its folder. The path
/// goes to `sh` as `$1`, so it needs no quoting.
pub fn provision_command(spec: &VmSpec, guest_path: &str) -> Command {
    let mut c = in_distro(spec);
    c.args([
        "sh",
        "-c",
        r#"mkdir -p "$(dirname "$1")" && cat > "$1""#,
        "sh",
        guest_path,
    ]);
    c
}

impl Provider for Wsl {
    fn name(&self) -> &'static str {
        "wsl"
    }

    /// Boots the distro by running the guest agent in it; the caller runs it detached,
    /// and the distro runs for as long as the agent does.
    fn start_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError> {
        let mut c = in_distro(spec);
        c.args(["/usr/local/bin/berth-agent", "--wsl"]);
        Ok(vec![c])
    }

    fn stop_commands(&self, spec: &VmSpec) -> Vec<Command> {
        let mut c = Command::new("wsl.exe");
        c.arg("--terminate").arg(distro_name(&spec.name));
        vec![c]
    }

    /// Unregistering deletes the distro and its `ext4.vhdx`.
    fn remove_commands(&self, spec: &VmSpec) -> Vec<Command> {
        let mut c = Command::new("wsl.exe");
        c.arg("--unregister").arg(distro_name(&spec.name));
        vec![c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{command_line, Channel};

    fn spec() -> VmSpec {
        VmSpec {
            name: "dev".to_owned(),
            cpus: 2,
            memory_mib: 2048,
            kernel: PathBuf::new(),
            cmdline: String::new(),
            disks: vec![PathBuf::from(r"C:\berth\rootfs.tar")],
            shares: Vec::new(),
            channel: Channel::Ssh,
            ssh_port: 2222,
            provision: PathBuf::from(r"C:\berth\dev\provision.json"),
            run_dir: PathBuf::from(r"C:\berth\dev\run"),
        }
    }

    fn wsl() -> Wsl {
        Wsl {
            distro_dir: PathBuf::from(r"C:\berth\dev\distro"),
        }
    }

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    const LIST: &str = "  NAME            STATE           VERSION\r\n\
                        * Ubuntu          Running         2\r\n  \
                        berth-dev       Stopped         2\r\n  \
                        berth-web       Running         2\r\n  \
                        berth-new       Installing      2\r\n";

    #[test]
    fn import_uses_the_rootfs_tarball_and_wsl2() {
        let c = wsl().import_command(&spec()).expect("the spec is valid");
        assert_eq!(
            command_line(&c),
            r"wsl.exe --import berth-dev C:\berth\dev\distro C:\berth\rootfs.tar --version 2"
        );
    }

    #[test]
    fn import_without_a_rootfs_names_the_machine() {
        let mut spec = spec();
        spec.disks.clear();
        let err = wsl()
            .import_command(&spec)
            .expect_err("the spec is refused");
        assert!(err.to_string().contains("machine dev"), "{err}");
    }

    #[test]
    fn start_runs_the_agent_as_root_in_the_distro() {
        let commands = wsl().start_commands(&spec()).expect("the spec is valid");
        let lines: Vec<String> = commands.iter().map(command_line).collect();
        assert_eq!(
            lines,
            ["wsl.exe -d berth-dev -u root -- /usr/local/bin/berth-agent --wsl"]
        );
    }

    #[test]
    fn stop_terminates_and_remove_unregisters() {
        let stop: Vec<String> = wsl()
            .stop_commands(&spec())
            .iter()
            .map(command_line)
            .collect();
        assert_eq!(stop, ["wsl.exe --terminate berth-dev"]);
        let remove: Vec<String> = wsl()
            .remove_commands(&spec())
            .iter()
            .map(command_line)
            .collect();
        assert_eq!(remove, ["wsl.exe --unregister berth-dev"]);
    }

    #[test]
    fn list_command_is_verbose() {
        assert_eq!(command_line(&list_command()), "wsl.exe --list --verbose");
    }

    #[test]
    fn provision_pipes_stdin_to_the_guest_path() {
        let c = provision_command(&spec(), GUEST_PROVISION_PATH);
        let args: Vec<_> = c.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(c.get_program(), "wsl.exe");
        assert_eq!(
            args,
            [
                "-d",
                "berth-dev",
                "-u",
                "root",
                "--",
                "sh",
                "-c",
                r#"mkdir -p "$(dirname "$1")" && cat > "$1""#,
                "sh",
                "/etc/berth/provision.json",
            ]
        );
    }

    #[test]
    fn parse_list_finds_each_distro_state() {
        assert_eq!(parse_list(LIST, "berth-dev"), Some(VmState::Stopped));
        assert_eq!(parse_list(LIST, "berth-web"), Some(VmState::Running));
        assert_eq!(parse_list(LIST, "berth-new"), Some(VmState::Starting));
        assert_eq!(parse_list(LIST, "Ubuntu"), Some(VmState::Running));
        assert_eq!(parse_list(LIST, "berth-de"), None);
        assert_eq!(parse_list(LIST, "NAME"), None);
    }

    #[test]
    fn parse_list_reads_a_default_distro_without_a_space_after_the_star() {
        let output = "  NAME STATE VERSION\n*berth-dev Running 2\n";
        assert_eq!(parse_list(output, "berth-dev"), Some(VmState::Running));
    }

    #[test]
    fn is_imported_sees_distros_in_any_state() {
        assert!(is_imported(LIST, "berth-new"));
        assert!(is_imported(LIST, "berth-dev"));
        assert!(!is_imported(LIST, "berth-gone"));
        let no_distros = "Windows Subsystem for Linux has no installed distributions.\r\n";
        assert!(!is_imported(no_distros, "berth-dev"));
        assert_eq!(parse_list(no_distros, "berth-dev"), None);
    }

    #[test]
    fn decode_reads_utf16le_with_and_without_bom() {
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend(utf16le(LIST));
        assert_eq!(decode_wsl_output(&with_bom), LIST);
        assert_eq!(decode_wsl_output(&utf16le(LIST)), LIST);
        let decoded = decode_wsl_output(&utf16le(LIST));
        assert_eq!(parse_list(&decoded, "berth-web"), Some(VmState::Running));
    }

    #[test]
    fn decode_reads_utf8_with_and_without_bom() {
        assert_eq!(decode_wsl_output(LIST.as_bytes()), LIST);
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend(LIST.as_bytes());
        assert_eq!(decode_wsl_output(&with_bom), LIST);
        assert_eq!(decode_wsl_output("é ok".as_bytes()), "é ok");
    }

    #[test]
    fn share_guest_path_maps_drives_to_mnt() {
        let cases = [
            (r"C:\Users\me\src", Some("/mnt/c/Users/me/src")),
            ("D:/data/", Some("/mnt/d/data")),
            ("e:", Some("/mnt/e")),
            (r"\\server\share", None),
            ("relative", None),
            ("C:relative", None),
        ];
        for (host, want) in cases {
            assert_eq!(share_guest_path(Path::new(host)).as_deref(), want, "{host}");
        }
    }
}
