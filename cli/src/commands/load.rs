//! `berth load`: reads a docker-archive or oci-archive (file or stdin).

use crate::cli::LoadArgs;
use crate::exit;
use berth_types::Engine;

pub fn run(engine: &dyn Engine, a: LoadArgs) -> anyhow::Result<i32> {
    let loaded = match &a.input {
        Some(path) => {
            let mut f = std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
            engine.load_images(&mut f)
        }
        None => engine.load_images(&mut std::io::stdin().lock()),
    }
    .map_err(exit::engine)?;
    if !a.quiet {
        println!("Loaded image: {}", loaded.join("\nLoaded image: "));
    }
    Ok(0)
}
