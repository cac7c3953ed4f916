//! `berth create` and `berth run`: parse the flags into a create request, create the
//! container (pulling the image as `--pull` says), and for `run` start it — detached,
//! printing the ID, or attached to this terminal until it exits, with its exit code.

use super::create_args::{ClientOptions, CreateArgs, RunArgs, SystemHost};
use crate::exit;
use crate::progress::Reporter;
use berth_types::container::{AttachEnd, ContainerCreateRequest};
use berth_types::{Engine, ErrorKind};
use std::io::Write;

fn argv() -> Vec<String> {
    std::env::args().collect()
}

/// Writes `--cidfile` (refusing to overwrite, as Podman).
fn write_cidfile(client: &ClientOptions, id: &str) -> anyhow::Result<()> {
    if let Some(path) = &client.cidfile {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("opening cidfile {}: {e}", path.display()))?;
        f.write_all(id.as_bytes())?;
    }
    Ok(())
}

fn create_container(
    engine: &dyn Engine,
    req: &ContainerCreateRequest,
    client: &ClientOptions,
) -> anyhow::Result<String> {
    if let Some(path) = &client.cidfile {
        if path.exists() {
            anyhow::bail!(
                "container id file exists. Ensure another container is not using it or delete {}",
                path.display()
            );
        }
    }
    let reporter = Reporter::new(client.quiet, "Copying");
    let Some(pod_name) = req.pod.strip_prefix("new:") else {
        return finish_create(engine, req, client, &reporter);
    };
    // `--pod new:NAME`: a new pod takes the container's network settings.
    let pod = berth_types::pod::PodCreateRequest {
        name: Some(pod_name.to_string()),
        network: req.network.clone(),
        networks: req.networks.clone(),
        ports: req.ports.clone(),
        hostname: req.hostname.clone(),
        add_hosts: req.add_hosts.clone(),
        dns: req.dns.clone(),
        dns_search: req.dns_search.clone(),
        dns_options: req.dns_options.clone(),
        no_hosts: req.no_hosts,
        runtime: req.runtime.clone(),
        create_command: req.create_command.clone(),
        ..Default::default()
    };
    let pod_id = engine.create_pod(&pod, &reporter).map_err(exit::engine)?.id;
    let member = ContainerCreateRequest {
        pod: pod_id.clone(),
        network: "bridge".into(),
        networks: Vec::new(),
        ports: Vec::new(),
        hostname: None,
        add_hosts: Vec::new(),
        dns: Vec::new(),
        dns_search: Vec::new(),
        dns_options: Vec::new(),
        ..req.clone()
    };
    finish_create(engine, &member, client, &reporter).inspect_err(|_| {
        let _ = engine.remove_pods(&berth_types::pod::RemovePodsRequest {
            names: vec![pod_id.clone()],
            force: true,
            ..Default::default()
        });
    })
}

fn finish_create(
    engine: &dyn Engine,
    req: &ContainerCreateRequest,
    client: &ClientOptions,
    reporter: &Reporter,
) -> anyhow::Result<String> {
    let created = engine
        .create_container(req, reporter)
        .map_err(exit::engine)?;
    for w in &created.warnings {
        eprintln!("WARN[0000] {w}");
    }
    write_cidfile(client, &created.id)?;
    Ok(created.id)
}

pub fn create(engine: &dyn Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let (req, client) = a
        .to_request(&SystemHost, argv())
        .map_err(|e| exit::with_code(exit::ENGINE, e.to_string()))?;
    let id = create_container(engine, &req, &client)?;
    println!("{id}");
    Ok(0)
}

fn write_pidfile(engine: &dyn Engine, client: &ClientOptions, id: &str) -> anyhow::Result<()> {
    if let Some(path) = &client.pidfile {
        let doc = engine.inspect_container(id).map_err(exit::engine)?;
        let pid = doc["State"]["Pid"].as_i64().unwrap_or(0);
        std::fs::write(path, pid.to_string())
            .map_err(|e| anyhow::anyhow!("writing pidfile {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 to the container (`--sig-proxy`).
fn proxy_signals(id: &str) {
    use signal_hook::consts::*;
    let Ok(mut signals) =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2])
    else {
        return;
    };
    let exe = std::env::current_exe();
    // The global options (--root, --runroot…) come before the subcommand.
    let globals: Vec<String> = std::env::args()
        .skip(1)
        .take_while(|a| a != "run")
        .collect();
    let id = id.to_string();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Ok(exe) = &exe {
                let _ = std::process::Command::new(exe)
                    .args(&globals)
                    .args(["kill", "--signal", &sig.to_string(), &id])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    });
}

pub fn run(engine: &dyn Engine, a: RunArgs) -> anyhow::Result<i32> {
    let (req, client) = a
        .to_request(&SystemHost, argv())
        .map_err(|e| exit::with_code(exit::ENGINE, e.to_string()))?;
    let id = create_container(engine, &req, &client)?;
    if client.detach {
        if let Err(e) = engine.start_container(&id, None) {
            if req.remove {
                let _ =
                    engine.remove_containers(&berth_types::container::RemoveContainersRequest {
                        names: vec![id.clone()],
                        force: true,
                        ..Default::default()
                    });
            }
            return Err(exit::engine(e));
        }
        write_pidfile(engine, &client, &id)?;
        println!("{id}");
        return Ok(0);
    }
    let streams =
        super::container::local_streams(req.interactive, req.tty, client.detach_keys.clone());
    let raw = req.tty.then(crate::terminal::RawMode::enable);
    if client.sig_proxy && !req.tty {
        proxy_signals(&id);
    }
    let started = engine.start_container(&id, Some(streams));
    drop(raw);
    let end = match started {
        Ok(end) => end,
        Err(e) => {
            if req.remove {
                let _ =
                    engine.remove_containers(&berth_types::container::RemoveContainersRequest {
                        names: vec![id.clone()],
                        force: true,
                        ..Default::default()
                    });
            }
            return Err(exit::engine(e));
        }
    };
    match end {
        Some(AttachEnd::Exited(code)) => {
            if req.remove {
                wait_removed(engine, &id);
            }
            Ok(code)
        }
        Some(AttachEnd::Detached) | None => Ok(0),
    }
}

/// With `--rm`, the monitor removes the container after the exit: wait for that, so
/// the next command does not see it.
fn wait_removed(engine: &dyn Engine, id: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match engine.container_exists(id) {
            Ok(false) => return,
            Err(e) if e.kind == ErrorKind::NotFound => return,
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
}
