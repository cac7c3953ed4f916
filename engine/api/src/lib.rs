//! Berth's REST API (Docker-compatible and Libpod): a server that turns HTTP requests
//! into `Engine` calls, and a client that implements `Engine` against a remote server.
//! Neither half exists yet; the crate is the place they will live.
