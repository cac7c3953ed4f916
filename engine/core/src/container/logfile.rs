//! Reads the container log in Kubernetes' CRI "k8s-file" format, as the monitor writes
//! it (`berth_monitor::logwriter`): one line per chunk, `TIMESTAMP STREAM P|F TEXT`,
//! where `P` marks a partial line, rotated into `ctr.log.N`. Serves `logs` with tail,
//! since/until and follow.

use berth_monitor::logwriter::rotated;
use berth_types::container::{LogLine, LogStream};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

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
    use berth_monitor::logwriter::{LogWriter, Stream};

    #[test]
    fn lines_are_split_marked_partial_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ctr.log");
        let mut w = LogWriter::open(Some(&p), None, 1).expect("open");
        w.write(Stream::Stdout, b"one\ntwo\npart").expect("write");
        w.write(Stream::Stderr, b"err\n").expect("write");
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
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
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
