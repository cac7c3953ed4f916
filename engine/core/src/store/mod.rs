//! The on-disk store: where things live, the SQLite database that is the source of
//! truth for images and layers, locks, and crash-safe file writes.

pub mod db;
pub mod fsutil;
pub mod lock;
pub mod paths;
pub mod storage_conf;
