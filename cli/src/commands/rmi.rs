//! `berth rmi` and `berth image prune`.

use crate::cli::{PruneArgs, RmiArgs};
use crate::exit;
use berth_types::image::{PruneImagesRequest, RemoveImagesRequest};
use berth_types::Engine;

pub fn run(engine: &dyn Engine, a: RmiArgs) -> anyhow::Result<i32> {
    if a.images.is_empty() && !a.all {
        anyhow::bail!("image name or ID must be specified");
    }
    if !a.images.is_empty() && a.all {
        anyhow::bail!("when using the --all switch, you may not pass any images names or IDs");
    }
    let req = RemoveImagesRequest {
        names: a.images,
        force: a.force,
        all: a.all,
        ignore_missing: a.ignore,
    };
    let report = engine.remove_images(&req).map_err(exit::not_found_is_one)?;
    for n in &report.untagged {
        println!("Untagged: {n}");
    }
    for id in &report.deleted {
        println!("Deleted: {id}");
    }
    Ok(0)
}

pub fn prune(engine: &dyn Engine, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force {
        use std::io::{BufRead, IsTerminal, Write};
        if std::io::stdin().is_terminal() {
            let what = if a.all {
                "all images not in use by containers"
            } else {
                "all dangling images"
            };
            print!(
                "WARNING! This command removes {what}.\nAre you sure you want to continue? [y/N] "
            );
            std::io::stdout().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                return Ok(0);
            }
        }
    }
    let removed = engine
        .prune_images(&PruneImagesRequest {
            all: a.all,
            filters: a.filter,
        })
        .map_err(exit::engine)?;
    for id in removed {
        println!("{id}");
    }
    Ok(0)
}
