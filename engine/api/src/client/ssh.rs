//! `ssh://user@host[:port]/path/to/berth.sock`: one SSH session per process (russh),
//! authenticated with the identity file given or the keys of the running ssh-agent,
//! the server's key checked against `~/.ssh/known_hosts`; each call opens a
//! `direct-streamlocal` channel to the service's socket on the far side, relayed to
//! one end of a local socket pair, so the calls speak to a plain socket either way.

use russh::client;
use russh::keys::{self, PrivateKeyWithHashAlg};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an `ssh://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The service's socket on the far side.
    pub path: String,
    pub identity: Option<PathBuf>,
}

impl SshTarget {
    /// `ssh://user@host[:port]/path`.
    pub fn parse(url: &str) -> Result<SshTarget, String> {
        let bad = |why: &str| {
            format!("invalid URL {url:?}: {why} (ssh://user@host[:port]/path/to/berth.sock)")
        };
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| bad("not ssh://"))?;
        let (authority, path) = rest.split_once('/').ok_or_else(|| bad("no socket path"))?;
        let (user, hostport) = authority.split_once('@').ok_or_else(|| bad("no user"))?;
        if user.is_empty() {
            return Err(bad("no user"));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad("bad port"))?)
            }
            _ => (hostport, 22),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(SshTarget {
            user: user.to_string(),
            host: host.to_string(),
            port,
            path: format!("/{path}"),
            identity: None,
        })
    }

    pub fn url(&self) -> String {
        let port = if self.port == 22 {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!("ssh://{}@{}{port}{}", self.user, self.host, self.path)
    }
}

/// Checks the server's key against the user's known_hosts.
struct Checker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            tracing::error!(host = %self.host, "host certificates are not supported");
            return Ok(false);
        };
        match keys::check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(true),
            Ok(false) => {
                tracing::error!(host = %self.host, "the host's key is not in {}", self.known_hosts.display());
                Ok(false)
            }
            Err(e) => {
                tracing::error!(host = %self.host, error = %e, "checking the host's key");
                Ok(false)
            }
        }
    }
}

/// An authenticated session, and the runtime that drives it.
pub struct SshSession {
    rt: tokio::runtime::Runtime,
    handle: client::Handle<Checker>,
    path: String,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl SshSession {
    pub fn connect(t: &SshTarget) -> io::Result<SshSession> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let checker = Checker {
            host: t.host.clone(),
            port: t.port,
            known_hosts: home().join(".ssh").join("known_hosts"),
        };
        let config = Arc::new(client::Config::default());
        let handle = rt.block_on(async {
            let mut handle = client::connect(config, (t.host.as_str(), t.port), checker)
                .await
                .map_err(|e| match e {
                    russh::Error::UnknownKey => other(format!(
                        "the host key of {} is not known: add it to ~/.ssh/known_hosts (ssh-keyscan -p {} {})",
                        t.host, t.port, t.host
                    )),
                    e => other(e),
                })?;
            authenticate(&mut handle, t).await?;
            Ok::<_, io::Error>(handle)
        })?;
        Ok(SshSession {
            rt,
            handle,
            path: t.path.clone(),
        })
    }

    /// A new connection to the far socket, as a local stream.
    pub fn open(&self) -> io::Result<UnixStream> {
        let (mine, theirs) = UnixStream::pair()?;
        theirs.set_nonblocking(true)?;
        let channel = self
            .rt
            .block_on(
                self.handle
                    .channel_open_direct_streamlocal(self.path.clone()),
            )
            .map_err(|e| other(format!("opening {} on the far side: {e}", self.path)))?;
        let _guard = self.rt.enter();
        let mut local = tokio::net::UnixStream::from_std(theirs)?;
        self.rt.spawn(async move {
            let mut remote = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut remote, &mut local).await;
        });
        Ok(mine)
    }
}

/// The identity file, else each key the ssh-agent holds.
async fn authenticate(handle: &mut client::Handle<Checker>, t: &SshTarget) -> io::Result<()> {
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(other)?
        .flatten();
    if let Some(path) = &t.identity {
        let key = load_key(path)?;
        let r = handle
            .authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(other)?;
        if r.success() {
            return Ok(());
        }
        return Err(other(format!(
            "{}@{} refused the key {}",
            t.user,
            t.host,
            path.display()
        )));
    }
    let mut agent = keys::agent::client::AgentClient::connect_env()
        .await
        .map_err(|e| {
            other(format!(
                "no identity given and no ssh-agent reachable ({e}): use --identity"
            ))
        })?;
    for key in agent.request_identities().await.map_err(other)? {
        let r = handle
            .authenticate_publickey_with(&t.user, key.public_key().into_owned(), hash, &mut agent)
            .await
            .map_err(other)?;
        if r.success() {
            return Ok(());
        }
    }
    Err(other(format!(
        "{}@{} accepted none of the ssh-agent's keys",
        t.user, t.host
    )))
}

fn load_key(path: &Path) -> io::Result<keys::PrivateKey> {
    keys::load_secret_key(path, None).map_err(|e| other(format!("reading {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::SshTarget;

    #[test]
    fn ssh_urls_parse() {
        let t = SshTarget::parse("ssh://core@10.0.0.5:2222/run/user/1000/berth/berth.sock")
            .expect("parse");
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("core", "10.0.0.5", 2222)
        );
        assert_eq!(t.path, "/run/user/1000/berth/berth.sock");
        let t = SshTarget::parse("ssh://root@host/run/berth/berth.sock").expect("parse");
        assert_eq!(t.port, 22);
        assert_eq!(t.url(), "ssh://root@host/run/berth/berth.sock");
        assert!(SshTarget::parse("ssh://host/run/x.sock").is_err());
        assert!(SshTarget::parse("ssh://u@host").is_err());
        assert!(SshTarget::parse("ssh://u@host:notaport/x").is_err());
    }
}
