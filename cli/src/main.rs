//! `berth`: the command line. It parses arguments, builds an engine (the local Linux
//! engine, or a remote one), runs one command and maps errors to Podman's exit codes.
//! All behaviour lives behind the `Engine` trait; this crate only parses and prints.

mod cli;
mod commands;
mod engine;
mod exit;
mod format;
mod human;
mod output;
mod progress;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
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
