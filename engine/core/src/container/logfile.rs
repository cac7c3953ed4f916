//! The container log in Kubernetes' CRI "k8s-file" format, as Podman writes it: one
//! line per chunk, `TIMESTAMP STREAM P|F TEXT`, where `P` marks a partial line. The
//! writer (in the monitor) rotates by size; the reader serves `logs` with tail,
//! since/until and follow.

use berth_types::container::{LogLine, LogStream};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub fn timestamp_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.9f%:z")
        .to_string()
}

/// Appends output to the log, splitting it into lines; rotates at `max_size` bytes
/// keeping `max_files` files (`ctr.log`, `ctr.log.1`, …).
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
    pub fn write(&mut self, stream: LogStream, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() || data.is_empty() {
            return Ok(());
        }
        let tag = match stream {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        let ts = timestamp_now();
        let mut out = Vec::with_capacity(data.len() + 64);
        for piece in data.split_inclusive(|b| *b == b'\n') {
            let (text, full) = match piece.strip_suffix(b"\n") {
                Some(t) => (t, true),
                None => (piece, false),
            };
            out.extend_from_slice(ts.as_bytes());
            out.push(b' ');
            out.extend_from_slice(tag.as_bytes());
            out.extend_from_slice(if full { b" F " } else { b" P " });
            out.extend_from_slice(text);
            out.push(b'\n');
        }
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
        if self.max_files > 1 {
            for i in (1..self.max_files).rev() {
                let from = if i == 1 {
                    self.path.clone()
                } else {
                    rotated(&self.path, i - 1)
                };
                let _ = std::fs::rename(&from, rotated(&self.path, i));
            }
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

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Parses one k8s-file line.
pub fn parse_line(line: &[u8]) -> Option<LogLine> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let stream = match parts.next()? {
        b"stdout" => LogStream::Stdout,
        b"stderr" => LogStream::Stderr,
        _ => return None,
    };
    let partial = match parts.next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some(LogLine {
        time,
        stream,
        text: parts.next().unwrap_or_default().to_vec(),
        partial,
    })
}

/// Unix nanoseconds of a log timestamp.
pub fn line_nanos(l: &LogLine) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&l.time)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
}

/// Every line of the log, oldest first (rotated files included).
pub fn read_all(path: &Path) -> io::Result<Vec<LogLine>> {
    let mut files: Vec<PathBuf> = (1..100)
        .map(|i| rotated(path, i))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_path_buf());
    let mut lines = Vec::new();
    for f in files {
        let file = match File::open(&f) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf)? > 0 {
            if let Some(l) = parse_line(&buf) {
                lines.push(l);
            }
            buf.clear();
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_marked_partial_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ctr.log");
        let mut w = LogWriter::open(Some(&p), None, 1).expect("open");
        w.write(LogStream::Stdout, b"one\ntwo\npart")
            .expect("write");
        w.write(LogStream::Stderr, b"err\n").expect("write");
        let lines = read_all(&p).expect("read");
        let texts: Vec<(&[u8], bool)> = lines
            .iter()
            .map(|l| (l.text.as_slice(), l.partial))
            .collect();
        assert_eq!(
            texts,
            vec![
                (&b"one"[..], false),
                (b"two", false),
                (b"part", true),
                (b"err", false)
            ]
        );
        assert_eq!(lines[3].stream, LogStream::Stderr);
        assert!(line_nanos(&lines[0]) > 0);
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ctr.log");
        let mut w = LogWriter::open(Some(&p), Some(200), 2).expect("open");
        for i in 0..20 {
            w.write(LogStream::Stdout, format!("line {i}\n").as_bytes())
                .expect("write");
        }
        assert!(p.exists() && rotated(&p, 1).exists() && !rotated(&p, 2).exists());
        let all = read_all(&p).expect("read");
        assert_eq!(
            all.last().map(|l| l.text.clone()),
            Some(b"line 19".to_vec())
        );
        assert!(std::fs::metadata(&p).expect("meta").len() <= 200 + 60);
    }
}
