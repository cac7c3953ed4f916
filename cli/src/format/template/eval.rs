//! Executor: walks the parsed nodes over JSON data with Go's semantics (truthiness,
//! variable scopes, `range` over arrays, objects in key order and integers). Work and
//! output are bounded by [`MAX_STEPS`] and [`MAX_OUTPUT`] so no input can run away.

use super::funcs::{self, truth, Func};
use super::parse::{Branch, Cmd, Node, Operand, Pipe, Term};
use super::value::{self, as_int, sorted};
use serde_json::Value;
use std::borrow::Cow;

/// Commands and nodes one render may execute.
const MAX_STEPS: usize = 5_000_000;
/// Bytes one render may produce.
const MAX_OUTPUT: usize = 256 << 20;

type V<'a> = Cow<'a, Value>;
type EErr = (usize, String);

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'t, 'a> {
    src: &'t str,
    vars: Vec<(&'t str, V<'a>)>,
    out: String,
    steps: usize,
    pos: usize,
    header: bool,
}

pub(super) fn execute(
    nodes: &[Node],
    src: &str,
    data: &Value,
    header: bool,
) -> Result<String, EErr> {
    let mut ex = Exec {
        src,
        vars: vec![("$", Cow::Borrowed(data))],
        out: String::new(),
        steps: 0,
        pos: 0,
        header,
    };
    ex.walk(&Cow::Borrowed(data), nodes)?;
    Ok(ex.out)
}

impl<'t, 'a> Exec<'t, 'a> {
    fn step(&mut self) -> Result<(), EErr> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err((
                self.pos,
                format!("execution stopped after {MAX_STEPS} steps"),
            ));
        }
        Ok(())
    }

    fn emit(&mut self, s: &str) -> Result<(), EErr> {
        self.out.push_str(s);
        if self.out.len() > MAX_OUTPUT {
            return Err((
                self.pos,
                format!("output larger than {} MiB", MAX_OUTPUT >> 20),
            ));
        }
        Ok(())
    }

    fn err(&self, cmd: &Cmd, msg: impl std::fmt::Display) -> EErr {
        let words: Vec<&str> = self
            .src
            .get(cmd.start..cmd.end)
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let text = words.join(" ");
        let text: String = match text.char_indices().nth(40) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.to_string(),
        };
        (cmd.start, format!("executing at <{text}>: {msg}"))
    }

    fn walk(&mut self, dot: &V<'a>, nodes: &'t [Node]) -> Result<Flow, EErr> {
        for node in nodes {
            self.step()?;
            let flow = match node {
                Node::Text(s) => {
                    self.emit(s)?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match &*v {
                            Value::Null => self.emit("<no value>")?,
                            Value::String(s) => self.emit(s)?,
                            other => self.emit(&value::display(other))?,
                        }
                    }
                    Flow::Normal
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let flow = self.if_or_with(dot, b, matches!(node, Node::With(_)));
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    let flow = self.range(dot, b, mark);
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(&mut self, dot: &V<'a>, b: &'t Branch, with: bool) -> Result<Flow, EErr> {
        let v = self.pipeline(dot, &b.pipe)?;
        if truth(&v) {
            let inner = if with { v } else { dot.clone() };
            self.walk(&inner, &b.list)
        } else if let Some(list) = &b.else_list {
            self.walk(dot, list)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn range(&mut self, dot: &V<'a>, b: &'t Branch, mark: usize) -> Result<Flow, EErr> {
        let v = self.commands(dot, &b.pipe)?;
        let count = match &*v {
            Value::Number(n) => as_int(n).filter(|&i| i >= 0),
            _ => None,
        };
        let mut ran = false;
        let mut each = |ex: &mut Self, key: Value, elem: V<'a>| -> Result<bool, EErr> {
            ran = true;
            ex.step()?;
            ex.vars.truncate(mark);
            match b.pipe.decl.as_slice() {
                [] => {}
                [v] => ex.bind(&b.pipe, v, elem.clone())?,
                [k, v, ..] => {
                    ex.bind(&b.pipe, k, Cow::Owned(key))?;
                    ex.bind(&b.pipe, v, elem.clone())?;
                }
            }
            Ok(!matches!(ex.walk(&elem, &b.list)?, Flow::Break))
        };
        match v {
            Cow::Borrowed(Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    if !each(self, i.into(), Cow::Borrowed(x))? {
                        break;
                    }
                }
            }
            Cow::Owned(Value::Array(a)) => {
                for (i, x) in a.into_iter().enumerate() {
                    if !each(self, i.into(), Cow::Owned(x))? {
                        break;
                    }
                }
            }
            Cow::Borrowed(Value::Object(m)) => {
                for (k, x) in sorted(m) {
                    if !each(self, Value::String(k.clone()), Cow::Borrowed(x))? {
                        break;
                    }
                }
            }
            Cow::Owned(Value::Object(m)) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|x, y| x.0.cmp(&y.0));
                for (k, x) in entries {
                    if !each(self, Value::String(k), Cow::Owned(x))? {
                        break;
                    }
                }
            }
            Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => {}
            _ if count.is_some() => {
                let count = count.unwrap_or(0);
                if b.pipe.decl.len() > 1 {
                    return Err((
                        self.pos,
                        format!("can't use {count} to iterate over more than one variable"),
                    ));
                }
                for i in 0..count {
                    let i = u64::try_from(i).unwrap_or(u64::MAX);
                    if !each(self, i.into(), Cow::Owned(i.into()))? {
                        break;
                    }
                }
            }
            other => {
                let msg = format!("range can't iterate over {}", value::display(&other));
                return Err(match b.pipe.cmds.last() {
                    Some(cmd) => self.err(cmd, msg),
                    None => (self.pos, msg),
                });
            }
        }
        self.vars.truncate(mark);
        match (&b.else_list, ran) {
            (Some(list), false) => self.walk(dot, list).map(|_| Flow::Normal),
            _ => Ok(Flow::Normal),
        }
    }

    fn bind(&mut self, pipe: &Pipe, name: &'t str, v: V<'a>) -> Result<(), EErr> {
        if !pipe.assign {
            self.vars.push((name, v));
            return Ok(());
        }
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err((self.pos, format!("undefined variable: {name}"))),
        }
    }

    /// Runs a pipeline and binds its declared variables.
    fn pipeline(&mut self, dot: &V<'a>, pipe: &'t Pipe) -> Result<V<'a>, EErr> {
        let v = self.commands(dot, pipe)?;
        for name in &pipe.decl {
            self.bind(pipe, name, v.clone())?;
        }
        Ok(v)
    }

    fn commands(&mut self, dot: &V<'a>, pipe: &'t Pipe) -> Result<V<'a>, EErr> {
        let mut val = None;
        for cmd in &pipe.cmds {
            val = Some(self.command(dot, cmd, val)?);
        }
        Ok(val.unwrap_or(Cow::Owned(Value::Null)))
    }

    fn command(&mut self, dot: &V<'a>, cmd: &'t Cmd, piped: Option<V<'a>>) -> Result<V<'a>, EErr> {
        self.pos = cmd.start;
        self.step()?;
        let Some(first) = cmd.args.first() else {
            return Err(self.err(cmd, "empty command"));
        };
        match &first.term {
            Term::Func(f) => self.call(dot, cmd, *f, &cmd.args[1..], piped),
            Term::Nil if first.chain.is_empty() => Err(self.err(cmd, "nil is not a command")),
            term => {
                if cmd.args.len() > 1 || piped.is_some() {
                    let msg = match (first.chain.last(), term) {
                        (Some(name), _) => format!("{name} is not a method but has arguments"),
                        (None, Term::Dot) => "can't give argument to non-function .".into(),
                        (None, Term::Var(v)) => format!("can't give argument to non-function {v}"),
                        _ => "can't give argument to non-function".into(),
                    };
                    return Err(self.err(cmd, msg));
                }
                self.operand(dot, cmd, first)
            }
        }
    }

    fn operand(&mut self, dot: &V<'a>, cmd: &'t Cmd, op: &'t Operand) -> Result<V<'a>, EErr> {
        let mut v = match &op.term {
            Term::Dot => dot.clone(),
            Term::Var(name) => match self.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => return Err(self.err(cmd, format!("undefined variable: {name}"))),
            },
            Term::Str(s) => Cow::Owned(Value::String(s.clone())),
            Term::Num(n) => Cow::Owned(Value::Number(n.clone())),
            Term::Bool(b) => Cow::Owned(Value::Bool(*b)),
            Term::Nil => Cow::Owned(Value::Null),
            Term::Pipe(p) => self.commands(dot, p)?,
            Term::Func(f) => self.call(dot, cmd, *f, &[], None)?,
        };
        for name in &op.chain {
            v = match v {
                Cow::Borrowed(Value::Object(m)) => {
                    m.get(name).map_or(Cow::Owned(Value::Null), Cow::Borrowed)
                }
                Cow::Owned(Value::Object(mut m)) => {
                    Cow::Owned(m.remove(name).unwrap_or(Value::Null))
                }
                Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => Cow::Owned(Value::Null),
                s @ (Cow::Borrowed(Value::String(_)) | Cow::Owned(Value::String(_)))
                    if self.header =>
                {
                    s
                }
                other => {
                    let kind = value::type_name(&other);
                    return Err(
                        self.err(cmd, format!("can't evaluate field {name} in type {kind}"))
                    );
                }
            };
        }
        Ok(v)
    }

    fn call(
        &mut self,
        dot: &V<'a>,
        cmd: &'t Cmd,
        f: Func,
        args: &'t [Operand],
        piped: Option<V<'a>>,
    ) -> Result<V<'a>, EErr> {
        let count = args.len() + usize::from(piped.is_some());
        f.check_arity(count).map_err(|m| self.err(cmd, m))?;
        if matches!(f, Func::And | Func::Or) {
            let mut last = Cow::Owned(Value::Null);
            for a in args {
                let v = self.operand(dot, cmd, a)?;
                if truth(&v) == (f == Func::Or) {
                    return Ok(v);
                }
                last = v;
            }
            return Ok(piped.unwrap_or(last));
        }
        let mut vals = Vec::with_capacity(count);
        for a in args {
            vals.push(self.operand(dot, cmd, a)?);
        }
        vals.extend(piped);
        funcs::call(f, vals, self.header)
            .map_err(|m| self.err(cmd, format!("error calling {}: {m}", f.name())))
    }
}
