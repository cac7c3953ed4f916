//! Rootless networking with slirp4netns, where pasta is missing or asked for by name
//! (`--network slirp4netns`), driven as its manual documents: it configures `tap0` in
//! the container's namespace (10.0.2.100, gateway 10.0.2.2, DNS forwarder 10.0.2.3),
//! says so on a ready descriptor, and forwards published ports it is asked for over
//! its API socket (`add_hostfwd`). It runs in a session of its own until stopped.

use berth_types::network::PortMapping;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// slirp4netns's built-in DNS forwarder, the container's name server.
pub const DNS: &str = "10.0.2.3";

/// How long slirp4netns may take to bring the interface up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The arguments for slirp4netns serving `netns`, reporting on descriptor `ready_fd`.
pub fn args(netns: &Path, api_socket: &Path, ready_fd: i32) -> Vec<String> {
    vec![
        "--configure".into(),
        "--mtu=65520".into(),
        "--disable-host-loopback".into(),
        "--enable-sandbox".into(),
        "--enable-seccomp".into(),
        "--netns-type=path".into(),
        format!("--api-socket={}", api_socket.display()),
        format!("--ready-fd={ready_fd}"),
        netns.display().to_string(),
        "tap0".into(),
    ]
}

/// The `add_hostfwd` requests for `ports` (one per port of a range).
pub fn forward_requests(ports: &[PortMapping]) -> Vec<Value> {
    let mut out = Vec::new();
    for m in ports {
        let host_addr = if m.host_ip.is_empty() {
            "0.0.0.0"
        } else {
            m.host_ip.as_str()
        };
        for i in 0..m.range.max(1) {
            out.push(json!({"execute": "add_hostfwd", "arguments": {
                "proto": m.protocol,
                "host_addr": host_addr,
                "host_port": m.host_port + i,
                "guest_port": m.container_port + i,
            }}));
        }
    }
    out
}

/// Starts slirp4netns for `netns` and has it forward `ports`; its pid goes to
/// `pid_file`. Waits until the interface is up.
pub fn start(
    netns: &Path,
    ports: &[PortMapping],
    pid_file: &Path,
    api_socket: &Path,
) -> Result<(), String> {
    super::pasta::check_tun("slirp4netns")?;
    let slirp = super::netavark::helper("slirp4netns").map_err(|_| {
        "slirp4netns not found: install the passt package (pasta) or slirp4netns, or run with --network none".to_string()
    })?;
    let _ = std::fs::remove_file(api_socket);
    let (ready_read, ready_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| format!("making a pipe for slirp4netns: {e}"))?;
    let ready_fd = ready_write.as_raw_fd();
    let mut cmd = Command::new(&slirp);
    cmd.args(args(netns, api_socket, ready_fd))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec the child only calls setsid(2) and fcntl(2) on a
    // descriptor it inherited, which allocate nothing and take no lock.
    #[allow(unsafe_code)]
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            let fd = std::os::fd::BorrowedFd::borrow_raw(ready_fd);
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("running {}: {e}", slirp.display()))?;
    drop(ready_write);
    let pid = child.id();
    let started = (|| {
        wait_ready(&ready_read)?;
        crate::store::fsutil::write_atomic(pid_file, pid.to_string().as_bytes(), 0o600)
            .map_err(|e| format!("writing {}: {e}", pid_file.display()))?;
        for request in forward_requests(ports) {
            api_call(api_socket, &request)?;
        }
        Ok(())
    })();
    if let Err(e) = started {
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(pid_file);
        return Err(e);
    }
    Ok(())
}

/// Waits for slirp4netns's `1` on the ready descriptor (end of file: it failed).
fn wait_ready(fd: &impl AsFd) -> Result<(), String> {
    let mut poll = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
    let timeout = rustix::event::Timespec {
        tv_sec: READY_TIMEOUT.as_secs() as _,
        tv_nsec: 0,
    };
    let n = rustix::event::poll(&mut poll, Some(&timeout))
        .map_err(|e| format!("waiting for slirp4netns: {e}"))?;
    if n == 0 {
        return Err(format!(
            "slirp4netns did not bring the interface up within {}s",
            READY_TIMEOUT.as_secs()
        ));
    }
    let mut byte = [0u8; 1];
    match rustix::io::read(fd, &mut byte) {
        Ok(1) if byte[0] == b'1' => Ok(()),
        _ => Err("slirp4netns failed to configure the container's interface".into()),
    }
}

/// One request on the API socket: the request, the write side shut, the reply read.
pub fn api_call(socket: &Path, request: &Value) -> Result<Value, String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("connecting to slirp4netns at {}: {e}", socket.display()))?;
    let _ = s.set_read_timeout(Some(READY_TIMEOUT));
    s.write_all(request.to_string().as_bytes())
        .and_then(|()| s.shutdown(std::net::Shutdown::Write))
        .map_err(|e| format!("asking slirp4netns: {e}"))?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)
        .map_err(|e| format!("reading slirp4netns's answer: {e}"))?;
    let v: Value = serde_json::from_str(reply.trim())
        .map_err(|e| format!("slirp4netns answered {reply:?}: {e}"))?;
    if let Some(err) = v.get("error") {
        let args = &request["arguments"];
        return Err(format!(
            "slirp4netns refused {} {}:{}: {}",
            request["execute"].as_str().unwrap_or_default(),
            args["host_addr"].as_str().unwrap_or_default(),
            args["host_port"],
            err["desc"].as_str().unwrap_or("refused")
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_follow_the_manual() {
        let a = args(Path::new("/run/n"), Path::new("/run/n.sock"), 5).join(" ");
        assert!(
            a.starts_with("--configure --mtu=65520 --disable-host-loopback"),
            "{a}"
        );
        assert!(
            a.contains("--netns-type=path --api-socket=/run/n.sock --ready-fd=5"),
            "{a}"
        );
        assert!(a.ends_with("/run/n tap0"), "{a}");
    }

    #[test]
    fn ranges_become_one_forward_per_port() {
        let m = PortMapping {
            host_ip: String::new(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
            range: 2,
        };
        let r = forward_requests(&[m]);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[1],
            json!({"execute": "add_hostfwd", "arguments": {"proto": "tcp",
                "host_addr": "0.0.0.0", "host_port": 8081, "guest_port": 81}})
        );
    }
}
