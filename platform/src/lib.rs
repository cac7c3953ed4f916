//! Host side of Berth machines: the VM providers (QEMU, Apple HV through vfkit, WSL2,
//! Hyper-V), machine configuration and state, the guest image, SSH keys and sessions,
//! and the forwarding of the API socket and published ports to the guest agent.

pub mod applehv;
pub mod config;
pub mod forward;
pub mod hyperv;
pub mod image;
pub mod machine;
pub mod procs;
pub mod provider;
pub mod qemu;
pub mod qmp;
pub mod ssh;
pub mod sshkey;
pub mod udp_forward;
pub mod vhd;
pub mod vsock;
pub mod wsl;

pub use provider::{Channel, Provider, ProviderError, Share, VmSpec, VmState};
