//! Go's view of JSON values: integral numbers are ints (Podman's fields are typed
//! ints), others float64; `%v` printing (`[a b]`, `map[k:v]` with sorted keys, nested
//! nulls as `<nil>`), `fmt.Sprint`/`Sprintln`, and `strconv.Quote`.

use super::printf::format_value;
use serde_json::{Number, Value};
use std::fmt::Write as _;

/// The integer value of `n` when it is integral (floats only below 1e21).
pub(super) fn as_int(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.into());
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1e21).then_some(f as i128)
}

/// A Go-ish type name for error messages.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if as_int(n).is_some() => "int",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Object entries sorted by key, as Go prints and ranges over maps.
pub(super) fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Appends `v` formatted like Go's `%v` (nested nulls print as `<nil>`).
pub(super) fn write_value(out: &mut String, v: &Value) {
    format_value(out, v, 'v');
}

pub(super) fn display(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub(super) fn sprint(args: &[&Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out
}

/// Go's `fmt.Sprintln`: operands separated by spaces, newline appended.
pub(super) fn sprintln(args: &[&Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// Go's `strconv.Quote` (or a backquoted string for `%#q` when possible).
pub(super) fn quote_str(s: &str, sharp: bool) -> String {
    if sharp && !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
        return format!("`{s}`");
    }
    quote(s, '"')
}

pub(super) fn quote(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            c if c == q || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if c == ' ' || !(c.is_control() || c.is_whitespace()) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(q);
    out
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_like_go() {
        let v = json!({"b": [1, "x", null, true], "a": {"k": 1.5}});
        assert_eq!(display(&v), "map[a:map[k:1.5] b:[1 x <nil> true]]");
        assert_eq!(display(&json!(1e6)), "1000000");
        assert_eq!(display(&json!(1234567.5)), "1.2345675e+06");
        assert_eq!(display(&json!(0.00001)), "1e-05");
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        let (a, b, one, two) = (json!("a"), json!("b"), json!(1), json!(2));
        assert_eq!(sprint(&[&a, &b, &one, &two, &a]), "ab1 2a");
        assert_eq!(sprintln(&[&a, &one]), "a 1\n");
    }
}
