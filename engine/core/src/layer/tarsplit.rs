//! The record of a layer tar's structure: every byte that is not file content (headers,
//! padding, trailer) plus, for each file, where its content now lives in the unpacked
//! layer. Replaying it over the unpacked files rebuilds the original stream byte for
//! byte, so a pulled layer can be pushed or saved with the same diff ID.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;

const RAW: u8 = 1;
const FILE: u8 = 2;
/// Raw bytes are buffered and written as one record of at most this size.
const RAW_CHUNK: usize = 64 * 1024;

/// Writes the split record (zstd-compressed) as a layer is read.
pub struct SplitWriter {
    out: zstd::Encoder<'static, BufWriter<File>>,
    pending: Vec<u8>,
}

impl SplitWriter {
    pub fn create(file: File) -> io::Result<SplitWriter> {
        Ok(SplitWriter {
            out: zstd::Encoder::new(BufWriter::new(file), 3)?,
            pending: Vec::new(),
        })
    }

    pub fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= RAW_CHUNK {
            self.flush_raw()?;
        }
        Ok(())
    }

    fn flush_raw(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.out.write_all(&[RAW])?;
        self.out
            .write_all(&(self.pending.len() as u32).to_le_bytes())?;
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// Records that `size` content bytes come from the unpacked file at `path` (layer-relative).
    pub fn file(&mut self, path: &[u8], size: u64) -> io::Result<()> {
        self.flush_raw()?;
        self.out.write_all(&[FILE])?;
        self.out.write_all(&size.to_le_bytes())?;
        self.out.write_all(&(path.len() as u32).to_le_bytes())?;
        self.out.write_all(path)
    }

    /// Completes the record and syncs it to disk.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_raw()?;
        let buffered = self.out.finish()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

/// Where replayed file content comes from.
pub trait ContentSource {
    fn open(&self, path: &[u8]) -> io::Result<File>;
}

/// Replays a split record into the original tar stream.
pub struct SplitReader<S: ContentSource> {
    record: zstd::Decoder<'static, BufReader<File>>,
    source: S,
    /// Bytes ready to hand out, and the current file being streamed.
    buf: Vec<u8>,
    pos: usize,
    file: Option<(io::Take<File>, u64)>,
}

impl<S: ContentSource> SplitReader<S> {
    pub fn open(record: File, source: S) -> io::Result<SplitReader<S>> {
        Ok(SplitReader {
            record: zstd::Decoder::new(record)?,
            source,
            buf: Vec::new(),
            pos: 0,
            file: None,
        })
    }

    /// Loads the next record; false at the end.
    fn next_record(&mut self) -> io::Result<bool> {
        let mut tag = [0u8; 1];
        if self.record.read(&mut tag)? == 0 {
            return Ok(false);
        }
        match tag[0] {
            RAW => {
                let mut len = [0u8; 4];
                self.record.read_exact(&mut len)?;
                let len = u32::from_le_bytes(len) as usize;
                if len > 16 * RAW_CHUNK {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt tar-split record",
                    ));
                }
                self.buf.resize(len, 0);
                self.record.read_exact(&mut self.buf)?;
                self.pos = 0;
            }
            FILE => {
                let mut size = [0u8; 8];
                self.record.read_exact(&mut size)?;
                let size = u64::from_le_bytes(size);
                let mut len = [0u8; 4];
                self.record.read_exact(&mut len)?;
                let len = u32::from_le_bytes(len) as usize;
                if len > 64 * 1024 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt tar-split record",
                    ));
                }
                let mut path = vec![0u8; len];
                self.record.read_exact(&mut path)?;
                let file = self.source.open(&path)?;
                let actual = rustix::fs::fstat(file.as_fd())?.st_size as u64;
                if actual != size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} changed size since it was unpacked",
                            String::from_utf8_lossy(&path)
                        ),
                    ));
                }
                self.file = Some((file.take(size), size));
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt tar-split record",
                ))
            }
        }
        Ok(true)
    }
}

impl<S: ContentSource> Read for SplitReader<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some((file, _)) = &mut self.file {
                let n = file.read(out)?;
                if n > 0 {
                    return Ok(n);
                }
                self.file = None;
            }
            if self.pos < self.buf.len() {
                let n = (self.buf.len() - self.pos).min(out.len());
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if !self.next_record()? {
                return Ok(0);
            }
        }
    }
}
