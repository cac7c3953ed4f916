//! Berth's REST API (Docker-compatible, and Libpod-style under `/libpod/`): a server
//! that turns HTTP requests on a unix socket into `Engine` calls, and the remote
//! client (`RemoteEngine`) that implements `Engine` against such a server over
//! Berth's own protocol (`frames`).

pub mod client;
pub mod frames;

// A handler's early answer (`Err`) is a whole response, as large as its `Ok`.
#[allow(clippy::result_large_err)]
pub mod server;
