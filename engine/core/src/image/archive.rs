//! `save` and `load`: docker-archive (manifest.json + config + layer tars) and
//! oci-archive (an OCI image layout in a tar). Saved layers are the original
//! uncompressed tars, rebuilt and checked against their diff IDs. Loading extracts the
//! archive into private staging (no path may leave it), verifies every blob, and
//! commits each image in one transaction; a bad archive leaves the store as it was.

use crate::engine::{lookup_err, storage, LocalEngine, StoreContext};
use crate::image::{gc, names};
use crate::layer::store::{ExpectedLayer, LayerStore};
use crate::layer::unpack::clean_components;
use crate::store::db::{self, ImageRow, LayerRow};
use crate::store::lock::FileLock;
use berth_registry::digest::{Digest, HashingReader};
use berth_registry::manifest::{
    AnyManifest, Compression, Descriptor, ImageConfig, ImageManifest, WantedPlatform, OCI_CONFIG,
    OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST,
};
use berth_registry::reference::Reference;
use berth_types::image::{ArchiveFormat, SaveRequest};
use berth_types::{EngineError, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn store_err(what: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, what.to_string())
}

fn corrupt(what: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Corrupt, format!("invalid archive: {what}"))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn append(
    builder: &mut tar::Builder<&mut dyn Write>,
    path: &str,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, data)
        .map_err(|e| store_err(format!("writing archive entry {path}: {e}")))
}

/// Streams a layer's rebuilt tar, failing if it does not hash to its diff ID.
fn append_layer(
    builder: &mut tar::Builder<&mut dyn Write>,
    ctx: &StoreContext,
    diff_id: &str,
    path: &str,
) -> Result<()> {
    let digest = Digest::parse(diff_id).map_err(store_err)?;
    let size = db::get_layer(&ctx.db(), diff_id)
        .map_err(storage)?
        .map(|l| l.size)
        .unwrap_or(0);
    let tar = LayerStore::new(&ctx.paths)
        .open_tar(&digest)
        .map_err(|e| store_err(format!("layer {diff_id}: {e}")))?;
    let mut hashing = HashingReader::new(tar);
    append(builder, path, size, &mut hashing)?;
    let (d, n, _) = hashing
        .finish()
        .map_err(|e| store_err(format!("layer {diff_id}: {e}")))?;
    if d != digest || n != size {
        return Err(EngineError::new(
            ErrorKind::Corrupt,
            format!("layer {diff_id}: its files changed since it was stored"),
        ));
    }
    Ok(())
}

pub fn save(engine: &LocalEngine, req: &SaveRequest, out: &mut dyn Write) -> Result<()> {
    let ctx = engine.ctx()?;
    let mut images: Vec<(ImageRow, Option<String>)> = Vec::new();
    {
        let conn = ctx.db();
        for n in &req.names {
            let (id, name) =
                match names::find_name(&conn, &ctx.registries, n).map_err(lookup_err)? {
                    Some((id, stored)) if !stored.contains('@') => (id, Some(stored)),
                    Some((id, _)) => (id, None),
                    None => (
                        names::require_image(&conn, &ctx.registries, n).map_err(lookup_err)?,
                        None,
                    ),
                };
            let row = db::get_image(&conn, &id)
                .map_err(storage)?
                .ok_or_else(|| EngineError::not_found(format!("{n}: image not known")))?;
            images.push((row, name));
        }
    }
    let mut builder = tar::Builder::new(out);
    let mut written: HashSet<String> = HashSet::new();
    match req.format {
        ArchiveFormat::DockerArchive => {
            let mut manifest = Vec::new();
            for (row, name) in &images {
                let config_path = format!("{}.json", row.id);
                if written.insert(config_path.clone()) {
                    let config = std::fs::read(ctx.paths.blob(&row.id))
                        .map_err(|e| store_err(format!("image {}: config: {e}", row.id)))?;
                    append(
                        &mut builder,
                        &config_path,
                        config.len() as u64,
                        config.as_slice(),
                    )?;
                }
                let mut layers = Vec::new();
                for diff in &row.layers {
                    let path = format!("{}.tar", diff.trim_start_matches("sha256:"));
                    if written.insert(path.clone()) {
                        append_layer(&mut builder, ctx, diff, &path)?;
                    }
                    layers.push(path);
                }
                let tags = match name {
                    Some(n) => vec![n.clone()],
                    None => row.names.clone(),
                };
                manifest.push(DockerManifestEntry {
                    config: config_path,
                    repo_tags: Some(tags),
                    layers,
                });
            }
            let bytes = serde_json::to_vec(&manifest).map_err(store_err)?;
            append(
                &mut builder,
                "manifest.json",
                bytes.len() as u64,
                bytes.as_slice(),
            )?;
        }
        ArchiveFormat::OciArchive => {
            let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
            append(&mut builder, "oci-layout", layout.len() as u64, &layout[..])?;
            let mut index = Vec::new();
            for (row, name) in &images {
                let config = std::fs::read(ctx.paths.blob(&row.id))
                    .map_err(|e| store_err(format!("image {}: config: {e}", row.id)))?;
                let config_digest = Digest::of(&config);
                if written.insert(config_digest.to_string()) {
                    append(
                        &mut builder,
                        &format!("blobs/sha256/{}", config_digest.hex()),
                        config.len() as u64,
                        config.as_slice(),
                    )?;
                }
                let mut descs = Vec::new();
                for diff in &row.layers {
                    let size = db::get_layer(&ctx.db(), diff)
                        .map_err(storage)?
                        .map(|l| l.size)
                        .unwrap_or(0);
                    let hex = diff.trim_start_matches("sha256:");
                    if written.insert(diff.clone()) {
                        append_layer(&mut builder, ctx, diff, &format!("blobs/sha256/{hex}"))?;
                    }
                    descs.push(desc(
                        OCI_LAYER,
                        Digest::parse(diff).map_err(store_err)?,
                        size,
                    ));
                }
                let m = ImageManifest {
                    schema_version: 2,
                    media_type: Some(OCI_MANIFEST.into()),
                    config: desc(OCI_CONFIG, config_digest, config.len() as u64),
                    layers: descs,
                    annotations: None,
                };
                let bytes = serde_json::to_vec(&m).map_err(store_err)?;
                let md = Digest::of(&bytes);
                if written.insert(md.to_string()) {
                    append(
                        &mut builder,
                        &format!("blobs/sha256/{}", md.hex()),
                        bytes.len() as u64,
                        bytes.as_slice(),
                    )?;
                }
                let mut d = desc(OCI_MANIFEST, md, bytes.len() as u64);
                if let Some(n) = name {
                    d.annotations = Some(BTreeMap::from([(REF_NAME.to_string(), n.clone())]));
                }
                index.push(d);
            }
            let idx =
                serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index});
            let bytes = serde_json::to_vec(&idx).map_err(store_err)?;
            append(
                &mut builder,
                "index.json",
                bytes.len() as u64,
                bytes.as_slice(),
            )?;
        }
    }
    builder
        .finish()
        .map_err(|e| store_err(format!("writing archive: {e}")))?;
    Ok(())
}

fn desc(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest,
        size,
        platform: None,
        annotations: None,
        urls: None,
    }
}

/// The archive unpacked into staging: regular files, plus symlinks kept as a map.
struct Extracted {
    root: PathBuf,
    links: HashMap<String, String>,
}

impl Extracted {
    /// Resolves an archive path to a file in staging (following the archive's own
    /// symlinks, at most 8 deep, never outside the staging root).
    fn file(&self, path: &str) -> Result<PathBuf> {
        let mut current = path.to_string();
        for _ in 0..8 {
            let comps = clean_components(current.as_bytes())
                .map_err(|_| corrupt(format!("path {path:?} leaves the archive")))?;
            let clean: Vec<String> = comps
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            let joined = clean.join("/");
            if let Some(target) = self.links.get(&joined) {
                let base = clean[..clean.len().saturating_sub(1)].join("/");
                current = if target.starts_with('/') {
                    target.clone()
                } else {
                    format!("{base}/{target}")
                };
                // Resolve ".." lexically within the archive root.
                let mut stack: Vec<&str> = Vec::new();
                for part in current.split('/') {
                    match part {
                        "" | "." => {}
                        ".." => {
                            stack.pop();
                        }
                        p => stack.push(p),
                    }
                }
                current = stack.join("/");
                continue;
            }
            let p = self.root.join(&joined);
            let meta =
                std::fs::symlink_metadata(&p).map_err(|_| corrupt(format!("{path} is missing")))?;
            if !meta.is_file() {
                return Err(corrupt(format!("{path} is not a file")));
            }
            return Ok(p);
        }
        Err(corrupt(format!("{path}: too many levels of links")))
    }

    fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>> {
        let p = self.file(path)?;
        let len = std::fs::metadata(&p).map_err(store_err)?.len();
        if len > limit {
            return Err(corrupt(format!("{path} is too large")));
        }
        std::fs::read(&p).map_err(store_err)
    }
}

fn extract(input: &mut dyn Read, root: &Path) -> Result<Extracted> {
    let mut archive = tar::Archive::new(input);
    let mut links = HashMap::new();
    // The tar library's messages quote raw header bytes; say which entry failed instead.
    let unreadable = |n: usize, e: io::Error| {
        tracing::debug!(entry = n, error = %e, "unreadable archive entry");
        corrupt(format!(
            "not a tar archive, or damaged: entry {n} is unreadable"
        ))
    };
    let entries = archive.entries().map_err(|e| unreadable(1, e))?;
    for (i, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| unreadable(i + 1, e))?;
        let raw = entry.path_bytes().into_owned();
        let comps = clean_components(&raw).map_err(|_| {
            corrupt(format!(
                "entry {:?} leaves the archive",
                String::from_utf8_lossy(&raw)
            ))
        })?;
        if comps.is_empty() {
            continue;
        }
        let rel: Vec<String> = comps
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let rel = rel.join("/");
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let dest = root.join(&rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(store_err)?;
                }
                let mut f = std::fs::File::create(&dest).map_err(store_err)?;
                io::copy(&mut entry, &mut f).map_err(|e| {
                    if e.kind() == io::ErrorKind::StorageFull {
                        store_err(format!("loading archive: {e}"))
                    } else {
                        corrupt(e)
                    }
                })?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .ok_or_else(|| corrupt(format!("symlink {rel} has no target")))?;
                links.insert(rel, target);
            }
            _ => {}
        }
    }
    Ok(Extracted {
        root: root.to_path_buf(),
        links,
    })
}

fn sniff(path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(store_err)?;
    let n = f.read(&mut magic).map_err(store_err)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

/// Hashes a file: its digest and size.
fn file_digest(path: &Path) -> Result<(Digest, u64)> {
    let f = std::fs::File::open(path).map_err(store_err)?;
    let (d, n, _) = HashingReader::new(io::BufReader::new(f))
        .finish()
        .map_err(store_err)?;
    Ok((d, n))
}

/// One image found in the archive, ready to store.
struct Candidate {
    config_bytes: Vec<u8>,
    /// (file in staging, expected blob digest when the archive names one, compression).
    layers: Vec<(PathBuf, Option<Digest>, Compression)>,
    names: Vec<String>,
}

fn docker_candidates(x: &Extracted) -> Result<Vec<Candidate>> {
    let bytes = x.read("manifest.json", 16 << 20)?;
    let entries: Vec<DockerManifestEntry> =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("manifest.json: {e}")))?;
    let mut out = Vec::new();
    for e in entries {
        let config_bytes = x.read(&e.config, 16 << 20)?;
        let mut layers = Vec::new();
        for l in &e.layers {
            let p = x.file(l)?;
            let c = sniff(&p)?;
            layers.push((p, None, c));
        }
        let mut names = Vec::new();
        for t in e.repo_tags.unwrap_or_default() {
            let r = Reference::parse_normalized(&t)
                .map_err(|err| corrupt(format!("tag {t:?}: {err}")))?;
            names.push(r.with_default_tag().to_string());
        }
        out.push(Candidate {
            config_bytes,
            layers,
            names,
        });
    }
    Ok(out)
}

fn oci_candidates(x: &Extracted) -> Result<Vec<Candidate>> {
    let blob = |d: &Digest| x.file(&format!("blobs/sha256/{}", d.hex()));
    let read_verified = |d: &Digest| -> Result<Vec<u8>> {
        let bytes = x.read(&format!("blobs/sha256/{}", d.hex()), 16 << 20)?;
        if &Digest::of(&bytes) != d {
            return Err(corrupt(format!("blob {d} does not match its digest")));
        }
        Ok(bytes)
    };
    let index_bytes = x.read("index.json", 16 << 20)?;
    let index = match AnyManifest::parse(&index_bytes, None)
        .map_err(|e| corrupt(format!("index.json: {e}")))?
    {
        (AnyManifest::Index(i), _) => i,
        _ => return Err(corrupt("index.json is not an image index")),
    };
    let wanted = WantedPlatform::new(None, None, None);
    let mut out = Vec::new();
    for d in &index.manifests {
        let name = d
            .annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .cloned();
        let mut bytes = read_verified(&d.digest)?;
        let mut parsed = AnyManifest::parse(&bytes, Some(&d.media_type))
            .map_err(|e| corrupt(format!("manifest {}: {e}", d.digest)))?;
        if let (AnyManifest::Index(inner), _) = &parsed {
            let chosen = inner.select(&wanted).map_err(corrupt)?.digest.clone();
            bytes = read_verified(&chosen)?;
            parsed = AnyManifest::parse(&bytes, None)
                .map_err(|e| corrupt(format!("manifest {chosen}: {e}")))?;
        }
        let (AnyManifest::Image(m), _) = parsed else {
            return Err(corrupt("nested image indexes are not supported"));
        };
        let config_bytes = read_verified(&m.config.digest)?;
        let mut layers = Vec::new();
        for l in &m.layers {
            let c = Compression::from_media_type(&l.media_type).map_err(corrupt)?;
            layers.push((blob(&l.digest)?, Some(l.digest.clone()), c));
        }
        let names = name
            .and_then(|n| Reference::parse(&n).ok())
            .map(|r| vec![r.with_default_tag().to_string()])
            .unwrap_or_default();
        out.push(Candidate {
            config_bytes,
            layers,
            names,
        });
    }
    Ok(out)
}

fn media_type_for(c: Compression) -> &'static str {
    match c {
        Compression::None => OCI_LAYER,
        Compression::Gzip => OCI_LAYER_GZIP,
        Compression::Zstd => OCI_LAYER_ZSTD,
    }
}

/// Stores one candidate's layers and commits the image; returns what was loaded.
fn store_candidate(ctx: &StoreContext, c: &Candidate) -> Result<String> {
    let config =
        ImageConfig::parse(&c.config_bytes).map_err(|e| corrupt(format!("image config: {e}")))?;
    if config.rootfs.diff_ids.len() != c.layers.len() {
        return Err(corrupt(format!(
            "image config lists {} layers but the archive has {}",
            config.rootfs.diff_ids.len(),
            c.layers.len()
        )));
    }
    let layers = LayerStore::new(&ctx.paths);
    let mut descs = Vec::new();
    for ((path, named, compression), diff_id) in c.layers.iter().zip(&config.rootfs.diff_ids) {
        let (digest, size) = file_digest(path)?;
        if let Some(n) = named {
            if n != &digest {
                return Err(corrupt(format!("blob {n} does not match its digest")));
            }
        }
        descs.push(desc(media_type_for(*compression), digest.clone(), size));
        let _lock = layers.lock_layer(diff_id).map_err(store_err)?;
        if db::layer_exists(&ctx.db(), diff_id.as_str()).map_err(storage)? {
            continue;
        }
        let file = std::fs::File::open(path).map_err(store_err)?;
        let expected = ExpectedLayer {
            blob_digest: digest.clone(),
            blob_size: Some(size),
            compression: *compression,
            diff_id: diff_id.clone(),
        };
        let staged = layers
            .stage(io::BufReader::with_capacity(256 * 1024, file), &expected)
            .map_err(|e| {
                let kind = if e.is_corrupt() {
                    ErrorKind::Corrupt
                } else {
                    ErrorKind::Storage
                };
                EngineError::from_chain(kind, &e)
            })?;
        let unpacked = staged.size;
        layers
            .commit(staged)
            .map_err(|e| EngineError::from_chain(ErrorKind::Storage, &e))?;
        db::insert_layer(
            &ctx.db(),
            &LayerRow {
                diff_id: diff_id.to_string(),
                size: unpacked,
                blob_digest: Some(digest.to_string()),
                blob_size: Some(size),
                blob_media_type: Some(media_type_for(*compression).to_string()),
            },
        )
        .map_err(storage)?;
    }
    let id =
        crate::image::build::store_image_bytes(ctx, &c.config_bytes, &config, descs, &c.names)?;
    Ok(if c.names.is_empty() {
        format!("sha256:{id}")
    } else {
        c.names.join(", ")
    })
}

pub fn load(engine: &LocalEngine, input: &mut dyn Read) -> Result<Vec<String>> {
    let ctx = engine.ctx()?;
    let layers = LayerStore::new(&ctx.paths);
    layers.sweep_staging();
    let staging = layers.new_staging_dir().map_err(store_err)?;
    let dir = staging.path().to_path_buf();
    let result = (|| {
        let extracted = extract(input, &dir)?;
        let candidates = if extracted.file("manifest.json").is_ok() {
            docker_candidates(&extracted)?
        } else if extracted.file("index.json").is_ok() {
            oci_candidates(&extracted)?
        } else {
            return Err(corrupt(
                "neither a docker-archive (manifest.json) nor an oci-archive (index.json)",
            ));
        };
        if candidates.is_empty() {
            return Err(corrupt("the archive holds no images"));
        }
        let gc_guard = FileLock::shared(&ctx.paths.locks().join("gc.lock")).map_err(store_err)?;
        let mut loaded = Vec::new();
        for c in &candidates {
            match store_candidate(ctx, c) {
                Ok(name) => loaded.push(name),
                Err(e) => {
                    drop(gc_guard);
                    gc::collect_if_idle(ctx);
                    return Err(e);
                }
            }
        }
        Ok(loaded)
    })();
    drop(staging);
    result
}
