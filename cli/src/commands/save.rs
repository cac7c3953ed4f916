//! `berth save`: writes a docker-archive or oci-archive of one or more images.

use crate::cli::SaveArgs;
use crate::exit;
use berth_types::image::{ArchiveFormat, SaveRequest};
use berth_types::Engine;

pub fn run(engine: &dyn Engine, a: SaveArgs) -> anyhow::Result<i32> {
    let format = match a.format.as_str() {
        "docker-archive" => ArchiveFormat::DockerArchive,
        "oci-archive" => ArchiveFormat::OciArchive,
        other => anyhow::bail!("invalid --format {other:?}: use docker-archive or oci-archive"),
    };
    let req = SaveRequest {
        names: a.images.clone(),
        format,
    };
    crate::output::write_archive(a.output.as_deref(), &mut |out| {
        engine.save_images(&req, out).map_err(exit::engine)
    })?;
    Ok(0)
}
