//! Go's `fmt.Sprintf` over JSON values: flags `+-# 0`, width, precision (also `*`),
//! verbs `v s q d x X o O b c U e E f F g G t %`, and Go's `%!verb(type=value)`,
//! `%!verb(MISSING)` and `%!(EXTRA …)` markers. Slices and maps apply the verb to each
//! element, as Go does.

use super::funcs::MAX_STRING;
use super::value::{as_int, quote, quote_str, sorted, type_name, write_value};
use serde_json::Value;
use std::fmt::Write as _;

/// Go's fmt refuses widths and precisions beyond this.
const TOO_LARGE: usize = 1_000_000;

#[derive(Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`. In `header` mode every verb prints its operand as `%s`.
pub(super) fn sprintf(format: &str, args: &[&Value], header: bool) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() > MAX_STRING {
            break; // the caller rejects the oversized result
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut star = |out: &mut String, bad: &str| -> Option<i128> {
            let v = args.get(next).and_then(|v| v.as_number()).and_then(as_int);
            next += 1;
            let v = v.filter(|v| v.unsigned_abs() <= TOO_LARGE as u128);
            if v.is_none() {
                out.push_str(bad);
            }
            v
        };
        if chars.peek() == Some(&'*') {
            chars.next();
            if let Some(w) = star(&mut out, "%!(BADWIDTH)") {
                spec.minus |= w < 0;
                spec.width = Some(w.unsigned_abs() as usize);
            }
        } else if let Some(w) = digits(&mut chars) {
            match w {
                Some(w) => spec.width = Some(w),
                None => out.push_str("%!(BADWIDTH)"),
            }
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                if let Some(p) = star(&mut out, "%!(BADPREC)") {
                    spec.prec = usize::try_from(p).ok();
                }
            } else {
                match digits(&mut chars) {
                    Some(Some(p)) => spec.prec = Some(p),
                    Some(None) => out.push_str("%!(BADPREC)"),
                    None => spec.prec = Some(0),
                }
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => format_arg(&mut out, arg, verb, &spec, header),
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
        next += 1;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Null => out.push_str("<nil>"),
                a => {
                    let _ = write!(out, "{}=", type_name(a));
                    write_value(&mut out, a);
                }
            }
        }
        out.push(')');
    }
    out
}

/// Reads a decimal number: None if absent, Some(None) if too large.
fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Option<usize>> {
    let mut n: Option<usize> = None;
    let mut large = false;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        let v = n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize);
        large |= v > TOO_LARGE;
        n = Some(v);
    }
    n.map(|v| (!large).then_some(v))
}

fn format_arg(out: &mut String, v: &Value, verb: char, spec: &Spec, header: bool) {
    let (verb, spec) = if header {
        (
            's',
            &Spec {
                prec: None,
                ..spec.clone()
            },
        )
    } else {
        (verb, spec)
    };
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, item, verb, spec, header);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("map[");
            for (i, (k, item)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, &Value::String(k.clone()), verb, spec, header);
                out.push(':');
                format_arg(out, item, verb, spec, header);
            }
            out.push(']');
        }
        Value::Null if verb == 'v' => pad(out, "<nil>", spec),
        Value::Bool(b) if matches!(verb, 'v' | 't') => {
            pad(out, if *b { "true" } else { "false" }, spec)
        }
        Value::String(s) => match verb {
            'v' | 's' => pad(out, &truncate(s, spec.prec), spec),
            'q' => pad(out, &quote_str(&truncate(s, spec.prec), spec.sharp), spec),
            'x' | 'X' => {
                let hex: String = truncate(s, spec.prec)
                    .bytes()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                pad(
                    out,
                    &if verb == 'X' { hex.to_uppercase() } else { hex },
                    spec,
                );
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Number(n) => match (as_int(n), n.as_f64()) {
            (Some(i), _) if matches!(verb, 'v' | 'd' | 'x' | 'X' | 'o' | 'O' | 'b') => {
                format_int(out, i, verb, spec)
            }
            (Some(i), _) if matches!(verb, 'c' | 'q' | 'U') => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                let s = match verb {
                    'c' => c.to_string(),
                    'q' => quote(&c.to_string(), '\''),
                    _ => format!("U+{:04X}", u32::from(c)),
                };
                pad(out, &s, spec);
            }
            (_, Some(f)) if matches!(verb, 'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F') => {
                format_float(out, f, verb, spec)
            }
            _ => bad_verb(out, v, verb),
        },
        _ => bad_verb(out, v, verb),
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    match v {
        Value::Null => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        _ => {
            let _ = write!(out, "%!{verb}({}=", type_name(v));
            write_value(out, v);
            out.push(')');
        }
    }
}

fn truncate(s: &str, prec: Option<usize>) -> std::borrow::Cow<'_, str> {
    match prec.and_then(|p| s.char_indices().nth(p)) {
        Some((i, _)) => s[..i].into(),
        None => s.into(),
    }
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let fill = spec.width.unwrap_or(0).saturating_sub(s.chars().count());
    if !spec.minus {
        out.extend(std::iter::repeat_n(' ', fill));
    }
    out.push_str(s);
    if spec.minus {
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    match (negative, spec.plus, spec.space) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    }
}

fn format_int(out: &mut String, i: i128, verb: char, spec: &Spec) {
    let a = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'x' => (format!("{a:x}"), "0x"),
        'X' => (format!("{a:X}"), "0X"),
        'o' => (format!("{a:o}"), "0"),
        'O' => (format!("{a:o}"), "0o"),
        'b' => (format!("{a:b}"), "0b"),
        _ => (a.to_string(), ""),
    };
    let sign = sign(i < 0, spec);
    let min = match spec.prec {
        Some(p) => p,
        None if spec.zero && !spec.minus => spec.width.unwrap_or(0).saturating_sub(sign.len()),
        None => 0,
    };
    if spec.prec == Some(0) && i == 0 {
        digits.clear();
    }
    if digits.len() < min {
        digits.insert_str(0, &"0".repeat(min - digits.len()));
    }
    let prefix = if verb == 'O' || (spec.sharp && verb != 'd' && verb != 'v') {
        prefix
    } else {
        ""
    };
    pad(out, &format!("{sign}{prefix}{digits}"), spec);
}

fn format_float(out: &mut String, f: f64, verb: char, spec: &Spec) {
    let body = match verb {
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
        'e' | 'E' => exp_form(&format!("{:.*e}", spec.prec.unwrap_or(6), f.abs())),
        _ => g_form(f.abs(), spec.prec),
    };
    let body = if verb.is_ascii_uppercase() {
        body.to_uppercase()
    } else {
        body
    };
    let sign = sign(f.is_sign_negative() && f != 0.0, spec);
    let len = sign.len() + body.len();
    match spec.width {
        Some(w) if spec.zero && !spec.minus && w > len => {
            out.push_str(sign);
            out.push_str(&"0".repeat(w - len));
            out.push_str(&body);
        }
        _ => pad(out, &format!("{sign}{body}"), spec),
    }
}

/// Rewrites Rust's `1.5e3` exponent form as Go's `1.5e+03`.
fn exp_form(rust: &str) -> String {
    match rust.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            format!("{mant}e{sign}{digits:0>2}")
        }
        None => rust.to_string(),
    }
}

/// Go's `%g`: shortest representation by default, exponent form for large/small values.
fn g_form(f: f64, prec: Option<usize>) -> String {
    let sci = match prec {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
    };
    let Some((mant, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i64 = exp.parse().unwrap_or(0);
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    let nd = mant.chars().filter(char::is_ascii_digit).count() as i64;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i64;
            if p > nd && nd > exp {
                nd
            } else {
                p
            }
        }
    };
    if exp < -4 || exp >= eprec {
        return exp_form(&format!("{mant}e{exp}"));
    }
    let decimals = (nd - (exp + 1)).max(0) as usize;
    format!("{f:.decimals$}")
}

/// Formats one value with `verb` and no flags (used for `%v` printing).
pub(super) fn format_value(out: &mut String, v: &Value, verb: char) {
    format_arg(out, v, verb, &Spec::default(), false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(format: &str, args: &[Value]) -> String {
        let refs: Vec<&Value> = args.iter().collect();
        sprintf(format, &refs, false)
    }

    #[test]
    fn sprintf_handles_width_flags_and_verbs() {
        assert_eq!(
            f("%-6s|%6s|", &[json!("ab"), json!("cd")]),
            "ab    |    cd|"
        );
        assert_eq!(
            f(
                "%05d %+d %x %#x %o",
                &[json!(42), json!(3), json!(255), json!(255), json!(8)]
            ),
            "00042 +3 ff 0xff 10"
        );
        assert_eq!(
            f("%q %v %t", &[json!("a\"b\n"), json!([1, 2]), json!(true)]),
            "\"a\\\"b\\n\" [1 2] true"
        );
        assert_eq!(
            f(
                "%.2f %8.3f %e %g",
                &[json!(1.23456), json!(2.5), json!(1234.5), json!(0.5)]
            ),
            "1.23    2.500 1.234500e+03 0.5"
        );
        assert_eq!(
            f("%.3s|%5.1s|", &[json!("abcdef"), json!("xyz")]),
            "abc|    x|"
        );
        assert_eq!(
            f("%c%c %U", &[json!(72), json!(105), json!(65)]),
            "Hi U+0041"
        );
        assert_eq!(f("%%%d%%", &[json!(5)]), "%5%");
    }

    #[test]
    fn sprintf_marks_bad_missing_and_extra_arguments() {
        assert_eq!(f("%d", &[json!("x")]), "%!d(string=x)");
        assert_eq!(f("%s", &[json!(5)]), "%!s(int=5)");
        assert_eq!(f("%s", &[Value::Null]), "%!s(<nil>)");
        assert_eq!(f("%s %s", &[json!("a")]), "a %!s(MISSING)");
        assert_eq!(
            f("%s", &[json!("a"), json!(1), Value::Null]),
            "a%!(EXTRA int=1, <nil>)"
        );
        assert_eq!(f("x%", &[]), "x%!(NOVERB)");
        assert_eq!(f("%99999999d", &[json!(1)]), "%!(BADWIDTH)1");
    }

    #[test]
    fn header_mode_prints_every_verb_as_string() {
        assert_eq!(
            sprintf("%-8d|%.2f", &[&json!("SIZE"), &json!("CPU %")], true),
            "SIZE    |CPU %"
        );
    }
}
