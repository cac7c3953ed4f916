//! `-v/--volume`, `--mount` and `--tmpfs` into one list of mounts, with Podman's
//! rules: bind vs named vs anonymous volumes, option checks, absolute destinations,
//! and one mount per destination.

use super::host::Host;
use super::mount_flag;
use super::{invalid, is_valid_name, ArgError, NAME_RULE};
use berth_types::container::{MountKind, MountSpec};

const VOLUME: &str = "-v, --volume";
const TMPFS: &str = "--tmpfs";

/// Every mount, in flag order (`-v`, then `--mount`, then `--tmpfs`). Repeating a
/// mount exactly is harmless (Podman drops the repeat); two different mounts on one
/// destination are an error.
pub fn mounts(
    volumes: &[String],
    mounts: &[String],
    tmpfs: &[String],
    host: &dyn Host,
) -> Result<Vec<MountSpec>, ArgError> {
    let mut all: Vec<MountSpec> = Vec::new();
    let parsed = volumes
        .iter()
        .map(|v| parse_volume(v, host))
        .chain(mounts.iter().map(|m| mount_flag::parse(m, host)))
        .chain(tmpfs.iter().map(|t| parse_tmpfs(t)));
    for mount in parsed {
        let mount = mount?;
        match all.iter().find(|m| m.destination == mount.destination) {
            Some(existing) if *existing == mount => {}
            Some(_) => return Err(ArgError::DuplicateMountDestination(mount.destination)),
            None => all.push(mount),
        }
    }
    Ok(all)
}

/// `-v [SOURCE:]DEST[:OPTIONS]`: a SOURCE starting with `/` or `.` is a host path
/// (relative ones resolved against the working directory), any other SOURCE names a
/// volume, and no SOURCE at all makes an anonymous volume.
fn parse_volume(spec: &str, host: &dyn Host) -> Result<MountSpec, ArgError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, options) = match parts.as_slice() {
        [dest] => (None, *dest, None),
        [source, dest] => (Some(*source), *dest, None),
        [source, dest, options] => (Some(*source), *dest, Some(*options)),
        _ => {
            return Err(invalid(
                VOLUME,
                spec,
                "incorrect volume format, should be [host-dir:]ctr-dir[:option]",
            ))
        }
    };
    let destination = destination(VOLUME, spec, dest)?;
    let options = match options {
        Some(o) => volume_options(VOLUME, spec, o.split(',').map(str::to_string).collect())?,
        None => Vec::new(),
    };
    let (kind, source) = match source {
        None => (MountKind::Volume, None),
        Some("") => return Err(invalid(VOLUME, spec, "host directory cannot be empty")),
        Some(s) if s.starts_with('/') || s.starts_with('.') => {
            (MountKind::Bind, Some(host_path(VOLUME, spec, s, host)?))
        }
        Some(name) => (MountKind::Volume, Some(volume_name(VOLUME, spec, name)?)),
    };
    Ok(MountSpec {
        kind,
        source,
        destination,
        options,
    })
}

/// `--tmpfs DEST[:OPTIONS]`; the options go to the kernel as given.
fn parse_tmpfs(spec: &str) -> Result<MountSpec, ArgError> {
    let (dest, options) = spec.split_once(':').unwrap_or((spec, ""));
    Ok(MountSpec {
        kind: MountKind::Tmpfs,
        source: None,
        destination: destination(TMPFS, spec, dest)?,
        options: options
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

pub(super) const PROPAGATION: [&str; 8] = [
    "shared",
    "rshared",
    "private",
    "rprivate",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// Options of a bind or volume mount: known ones only, at most one of each group
/// (`ro`/`rw`, `z`/`Z`, one propagation…); `cached` and `delegated` (macOS) dropped.
pub(super) fn volume_options(
    flag: &'static str,
    spec: &str,
    options: Vec<String>,
) -> Result<Vec<String>, ArgError> {
    const GROUPS: [(&[&str], &str); 10] = [
        (&["rw", "ro"], "1 'rw' or 'ro' option"),
        (&["z", "Z"], "1 'z' or 'Z' option"),
        (&["U"], "1 'U' option"),
        (
            &PROPAGATION,
            "1 '[r]shared', '[r]private', '[r]slave' or '[r]unbindable' option",
        ),
        (&["bind", "rbind"], "1 '[r]bind' option"),
        (&["noexec", "exec"], "1 'noexec' or 'exec' option"),
        (&["nodev", "dev"], "1 'nodev' or 'dev' option"),
        (&["nosuid", "suid"], "1 'nosuid' or 'suid' option"),
        (&["copy", "nocopy"], "1 'copy' or 'nocopy' option"),
        (&["no-dereference"], "1 'no-dereference' option"),
    ];
    let mut counts = [0usize; GROUPS.len()];
    let mut kept = Vec::new();
    for opt in options {
        if opt == "cached" || opt == "delegated" {
            continue;
        }
        if opt == "O"
            || opt.starts_with("idmap")
            || opt.starts_with("upperdir")
            || opt.starts_with("workdir")
        {
            return Err(ArgError::Unsupported(format!(
                "volume option {opt:?} is not supported yet"
            )));
        }
        let Some(group) = GROUPS
            .iter()
            .position(|(members, _)| members.contains(&opt.as_str()))
        else {
            return Err(invalid(flag, spec, format!("invalid option type {opt:?}")));
        };
        counts[group] += 1;
        if counts[group] > 1 {
            return Err(invalid(
                flag,
                spec,
                format!("can only specify {}", GROUPS[group].1),
            ));
        }
        kept.push(opt);
    }
    Ok(kept)
}

/// A container path: absolute, cleaned (`/data/` is `/data`).
pub(super) fn destination(flag: &'static str, spec: &str, dest: &str) -> Result<String, ArgError> {
    if dest.is_empty() {
        return Err(invalid(flag, spec, "container directory cannot be empty"));
    }
    if !dest.starts_with('/') {
        return Err(invalid(
            flag,
            spec,
            format!("invalid container path {dest:?}, must be an absolute path"),
        ));
    }
    Ok(clean_path(dest))
}

/// A host path, made absolute against the working directory and cleaned.
pub(super) fn host_path(
    flag: &'static str,
    spec: &str,
    path: &str,
    host: &dyn Host,
) -> Result<String, ArgError> {
    if path.starts_with('/') {
        return Ok(clean_path(path));
    }
    let cwd = host.current_dir().map_err(|e| {
        invalid(
            flag,
            spec,
            format!("cannot resolve the relative path {path:?}: {e}"),
        )
    })?;
    Ok(clean_path(&format!("{}/{path}", cwd.to_string_lossy())))
}

pub(super) fn volume_name(flag: &'static str, spec: &str, name: &str) -> Result<String, ArgError> {
    if is_valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(invalid(flag, spec, format!(
            "volume name {name:?} is invalid: names must match {NAME_RULE} (start a host path with / or ./)"
        )))
    }
}

/// Go's `path.Clean`: no `.`, no `..` past the root, no double or trailing slashes.
fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            s => parts.push(s),
        }
    }
    match (rooted, parts.join("/")) {
        (true, joined) => format!("/{joined}"),
        (false, joined) if joined.is_empty() => ".".to_string(),
        (false, joined) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_like_go() {
        assert_eq!(clean_path("/data/"), "/data");
        assert_eq!(clean_path("//a/./b/../c"), "/a/c");
        assert_eq!(clean_path("/.."), "/");
        assert_eq!(clean_path("a/../.."), "..");
    }
}
