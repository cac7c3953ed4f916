//! (being written) the volume operations behind the `volume` commands.

use crate::engine::StoreContext;
use berth_types::volume::*;
use berth_types::{EngineError, ErrorKind, Result};

fn todo_err() -> EngineError {
    EngineError::new(ErrorKind::Unsupported, "volumes are not available yet")
}

pub fn create(_ctx: &StoreContext, _req: &VolumeCreateRequest) -> Result<String> {
    Err(todo_err())
}
pub fn list(_ctx: &StoreContext, _filters: &[String]) -> Result<Vec<VolumeInspect>> {
    Err(todo_err())
}
pub fn inspect(_ctx: &StoreContext, _name: &str) -> Result<VolumeInspect> {
    Err(todo_err())
}
pub fn exists(_ctx: &StoreContext, _name: &str) -> Result<bool> {
    Err(todo_err())
}
pub fn remove(_ctx: &StoreContext, _req: &VolumeRemoveRequest) -> Result<Vec<String>> {
    Err(todo_err())
}
pub fn prune(_ctx: &StoreContext, _filters: &[String]) -> Result<Vec<String>> {
    Err(todo_err())
}
