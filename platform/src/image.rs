//! Getting a machine's OS image: from a registry (Berth's machine-image artifact: the
//! index, the manifest for this architecture's qcow2, its zstd disk and its kernel),
//! from a local build (`image.json` or its folder), or from an http(s) URL of an
//! `image.json`. Every byte is checked against its sha256 in a staging folder before
//! anything is moved into the machine's folder.

use berth_registry::artifact::{self, BuildInfo, DiskFormat};
use berth_registry::manifest::{AnyManifest, ImageManifest};
use berth_registry::reference::Reference;
use berth_registry::{Digest, Endpoint, RegistryClient};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reports bytes done of a total (0: unknown) for a named step.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("image {image}: {message}")]
    Bad { image: String, message: String },
    #[error("{what}: sha256 mismatch: expected {expected}, got {actual}")]
    Mismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Registry(#[from] berth_registry::RegistryError),
    #[error("fetching {url}: {source}")]
    Http { url: String, source: reqwest::Error },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// What was fetched: the OS disk and the kernel, in the machine's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub disk: PathBuf,
    pub kernel: PathBuf,
    /// The image's digest: the index's (registry) or the qcow2's sha256.
    pub digest: String,
}

/// Where a source string points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Registry(String),
    Local(PathBuf),
    Url(String),
}

impl Source {
    pub fn parse(s: &str) -> Source {
        if s.starts_with("http://") || s.starts_with("https://") {
            return Source::Url(s.to_string());
        }
        let path = Path::new(s);
        if path.exists() || s.starts_with('/') || s.starts_with("./") {
            return Source::Local(path.to_path_buf());
        }
        Source::Registry(s.strip_prefix("docker://").unwrap_or(s).to_string())
    }
}

/// A stream written into `dest` while its sha256 is taken; `unpack` decompresses zstd.
struct Sink {
    hash: Sha256,
    count: u64,
    out: Box<dyn Write>,
}

impl Sink {
    fn new(dest: &Path, unpack: bool) -> Result<Sink, ImageError> {
        let file = fs::File::create(dest).map_err(io(format!("creating {}", dest.display())))?;
        let out: Box<dyn Write> = if unpack {
            Box::new(zstd::stream::write::Decoder::new(file).map_err(io("starting zstd"))?)
        } else {
            Box::new(file)
        };
        Ok(Sink {
            hash: Sha256::new(),
            count: 0,
            out,
        })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), ImageError> {
        self.hash.update(chunk);
        self.count += chunk.len() as u64;
        self.out.write_all(chunk).map_err(io("writing the image"))
    }

    /// Flushes and checks the digest.
    fn finish(mut self, what: &str, expected: &str) -> Result<(), ImageError> {
        self.out.flush().map_err(io("writing the image"))?;
        let actual = hex::encode(self.hash.finalize());
        let expected = expected.trim_start_matches("sha256:");
        if actual != expected {
            return Err(ImageError::Mismatch {
                what: what.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
        Ok(())
    }
}

/// A staging folder beside the machines' folders, removed unless kept.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Fetches `source` into `dest` (the machine's data folder, made only on success) as
/// `os.qcow2` and `vmlinuz`.
pub fn fetch(
    source: &str,
    dest: &Path,
    insecure: bool,
    progress: Progress,
) -> Result<Fetched, ImageError> {
    let parent = dest.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    let staging = Staging(parent.join(format!(".staging-{}", std::process::id())));
    let _ = fs::remove_dir_all(&staging.0);
    fs::create_dir_all(&staging.0).map_err(io("creating the staging folder"))?;
    let (disk, kernel) = (staging.0.join("os.qcow2"), staging.0.join("vmlinuz"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("starting the I/O runtime"))?;
    let digest = match Source::parse(source) {
        Source::Registry(r) => {
            runtime.block_on(from_registry(&r, insecure, &disk, &kernel, progress))?
        }
        Source::Local(p) => from_local(&p, &disk, &kernel, progress)?,
        Source::Url(u) => runtime.block_on(from_url(&u, &disk, &kernel, progress))?,
    };
    fs::create_dir_all(dest).map_err(io(format!("creating {}", dest.display())))?;
    let placed = Fetched {
        disk: dest.join("os.qcow2"),
        kernel: dest.join("vmlinuz"),
        digest,
    };
    fs::rename(&disk, &placed.disk).map_err(io("placing the disk"))?;
    fs::rename(&kernel, &placed.kernel).map_err(io("placing the kernel"))?;
    Ok(placed)
}

async fn from_registry(
    reference: &str,
    insecure: bool,
    disk: &Path,
    kernel: &Path,
    progress: Progress<'_>,
) -> Result<String, ImageError> {
    let bad = |m: String| ImageError::Bad {
        image: reference.to_string(),
        message: m,
    };
    let r = Reference::parse(reference).map_err(|e| bad(e.to_string()))?;
    let creds = berth_registry::auth::AuthPaths::from_env()
        .ok()
        .and_then(|p| {
            berth_registry::auth::lookup(&r.registry, &r.repository, &p)
                .ok()
                .flatten()
        });
    let endpoint = Endpoint {
        host: r.registry.clone(),
        insecure,
        cert_dir: None,
    };
    let client = RegistryClient::connect(&endpoint, &r.repository, creds, false).await?;
    let tag = r
        .digest
        .clone()
        .or(r.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let (bytes, ctype, top) = client.get_manifest(&tag).await?;
    let arch = artifact::oci_arch(std::env::consts::ARCH);
    let manifest: ImageManifest = match AnyManifest::parse(&bytes, ctype.as_deref())
        .map_err(|e| bad(e.to_string()))?
        .0
    {
        AnyManifest::Index(index) => {
            let d = artifact::pick(&index, arch, DiskFormat::Qcow2)
                .ok_or_else(|| bad(format!("no qcow2 disk for {arch} in the index")))?;
            let (bytes, _, _) = client.get_manifest(d.digest.as_str()).await?;
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("reading its manifest: {e}")))?
        }
        AnyManifest::Image(m) => *m,
    };
    let (d, k) = artifact::layers(&manifest, DiskFormat::Qcow2);
    let d = d.ok_or_else(|| bad("the manifest has no qcow2 disk layer".into()))?;
    let k = k.ok_or_else(|| bad("the manifest has no kernel layer".into()))?;
    blob(
        &client, &k.digest, k.size, kernel, false, "kernel", progress,
    )
    .await?;
    blob(&client, &d.digest, d.size, disk, true, "disk", progress).await?;
    Ok(top.to_string())
}

async fn blob(
    client: &RegistryClient,
    digest: &Digest,
    size: u64,
    dest: &Path,
    unpack: bool,
    step: &str,
    progress: Progress<'_>,
) -> Result<(), ImageError> {
    let mut resp = client.get_blob(digest).await?;
    let mut sink = Sink::new(dest, unpack)?;
    while let Some(chunk) = resp.chunk().await.map_err(|source| ImageError::Http {
        url: digest.to_string(),
        source,
    })? {
        sink.write(&chunk)?;
        progress(step, sink.count, size);
    }
    sink.finish(&format!("{step} blob {digest}"), digest.as_str())
}

/// A local build: its folder or its `image.json`.
fn from_local(
    path: &Path,
    disk: &Path,
    kernel: &Path,
    progress: Progress,
) -> Result<String, ImageError> {
    let json = if path.is_dir() {
        path.join("image.json")
    } else {
        path.to_path_buf()
    };
    let dir = json.parent().unwrap_or(Path::new("."));
    let info = read_info(
        &fs::read(&json).map_err(io(format!("reading {}", json.display())))?,
        &json.display().to_string(),
    )?;
    copy_checked(
        &dir.join(&info.kernel.file),
        &info.kernel,
        kernel,
        "kernel",
        progress,
    )?;
    copy_checked(
        &dir.join(&info.qcow2.file),
        &info.qcow2,
        disk,
        "disk",
        progress,
    )?;
    Ok(format!("sha256:{}", info.qcow2.sha256))
}

fn read_info(bytes: &[u8], what: &str) -> Result<BuildInfo, ImageError> {
    let info: BuildInfo = serde_json::from_slice(bytes).map_err(|e| ImageError::Bad {
        image: what.to_string(),
        message: format!("not a Berth image description: {e}"),
    })?;
    for f in [&info.kernel, &info.qcow2] {
        if f.file.contains('/') || f.file.starts_with('.') {
            return Err(ImageError::Bad {
                image: what.to_string(),
                message: format!("file name {:?} leaves the image's folder", f.file),
            });
        }
    }
    Ok(info)
}

fn copy_checked(
    from: &Path,
    want: &artifact::BuildFile,
    to: &Path,
    step: &str,
    progress: Progress,
) -> Result<(), ImageError> {
    use std::io::Read;
    let mut input = fs::File::open(from).map_err(io(format!("opening {}", from.display())))?;
    let mut sink = Sink::new(to, false)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(io(format!("reading {}", from.display())))?;
        if n == 0 {
            break;
        }
        sink.write(&buf[..n])?;
        progress(step, sink.count, want.size);
    }
    sink.finish(&from.display().to_string(), &want.sha256)
}

async fn from_url(
    url: &str,
    disk: &Path,
    kernel: &Path,
    progress: Progress<'_>,
) -> Result<String, ImageError> {
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .build()
        .map_err(|source| ImageError::Http {
            url: url.to_string(),
            source,
        })?;
    let get = |u: String| {
        let http = http.clone();
        async move {
            let resp = http
                .get(&u)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|source| ImageError::Http {
                    url: u.clone(),
                    source,
                })?;
            Ok::<_, ImageError>((u, resp))
        }
    };
    let (_, resp) = get(url.to_string()).await?;
    let body = resp.bytes().await.map_err(|source| ImageError::Http {
        url: url.to_string(),
        source,
    })?;
    let info = read_info(&body, url)?;
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    for (f, dest, step) in [
        (&info.kernel, kernel, "kernel"),
        (&info.qcow2, disk, "disk"),
    ] {
        let (u, mut resp) = get(format!("{base}/{}", f.file)).await?;
        let mut sink = Sink::new(dest, false)?;
        while let Some(chunk) = resp.chunk().await.map_err(|source| ImageError::Http {
            url: u.clone(),
            source,
        })? {
            sink.write(&chunk)?;
            progress(step, sink.count, f.size);
        }
        sink.finish(&u, &f.sha256)?;
    }
    Ok(format!("sha256:{}", info.qcow2.sha256))
}

/// A qcow2 file's virtual size (bytes 24..32 of its header, big-endian).
pub fn qcow2_virtual_size(path: &Path) -> std::io::Result<u64> {
    use std::io::Read;
    let mut head = [0u8; 32];
    fs::File::open(path)?.read_exact(&mut head)?;
    if &head[..4] != b"QFI\xfb" {
        return Err(std::io::Error::other(format!(
            "{} is not a qcow2 file",
            path.display()
        )));
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&head[24..32]);
    Ok(u64::from_be_bytes(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_dir(tamper: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut qcow = b"QFI\xfb".to_vec();
        qcow.extend([0u8; 20]);
        qcow.extend(3u64.pow(20).to_be_bytes());
        fs::write(dir.path().join("disk.qcow2"), &qcow).expect("write");
        fs::write(dir.path().join("vmlinuz"), b"kernel").expect("write");
        let file = |name: &str, bytes: &[u8]| artifact::BuildFile {
            file: name.into(),
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        };
        let mut kernel = file("vmlinuz", b"kernel");
        if tamper {
            kernel.sha256 = hex::encode(Sha256::digest(b"other"));
        }
        let info = BuildInfo {
            key: "k".into(),
            arch: "x86_64".into(),
            suite: "bookworm".into(),
            kernel,
            qcow2: file("disk.qcow2", &qcow),
            raw: file("disk.raw", b""),
            tar: file("rootfs.tar", b""),
        };
        fs::write(
            dir.path().join("image.json"),
            serde_json::to_vec(&info).expect("json"),
        )
        .expect("write");
        dir
    }

    #[test]
    fn a_local_build_is_checked_then_placed() {
        let src = build_dir(false);
        let machines = tempfile::tempdir().expect("tempdir");
        let dest = machines.path().join("m1");
        let got = fetch(
            &src.path().display().to_string(),
            &dest,
            false,
            &|_, _, _| {},
        )
        .expect("fetch");
        assert_eq!(fs::read(&got.kernel).expect("kernel"), b"kernel");
        assert_eq!(qcow2_virtual_size(&got.disk).expect("size"), 3u64.pow(20));
        assert!(got.digest.starts_with("sha256:"));
        let left: Vec<_> = fs::read_dir(machines.path())
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("m1")],
            "no staging left"
        );
    }

    #[test]
    fn a_digest_mismatch_writes_nothing() {
        let src = build_dir(true);
        let machines = tempfile::tempdir().expect("tempdir");
        let dest = machines.path().join("m1");
        let err = fetch(
            &src.path().join("image.json").display().to_string(),
            &dest,
            false,
            &|_, _, _| {},
        )
        .expect_err("mismatch");
        assert!(err.to_string().contains("sha256 mismatch"), "{err}");
        assert_eq!(
            fs::read_dir(machines.path()).expect("ls").count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(
            Source::parse("https://h/x/image.json"),
            Source::Url("https://h/x/image.json".into())
        );
        assert_eq!(
            Source::parse("/tmp/build"),
            Source::Local("/tmp/build".into())
        );
        assert_eq!(
            Source::parse("docker://127.0.0.1:5000/b/os:1"),
            Source::Registry("127.0.0.1:5000/b/os:1".into())
        );
        assert_eq!(
            Source::parse("quay.io/b/os:1"),
            Source::Registry("quay.io/b/os:1".into())
        );
    }
}
