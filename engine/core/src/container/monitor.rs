//! The per-container monitor: the `berth` binary re-executed as `berth __monitor`,
//! detached (its launcher exits at once, it calls setsid) and a child subreaper, so
//! the container's init becomes its child. It creates the container through the OCI
//! runtime with its own pipes (or a console socket for a TTY), then relays output to
//! the log and to attached clients, feeds stdin from them, and when the container
//! exits records the exit code, tells the clients, and cleans up (runtime state,
//! rootfs mount, `--rm`). Plain blocking code with poll(2): no async runtime.

use super::attach::{self, FrameBuffer};
use super::logfile::LogWriter;
use super::paths::ContainerPaths;
use berth_types::container::LogStream;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Pid, WaitOptions};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Everything the monitor needs, passed as one JSON argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub id: String,
    pub root: PathBuf,
    pub runroot: PathBuf,
    pub runtime_name: String,
    pub runtime_path: PathBuf,
    pub runtime_root: PathBuf,
    pub tty: bool,
    pub stdin: bool,
    pub log_path: Option<PathBuf>,
    pub log_max_size: Option<u64>,
    pub log_max_files: u32,
    /// The inherited pipe on which the monitor reports `started PID MONITORPID`
    /// (`created …` when a client attaches first) or `error MSG`.
    pub sync_fd: i32,
    /// A client will attach before the process starts: wait for its START frame.
    #[serde(default)]
    pub attach: bool,
    /// `--timeout`: seconds after which the container is killed.
    #[serde(default)]
    pub timeout: Option<u32>,
    /// `--health-interval`: run `berth healthcheck run` this often (seconds).
    #[serde(default)]
    pub health_interval: Option<u64>,
}

/// What the monitor reported once the container was created.
#[derive(Debug, Clone, Copy)]
pub struct Created {
    pub pid: i64,
    pub monitor_pid: i64,
}

/// Starts a monitor for `cfg` and waits until the container exists (or failed to).
pub fn spawn(mut cfg: MonitorConfig) -> io::Result<Created> {
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Only the write end crosses exec, and only into the launcher and monitor.
    rustix::io::fcntl_setfd(&writer, rustix::io::FdFlags::empty())?;
    cfg.sync_fd = writer.as_raw_fd();
    let arg = serde_json::to_string(&cfg).map_err(io::Error::other)?;
    // The monitor is our child only until we exit; it never waits for us, and setsid
    // detaches it from our terminal. (A long-lived caller reaps it with SIGCHLD ignored.)
    let child = Command::new(std::env::current_exe()?)
        .arg("__monitor")
        .arg(&arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    drop(writer);
    drop(child);
    let mut text = String::new();
    std::fs::File::from(reader).read_to_string(&mut text)?;
    let text = text.trim();
    if let Some(rest) = text
        .strip_prefix("created ")
        .or_else(|| text.strip_prefix("started "))
    {
        let mut it = rest
            .split_whitespace()
            .filter_map(|v| v.parse::<i64>().ok());
        if let (Some(pid), Some(monitor_pid)) = (it.next(), it.next()) {
            return Ok(Created { pid, monitor_pid });
        }
    }
    match text.strip_prefix("error ") {
        Some(msg) => Err(io::Error::other(msg.to_string())),
        None => Err(io::Error::other(
            "the container monitor exited before the container was created",
        )),
    }
}

/// `berth __monitor-launch`: starts the real monitor and exits, so it is not our child.
pub fn launch(arg: &str) -> io::Result<()> {
    Command::new(std::env::current_exe()?)
        .arg("__monitor")
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}

fn report(sync: &mut Option<std::fs::File>, msg: &str) {
    if let Some(mut f) = sync.take() {
        let _ = f.write_all(msg.as_bytes());
    }
}

/// What the monitor records through the engine (the database lives there).
pub trait Hooks {
    /// The process is running: record its pid (and start time) and ours.
    fn started(&self, cfg: &MonitorConfig, pid: i32, monitor_pid: i32) -> io::Result<()>;
    /// The process exited with `code`: record it and clean up.
    fn exited(&self, cfg: &MonitorConfig, code: i32);
}

/// `berth __monitor`: runs until the container has exited and is cleaned up.
pub fn run(arg: &str, hooks: &dyn Hooks) -> io::Result<()> {
    let cfg: MonitorConfig = serde_json::from_str(arg).map_err(io::Error::other)?;
    // SAFETY: the fd number came from our parent, which left exactly this pipe end open for us.
    #[allow(unsafe_code)]
    let mut sync = Some(std::fs::File::from(unsafe {
        OwnedFd::from_raw_fd(cfg.sync_fd)
    }));
    let _ = rustix::process::setsid();
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    for sig in [
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ] {
        let _ = signal_hook::flag::register(
            sig,
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
    }
    let (sig_reader, sig_writer) = UnixStream::pair()?;
    sig_reader.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, sig_writer)?;
    match create_and_relay(&cfg, &mut sync, sig_reader, hooks) {
        Ok(code) => {
            hooks.exited(&cfg, code);
            Ok(())
        }
        Err(e) => {
            report(&mut sync, &format!("error {e}"));
            Err(e)
        }
    }
}

/// The container's stdio as the monitor holds it.
struct Io {
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// Where client stdin goes (the pipe's write end, or the pty master).
    stdin: Option<OwnedFd>,
    /// The pty master for `-t` (output comes from it too).
    master: Option<OwnedFd>,
}

fn runtime_error(
    cfg: &MonitorConfig,
    paths: &ContainerPaths,
    status: std::process::ExitStatus,
) -> io::Error {
    let log = std::fs::read(paths.run.join("runtime.log")).unwrap_or_default();
    let msg = super::runtime::runtime_message(&log);
    io::Error::other(format!("{} create ({status}): {msg}", cfg.runtime_name))
}

fn create_and_relay(
    cfg: &MonitorConfig,
    sync: &mut Option<std::fs::File>,
    sig: UnixStream,
    hooks: &dyn Hooks,
) -> io::Result<i32> {
    let store = crate::store::paths::StorePaths {
        root: cfg.root.clone(),
        runroot: cfg.runroot.clone(),
    };
    let paths = ContainerPaths::new(&store, &cfg.id);
    std::fs::create_dir_all(&paths.run)?;
    let _ = std::fs::remove_file(paths.exit_file());
    let mut cmd = Command::new(&cfg.runtime_path);
    cmd.arg("--root")
        .arg(&cfg.runtime_root)
        .arg("--log")
        .arg(paths.run.join("runtime.log"))
        .arg("--log-format")
        .arg("json")
        .arg("create")
        .arg("--bundle")
        .arg(paths.bundle())
        .arg("--pid-file")
        .arg(paths.pid_file());
    let mut io = Io {
        stdout: None,
        stderr: None,
        stdin: None,
        master: None,
    };
    let mut console_dir: Option<OwnedFd> = None;
    let console = if cfg.tty {
        let sock = paths.console_socket();
        let _ = std::fs::remove_file(&sock);
        let (dir, short) = super::paths::inheritable_socket_path(&sock)?;
        let listener = UnixListener::bind(&short)?;
        listener.set_nonblocking(true)?;
        // The runtime inherits the directory handle, so the short path means the same to it.
        cmd.arg("--console-socket").arg(&short);
        console_dir = dir;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Some(listener)
    } else {
        let (out_r, out_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let (err_r, err_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        cmd.stdout(Stdio::from(out_w)).stderr(Stdio::from(err_w));
        if cfg.stdin {
            let (in_r, in_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            cmd.stdin(Stdio::from(in_r));
            io.stdin = Some(in_w);
        } else {
            cmd.stdin(Stdio::null());
        }
        io.stdout = Some(out_r);
        io.stderr = Some(err_r);
        None
    };
    cmd.arg(&cfg.id);
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::other(format!("running {}: {e}", cfg.runtime_path.display())))?;
    drop(cmd); // our copies of the child's pipe ends
    if let Some(listener) = &console {
        let master = receive_console(listener, &mut child)?;
        match master {
            Some(m) => {
                io.stdin = Some(m.try_clone()?);
                io.master = Some(m);
            }
            None => {
                let status = child.wait()?;
                return Err(runtime_error(cfg, &paths, status));
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(runtime_error(cfg, &paths, status));
    }
    let pid: i32 = std::fs::read_to_string(paths.pid_file())?
        .trim()
        .parse()
        .map_err(|_| io::Error::other("the runtime wrote no container pid"))?;
    let _ = std::fs::remove_file(paths.console_socket());
    drop(console_dir);
    let sock_path = paths.attach_socket();
    let _ = std::fs::remove_file(&sock_path);
    let (_dir, short) = super::paths::socket_path(&sock_path)?;
    let listener = UnixListener::bind(&short)?;
    std::fs::set_permissions(
        &sock_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    listener.set_nonblocking(true)?;
    let me = rustix::process::getpid().as_raw_nonzero().get();
    // An attaching client connects first and sends START, so it sees all the output. A
    // client that never comes (killed meanwhile) does not leave the container unstarted.
    let mut first = Vec::new();
    if cfg.attach {
        report(sync, &format!("created {pid} {me}"));
        if let Some(c) = wait_for_start(&listener, Duration::from_secs(30)) {
            first.push(c);
        }
    }
    let start = Command::new(&cfg.runtime_path)
        .arg("--root")
        .arg(&cfg.runtime_root)
        .arg("start")
        .arg(&cfg.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if !start.status.success() {
        let msg = format!(
            "{} start: {}",
            cfg.runtime_name,
            super::runtime::runtime_message(&start.stderr)
        );
        for c in &mut first {
            let _ = attach::write_frame(
                &mut c.stream,
                attach::STDERR,
                format!("Error: {msg}\n").as_bytes(),
            );
            let _ = attach::write_frame(&mut c.stream, attach::EXIT, &125i32.to_be_bytes());
        }
        let _ = Command::new(&cfg.runtime_path)
            .arg("--root")
            .arg(&cfg.runtime_root)
            .args(["delete", "--force", &cfg.id])
            .status();
        return Err(io::Error::other(msg));
    }
    hooks.started(cfg, pid, me)?;
    report(sync, &format!("started {pid} {me}"));
    let mut log = LogWriter::open(cfg.log_path.as_deref(), cfg.log_max_size, cfg.log_max_files)?;
    let deadline = cfg
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let health = cfg
        .health_interval
        .filter(|i| *i > 0)
        .map(|i| HealthSchedule {
            every: Duration::from_secs(i),
            next: Instant::now() + Duration::from_secs(i),
            cfg: cfg.clone(),
        });
    let code = relay(
        pid,
        &mut io,
        &listener,
        &sig,
        &mut log,
        first,
        Timers { deadline, health },
    )?;
    crate::store::fsutil::write_atomic(&paths.exit_file(), code.to_string().as_bytes(), 0o644)?;
    Ok(code)
}

/// Waits for the runtime to hand over the pty master (or to exit without doing so).
fn receive_console(
    listener: &UnixListener,
    child: &mut std::process::Child,
) -> io::Result<Option<OwnedFd>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false)?;
                let mut space =
                    [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
                let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
                let mut buf = [0u8; 4096];
                rustix::net::recvmsg(
                    &conn,
                    &mut [io::IoSliceMut::new(&mut buf)],
                    &mut control,
                    rustix::net::RecvFlags::empty(),
                )?;
                for msg in control.drain() {
                    if let rustix::net::RecvAncillaryMessage::ScmRights(mut fds) = msg {
                        if let Some(fd) = fds.next() {
                            return Ok(Some(fd));
                        }
                    }
                }
                return Err(io::Error::other("the runtime sent no terminal"));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if child.try_wait()?.is_some() || Instant::now() > deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

struct Client {
    stream: UnixStream,
    frames: FrameBuffer,
}

/// Time-driven work of the relay loop: the `--timeout` kill and health checks.
struct Timers {
    deadline: Option<Instant>,
    health: Option<HealthSchedule>,
}

/// When the next health check is due; checks run as `berth healthcheck run` children
/// (reaped with the others), so a slow check never stalls the relay.
struct HealthSchedule {
    every: Duration,
    next: Instant,
    cfg: MonitorConfig,
}

impl HealthSchedule {
    fn run(&self) {
        if let Ok(exe) = std::env::current_exe() {
            let _ = Command::new(exe)
                .arg("--root")
                .arg(&self.cfg.root)
                .arg("--runroot")
                .arg(&self.cfg.runroot)
                .args(["healthcheck", "run", &self.cfg.id])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
        }
    }
}

/// Waits for a client to connect and send START; `None` after `limit` without one.
fn wait_for_start(listener: &UnixListener, limit: Duration) -> Option<Client> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ));
                let mut stream = s;
                if let Ok(Some((attach::START, _))) = attach::read_frame(&mut stream) {
                    let _ = stream.set_read_timeout(None);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                    return Some(Client {
                        stream,
                        frames: FrameBuffer::default(),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(_) => return None,
        }
    }
    None
}

fn exit_code(status: rustix::process::WaitStatus) -> i32 {
    if let Some(code) = status.exit_status() {
        code
    } else if let Some(sig) = status.terminating_signal() {
        128 + sig
    } else {
        -1
    }
}

/// Relays until the container has exited and its output is drained; returns the exit code.
fn relay(
    pid: i32,
    io: &mut Io,
    listener: &UnixListener,
    sig: &UnixStream,
    log: &mut LogWriter,
    mut clients: Vec<Client>,
    timers: Timers,
) -> io::Result<i32> {
    let Timers {
        mut deadline,
        mut health,
    } = timers;
    let mut exited: Option<(i32, Instant)> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let outputs_open = io.stdout.is_some() || io.stderr.is_some() || io.master.is_some();
        if let Some((code, at)) = exited {
            // Output may outlive init (a daemonised grandchild): stop once it goes quiet.
            if !outputs_open || at.elapsed() > Duration::from_millis(300) {
                for c in &mut clients {
                    let _ = attach::write_frame(&mut c.stream, attach::EXIT, &code.to_be_bytes());
                }
                return Ok(code);
            }
        }
        if let Some(h) = health
            .as_mut()
            .filter(|h| Instant::now() >= h.next && exited.is_none())
        {
            h.next = Instant::now() + h.every;
            h.run();
        }
        if deadline.is_some_and(|d| Instant::now() >= d) && exited.is_none() {
            // --timeout: the process ran too long.
            deadline = None;
            if let Some(p) = Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        fds.push(PollFd::new(sig, PollFlags::IN));
        fds.push(PollFd::new(listener, PollFlags::IN));
        let out_fd = io.stdout.as_ref().or(io.master.as_ref()).map(|f| f.as_fd());
        let err_fd = io.stderr.as_ref().map(|f| f.as_fd());
        if let Some(f) = out_fd {
            fds.push(PollFd::from_borrowed_fd(f, PollFlags::IN));
        }
        if let Some(f) = err_fd {
            fds.push(PollFd::from_borrowed_fd(f, PollFlags::IN));
        }
        let client_base = fds.len();
        for c in &clients {
            fds.push(PollFd::new(&c.stream, PollFlags::IN));
        }
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[0].is_empty() {
            let mut drain = [0u8; 64];
            while (&*sig).read(&mut drain).map(|n| n > 0).unwrap_or(false) {}
            while let Ok(Some((p, status))) = rustix::process::wait(WaitOptions::NOHANG) {
                if p.as_raw_nonzero().get() == pid {
                    exited = Some((exit_code(status), Instant::now()));
                }
            }
        }
        if !ready[1].is_empty() {
            while let Ok((s, _)) = listener.accept() {
                let _ = s.set_nonblocking(false);
                let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                clients.push(Client {
                    stream: s,
                    frames: FrameBuffer::default(),
                });
            }
        }
        let mut idx = 2;
        for (stream, is_out) in [(LogStream::Stdout, true), (LogStream::Stderr, false)] {
            let present = if is_out {
                out_fd_present(io)
            } else {
                io.stderr.is_some()
            };
            if !present {
                continue;
            }
            let flags = ready[idx];
            idx += 1;
            if flags.is_empty() {
                continue;
            }
            let fd = if is_out {
                io.stdout.as_ref().or(io.master.as_ref())
            } else {
                io.stderr.as_ref()
            };
            let n = match fd.map(|f| rustix::io::read(f, &mut buf)) {
                Some(Ok(n)) => n,
                Some(Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN)) => continue,
                _ => 0,
            };
            if n == 0 {
                if is_out {
                    io.stdout = None;
                    io.master = None;
                } else {
                    io.stderr = None;
                }
                continue;
            }
            let data = &buf[..n];
            let _ = log.write(stream, data);
            let kind = if is_out {
                attach::STDOUT
            } else {
                attach::STDERR
            };
            clients.retain_mut(|c| attach::write_frame(&mut c.stream, kind, data).is_ok());
        }
        let mut dead = Vec::new();
        for (i, c) in clients.iter_mut().enumerate() {
            if ready.get(client_base + i).is_none_or(|f| f.is_empty()) {
                continue;
            }
            let n = c.stream.read(&mut buf).unwrap_or(0);
            if n == 0 {
                dead.push(i);
                continue;
            }
            c.frames.push(&buf[..n]);
            loop {
                match c.frames.next_frame() {
                    Ok(Some((attach::STDIN, data))) => {
                        if let Some(fd) = &io.stdin {
                            let _ = rustix::io::write(fd, &data);
                        }
                    }
                    Ok(Some((attach::STDIN_CLOSE, _))) => {
                        if io.master.is_none() {
                            io.stdin = None;
                        }
                    }
                    Ok(Some((attach::RESIZE, data))) if data.len() == 4 => {
                        if let Some(m) = &io.master {
                            let ws = rustix::termios::Winsize {
                                ws_row: u16::from_be_bytes([data[0], data[1]]),
                                ws_col: u16::from_be_bytes([data[2], data[3]]),
                                ws_xpixel: 0,
                                ws_ypixel: 0,
                            };
                            let _ = rustix::termios::tcsetwinsize(m, ws);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        dead.push(i);
                        break;
                    }
                }
            }
        }
        for i in dead.into_iter().rev() {
            clients.remove(i);
        }
    }
}

fn out_fd_present(io: &Io) -> bool {
    io.stdout.is_some() || io.master.is_some()
}

/// Whether a process still exists and is the one that started at `start_ticks`.
pub fn process_alive(pid: i64, start_ticks: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match process_start_ticks(pid) {
        Some(t) => start_ticks == 0 || t == start_ticks,
        None => false,
    }
}

/// Field 22 of /proc/PID/stat (start time in clock ticks); `None` for a gone or zombie process.
pub fn process_start_ticks(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Used by `kill`: sends a signal to a pid (a stale monitor, for instance).
pub fn signal(pid: i64, sig: rustix::process::Signal) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::other("invalid pid"))?;
    rustix::process::kill_process(pid, sig).map_err(io::Error::from)
}
