//! Template functions: Go's builtins that make sense over JSON (`and or not len index
//! print printf println eq ne lt le gt ge`), the helpers Podman and Docker add (`json
//! lower upper title truncate join split pad`), and `contains`/`replace`. Functions
//! that can amplify their input refuse results larger than [`MAX_STRING`].

use super::printf;
use super::value::{self, as_int, display, type_name};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Largest string a function may build.
pub(super) const MAX_STRING: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Json,
    Lower,
    Upper,
    Title,
    Truncate,
    Join,
    Split,
    Pad,
    Contains,
    Replace,
}

/// Name, function, minimum and maximum argument count.
const TABLE: &[(&str, Func, usize, usize)] = &[
    ("and", Func::And, 1, usize::MAX),
    ("or", Func::Or, 1, usize::MAX),
    ("not", Func::Not, 1, 1),
    ("len", Func::Len, 1, 1),
    ("index", Func::Index, 1, usize::MAX),
    ("print", Func::Print, 0, usize::MAX),
    ("printf", Func::Printf, 1, usize::MAX),
    ("println", Func::Println, 0, usize::MAX),
    ("eq", Func::Eq, 2, usize::MAX),
    ("ne", Func::Ne, 2, 2),
    ("lt", Func::Lt, 2, 2),
    ("le", Func::Le, 2, 2),
    ("gt", Func::Gt, 2, 2),
    ("ge", Func::Ge, 2, 2),
    ("json", Func::Json, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("title", Func::Title, 1, 1),
    ("truncate", Func::Truncate, 2, 2),
    ("join", Func::Join, 2, 2),
    ("split", Func::Split, 2, 2),
    ("pad", Func::Pad, 3, 3),
    ("contains", Func::Contains, 2, 2),
    ("replace", Func::Replace, 3, 3),
];

impl Func {
    pub(super) fn lookup(name: &str) -> Option<Func> {
        TABLE.iter().find(|e| e.0 == name).map(|e| e.1)
    }

    fn entry(self) -> (&'static str, usize, usize) {
        TABLE
            .iter()
            .find(|e| e.1 == self)
            .map_or(("?", 0, usize::MAX), |e| (e.0, e.2, e.3))
    }

    pub(super) fn name(self) -> &'static str {
        self.entry().0
    }

    /// Checks the argument count, Go style.
    pub(super) fn check_arity(self, got: usize) -> Result<(), String> {
        let (name, min, max) = self.entry();
        match (got < min, got > max, min == max) {
            (false, false, _) => Ok(()),
            (_, _, true) => Err(format!(
                "wrong number of args for {name}: want {min} got {got}"
            )),
            _ => Err(format!(
                "wrong number of args for {name}: want at least {min} got {got}"
            )),
        }
    }
}

/// Go's truthiness: false, 0, "", empty arrays and objects, and null are false.
pub(super) fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn string_arg(v: &Value) -> Result<Cow<'_, str>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Null => Ok(Cow::Borrowed("")),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            type_name(other)
        )),
    }
}

fn int_arg(v: &Value) -> Result<i128, String> {
    v.as_number()
        .and_then(as_int)
        .ok_or_else(|| format!("wrong type for value; expected int; got {}", type_name(v)))
}

fn count_arg(v: &Value) -> Result<usize, String> {
    let n = int_arg(v)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= 1_000_000)
        .ok_or_else(|| format!("count {n} out of range"))
}

fn limit(len: usize) -> Result<(), String> {
    if len > MAX_STRING {
        return Err(format!("result larger than {} MiB", MAX_STRING >> 20));
    }
    Ok(())
}

/// A rough upper bound of the printed size of `v`.
fn printed_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(|x| printed_len(x) + 1).sum::<usize>() + 2,
        Value::Object(o) => {
            o.iter()
                .map(|(k, x)| k.len() + printed_len(x) + 2)
                .sum::<usize>()
                + 5
        }
        _ => 32,
    }
}

fn strings(args: &[Cow<'_, Value>]) -> Result<Vec<String>, String> {
    args.iter()
        .map(|a| string_arg(a).map(Cow::into_owned))
        .collect()
}

fn owned_string(s: String) -> Result<Cow<'static, Value>, String> {
    limit(s.len())?;
    Ok(Cow::Owned(Value::String(s)))
}

/// Calls `f` (never `and`/`or`, which the evaluator handles lazily). In header mode the
/// string helpers return their first argument unchanged.
pub(super) fn call<'a>(
    f: Func,
    mut args: Vec<Cow<'a, Value>>,
    header: bool,
) -> Result<Cow<'a, Value>, String> {
    f.check_arity(args.len())?;
    use Func::*;
    let identity = matches!(
        f,
        Json | Lower | Upper | Title | Truncate | Join | Split | Pad | Replace
    );
    if header && identity {
        return Ok(args.swap_remove(0));
    }
    let refs: Vec<&Value> = args.iter().map(|a| &**a).collect();
    if matches!(f, Print | Printf | Println) {
        limit(refs.iter().map(|v| printed_len(v)).sum())?;
    }
    let b = |v: bool| Ok(Cow::Owned(Value::Bool(v)));
    match f {
        And | Or => Err("and/or need lazy evaluation".into()),
        Not => b(!truth(refs[0])),
        Len => match refs[0] {
            Value::String(s) => Ok(Cow::Owned(s.len().into())),
            Value::Array(a) => Ok(Cow::Owned(a.len().into())),
            Value::Object(o) => Ok(Cow::Owned(o.len().into())),
            Value::Null => Ok(Cow::Owned(0.into())),
            other => Err(format!("len of type {}", type_name(other))),
        },
        Index => {
            let mut it = args.into_iter();
            let mut cur = it.next().unwrap_or(Cow::Owned(Value::Null));
            for key in it {
                cur = index(cur, &key)?;
            }
            Ok(cur)
        }
        Print => owned_string(value::sprint(&refs)),
        Println => owned_string(value::sprintln(&refs)),
        Printf => {
            let format = string_arg(refs[0])?;
            owned_string(printf::sprintf(&format, &refs[1..], header))
        }
        Eq => {
            for other in &refs[1..] {
                if equal(refs[0], other)? {
                    return b(true);
                }
            }
            b(false)
        }
        Ne => b(!equal(refs[0], refs[1])?),
        Lt => b(less(refs[0], refs[1])? == Ordering::Less),
        Le => b(less(refs[0], refs[1])? != Ordering::Greater),
        Gt => b(less(refs[0], refs[1])? == Ordering::Greater),
        Ge => b(less(refs[0], refs[1])? != Ordering::Less),
        Json => serde_json::to_string(refs[0])
            .map(|s| Cow::Owned(Value::String(s)))
            .map_err(|e| e.to_string()),
        Lower => owned_string(string_arg(refs[0])?.to_lowercase()),
        Upper => owned_string(string_arg(refs[0])?.to_uppercase()),
        Title => owned_string(title(&string_arg(refs[0])?)),
        Truncate => {
            let s = string_arg(refs[0])?;
            let n =
                usize::try_from(int_arg(refs[1])?).map_err(|_| "negative length".to_string())?;
            let mut end = n.min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            owned_string(s[..end].to_string())
        }
        Join => {
            let items: Vec<String> = match refs[0] {
                Value::Array(a) => a
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| display(v), str::to_string))
                    .collect(),
                Value::Null => Vec::new(),
                other => {
                    return Err(format!(
                        "wrong type for value; expected []string; got {}",
                        type_name(other)
                    ))
                }
            };
            let sep = string_arg(refs[1])?;
            limit(
                items.iter().map(String::len).sum::<usize>()
                    + items.len().saturating_mul(sep.len()),
            )?;
            owned_string(items.join(&sep))
        }
        Split => {
            let [s, sep] =
                <[String; 2]>::try_from(strings(&args)?).map_err(|_| "split needs 2 args")?;
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Ok(Cow::Owned(Value::Array(parts)))
        }
        Pad => {
            let s = string_arg(refs[0])?;
            let (pre, post) = (count_arg(refs[1])?, count_arg(refs[2])?);
            if s.is_empty() {
                return owned_string(String::new());
            }
            owned_string(format!("{}{s}{}", " ".repeat(pre), " ".repeat(post)))
        }
        Contains => b(string_arg(refs[0])?.contains(string_arg(refs[1])?.as_ref())),
        Replace => {
            let [s, old, new] =
                <[String; 3]>::try_from(strings(&args)?).map_err(|_| "replace needs 3 args")?;
            let hits = if old.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(old.as_str()).count()
            };
            limit(s.len().saturating_add(hits.saturating_mul(new.len())))?;
            owned_string(s.replace(old.as_str(), &new))
        }
    }
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let sep = if prev.is_ascii() {
            !(prev.is_ascii_alphanumeric() || prev == '_')
        } else {
            !prev.is_alphanumeric() && prev.is_whitespace()
        };
        if sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn index<'a>(cur: Cow<'a, Value>, key: &Value) -> Result<Cow<'a, Value>, String> {
    let kind = type_name(&cur);
    let pos = |len: usize| -> Result<usize, String> {
        let i = int_arg(key).map_err(|_| format!("cannot index {kind} with {}", type_name(key)))?;
        usize::try_from(i)
            .ok()
            .filter(|&i| i < len)
            .ok_or_else(|| format!("index out of range: {i}"))
    };
    match cur {
        Cow::Borrowed(Value::Array(a)) => Ok(Cow::Borrowed(&a[pos(a.len())?])),
        Cow::Owned(Value::Array(mut a)) => {
            let i = pos(a.len())?;
            Ok(Cow::Owned(a.swap_remove(i)))
        }
        Cow::Borrowed(Value::Object(_)) | Cow::Owned(Value::Object(_)) => {
            let Value::String(k) = key else {
                return Err(format!(
                    "value has type {}; should be string",
                    type_name(key)
                ));
            };
            Ok(match cur {
                Cow::Borrowed(Value::Object(o)) => {
                    o.get(k).map_or(Cow::Owned(Value::Null), Cow::Borrowed)
                }
                Cow::Owned(Value::Object(mut o)) => Cow::Owned(o.remove(k).unwrap_or(Value::Null)),
                _ => Cow::Owned(Value::Null),
            })
        }
        Cow::Borrowed(Value::String(s)) => Ok(Cow::Owned(s.as_bytes()[pos(s.len())?].into())),
        Cow::Owned(Value::String(s)) => Ok(Cow::Owned(s.as_bytes()[pos(s.len())?].into())),
        Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => Ok(Cow::Owned(Value::Null)),
        _ => Err(format!("can't index item of type {kind}")),
    }
}

fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// Go's `eq` for one pair: basic kinds compare, null equals only null.
fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Null, other) | (other, Value::Null) => Ok(other.is_null()),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => Err(
            format!("non-comparable types {} and {}", type_name(a), type_name(b)),
        ),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y) == Ordering::Equal),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Go's ordering for `lt`/`le`/`gt`/`ge`: numbers and strings only.
fn less(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            Err("invalid type for comparison".into())
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(f: &str, args: &[Value]) -> Result<Value, String> {
        let f = Func::lookup(f).ok_or("no such function")?;
        call(f, args.iter().map(Cow::Borrowed).collect(), false).map(Cow::into_owned)
    }

    #[test]
    fn string_helpers_match_podman() {
        assert_eq!(
            run("truncate", &[json!("abcdef"), json!(3)]),
            Ok(json!("abc"))
        );
        assert_eq!(run("truncate", &[json!("ab"), json!(12)]), Ok(json!("ab")));
        assert_eq!(
            run("pad", &[json!("x"), json!(2), json!(1)]),
            Ok(json!("  x "))
        );
        assert_eq!(run("pad", &[json!(""), json!(2), json!(1)]), Ok(json!("")));
        assert_eq!(
            run("title", &[json!("hello wORLD-x_y")]),
            Ok(json!("Hello WORLD-X_y"))
        );
        assert_eq!(
            run("split", &[json!("a,b"), json!(",")]),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            run("split", &[json!("ab"), json!("")]),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            run("join", &[json!(["a", 1]), json!(", ")]),
            Ok(json!("a, 1"))
        );
        assert_eq!(
            run("replace", &[json!("a-b-c"), json!("-"), json!("+")]),
            Ok(json!("a+b+c"))
        );
        assert_eq!(
            run("contains", &[json!("podman"), json!("dm")]),
            Ok(json!(true))
        );
    }

    #[test]
    fn index_walks_arrays_objects_and_strings() {
        let data = json!({"a": [10, {"b": "x"}]});
        assert_eq!(
            run("index", &[data.clone(), json!("a"), json!(1), json!("b")]),
            Ok(json!("x"))
        );
        assert_eq!(run("index", &[data.clone(), json!("zz")]), Ok(Value::Null));
        assert_eq!(run("index", &[json!("AB"), json!(1)]), Ok(json!(66)));
        assert_eq!(
            run("index", &[json!([1]), json!(5)]),
            Err("index out of range: 5".into())
        );
    }

    #[test]
    fn comparisons_follow_go_kinds() {
        assert_eq!(
            run("eq", &[json!(1), json!(2), json!(1.0)]),
            Ok(json!(true))
        );
        assert_eq!(run("lt", &[json!("a"), json!("b")]), Ok(json!(true)));
        assert_eq!(run("ge", &[json!(2.5), json!(2)]), Ok(json!(true)));
        assert_eq!(run("eq", &[Value::Null, json!("x")]), Ok(json!(false)));
        assert_eq!(
            run("eq", &[json!(1), json!("1")]),
            Err("incompatible types for comparison".into())
        );
        assert_eq!(
            run("lt", &[json!(true), json!(false)]),
            Err("invalid type for comparison".into())
        );
    }

    #[test]
    fn wrong_arity_and_types_are_reported() {
        assert_eq!(
            run("join", &[json!([])]),
            Err("wrong number of args for join: want 2 got 1".into())
        );
        assert_eq!(
            run("upper", &[json!(5)]),
            Err("wrong type for value; expected string; got int".into())
        );
        assert!(run("pad", &[json!("x"), json!(1_000_000_000), json!(0)]).is_err());
    }
}
