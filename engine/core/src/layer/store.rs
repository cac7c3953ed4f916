//! The layer store: a layer is unpacked into a private staging directory while its
//! compressed and uncompressed digests are computed, and only when both match what the
//! manifest and config promise is it renamed into `layers/<diff-id>`. An unverified
//! byte is never visible; a killed pull leaves only staging debris, swept later.

use super::staging::StagingDir;
use super::tar_reader::{TarError, TarReader};
use super::tarsplit::{ContentSource, SplitReader, SplitWriter};
use super::unpack::{self, UnpackError, UnpackOptions};
use crate::store::fsutil::sync_dir;
use crate::store::lock::FileLock;
use crate::store::paths::StorePaths;
use berth_registry::digest::{Digest, HashingReader};
use berth_registry::manifest::Compression;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer {digest}: {source}")]
    Unpack { digest: String, source: UnpackError },
    #[error("layer {digest}: blob digest mismatch: got {actual}")]
    BlobMismatch { digest: String, actual: String },
    #[error("layer {digest}: blob is {actual} bytes, the manifest says {expected}")]
    BlobSize {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("layer {digest}: uncompressed content has digest {actual}, the image config says {expected}")]
    DiffMismatch {
        digest: String,
        expected: String,
        actual: String,
    },
    #[error("layer {digest}: {context}")]
    Io {
        digest: String,
        context: String,
        source: io::Error,
    },
}

impl LayerError {
    fn io(
        digest: &Digest,
        context: impl Into<String>,
    ) -> impl FnOnce(io::Error) -> LayerError + '_ {
        let context = context.into();
        move |source| LayerError::Io {
            digest: digest.to_string(),
            context,
            source,
        }
    }

    /// True when the bytes received were wrong rather than the store failing.
    pub fn is_corrupt(&self) -> bool {
        match self {
            LayerError::BlobMismatch { .. }
            | LayerError::BlobSize { .. }
            | LayerError::DiffMismatch { .. } => true,
            LayerError::Unpack {
                source: UnpackError::Tar(TarError::Io(e)),
                ..
            } => e.kind() != io::ErrorKind::StorageFull,
            LayerError::Unpack {
                source: UnpackError::Write { .. },
                ..
            } => false,
            LayerError::Unpack { .. } => true,
            LayerError::Io { .. } => false,
        }
    }
}

/// What the manifest and config say a layer is.
#[derive(Debug, Clone)]
pub struct ExpectedLayer {
    pub blob_digest: Digest,
    /// The blob size from the descriptor, when the source has one.
    pub blob_size: Option<u64>,
    pub compression: Compression,
    pub diff_id: Digest,
}

/// A verified layer in staging, ready to be committed.
pub struct StagedLayer {
    staging: StagingDir,
    pub diff_id: Digest,
    pub size: u64,
}

/// Removes a directory tree, making read-only directories writable as needed.
pub fn remove_tree(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(path = %dir.display(), error = %e, "could not remove directory");
    }
}

pub struct LayerStore<'a> {
    paths: &'a StorePaths,
}

impl<'a> LayerStore<'a> {
    pub fn new(paths: &'a StorePaths) -> Self {
        LayerStore { paths }
    }

    pub fn diff_dir(&self, diff_id: &Digest) -> PathBuf {
        self.paths.layer_dir(diff_id.hex()).join("diff")
    }

    /// The lock held while a layer is fetched, so two pulls never fetch it twice at once.
    pub fn lock_layer(&self, diff_id: &Digest) -> io::Result<FileLock> {
        FileLock::exclusive(
            &self
                .paths
                .locks()
                .join(format!("layer-{}.lock", diff_id.hex())),
        )
    }

    /// Unpacks `blob` (the compressed stream) into staging and verifies both digests.
    pub fn stage(
        &self,
        blob: impl Read,
        expected: &ExpectedLayer,
    ) -> Result<StagedLayer, LayerError> {
        let d = &expected.blob_digest;
        let staging = StagingDir::create(&self.paths.tmp())
            .map_err(LayerError::io(d, "creating staging directory"))?;
        let mut staged = StagedLayer {
            staging,
            diff_id: expected.diff_id.clone(),
            size: 0,
        };
        let diff = staged.staging.path().join("diff");
        std::fs::create_dir(&diff).map_err(LayerError::io(d, "creating staging directory"))?;
        let split = File::create(staged.staging.path().join("tar-split.zst"))
            .and_then(SplitWriter::create)
            .map_err(LayerError::io(d, "creating tar-split record"))?;
        let root = rustix::fs::open(
            &diff,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| LayerError::io(d, "opening staging directory")(e.into()))?;

        // The compressed stream is shared so it can always be drained and hashed: when
        // the blob's digest is wrong, that (not the tar error it caused) is the error.
        let compressed = Rc::new(RefCell::new(HashingReader::new(blob)));
        let decoder = Decoder::new(SharedReader(compressed.clone()), expected.compression)
            .map_err(LayerError::io(d, "starting decoder"))?;
        let tar = TarReader::new(HashingReader::new(decoder), split);
        let unpacked = unpack_stream(tar, root, d);
        let blob_check = verify_blob(&compressed, expected);
        let (split, diff_digest, diff_size) = match (unpacked, blob_check) {
            (Ok(done), Ok(())) => done,
            (Ok(_), Err(blob)) => return Err(blob),
            (Err(tar), Err(blob)) if blob.is_corrupt() => {
                tracing::debug!(error = %tar, "tar error caused by a corrupt blob");
                return Err(blob);
            }
            (Err(tar), _) => return Err(tar),
        };
        if diff_digest != expected.diff_id {
            return Err(LayerError::DiffMismatch {
                digest: d.to_string(),
                expected: expected.diff_id.to_string(),
                actual: diff_digest.to_string(),
            });
        }
        split
            .finish()
            .map_err(LayerError::io(d, "writing tar-split record"))?;
        staged.size = diff_size;
        Ok(staged)
    }

    /// Makes a staged layer visible under its diff ID (after syncing its contents).
    pub fn commit(&self, staged: StagedLayer) -> Result<(), LayerError> {
        let d = staged.diff_id.clone();
        let target = self.paths.layer_dir(d.hex());
        let dir_fd = File::open(staged.staging.path())
            .map_err(LayerError::io(&d, "opening staged layer"))?;
        rustix::fs::syncfs(&dir_fd)
            .map_err(|e| LayerError::io(&d, "syncing staged layer")(e.into()))?;
        if target.exists() {
            // Debris of an earlier commit that never reached the database: replace it.
            remove_tree(&target);
        }
        std::fs::rename(staged.staging.path(), &target)
            .map_err(LayerError::io(&d, "committing layer"))?;
        sync_dir(&self.paths.layers()).map_err(LayerError::io(&d, "syncing layer directory"))?;
        Ok(())
    }

    /// Deletes a layer's files (its database row is removed by the caller).
    pub fn remove(&self, diff_id: &str) {
        let dir = self.paths.layer_dir(diff_id);
        if dir.exists() {
            // Move it aside first so a half-deleted layer is never at its real name.
            let doomed = self.paths.tmp().join(format!("deleted-{diff_id}"));
            match std::fs::rename(&dir, &doomed) {
                Ok(()) => remove_tree(&doomed),
                Err(_) => remove_tree(&dir),
            }
        }
    }

    /// Rebuilds the layer's original tar stream from its unpacked files.
    pub fn open_tar(&self, diff_id: &Digest) -> io::Result<SplitReader<LayerFiles>> {
        let dir = self.paths.layer_dir(diff_id.hex());
        let record = File::open(dir.join("tar-split.zst"))?;
        let root = rustix::fs::open(
            dir.join("diff"),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        SplitReader::open(record, LayerFiles { root })
    }

    /// A private directory in staging, owned by this process until dropped.
    pub fn new_staging_dir(&self) -> io::Result<StagingDir> {
        StagingDir::create(&self.paths.tmp())
    }

    /// Removes staging directories whose owner process is gone (its lock is free).
    pub fn sweep_staging(&self) {
        super::staging::sweep(&self.paths.tmp());
    }
}

/// Unpacks the whole tar and reads what follows it; returns the split record and the
/// digest and size of the uncompressed stream.
fn unpack_stream<R: Read>(
    mut tar: TarReader<HashingReader<R>>,
    root: std::os::fd::OwnedFd,
    d: &Digest,
) -> Result<(SplitWriter, Digest, u64), LayerError> {
    let err = |source: UnpackError| LayerError::Unpack {
        digest: d.to_string(),
        source,
    };
    unpack::unpack(&mut tar, root, UnpackOptions::for_current_user()).map_err(err)?;
    let (split, tar_in) = tar.finish().map_err(|e| err(e.into()))?;
    let (diff_digest, diff_size, _) = tar_in
        .finish()
        .map_err(|e| err(UnpackError::Tar(TarError::Io(e))))?;
    Ok((split, diff_digest, diff_size))
}

/// Reads the rest of the compressed stream and checks its size and digest.
fn verify_blob<R: Read>(
    compressed: &Rc<RefCell<HashingReader<R>>>,
    expected: &ExpectedLayer,
) -> Result<(), LayerError> {
    let d = &expected.blob_digest;
    let (digest, size) = compressed
        .borrow_mut()
        .drain()
        .map_err(|e| LayerError::Unpack {
            digest: d.to_string(),
            source: UnpackError::Tar(TarError::Io(e)),
        })?;
    if let Some(want) = expected.blob_size {
        if want != size {
            return Err(LayerError::BlobSize {
                digest: d.to_string(),
                expected: want,
                actual: size,
            });
        }
    }
    if &digest != d {
        return Err(LayerError::BlobMismatch {
            digest: d.to_string(),
            actual: digest.to_string(),
        });
    }
    Ok(())
}

/// A reader over a shared `HashingReader`, so the stage can hash what the decoder left.
struct SharedReader<R>(Rc<RefCell<HashingReader<R>>>);

impl<R: Read> Read for SharedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// Opens files inside an unpacked layer, resolving paths within its root.
pub struct LayerFiles {
    root: std::os::fd::OwnedFd,
}

impl ContentSource for LayerFiles {
    fn open(&self, path: &[u8]) -> io::Result<File> {
        let fd = crate::store::fsutil::openat2(
            &self.root,
            path,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        )?;
        Ok(File::from(fd))
    }
}

/// The decompressor for a layer's media type; gives back the compressed reader at the end.
// The gzip state is large, but there is one decoder per layer download: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
enum Decoder<R: Read> {
    None(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<R>>),
}

impl<R: Read> Decoder<R> {
    fn new(inner: R, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decoder::None(inner),
            Compression::Gzip => Decoder::Gzip(flate2::read::MultiGzDecoder::new(inner)),
            Compression::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::new(inner)?),
        })
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::None(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}
