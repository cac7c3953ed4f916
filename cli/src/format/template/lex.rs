//! Lexer: turns template source into text and action tokens, applying `{{-`/`-}}`
//! whitespace trimming and dropping comments. Errors become a final `Error` token so
//! that the parser reports whichever problem comes first in the source.

use serde_json::Number;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Open,
    Close,
    /// `.Name`, without the dot.
    Field(String),
    Dot,
    /// `$name` or `$`, with the dollar.
    Var(String),
    Ident(String),
    Str(String),
    Num(Number),
    /// Any other printable ASCII character inside an action.
    Char(char),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
    Error(String),
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    /// Byte offset in the source.
    pub pos: usize,
    /// Whether whitespace precedes the token inside an action.
    pub spaced: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lexes the whole source; the last token is always `Eof` or `Error`.
pub(super) fn lex(src: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    loop {
        let rest = &src[pos..];
        let open = rest.find("{{").map(|i| pos + i);
        let mut text = &src[pos..open.unwrap_or(src.len())];
        if trim_next {
            text = text.trim_start_matches(is_space);
        }
        let Some(open) = open else {
            push_text(&mut out, text, pos);
            out.push(tok(Tok::Eof, src.len(), false));
            return out;
        };
        let after = &src[open + 2..];
        let left_trim = after.starts_with('-') && after[1..].starts_with(is_space);
        if left_trim {
            text = text.trim_end_matches(is_space);
        }
        push_text(&mut out, text, pos);
        let mut p = open + 2 + if left_trim { 2 } else { 0 };
        if src[p..].starts_with("/*") {
            match lex_comment(src, p) {
                Ok((next, trim)) => {
                    pos = next;
                    trim_next = trim;
                    continue;
                }
                Err(msg) => {
                    out.push(tok(Tok::Error(msg.into()), open, false));
                    return out;
                }
            }
        }
        out.push(tok(Tok::Open, open, false));
        match lex_action(src, &mut p, &mut out, open) {
            Some(trim) => {
                pos = p;
                trim_next = trim;
            }
            None => return out,
        }
    }
}

fn tok(tok: Tok, pos: usize, spaced: bool) -> Token {
    Token { tok, pos, spaced }
}

fn push_text(out: &mut Vec<Token>, text: &str, pos: usize) {
    if !text.is_empty() {
        out.push(tok(Tok::Text(text.to_string()), pos, false));
    }
}

/// At a right delimiter (`}}` or ` -}}`): its length and whether it trims.
fn at_close(rest: &str) -> Option<(usize, bool)> {
    let mut chars = rest.chars();
    if rest.starts_with("}}") {
        return Some((2, false));
    }
    match chars.next() {
        Some(c) if is_space(c) && chars.as_str().starts_with("-}}") => {
            Some((c.len_utf8() + 3, true))
        }
        _ => None,
    }
}

fn lex_comment(src: &str, start: usize) -> Result<(usize, bool), &'static str> {
    let end = src[start + 2..]
        .find("*/")
        .map(|i| start + 2 + i + 2)
        .ok_or("unclosed comment")?;
    match at_close(&src[end..]) {
        Some((len, trim)) => Ok((end + len, trim)),
        None => Err("comment ends before closing delimiter"),
    }
}

/// Lexes one action after `{{`; returns whether the closing delimiter trims, or None
/// when an `Error` token was emitted.
fn lex_action(src: &str, p: &mut usize, out: &mut Vec<Token>, open: usize) -> Option<bool> {
    let mut spaced = false;
    loop {
        let rest = &src[*p..];
        if let Some((len, trim)) = at_close(rest) {
            out.push(tok(Tok::Close, *p, spaced));
            *p += len;
            return Some(trim);
        }
        let Some(c) = rest.chars().next() else {
            out.push(tok(Tok::Error("unclosed action".into()), open, false));
            return None;
        };
        if is_space(c) {
            spaced = true;
            *p += c.len_utf8();
            continue;
        }
        let start = *p;
        let next = rest[c.len_utf8()..].chars().next();
        let (t, len) = match c {
            '|' => (Tok::Pipe, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '=' => (Tok::Assign, 1),
            ':' if next == Some('=') => (Tok::Declare, 2),
            '"' | '`' | '\'' => match lex_quote(rest) {
                Ok(v) => v,
                Err(msg) => (Tok::Error(msg), 0),
            },
            '$' => {
                let n = 1 + ident_len(&rest[1..]);
                (Tok::Var(rest[..n].to_string()), n)
            }
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => lex_number(rest),
            '.' => {
                let n = ident_len(&rest[1..]);
                if n == 0 {
                    (Tok::Dot, 1)
                } else {
                    (Tok::Field(rest[1..1 + n].to_string()), 1 + n)
                }
            }
            '+' | '-' | '0'..='9' => lex_number(rest),
            c if c == '_' || c.is_alphabetic() => {
                let n = ident_len(rest);
                (Tok::Ident(rest[..n].to_string()), n)
            }
            c if c.is_ascii_graphic() => (Tok::Char(c), 1),
            c => (Tok::Error(format!("bad character {c:?}")), 0),
        };
        let failed = matches!(t, Tok::Error(_));
        out.push(tok(t, start, spaced));
        if failed {
            return None;
        }
        *p += len;
        spaced = false;
    }
}

fn ident_len(s: &str) -> usize {
    s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len())
}

/// Scans a number like Go's lexer and converts it.
fn lex_number(s: &str) -> (Tok, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    let accept = |i: &mut usize, set: &str| -> bool {
        match b.get(*i) {
            Some(c) if set.as_bytes().contains(c) => {
                *i += 1;
                true
            }
            _ => false,
        }
    };
    accept(&mut i, "+-");
    let mut digits = "0123456789_";
    if accept(&mut i, "0") {
        if accept(&mut i, "xX") {
            digits = "0123456789abcdefABCDEF_";
        } else if accept(&mut i, "oO") {
            digits = "01234567_";
        } else if accept(&mut i, "bB") {
            digits = "01_";
        }
    }
    while accept(&mut i, digits) {}
    if accept(&mut i, ".") {
        while accept(&mut i, digits) {}
    }
    if digits.len() == 11 && accept(&mut i, "eE") {
        accept(&mut i, "+-");
        while accept(&mut i, "0123456789_") {}
    }
    let text = &s[..i];
    let bad = s[i..].chars().next().is_some_and(is_ident_char);
    match (bad, parse_number(text)) {
        (false, Some(n)) => (Tok::Num(n), i),
        _ => {
            let end = i + s[i..].chars().next().map_or(0, char::len_utf8);
            (Tok::Error(format!("bad number syntax: {:?}", &s[..end])), 0)
        }
    }
}

fn parse_number(text: &str) -> Option<Number> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let radix = match body.get(..2) {
        Some("0x" | "0X") => Some((16, &body[2..])),
        Some("0o" | "0O") => Some((8, &body[2..])),
        Some("0b" | "0B") => Some((2, &body[2..])),
        _ if body.len() > 1
            && body.starts_with('0')
            && body.bytes().all(|c| c.is_ascii_digit()) =>
        {
            Some((8, &body[1..]))
        }
        _ => None,
    };
    if let Some((radix, digits)) = radix {
        let v = i128::from_str_radix(digits, radix).ok()?;
        return int_number(if neg { -v } else { v });
    }
    if body.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(v) = body.parse::<i128>() {
            if let Some(n) = int_number(if neg { -v } else { v }) {
                return Some(n);
            }
        }
    }
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    Number::from_f64(if neg { -v } else { v })
}

fn int_number(v: i128) -> Option<Number> {
    if let Ok(i) = i64::try_from(v) {
        Some(Number::from(i))
    } else {
        u64::try_from(v).ok().map(Number::from)
    }
}

/// Lexes a `"…"`, `` `…` `` or `'…'` literal at the start of `s`.
fn lex_quote(s: &str) -> Result<(Tok, usize), String> {
    let mut chars = s.char_indices();
    let quote = chars.next().map_or('"', |(_, c)| c);
    let mut escaped = false;
    let end = loop {
        let Some((i, c)) = chars.next() else {
            return Err(unterminated(quote).into());
        };
        match c {
            '\n' if quote != '`' => return Err(unterminated(quote).into()),
            '\\' if quote != '`' && !escaped => escaped = true,
            c if c == quote && !escaped => break i,
            _ => escaped = false,
        }
    };
    let body = &s[1..end];
    let tok = match quote {
        '`' => Tok::Str(body.replace('\r', "")),
        '"' => Tok::Str(unescape(body, '"')?),
        _ => {
            let v = unescape(body, '\'')?;
            let mut cs = v.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Tok::Num(Number::from(u32::from(c))),
                _ => return Err(format!("malformed character constant: {}", &s[..=end])),
            }
        }
    };
    Ok((tok, end + 1))
}

fn unterminated(quote: char) -> &'static str {
    match quote {
        '`' => "unterminated raw quoted string",
        '\'' => "unterminated character constant",
        _ => "unterminated quoted string",
    }
}

/// Interprets Go escape sequences (`\n`, `\x41`, `\101`, `\u00e9`, …).
fn unescape(body: &str, quote: char) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let bad = |what: &str| format!("invalid escape in literal: {what}");
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(|| bad("\\"))?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        let (n, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(bad(&format!("\\{e}"))),
        };
        let mut digits: String = if radix == 8 {
            e.to_string()
        } else {
            String::new()
        };
        for _ in 0..n {
            digits.push(chars.next().ok_or_else(|| bad(&format!("\\{e}")))?);
        }
        let v = u32::from_str_radix(&digits, radix).map_err(|_| bad(&format!("\\{e}")))?;
        if matches!(e, 'x' | '0'..='7') {
            bytes.push(u8::try_from(v).map_err(|_| bad(&format!("\\{digits}")))?);
        } else {
            let c = char::from_u32(v).ok_or_else(|| bad(&format!("\\{e}{digits}")))?;
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn trim_markers_remove_adjacent_whitespace() {
        let t = toks("a \n {{- .X -}} \n b");
        assert_eq!(t[0], Tok::Text("a".into()));
        assert_eq!(t[2], Tok::Field("X".into()));
        assert_eq!(t[4], Tok::Text("b".into()));
    }

    #[test]
    fn minus_without_space_is_a_number() {
        assert_eq!(toks("{{-3}}")[1], Tok::Num(Number::from(-3)));
    }

    #[test]
    fn comments_produce_no_tokens() {
        assert_eq!(
            toks("a{{/* x }} */}}b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
    }

    #[test]
    fn numbers_follow_go_syntax() {
        assert_eq!(parse_number("0x1F"), Some(Number::from(31)));
        assert_eq!(parse_number("0755"), Some(Number::from(493)));
        assert_eq!(parse_number("1_000"), Some(Number::from(1000)));
        assert_eq!(parse_number("1.5e3"), Number::from_f64(1500.0));
        assert_eq!(parse_number("1e"), None);
    }

    #[test]
    fn string_escapes_are_interpreted() {
        assert_eq!(
            toks(r#"{{"a\t\x41\u00e9\"" 'x'}}"#)[1],
            Tok::Str("a\tA\u{e9}\"".into())
        );
        assert_eq!(toks("{{'x'}}")[1], Tok::Num(Number::from(120)));
    }

    #[test]
    fn unterminated_string_is_an_error_token() {
        assert!(
            matches!(toks("{{\"abc}}").last(), Some(Tok::Error(m)) if m == "unterminated quoted string")
        );
    }
}
