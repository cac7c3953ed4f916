//! The container's user, resolved inside its root filesystem as Podman does:
//! `--user name|uid[:group|gid]` and `--group-add` looked up in the image's
//! /etc/passwd and /etc/group, which are opened by the kernel relative to the root
//! (`openat2` with `RESOLVE_IN_ROOT`), so a symlink in an image cannot point Berth at a
//! host file.

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// passwd and group files larger than this are refused.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The process identity a container runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, in Podman's order, without duplicates.
    pub additional_gids: Vec<u32>,
    /// The home directory from passwd, `/` when the user has no entry.
    pub home: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UserNotFound(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    GroupNotFound(String),
    #[error("invalid user {0:?}: a uid or gid must be a number below 4294967295")]
    InvalidId(String),
    #[error("opening the container root {path}")]
    OpenRoot { path: PathBuf, source: io::Error },
    #[error("reading {file} in the container root {root}")]
    Read {
        root: PathBuf,
        file: &'static str,
        source: io::Error,
    },
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `spec` (`name`, `uid`, `uid:gid`, `name:group`…; `None` or empty: root)
/// and `group_add` (names or gids) against the passwd and group files in `rootfs`.
/// Numeric ids need no entry. As in Podman, an explicit user adds its primary gid to
/// the supplementary groups, and when no group is given, the groups listing the user
/// as a member are added too.
pub fn resolve_user(
    rootfs: &Path,
    spec: Option<&str>,
    group_add: &[String],
) -> Result<ResolvedUser, UserError> {
    let spec = spec.filter(|s| !s.is_empty());
    let root = rfs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UserError::OpenRoot {
        path: rootfs.to_path_buf(),
        source: io::Error::from(e),
    })?;
    let read = |file: &'static str| {
        read_in_root(&root, file).map_err(|source| UserError::Read {
            root: rootfs.to_path_buf(),
            file,
            source,
        })
    };
    let passwd = parse_passwd(&read("etc/passwd")?);
    let groups = parse_group(&read("etc/group")?);

    let (user_part, group_part) = match spec {
        Some(s) => match s.split_once(':') {
            Some((u, g)) => (u, Some(g).filter(|g| !g.is_empty())),
            None => (s, None),
        },
        None => ("", None),
    };
    let entry = if user_part.is_empty() {
        passwd.iter().find(|p| p.uid == 0)
    } else if let Some(uid) = numeric(user_part)? {
        passwd.iter().find(|p| p.uid == uid)
    } else {
        Some(
            passwd
                .iter()
                .find(|p| p.name == user_part)
                .ok_or_else(|| UserError::UserNotFound(user_part.to_string()))?,
        )
    };
    let uid = match (entry, numeric(user_part)?) {
        (_, Some(uid)) => uid,
        (Some(e), None) => e.uid,
        (None, None) => 0,
    };
    let mut gid = entry.map_or(0, |e| e.gid);
    if let Some(g) = group_part {
        gid = lookup_group(&groups, g)?;
    }

    let mut additional = Vec::new();
    let mut add = |g: u32| {
        if !additional.contains(&g) {
            additional.push(g);
        }
    };
    if spec.is_some() {
        add(gid);
    }
    for g in group_add {
        add(lookup_group(&groups, g)?);
    }
    if group_part.is_none() && !spec.is_some_and(|s| s.contains(':')) {
        if let Some(name) = passwd.iter().find(|p| p.uid == uid).map(|p| &p.name) {
            for g in groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m == name))
            {
                add(g.gid);
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: additional,
        home: entry
            .map(|e| e.home.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "/".to_string()),
    })
}

/// `Some(id)` for a number, `None` for a name; an error for a number out of range.
fn numeric(s: &str) -> Result<Option<u32>, UserError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(id) if id != u32::MAX => Ok(Some(id)),
        _ => Err(UserError::InvalidId(s.to_string())),
    }
}

fn lookup_group(groups: &[GroupEntry], g: &str) -> Result<u32, UserError> {
    if let Some(gid) = numeric(g)? {
        return Ok(gid);
    }
    groups
        .iter()
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| UserError::GroupNotFound(g.to_string()))
}

/// `--userns=keep-id`: the user the container runs as unless `--user` says otherwise
/// (`UID:GID`, the caller's own or the ones asked for), with an entry of the caller's
/// name and home added to the container's /etc/passwd and /etc/group when they have
/// none for those IDs, as Podman adds them. `None` for other modes.
pub fn keep_id_user(userns: &str, root: &Path) -> io::Result<Option<String>> {
    use super::idmap::{parse_mode, Caller, UsernsMode};
    let Ok(UsernsMode::KeepId { uid, gid }) = parse_mode(userns) else {
        return Ok(None);
    };
    let Some((host_uid, host_gid)) = Caller::detect().user else {
        return Ok(None);
    };
    let (uid, gid) = (uid.unwrap_or(host_uid), gid.unwrap_or(host_gid));
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let me = parse_passwd(&host_passwd)
        .into_iter()
        .find(|e| e.uid == host_uid);
    let name = me
        .as_ref()
        .map(|e| e.name.clone())
        .unwrap_or_else(|| format!("user{host_uid}"));
    let home = me
        .map(|e| e.home)
        .filter(|h| h.starts_with('/'))
        .unwrap_or_else(|| "/".into());
    let dir = rfs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let passwd = read_in_root(&dir, "etc/passwd")?;
    if !passwd.is_empty() && !parse_passwd(&passwd).iter().any(|e| e.uid == uid) {
        append_in_root(
            &dir,
            "etc/passwd",
            &passwd,
            &format!("{name}:*:{uid}:{gid}:{name}:{home}:/bin/sh\n"),
        )?;
    }
    let group = read_in_root(&dir, "etc/group")?;
    if !group.is_empty() && !parse_group(&group).iter().any(|g| g.gid == gid) {
        append_in_root(
            &dir,
            "etc/group",
            &group,
            &format!("{name}:x:{gid}:{name}\n"),
        )?;
    }
    Ok(Some(format!("{uid}:{gid}")))
}

/// Appends `line` to the regular file `path` inside `root` (on a line of its own after
/// `current`, its text).
fn append_in_root(
    root: &std::os::fd::OwnedFd,
    path: &str,
    current: &str,
    line: &str,
) -> io::Result<()> {
    use std::io::Write;
    let fd = crate::store::fsutil::openat2(
        root,
        path,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?;
    let st = rfs::fstat(&fd)?;
    if rfs::FileType::from_raw_mode(st.st_mode) != rfs::FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{path} is not a regular file"),
        ));
    }
    let mut text = String::new();
    if !current.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    std::fs::File::from(fd).write_all(text.as_bytes())
}

/// The file's text, resolved inside `root`; empty when it does not exist.
fn read_in_root(root: &std::os::fd::OwnedFd, path: &str) -> io::Result<String> {
    let fd = match crate::store::fsutil::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(String::new()),
        Err(e) => return Err(e.into()),
    };
    let st = rfs::fstat(&fd)?;
    if rfs::FileType::from_raw_mode(st.st_mode) != rfs::FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "larger than 16 MiB",
        ));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `name:password:uid:gid:gecos:home:shell` lines; malformed ones are skipped.
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            Some(PasswdEntry {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                uid: f.get(2)?.trim().parse().ok()?,
                gid: f.get(3)?.trim().parse().ok()?,
                home: f.get(5).map(|h| h.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member` lines; malformed ones are skipped.
fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            Some(GroupEntry {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                gid: f.get(2)?.trim().parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|m| !m.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        alice:x:1000:1000::/home/alice:/bin/sh\n\
        broken line\n";
    const GROUP: &str =
        "root:x:0:\nstaff:x:50:alice,bob\nalice:x:1000:\nnogroup:x:65534:\nwheel:x:10:root\n";

    fn rootfs(passwd: &str, group: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/passwd"), passwd).expect("passwd");
        std::fs::write(dir.path().join("etc/group"), group).expect("group");
        dir
    }

    fn resolve(spec: Option<&str>, group_add: &[&str]) -> Result<ResolvedUser, UserError> {
        let root = rootfs(PASSWD, GROUP);
        let adds: Vec<String> = group_add.iter().map(|s| s.to_string()).collect();
        resolve_user(root.path(), spec, &adds)
    }

    #[test]
    fn no_user_is_root_with_its_home_and_member_groups() {
        let u = resolve(None, &[]).expect("resolves");
        assert_eq!(
            u,
            ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![10],
                home: "/root".into()
            }
        );
    }

    #[test]
    fn named_user_gets_passwd_ids_primary_gid_and_member_groups() {
        let u = resolve(Some("alice"), &[]).expect("resolves");
        assert_eq!(
            u,
            ResolvedUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![1000, 50],
                home: "/home/alice".into()
            }
        );
    }

    #[test]
    fn numeric_uid_uses_its_passwd_entry_when_there_is_one() {
        let u = resolve(Some("1000"), &["staff"]).expect("resolves");
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/alice"));
        assert_eq!(u.additional_gids, vec![1000, 50]);
    }

    #[test]
    fn numeric_uid_without_entry_is_gid_0_and_home_slash() {
        let u = resolve(Some("4321"), &[]).expect("resolves");
        assert_eq!(
            u,
            ResolvedUser {
                uid: 4321,
                gid: 0,
                additional_gids: vec![0],
                home: "/".into()
            }
        );
    }

    #[test]
    fn explicit_group_skips_member_groups() {
        let u = resolve(Some("1000:50"), &["65534"]).expect("resolves");
        assert_eq!((u.uid, u.gid), (1000, 50));
        assert_eq!(u.additional_gids, vec![50, 65534]);
        let u = resolve(Some("alice:nogroup"), &[]).expect("resolves");
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 65534, vec![65534])
        );
    }

    #[test]
    fn missing_user_name_is_an_error_naming_it() {
        let err = resolve(Some("nobody2"), &[]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "unable to find user nobody2: no matching entries in passwd file"
        );
    }

    #[test]
    fn missing_group_name_is_an_error_naming_it() {
        let err = resolve(None, &["audio"]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "unable to find group audio: no matching entries in group file"
        );
        let err = resolve(Some("alice:audio"), &[]).expect_err("missing");
        assert!(matches!(err, UserError::GroupNotFound(g) if g == "audio"));
    }

    #[test]
    fn out_of_range_uid_is_refused() {
        let err = resolve(Some("4294967296"), &[]).expect_err("too big");
        assert!(matches!(err, UserError::InvalidId(_)), "{err}");
    }

    #[test]
    fn image_without_etc_passwd_still_takes_numeric_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let u = resolve_user(dir.path(), Some("123:456"), &[]).expect("resolves");
        assert_eq!(
            u,
            ResolvedUser {
                uid: 123,
                gid: 456,
                additional_gids: vec![456],
                home: "/".into()
            }
        );
        let err = resolve_user(dir.path(), Some("www-data"), &[]).expect_err("no passwd");
        assert!(matches!(err, UserError::UserNotFound(_)));
    }

    #[test]
    fn symlinked_etc_passwd_cannot_reach_a_host_file() {
        let outside = tempfile::tempdir().expect("tempdir");
        let host_passwd = outside.path().join("passwd");
        std::fs::write(&host_passwd, "evil:x:0:0::/evil:/bin/sh\n").expect("write");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("etc")).expect("mkdir");
        // Absolute and relative escapes: both resolve inside the root, where nothing is.
        std::os::unix::fs::symlink(&host_passwd, root.path().join("etc/passwd")).expect("symlink");
        let err = resolve_user(root.path(), Some("evil"), &[]).expect_err("not found");
        assert!(matches!(err, UserError::UserNotFound(_)), "{err}");
        std::fs::remove_file(root.path().join("etc/passwd")).expect("rm");
        let rel = format!("../../../../../../../..{}", host_passwd.display());
        std::os::unix::fs::symlink(rel, root.path().join("etc/passwd")).expect("symlink");
        let err = resolve_user(root.path(), Some("evil"), &[]).expect_err("not found");
        assert!(matches!(err, UserError::UserNotFound(_)), "{err}");
    }

    #[test]
    fn etc_passwd_that_is_not_a_file_is_an_error() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("etc/passwd")).expect("mkdir");
        let err = resolve_user(root.path(), None, &[]).expect_err("a directory");
        assert!(err.to_string().contains("etc/passwd"), "{err}");
    }
}
