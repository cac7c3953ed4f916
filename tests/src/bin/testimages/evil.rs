//! Images whose single layer is hostile or unusual, for extraction-safety
//! tests: path traversal, hard links and symlinks out of the root, absolute
//! names, and a device node.

use anyhow::Result;
use berth_e2e::images::ImageInfo;
use serde_json::json;

use crate::base::Ctx;
use crate::layout::{Compression, Layout};
use crate::spec::{finish_image, write_image, Format, ImageSpec, PATH_ENV};
use crate::tarball::TarBuilder;

/// Marker file name the symlink attacks try to write outside the root.
const PWNED: &str = "pwned-by-berth-test";

fn single_layer(layout: &Layout, tar: TarBuilder, what: &str) -> Result<ImageInfo> {
    let layer = layout.put_layer(&tar.finish()?, Compression::Gzip(6), false)?;
    let spec = ImageSpec {
        architecture: "amd64",
        variant: None,
        runtime: json!({ "Env": [PATH_ENV] }),
        history: vec![format!("berth-testimages: {what}")],
    };
    let built = write_image(layout, Format::Oci, &spec, vec![layer])?;
    finish_image(layout, built, "latest")
}

/// An entry `../escaped.txt`.
pub fn traversal(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.file("../escaped.txt", 0o644, "escaped\n");
    single_layer(layout, tar, "entry ../escaped.txt")
}

/// A hard link `passwd-link` to `../../../etc/passwd`.
pub fn hardlink(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.hardlink("passwd-link", "../../../etc/passwd");
    single_layer(layout, tar, "hard link passwd-link -> ../../../etc/passwd")
}

/// An entry with the absolute name `/abs.txt` (must land inside the root).
pub fn absolute(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.file("/abs.txt", 0o644, "absolute\n");
    single_layer(layout, tar, "entry /abs.txt")
}

/// Symlink `etc2` -> `/etc`, then a file written through it.
pub fn symlink_etc(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.symlink("etc2", "/etc");
    tar.file(&format!("etc2/{PWNED}"), 0o644, "pwned\n");
    single_layer(
        layout,
        tar,
        "symlink etc2 -> /etc, file etc2/pwned-by-berth-test",
    )
}

/// Symlink `up` -> `../..`, then a file written through it.
pub fn symlink_up(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.symlink("up", "../..");
    tar.file(&format!("up/{PWNED}"), 0o644, "pwned\n");
    single_layer(
        layout,
        tar,
        "symlink up -> ../.., file up/pwned-by-berth-test",
    )
}

/// A character device `dev/null2`, 1:3 like /dev/null.
pub fn devnode(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut tar = TarBuilder::new();
    tar.dir("dev", 0o755);
    tar.char_dev("dev/null2", 0o666, 1, 3);
    single_layer(layout, tar, "character device dev/null2 1:3")
}
