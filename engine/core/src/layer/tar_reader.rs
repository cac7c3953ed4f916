//! A streaming reader for layer tars (ustar, GNU long names, PAX) that hands out
//! entries one by one and records every byte that is not file content, so the exact
//! original stream can be rebuilt later from the unpacked files (see `tarsplit`).

use super::tarsplit::SplitWriter;
use std::io::{self, Read};

const BLOCK: usize = 512;
/// Largest PAX header or GNU long name accepted.
const MAX_EXTENSION: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("reading layer")]
    Io(#[from] io::Error),
    #[error("writing file content")]
    Output(#[source] io::Error),
    #[error("malformed tar header at offset {offset}: {reason}")]
    BadHeader { offset: u64, reason: String },
    #[error("layer tar ends inside an entry")]
    Truncated,
    #[error("unsupported tar entry type {kind:?} for {path:?}")]
    Unsupported { kind: char, path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

/// One entry's metadata, with PAX and GNU extensions applied.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub size: u64,
    pub link: Vec<u8>,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

pub struct TarReader<R> {
    inner: R,
    split: SplitWriter,
    offset: u64,
    /// Content bytes of the current entry not yet consumed, and padding after them.
    remaining: u64,
    padding: u64,
    finished: bool,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R, split: SplitWriter) -> Self {
        TarReader {
            inner,
            split,
            offset: 0,
            remaining: 0,
            padding: 0,
            finished: false,
        }
    }

    /// Ends reading: records whatever follows the end-of-archive marker and returns the split.
    pub fn finish(mut self) -> Result<(SplitWriter, R), TarError> {
        self.skip_rest_raw()?;
        let mut buf = [0u8; 8192];
        loop {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.split.raw(&buf[..n])?;
        }
        Ok((self.split, self.inner))
    }

    fn read_exact_raw(&mut self, buf: &mut [u8]) -> Result<bool, TarError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.inner.read(&mut buf[filled..])?;
            if n == 0 {
                if filled == 0 {
                    return Ok(false);
                }
                return Err(TarError::Truncated);
            }
            filled += n;
        }
        self.offset += buf.len() as u64;
        Ok(true)
    }

    /// Reads `n` bytes that belong to the stream's structure (extension data, padding) and records them.
    fn read_recorded(&mut self, n: u64) -> Result<Vec<u8>, TarError> {
        let mut data = vec![0u8; n as usize];
        if !self.read_exact_raw(&mut data)? && n > 0 {
            return Err(TarError::Truncated);
        }
        self.split.raw(&data)?;
        Ok(data)
    }

    /// Consumes what is left of the current entry as raw bytes (content nobody stored).
    fn skip_rest_raw(&mut self) -> Result<(), TarError> {
        let mut buf = [0u8; 8192];
        while self.remaining > 0 {
            let n = (self.remaining as usize).min(buf.len());
            if !self.read_exact_raw(&mut buf[..n])? {
                return Err(TarError::Truncated);
            }
            self.split.raw(&buf[..n])?;
            self.remaining -= n as u64;
        }
        if self.padding > 0 {
            let p = self.padding;
            self.padding = 0;
            self.read_recorded(p)?;
        }
        Ok(())
    }

    /// Copies the current entry's content into `out`, recording it as the file at `stored_path`.
    pub fn copy_content(
        &mut self,
        out: &mut dyn io::Write,
        stored_path: &[u8],
    ) -> Result<u64, TarError> {
        let size = self.remaining;
        self.split.file(stored_path, size)?;
        let mut buf = vec![0u8; 64 * 1024];
        while self.remaining > 0 {
            let n = (self.remaining as usize).min(buf.len());
            let got = self.inner.read(&mut buf[..n])?;
            if got == 0 {
                return Err(TarError::Truncated);
            }
            out.write_all(&buf[..got]).map_err(TarError::Output)?;
            self.remaining -= got as u64;
            self.offset += got as u64;
        }
        let p = self.padding;
        self.padding = 0;
        self.read_recorded(p)?;
        Ok(size)
    }

    /// The next entry, or `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        self.skip_rest_raw()?;
        if self.finished {
            return Ok(None);
        }
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        loop {
            let start = self.offset;
            let mut header = [0u8; BLOCK];
            if !self.read_exact_raw(&mut header)? {
                // A stream without the end-of-archive blocks still ends cleanly here.
                self.finished = true;
                return Ok(None);
            }
            self.split.raw(&header)?;
            if header.iter().all(|b| *b == 0) {
                self.finished = true;
                return Ok(None);
            }
            verify_checksum(&header, start)?;
            let size = numeric(&header[124..136], start, "size")?;
            let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            let typeflag = header[156];
            match typeflag {
                b'x' | b'g' | b'L' | b'K' => {
                    if size > MAX_EXTENSION {
                        return Err(bad(start, "extension header too large"));
                    }
                    let data = self.read_recorded(size)?;
                    self.read_recorded(padding)?;
                    match typeflag {
                        b'x' => pax = parse_pax(&data, start)?,
                        b'L' => long_name = Some(trim_nul(&data).to_vec()),
                        b'K' => long_link = Some(trim_nul(&data).to_vec()),
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            let mut entry = Entry {
                path: header_path(&header),
                kind: match typeflag {
                    b'0' | 0 | b'7' => EntryKind::File,
                    b'1' => EntryKind::HardLink,
                    b'2' => EntryKind::Symlink,
                    b'3' => EntryKind::CharDevice,
                    b'4' => EntryKind::BlockDevice,
                    b'5' => EntryKind::Directory,
                    b'6' => EntryKind::Fifo,
                    other => {
                        return Err(TarError::Unsupported {
                            kind: other as char,
                            path: String::from_utf8_lossy(&header_path(&header)).into_owned(),
                        })
                    }
                },
                mode: numeric(&header[100..108], start, "mode")? as u32 & 0o7777,
                uid: numeric(&header[108..116], start, "uid")?,
                gid: numeric(&header[116..124], start, "gid")?,
                mtime: numeric(&header[136..148], start, "mtime")? as i64,
                size,
                link: trim_nul(&header[157..257]).to_vec(),
                dev_major: numeric(&header[329..337], start, "devmajor").unwrap_or(0) as u32,
                dev_minor: numeric(&header[337..345], start, "devminor").unwrap_or(0) as u32,
                xattrs: Vec::new(),
            };
            // Old tars mark directories only by a trailing slash.
            if entry.kind == EntryKind::File && entry.path.ends_with(b"/") {
                entry.kind = EntryKind::Directory;
            }
            if let Some(n) = long_name.take() {
                entry.path = n;
            }
            if let Some(l) = long_link.take() {
                entry.link = l;
            }
            for (key, value) in pax.drain(..) {
                apply_pax(&mut entry, key, value, start)?;
            }
            self.remaining = entry.size;
            self.padding = (BLOCK as u64 - entry.size % BLOCK as u64) % BLOCK as u64;
            if entry.kind != EntryKind::File {
                // Only regular files carry content; anything else is recorded raw.
                self.skip_rest_raw()?;
            }
            return Ok(Some(entry));
        }
    }
}

fn bad(offset: u64, reason: &str) -> TarError {
    TarError::BadHeader {
        offset,
        reason: reason.to_string(),
    }
}

fn trim_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|c| *c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn header_path(h: &[u8; BLOCK]) -> Vec<u8> {
    let name = trim_nul(&h[0..100]);
    // POSIX ustar keeps a prefix; GNU tars use that area for other fields.
    if &h[257..263] == b"ustar\0" {
        let prefix = trim_nul(&h[345..500]);
        if !prefix.is_empty() {
            let mut p = prefix.to_vec();
            p.push(b'/');
            p.extend_from_slice(name);
            return p;
        }
    }
    name.to_vec()
}

fn verify_checksum(h: &[u8; BLOCK], offset: u64) -> Result<(), TarError> {
    let stored = numeric(&h[148..156], offset, "checksum")?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += b as u64;
        signed += (b as i8) as i64;
    }
    if stored != unsigned && stored as i64 != signed {
        return Err(bad(offset, "checksum mismatch"));
    }
    Ok(())
}

/// Octal (NUL/space padded) or GNU base-256 numbers.
fn numeric(field: &[u8], offset: u64, name: &str) -> Result<u64, TarError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] & 0x40 != 0 {
            return Err(bad(offset, &format!("negative {name}")));
        }
        let mut v: u64 = (field[0] & 0x3f) as u64;
        for b in &field[1..] {
            v = v
                .checked_shl(8)
                .ok_or_else(|| bad(offset, &format!("{name} out of range")))?
                | *b as u64;
            if v > (1 << 56) {
                return Err(bad(offset, &format!("{name} out of range")));
            }
        }
        return Ok(v);
    }
    let text = trim_nul(field);
    let text = std::str::from_utf8(text).map_err(|_| bad(offset, &format!("non-ASCII {name}")))?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| bad(offset, &format!("invalid {name} {text:?}")))
}

fn parse_pax(data: &[u8], offset: u64) -> Result<Vec<(String, Vec<u8>)>, TarError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| bad(offset, "malformed PAX record"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(offset, "malformed PAX record length"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad(offset, "malformed PAX record"));
        }
        let record = &rest[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or_else(|| bad(offset, "PAX record without '='"))?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        out.push((key, record[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

fn apply_pax(entry: &mut Entry, key: String, value: Vec<u8>, offset: u64) -> Result<(), TarError> {
    let text = || String::from_utf8_lossy(&value).into_owned();
    let number = |what: &str| -> Result<u64, TarError> {
        text()
            .parse::<u64>()
            .map_err(|_| bad(offset, &format!("invalid PAX {what}")))
    };
    match key.as_str() {
        "path" => entry.path = value,
        "linkpath" => entry.link = value,
        "size" => entry.size = number("size")?,
        "uid" => entry.uid = number("uid")?,
        "gid" => entry.gid = number("gid")?,
        "mtime" => {
            let t = text();
            let secs = t.split('.').next().unwrap_or("0");
            entry.mtime = secs.parse().map_err(|_| bad(offset, "invalid PAX mtime"))?;
        }
        k if k.starts_with("SCHILY.xattr.") => entry
            .xattrs
            .push((k["SCHILY.xattr.".len()..].to_string(), value)),
        k if k.starts_with("LIBARCHIVE.xattr.") => entry
            .xattrs
            .push((k["LIBARCHIVE.xattr.".len()..].to_string(), value)),
        k if k.starts_with("GNU.sparse.") => {
            return Err(TarError::Unsupported {
                kind: 'S',
                path: String::from_utf8_lossy(&entry.path).into_owned(),
            })
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_reads_octal_and_base256() {
        assert_eq!(numeric(b"0000644\0", 0, "mode").expect("octal"), 0o644);
        assert_eq!(numeric(b"     12 ", 0, "x").expect("spaces"), 0o12);
        let mut b256 = [0u8; 12];
        b256[0] = 0x80;
        b256[11] = 5;
        assert_eq!(numeric(&b256, 0, "size").expect("base256"), 5);
        assert!(numeric(b"09\0", 0, "size").is_err());
    }

    #[test]
    fn pax_records_parse_and_reject_garbage() {
        let recs = parse_pax(b"16 path=foo/bar\n", 0).expect("pax");
        assert_eq!(recs, vec![("path".to_string(), b"foo/bar".to_vec())]);
        assert!(parse_pax(b"99 path=x\n", 0).is_err());
        assert!(parse_pax(b"abc", 0).is_err());
    }
}
