//! `registries.conf` as described in containers-registries.conf(5) and
//! containers-registries.conf.d(5): which registries to search for short
//! names, short-name aliases, and per-namespace `[[registry]]` settings
//! (location rewriting, mirrors, `insecure`, `blocked`).
//!
//! # Which files are read
//!
//! [`RegistriesConf::default_paths`] follows containers/image:
//!
//! * `$CONTAINERS_REGISTRIES_CONF` (or the older `$REGISTRIES_CONFIG_PATH`)
//!   when set replaces the main file; the drop-in directories below are
//!   still read, and the named file must exist.
//! * otherwise `$HOME/.config/containers/registries.conf` when it exists,
//!   and then only the drop-ins in `$HOME/.config/containers/registries.conf.d`;
//! * otherwise `/etc/containers/registries.conf`, then the drop-ins in
//!   `/etc/containers/registries.conf.d`, then those in
//!   `$HOME/.config/containers/registries.conf.d`.
//!
//! Drop-ins are the `*.conf` regular files of a directory in lexical order;
//! other files and sub-directories are ignored. A missing file is not an
//! error.
//!
//! # Merging
//!
//! The first path is the main file and may use the deprecated version-1
//! format (`[registries.search]` etc.), which is converted; drop-ins must use
//! version 2. Later files override earlier ones field by field:
//! `unqualified-search-registries`, `short-name-mode` and
//! `credential-helpers` are replaced when present, `[[registry]]` tables
//! replace those with the same `prefix`, and `[aliases]` entries are merged
//! (an empty value erases the alias).
//!
//! # Prefix matching
//!
//! A `[[registry]]` table applies to an image whose name starts with its
//! `prefix` followed by `/`, `@` or (after a repository) `:`; the longest
//! matching prefix wins. A prefix `*.example.com` matches any sub-domain of
//! `example.com` (not `example.com` itself). Unlike containers/image, a
//! host-only prefix `example.com` does not match `example.com:5000/...`
//! (containers/image documents that behaviour as unintended).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::reference::{ParsedName, Reference, ReferenceError};

/// System-wide main configuration file.
pub const SYSTEM_REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
/// System-wide drop-in directory.
pub const SYSTEM_REGISTRIES_CONF_DIR: &str = "/etc/containers/registries.conf.d";
/// Per-user main file, relative to `$HOME`.
pub const USER_REGISTRIES_CONF: &str = ".config/containers/registries.conf";
/// Per-user drop-in directory, relative to `$HOME`.
pub const USER_REGISTRIES_CONF_DIR: &str = ".config/containers/registries.conf.d";
/// Environment variable naming a main file that replaces the default one.
pub const ENV_REGISTRIES_CONF: &str = "CONTAINERS_REGISTRIES_CONF";
/// Older name of [`ENV_REGISTRIES_CONF`], honoured when that one is unset.
pub const ENV_REGISTRIES_CONF_LEGACY: &str = "REGISTRIES_CONFIG_PATH";

/// Errors from loading or querying registries.conf. Each carries the file
/// or the reference concerned.
#[derive(Debug, thiserror::Error)]
pub enum RegistriesConfError {
    /// A configuration file exists but could not be read.
    #[error("reading registries configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A drop-in directory exists but could not be listed.
    #[error("reading registries configuration directory {}: {source}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file named by `$CONTAINERS_REGISTRIES_CONF` does not exist.
    #[error(
        "registries configuration {} (from ${ENV_REGISTRIES_CONF}) does not exist",
        path.display()
    )]
    ExplicitFileMissing {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML or has values of the wrong type.
    #[error(
        "parsing registries configuration {} at line {line}, column {column}: {message}",
        path.display()
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// The TOML parser's message.
        message: String,
    },
    /// The file is valid TOML but its content is inconsistent.
    #[error("invalid registries configuration {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The reference matches a `[[registry]]` table with `blocked = true`.
    #[error("registry {prefix} is blocked in {} (pulling {reference})", source_description(.path))]
    Blocked {
        /// Prefix of the blocking `[[registry]]` table.
        prefix: String,
        /// The reference that was refused.
        reference: String,
        /// The file that defined the table, when known.
        path: Option<PathBuf>,
    },
    /// Rewriting a reference onto a `location` or mirror gave an invalid one.
    #[error("rewriting {reference} to location {location:?}: {source}")]
    Rewrite {
        /// The reference being rewritten.
        reference: String,
        /// The location it was rewritten onto.
        location: String,
        /// Why the result is invalid.
        source: ReferenceError,
    },
    /// A short name could not be combined with a search registry or alias.
    #[error("resolving short name {name}: {source}")]
    Resolve {
        /// The short name.
        name: String,
        /// Why the candidate is invalid.
        source: ReferenceError,
    },
}

fn source_description(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "registries.conf".to_string(),
    }
}

/// How short names are resolved when no alias matches (`short-name-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortNameMode {
    /// Use the single search registry; with several, prompt on a TTY and
    /// fail otherwise.
    Enforcing,
    /// Like enforcing, but without a TTY use all search registries.
    #[default]
    Permissive,
    /// Use all search registries without prompting.
    Disabled,
}

impl ShortNameMode {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "enforcing" => Some(Self::Enforcing),
            "permissive" => Some(Self::Permissive),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for ShortNameMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Enforcing => "enforcing",
            Self::Permissive => "permissive",
            Self::Disabled => "disabled",
        })
    }
}

/// When a mirror may be used (`pull-from-mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullFromMirror {
    /// For pulls by tag and by digest (the default).
    #[default]
    All,
    /// Only for pulls by digest.
    DigestOnly,
    /// Only for pulls by tag.
    TagOnly,
}

impl PullFromMirror {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "all" => Some(Self::All),
            "digest-only" => Some(Self::DigestOnly),
            "tag-only" => Some(Self::TagOnly),
            _ => None,
        }
    }
}

/// A `[[registry.mirror]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Where the mirror is (`host[:port][/namespace...]`).
    pub location: String,
    /// Allow plain HTTP and unverified TLS.
    pub insecure: bool,
    /// Which pulls may use this mirror.
    pub pull_from_mirror: PullFromMirror,
}

/// A `[[registry]]` table, after defaults are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Image-name prefix the table applies to (defaults to `location`); may
    /// be a wildcard `*.example.com`.
    pub prefix: String,
    /// Physical location of the prefix-rooted namespace. Empty only for a
    /// wildcard prefix, meaning "the requested name, unchanged".
    pub location: String,
    /// Allow plain HTTP and unverified TLS.
    pub insecure: bool,
    /// Refuse to pull matching images.
    pub blocked: bool,
    /// Use the mirrors only for pulls by digest.
    pub mirror_by_digest_only: bool,
    /// Mirrors, in the order to try them.
    pub mirrors: Vec<Mirror>,
    /// File that defined this table, when it came from a file.
    pub source: Option<PathBuf>,
}

/// One endpoint to try when pulling, from [`RegistriesConf::pull_sources`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    /// The reference rewritten onto this endpoint.
    pub reference: Reference,
    /// Allow plain HTTP and unverified TLS for this endpoint.
    pub insecure: bool,
    /// Whether this endpoint is a mirror (as opposed to the primary location).
    pub mirror: bool,
}

/// The merged configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistriesConf {
    /// Registries (`host[:port]`) to try for short names, in order.
    pub unqualified_search_registries: Vec<String>,
    /// File that set `unqualified_search_registries`, if any.
    pub unqualified_search_registries_origin: Option<PathBuf>,
    /// Short-name mode (defaults to permissive).
    pub short_name_mode: ShortNameMode,
    /// `[[registry]]` tables, one per prefix, sorted by prefix.
    pub registries: Vec<Registry>,
    /// Short-name aliases: short name (no tag or digest) to a fully-qualified
    /// name (no tag or digest).
    pub aliases: BTreeMap<String, String>,
    /// `credential-helpers` (empty means only containers-auth.json files).
    pub credential_helpers: Vec<String>,
    /// Files that were actually read, in order.
    pub files: Vec<PathBuf>,
}

// ----- raw TOML shapes -------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    credential_helpers: Option<Vec<String>>,
    registry: Option<Vec<RawRegistry>>,
    aliases: Option<BTreeMap<String, String>>,
    /// Version-1 format.
    registries: Option<RawV1>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<RawMirror>,
    pull_from_mirror: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1 {
    search: Option<RawV1List>,
    insecure: Option<RawV1List>,
    block: Option<RawV1List>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1List {
    #[serde(default)]
    registries: Vec<String>,
}

/// One file after validation, before merging.
struct FileConf {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<ShortNameMode>,
    credential_helpers: Option<Vec<String>>,
    registries: Vec<Registry>,
    aliases: BTreeMap<String, String>,
}

impl RegistriesConf {
    /// Loads and merges `paths` in order. The first path is the main file
    /// (version 1 or 2); the others are drop-ins (version 2 only). Missing
    /// files are skipped; an unreadable or malformed file is an error naming
    /// it.
    pub fn load(paths: &[PathBuf]) -> Result<Self, RegistriesConfError> {
        let mut conf = RegistriesConf::default();
        for (i, path) in paths.iter().enumerate() {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(RegistriesConfError::Read {
                        path: path.clone(),
                        source,
                    })
                }
            };
            let file = parse_file(&text, path, i == 0)?;
            conf.merge(file, path);
        }
        Ok(conf)
    }

    /// Parses one main file from a string (used by tests and by callers
    /// that already hold the text). `path` is only used in messages.
    pub fn from_str_with_path(text: &str, path: &Path) -> Result<Self, RegistriesConfError> {
        let mut conf = RegistriesConf::default();
        let file = parse_file(text, path, true)?;
        conf.merge(file, path);
        Ok(conf)
    }

    /// Loads the configuration for the current user: [`Self::default_paths`]
    /// then [`Self::load`]. A file named by `$CONTAINERS_REGISTRIES_CONF`
    /// must exist.
    pub fn load_default() -> Result<Self, RegistriesConfError> {
        if let Some(explicit) = env_override() {
            if !explicit.exists() {
                return Err(RegistriesConfError::ExplicitFileMissing { path: explicit });
            }
        }
        Self::load(&Self::default_paths()?)
    }

    /// The files to load for the current user, main file first, followed by
    /// the drop-ins in order (see the module documentation).
    pub fn default_paths() -> Result<Vec<PathBuf>, RegistriesConfError> {
        paths_for(
            env_override(),
            home_dir().as_deref(),
            Path::new(SYSTEM_REGISTRIES_CONF),
            Path::new(SYSTEM_REGISTRIES_CONF_DIR),
        )
    }

    /// The `[[registry]]` table with the longest prefix matching
    /// `reference_name` (a `host[:port]`, a `registry/repository` name, or a
    /// full reference with tag or digest).
    pub fn find_registry(&self, reference_name: &str) -> Option<&Registry> {
        let mut best: Option<&Registry> = None;
        for r in &self.registries {
            if prefix_match_len(reference_name, &r.prefix).is_some()
                && best.is_none_or(|b| r.prefix.len() > b.prefix.len())
            {
                best = Some(r);
            }
        }
        best
    }

    /// The endpoints to try, in order, when pulling `reference`: the
    /// applicable mirrors first, then the primary location. Each comes with
    /// the reference rewritten onto it. Without a matching `[[registry]]`
    /// table the only source is `reference` itself (secure).
    pub fn pull_sources(
        &self,
        reference: &Reference,
    ) -> Result<Vec<PullSource>, RegistriesConfError> {
        let ref_str = reference.to_string();
        let Some(reg) = self.find_registry(&ref_str) else {
            return Ok(vec![PullSource {
                reference: reference.clone(),
                insecure: false,
                mirror: false,
            }]);
        };
        if reg.blocked {
            return Err(RegistriesConfError::Blocked {
                prefix: reg.prefix.clone(),
                reference: ref_str,
                path: reg.source.clone(),
            });
        }
        let matched = prefix_match_len(&ref_str, &reg.prefix).unwrap_or(0);
        let digested = reference.digest.is_some();
        let mut sources = Vec::new();
        for m in &reg.mirrors {
            let usable = if reg.mirror_by_digest_only {
                digested
            } else {
                match m.pull_from_mirror {
                    PullFromMirror::All => true,
                    PullFromMirror::DigestOnly => digested,
                    PullFromMirror::TagOnly => !digested,
                }
            };
            if usable {
                sources.push(PullSource {
                    reference: rewrite(reference, &ref_str, matched, &m.location)?,
                    insecure: m.insecure,
                    mirror: true,
                });
            }
        }
        sources.push(PullSource {
            reference: rewrite(reference, &ref_str, matched, &reg.location)?,
            insecure: reg.insecure,
            mirror: false,
        });
        Ok(sources)
    }

    /// The fully-qualified candidates for a name: a qualified name is
    /// returned as is; for a short name, a matching alias is the only
    /// candidate, otherwise one candidate per unqualified-search registry in
    /// order (Docker Hub candidates get `library/`). Tags and digests of the
    /// short name are kept. Whether to prompt or fail with several candidates
    /// is up to the caller (see [`Self::short_name_mode`]).
    pub fn resolve_short_name(
        &self,
        name: &ParsedName,
    ) -> Result<Vec<Reference>, RegistriesConfError> {
        let (repository, tag, digest) = match name {
            ParsedName::Qualified(r) => return Ok(vec![r.clone()]),
            ParsedName::Short {
                repository,
                tag,
                digest,
            } => (repository, tag.as_deref(), digest.as_deref()),
        };
        let resolve_err = |source| RegistriesConfError::Resolve {
            name: repository.clone(),
            source,
        };
        if let Some(target) = self.alias_for(repository) {
            let mut r = Reference::parse(target).map_err(resolve_err)?;
            r.tag = tag.map(str::to_string);
            r.digest = digest.map(str::to_string);
            return Ok(vec![r]);
        }
        self.unqualified_search_registries
            .iter()
            .map(|reg| Reference::with_registry(reg, repository, tag, digest).map_err(resolve_err))
            .collect()
    }

    /// The alias target for a short name (without tag or digest), if any.
    pub fn alias_for(&self, short_name: &str) -> Option<&str> {
        self.aliases.get(short_name).map(String::as_str)
    }

    /// Whether `host` (`host[:port]`) may be contacted over plain HTTP or
    /// with unverified TLS: the `[[registry]]` table matching it is
    /// `insecure`, or a registry or mirror whose location is exactly `host`
    /// is `insecure`.
    pub fn is_insecure(&self, host: &str) -> bool {
        if self.find_registry(host).is_some_and(|r| r.insecure) {
            return true;
        }
        self.registries.iter().any(|r| {
            (r.insecure && r.location == host)
                || r.mirrors.iter().any(|m| m.insecure && m.location == host)
        })
    }

    fn merge(&mut self, file: FileConf, path: &Path) {
        self.files.push(path.to_path_buf());
        if let Some(u) = file.unqualified_search_registries {
            self.unqualified_search_registries = u;
            self.unqualified_search_registries_origin = Some(path.to_path_buf());
        }
        if let Some(m) = file.short_name_mode {
            self.short_name_mode = m;
        }
        if let Some(c) = file.credential_helpers {
            self.credential_helpers = c;
        }
        let mut by_prefix: BTreeMap<String, Registry> = self
            .registries
            .drain(..)
            .map(|r| (r.prefix.clone(), r))
            .collect();
        for r in file.registries {
            by_prefix.insert(r.prefix.clone(), r);
        }
        self.registries = by_prefix.into_values().collect();
        for (name, value) in file.aliases {
            if value.is_empty() {
                self.aliases.remove(&name);
            } else {
                self.aliases.insert(name, value);
            }
        }
    }
}

/// Length of the part of `reference` matched by `prefix`, or `None`.
fn prefix_match_len(reference: &str, prefix: &str) -> Option<usize> {
    if prefix.is_empty() {
        return None;
    }
    let end = if let Some(domain) = prefix.strip_prefix('*') {
        // `domain` is ".example.com": it must end the host part, after at
        // least one sub-domain label.
        let idx = reference.find(domain)?;
        if idx == 0 || reference[..idx].contains('/') {
            return None;
        }
        idx + domain.len()
    } else if reference.starts_with(prefix) {
        prefix.len()
    } else {
        return None;
    };
    match reference.as_bytes().get(end) {
        None => Some(end),
        Some(b'/') | Some(b'@') => Some(end),
        // After a host-only prefix a ':' starts a port, not a tag.
        Some(b':') if prefix.contains('/') => Some(end),
        _ => None,
    }
}

/// Replaces the first `matched` bytes of `ref_str` with `location`.
fn rewrite(
    original: &Reference,
    ref_str: &str,
    matched: usize,
    location: &str,
) -> Result<Reference, RegistriesConfError> {
    if location.is_empty() {
        return Ok(original.clone());
    }
    let rest = ref_str.get(matched..).unwrap_or("");
    let new = format!("{location}{rest}");
    Reference::parse(&new).map_err(|source| RegistriesConfError::Rewrite {
        reference: ref_str.to_string(),
        location: location.to_string(),
        source,
    })
}

fn env_override() -> Option<PathBuf> {
    [ENV_REGISTRIES_CONF, ENV_REGISTRIES_CONF_LEGACY]
        .iter()
        .find_map(|var| std::env::var_os(var).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// The default path list, with the environment and file-system roots
/// passed in.
fn paths_for(
    explicit: Option<PathBuf>,
    home: Option<&Path>,
    system_file: &Path,
    system_dir: &Path,
) -> Result<Vec<PathBuf>, RegistriesConfError> {
    let user_file = home.map(|h| h.join(USER_REGISTRIES_CONF));
    let user_dir = home.map(|h| h.join(USER_REGISTRIES_CONF_DIR));
    let (main, dirs) = match (explicit, user_file) {
        (Some(e), _) => (e, vec![Some(system_dir.to_path_buf()), user_dir]),
        (None, Some(u)) if u.is_file() => (u, vec![user_dir]),
        (None, _) => (
            system_file.to_path_buf(),
            vec![Some(system_dir.to_path_buf()), user_dir],
        ),
    };
    let mut paths = vec![main];
    for dir in dirs.into_iter().flatten() {
        paths.extend(drop_in_files(&dir)?);
    }
    Ok(paths)
}

/// The `*.conf` regular files of `dir`, sorted; nothing when `dir` is missing.
fn drop_in_files(dir: &Path) -> Result<Vec<PathBuf>, RegistriesConfError> {
    let read_err = |source| RegistriesConfError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let is_conf = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".conf"));
        // Follow symlinks, as a directory walk reading the files would.
        if is_conf && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn parse_file(text: &str, path: &Path, is_main: bool) -> Result<FileConf, RegistriesConfError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        RegistriesConfError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().replace('\n', "; "),
        }
    })?;
    let invalid = |message: String| RegistriesConfError::Invalid {
        path: path.to_path_buf(),
        message,
    };

    let v1_set = raw
        .registries
        .as_ref()
        .is_some_and(|v1| v1.search.is_some() || v1.insecure.is_some() || v1.block.is_some());
    let v2_set = raw.unqualified_search_registries.is_some()
        || raw.short_name_mode.is_some()
        || raw.credential_helpers.is_some()
        || raw.registry.is_some()
        || raw.aliases.is_some();

    let (unqualified, raw_registries) = if v1_set {
        if !is_main {
            return Err(invalid(
                "drop-in files must use the version 2 format, not [registries.*]".to_string(),
            ));
        }
        if v2_set {
            return Err(invalid(
                "mixing the version 1 ([registries.*]) and version 2 formats is not supported"
                    .to_string(),
            ));
        }
        convert_v1(raw.registries.unwrap_or_default())
    } else {
        (
            raw.unqualified_search_registries,
            raw.registry.unwrap_or_default(),
        )
    };

    let registries = post_process_registries(raw_registries, path).map_err(invalid)?;

    let unqualified = match unqualified {
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for entry in list {
                let reg = parse_location(&entry).map_err(&invalid)?;
                if !is_valid_registry_host(&reg) {
                    return Err(invalid(format!(
                        "invalid unqualified-search-registries entry {entry:?}"
                    )));
                }
                out.push(reg);
            }
            Some(out)
        }
        None => None,
    };

    let short_name_mode = match raw.short_name_mode.as_deref() {
        None | Some("") => None,
        Some(m) => Some(
            ShortNameMode::parse(m)
                .ok_or_else(|| invalid(format!("invalid short-name-mode {m:?}")))?,
        ),
    };

    let aliases = raw.aliases.unwrap_or_default();
    for (name, value) in &aliases {
        validate_alias(name, value).map_err(&invalid)?;
    }

    Ok(FileConf {
        unqualified_search_registries: unqualified,
        short_name_mode,
        credential_helpers: raw.credential_helpers,
        registries,
        aliases,
    })
}

/// Converts a version-1 configuration: blocked and insecure registries
/// become `[[registry]]` tables, search registries the search list.
fn convert_v1(v1: RawV1) -> (Option<Vec<String>>, Vec<RawRegistry>) {
    let mut regs: Vec<RawRegistry> = Vec::new();
    let mut upsert = |location: &str, f: &dyn Fn(&mut RawRegistry)| {
        let loc = location.trim_end_matches('/');
        match regs.iter_mut().find(|r| r.location == loc) {
            Some(r) => f(r),
            None => {
                let mut r = RawRegistry {
                    location: loc.to_string(),
                    ..RawRegistry::default()
                };
                f(&mut r);
                regs.push(r);
            }
        }
    };
    for b in v1.block.map(|l| l.registries).unwrap_or_default() {
        upsert(&b, &|r| r.blocked = true);
    }
    for i in v1.insecure.map(|l| l.registries).unwrap_or_default() {
        upsert(&i, &|r| r.insecure = true);
    }
    (v1.search.map(|l| l.registries), regs)
}

/// Validates `location`/`prefix` text: trailing slashes are dropped and URL
/// schemes are refused.
fn parse_location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!(
            "invalid location {input:?}: URI schemes are not supported"
        ));
    }
    Ok(trimmed.to_string())
}

fn post_process_registries(raw: Vec<RawRegistry>, path: &Path) -> Result<Vec<Registry>, String> {
    let mut out: Vec<Registry> = Vec::with_capacity(raw.len());
    for r in raw {
        let location = parse_location(&r.location)?;
        let prefix = if r.prefix.is_empty() {
            if location.is_empty() {
                return Err("a [[registry]] table has neither location nor prefix".to_string());
            }
            location.clone()
        } else {
            let p = parse_location(&r.prefix)?;
            if !p.starts_with("*.") && location.is_empty() {
                return Err(format!(
                    "[[registry]] with prefix {p:?} has no location (only a wildcard prefix \
                     *.example.com may omit it)"
                ));
            }
            p
        };
        if prefix.starts_with("*.") && prefix.contains(['/', '@', ':']) {
            return Err(format!(
                "wildcarded prefix must be in the format *.example.com, got {prefix:?}"
            ));
        }
        if prefix.contains('*') && !prefix.starts_with("*.") {
            return Err(format!(
                "a wildcard is only allowed at the start of a prefix (*.example.com), got \
                 {prefix:?}"
            ));
        }
        if r.pull_from_mirror.is_some() {
            return Err(format!(
                "pull-from-mirror must not be set for a non-mirror registry {prefix:?}"
            ));
        }
        let mut mirrors = Vec::with_capacity(r.mirror.len());
        for m in r.mirror {
            let mloc = parse_location(&m.location)?;
            if mloc.is_empty() {
                return Err(format!("a mirror of {prefix:?} has no location"));
            }
            if r.mirror_by_digest_only && m.pull_from_mirror.is_some() {
                return Err(format!(
                    "cannot set mirror-by-digest-only for registry {prefix:?} and \
                     pull-from-mirror for its mirror {mloc:?} at the same time"
                ));
            }
            let pfm = m.pull_from_mirror.as_deref().unwrap_or("");
            let pull_from_mirror = PullFromMirror::parse(pfm).ok_or_else(|| {
                format!(
                    "unsupported pull-from-mirror value {pfm:?} for mirror {mloc:?} (expected \
                     all, digest-only or tag-only)"
                )
            })?;
            mirrors.push(Mirror {
                location: mloc,
                insecure: m.insecure,
                pull_from_mirror,
            });
        }
        // The same location may appear under several prefixes, but with the
        // same security settings.
        let key = if location.is_empty() {
            &prefix
        } else {
            &location
        };
        for other in &out {
            let other_key = if other.location.is_empty() {
                &other.prefix
            } else {
                &other.location
            };
            if other_key == key {
                if other.insecure != r.insecure {
                    return Err(format!(
                        "registry {key:?} is defined multiple times with conflicting 'insecure' \
                         settings"
                    ));
                }
                if other.blocked != r.blocked {
                    return Err(format!(
                        "registry {key:?} is defined multiple times with conflicting 'blocked' \
                         settings"
                    ));
                }
            }
        }
        out.push(Registry {
            prefix,
            location,
            insecure: r.insecure,
            blocked: r.blocked,
            mirror_by_digest_only: r.mirror_by_digest_only,
            mirrors,
            source: Some(path.to_path_buf()),
        });
    }
    // The first table for a prefix wins; later duplicates are ignored.
    let mut unique: BTreeMap<String, Registry> = BTreeMap::new();
    for r in out {
        unique.entry(r.prefix.clone()).or_insert(r);
    }
    Ok(unique.into_values().collect())
}

/// `host[:port]` as allowed in `unqualified-search-registries`.
fn is_valid_registry_host(s: &str) -> bool {
    // Validate by building a reference on it.
    Reference::with_registry(s, "x", None, None).is_ok()
}

fn validate_alias(name: &str, value: &str) -> Result<(), String> {
    match Reference::parse_short(name) {
        Ok(ParsedName::Short {
            tag: None,
            digest: None,
            ..
        }) => {}
        Ok(ParsedName::Short { .. }) => {
            return Err(format!(
                "invalid short-name alias {name:?}: must not contain a tag or digest"
            ))
        }
        Ok(ParsedName::Qualified(_)) => {
            return Err(format!(
                "invalid short-name alias {name:?}: must be a short name, without a registry"
            ))
        }
        Err(e) => return Err(format!("invalid short-name alias {name:?}: {e}")),
    }
    if value.is_empty() {
        return Ok(());
    }
    match Reference::parse(value) {
        Ok(r) if r.tag.is_none() && r.digest.is_none() => Ok(()),
        Ok(_) => Err(format!(
            "invalid value {value:?} for short-name alias {name:?}: must not contain a tag or \
             digest"
        )),
        Err(e) => Err(format!(
            "invalid value {value:?} for short-name alias {name:?}: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const HEX: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    fn conf(text: &str) -> RegistriesConf {
        match RegistriesConf::from_str_with_path(text, Path::new("/test/registries.conf")) {
            Ok(c) => c,
            Err(e) => panic!("config should load: {e}"),
        }
    }

    fn conf_err(text: &str) -> String {
        match RegistriesConf::from_str_with_path(text, Path::new("/test/registries.conf")) {
            Ok(c) => panic!("config should fail: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn r(s: &str) -> Reference {
        match Reference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn sources(c: &RegistriesConf, s: &str) -> Vec<(String, bool)> {
        match c.pull_sources(&r(s)) {
            Ok(v) => v
                .into_iter()
                .map(|p| (p.reference.to_string(), p.insecure))
                .collect(),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn short(s: &str) -> ParsedName {
        match Reference::parse_short(s) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
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

    fn tempdir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    const MAN_PAGE_EXAMPLE: &str = r#"
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "registry.com"

[[registry.mirror]]
location = "mirror.registry.com"
"#;

    #[test]
    fn man_page_example_tries_mirrors_then_rewritten_location() {
        let c = conf(MAN_PAGE_EXAMPLE);
        assert_eq!(
            sources(&c, "example.com/foo/image:latest"),
            vec![
                (
                    "example-mirror-0.local/mirror-for-foo/image:latest".to_string(),
                    false
                ),
                (
                    "example-mirror-1.local/mirrors/foo/image:latest".to_string(),
                    true
                ),
                (
                    "internal-registry-for-example.com/bar/image:latest".to_string(),
                    false
                ),
            ]
        );
    }

    #[test]
    fn mirrors_belong_only_to_their_registry_table() {
        let c = conf(MAN_PAGE_EXAMPLE);
        assert_eq!(
            sources(&c, "registry.com/image:latest"),
            vec![
                ("mirror.registry.com/image:latest".to_string(), false),
                ("registry.com/image:latest".to_string(), false),
            ]
        );
    }

    #[test]
    fn unmatched_reference_is_its_own_only_source() {
        let c = conf(MAN_PAGE_EXAMPLE);
        let got = c.pull_sources(&r("quay.io/a/b:1"));
        assert!(got.is_ok_and(|v| v
            == vec![PullSource {
                reference: r("quay.io/a/b:1"),
                insecure: false,
                mirror: false
            }]));
    }

    #[test]
    fn longest_prefix_wins() {
        let c = conf(
            r#"
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/foo"
location = "a.example.net"
[[registry]]
prefix = "example.com/foo/bar"
location = "b.example.net"
"#,
        );
        let loc = |s: &str| c.find_registry(s).map(|r| r.location.clone());
        assert_eq!(loc("example.com/foo/bar/x"), Some("b.example.net".into()));
        assert_eq!(loc("example.com/foo/baz"), Some("a.example.net".into()));
        assert_eq!(loc("example.com/other"), Some("example.com".into()));
        assert_eq!(loc("example.com/foobar"), Some("example.com".into()));
        assert_eq!(loc("example.org/x"), None);
    }

    #[test]
    fn host_prefix_does_not_match_other_port() {
        let c = conf("[[registry]]\nlocation = \"example.com\"\ninsecure = true\n");
        assert!(c.find_registry("example.com:5000/x").is_none());
        assert!(c.find_registry("example.com/x").is_some());
        assert!(!c.is_insecure("example.com:5000"));
    }

    #[test]
    fn prefix_with_tag_matches_only_that_tag() {
        let c = conf(
            "[[registry]]\nprefix = \"example.com/app:v1\"\nlocation = \"other.com/app:v2\"\n",
        );
        assert_eq!(
            sources(&c, "example.com/app:v1"),
            vec![("other.com/app:v2".to_string(), false)]
        );
        assert!(c.find_registry("example.com/app:v2").is_none());
    }

    #[test]
    fn wildcard_prefix_matches_subdomains_only() {
        let c = conf("[[registry]]\nprefix = \"*.example.com\"\ninsecure = true\n");
        assert!(c.find_registry("blah.example.com/foo/img:1").is_some());
        assert!(c.find_registry("foo.bar.example.com/img").is_some());
        assert!(c.find_registry("example.com/img").is_none());
        assert!(c.find_registry("blah.example.community/img").is_none());
        assert!(c.find_registry("evil.com/x.example.com/img").is_none());
        assert!(c.is_insecure("blah.example.com"));
    }

    #[test]
    fn wildcard_prefix_without_location_keeps_reference() {
        let c = conf(
            r#"
[[registry]]
prefix = "*.example.com"
[[registry.mirror]]
location = "mirror.local/m"
"#,
        );
        assert_eq!(
            sources(&c, "blah.example.com/foo/img:1"),
            vec![
                ("mirror.local/m/foo/img:1".to_string(), false),
                ("blah.example.com/foo/img:1".to_string(), false),
            ]
        );
    }

    #[test]
    fn wildcard_prefix_with_namespace_or_port_is_invalid() {
        for p in ["*.example.com/foo", "*.example.com:5000", "example.*.com"] {
            let e = conf_err(&format!(
                "[[registry]]\nprefix = \"{p}\"\nlocation = \"x.com\"\n"
            ));
            assert!(e.contains("/test/registries.conf"), "{e}");
        }
    }

    #[test]
    fn blocked_registry_is_an_error_naming_the_file() {
        let c = conf("[[registry]]\nlocation = \"bad.io\"\nblocked = true\n");
        let e = c.pull_sources(&r("bad.io/x:1"));
        match e {
            Err(e @ RegistriesConfError::Blocked { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("registry bad.io is blocked in /test/registries.conf"),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blocked_message_without_file_says_registries_conf() {
        let e = RegistriesConfError::Blocked {
            prefix: "bad.io".into(),
            reference: "bad.io/x".into(),
            path: None,
        };
        assert!(e
            .to_string()
            .starts_with("registry bad.io is blocked in registries.conf"));
    }

    #[test]
    fn pull_from_mirror_filters_by_digest_and_tag() {
        let c = conf(
            r#"
[[registry]]
location = "reg.io"
[[registry.mirror]]
location = "digest.mirror"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.mirror"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "all.mirror"
pull-from-mirror = "all"
"#,
        );
        let by_tag: Vec<String> = sources(&c, "reg.io/a:1").into_iter().map(|s| s.0).collect();
        assert_eq!(
            by_tag,
            vec!["tag.mirror/a:1", "all.mirror/a:1", "reg.io/a:1"]
        );
        let d = format!("reg.io/a@sha256:{HEX}");
        let by_digest: Vec<String> = sources(&c, &d).into_iter().map(|s| s.0).collect();
        assert_eq!(
            by_digest,
            vec![
                format!("digest.mirror/a@sha256:{HEX}"),
                format!("all.mirror/a@sha256:{HEX}"),
                d.clone()
            ]
        );
    }

    #[test]
    fn mirror_by_digest_only_skips_mirrors_for_tags() {
        let c = conf(
            r#"
[[registry]]
location = "reg.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.io"
"#,
        );
        assert_eq!(sources(&c, "reg.io/a:1").len(), 1);
        assert_eq!(sources(&c, &format!("reg.io/a@sha256:{HEX}")).len(), 2);
    }

    #[test]
    fn mirror_by_digest_only_conflicts_with_pull_from_mirror() {
        let e = conf_err(
            r#"
[[registry]]
location = "reg.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.io"
pull-from-mirror = "tag-only"
"#,
        );
        assert!(e.contains("at the same time"), "{e}");
    }

    #[test]
    fn invalid_pull_from_mirror_value_is_rejected() {
        let e = conf_err(
            "[[registry]]\nlocation = \"r.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"sometimes\"\n",
        );
        assert!(e.contains("sometimes"), "{e}");
        let e = conf_err("[[registry]]\nlocation = \"r.io\"\npull-from-mirror = \"all\"\n");
        assert!(e.contains("non-mirror"), "{e}");
    }

    #[test]
    fn docker_hub_library_prefix_must_be_explicit() {
        let c = conf(
            r#"
[[registry]]
prefix = "docker.io/library/alpine"
location = "mirror.local/alpine"
"#,
        );
        assert_eq!(
            sources(&c, "docker.io/library/alpine:3"),
            vec![("mirror.local/alpine:3".to_string(), false)]
        );
    }

    #[test]
    fn rewrite_onto_docker_hub_normalises_library() {
        let c = conf("[[registry]]\nprefix = \"quay.io/mirror\"\nlocation = \"docker.io\"\n");
        assert_eq!(
            sources(&c, "quay.io/mirror/busybox:1"),
            vec![("docker.io/library/busybox:1".to_string(), false)]
        );
    }

    #[test]
    fn resolve_short_name_uses_search_registries_in_order() {
        let c = conf("unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n");
        let got = c.resolve_short_name(&short("busybox:1.0"));
        let got: Vec<String> = match got {
            Ok(v) => v.iter().map(ToString::to_string).collect(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            got,
            vec!["quay.io/busybox:1.0", "docker.io/library/busybox:1.0"]
        );
    }

    #[test]
    fn resolve_short_name_prefers_alias_and_keeps_tag() {
        let c = conf(
            r#"
unqualified-search-registries = ["quay.io", "docker.io"]
[aliases]
"busybox" = "docker.io/library/busybox"
"#,
        );
        let got = c.resolve_short_name(&short("busybox:1.0"));
        assert!(got.is_ok_and(|v| v == vec![r("docker.io/library/busybox:1.0")]));
        let d = format!("sha256:{HEX}");
        let got = c.resolve_short_name(&short(&format!("busybox@{d}")));
        assert!(got.is_ok_and(|v| v[0].digest.as_deref() == Some(d.as_str())));
    }

    #[test]
    fn resolve_qualified_name_returns_it_unchanged() {
        let c = conf("unqualified-search-registries = [\"quay.io\"]\n");
        let p = short("example.com/a:1");
        assert!(c
            .resolve_short_name(&p)
            .is_ok_and(|v| v == vec![r("example.com/a:1")]));
    }

    #[test]
    fn invalid_aliases_are_rejected() {
        for (k, v) in [
            ("busybox:1", "docker.io/library/busybox"),
            ("quay.io/busybox", "docker.io/library/busybox"),
            ("localhost/busybox", "docker.io/library/busybox"),
            ("busybox", "docker.io/library/busybox:1"),
            ("busybox", "busybox"),
        ] {
            let e = conf_err(&format!("[aliases]\n\"{k}\" = \"{v}\"\n"));
            assert!(e.contains("alias"), "{k}={v}: {e}");
        }
    }

    #[test]
    fn short_name_mode_parses_and_defaults_to_permissive() {
        assert_eq!(conf("").short_name_mode, ShortNameMode::Permissive);
        assert_eq!(
            conf("short-name-mode = \"enforcing\"").short_name_mode,
            ShortNameMode::Enforcing
        );
        assert_eq!(
            conf("short-name-mode = \"disabled\"").short_name_mode,
            ShortNameMode::Disabled
        );
        assert!(conf_err("short-name-mode = \"prompt\"").contains("short-name-mode"));
    }

    #[test]
    fn malformed_toml_names_file_line_and_column() {
        let e = conf_err("unqualified-search-registries = [\"a.io\"]\n[[registry]\n");
        assert!(e.contains("/test/registries.conf"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = conf_err("unqualified-search-registries = \"a.io\"\n");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn location_with_scheme_is_rejected() {
        let e = conf_err("[[registry]]\nlocation = \"https://a.io\"\n");
        assert!(e.contains("URI schemes"), "{e}");
    }

    #[test]
    fn missing_location_needs_wildcard_prefix() {
        assert!(conf_err("[[registry]]\nprefix = \"a.io\"\n").contains("no location"));
        assert!(conf_err("[[registry]]\ninsecure = true\n").contains("neither"));
        assert!(
            conf_err("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\n")
                .contains("no location")
        );
    }

    #[test]
    fn conflicting_security_settings_for_one_location_are_rejected() {
        let e = conf_err(
            r#"
[[registry]]
prefix = "a.io/x"
location = "b.io"
insecure = true
[[registry]]
prefix = "a.io/y"
location = "b.io"
"#,
        );
        assert!(e.contains("conflicting 'insecure'"), "{e}");
    }

    #[test]
    fn trailing_slashes_are_trimmed_and_duplicate_prefix_keeps_first() {
        let c = conf(
            r#"
[[registry]]
location = "a.io/"
insecure = true
[[registry]]
prefix = "a.io"
location = "a.io"
insecure = true
blocked = false
[[registry.mirror]]
location = "ignored.io"
"#,
        );
        assert_eq!(c.registries.len(), 1);
        assert_eq!(c.registries[0].location, "a.io");
        assert!(c.registries[0].mirrors.is_empty());
    }

    #[test]
    fn invalid_search_registry_is_rejected() {
        let e = conf_err("unqualified-search-registries = [\"not a host\"]\n");
        assert!(e.contains("not a host"), "{e}");
    }

    #[test]
    fn is_insecure_checks_registries_and_mirrors() {
        let c = conf(
            r#"
[[registry]]
location = "r.io"
insecure = true
[[registry]]
location = "s.io"
[[registry.mirror]]
location = "m.io:5000"
insecure = true
"#,
        );
        assert!(c.is_insecure("r.io"));
        assert!(!c.is_insecure("s.io"));
        assert!(c.is_insecure("m.io:5000"));
        assert!(!c.is_insecure("m.io"));
        assert!(!c.is_insecure("other.io"));
    }

    #[test]
    fn version_1_format_is_converted_in_main_file() {
        let c = conf(
            r#"
[registries.search]
registries = ['registry1.com', 'registry2.com']
[registries.insecure]
registries = ['registry3.com']
[registries.block]
registries = ['registry.untrusted.com']
"#,
        );
        assert_eq!(
            c.unqualified_search_registries,
            vec!["registry1.com", "registry2.com"]
        );
        assert!(c.is_insecure("registry3.com"));
        assert!(matches!(
            c.pull_sources(&r("registry.untrusted.com/a")),
            Err(RegistriesConfError::Blocked { .. })
        ));
    }

    #[test]
    fn mixing_version_1_and_2_is_rejected() {
        let e = conf_err(
            "unqualified-search-registries = [\"a.io\"]\n[registries.search]\nregistries = ['b.io']\n",
        );
        assert!(e.contains("mixing"), "{e}");
    }

    #[test]
    fn load_merges_drop_ins_in_order() {
        let dir = tempdir();
        let main = dir.path().join("registries.conf");
        let d1 = dir.path().join("d/10-a.conf");
        let d2 = dir.path().join("d/20-b.conf");
        write(
            &main,
            r#"
unqualified-search-registries = ["a.io", "b.io"]
short-name-mode = "enforcing"
[[registry]]
location = "x.io"
insecure = true
[aliases]
"one" = "a.io/one"
"two" = "a.io/two"
"#,
        );
        write(
            &d1,
            r#"
unqualified-search-registries = ["c.io"]
[[registry]]
location = "x.io"
[[registry]]
location = "y.io"
blocked = true
[aliases]
"two" = ""
"three" = "c.io/three"
"#,
        );
        write(&d2, "short-name-mode = \"disabled\"\n");
        let c = match RegistriesConf::load(&[main.clone(), d1.clone(), d2.clone()]) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.unqualified_search_registries, vec!["c.io"]);
        assert_eq!(c.unqualified_search_registries_origin, Some(d1.clone()));
        assert_eq!(c.short_name_mode, ShortNameMode::Disabled);
        assert!(!c.is_insecure("x.io"), "drop-in replaced the x.io table");
        assert!(c.find_registry("y.io/a").is_some_and(|r| r.blocked));
        assert_eq!(c.alias_for("one"), Some("a.io/one"));
        assert_eq!(c.alias_for("two"), None);
        assert_eq!(c.alias_for("three"), Some("c.io/three"));
        assert_eq!(c.files, vec![main, d1.clone(), d2]);
        let blocked = c.pull_sources(&r("y.io/a")).err().map(|e| e.to_string());
        assert!(blocked.is_some_and(|m| m.contains(&d1.display().to_string())));
    }

    #[test]
    fn load_skips_missing_files() {
        let dir = tempdir();
        let c = RegistriesConf::load(&[dir.path().join("nope.conf")]);
        assert!(c.is_ok_and(|c| c == RegistriesConf::default()));
    }

    #[test]
    fn load_error_names_the_malformed_file() {
        let dir = tempdir();
        let bad = dir.path().join("bad.conf");
        write(&bad, "x = [\n");
        let e = RegistriesConf::load(&[dir.path().join("missing"), bad.clone()]);
        match e {
            Err(RegistriesConfError::Parse { path, line, .. }) => {
                assert_eq!(path, bad);
                assert!(line >= 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn drop_ins_must_use_version_2() {
        let dir = tempdir();
        let d = dir.path().join("d.conf");
        write(&d, "[registries.search]\nregistries = ['a.io']\n");
        let e = RegistriesConf::load(&[dir.path().join("main"), d]);
        assert!(e.is_err_and(|e| e.to_string().contains("version 2")));
    }

    #[test]
    fn default_paths_use_system_file_and_both_drop_in_dirs() {
        let dir = tempdir();
        let etc_file = dir.path().join("etc/registries.conf");
        let etc_dir = dir.path().join("etc/registries.conf.d");
        let home = dir.path().join("home");
        write(&etc_dir.join("b.conf"), "");
        write(&etc_dir.join("a.conf"), "");
        write(&etc_dir.join("skip.txt"), "");
        write(&etc_dir.join("sub.conf/inner.conf"), "");
        write(&home.join(USER_REGISTRIES_CONF_DIR).join("u.conf"), "");
        let got = paths_for(None, Some(&home), &etc_file, &etc_dir);
        let want = vec![
            etc_file.clone(),
            etc_dir.join("a.conf"),
            etc_dir.join("b.conf"),
            home.join(USER_REGISTRIES_CONF_DIR).join("u.conf"),
        ];
        assert!(got.is_ok_and(|g| g == want));
    }

    #[test]
    fn user_file_replaces_system_file_and_system_drop_ins() {
        let dir = tempdir();
        let etc_file = dir.path().join("etc/registries.conf");
        let etc_dir = dir.path().join("etc/registries.conf.d");
        let home = dir.path().join("home");
        write(&etc_dir.join("a.conf"), "");
        write(&home.join(USER_REGISTRIES_CONF), "");
        write(&home.join(USER_REGISTRIES_CONF_DIR).join("u.conf"), "");
        let got = paths_for(None, Some(&home), &etc_file, &etc_dir);
        let want = vec![
            home.join(USER_REGISTRIES_CONF),
            home.join(USER_REGISTRIES_CONF_DIR).join("u.conf"),
        ];
        assert!(got.is_ok_and(|g| g == want));
    }

    #[test]
    fn env_file_replaces_main_file_but_keeps_drop_ins() {
        let dir = tempdir();
        let etc_file = dir.path().join("etc/registries.conf");
        let etc_dir = dir.path().join("etc/registries.conf.d");
        let home = dir.path().join("home");
        let explicit = dir.path().join("custom.conf");
        write(&etc_dir.join("a.conf"), "");
        write(&home.join(USER_REGISTRIES_CONF), "");
        let got = paths_for(Some(explicit.clone()), Some(&home), &etc_file, &etc_dir);
        assert!(got.is_ok_and(|g| g == vec![explicit, etc_dir.join("a.conf")]));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
