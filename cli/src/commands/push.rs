//! `berth push`: uploads an image, skipping blobs the registry already has.

use crate::cli::PushArgs;
use crate::exit;
use crate::progress::Reporter;
use berth_types::image::{PushRequest, RegistryOptions};
use berth_types::Engine;

pub fn run(engine: &dyn Engine, a: PushArgs) -> anyhow::Result<i32> {
    let req = PushRequest {
        source: a.image.clone(),
        destination: a.destination.clone(),
        registry: RegistryOptions {
            tls_verify: a.registry.tls_verify,
            cert_dir: a.registry.cert_dir.clone(),
            credentials: super::parse_creds(a.creds.as_deref())?,
            authfile: a.registry.authfile.clone(),
        },
        digest_file: a.digestfile.clone(),
    };
    let reporter = Reporter::new(a.quiet, "Copying");
    reporter.line("Getting image source signatures");
    engine.push_image(&req, &reporter).map_err(exit::engine)?;
    Ok(0)
}
