//! `cp`: tar streams into and out of a container's root filesystem. Paths are resolved
//! by the kernel inside the container root (`RESOLVE_IN_ROOT`), so a symlink in the
//! container — to `/etc`, to `../../` — can never make a copy read or write a host path;
//! inside a copied tree symlinks are copied as symlinks, never followed. A symlink named
//! as the source itself is followed inside the root, and the copy takes the target's
//! name, as Podman does.

use super::ops::{lock, lookup};
use super::paths::ContainerPaths;
use super::rootfs;
use super::store::State;
use crate::engine::{LocalEngine, StoreContext};
use crate::layer::tar_reader::TarReader;
use crate::layer::tarsplit::SplitWriter;
use crate::layer::unpack::{self, UnpackOptions};
use berth_types::container::PathStat;
use berth_types::{EngineError, ErrorKind, Result};
use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn fail(msg: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, msg.to_string())
}

/// Runs `f` with the container's root: for a running container its own view
/// (`/proc/PID/root`, with its volumes and bind mounts), else the overlay mounted for
/// the occasion.
fn with_root<T>(ctx: &StoreContext, name: &str, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let row = lookup(ctx, name)?;
    let _lock = lock(ctx, &row.id)?;
    if row.state == State::Running && super::monitor::process_alive(row.pid, row.pid_start) {
        return f(&PathBuf::from(format!("/proc/{}/root", row.pid)));
    }
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let was_mounted = rootfs::is_mounted(&paths.merged());
    if !was_mounted {
        super::prepare::mount_root(ctx, &row)?;
    }
    let result = f(&paths.merged());
    if !was_mounted {
        let _ = rootfs::unmount_rootfs(&paths);
    }
    result
}

fn open_root(root: &Path) -> Result<OwnedFd> {
    rfs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail(format!("opening {}: {e}", root.display())))
}

/// The path inside the container, without a leading slash ("." for the root).
fn relative(path: &str) -> String {
    let p = path.trim_start_matches('/');
    if p.is_empty() {
        ".".into()
    } else {
        p.to_string()
    }
}

fn not_found(name: &str, path: &str) -> EngineError {
    EngineError::not_found(format!(
        "\"{path}\" could not be found on container {name}: no such file or directory"
    ))
}

/// Writes `path` of the container (a file or a whole tree) as a tar stream.
pub fn copy_from(engine: &LocalEngine, name: &str, path: &str, out: &mut dyn Write) -> Result<()> {
    let ctx = engine.ctx()?;
    with_root(ctx, name, |root| {
        let root_fd = open_root(root)?;
        let rel = relative(path);
        // RDONLY (not O_PATH): the handle is read and listed directly. NONBLOCK: a fifo
        // there must not hang the copy.
        let fd = crate::store::fsutil::openat2(
            &root_fd,
            rel.as_str(),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        )
        .map_err(|_| not_found(name, path))?;
        let base = final_name(&root_fd, path);
        let mut b = tar::Builder::new(out);
        let r = append_entry(&mut b, &fd, None, &base).and_then(|_| b.finish());
        r.map_err(|e| fail(format!("copying {path} from container {name}: {e}")))
    })
}

/// The name the copy gets, as Podman names it: a symlink as the last component is
/// followed (inside the container root) and the copy takes its target's name.
fn final_name(root_fd: &OwnedFd, path: &str) -> PathBuf {
    let mut p = lexical_clean(&Path::new("/").join(relative(path)));
    for _ in 0..40 {
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            break;
        };
        let Ok(dir) = crate::store::fsutil::openat2(
            root_fd,
            relative(&parent.to_string_lossy()).as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        ) else {
            break;
        };
        let Ok(target) = rfs::readlinkat(&dir, name, Vec::new()) else {
            break;
        };
        let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
        p = lexical_clean(&parent.join(target));
    }
    p.file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `path` without `.` and `..` components (`..` at the root stays at the root).
fn lexical_clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Appends the object `dir`/`name` (or `dir` itself when `name` is `None`) under the
/// archive path `at`, walking directories by handle: nothing is ever looked up by a path
/// a process in the container could change under us, and symlinks are stored, not followed.
fn append_entry<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &OwnedFd,
    name: Option<&[u8]>,
    at: &Path,
) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, FileType};
    let st = match name {
        Some(n) => rfs::statat(dir, n, AtFlags::SYMLINK_NOFOLLOW)?,
        None => rfs::fstat(dir)?,
    };
    let mut h = tar::Header::new_gnu();
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            let sub = match name {
                Some(n) => rfs::openat(
                    dir,
                    n,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?,
                None => rfs::openat(
                    dir,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?,
            };
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            b.append_data(&mut h, at, std::io::empty())?;
            if is_kernel_view(&sub) {
                // /proc, /sys and friends of a running container: the directory, empty.
                return Ok(());
            }
            let mut names: Vec<Vec<u8>> = rfs::Dir::read_from(&sub)?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_bytes().to_vec())
                .filter(|n| n != b"." && n != b"..")
                .collect();
            names.sort();
            for n in names {
                let child = at.join(std::ffi::OsStr::from_bytes(&n));
                append_entry(b, &sub, Some(&n), &child)?;
            }
            Ok(())
        }
        FileType::Symlink => {
            let target = rfs::readlinkat(dir, name.unwrap_or(b"."), Vec::new())?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, at, std::ffi::OsStr::from_bytes(target.as_bytes()))
        }
        FileType::RegularFile => {
            let f = match name {
                Some(n) => rfs::openat(
                    dir,
                    n,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?,
                None => dir.try_clone()?,
            };
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(st.st_size as u64);
            b.append_data(&mut h, at, std::fs::File::from(f))
        }
        // Devices, fifos and sockets are not copied (as Podman's cp).
        _ => Ok(()),
    }
}

/// Whether `dir` is on a filesystem the kernel makes up (proc, sysfs, cgroup, devpts,
/// mqueue…), whose files are views, not content to copy.
fn is_kernel_view(dir: &OwnedFd) -> bool {
    const MAGICS: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x7363_6673, // securityfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
    ];
    // f_type is i64 here, a narrower integer on other targets.
    #[allow(clippy::unnecessary_cast)]
    rfs::fstatfs(dir).is_ok_and(|st| MAGICS.contains(&(st.f_type as i64)))
}

/// Unpacks a tar stream into directory `path` of the container.
pub fn copy_to(engine: &LocalEngine, name: &str, path: &str, input: &mut dyn Read) -> Result<()> {
    let ctx = engine.ctx()?;
    with_root(ctx, name, |root| {
        let root_fd = open_root(root)?;
        let rel = relative(path);
        let dest = crate::store::fsutil::openat2(
            &root_fd,
            rel.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        )
        .map_err(|e| match e {
            rustix::io::Errno::NOTDIR => EngineError::invalid(format!(
                "destination \"{path}\" in container {name} is not a directory"
            )),
            _ => not_found(name, path),
        })?;
        let sink = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .map_err(fail)?;
        let split = SplitWriter::create(sink).map_err(fail)?;
        let mut reader = TarReader::new(input, split);
        let opts = UnpackOptions {
            whiteouts: false,
            ..UnpackOptions::for_current_user()
        };
        unpack::unpack(&mut reader, dest, opts)
            .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, &e))
    })
}

/// What `path` is in the container (resolved inside its root, a final symlink
/// followed), or `None` when it does not exist.
pub fn path_stat(engine: &LocalEngine, name: &str, path: &str) -> Result<Option<PathStat>> {
    let ctx = engine.ctx()?;
    with_root(ctx, name, |root| {
        let root_fd = open_root(root)?;
        let Ok(fd) = crate::store::fsutil::openat2(
            &root_fd,
            relative(path).as_str(),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        ) else {
            return Ok(None);
        };
        let st = rfs::fstat(&fd).map_err(|e| fail(format!("stat {path}: {e}")))?;
        Ok(Some(PathStat {
            name: final_name(&root_fd, path).to_string_lossy().into_owned(),
            size: st.st_size as u64,
            mode: st.st_mode,
            mtime_secs: st.st_mtime,
            mtime_nanos: st.st_mtime_nsec as u32,
        }))
    })
}

/// Whether `path` exists in the container (resolved inside its root), and is a directory.
pub fn path_kind(engine: &LocalEngine, name: &str, path: &str) -> Result<Option<bool>> {
    Ok(path_stat(engine, name, path)?
        .map(|st| rfs::FileType::from_raw_mode(st.mode) == rfs::FileType::Directory))
}
