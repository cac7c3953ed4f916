//! `berth login` and `berth logout`.

use crate::cli::{LoginArgs, LogoutArgs};
use crate::exit;
use berth_types::image::{LoginRequest, RegistryOptions};
use berth_types::Engine;
use std::io::{BufRead, IsTerminal, Write};

fn read_line(prompt: &str) -> anyhow::Result<String> {
    if !prompt.is_empty() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
    }
    let mut s = String::new();
    std::io::stdin().lock().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

/// `--get-login`: the user name stored for the registry, read from the auth files.
fn get_login(server: &str, authfile: Option<&std::path::Path>) -> anyhow::Result<i32> {
    use berth_registry::auth::{lookup, AuthPaths};
    let paths = match authfile {
        Some(f) => AuthPaths::with_authfile(f),
        None => AuthPaths::from_env()?,
    };
    match lookup(server, "", &paths)? {
        Some(c) => {
            println!("{}", c.username);
            Ok(0)
        }
        None => Err(exit::with_code(
            exit::ENGINE,
            format!("not logged into {server}"),
        )),
    }
}

pub fn login(engine: &dyn Engine, a: LoginArgs) -> anyhow::Result<i32> {
    let server = a
        .server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if a.get_login {
        return get_login(&server, a.registry.authfile.as_deref());
    }
    if a.password_stdin && a.password.is_some() {
        anyhow::bail!("--password and --password-stdin are mutually exclusive");
    }
    let interactive = std::io::stdin().is_terminal();
    let username = match a.username.clone() {
        Some(u) => u,
        None if a.password_stdin => anyhow::bail!("must provide --username with --password-stdin"),
        None => read_line("Username: ")?,
    };
    let password = match (a.password.clone(), a.password_stdin) {
        (Some(p), _) => p,
        (None, true) => read_line("")?,
        (None, false) if interactive => read_line("Password: ")?,
        (None, false) => read_line("")?,
    };
    if username.is_empty() || password.is_empty() {
        anyhow::bail!("username and password must not be empty");
    }
    let req = LoginRequest {
        registry: server,
        username,
        password,
        options: RegistryOptions {
            tls_verify: a.registry.tls_verify,
            cert_dir: a.registry.cert_dir.clone(),
            credentials: None,
            authfile: a.registry.authfile.clone(),
        },
    };
    engine.login(&req).map_err(exit::engine)?;
    println!("Login Succeeded!");
    Ok(0)
}

pub fn logout(engine: &dyn Engine, a: LogoutArgs) -> anyhow::Result<i32> {
    let server = match (&a.server, a.all) {
        (Some(_), true) => anyhow::bail!("--all takes no registry argument"),
        (None, false) => anyhow::bail!("registry must be given unless --all is used"),
        (s, _) => s.as_deref().map(|s| {
            s.trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string()
        }),
    };
    let removed = engine
        .logout(server.as_deref(), a.authfile.as_deref())
        .map_err(exit::engine)?;
    match (server, removed) {
        (None, _) => println!("Removed login credentials for all registries"),
        (Some(s), true) => println!("Removed login credentials for {s}"),
        (Some(s), false) => {
            return Err(exit::with_code(
                exit::ENGINE,
                format!("not logged into {s}"),
            ))
        }
    }
    Ok(0)
}
