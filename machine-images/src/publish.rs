//! Publishing a build as an OCI artifact through Berth's registry client: each output's
//! zstd-compressed copy (made by the build) is uploaded as a blob unless the
//! registry has it, then one manifest per format and the index over them, tagged.

use crate::build::{compressed, Built, Output};
use anyhow::Context;
use berth_registry::artifact::{self, DiskFormat};
use berth_registry::auth::Credentials;
use berth_registry::manifest::OCI_INDEX;
use berth_registry::reference::Reference;
use berth_registry::{Digest, Endpoint, RegistryClient};
use std::fs;
use std::path::Path;

/// The output a format publishes.
fn output(built: &Built, format: DiskFormat) -> &Output {
    match format {
        DiskFormat::Qcow2 => &built.qcow2,
        DiskFormat::Raw => &built.raw,
        DiskFormat::Wsl => &built.tar,
    }
}

async fn blob(client: &RegistryClient, digest: &Digest, bytes: Vec<u8>) -> anyhow::Result<()> {
    if client.blob_exists(digest).await? {
        return Ok(());
    }
    let body = bytes::Bytes::from(bytes);
    client
        .upload_blob(digest, move || body.clone().into())
        .await?;
    Ok(())
}

async fn file_blob(client: &RegistryClient, dir: &Path, out: &Output) -> anyhow::Result<Digest> {
    let digest = Digest::parse(&format!("sha256:{}", out.sha256))?;
    if !client.blob_exists(&digest).await? {
        let bytes =
            fs::read(dir.join(&out.file)).with_context(|| format!("reading {}", out.file))?;
        blob(client, &digest, bytes).await?;
    }
    Ok(digest)
}

/// Pushes the build in `dir` to `target` (`registry/repository:tag`); returns the
/// index's digest.
pub async fn push(
    dir: &Path,
    built: &Built,
    target: &str,
    insecure: bool,
    credentials: Option<Credentials>,
    log: &dyn Fn(&str),
) -> anyhow::Result<Digest> {
    let r = Reference::parse(target).with_context(|| format!("invalid reference {target:?}"))?;
    let endpoint = Endpoint {
        host: r.registry.clone(),
        insecure,
        cert_dir: None,
    };
    let client = RegistryClient::connect(&endpoint, &r.repository, credentials, true).await?;
    blob(
        &client,
        &artifact::empty_config().digest,
        artifact::EMPTY_CONFIG_BYTES.to_vec(),
    )
    .await?;
    let kernel_digest = file_blob(&client, dir, &built.kernel).await?;
    let kernel = artifact::descriptor(
        artifact::KERNEL,
        kernel_digest,
        built.kernel.size,
        Some("vmlinuz"),
    );
    let arch = artifact::oci_arch(&built.arch).to_string();
    let mut entries = Vec::new();
    for format in DiskFormat::ALL {
        let packed = compressed(dir, output(built, format))?;
        log(&format!(
            "pushing the {} disk ({} MiB compressed)",
            format.as_str(),
            packed.size >> 20
        ));
        let digest = file_blob(&client, dir, &packed).await?;
        let disk =
            artifact::descriptor(format.media_type(), digest, packed.size, Some(&packed.file));
        let manifest = artifact::manifest(disk, format.has_kernel().then(|| kernel.clone()));
        let digest = Digest::of(&manifest);
        let size = manifest.len() as u64;
        client
            .put_manifest(
                digest.as_str(),
                berth_registry::manifest::OCI_MANIFEST,
                manifest,
            )
            .await?;
        entries.push((format, arch.as_str(), digest, size));
    }
    let index = artifact::index(&entries);
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let digest = client.put_manifest(&tag, OCI_INDEX, index).await?;
    log(&format!("pushed {target} ({digest})"));
    Ok(digest)
}
