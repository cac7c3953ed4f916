//! `berth-agent`: runs inside a Berth machine and serves the engine's API to the host.
//! Not implemented yet: the binary says so and exits non-zero.

fn main() {
    eprintln!("berth-agent: the guest agent is not implemented yet");
    std::process::exit(2);
}
