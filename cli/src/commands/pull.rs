//! `berth pull`: pulls each image and prints its ID.

use crate::cli::PullArgs;
use crate::exit;
use crate::progress::Reporter;
use berth_types::image::{PlatformSpec, PullPolicy, PullRequest, RegistryOptions};
use berth_types::Engine;

pub fn policy(s: &str) -> anyhow::Result<PullPolicy> {
    Ok(match s {
        "always" | "Always" => PullPolicy::Always,
        "missing" | "ifmissing" | "IfMissing" => PullPolicy::Missing,
        "never" | "Never" => PullPolicy::Never,
        "newer" | "ifnewer" => PullPolicy::Newer,
        other => {
            anyhow::bail!("invalid pull policy {other:?}: use always, missing, never or newer")
        }
    })
}

pub fn platform(a: &PullArgs) -> anyhow::Result<PlatformSpec> {
    PlatformSpec::from_flags(
        a.os.as_deref(),
        a.arch.as_deref(),
        a.variant.as_deref(),
        a.platform.as_deref(),
    )
    .map_err(|reason| {
        anyhow::anyhow!(
            "invalid platform {:?}: {reason}",
            a.platform.as_deref().unwrap_or_default()
        )
    })
}

pub fn run(engine: &dyn Engine, a: PullArgs) -> anyhow::Result<i32> {
    let platform = platform(&a)?;
    let policy = policy(&a.policy)?;
    let registry = RegistryOptions {
        tls_verify: a.registry.tls_verify,
        cert_dir: a.registry.cert_dir.clone(),
        credentials: super::parse_creds(a.creds.as_deref())?,
        authfile: a.registry.authfile.clone(),
    };
    let reporter = Reporter::new(a.quiet, "Copying");
    for image in &a.images {
        let req = PullRequest {
            reference: image.clone(),
            platform: platform.clone(),
            registry: registry.clone(),
            policy,
        };
        let report = engine.pull_image(&req, &reporter).map_err(exit::engine)?;
        println!("{}", report.id);
    }
    Ok(0)
}
