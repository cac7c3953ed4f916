//! Safe extraction of a layer tar into a layer directory. Every path is resolved by
//! the kernel inside the layer root (`openat2` with `RESOLVE_IN_ROOT`), so neither `..`
//! nor a symlink in the tar can make a write land outside it; entries naming `..` are
//! refused outright, absolute names are taken relative to the root (as containerd does).
//! AUFS-style whiteouts become overlay whiteouts (0:0 character devices, opaque xattrs).

use super::tar_reader::{Entry, EntryKind, TarError, TarReader};
use rustix::fs::{
    self as rfs, AtFlags, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags,
};
use rustix::io::Errno;
use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error(transparent)]
    Tar(#[from] TarError),
    #[error("refusing layer entry {0:?}: its path leaves the layer root")]
    Traversal(String),
    #[error("refusing layer entry {path:?}: hard link target {target:?} leaves the layer root")]
    LinkTraversal { path: String, target: String },
    #[error("layer entry {path:?}: hard link target {target:?} is not in the layer")]
    LinkTarget { path: String, target: String },
    #[error("layer entry {path:?}: cannot create a device node here")]
    Device { path: String, source: io::Error },
    #[error("layer entry {path:?}: uid/gid {id} out of range")]
    Owner { path: String, id: u64 },
    #[error("writing layer entry {path:?}")]
    Write { path: String, source: io::Error },
}

/// How the unpacker may change ownership and create special files.
#[derive(Debug, Clone, Copy)]
pub struct UnpackOptions {
    /// Apply the tar's uid/gid (root only).
    pub chown: bool,
    /// Skip device nodes that cannot be created (as Podman does in a user namespace).
    pub skip_devices_on_eperm: bool,
    /// Treat `.wh.` entries as whiteouts (layers); `cp` copies them as ordinary files.
    pub whiteouts: bool,
}

impl UnpackOptions {
    pub fn for_current_user() -> UnpackOptions {
        let root = rustix::process::geteuid().is_root();
        UnpackOptions {
            chown: root,
            skip_devices_on_eperm: !root,
            whiteouts: true,
        }
    }
}

struct Unpacker {
    root: OwnedFd,
    opts: UnpackOptions,
    parents: HashMap<Vec<u8>, OwnedFd>,
    dir_times: Vec<(Vec<u8>, i64)>,
}

/// Unpacks every entry of `reader` into the directory `root` (already open).
pub fn unpack<R: Read>(
    reader: &mut TarReader<R>,
    root: OwnedFd,
    opts: UnpackOptions,
) -> Result<(), UnpackError> {
    let mut u = Unpacker {
        root,
        opts,
        parents: HashMap::new(),
        dir_times: Vec::new(),
    };
    while let Some(entry) = reader.next_entry()? {
        u.entry(reader, &entry)?;
    }
    u.finish_dirs()
}

/// Splits a tar name into clean components: leading `/` and `.` dropped, `..` refused.
pub fn clean_components(raw: &[u8]) -> Result<Vec<&[u8]>, UnpackError> {
    let mut out = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                return Err(UnpackError::Traversal(
                    String::from_utf8_lossy(raw).into_owned(),
                ))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

fn in_root(root: &OwnedFd, path: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let path: &[u8] = if path.is_empty() { b"." } else { path };
    crate::store::fsutil::openat2(
        root,
        path,
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT,
    )
}

fn timestamps(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

impl Unpacker {
    fn entry<R: Read>(&mut self, reader: &mut TarReader<R>, e: &Entry) -> Result<(), UnpackError> {
        let shown = String::from_utf8_lossy(&e.path).into_owned();
        let comps = clean_components(&e.path)?;
        let Some((name, parent_comps)) = comps.split_last() else {
            return Ok(()); // the root directory itself
        };
        let name = name.to_vec();
        let parent_path = parent_comps.join(&b'/');
        let stored_path = comps.join(&b'/');
        let werr = |source: io::Error| UnpackError::Write {
            path: shown.clone(),
            source,
        };
        let parent = self.parent(&parent_path).map_err(werr)?;

        if self.opts.whiteouts && name == OPAQUE_MARKER {
            let dir = in_root(&self.root, &parent_path, OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(|e| werr(errno_io(e)))?;
            rfs::fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| werr(errno_io(e)))?;
            return Ok(());
        }
        if self.opts.whiteouts && name.starts_with(b".wh..wh.") {
            return Ok(()); // other AUFS metadata: nothing to create
        }
        if let Some(hidden) = name
            .strip_prefix(WHITEOUT_PREFIX)
            .filter(|_| self.opts.whiteouts)
        {
            self.remove_existing(&parent, hidden).map_err(werr)?;
            rfs::mknodat(
                &parent,
                hidden,
                rfs::FileType::CharacterDevice,
                Mode::empty(),
                rfs::makedev(0, 0),
            )
            .map_err(|e| werr(errno_io(e)))?;
            return Ok(());
        }

        match e.kind {
            EntryKind::Directory => {
                match rfs::statat(&parent, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st)
                        if rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory => {
                    }
                    Ok(_) => {
                        self.remove_existing(&parent, &name).map_err(werr)?;
                        self.mkdir(&parent, &name).map_err(werr)?;
                    }
                    Err(_) => self.mkdir(&parent, &name).map_err(werr)?,
                }
                let dir = rfs::openat(
                    &parent,
                    name.as_slice(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| werr(errno_io(e)))?;
                self.owner_and_mode(&dir, e, &shown)?;
                self.xattrs(&dir, e);
                self.dir_times.push((stored_path, e.mtime));
            }
            EntryKind::File => {
                self.remove_existing(&parent, &name).map_err(werr)?;
                let fd = rfs::openat(
                    &parent,
                    name.as_slice(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| werr(errno_io(e)))?;
                let file = std::fs::File::from(fd);
                let mut out = BufWriter::with_capacity(128 * 1024, &file);
                reader
                    .copy_content(&mut out, &stored_path)
                    .map_err(|err| match err {
                        TarError::Output(source) => UnpackError::Write {
                            path: shown.clone(),
                            source,
                        },
                        other => UnpackError::Tar(other),
                    })?;
                out.flush().map_err(werr)?;
                drop(out);
                self.owner_and_mode(&file, e, &shown)?;
                self.xattrs(&file, e);
                rfs::futimens(&file, &timestamps(e.mtime)).map_err(|e| werr(errno_io(e)))?;
            }
            EntryKind::Symlink => {
                self.remove_existing(&parent, &name).map_err(werr)?;
                self.parents.clear();
                rfs::symlinkat(e.link.as_slice(), &parent, name.as_slice())
                    .map_err(|e| werr(errno_io(e)))?;
                self.chown_at(&parent, &name, e, &shown)?;
                rfs::utimensat(
                    &parent,
                    name.as_slice(),
                    &timestamps(e.mtime),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|e| werr(errno_io(e)))?;
            }
            EntryKind::HardLink => {
                let target = String::from_utf8_lossy(&e.link).into_owned();
                let tcomps = clean_components(&e.link).map_err(|_| UnpackError::LinkTraversal {
                    path: shown.clone(),
                    target: target.clone(),
                })?;
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(UnpackError::LinkTarget {
                        path: shown,
                        target,
                    });
                };
                let tdir = in_root(
                    &self.root,
                    &tparent.join(&b'/'),
                    OFlags::PATH | OFlags::DIRECTORY,
                )
                .map_err(|_| UnpackError::LinkTarget {
                    path: shown.clone(),
                    target: target.clone(),
                })?;
                self.remove_existing(&parent, &name).map_err(werr)?;
                rfs::linkat(&tdir, *tname, &parent, name.as_slice(), AtFlags::empty()).map_err(
                    |err| {
                        if err == Errno::NOENT {
                            UnpackError::LinkTarget {
                                path: shown.clone(),
                                target: target.clone(),
                            }
                        } else {
                            werr(errno_io(err))
                        }
                    },
                )?;
            }
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => {
                self.remove_existing(&parent, &name).map_err(werr)?;
                let ft = match e.kind {
                    EntryKind::CharDevice => rfs::FileType::CharacterDevice,
                    EntryKind::BlockDevice => rfs::FileType::BlockDevice,
                    _ => rfs::FileType::Fifo,
                };
                let dev = rfs::makedev(e.dev_major, e.dev_minor);
                match rfs::mknodat(
                    &parent,
                    name.as_slice(),
                    ft,
                    Mode::from_bits_truncate(e.mode),
                    dev,
                ) {
                    Ok(()) => {}
                    Err(Errno::PERM)
                        if self.opts.skip_devices_on_eperm && e.kind != EntryKind::Fifo =>
                    {
                        tracing::warn!(
                            path = shown.as_str(),
                            "skipping device node: not permitted for this user"
                        );
                        return Ok(());
                    }
                    Err(err) => {
                        return Err(UnpackError::Device {
                            path: shown,
                            source: errno_io(err),
                        })
                    }
                }
                // mknod applies the umask; the layer's mode is what the image says.
                rfs::chmodat(
                    &parent,
                    name.as_slice(),
                    Mode::from_bits_truncate(e.mode),
                    AtFlags::empty(),
                )
                .map_err(|e| werr(errno_io(e)))?;
                self.chown_at(&parent, &name, e, &shown)?;
            }
        }
        Ok(())
    }

    /// The parent directory of an entry, created (0755) where missing, resolved in the root.
    fn parent(&mut self, path: &[u8]) -> io::Result<OwnedFd> {
        if let Some(fd) = self.parents.get(path) {
            return fd.try_clone();
        }
        let fd = self.mkdir_all(path, 0)?;
        self.parents.insert(path.to_vec(), fd.try_clone()?);
        Ok(fd)
    }

    /// Creates `path` and its missing parents inside the root. A dangling symlink on the
    /// way is followed as the kernel would inside the root, creating its target there.
    fn mkdir_all(&mut self, path: &[u8], depth: u32) -> io::Result<OwnedFd> {
        if depth > 40 {
            return Err(errno_io(Errno::LOOP));
        }
        match in_root(&self.root, path, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(errno_io(e)),
        }
        let comps: Vec<&[u8]> = path
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for i in 1..=comps.len() {
            match in_root(
                &self.root,
                &comps[..i].join(&b'/'),
                OFlags::PATH | OFlags::DIRECTORY,
            ) {
                Ok(_) => continue,
                Err(Errno::NOENT) => {}
                Err(e) => return Err(errno_io(e)),
            }
            let up_path = comps[..i - 1].join(&b'/');
            let up = in_root(&self.root, &up_path, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(errno_io)?;
            let name = comps[i - 1];
            match rfs::statat(&up, name, AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => self.mkdir(&up, name)?,
                Ok(st) if rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Symlink => {
                    let target = rfs::readlinkat(&up, name, Vec::new())
                        .map_err(errno_io)?
                        .into_bytes();
                    let mut joined = if target.starts_with(b"/") {
                        Vec::new()
                    } else {
                        up_path.clone()
                    };
                    joined.push(b'/');
                    joined.extend_from_slice(&target);
                    for rest in &comps[i..] {
                        joined.push(b'/');
                        joined.extend_from_slice(rest);
                    }
                    return self.mkdir_all(&normalize_in_root(&joined), depth + 1);
                }
                Ok(_) => return Err(errno_io(Errno::NOTDIR)),
                Err(e) => return Err(errno_io(e)),
            }
        }
        in_root(&self.root, path, OFlags::PATH | OFlags::DIRECTORY).map_err(errno_io)
    }

    fn mkdir(&mut self, parent: &OwnedFd, name: &[u8]) -> io::Result<()> {
        match rfs::mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a directory",
                    String::from_utf8_lossy(name)
                ),
            )),
            Err(e) => Err(errno_io(e)),
        }
    }

    /// Removes whatever the layer already has at `name` (a later entry replaces an earlier one).
    fn remove_existing(&mut self, parent: &OwnedFd, name: &[u8]) -> io::Result<()> {
        let st = match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(errno_io(e)),
        };
        self.parents.clear();
        if rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory {
            let dir = rfs::openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno_io)?;
            remove_dir_contents(&dir)?;
            rfs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(errno_io)
        } else {
            rfs::unlinkat(parent, name, AtFlags::empty()).map_err(errno_io)
        }
    }

    /// Applies the entry's owner to `name` itself (never following a symlink), as root only.
    fn chown_at(
        &self,
        parent: &OwnedFd,
        name: &[u8],
        e: &Entry,
        shown: &str,
    ) -> Result<(), UnpackError> {
        if !self.opts.chown {
            return Ok(());
        }
        let (uid, gid) = ids(e, shown)?;
        rfs::chownat(
            parent,
            name,
            Some(uid),
            Some(gid),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|err| UnpackError::Write {
            path: shown.to_string(),
            source: errno_io(err),
        })
    }

    fn owner_and_mode(&self, fd: &impl AsFd, e: &Entry, shown: &str) -> Result<(), UnpackError> {
        let werr = |err: Errno| UnpackError::Write {
            path: shown.to_string(),
            source: errno_io(err),
        };
        if self.opts.chown {
            let (uid, gid) = ids(e, shown)?;
            rfs::fchown(fd, Some(uid), Some(gid)).map_err(werr)?;
        }
        // After chown, which clears set-id bits.
        rfs::fchmod(fd, Mode::from_bits_truncate(e.mode)).map_err(werr)
    }

    fn xattrs(&self, fd: &impl AsFd, e: &Entry) {
        for (name, value) in &e.xattrs {
            // Overlay's own attributes in a layer could redirect lookups: never honour them.
            if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
                tracing::warn!(path = %String::from_utf8_lossy(&e.path), xattr = %name, "ignoring overlay xattr in layer");
                continue;
            }
            if let Err(err) = rfs::fsetxattr(fd, name.as_str(), value, XattrFlags::empty()) {
                tracing::debug!(path = %String::from_utf8_lossy(&e.path), xattr = %name, %err, "could not set xattr");
            }
        }
    }

    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        for (path, mtime) in self.dir_times.iter().rev() {
            let shown = String::from_utf8_lossy(path).into_owned();
            let werr = |err: Errno| UnpackError::Write {
                path: shown.clone(),
                source: errno_io(err),
            };
            let dir =
                in_root(&self.root, path, OFlags::RDONLY | OFlags::DIRECTORY).map_err(werr)?;
            rfs::futimens(&dir, &timestamps(*mtime)).map_err(werr)?;
        }
        Ok(())
    }
}

fn ids(e: &Entry, shown: &str) -> Result<(rfs::Uid, rfs::Gid), UnpackError> {
    let uid = u32::try_from(e.uid).ok().filter(|u| *u != u32::MAX);
    let gid = u32::try_from(e.gid).ok().filter(|g| *g != u32::MAX);
    match (uid, gid) {
        (Some(u), Some(g)) => Ok((rfs::Uid::from_raw(u), rfs::Gid::from_raw(g))),
        (None, _) => Err(UnpackError::Owner {
            path: shown.to_string(),
            id: e.uid,
        }),
        (_, None) => Err(UnpackError::Owner {
            path: shown.to_string(),
            id: e.gid,
        }),
    }
}

/// Resolves `.` and `..` lexically, never above the root (as `RESOLVE_IN_ROOT` does).
fn normalize_in_root(path: &[u8]) -> Vec<u8> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join(&b'/')
}

/// Empties a directory without following symlinks.
pub fn remove_dir_contents(dir: &OwnedFd) -> io::Result<()> {
    let mut names = Vec::new();
    for entry in rfs::Dir::read_from(dir).map_err(errno_io)? {
        let entry = entry.map_err(errno_io)?;
        let name = entry.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push((name, entry.file_type()));
        }
    }
    for (name, ft) in names {
        if ft == rfs::FileType::Directory {
            let sub = rfs::openat(
                dir,
                name.as_slice(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno_io)?;
            remove_dir_contents(&sub)?;
            rfs::unlinkat(dir, name.as_slice(), AtFlags::REMOVEDIR).map_err(errno_io)?;
        } else {
            rfs::unlinkat(dir, name.as_slice(), AtFlags::empty()).map_err(errno_io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_components_strips_absolute_and_refuses_dotdot() {
        assert_eq!(
            clean_components(b"/etc/passwd").expect("abs"),
            vec![&b"etc"[..], b"passwd"]
        );
        assert_eq!(
            clean_components(b"./a//b/").expect("dots"),
            vec![&b"a"[..], b"b"]
        );
        assert!(matches!(
            clean_components(b"../x"),
            Err(UnpackError::Traversal(_))
        ));
        assert!(matches!(
            clean_components(b"a/../../x"),
            Err(UnpackError::Traversal(_))
        ));
    }
}
