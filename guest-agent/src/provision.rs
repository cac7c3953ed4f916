//! The host's provisioning document: found in QEMU's fw_cfg, on a seed disk, or in a
//! file, and applied at every boot (idempotently): host name, the user (the image's
//! default user `berth` renamed to the host's choice), SSH keys, time zone.

use anyhow::{bail, Context};
use berth_types::machine::{Provision, FW_CFG_NAME};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// The user the image ships with (uid 1000, with subordinate IDs).
pub const DEFAULT_USER: &str = "berth";

/// The document, from the first source that has one.
pub fn find(file: Option<&Path>) -> anyhow::Result<Provision> {
    let fw_cfg = Path::new("/sys/firmware/qemu_fw_cfg/by_name")
        .join(FW_CFG_NAME)
        .join("raw");
    if let Ok(bytes) = fs::read(&fw_cfg) {
        return serde_json::from_slice(&bytes).context("reading the fw_cfg provisioning document");
    }
    if let Some(doc) = seed_disk() {
        return Ok(doc);
    }
    if let Some(path) = file.filter(|p| p.exists()) {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()));
    }
    bail!("no provisioning document (fw_cfg {FW_CFG_NAME}, a seed disk, or a file)")
}

/// A block device whose first bytes are a seed.
fn seed_disk() -> Option<Provision> {
    let mut names: Vec<String> = fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("vd") || n.starts_with("nvme") || n.starts_with("sd"))
        .collect();
    names.sort();
    names.into_iter().find_map(|n| {
        let mut head = vec![0u8; 64 * 1024];
        let mut f = fs::File::open(format!("/dev/{n}")).ok()?;
        let got = f.read(&mut head).ok()?;
        Provision::from_seed(&head[..got])
    })
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let what = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn user_exists(name: &str) -> bool {
    fs::read_to_string("/etc/passwd")
        .map(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}

/// The user's uid, gid and home, from /etc/passwd.
pub fn user_ids(name: &str) -> anyhow::Result<(u32, u32, String)> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 6 && f[0] == name {
            return Ok((f[2].parse()?, f[3].parse()?, f[5].to_string()));
        }
    }
    bail!("no user {name:?} in /etc/passwd")
}

/// A user name the host may ask for: what `useradd` accepts.
fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Renames the image's user to `name` (once; again after the OS disk was replaced).
fn rename_user(name: &str) -> anyhow::Result<()> {
    if !valid_username(name) {
        bail!("invalid user name {name:?}");
    }
    if name == DEFAULT_USER || user_exists(name) {
        return Ok(());
    }
    let home = format!("/home/{name}");
    let mut usermod = Command::new("usermod");
    usermod.args(["-l", name, "-d", &home]);
    if !Path::new(&home).exists() {
        usermod.arg("-m");
    }
    run(usermod.arg(DEFAULT_USER))?;
    run(Command::new("groupmod").args(["-n", name, DEFAULT_USER]))?;
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = fs::read_to_string(file).unwrap_or_default();
        let renamed: String = text
            .lines()
            .map(|l| match l.strip_prefix(&format!("{DEFAULT_USER}:")) {
                Some(rest) => format!("{name}:{rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        write_file(Path::new(file), renamed.as_bytes(), 0o644)?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("berth-tmp");
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))?;
    Ok(())
}

fn authorize(keys: &[String], home: &str, owner: (u32, u32)) -> anyhow::Result<()> {
    let dir = Path::new(home).join(".ssh");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    let text: String = keys.iter().map(|k| format!("{}\n", k.trim())).collect();
    let file = dir.join("authorized_keys");
    write_file(&file, text.as_bytes(), 0o600)?;
    chown(&dir, Some(owner.0), Some(owner.1))?;
    chown(&file, Some(owner.0), Some(owner.1))?;
    Ok(())
}

fn set_timezone(zone: &str) -> anyhow::Result<()> {
    if zone.is_empty() {
        return Ok(());
    }
    if zone
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        bail!("invalid time zone {zone:?}");
    }
    let target = Path::new("/usr/share/zoneinfo").join(zone);
    if !target.is_file() {
        bail!("unknown time zone {zone:?}");
    }
    let tmp = Path::new("/etc/localtime.berth-tmp");
    let _ = fs::remove_file(tmp);
    std::os::unix::fs::symlink(&target, tmp)?;
    fs::rename(tmp, "/etc/localtime")?;
    write_file(
        Path::new("/etc/timezone"),
        format!("{zone}\n").as_bytes(),
        0o644,
    )
}

/// The network settings: a fixed address when the host gave one, set at once by the
/// agent (and written as a runtime file that sorts before the image's DHCP one, for
/// systemd-networkd when something starts it); else DHCP, by systemd-networkd.
pub fn network(doc: &Provision) -> anyhow::Result<()> {
    let Some((address, gateway)) = &doc.static_network else {
        // DHCP: systemd-networkd (not started otherwise) brings the link up.
        return start_networkd();
    };
    let valid = address.split_once('/').is_some_and(|(a, p)| {
        a.parse::<std::net::IpAddr>().is_ok() && p.parse::<u8>().is_ok_and(|p| p <= 32)
    }) && gateway.parse::<std::net::IpAddr>().is_ok();
    if !valid {
        bail!("invalid static network {address:?} via {gateway:?}");
    }
    let dns: String = doc
        .nameservers
        .iter()
        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
        .map(|n| format!("DNS={n}\n"))
        .collect();
    // Should networkd run, it keeps what the agent set up at once (below).
    let unit = format!(
        "[Match]\nName=eth0\n\n[Network]\nAddress={address}\nGateway={gateway}\n{dns}LinkLocalAddressing=no\nIPv6AcceptRA=no\nKeepConfiguration=static\n"
    );
    fs::create_dir_all("/run/systemd/network")?;
    write_file(
        Path::new("/run/systemd/network/05-berth-static.network"),
        unit.as_bytes(),
        0o644,
    )?;
    // Alongside the rest of the boot: the link may take a while to appear.
    let (address, gateway) = (address.clone(), gateway.clone());
    std::thread::spawn(move || {
        if let Err(e) = configure_now(&address, &gateway) {
            crate::say(&format!("network: left to systemd-networkd: {e:#}"));
            let _ = start_networkd();
        }
    });
    Ok(())
}

/// Asks systemd to start systemd-networkd (not enabled in the image), without waiting.
fn start_networkd() -> anyhow::Result<()> {
    run(Command::new("systemctl").args(["start", "--no-block", "systemd-networkd.service"]))
}

/// Sets the fixed address and default route on eth0 as soon as it exists, rather than
/// when networkd has started (seconds later under emulation): the agent's readiness
/// waits for the route.
fn configure_now(address: &str, gateway: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !Path::new("/sys/class/net/eth0").exists() {
        if std::time::Instant::now() > deadline {
            bail!("no eth0 after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for args in [
        vec!["addr", "replace", address, "dev", "eth0"],
        vec!["link", "set", "eth0", "up"],
        vec!["route", "replace", "default", "via", gateway, "dev", "eth0"],
    ] {
        let status = Command::new("ip").args(&args).status()?;
        if !status.success() {
            bail!("ip {} failed ({status})", args.join(" "));
        }
    }
    Ok(())
}

pub fn apply(doc: &Provision) -> anyhow::Result<()> {
    if !doc.name.is_empty() {
        write_file(
            Path::new("/etc/hostname"),
            format!("{}\n", doc.name).as_bytes(),
            0o644,
        )?;
        rustix::system::sethostname(doc.name.as_bytes()).context("setting the host name")?;
    }
    rename_user(&doc.username)?;
    let (uid, gid, home) = user_ids(&doc.username)?;
    authorize(&doc.ssh_authorized_keys, &home, (uid, gid))?;
    authorize(&doc.ssh_authorized_keys, "/root", (0, 0))?;
    if !doc.nameservers.is_empty() {
        let text: String = doc
            .nameservers
            .iter()
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .map(|n| format!("nameserver {n}\n"))
            .collect();
        write_file(Path::new("/etc/resolv.conf"), text.as_bytes(), 0o644)?;
    }
    if let Err(e) = set_timezone(&doc.timezone) {
        crate::say(&format!("time zone: {e:#}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_what_useradd_takes() {
        for ok in ["core", "u_1", "a-b", "_x"] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["", "Root", "1a", "a b", "../x", "a:b", &"x".repeat(33)] {
            assert!(!valid_username(bad), "{bad}");
        }
    }
}
