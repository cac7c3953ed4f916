//! Pulling an image: resolve the name to registry endpoints (registries.conf: short
//! names, aliases, mirrors, blocked, insecure), fetch the manifest (selecting a platform
//! from an index), the config, and the layers in parallel. Each layer streams straight
//! from the socket through sha256 and the decompressor into the unpacker; the image
//! becomes visible in one database transaction once every layer is verified.

use crate::engine::StoreContext;
use crate::image::gc;
use crate::layer::store::{ExpectedLayer, LayerError, LayerStore};
use crate::store::db;
use crate::store::fsutil::write_atomic;
use crate::store::lock::FileLock;
use berth_registry::auth::Credentials;
use berth_registry::digest::Digest;
use berth_registry::manifest::{
    AnyManifest, Compression, ImageConfig, ImageManifest, ManifestError, WantedPlatform,
};
use berth_registry::reference::{ParsedName, Reference};
use berth_registry::{Endpoint, RegistryClient, RegistryError};
use berth_types::image::{PullReport, PullRequest, RegistryOptions};
use berth_types::progress::{BlobKind, ProgressEvent, ProgressSink};
use std::io::{self, Read};
use std::sync::Arc;

/// Layers fetched at once.
const PARALLEL_LAYERS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{reference}")]
    Manifest {
        reference: String,
        source: ManifestError,
    },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("{reference}: image config lists {diff_ids} layers but the manifest has {layers}")]
    LayerCount {
        reference: String,
        diff_ids: usize,
        layers: usize,
    },
    #[error("{0}")]
    Config(String),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Interrupted(String),
}

impl From<rusqlite::Error> for PullError {
    fn from(e: rusqlite::Error) -> Self {
        PullError::Store(e.to_string())
    }
}

/// What a successful pull from one source produced.
pub struct Pulled {
    pub id: String,
    pub name: String,
}

/// The references to try for a user's name, in order.
pub fn candidates(ctx: &StoreContext, name: &str) -> Result<Vec<Reference>, PullError> {
    let parsed = Reference::parse_short(name).map_err(|e| PullError::Config(e.to_string()))?;
    let refs = match &parsed {
        ParsedName::Qualified(r) => vec![r.clone()],
        ParsedName::Short { .. } => {
            let refs = ctx
                .registries
                .resolve_short_name(&parsed)
                .map_err(|e| PullError::Config(e.to_string()))?;
            if refs.is_empty() {
                return Err(PullError::Config(format!(
                    "short-name {name:?} did not resolve to an alias and no unqualified-search registries are defined in registries.conf"
                )));
            }
            refs
        }
    };
    Ok(refs.into_iter().map(Reference::with_default_tag).collect())
}

/// Pulls `req`, trying each candidate and each of its sources (mirrors first).
pub fn pull(
    ctx: &StoreContext,
    req: &PullRequest,
    progress: &dyn ProgressSink,
) -> Result<PullReport, PullError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| PullError::Store(format!("starting I/O runtime: {e}")))?;
    let mut errors: Vec<String> = Vec::new();
    let mut last: Option<PullError> = None;
    for candidate in candidates(ctx, &req.reference)? {
        let sources = ctx
            .registries
            .pull_sources(&candidate)
            .map_err(|e| PullError::Config(e.to_string()))?;
        for source in sources {
            progress.event(ProgressEvent::Trying {
                reference: source.reference.to_string(),
            });
            let insecure = source.insecure || req.registry.tls_verify == Some(false);
            match runtime.block_on(pull_one(
                ctx,
                &source.reference,
                &candidate,
                insecure,
                req,
                progress,
            )) {
                Ok(p) => {
                    return Ok(PullReport {
                        id: p.id,
                        name: p.name,
                    })
                }
                Err(e) => {
                    tracing::debug!(source = %source.reference, error = %e, "pull source failed");
                    errors.push(format!("{}: {}", source.reference, chain(&e)));
                    last = Some(e);
                }
            }
        }
    }
    match (last, errors.len()) {
        (Some(e), 1) => Err(e),
        (Some(e), _) => Err(match e {
            PullError::Registry(RegistryError::NotFound { host, .. }) => {
                PullError::Registry(RegistryError::NotFound {
                    host,
                    what: format!("{} (tried: {})", req.reference, errors.join("; ")),
                })
            }
            other => PullError::Config(format!("{}; tried: {}", chain(&other), errors.join("; "))),
        }),
        (None, _) => Err(PullError::Config(format!(
            "{}: no source to pull from",
            req.reference
        ))),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    berth_types::EngineError::from_chain(berth_types::ErrorKind::Registry, e).message
}

fn credentials(
    ctx: &StoreContext,
    opts: &RegistryOptions,
    r: &Reference,
) -> Result<Option<Credentials>, PullError> {
    if let Some((u, p)) = &opts.credentials {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    ctx.credentials_for(&r.registry, &r.repository, opts.authfile.as_deref())
        .map_err(|e| PullError::Config(chain(e.as_ref())))
}

/// Pulls from one source; `name` is what the image is stored as (the mirror's rewrite is not).
async fn pull_one(
    ctx: &StoreContext,
    source: &Reference,
    name: &Reference,
    insecure: bool,
    req: &PullRequest,
    progress: &dyn ProgressSink,
) -> Result<Pulled, PullError> {
    let endpoint = Endpoint {
        host: source.registry.clone(),
        insecure: insecure || ctx.registries.is_insecure(&source.registry),
        cert_dir: req.registry.cert_dir.clone(),
    };
    let creds = credentials(ctx, &req.registry, source)?;
    let client = RegistryClient::connect(&endpoint, &source.repository, creds, false).await?;
    let wanted = WantedPlatform::new(
        req.platform.os.as_deref(),
        req.platform.architecture.as_deref(),
        req.platform.variant.as_deref(),
    );
    let reference = source
        .digest
        .clone()
        .or_else(|| source.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let (bytes, ctype, top_digest) = client.get_manifest(&reference).await?;
    let what = source.to_string();
    let merr = |e| PullError::Manifest {
        reference: what.clone(),
        source: e,
    };
    let (parsed, mut media_type) = AnyManifest::parse(&bytes, ctype.as_deref()).map_err(merr)?;
    let (manifest, manifest_bytes, manifest_digest) = match parsed {
        AnyManifest::Image(m) => (m, bytes, top_digest.clone()),
        AnyManifest::Index(idx) => {
            let desc = idx.select(&wanted).map_err(merr)?;
            let (b, ct, d) = client.get_manifest(desc.digest.as_str()).await?;
            match AnyManifest::parse(&b, ct.as_deref()).map_err(merr)? {
                (AnyManifest::Image(m), mt) => {
                    media_type = mt;
                    (m, b, d)
                }
                (AnyManifest::Index(_), _) => {
                    return Err(PullError::Config(format!(
                        "{what}: nested image indexes are not supported"
                    )))
                }
            }
        }
    };
    let config_bytes = client.get_small_blob(&manifest.config.digest).await?;
    let config = ImageConfig::parse(&config_bytes).map_err(merr)?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(PullError::LayerCount {
            reference: what,
            diff_ids: config.rootfs.diff_ids.len(),
            layers: manifest.layers.len(),
        });
    }
    if !config.architecture.is_empty()
        && berth_registry::manifest::normalize_arch(&config.architecture) != wanted.architecture
    {
        tracing::warn!(image = %what, arch = %config.architecture, wanted = %wanted, "image platform does not match the requested platform");
    }
    let id = manifest.config.digest.hex().to_string();

    // Layers may be collected only while no pull holds this lock.
    let gc_guard = FileLock::shared(&ctx.paths.locks().join("gc.lock"))
        .map_err(|e| PullError::Store(e.to_string()))?;
    LayerStore::new(&ctx.paths).sweep_staging();
    if let Err(e) = fetch_layers(ctx, &client, &manifest, &config, progress).await {
        // Leave the store as it was: layers fetched for this image alone are freed again.
        drop(gc_guard);
        gc::collect_if_idle(ctx);
        return Err(e);
    }

    progress.event(ProgressEvent::BlobStarted {
        kind: BlobKind::Config,
        digest: manifest.config.digest.to_string(),
        total: Some(manifest.config.size),
    });
    progress.event(ProgressEvent::BlobDone {
        digest: manifest.config.digest.to_string(),
    });
    progress.event(ProgressEvent::WritingManifest);
    write_blob(ctx, &manifest.config.digest, &config_bytes)?;
    write_blob(ctx, &manifest_digest, &manifest_bytes)?;
    // Pulled by digest: the image is named `repo@digest` (no tag), as Podman names it.
    let stored_name = name.clone().with_default_tag();
    let stored = match &stored_name.digest {
        Some(d) => format!("{}@{}", stored_name.name(), d),
        None => stored_name.to_string(),
    };
    let mut repo_digests = vec![format!("{}@{}", name.name(), manifest_digest)];
    if top_digest != manifest_digest {
        repo_digests.push(format!("{}@{}", name.name(), top_digest));
    }
    let record = gc::image_record(
        &id,
        &top_digest,
        &manifest_digest,
        &media_type,
        &config,
        ctx,
        repo_digests,
    )?;
    let names = vec![stored.clone()];
    let mut conn = ctx.db();
    db::commit_image(&mut conn, &record, &names, gc::now_nanos())?;
    drop(gc_guard);
    Ok(Pulled { id, name: stored })
}

fn write_blob(ctx: &StoreContext, digest: &Digest, bytes: &[u8]) -> Result<(), PullError> {
    let path = ctx.paths.blob(digest.hex());
    if path.exists() {
        return Ok(());
    }
    write_atomic(&path, bytes, 0o644)
        .map_err(|e| PullError::Store(format!("writing {}: {e}", path.display())))
}

async fn fetch_layers(
    ctx: &StoreContext,
    client: &RegistryClient,
    manifest: &ImageManifest,
    config: &ImageConfig,
    progress: &dyn ProgressSink,
) -> Result<(), PullError> {
    use futures_util::stream::{self, StreamExt};
    let jobs = manifest
        .layers
        .iter()
        .zip(config.rootfs.diff_ids.iter())
        .map(|(desc, diff_id)| async move {
            let expected = ExpectedLayer {
                blob_digest: desc.digest.clone(),
                blob_size: Some(desc.size),
                compression: Compression::from_media_type(&desc.media_type)
                    .map_err(|e| PullError::Config(format!("layer {}: {e}", desc.digest)))?,
                diff_id: diff_id.clone(),
            };
            fetch_layer(ctx, client, expected, &desc.media_type, progress).await
        });
    let results: Vec<Result<(), PullError>> = stream::iter(jobs)
        .buffer_unordered(PARALLEL_LAYERS)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn fetch_layer(
    ctx: &StoreContext,
    client: &RegistryClient,
    expected: ExpectedLayer,
    media_type: &str,
    progress: &dyn ProgressSink,
) -> Result<(), PullError> {
    let digest = expected.blob_digest.to_string();
    let paths = Arc::new(ctx.paths.clone());
    let diff_id = expected.diff_id.clone();
    // Wait for any other process fetching the same layer, then see whether it is done.
    let lock = {
        let paths = paths.clone();
        let id = diff_id.clone();
        tokio::task::spawn_blocking(move || LayerStore::new(&paths).lock_layer(&id))
            .await
            .map_err(|e| PullError::Store(e.to_string()))?
            .map_err(|e| PullError::Store(format!("locking layer {diff_id}: {e}")))?
    };
    let location = db::LayerLocation {
        blob_digest: digest.clone(),
        blob_size: expected.blob_size.unwrap_or(0),
        media_type: media_type.to_string(),
        location: format!("{}/{}", client.host(), client.repository()),
    };
    if db::layer_exists(&ctx.db(), diff_id.as_str())? {
        db::add_layer_location(&ctx.db(), diff_id.as_str(), &location)?;
        progress.event(ProgressEvent::BlobSkipped {
            kind: BlobKind::Layer,
            digest,
        });
        return Ok(());
    }
    progress.event(ProgressEvent::BlobStarted {
        kind: BlobKind::Layer,
        digest: digest.clone(),
        total: expected.blob_size,
    });
    let mut response = client.get_blob(&expected.blob_digest).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<bytes::Bytes>>(64);
    let stage_paths = paths.clone();
    let stage_expected = expected.clone();
    let unpacker = tokio::task::spawn_blocking(move || {
        LayerStore::new(&stage_paths).stage(
            ChannelReader {
                rx,
                current: bytes::Bytes::new(),
            },
            &stage_expected,
        )
    });
    let limit = expected.blob_size.unwrap_or(u64::MAX);
    let mut done: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                done += chunk.len() as u64;
                if done > limit {
                    let _ = tx
                        .send(Err(io::Error::other(
                            "blob is larger than the manifest says",
                        )))
                        .await;
                    break;
                }
                progress.event(ProgressEvent::BlobProgress {
                    digest: digest.clone(),
                    done,
                });
                if tx.send(Ok(chunk)).await.is_err() {
                    break; // the unpacker stopped; its error explains why
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx
                    .send(Err(io::Error::other(format!("download interrupted: {e}"))))
                    .await;
                break;
            }
        }
    }
    drop(tx);
    let staged = unpacker
        .await
        .map_err(|e| PullError::Store(e.to_string()))??;
    let size = staged.size;
    let commit_paths = paths.clone();
    tokio::task::spawn_blocking(move || LayerStore::new(&commit_paths).commit(staged))
        .await
        .map_err(|e| PullError::Store(e.to_string()))??;
    db::insert_layer(
        &ctx.db(),
        &db::LayerRow {
            diff_id: diff_id.to_string(),
            size,
            blob_digest: Some(digest.clone()),
            blob_size: Some(done),
            blob_media_type: Some(media_type.to_string()),
        },
    )?;
    db::add_layer_location(&ctx.db(), diff_id.as_str(), &location)?;
    drop(lock);
    progress.event(ProgressEvent::BlobDone { digest });
    Ok(())
}

/// Feeds the unpacker (a blocking thread) from the download task.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}
