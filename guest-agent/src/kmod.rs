//! Kernel modules the agent needs before udev and systemd-modules-load may have run.
//! The agent loads them itself (`finit_module`), each after the modules it depends on
//! as the kernel's modules.dep lists them: no process is started for it, as a process
//! start costs a tenth of a second or more under emulation. A module it cannot load
//! that way (compressed, or not listed) is left to one `modprobe -a`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Needed before anything else: the provisioning document comes through fw_cfg.
pub const FIRST: &[&str] = &["qemu_fw_cfg"];

/// Needed by the shares and the API service, not by the provisioning before them: the
/// virtio bus, vsock (the host's channel), virtiofs (shares), overlay (the store), the
/// network device and tun (rootless containers' networking, through pasta). Loaded on
/// a thread of their own while the agent provisions.
pub const REST: &[&str] = &[
    "virtio_pci",
    "vmw_vsock_virtio_transport",
    "virtiofs",
    "overlay",
    "virtio_net",
    "tun",
];

/// The tun device's node, as systemd's static nodes make it: users open it (pasta, for a
/// rootless container). The first container may come before those units ran, or before
/// udev set the mode of the node the kernel made when tun was loaded; so it is made
/// here, before the API answers.
pub fn tun_node(dev: &Path) -> std::io::Result<()> {
    use rustix::fs::{FileType, Mode};
    let node = dev.join("net/tun");
    if !node.exists() {
        std::fs::create_dir_all(dev.join("net"))?;
        let (major, minor) = (10, 200);
        match rustix::fs::mknodat(
            rustix::fs::CWD,
            &node,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            rustix::fs::makedev(major, minor),
        ) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Not through a link: the node itself.
    let meta = std::fs::symlink_metadata(&node)?;
    if !std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type()) {
        return Err(std::io::Error::other(format!(
            "{} is not a character device",
            node.display()
        )));
    }
    std::fs::set_permissions(&node, std::os::unix::fs::PermissionsExt::from_mode(0o666))
}

/// A module's name as the kernel knows it (`/sys/module/NAME`): `-` reads as `_`.
fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

/// The name of the module in a modules.dep path (`kernel/fs/fuse/fuse.ko` → `fuse`).
fn name_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    canonical(file.split('.').next().unwrap_or(file))
}

/// What modules.dep says: each module's file and the modules it needs.
struct Deps {
    base: PathBuf,
    modules: HashMap<String, (String, Vec<String>)>,
}

impl Deps {
    fn parse(base: &Path, text: &str) -> Deps {
        let modules = text
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(path, needs)| {
                let needs = needs.split_whitespace().map(name_of).collect();
                (name_of(path), (path.to_string(), needs))
            })
            .collect();
        Deps {
            base: base.to_path_buf(),
            modules,
        }
    }

    fn read() -> Option<Deps> {
        let release = rustix::system::uname().release().to_str().ok()?.to_string();
        let base = Path::new("/lib/modules").join(release);
        let text = std::fs::read_to_string(base.join("modules.dep")).ok()?;
        Some(Deps::parse(&base, &text))
    }

    /// The files to load for `name`, each after those it needs; none for a module
    /// `present` says the kernel has. `None` when a module is not listed or is not a
    /// plain `.ko` file.
    fn order(&self, name: &str, present: &dyn Fn(&str) -> bool) -> Option<Vec<PathBuf>> {
        fn visit(
            deps: &Deps,
            name: &str,
            present: &dyn Fn(&str) -> bool,
            seen: &mut HashSet<String>,
            out: &mut Vec<PathBuf>,
        ) -> Option<()> {
            if present(name) || !seen.insert(name.to_string()) {
                return Some(());
            }
            let (path, needs) = deps.modules.get(name)?;
            for need in needs {
                visit(deps, need, present, seen, out)?;
            }
            if !path.ends_with(".ko") {
                return None;
            }
            out.push(deps.base.join(path));
            Some(())
        }
        let mut out = Vec::new();
        visit(
            self,
            &canonical(name),
            present,
            &mut HashSet::new(),
            &mut out,
        )?;
        Some(out)
    }
}

fn in_kernel(name: &str) -> bool {
    Path::new("/sys/module").join(canonical(name)).exists()
}

/// Loads one module file; one already there (udev may load it meanwhile) is no error.
fn insert(file: &Path) -> std::io::Result<()> {
    let f = std::fs::File::open(file)?;
    match rustix::system::finit_module(&f, c"", 0) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Loads those of `names` the kernel lacks; a failure is only said (the step that needs
/// the module reports what it lacks).
pub fn load(names: &[&str]) {
    let deps = Deps::read();
    let mut left = Vec::new();
    for &name in names {
        let order = deps.as_ref().and_then(|d| d.order(name, &in_kernel));
        match order.map(|files| files.iter().try_for_each(|f| insert(f))) {
            Some(Ok(())) => {}
            _ if in_kernel(name) => {}
            _ => left.push(name),
        }
    }
    if left.is_empty() {
        return;
    }
    match Command::new("modprobe").arg("-a").args(&left).status() {
        Ok(s) if s.success() => {}
        Ok(s) => crate::say(&format!("modprobe {}: {s}", left.join(" "))),
        Err(e) => crate::say(&format!("modprobe: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/fs/fuse/fuse.ko:
kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/firmware/qemu_fw_cfg.ko:
kernel/net/vmw_vsock/vsock.ko:
kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko: kernel/net/vmw_vsock/vsock.ko
kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko: kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko kernel/net/vmw_vsock/vsock.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/overlayfs/overlay.ko.xz:
";

    fn names(files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| name_of(&f.to_string_lossy()))
            .collect()
    }

    #[test]
    fn a_module_comes_after_what_it_needs_and_present_ones_are_skipped() {
        let deps = Deps::parse(Path::new("/lib/modules/6.1"), DEP);
        let none = |_: &str| false;
        let order = deps
            .order("vmw_vsock_virtio_transport", &none)
            .expect("listed");
        assert_eq!(
            names(&order),
            [
                "vsock",
                "vmw_vsock_virtio_transport_common",
                "virtio",
                "virtio_ring",
                "vmw_vsock_virtio_transport"
            ]
        );
        assert_eq!(
            order[0],
            Path::new("/lib/modules/6.1/kernel/net/vmw_vsock/vsock.ko")
        );
        // What the kernel has is not loaded again; a dash reads as an underscore.
        let some = |n: &str| ["virtio", "virtio_ring", "fuse"].contains(&n);
        assert_eq!(
            names(&deps.order("virtiofs", &some).expect("listed")),
            ["virtiofs"]
        );
        assert_eq!(
            names(&deps.order("qemu-fw-cfg", &none).expect("listed")),
            ["qemu_fw_cfg"]
        );
        assert!(deps
            .order("virtiofs", &|_| true)
            .expect("listed")
            .is_empty());
    }

    #[test]
    fn the_tun_node_is_made_or_opened_to_users_and_never_through_a_file() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
        let dev = tempfile::tempdir().expect("tempdir");
        let node = dev.path().join("net/tun");
        if rustix::process::geteuid().is_root() {
            // Missing: made, as the kernel's (10, 200).
            tun_node(dev.path()).expect("made");
            let meta = std::fs::metadata(&node).expect("node");
            assert!(meta.file_type().is_char_device());
            assert_eq!(meta.rdev(), rustix::fs::makedev(10, 200));
            assert_eq!(meta.permissions().mode() & 0o777, 0o666);
            // There with the kernel's 0600: opened to users.
            std::fs::set_permissions(&node, PermissionsExt::from_mode(0o600)).expect("chmod");
            tun_node(dev.path()).expect("again");
            let meta = std::fs::metadata(&node).expect("node");
            assert_eq!(meta.permissions().mode() & 0o777, 0o666);
            std::fs::remove_file(&node).expect("rm");
        }
        // Something else in its place is refused, and left as it was.
        std::fs::create_dir_all(node.parent().expect("parent")).expect("mkdir");
        std::fs::write(&node, "not a device").expect("write");
        std::fs::set_permissions(&node, PermissionsExt::from_mode(0o600)).expect("chmod");
        assert!(tun_node(dev.path()).is_err());
        let meta = std::fs::metadata(&node).expect("file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        std::fs::remove_file(&node).expect("rm");
        std::os::unix::fs::symlink("/etc/passwd", &node).expect("link");
        assert!(tun_node(dev.path()).is_err());
    }

    #[test]
    fn modules_it_cannot_load_itself_are_left_to_modprobe() {
        let deps = Deps::parse(Path::new("/lib/modules/6.1"), DEP);
        // Compressed: the kernel may not take it as it is.
        assert!(deps.order("overlay", &|_| false).is_none());
        // Not listed at all.
        assert!(deps.order("no_such_module", &|_| false).is_none());
    }
}
