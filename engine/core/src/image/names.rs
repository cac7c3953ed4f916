//! How names users type map to images in the store: IDs and ID prefixes, full
//! references, repo digests, and short names matched the way Podman matches them
//! (`localhost/`, the search registries, then any repository ending in the name).

use crate::store::db;
use berth_registry::reference::{ParsedName, Reference, ReferenceError};
use berth_registry::registries_conf::RegistriesConf;
use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}: image not known")]
    NotFound(String),
    #[error("{name}: ambiguous image ID prefix, matches {count} images")]
    Ambiguous { name: String, count: usize },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

/// Whether `s` could be an image ID or an ID prefix.
pub fn looks_like_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    !hex.is_empty()
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The image `name` refers to, or `None`.
pub fn find_image(
    conn: &Connection,
    conf: &RegistriesConf,
    name: &str,
) -> Result<Option<String>, LookupError> {
    if let Some(id) = find_by_name(conn, conf, name)? {
        return Ok(Some(id));
    }
    if looks_like_id(name) {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        let ids = db::images_by_id_prefix(conn, hex)?;
        return match ids.len() {
            0 => Ok(None),
            1 => Ok(ids.into_iter().next()),
            count => Err(LookupError::Ambiguous {
                name: name.to_string(),
                count,
            }),
        };
    }
    Ok(None)
}

/// Like [`find_image`] but a missing image is an error naming it.
pub fn require_image(
    conn: &Connection,
    conf: &RegistriesConf,
    name: &str,
) -> Result<String, LookupError> {
    find_image(conn, conf, name)?.ok_or_else(|| LookupError::NotFound(name.to_string()))
}

/// Resolves `name` as a reference (not an ID). Returns the image and the stored name matched.
pub fn find_by_name(
    conn: &Connection,
    conf: &RegistriesConf,
    name: &str,
) -> Result<Option<String>, LookupError> {
    Ok(find_name(conn, conf, name)?.map(|(id, _)| id))
}

/// The image and the exact stored name (or repo digest) `name` matched.
pub fn find_name(
    conn: &Connection,
    conf: &RegistriesConf,
    name: &str,
) -> Result<Option<(String, String)>, LookupError> {
    let parsed = match Reference::parse_short(name) {
        Ok(p) => p,
        // An ID prefix such as "0a1b" also parses; anything else unparsable is simply not a name.
        Err(_) => return Ok(None),
    };
    match parsed {
        ParsedName::Qualified(r) => exact(conn, &r.with_default_tag()),
        ParsedName::Short {
            repository,
            tag,
            digest,
        } => {
            let mut candidates = vec![Reference::with_registry(
                "localhost",
                &repository,
                tag.as_deref(),
                digest.as_deref(),
            )?];
            if let Ok(refs) = conf.resolve_short_name(&ParsedName::Short {
                repository: repository.clone(),
                tag: tag.clone(),
                digest: digest.clone(),
            }) {
                candidates.extend(refs);
            }
            if !conf
                .unqualified_search_registries
                .iter()
                .any(|r| r == "docker.io")
            {
                if let Ok(r) = Reference::with_registry(
                    "docker.io",
                    &repository,
                    tag.as_deref(),
                    digest.as_deref(),
                ) {
                    candidates.push(r);
                }
            }
            for c in candidates {
                if let Some(found) = exact(conn, &c.with_default_tag())? {
                    return Ok(Some(found));
                }
            }
            // Any stored name whose repository ends with "/<repository>".
            let suffix_tag = format!("/{}:{}", repository, tag.as_deref().unwrap_or("latest"));
            if let Some(d) = &digest {
                let suffix = format!("/{repository}@{d}");
                for img in db::list_images(conn)? {
                    if let Some(rd) = img.repo_digests.iter().find(|rd| rd.ends_with(&suffix)) {
                        return Ok(Some((img.id.clone(), rd.clone())));
                    }
                }
                return Ok(None);
            }
            Ok(db::all_names(conn)?
                .into_iter()
                .find(|(n, _)| n.ends_with(&suffix_tag))
                .map(|(n, id)| (id, n)))
        }
    }
}

fn exact(conn: &Connection, r: &Reference) -> Result<Option<(String, String)>, LookupError> {
    if let Some(d) = &r.digest {
        let rd = format!("{}@{}", r.name(), d);
        return Ok(db::image_by_repo_digest(conn, &rd)?.map(|id| (id, rd)));
    }
    let n = r.to_string();
    Ok(db::image_by_name(conn, &n)?.map(|id| (id, n)))
}

/// The stored form of a name given to `tag` or `pull`: qualified, tagged; short names get `localhost/`.
pub fn normalize_new_name(name: &str) -> Result<String, LookupError> {
    let r = match Reference::parse_short(name)? {
        ParsedName::Qualified(r) => r,
        ParsedName::Short {
            repository,
            tag,
            digest,
        } => Reference::with_registry("localhost", &repository, tag.as_deref(), digest.as_deref())?,
    };
    if r.digest.is_some() {
        return Err(LookupError::Reference(ReferenceError::InvalidFormat {
            reference: name.to_string(),
            reason: "a tag cannot contain a digest".into(),
        }));
    }
    Ok(r.with_default_tag().to_string())
}

/// Splits a stored name into repository and tag (`<none>` when absent), for listings.
pub fn split_repo_tag(name: &str) -> (String, String) {
    match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => {
            (name[..i].to_string(), name[i + 1..].to_string())
        }
        _ => (name.to_string(), "<none>".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_repo_tag_handles_ports_and_missing_tags() {
        assert_eq!(
            split_repo_tag("localhost:5000/a/b:1"),
            ("localhost:5000/a/b".into(), "1".into())
        );
        assert_eq!(
            split_repo_tag("localhost:5000/a/b"),
            ("localhost:5000/a/b".into(), "<none>".into())
        );
    }

    #[test]
    fn ids_are_recognised() {
        assert!(looks_like_id("0a1b2c"));
        assert!(looks_like_id(&format!("sha256:{}", "a".repeat(64))));
        assert!(!looks_like_id("busybox"));
        assert!(!looks_like_id(&"a".repeat(65)));
    }
}
