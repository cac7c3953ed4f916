//! Copy-up: filling a new volume with what the image has at the mount destination.
//! Every step is relative to a directory descriptor opened with `O_NOFOLLOW`, so a
//! symlink in the image (`/etc`, `../../`) is copied as a symlink and never followed
//! out of the source; the target side only ever creates new entries (`O_EXCL`,
//! `mkdirat`, `symlinkat`), so nothing is written through a symlink out of `_data`.
//! Modes, owners (as root) and times are kept; hard links become separate files.

use crate::store::fsutil::sync_dir;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Deeper trees are refused (each level holds two descriptors).
const MAX_DEPTH: usize = 256;
/// Where the copy is assembled before it replaces `_data`, inside the volume directory.
const STAGING: &str = ".copyup";

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

fn open_dir_at(dir: impl AsFd, name: &[u8]) -> Result<OwnedFd, Errno> {
    rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn entries(dir: &OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for entry in rfs::Dir::read_from(dir).map_err(errno_io)? {
        let entry = entry.map_err(errno_io)?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    Ok(names)
}

/// What happened to the volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOutcome {
    Copied,
    /// `_data` already had content: it is left as it is.
    NotEmpty,
    /// The source is missing or not a directory (a symlink included): nothing to copy.
    NoSource,
}

/// Copies the contents of `source` into the volume directory's `_data` when `_data` is
/// empty. With `take_owner`, `_data` also takes `source`'s own mode, owner and times.
/// On one filesystem the copy is assembled beside `_data` and renamed over it, so a
/// crash leaves `_data` empty or complete, never half-filled.
/// Where copy-up reads from: a directory resolved inside a container root.
pub struct Source<'a> {
    /// The mounted container root.
    pub root: &'a Path,
    /// The directory inside it (a container path such as `/var/lib/data`).
    pub path: &'a str,
}

impl Source<'_> {
    /// Opens the directory with every component resolved by the kernel inside the root,
    /// so an image's (or a container's) symlink to `/etc` or `../..` reads the
    /// container's own files, never the host's.
    fn open(&self) -> Result<OwnedFd, Errno> {
        let root = rfs::open(
            self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let rel = self.path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        crate::store::fsutil::openat2(
            &root,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            rfs::ResolveFlags::IN_ROOT,
        )
    }
}

pub fn populate(
    volume_dir: &Path,
    source: &Source<'_>,
    take_owner: bool,
) -> io::Result<CopyOutcome> {
    let vol = rfs::open(
        volume_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_io)?;
    let data = open_dir_at(&vol, b"_data").map_err(errno_io)?;
    if !entries(&data)?.is_empty() {
        return Ok(CopyOutcome::NotEmpty);
    }
    let src = match source.open() {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => return Ok(CopyOutcome::NoSource),
        Err(e) => return Err(errno_io(e)),
    };
    let chown = rustix::process::geteuid().is_root();
    let same_fs =
        rfs::fstat(&vol).map_err(errno_io)?.st_dev == rfs::fstat(&data).map_err(errno_io)?.st_dev;
    if same_fs {
        super::dirs::remove_tree(&volume_dir.join(STAGING));
        rfs::mkdirat(&vol, STAGING, Mode::from_bits_truncate(0o700)).map_err(errno_io)?;
        let tmp = open_dir_at(&vol, STAGING.as_bytes()).map_err(errno_io)?;
        let filled = copy_contents(&src, &tmp, chown, 0)
            .and_then(|()| copy_meta(if take_owner { &src } else { &data }, &tmp, chown));
        if let Err(e) = filled {
            super::dirs::remove_tree(&volume_dir.join(STAGING));
            return Err(e);
        }
        match rfs::renameat(&vol, STAGING, &vol, "_data") {
            Ok(()) => {
                sync_dir(volume_dir)?;
                return Ok(CopyOutcome::Copied);
            }
            Err(Errno::NOTEMPTY | Errno::EXIST) => {
                // Something was written into `_data` meanwhile: that content wins.
                super::dirs::remove_tree(&volume_dir.join(STAGING));
                return Ok(CopyOutcome::NotEmpty);
            }
            // `_data` is a mount point (a tmpfs volume): copy into it directly.
            Err(Errno::BUSY | Errno::XDEV) => super::dirs::remove_tree(&volume_dir.join(STAGING)),
            Err(e) => {
                super::dirs::remove_tree(&volume_dir.join(STAGING));
                return Err(errno_io(e));
            }
        }
    }
    copy_contents(&src, &data, chown, 0)?;
    if take_owner {
        copy_meta(&src, &data, chown)?;
    }
    Ok(CopyOutcome::Copied)
}

fn timespec<S: TryInto<i64>, N: TryInto<i64>>(sec: S, nsec: N) -> Timespec {
    // The field types differ between architectures; values always fit.
    Timespec {
        tv_sec: sec.try_into().unwrap_or(0),
        tv_nsec: nsec.try_into().unwrap_or(0),
    }
}

fn times(st: &rfs::Stat) -> Timestamps {
    Timestamps {
        last_access: timespec(st.st_atime, st.st_atime_nsec),
        last_modification: timespec(st.st_mtime, st.st_mtime_nsec),
    }
}

fn owner(st: &rfs::Stat) -> (Option<rfs::Uid>, Option<rfs::Gid>) {
    (
        Some(rfs::Uid::from_raw(st.st_uid)),
        Some(rfs::Gid::from_raw(st.st_gid)),
    )
}

/// Gives `to` the mode, owner (when `chown`) and times of `from`.
fn copy_meta(from: &OwnedFd, to: &OwnedFd, chown: bool) -> io::Result<()> {
    let st = rfs::fstat(from).map_err(errno_io)?;
    apply_meta(to, &st, chown)
}

fn apply_meta(fd: &OwnedFd, st: &rfs::Stat, chown: bool) -> io::Result<()> {
    if chown {
        let (u, g) = owner(st);
        rfs::fchown(fd, u, g).map_err(errno_io)?;
    }
    // After chown, which clears set-id bits.
    rfs::fchmod(fd, Mode::from_bits_truncate(st.st_mode & 0o7777)).map_err(errno_io)?;
    rfs::futimens(fd, &times(st)).map_err(errno_io)
}

/// Copies every entry of `src` into the empty directory `dst`.
fn copy_contents(src: &OwnedFd, dst: &OwnedFd, chown: bool, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "the directory tree is deeper than {MAX_DEPTH} levels"
        )));
    }
    for name in entries(src)? {
        let st = match rfs::statat(src, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(errno_io(e)),
        };
        let shown = || String::from_utf8_lossy(&name).into_owned();
        let with_name = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", shown()));
        copy_entry(src, dst, &name, &st, chown, depth).map_err(with_name)?;
    }
    Ok(())
}

fn copy_entry(
    src: &OwnedFd,
    dst: &OwnedFd,
    name: &[u8],
    st: &rfs::Stat,
    chown: bool,
    depth: usize,
) -> io::Result<()> {
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match rfs::FileType::from_raw_mode(st.st_mode) {
        rfs::FileType::Directory => {
            rfs::mkdirat(dst, name, Mode::from_bits_truncate(0o700)).map_err(errno_io)?;
            let s = open_dir_at(src, name).map_err(errno_io)?;
            let d = open_dir_at(dst, name).map_err(errno_io)?;
            copy_contents(&s, &d, chown, depth + 1)?;
            apply_meta(&d, st, chown)
        }
        rfs::FileType::RegularFile => {
            let s = rfs::openat(
                src,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno_io)?;
            // The entry may have been swapped since `statat`: copy only a regular file.
            let now = rfs::fstat(&s).map_err(errno_io)?;
            if rfs::FileType::from_raw_mode(now.st_mode) != rfs::FileType::RegularFile {
                return Err(io::Error::other("changed while being copied"));
            }
            let d = rfs::openat(
                dst,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map_err(errno_io)?;
            let (mut from, mut to) = (std::fs::File::from(s), std::fs::File::from(d));
            io::copy(&mut from, &mut to)?;
            apply_meta(&OwnedFd::from(to), &now, chown)
        }
        rfs::FileType::Symlink => {
            let target = rfs::readlinkat(src, name, Vec::new()).map_err(errno_io)?;
            rfs::symlinkat(target.as_c_str(), dst, name).map_err(errno_io)?;
            if chown {
                let (u, g) = owner(st);
                rfs::chownat(dst, name, u, g, AtFlags::SYMLINK_NOFOLLOW).map_err(errno_io)?;
            }
            rfs::utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW).map_err(errno_io)
        }
        ft
        @ (rfs::FileType::Fifo | rfs::FileType::CharacterDevice | rfs::FileType::BlockDevice) => {
            match rfs::mknodat(dst, name, ft, mode, st.st_rdev as _) {
                Ok(()) => {}
                Err(Errno::PERM) if ft != rfs::FileType::Fifo => {
                    tracing::warn!(entry = %String::from_utf8_lossy(name), "not copying a device node into a volume: not permitted");
                    return Ok(());
                }
                Err(e) => return Err(errno_io(e)),
            }
            // Opening a FIFO or device to set its metadata could block or act on it: by name.
            if chown {
                let (u, g) = owner(st);
                rfs::chownat(dst, name, u, g, AtFlags::SYMLINK_NOFOLLOW).map_err(errno_io)?;
            }
            rfs::chmodat(dst, name, mode, AtFlags::empty()).map_err(errno_io)?;
            rfs::utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW).map_err(errno_io)
        }
        _ => {
            tracing::debug!(entry = %String::from_utf8_lossy(name), "not copying a socket into a volume");
            Ok(())
        }
    }
}
