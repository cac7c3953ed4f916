//! `search`: a term is looked for in the repository catalog of each unqualified-search
//! registry (or of the one registry the term names, `host/term`), Docker Hub through its
//! search index; `--list-tags` lists a repository's tags instead. Hits are filtered by
//! stars, official and automated, as Podman does.

use crate::engine::LocalEngine;
use crate::image::push::registry_err;
use berth_registry::reference::{ParsedName, Reference};
use berth_registry::{Endpoint, RegistryClient};
use berth_types::image::{SearchRequest, SearchResult};
use berth_types::{EngineError, ErrorKind, Result};

/// Results per registry when the request names no limit (Podman's and Docker's).
const DEFAULT_LIMIT: usize = 25;

/// What `--filter` keeps.
#[derive(Debug, Default, PartialEq)]
struct Filters {
    stars: u64,
    official: Option<bool>,
    automated: Option<bool>,
}

fn parse_filters(filters: &[String]) -> Result<Filters> {
    let mut out = Filters::default();
    for f in filters {
        let bad = || {
            EngineError::invalid(format!(
                "invalid filter {f:?}: want stars=N, is-official=BOOL or is-automated=BOOL"
            ))
        };
        let (key, value) = f.split_once('=').ok_or_else(bad)?;
        match key {
            "stars" => out.stars = value.parse().map_err(|_| bad())?,
            "is-official" => out.official = Some(value.parse().map_err(|_| bad())?),
            "is-automated" => out.automated = Some(value.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

impl Filters {
    fn keep(&self, r: &SearchResult) -> bool {
        r.stars >= self.stars
            && self.official.is_none_or(|o| o == r.official)
            && self.automated.is_none_or(|a| a == r.automated)
    }
}

/// Where to look and for what: (registry, term) pairs.
fn targets(engine: &LocalEngine, term: &str) -> Result<Vec<(String, String)>> {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            return Ok(vec![(first.to_string(), rest.to_string())]);
        }
    }
    let conf = engine.registries_conf()?;
    if conf.unqualified_search_registries.is_empty() {
        return Err(EngineError::invalid(format!(
            "no registry to search for {term:?}: name one (REGISTRY/{term}) or set unqualified-search-registries in registries.conf"
        )));
    }
    Ok(conf
        .unqualified_search_registries
        .iter()
        .map(|r| (r.clone(), term.to_string()))
        .collect())
}

pub fn search(engine: &LocalEngine, req: &SearchRequest) -> Result<Vec<SearchResult>> {
    let filters = parse_filters(&req.filters)?;
    let limit = if req.limit == 0 {
        DEFAULT_LIMIT
    } else {
        req.limit
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("starting I/O runtime: {e}")))?;
    if req.list_tags {
        return runtime.block_on(list_tags(engine, req, limit));
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (registry, term) in targets(engine, &req.term)? {
        match runtime.block_on(search_one(engine, req, &registry, &term, limit, &filters)) {
            Ok(mut hits) => results.append(&mut hits),
            Err(e) => errors.push(e),
        }
    }
    // As Podman: a registry that fails is only an error when none answered.
    match errors.into_iter().next() {
        Some(e) if results.is_empty() => Err(e),
        _ => Ok(results),
    }
}

async fn connect(
    engine: &LocalEngine,
    req: &SearchRequest,
    registry: &str,
    repository: &str,
) -> Result<RegistryClient> {
    let ctx = engine.ctx()?;
    let creds = match &req.registry.credentials {
        Some((u, p)) => Some(berth_registry::auth::Credentials::new(u, p)),
        None => ctx
            .credentials_for(registry, repository, req.registry.authfile.as_deref())
            .map_err(|e| EngineError::from_chain(ErrorKind::InvalidArgument, e.as_ref()))?,
    };
    let endpoint = Endpoint {
        host: registry.to_string(),
        insecure: req.registry.tls_verify == Some(false) || ctx.registries.is_insecure(registry),
        cert_dir: req.registry.cert_dir.clone(),
    };
    RegistryClient::connect(&endpoint, repository, creds, false)
        .await
        .map_err(registry_err)
}

async fn search_one(
    engine: &LocalEngine,
    req: &SearchRequest,
    registry: &str,
    term: &str,
    limit: usize,
    filters: &Filters,
) -> Result<Vec<SearchResult>> {
    let client = connect(engine, req, registry, "").await?;
    if registry == "docker.io" {
        let hits = client.hub_search(term, limit).await.map_err(registry_err)?;
        return Ok(hits
            .into_iter()
            .map(|h| SearchResult {
                index: registry.to_string(),
                name: format!("{registry}/{}", h.name),
                description: h.description,
                stars: h.star_count,
                official: h.is_official,
                automated: h.is_automated,
                tag: String::new(),
            })
            .filter(|r| filters.keep(r))
            .collect());
    }
    // Catalog entries carry no stars and are neither official nor automated.
    let template = SearchResult {
        index: registry.to_string(),
        ..SearchResult::default()
    };
    if !filters.keep(&template) {
        return Ok(Vec::new());
    }
    let repos = client
        .catalog(limit, |repo| repo.contains(term))
        .await
        .map_err(registry_err)?;
    Ok(repos
        .into_iter()
        .map(|repo| SearchResult {
            name: format!("{registry}/{repo}"),
            ..template.clone()
        })
        .collect())
}

async fn list_tags(
    engine: &LocalEngine,
    req: &SearchRequest,
    limit: usize,
) -> Result<Vec<SearchResult>> {
    let reference = match Reference::parse_short(&req.term) {
        Ok(ParsedName::Qualified(r)) => r,
        Ok(ParsedName::Short { .. }) => {
            return Err(EngineError::invalid(format!(
                "--list-tags needs a fully qualified repository (REGISTRY/NAME), not {:?}",
                req.term
            )))
        }
        Err(e) => return Err(EngineError::from_chain(ErrorKind::InvalidArgument, &e)),
    };
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(EngineError::invalid(format!(
            "{}: --list-tags takes a repository without a tag or digest",
            req.term
        )));
    }
    let client = connect(engine, req, &reference.registry, &reference.repository).await?;
    let tags = client.tags(limit).await.map_err(registry_err)?;
    let name = format!("{}/{}", reference.registry, reference.repository);
    Ok(tags
        .into_iter()
        .map(|tag| SearchResult {
            index: reference.registry.clone(),
            name: name.clone(),
            tag,
            ..SearchResult::default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_keep() {
        let f = parse_filters(&["stars=3".into(), "is-official=true".into()]).expect("valid");
        assert_eq!(
            f,
            Filters {
                stars: 3,
                official: Some(true),
                automated: None
            }
        );
        let hit = SearchResult {
            stars: 5,
            official: true,
            ..SearchResult::default()
        };
        assert!(f.keep(&hit));
        assert!(!f.keep(&SearchResult::default()));
        for bad in ["stars=x", "is-official=maybe", "color=red", "stars"] {
            let e = parse_filters(&[bad.into()]).expect_err(bad);
            assert!(e.message.contains(bad), "{}", e.message);
        }
    }
}
