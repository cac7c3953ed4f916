//! Writes the container log in Kubernetes' CRI "k8s-file" format, as Podman does: one
//! line per chunk, `TIMESTAMP STREAM P|F TEXT`, where `P` marks a partial line.
//! Rotates by size, keeping `max_files` files (`ctr.log`, `ctr.log.1`, …).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Which of the container's output streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

pub struct LogWriter {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
}

impl LogWriter {
    /// `None` for the `none` log driver: output is still relayed, never stored.
    pub fn open(
        path: Option<&Path>,
        max_size: Option<u64>,
        max_files: u32,
    ) -> io::Result<LogWriter> {
        let (file, size) = match path {
            Some(p) => {
                let f = OpenOptions::new().create(true).append(true).open(p)?;
                let size = f.metadata()?.len();
                (Some(f), size)
            }
            None => (None, 0),
        };
        Ok(LogWriter {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            file,
            size,
            max_size,
            max_files: max_files.max(1),
        })
    }

    /// Writes `data` from `stream`, one log line per text line (the last partial if unterminated).
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() || data.is_empty() {
            return Ok(());
        }
        let out = format_lines(
            &crate::timestamp::rfc3339_nanos(crate::timestamp::now_nanos()),
            stream,
            data,
        );
        self.rotate_if_needed(out.len() as u64)?;
        if let Some(f) = &mut self.file {
            f.write_all(&out)?;
            self.size += out.len() as u64;
        }
        Ok(())
    }

    fn rotate_if_needed(&mut self, incoming: u64) -> io::Result<()> {
        let Some(max) = self.max_size else {
            return Ok(());
        };
        if self.size + incoming <= max || self.size == 0 {
            return Ok(());
        }
        self.file = None;
        for i in (1..self.max_files).rev() {
            let from = if i == 1 {
                self.path.clone()
            } else {
                rotated(&self.path, i - 1)
            };
            let _ = std::fs::rename(&from, rotated(&self.path, i));
        }
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }
}

/// The k8s-file lines for one chunk of output.
pub fn format_lines(ts: &str, stream: Stream, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for piece in data.split_inclusive(|b| *b == b'\n') {
        let (text, full) = match piece.strip_suffix(b"\n") {
            Some(t) => (t, true),
            None => (piece, false),
        };
        out.extend_from_slice(ts.as_bytes());
        out.push(b' ');
        out.extend_from_slice(stream.as_str().as_bytes());
        out.extend_from_slice(if full { b" F " } else { b" P " });
        out.extend_from_slice(text);
        out.push(b'\n');
    }
    out
}

/// The name of the `n`th rotated file of `path`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_become_full_and_partial_lines() {
        let out = format_lines("T", Stream::Stderr, b"one\ntwo\nthr");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "T stderr F one\nT stderr F two\nT stderr P thr\n"
        );
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = std::env::temp_dir().join(format!("berth-logw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("ctr.log");
        let mut w = LogWriter::open(Some(&path), Some(100), 2).expect("open");
        for _ in 0..10 {
            w.write(Stream::Stdout, &[b'x'; 40]).expect("write");
        }
        assert!(path.exists());
        assert!(rotated(&path, 1).exists());
        assert!(!rotated(&path, 2).exists());
        assert!(std::fs::metadata(&path).expect("meta").len() <= 100);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
