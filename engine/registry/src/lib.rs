//! Berth's OCI distribution client: image references, registries.conf, credentials,
//! manifests and configs, and the HTTP protocol to pull and push blobs. OS-neutral.

pub mod artifact;
pub mod auth;
pub mod challenge;
pub mod client;
pub mod digest;
pub mod listing;
pub mod manifest;
pub mod reference;
pub mod registries_conf;
pub mod tls;

pub use client::{Endpoint, RegistryClient, RegistryError};
pub use digest::Digest;
