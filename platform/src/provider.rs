//! What every VM provider is handed and must do. A [`VmSpec`] says what to boot (the
//! kernel, the disks, CPUs and memory, the shares, the host↔guest channel, the
//! provisioning document); a [`Provider`] turns it into the hypervisor's own commands,
//! starts, stops and inspects the VM. Only `qemu` runs on Linux; the others build the
//! exact command lines they would run and are unit-tested on them.

use std::path::PathBuf;
use std::process::Command;

/// A folder of the host shared into the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The host folder.
    pub source: PathBuf,
    /// Where the guest mounts it.
    pub target: String,
    /// The tag the guest mounts it by (`vol0`, `vol1`…).
    pub tag: String,
    pub read_only: bool,
}

/// How host and guest reach each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// Kernel vhost-vsock (`/dev/vhost-vsock`): the guest's CID.
    Vsock { cid: u32 },
    /// vhost-user vsock through a `vhost-device-vsock` process: the hybrid unix socket
    /// the host connects to (`CONNECT <port>`), and the vhost-user control socket.
    HybridVsock {
        cid: u32,
        uds: PathBuf,
        control: PathBuf,
    },
    /// No vsock: SSH over the forwarded port.
    Ssh,
}

impl Channel {
    /// What `machine inspect` calls it.
    pub fn describe(&self) -> &'static str {
        match self {
            Channel::Vsock { .. } => "vsock",
            Channel::HybridVsock { .. } => "vhost-user-vsock",
            Channel::Ssh => "ssh",
        }
    }
}

/// Everything a provider needs to boot one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    pub name: String,
    pub cpus: u32,
    pub memory_mib: u64,
    /// The guest kernel (booted directly, no firmware or boot loader).
    pub kernel: PathBuf,
    /// The kernel command line.
    pub cmdline: String,
    /// The OS disk (the image) and the data disk, in this order.
    pub disks: Vec<PathBuf>,
    pub shares: Vec<Share>,
    pub channel: Channel,
    /// The host's loopback port forwarded to the guest's SSH port.
    pub ssh_port: u16,
    /// The provisioning document the guest agent reads at boot.
    pub provision: PathBuf,
    /// Where the provider keeps its runtime files (sockets, pid files, the console log).
    pub run_dir: PathBuf,
}

/// What a provider reports about a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmState {
    Stopped,
    Starting,
    Running,
}

impl VmState {
    pub fn as_str(&self) -> &'static str {
        match self {
            VmState::Stopped => "stopped",
            VmState::Starting => "starting",
            VmState::Running => "running",
        }
    }
}

/// Errors of providers: what failed and on what.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{0}")]
    Failed(String),
}

/// One hypervisor. `commands` is what `start` runs, in order, so that every provider's
/// command lines can be checked where the hypervisor itself cannot run.
pub trait Provider: Send + Sync {
    /// `qemu`, `applehv`, `wsl`, `hyperv`.
    fn name(&self) -> &'static str;
    /// The commands `start` runs for `spec`, in order.
    fn start_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError>;
    /// The commands that stop the machine for good (after a graceful stop timed out).
    fn stop_commands(&self, spec: &VmSpec) -> Vec<Command>;
    /// The commands that remove what the hypervisor holds of the machine.
    fn remove_commands(&self, spec: &VmSpec) -> Vec<Command>;
    /// The guest's name for the OS disk (the images have no initramfs: the disk must be
    /// one the kernel has built in, NVMe).
    fn root_device(&self) -> &'static str {
        "/dev/nvme0n1"
    }
}

/// A command as one line, for tests and `--log-level debug`.
pub fn command_line(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains([' ', '"', '\'']) {
                format!("{s:?}")
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
