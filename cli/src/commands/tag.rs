//! `berth tag`, `berth untag` and `berth image exists`.

use crate::cli::{ExistsArgs, TagArgs, UntagArgs};
use crate::exit;
use berth_types::Engine;

pub fn tag(engine: &dyn Engine, a: TagArgs) -> anyhow::Result<i32> {
    engine.tag_image(&a.image, &a.names).map_err(exit::engine)?;
    Ok(0)
}

pub fn untag(engine: &dyn Engine, a: UntagArgs) -> anyhow::Result<i32> {
    engine
        .untag_image(&a.image, &a.names)
        .map_err(exit::engine)?;
    Ok(0)
}

/// Exit 0 when the image exists, 1 when it does not (no output either way).
pub fn exists(engine: &dyn Engine, a: ExistsArgs) -> anyhow::Result<i32> {
    Ok(if engine.image_exists(&a.image).map_err(exit::engine)? {
        0
    } else {
        1
    })
}
