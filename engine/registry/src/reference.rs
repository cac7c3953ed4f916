//! Image references (`registry/repository[:tag][@digest]`) parsed the way
//! Podman and Docker parse them.
//!
//! The grammar is the one of the `distribution/reference` package:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] path
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! path             := path-component ['/' path-component]*
//! path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! ```
//!
//! Berth only accepts `sha256` digests (`sha256:` followed by exactly 64
//! lowercase hexadecimal characters); every other algorithm is rejected
//! with [`ReferenceError::UnsupportedDigestAlgorithm`].
//!
//! The first path element is a registry when it contains a `.` or a `:`, is
//! `localhost`, or contains an uppercase letter (path components must be
//! lowercase, so `distribution/reference` treats such an element as a host
//! name). Anything else is a *short name* that still needs resolving through
//! `registries.conf` (see [`crate::registries_conf`]).
//!
//! Docker Hub is normalised: `index.docker.io` and `registry-1.docker.io`
//! become `docker.io`, and single-component Docker Hub repositories get the
//! `library/` namespace (`docker.io/busybox` is `docker.io/library/busybox`).
//!
//! Nothing here does any network or file-system I/O.

use std::fmt;
use std::str::FromStr;

/// Canonical name of Docker Hub in references.
pub const DOCKER_HUB: &str = "docker.io";
/// Host that serves the Docker Hub registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// Legacy Docker Hub name ("the Docker Index"), normalised to [`DOCKER_HUB`].
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// Namespace of Docker Hub's official images.
pub const DOCKER_HUB_OFFICIAL_NAMESPACE: &str = "library";
/// Tag used when a reference has neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of the name part (`registry/repository`) of a reference.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Maximum length of a tag.
pub const TAG_LENGTH_MAX: usize = 128;

/// Why a reference string was rejected. Every variant carries the
/// reference string that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The input was empty.
    #[error("invalid reference format: reference is empty")]
    Empty,
    /// The string does not follow the reference grammar.
    #[error("invalid reference format {reference:?}: {reason}")]
    InvalidFormat {
        /// The reference string that failed.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A repository path component contains uppercase letters.
    #[error("invalid reference format {reference:?}: repository name must be lowercase")]
    Uppercase {
        /// The reference string that failed.
        reference: String,
    },
    /// The name part is longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error(
        "invalid reference format {reference:?}: repository name must not be more than \
         {NAME_TOTAL_LENGTH_MAX} characters (it is {length})"
    )]
    NameTooLong {
        /// The reference string that failed.
        reference: String,
        /// Length of the name part.
        length: usize,
    },
    /// The registry host is not a valid host name or bracketed IPv6 address.
    #[error("invalid reference format {reference:?}: invalid registry host {host:?}")]
    InvalidHost {
        /// The reference string that failed.
        reference: String,
        /// The host part that failed.
        host: String,
    },
    /// The registry port is not a number between 1 and 65535.
    #[error("invalid reference format {reference:?}: invalid registry port {port:?}")]
    InvalidPort {
        /// The reference string that failed.
        reference: String,
        /// The port text that failed.
        port: String,
    },
    /// The tag does not match `[\w][\w.-]{0,127}`.
    #[error(
        "invalid reference format {reference:?}: invalid tag {tag:?} (a tag is 1 to 128 of \
         [A-Za-z0-9_.-] and must not start with '.' or '-')"
    )]
    InvalidTag {
        /// The reference string that failed.
        reference: String,
        /// The tag that failed.
        tag: String,
    },
    /// The digest is not `sha256:` followed by 64 lowercase hex characters.
    #[error(
        "invalid reference format {reference:?}: invalid digest {digest:?} (expected sha256: \
         followed by 64 lowercase hexadecimal characters)"
    )]
    InvalidDigest {
        /// The reference string that failed.
        reference: String,
        /// The digest that failed.
        digest: String,
    },
    /// The digest uses an algorithm other than `sha256`.
    #[error(
        "invalid reference format {reference:?}: unsupported digest algorithm {algorithm:?} \
         (only sha256 is supported)"
    )]
    UnsupportedDigestAlgorithm {
        /// The reference string that failed.
        reference: String,
        /// The algorithm that was given.
        algorithm: String,
    },
    /// A 64-character hexadecimal string was given where a name was expected.
    #[error("invalid repository name {reference:?}: cannot specify 64-byte hexadecimal strings")]
    HexIdentifier {
        /// The reference string that failed.
        reference: String,
    },
    /// [`Reference::parse`] was given a short name (no registry).
    #[error(
        "{reference:?} is not a fully-qualified image reference: the first component must be \
         a registry (contain '.' or ':' or be 'localhost')"
    )]
    NotQualified {
        /// The reference string that failed.
        reference: String,
    },
}

/// A fully-qualified image reference.
///
/// `registry` is `host[:port]` (Docker Hub is always `docker.io`), and
/// `repository` is the slash-separated path (`library/busybox`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `host[:port]` of the registry, e.g. `quay.io` or `localhost:5000`.
    pub registry: String,
    /// Repository path within the registry, e.g. `library/busybox`.
    pub repository: String,
    /// Tag, e.g. `latest`.
    pub tag: Option<String>,
    /// Digest, always `sha256:<64 lowercase hex>`.
    pub digest: Option<String>,
}

/// Result of [`Reference::parse_short`]: either a fully-qualified reference
/// or a short name that still has to be resolved against registries.conf.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParsedName {
    /// The first component named a registry.
    Qualified(Reference),
    /// No registry was given (`busybox`, `library/busybox:1.0`).
    Short {
        /// Repository path exactly as written (no `library/` added).
        repository: String,
        /// Tag, if one was given.
        tag: Option<String>,
        /// Digest, if one was given.
        digest: Option<String>,
    },
}

impl ParsedName {
    /// Whether this is a short name.
    pub fn is_short(&self) -> bool {
        matches!(self, ParsedName::Short { .. })
    }
}

/// The pieces of a reference string before normalisation.
struct RawParts<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl Reference {
    /// Parses a fully-qualified reference such as `localhost:5000/a/b:tag`,
    /// `quay.io/x/y@sha256:<64 hex>` or `registry/x:tag@sha256:<64 hex>`.
    ///
    /// Short names (`busybox`, `library/busybox`) are rejected with
    /// [`ReferenceError::NotQualified`]; use [`Reference::parse_short`] or
    /// [`Reference::parse_normalized`] for those.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        match Self::parse_short(s)? {
            ParsedName::Qualified(r) => Ok(r),
            ParsedName::Short { .. } => Err(ReferenceError::NotQualified {
                reference: s.to_string(),
            }),
        }
    }

    /// Parses a reference that may be a short name. Returns
    /// [`ParsedName::Qualified`] when the first component is a registry and
    /// [`ParsedName::Short`] otherwise.
    pub fn parse_short(s: &str) -> Result<ParsedName, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if is_hex_identifier(s) {
            return Err(ReferenceError::HexIdentifier {
                reference: s.to_string(),
            });
        }
        let raw = split_and_validate(s)?;
        let tag = raw.tag.map(str::to_string);
        let digest = raw.digest.map(str::to_string);
        match raw.domain {
            Some(domain) => Ok(ParsedName::Qualified(normalize(
                domain, raw.path, tag, digest,
            ))),
            None => Ok(ParsedName::Short {
                repository: raw.path.to_string(),
                tag,
                digest,
            }),
        }
    }

    /// Parses a reference the way `docker pull` does: a short name is taken
    /// to live on Docker Hub (`busybox` is `docker.io/library/busybox`).
    /// Podman does not do this (it consults registries.conf); use it only for
    /// Docker-compatible APIs.
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        match Self::parse_short(s)? {
            ParsedName::Qualified(r) => Ok(r),
            ParsedName::Short {
                repository,
                tag,
                digest,
            } => Ok(normalize(DOCKER_HUB, &repository, tag, digest)),
        }
    }

    /// Builds a Docker Hub reference for `repository` (no tag or digest),
    /// adding the `library/` namespace for single-component names.
    pub fn docker_hub(repository: &str) -> Result<Reference, ReferenceError> {
        if repository.is_empty() {
            return Err(ReferenceError::Empty);
        }
        validate_path(repository, repository)?;
        let full_len = DOCKER_HUB.len() + 1 + repository.len();
        if full_len > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong {
                reference: repository.to_string(),
                length: full_len,
            });
        }
        Ok(normalize(DOCKER_HUB, repository, None, None))
    }

    /// Builds a reference on `registry` for a short-name `repository`,
    /// validating the combination and applying Docker Hub normalisation.
    /// Used when resolving short names against search registries.
    pub fn with_registry(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Reference, ReferenceError> {
        let mut s = format!("{registry}/{repository}");
        if let Some(t) = tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = digest {
            s.push('@');
            s.push_str(d);
        }
        if registry.is_empty() {
            return Err(ReferenceError::InvalidHost {
                reference: s,
                host: String::new(),
            });
        }
        // The registry is given explicitly, so it need not "look like" a
        // domain (a search registry may be a dot-less host name).
        validate_domain(&s, registry)?;
        if repository.is_empty() {
            return Err(ReferenceError::InvalidFormat {
                reference: s,
                reason: "repository name is empty".to_string(),
            });
        }
        validate_path(&s, repository)?;
        let name_len = registry.len() + 1 + repository.len();
        if name_len > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong {
                reference: s,
                length: name_len,
            });
        }
        if let Some(t) = tag {
            if !is_valid_tag(t) {
                return Err(ReferenceError::InvalidTag {
                    reference: s.clone(),
                    tag: t.to_string(),
                });
            }
        }
        if let Some(d) = digest {
            validate_digest(&s, d)?;
        }
        Ok(normalize(
            registry,
            repository,
            tag.map(str::to_string),
            digest.map(str::to_string),
        ))
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Adds the `latest` tag when the reference has neither a tag nor a digest.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// Whether the reference points at Docker Hub.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }

    /// Host (with port) to contact for the registry API:
    /// `registry-1.docker.io` for Docker Hub, the registry itself otherwise.
    pub fn api_host(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// What to ask the registry for in a manifest request: the digest when
    /// there is one, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }
}

impl fmt::Display for Reference {
    /// Canonical form: `registry/repo[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Applies Docker Hub normalisation to already-validated pieces.
fn normalize(domain: &str, path: &str, tag: Option<String>, digest: Option<String>) -> Reference {
    let registry = match domain {
        DOCKER_HUB_LEGACY | DOCKER_HUB_API_HOST => DOCKER_HUB,
        other => other,
    };
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("{DOCKER_HUB_OFFICIAL_NAMESPACE}/{path}")
    } else {
        path.to_string()
    };
    Reference {
        registry: registry.to_string(),
        repository,
        tag,
        digest,
    }
}

/// Splits `s` into domain, path, tag and digest and validates each piece.
fn split_and_validate(s: &str) -> Result<RawParts<'_>, ReferenceError> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    // A tag can only follow the last '/', so a ':' before it is a port.
    let last_slash = rest.rfind('/');
    let tag_colon = rest
        .rfind(':')
        .filter(|&c| last_slash.is_none_or(|sl| c > sl));
    let (name, tag) = match tag_colon {
        Some(c) => (&rest[..c], Some(&rest[c + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(ReferenceError::InvalidFormat {
            reference: s.to_string(),
            reason: "repository name is empty".to_string(),
        });
    }
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong {
            reference: s.to_string(),
            length: name.len(),
        });
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, remainder)) if looks_like_domain(first) => (Some(first), remainder),
        _ => (None, name),
    };
    if let Some(d) = domain {
        validate_domain(s, d)?;
    }
    validate_path(s, path)?;
    if let Some(t) = tag {
        if !is_valid_tag(t) {
            return Err(ReferenceError::InvalidTag {
                reference: s.to_string(),
                tag: t.to_string(),
            });
        }
    }
    if let Some(d) = digest {
        validate_digest(s, d)?;
    }
    Ok(RawParts {
        domain,
        path,
        tag,
        digest,
    })
}

/// Whether the first path element names a registry (as in
/// `distribution/reference`'s `splitDockerDomain`).
fn looks_like_domain(first: &str) -> bool {
    first == "localhost"
        || first.contains(['.', ':'])
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn validate_domain(reference: &str, domain: &str) -> Result<(), ReferenceError> {
    let host_err = || ReferenceError::InvalidHost {
        reference: reference.to_string(),
        host: domain.to_string(),
    };
    let (host, port) = if let Some(after_bracket) = domain.strip_prefix('[') {
        // Bracketed IPv6 address, optionally followed by :port.
        let close = after_bracket.find(']').ok_or_else(host_err)?;
        let addr = &after_bracket[..close];
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(host_err());
        }
        let after = &after_bracket[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(host_err()),
        };
        (None, port)
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(h) = host {
        if h.is_empty() || !h.split('.').all(is_domain_component) {
            return Err(host_err());
        }
    }
    if let Some(p) = port {
        let valid = !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n != 0);
        if !valid {
            return Err(ReferenceError::InvalidPort {
                reference: reference.to_string(),
                port: p.to_string(),
            });
        }
    }
    Ok(())
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        }
        _ => false,
    }
}

fn validate_path(reference: &str, path: &str) -> Result<(), ReferenceError> {
    if path.split('/').all(is_path_component) {
        return Ok(());
    }
    if path
        .split('/')
        .all(|c| is_path_component(&c.to_ascii_lowercase()))
    {
        return Err(ReferenceError::Uppercase {
            reference: reference.to_string(),
        });
    }
    Err(ReferenceError::InvalidFormat {
        reference: reference.to_string(),
        reason: format!(
            "invalid repository path {path:?} (components are [a-z0-9] separated by '.', '_', \
             '__' or dashes, joined by '/')"
        ),
    })
}

/// `[a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        // An alphanumeric run.
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // A separator.
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `[\w][\w.-]{0,127}` where `\w` is `[A-Za-z0-9_]`.
fn is_valid_tag(t: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = t.as_bytes();
    match b.first() {
        Some(&first) if word(first) => {
            b.len() <= TAG_LENGTH_MAX && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
        }
        _ => false,
    }
}

fn validate_digest(reference: &str, digest: &str) -> Result<(), ReferenceError> {
    let invalid = || ReferenceError::InvalidDigest {
        reference: reference.to_string(),
        digest: digest.to_string(),
    };
    let (algorithm, hex) = digest.split_once(':').ok_or_else(invalid)?;
    if algorithm != "sha256" {
        if is_digest_algorithm(algorithm) {
            return Err(ReferenceError::UnsupportedDigestAlgorithm {
                reference: reference.to_string(),
                algorithm: algorithm.to_string(),
            });
        }
        return Err(invalid());
    }
    if !is_hex_identifier(hex) {
        return Err(invalid());
    }
    Ok(())
}

/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*`
fn is_digest_algorithm(a: &str) -> bool {
    a.split(['-', '_', '+', '.']).all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric())
    })
}

/// Exactly 64 lowercase hexadecimal characters.
fn is_hex_identifier(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    fn digest() -> String {
        format!("sha256:{HEX}")
    }

    fn parse_ok(s: &str) -> Reference {
        match Reference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{s} should parse: {e}"),
        }
    }

    #[test]
    fn parses_localhost_with_port_and_tag() {
        let r = parse_ok("localhost:5000/a/b:tag");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("tag"));
        assert_eq!(r.digest, None);
    }

    #[test]
    fn parses_digest_reference() {
        let r = parse_ok(&format!("quay.io/x/y@{}", digest()));
        assert_eq!(r.registry, "quay.io");
        assert_eq!(r.repository, "x/y");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, Some(digest()));
    }

    #[test]
    fn parses_tag_and_digest_together() {
        let s = format!("registry.example.com/x:tag@{}", digest());
        let r = parse_ok(&s);
        assert_eq!(r.tag.as_deref(), Some("tag"));
        assert_eq!(r.digest, Some(digest()));
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn localhost_without_port_is_a_registry() {
        let r = parse_ok("localhost/img");
        assert_eq!(r.registry, "localhost");
        assert_eq!(r.repository, "img");
    }

    #[test]
    fn short_names_are_not_qualified() {
        for s in ["busybox", "library/busybox:1.0", "foo/bar"] {
            assert!(
                matches!(
                    Reference::parse(s),
                    Err(ReferenceError::NotQualified { .. })
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn parse_short_returns_short_for_unqualified_names() {
        assert_eq!(
            Reference::parse_short("busybox"),
            Ok(ParsedName::Short {
                repository: "busybox".into(),
                tag: None,
                digest: None
            })
        );
        assert_eq!(
            Reference::parse_short("library/busybox:1.0"),
            Ok(ParsedName::Short {
                repository: "library/busybox".into(),
                tag: Some("1.0".into()),
                digest: None
            })
        );
        assert_eq!(
            Reference::parse_short(&format!("foo/bar@{}", digest())),
            Ok(ParsedName::Short {
                repository: "foo/bar".into(),
                tag: None,
                digest: Some(digest())
            })
        );
    }

    #[test]
    fn parse_short_returns_qualified_when_first_component_is_registry() {
        for (s, reg) in [
            ("quay.io/a/b", "quay.io"),
            ("myhost:5000/a", "myhost:5000"),
            ("localhost/a", "localhost"),
        ] {
            match Reference::parse_short(s) {
                Ok(ParsedName::Qualified(r)) => assert_eq!(r.registry, reg),
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn bare_host_and_port_is_a_tagged_short_name() {
        // As in distribution/reference: with no '/', "localhost:5000" is
        // the repository "localhost" with tag "5000".
        assert_eq!(
            Reference::parse_short("localhost:5000"),
            Ok(ParsedName::Short {
                repository: "localhost".into(),
                tag: Some("5000".into()),
                digest: None
            })
        );
    }

    #[test]
    fn docker_hub_hosts_normalise_to_docker_io_with_library() {
        for s in [
            "docker.io/busybox",
            "index.docker.io/busybox",
            "registry-1.docker.io/busybox",
        ] {
            let r = parse_ok(s);
            assert_eq!(r.registry, "docker.io", "{s}");
            assert_eq!(r.repository, "library/busybox", "{s}");
        }
        let r = parse_ok("docker.io/user/app:1");
        assert_eq!(r.repository, "user/app");
    }

    #[test]
    fn docker_hub_constructor_adds_library_namespace() {
        assert_eq!(
            Reference::docker_hub("alpine").map(|r| r.to_string()),
            Ok("docker.io/library/alpine".to_string())
        );
        assert_eq!(
            Reference::docker_hub("user/app").map(|r| r.to_string()),
            Ok("docker.io/user/app".to_string())
        );
        assert!(Reference::docker_hub("Alpine").is_err());
    }

    #[test]
    fn parse_normalized_puts_short_names_on_docker_hub() {
        assert_eq!(
            Reference::parse_normalized("busybox:1").map(|r| r.to_string()),
            Ok("docker.io/library/busybox:1".to_string())
        );
        assert_eq!(
            Reference::parse_normalized("quay.io/a/b").map(|r| r.to_string()),
            Ok("quay.io/a/b".to_string())
        );
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(parse_ok("quay.io/a/b").to_string(), "quay.io/a/b");
        assert_eq!(parse_ok("quay.io/a/b:v1").to_string(), "quay.io/a/b:v1");
        assert_eq!(
            parse_ok(&format!("quay.io/a/b@{}", digest())).to_string(),
            format!("quay.io/a/b@{}", digest())
        );
    }

    #[test]
    fn name_is_registry_slash_repository() {
        assert_eq!(parse_ok("quay.io/a/b:v1").name(), "quay.io/a/b");
    }

    #[test]
    fn with_default_tag_adds_latest_only_when_untagged_and_undigested() {
        assert_eq!(
            parse_ok("quay.io/a").with_default_tag().tag.as_deref(),
            Some("latest")
        );
        assert_eq!(
            parse_ok("quay.io/a:v2").with_default_tag().tag.as_deref(),
            Some("v2")
        );
        let d = parse_ok(&format!("quay.io/a@{}", digest())).with_default_tag();
        assert_eq!(d.tag, None);
    }

    #[test]
    fn api_host_is_registry_1_for_docker_hub() {
        assert_eq!(
            parse_ok("docker.io/library/a").api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(parse_ok("quay.io/a").api_host(), "quay.io");
        assert_eq!(parse_ok("localhost:5000/a").api_host(), "localhost:5000");
    }

    #[test]
    fn uppercase_repository_is_rejected_as_not_lowercase() {
        for s in ["quay.io/Foo/bar", "Busybox", "library/Busybox"] {
            let e = Reference::parse_short(s);
            assert!(
                matches!(e, Err(ReferenceError::Uppercase { .. })),
                "{s}: {e:?}"
            );
        }
        let msg = Reference::parse("quay.io/Foo").map_err(|e| e.to_string());
        assert!(msg.is_err_and(|m| m.contains("repository name must be lowercase")));
    }

    #[test]
    fn uppercase_first_component_is_treated_as_registry() {
        // distribution/reference: uppercase namespaces are not allowed, so an
        // uppercase first element is taken to be a host name.
        match Reference::parse_short("MyHost/app") {
            Ok(ParsedName::Qualified(r)) => assert_eq!(r.registry, "MyHost"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_path_components_are_rejected() {
        for s in [
            "quay.io/a//b",
            "quay.io/-a",
            "quay.io/a-",
            "quay.io/a..b",
            "quay.io/a___b",
            "quay.io/a/",
            "quay.io/a b",
            "/a",
        ] {
            assert!(Reference::parse_short(s).is_err(), "{s}");
        }
        for s in ["quay.io/a__b", "quay.io/a---b", "quay.io/a.b_c-d"] {
            assert!(Reference::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn tag_grammar_is_enforced() {
        let long_ok = "a".repeat(128);
        let too_long = "a".repeat(129);
        assert!(Reference::parse(&format!("quay.io/a:{long_ok}")).is_ok());
        for t in [too_long.as_str(), ".x", "-x", "x+y", "x$", ""] {
            let e = Reference::parse(&format!("quay.io/a:{t}"));
            assert!(
                matches!(e, Err(ReferenceError::InvalidTag { .. })),
                "{t:?}: {e:?}"
            );
        }
        assert!(Reference::parse("quay.io/a:_X.1-2").is_ok());
    }

    #[test]
    fn digest_must_be_sha256_with_64_lowercase_hex() {
        let upper = HEX.to_uppercase();
        let short = &HEX[..63];
        for d in [
            format!("sha256:{upper}"),
            format!("sha256:{short}"),
            format!("sha256:{HEX}0"),
            "sha256".to_string(),
            String::new(),
        ] {
            let e = Reference::parse(&format!("quay.io/a@{d}"));
            assert!(
                matches!(e, Err(ReferenceError::InvalidDigest { .. })),
                "{d}: {e:?}"
            );
        }
    }

    #[test]
    fn other_digest_algorithms_are_rejected_clearly() {
        let e = Reference::parse(&format!("quay.io/a@sha512:{HEX}{HEX}"));
        assert_eq!(
            e,
            Err(ReferenceError::UnsupportedDigestAlgorithm {
                reference: format!("quay.io/a@sha512:{HEX}{HEX}"),
                algorithm: "sha512".into()
            })
        );
        assert!(e.is_err_and(|e| e.to_string().contains("only sha256")));
    }

    #[test]
    fn port_must_be_a_valid_number() {
        for s in ["host:0/a", "host:65536/a", "host:/a", "host:12a/a"] {
            let e = Reference::parse(s);
            assert!(
                matches!(e, Err(ReferenceError::InvalidPort { .. })),
                "{s}: {e:?}"
            );
        }
        assert!(Reference::parse("host:65535/a").is_ok());
    }

    #[test]
    fn ipv6_registry_is_accepted() {
        let r = parse_ok("[::1]:5000/a:t");
        assert_eq!(r.registry, "[::1]:5000");
        assert_eq!(r.repository, "a");
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert!(Reference::parse("[::1/a").is_err());
        assert!(Reference::parse("[zz]/a").is_err());
    }

    #[test]
    fn invalid_host_is_rejected() {
        for s in ["-bad.com/a", "bad-.com/a", "a..b.com/a", "a_b.com/a"] {
            let e = Reference::parse(s);
            assert!(
                matches!(e, Err(ReferenceError::InvalidHost { .. })),
                "{s}: {e:?}"
            );
        }
    }

    #[test]
    fn name_longer_than_255_is_rejected() {
        let ok = format!("quay.io/{}", "a".repeat(255 - 8));
        assert!(Reference::parse(&ok).is_ok());
        let long = format!("quay.io/{}", "a".repeat(255 - 7));
        assert!(matches!(
            Reference::parse(&long),
            Err(ReferenceError::NameTooLong { length: 256, .. })
        ));
    }

    #[test]
    fn hex_identifier_is_not_a_name() {
        assert!(matches!(
            Reference::parse_short(HEX),
            Err(ReferenceError::HexIdentifier { .. })
        ));
    }

    #[test]
    fn empty_and_separator_only_inputs_are_rejected() {
        assert_eq!(Reference::parse_short(""), Err(ReferenceError::Empty));
        for s in [":tag", "@sha256:abc", "quay.io/a@", "quay.io/a:"] {
            assert!(Reference::parse_short(s).is_err(), "{s}");
        }
    }

    #[test]
    fn errors_carry_the_reference_string() {
        let e = Reference::parse("quay.io/a:bad tag").err();
        assert!(e.is_some_and(|e| e.to_string().contains("quay.io/a:bad tag")));
    }

    #[test]
    fn with_registry_normalises_docker_hub() {
        let r = Reference::with_registry("docker.io", "busybox", Some("1"), None);
        assert_eq!(
            r.map(|r| r.to_string()),
            Ok("docker.io/library/busybox:1".to_string())
        );
        let r = Reference::with_registry("quay.io", "busybox", None, None);
        assert_eq!(r.map(|r| r.to_string()), Ok("quay.io/busybox".to_string()));
        assert!(Reference::with_registry("bad host", "busybox", None, None).is_err());
    }

    #[test]
    fn from_str_matches_parse() {
        let r: Result<Reference, _> = "quay.io/a:b".parse();
        assert_eq!(r, Reference::parse("quay.io/a:b"));
    }

    #[test]
    fn manifest_reference_prefers_digest_then_tag_then_latest() {
        assert_eq!(parse_ok("quay.io/a").manifest_reference(), "latest");
        assert_eq!(parse_ok("quay.io/a:v").manifest_reference(), "v");
        let d = digest();
        assert_eq!(
            parse_ok(&format!("quay.io/a:v@{d}")).manifest_reference(),
            d.as_str()
        );
    }
}
