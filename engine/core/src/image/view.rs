//! What front ends print about images: `images` summaries, `inspect` documents and
//! `history` rows, built from database rows and the stored config blob.

use crate::engine::StoreContext;
use crate::image::names::split_repo_tag;
use crate::store::db::ImageRow;
use berth_registry::manifest::ImageConfig;
use berth_types::image::{
    GraphDriver, HistoryEntry, HistoryRow, ImageInspect, ImageRunConfig, ImageSummary, RootFs,
};
use std::collections::BTreeMap;

pub fn labels(row: &ImageRow) -> Option<BTreeMap<String, String>> {
    row.labels
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
}

fn created_at(row: &ImageRow) -> String {
    chrono::DateTime::from_timestamp(row.created, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Names that are tags (a `repo@digest` name records a pull by digest, not a tag).
pub fn repo_tags(row: &ImageRow) -> Vec<String> {
    row.names
        .iter()
        .filter(|n| !n.contains('@'))
        .cloned()
        .collect()
}

pub fn summary(row: &ImageRow) -> ImageSummary {
    let repo_tags = repo_tags(row);
    ImageSummary {
        id: row.id.clone(),
        parent_id: String::new(),
        repo_tags: repo_tags.clone(),
        repo_digests: row.repo_digests.clone(),
        created: row.created,
        created_at: created_at(row),
        size: row.size,
        shared_size: 0,
        virtual_size: row.size,
        labels: labels(row),
        containers: 0,
        names: row.names.clone(),
        digest: row.digest.clone(),
        history: row.names.clone(),
        dangling: row.names.is_empty(),
    }
}

/// Reads and parses the image's config blob.
pub fn config(ctx: &StoreContext, row: &ImageRow) -> std::io::Result<ImageConfig> {
    let bytes = std::fs::read(ctx.paths.blob(&row.id))?;
    ImageConfig::parse(&bytes).map_err(std::io::Error::other)
}

pub fn inspect(
    ctx: &StoreContext,
    row: &ImageRow,
    names_history: Vec<String>,
) -> std::io::Result<ImageInspect> {
    let cfg = config(ctx, row)?;
    let run = cfg.config.clone().unwrap_or_default();
    let layer_dirs: Vec<String> = row
        .layers
        .iter()
        .map(|d| {
            ctx.paths
                .layer_dir(d.trim_start_matches("sha256:"))
                .join("diff")
                .display()
                .to_string()
        })
        .collect();
    let mut data = BTreeMap::new();
    if let Some((upper, lower)) = layer_dirs.split_last() {
        data.insert("UpperDir".to_string(), upper.clone());
        if !lower.is_empty() {
            data.insert(
                "LowerDir".to_string(),
                lower.iter().rev().cloned().collect::<Vec<_>>().join(":"),
            );
        }
    }
    Ok(ImageInspect {
        id: row.id.clone(),
        digest: row.digest.clone(),
        repo_tags: repo_tags(row),
        repo_digests: row.repo_digests.clone(),
        parent: String::new(),
        comment: cfg
            .history
            .last()
            .and_then(|h| h.comment.clone())
            .unwrap_or_default(),
        created: cfg.created.clone().unwrap_or_default(),
        config: ImageRunConfig {
            user: run.user.clone().filter(|u| !u.is_empty()),
            exposed_ports: run.exposed_ports.clone(),
            env: run.env.clone(),
            entrypoint: run.entrypoint.clone(),
            cmd: run.cmd.clone(),
            volumes: run.volumes.clone(),
            working_dir: run.working_dir.clone().filter(|w| !w.is_empty()),
            labels: run.labels.clone(),
            stop_signal: run.stop_signal.clone(),
        },
        version: cfg
            .other
            .get("docker_version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        author: cfg.author.clone().unwrap_or_default(),
        architecture: cfg.architecture.clone(),
        os: cfg.os.clone(),
        variant: cfg.variant.clone(),
        size: row.size,
        virtual_size: row.size,
        graph_driver: GraphDriver {
            name: "overlay".into(),
            data,
        },
        root_fs: RootFs {
            kind: "layers".into(),
            layers: row.layers.clone(),
        },
        labels: run.labels.clone(),
        annotations: BTreeMap::new(),
        manifest_type: row.manifest_type.clone(),
        user: run.user.unwrap_or_default(),
        history: cfg
            .history
            .iter()
            .map(|h| HistoryEntry {
                created: h.created.clone(),
                created_by: h.created_by.clone(),
                author: h.author.clone(),
                comment: h.comment.clone(),
                empty_layer: h.empty_layer,
            })
            .collect(),
        names_history,
    })
}

/// `history` rows, newest first, with each non-empty entry sized by its layer.
pub fn history(
    ctx: &StoreContext,
    row: &ImageRow,
    layer_sizes: &[u64],
) -> std::io::Result<Vec<HistoryRow>> {
    let cfg = config(ctx, row)?;
    let mut sizes = layer_sizes.iter();
    let mut rows: Vec<HistoryRow> = cfg
        .history
        .iter()
        .map(|h| HistoryRow {
            id: "<missing>".into(),
            created: h.created.clone(),
            created_by: h.created_by.clone().unwrap_or_default(),
            size: if h.empty_layer {
                0
            } else {
                sizes.next().copied().unwrap_or(0)
            },
            comment: h.comment.clone().unwrap_or_default(),
            tags: Vec::new(),
        })
        .collect();
    if rows.is_empty() {
        // Images without history still show one row per layer.
        rows = layer_sizes
            .iter()
            .map(|s| HistoryRow {
                id: "<missing>".into(),
                created: cfg.created.clone(),
                created_by: String::new(),
                size: *s,
                comment: String::new(),
                tags: Vec::new(),
            })
            .collect();
    }
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top.id = row.id.clone();
        top.tags = row
            .names
            .iter()
            .map(|n| {
                let (r, t) = split_repo_tag(n);
                format!("{r}:{t}")
            })
            .collect();
    }
    Ok(rows)
}
