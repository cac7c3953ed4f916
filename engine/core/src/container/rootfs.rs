//! A container's root filesystem: the image's layers as overlay lower directories,
//! the container's own upper and work directories, merged at `merged`. Also writes
//! the small files bind-mounted into every container (/etc/hostname, /etc/hosts,
//! /etc/resolv.conf, /run/.containerenv).

use super::paths::ContainerPaths;
use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};
use std::io;
use std::path::{Path, PathBuf};

/// Whether `path` is a mount point (from /proc/self/mountinfo).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| unescape(p) == target)
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// Mounts the overlay (`lowers` topmost first). Does nothing when already mounted.
pub fn mount_rootfs(paths: &ContainerPaths, lowers: &[PathBuf]) -> io::Result<()> {
    for d in [paths.upper(), paths.work(), paths.merged()] {
        std::fs::create_dir_all(&d)?;
    }
    let merged = paths.merged();
    if is_mounted(&merged) {
        return Ok(());
    }
    if lowers.is_empty() {
        return Err(io::Error::other("the image has no layers"));
    }
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        paths.upper().display(),
        paths.work().display()
    );
    if options.len() >= 4000 {
        return Err(io::Error::other(format!(
            "the image has too many layers ({}) to mount",
            lowers.len()
        )));
    }
    let data = std::ffi::CString::new(options).map_err(io::Error::other)?;
    mount(
        "overlay",
        &merged,
        "overlay",
        MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .map_err(|e| io::Error::other(format!("mounting overlay at {}: {e}", merged.display())))
}

/// Unmounts the overlay; not being mounted is fine.
pub fn unmount_rootfs(paths: &ContainerPaths) -> io::Result<()> {
    let merged = paths.merged();
    if !is_mounted(&merged) {
        return Ok(());
    }
    match unmount(&merged, UnmountFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::BUSY) => unmount(&merged, UnmountFlags::DETACH)
            .map_err(|e| io::Error::other(format!("unmounting {}: {e}", merged.display()))),
        Err(rustix::io::Errno::INVAL) => Ok(()),
        Err(e) => Err(io::Error::other(format!(
            "unmounting {}: {e}",
            merged.display()
        ))),
    }
}

/// The files every container gets bound over its own: (host path, container path).
pub fn write_etc_files(
    paths: &ContainerPaths,
    id: &str,
    name: &str,
    hostname: &str,
    network: &str,
) -> io::Result<Vec<(PathBuf, String)>> {
    let dir = paths.bundle();
    std::fs::create_dir_all(&dir)?;
    let write = |file: &str, content: String| -> io::Result<PathBuf> {
        let p = dir.join(file);
        crate::store::fsutil::write_replace(&p, content.as_bytes(), 0o644)?;
        Ok(p)
    };
    let hostname_file = write("hostname", format!("{hostname}\n"))?;
    let mut hosts = String::from("127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n");
    if network == "host" {
        if let Ok(host_hosts) = std::fs::read_to_string("/etc/hosts") {
            hosts = host_hosts;
        }
    } else {
        hosts.push_str(&format!("127.0.1.1\t{hostname} {name}\n"));
    }
    let hosts_file = write("hosts", hosts)?;
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolv_file = write("resolv.conf", resolv)?;
    let env = format!(
        "engine=\"berth-{}\"\nname=\"{name}\"\nid=\"{id}\"\nimage=\"\"\nrootless=0\n",
        env!("CARGO_PKG_VERSION")
    );
    let containerenv = write(".containerenv", env)?;
    Ok(vec![
        (hostname_file, "/etc/hostname".to_string()),
        (hosts_file, "/etc/hosts".to_string()),
        (resolv_file, "/etc/resolv.conf".to_string()),
        (containerenv, "/run/.containerenv".to_string()),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(super::unescape("/a\\040b"), "/a b");
    }
}
