//! /etc/hosts and /etc/resolv.conf of a container on bridge networks, as Podman writes
//! them: its addresses under its hostname and name, `host.containers.internal` for the
//! host, `--add-host` lines; aardvark-dns (the gateway) as the name server on networks
//! with DNS, else the host's servers, localhost ones left out.

use std::net::IpAddr;

/// The container's hosts file.
pub fn hosts(
    hostname: &str,
    name: &str,
    ips: &[IpAddr],
    host_gateway: Option<IpAddr>,
    add_hosts: &[String],
) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n\
         ::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n",
    );
    for h in add_hosts {
        if let Some((host, ip)) = h.split_once(':') {
            out.push_str(&format!("{ip}\t{host}\n"));
        }
    }
    for ip in ips {
        out.push_str(&format!("{ip}\t{hostname} {name}\n"));
    }
    if let Some(gw) = host_gateway {
        out.push_str(&format!("{gw}\thost.containers.internal\n"));
    }
    out
}

/// The container's resolv.conf. `aardvark` are the name servers of its DNS-enabled
/// networks; `dns`, `search` and `options` are `--dns`, `--dns-search`, `--dns-option`.
pub fn resolv_conf(
    host: &str,
    aardvark: &[IpAddr],
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut host_search: Vec<String> = Vec::new();
    let mut host_options: Vec<String> = Vec::new();
    for line in host.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => {
                if let Some(s) = f.next() {
                    let local = s
                        .parse::<IpAddr>()
                        .map(|ip| ip.is_loopback())
                        .unwrap_or(false);
                    if !local {
                        servers.push(s.to_string());
                    }
                }
            }
            Some("search") => host_search.extend(f.map(str::to_string)),
            Some("options") => host_options.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    let mut search_line: Vec<String> = Vec::new();
    if !aardvark.is_empty() {
        search_line.push("dns.podman".into());
    }
    if search.is_empty() {
        search_line.extend(host_search);
    } else if search != ["."] {
        search_line.extend(search.iter().cloned());
    }
    let mut out = String::new();
    if !search_line.is_empty() {
        out.push_str(&format!("search {}\n", search_line.join(" ")));
    }
    let servers: Vec<String> = if !dns.is_empty() {
        dns.to_vec()
    } else if !aardvark.is_empty() {
        aardvark.iter().map(|a| a.to_string()).collect()
    } else if servers.is_empty() {
        vec!["8.8.8.8".into(), "8.8.4.4".into()]
    } else {
        servers
    };
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    let options = if options.is_empty() {
        host_options
    } else {
        options.to_vec()
    };
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_the_container_and_the_host() {
        let h = hosts(
            "abc",
            "web",
            &["10.88.0.2".parse().expect("ip")],
            Some("10.88.0.1".parse().expect("ip")),
            &["db:10.0.0.5".into()],
        );
        assert!(h.contains("10.88.0.2\tabc web\n"), "{h}");
        assert!(h.contains("10.88.0.1\thost.containers.internal\n"), "{h}");
        assert!(h.contains("10.0.0.5\tdb\n"), "{h}");
    }

    #[test]
    fn resolv_conf_prefers_flags_then_aardvark_then_the_host() {
        let host = "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch corp\noptions ndots:2\n";
        assert_eq!(
            resolv_conf(host, &[], &[], &[], &[]),
            "search corp\nnameserver 192.0.2.1\noptions ndots:2\n"
        );
        assert_eq!(
            resolv_conf(host, &["10.89.0.1".parse().expect("ip")], &[], &[], &[]),
            "search dns.podman corp\nnameserver 10.89.0.1\noptions ndots:2\n"
        );
        assert_eq!(
            resolv_conf(
                host,
                &[],
                &["1.1.1.1".into()],
                &["a.b".into()],
                &["rotate".into()]
            ),
            "search a.b\nnameserver 1.1.1.1\noptions rotate\n"
        );
        assert_eq!(
            resolv_conf("nameserver 127.0.0.1\n", &[], &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }
}
