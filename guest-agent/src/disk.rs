//! The machine's data disk and the host's shares. The data disk (the NVMe namespace
//! with serial `berth-data`) is formatted on first boot, grown to its size at every
//! boot, and holds /home and the engine's store, so that replacing the OS disk keeps
//! them. Shares are virtiofs tags mounted where the host asked.

use anyhow::{bail, Context};
use berth_types::machine::Provision;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

const DATA_SERIAL: &str = "berth-data";
const DATA_MOUNT: &str = "/var/lib/berth-data";
/// What lives on the data disk: (its folder there, where it is bound).
const KEPT: &[(&str, &str)] = &[("home", "/home"), ("berth", "/var/lib/berth")];

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let what = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The data disk's device, found by its serial.
fn data_device() -> Option<String> {
    let mut names: Vec<String> = fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        fs::read_to_string(format!("/sys/block/{n}/device/serial"))
            .map(|s| s.trim() == DATA_SERIAL)
            .unwrap_or(false)
    })
}

/// Whether the device holds an ext4 (or ext2/3) file system: its superblock magic.
fn has_ext4(dev: &str) -> anyhow::Result<bool> {
    let mut f = fs::File::open(dev).with_context(|| format!("opening {dev}"))?;
    f.seek(SeekFrom::Start(1024 + 56))?;
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic)?;
    Ok(magic == [0x53, 0xEF])
}

fn is_mounted(target: &str) -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .map(|m| m.lines().any(|l| l.split(' ').nth(4) == Some(target)))
        .unwrap_or(false)
}

pub fn prepare_data() -> anyhow::Result<()> {
    let Some(name) = data_device() else {
        crate::say("no data disk; the store stays on the OS disk");
        return Ok(());
    };
    let dev = format!("/dev/{name}");
    if !has_ext4(&dev)? {
        crate::say(&format!("formatting the data disk {dev}"));
        run(Command::new("mkfs.ext4").args(["-q", "-L", "berth-data", &dev]))?;
    }
    fs::create_dir_all(DATA_MOUNT)?;
    if !is_mounted(DATA_MOUNT) {
        run(Command::new("mount").args(["-t", "ext4", "-o", "discard", &dev, DATA_MOUNT]))?;
    }
    // Grown by `machine set --disk-size`: the file system follows, online.
    if let Err(e) = run(Command::new("resize2fs").arg(&dev)) {
        crate::say(&format!("growing {dev}: {e:#}"));
    }
    for (dir, target) in KEPT {
        let kept = Path::new(DATA_MOUNT).join(dir);
        if !kept.exists() {
            fs::create_dir_all(&kept)?;
            if Path::new(target).is_dir() {
                run(Command::new("cp")
                    .arg("-a")
                    .arg(format!("{target}/."))
                    .arg(&kept))?;
            }
        }
        fs::create_dir_all(target)?;
        if !is_mounted(target) {
            run(Command::new("mount").arg("--bind").arg(&kept).arg(target))?;
        }
    }
    Ok(())
}

/// A share's target must be an absolute path without `..`.
fn valid_target(t: &str) -> bool {
    t.starts_with('/') && !t.split('/').any(|p| p == "..")
}

pub fn mount_shares(doc: &Provision) -> anyhow::Result<()> {
    if !doc.mounts.is_empty() {
        let _ = Command::new("modprobe").arg("virtiofs").status();
    }
    for m in &doc.mounts {
        if !valid_target(&m.target) {
            crate::say(&format!("share {}: invalid target {:?}", m.tag, m.target));
            continue;
        }
        if is_mounted(&m.target) {
            continue;
        }
        let made = fs::create_dir_all(&m.target)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let mut mount = Command::new("mount");
                mount.args(["-t", "virtiofs"]);
                if m.read_only {
                    mount.args(["-o", "ro"]);
                }
                run(mount.arg(&m.tag).arg(&m.target))
            });
        if let Err(e) = made {
            crate::say(&format!("share {} at {}: {e:#}", m.tag, m.target));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_targets_are_absolute_and_stay_put() {
        assert!(valid_target("/home/core/src"));
        assert!(!valid_target("home"));
        assert!(!valid_target("/home/../etc"));
    }
}
