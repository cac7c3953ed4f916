//! The per-container monitor and the protocol the engine speaks with it.
//!
//! `berth-monitor` is a separate, deliberately small binary (no argument parser, no
//! database, no async runtime), so the one process that stays resident for every
//! running container costs little memory. The engine starts it with a JSON
//! [`config::MonitorConfig`]; it runs the container through the OCI runtime, relays
//! output to the log and to attach clients, and when the container exits records the
//! exit code and hands over to the engine's exit command. This library holds what both
//! sides share: the configuration, the attach framing, the log writer, the runtime's
//! error-log reader and a few process helpers.

pub mod config;
pub mod frame;
pub mod logwriter;
pub mod oom;
pub mod process;
pub mod runtime_log;
pub mod sockpath;
pub mod timestamp;
