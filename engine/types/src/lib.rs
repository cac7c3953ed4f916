//! The OS-neutral model of Berth: what images, registries, progress events and errors
//! look like, and the [`Engine`] trait that every front end (CLI, REST API, guest
//! agent) calls. Nothing here touches the operating system.

pub mod container;
pub mod engine;
pub mod error;
pub mod event;
pub mod image;
pub mod machine;
pub mod network;
pub mod pod;
pub mod progress;
pub mod secret;
pub mod system;
pub mod volume;

pub use engine::Engine;
pub use error::{EngineError, ErrorKind, Result};
