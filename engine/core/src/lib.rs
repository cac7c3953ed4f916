//! Berth's Linux engine: the image store (layers unpacked and content-addressed,
//! SQLite metadata), registry pulls and pushes, archives, and the [`LocalEngine`] that
//! implements `berth_types::Engine` on top of them.

// Podman-shaped inspect documents are large json! literals.
#![recursion_limit = "256"]

pub mod container;
pub mod engine;
pub mod events;
pub mod image;
pub mod kube;
pub mod layer;
pub mod network;
pub mod pod;
pub mod rootless;
pub mod secret;
pub mod store;
mod system;
pub mod volume;

pub use engine::{EngineOptions, LocalEngine};
