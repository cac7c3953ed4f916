//! `berth`: the command line. It parses arguments, builds an engine (the local Linux
//! engine, or a remote one), runs one command and maps errors to Podman's exit codes.
//! All behaviour lives behind the `Engine` trait; this crate only parses and prints.

mod cli;
mod commands;
mod container_cli;
mod engine;
mod exit;
mod format;
mod human;
mod lazy;
mod output;
mod progress;
#[cfg(unix)]
mod terminal;

use clap::Parser;

fn main() {
    // The container monitor's exit command: no argument parser, no logging set-up.
    #[cfg(all(target_os = "linux", feature = "local"))]
    if let Some(code) = commands::exit_command_fast_path() {
        std::process::exit(code);
    }
    // The process that holds a rootless user's namespaces.
    #[cfg(all(target_os = "linux", feature = "local"))]
    if std::env::args().nth(1).as_deref() == Some("__rootless-pause") {
        std::process::exit(berth_engine::rootless::pause::pause_main());
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(exit::usage(&e)),
    };
    // A server writes to clients that may hang up at any time: EPIPE, not a signal.
    if !cli.is_service() {
        restore_sigpipe();
    }
    init_tracing(cli.global.log_level.as_deref());
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}

fn init_tracing(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// `berth ps | head` should end quietly, as Unix tools do, instead of failing on EPIPE.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
