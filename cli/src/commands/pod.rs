//! `berth pod …`: create, start, stop, restart, kill, pause, unpause, rm, ps, inspect,
//! top, stats, logs, exists and prune, with Podman's flags, output and exit codes.

use super::create_args::{env, network, resources, SystemHost};
use crate::exit;
use crate::output::{print_documents, print_list};
use berth_types::container::{LogStream, LogsRequest, Resources};
use berth_types::pod::{PodCreateRequest, PodSummary, RemovePodsRequest, DEFAULT_SHARE};
use berth_types::{Engine, ErrorKind};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::Write;

#[derive(Subcommand, Debug)]
pub enum PodCommand {
    /// Create a new empty pod
    Create(crate::lazy::Lazy<Box<CreateArgs>>),
    /// Start one or more pods
    Start(crate::lazy::Lazy<NamesArgs>),
    /// Stop one or more pods
    Stop(crate::lazy::Lazy<StopArgs>),
    /// Restart one or more pods
    Restart(crate::lazy::Lazy<NamesArgs>),
    /// Send the specified signal or SIGKILL to containers in pod
    Kill(crate::lazy::Lazy<KillArgs>),
    /// Pause one or more pods
    Pause(crate::lazy::Lazy<NamesArgs>),
    /// Unpause one or more pods
    Unpause(crate::lazy::Lazy<NamesArgs>),
    /// Remove one or more pods
    Rm(crate::lazy::Lazy<RmArgs>),
    /// List pods
    #[command(alias = "ls", alias = "list")]
    Ps(crate::lazy::Lazy<PsArgs>),
    /// Display a pod configuration
    Inspect(crate::lazy::Lazy<InspectArgs>),
    /// Display the running processes of containers in a pod
    Top(crate::lazy::Lazy<TopArgs>),
    /// Display a live stream of resource usage statistics for the containers in one or more pods
    Stats(crate::lazy::Lazy<StatsArgs>),
    /// Fetch logs for pod with one or more containers
    Logs(crate::lazy::Lazy<LogsArgs>),
    /// Check if a pod exists in local storage
    Exists(crate::lazy::Lazy<ExistsArgs>),
    /// Remove all stopped pods and their containers
    Prune(crate::lazy::Lazy<PruneArgs>),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Assign a name to the pod
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Create an infra container associated with the pod to share namespaces with
    #[arg(long, value_name = "BOOL", default_value = "true", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub infra: bool,
    /// Image to use to override builtin infra container
    #[arg(long, value_name = "IMAGE")]
    pub infra_image: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "COMMAND")]
    pub infra_command: Option<String>,
    /// Assign a name to the infra container
    #[arg(long, value_name = "NAME")]
    pub infra_name: Option<String>,
    /// A comma delimited list of kernel namespaces the pod will share
    #[arg(long, value_name = "NAMESPACES")]
    pub share: Option<String>,
    /// Publish a container's port, or a range of ports, to the host
    #[arg(short = 'p', long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Connect the pod to a network
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    pub network: Vec<String>,
    /// Set the pod's hostname
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long, value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Do not create /etc/hosts within the pod's containers
    #[arg(long)]
    pub no_hosts: bool,
    /// Number of CPUs the pod's containers may use
    #[arg(long, value_name = "NUMBER")]
    pub cpus: Option<f64>,
    /// Memory limit of the pod's containers
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Set metadata on the pod
    #[arg(short = 'l', long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<std::path::PathBuf>,
    /// User namespace to use
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// UID map to use for the user namespace
    #[arg(long, value_name = "MAP")]
    pub uidmap: Vec<String>,
    /// GID map to use for the user namespace
    #[arg(long, value_name = "MAP")]
    pub gidmap: Vec<String>,
    /// Behaviour when the last container exits (continue or stop)
    #[arg(long, value_name = "POLICY", default_value = "continue")]
    pub exit_policy: String,
    /// If a pod with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// Write the pod ID to the file
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Option<std::path::PathBuf>,
    #[arg(value_name = "NAME")]
    pub positional_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    /// Act on all pods
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "POD")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Stop all pods
    #[arg(short, long)]
    pub all: bool,
    /// Seconds to wait for the pod's containers to stop before killing them
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u32>,
    #[arg(value_name = "POD")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Kill all pods
    #[arg(short, long)]
    pub all: bool,
    /// Signal to send to the containers in the pod
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL")]
    pub signal: String,
    #[arg(value_name = "POD")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Remove all pods
    #[arg(short, long)]
    pub all: bool,
    /// Stop running containers and remove them with the pod
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a pod does not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for containers to stop before killing them
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u32>,
    #[arg(value_name = "POD")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Display the container UUIDs
    #[arg(long)]
    pub ctr_ids: bool,
    /// Display the container names
    #[arg(long)]
    pub ctr_names: bool,
    /// Display the container status
    #[arg(long)]
    pub ctr_status: bool,
    /// Filter output based on conditions given
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print pods to JSON or using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not truncate pod and container IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Print the IDs of the pods only
    #[arg(short, long)]
    pub quiet: bool,
    /// Sort output by created, id, name, or number
    #[arg(long, value_name = "KEY", default_value = "created")]
    pub sort: String,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format the output using a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "POD", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    #[arg(value_name = "POD")]
    pub name: String,
    /// ps descriptors (as `top`)
    #[arg(value_name = "DESCRIPTORS")]
    pub descriptors: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Provide stats for all pods
    #[arg(short, long)]
    pub all: bool,
    /// Pretty-print stats using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print the stats once instead of streaming them
    #[arg(long)]
    pub no_stream: bool,
    #[arg(value_name = "POD")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Filter logs by container name or ID
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Output the container name in the log
    #[arg(short, long)]
    pub names: bool,
    /// Show logs since TIMESTAMP
    #[arg(long, value_name = "TIMESTAMP")]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP
    #[arg(long, value_name = "TIMESTAMP")]
    pub until: Option<String>,
    /// Output the specified number of lines at the end of each log
    #[arg(long, value_name = "LINES")]
    pub tail: Option<i64>,
    /// Output the timestamps in the log
    #[arg(short, long)]
    pub timestamps: bool,
    #[arg(value_name = "POD")]
    pub pod: String,
}

#[derive(Args, Debug)]
pub struct ExistsArgs {
    #[arg(value_name = "POD")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(engine: &dyn Engine, command: PodCommand) -> anyhow::Result<i32> {
    match command {
        PodCommand::Create(a) => create(engine, *a.0),
        PodCommand::Start(a) => each(engine, &a.names, a.all, |n| engine.start_pod(n)),
        PodCommand::Stop(a) => each(engine, &a.names, a.all, |n| engine.stop_pod(n, a.time)),
        PodCommand::Restart(a) => each(engine, &a.names, a.all, |n| engine.restart_pod(n)),
        PodCommand::Kill(a) => {
            let signal = a.signal.trim_start_matches("SIG").to_string();
            each(engine, &a.names, a.all, |n| engine.kill_pod(n, &signal))
        }
        PodCommand::Pause(a) => each(engine, &a.names, a.all, |n| engine.pause_pod(n, false)),
        PodCommand::Unpause(a) => each(engine, &a.names, a.all, |n| engine.pause_pod(n, true)),
        PodCommand::Rm(a) => rm(engine, a.0),
        PodCommand::Ps(a) => ps(engine, a.0),
        PodCommand::Inspect(a) => inspect(engine, a.0),
        PodCommand::Top(a) => top(engine, a.0),
        PodCommand::Stats(a) => stats(engine, a.0),
        PodCommand::Logs(a) => logs(engine, a.0),
        PodCommand::Exists(a) => super::exists_code(engine.pod_exists(&a.name)),
        PodCommand::Prune(_) => {
            for id in engine.prune_pods().map_err(exit::engine)? {
                println!("{id}");
            }
            Ok(0)
        }
    }
}

/// The pod create request the flags ask for.
fn request(a: &CreateArgs) -> anyhow::Result<PodCreateRequest> {
    let bad = |e: super::create_args::ArgError| exit::with_code(exit::ENGINE, e.to_string());
    let name = match (&a.name, &a.positional_name) {
        (Some(_), Some(_)) => anyhow::bail!("cannot specify both a pod name and --name"),
        (n, p) => n.clone().or(p.clone()),
    };
    let net = network::network_flags(&network::Input {
        network: &a.network,
        ip: None,
        mac: None,
        aliases: &[],
        publish: &a.publish,
        publish_all: false,
    })
    .map_err(bad)?;
    let share: Vec<String> = match a.share.as_deref() {
        None => DEFAULT_SHARE.iter().map(|s| s.to_string()).collect(),
        Some("" | "none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| s.trim().trim_start_matches('+').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    let share = if !a.infra && a.share.is_none() {
        Vec::new()
    } else {
        share
    };
    let memory = a
        .memory
        .as_deref()
        .map(|m| resources::size("-m, --memory", m))
        .transpose()
        .map_err(bad)?
        .filter(|m| *m > 0);
    if a.cpus.is_some_and(|c| !c.is_finite() || c < 0.0) {
        anyhow::bail!("invalid --cpus: must be a positive number");
    }
    Ok(PodCreateRequest {
        name,
        infra: a.infra,
        infra_image: a.infra_image.clone(),
        infra_command: a
            .infra_command
            .as_deref()
            .map(super::create_args::lifecycle::entrypoint),
        infra_name: a.infra_name.clone(),
        share,
        network: net.mode,
        networks: net.networks,
        ports: net.ports,
        hostname: a.hostname.clone(),
        add_hosts: network::add_hosts(&a.add_host, a.no_hosts).map_err(bad)?,
        dns: network::dns_servers(&a.dns).map_err(bad)?,
        dns_search: a.dns_search.clone(),
        dns_options: a.dns_option.clone(),
        no_hosts: a.no_hosts,
        resources: Resources {
            memory,
            cpus: a.cpus.filter(|c| *c > 0.0),
            ..Default::default()
        },
        labels: env::labels(&a.label_file, &a.label, &SystemHost).map_err(bad)?,
        userns: a.userns.clone().unwrap_or_default(),
        uidmap: a.uidmap.clone(),
        gidmap: a.gidmap.clone(),
        exit_policy: a.exit_policy.clone(),
        replace: a.replace,
        runtime: None,
        create_command: std::env::args().collect(),
    })
}

fn create(engine: &dyn Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let req = request(&a)?;
    let reporter = crate::progress::Reporter::new(false, "Copying");
    let created = engine.create_pod(&req, &reporter).map_err(exit::engine)?;
    for w in &created.warnings {
        eprintln!("WARN[0000] {w}");
    }
    if let Some(path) = &a.pod_id_file {
        std::fs::write(path, &created.id)
            .map_err(|e| anyhow::anyhow!("writing pod ID file {}: {e}", path.display()))?;
    }
    println!("{}", created.id);
    Ok(0)
}

/// The pods `names` (or, with `all`, every pod) for commands that act on several.
fn targets(engine: &dyn Engine, names: &[String], all: bool) -> anyhow::Result<Vec<String>> {
    match (all, names.is_empty()) {
        (true, true) => Ok(engine
            .list_pods(&[])
            .map_err(exit::engine)?
            .into_iter()
            .map(|p| p.id)
            .collect()),
        (true, false) => anyhow::bail!("--all and pod names are mutually exclusive"),
        (false, true) => anyhow::bail!("you must provide at least one pod name or ID"),
        (false, false) => Ok(names.to_vec()),
    }
}

/// Runs `f` on each pod, printing its ID; an error is printed and the rest go on,
/// the exit code being the last error's (125, or 1 for a pod that does not exist).
fn each(
    engine: &dyn Engine,
    names: &[String],
    all: bool,
    f: impl Fn(&str) -> berth_types::Result<String>,
) -> anyhow::Result<i32> {
    let results: Vec<_> = targets(engine, names, all)?.iter().map(|n| f(n)).collect();
    Ok(print_results(results))
}

/// Prints each ID (none for an empty one) or error; the exit code of the last error:
/// 1 for a pod that does not exist, 125 for others (as Podman).
fn print_results(results: Vec<berth_types::Result<String>>) -> i32 {
    let mut code = 0;
    for r in results {
        match r {
            Ok(id) if id.is_empty() => {}
            Ok(id) => println!("{id}"),
            Err(e) => {
                eprintln!("Error: {}", e.message);
                code = if e.kind == ErrorKind::NotFound {
                    1
                } else {
                    exit::ENGINE
                };
            }
        }
    }
    code
}

fn rm(engine: &dyn Engine, a: RmArgs) -> anyhow::Result<i32> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("`berth pod rm` requires one or more pod names or IDs, or --all");
    }
    let req = RemovePodsRequest {
        names: a.names.clone(),
        force: a.force,
        all: a.all,
        ignore_missing: a.ignore,
        timeout: a.time,
    };
    Ok(print_results(
        engine.remove_pods(&req).map_err(exit::engine)?,
    ))
}

fn short(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id[..id.len().min(12)].to_string()
    }
}

fn ps(engine: &dyn Engine, a: PsArgs) -> anyhow::Result<i32> {
    let mut pods = engine.list_pods(&a.filter).map_err(exit::engine)?;
    match a.sort.as_str() {
        "created" => pods.sort_by_key(|p| std::cmp::Reverse(p.created)),
        "id" => pods.sort_by(|x, y| x.id.cmp(&y.id)),
        "name" => pods.sort_by(|x, y| x.name.cmp(&y.name)),
        "number" => pods.sort_by_key(|p| p.containers.len()),
        "status" => pods.sort_by(|x, y| x.status.cmp(&y.status)),
        other => anyhow::bail!(
            "invalid option for --sort {other:?}: use created, id, name, number or status"
        ),
    }
    if a.quiet {
        for p in &pods {
            println!("{}", short(&p.id, a.no_trunc));
        }
        return Ok(0);
    }
    let items: Vec<Value> = pods.iter().map(|p| ps_item(p, a.no_trunc)).collect();
    let mut table =
        String::from("table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}");
    if a.ctr_ids {
        table.push_str("\t{{.ContainerIds}}");
    }
    if a.ctr_names {
        table.push_str("\t{{.ContainerNames}}");
    }
    if a.ctr_status {
        table.push_str("\t{{.ContainerStatuses}}");
    }
    if !(a.ctr_ids || a.ctr_names || a.ctr_status) {
        table.push_str("\t{{.NumberOfContainers}}");
    }
    print_list(
        a.format.as_deref(),
        &table,
        &[
            ("ID", "POD ID"),
            ("InfraID", "INFRA ID"),
            ("NumberOfContainers", "# OF CONTAINERS"),
            ("ContainerIds", "IDS"),
            ("ContainerNames", "NAMES"),
            ("ContainerStatuses", "STATUS"),
        ],
        &items,
        &|| {
            Ok(Value::Array(
                pods.iter().map(|p| ps_item(p, true)).collect(),
            ))
        },
        a.noheading,
    )?;
    Ok(0)
}

/// A `pod ps` row with Podman's template fields.
fn ps_item(p: &PodSummary, no_trunc: bool) -> Value {
    let joined = |f: &dyn Fn(&berth_types::pod::PodContainer) -> String| {
        p.containers.iter().map(f).collect::<Vec<_>>().join(",")
    };
    json!({
        "ID": short(&p.id, no_trunc),
        "Id": p.id,
        "Name": p.name,
        "Status": p.status,
        "Created": crate::human::since(p.created),
        "CreatedAt": p.created,
        "InfraID": short(&p.infra_id, no_trunc),
        "InfraId": p.infra_id,
        "Labels": p.labels,
        "Networks": p.networks,
        "NumberOfContainers": p.containers.len(),
        "ContainerIds": joined(&|c| short(&c.id, no_trunc)),
        "ContainerNames": joined(&|c| c.names.clone()),
        "ContainerStatuses": joined(&|c| c.status.clone()),
        "Containers": p.containers.iter().map(|c| json!({"Id": c.id, "Names": c.names, "Status": c.status})).collect::<Vec<_>>(),
    })
}

fn inspect(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in &a.names {
        match engine.inspect_pod(n) {
            Ok(doc) => found.push(doc),
            Err(e) if e.kind == ErrorKind::NotFound => missing.push(e.message),
            Err(e) => return Err(exit::engine(e)),
        }
    }
    print_documents(a.format.as_deref(), &found)?;
    for m in &missing {
        eprintln!("Error: {m}");
    }
    Ok(if missing.is_empty() { 0 } else { exit::ENGINE })
}

/// The pod's running containers, infra first.
fn running_members(engine: &dyn Engine, name: &str) -> anyhow::Result<Vec<(String, String)>> {
    let doc = engine.inspect_pod(name).map_err(exit::engine)?;
    Ok(doc["Containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["State"] == "running")
                .map(|c| {
                    (
                        c["Id"].as_str().unwrap_or_default().to_string(),
                        c["Name"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

fn top(engine: &dyn Engine, a: TopArgs) -> anyhow::Result<i32> {
    let members = running_members(engine, &a.name)?;
    if members.is_empty() {
        return Err(exit::with_code(
            exit::ENGINE,
            format!("pod {} is not running", a.name),
        ));
    }
    let mut text = String::new();
    for (i, (id, _)) in members.iter().enumerate() {
        let table = engine
            .top_container(id, &a.descriptors)
            .map_err(exit::engine)?;
        for row in table.iter().skip(if i == 0 { 0 } else { 1 }) {
            text.push_str(&row.join("\t"));
            text.push('\n');
        }
    }
    print!("{}", crate::format::columns::align(&text));
    Ok(0)
}

fn stats(engine: &dyn Engine, a: StatsArgs) -> anyhow::Result<i32> {
    let pods: Vec<PodSummary> = match (a.all || a.names.is_empty(), a.names.is_empty()) {
        (true, false) => anyhow::bail!("--all and pod names are mutually exclusive"),
        (true, true) => engine.list_pods(&[]).map_err(exit::engine)?,
        _ => {
            let mut out = Vec::new();
            for n in &a.names {
                let doc = engine.inspect_pod(n).map_err(exit::engine)?;
                let id = doc["Id"].as_str().unwrap_or_default().to_string();
                out.extend(
                    engine
                        .list_pods(&[format!("id={id}")])
                        .map_err(exit::engine)?,
                );
            }
            out
        }
    };
    let default = "table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}";
    loop {
        let mut items = Vec::new();
        for p in &pods {
            let running: Vec<String> = p
                .containers
                .iter()
                .filter(|c| c.status == "running")
                .map(|c| c.id.clone())
                .collect();
            if running.is_empty() {
                continue;
            }
            for s in engine.container_stats(&running).map_err(exit::engine)? {
                items.push(json!({
                    "Pod": short(&p.id, false),
                    "CID": short(&s.container_id, false),
                    "Name": s.name,
                    "CPU": format!("{:.2}%", s.avg_cpu),
                    "MemUsage": format!("{} / {}", crate::human::size(s.mem_usage), crate::human::size(s.mem_limit)),
                    "Mem": format!("{:.2}%", s.mem_perc),
                    "NetIO": "0B / 0B",
                    "BlockIO": format!("{} / {}", crate::human::size(s.block_input), crate::human::size(s.block_output)),
                    "PIDS": s.pids,
                }));
            }
        }
        if !a.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        print_list(
            a.format.as_deref(),
            default,
            &[
                ("Pod", "POD"),
                ("CID", "CID"),
                ("Name", "NAME"),
                ("CPU", "CPU %"),
                ("MemUsage", "MEM USAGE/ LIMIT"),
                ("Mem", "MEM %"),
                ("NetIO", "NET IO"),
                ("BlockIO", "BLOCK IO"),
                ("PIDS", "PIDS"),
            ],
            &items,
            &|| Ok(Value::Array(items.clone())),
            false,
        )?;
        if a.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// The pod's containers' logs (the infra container's excluded), each line after its
/// container's short ID (or name, with `--names`), one container after another; with
/// `--follow`, all at once.
fn logs(engine: &dyn Engine, a: LogsArgs) -> anyhow::Result<i32> {
    let doc = engine.inspect_pod(&a.pod).map_err(exit::engine)?;
    let infra = doc["InfraContainerID"].as_str().unwrap_or_default();
    let mut members: Vec<(String, String)> = doc["Containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["Id"].as_str().unwrap_or_default().to_string(),
                        c["Name"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .filter(|(id, _)| id != infra)
                .collect()
        })
        .unwrap_or_default();
    if let Some(c) = &a.container {
        members.retain(|(id, name)| name == c || id.starts_with(c.as_str()));
        if members.is_empty() {
            return Err(exit::with_code(
                exit::ENGINE,
                format!("container {c} is not in pod {}", a.pod),
            ));
        }
    }
    let since = a
        .since
        .as_deref()
        .map(super::logs::parse_time)
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(super::logs::parse_time)
        .transpose()?;
    let tail = a.tail.filter(|t| *t >= 0).map(|t| t as usize);
    let one = |(id, name): &(String, String)| -> berth_types::Result<()> {
        let prefix = if a.names {
            name.clone()
        } else {
            short(id, false)
        };
        let req = LogsRequest {
            name: id.clone(),
            follow: a.follow,
            tail,
            since,
            until,
            timestamps: a.timestamps,
        };
        engine.container_logs(&req, &mut |line| {
            let mut text = format!("{prefix} ");
            if a.timestamps {
                text.push_str(&line.time);
                text.push(' ');
            }
            let mut bytes = text.into_bytes();
            bytes.extend_from_slice(&line.text);
            if !line.partial {
                bytes.push(b'\n');
            }
            match line.stream {
                LogStream::Stdout => std::io::stdout().lock().write_all(&bytes).is_ok(),
                LogStream::Stderr => std::io::stderr().lock().write_all(&bytes).is_ok(),
            }
        })
    };
    if a.follow {
        let errors: Vec<berth_types::EngineError> = std::thread::scope(|s| {
            let handles: Vec<_> = members.iter().map(|m| s.spawn(|| one(m))).collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok().and_then(|r| r.err()))
                .collect()
        });
        if let Some(e) = errors.into_iter().next() {
            return Err(exit::engine(e));
        }
    } else {
        for m in &members {
            one(m).map_err(exit::engine)?;
        }
    }
    Ok(0)
}
