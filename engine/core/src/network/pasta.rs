//! Rootless networking with pasta (the passt package): the container's namespace gets
//! a tap interface configured like the host's and reaches out through pasta's user-mode
//! stack; published ports are forwarded by pasta from the host's loopback and
//! addresses. pasta runs in the background until the namespace's file goes away.

use berth_types::network::PortMapping;
use std::path::Path;
use std::process::{Command, Stdio};

/// pasta's `-t`/`-u` value for one mapping: `[IP/]HOST[-END]:CTR[-END]`.
fn spec(m: &PortMapping) -> String {
    let span = |start: u16| {
        if m.range > 1 {
            format!("{start}-{}", start + m.range - 1)
        } else {
            start.to_string()
        }
    };
    let ip = if m.host_ip.is_empty() {
        String::new()
    } else {
        format!("{}/", m.host_ip)
    };
    format!("{ip}{}:{}", span(m.host_port), span(m.container_port))
}

/// The arguments for pasta serving `netns` with `ports`.
pub fn args(netns: &Path, ports: &[PortMapping], pid_file: &Path) -> Vec<String> {
    // As Podman: no automatic forwarding of the host's bound ports into the container
    // (`-T none -U none`), which also spares pasta scanning them.
    let mut a = vec![
        "--config-net".to_string(),
        "--quiet".into(),
        "-T".into(),
        "none".into(),
        "-U".into(),
        "none".into(),
        "--netns".into(),
        netns.display().to_string(),
        "--pid".into(),
        pid_file.display().to_string(),
    ];
    for proto in ["tcp", "udp"] {
        let flag = if proto == "tcp" { "-t" } else { "-u" };
        let specs: Vec<String> = ports
            .iter()
            .filter(|m| m.protocol == proto)
            .map(spec)
            .collect();
        a.push(flag.into());
        a.push(if specs.is_empty() {
            "none".into()
        } else {
            specs.join(",")
        });
    }
    a
}

/// The user-mode network helpers (pasta, slirp4netns) need /dev/net/tun: an error
/// naming the device and the fix when it cannot be opened.
pub fn check_tun(tool: &str) -> Result<(), String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
    {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "cannot open /dev/net/tun: {e}: rootless networking ({tool}) needs it; as root, `chmod 0666 /dev/net/tun`, or run with --network none"
        )),
    }
}

/// Starts pasta for `netns`; it forks into the background once the interface is up.
pub fn start(netns: &Path, ports: &[PortMapping], pid_file: &Path) -> Result<(), String> {
    check_tun("pasta")?;
    let pasta = super::netavark::helper("pasta").map_err(|_| {
        "pasta not found: install the passt package, or run with --network none".to_string()
    })?;
    let out = Command::new(&pasta)
        .args(args(netns, ports, pid_file))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("running {}: {e}", pasta.display()))?;
    if !out.status.success() {
        return Err(format!(
            "pasta: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Stops the user-mode helper (pasta or slirp4netns) whose pid is in `pid_file`.
pub fn stop(pid_file: &Path) {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let _ = std::fs::remove_file(pid_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_become_pasta_specs() {
        let m = |ip: &str, h: u16, c: u16, p: &str, r: u16| PortMapping {
            host_ip: ip.into(),
            host_port: h,
            container_port: c,
            protocol: p.into(),
            range: r,
        };
        let a = args(
            Path::new("/n"),
            &[
                m("127.0.0.1", 8080, 80, "tcp", 1),
                m("", 9000, 90, "tcp", 3),
                m("", 53, 53, "udp", 1),
            ],
            Path::new("/p"),
        );
        let joined = a.join(" ");
        assert!(
            joined.contains("-t 127.0.0.1/8080:80,9000-9002:90-92"),
            "{joined}"
        );
        assert!(joined.contains("-u 53:53"), "{joined}");
        let none = args(Path::new("/n"), &[], Path::new("/p")).join(" ");
        assert!(none.contains("-t none -u none"), "{none}");
        assert!(none.contains("-T none -U none"), "{none}");
    }
}
