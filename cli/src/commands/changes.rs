//! `diff`, `export`, `commit` and `import`: a container's filesystem changes, its
//! whole filesystem as a tar, and new images made from either.

use crate::container_cli::{CommitArgs, DiffArgs, ExportArgs, ImportArgs};
use crate::exit;
use berth_types::container::{CommitRequest, ImportRequest};
use berth_types::Engine;

pub fn diff(engine: &dyn Engine, a: DiffArgs) -> anyhow::Result<i32> {
    let changes = engine.container_diff(&a.name).map_err(exit::engine)?;
    match a.format.as_deref() {
        Some("json") => {
            let mut by_kind = serde_json::Map::new();
            for (kind, key) in [('A', "added"), ('C', "changed"), ('D', "deleted")] {
                let paths: Vec<&str> = changes
                    .iter()
                    .filter(|c| c.kind == kind)
                    .map(|c| c.path.as_str())
                    .collect();
                if !paths.is_empty() {
                    by_kind.insert(key.into(), serde_json::json!(paths));
                }
            }
            println!("{}", super::json_pretty(&by_kind)?);
        }
        None => {
            for c in &changes {
                println!("{} {}", c.kind, c.path);
            }
        }
        Some(other) => anyhow::bail!("invalid --format {other:?}: only json is supported"),
    }
    Ok(0)
}

pub fn export(engine: &dyn Engine, a: ExportArgs) -> anyhow::Result<i32> {
    crate::output::write_archive(a.output.as_deref(), &mut |out| {
        engine.export_container(&a.name, out).map_err(exit::engine)
    })?;
    Ok(0)
}

pub fn commit(engine: &dyn Engine, a: CommitArgs) -> anyhow::Result<i32> {
    let req = CommitRequest {
        container: a.name,
        image: a.image,
        changes: a.change,
        message: a.message,
        author: a.author,
    };
    let id = engine.commit_container(&req).map_err(exit::engine)?;
    println!("{id}");
    Ok(0)
}

pub fn import(engine: &dyn Engine, a: ImportArgs) -> anyhow::Result<i32> {
    let req = ImportRequest {
        image: a.image,
        changes: a.change,
        message: a.message,
    };
    let id = if a.path == "-" {
        engine.import_image(&req, &mut std::io::stdin().lock())
    } else {
        let mut f =
            std::fs::File::open(&a.path).map_err(|e| anyhow::anyhow!("opening {}: {e}", a.path))?;
        engine.import_image(&req, &mut f)
    }
    .map_err(exit::engine)?;
    let _ = a.quiet; // Podman's progress lines are not printed: only the ID, either way.
    println!("{id}");
    Ok(0)
}
