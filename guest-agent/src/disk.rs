//! The machine's data disk and the host's shares. The data disk (the NVMe namespace
//! with serial `berth-data`) is formatted on first boot, grown to its size at every
//! boot, and holds /home and the engine's store, so that replacing the OS disk keeps
//! them. Shares are virtiofs tags mounted where the host asked.

use anyhow::{bail, Context};
use berth_types::machine::Provision;
use rustix::mount;
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

/// The size in bytes of the ext4 (or ext2/3) file system on `dev`, from its
/// superblock; `None` when there is none.
fn ext4_size(dev: &str) -> anyhow::Result<Option<u64>> {
    let mut f = fs::File::open(dev).with_context(|| format!("opening {dev}"))?;
    f.seek(SeekFrom::Start(1024))?;
    let mut sb = [0u8; 1024];
    f.read_exact(&mut sb)?;
    Ok(superblock_size(&sb))
}

/// The file system size a superblock describes, if it is ext's.
fn superblock_size(sb: &[u8; 1024]) -> Option<u64> {
    let u32_at = |o: usize| u64::from(u32::from_le_bytes([sb[o], sb[o + 1], sb[o + 2], sb[o + 3]]));
    if sb[56..58] != [0x53, 0xEF] {
        return None;
    }
    // The block count's high half counts only with the 64bit feature (incompatible
    // feature flag 0x80).
    let high = if u32_at(0x60) & 0x80 != 0 {
        u32_at(0x150)
    } else {
        0
    };
    let blocks = (high << 32) | u32_at(0x04);
    let log = u32_at(0x18).min(6);
    Some(blocks * (1024u64 << log))
}

/// The size in bytes of the block device `name`.
fn device_size(name: &str) -> Option<u64> {
    let sectors: u64 = fs::read_to_string(format!("/sys/block/{name}/size"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(sectors * 512)
}

/// Whether the disk grew past its file system (`machine set --disk-size`); sizes are
/// whole GiB, so what resize2fs leaves over at the end never counts.
fn grew(device: u64, file_system: u64) -> bool {
    device > file_system + (16 << 20)
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
    let size = match ext4_size(&dev)? {
        Some(size) => size,
        None => {
            crate::say(&format!("formatting the data disk {dev}"));
            run(Command::new("mkfs.ext4").args(["-q", "-L", "berth-data", &dev]))?;
            ext4_size(&dev)?.unwrap_or(0)
        }
    };
    fs::create_dir_all(DATA_MOUNT)?;
    if !is_mounted(DATA_MOUNT) {
        mount::mount(
            dev.as_str(),
            DATA_MOUNT,
            "ext4",
            mount::MountFlags::empty(),
            c"discard",
        )
        .with_context(|| format!("mounting {dev} on {DATA_MOUNT}"))?;
    }
    // Grown by `machine set --disk-size`: the file system follows, online.
    if device_size(&name).is_some_and(|d| grew(d, size)) {
        if let Err(e) = run(Command::new("resize2fs").arg(&dev)) {
            crate::say(&format!("growing {dev}: {e:#}"));
        }
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
            mount::mount_bind(&kept, *target)
                .with_context(|| format!("binding {} on {target}", kept.display()))?;
        }
    }
    Ok(())
}

/// A share's target must be an absolute path without `..`.
fn valid_target(t: &str) -> bool {
    t.starts_with('/') && !t.split('/').any(|p| p == "..")
}

pub fn mount_shares(doc: &Provision) -> anyhow::Result<()> {
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
                let flags = if m.read_only {
                    mount::MountFlags::RDONLY
                } else {
                    mount::MountFlags::empty()
                };
                mount::mount(m.tag.as_str(), m.target.as_str(), "virtiofs", flags, c"")
                    .map_err(anyhow::Error::from)
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
    fn the_superblock_gives_the_size_and_growth_is_whole_gib() {
        let mut sb = [0u8; 1024];
        assert_eq!(superblock_size(&sb), None);
        sb[56..58].copy_from_slice(&[0x53, 0xEF]);
        sb[0x04..0x08].copy_from_slice(&262_144u32.to_le_bytes());
        sb[0x18..0x1c].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(superblock_size(&sb), Some(1 << 30));
        // 64bit: the high half counts.
        sb[0x64] = 0x80; // a read-only-compatible flag: not 64bit
        assert_eq!(superblock_size(&sb), Some(1 << 30));
        sb[0x60] = 0x80;
        sb[0x150..0x154].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(superblock_size(&sb), Some((1 << 30) + (4096u64 << 32)));
        assert!(!grew(1 << 30, (1 << 30) - 4096));
        assert!(grew(2 << 30, 1 << 30));
    }

    #[test]
    fn share_targets_are_absolute_and_stay_put() {
        assert!(valid_target("/home/core/src"));
        assert!(!valid_target("home"));
        assert!(!valid_target("/home/../etc"));
    }
}
