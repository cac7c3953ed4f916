//! `berth inspect` and `berth image inspect`: Podman's JSON documents, or a template
//! applied to each. Every name is looked up before anything is printed.

use crate::cli::{ImageInspectArgs, InspectArgs};
use crate::exit;
use crate::output::print_documents;
use berth_types::{Engine, ErrorKind};
use serde_json::Value;

fn collect(
    engine: &dyn Engine,
    names: &[String],
    missing: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in names {
        match engine.inspect_image(n) {
            Ok(doc) => docs.push(serde_json::to_value(doc)?),
            Err(e) if e.kind == ErrorKind::NotFound => errors.push(missing(n)),
            Err(e) => return Err(exit::engine(e)),
        }
    }
    if !errors.is_empty() {
        // Podman prints what it found, then fails naming what it did not.
        if !docs.is_empty() {
            println!("{}", super::json_inspect(&docs)?);
        }
        return Err(exit::with_code(exit::ENGINE, errors.join("\n")));
    }
    Ok(docs)
}

pub fn run(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    match a.kind.as_str() {
        "image" | "all" => {}
        "container" | "pod" | "volume" | "network" => {
            return Err(exit::with_code(
                exit::ENGINE,
                format!("no such {}: {:?}", a.kind, a.names[0]),
            ))
        }
        other => anyhow::bail!(
            "invalid --type {other:?}: use image, container, pod, volume, network or all"
        ),
    }
    let docs = collect(engine, &a.names, |n| format!("no such object: {n:?}"))?;
    print_documents(a.format.as_deref(), &docs)?;
    Ok(0)
}

pub fn run_image(engine: &dyn Engine, a: ImageInspectArgs) -> anyhow::Result<i32> {
    let docs = collect(engine, &a.names, |n| format!("{n}: image not known"))?;
    print_documents(a.format.as_deref(), &docs)?;
    Ok(0)
}
