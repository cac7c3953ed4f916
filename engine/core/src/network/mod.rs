//! Networks: bridge networks driven through netavark (which also runs aardvark-dns
//! for name resolution), as Podman does. A network is a row holding the JSON
//! description netavark takes; `berth`, the default, exists without being created.
//! Berth does the address management itself (leases in the database, as Podman's own
//! IPAM), creates a persistent network namespace per running container, and asks
//! netavark to set up and tear down its interfaces, routes, firewall and DNS entries.

pub mod etc;
pub mod host;
pub mod ipam;
pub mod keeper;
pub mod netavark;
pub mod netns;
pub mod ops;
pub mod pasta;
pub mod ports;
pub mod rootless_netns;
pub mod setup;
pub mod slirp;
pub mod store;
pub mod subnet;

use berth_types::network::{Network, Subnet};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The network containers join when none is named.
pub const DEFAULT_NETWORK: &str = "berth";
/// Its bridge and subnet. Podman's default network is 10.88.0.0/16 on `podman0`, and
/// its new networks count up from 10.89.0.0/24: Berth's default lies below both, so
/// the two engines' bridges (which stay while their networks exist) never overlap.
pub const DEFAULT_INTERFACE: &str = "berth0";
pub const DEFAULT_SUBNET: &str = "10.87.0.0/16";
pub const DEFAULT_GATEWAY: &str = "10.87.0.1";

/// The default network as it is until changed.
pub fn default_network() -> Network {
    Network {
        name: DEFAULT_NETWORK.into(),
        id: hex::encode(Sha256::digest(DEFAULT_NETWORK.as_bytes())),
        driver: "bridge".into(),
        network_interface: DEFAULT_INTERFACE.into(),
        created: berth_time_now(),
        subnets: vec![Subnet {
            subnet: DEFAULT_SUBNET.into(),
            gateway: Some(DEFAULT_GATEWAY.into()),
            lease_range: None,
        }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
    }
}

fn berth_time_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
