//! `berth version`, `berth info`, `berth system df`, `berth system reset`.

use crate::cli::{DfArgs, FormatArgs, ResetArgs};
use crate::exit;
use crate::human;
use crate::output::{print_documents, print_list, yaml};
use berth_types::Engine;
use serde_json::{json, Value};

pub fn version(engine: &dyn Engine, a: FormatArgs) -> anyhow::Result<i32> {
    let v = engine.version().map_err(exit::engine)?;
    let doc = json!({ "Client": v });
    match a.format.as_deref() {
        None => {
            println!("Client:       Berth Engine");
            println!("Version:      {}", v.version);
            println!("API Version:  {}", v.api_version);
            println!("Rust Version: {}", v.rust_version);
            if !v.git_commit.is_empty() {
                println!("Git Commit:   {}", v.git_commit);
            }
            println!("Built:        {}", v.built_time);
            println!("OS/Arch:      {}", v.os_arch);
        }
        Some(f) => print_documents(Some(f), &[doc])?,
    }
    Ok(0)
}

pub fn info(engine: &dyn Engine, a: FormatArgs) -> anyhow::Result<i32> {
    let info = engine.info().map_err(exit::engine)?;
    let doc = serde_json::to_value(&info)?;
    match a.format.as_deref() {
        None | Some("yaml") => print!("{}", yaml(&doc)),
        // One object, indented by two as Podman's.
        Some("json") => println!("{}", serde_json::to_string_pretty(&doc)?),
        // Templates name Podman's Go fields (`{{.Store.GraphRoot}}`), the JSON keys are camelCase.
        Some(f) => print_documents(Some(f), &[pascal_keys(doc)])?,
    }
    Ok(0)
}

fn pascal_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = c
                        .next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default();
                    (key, pascal_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(pascal_keys).collect()),
        other => other,
    }
}

pub fn df(engine: &dyn Engine, a: DfArgs) -> anyhow::Result<i32> {
    let rows = engine.disk_usage().map_err(exit::engine)?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let pct = (r.reclaimable * 100).checked_div(r.size).unwrap_or(0);
            json!({
                "Type": r.kind,
                "Total": r.total,
                "Active": r.active,
                "Size": human::size(r.size),
                "RawSize": r.size,
                "Reclaimable": format!("{} ({}%)", human::size(r.reclaimable), pct),
                "RawReclaimable": r.reclaimable,
            })
        })
        .collect();
    let headers = &[
        ("Type", "TYPE"),
        ("Total", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    let default = "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    let _ = a.verbose;
    print_list(
        a.format.as_deref(),
        default,
        headers,
        &items,
        &|| Ok(serde_json::to_value(&rows)?),
        false,
    )?;
    Ok(0)
}

pub fn reset(engine: &dyn Engine, a: ResetArgs) -> anyhow::Result<i32> {
    if !a.force {
        use std::io::{BufRead, Write};
        print!(
            "WARNING! This will remove:\n        - all images\n        - all build cache\nAre you sure you want to continue? [y/N] "
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    engine.reset().map_err(exit::engine)?;
    Ok(0)
}
