//! The guest OS recipe: the packages, and the files and settings laid over the
//! bootstrapped tree (Berth's binaries, the agent's unit, unused modules, SSH,
//! networking, the journal, the tun device's mode, the default user, masked units and
//! generators). Everything here is part of the build's cache key.

use anyhow::{bail, Context};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bump when the recipe's code changes in a way the files below do not show.
pub const VERSION: &str = "2";
pub const SUITE: &str = "bookworm";

pub const PACKAGES: &str = include_str!("../recipe/packages");
pub const AGENT_UNIT: &str = include_str!("../recipe/berth-agent.service");
pub const MODPROBE: &str = include_str!("../recipe/modprobe.conf");
pub const JOURNALD: &str = include_str!("../recipe/journald.conf");
pub const GENERATORS: &str = include_str!("../recipe/generators");
pub const SSHD: &str = include_str!("../recipe/sshd.conf");
pub const SSH_HOSTKEY: &str = include_str!("../recipe/ssh-hostkey.conf");
pub const NETWORK: &str = include_str!("../recipe/network");
pub const MASKED: &str = include_str!("../recipe/masked");
pub const TMPFILES_TUN: &str = include_str!("../recipe/tmpfiles-tun.conf");

/// The default user, renamed by the agent to the host's choice.
pub const USER: &str = "berth";

/// Non-comment, non-empty lines.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Berth's binaries, copied into the image: (the file here, its path in the guest).
#[derive(Debug, Clone)]
pub struct Binaries {
    pub berth: PathBuf,
    pub agent: PathBuf,
    pub monitor: PathBuf,
    pub pause: PathBuf,
}

impl Binaries {
    pub fn placed(&self) -> [(&Path, &'static str); 4] {
        [
            (&self.berth, "usr/local/bin/berth"),
            (&self.agent, "usr/local/bin/berth-agent"),
            (&self.monitor, "usr/local/libexec/berth/berth-monitor"),
            (&self.pause, "usr/local/libexec/berth/berth-pause"),
        ]
    }
}

fn write(root: &Path, rel: &str, text: &str, mode: u32) -> anyhow::Result<()> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn symlink(root: &Path, rel: &str, target: &str) -> anyhow::Result<()> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let _ = fs::remove_file(&path);
    std::os::unix::fs::symlink(target, &path).with_context(|| format!("linking {}", path.display()))
}

fn chroot(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("chroot")
        .arg(root)
        .args(args)
        .output()
        .context("running chroot")?;
    if !out.status.success() {
        bail!(
            "chroot {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Lays the recipe over the bootstrapped tree at `root`.
pub fn customize(root: &Path, bins: &Binaries) -> anyhow::Result<()> {
    for (from, to) in bins.placed() {
        let dest = root.join(to);
        fs::create_dir_all(dest.parent().unwrap_or(root))?;
        fs::copy(from, &dest).with_context(|| format!("copying {}", from.display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
    }
    // No fsck at boot: the disk is the machine's own, checked when the image is built.
    write(
        root,
        "etc/fstab",
        "/dev/root / ext4 rw,discard,errors=remount-ro 0 0\n",
        0o644,
    )?;
    write(root, "etc/hostname", "berth\n", 0o644)?;
    write(
        root,
        "etc/hosts",
        "127.0.0.1 localhost\n::1 localhost\n",
        0o644,
    )?;
    write(root, "etc/machine-id", "", 0o444)?;
    write(root, "etc/modprobe.d/berth.conf", MODPROBE, 0o644)?;
    write(
        root,
        "etc/tmpfiles.d/00-berth-tun.conf",
        TMPFILES_TUN,
        0o644,
    )?;
    write(
        root,
        "etc/systemd/journald.conf.d/berth.conf",
        JOURNALD,
        0o644,
    )?;
    write(root, "etc/ssh/sshd_config.d/berth.conf", SSHD, 0o644)?;
    write(
        root,
        "etc/systemd/system/ssh.service.d/hostkey.conf",
        SSH_HOSTKEY,
        0o644,
    )?;
    write(root, "etc/systemd/network/10-berth.network", NETWORK, 0o644)?;
    write(
        root,
        "etc/systemd/system/berth-agent.service",
        AGENT_UNIT,
        0o644,
    )?;
    symlink(
        root,
        "etc/systemd/system/multi-user.target.wants/berth-agent.service",
        "/etc/systemd/system/berth-agent.service",
    )?;
    symlink(
        root,
        "etc/systemd/system/default.target",
        "/lib/systemd/system/multi-user.target",
    )?;
    for unit in lines(MASKED) {
        symlink(root, &format!("etc/systemd/system/{unit}"), "/dev/null")?;
    }
    for generator in lines(GENERATORS) {
        symlink(
            root,
            &format!("etc/systemd/system-generators/{generator}"),
            "/dev/null",
        )?;
    }
    for f in fs::read_dir(root.join("etc/ssh"))?.flatten() {
        if f.file_name().to_string_lossy().starts_with("ssh_host_") {
            fs::remove_file(f.path())?;
        }
    }
    // useradd gives the user subordinate IDs once these files exist.
    for f in ["etc/subuid", "etc/subgid"] {
        if !root.join(f).exists() {
            write(root, f, "", 0o644)?;
        }
    }
    chroot(
        root,
        &["useradd", "-m", "-u", "1000", "-U", "-s", "/bin/bash", USER],
    )?;
    // The kernel boots directly: no initramfs, no boot loader.
    for f in fs::read_dir(root.join("boot"))?.flatten() {
        if f.file_name().to_string_lossy().starts_with("initrd.img") {
            fs::remove_file(f.path())?;
        }
    }
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        for f in fs::read_dir(root.join(dir)).into_iter().flatten().flatten() {
            if f.path().is_file() {
                let _ = fs::remove_file(f.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipe_lists_the_engine_and_its_tools() {
        let pkgs: Vec<&str> = lines(PACKAGES).collect();
        for p in [
            "linux-image-cloud-amd64",
            "systemd",
            "openssh-server",
            "crun",
            "netavark",
            "aardvark-dns",
            "passt",
            "uidmap",
            "fuse-overlayfs",
        ] {
            assert!(pkgs.contains(&p), "{p}");
        }
        assert!(lines(MASKED).all(|u| u.contains('.')));
        assert!(AGENT_UNIT.contains("ExecStart=/usr/local/bin/berth-agent"));
    }
}
