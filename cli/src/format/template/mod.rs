//! A parser and renderer for the subset of Go's `text/template` that Podman and
//! Docker users write in `--format`, evaluated over `serde_json::Value` data.
//!
//! Supported: text, `{{ }}` actions with `{{-`/`-}}` trim markers, comments,
//! fields (`.A.B`, `.`, `$`, `$x.A`), pipelines, parenthesised pipelines,
//! literals, variables (`:=`, `=`), `if`/`else if`/`else`, `range` (arrays,
//! objects in key order, integers) with `break`/`continue`, `with`/`else with`,
//! and the functions `and or not len index print printf println eq ne lt le gt ge
//! json lower upper title truncate join split pad contains replace`. Not supported:
//! `define`, `template`, `block`, methods, and the `html`/`js`/`urlquery`/`call`/
//! `slice` builtins. Parsing limits nesting depth; rendering limits steps and output.

mod eval;
mod funcs;
mod lex;
mod parse;
mod printf;
mod value;

use serde_json::Value;

/// Longest error message kept, in characters.
const MAX_MESSAGE: usize = 200;

/// A template parse or execution error, with the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {line}:{column}: {message}")]
pub struct TemplateError {
    /// Byte offset into the template source.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: usize,
    /// 1-based column (in characters) of `offset`.
    pub column: usize,
    /// What went wrong, one line.
    pub message: String,
}

impl TemplateError {
    /// An error at byte `offset` of `src`; the message is kept to one short line.
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let mut message: String = message.into().replace('\n', "\\n").replace('\r', "\\r");
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE) {
            message.truncate(cut);
            message.push_str("...");
        }
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        TemplateError {
            offset,
            line,
            column,
            message,
        }
    }
}

/// A parsed template, ready to render any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses `src`; fails on syntax errors, unknown functions and undefined variables.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let tokens = lex::lex(src);
        let nodes = parse::parse(tokens).map_err(|(pos, msg)| TemplateError::at(src, pos, msg))?;
        Ok(Template {
            src: src.to_string(),
            nodes,
        })
    }

    /// Renders the template with `data` as dot (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        self.exec(data, false)
    }

    /// Renders a table header row: `data` maps field names to header strings, string
    /// functions pass their first argument through, `printf` verbs print as `%s`, and a
    /// field of a header string is the string itself (`.Labels.x` gives `LABELS`).
    pub(crate) fn render_header(&self, data: &Value) -> Result<String, TemplateError> {
        self.exec(data, true)
    }

    fn exec(&self, data: &Value, header: bool) -> Result<String, TemplateError> {
        eval::execute(&self.nodes, &self.src, data, header)
            .map_err(|(pos, msg)| TemplateError::at(&self.src, pos, msg))
    }

    /// The first name of every field chain (`.A.B` gives `A`, `$.C` gives `C`), in order
    /// of appearance, without duplicates.
    pub(crate) fn field_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        parse::collect_fields(&self.nodes, &mut names);
        names
    }
}

#[cfg(test)]
mod tests;
