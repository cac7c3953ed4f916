//! The API server: accepts connections on a unix socket (and, in a machine's guest, on
//! the host's vsock port), reads each request (bodies up to [`MAX_BODY`]), runs the
//! engine call on a blocking thread and answers; stops after an idle time with no
//! connection open (`system service --time`).

pub mod archive;
pub mod attach;
pub mod body;
pub mod container_ops;
pub mod docker;
pub mod events;
pub mod exec;
pub mod fields;
pub mod framed;
pub mod hijack;
pub mod image_ops;
pub mod libpod;
pub mod lifecycle;
pub mod pull;
pub mod registry;
pub mod reply;
pub mod request;
pub mod resources;
pub mod rpc;
pub mod socket;
pub mod state;

use berth_types::Engine;
pub use body::MAX_BODY;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use reply::Reply;
use request::ApiRequest;
use state::State;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Answers one request.
async fn handle(state: Arc<State>, mut req: Request<Incoming>) -> Result<Reply, hyper::Error> {
    let upgrade = req
        .headers()
        .contains_key(hyper::header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    tracing::debug!(method = %parts.method, uri = %parts.uri, "request");
    let mut api = ApiRequest::new(
        parts.method.clone(),
        parts.uri.path(),
        parts.uri.query(),
        bytes::Bytes::new(),
    );
    api.registry_auth = parts
        .headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if body::streams(
        &api.method,
        &api.segments,
        api.param("fromSrc") == Some("-"),
    ) {
        api = api.with_reader(Box::new(body::reader(body)));
    } else {
        let too_large = || {
            reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {MAX_BODY} bytes"),
            )
        };
        let declared = parts
            .headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Ok(too_large());
        }
        api.body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Ok(too_large()),
        };
    }
    if let Some(u) = upgrade {
        api = api.with_upgrade(u);
    }
    let mut api = api;
    let answer = tokio::task::spawn_blocking(move || {
        let engine = &state.engine;
        let libpod = api.segments.first().is_some_and(|s| s == "libpod");
        if libpod {
            if let Some(r) = libpod::route(engine, &api) {
                return r;
            }
            // The rest of the Libpod API is Docker's, under the prefix.
            api.segments.remove(0);
        }
        rpc::route(engine, &api)
            .or_else(|| attach::route(&state, &api))
            .or_else(|| exec::route(&state, &api))
            .or_else(|| docker::route(engine.as_ref(), &api))
            .or_else(|| lifecycle::route(engine, &api))
            .or_else(|| archive::route(engine, &api))
            .or_else(|| events::route(engine, &api))
            .or_else(|| container_ops::route(engine, &api))
            .or_else(|| image_ops::route(engine, &api))
            .or_else(|| resources::route(engine.as_ref(), &api))
            .unwrap_or_else(|| reply::error(StatusCode::NOT_FOUND, "page not found"))
    })
    .await;
    Ok(answer.unwrap_or_else(|_| {
        reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request's handler failed",
        )
    }))
}

/// Counts open connections and remembers when the last one closed.
struct Activity {
    open: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.open.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(self.last.lock().map(|t| t.elapsed()).unwrap_or_default())
    }

    fn close(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut t) = self.last.lock() {
            *t = Instant::now();
        }
    }
}

/// Where the service listens: a unix socket, TCP when asked for (unauthenticated), or
/// a vsock port whose streams come from a machine's host, each carrying framed
/// sessions (see `framed`).
pub enum Listener {
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
    #[cfg(target_os = "linux")]
    VsockFramed(u32),
}

/// A listener on the runtime: accepts connections of its kind.
enum Accepting {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
    #[cfg(target_os = "linux")]
    VsockFramed(tokio_vsock::VsockListener),
}

impl Accepting {
    fn new(listener: Listener) -> std::io::Result<Accepting> {
        Ok(match listener {
            Listener::Unix(l) => {
                l.set_nonblocking(true)?;
                Accepting::Unix(tokio::net::UnixListener::from_std(l)?)
            }
            Listener::Tcp(l) => {
                l.set_nonblocking(true)?;
                Accepting::Tcp(tokio::net::TcpListener::from_std(l)?)
            }
            #[cfg(target_os = "linux")]
            Listener::VsockFramed(port) => Accepting::VsockFramed(
                tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(
                    tokio_vsock::VMADDR_CID_ANY,
                    port,
                ))
                .map_err(|e| std::io::Error::new(e.kind(), format!("vsock port {port}: {e}")))?,
            ),
        })
    }

    /// Accepts one connection and serves it on a task of its own.
    async fn accept(&self, state: &Arc<State>, activity: &Arc<Activity>) -> std::io::Result<()> {
        match self {
            Accepting::Unix(l) => spawn_connection(l.accept().await?.0, state, activity),
            Accepting::Tcp(l) => spawn_connection(l.accept().await?.0, state, activity),
            #[cfg(target_os = "linux")]
            Accepting::VsockFramed(l) => {
                let stream = l.accept().await?.0;
                let (state, activity) = (state.clone(), activity.clone());
                tokio::spawn(framed::serve(stream, move |session| {
                    spawn_connection(session, &state, &activity)
                }));
            }
        }
        Ok(())
    }
}

fn spawn_connection<S>(stream: S, state: &Arc<State>, activity: &Arc<Activity>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    activity.open.fetch_add(1, Ordering::SeqCst);
    let (state, activity) = (state.clone(), activity.clone());
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended");
        }
        activity.close();
    });
}

/// Serves `engine` on `listeners` until it has been idle (no connection open) for
/// `idle`; forever with `None`.
pub fn serve(
    engine: Arc<dyn Engine>,
    listeners: Vec<Listener>,
    idle: Option<Duration>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let state = State::new(engine);
    runtime.block_on(async move {
        let activity = Arc::new(Activity {
            open: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        });
        for listener in listeners {
            let listener = Accepting::new(listener)?;
            let (state, activity) = (state.clone(), activity.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listener.accept(&state, &activity).await {
                        tracing::warn!(error = %e, "accepting a connection");
                        // Out of descriptors, say: not in a busy loop.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            });
        }
        let tick = idle.map_or(Duration::from_secs(3600), |d| d.min(Duration::from_secs(1)));
        loop {
            tokio::time::sleep(tick).await;
            if let (Some(limit), Some(quiet)) = (idle, activity.idle_for()) {
                if quiet >= limit {
                    return Ok(());
                }
            }
        }
    })
}
