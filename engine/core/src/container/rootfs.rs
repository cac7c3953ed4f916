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
/// `root_owner`: the host uid and gid of the container's root in a user namespace of
/// its own, who then owns the root directory (the upper one's).
pub fn mount_rootfs(
    paths: &ContainerPaths,
    lowers: &[PathBuf],
    root_owner: Option<(u32, u32)>,
) -> io::Result<()> {
    for d in [paths.upper(), paths.work(), paths.merged()] {
        std::fs::create_dir_all(&d)?;
    }
    if let Some((uid, gid)) = root_owner {
        rustix::fs::chown(
            paths.upper(),
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )?;
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
    mount_overlay(&options, &merged, MountFlags::empty())
}

/// Mounts an overlay of `options` at `target`: with the kernel's overlayfs, or with
/// the `mount_program` of storage.conf (fuse-overlayfs) when one is configured, or
/// when the kernel refuses a rootless user and fuse-overlayfs is installed.
pub fn mount_overlay(options: &str, target: &Path, flags: MountFlags) -> io::Result<()> {
    if let Some(program) = crate::store::storage_conf::mount_program() {
        return mount_with_program(&program, options, target, flags);
    }
    let data = std::ffi::CString::new(options).map_err(io::Error::other)?;
    match mount("overlay", target, "overlay", flags, Some(data.as_c_str())) {
        Ok(()) => Ok(()),
        Err(e @ (rustix::io::Errno::PERM | rustix::io::Errno::INVAL | rustix::io::Errno::NODEV))
            if crate::rootless::active() =>
        {
            match crate::network::netavark::helper("fuse-overlayfs") {
                Ok(program) => {
                    tracing::debug!(error = %e, "the kernel refused overlay; using fuse-overlayfs");
                    mount_with_program(&program.display().to_string(), options, target, flags)
                }
                Err(_) => Err(io::Error::other(format!(
                    "mounting overlay at {}: {e}: this kernel refuses overlay to rootless users; install fuse-overlayfs",
                    target.display()
                ))),
            }
        }
        Err(e) => Err(io::Error::other(format!(
            "mounting overlay at {}: {e}",
            target.display()
        ))),
    }
}

/// fuse-overlayfs (or another mount program taking its arguments): it mounts, then
/// serves the mount in the background until it is unmounted.
fn mount_with_program(
    program: &str,
    options: &str,
    target: &Path,
    flags: MountFlags,
) -> io::Result<()> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        return Err(io::Error::other(format!(
            "cannot open /dev/fuse: {e}: {program} needs it; as root, `chmod 0666 /dev/fuse`"
        )));
    }
    let mut opts = options.to_string();
    if flags.contains(MountFlags::RDONLY) {
        opts.push_str(",ro");
    }
    let out = std::process::Command::new(program)
        .arg("-o")
        .arg(&opts)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| io::Error::other(format!("running {program}: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{program} at {}: {}",
            target.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
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
/// The network view /etc files are written from.
pub struct EtcInput<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub hostname: &'a str,
    pub req: &'a berth_types::container::ContainerCreateRequest,
    /// The bridge networks' state, when the container has any.
    pub net: Option<&'a crate::network::setup::NetState>,
}

fn hosts_and_resolv(input: &EtcInput<'_>) -> (String, String) {
    use crate::network::etc;
    let req = input.req;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if req.network == "host" {
        let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        for h in &req.add_hosts {
            if let Some((name, ip)) = h.split_once(':') {
                hosts.push_str(&format!("{ip}\t{name}\n"));
            }
        }
        let resolv =
            if req.dns.is_empty() && req.dns_search.is_empty() && req.dns_options.is_empty() {
                host_resolv
            } else {
                etc::resolv_conf(
                    &host_resolv,
                    &[],
                    &req.dns,
                    &req.dns_search,
                    &req.dns_options,
                )
            };
        return (hosts, resolv);
    }
    let ips: Vec<std::net::IpAddr> = input
        .net
        .map(|n| {
            n.interfaces
                .iter()
                .flat_map(|i| i.ips.iter().map(|(ip, _)| *ip))
                .collect()
        })
        .unwrap_or_default();
    let gateway = input
        .net
        .and_then(|n| n.interfaces.iter().find_map(|i| i.gateway));
    let aardvark: Vec<std::net::IpAddr> = input
        .net
        .map(|n| {
            n.interfaces
                .iter()
                .filter(|i| i.dns)
                .filter_map(|i| i.gateway)
                .collect()
        })
        .unwrap_or_default();
    let mut hosts = etc::hosts(input.hostname, input.name, &ips, gateway, &req.add_hosts);
    if ips.is_empty() {
        hosts.push_str(&format!("127.0.1.1\t{} {}\n", input.hostname, input.name));
    }
    // slirp4netns answers DNS itself and forwards to the host's servers (loopback
    // ones included, which the container could not reach directly).
    let slirp_dns = [crate::network::slirp::DNS.to_string()];
    let dns = if req.network == "slirp4netns" && req.dns.is_empty() {
        &slirp_dns[..]
    } else {
        &req.dns[..]
    };
    let resolv = etc::resolv_conf(
        &host_resolv,
        &aardvark,
        dns,
        &req.dns_search,
        &req.dns_options,
    );
    (hosts, resolv)
}

pub fn write_etc_files(
    paths: &ContainerPaths,
    input: &EtcInput<'_>,
) -> io::Result<Vec<(PathBuf, String)>> {
    let dir = paths.bundle();
    std::fs::create_dir_all(&dir)?;
    let write = |file: &str, content: String| -> io::Result<PathBuf> {
        let p = dir.join(file);
        crate::store::fsutil::write_replace(&p, content.as_bytes(), 0o644)?;
        Ok(p)
    };
    let hostname_file = write("hostname", format!("{}\n", input.hostname))?;
    let (hosts, resolv) = hosts_and_resolv(input);
    let env = format!(
        "engine=\"berth-{}\"\nname=\"{}\"\nid=\"{}\"\nimage=\"\"\nrootless=0\n",
        env!("CARGO_PKG_VERSION"),
        input.name,
        input.id
    );
    let containerenv = write(".containerenv", env)?;
    let mut files = vec![(hostname_file, "/etc/hostname".to_string())];
    if !input.req.no_hosts {
        files.push((write("hosts", hosts)?, "/etc/hosts".to_string()));
    }
    files.push((
        write("resolv.conf", resolv)?,
        "/etc/resolv.conf".to_string(),
    ));
    files.push((containerenv, "/run/.containerenv".to_string()));
    Ok(files)
}

/// Rewrites /etc/hosts and /etc/resolv.conf of a running container in place (they are
/// bind mounts of these files: a new file would not be seen) after its networks changed.
pub fn rewrite_network_files(
    row: &super::store::ContainerRow,
    paths: &ContainerPaths,
) -> io::Result<()> {
    use std::io::Write;
    let net = crate::network::setup::read_state(&paths.run);
    let hostname = row
        .config
        .hostname
        .clone()
        .unwrap_or_else(|| row.id[..12].to_string());
    let input = EtcInput {
        id: &row.id,
        name: &row.name,
        hostname: &hostname,
        req: &row.config,
        net: net.as_ref(),
    };
    let (hosts, resolv) = hosts_and_resolv(&input);
    for (file, content) in [("hosts", hosts), ("resolv.conf", resolv)] {
        let path = paths.bundle().join(file);
        if !path.exists() {
            continue;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)?;
        f.write_all(content.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(super::unescape("/a\\040b"), "/a b");
    }
}
