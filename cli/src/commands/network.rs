//! `berth network create|ls|inspect|rm|prune|exists|connect|disconnect|reload`:
//! Podman's flags, output and exit codes. The grammar lives here, beside the handlers.

use crate::exit;
use crate::output::{print_documents, print_list};
use berth_types::network::{Network, NetworkAttachment, NetworkCreateRequest, SubnetRequest};
use berth_types::{Engine, ErrorKind};
use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a network
    Create(crate::lazy::Lazy<CreateArgs>),
    /// List networks
    #[command(alias = "list")]
    Ls(crate::lazy::Lazy<LsArgs>),
    /// Inspect a network
    Inspect(crate::lazy::Lazy<InspectArgs>),
    /// Remove networks
    #[command(alias = "remove")]
    Rm(crate::lazy::Lazy<RmArgs>),
    /// Remove unused networks
    Prune(crate::lazy::Lazy<PruneArgs>),
    /// Network exists
    Exists(crate::lazy::Lazy<NameArg>),
    /// Add container to a network
    Connect(crate::lazy::Lazy<ConnectArgs>),
    /// Remove container from a network
    Disconnect(crate::lazy::Lazy<DisconnectArgs>),
    /// Reload firewall rules for one or more containers
    Reload(crate::lazy::Lazy<ReloadArgs>),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Driver to manage the network
    #[arg(short, long, value_name = "DRIVER", default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format
    #[arg(long, value_name = "SUBNET")]
    pub subnet: Vec<String>,
    /// IPv4 or IPv6 gateway for the subnet
    #[arg(long, value_name = "IP")]
    pub gateway: Vec<String>,
    /// Allocate container IP from range
    #[arg(long = "ip-range", value_name = "RANGE")]
    pub ip_range: Vec<String>,
    /// Enable IPv6 networking
    #[arg(long)]
    pub ipv6: bool,
    /// Restrict external access from this network
    #[arg(long)]
    pub internal: bool,
    /// Disable DNS plugin
    #[arg(long = "disable-dns")]
    pub disable_dns: bool,
    /// Set metadata on a network
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Set driver specific options (mtu, vlan, isolate, metric)
    #[arg(short, long = "opt", value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// Name of the bridge interface
    #[arg(long = "interface-name", value_name = "NAME")]
    pub interface_name: Option<String>,
    /// Don't fail if the network already exists
    #[arg(long)]
    pub ignore: bool,
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. 'name=podman')
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print networks to JSON or using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Do not truncate the network ID
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display only the network names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Pretty-print network to JSON or using a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "NETWORK", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Remove any containers using the network as well
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for running containers to stop before killing the container
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u32>,
    #[arg(value_name = "NETWORK", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct NameArg {
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Network scoped alias for container
    #[arg(long, value_name = "NAME")]
    pub alias: Vec<String>,
    /// IPv4 address
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// IPv6 address
    #[arg(long, value_name = "IP")]
    pub ip6: Option<String>,
    /// The MAC address of the container interface
    #[arg(long = "mac-address", value_name = "MAC")]
    pub mac_address: Option<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Force the disconnection
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Args, Debug)]
pub struct ReloadArgs {
    /// Reload network configuration of all containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container created
    #[arg(short, long)]
    pub latest: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(engine: &dyn Engine, command: NetworkCommand) -> anyhow::Result<i32> {
    match command {
        NetworkCommand::Create(a) => create(engine, a.0),
        NetworkCommand::Ls(a) => ls(engine, a.0),
        NetworkCommand::Inspect(a) => inspect(engine, a.0),
        NetworkCommand::Rm(a) => rm(engine, a.0),
        NetworkCommand::Prune(a) => {
            for name in engine.prune_networks(&a.filter).map_err(exit::engine)? {
                println!("{name}");
            }
            Ok(0)
        }
        NetworkCommand::Exists(a) => super::exists_code(engine.network_exists(&a.name)),
        NetworkCommand::Connect(crate::lazy::Lazy(a)) => {
            let attachment = NetworkAttachment {
                network: a.network,
                aliases: a.alias,
                ips: a.ip.into_iter().chain(a.ip6).collect(),
                mac: a.mac_address,
            };
            engine
                .connect_network(&a.container, &attachment)
                .map_err(exit::engine)?;
            Ok(0)
        }
        NetworkCommand::Disconnect(a) => {
            engine
                .disconnect_network(&a.container, &a.network, a.force)
                .map_err(exit::engine)?;
            Ok(0)
        }
        NetworkCommand::Reload(a) => {
            if !a.all && a.containers.is_empty() && !a.latest {
                anyhow::bail!("no arguments given: name containers or use --all");
            }
            for id in engine
                .reload_networks(&a.containers, a.all)
                .map_err(exit::engine)?
            {
                println!("{id}");
            }
            Ok(0)
        }
    }
}

fn create(engine: &dyn Engine, a: CreateArgs) -> anyhow::Result<i32> {
    if a.gateway.len() > a.subnet.len() || a.ip_range.len() > a.subnet.len() {
        return Err(exit::with_code(
            exit::ENGINE,
            "every --gateway and --ip-range needs a --subnet".to_string(),
        ));
    }
    let subnets = a
        .subnet
        .iter()
        .enumerate()
        .map(|(i, s)| SubnetRequest {
            subnet: s.clone(),
            gateway: a.gateway.get(i).cloned(),
            ip_range: a.ip_range.get(i).cloned(),
        })
        .collect();
    let req = NetworkCreateRequest {
        name: a.name,
        driver: Some(a.driver),
        subnets,
        ipv6: a.ipv6,
        internal: a.internal,
        disable_dns: a.disable_dns,
        labels: super::key_values(&a.label),
        options: super::key_values(&a.opt),
        interface_name: a.interface_name,
        ignore_if_exists: a.ignore,
    };
    println!(
        "{}",
        engine.create_network(&req).map_err(exit::engine)?.name
    );
    Ok(0)
}

fn doc(n: &Network) -> Value {
    serde_json::to_value(n).unwrap_or_default()
}

/// What templates see: Podman's Go field names.
fn template_item(n: &Network, no_trunc: bool) -> Value {
    let id = if no_trunc {
        n.id.clone()
    } else {
        n.id.chars().take(12).collect()
    };
    serde_json::json!({
        "Name": n.name,
        "ID": id,
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": n.created,
        "Subnets": n.subnets,
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": n.labels,
        "Options": n.options,
        "IPAMOptions": n.ipam_options,
    })
}

const HEADERS: &[(&str, &str)] = &[("ID", "NETWORK ID")];

fn ls(engine: &dyn Engine, a: LsArgs) -> anyhow::Result<i32> {
    let nets = engine.list_networks(&a.filter).map_err(exit::engine)?;
    if a.quiet {
        for n in &nets {
            println!("{}", n.name);
        }
        return Ok(0);
    }
    let items: Vec<Value> = nets.iter().map(|n| template_item(n, a.no_trunc)).collect();
    print_list(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
        HEADERS,
        &items,
        &|| Ok(Value::Array(nets.iter().map(doc).collect())),
        a.noheading,
    )?;
    Ok(0)
}

fn inspect(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in &a.names {
        match engine.inspect_network(n) {
            Ok(net) => found.push(net),
            Err(e) if e.kind == ErrorKind::NotFound => missing.push(format!("no such network {n}")),
            Err(e) => return Err(exit::engine(e)),
        }
    }
    match a.format.as_deref() {
        None | Some("") | Some("json") => {
            let docs: Vec<Value> = found.iter().map(doc).collect();
            println!("{}", super::json_inspect(&docs)?);
        }
        fmt => {
            let items: Vec<Value> = found.iter().map(|n| template_item(n, true)).collect();
            print_documents(fmt, &items)?;
        }
    }
    match missing.split_first() {
        None => Ok(0),
        Some((first, rest)) => {
            for m in rest {
                eprintln!("Error: {m}");
            }
            Err(exit::with_code(exit::ENGINE, first.clone()))
        }
    }
}

fn rm(engine: &dyn Engine, a: RmArgs) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in &a.names {
        match engine.remove_network(n, a.force) {
            Ok(name) => println!("{name}"),
            Err(e) => {
                let c = match e.kind {
                    ErrorKind::NotFound => 1,
                    ErrorKind::Conflict => 2,
                    _ => exit::ENGINE,
                };
                eprintln!("Error: {}", e.message);
                code = code.max(c);
            }
        }
    }
    Ok(code)
}
