//! Networks: bridge networks containers join (`network create/ls/inspect/rm/prune`,
//! `connect`/`disconnect`), in the shape Podman prints and netavark reads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A network as `network inspect` prints it (Podman 4's JSON, which is also the
/// network description netavark takes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_interface: String,
    #[serde(default)]
    pub created: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Subnet>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipam_options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// CIDR, e.g. `10.89.0.0/24`.
    pub subnet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ip: Option<String>,
}

/// `network create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCreateRequest {
    /// `None`: the next free `berthN`.
    pub name: Option<String>,
    /// Only `bridge`.
    pub driver: Option<String>,
    /// `--subnet`, each with the `--gateway` and `--ip-range` given in the same position.
    pub subnets: Vec<SubnetRequest>,
    pub ipv6: bool,
    pub internal: bool,
    pub disable_dns: bool,
    pub labels: BTreeMap<String, String>,
    /// `--opt` (`mtu`, `vlan`, `isolate`, `metric`, `com.docker.network.bridge.name`).
    pub options: BTreeMap<String, String>,
    /// `--interface-name`.
    pub interface_name: Option<String>,
    /// `--ignore`: succeed when the name exists.
    pub ignore_if_exists: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetRequest {
    pub subnet: String,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
}

/// `network connect` (and a network named at `run --network NAME:…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    pub network: String,
    pub aliases: Vec<String>,
    /// A static IPv4/IPv6 address (`--ip`).
    pub ips: Vec<String>,
    /// A static MAC address (`--mac-address`).
    pub mac: Option<String>,
}

/// A published port (`-p [IP:][HOSTPORT:]CTRPORT[/PROTO]`, ranges included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Empty: every address.
    pub host_ip: String,
    pub container_port: u16,
    /// 0: a free port is picked when the container starts.
    pub host_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// How many consecutive ports, at least 1.
    pub range: u16,
}
