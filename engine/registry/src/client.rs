//! The HTTP side of the OCI distribution protocol for one repository on one registry:
//! ping and scheme selection, Bearer/Basic authentication, manifests, blobs, uploads.

use crate::auth::Credentials;
use crate::challenge::{self, Challenge};
use crate::digest::Digest;
use crate::manifest::{MANIFEST_ACCEPT, MAX_MANIFEST_SIZE};
use crate::tls;
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::Mutex;

/// Where and how to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// `host[:port]` as it appears in image names.
    pub host: String,
    /// Skip TLS verification and allow plain HTTP.
    pub insecure: bool,
    pub cert_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("pinging container registry {host}")]
    Unreachable {
        host: String,
        source: reqwest::Error,
    },
    #[error(
        "{host}: authentication required (401 Unauthorized); log in with `berth login {host}`"
    )]
    Unauthorized { host: String },
    #[error("{host}: invalid username or password")]
    BadCredentials { host: String },
    #[error("{host}/{repository}: access denied (403 Forbidden)")]
    Denied { host: String, repository: String },
    #[error("{what}: not found in registry {host}")]
    NotFound { host: String, what: String },
    #[error("{host}: unexpected status {status} for {url}{detail}")]
    Status {
        host: String,
        status: u16,
        url: String,
        detail: String,
    },
    #[error("{host}: request for {url} failed")]
    Http {
        host: String,
        url: String,
        source: reqwest::Error,
    },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: larger than the {limit} bytes allowed")]
    TooLarge { what: String, limit: usize },
    #[error("{host}: token server answered without a token")]
    NoToken { host: String },
    #[error("TLS setup for {host}")]
    Tls { host: String, source: tls::TlsError },
    #[error("building HTTP client for {host}")]
    Client {
        host: String,
        source: reqwest::Error,
    },
}

impl RegistryError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

/// A connection to one repository of one registry, authenticated on demand.
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
    host: String,
    repository: String,
    credentials: Option<Credentials>,
    actions: &'static str,
    authorization: Mutex<Option<String>>,
}

/// The host registries are reached at for a name's registry part.
pub fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

impl RegistryClient {
    /// Pings the registry (HTTPS, or HTTP when the endpoint is insecure and HTTPS fails)
    /// and authenticates for `repository` with pull (and, when `push`, push) rights.
    pub async fn connect(
        endpoint: &Endpoint,
        repository: &str,
        credentials: Option<Credentials>,
        push: bool,
    ) -> Result<RegistryClient, RegistryError> {
        let host = endpoint.host.clone();
        let material = tls::load(&host, endpoint.cert_dir.as_deref()).map_err(|source| {
            RegistryError::Tls {
                host: host.clone(),
                source,
            }
        })?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(16);
        for root in material.roots {
            builder = builder.add_root_certificate(root);
        }
        if let Some(identity) = material.identity {
            builder = builder.identity(identity);
        }
        if endpoint.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|source| RegistryError::Client {
            host: host.clone(),
            source,
        })?;
        let api = api_host(&host).to_string();
        let mut client = RegistryClient {
            http,
            base: format!("https://{api}"),
            host,
            repository: repository.to_string(),
            credentials,
            actions: if push { "pull,push" } else { "pull" },
            authorization: Mutex::new(None),
        };
        let ping = match client.http.get(format!("{}/v2/", client.base)).send().await {
            Ok(r) => r,
            Err(e) if endpoint.insecure => {
                tracing::debug!(host = %client.host, error = %e, "https ping failed; trying http");
                client.base = format!("http://{api}");
                client
                    .http
                    .get(format!("{}/v2/", client.base))
                    .send()
                    .await
                    .map_err(|source| RegistryError::Unreachable {
                        host: client.host.clone(),
                        source,
                    })?
            }
            Err(source) => {
                return Err(RegistryError::Unreachable {
                    host: client.host.clone(),
                    source,
                })
            }
        };
        if ping.status() == StatusCode::UNAUTHORIZED {
            client.authenticate(&ping).await?;
        } else if client.credentials.is_some() && ping.status().is_success() {
            // An open registry still gets the user's credentials, as Basic, if it asks later.
        }
        Ok(client)
    }

    /// Checks credentials against the registry the way `login` does: ping, then answer
    /// the challenge (Basic, or a Bearer token request without a scope).
    pub async fn login(endpoint: &Endpoint, credentials: Credentials) -> Result<(), RegistryError> {
        let client =
            RegistryClient::connect(endpoint, "", Some(credentials.clone()), false).await?;
        // A registry that sent no challenge still has to accept the credentials.
        let auth = client.authorization.lock().await.clone();
        let auth = auth.unwrap_or_else(|| basic_value(&credentials));
        let url = format!("{}/v2/", client.base);
        let resp = client
            .http
            .get(&url)
            .header(header::AUTHORIZATION, auth)
            .send()
            .await
            .map_err(|source| RegistryError::Http {
                host: client.host.clone(),
                url: url.clone(),
                source,
            })?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(RegistryError::BadCredentials {
                    host: client.host.clone(),
                })
            }
            s => Err(RegistryError::Status {
                host: client.host.clone(),
                status: s.as_u16(),
                url,
                detail: String::new(),
            }),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Answers a 401 challenge: fetches a Bearer token or prepares Basic credentials.
    async fn authenticate(&self, response: &Response) -> Result<(), RegistryError> {
        let header = response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(challenge::parse);
        let value = match header {
            Some(Challenge::Basic) => match &self.credentials {
                Some(c) => basic_value(c),
                None => {
                    return Err(RegistryError::Unauthorized {
                        host: self.host.clone(),
                    })
                }
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                self.fetch_token(&realm, service.as_deref(), scope.as_deref())
                    .await?
            }
            None => {
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                })
            }
        };
        *self.authorization.lock().await = Some(value);
        Ok(())
    }

    /// Asks the token server for a token covering this repository's actions plus every
    /// scope the challenge named (a cross-repository mount needs pull on the source too).
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        challenged: Option<&str>,
    ) -> Result<String, RegistryError> {
        let mut scopes: Vec<String> = Vec::new();
        if !self.repository.is_empty() {
            scopes.push(format!("repository:{}:{}", self.repository, self.actions));
        }
        for s in challenged.unwrap_or_default().split_whitespace() {
            if !scopes.iter().any(|have| have == s) {
                scopes.push(s.to_string());
            }
        }
        let mut query: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
        if let Some(s) = service {
            query.push(("service", s));
        }
        let mut req = self.http.get(realm).query(&query);
        if let Some(c) = &self.credentials {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let resp = req.send().await.map_err(|source| RegistryError::Http {
            host: self.host.clone(),
            url: realm.to_string(),
            source,
        })?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED if self.credentials.is_some() => {
                return Err(RegistryError::BadCredentials {
                    host: self.host.clone(),
                })
            }
            StatusCode::UNAUTHORIZED => {
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                })
            }
            StatusCode::FORBIDDEN => {
                return Err(RegistryError::Denied {
                    host: self.host.clone(),
                    repository: self.repository.clone(),
                })
            }
            s => {
                return Err(RegistryError::Status {
                    host: self.host.clone(),
                    status: s.as_u16(),
                    url: realm.to_string(),
                    detail: String::new(),
                })
            }
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = resp.bytes().await.map_err(|source| RegistryError::Http {
            host: self.host.clone(),
            url: realm.to_string(),
            source,
        })?;
        let token: Token = serde_json::from_slice(&body).map_err(|_| RegistryError::NoToken {
            host: self.host.clone(),
        })?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .map(|t| format!("Bearer {t}"))
            .ok_or_else(|| RegistryError::NoToken {
                host: self.host.clone(),
            })
    }

    /// Sends a request built by `build`, authenticating and retrying once on 401.
    pub(crate) async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut retried = false;
        loop {
            let mut req = build();
            if let Some(auth) = self.authorization.lock().await.clone() {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let resp = req.send().await.map_err(|source| RegistryError::Http {
                host: self.host.clone(),
                url: what.to_string(),
                source,
            })?;
            if resp.status() == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.authenticate(&resp).await?;
                continue;
            }
            return self.check_status(what, resp).await;
        }
    }

    async fn check_status(&self, what: &str, resp: Response) -> Result<Response, RegistryError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let url = resp.url().to_string();
        let body = resp.text().await.unwrap_or_default();
        // With a token, a refusal means the token does not cover the request: the
        // credentials themselves were accepted by the token server.
        let bearer = self
            .authorization
            .lock()
            .await
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer "));
        Err(match status {
            StatusCode::UNAUTHORIZED if bearer && self.credentials.is_some() => {
                RegistryError::Denied {
                    host: self.host.clone(),
                    repository: self.repository.clone(),
                }
            }
            StatusCode::UNAUTHORIZED if self.credentials.is_some() => {
                RegistryError::BadCredentials {
                    host: self.host.clone(),
                }
            }
            StatusCode::UNAUTHORIZED => RegistryError::Unauthorized {
                host: self.host.clone(),
            },
            StatusCode::FORBIDDEN => RegistryError::Denied {
                host: self.host.clone(),
                repository: self.repository.clone(),
            },
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                host: self.host.clone(),
                what: what.to_string(),
            },
            s => RegistryError::Status {
                host: self.host.clone(),
                status: s.as_u16(),
                url,
                detail: error_detail(&body),
            },
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{}", self.base, self.repository, tail)
    }

    /// Fetches a manifest by tag or digest: its bytes, Content-Type and digest. A manifest
    /// fetched by digest is verified against it.
    pub async fn get_manifest(
        &self,
        reference: &str,
    ) -> Result<(Vec<u8>, Option<String>, Digest), RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let what = format!("{}/{}:{}", self.host, self.repository, reference);
        let resp = self
            .send(&what, || {
                self.http.get(&url).header(header::ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = self.read_limited(&what, resp, MAX_MANIFEST_SIZE).await?;
        let digest = Digest::of(&bytes);
        if let Ok(expected) = Digest::parse(reference) {
            if expected != digest {
                return Err(RegistryError::DigestMismatch {
                    what,
                    expected: expected.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        Ok((bytes, content_type, digest))
    }

    /// Fetches a small blob (a config) whole and verifies it.
    pub async fn get_small_blob(&self, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob {digest}");
        let resp = self.get_blob(digest).await?;
        let bytes = self.read_limited(&what, resp, MAX_MANIFEST_SIZE).await?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Starts a blob download; the caller streams and verifies the body.
    pub async fn get_blob(&self, digest: &Digest) -> Result<Response, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        self.send(&format!("blob {digest}"), || self.http.get(&url))
            .await
    }

    pub(crate) async fn read_limited(
        &self,
        what: &str,
        mut resp: Response,
        limit: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|source| RegistryError::Http {
            host: self.host.clone(),
            url: what.to_string(),
            source,
        })? {
            if out.len() + chunk.len() > limit {
                return Err(RegistryError::TooLarge {
                    what: what.to_string(),
                    limit,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Whether the repository already has the blob.
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        match self
            .send(&format!("blob {digest}"), || self.http.head(&url))
            .await
        {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Asks the registry to link a blob it holds in `from` (another repository) into this
    /// one. True when it did; false when it would rather have the blob uploaded.
    pub async fn mount_blob(&self, digest: &Digest, from: &str) -> Result<bool, RegistryError> {
        let url = self.url("blobs/uploads/");
        let what = format!("mount of blob {digest} from {from}");
        let resp = self
            .send(&what, || {
                self.http
                    .post(&url)
                    .query(&[("mount", digest.as_str()), ("from", from)])
                    .header(header::CONTENT_LENGTH, 0)
            })
            .await?;
        Ok(resp.status() == StatusCode::CREATED)
    }

    /// Uploads a blob in one PUT (POST for the session, then PUT with the digest).
    pub async fn upload_blob(
        &self,
        digest: &Digest,
        body: impl Fn() -> reqwest::Body,
    ) -> Result<(), RegistryError> {
        let what = format!("upload of blob {digest}");
        let start_url = self.url("blobs/uploads/");
        let resp = self
            .send(&what, || {
                self.http.post(&start_url).header(header::CONTENT_LENGTH, 0)
            })
            .await?;
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                host: self.host.clone(),
                status: resp.status().as_u16(),
                url: start_url.clone(),
                detail: ": upload session without a Location".into(),
            })?;
        let location = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{}", self.base, location)
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{sep}digest={digest}");
        self.send(&what, || {
            self.http
                .request(Method::PUT, &put_url)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(body())
        })
        .await?;
        Ok(())
    }

    /// Pushes a manifest under `reference` (a tag or digest); returns the digest the registry stored.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Digest, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let what = format!("manifest {}/{}:{}", self.host, self.repository, reference);
        self.send(&what, || {
            self.http
                .put(&url)
                .header(header::CONTENT_TYPE, media_type)
                .body(bytes.clone())
        })
        .await?;
        Ok(Digest::of(&bytes))
    }
}

fn basic_value(c: &Credentials) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The first message of a distribution error body, for the error text.
fn error_detail(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Errors>(body) {
        Ok(e) => e
            .errors
            .first()
            .map(|e| {
                format!(
                    ": {} {}",
                    e.code.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_reads_distribution_errors() {
        let body =
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(error_detail(body), ": MANIFEST_UNKNOWN manifest unknown");
        assert_eq!(error_detail("<html>"), "");
    }

    #[test]
    fn docker_hub_is_reached_at_its_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
