//! Volumes: named directories under the store that containers mount.

pub mod ops;
