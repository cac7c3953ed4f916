//! Listing what a registry holds: the repository catalog (`/v2/_catalog`) and a
//! repository's tags (`/v2/<name>/tags/list`), following `Link` pagination. `search`
//! is built on these for registries other than Docker Hub.

use crate::client::{RegistryClient, RegistryError};
use reqwest::header;

/// Most bytes one page of a listing may have.
const MAX_PAGE: usize = 4 << 20;
/// Entries asked for per page.
const PAGE: usize = 100;

/// Where Docker Hub answers searches.
const HUB_INDEX: &str = "index.docker.io";

/// One hit of Docker Hub's search index.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct HubHit {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

#[derive(serde::Deserialize)]
struct HubPage {
    #[serde(default)]
    results: Vec<HubHit>,
}

#[derive(serde::Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every repository the registry lists, until `keep` has accepted `limit` of them.
    pub async fn catalog(
        &self,
        limit: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, RegistryError> {
        let first = format!("{}/v2/_catalog?n={PAGE}", self.base());
        let what = format!("{}: catalog", self.host());
        let mut out = Vec::new();
        self.pages(&first, &what, |body| {
            let page: Catalog = parse(self.host(), &what, body)?;
            for repo in page.repositories {
                if out.len() < limit && keep(&repo) {
                    out.push(repo);
                }
            }
            Ok(out.len() < limit)
        })
        .await?;
        Ok(out)
    }

    /// The repository's tags, at most `limit` of them.
    pub async fn tags(&self, limit: usize) -> Result<Vec<String>, RegistryError> {
        let first = format!("{}?n={PAGE}", self.url("tags/list"));
        let what = format!("{}/{}: tags", self.host(), self.repository());
        let mut out = Vec::new();
        self.pages(&first, &what, |body| {
            let page: Tags = parse(self.host(), &what, body)?;
            for tag in page.tags.unwrap_or_default() {
                if out.len() < limit {
                    out.push(tag);
                }
            }
            Ok(out.len() < limit)
        })
        .await?;
        Ok(out)
    }

    /// Docker Hub's search index (`/v1/search` on index.docker.io): hits for `term`.
    pub async fn hub_search(&self, term: &str, limit: usize) -> Result<Vec<HubHit>, RegistryError> {
        let url = format!("https://{HUB_INDEX}/v1/search");
        let what = format!("{HUB_INDEX}: search");
        let n = limit.to_string();
        let resp = self
            .send(&what, || {
                self.http().get(&url).query(&[("q", term), ("n", &n)])
            })
            .await?;
        let body = self.read_limited(&what, resp, MAX_PAGE).await?;
        let mut page: HubPage = parse(HUB_INDEX, &what, &body)?;
        page.results.truncate(limit);
        Ok(page.results)
    }

    /// Fetches `first` and each page its `Link: <…>; rel="next"` leads to, while `each`
    /// wants more. A page may only lead to a path on the same registry.
    async fn pages(
        &self,
        first: &str,
        what: &str,
        mut each: impl FnMut(&[u8]) -> Result<bool, RegistryError>,
    ) -> Result<(), RegistryError> {
        let mut url = first.to_string();
        // A registry that keeps linking to pages is cut off rather than followed forever.
        for _ in 0..10_000 {
            let resp = self.send(what, || self.http().get(&url)).await?;
            let next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = self.read_limited(what, resp, MAX_PAGE).await?;
            if !each(&body)? {
                return Ok(());
            }
            match next {
                Some(path) => url = format!("{}{path}", self.base()),
                None => return Ok(()),
            }
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    host: &str,
    what: &str,
    body: &[u8],
) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError::Status {
        host: host.to_string(),
        status: 200,
        url: what.to_string(),
        detail: format!(": unreadable listing: {e}"),
    })
}

/// The path of the `rel="next"` link: only a path (`/v2/…`), never another host.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        (is_next && target.starts_with("/v2/") && !target.contains("//")).then(|| target.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_takes_only_a_same_registry_path() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=100>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=b&n=100")
        );
        assert_eq!(
            next_link(r#"<https://evil.example/v2/_catalog>; rel="next""#),
            None
        );
        assert_eq!(next_link(r#"</v2/_catalog?last=b>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn hub_page_reads_docker_hub_fields() {
        let body = br#"{"num_results":1,"query":"busybox","results":[{"name":"busybox","description":"Busybox base image.","star_count":3000,"is_official":true,"is_automated":false}]}"#;
        let page: HubPage = parse("h", "w", body).expect("parses");
        assert_eq!(page.results[0].name, "busybox");
        assert_eq!(page.results[0].star_count, 3000);
        assert!(page.results[0].is_official);
    }
}
