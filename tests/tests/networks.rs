//! Bridge networks end to end, through netavark and aardvark-dns, as root: containers
//! on a user network reach each other by name and by alias; a published port answers
//! from the host and `berth port` shows it; `network connect`/`disconnect` on a running
//! container add and remove its interface and its names; `network
//! create/inspect/ls/exists/rm/prune` (fields, filters, exit codes, `rm -f`, the default
//! network, a network another store uses); bad input (overlapping or invalid subnets, an
//! unknown network, a host port already taken, a static address already leased) fails
//! with one `Error:` line and leaves nothing behind; a static `--ip`, `--ip-range` and
//! `mtu`; /etc/hosts and /etc/resolv.conf; and, once everything is removed, no
//! interface, namespace file, firewall rule or aardvark-dns configuration left on the
//! host.
//!
//! Networks belong to the host (`/etc/berth/networks`, leases and aardvark-dns under
//! `/run/berth/networks`), not to a store: the tests of this file share them with each
//! other (they run in parallel, each in its own store) and with anything else running
//! there. So every network here has a name with the process ID in it, its own subnet
//! (`10.160-199.N.0/24`) and bridge, and is removed with `network rm -f` on drop; `ls`
//! is checked for what it must hold, not for all it holds; `prune` is scoped with a
//! label; and no container runs on the default network.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use berth_e2e::containers::{
    assert_no_containers_left, inspect, pid_alive, ps, run, run_args, run_detached,
    store_with_busybox, wait_for,
};
use berth_e2e::fault::engine_error;
use berth_e2e::net::{free_port, http_get, udp_ask, udp_echoes};
use berth_e2e::{cmd, CmdResult, Store};
use serde_json::{json, Value};

// ---- helpers ------------------------------------------------------------------------

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network this test created; `network rm -f` on drop (its containers go with it).
struct Net<'a> {
    store: &'a Store,
    name: String,
    /// The first three octets of its /24: `10.A.B`.
    prefix: String,
    bridge: String,
}

impl Net<'_> {
    fn subnet(&self) -> String {
        format!("{}.0/24", self.prefix)
    }

    /// The address `PREFIX.host`.
    fn ip(&self, host: u8) -> String {
        format!("{}.{host}", self.prefix)
    }

    fn gateway(&self) -> String {
        self.ip(1)
    }
}

impl Drop for Net<'_> {
    fn drop(&mut self) {
        if std::env::var("BERTH_TEST_KEEP").as_deref() == Ok("1") {
            return;
        }
        // Not cmd::run: a panic inside a drop that runs during a panic aborts.
        let _ = self
            .store
            .command(["network", "rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A name unique to this process and call: `bt-PID-TAG-N`.
fn unique(tag: &str) -> String {
    format!(
        "bt-{}-{tag}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `network create --subnet 10.A.B.0/24 --interface-name BRIDGE EXTRA.. NAME` on a
/// subnet berth finds free (neither another network's nor routed on the host), tried
/// from a point that depends on the process ID so that parallel runs spread out.
/// `PFX` in `extra` stands for the subnet's `10.A.B`, `PID` for the process ID (for
/// labels no other process's networks have: networks belong to the host).
#[track_caller]
fn create_net<'a>(store: &'a Store, tag: &str, extra: &[&str]) -> Net<'a> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("bt-{}-{tag}", std::process::id());
    // Linux bridge names are at most 15 bytes.
    let bridge = format!("bn{}x{n}", std::process::id() % 10_000_000);
    const SLOTS: u32 = 40 * 256;
    let start = (std::process::id().wrapping_mul(613) + n * 97) % SLOTS;
    for i in 0..64 {
        let slot = (start + i * 31) % SLOTS;
        let prefix = format!("10.{}.{}", 160 + slot / 256, slot % 256);
        let mut args: Vec<String> = vec![
            "network".into(),
            "create".into(),
            "--subnet".into(),
            format!("{prefix}.0/24"),
            "--interface-name".into(),
            bridge.clone(),
        ];
        args.extend(extra.iter().map(|a| {
            a.replace("PFX", &prefix)
                .replace("PID", &std::process::id().to_string())
        }));
        args.push(name.clone());
        let r = store.berth(&args);
        if r.success() {
            assert_eq!(r.stdout, format!("{name}\n"), "create prints the name: {r}");
            return Net {
                store,
                name,
                prefix,
                bridge,
            };
        }
        assert!(
            r.stderr.contains("already used on the host"),
            "network create failed for another reason than a used subnet: {r}"
        );
    }
    panic!("no free 10.160-199.N.0/24 subnet found for {name}");
}

/// `berth exec NAME CMD..`.
fn exec(store: &Store, name: &str, command: &[&str]) -> CmdResult {
    let mut args = vec!["exec", name];
    args.extend_from_slice(command);
    store.berth(args)
}

/// The shell command of a web server container: `$BODY` as /www/index.html on port 80.
const HTTPD: &str =
    "mkdir -p /www && echo \"$BODY\" > /www/index.html && exec httpd -f -p 80 -h /www";

/// Runs `httpd` in a detached container with `ARGS` serving `body`; returns once it
/// answers inside the container.
#[track_caller]
fn serve(store: &Store, args: &[&str], name: &str, body: &str) -> String {
    let env = format!("BODY={body}");
    let mut all = vec!["--name", name, "-e", &env];
    all.extend_from_slice(args);
    let id = run_detached(store, &all, &["sh", "-c", HTTPD]);
    wait_for(
        &format!("httpd to answer in {name}"),
        Duration::from_secs(20),
        || {
            exec(store, name, &["wget", "-q", "-O", "-", "http://127.0.0.1/"])
                .stdout
                .contains(body)
                .then_some(())
        },
    );
    id
}

/// `inspect NAME`'s `.NetworkSettings.Networks`.
#[track_caller]
fn networks_of(store: &Store, name: &str) -> serde_json::Map<String, Value> {
    inspect(store, name)["NetworkSettings"]["Networks"]
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("{name} has NetworkSettings.Networks"))
}

/// The IPv4 addresses (`A.B.C.D/N`) `ip -o -4 addr` lists inside the container, by
/// interface name, loopback left out.
#[track_caller]
fn addrs_inside(store: &Store, name: &str) -> Vec<(String, String)> {
    exec(store, name, &["ip", "-o", "-4", "addr"])
        .ok()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"inet") && f[1] != "lo")
                .then(|| (f[1].to_string(), f[3].to_string()))
        })
        .collect()
}

/// `network inspect NAME`'s single document.
#[track_caller]
fn inspect_net(store: &Store, name: &str) -> Value {
    let out = store.berth(["network", "inspect", name]);
    let list: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|e| panic!("network inspect prints a JSON array ({e}): {out}"));
    assert_eq!(list.len(), 1, "{out}");
    list.into_iter().next().expect("one element")
}

/// `network ls -q ARGS..`, as a set.
#[track_caller]
fn net_names(store: &Store, args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["network", "ls", "-q"];
    all.extend_from_slice(args);
    store.berth(all).ok().lines().map(str::to_string).collect()
}

/// Runs a host command to success; its stdout.
#[track_caller]
fn host(program: &str, args: &[&str]) -> String {
    let mut c = Command::new(program);
    c.args(args);
    cmd::run(c, None, Duration::from_secs(30)).ok().to_string()
}

/// The host's interfaces (`ip -o link`): (ifindex, name, master).
fn host_links() -> Vec<(u32, String, Option<String>)> {
    host("ip", &["-o", "link"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let index = f.first()?.trim_end_matches(':').parse().ok()?;
            let name = f
                .get(1)?
                .trim_end_matches(':')
                .split('@')
                .next()?
                .to_string();
            let master = f
                .iter()
                .position(|w| *w == "master")
                .and_then(|i| f.get(i + 1))
                .map(|m| m.to_string());
            Some((index, name, master))
        })
        .collect()
}

/// The host ifindex of the peer of the container's `eth0` (`eth0@ifN` inside).
#[track_caller]
fn host_peer_of_eth0(store: &Store, name: &str) -> u32 {
    let out = exec(store, name, &["ip", "-o", "link", "show", "eth0"])
        .ok()
        .to_string();
    out.split_whitespace()
        .nth(1)
        .and_then(|w| w.trim_end_matches(':').split_once("@if"))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("eth0@ifN in {out:?}"))
}

/// Every rule of the filter and nat tables (`iptables [-t nat] -S`) containing `text`.
fn iptables_rules_with(text: &str) -> Vec<String> {
    let mut rules = Vec::new();
    for table in ["filter", "nat"] {
        rules.extend(
            host("iptables", &["-w", "-t", table, "-S"])
                .lines()
                .filter(|l| l.contains(text))
                .map(|l| format!("{table}: {l}")),
        );
    }
    rules
}

/// Names under RUNROOT/netns.
fn netns_files(store: &Store) -> BTreeSet<String> {
    berth_e2e::fault::entries(&store.runroot().join("netns"))
}

/// Live aardvark-dns processes with the configuration directory each was given
/// (`--config DIR`).
fn aardvark_processes() -> Vec<(i64, PathBuf)> {
    std::fs::read_dir("/proc")
        .expect("reading /proc")
        .flatten()
        .filter_map(|e| {
            let pid: i64 = e.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if !args.first()?.ends_with("aardvark-dns") || !pid_alive(pid) {
                return None;
            }
            let i = args.iter().position(|a| a == "--config")?;
            Some((pid, PathBuf::from(args.get(i + 1)?)))
        })
        .collect()
}

/// Fields of the lines of a hosts file, for order- and spacing-free comparisons.
fn host_lines(hosts: &str) -> Vec<Vec<String>> {
    hosts
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

// ---- name resolution ----------------------------------------------------------------

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let store = store_with_busybox();
    let net = create_net(&store, "dns", &[]);
    serve(
        &store,
        &["--network", &net.name, "--network-alias", "webalias"],
        "web",
        "hello-by-name",
    );
    run_detached(
        &store,
        &["--name", "client", "--network", &net.name],
        &["sleep", "600"],
    );
    for host in ["web", "webalias"] {
        let url = format!("http://{host}/");
        let got = exec(&store, "client", &["wget", "-q", "-O", "-", &url]);
        assert_eq!(got.ok(), "hello-by-name\n", "{url} from the client");
    }
    // `--network NAME:alias=…` names a container too; a one-shot `run` resolves it.
    serve(
        &store,
        &["--network", &format!("{}:alias=second", net.name)],
        "web2",
        "hello-second",
    );
    let got = run(
        &store,
        &["--rm", "--network", &net.name],
        &["wget", "-q", "-O", "-", "http://second/"],
    );
    assert_eq!(got.ok(), "hello-second\n");
    let resolv = exec(&store, "client", &["cat", "/etc/resolv.conf"])
        .ok()
        .to_string();
    assert!(
        resolv.lines().any(|l| l == "search dns.podman"),
        "search dns.podman: {resolv}"
    );
    assert!(
        resolv
            .lines()
            .any(|l| l == format!("nameserver {}", net.gateway())),
        "the gateway (aardvark-dns) as name server: {resolv}"
    );
    // A name nobody has does not resolve.
    let missing = exec(
        &store,
        "client",
        &["wget", "-q", "-O", "-", "http://nosuchname/"],
    );
    assert!(!missing.success(), "{missing}");
}

// ---- published ports ----------------------------------------------------------------

#[test]
fn a_published_port_answers_on_the_host() {
    let store = store_with_busybox();
    let net = create_net(&store, "pub", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    serve(
        &store,
        &["--network", &net.name, "-p", &publish],
        "pub",
        "published-body",
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let response = wait_for(
        &format!("an answer on {addr}"),
        Duration::from_secs(10),
        || http_get(addr, "/").filter(|r| r.contains("published-body")),
    );
    assert!(response.starts_with("HTTP/1."), "{response}");
    assert_eq!(
        store.berth(["port", "pub"]).ok(),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        store.berth(["port", "pub", "80/tcp"]).ok(),
        format!("127.0.0.1:{port}\n")
    );
    assert_eq!(
        inspect(&store, "pub")["NetworkSettings"]["Ports"],
        json!({ "80/tcp": [{ "HostIp": "127.0.0.1", "HostPort": port.to_string() }] })
    );
    assert_eq!(
        store.berth(["ps", "--format", "{{.Ports}}"]).ok(),
        format!("127.0.0.1:{port}->80/tcp\n"),
        "ps shows the published port as Podman does"
    );
    // Stopped, the port no longer answers and its forwarding rule is gone.
    store.berth(["stop", "-t", "0", "pub"]).ok();
    assert!(
        http_get(addr, "/").is_none_or(|r| !r.contains("published-body")),
        "the port still answers after stop"
    );
    let rules = iptables_rules_with(&format!("--dport {port} "));
    assert!(rules.is_empty(), "rules left for port {port}: {rules:?}");
}

#[test]
fn a_published_udp_port_answers_on_the_host() {
    let store = store_with_busybox();
    let image = berth_e2e::TestEnv::get().image_ref("udp-echo");
    berth_e2e::fault::pull_plain(&store, &image, &["-q"]).ok();
    let net = create_net(&store, "udp", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:5353/udp");
    store
        .berth([
            "run",
            "-d",
            "--name",
            "echo",
            "--network",
            &net.name,
            "-p",
            &publish,
            &image,
        ])
        .ok();
    udp_echoes(port, Duration::from_secs(10));
    assert_eq!(
        store.berth(["port", "echo"]).ok(),
        format!("5353/udp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        store.berth(["ps", "--format", "{{.Ports}}"]).ok(),
        format!("127.0.0.1:{port}->5353/udp\n")
    );
    store.berth(["stop", "-t", "0", "echo"]).ok();
    assert_eq!(
        udp_ask(port, "ping"),
        None,
        "the port still answers after stop"
    );
    let rules = iptables_rules_with(&format!("--dport {port} "));
    assert!(rules.is_empty(), "rules left for port {port}: {rules:?}");
}

// ---- connect / disconnect -----------------------------------------------------------

#[test]
fn connect_and_disconnect_a_running_container() {
    let store = store_with_busybox();
    let front = create_net(&store, "front", &[]);
    let back = create_net(&store, "back", &[]);
    serve(&store, &["--network", &back.name], "db", "from-the-back");
    run_detached(
        &store,
        &["--name", "app", "--network", &front.name],
        &["sleep", "600"],
    );
    let fetch = || exec(&store, "app", &["wget", "-q", "-O", "-", "http://db/"]);
    assert!(!fetch().success(), "db resolves before connect");

    let connected = store.berth(["network", "connect", &back.name, "app"]);
    assert_eq!(connected.ok(), "");
    assert_eq!(fetch().ok(), "from-the-back\n", "db by name after connect");
    let addrs = addrs_inside(&store, "app");
    let in_back: Vec<_> = addrs
        .iter()
        .filter(|(_, a)| a.starts_with(&format!("{}.", back.prefix)))
        .collect();
    assert_eq!(
        in_back.len(),
        1,
        "one address in {}: {addrs:?}",
        back.subnet()
    );
    let back_iface = in_back[0].0.clone();
    assert_ne!(back_iface, "eth0", "{addrs:?}");
    let nets = networks_of(&store, "app");
    assert_eq!(
        nets.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([front.name.clone(), back.name.clone()])
    );
    assert_eq!(
        format!(
            "{}/24",
            nets[&back.name]["IPAddress"].as_str().unwrap_or_default()
        ),
        in_back[0].1,
        "inspect shows the address the interface has"
    );
    let again = store.berth(["network", "connect", &back.name, "app"]);
    assert!(
        engine_error(&again).contains("already connected"),
        "{again}"
    );

    let disconnected = store.berth(["network", "disconnect", &back.name, "app"]);
    assert_eq!(disconnected.ok(), "");
    let addrs = addrs_inside(&store, "app");
    assert!(
        !addrs
            .iter()
            .any(|(i, a)| *i == back_iface || a.starts_with(&format!("{}.", back.prefix))),
        "the interface in {} is gone: {addrs:?}",
        back.name
    );
    let links = exec(&store, "app", &["ip", "-o", "link"]).ok().to_string();
    assert!(
        !links.contains(&format!(" {back_iface}:")) && !links.contains(&format!(" {back_iface}@")),
        "{back_iface} is gone: {links}"
    );
    assert_eq!(
        networks_of(&store, "app")
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        std::slice::from_ref(&front.name)
    );
    assert!(!fetch().success(), "db still resolves after disconnect");
    let resolv = exec(&store, "app", &["cat", "/etc/resolv.conf"])
        .ok()
        .to_string();
    assert!(
        !resolv.contains(&back.gateway()),
        "the left network's name server is gone: {resolv}"
    );
    let not_in = store.berth(["network", "disconnect", &back.name, "app"]);
    assert!(engine_error(&not_in).contains("not connected"), "{not_in}");
}

// ---- create, inspect, ls, exists, rm, prune -----------------------------------------

#[test]
fn create_inspect_ls_and_exists() {
    let store = Store::new();
    let net = create_net(
        &store,
        "fields",
        &[
            "--gateway",
            "PFX.254",
            "--ip-range",
            "PFX.128/25",
            "--internal",
            "--disable-dns",
            "--label",
            "team=red-PID",
            "--label",
            "tier-PID",
            "--opt",
            "mtu=1400",
        ],
    );
    let doc = inspect_net(&store, &net.name);
    assert_eq!(doc["name"], net.name.as_str());
    let id = doc["id"].as_str().expect("id").to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(doc["driver"], "bridge");
    assert_eq!(doc["network_interface"], net.bridge.as_str());
    assert_eq!(
        doc["subnets"],
        json!([{
            "subnet": net.subnet(),
            "gateway": net.ip(254),
            "lease_range": { "start_ip": net.ip(129), "end_ip": net.ip(255) },
        }])
    );
    assert_eq!(doc["ipv6_enabled"], false);
    assert_eq!(doc["internal"], true);
    assert_eq!(doc["dns_enabled"], false);
    let pid = std::process::id();
    assert_eq!(
        doc["labels"],
        json!({ "team": format!("red-{pid}"), format!("tier-{pid}"): "" })
    );
    assert_eq!(doc["options"], json!({ "mtu": "1400" }));
    assert_eq!(doc["ipam_options"], json!({ "driver": "host-local" }));
    let created = doc["created"].as_str().expect("created");
    assert!(
        created.len() > 20 && created.as_bytes()[10] == b'T',
        "{created}"
    );

    // Defaults: DNS on, not internal, gateway .1; no lease range, labels or options
    // (left out, as Podman's JSON leaves empty ones out).
    let plain = create_net(&store, "plain", &[]);
    let doc = inspect_net(&store, &plain.name);
    assert_eq!(doc["dns_enabled"], true);
    assert_eq!(doc["internal"], false);
    assert_eq!(
        doc["subnets"],
        json!([{ "subnet": plain.subnet(), "gateway": plain.gateway() }])
    );
    for key in ["labels", "options"] {
        assert!(doc.get(key).is_none(), "no {key}: {doc}");
    }

    // No subnet given: a free 10.89.N.0/24 and a berthN bridge (nothing runs on it).
    let auto = unique("auto");
    let _auto_guard = Net {
        store: &store,
        name: auto.clone(),
        prefix: String::new(),
        bridge: String::new(),
    };
    assert_eq!(
        store.berth(["network", "create", &auto]).ok(),
        format!("{auto}\n")
    );
    let doc = inspect_net(&store, &auto);
    let subnet = doc["subnets"][0]["subnet"].as_str().expect("a subnet");
    let third = subnet
        .strip_prefix("10.89.")
        .and_then(|s| s.strip_suffix(".0/24"))
        .and_then(|s| s.parse::<u8>().ok());
    assert!(third.is_some(), "10.89.N.0/24: {subnet}");
    assert_eq!(
        doc["subnets"][0]["gateway"],
        subnet.replace(".0/24", ".1").as_str()
    );
    let bridge = doc["network_interface"].as_str().expect("an interface");
    assert!(
        bridge
            .strip_prefix("berth")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        "berthN: {bridge}"
    );

    // ls: the table, -q, filters.
    let table = store.berth(["network", "ls"]).ok().to_string();
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(header, ["NETWORK ID", "NAME", "DRIVER"], "{table}");
    let id12 = &id[..12];
    assert!(
        table.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>() == [id12, net.name.as_str(), "bridge"]
        }),
        "a row for {}: {table}",
        net.name
    );
    // Networks belong to the host: others' may be listed too.
    let all = net_names(&store, &[]);
    for n in ["berth", &net.name, &plain.name, &auto] {
        assert!(all.contains(n), "ls -q lists {n}: {all:?}");
    }
    assert_eq!(
        net_names(&store, &["--filter", &format!("label=team=red-{pid}")]),
        BTreeSet::from([net.name.clone()])
    );
    assert_eq!(
        net_names(&store, &["--filter", &format!("label=tier-{pid}")]),
        BTreeSet::from([net.name.clone()])
    );
    assert!(net_names(&store, &["--filter", &format!("label=team=blue-{pid}")]).is_empty());
    assert!(net_names(
        &store,
        &[
            "--filter",
            &format!("label=team=red-{pid}"),
            "--filter",
            "driver=macvlan"
        ]
    )
    .is_empty());
    assert_eq!(
        net_names(&store, &["--filter", &format!("name={}", plain.name)]),
        BTreeSet::from([plain.name.clone()])
    );
    assert_eq!(
        net_names(&store, &["--filter", &format!("id={id12}")]),
        BTreeSet::from([net.name.clone()])
    );
    let names = store
        .berth([
            "network",
            "ls",
            "--noheading",
            "--format",
            "{{.Name}} {{.Driver}}",
        ])
        .ok()
        .to_string();
    assert!(names.lines().any(|l| l == "berth bridge"), "{names}");

    // exists, and --ignore.
    assert_eq!(store.berth(["network", "exists", &net.name]).ok(), "");
    assert_eq!(store.berth(["network", "exists", "berth"]).ok(), "");
    store
        .berth(["network", "exists", "bt-no-such-network"])
        .fails_with(1);
    let dup = store.berth(["network", "create", &plain.name]);
    assert!(engine_error(&dup).contains("already"), "{dup}");
    assert_eq!(
        store
            .berth(["network", "create", "--ignore", &plain.name])
            .ok(),
        format!("{}\n", plain.name)
    );
    assert_eq!(
        inspect_net(&store, &plain.name)["subnets"][0]["subnet"],
        plain.subnet().as_str(),
        "--ignore leaves the network as it was"
    );
}

#[test]
fn ip_range_and_mtu_are_what_containers_get() {
    let store = store_with_busybox();
    let net = create_net(
        &store,
        "range",
        &["--ip-range", "PFX.128/25", "--opt", "mtu=1400"],
    );
    let out = run(
        &store,
        &["--rm", "--network", &net.name],
        &["ip", "-o", "-4", "addr", "show", "eth0"],
    );
    assert!(
        out.ok().contains(&format!(" inet {}/24 ", net.ip(129))),
        "the first address of the range: {out}"
    );
    let link = run(
        &store,
        &["--rm", "--network", &net.name],
        &["ip", "-o", "link", "show", "eth0"],
    );
    assert!(link.ok().contains(" mtu 1400 "), "{link}");
}

#[test]
fn rm_exit_codes_force_and_the_default_network() {
    let store = store_with_busybox();
    let net = create_net(&store, "rm", &[]);
    let id = run_detached(
        &store,
        &["--name", "user", "--network", &net.name],
        &["sleep", "600"],
    );

    let missing = store.berth(["network", "rm", "bt-no-such-network"]);
    let msg = missing.fails_with(1);
    assert!(
        msg.starts_with("Error: ")
            && msg.lines().count() == 1
            && msg.contains("bt-no-such-network"),
        "{missing}"
    );

    let in_use = store.berth(["network", "rm", &net.name]);
    let msg = in_use.fails_with(2);
    assert!(
        msg.starts_with("Error: ") && msg.lines().count() == 1 && msg.contains(&net.name),
        "{in_use}"
    );
    assert_eq!(in_use.stdout, "");
    assert_eq!(
        ps(&store, &["-q", "--no-trunc"]),
        std::slice::from_ref(&id),
        "the user keeps running"
    );
    store.berth(["network", "exists", &net.name]).ok();

    let forced = store.berth(["network", "rm", "-f", &net.name]);
    assert_eq!(forced.ok(), format!("{}\n", net.name));
    store.berth(["network", "exists", &net.name]).fails_with(1);
    assert_no_containers_left(&store, "network rm -f");

    let other = create_net(&store, "rm2", &[]);
    assert_eq!(
        store.berth(["network", "rm", &other.name]).ok(),
        format!("{}\n", other.name)
    );
    assert!(!net_names(&store, &[]).contains(&other.name));
    store
        .berth(["network", "exists", &other.name])
        .fails_with(1);

    for args in [
        &["network", "rm", "berth"][..],
        &["network", "rm", "-f", "berth"],
    ] {
        let default = store.berth(args);
        let msg = default.fails();
        assert!(
            msg.starts_with("Error: ") && msg.lines().count() == 1 && msg.contains("berth"),
            "{default}"
        );
        assert!(msg.contains("default network"), "says why: {default}");
        store.berth(["network", "exists", "berth"]).ok();
    }
}

/// Prune is scoped with a label only this test's networks carry: unscoped, it would
/// prune every unused network on the host, those of the tests beside it included.
#[test]
fn prune_removes_unused_networks_only() {
    let store = store_with_busybox();
    let label = ["--label", "berth-test-prune=PID"];
    let used = create_net(&store, "used", &label);
    let unused = create_net(&store, "unused", &label);
    let unused2 = create_net(&store, "unused2", &label);
    let stopped = create_net(&store, "stopped", &label);
    let other = create_net(&store, "unlabelled", &[]);
    run_detached(
        &store,
        &["--name", "up", "--network", &used.name],
        &["sleep", "600"],
    );
    store
        .berth(run_args(
            "create",
            &["--name", "idle", "--network", &stopped.name],
            &["true"],
        ))
        .ok();
    let filter = format!("label=berth-test-prune={}", std::process::id());
    let pruned = store
        .berth(["network", "prune", "-f", "--filter", &filter])
        .ok()
        .lines()
        .map(str::to_string)
        .collect::<BTreeSet<_>>();
    assert_eq!(
        pruned,
        BTreeSet::from([unused.name.clone(), unused2.name.clone()])
    );
    let left = net_names(&store, &[]);
    for n in [&used.name, &stopped.name, &other.name, "berth"] {
        assert!(
            left.contains(n),
            "networks of containers, running or not, others and the default stay: {n}: {left:?}"
        );
    }
    for n in [&unused.name, &unused2.name] {
        assert!(!left.contains(n), "{n} pruned: {left:?}");
        store.berth(["network", "exists", n]).fails_with(1);
    }
    assert_eq!(
        store
            .berth(["network", "prune", "-f", "--filter", &filter])
            .ok(),
        "",
        "nothing more to prune"
    );
    // The stopped container's network is still there to start it on.
    store.berth(["start", "idle"]).ok();
}

/// Networks belong to the host; whether one is in use must not depend on the store that
/// asks.
#[test]
fn a_network_another_store_uses_is_neither_pruned_nor_removed() {
    let owner = store_with_busybox();
    let other = Store::new();
    let net = create_net(&owner, "shared", &["--label", "berth-test-shared=PID"]);
    run_detached(
        &owner,
        &["--name", "user", "--network", &net.name],
        &["sleep", "600"],
    );
    // Networks belong to the host: another store's running container keeps this one.
    let filter = format!("label=berth-test-shared={}", std::process::id());
    let pruned = other.berth(["network", "prune", "-f", "--filter", &filter]);
    assert_eq!(pruned.ok(), "", "pruned a network in use: {pruned}");
    let rm = other.berth(["network", "rm", &net.name]);
    rm.fails_with(2);
    owner.berth(["network", "exists", &net.name]).ok();
}

// ---- bad input ----------------------------------------------------------------------

#[test]
fn create_refuses_overlapping_and_invalid_subnets() {
    let store = Store::new();
    let net = create_net(&store, "taken", &[]);
    let wider = format!("{}.0.0/16", net.prefix.rsplit_once('.').expect("10.A.B").0);
    for (subnet, says) in [
        (net.subnet(), "already used"),
        (format!("{}.128/25", net.prefix), "already used"),
        (wider.clone(), "already used"),
        ("10.1.2.3/24".to_string(), "10.1.2.3/24"),
        ("nonsense".to_string(), "nonsense"),
        ("10.1.2.0/33".to_string(), "10.1.2.0/33"),
    ] {
        let name = unique("bad");
        let r = store.berth(["network", "create", "--subnet", &subnet, &name]);
        let msg = engine_error(&r);
        assert!(msg.contains(says), "{subnet}: {r}");
        assert!(
            msg.contains(&subnet) || msg.contains(&net.name),
            "{subnet}: {r}"
        );
        assert_eq!(r.stdout, "", "{r}");
        store.berth(["network", "exists", &name]).fails_with(1);
    }
    // A gateway outside the subnet, a range outside it.
    for extra in [["--gateway", "10.1.3.1"], ["--ip-range", "10.1.3.0/25"]] {
        let name = unique("bad");
        let mut args = vec!["network", "create", "--subnet", "10.1.2.0/24"];
        args.extend_from_slice(&extra);
        args.push(&name);
        let r = store.berth(&args);
        assert!(engine_error(&r).contains("10.1.3."), "{r}");
        store.berth(["network", "exists", &name]).fails_with(1);
    }
}

#[test]
fn run_on_an_unknown_network_creates_nothing() {
    let store = store_with_busybox();
    for args in [
        &["--network", "bt-no-such-network"][..],
        &["-d", "--network", "bt-no-such-network"],
        &["--rm", "--network", "bt-no-such-network"],
    ] {
        let r = run(&store, args, &["true"]);
        let msg = engine_error(&r);
        assert!(msg.contains("bt-no-such-network"), "{r}");
        assert_eq!(r.stdout, "", "{r}");
        assert_no_containers_left(&store, &format!("run {args:?}"));
    }
    let r = store.berth(run_args(
        "create",
        &["--network", "bt-no-such-network"],
        &["true"],
    ));
    assert!(engine_error(&r).contains("bt-no-such-network"), "{r}");
    assert_no_containers_left(&store, "create on an unknown network");
}

#[test]
fn a_host_port_already_taken_fails_the_start_and_leaves_nothing_running() {
    let store = store_with_busybox();
    let net = create_net(&store, "busy", &[]);
    let holder = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let port = holder.local_addr().expect("address").port();
    let publish = format!("127.0.0.1:{port}:80");
    let netns_before = netns_files(&store);

    let r = run(
        &store,
        &["--rm", "--network", &net.name, "-p", &publish],
        &["true"],
    );
    let msg = engine_error(&r);
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")),
        "names the port: {r}"
    );
    assert!(msg.contains("address already in use"), "{r}");
    assert_no_containers_left(&store, "a --rm run whose port is taken");

    let r = run(
        &store,
        &[
            "-d",
            "--name",
            "busy",
            "--network",
            &net.name,
            "-p",
            &publish,
        ],
        &["sleep", "600"],
    );
    assert!(
        engine_error(&r).contains(&format!("127.0.0.1:{port}")),
        "{r}"
    );
    assert!(ps(&store, &["-q"]).is_empty(), "nothing running");
    let state = inspect(&store, "busy")["State"].clone();
    assert_eq!(state["Running"], false, "{state}");
    assert_ne!(state["Status"], "running", "{state}");
    assert_eq!(netns_files(&store), netns_before, "no namespace left");
    let rules = iptables_rules_with(&format!("--dport {port} "));
    assert!(
        rules.is_empty(),
        "no forwarding rules for {port}: {rules:?}"
    );
    store.berth(["rm", "busy"]).ok();
    assert_no_containers_left(&store, "rm of the container whose port was taken");

    // No address stayed leased.
    let leases: Value = serde_json::from_str(
        &std::fs::read_to_string("/run/berth/networks/leases.json").unwrap_or_else(|_| "{}".into()),
    )
    .expect("leases JSON");
    assert!(
        leases.get(&net.name).is_none(),
        "leases left in {}: {leases}",
        net.name
    );
    let out = run(
        &store,
        &["--rm", "--network", &net.name],
        &["ip", "-o", "-4", "addr", "show", "eth0"],
    );
    assert!(
        out.ok().contains(&format!(" inet {}.", net.prefix)),
        "{out}"
    );
    drop(holder);
}

// ---- static addresses ---------------------------------------------------------------

#[test]
fn a_static_ip_is_honoured_and_a_taken_one_refused() {
    let store = store_with_busybox();
    let net = create_net(&store, "static", &[]);
    let ip = net.ip(77);
    run_detached(
        &store,
        &["--name", "fixed", "--network", &net.name, "--ip", &ip],
        &["sleep", "600"],
    );
    let nets = networks_of(&store, "fixed");
    assert_eq!(nets[&net.name]["IPAddress"], ip.as_str(), "{nets:?}");
    assert_eq!(
        nets[&net.name]["Gateway"],
        net.gateway().as_str(),
        "{nets:?}"
    );
    assert_eq!(
        addrs_inside(&store, "fixed"),
        [("eth0".to_string(), format!("{ip}/24"))]
    );

    let r = run(
        &store,
        &["-d", "--name", "clash", "--network", &net.name, "--ip", &ip],
        &["sleep", "600"],
    );
    let msg = engine_error(&r);
    assert!(
        msg.contains(&ip) && msg.contains("already allocated"),
        "{r}"
    );
    assert_eq!(
        ps(&store, &["--format", "{{.Names}}"]),
        ["fixed"],
        "only the first container runs"
    );
    let r = run(
        &store,
        &["--rm", "--network", &net.name, "--ip", &ip],
        &["true"],
    );
    assert!(engine_error(&r).contains(&ip), "{r}");
    let mut names = ps(&store, &["-a", "--format", "{{.Names}}"]);
    names.sort();
    assert_eq!(names, ["clash", "fixed"], "the --rm run left nothing");

    // Outside the subnet, the gateway: refused too.
    for bad in ["10.1.2.3".to_string(), net.gateway()] {
        let r = run(
            &store,
            &["--rm", "--network", &net.name, "--ip", &bad],
            &["true"],
        );
        assert!(engine_error(&r).contains(&bad), "{r}");
    }

    // Once the holder is gone, the address is free again.
    store.berth(["rm", "-f", "-t", "0", "fixed"]).ok();
    store.berth(["start", "clash"]).ok();
    assert_eq!(
        networks_of(&store, "clash")[&net.name]["IPAddress"],
        ip.as_str()
    );
}

// ---- /etc/hosts and /etc/resolv.conf -------------------------------------------------

#[test]
fn etc_hosts_and_resolv_conf() {
    let store = store_with_busybox();
    let net = create_net(&store, "etc", &[]);
    let id = run_detached(
        &store,
        &[
            "--name",
            "named",
            "--network",
            &net.name,
            "--add-host",
            "foo:10.1.2.3",
        ],
        &["sleep", "600"],
    );
    let ip = networks_of(&store, "named")[&net.name]["IPAddress"]
        .as_str()
        .expect("an address")
        .to_string();
    let hosts = exec(&store, "named", &["cat", "/etc/hosts"])
        .ok()
        .to_string();
    let lines = host_lines(&hosts);
    for want in [
        vec![ip.clone(), id[..12].to_string(), "named".to_string()],
        vec![net.gateway(), "host.containers.internal".to_string()],
        vec!["10.1.2.3".to_string(), "foo".to_string()],
    ] {
        assert!(lines.contains(&want), "{want:?} in /etc/hosts:\n{hosts}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.first().map(String::as_str) == Some("127.0.0.1")
                && l.contains(&"localhost".to_string())),
        "{hosts}"
    );
    let resolv = exec(&store, "named", &["cat", "/etc/resolv.conf"])
        .ok()
        .to_string();
    assert_eq!(
        resolv
            .lines()
            .filter(|l| l.starts_with("nameserver"))
            .collect::<Vec<_>>(),
        [format!("nameserver {}", net.gateway())],
        "{resolv}"
    );

    let out = run(
        &store,
        &[
            "--rm",
            "--network",
            &net.name,
            "--hostname",
            "myhost",
            "--name",
            "flags",
            "--dns",
            "1.1.1.1",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:3",
        ],
        &[
            "sh",
            "-c",
            "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname",
        ],
    );
    let text = out.ok().to_string();
    let mut parts = text.split("---\n");
    let (resolv, hosts, hostname) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    assert_eq!(
        resolv
            .lines()
            .filter(|l| l.starts_with("nameserver"))
            .collect::<Vec<_>>(),
        ["nameserver 1.1.1.1"],
        "--dns replaces the name servers: {text}"
    );
    let search = resolv
        .lines()
        .find_map(|l| l.strip_prefix("search "))
        .unwrap_or_default();
    assert!(
        search.split_whitespace().any(|d| d == "example.com"),
        "--dns-search: {text}"
    );
    assert!(resolv.lines().any(|l| l == "options ndots:3"), "{text}");
    assert_eq!(hostname, "myhost\n", "{text}");
    assert!(
        host_lines(hosts).iter().any(|l| l.len() == 3
            && l[1] == "myhost"
            && l[2] == "flags"
            && l[0].starts_with(&format!("{}.", net.prefix))),
        "{text}"
    );
}

#[test]
fn no_hosts_with_add_host_is_refused_and_no_hosts_alone_writes_none() {
    let store = store_with_busybox();
    let net = create_net(&store, "nohosts", &[]);
    for args in [
        &["--no-hosts", "--add-host", "foo:10.1.2.3"][..],
        &["--rm", "--no-hosts", "--add-host", "foo:10.1.2.3"],
    ] {
        let r = run(&store, args, &["true"]);
        let msg = engine_error(&r);
        assert!(
            msg.contains("--no-hosts") && msg.contains("--add-host"),
            "{r}"
        );
        assert_no_containers_left(&store, &format!("run {args:?}"));
    }
    let out = run(
        &store,
        &[
            "--rm",
            "--no-hosts",
            "--name",
            "bare",
            "--network",
            &net.name,
        ],
        &["sh", "-c", "cat /etc/hosts 2>/dev/null; true"],
    );
    let hosts = out.ok();
    assert!(
        !hosts.contains("host.containers.internal") && !hosts.contains("bare"),
        "--no-hosts leaves the image's /etc/hosts: {hosts}"
    );
}

// ---- leftovers ----------------------------------------------------------------------

#[test]
fn nothing_is_left_on_the_host_once_everything_is_removed() {
    let store = store_with_busybox();
    let links_before: BTreeSet<String> = host_links().into_iter().map(|(_, n, _)| n).collect();
    let netns_before = netns_files(&store);

    let net = create_net(&store, "leak", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    serve(
        &store,
        &["--network", &net.name, "-p", &publish],
        "srv",
        "x",
    );
    run_detached(
        &store,
        &["--name", "peer", "--network", &net.name],
        &["sleep", "600"],
    );
    let peers = [
        host_peer_of_eth0(&store, "srv"),
        host_peer_of_eth0(&store, "peer"),
    ];

    // While they run, each check sees what it must later not see.
    let links = host_links();
    assert!(
        links.iter().any(|(_, n, _)| *n == net.bridge),
        "bridge {} exists: {links:?}",
        net.bridge
    );
    for p in peers {
        assert!(
            links
                .iter()
                .any(|(i, _, m)| *i == p && m.as_deref() == Some(net.bridge.as_str())),
            "host veth {p} on {}: {links:?}",
            net.bridge
        );
    }
    assert_eq!(netns_files(&store).len(), netns_before.len() + 2);
    let subnet_text = format!("{}.", net.prefix);
    assert!(
        !iptables_rules_with(&subnet_text).is_empty(),
        "rules for the subnet exist"
    );
    assert!(
        !iptables_rules_with(&format!("--dport {port} ")).is_empty(),
        "rules for the port exist"
    );
    // aardvark-dns serves every network on the host from one directory, a file each.
    let aardvark_dir = aardvark_processes()
        .into_iter()
        .map(|(_, dir)| dir)
        .find(|dir| dir.join(&net.name).is_file())
        .unwrap_or_else(|| panic!("an aardvark-dns serving {}", net.name));
    let entries = std::fs::read_to_string(aardvark_dir.join(&net.name)).unwrap_or_default();
    assert!(
        entries.contains(" srv,") && entries.contains(" peer,"),
        "aardvark-dns knows both containers: {entries}"
    );

    store.berth(["rm", "-f", "-t", "0", "srv", "peer"]).ok();
    assert_eq!(
        store.berth(["network", "rm", &net.name]).ok(),
        format!("{}\n", net.name)
    );
    assert_no_containers_left(&store, "rm -f and network rm");

    let links = host_links();
    let leftovers: Vec<_> = links
        .iter()
        .filter(|(i, n, m)| {
            *n == net.bridge || m.as_deref() == Some(net.bridge.as_str()) || peers.contains(i)
        })
        .collect();
    assert!(leftovers.is_empty(), "interfaces left: {leftovers:?}");
    let new: BTreeSet<String> = links
        .into_iter()
        .map(|(_, n, _)| n)
        .filter(|n| !links_before.contains(n))
        .collect();
    // Others (tests beside this one) may add interfaces; none of them is ours.
    assert!(!new.contains(&net.bridge), "{new:?}");
    assert_eq!(netns_files(&store), netns_before, "namespace files left");
    let rules = iptables_rules_with(&subnet_text);
    assert!(
        rules.is_empty(),
        "rules for {} left: {rules:?}",
        net.subnet()
    );
    let rules = iptables_rules_with(&format!("--dport {port} "));
    assert!(rules.is_empty(), "rules for port {port} left: {rules:?}");
    assert!(
        !aardvark_dir.join(&net.name).exists(),
        "aardvark-dns still has a configuration for {}",
        net.name
    );
    // aardvark-dns exits once no network needs it (others' networks may keep it up).
    wait_for(
        "aardvark-dns to exit or to serve another network",
        Duration::from_secs(5),
        || {
            let others = berth_e2e::fault::entries(&aardvark_dir)
                .into_iter()
                .any(|f| f != "aardvark.pid");
            let running = aardvark_processes()
                .iter()
                .any(|(_, dir)| *dir == aardvark_dir);
            (others || !running).then_some(())
        },
    );
}

/// The links enslaved to `bridge`.
fn ports_of(bridge: &str) -> Vec<String> {
    host_links()
        .into_iter()
        .filter(|(_, _, m)| m.as_deref() == Some(bridge))
        .map(|(_, n, _)| n)
        .collect()
}

#[test]
fn a_network_keeps_its_bridge_and_chains_between_containers_until_removed() {
    let store = store_with_busybox();
    let net = create_net(&store, "keep", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let first = run(
        &store,
        &["--rm", "--network", &net.name, "-p", &publish],
        &["cat", "/sys/class/net/eth0/address"],
    );
    assert!(first.ok().contains(':'), "{first}");

    // The container is gone: so are its veth and its port's rules, not the bridge,
    // which keeps one port of Berth's (down) and the network's own chains.
    let ports = ports_of(&net.bridge);
    assert_eq!(
        ports.len(),
        1,
        "one keeper port on {}: {ports:?}",
        net.bridge
    );
    assert!(ports[0].starts_with("bk-"), "{ports:?}");
    let keeper = host("ip", &["-o", "link", "show", &ports[0]]);
    assert!(
        keeper.contains("state DOWN"),
        "the keeper carries nothing: {keeper}"
    );
    let rules = iptables_rules_with(&format!("--dport {port} "));
    assert!(rules.is_empty(), "rules left for port {port}: {rules:?}");
    let subnet_rules = iptables_rules_with(&format!("{}.0/24", net.prefix));
    assert!(!subnet_rules.is_empty(), "the network's chains stay");

    // A second container on the kept bridge gets the network as the first did.
    let out = run(
        &store,
        &["--rm", "--network", &net.name],
        &["sh", "-c", "ip -4 -o addr show eth0; ip route"],
    )
    .ok()
    .to_string();
    assert!(
        out.contains(&format!("inet {}.", net.prefix)) && out.contains("/24"),
        "{out}"
    );
    assert!(
        out.contains(&format!("default via {}", net.gateway())),
        "{out}"
    );

    assert_eq!(
        store.berth(["network", "rm", &net.name]).ok(),
        format!("{}\n", net.name)
    );
    let left: Vec<_> = host_links()
        .into_iter()
        .filter(|(_, n, m)| *n == net.bridge || m.as_deref() == Some(net.bridge.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "interfaces left after network rm: {left:?}"
    );
    let subnet_rules = iptables_rules_with(&format!("{}.0/24", net.prefix));
    assert!(subnet_rules.is_empty(), "rules left: {subnet_rules:?}");
}

#[test]
fn a_container_joins_another_ones_network_namespace() {
    let store = store_with_busybox();
    let net = create_net(&store, "share", &[]);
    serve(&store, &["--network", &net.name], "owner", "shared-ns-body");
    let owner_ip = networks_of(&store, "owner")[&net.name]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let out = run(
        &store,
        &["--rm", "--network", "container:owner"],
        &[
            "sh",
            "-c",
            "wget -q -O - http://127.0.0.1/ && ip -o -4 addr show eth0",
        ],
    );
    let text = out.ok();
    assert!(
        text.contains("shared-ns-body"),
        "localhost is the owner's: {out}"
    );
    assert!(
        text.contains(&owner_ip),
        "the same address {owner_ip}: {out}"
    );
    let stopped = store.berth(run_args(
        "run",
        &["--rm", "--network", "container:nosuch"],
        &["true"],
    ));
    stopped.fails_with(125);
}

#[test]
fn reload_puts_back_the_forwarding_rules() {
    let store = store_with_busybox();
    let net = create_net(&store, "reload", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    serve(
        &store,
        &["--network", &net.name, "-p", &publish],
        "rl",
        "reload-body",
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    wait_for("the published port", Duration::from_secs(10), || {
        http_get(addr, "/").filter(|r| r.contains("reload-body"))
    });
    // Lose the container's DNAT rules, as a firewall reload would.
    let rules: Vec<String> = host("iptables", &["-w", "-t", "nat", "-S"])
        .lines()
        .filter(|l| l.starts_with("-A ") && l.contains(&format!("--dport {port}")))
        .map(str::to_string)
        .collect();
    assert!(!rules.is_empty(), "a DNAT rule for port {port}");
    for rule in &rules {
        // The shell reads the rule's quoted comments back as iptables printed them.
        let delete = format!("iptables -w -t nat -D {}", rule.trim_start_matches("-A "));
        host("sh", &["-c", &delete]);
    }
    assert!(
        http_get(addr, "/").is_none_or(|r| !r.contains("reload-body")),
        "still answered without its rules"
    );
    let id = store
        .berth(["network", "reload", "rl"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, inspect(&store, "rl")["Id"].as_str().unwrap_or_default());
    wait_for("the port after reload", Duration::from_secs(10), || {
        http_get(addr, "/").filter(|r| r.contains("reload-body"))
    });
}
