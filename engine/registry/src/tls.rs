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
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                    TlsError::BadCert {
                        path: path.clone(),
                        source,
                    }
                })?;
                material.roots.extend(certs);
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
