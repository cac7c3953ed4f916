//! `berth history`: the image's history entries, newest first.

use crate::cli::HistoryArgs;
use crate::exit;
use crate::human;
use crate::output::print_list;
use berth_types::Engine;
use serde_json::{json, Value};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Created", "CREATED"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
    ("Tags", "TAGS"),
];

pub fn run(engine: &dyn Engine, a: HistoryArgs) -> anyhow::Result<i32> {
    let rows = engine.image_history(&a.image).map_err(exit::engine)?;
    if a.quiet {
        for r in &rows {
            let id = if a.no_trunc || r.id == "<missing>" {
                r.id.clone()
            } else {
                r.id[..r.id.len().min(12)].to_string()
            };
            println!("{id}");
        }
        return Ok(0);
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let created_unix = r
                .created
                .as_deref()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map(|t| t.timestamp())
                .unwrap_or(0);
            let id = if a.no_trunc || r.id == "<missing>" { r.id.clone() } else { r.id[..r.id.len().min(12)].to_string() };
            let mut created_by = r.created_by.clone();
            if !a.no_trunc && created_by.chars().count() > 45 {
                created_by = created_by.chars().take(42).collect::<String>() + "...";
            }
            json!({
                "ID": id,
                "Created": if a.human { human::since(created_unix) } else { r.created.clone().unwrap_or_default() },
                "CreatedAt": r.created.clone().unwrap_or_default(),
                "CreatedSince": human::since(created_unix),
                "CreatedBy": created_by,
                "Size": if a.human { human::size(r.size) } else { r.size.to_string() },
                "Comment": r.comment,
                "Tags": r.tags.join(","),
            })
        })
        .collect();
    let default = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    let json_rows = || {
        Ok(serde_json::to_value(
            rows.iter()
                .map(|r| {
                    json!({"id": r.id, "created": r.created, "createdBy": r.created_by, "size": r.size, "comment": r.comment, "tags": r.tags})
                })
                .collect::<Vec<_>>(),
        )?)
    };
    print_list(
        a.format.as_deref(),
        default,
        HEADERS,
        &items,
        &json_rows,
        false,
    )?;
    Ok(0)
}
