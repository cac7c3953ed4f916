//! Building the guest OS: mmdebstrap against the apt sources this host uses, the
//! recipe laid over it, then the outputs — an ext4 raw disk (Apple HV), the same as
//! qcow2 (QEMU), a rootfs tarball (WSL2) and the kernel — described by `image.json`,
//! each kept zstd-compressed for publishing (the raw disk and tarball only so).
//! A build is cached under its key (the recipe, the suite, the binaries' bytes):
//! asking again with nothing changed returns the finished one at once.

use crate::recipe::{self, Binaries};
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use berth_registry::artifact::{BuildFile as Output, BuildInfo as Built};

/// The build's cache key: everything that decides its result.
pub fn key(bins: &Binaries) -> anyhow::Result<String> {
    let mut h = Sha256::new();
    for part in [
        recipe::VERSION,
        recipe::SUITE,
        recipe::PACKAGES,
        recipe::AGENT_UNIT,
        recipe::MODPROBE,
        recipe::TMPFILES_TUN,
        recipe::JOURNALD,
        recipe::GENERATORS,
        recipe::SSHD,
        recipe::SSH_HOSTKEY,
        recipe::NETWORK,
        recipe::MASKED,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (file, to) in bins.placed() {
        h.update(to.as_bytes());
        h.update(fs::read(file).with_context(|| format!("reading {}", file.display()))?);
    }
    Ok(hex::encode(&h.finalize()[..12]))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let what = format!("{:?}", cmd.get_program());
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "{what} failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(())
}

pub fn describe(dir: &Path, file: &str) -> anyhow::Result<Output> {
    let path = dir.join(file);
    let mut f = fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Output {
        file: file.to_string(),
        sha256: hex::encode(h.finalize()),
        size,
    })
}

/// The bytes the tree at `root` takes, in MiB.
fn tree_mib(root: &Path) -> anyhow::Result<u64> {
    let out = Command::new("du")
        .args(["-s", "-m", "-x"])
        .arg(root)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .context("reading du's answer")
}

/// Unmounts everything mounted at or below `dir`, deepest first.
fn unmount_below(dir: &Path) -> anyhow::Result<()> {
    let Ok(dir) = dir.canonicalize() else {
        return Ok(());
    };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(&dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        run(Command::new("umount").arg("-l").arg(&p))
            .with_context(|| format!("unmounting {} left by an earlier build", p.display()))?;
    }
    Ok(())
}

fn bootstrap(root: &Path) -> anyhow::Result<()> {
    let include: Vec<&str> = recipe::lines(recipe::PACKAGES).collect();
    let mut c = Command::new("mmdebstrap");
    c.args([
        "--variant=minbase",
        "--mode=auto",
        "--format=directory",
        "--quiet",
    ])
    .arg(format!("--include={}", include.join(",")));
    for excluded in ["man", "doc", "locale", "info"] {
        c.arg(format!("--dpkgopt=path-exclude=/usr/share/{excluded}/*"));
    }
    c.arg(recipe::SUITE).arg(root);
    run(&mut c)
}

fn kernel_of(root: &Path) -> anyhow::Result<PathBuf> {
    let mut kernels: Vec<PathBuf> = fs::read_dir(root.join("boot"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    kernels.sort();
    kernels.pop().context("no kernel in the image's /boot")
}

/// `FILE.zst` beside `FILE`, made once (the form every output is published in).
pub fn compressed(dir: &Path, out: &Output) -> anyhow::Result<Output> {
    let name = format!("{}.zst", out.file);
    let path = dir.join(&name);
    if !path.exists() {
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut input = fs::File::open(dir.join(&out.file))?;
        let output = fs::File::create(&tmp)?;
        let mut enc = zstd::Encoder::new(output, 3)?;
        std::io::copy(&mut input, &mut enc)?;
        enc.finish()?.sync_all()?;
        fs::rename(&tmp, &path)?;
    }
    describe(dir, &name)
}

/// Removes the finished builds under `out` other than `key`'s: each takes most of a
/// gigabyte, and only the newest is asked for again.
fn prune_others(out: &Path, key: &str) {
    let Ok(entries) = fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let finished = !name.starts_with('.') && e.path().join("image.json").is_file();
        if finished && name != key {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Builds (or finds the cached) image under `out`; returns its folder and description.
pub fn build(out: &Path, bins: &Binaries, log: &dyn Fn(&str)) -> anyhow::Result<(PathBuf, Built)> {
    let key = key(bins)?;
    let dir = out.join(&key);
    if let Ok(text) = fs::read_to_string(dir.join("image.json")) {
        if let Ok(built) = serde_json::from_str::<Built>(&text) {
            log(&format!("cached build {key} in {}", dir.display()));
            return Ok((dir, built));
        }
    }
    let work = out.join(format!(".{key}.work"));
    // A build cut short may have left the chroot's /proc, /sys or /dev mounted there:
    // those go first, so that removing the tree can never reach the host's.
    unmount_below(&work)?;
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let root = work.join("rootfs");
    log(&format!(
        "bootstrapping Debian {} with {} packages",
        recipe::SUITE,
        recipe::lines(recipe::PACKAGES).count()
    ));
    bootstrap(&root)?;
    recipe::customize(&root, bins)?;
    fs::copy(kernel_of(&root)?, work.join("vmlinuz")).context("copying the kernel out")?;
    // At least 4 GiB (sparse: unused blocks cost nothing in qcow2 or compressed).
    let size_mib = ((tree_mib(&root)? * 3 / 2).div_ceil(256) * 256).max(4096);
    log(&format!("making the disk images ({size_mib} MiB)"));
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "berth-root", "-E", "root_owner=0:0", "-d"])
        .arg(&root)
        .arg(work.join("disk.raw"))
        .arg(format!("{size_mib}M")))?;
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(work.join("disk.raw"))
        .arg(work.join("disk.qcow2")))?;
    run(Command::new("tar")
        .args(["--numeric-owner", "--xattrs", "--acls", "-C"])
        .arg(&root)
        .arg("-cf")
        .arg(work.join("rootfs.tar"))
        .arg("."))?;
    fs::remove_dir_all(&root).context("removing the build tree")?;
    let built = Built {
        key: key.clone(),
        arch: std::env::consts::ARCH.to_string(),
        suite: recipe::SUITE.to_string(),
        kernel: describe(&work, "vmlinuz")?,
        qcow2: describe(&work, "disk.qcow2")?,
        raw: describe(&work, "disk.raw")?,
        tar: describe(&work, "rootfs.tar")?,
    };
    // Only their compressed forms are published; the raw disk and the tarball are not
    // read again, so they go (the qcow2 stays: a local build boots from it).
    for out in [&built.qcow2, &built.raw, &built.tar] {
        compressed(&work, out)?;
    }
    for file in [&built.raw.file, &built.tar.file] {
        fs::remove_file(work.join(file)).with_context(|| format!("removing {file}"))?;
    }
    fs::write(work.join("image.json"), serde_json::to_vec_pretty(&built)?)?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&work, &dir).with_context(|| format!("moving the build to {}", dir.display()))?;
    prune_others(out, &key);
    log(&format!("built {key} in {}", dir.display()));
    Ok((dir, built))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_binaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str, body: &str| {
            let p = dir.path().join(name);
            fs::write(&p, body).expect("write");
            p
        };
        let bins = Binaries {
            berth: file("b", "1"),
            agent: file("a", "2"),
            monitor: file("m", "3"),
            pause: file("p", "4"),
        };
        let k1 = key(&bins).expect("key");
        assert_eq!(k1, key(&bins).expect("key"));
        file("a", "changed");
        assert_ne!(k1, key(&bins).expect("key"));
        let d = describe(dir.path(), "b").expect("describe");
        assert_eq!(d.size, 1);
        assert_eq!(
            d.sha256,
            "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
        );
    }
}
