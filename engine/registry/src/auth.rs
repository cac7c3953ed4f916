//! Registry credentials stored the way Podman (containers-auth.json(5)) and
//! Docker (`config.json`, legacy `.dockercfg`) store them.
//!
//! # Files
//!
//! [`AuthPaths::from_env`] follows containers/image on Linux:
//!
//! * `$REGISTRY_AUTH_FILE`, when set, is the only file used (like
//!   `--authfile`, see [`AuthPaths::with_authfile`]);
//! * otherwise the primary (read/write) file is
//!   `$XDG_RUNTIME_DIR/containers/auth.json`, or
//!   `/run/containers/$UID/auth.json` when `XDG_RUNTIME_DIR` is unset (on
//!   other systems `$HOME/.config/containers/auth.json`), followed, for
//!   reading only, by `$XDG_CONFIG_HOME/containers/auth.json` (default
//!   `$HOME/.config/containers/auth.json`), `$DOCKER_CONFIG/config.json`
//!   (default `$HOME/.docker/config.json`) and `$HOME/.dockercfg`.
//!
//! # Format
//!
//! `{"auths": {"host[/namespace...]": {"auth": base64("user:password")}}}`.
//! A lookup for `host/a/b` tries the keys `host/a/b`, `host/a`, `host` in
//! each file, and then, as Docker wrote them for years, keys given as URLs
//! (`https://host/v1/`, `http://host`) and the Docker Hub aliases
//! (`docker.io`, `index.docker.io`, `registry-1.docker.io`). The first file
//! with a matching key decides; an empty entry moves on to the next file.
//!
//! Credential helpers are not supported: a `credHelpers` entry for the
//! registry, or an empty `auths` entry in a file with `credsStore`, is an
//! [`AuthError::CredentialHelper`] error; otherwise those keys are ignored
//! and preserved. Rewriting a file keeps every key this module does not
//! manage.
//!
//! Files are replaced atomically: a temporary file (mode 0600) in the same
//! directory is written, synced and renamed over the original; a missing
//! parent directory is created with mode 0700.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use serde_json::{Map, Value};

/// Environment variable naming the auth file to use instead of the defaults.
pub const ENV_REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
/// Environment variable naming Docker's configuration directory.
pub const ENV_DOCKER_CONFIG: &str = "DOCKER_CONFIG";

/// Errors from reading or writing auth files. Each carries the file or key
/// concerned.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A file exists but could not be read.
    #[error("reading auth file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file is not valid JSON.
    #[error("parsing auth file {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error (with line and column).
        source: serde_json::Error,
    },
    /// A file is JSON but not shaped like an auth file.
    #[error("invalid auth file {}: {message}", path.display())]
    InvalidFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An `auth` value is not valid base64.
    #[error("invalid \"auth\" value for {key:?} in {}: {reason}", path.display())]
    InvalidAuth {
        /// The file.
        path: PathBuf,
        /// The `auths` key of the entry.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The credentials for the registry are kept by a credential helper.
    #[error(
        "credentials for {registry} are kept in credential helper docker-credential-{helper} \
         (configured in {}); credential helpers are not supported",
        path.display()
    )]
    CredentialHelper {
        /// The registry looked up or stored.
        registry: String,
        /// The helper's name (the part after `docker-credential-`).
        helper: String,
        /// The file that configures it.
        path: PathBuf,
    },
    /// A key given to [`lookup`], [`store`] or [`remove`] is not valid.
    #[error("invalid auth key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// `$XDG_RUNTIME_DIR` names a directory that does not exist.
    #[error(
        "{} directory set by $XDG_RUNTIME_DIR does not exist; either create the directory or \
         unset $XDG_RUNTIME_DIR",
        path.display()
    )]
    RuntimeDirMissing {
        /// The value of `$XDG_RUNTIME_DIR`.
        path: PathBuf,
    },
    /// No home directory could be determined and none of the variables that
    /// replace it is set.
    #[error("cannot determine the home directory to locate auth files")]
    NoHomeDirectory,
    /// Writing a file failed.
    #[error("writing auth file {}: {source}", path.display())]
    Write {
        /// The file (or its parent directory).
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// A user name and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl Credentials {
    /// Creates credentials.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The `auth` value stored in files: base64 of `username:password`.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The files consulted for credentials, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPaths {
    /// The primary containers auth file; [`store`] and [`remove`] callers
    /// should write here.
    pub containers: PathBuf,
    /// `$XDG_CONFIG_HOME/containers/auth.json` (read only).
    pub containers_config: Option<PathBuf>,
    /// Docker's `config.json` (read only).
    pub docker: Option<PathBuf>,
    /// Docker's legacy `.dockercfg` (read only, legacy format).
    pub legacy: Option<PathBuf>,
}

/// Where the environment says the files are, collected so that tests need
/// not change the process environment.
struct EnvInputs {
    registry_auth_file: Option<OsString>,
    xdg_runtime_dir: Option<OsString>,
    xdg_config_home: Option<OsString>,
    docker_config: Option<OsString>,
    home: Option<PathBuf>,
    uid: Option<u32>,
    linux: bool,
}

impl AuthPaths {
    /// The files for the current user and environment (see the module
    /// documentation).
    pub fn from_env() -> Result<Self, AuthError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Self::from_inputs(&EnvInputs {
            registry_auth_file: var(ENV_REGISTRY_AUTH_FILE),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            docker_config: var(ENV_DOCKER_CONFIG),
            home: directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()),
            uid: current_uid(),
            linux: cfg!(target_os = "linux"),
        })
    }

    /// Only `path`, as for `--authfile` (containers/image reads no other
    /// file when the user names one).
    pub fn with_authfile(path: impl Into<PathBuf>) -> Self {
        Self {
            containers: path.into(),
            containers_config: None,
            docker: None,
            legacy: None,
        }
    }

    /// The files in lookup order, each with whether it uses the legacy
    /// `.dockercfg` format.
    pub fn read_order(&self) -> Vec<(&Path, bool)> {
        let mut v = vec![(self.containers.as_path(), false)];
        for p in [&self.containers_config, &self.docker]
            .into_iter()
            .flatten()
        {
            if !v.iter().any(|(q, _)| *q == p.as_path()) {
                v.push((p.as_path(), false));
            }
        }
        if let Some(l) = &self.legacy {
            v.push((l.as_path(), true));
        }
        v
    }

    fn from_inputs(env: &EnvInputs) -> Result<Self, AuthError> {
        if let Some(file) = &env.registry_auth_file {
            return Ok(Self::with_authfile(file));
        }
        let home = env.home.as_deref();
        let home_config = home.map(|h| h.join(".config/containers/auth.json"));
        let containers = if !env.linux {
            home_config.clone().ok_or(AuthError::NoHomeDirectory)?
        } else if let Some(rt) = &env.xdg_runtime_dir {
            let rt = PathBuf::from(rt);
            if !rt.exists() {
                return Err(AuthError::RuntimeDirMissing { path: rt });
            }
            rt.join("containers/auth.json")
        } else if let Some(uid) = env.uid {
            PathBuf::from(format!("/run/containers/{uid}/auth.json"))
        } else {
            home_config.clone().ok_or(AuthError::NoHomeDirectory)?
        };
        let containers_config = match &env.xdg_config_home {
            Some(x) => Some(PathBuf::from(x).join("containers/auth.json")),
            None => home_config,
        };
        let docker = match &env.docker_config {
            Some(d) => Some(PathBuf::from(d).join("config.json")),
            None => home.map(|h| h.join(".docker/config.json")),
        };
        Ok(Self {
            containers,
            containers_config,
            docker,
            legacy: home.map(|h| h.join(".dockercfg")),
        })
    }
}

/// Real user ID of this process, from `/proc/self/status` (Linux only).
fn current_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// An auth file's JSON document, keeping keys this module does not manage.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl AuthFile {
    /// Reads `path`; a missing file gives an empty document.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let doc = read_document(path)?.unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// The file this document is read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys of `auths`, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.auths()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The credentials stored under exactly `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Credentials>, AuthError> {
        match self.auths().and_then(|a| a.get(key)) {
            Some(entry) => decode_entry(&self.path, key, entry),
            None => Ok(None),
        }
    }

    /// The credential helper configured for `registry` in `credHelpers`.
    pub fn cred_helper(&self, registry: &str) -> Option<&str> {
        doc_cred_helper(&self.doc, registry)
    }

    /// Stores `creds` under `key`, replacing any entry there.
    pub fn set(&mut self, key: &str, creds: &Credentials) {
        let entry = Value::Object(Map::from_iter([(
            "auth".to_string(),
            Value::String(creds.encode()),
        )]));
        match self.doc.get_mut("auths").and_then(Value::as_object_mut) {
            Some(auths) => {
                auths.insert(key.to_string(), entry);
            }
            None => {
                self.doc.insert(
                    "auths".to_string(),
                    Value::Object(Map::from_iter([(key.to_string(), entry)])),
                );
            }
        }
    }

    /// Removes the entry under exactly `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .is_some_and(|a| a.remove(key).is_some())
    }

    /// Removes every `auths` entry (other keys are kept).
    pub fn clear(&mut self) {
        self.doc
            .insert("auths".to_string(), Value::Object(Map::new()));
    }

    /// Writes the document back atomically (mode 0600).
    pub fn save(&self) -> Result<(), AuthError> {
        let mut data = serde_json::to_vec_pretty(&self.doc).map_err(|e| AuthError::Write {
            path: self.path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        data.push(b'\n');
        write_atomic(&self.path, &data)
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        doc_auths(&self.doc)
    }
}

fn doc_auths(doc: &Map<String, Value>) -> Option<&Map<String, Value>> {
    doc.get("auths").and_then(Value::as_object)
}

fn doc_cred_helper<'a>(doc: &'a Map<String, Value>, registry: &str) -> Option<&'a str> {
    let helpers = doc.get("credHelpers")?.as_object()?;
    if let Some(h) = helpers.get(registry).and_then(Value::as_str) {
        return Some(h);
    }
    let wanted = normalize_registry(registry);
    helpers
        .iter()
        .find(|(k, _)| normalize_auth_key(k, false) == wanted)
        .and_then(|(_, v)| v.as_str())
}

/// Finds credentials for `repository` on `registry` (`repository` may be
/// empty to ask for the registry as a whole), trying the files of `paths`
/// in order and, in each, the most specific key first.
pub fn lookup(
    registry: &str,
    repository: &str,
    paths: &AuthPaths,
) -> Result<Option<Credentials>, AuthError> {
    let key = if repository.is_empty() {
        registry.to_string()
    } else {
        format!("{registry}/{repository}")
    };
    validate_key(&key)?;
    for (path, legacy) in paths.read_order() {
        let Some(doc) = read_document_for_lookup(path, legacy)? else {
            continue;
        };
        if let Some(creds) = find_in_document(&doc, path, registry, &key, legacy)? {
            return Ok(Some(creds));
        }
    }
    Ok(None)
}

/// Stores `creds` under `key` (`host[:port][/namespace...]`) in the auth
/// file `path`, creating it (and its directory) when needed.
pub fn store(key: &str, creds: &Credentials, path: &Path) -> Result<(), AuthError> {
    validate_key(key)?;
    let mut file = AuthFile::load(path)?;
    if !key.contains('/') {
        if let Some(helper) = file.cred_helper(key) {
            return Err(AuthError::CredentialHelper {
                registry: key.to_string(),
                helper: helper.to_string(),
                path: path.to_path_buf(),
            });
        }
    }
    file.set(key, creds);
    file.save()
}

/// Removes the entry stored under exactly `key` from `path`; returns whether
/// there was one. A missing file is not an error.
pub fn remove(key: &str, path: &Path) -> Result<bool, AuthError> {
    validate_key(key)?;
    let Some(doc) = read_document(path)? else {
        return Ok(false);
    };
    let mut file = AuthFile {
        path: path.to_path_buf(),
        doc,
    };
    if file.remove(key) {
        file.save()?;
        return Ok(true);
    }
    if !key.contains('/') {
        if let Some(helper) = file.cred_helper(key) {
            return Err(AuthError::CredentialHelper {
                registry: key.to_string(),
                helper: helper.to_string(),
                path: path.to_path_buf(),
            });
        }
    }
    Ok(false)
}

/// Removes every `auths` entry from `path`. A missing file is not an error.
pub fn remove_all(path: &Path) -> Result<(), AuthError> {
    let Some(doc) = read_document(path)? else {
        return Ok(());
    };
    let mut file = AuthFile {
        path: path.to_path_buf(),
        doc,
    };
    file.clear();
    file.save()
}

/// Reads and parses `path` as a JSON object with an optional object
/// `auths`; `None` when the file does not exist.
fn read_document(path: &Path) -> Result<Option<Map<String, Value>>, AuthError> {
    let Some(value) = read_json(path)? else {
        return Ok(None);
    };
    let Value::Object(doc) = value else {
        return Err(AuthError::InvalidFormat {
            path: path.to_path_buf(),
            message: "top level is not a JSON object".to_string(),
        });
    };
    if doc
        .get("auths")
        .is_some_and(|a| !a.is_object() && !a.is_null())
    {
        return Err(AuthError::InvalidFormat {
            path: path.to_path_buf(),
            message: "\"auths\" is not a JSON object".to_string(),
        });
    }
    Ok(Some(doc))
}

/// Like [`read_document`], but a legacy file's top level is the `auths` map.
fn read_document_for_lookup(
    path: &Path,
    legacy: bool,
) -> Result<Option<Map<String, Value>>, AuthError> {
    if !legacy {
        return read_document(path);
    }
    let Some(value) = read_json(path)? else {
        return Ok(None);
    };
    match value {
        Value::Object(auths) => Ok(Some(Map::from_iter([(
            "auths".to_string(),
            Value::Object(auths),
        )]))),
        _ => Err(AuthError::InvalidFormat {
            path: path.to_path_buf(),
            message: "top level is not a JSON object".to_string(),
        }),
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, AuthError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| AuthError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// Looks `key` (and its parents) up in one document.
fn find_in_document(
    doc: &Map<String, Value>,
    path: &Path,
    registry: &str,
    key: &str,
    legacy: bool,
) -> Result<Option<Credentials>, AuthError> {
    if let Some(helper) = doc_cred_helper(doc, registry) {
        return Err(AuthError::CredentialHelper {
            registry: registry.to_string(),
            helper: helper.to_string(),
            path: path.to_path_buf(),
        });
    }
    let creds_store = doc.get("credsStore").and_then(Value::as_str);
    let Some(auths) = doc_auths(doc) else {
        return Ok(None);
    };
    let decide = |k: &str, entry: &Value| -> Result<Option<Credentials>, AuthError> {
        let creds = decode_entry(path, k, entry)?;
        if creds.is_none() && entry_is_empty(entry) {
            if let Some(helper) = creds_store {
                return Err(AuthError::CredentialHelper {
                    registry: registry.to_string(),
                    helper: helper.to_string(),
                    path: path.to_path_buf(),
                });
            }
        }
        Ok(creds)
    };
    // Exact keys, most specific first (the legacy format has host keys only).
    let candidates: Vec<&str> = if legacy {
        vec![registry]
    } else {
        let mut v = vec![key];
        let mut k = key;
        while let Some(i) = k.rfind('/') {
            k = &k[..i];
            v.push(k);
        }
        v
    };
    for k in candidates {
        if let Some(entry) = auths.get(k) {
            return decide(k, entry);
        }
    }
    // URL-style and Docker Hub alias keys.
    let wanted = normalize_registry(registry);
    for (k, entry) in auths {
        if normalize_auth_key(k, legacy) == wanted {
            return decide(k, entry);
        }
    }
    Ok(None)
}

/// Whether an `auths` entry carries no credentials at all (the marker
/// Docker writes when a credential store holds them).
fn entry_is_empty(entry: &Value) -> bool {
    entry.as_object().is_some_and(|o| {
        o.get("auth")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
    })
}

/// Decodes an `auths` entry; `None` when it holds no usable credentials.
fn decode_entry(path: &Path, key: &str, entry: &Value) -> Result<Option<Credentials>, AuthError> {
    let Some(obj) = entry.as_object() else {
        return Err(AuthError::InvalidFormat {
            path: path.to_path_buf(),
            message: format!("entry {key:?} in \"auths\" is not a JSON object"),
        });
    };
    let auth = match obj.get("auth") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(AuthError::InvalidAuth {
                path: path.to_path_buf(),
                key: key.to_string(),
                reason: "not a string".to_string(),
            })
        }
    };
    if auth.is_empty() {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|e| AuthError::InvalidAuth {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason: e.to_string(),
        })?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::InvalidAuth {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason: "decoded value is not UTF-8".to_string(),
    })?;
    // Like Docker, an entry without "user:password" is skipped.
    let Some((user, password)) = text.split_once(':') else {
        return Ok(None);
    };
    let password = password.trim_matches('\0');
    if user.is_empty() && password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials::new(user, password)))
}

/// Reduces an `auths` key to a host name when it is a URL (or any key of a
/// legacy file), then applies [`normalize_registry`].
fn normalize_auth_key(key: &str, legacy: bool) -> String {
    let stripped = key
        .strip_prefix("http://")
        .or_else(|| key.strip_prefix("https://"));
    let host = match stripped {
        Some(s) => s.split('/').next().unwrap_or(s),
        None if legacy => key.split('/').next().unwrap_or(key),
        None => key,
    };
    normalize_registry(host)
}

/// Maps the Docker Hub host names to one value.
fn normalize_registry(registry: &str) -> String {
    match registry {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "index.docker.io".to_string(),
        other => other.to_string(),
    }
}

/// Keys are `host[:port][/namespace...]`: no scheme, tag or digest.
fn validate_key(key: &str) -> Result<(), AuthError> {
    let invalid = |reason: &str| AuthError::InvalidKey {
        key: key.to_string(),
        reason: reason.to_string(),
    };
    if key.is_empty() || key.starts_with('/') {
        return Err(invalid("registry is empty"));
    }
    if key.starts_with("http://") || key.starts_with("https://") {
        return Err(invalid("contains an http[s]:// prefix"));
    }
    if key.contains('@') {
        return Err(invalid("contains a '@' character"));
    }
    if let Some((_, rest)) = key.split_once('/') {
        if rest.contains(':') {
            return Err(invalid("contains a ':' after host[:port]"));
        }
        if rest.is_empty() || rest.split('/').any(str::is_empty) {
            return Err(invalid("contains an empty path component"));
        }
    }
    Ok(())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `data` to `path` through a synced temporary file in the same
/// directory, renamed over `path`.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), AuthError> {
    let write_err = |p: &Path, source| AuthError::Write {
        path: p.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir).map_err(|e| write_err(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "auth.json".to_string());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> io::Result<()> {
        let mut f = open_private_new(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // Best effort: the temporary file is garbage either way.
        let _ = fs::remove_file(&tmp);
        return Err(write_err(path, e));
    }
    // Persist the rename. Some file systems refuse fsync on directories;
    // the data itself is already synced, so that is not treated as failure.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private_new(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private_new(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            if let Err(e) = fs::create_dir_all(parent) {
                panic!("mkdir {}: {e}", parent.display());
            }
        }
        if let Err(e) = fs::write(path, text) {
            panic!("write {}: {e}", path.display());
        }
    }

    fn read_json_file(path: &Path) -> Value {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => panic!("parse {}: {e}", path.display()),
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn entry(user: &str, pass: &str) -> String {
        format!("{{\"auth\": \"{}\"}}", b64(&format!("{user}:{pass}")))
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        paths: AuthPaths,
    }

    fn fixture() -> Fixture {
        let dir = tempdir();
        let paths = AuthPaths {
            containers: dir.path().join("run/containers/auth.json"),
            containers_config: Some(dir.path().join("config/containers/auth.json")),
            docker: Some(dir.path().join("docker/config.json")),
            legacy: Some(dir.path().join("dockercfg")),
        };
        Fixture { _dir: dir, paths }
    }

    fn found(r: Result<Option<Credentials>, AuthError>) -> Option<(String, String)> {
        match r {
            Ok(c) => c.map(|c| (c.username, c.password)),
            Err(e) => panic!("lookup failed: {e}"),
        }
    }

    fn pair(u: &str, p: &str) -> Option<(String, String)> {
        Some((u.to_string(), p.to_string()))
    }

    #[test]
    fn most_specific_key_wins() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{
                    "my-registry.local/foo/bar/image": {},
                    "my-registry.local/foo": {},
                    "my-registry.local": {}
                }}}}"#,
                entry("image", "1"),
                entry("foo", "2"),
                entry("host", "3")
            ),
        );
        let l = |repo: &str| found(lookup("my-registry.local", repo, &f.paths));
        assert_eq!(l("foo/bar/image"), pair("image", "1"));
        assert_eq!(l("foo/bar/other"), pair("foo", "2"));
        assert_eq!(l("foo"), pair("foo", "2"));
        assert_eq!(l("other/x"), pair("host", "3"));
        assert_eq!(l(""), pair("host", "3"));
        assert_eq!(found(lookup("elsewhere.io", "x", &f.paths)), None);
    }

    #[test]
    fn containers_file_comes_before_docker_config() {
        let f = fixture();
        let docker = f.paths.docker.clone().unwrap_or_default();
        write(
            &docker,
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("docker", "d")),
        );
        assert_eq!(
            found(lookup("quay.io", "a/b", &f.paths)),
            pair("docker", "d")
        );
        write(
            &f.paths.containers,
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("podman", "p")),
        );
        assert_eq!(
            found(lookup("quay.io", "a/b", &f.paths)),
            pair("podman", "p")
        );
    }

    #[test]
    fn xdg_config_file_is_read_between_primary_and_docker() {
        let f = fixture();
        let cfg = f.paths.containers_config.clone().unwrap_or_default();
        write(
            &cfg,
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("cfg", "c")),
        );
        write(
            &f.paths.docker.clone().unwrap_or_default(),
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("docker", "d")),
        );
        assert_eq!(found(lookup("quay.io", "", &f.paths)), pair("cfg", "c"));
    }

    #[test]
    fn docker_hub_legacy_url_key_matches_docker_io() {
        let f = fixture();
        write(
            &f.paths.docker.clone().unwrap_or_default(),
            &format!(
                r#"{{"auths": {{"https://index.docker.io/v1/": {}}}}}"#,
                entry("hub", "h")
            ),
        );
        assert_eq!(
            found(lookup("docker.io", "library/busybox", &f.paths)),
            pair("hub", "h")
        );
    }

    #[test]
    fn url_keys_with_scheme_and_version_path_match_host() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{"http://reg.example.com:5000/v2/": {}}}}}"#,
                entry("u", "p")
            ),
        );
        assert_eq!(
            found(lookup("reg.example.com:5000", "a", &f.paths)),
            pair("u", "p")
        );
    }

    #[test]
    fn legacy_dockercfg_is_read_last() {
        let f = fixture();
        write(
            &f.paths.legacy.clone().unwrap_or_default(),
            &format!(
                r#"{{"https://index.docker.io/v1/": {{"auth": "{}", "email": "x@y"}}}}"#,
                b64("old:pw")
            ),
        );
        assert_eq!(
            found(lookup("docker.io", "library/a", &f.paths)),
            pair("old", "pw")
        );
    }

    #[test]
    fn empty_entry_moves_on_to_next_file() {
        let f = fixture();
        write(&f.paths.containers, r#"{"auths": {"quay.io": {}}}"#);
        write(
            &f.paths.docker.clone().unwrap_or_default(),
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("d", "p")),
        );
        assert_eq!(found(lookup("quay.io", "x", &f.paths)), pair("d", "p"));
    }

    #[test]
    fn password_keeps_colons_and_loses_nul_padding() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#,
                b64("user:pa:ss\0\0")
            ),
        );
        assert_eq!(
            found(lookup("quay.io", "", &f.paths)),
            pair("user", "pa:ss")
        );
    }

    #[test]
    fn malformed_json_is_an_error_naming_the_file() {
        let f = fixture();
        write(&f.paths.containers, "{\"auths\": {");
        match lookup("quay.io", "x", &f.paths) {
            Err(e @ AuthError::Parse { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&f.paths.containers.display().to_string()),
                    "{msg}"
                );
                assert!(msg.contains("line"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_base64_is_an_error_naming_file_and_key() {
        let f = fixture();
        write(
            &f.paths.containers,
            r#"{"auths": {"quay.io": {"auth": "***"}}}"#,
        );
        match lookup("quay.io", "x", &f.paths) {
            Err(AuthError::InvalidAuth { path, key, .. }) => {
                assert_eq!(path, f.paths.containers);
                assert_eq!(key, "quay.io");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cred_helper_for_requested_registry_is_a_clear_error() {
        let f = fixture();
        write(
            &f.paths.containers,
            r#"{"auths": {"localhost:5001": {}}, "credHelpers": {"registry.example.com": "secretservice"}}"#,
        );
        match lookup("registry.example.com", "a", &f.paths) {
            Err(e @ AuthError::CredentialHelper { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("docker-credential-secretservice"), "{msg}");
                assert!(msg.contains("not supported"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        // Other registries ignore the helper.
        assert_eq!(found(lookup("quay.io", "a", &f.paths)), None);
    }

    #[test]
    fn creds_store_only_matters_for_empty_entries() {
        let f = fixture();
        let docker = f.paths.docker.clone().unwrap_or_default();
        write(
            &docker,
            &format!(
                r#"{{"credsStore": "desktop", "auths": {{"https://index.docker.io/v1/": {{}}, "quay.io": {}}}}}"#,
                entry("q", "p")
            ),
        );
        assert!(matches!(
            lookup("docker.io", "library/a", &f.paths),
            Err(AuthError::CredentialHelper { helper, .. }) if helper == "desktop"
        ));
        assert_eq!(found(lookup("quay.io", "a", &f.paths)), pair("q", "p"));
        assert_eq!(found(lookup("ghcr.io", "a", &f.paths)), None);
    }

    #[test]
    fn authfile_override_reads_only_that_file() {
        let f = fixture();
        write(
            &f.paths.docker.clone().unwrap_or_default(),
            &format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("d", "p")),
        );
        let only = AuthPaths::with_authfile(f.paths.containers.clone());
        assert_eq!(found(lookup("quay.io", "a", &only)), None);
    }

    #[test]
    fn store_creates_private_file_and_directory() {
        let f = fixture();
        let creds = Credentials::new("me", "secret");
        if let Err(e) = store("quay.io/org", &creds, &f.paths.containers) {
            panic!("{e}");
        }
        assert_eq!(
            found(lookup("quay.io", "org/app", &f.paths)),
            pair("me", "secret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode(&f.paths.containers), Some(0o600));
            assert_eq!(f.paths.containers.parent().and_then(mode), Some(0o700));
        }
        let v = read_json_file(&f.paths.containers);
        assert_eq!(v["auths"]["quay.io/org"]["auth"], b64("me:secret"));
    }

    #[test]
    fn store_preserves_unknown_keys() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{"a.io": {}}}, "psFormat": "table", "credHelpers": {{"gcr.io": "gcloud"}}}}"#,
                entry("a", "1")
            ),
        );
        if let Err(e) = store("b.io", &Credentials::new("b", "2"), &f.paths.containers) {
            panic!("{e}");
        }
        let v = read_json_file(&f.paths.containers);
        assert_eq!(v["psFormat"], "table");
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(v["auths"]["a.io"]["auth"], b64("a:1"));
        assert_eq!(v["auths"]["b.io"]["auth"], b64("b:2"));
    }

    #[test]
    fn store_leaves_no_temporary_files() {
        let f = fixture();
        for i in 0..3 {
            if let Err(e) = store(
                "a.io",
                &Credentials::new("u", format!("{i}")),
                &f.paths.containers,
            ) {
                panic!("{e}");
            }
        }
        let dir = f
            .paths
            .containers
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let names: Vec<String> = match fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(names, vec!["auth.json".to_string()]);
    }

    #[test]
    fn store_refuses_registry_kept_by_helper() {
        let f = fixture();
        write(
            &f.paths.containers,
            r#"{"credHelpers": {"gcr.io": "gcloud"}}"#,
        );
        let r = store("gcr.io", &Credentials::new("u", "p"), &f.paths.containers);
        assert!(matches!(r, Err(AuthError::CredentialHelper { .. })));
    }

    #[test]
    fn store_rejects_invalid_keys() {
        let f = fixture();
        for key in [
            "",
            "https://quay.io",
            "quay.io/a@sha256:00",
            "quay.io/a:tag",
            "quay.io//a",
        ] {
            let r = store(key, &Credentials::new("u", "p"), &f.paths.containers);
            assert!(matches!(r, Err(AuthError::InvalidKey { .. })), "{key}");
        }
        let r = store(
            "localhost:5000/a",
            &Credentials::new("u", "p"),
            &f.paths.containers,
        );
        assert!(r.is_ok());
    }

    #[test]
    fn remove_deletes_exact_key_only() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{"a.io": {}, "a.io/ns": {}}}, "other": 1}}"#,
                entry("a", "1"),
                entry("n", "2")
            ),
        );
        assert!(remove("a.io/ns", &f.paths.containers).is_ok_and(|b| b));
        assert!(remove("a.io/ns", &f.paths.containers).is_ok_and(|b| !b));
        let v = read_json_file(&f.paths.containers);
        assert_eq!(v["other"], 1);
        assert!(v["auths"].get("a.io").is_some());
        assert!(v["auths"].get("a.io/ns").is_none());
    }

    #[test]
    fn remove_on_missing_file_is_false_and_creates_nothing() {
        let f = fixture();
        assert!(remove("a.io", &f.paths.containers).is_ok_and(|b| !b));
        assert!(!f.paths.containers.exists());
        assert!(remove_all(&f.paths.containers).is_ok());
        assert!(!f.paths.containers.exists());
    }

    #[test]
    fn remove_all_clears_auths_and_keeps_other_keys() {
        let f = fixture();
        write(
            &f.paths.containers,
            &format!(
                r#"{{"auths": {{"a.io": {}}}, "keep": true}}"#,
                entry("a", "1")
            ),
        );
        assert!(remove_all(&f.paths.containers).is_ok());
        let v = read_json_file(&f.paths.containers);
        assert_eq!(v["keep"], true);
        assert_eq!(v["auths"], serde_json::json!({}));
    }

    #[test]
    fn wrongly_shaped_files_are_errors() {
        let f = fixture();
        write(&f.paths.containers, "[1]");
        assert!(matches!(
            lookup("a.io", "", &f.paths),
            Err(AuthError::InvalidFormat { .. })
        ));
        write(&f.paths.containers, r#"{"auths": []}"#);
        assert!(matches!(
            AuthFile::load(&f.paths.containers),
            Err(AuthError::InvalidFormat { .. })
        ));
        write(&f.paths.containers, r#"{"auths": {"a.io": "x"}}"#);
        assert!(matches!(
            lookup("a.io", "", &f.paths),
            Err(AuthError::InvalidFormat { .. })
        ));
    }

    #[test]
    fn debug_output_redacts_password() {
        let s = format!("{:?}", Credentials::new("me", "hunter2"));
        assert!(s.contains("me") && !s.contains("hunter2"), "{s}");
    }

    fn inputs() -> EnvInputs {
        EnvInputs {
            registry_auth_file: None,
            xdg_runtime_dir: None,
            xdg_config_home: None,
            docker_config: None,
            home: Some(PathBuf::from("/home/u")),
            uid: Some(1000),
            linux: true,
        }
    }

    fn paths(env: &EnvInputs) -> AuthPaths {
        match AuthPaths::from_inputs(env) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn env_paths_use_run_containers_uid_without_xdg_runtime_dir() {
        let p = paths(&inputs());
        assert_eq!(
            p.containers,
            PathBuf::from("/run/containers/1000/auth.json")
        );
        assert_eq!(
            p.containers_config,
            Some(PathBuf::from("/home/u/.config/containers/auth.json"))
        );
        assert_eq!(p.docker, Some(PathBuf::from("/home/u/.docker/config.json")));
        assert_eq!(p.legacy, Some(PathBuf::from("/home/u/.dockercfg")));
    }

    #[test]
    fn env_paths_use_xdg_runtime_dir_when_it_exists() {
        let dir = tempdir();
        let mut env = inputs();
        env.xdg_runtime_dir = Some(dir.path().as_os_str().to_owned());
        env.xdg_config_home = Some("/cfg".into());
        env.docker_config = Some("/dc".into());
        let p = paths(&env);
        assert_eq!(p.containers, dir.path().join("containers/auth.json"));
        assert_eq!(
            p.containers_config,
            Some(PathBuf::from("/cfg/containers/auth.json"))
        );
        assert_eq!(p.docker, Some(PathBuf::from("/dc/config.json")));
    }

    #[test]
    fn env_paths_reject_missing_xdg_runtime_dir() {
        let mut env = inputs();
        env.xdg_runtime_dir = Some("/nonexistent/berth-test-runtime".into());
        assert!(matches!(
            AuthPaths::from_inputs(&env),
            Err(AuthError::RuntimeDirMissing { .. })
        ));
    }

    #[test]
    fn env_registry_auth_file_is_the_only_file() {
        let mut env = inputs();
        env.registry_auth_file = Some("/x/auth.json".into());
        assert_eq!(paths(&env), AuthPaths::with_authfile("/x/auth.json"));
    }

    #[test]
    fn env_paths_off_linux_use_home_config() {
        let mut env = inputs();
        env.linux = false;
        env.xdg_runtime_dir = Some("/nonexistent".into());
        assert_eq!(
            paths(&env).containers,
            PathBuf::from("/home/u/.config/containers/auth.json")
        );
    }

    #[test]
    fn read_order_skips_duplicate_paths() {
        let p = AuthPaths {
            containers: "/a".into(),
            containers_config: Some("/a".into()),
            docker: Some("/d".into()),
            legacy: Some("/l".into()),
        };
        assert_eq!(
            p.read_order(),
            vec![
                (Path::new("/a"), false),
                (Path::new("/d"), false),
                (Path::new("/l"), true)
            ]
        );
    }
}
