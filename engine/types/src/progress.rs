//! Progress events a long engine operation (pull, push, load) reports as it goes, so a
//! front end can draw bars on a terminal, print lines in a pipe, or stream JSON.

/// Which part of an image a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BlobKind {
    Layer,
    Config,
    Manifest,
}

/// One thing that happened during a transfer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProgressEvent {
    /// Trying a source for the image (a registry endpoint, a mirror).
    Trying { reference: String },
    /// A blob transfer begins; `total` is its size when known.
    BlobStarted {
        kind: BlobKind,
        digest: String,
        total: Option<u64>,
    },
    /// The blob is already present and is not transferred.
    BlobSkipped { kind: BlobKind, digest: String },
    /// More bytes of a blob were transferred (`done` is the running total).
    BlobProgress { digest: String, done: u64 },
    /// The blob is complete and verified.
    BlobDone { digest: String },
    /// The manifest is being written; the image is about to become visible.
    WritingManifest,
}

/// Where progress events go. Implementations must be cheap: they are called often.
pub trait ProgressSink: Sync {
    fn event(&self, event: ProgressEvent);
}

/// A sink that drops every event (`--quiet`, API calls that do not stream).
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn event(&self, _event: ProgressEvent) {}
}
