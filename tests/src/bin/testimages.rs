//! `berth-testimages OUTDIR [NAME...]`: builds the end-to-end test images as
//! OCI image layouts under `OUTDIR/<name>/`, reproducibly (fixed mtimes, uid/gid
//! 0, sorted entries, seeded random data), so the same digests come out on every
//! run, and writes `OUTDIR/manifest.json` listing every image's digests.
//!
//! An image whose `OUTDIR/<name>/.done` holds this builder's version is kept as
//! it is; bump `VERSION` whenever an image's content changes.
//!
//! The modules live in `src/bin/testimages/` (a crate root resolves plain
//! `mod x;` next to itself, hence the `#[path]`s).

#[path = "testimages/base.rs"]
mod base;
#[path = "testimages/evil.rs"]
mod evil;
#[path = "testimages/large.rs"]
mod large;
#[path = "testimages/layout.rs"]
mod layout;
#[path = "testimages/rng.rs"]
mod rng;
#[path = "testimages/spec.rs"]
mod spec;
#[path = "testimages/tarball.rs"]
mod tarball;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use berth_e2e::images::{Catalogue, ImageInfo, CATALOGUE_FILE};

use base::Ctx;
use layout::{write_file, Layout};

/// Written to `.done` and `manifest.json`; a different value rebuilds everything.
const VERSION: &str = "berth-testimages 1";
/// The image's `manifest.json` record, kept inside its layout for cache hits.
const INFO_FILE: &str = "berth-image.json";
const DONE_FILE: &str = ".done";

type Builder = fn(&Ctx, &Layout) -> Result<ImageInfo>;

const IMAGES: &[(&str, Builder)] = &[
    ("busybox", base::busybox),
    ("busybox-docker", base::busybox_docker),
    ("multilayer", base::multilayer),
    ("compressions", base::compressions),
    ("multiarch", base::multiarch),
    ("multiarch-docker", base::multiarch_docker),
    ("large", large::large),
    ("evil-traversal", evil::traversal),
    ("evil-hardlink", evil::hardlink),
    ("evil-absolute", evil::absolute),
    ("evil-symlink-etc", evil::symlink_etc),
    ("evil-symlink-up", evil::symlink_up),
    ("devnode", evil::devnode),
    ("udp-echo", base::udp_echo),
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-testimages: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        bail!(
            "usage: berth-testimages OUTDIR [NAME...]   (images: {})",
            names().join(" ")
        );
    };
    let wanted: Vec<String> = args.collect();
    if let Some(bad) = wanted.iter().find(|w| !names().contains(&w.as_str())) {
        bail!("unknown image {bad:?}; images: {}", names().join(" "));
    }
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let ctx = Ctx::default();
    let mut built = Vec::new();
    let mut catalogue = Catalogue {
        version: VERSION.to_string(),
        images: Default::default(),
    };
    for (name, build) in IMAGES {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            let info = ensure(&ctx, &out, name, *build, &mut built)?;
            catalogue.images.insert(name.to_string(), info);
        } else if let Some(info) = cached(&out.join(name))? {
            catalogue.images.insert(name.to_string(), info);
        }
    }
    let mut text = serde_json::to_vec_pretty(&catalogue).context("serialising manifest.json")?;
    text.push(b'\n');
    let tmp = out.join(format!(".{CATALOGUE_FILE}.tmp"));
    write_file(&tmp, &text)?;
    let dest = out.join(CATALOGUE_FILE);
    fs::rename(&tmp, &dest).with_context(|| format!("writing {}", dest.display()))?;
    let built = if built.is_empty() {
        "none".to_string()
    } else {
        built.join(", ")
    };
    eprintln!(
        "berth-testimages: {} images in {}; built: {built}",
        catalogue.images.len(),
        out.display()
    );
    Ok(())
}

fn names() -> Vec<&'static str> {
    IMAGES.iter().map(|(n, _)| *n).collect()
}

/// The record of a finished image at `dir`, if it was made by this version.
fn cached(dir: &Path) -> Result<Option<ImageInfo>> {
    match fs::read_to_string(dir.join(DONE_FILE)) {
        Ok(done) if done.trim() == VERSION => {}
        _ => return Ok(None),
    }
    let path = dir.join(INFO_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let info =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(info))
}

/// Builds `name` unless a current build is cached; builds into a temporary
/// directory and renames it into place, so a half-built image is never used.
fn ensure(
    ctx: &Ctx,
    out: &Path,
    name: &str,
    build: Builder,
    built: &mut Vec<String>,
) -> Result<ImageInfo> {
    let dir = out.join(name);
    if let Some(info) = cached(&dir)? {
        return Ok(info);
    }
    let start = Instant::now();
    let tmp = out.join(format!(".{name}.tmp.{}", std::process::id()));
    remove_dir(&tmp)?;
    let layout = Layout::create(&tmp)?;
    let info = build(ctx, &layout).with_context(|| format!("building image {name}"))?;
    write_file(&tmp.join(INFO_FILE), &serde_json::to_vec_pretty(&info)?)?;
    write_file(&tmp.join(DONE_FILE), format!("{VERSION}\n").as_bytes())?;
    remove_dir(&dir)?;
    fs::rename(&tmp, &dir).with_context(|| format!("moving {} into place", dir.display()))?;
    built.push(format!("{name} {:.1}s", start.elapsed().as_secs_f64()));
    Ok(info)
}

fn remove_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
