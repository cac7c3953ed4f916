//! TLS material for a registry host: CA certificates (`*.crt`) and client key pairs
//! (`*.cert` + `*.key`) from `--cert-dir` or the usual `certs.d/HOST[:PORT]` folders.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading certificate directory {path}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid certificate {path}")]
    BadCert {
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("{path}: malformed PEM certificate")]
    Malformed { path: PathBuf },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("client certificate {path} has no matching key {key}")]
    MissingKey { path: PathBuf, key: PathBuf },
}

/// PEM material found for one host.
#[derive(Default)]
pub struct TlsMaterial {
    pub roots: Vec<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
}

/// The folders searched for `host` when no `--cert-dir` is given.
pub fn default_cert_dirs(host: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(
            Path::new(&home)
                .join(".config/containers/certs.d")
                .join(host),
        );
    }
    dirs.push(Path::new("/etc/containers/certs.d").join(host));
    dirs.push(Path::new("/etc/docker/certs.d").join(host));
    dirs
}

/// Loads the material from `cert_dir` (which must exist) or from the default folders (which may not).
pub fn load(host: &str, cert_dir: Option<&Path>) -> Result<TlsMaterial, TlsError> {
    let mut material = TlsMaterial::default();
    match cert_dir {
        Some(dir) => load_dir(dir, &mut material, true)?,
        None => {
            for dir in default_cert_dirs(host) {
                load_dir(&dir, &mut material, false)?;
            }
        }
    }
    Ok(material)
}

fn load_dir(dir: &Path, material: &mut TlsMaterial, must_exist: bool) -> Result<(), TlsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(TlsError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for path in names {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => {
                let pem = read(&path)?;
                let ders = pem_certificates(&pem)
                    .ok_or_else(|| TlsError::Malformed { path: path.clone() })?;
                if ders.is_empty() {
                    return Err(TlsError::NoCertificate { path });
                }
                for der in ders {
                    let cert = reqwest::Certificate::from_der(&der).map_err(|source| {
                        TlsError::BadCert {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    material.roots.push(cert);
                }
            }
            Some("cert") => {
                let key = path.with_extension("key");
                if !key.exists() {
                    return Err(TlsError::MissingKey { path, key });
                }
                let mut pem = read(&path)?;
                pem.push(b'\n');
                pem.extend(read(&key)?);
                let identity =
                    reqwest::Identity::from_pem(&pem).map_err(|source| TlsError::BadCert {
                        path: path.clone(),
                        source,
                    })?;
                material.identity = Some(identity);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The DER bodies of the PEM `CERTIFICATE` blocks in `pem`; `None` when a block is not
/// valid base64 or not a DER SEQUENCE of the length it claims.
fn pem_certificates(pem: &[u8]) -> Option<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body_start = start + "-----BEGIN CERTIFICATE-----".len();
        let end = rest[body_start..].find("-----END CERTIFICATE-----")? + body_start;
        let b64: String = rest[body_start..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        if !der_sequence_fits(&der) {
            return None;
        }
        out.push(der);
        rest = &rest[end + "-----END CERTIFICATE-----".len()..];
    }
    Some(out)
}

/// Whether `der` is one DER SEQUENCE whose length field matches its size.
fn der_sequence_fits(der: &[u8]) -> bool {
    if der.len() < 2 || der[0] != 0x30 {
        return false;
    }
    let (len, header) = match der[1] {
        n if n < 0x80 => (n as usize, 2),
        n => {
            let count = (n & 0x7f) as usize;
            if count == 0 || count > 4 || der.len() < 2 + count {
                return false;
            }
            let len = der[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + count)
        }
    };
    header + len == der.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_explicit_cert_dir_is_an_error_but_default_dirs_are_optional() {
        let missing = Path::new("/nonexistent/berth-certs");
        assert!(matches!(
            load("h:1", Some(missing)),
            Err(TlsError::ReadDir { .. })
        ));
        assert!(load("no-such-host.invalid:1", None).is_ok());
    }

    #[test]
    fn garbage_crt_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("ca.crt"),
            "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let err = load("h:1", Some(dir.path())).err().expect("must fail");
        assert!(err.to_string().contains("ca.crt"), "{err}");
    }
}
