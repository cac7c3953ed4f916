//! Berth's REST API (Docker-compatible, and Libpod-style under `/libpod/`): a server
//! that turns HTTP requests on a unix socket into `Engine` calls. The remote client
//! that implements `Engine` against such a server is to live here too.

// A handler's early answer (`Err`) is a whole response, as large as its `Ok`.
#[allow(clippy::result_large_err)]
pub mod server;
