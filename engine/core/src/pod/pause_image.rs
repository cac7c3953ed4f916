//! The image of infra containers: Berth's own pause binary alone, imported into the
//! store on first use as `localhost/berth-pause:VERSION-HASH` (the hash is the
//! binary's, so a new build gets a new image). No registry is involved.

use crate::engine::LocalEngine;
use crate::store::lock::FileLock;
use berth_types::container::ImportRequest;
use berth_types::{Engine, EngineError, ErrorKind, Result};
use sha2::Digest;

/// The name of the pause image for the pause binary `bytes`.
fn image_name(bytes: &[u8]) -> String {
    let hash = hex::encode(sha2::Sha256::digest(bytes));
    format!(
        "localhost/berth-pause:{}-{}",
        env!("CARGO_PKG_VERSION"),
        &hash[..12]
    )
}

/// A one-file layer: `/pause`, executable, with fixed times so the layer is the same
/// on every machine.
fn layer(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["dev/", "etc/", "proc/", "sys/"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        tar.append_data(&mut h, dir, std::io::empty())?;
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o755);
    h.set_size(binary.len() as u64);
    h.set_mtime(0);
    tar.append_data(&mut h, "pause", binary)?;
    tar.into_inner()
}

/// The pause image's name, importing it first when the store lacks it.
pub fn ensure(engine: &LocalEngine) -> Result<String> {
    let binary_path = crate::container::monitor::companion_binary("berth-pause")
        .map_err(|e| EngineError::new(ErrorKind::Storage, e.to_string()))?;
    let binary = std::fs::read(&binary_path).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("reading {}: {e}", binary_path.display()),
        )
    })?;
    let name = image_name(&binary);
    if engine.image_exists(&name)? {
        return Ok(name);
    }
    let ctx = engine.ctx()?;
    let _lock = FileLock::exclusive(&ctx.paths.locks().join("pause-image.lock"))
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("locking the store: {e}")))?;
    if engine.image_exists(&name)? {
        return Ok(name);
    }
    let tar = layer(&binary)
        .map_err(|e| EngineError::new(ErrorKind::Storage, format!("building {name}: {e}")))?;
    let req = ImportRequest {
        image: Some(name.clone()),
        changes: vec![r#"ENTRYPOINT ["/pause"]"#.into()],
        message: Some("Berth's pod infra image".into()),
    };
    crate::container::changes::import(engine, &req, &mut tar.as_slice())?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_name_follows_the_binary() {
        let a = super::image_name(b"one");
        assert!(a.starts_with("localhost/berth-pause:"));
        assert_ne!(a, super::image_name(b"two"));
    }

    #[test]
    fn the_layer_holds_the_binary_at_slash_pause() {
        let bytes = super::layer(b"\x7fELF").expect("layer");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert!(names.contains(&"pause".to_string()), "{names:?}");
    }
}
