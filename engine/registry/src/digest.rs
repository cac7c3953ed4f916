//! Content digests (`sha256:<hex>`): parsing, validation and incremental verification.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// A validated `sha256:` digest. Other algorithms are refused at parse time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid digest {0:?}: expected sha256: followed by 64 lowercase hex digits")]
pub struct InvalidDigest(pub String);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, InvalidDigest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| InvalidDigest(s.to_string()))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(InvalidDigest(s.to_string()));
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(data))))
    }

    /// The 64 hex digits without the algorithm.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Hashes bytes as they pass and counts them, to verify a stream against a descriptor.
#[derive(Default, Clone)]
pub struct DigestCounter {
    hasher: Sha256,
    count: u64,
}

impl DigestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.count += data.len() as u64;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn finish(self) -> (Digest, u64) {
        (
            Digest(format!("sha256:{}", hex::encode(self.hasher.finalize()))),
            self.count,
        )
    }
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    counter: DigestCounter,
}

impl<R: std::io::Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            counter: DigestCounter::new(),
        }
    }

    /// Reads the rest of the stream (hashing it) and returns the digest and byte count.
    pub fn finish(mut self) -> std::io::Result<(Digest, u64, R)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let (d, n) = self.counter.finish();
        Ok((d, n, self.inner))
    }

    pub fn count(&self) -> u64 {
        self.counter.count()
    }

    /// Reads the rest of the stream and returns the digest and size of everything read.
    pub fn drain(&mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(self, &mut std::io::sink())?;
        Ok(self.counter.clone().finish())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_other_algorithms_and_bad_hex() {
        assert!(Digest::parse("sha512:abcd").is_err());
        assert!(Digest::parse("sha256:ABCDEF").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "g".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(63))).is_err());
        let d = Digest::parse(&format!("sha256:{}", "a".repeat(64))).expect("valid");
        assert_eq!(d.hex(), "a".repeat(64));
    }

    #[test]
    fn hashing_reader_matches_digest_of() {
        let data = b"hello berth";
        let r = HashingReader::new(&data[..]);
        let (d, n, _) = r.finish().expect("read");
        assert_eq!(d, Digest::of(data));
        assert_eq!(n, data.len() as u64);
    }
}
