//! The pause process of a pod's infra container: it does nothing but keep the pod's
//! shared namespaces alive. As the namespace's first process it reaps the orphans
//! handed to it, and it exits at once on SIGTERM, SIGINT or SIGHUP (a process with
//! pid 1 in its namespace gets no default signal actions).

use rustix::process::{waitpid, WaitOptions};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn main() {
    let mut signals = match Signals::new([SIGTERM, SIGINT, SIGHUP, SIGCHLD]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth-pause: installing signal handlers: {e}");
            std::process::exit(1);
        }
    };
    for signal in signals.forever() {
        match signal {
            SIGCHLD => while let Ok(Some(_)) = waitpid(None, WaitOptions::NOHANG) {},
            _ => std::process::exit(0),
        }
    }
}
