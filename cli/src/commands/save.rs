//! `berth save`: writes a docker-archive or oci-archive of one or more images.

use crate::cli::SaveArgs;
use crate::exit;
use berth_types::image::{ArchiveFormat, SaveRequest};
use berth_types::Engine;
use std::io::{IsTerminal, Write};

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
    match &a.output {
        Some(path) => {
            // Write beside the target and rename, so a failed save leaves no partial archive.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::Builder::new()
                .prefix(".berth-save-")
                .tempfile_in(dir)?;
            {
                let mut out = std::io::BufWriter::new(tmp.as_file_mut());
                engine.save_images(&req, &mut out).map_err(exit::engine)?;
                out.flush()?;
            }
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?;
            }
            tmp.as_file().sync_all()?;
            tmp.persist(path)
                .map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error))?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!("refusing to save to a terminal; use --output or redirect stdout");
            }
            let mut out = std::io::BufWriter::new(stdout.lock());
            engine.save_images(&req, &mut out).map_err(exit::engine)?;
            out.flush()?;
        }
    }
    Ok(0)
}
