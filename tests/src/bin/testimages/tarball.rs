//! Deterministic layer tars, written header by header.
//!
//! Every entry gets uid/gid 0 and a fixed mtime, and names are copied into the
//! ustar header as raw bytes, so entries that the `tar` crate's path checks
//! refuse (`../x`, `/abs`, hard links out of the root) can be written too.
//! Entries keep the order they were added in unless `finish_sorted` is used.

use anyhow::{bail, Result};
use tar::{EntryType, Header};

/// mtime of every entry: 2024-01-01T00:00:00Z.
pub const MTIME: u64 = 1_704_067_200;

struct Entry {
    path: String,
    kind: EntryType,
    mode: u32,
    link: String,
    data: Vec<u8>,
    dev: (u32, u32),
}

/// Collects entries, then writes them as one uncompressed tar.
#[derive(Default)]
pub struct TarBuilder {
    entries: Vec<Entry>,
}

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A directory; `path` is written with a trailing `/`.
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        let path = format!("{}/", path.trim_end_matches('/'));
        self.push(path, EntryType::Directory, mode, "", Vec::new(), (0, 0))
    }

    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        self.push(
            path.into(),
            EntryType::Regular,
            mode,
            "",
            data.into(),
            (0, 0),
        )
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.push(
            path.into(),
            EntryType::Symlink,
            0o777,
            target,
            Vec::new(),
            (0, 0),
        )
    }

    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.push(
            path.into(),
            EntryType::Link,
            0o644,
            target,
            Vec::new(),
            (0, 0),
        )
    }

    pub fn char_dev(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> &mut Self {
        self.push(
            path.into(),
            EntryType::Char,
            mode,
            "",
            Vec::new(),
            (major, minor),
        )
    }

    fn push(
        &mut self,
        path: String,
        kind: EntryType,
        mode: u32,
        link: &str,
        data: Vec<u8>,
        dev: (u32, u32),
    ) -> &mut Self {
        let link = link.to_string();
        self.entries.push(Entry {
            path,
            kind,
            mode,
            link,
            data,
            dev,
        });
        self
    }

    /// Writes the entries sorted by path (parents sort before their children).
    pub fn finish_sorted(mut self) -> Result<Vec<u8>> {
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
        self.finish()
    }

    /// Writes the entries in the order they were added.
    pub fn finish(self) -> Result<Vec<u8>> {
        let total: usize = self.entries.iter().map(|e| 512 + e.data.len() + 511).sum();
        let mut out = Vec::with_capacity(total + 1024);
        for entry in &self.entries {
            out.extend_from_slice(&header(entry)?);
            out.extend_from_slice(&entry.data);
            let pad = (512 - entry.data.len() % 512) % 512;
            out.resize(out.len() + pad, 0);
        }
        // End of archive: two zero blocks.
        out.resize(out.len() + 1024, 0);
        Ok(out)
    }
}

fn header(entry: &Entry) -> Result<[u8; 512]> {
    let mut h = Header::new_ustar();
    h.set_entry_type(entry.kind);
    h.set_mode(entry.mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(entry.data.len() as u64);
    if entry.kind == EntryType::Char {
        h.set_device_major(entry.dev.0)?;
        h.set_device_minor(entry.dev.1)?;
    }
    let Some(ustar) = h.as_ustar_mut() else {
        bail!("new_ustar header is not ustar");
    };
    copy_raw(&mut ustar.name, &entry.path)?;
    copy_raw(&mut ustar.linkname, &entry.link)?;
    h.set_cksum();
    Ok(*h.as_bytes())
}

/// Copies `value` verbatim into a NUL-padded header field.
fn copy_raw(field: &mut [u8; 100], value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    if bytes.len() > field.len() {
        bail!("tar name longer than 100 bytes: {value}");
    }
    field.fill(0);
    field[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TarBuilder;

    #[test]
    fn raw_names_survive() -> anyhow::Result<()> {
        let mut b = TarBuilder::new();
        b.file("../escaped.txt", 0o644, b"x".to_vec());
        b.hardlink("l", "../../etc/passwd");
        let bytes = b.finish()?;
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut names = Vec::new();
        for entry in archive.entries()? {
            let entry = entry?;
            names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
            if let Some(link) = entry.link_name_bytes() {
                names.push(String::from_utf8_lossy(&link).into_owned());
            }
        }
        assert_eq!(names, ["../escaped.txt", "l", "../../etc/passwd"]);
        Ok(())
    }
}
