//! The local terminal during an attached session: raw mode (restored on drop) and
//! window-size changes (SIGWINCH) delivered as (rows, columns) events.

use std::io::IsTerminal;
use std::sync::mpsc::{channel, Receiver};

/// Puts stdin's terminal in raw mode until dropped; does nothing when stdin is not a terminal.
pub struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    pub fn enable() -> RawMode {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return RawMode { saved: None };
        }
        let Ok(saved) = rustix::termios::tcgetattr(&stdin) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        // Fully raw: the container's terminal already turns "\n" into "\r\n".
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// The terminal's size now, if stdout is one.
pub fn size() -> Option<(u16, u16)> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&out)
        .ok()
        .map(|w| (w.ws_row, w.ws_col))
}

/// Sends the current size, then one event per SIGWINCH.
pub fn resize_events() -> Option<Receiver<(u16, u16)>> {
    let first = size()?;
    let (tx, rx) = channel();
    let _ = tx.send(first);
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGWINCH]).ok()?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if let Some(s) = size() {
                if tx.send(s).is_err() {
                    return;
                }
            }
        }
    });
    Some(rx)
}
