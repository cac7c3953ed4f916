//! Kernel modules the agent needs before udev and systemd-modules-load may have run:
//! those not yet in the kernel are loaded with one `modprobe` (a process start costs
//! a tenth of a second or more under emulation, so there is only one).

use std::path::Path;
use std::process::Command;

/// What the agent uses: fw_cfg (the provisioning document), vsock (the host's
/// channel), virtiofs (shares), overlay (the store) and the network device.
pub const NEEDED: &[&str] = &[
    "qemu_fw_cfg",
    "vmw_vsock_virtio_transport",
    "virtiofs",
    "overlay",
    "virtio_pci",
    "virtio_net",
];

/// The modules of `names` the kernel does not have yet (built in or loaded).
fn missing<'a>(names: &[&'a str], sys_module: &Path) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| !sys_module.join(n.replace('-', "_")).exists())
        .collect()
}

/// Loads those of `names` that are missing; a failure is only said (the step that
/// needs the module reports what it lacks).
pub fn load(names: &[&str]) {
    let missing = missing(names, Path::new("/sys/module"));
    if missing.is_empty() {
        return;
    }
    match Command::new("modprobe").arg("-a").args(&missing).status() {
        Ok(s) if s.success() => {}
        Ok(s) => crate::say(&format!("modprobe {}: {s}", missing.join(" "))),
        Err(e) => crate::say(&format!("modprobe: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_modules_the_kernel_lacks_are_loaded() {
        let sys = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(sys.path().join("virtio_net")).expect("mkdir");
        std::fs::create_dir(sys.path().join("qemu_fw_cfg")).expect("mkdir");
        assert_eq!(
            missing(&["qemu-fw-cfg", "virtio_net", "overlay"], sys.path()),
            vec!["overlay"]
        );
    }
}
