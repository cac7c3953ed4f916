//! Pushing an image: every layer is offered to the registry by the digest it was pulled
//! with (skipped when the registry has it); layers the registry lacks are rebuilt from
//! their unpacked files (byte-identical to the original tar, checked against the diff
//! ID), gzip-compressed into staging, and uploaded. Then the config and the manifest.

use crate::engine::{lookup_err, storage, LocalEngine, StoreContext};
use crate::image::names;
use crate::layer::store::LayerStore;
use crate::store::db::{self, ImageRow};
use berth_registry::auth::Credentials;
use berth_registry::digest::{Digest, DigestCounter};
use berth_registry::manifest::{
    Descriptor, ImageManifest, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_CONFIG,
    OCI_LAYER_GZIP, OCI_MANIFEST,
};
use berth_registry::reference::{ParsedName, Reference};
use berth_registry::{Endpoint, RegistryClient, RegistryError};
use berth_types::image::{PushReport, PushRequest};
use berth_types::progress::{BlobKind, ProgressEvent, ProgressSink};
use berth_types::{EngineError, ErrorKind, Result};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub(crate) fn registry_err(e: RegistryError) -> EngineError {
    let kind = match &e {
        RegistryError::Unauthorized { .. }
        | RegistryError::BadCredentials { .. }
        | RegistryError::Denied { .. } => ErrorKind::Unauthorized,
        RegistryError::NotFound { .. } => ErrorKind::NotFound,
        _ => ErrorKind::Registry,
    };
    EngineError::from_chain(kind, &e)
}

/// The destination reference: the given one, or the name the source was found by.
fn destination(ctx: &StoreContext, req: &PushRequest) -> Result<(ImageRow, Reference)> {
    let conn = ctx.db();
    let found = names::find_name(&conn, &ctx.registries, &req.source).map_err(lookup_err)?;
    let id = match &found {
        Some((id, _)) => id.clone(),
        None => names::require_image(&conn, &ctx.registries, &req.source).map_err(lookup_err)?,
    };
    let row = db::get_image(&conn, &id)
        .map_err(storage)?
        .ok_or_else(|| EngineError::not_found(format!("{}: image not known", req.source)))?;
    let dest_text = match (&req.destination, &found) {
        (Some(d), _) => d.trim_start_matches("docker://").to_string(),
        (None, Some((_, stored))) if !stored.contains('@') => stored.clone(),
        (None, _) => {
            return Err(EngineError::invalid(format!(
                "{}: no destination given and the image has no name to push to",
                req.source
            )))
        }
    };
    let dest = match Reference::parse_short(&dest_text)
        .map_err(|e| EngineError::invalid(e.to_string()))?
    {
        ParsedName::Qualified(r) => r,
        ParsedName::Short {
            repository,
            tag,
            digest,
        } => Reference::docker_hub(&repository)
            .map(|mut r| {
                r.tag = tag;
                r.digest = digest;
                r
            })
            .map_err(|e| EngineError::invalid(e.to_string()))?,
    };
    Ok((row, dest.with_default_tag()))
}

pub fn push(
    engine: &LocalEngine,
    req: &PushRequest,
    progress: &dyn ProgressSink,
) -> Result<PushReport> {
    let ctx = engine.ctx()?;
    let (row, dest) = destination(ctx, req)?;
    let _span = tracing::info_span!("push", image = %row.id, destination = %dest).entered();
    let creds = match &req.registry.credentials {
        Some((u, p)) => Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }),
        None => ctx
            .credentials_for(
                &dest.registry,
                &dest.repository,
                req.registry.authfile.as_deref(),
            )
            .map_err(|e| EngineError::new(ErrorKind::InvalidArgument, e.to_string()))?,
    };
    let endpoint = Endpoint {
        host: dest.registry.clone(),
        insecure: req.registry.tls_verify == Some(false)
            || ctx.registries.is_insecure(&dest.registry),
        cert_dir: req.registry.cert_dir.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("starting I/O runtime: {e}")))?;
    let digest = runtime.block_on(push_async(ctx, &row, &dest, endpoint, creds, progress))?;
    if let Some(path) = &req.digest_file {
        crate::store::fsutil::write_atomic(path, digest.as_str().as_bytes(), 0o644).map_err(
            |e| {
                EngineError::new(
                    ErrorKind::Storage,
                    format!("writing {}: {e}", path.display()),
                )
            },
        )?;
    }
    Ok(PushReport {
        manifest_digest: digest.to_string(),
        destination: dest.to_string(),
    })
}

async fn push_async(
    ctx: &StoreContext,
    row: &ImageRow,
    dest: &Reference,
    endpoint: Endpoint,
    creds: Option<Credentials>,
    progress: &dyn ProgressSink,
) -> Result<Digest> {
    let client = RegistryClient::connect(&endpoint, &dest.repository, creds, true)
        .await
        .map_err(registry_err)?;
    let stored_manifest = read_stored_manifest(ctx, row);
    let docker = row.manifest_type == DOCKER_MANIFEST;
    let mut descriptors = Vec::new();
    let mut all_original = true;
    let here = format!("{}/{}", dest.registry, dest.repository);
    for diff_id in &row.layers {
        let known = db::layer_locations(&ctx.db(), diff_id).map_err(storage)?;
        let (desc, reused) = match reuse_blob(&client, dest, &known, progress).await? {
            Some(d) => (d, true),
            None => {
                let diff = Digest::parse(diff_id)
                    .map_err(|e| EngineError::new(ErrorKind::Storage, e.to_string()))?;
                let (staged, blob, size) = compress_layer(ctx, &diff)?;
                let path = staged.path();
                if client.blob_exists(&blob).await.map_err(registry_err)? {
                    progress.event(ProgressEvent::BlobSkipped {
                        kind: BlobKind::Layer,
                        digest: blob.to_string(),
                    });
                } else {
                    progress.event(ProgressEvent::BlobStarted {
                        kind: BlobKind::Layer,
                        digest: blob.to_string(),
                        total: Some(size),
                    });
                    upload_file(&client, &blob, &path).await?;
                    progress.event(ProgressEvent::BlobDone {
                        digest: blob.to_string(),
                    });
                }
                (
                    descriptor(
                        if docker {
                            DOCKER_LAYER_GZIP
                        } else {
                            OCI_LAYER_GZIP
                        },
                        blob,
                        size,
                    ),
                    false,
                )
            }
        };
        all_original &= reused && layer_matches_stored(ctx, row, descriptors.len(), &desc);
        let location = db::LayerLocation {
            blob_digest: desc.digest.to_string(),
            blob_size: desc.size,
            media_type: desc.media_type.clone(),
            location: here.clone(),
        };
        db::add_layer_location(&ctx.db(), diff_id, &location).map_err(storage)?;
        descriptors.push(desc);
    }
    let config_bytes = std::fs::read(ctx.paths.blob(&row.id)).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("reading config of image {}: {e}", row.id),
        )
    })?;
    let config_digest = Digest::of(&config_bytes);
    progress.event(ProgressEvent::BlobStarted {
        kind: BlobKind::Config,
        digest: config_digest.to_string(),
        total: Some(config_bytes.len() as u64),
    });
    if !client
        .blob_exists(&config_digest)
        .await
        .map_err(registry_err)?
    {
        let bytes = config_bytes.clone();
        client
            .upload_blob(&config_digest, move || bytes.clone().into())
            .await
            .map_err(registry_err)?;
    }
    progress.event(ProgressEvent::BlobDone {
        digest: config_digest.to_string(),
    });
    progress.event(ProgressEvent::WritingManifest);
    let (media_type, bytes) = match stored_manifest.filter(|_| all_original) {
        Some(original) => (row.manifest_type.clone(), original),
        None => {
            let m = ImageManifest {
                schema_version: 2,
                media_type: Some(
                    if docker {
                        DOCKER_MANIFEST
                    } else {
                        OCI_MANIFEST
                    }
                    .to_string(),
                ),
                config: descriptor(
                    if docker { DOCKER_CONFIG } else { OCI_CONFIG },
                    config_digest,
                    config_bytes.len() as u64,
                ),
                layers: descriptors,
                annotations: None,
            };
            let mt = m.media_type.clone().unwrap_or_default();
            (
                mt,
                serde_json::to_vec(&m)
                    .map_err(|e| EngineError::new(ErrorKind::Storage, e.to_string()))?,
            )
        }
    };
    let tag = dest.tag.clone().unwrap_or_else(|| "latest".into());
    client
        .put_manifest(&tag, &media_type, bytes)
        .await
        .map_err(registry_err)
}

/// Finds a compressed form of the layer the destination has, or can mount from another
/// repository of the same registry. `None` means it must be uploaded.
async fn reuse_blob(
    client: &RegistryClient,
    dest: &Reference,
    known: &[db::LayerLocation],
    progress: &dyn ProgressSink,
) -> Result<Option<Descriptor>> {
    let mut tried = std::collections::HashSet::new();
    for k in known {
        if !tried.insert(k.blob_digest.clone()) {
            continue;
        }
        let Ok(blob) = Digest::parse(&k.blob_digest) else {
            continue;
        };
        if client.blob_exists(&blob).await.map_err(registry_err)? {
            progress.event(ProgressEvent::BlobSkipped {
                kind: BlobKind::Layer,
                digest: blob.to_string(),
            });
            return Ok(Some(descriptor(&k.media_type, blob, k.blob_size)));
        }
    }
    let prefix = format!("{}/", dest.registry);
    for k in known {
        let Some(from) = k.location.strip_prefix(&prefix) else {
            continue;
        };
        let Ok(blob) = Digest::parse(&k.blob_digest) else {
            continue;
        };
        // Mounting is only a shortcut: a refused mount falls back to an upload.
        let mounted = from != dest.repository
            && match client.mount_blob(&blob, from).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(blob = %blob, from, error = %e, "cross-repository mount refused");
                    false
                }
            };
        if mounted {
            progress.event(ProgressEvent::BlobSkipped {
                kind: BlobKind::Layer,
                digest: blob.to_string(),
            });
            return Ok(Some(descriptor(&k.media_type, blob, k.blob_size)));
        }
    }
    Ok(None)
}

/// Whether the stored manifest lists `desc` at `position` (so it can be pushed unchanged).
fn layer_matches_stored(
    ctx: &StoreContext,
    row: &ImageRow,
    position: usize,
    desc: &Descriptor,
) -> bool {
    read_stored_manifest(ctx, row)
        .and_then(|b| serde_json::from_slice::<ImageManifest>(&b).ok())
        .and_then(|m| m.layers.get(position).cloned())
        .is_some_and(|l| l.digest == desc.digest && l.media_type == desc.media_type)
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        platform: None,
        annotations: None,
        urls: None,
    }
}

/// The manifest the image was pulled with, if it describes this very image.
fn read_stored_manifest(ctx: &StoreContext, row: &ImageRow) -> Option<Vec<u8>> {
    let d = Digest::parse(&row.manifest_digest).ok()?;
    let bytes = std::fs::read(ctx.paths.blob(d.hex())).ok()?;
    (Digest::of(&bytes) == d).then_some(bytes)
}

/// Rebuilds a layer's tar, checks it against the diff ID, and gzips it into staging.
pub fn compress_layer(ctx: &StoreContext, diff_id: &Digest) -> Result<(StagedBlob, Digest, u64)> {
    let fail = |what: &str, e: io::Error| {
        EngineError::new(ErrorKind::Storage, format!("layer {diff_id}: {what}: {e}"))
    };
    let mut tar = LayerStore::new(&ctx.paths)
        .open_tar(diff_id)
        .map_err(|e| fail("opening", e))?;
    // The compressed copy lives in a locked staging directory: no other process sweeps it.
    let guard = StagedBlob(
        LayerStore::new(&ctx.paths)
            .new_staging_dir()
            .map_err(|e| fail("creating staging directory", e))?,
    );
    let path = guard.path();
    let file = std::fs::File::create(&path).map_err(|e| fail("creating staging file", e))?;
    let mut hashing_out = HashingWriter {
        inner: io::BufWriter::new(file),
        counter: DigestCounter::new(),
    };
    let mut diff = DigestCounter::new();
    {
        let mut gz = flate2::write::GzEncoder::new(&mut hashing_out, flate2::Compression::fast());
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = tar.read(&mut buf).map_err(|e| fail("reading", e))?;
            if n == 0 {
                break;
            }
            diff.update(&buf[..n]);
            gz.write_all(&buf[..n])
                .map_err(|e| fail("compressing", e))?;
        }
        gz.finish().map_err(|e| fail("compressing", e))?;
    }
    let (rebuilt, _) = diff.finish();
    if &rebuilt != diff_id {
        return Err(EngineError::new(
            ErrorKind::Corrupt,
            format!("layer {diff_id}: its files changed since it was stored (rebuilt tar has digest {rebuilt})"),
        ));
    }
    hashing_out.inner.flush().map_err(|e| fail("writing", e))?;
    let (blob, size) = hashing_out.counter.finish();
    Ok((guard, blob, size))
}

/// A compressed layer waiting to be uploaded; removed when dropped.
pub struct StagedBlob(crate::layer::staging::StagingDir);

impl StagedBlob {
    pub fn path(&self) -> PathBuf {
        self.0.path().join("blob")
    }
}

struct HashingWriter<W: Write> {
    inner: W,
    counter: DigestCounter,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.counter.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

async fn upload_file(client: &RegistryClient, digest: &Digest, path: &Path) -> Result<()> {
    let data = tokio::fs::read(path).await.map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("reading {}: {e}", path.display()),
        )
    })?;
    let data = bytes::Bytes::from(data);
    client
        .upload_blob(digest, move || data.clone().into())
        .await
        .map_err(registry_err)
}
