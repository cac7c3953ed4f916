//! `berth inspect` and `berth image inspect`: Podman's JSON documents, or a template
//! applied to each. Every name is looked up before anything is printed.

use crate::cli::{ImageInspectArgs, InspectArgs};
use crate::exit;
use crate::output::print_documents;
use berth_types::{Engine, ErrorKind};
use serde_json::Value;

/// What `inspect` looks in, in Podman's order: containers first, then images, volumes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Container,
    Image,
    Volume,
}

fn inspect_one(
    engine: &dyn Engine,
    kinds: &[Kind],
    name: &str,
) -> berth_types::Result<Option<Value>> {
    for k in kinds {
        let found = match k {
            Kind::Container => engine.inspect_container(name),
            Kind::Image => engine
                .inspect_image(name)
                .map(|d| serde_json::to_value(d).unwrap_or_default()),
            Kind::Volume => engine
                .inspect_volume(name)
                .map(|d| serde_json::to_value(d).unwrap_or_default()),
        };
        match found {
            Ok(doc) => return Ok(Some(doc)),
            Err(e) if e.kind == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn collect(
    engine: &dyn Engine,
    kinds: &[Kind],
    names: &[String],
    missing: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in names {
        match inspect_one(engine, kinds, n) {
            Ok(Some(doc)) => docs.push(doc),
            Ok(None) => errors.push(missing(n)),
            Err(e) => return Err(exit::engine(e)),
        }
    }
    if !errors.is_empty() {
        // Podman prints what it found, then fails naming what it did not.
        println!("{}", super::json_inspect(&docs)?);
        return Err(exit::with_code(exit::ENGINE, errors.join("\n")));
    }
    Ok(docs)
}

pub fn run(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    let kinds: &[Kind] = match a.kind.as_str() {
        "all" => &[Kind::Container, Kind::Image, Kind::Volume],
        "container" => &[Kind::Container],
        "image" => &[Kind::Image],
        "volume" => &[Kind::Volume],
        "pod" | "network" => {
            return Err(exit::with_code(
                exit::ENGINE,
                format!("no such {}: {:?}", a.kind, a.names[0]),
            ))
        }
        other => anyhow::bail!(
            "invalid --type {other:?}: use container, image, volume, pod, network or all"
        ),
    };
    let docs = collect(engine, kinds, &a.names, |n| {
        format!("no such object: {n:?}")
    })?;
    print_documents(a.format.as_deref(), &docs)?;
    Ok(0)
}

pub fn run_image(engine: &dyn Engine, a: ImageInspectArgs) -> anyhow::Result<i32> {
    let docs = collect(engine, &[Kind::Image], &a.names, |n| {
        format!("{n}: image not known")
    })?;
    print_documents(a.format.as_deref(), &docs)?;
    Ok(0)
}
