//! `berth images`: one row per name (or one `<none>` row for a dangling image),
//! sorted, filtered and formatted as Podman does.

use crate::cli::ImagesArgs;
use crate::exit;
use crate::human;
use crate::output::print_list;
use berth_types::image::{ImageSummary, ListImagesRequest};
use berth_types::Engine;
use serde_json::{json, Value};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("Created", "CREATED"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedTime", "CREATED AT"),
    ("Size", "SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("ReadOnly", "R/O"),
    ("IsReadOnly", "R/O"),
    ("Containers", "CONTAINERS"),
];

struct Row<'a> {
    image: &'a ImageSummary,
    repository: String,
    tag: String,
}

fn split(name: &str) -> (String, String) {
    match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => {
            (name[..i].to_string(), name[i + 1..].to_string())
        }
        _ => (name.to_string(), "<none>".to_string()),
    }
}

fn item(r: &Row<'_>, no_trunc: bool) -> Value {
    let img = r.image;
    let id = if no_trunc {
        format!("sha256:{}", img.id)
    } else {
        img.id[..img.id.len().min(12)].to_string()
    };
    json!({
        "ID": id,
        "Id": img.id,
        "Repository": r.repository,
        "Tag": r.tag,
        "Digest": img.digest,
        "Created": human::since(img.created),
        "CreatedSince": human::since(img.created),
        "CreatedAt": human::timestamp(img.created),
        "CreatedTime": human::timestamp(img.created),
        "Size": human::size(img.size),
        "VirtualSize": human::size(img.virtual_size),
        "SharedSize": human::size(img.shared_size),
        "Labels": img.labels,
        "Names": img.names,
        "History": img.history,
        "Dangling": img.dangling,
        "ReadOnly": false,
        "IsReadOnly": false,
        "Containers": img.containers,
    })
}

pub fn run(engine: &dyn Engine, a: ImagesArgs) -> anyhow::Result<i32> {
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let images = engine
        .list_images(&ListImagesRequest {
            all: a.all,
            filters,
        })
        .map_err(exit::engine)?;
    let mut rows: Vec<Row<'_>> = Vec::new();
    for img in &images {
        if img.names.is_empty() {
            rows.push(Row {
                image: img,
                repository: "<none>".into(),
                tag: "<none>".into(),
            });
        }
        for name in &img.repo_tags {
            let (repository, tag) = split(name);
            rows.push(Row {
                image: img,
                repository,
                tag,
            });
        }
        // Pulled by digest only: the repository, without a tag.
        if img.repo_tags.is_empty() {
            for name in img.names.iter().filter(|n| n.contains('@')) {
                let repository = name.split('@').next().unwrap_or(name).to_string();
                rows.push(Row {
                    image: img,
                    repository,
                    tag: "<none>".into(),
                });
            }
        }
    }
    match a.sort.as_str() {
        "created" => rows.sort_by_key(|r| std::cmp::Reverse(r.image.created)),
        "id" => rows.sort_by(|x, y| x.image.id.cmp(&y.image.id)),
        "repository" => {
            rows.sort_by(|x, y| x.repository.cmp(&y.repository).then(x.tag.cmp(&y.tag)))
        }
        "size" => rows.sort_by_key(|x| x.image.size),
        "tag" => rows.sort_by(|x, y| x.tag.cmp(&y.tag)),
        other => {
            anyhow::bail!("invalid --sort {other:?}: use created, id, repository, size or tag")
        }
    }
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            if seen.insert(&r.image.id) {
                let id = &r.image.id;
                if a.no_trunc {
                    println!("sha256:{id}");
                } else {
                    println!("{}", &id[..id.len().min(12)]);
                }
            }
        }
        return Ok(0);
    }
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let items: Vec<Value> = rows.iter().map(|r| item(r, a.no_trunc)).collect();
    print_list(
        a.format.as_deref(),
        default,
        HEADERS,
        &items,
        &|| Ok(serde_json::to_value(&images)?),
        a.noheading,
    )?;
    Ok(0)
}
