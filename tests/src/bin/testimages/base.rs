//! The everyday images: `busybox`, `multilayer`, `compressions`, `multiarch`,
//! their Docker-media-type twins `busybox-docker` and `multiarch-docker`, and
//! `udp-echo` (busybox and a UDP echo server).

use std::cell::OnceCell;
use std::process::Command;

use anyhow::{bail, Context, Result};
use berth_e2e::images::ImageInfo;
use serde_json::json;

use crate::layout::{Compression, Layout};
use crate::spec::{finish_image, finish_index, write_image, Built, Format, ImageSpec, PATH_ENV};
use crate::tarball::TarBuilder;

/// The host binary copied into the images (from Debian's busybox-static).
const BUSYBOX: &str = "/bin/busybox";
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\n";

/// State shared by the builders: the busybox layer tar, made once.
#[derive(Default)]
pub struct Ctx {
    busybox: OnceCell<Vec<u8>>,
}

impl Ctx {
    /// The uncompressed busybox root filesystem layer.
    pub fn busybox_tar(&self) -> Result<&[u8]> {
        if self.busybox.get().is_none() {
            let _ = self.busybox.set(busybox_rootfs()?);
        }
        self.busybox
            .get()
            .map(Vec::as_slice)
            .context("busybox layer")
    }
}

fn busybox_rootfs() -> Result<Vec<u8>> {
    let binary = std::fs::read(BUSYBOX)
        .with_context(|| format!("reading {BUSYBOX} (apt-get install busybox-static)"))?;
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .with_context(|| format!("running {BUSYBOX} --list"))?;
    if !out.status.success() {
        bail!(
            "{BUSYBOX} --list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let applets = String::from_utf8(out.stdout).context("busybox --list output")?;
    let mut tar = TarBuilder::new();
    for dir in ["bin", "dev", "etc", "home", "proc", "sys", "var"] {
        tar.dir(dir, 0o755);
    }
    tar.dir("root", 0o700).dir("tmp", 0o1777);
    tar.file("bin/busybox", 0o755, binary);
    for applet in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        tar.symlink(&format!("bin/{applet}"), "busybox");
    }
    tar.file("etc/passwd", 0o644, PASSWD)
        .file("etc/group", 0o644, GROUP);
    tar.finish_sorted()
}

fn busybox_spec(
    architecture: &'static str,
    variant: Option<&'static str>,
    labels: Option<serde_json::Value>,
) -> ImageSpec {
    let mut runtime = json!({ "Env": [PATH_ENV], "Cmd": ["sh"] });
    if let Some(labels) = labels {
        runtime["Labels"] = labels;
    }
    ImageSpec {
        architecture,
        variant,
        runtime,
        history: vec!["berth-testimages: busybox-static rootfs".into()],
    }
}

fn busybox_image(ctx: &Ctx, layout: &Layout, format: Format, spec: &ImageSpec) -> Result<Built> {
    let docker = format == Format::Docker;
    let layer = layout.put_layer(ctx.busybox_tar()?, Compression::Gzip(6), docker)?;
    write_image(layout, format, spec, vec![layer])
}

pub fn busybox(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let built = busybox_image(ctx, layout, Format::Oci, &busybox_spec("amd64", None, None))?;
    finish_image(layout, built, "latest")
}

/// Same layer bytes and config bytes as `busybox` (so the same image ID), but a
/// Docker schema2 manifest.
pub fn busybox_docker(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let built = busybox_image(
        ctx,
        layout,
        Format::Docker,
        &busybox_spec("amd64", None, None),
    )?;
    finish_image(layout, built, "latest")
}

pub fn multilayer(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let base = layout.put_layer(ctx.busybox_tar()?, Compression::Gzip(6), false)?;
    let mut add = TarBuilder::new();
    add.dir("app", 0o755)
        .dir("opt", 0o755)
        .dir("opt/dir", 0o755);
    add.file("app/hello.txt", 0o644, "hello from multilayer\n");
    add.file(
        "opt/gone.txt",
        0o644,
        "this file is removed by a whiteout\n",
    );
    add.file("opt/keep.txt", 0o644, "kept\n");
    add.file("opt/dir/x", 0o644, "x\n")
        .file("opt/dir/y", 0o644, "y\n");
    let add = layout.put_layer(&add.finish_sorted()?, Compression::Gzip(6), false)?;
    let mut remove = TarBuilder::new();
    remove.dir("opt", 0o755).dir("opt/dir", 0o755);
    remove.file("opt/.wh.gone.txt", 0o644, Vec::new());
    remove.file("opt/dir/.wh..wh..opq", 0o644, Vec::new());
    remove.file("opt/dir/z", 0o644, "z\n");
    let remove = layout.put_layer(&remove.finish_sorted()?, Compression::Gzip(6), false)?;
    let spec = ImageSpec {
        architecture: "amd64",
        variant: None,
        runtime: json!({
            "Env": [PATH_ENV, "FOO=bar"],
            "WorkingDir": "/app",
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": ["echo hello"],
            "User": "1000:1000",
            "Labels": { "org.example.name": "multilayer", "version": "1.0" },
            "ExposedPorts": { "8080/tcp": {} },
        }),
        history: vec![
            "berth-testimages: busybox-static rootfs".into(),
            "berth-testimages: add /app/hello.txt /opt/{gone.txt,keep.txt,dir/x,dir/y}".into(),
            "berth-testimages: whiteout /opt/gone.txt, opaque /opt/dir, add /opt/dir/z".into(),
        ],
    };
    let built = write_image(layout, Format::Oci, &spec, vec![base, add, remove])?;
    finish_image(layout, built, "latest")
}

/// The UDP echo server's source, compiled static by `rustc` (`$RUSTC` if set).
const UDP_ECHO_SOURCE: &str = include_str!("../../../images/udp-echo.rs");

fn udp_echo_binary() -> Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("a build folder for udp-echo")?;
    let source = dir.path().join("udp-echo.rs");
    std::fs::write(&source, UDP_ECHO_SOURCE).context("writing udp-echo.rs")?;
    let out = dir.path().join("udp-echo");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
        ])
        .args(["-C", "strip=symbols", "-o"])
        .arg(&out)
        .arg(&source)
        .status()
        .with_context(|| format!("running {rustc}"))?;
    if !status.success() {
        bail!("{rustc} could not build udp-echo: {status}");
    }
    std::fs::read(&out).context("reading the built udp-echo")
}

/// busybox, and `/bin/udp-echo` on top as the command (`udp-echo 5353`).
pub fn udp_echo(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let base = layout.put_layer(ctx.busybox_tar()?, Compression::Gzip(6), false)?;
    let mut add = TarBuilder::new();
    add.dir("bin", 0o755)
        .file("bin/udp-echo", 0o755, udp_echo_binary()?);
    let add = layout.put_layer(&add.finish_sorted()?, Compression::Gzip(6), false)?;
    let spec = ImageSpec {
        architecture: "amd64",
        variant: None,
        runtime: json!({
            "Env": [PATH_ENV],
            "Cmd": ["udp-echo", "5353"],
            "ExposedPorts": { "5353/udp": {} },
        }),
        history: vec![
            "berth-testimages: busybox-static rootfs".into(),
            "berth-testimages: add /bin/udp-echo".into(),
        ],
    };
    let built = write_image(layout, Format::Oci, &spec, vec![base, add])?;
    finish_image(layout, built, "latest")
}

pub fn compressions(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let mut layers = Vec::new();
    for (name, compression) in [
        ("gzip", Compression::Gzip(6)),
        ("zstd", Compression::Zstd),
        ("plain", Compression::None),
    ] {
        let mut tar = TarBuilder::new();
        tar.dir("c", 0o755)
            .file(&format!("c/{name}.txt"), 0o644, format!("{name}\n"));
        layers.push(layout.put_layer(&tar.finish_sorted()?, compression, false)?);
    }
    let spec = ImageSpec {
        architecture: "amd64",
        variant: None,
        runtime: json!({ "Env": [PATH_ENV] }),
        history: ["gzip", "zstd", "uncompressed"]
            .iter()
            .map(|c| format!("berth-testimages: {c} layer"))
            .collect(),
    };
    let built = write_image(layout, Format::Oci, &spec, layers)?;
    finish_image(layout, built, "latest")
}

fn multiarch_images(ctx: &Ctx, layout: &Layout, format: Format) -> Result<Vec<Built>> {
    let amd64 = busybox_spec("amd64", None, Some(json!({ "arch": "amd64" })));
    let arm64 = busybox_spec("arm64", Some("v8"), Some(json!({ "arch": "arm64" })));
    Ok(vec![
        busybox_image(ctx, layout, format, &amd64)?,
        busybox_image(ctx, layout, format, &arm64)?,
    ])
}

/// An OCI index of linux/amd64 and linux/arm64/v8 (both hold the amd64 busybox
/// layer; the configs differ in architecture and the `arch` label).
pub fn multiarch(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let images = multiarch_images(ctx, layout, Format::Oci)?;
    finish_index(layout, Format::Oci, images, "latest")
}

/// `multiarch` as a Docker manifest list of Docker schema2 manifests.
pub fn multiarch_docker(ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    let images = multiarch_images(ctx, layout, Format::Docker)?;
    finish_index(layout, Format::Docker, images, "latest")
}
