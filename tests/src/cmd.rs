//! Running a command to completion with a time limit and capturing what it
//! printed: `CmdResult` and its assertions (`ok`, `fails_with`).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one command may run unless `BERTH_TEST_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a finished command printed and how it exited.
#[derive(Debug, Clone)]
pub struct CmdResult {
    /// The command line, for failure messages.
    pub cmdline: String,
    pub stdout: String,
    pub stderr: String,
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
}

impl CmdResult {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Asserts exit status 0 and returns stdout; panics showing stderr otherwise.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert!(self.success(), "command failed: {self}");
        &self.stdout
    }

    /// Asserts exit status `code` and returns stderr.
    #[track_caller]
    pub fn fails_with(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "expected exit code {code}: {self}");
        &self.stderr
    }

    /// Asserts a non-zero exit (any code) and returns stderr.
    #[track_caller]
    pub fn fails(&self) -> &str {
        assert!(!self.success(), "expected a failure: {self}");
        &self.stderr
    }
}

impl std::fmt::Display for CmdResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }
}

/// The per-command time limit: `BERTH_TEST_TIMEOUT` seconds, else `DEFAULT_TIMEOUT`.
pub fn timeout() -> Duration {
    std::env::var("BERTH_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// Runs `cmd` with `stdin` as its input (none: /dev/null), killing it and
/// panicking after `limit`.
pub fn run(mut cmd: Command, stdin: Option<&[u8]>, limit: Duration) -> CmdResult {
    let cmdline = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmdline}: {e}"));
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        let input = input.to_vec();
        // A command that exits without reading its input breaks the pipe: not our failure.
        thread::spawn(move || drop(pipe.write_all(&input)))
    });
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let code = wait(&mut child, limit, &cmdline);
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.join().expect("stdout reader panicked");
    let stderr = err.join().expect("stderr reader panicked");
    CmdResult {
        cmdline,
        stdout,
        stderr,
        code,
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits for `child`, polling so that a hung command can be killed.
fn wait(child: &mut Child, limit: Duration, cmdline: &str) -> Option<i32> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmdline} still running after {limit:?}; killed it");
            }
            Ok(None) => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => panic!("waiting for {cmdline}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stdin: Option<&[u8]>) -> CmdResult {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        run(cmd, stdin, Duration::from_secs(10))
    }

    #[test]
    fn captures_output_and_code() {
        let r = sh("echo out; echo err >&2; exit 3", None);
        assert_eq!(r.fails_with(3), "err\n");
        assert_eq!(r.stdout, "out\n");
        assert_eq!(sh("cat", Some(b"in")).ok(), "in");
    }

    #[test]
    #[should_panic(expected = "still running")]
    fn kills_after_the_limit() {
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        run(cmd, None, Duration::from_millis(100));
    }
}
