//! `--format` as Podman applies it: `json`, `table` (the command's default columns),
//! `table {{…}}` (aligned columns under headers), or a plain Go template per item.

pub mod template;

use serde_json::Value;
use template::{Template, TemplateError};

/// What the user asked `--format` to do.
#[derive(Debug, Clone)]
pub enum OutputFormat {
    Json,
    /// The command's default table (`table` alone).
    DefaultTable { header: bool },
    Table { template: String, header: bool },
    Plain(String),
}

/// Podman turns the two characters `\t` and `\n` typed in a format into real ones.
fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

impl OutputFormat {
    pub fn parse(s: &str) -> Result<OutputFormat, TemplateError> {
        let trimmed = s.trim();
        if trimmed == "json" || trimmed == "{{json .}}" && false {
            return Ok(OutputFormat::Json);
        }
        if trimmed == "table" {
            return Ok(OutputFormat::DefaultTable { header: true });
        }
        let f = if let Some(rest) = s.strip_prefix("table ") {
            OutputFormat::Table { template: unescape(rest), header: true }
        } else {
            OutputFormat::Plain(unescape(s))
        };
        // Parse now so a bad template fails before anything is printed.
        match &f {
            OutputFormat::Table { template, .. } | OutputFormat::Plain(template) => {
                Template::parse(template)?;
            }
            _ => {}
        }
        Ok(f)
    }

    /// The same format without the header row (`--noheading`).
    pub fn without_header(self) -> OutputFormat {
        match self {
            OutputFormat::DefaultTable { .. } => OutputFormat::DefaultTable { header: false },
            OutputFormat::Table { template, .. } => OutputFormat::Table { template, header: false },
            other => other,
        }
    }
}

/// Header text for a field: the caller's name for it, else the field name in capitals
/// with spaces between words (`CreatedAt` → `CREATED AT`).
fn header_for(field: &str, headers: &[(&str, &str)]) -> String {
    if let Some((_, h)) = headers.iter().find(|(f, _)| *f == field) {
        return h.to_string();
    }
    let mut out = String::new();
    let chars: Vec<char> = field.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && c.is_uppercase() && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase())) {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// Renders all items; tables are aligned like Go's tabwriter as Podman configures it
/// (minimum width 12, padding 2, spaces).
pub fn render_items(
    format: &OutputFormat,
    items: &[Value],
    headers: &[(&str, &str)],
    default_table: &str,
) -> Result<String, TemplateError> {
    match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(items).unwrap_or_default();
            s.push('\n');
            Ok(s)
        }
        OutputFormat::Plain(t) => {
            let tpl = Template::parse(t)?;
            let mut out = String::new();
            for item in items {
                let line = tpl.render(item)?;
                out.push_str(&line);
                if !line.ends_with('\n') {
                    out.push('\n');
                }
            }
            Ok(out)
        }
        OutputFormat::DefaultTable { header } => {
            let t = default_table.strip_prefix("table ").unwrap_or(default_table);
            table(t, items, headers, *header)
        }
        OutputFormat::Table { template, header } => table(template, items, headers, *header),
    }
}

fn table(t: &str, items: &[Value], headers: &[(&str, &str)], header: bool) -> Result<String, TemplateError> {
    let tpl = Template::parse(t)?;
    let mut lines: Vec<String> = Vec::new();
    if header {
        let mut names = serde_json::Map::new();
        for f in tpl.field_names() {
            let h = header_for(&f, headers);
            names.insert(f, Value::String(h));
        }
        lines.push(tpl.render_header(&Value::Object(names))?);
    }
    for item in items {
        lines.push(tpl.render(item)?);
    }
    Ok(align(&lines))
}

/// Aligns tab-separated cells into columns: each cell but the last of a line is padded to
/// its column's width plus two spaces, with a minimum cell width of 12.
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .flat_map(|l| l.split('\n'))
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            let w = c.chars().count().max(10) + 2;
            if widths.len() <= i {
                widths.push(w);
            } else {
                widths[i] = widths[i].max(w);
            }
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < r.len() {
                let pad = widths[i] - c.chars().count();
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}
