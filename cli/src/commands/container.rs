//! `start`, `stop`, `kill`, `rm`, `wait`, `attach`, `container exists` and
//! `container inspect`: small commands over the engine's lifecycle calls, printing
//! what Podman prints (the name or ID as given, one per line).

use crate::container_cli::*;
use crate::exit;
use berth_types::container::{
    AttachEnd, AttachStreams, ListContainersRequest, RemoveContainersRequest,
};
use berth_types::{Engine, ErrorKind};

/// The names to act on: those given, or every container matching `all`.
fn targets(
    engine: &dyn Engine,
    names: &[String],
    all: bool,
    running_only: bool,
) -> anyhow::Result<Vec<String>> {
    if !all {
        if names.is_empty() {
            anyhow::bail!("you must provide at least one container name or ID");
        }
        return Ok(names.to_vec());
    }
    let list = engine
        .list_containers(&ListContainersRequest {
            all: true,
            ..Default::default()
        })
        .map_err(exit::engine)?;
    Ok(list
        .into_iter()
        .filter(|c| !running_only || c.state == "running")
        .map(|c| c.id)
        .collect())
}

/// Runs `op` for each name; prints what it returns; reports every failure and exits with
/// the first failure's code (as Podman does for multi-container commands).
fn each(
    names: &[String],
    mut op: impl FnMut(&str) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<i32> {
    let mut first_err: Option<anyhow::Error> = None;
    for n in names {
        match op(n) {
            Ok(Some(out)) => println!("{out}"),
            Ok(None) => {}
            Err(e) => {
                if let Some(prev) = first_err.replace(e) {
                    exit::report(&prev);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

/// `--detach-keys`, defaulting to Podman's ctrl-p,ctrl-q.
pub fn default_detach_keys(spec: Option<&str>) -> anyhow::Result<Vec<u8>> {
    berth_types::container::parse_detach_keys(spec.unwrap_or("ctrl-p,ctrl-q"))
        .map_err(|e| anyhow::anyhow!(e))
}

/// Streams for an attached session on this terminal.
pub fn local_streams(stdin: bool, tty: bool, detach_keys: Vec<u8>) -> AttachStreams<'static> {
    AttachStreams {
        stdin: stdin.then(|| Box::new(std::io::stdin()) as Box<dyn std::io::Read + Send>),
        stdout: Box::new(std::io::stdout()),
        stderr: Box::new(std::io::stderr()),
        detach_keys,
        resize: if tty {
            crate::terminal::resize_events()
        } else {
            None
        },
        started: None,
    }
}

pub fn start(engine: &dyn Engine, a: StartArgs) -> anyhow::Result<i32> {
    let names = targets(engine, &a.names, a.all, false)?;
    if a.attach {
        if names.len() != 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        }
        let doc = engine.inspect_container(&names[0]).map_err(exit::engine)?;
        let tty = doc["Config"]["Tty"].as_bool().unwrap_or(false);
        let keys = default_detach_keys(a.detach_keys.as_deref())?;
        let _raw = tty.then(crate::terminal::RawMode::enable);
        let end = engine
            .start_container(&names[0], Some(local_streams(a.interactive, tty, keys)))
            .map_err(exit::engine)?;
        return Ok(match end {
            Some(AttachEnd::Exited(code)) => code,
            _ => 0,
        });
    }
    each(&names, |n| {
        engine.start_container(n, None).map_err(exit::engine)?;
        Ok(Some(n.to_string()))
    })
}

pub fn stop(engine: &dyn Engine, a: StopArgs) -> anyhow::Result<i32> {
    let names = targets(engine, &a.names, a.all, true)?;
    each(&names, |n| match engine.stop_container(n, a.time) {
        Ok(_) => Ok(Some(n.to_string())),
        Err(e) if a.ignore && e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(exit::engine(e)),
    })
}

pub fn kill(engine: &dyn Engine, a: KillArgs) -> anyhow::Result<i32> {
    let names = targets(engine, &a.names, a.all, true)?;
    each(&names, |n| {
        engine.kill_container(n, &a.signal).map_err(exit::engine)?;
        Ok(Some(n.to_string()))
    })
}

pub fn rm(engine: &dyn Engine, a: RmArgs) -> anyhow::Result<i32> {
    if a.names.is_empty() && !a.all {
        anyhow::bail!("you must provide at least one container name or ID");
    }
    let req = RemoveContainersRequest {
        names: a.names.clone(),
        force: a.force,
        all: a.all,
        volumes: a.volumes,
        ignore_missing: a.ignore,
        timeout: a.time,
    };
    let results = engine.remove_containers(&req).map_err(exit::engine)?;
    let mut code = 0;
    // Podman echoes each name as typed; with --all, the IDs.
    let mut typed = a.names.iter();
    for r in results {
        let shown = if a.all { None } else { typed.next() };
        match r {
            Ok(id) if id.is_empty() => {}
            Ok(id) => println!("{}", shown.cloned().unwrap_or(id)),
            Err(e) => {
                let c = match e.kind {
                    ErrorKind::NotFound => 1,
                    ErrorKind::BadState => 2,
                    _ => exit::ENGINE,
                };
                if code == 0 {
                    code = c;
                }
                exit::report(&anyhow::Error::new(e));
            }
        }
    }
    Ok(code)
}

pub fn wait(engine: &dyn Engine, a: WaitArgs) -> anyhow::Result<i32> {
    let condition = a
        .condition
        .first()
        .cloned()
        .unwrap_or_else(|| "stopped".into());
    each(&a.names, |n| match engine.wait_container(n, &condition) {
        Ok(code) => Ok(Some(code.to_string())),
        Err(e) if a.ignore && e.kind == ErrorKind::NotFound => Ok(Some("-1".into())),
        Err(e) => Err(exit::engine(e)),
    })
}

pub fn attach(engine: &dyn Engine, a: AttachArgs) -> anyhow::Result<i32> {
    let doc = engine.inspect_container(&a.name).map_err(exit::engine)?;
    let tty = doc["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && doc["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let keys = default_detach_keys(a.detach_keys.as_deref())?;
    let _raw = tty.then(crate::terminal::RawMode::enable);
    match engine
        .attach_container(&a.name, local_streams(stdin, tty, keys))
        .map_err(exit::engine)?
    {
        AttachEnd::Exited(code) => Ok(code),
        AttachEnd::Detached => Ok(0),
    }
}

pub fn exists(engine: &dyn Engine, a: ExistsArgs) -> anyhow::Result<i32> {
    super::exists_code(engine.container_exists(&a.name))
}

pub fn inspect(engine: &dyn Engine, a: ContainerInspectArgs) -> anyhow::Result<i32> {
    let mut docs = Vec::new();
    let mut missing = None;
    for n in &a.names {
        match engine.inspect_container(n) {
            Ok(d) => docs.push(d),
            Err(e) if e.kind == ErrorKind::NotFound => {
                missing.get_or_insert(e);
            }
            Err(e) => return Err(exit::engine(e)),
        }
    }
    if let Some(e) = missing {
        // As Podman: what was found (or []) on stdout, then the error.
        println!("{}", super::json_inspect(&docs)?);
        return Err(exit::engine(e));
    }
    crate::output::print_documents(a.format.as_deref(), &docs)?;
    Ok(0)
}

pub fn exec(engine: &dyn Engine, a: ExecArgs) -> anyhow::Result<i32> {
    let req = berth_types::container::ExecRequest {
        command: a.command.clone(),
        env: a.env.clone(),
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        tty: a.tty,
        interactive: a.interactive,
        privileged: a.privileged,
        detach: a.detach,
    };
    let keys = default_detach_keys(a.detach_keys.as_deref())?;
    let _raw = (a.tty && !a.detach).then(crate::terminal::RawMode::enable);
    engine
        .exec_container(&a.name, &req, local_streams(a.interactive, a.tty, keys))
        .map_err(exit::engine)
}

pub fn restart(engine: &dyn Engine, a: RestartArgs) -> anyhow::Result<i32> {
    let names = targets(engine, &a.names, a.all, false)?;
    each(&names, |n| {
        engine.restart_container(n, a.time).map_err(exit::engine)?;
        Ok(Some(n.to_string()))
    })
}

pub fn pause(engine: &dyn Engine, a: NamesArgs, resume: bool) -> anyhow::Result<i32> {
    let names = targets(engine, &a.names, a.all, !resume)?;
    each(&names, |n| {
        if resume {
            engine.unpause_container(n)
        } else {
            engine.pause_container(n)
        }
        .map_err(exit::engine)?;
        Ok(Some(n.to_string()))
    })
}

pub fn rename(engine: &dyn Engine, a: RenameArgs) -> anyhow::Result<i32> {
    engine
        .rename_container(&a.name, &a.new_name)
        .map_err(exit::engine)?;
    Ok(0)
}

pub fn prune(engine: &dyn Engine, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force {
        use std::io::{BufRead, Write};
        print!("WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    for id in engine.prune_containers().map_err(exit::engine)? {
        println!("{id}");
    }
    Ok(0)
}

pub fn top(engine: &dyn Engine, a: TopArgs) -> anyhow::Result<i32> {
    let table = engine
        .top_container(&a.name, &a.descriptors)
        .map_err(exit::engine)?;
    let text: String = table.iter().map(|row| row.join("\t") + "\n").collect();
    print!("{}", crate::format::columns::align(&text));
    Ok(0)
}

/// `port`: the container's published ports, `PORT/PROTO -> HOSTIP:HOSTPORT` per line,
/// from inspect's NetworkSettings.Ports.
pub fn port(engine: &dyn Engine, a: PortArgs) -> anyhow::Result<i32> {
    let names: Vec<String> = match (&a.name, a.all) {
        (Some(_), true) => anyhow::bail!("--all and a container name are mutually exclusive"),
        (None, false) => anyhow::bail!("you must supply a running container name or ID"),
        (Some(n), false) => vec![n.clone()],
        (None, true) => targets(engine, &[], true, true)?,
    };
    for n in &names {
        let doc = engine.inspect_container(n).map_err(exit::engine)?;
        let mut found = false;
        if let Some(ports) = doc["NetworkSettings"]["Ports"].as_object() {
            for (ctr, bindings) in ports {
                if let Some(want) = &a.port {
                    let want = if want.contains('/') {
                        want.clone()
                    } else {
                        format!("{want}/tcp")
                    };
                    if *ctr != want {
                        continue;
                    }
                }
                for b in bindings.as_array().into_iter().flatten() {
                    found = true;
                    let ip = b["HostIp"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .unwrap_or("0.0.0.0");
                    let hp = b["HostPort"].as_str().unwrap_or_default();
                    match &a.port {
                        Some(_) => println!("{ip}:{hp}"),
                        None => println!("{ctr} -> {ip}:{hp}"),
                    }
                }
            }
        }
        if let (Some(p), false) = (&a.port, found) {
            let p = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            return Err(exit::with_code(
                exit::ENGINE,
                format!("failed to find published port \"{p}\""),
            ));
        }
    }
    Ok(0)
}

/// `healthcheck run`: exit 0 when healthy (or still starting), 1 with "unhealthy".
pub fn healthcheck(engine: &dyn Engine, a: ExistsArgs) -> anyhow::Result<i32> {
    match engine
        .healthcheck_run(&a.name)
        .map_err(exit::engine)?
        .as_str()
    {
        "unhealthy" => {
            println!("unhealthy");
            Ok(1)
        }
        _ => Ok(0),
    }
}
