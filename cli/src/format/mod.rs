//! Podman-compatible `--format` handling, mirroring `containers/common/pkg/report`:
//! `json` prints all items as an indented JSON array; `table` alone selects the
//! command's default table; `table TEMPLATE` prints a header row (from field names and
//! a per-command header map) and one row per item, aligned like Go's tabwriter; any
//! other template renders once per item with no header. As in Podman, literal `\t` and
//! `\n` escapes become tab and newline, in a table spaces become column breaks, and a
//! missing trailing newline is added; unlike Podman, these rewrites apply only to text
//! outside `{{ }}`, so string literals inside actions keep their exact meaning.

pub(crate) mod columns;
mod template;

use serde_json::Value;
pub use template::{Template, TemplateError};

/// Why formatted output could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot encode output as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A parsed `--format` value.
#[derive(Debug, Clone)]
pub enum OutputFormat {
    /// `json` or `{{json}}`: all items as one JSON array indented by four spaces.
    Json,
    /// An empty format or `table`: the command's own default table.
    DefaultTable { header: bool },
    /// `table TEMPLATE`: a header row (unless `header` is false) plus one aligned row
    /// per item.
    Table { format: ParsedFormat, header: bool },
    /// Any other template: rendered once per item (or once over all items when it has
    /// its own `{{range .}}…{{end}}`), no header, no alignment.
    Plain(ParsedFormat),
}

/// A normalised, parsed template with what is needed to report errors against the
/// text the user typed.
#[derive(Debug, Clone)]
pub struct ParsedFormat {
    template: Template,
    /// The normalised template body (escapes replaced, trailing newline added).
    body: String,
    /// The format exactly as given.
    original: String,
    /// For each byte of `body` (and one past its end), the offset in `original`.
    map: Vec<usize>,
    /// The template ranges over the item list itself (`{{range .}}…{{end}}`).
    whole_list: bool,
}

impl OutputFormat {
    /// Classifies and parses a `--format` value.
    pub fn parse(s: &str) -> Result<OutputFormat, TemplateError> {
        let default = OutputFormat::DefaultTable { header: true };
        if is_json(s) {
            return Ok(OutputFormat::Json);
        }
        if s.is_empty() || s.trim_end() == "table" {
            return Ok(default);
        }
        match s.strip_prefix("table ") {
            Some(body) if body.trim().is_empty() => Ok(default),
            Some(_) => Ok(OutputFormat::Table {
                format: ParsedFormat::new(s, "table ".len(), true)?,
                header: true,
            }),
            None => Ok(OutputFormat::Plain(ParsedFormat::new(s, 0, false)?)),
        }
    }

    /// The same format without the header row (`--noheading`).
    pub fn without_header(self) -> OutputFormat {
        match self {
            OutputFormat::DefaultTable { .. } => OutputFormat::DefaultTable { header: false },
            OutputFormat::Table { format, .. } => OutputFormat::Table {
                format,
                header: false,
            },
            other => other,
        }
    }
}

/// Podman's `report.IsJSON`: `json`, `{{json}}` or `{{ json. }}`, with optional spaces
/// (`{{json .}}` is a template, rendered per item).
fn is_json(s: &str) -> bool {
    let s = s.trim();
    if s == "json" {
        return true;
    }
    let inner = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"));
    match inner.and_then(|i| i.trim_start().strip_prefix("json")) {
        Some(rest) => rest.strip_prefix('.').unwrap_or(rest).trim().is_empty(),
        None => false,
    }
}

impl ParsedFormat {
    fn new(original: &str, start: usize, table: bool) -> Result<ParsedFormat, TemplateError> {
        let (body, map) = normalize(original, start, table);
        let relocate = |e: TemplateError| {
            let at = map.get(e.offset).copied().unwrap_or(original.len());
            TemplateError::at(original, at, e.message)
        };
        let template = Template::parse(&body).map_err(relocate)?;
        let whole_list = !table && has_list_range(&body);
        Ok(ParsedFormat {
            template,
            body,
            original: original.to_string(),
            map,
            whole_list,
        })
    }

    /// Renders every item, or the whole list at once when the template ranges over it.
    fn render_all(&self, items: &[Value]) -> Result<String, TemplateError> {
        if self.whole_list {
            return self.render(&Value::Array(items.to_vec()));
        }
        let mut out = String::new();
        for item in items {
            out.push_str(&self.render(item)?);
        }
        Ok(out)
    }

    fn render(&self, data: &Value) -> Result<String, TemplateError> {
        self.template.render(data).map_err(|e| {
            let at = self
                .map
                .get(e.offset)
                .copied()
                .unwrap_or(self.original.len());
            TemplateError::at(&self.original, at, e.message)
        })
    }

    /// The header row: the template rendered over field name → header text, falling
    /// back to one header per tab-separated cell when that rendering fails.
    fn header_row(&self, headers: &[(&str, &str)]) -> String {
        let data: serde_json::Map<String, Value> = self
            .template
            .field_names()
            .into_iter()
            .map(|f| {
                let h = header_name(&f, headers);
                (f, Value::String(h))
            })
            .collect();
        let data = match self.whole_list {
            true => Value::Array(vec![Value::Object(data)]),
            false => Value::Object(data),
        };
        if let Ok(row) = self.template.render_header(&data) {
            return row;
        }
        let mut row = String::new();
        for (i, cell) in split_cells(self.body.trim_end_matches('\n'))
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                row.push('\t');
            }
            let field = Template::parse(cell)
                .ok()
                .and_then(|t| t.field_names().into_iter().next());
            row.push_str(&field.map(|f| header_name(&f, headers)).unwrap_or_default());
        }
        row.push('\n');
        row
    }
}

/// Renders `items` as `format` asks. `headers` maps field names to column headers
/// (Podman upper-cases them). `default_table` is the command's default table: with a
/// `table ` prefix it is treated like a user's `table …` format; without one it is
/// used as written (tabs separate columns; it may `{{range .}}` over the items itself)
/// and still gets a header row and alignment.
pub fn render_items(
    format: &OutputFormat,
    items: &[Value],
    headers: &[(&str, &str)],
    default_table: &str,
) -> Result<String, FormatError> {
    match format {
        OutputFormat::Json => {
            let pretty = serde_json::to_string_pretty(items)?;
            let mut out = String::with_capacity(pretty.len() * 2);
            for line in pretty.lines() {
                let body = line.trim_start_matches(' ');
                let indent = line.len() - body.len();
                out.extend(std::iter::repeat_n(' ', indent * 2));
                out.push_str(body);
                out.push('\n');
            }
            Ok(out)
        }
        OutputFormat::DefaultTable { header } => {
            let prefixed = default_table.starts_with("table ");
            let start = if prefixed { "table ".len() } else { 0 };
            let parsed = ParsedFormat::new(default_table, start, prefixed)?;
            render_table(&parsed, items, headers, *header)
        }
        OutputFormat::Table { format, header } => render_table(format, items, headers, *header),
        OutputFormat::Plain(parsed) => Ok(parsed.render_all(items)?),
    }
}

fn render_table(
    parsed: &ParsedFormat,
    items: &[Value],
    headers: &[(&str, &str)],
    header: bool,
) -> Result<String, FormatError> {
    let mut text = if header {
        parsed.header_row(headers)
    } else {
        String::new()
    };
    text.push_str(&parsed.render_all(items)?);
    Ok(columns::align(&text))
}

/// The column header for `field`: the caller's override upper-cased, else the field
/// name split at camel-case boundaries and upper-cased (`CreatedSince` → `CREATED SINCE`).
fn header_name(field: &str, headers: &[(&str, &str)]) -> String {
    if let Some((_, h)) = headers.iter().find(|(k, _)| *k == field) {
        return h.to_uppercase();
    }
    camel_words(field).join(" ").to_uppercase()
}

/// Podman's `camelcase.Split`: runs of lower, upper, digit and other characters, with
/// an upper-case run giving its last letter to a following lower-case run.
fn camel_words(s: &str) -> Vec<String> {
    let class = |c: char| match c {
        c if c.is_lowercase() => 1,
        c if c.is_uppercase() => 2,
        c if c.is_numeric() => 3,
        _ => 4,
    };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in s.chars() {
        match runs.last_mut() {
            Some(run) if class(c) == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = class(c);
    }
    for i in 1..runs.len() {
        let upper_then_lower = runs[i - 1].first().is_some_and(|c| c.is_uppercase())
            && runs[i].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower {
            if let Some(c) = runs[i - 1].pop() {
                runs[i].insert(0, c);
            }
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// Splits `s` into text (`false`) and action (`true`) segments; `}}` inside quoted
/// strings and comments does not end an action.
fn segments(s: &str) -> Vec<(bool, &str)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while let Some(open) = s[i..].find("{{").map(|k| i + k) {
        out.push((false, &s[start..open]));
        (start, i) = (open, open + 2);
        loop {
            match b.get(i) {
                None => {
                    out.push((true, &s[start..]));
                    return out;
                }
                Some(q @ (b'"' | b'\'' | b'`')) => {
                    i += 1;
                    while i < b.len() && b[i] != *q && (*q == b'`' || b[i] != b'\n') {
                        i += if b[i] == b'\\' && *q != b'`' { 2 } else { 1 };
                    }
                    i = (i + 1).min(b.len());
                }
                Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                    i = s[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
                }
                Some(b'}') if b.get(i + 1) == Some(&b'}') => {
                    i += 2;
                    out.push((true, &s[start..i]));
                    start = i;
                    break;
                }
                Some(_) => i += 1,
            }
        }
    }
    out.push((false, &s[start..]));
    out
}

/// Replaces `\t`/`\n` escapes in text (and spaces, for tables) and ensures a trailing
/// newline unless a string literal in an action writes `\n` itself (Podman then parses
/// the raw text, which gets none); returns the text and the source offset of each byte.
fn normalize(original: &str, start: usize, table: bool) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(original.len() + 1);
    let mut map = Vec::with_capacity(original.len() + 2);
    let mut offset = start;
    let mut writes_newlines = false;
    for (action, seg) in segments(&original[start..]) {
        writes_newlines |= action && seg.contains("\\n");
        let mut chars = seg.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let escaped = match (c, chars.peek()) {
                ('\\', Some((_, 't'))) if !action => Some('\t'),
                ('\\', Some((_, 'n'))) if !action => Some('\n'),
                _ => None,
            };
            let c = match escaped {
                Some(e) => {
                    chars.next();
                    e
                }
                None if table && !action && c == ' ' => '\t',
                None => c,
            };
            out.push(c);
            map.extend(std::iter::repeat_n(offset + i, c.len_utf8()));
        }
        offset += seg.len();
    }
    if !out.ends_with('\n') && !writes_newlines {
        out.push('\n');
        map.push(original.len());
    }
    map.push(original.len());
    (out, map)
}

/// Podman's `EnforceRange` test: `{{ range . }}` … `{{ end }}` somewhere in the text.
fn has_list_range(s: &str) -> bool {
    let opens = |t: &str| -> Option<usize> {
        let r = t
            .trim_start()
            .strip_prefix("range")?
            .trim_start()
            .strip_prefix('.')?
            .trim_start();
        r.starts_with("}}").then(|| t.len() - r.len() + 2)
    };
    let ends = |t: &str| {
        let r = t.trim_start().strip_prefix("end").map(str::trim_start);
        r.map(|r| r.strip_prefix('-').unwrap_or(r).trim_start())
            .is_some_and(|r| r.starts_with("}}"))
    };
    for (i, _) in s.match_indices("{{") {
        if let Some(len) = opens(&s[i + 2..]) {
            let rest = &s[i + 2 + len..];
            return rest.match_indices("{{").any(|(j, _)| ends(&rest[j + 2..]));
        }
    }
    false
}

/// Splits a table body into cells at tabs outside actions.
fn split_cells(s: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for (action, seg) in segments(s) {
        if !action {
            for (i, _) in seg.match_indices('\t') {
                cells.push(&s[start..offset + i]);
                start = offset + i + 1;
            }
        }
        offset += seg.len();
    }
    cells.push(&s[start..]);
    cells
}

#[cfg(test)]
mod tests;
