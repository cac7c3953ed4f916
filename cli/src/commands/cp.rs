//! `berth cp`: between a container and the host (either way), or as a tar stream on
//! stdin/stdout with `-`. The engine speaks tar; this side packs and unpacks host files
//! (the tar crate refuses entries that would leave the destination).

use crate::container_cli::CpArgs;
use crate::exit;
use berth_types::Engine;
use std::path::{Path, PathBuf};

/// `CONTAINER:PATH` → (container, path); host paths (and `-`) → `None`.
fn split(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') || arg == "-" {
        return None;
    }
    arg.split_once(':')
        .filter(|(c, p)| !c.is_empty() && !p.is_empty())
}

pub fn run(engine: &dyn Engine, a: CpArgs) -> anyhow::Result<i32> {
    match (split(&a.source), split(&a.destination)) {
        (Some(_), Some(_)) => anyhow::bail!("copying between containers is not supported"),
        (None, None) => anyhow::bail!(
            "invalid arguments {} {}: one must be CONTAINER:PATH",
            a.source,
            a.destination
        ),
        (Some((ctr, path)), None) => from_container(engine, ctr, path, &a.destination),
        (None, Some((ctr, path))) => to_container(engine, &a.source, ctr, path),
    }
}

fn from_container(engine: &dyn Engine, ctr: &str, path: &str, dest: &str) -> anyhow::Result<i32> {
    if dest == "-" {
        let mut out = std::io::stdout().lock();
        engine
            .copy_from_container(ctr, path, &mut out)
            .map_err(exit::engine)?;
        return Ok(0);
    }
    let mut archive = Vec::new();
    engine
        .copy_from_container(ctr, path, &mut archive)
        .map_err(exit::engine)?;
    let dest = PathBuf::from(dest);
    let base = top_name(&archive)?;
    // Into an existing directory: keep the source's name. Otherwise: the new name is DEST.
    let (dir, rename_to) = if dest.is_dir() {
        (dest.clone(), None)
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if !parent.is_dir() {
            anyhow::bail!(
                "\"{}\" could not be found on the host: no such file or directory",
                parent.display()
            );
        }
        (parent, Some(dest.clone()))
    };
    let staging = tempfile::Builder::new()
        .prefix(".berth-cp-")
        .tempdir_in(&dir)?;
    tar::Archive::new(archive.as_slice()).unpack(staging.path())?;
    // The root of the container comes as ".": its entries are the staging directory's.
    let unpacked = if base == Path::new(".") {
        staging.path().to_path_buf()
    } else {
        staging.path().join(&base)
    };
    let target = rename_to.unwrap_or_else(|| dir.join(&base));
    if target.is_dir() && unpacked.is_dir() {
        // Merge into an existing directory, as cp -r does.
        for entry in std::fs::read_dir(&unpacked)? {
            let entry = entry?;
            std::fs::rename(entry.path(), target.join(entry.file_name()))?;
        }
    } else if unpacked == staging.path() {
        std::fs::rename(staging.keep(), &target)?;
    } else {
        std::fs::rename(&unpacked, &target)?;
    }
    Ok(0)
}

/// The name the engine gave the copy: the first component of the archive's first entry
/// (a followed symlink takes its target's name).
fn top_name(archive: &[u8]) -> anyhow::Result<PathBuf> {
    let mut tar = tar::Archive::new(archive);
    let mut entries = tar.entries()?;
    let first = entries
        .next()
        .ok_or_else(|| anyhow::anyhow!("the container sent an empty archive"))??;
    let path = first.path()?.into_owned();
    Ok(path
        .components()
        .next()
        .map(|c| PathBuf::from(c.as_os_str()))
        .unwrap_or_else(|| PathBuf::from(".")))
}

fn to_container(engine: &dyn Engine, src: &str, ctr: &str, path: &str) -> anyhow::Result<i32> {
    if src == "-" {
        let mut input = std::io::stdin().lock();
        engine
            .copy_to_container(ctr, path, &mut input)
            .map_err(exit::engine)?;
        return Ok(0);
    }
    let src_path = PathBuf::from(src);
    let meta = std::fs::symlink_metadata(&src_path).map_err(|_| {
        anyhow::anyhow!("\"{src}\" could not be found on the host: no such file or directory")
    })?;
    // A destination that is not an existing directory names the copy: send it under that
    // name into its parent directory.
    let (dir, name) = match engine
        .container_path_kind(ctr, path)
        .map_err(exit::engine)?
    {
        Some(true) => (
            path.to_string(),
            src_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".".into()),
        ),
        Some(false) | None => parent_and_name(path),
    };
    let mut archive = Vec::new();
    {
        let mut b = tar::Builder::new(&mut archive);
        b.follow_symlinks(false);
        if meta.is_dir() {
            b.append_dir_all(&name, &src_path)?;
        } else {
            b.append_path_with_name(&src_path, &name)?;
        }
        b.finish()?;
    }
    engine
        .copy_to_container(ctr, &dir, &mut archive.as_slice())
        .map_err(exit::engine)?;
    Ok(0)
}

fn parent_and_name(path: &str) -> (String, String) {
    let p = Path::new(path);
    let parent = p
        .parent()
        .map(|x| x.to_string_lossy().into_owned())
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| "/".into());
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, name)
}
