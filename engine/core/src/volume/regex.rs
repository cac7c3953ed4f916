//! A small regular-expression matcher for the `name=` filter, which Podman documents
//! as a regex (Go's RE2 syntax, unanchored): literals, `.`, classes (`[a-z]`, `[^0-9]`,
//! `\d \w \s`), anchors `^ $`, groups with `|`, and `* + ? {n,m}` (greedy and lazy).
//! Backtracking over volume names, which are short.

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Start,
    End,
    Alt(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
    },
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    alt: Vec<Vec<Node>>,
}

/// Why a pattern did not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct RegexError {
    pattern: String,
    reason: &'static str,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    pattern: &'a str,
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            pattern,
        };
        let alt = p.alternation()?;
        if p.pos != p.chars.len() {
            return Err(p.err("unmatched )"));
        }
        Ok(Regex { alt })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let root = Node::Alt(self.alt.clone());
        (0..=t.len()).any(|start| m_node(&root, &t, start, &mut |_| true))
    }
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> RegexError {
        RegexError {
            pattern: self.pattern.to_string(),
            reason,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn alternation(&mut self) -> Result<Vec<Vec<Node>>, RegexError> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.sequence()?);
        }
        Ok(alts)
    }

    fn sequence(&mut self) -> Result<Vec<Node>, RegexError> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            seq.push(atom);
        }
        Ok(seq)
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, RegexError> {
        let single = |p: &mut Self, bounds| {
            p.pos += 1;
            bounds
        };
        let (min, max) = match self.peek() {
            Some('*') => single(self, (0, None)),
            Some('+') => single(self, (1, None)),
            Some('?') => single(self, (0, Some(1))),
            Some('{') => match self.counted()? {
                Some(b) => b,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        if matches!(atom, Node::Start | Node::End) {
            return Err(self.err("missing argument to repetition operator"));
        }
        // Laziness changes which match is found, never whether one is: accept and ignore `?`.
        if self.peek() == Some('?') {
            self.pos += 1;
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }

    /// `{n}`, `{n,}`, `{n,m}`; a `{` that starts none of these is a literal.
    fn counted(&mut self) -> Result<Option<(usize, Option<usize>)>, RegexError> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let Some(end) = rest.find('}') else {
            return Ok(None);
        };
        let body = &rest[1..end];
        let num = |s: &str| s.parse::<usize>().ok().filter(|n| *n <= 1000);
        let bounds = match body.split_once(',') {
            None => num(body).map(|n| (n, Some(n))),
            Some((a, "")) => num(a).map(|n| (n, None)),
            Some((a, b)) => num(a).zip(num(b)).map(|(a, b)| (a, Some(b))),
        };
        match bounds {
            Some((a, Some(b))) if b < a => Err(self.err("invalid repeat count")),
            Some(b) => {
                self.pos += rest[..=end].chars().count();
                Ok(Some(b))
            }
            None => Ok(None),
        }
    }

    fn atom(&mut self) -> Result<Node, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end"));
        };
        self.pos += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                if self.chars[self.pos..].starts_with(&['?', ':']) {
                    self.pos += 2;
                }
                let alt = self.alternation()?;
                if self.peek() != Some(')') {
                    return Err(self.err("missing closing )"));
                }
                self.pos += 1;
                Node::Alt(alt)
            }
            '[' => self.class()?,
            '*' | '+' | '?' => return Err(self.err("missing argument to repetition operator")),
            '\\' => self.escape()?,
            c => Node::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Node, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.err("trailing backslash"));
        };
        self.pos += 1;
        let class = |ranges: &[(char, char)], negated| Node::Class {
            ranges: ranges.to_vec(),
            negated,
        };
        const D: &[(char, char)] = &[('0', '9')];
        const W: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')];
        const S: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];
        Ok(match c {
            'd' => class(D, false),
            'D' => class(D, true),
            'w' => class(W, false),
            'W' => class(W, true),
            's' => class(S, false),
            'S' => class(S, true),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            c if c.is_ascii_alphanumeric() => return Err(self.err("unsupported escape")),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, RegexError> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("missing closing ]"));
            };
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape()? {
                    Node::Char(c) => c,
                    Node::Class {
                        ranges: r,
                        negated: false,
                    } => {
                        ranges.extend(r);
                        continue;
                    }
                    _ => return Err(self.err("unsupported escape in class")),
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|c| *c != ']') {
                let hi = self.chars[self.pos + 1];
                self.pos += 2;
                if hi < lo {
                    return Err(self.err("invalid character class range"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class { ranges, negated })
    }
}

fn m_seq(seq: &[Node], t: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((first, rest)) => m_node(first, t, pos, &mut |p| m_seq(rest, t, p, k)),
    }
}

fn m_node(node: &Node, t: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Char(c) => t.get(pos) == Some(c) && k(pos + 1),
        Node::Any => t.get(pos).is_some_and(|c| *c != '\n') && k(pos + 1),
        Node::Class { ranges, negated } => {
            t.get(pos)
                .is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated)
                && k(pos + 1)
        }
        Node::Start => pos == 0 && k(pos),
        Node::End => pos == t.len() && k(pos),
        Node::Alt(alts) => alts.iter().any(|seq| m_seq(seq, t, pos, k)),
        Node::Repeat { node, min, max } => m_repeat(node, *min, *max, 0, t, pos, k),
    }
}

fn m_repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    count: usize,
    t: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if !matches!(max, Some(m) if count >= m)
        && m_node(node, t, pos, &mut |p| {
            // An empty iteration past the minimum would loop forever.
            (p != pos || count < min) && m_repeat(node, min, max, count + 1, t, p, k)
        })
    {
        return true;
    }
    count >= min && k(pos)
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).expect("compiles").is_match(t)
    }

    #[test]
    fn unanchored_like_go_regexp_match_string() {
        assert!(m("u", "u1"));
        assert!(m("1", "de2b9981"));
        assert!(!m("^u1$", "u12"));
        assert!(m("^u1$", "u1"));
        assert!(m("^(web|db)-[0-9]+$", "db-12"));
        assert!(!m("^(web|db)-[0-9]+$", "cache-1"));
        assert!(m("a.c", "xabcx"));
        assert!(m("^a*$", ""));
        assert!(m("^a{2,3}b", "aaab"));
        assert!(!m("^a{2,3}b", "ab"));
        assert!(m(r"^\w+\.\d$", "vol_1.2"));
        assert!(m("^[^-]+$", "abc"));
        assert!(m("x{", "x{"));
        assert!(m("^(a*)*$", "aaaa"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for p in ["(", "a)", "[a", "*a", "a{3,1}", r"\q"] {
            assert!(Regex::new(p).is_err(), "{p}");
        }
    }
}
