//! Fixtures for Berth's end-to-end tests: the environment the harness
//! (`tests/run.sh`, `tests/harness/up.sh`) sets up, throwaway image stores that
//! run the real `berth` binary, the catalogue of test images, and private
//! registries for fault injection.
//!
//! ```no_run
//! use berth_e2e::{images, Store, TestEnv};
//! let env = TestEnv::get();
//! let store = Store::new();
//! store.berth(["pull", &env.image_ref("busybox")]).ok();
//! let images_out = store.berth(["images", "--format", "{{.ID}}"]).ok().to_string();
//! assert!(images_out.contains(&images().get("busybox").id()[..12]));
//! ```

pub mod cmd;
pub mod containers;
pub mod env;
pub mod fault;
pub mod images;
pub mod net;
pub mod registry;
pub mod service;
pub mod store;

pub use cmd::CmdResult;
pub use env::{images, TestEnv};
pub use images::{Catalogue, ImageInfo, LayerInfo, PlatformInfo};
pub use registry::PrivateRegistry;
pub use store::Store;
