//! Parser: builds the node tree from tokens, resolving functions and checking
//! variables at parse time like Go does. Nesting (blocks and parentheses) is limited
//! to [`MAX_DEPTH`] so hostile input cannot exhaust the stack.

use super::funcs::Func;
use super::lex::{Tok, Token};
use serde_json::Number;

/// Deepest allowed nesting of `if`/`range`/`with` blocks and parentheses combined.
pub(super) const MAX_DEPTH: usize = 100;

pub(super) type PErr = (usize, String);

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(super) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipe {
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(super) struct Cmd {
    pub start: usize,
    pub end: usize,
    pub args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(super) struct Operand {
    pub term: Term,
    /// Field names applied to the term (`.A.B` is `Dot` with chain `[A, B]`).
    pub chain: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Term {
    Dot,
    Var(String),
    Func(Func),
    Str(String),
    Num(Number),
    Bool(bool),
    Nil,
    Pipe(Box<Pipe>),
}

enum Stop {
    Eof,
    End,
    Else,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    If,
    With,
    Range,
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    depth: usize,
    in_range: usize,
}

pub(super) fn parse(toks: Vec<Token>) -> Result<Vec<Node>, PErr> {
    let mut p = Parser {
        toks,
        i: 0,
        vars: vec!["$".into()],
        depth: 0,
        in_range: 0,
    };
    let (nodes, stop, pos) = p.list()?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End => Err((pos, "unexpected {{end}}".into())),
        Stop::Else => Err((pos, "unexpected {{else}}".into())),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(s) | Tok::Str(s) => format!("{s:?}"),
        Tok::Open => "\"{{\"".into(),
        Tok::Close => "\"}}\"".into(),
        Tok::Field(s) => format!("\".{s}\""),
        Tok::Dot => "\".\"".into(),
        Tok::Var(s) | Tok::Ident(s) => format!("{s:?}"),
        Tok::Num(n) => format!("\"{n}\""),
        Tok::Char(c) => format!("\"{c}\""),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Eof => "EOF".into(),
        Tok::Error(m) => m.clone(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer ends the stream with Eof or Error, which `next` never consumes.
        static END: Token = Token {
            tok: Tok::Eof,
            pos: 0,
            spaced: false,
        };
        self.toks.get(self.i).or(self.toks.last()).unwrap_or(&END)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if !matches!(t.tok, Tok::Eof | Tok::Error(_)) {
            self.i += 1;
        }
        t
    }

    fn fail<T>(&self, t: &Token, context: &str) -> Result<T, PErr> {
        Err(match &t.tok {
            Tok::Error(m) => (t.pos, m.clone()),
            Tok::Eof => (t.pos, "unclosed action".into()),
            Tok::RParen => (t.pos, "unexpected right paren".into()),
            other => (
                t.pos,
                format!("unexpected {} in {context}", describe(other)),
            ),
        })
    }

    fn expect_close(&mut self, context: &str) -> Result<(), PErr> {
        let t = self.next();
        match t.tok {
            Tok::Close => Ok(()),
            _ => self.fail(&t, context),
        }
    }

    fn enter(&mut self, pos: usize) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Parses nodes up to `{{end}}`, `{{else`, or EOF; returns the stop and its position.
    fn list(&mut self) -> Result<(Vec<Node>, Stop, usize), PErr> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Eof => return Ok((nodes, Stop::Eof, t.pos)),
                Tok::Open => {
                    let kw = match &self.peek().tok {
                        Tok::Ident(s) => s.clone(),
                        _ => String::new(),
                    };
                    match kw.as_str() {
                        "end" => {
                            self.next();
                            self.expect_close("end")?;
                            return Ok((nodes, Stop::End, t.pos));
                        }
                        "else" => {
                            self.next();
                            return Ok((nodes, Stop::Else, t.pos));
                        }
                        _ => nodes.push(self.action(&kw, t.pos)?),
                    }
                }
                _ => return self.fail(&t, "template"),
            }
        }
    }

    fn action(&mut self, kw: &str, pos: usize) -> Result<Node, PErr> {
        let kind = match kw {
            "if" => Kind::If,
            "with" => Kind::With,
            "range" => Kind::Range,
            "break" | "continue" => {
                self.next();
                self.expect_close(kw)?;
                if self.in_range == 0 {
                    return Err((pos, format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                }
                return Ok(if kw == "break" {
                    Node::Break
                } else {
                    Node::Continue
                });
            }
            "define" | "template" | "block" => {
                return Err((pos, format!("{{{{{kw}}}}} is not supported in --format")));
            }
            _ => {
                let pipe = self.pipeline("command", true)?;
                self.expect_close("command")?;
                return Ok(Node::Action(pipe));
            }
        };
        self.next();
        self.enter(pos)?;
        let mark = self.vars.len();
        let branch = self.control(kind, kw);
        self.vars.truncate(mark);
        self.depth -= 1;
        let branch = Box::new(branch?);
        Ok(match kind {
            Kind::If => Node::If(branch),
            Kind::With => Node::With(branch),
            Kind::Range => Node::Range(branch),
        })
    }

    /// Parses `PIPE}} list [{{else [if|with PIPE]}} list] {{end}}` after the keyword.
    fn control(&mut self, kind: Kind, kw: &str) -> Result<Branch, PErr> {
        let pipe = self.pipeline(kw, true)?;
        self.expect_close(kw)?;
        self.in_range += usize::from(kind == Kind::Range);
        let listed = self.list();
        self.in_range -= usize::from(kind == Kind::Range);
        let (list, stop, pos) = listed?;
        let else_list = match stop {
            Stop::End => None,
            Stop::Eof => return Err((pos, "unexpected EOF".into())),
            Stop::Else => {
                let chained = match (&self.peek().tok, kind) {
                    (Tok::Ident(s), Kind::If) => s == "if",
                    (Tok::Ident(s), Kind::With) => s == "with",
                    _ => false,
                };
                if chained {
                    self.next();
                    self.enter(pos)?;
                    let inner = self.control(kind, kw);
                    self.depth -= 1;
                    let inner = Box::new(inner?);
                    Some(vec![if kind == Kind::If {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    }])
                } else {
                    self.expect_close("else")?;
                    let (else_list, stop, pos) = self.list()?;
                    match stop {
                        Stop::End => Some(else_list),
                        Stop::Else => return Err((pos, "expected {{end}}; found {{else}}".into())),
                        Stop::Eof => return Err((pos, "unexpected EOF".into())),
                    }
                }
            }
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, allow_decl: bool) -> Result<Pipe, PErr> {
        let mut pipe = Pipe {
            decl: Vec::new(),
            assign: false,
            cmds: Vec::new(),
        };
        if allow_decl {
            self.declarations(&mut pipe, context)?;
        }
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Close | Tok::RParen => {
                    if pipe.cmds.is_empty() {
                        return Err((t.pos, format!("missing value for {context}")));
                    }
                    return Ok(pipe);
                }
                _ => {
                    let cmd = self.command()?;
                    if !pipe.cmds.is_empty()
                        && !matches!(cmd.args[0].term, Term::Func(_) | Term::Pipe(_))
                    {
                        let is_field = matches!(cmd.args[0].term, Term::Var(_))
                            || !cmd.args[0].chain.is_empty();
                        if !is_field {
                            let stage = pipe.cmds.len() + 1;
                            return Err((
                                cmd.start,
                                format!("non executable command in pipeline stage {stage}"),
                            ));
                        }
                    }
                    pipe.cmds.push(cmd);
                    if matches!(self.peek().tok, Tok::Pipe) {
                        let bar = self.next();
                        if matches!(self.peek().tok, Tok::Close | Tok::RParen) {
                            return Err((bar.pos, "missing value for command".into()));
                        }
                    }
                }
            }
        }
    }

    /// Parses `$x :=`, `$x =` or (in range) `$i, $v :=` if present.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<(), PErr> {
        let save = self.i;
        let mut names = Vec::new();
        while let Tok::Var(name) = &self.peek().tok {
            names.push((name.clone(), self.peek().pos));
            self.next();
            match self.peek().tok {
                Tok::Comma if names.len() == 1 && context == "range" => {
                    self.next();
                }
                Tok::Comma => {
                    return Err((
                        self.peek().pos,
                        format!("too many declarations in {context}"),
                    ))
                }
                Tok::Declare | Tok::Assign => {
                    pipe.assign = matches!(self.next().tok, Tok::Assign);
                    for (name, pos) in names {
                        if pipe.assign && !self.vars.contains(&name) {
                            return Err((pos, format!("undefined variable {name:?}")));
                        }
                        self.vars.push(name.clone());
                        pipe.decl.push(name);
                    }
                    return Ok(());
                }
                _ => break,
            }
        }
        if names.len() > 1 {
            return Err((
                self.peek().pos,
                "range can only initialize variables".into(),
            ));
        }
        self.i = save;
        Ok(())
    }

    fn command(&mut self) -> Result<Cmd, PErr> {
        let start = self.peek().pos;
        let mut args = Vec::new();
        let mut end = start;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Close | Tok::RParen | Tok::Pipe => break,
                _ if !args.is_empty() && !t.spaced => return self.fail(&t, "operand"),
                _ => {}
            }
            args.push(self.operand()?);
            end = self.peek().pos;
        }
        if args.is_empty() {
            let t = self.peek().clone();
            return Err((t.pos, "missing value for command".into()));
        }
        Ok(Cmd { start, end, args })
    }

    fn operand(&mut self) -> Result<Operand, PErr> {
        let t = self.next();
        let mut chain = Vec::new();
        let term = match t.tok {
            Tok::Dot => Term::Dot,
            Tok::Field(name) => {
                chain.push(name);
                Term::Dot
            }
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err((t.pos, format!("undefined variable {name:?}")));
                }
                Term::Var(name)
            }
            Tok::Str(s) => Term::Str(s),
            Tok::Num(n) => Term::Num(n),
            Tok::Ident(name) => match name.as_str() {
                "true" | "false" => Term::Bool(name == "true"),
                "nil" => Term::Nil,
                _ => match Func::lookup(&name) {
                    Some(f) => Term::Func(f),
                    None => return Err((t.pos, format!("function {name:?} not defined"))),
                },
            },
            Tok::LParen => {
                self.enter(t.pos)?;
                let pipe = self.pipeline("parenthesized pipeline", false);
                self.depth -= 1;
                let pipe = pipe?;
                let close = self.next();
                match close.tok {
                    Tok::RParen => Term::Pipe(Box::new(pipe)),
                    Tok::Close => return Err((t.pos, "unclosed left paren".into())),
                    _ => return self.fail(&close, "operand"),
                }
            }
            Tok::RParen => return Err((t.pos, "unexpected right paren".into())),
            _ => return self.fail(&t, "operand"),
        };
        while let Tok::Field(name) = &self.peek().tok {
            if self.peek().spaced {
                break;
            }
            let chainable = matches!(term, Term::Var(_) | Term::Pipe(_)) || !chain.is_empty();
            if !chainable {
                return Err((self.peek().pos, "unexpected . after term".into()));
            }
            chain.push(name.clone());
            self.next();
        }
        Ok(Operand { term, chain })
    }
}

/// Collects the first field name of every chain on `.` or `$`.
pub(super) fn collect_fields(nodes: &[Node], out: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Action(p) => pipe_fields(p, out),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                pipe_fields(&b.pipe, out);
                collect_fields(&b.list, out);
                if let Some(e) = &b.else_list {
                    collect_fields(e, out);
                }
            }
            Node::Text(_) | Node::Break | Node::Continue => {}
        }
    }
}

fn pipe_fields(pipe: &Pipe, out: &mut Vec<String>) {
    for op in pipe.cmds.iter().flat_map(|c| &c.args) {
        match &op.term {
            Term::Pipe(p) => {
                pipe_fields(p, out);
                continue;
            }
            Term::Dot => {}
            Term::Var(v) if v == "$" => {}
            _ => continue,
        }
        if let Some(first) = op.chain.first() {
            if !out.contains(first) {
                out.push(first.clone());
            }
        }
    }
}
