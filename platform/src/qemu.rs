//! The QEMU provider: KVM where /dev/kvm works (HVF on macOS, WHPX on Windows), TCG
//! otherwise. The kernel boots directly on q35 with the disks on NVMe (built into the
//! guest kernel: no initramfs), user-mode networking with the SSH port forwarded, the
//! provisioning document in fw_cfg, virtiofs shares (virtiofsd), and the vsock channel:
//! kernel vhost-vsock where /dev/vhost-vsock exists, else vhost-user through
//! `vhost-device-vsock`. QEMU is controlled through QMP (see `qmp`).

use crate::provider::{command_line, Channel, Provider, ProviderError, VmSpec};
use berth_types::machine::FW_CFG_NAME;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How QEMU runs the guest's CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Hvf,
    Whpx,
    Tcg,
}

/// QEMU's baseline x86-64 CPU raised to the x86-64-v2 level.
pub const TCG_X86_64_V2: &str = "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16";

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Hvf => "hvf",
            Accel::Whpx => "whpx",
            Accel::Tcg => "tcg",
        }
    }

    /// The CPU the guest sees: the host's own under a hypervisor. Emulated (TCG),
    /// `BERTH_MACHINE_CPU` decides when set; on x86-64 the default is the x86-64-v2
    /// level (what current distributions' images require), which boots a machine and
    /// runs its first container a fifth faster under emulation than QEMU's `max` (whose
    /// AVX and other extensions are costly to emulate); elsewhere `max`.
    pub fn cpu(self) -> String {
        if self != Accel::Tcg {
            return "host".into();
        }
        if let Some(cpu) = std::env::var("BERTH_MACHINE_CPU")
            .ok()
            .filter(|c| !c.is_empty())
        {
            return cpu;
        }
        if cfg!(target_arch = "x86_64") {
            TCG_X86_64_V2.into()
        } else {
            "max".into()
        }
    }

    /// The best this host offers: `BERTH_MACHINE_ACCEL` decides when set; on Linux KVM
    /// when /dev/kvm opens and is not a PVM backend (stock kernels hang under it).
    pub fn detect() -> Accel {
        match std::env::var("BERTH_MACHINE_ACCEL").as_deref() {
            Ok("kvm") => return Accel::Kvm,
            Ok("tcg") => return Accel::Tcg,
            Ok("hvf") => return Accel::Hvf,
            Ok("whpx") => return Accel::Whpx,
            _ => {}
        }
        if cfg!(target_os = "macos") {
            return Accel::Hvf;
        }
        if cfg!(windows) {
            return Accel::Whpx;
        }
        let kvm_opens = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        let pvm = Path::new("/sys/module/kvm_pvm").exists();
        if kvm_opens && !pvm {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }
}

/// The QEMU provider and the programs it drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qemu {
    pub qemu: PathBuf,
    pub vhost_vsock: PathBuf,
    pub virtiofsd: PathBuf,
    pub accel: Accel,
}

/// The first of `candidates` that exists, else the bare name (found on PATH).
fn find(env: &str, candidates: &[&str], name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl Qemu {
    /// The programs from the usual places (or `BERTH_QEMU`, `BERTH_VHOST_VSOCK`,
    /// `BERTH_VIRTIOFSD`).
    pub fn from_host() -> Qemu {
        let qemu = format!("qemu-system-{}", std::env::consts::ARCH);
        Qemu {
            qemu: find("BERTH_QEMU", &[], &qemu),
            vhost_vsock: find(
                "BERTH_VHOST_VSOCK",
                &[
                    "/usr/local/libexec/berth/vhost-device-vsock",
                    "/usr/local/bin/vhost-device-vsock",
                ],
                "vhost-device-vsock",
            ),
            virtiofsd: find(
                "BERTH_VIRTIOFSD",
                &[
                    "/usr/libexec/virtiofsd",
                    "/usr/lib/qemu/virtiofsd",
                    "/usr/lib/virtiofsd",
                ],
                "virtiofsd",
            ),
            accel: Accel::detect(),
        }
    }

    /// The channel this host gives a machine: kernel vsock where it can.
    pub fn channel(run_dir: &Path, cid: u32) -> Channel {
        if Path::new("/dev/vhost-vsock").exists() {
            Channel::Vsock { cid }
        } else {
            Channel::HybridVsock {
                cid,
                uds: run_dir.join("vsock.sock"),
                control: run_dir.join("vhost-vsock.sock"),
            }
        }
    }

    pub fn qmp_socket(run_dir: &Path) -> PathBuf {
        run_dir.join("qmp.sock")
    }
    pub fn pid_file(run_dir: &Path) -> PathBuf {
        run_dir.join("qemu.pid")
    }
    pub fn console_log(run_dir: &Path) -> PathBuf {
        run_dir.join("console.log")
    }
    pub fn virtiofs_socket(run_dir: &Path, i: usize) -> PathBuf {
        run_dir.join(format!("virtiofs-{i}.sock"))
    }

    /// The `vhost-device-vsock` process, for the hybrid channel.
    pub fn vhost_vsock_command(&self, channel: &Channel) -> Option<Command> {
        let Channel::HybridVsock { cid, uds, control } = channel else {
            return None;
        };
        let mut c = Command::new(&self.vhost_vsock);
        c.arg("--vm").arg(format!(
            "guest-cid={cid},socket={},uds-path={}",
            control.display(),
            uds.display()
        ));
        Some(c)
    }

    /// One `virtiofsd` per share.
    pub fn virtiofsd_commands(&self, spec: &VmSpec) -> Vec<Command> {
        spec.shares
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut c = Command::new(&self.virtiofsd);
                c.arg(format!(
                    "--socket-path={}",
                    Self::virtiofs_socket(&spec.run_dir, i).display()
                ))
                .arg("-o")
                .arg(format!("source={}", s.source.display()))
                .args(["-o", "cache=auto"]);
                c
            })
            .collect()
    }

    /// The QEMU process itself (daemonized, its pid in `qemu.pid`).
    pub fn qemu_command(&self, spec: &VmSpec) -> Command {
        let run = &spec.run_dir;
        let mut c = Command::new(&self.qemu);
        let mem = spec.memory_mib;
        c.args(["-name", &format!("berth-{}", spec.name)])
            .args(["-M", "q35,memory-backend=mem"])
            .args(["-accel", self.accel.as_str()])
            .args(["-cpu", &self.accel.cpu()])
            .args(["-smp", &spec.cpus.to_string(), "-m", &format!("{mem}M")])
            // vhost-user devices need the guest's memory shared with their processes.
            .args([
                "-object",
                &format!("memory-backend-memfd,id=mem,size={mem}M,share=on"),
            ])
            .args(["-nodefaults", "-nographic", "-no-user-config"])
            .arg("-serial")
            .arg(format!("file:{}", Self::console_log(run).display()))
            .arg("-kernel")
            .arg(&spec.kernel)
            .args(["-append", &spec.cmdline]);
        for (i, disk) in spec.disks.iter().enumerate() {
            let (id, serial) = if i == 0 {
                ("os", "berth-os".to_string())
            } else {
                (
                    "data",
                    format!(
                        "berth-data{}",
                        if i == 1 { String::new() } else { i.to_string() }
                    ),
                )
            };
            c.arg("-drive")
                .arg(format!(
                    "file={},if=none,id={id},format=qcow2,discard=unmap",
                    disk.display()
                ))
                .args(["-device", &format!("nvme,drive={id},serial={serial}")]);
        }
        c.args([
            "-netdev",
            &format!("user,id=net0,hostfwd=tcp:127.0.0.1:{}-:22", spec.ssh_port),
        ])
        // No option ROM: the kernel boots directly, iPXE would only cost time.
        .args(["-device", "virtio-net-pci,netdev=net0,romfile="])
        .args(["-device", "virtio-rng-pci"]);
        match &spec.channel {
            Channel::HybridVsock { control, .. } => {
                c.arg("-chardev")
                    .arg(format!("socket,id=vsock,path={}", control.display()))
                    .args(["-device", "vhost-user-vsock-pci,chardev=vsock"]);
            }
            Channel::Vsock { cid } => {
                c.args(["-device", &format!("vhost-vsock-pci,guest-cid={cid}")]);
            }
            Channel::Ssh => {}
        }
        for (i, s) in spec.shares.iter().enumerate() {
            c.arg("-chardev")
                .arg(format!(
                    "socket,id=fs{i},path={}",
                    Self::virtiofs_socket(run, i).display()
                ))
                .args([
                    "-device",
                    &format!("vhost-user-fs-pci,chardev=fs{i},tag={}", s.tag),
                ]);
        }
        c.arg("-fw_cfg")
            .arg(format!(
                "name={FW_CFG_NAME},file={}",
                spec.provision.display()
            ))
            .arg("-qmp")
            .arg(format!(
                "unix:{},server=on,wait=off",
                Self::qmp_socket(run).display()
            ))
            .arg("-pidfile")
            .arg(Self::pid_file(run))
            .arg("-daemonize");
        c
    }
}

impl Provider for Qemu {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn start_commands(&self, spec: &VmSpec) -> Result<Vec<Command>, ProviderError> {
        if spec.disks.is_empty() {
            return Err(ProviderError::Failed(format!(
                "machine {}: no disk to boot",
                spec.name
            )));
        }
        let mut out: Vec<Command> = self
            .vhost_vsock_command(&spec.channel)
            .into_iter()
            .collect();
        out.extend(self.virtiofsd_commands(spec));
        out.push(self.qemu_command(spec));
        tracing::debug!(commands = ?out.iter().map(command_line).collect::<Vec<_>>(), "qemu start");
        Ok(out)
    }

    fn stop_commands(&self, _spec: &VmSpec) -> Vec<Command> {
        // QEMU stops through QMP (powerdown, then quit); nothing to run.
        Vec::new()
    }

    fn remove_commands(&self, _spec: &VmSpec) -> Vec<Command> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Share;

    fn spec(channel: Channel) -> VmSpec {
        VmSpec {
            name: "m1".into(),
            cpus: 2,
            memory_mib: 2048,
            kernel: "/d/vmlinuz".into(),
            cmdline: "root=/dev/nvme0n1 rw console=ttyS0".into(),
            disks: vec!["/d/os.qcow2".into(), "/d/data.qcow2".into()],
            shares: vec![Share {
                source: "/home/u/src".into(),
                target: "/src".into(),
                tag: "vol0".into(),
                read_only: false,
            }],
            channel,
            ssh_port: 40022,
            provision: "/d/provision.json".into(),
            run_dir: "/r".into(),
        }
    }

    fn qemu(accel: Accel) -> Qemu {
        Qemu {
            qemu: "qemu-system-x86_64".into(),
            vhost_vsock: "vhost-device-vsock".into(),
            virtiofsd: "/usr/lib/qemu/virtiofsd".into(),
            accel,
        }
    }

    #[test]
    fn tcg_with_hybrid_vsock_runs_three_programs_in_order() {
        let channel = Channel::HybridVsock {
            cid: 3,
            uds: "/r/vsock.sock".into(),
            control: "/r/vhost-vsock.sock".into(),
        };
        let cmds = qemu(Accel::Tcg)
            .start_commands(&spec(channel))
            .expect("commands");
        let lines: Vec<String> = cmds.iter().map(command_line).collect();
        assert_eq!(
            lines[0],
            "vhost-device-vsock --vm guest-cid=3,socket=/r/vhost-vsock.sock,uds-path=/r/vsock.sock"
        );
        assert_eq!(lines[1], "/usr/lib/qemu/virtiofsd --socket-path=/r/virtiofs-0.sock -o source=/home/u/src -o cache=auto");
        assert_eq!(
            lines[2],
            "qemu-system-x86_64 -name berth-m1 -M q35,memory-backend=mem -accel tcg -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16 -smp 2 -m 2048M \
             -object memory-backend-memfd,id=mem,size=2048M,share=on -nodefaults -nographic -no-user-config \
             -serial file:/r/console.log -kernel /d/vmlinuz -append \"root=/dev/nvme0n1 rw console=ttyS0\" \
             -drive file=/d/os.qcow2,if=none,id=os,format=qcow2,discard=unmap -device nvme,drive=os,serial=berth-os \
             -drive file=/d/data.qcow2,if=none,id=data,format=qcow2,discard=unmap -device nvme,drive=data,serial=berth-data \
             -netdev user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22 -device virtio-net-pci,netdev=net0,romfile= \
             -device virtio-rng-pci -chardev socket,id=vsock,path=/r/vhost-vsock.sock -device vhost-user-vsock-pci,chardev=vsock \
             -chardev socket,id=fs0,path=/r/virtiofs-0.sock -device vhost-user-fs-pci,chardev=fs0,tag=vol0 \
             -fw_cfg name=opt/berth/provision,file=/d/provision.json -qmp unix:/r/qmp.sock,server=on,wait=off \
             -pidfile /r/qemu.pid -daemonize"
        );
    }

    #[test]
    fn kvm_with_kernel_vsock_uses_the_host_cpu_and_no_vhost_user_process() {
        let mut s = spec(Channel::Vsock { cid: 7 });
        s.shares.clear();
        let cmds = qemu(Accel::Kvm).start_commands(&s).expect("commands");
        assert_eq!(cmds.len(), 1);
        let line = command_line(&cmds[0]);
        assert!(line.contains("-accel kvm -cpu host"), "{line}");
        assert!(
            line.contains("-device vhost-vsock-pci,guest-cid=7"),
            "{line}"
        );
        assert!(!line.contains("vhost-user"), "{line}");
        s.disks.clear();
        assert!(qemu(Accel::Kvm).start_commands(&s).is_err());
    }
}
