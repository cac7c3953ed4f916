//! Exit codes and error printing, as Podman does them: `Error: <message>` on stderr;
//! 125 when the engine fails, 1 for "not found" where Podman uses it, or a code a
//! command chose itself.

use berth_types::{EngineError, ErrorKind};

/// Engine failure.
pub const ENGINE: i32 = 125;

/// An error that carries the exit code the command wants.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub code: i32,
    pub message: String,
}

pub fn with_code(code: i32, message: impl Into<String>) -> anyhow::Error {
    ExitError {
        code,
        message: message.into(),
    }
    .into()
}

/// Prints what parsing the command line stopped at, and returns the exit code, as
/// Podman does: the help or the version asked for (0); help where a command is
/// missing (125); else bad usage (125) as `Error: ` and clap's message on one line,
/// then where the command's help is.
pub fn usage(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind as Clap;
    match e.kind() {
        Clap::DisplayHelp | Clap::DisplayVersion => {
            let _ = e.print();
            0
        }
        Clap::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ENGINE
        }
        _ => {
            eprintln!("{}", usage_error(&e.render().to_string()));
            ENGINE
        }
    }
}

/// clap's plain words for bad usage (`error: MESSAGE`, a tip perhaps, `Usage: berth
/// CMD ...`) in Podman's shape: `Error: MESSAGE` on one line, then `See 'berth CMD
/// --help'`.
fn usage_error(rendered: &str) -> String {
    let text = rendered.strip_prefix("error: ").unwrap_or(rendered);
    let message: Vec<&str> = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let command = text
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "berth".into());
    format!(
        "Error: {}\nSee '{command} --help'",
        printable(&message.join(" "))
    )
}

/// Prints the error chain and returns the exit code.
pub fn report(err: &anyhow::Error) -> i32 {
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<ExitError>().map(|x| x.code))
        .unwrap_or(ENGINE);
    let mut message = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        if text.is_empty() || message.ends_with(&text) {
            continue;
        }
        if i > 0 {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    eprintln!("Error: {}", printable(&message));
    code
}

/// One printable line: control characters (from archives, servers, paths) are escaped.
fn printable(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Converts an engine error, keeping its message; a container command that cannot be
/// found or run exits 127 or 126, as Podman.
pub fn engine(e: EngineError) -> anyhow::Error {
    match e.kind {
        ErrorKind::CommandNotFound => with_code(127, e.message),
        ErrorKind::CommandNotExecutable => with_code(126, e.message),
        _ => anyhow::Error::new(e),
    }
}

/// Maps "not found" to exit 1 (as `rmi`, `image exists` do), everything else to 125.
pub fn not_found_is_one(e: EngineError) -> anyhow::Error {
    if e.kind == ErrorKind::NotFound {
        with_code(1, e.message)
    } else {
        engine(e)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bad_usage_reads_as_podmans() {
        assert_eq!(
            super::usage_error(
                "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: berth image ls [OPTIONS] [IMAGE]\n\nFor more information, try '--help'.\n"
            ),
            "Error: unexpected argument '--nope' found\nSee 'berth image ls --help'"
        );
        assert_eq!(
            super::usage_error(
                "error: the following required arguments were not provided:\n  <NAME>\n\nUsage: berth rename <CONTAINER> <NAME>\n"
            ),
            "Error: the following required arguments were not provided: <NAME>\nSee 'berth rename --help'"
        );
        assert_eq!(
            super::usage_error("error: a value is required for '--memory <SIZE>'\n"),
            "Error: a value is required for '--memory <SIZE>'\nSee 'berth --help'"
        );
    }

    #[test]
    fn error_text_is_one_printable_line() {
        assert_eq!(
            super::printable("bad\nline\u{1b}[2J\ttab"),
            "bad\\nline\\u{1b}[2J\\ttab"
        );
    }
}
