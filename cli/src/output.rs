//! Printing lists and documents the way Podman does: `--format json`, `table …` with
//! aligned columns and headers, or a plain Go template per item.

use crate::format::{render_items, OutputFormat};
use serde_json::Value;

/// Renders `items` with the user's `--format`, or `default_table` when none was given.
/// `json` is the objects `json_items` (Podman prints the API shape there, not the rows).
pub fn print_list(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    items: &[Value],
    json_items: &dyn Fn() -> anyhow::Result<Value>,
    noheading: bool,
) -> anyhow::Result<()> {
    let spec = format.unwrap_or(default_table);
    let parsed =
        OutputFormat::parse(spec).map_err(|e| anyhow::anyhow!("invalid --format {spec:?}: {e}"))?;
    if matches!(parsed, OutputFormat::Json) {
        println!("{}", crate::commands::json_pretty(&json_items()?)?);
        return Ok(());
    }
    let parsed = if noheading {
        parsed.without_header()
    } else {
        parsed
    };
    let text = render_items(&parsed, items, headers, default_table)
        .map_err(|e| anyhow::anyhow!("invalid --format {spec:?}: {e}"))?;
    print!("{text}");
    Ok(())
}

/// Renders one document per item with a template, or pretty JSON for none / `json`.
pub fn print_documents(format: Option<&str>, items: &[Value]) -> anyhow::Result<()> {
    match format {
        None | Some("json") | Some("") => {
            println!("{}", crate::commands::json_inspect(&items)?);
            Ok(())
        }
        Some(spec) => {
            let parsed = OutputFormat::parse(spec)
                .map_err(|e| anyhow::anyhow!("invalid --format {spec:?}: {e}"))?;
            let text = render_items(&parsed, items, &[], spec)
                .map_err(|e| anyhow::anyhow!("invalid --format {spec:?}: {e}"))?;
            print!("{text}");
            Ok(())
        }
    }
}

/// Podman's default `info` rendering: YAML-style keys and nested blocks.
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(value, 0, &mut out);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s)
            if s.contains(": ") || s.starts_with(['-', '*', '&', '{', '[', '\'', '"']) =>
        {
            format!("{s:?}")
        }
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn write_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        write_yaml(v, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            out.push_str(&format!("{pad}- {}\n", scalar(item)));
                        }
                    }
                    Value::Object(_) => out.push_str(&format!("{pad}{k}: {{}}\n")),
                    Value::Array(_) => out.push_str(&format!("{pad}{k}: []\n")),
                    other => out.push_str(&format!("{pad}{k}: {}\n", scalar(other))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// Writes an archive to `path` (beside it first, then renamed, so a failure leaves no
/// partial file) or to stdout, which must not be a terminal.
pub fn write_archive(
    path: Option<&std::path::Path>,
    write: &mut dyn FnMut(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    match path {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::Builder::new()
                .prefix(".berth-")
                .tempfile_in(dir)?;
            {
                let mut out = std::io::BufWriter::new(tmp.as_file_mut());
                write(&mut out)?;
                out.flush()?;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?;
            }
            tmp.as_file().sync_all()?;
            tmp.persist(path)
                .map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error))?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!(
                    "refusing to write an archive to a terminal; use --output or redirect stdout"
                );
            }
            let mut out = std::io::BufWriter::new(stdout.lock());
            write(&mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
