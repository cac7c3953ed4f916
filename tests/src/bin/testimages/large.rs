//! The `large` image: five layers of ~42 MiB of seeded pseudo-random data
//! (over 200 MiB uncompressed), gzip level 1, for pull throughput and
//! resume/corruption tests. Each layer also holds the sha256 of its data file
//! so a test can check what it extracted.

use anyhow::{anyhow, Result};
use berth_e2e::images::{ImageInfo, LayerInfo};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::base::Ctx;
use crate::layout::{Compression, Layout};
use crate::rng::Rng;
use crate::spec::{finish_image, write_image, Format, ImageSpec, PATH_ENV};
use crate::tarball::TarBuilder;

pub const LAYERS: u64 = 5;
pub const LAYER_DATA: usize = 42 * 1024 * 1024;

pub fn large(_ctx: &Ctx, layout: &Layout) -> Result<ImageInfo> {
    // Debug builds compress slowly (~5 MB/s), so the layers are made in parallel.
    let layers = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..LAYERS)
            .map(|i| scope.spawn(move || layer(layout, i)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| anyhow!("layer thread panicked"))?)
            .collect::<Result<Vec<LayerInfo>>>()
    })?;
    let history = (0..LAYERS)
        .map(|i| format!("berth-testimages: 42 MiB random /large/layer{i}.bin"))
        .collect();
    let spec = ImageSpec {
        architecture: "amd64",
        variant: None,
        runtime: json!({ "Env": [PATH_ENV] }),
        history,
    };
    let built = write_image(layout, Format::Oci, &spec, layers)?;
    finish_image(layout, built, "latest")
}

/// Layer `i`: `/large/layer{i}.bin` (random, seeded by `i`) and its sha256sum.
fn layer(layout: &Layout, i: u64) -> Result<LayerInfo> {
    let mut data = vec![0u8; LAYER_DATA];
    Rng::new(0xBE47_0000 + i).fill(&mut data);
    let sum = format!(
        "{}  /large/layer{i}.bin\n",
        hex::encode(Sha256::digest(&data))
    );
    let mut tar = TarBuilder::new();
    tar.dir("large", 0o755);
    tar.file(&format!("large/layer{i}.bin"), 0o644, data);
    tar.file(&format!("large/layer{i}.sha256"), 0o644, sum);
    layout.put_layer(&tar.finish_sorted()?, Compression::Gzip(1), false)
}
