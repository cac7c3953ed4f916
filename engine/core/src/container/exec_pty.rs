//! The terminal a TTY exec's runtime runs on when the caller has none (the API
//! service): a fresh pty whose slave becomes the runtime's stdin and controlling
//! terminal (through `setsid --ctty`), so the foreground runtime can put it in raw
//! mode and relay between it and the container's own terminal. The session's stdin
//! is written to the master; resizes set the master's size, which the runtime passes
//! on to the container when it gets SIGWINCH.

use rustix::fd::OwnedFd;
use rustix::pty::{self, OpenptFlags};
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

pub struct Console {
    master: Arc<OwnedFd>,
    slave: OwnedFd,
}

impl Console {
    pub fn open() -> io::Result<Console> {
        let master = pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        pty::grantpt(&master)?;
        pty::unlockpt(&master)?;
        let name = pty::ptsname(&master, Vec::new())?;
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let console = Console {
            master: Arc::new(master),
            slave,
        };
        set_size(&console.master, 24, 80);
        Ok(console)
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
    }

    /// `runtime`'s command run in a new session with the pty as its terminal.
    pub fn command(&self, runtime: &Command) -> Command {
        let mut c = Command::new("setsid");
        c.args(["--wait", "--ctty"])
            .arg(runtime.get_program())
            .args(runtime.get_args());
        for (k, v) in runtime.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    }

    /// The slave, as the runtime's stdin.
    pub fn stdin(&self) -> io::Result<Stdio> {
        Ok(Stdio::from(self.slave.try_clone()?))
    }

    /// Feeds `input` to the terminal and passes `resize` events on, from threads of
    /// their own that end with their sources.
    pub fn relay(&self, input: Option<Box<dyn Read + Send>>, resize: Option<Receiver<(u16, u16)>>) {
        if let Some(mut input) = input {
            let master = self.master.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = input.read(&mut buf) {
                    if n == 0 || rustix::io::write(&*master, &buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
        if let Some(rx) = resize {
            let master = self.master.clone();
            std::thread::spawn(move || {
                while let Ok((rows, cols)) = rx.recv() {
                    set_size(&master, rows, cols);
                }
            });
        }
    }
}

fn set_size(master: &OwnedFd, rows: u16, cols: u16) {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let _ = rustix::termios::tcsetwinsize(master, ws);
}
