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
    fn error_text_is_one_printable_line() {
        assert_eq!(
            super::printable("bad\nline\u{1b}[2J\ttab"),
            "bad\\nline\\u{1b}[2J\\ttab"
        );
    }
}
