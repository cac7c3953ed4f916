//! `berth-monitor CONFIG_JSON`: the process that stays with a running container.
//!
//! Started by the engine as a detached child (it calls setsid and becomes a child
//! subreaper, so the container's init is its child), it listens on the attach socket,
//! runs the container with `RUNTIME run --detach` on its own pipes (or a console socket
//! for a TTY; `create`, then `start` once it watches the cgroup where that vanishes
//! with its last process), reports `started` on its standard output, then relays
//! output to the log and to attached clients and feeds them stdin, resizes,
//! `--timeout` and periodic health checks. When the container has exited it writes
//! the exit file, tells the clients, and execs the engine's exit command in its own
//! place (so its pid stays alive until the exit is recorded and everything is cleaned
//! up). Plain blocking code around poll(2).

use berth_monitor::config::{MonitorConfig, Periodic, Report, Started};
use berth_monitor::frame::{self, FrameBuffer};
use berth_monitor::logwriter::{LogWriter, Stream};
use berth_monitor::oom::OomWatch;
use berth_monitor::{process, runtime_log, sockpath, timestamp};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Pid, WaitOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut reporter = Reporter { open: true };
    let Some(arg) = std::env::args().nth(1) else {
        eprintln!("usage: berth-monitor CONFIG_JSON");
        std::process::exit(2);
    };
    let cfg: MonitorConfig = match serde_json::from_str(&arg) {
        Ok(c) => c,
        Err(e) => {
            reporter.send(&Report::Error(format!(
                "invalid monitor configuration: {e}"
            )));
            std::process::exit(2);
        }
    };
    let _ = rustix::process::setsid();
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    // The session's hangup and the user's ^C belong to the container, not to us.
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
    match monitor(&cfg, &mut reporter) {
        Ok(Some(code)) => run_exit_command(&cfg, code),
        // A client recorded the exit and cleaned up.
        Ok(None) => std::process::exit(0),
        Err(e) => {
            reporter.send(&Report::Error(e.to_string()));
            std::process::exit(1);
        }
    }
}

/// Our standard output is the engine's pipe until the container runs; then /dev/null.
struct Reporter {
    open: bool,
}

impl Reporter {
    fn send(&mut self, r: &Report) {
        if !self.open {
            return;
        }
        let mut out = io::stdout().lock();
        let _ = out.write_all(r.to_line().as_bytes());
        let _ = out.flush();
    }

    fn close(&mut self) {
        if let Ok(null) = std::fs::File::options().write(true).open("/dev/null") {
            let _ = rustix::stdio::dup2_stdout(&null);
        }
        self.open = false;
    }
}

/// The container's stdio as the monitor holds it.
#[derive(Default)]
struct Io {
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// Where client stdin goes (the pipe's write end, or the pty master).
    stdin: Option<OwnedFd>,
    /// The pty master for `-t` (output comes from it too).
    master: Option<OwnedFd>,
}

struct Client {
    stream: UnixStream,
    frames: FrameBuffer,
    /// It said it will record the exit and clean up (TAKEOVER).
    takes_over: bool,
}

impl Client {
    fn new(stream: UnixStream) -> Client {
        Client {
            stream,
            frames: FrameBuffer::default(),
            takes_over: false,
        }
    }
}

/// Runs the container to its end; the exit code, or `None` when a client took over
/// recording it.
fn monitor(cfg: &MonitorConfig, reporter: &mut Reporter) -> io::Result<Option<i32>> {
    let run = &cfg.run_dir;
    std::fs::create_dir_all(&run.0)?;
    for f in [
        run.exit_file(),
        run.started_file(),
        run.pid_file(),
        run.oom_file(),
    ] {
        let _ = std::fs::remove_file(f);
    }
    let (sig_reader, sig_writer) = UnixStream::pair()?;
    sig_reader.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, sig_writer)?;
    let sock_path = run.attach_socket();
    let _ = std::fs::remove_file(&sock_path);
    let (_dir, short) = sockpath::socket_path(&sock_path)?;
    let listener = UnixListener::bind(&short)?;
    std::fs::set_permissions(
        &sock_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    listener.set_nonblocking(true)?;
    let me = rustix::process::getpid().as_raw_nonzero().get() as i64;
    // An attaching client connects first and sends START, so it sees all the output. A
    // client that never comes (killed meanwhile) does not leave the container unstarted.
    let mut clients = Vec::new();
    if cfg.attach {
        reporter.send(&Report::Ready { monitor_pid: me });
        clients.extend(wait_for_start(&listener, Duration::from_secs(30)));
    }
    let (mut io, pid) = run_container(cfg)?;
    let oom = OomWatch::open(cfg.oom_events.as_deref(), run.oom_file());
    if cfg.watch_before_start {
        start_container(cfg)?;
    }
    let started = Started {
        pid: pid as i64,
        start_ticks: process::start_ticks(pid as i64).unwrap_or(0),
        monitor_pid: me,
        at: timestamp::now_nanos(),
    };
    write_replace(&run.started_file(), started.to_line().as_bytes())?;
    reporter.send(&Report::Started(started));
    reporter.close();
    let log = cfg.log.as_ref();
    let mut log = LogWriter::open(
        log.map(|l| l.path.as_path()),
        log.and_then(|l| l.max_size),
        log.map_or(1, |l| l.max_files),
    )?;
    let watches = Watches {
        deadline: cfg
            .timeout_secs
            .filter(|t| *t > 0)
            .map(|t| Instant::now() + Duration::from_secs(t.into())),
        health: cfg
            .health
            .as_ref()
            .filter(|h| h.every_secs > 0 && !h.command.is_empty())
            .map(|h| (h, Instant::now() + Duration::from_secs(h.every_secs))),
        oom,
    };
    let (code, mut clients) = relay(
        pid,
        &mut io,
        &listener,
        &sig_reader,
        &mut log,
        clients,
        watches,
    )?;
    write_replace(&run.exit_file(), code.to_string().as_bytes())?;
    for c in &mut clients {
        let _ = frame::write_frame(&mut c.stream, frame::EXIT, &code.to_be_bytes());
    }
    let taken = clients
        .iter_mut()
        .filter(|c| c.takes_over)
        .any(|c| took_over(c, Duration::from_secs(30)));
    Ok((!taken).then_some(code))
}

/// Waits for the client's second TAKEOVER (its cleanup is done); `false` if it goes
/// away or stays silent past `limit`.
fn took_over(c: &mut Client, limit: Duration) -> bool {
    let _ = c.stream.set_nonblocking(false);
    let _ = c.stream.set_read_timeout(Some(limit));
    let mut buf = [0u8; 4096];
    loop {
        loop {
            match c.frames.next_frame() {
                Ok(Some((frame::TAKEOVER, _))) => return true,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return false,
            }
        }
        match c.stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => c.frames.push(&buf[..n]),
        }
    }
}

/// Writes `data` to a temporary name, syncs it and renames it over `path`.
fn write_replace(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The runtime command line shared by every verb: `RUNTIME --root R [FLAGS]`.
fn runtime(cfg: &MonitorConfig) -> Command {
    let mut cmd = Command::new(&cfg.runtime.path);
    cmd.arg("--root")
        .arg(&cfg.runtime.root)
        .args(&cfg.runtime.flags);
    cmd
}

fn runtime_error(cfg: &MonitorConfig, what: &str) -> io::Error {
    let log = std::fs::read(cfg.run_dir.runtime_log()).unwrap_or_default();
    let _ = runtime(cfg)
        .args(["delete", "--force", &cfg.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    io::Error::other(format!(
        "{} run ({what}): {}",
        cfg.runtime.name,
        runtime_log::message(&log)
    ))
}

/// Creates and starts the container in one runtime call (only creates it with
/// `watch_before_start`); returns its stdio and pid.
fn run_container(cfg: &MonitorConfig) -> io::Result<(Io, i32)> {
    let run = &cfg.run_dir;
    let mut cmd = runtime(cfg);
    cmd.arg("--log")
        .arg(run.runtime_log())
        .args(["--log-format", "json"]);
    if cfg.watch_before_start {
        cmd.arg("create");
    } else {
        cmd.args(["run", "--detach"]);
    }
    cmd.arg("--bundle")
        .arg(&cfg.bundle)
        .arg("--pid-file")
        .arg(run.pid_file());
    let mut io = Io::default();
    let mut console_dir = None;
    let console = if cfg.tty {
        let sock = run.console_socket();
        let _ = std::fs::remove_file(&sock);
        let (dir, short) = sockpath::inheritable_socket_path(&sock)?;
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
        .map_err(|e| io::Error::other(format!("running {}: {e}", cfg.runtime.path.display())))?;
    drop(cmd); // our copies of the child's pipe ends
    if let Some(listener) = &console {
        match receive_console(listener, &mut child)? {
            Some(m) => {
                io.stdin = Some(m.try_clone()?);
                io.master = Some(m);
            }
            None => {
                let status = child.wait()?;
                return Err(runtime_error(cfg, &status.to_string()));
            }
        }
    }
    let status = child.wait()?;
    drop(console_dir);
    let _ = std::fs::remove_file(run.console_socket());
    if !status.success() {
        return Err(runtime_error(cfg, &status.to_string()));
    }
    let pid = std::fs::read_to_string(run.pid_file())?
        .trim()
        .parse()
        .map_err(|_| io::Error::other("the runtime wrote no container pid"))?;
    Ok((io, pid))
}

/// Starts the created container's process.
fn start_container(cfg: &MonitorConfig) -> io::Result<()> {
    let status = runtime(cfg)
        .arg("--log")
        .arg(cfg.run_dir.runtime_log())
        .args(["--log-format", "json", "start", &cfg.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| io::Error::other(format!("running {}: {e}", cfg.runtime.path.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(runtime_error(cfg, &status.to_string()))
    }
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
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits for a client to connect and send START; `None` after `limit` without one.
fn wait_for_start(listener: &UnixListener, limit: Duration) -> Option<Client> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let mut fds = [PollFd::new(listener, PollFlags::IN)];
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = poll(&mut fds, Some(&timespec(left)));
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ));
                let mut client = Client::new(s);
                // TAKEOVER may come first; START lets the process run.
                loop {
                    match frame::read_frame(&mut client.stream) {
                        Ok(Some((frame::TAKEOVER, _))) => client.takes_over = true,
                        Ok(Some((frame::START, _))) => {
                            let _ = client.stream.set_read_timeout(None);
                            let _ = client
                                .stream
                                .set_write_timeout(Some(Duration::from_secs(5)));
                            return Some(client);
                        }
                        _ => break,
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
    None
}

fn timespec(d: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as _,
    }
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

/// What the relay loop watches besides the streams: the `--timeout` kill, health
/// checks, and the cgroup's OOM record.
struct Watches<'a> {
    deadline: Option<Instant>,
    health: Option<(&'a Periodic, Instant)>,
    oom: OomWatch,
}

/// Starts a periodic command as a child (reaped with the others), so a slow health
/// check never stalls the relay.
fn spawn_quiet(command: &[String]) {
    if let Some((prog, args)) = command.split_first() {
        let _ = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

/// Relays until the container has exited and its output is drained; returns the exit
/// code and the clients still attached.
fn relay(
    pid: i32,
    io: &mut Io,
    listener: &UnixListener,
    sig: &UnixStream,
    log: &mut LogWriter,
    mut clients: Vec<Client>,
    watches: Watches<'_>,
) -> io::Result<(i32, Vec<Client>)> {
    let Watches {
        mut deadline,
        mut health,
        mut oom,
    } = watches;
    let mut exited: Option<(i32, Instant)> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let outputs_open = io.stdout.is_some() || io.stderr.is_some() || io.master.is_some();
        if let Some((code, at)) = exited {
            // Output may outlive init (a daemonised grandchild): stop once it goes quiet.
            if !outputs_open || at.elapsed() > Duration::from_millis(300) {
                return Ok((code, clients));
            }
        }
        if exited.is_none() {
            if let Some((h, next)) = health.as_mut().filter(|(_, n)| Instant::now() >= *n) {
                *next = Instant::now() + Duration::from_secs(h.every_secs);
                spawn_quiet(&h.command);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // --timeout: the process ran too long.
                deadline = None;
                if let Some(p) = Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
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
        let oom_index = fds.len();
        if let Some(f) = oom.fd() {
            fds.push(PollFd::from_borrowed_fd(f, PollFlags::PRI));
        }
        match poll(&mut fds, Some(&timespec(Duration::from_millis(100)))) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        // The kernel flags memory.events on every change; the init's exit is a last look.
        if ready.get(oom_index).is_some_and(|f| !f.is_empty()) || !ready[0].is_empty() {
            oom.check();
        }
        if !ready[0].is_empty() {
            let mut drain = [0u8; 64];
            while (&*sig).read(&mut drain).map(|n| n > 0).unwrap_or(false) {}
        }
        // Reap every child (the container's init, adopted orphans, health checks).
        while let Ok(Some((p, status))) = rustix::process::wait(WaitOptions::NOHANG) {
            if p.as_raw_nonzero().get() == pid {
                let code = exit_code(status);
                oom.last_look(code == 128 + 9);
                exited = Some((code, Instant::now()));
            }
        }
        if !ready[1].is_empty() {
            while let Ok((s, _)) = listener.accept() {
                let _ = s.set_nonblocking(false);
                let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                clients.push(Client::new(s));
            }
        }
        let mut idx = 2;
        for stream in [Stream::Stdout, Stream::Stderr] {
            let fd = match stream {
                Stream::Stdout => io.stdout.as_ref().or(io.master.as_ref()),
                Stream::Stderr => io.stderr.as_ref(),
            };
            let Some(fd) = fd else { continue };
            let flags = ready[idx];
            idx += 1;
            if flags.is_empty() {
                continue;
            }
            let n = match rustix::io::read(fd, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                Err(_) => 0,
            };
            if n == 0 {
                match stream {
                    Stream::Stdout => {
                        io.stdout = None;
                        io.master = None;
                    }
                    Stream::Stderr => io.stderr = None,
                }
                continue;
            }
            let data = &buf[..n];
            let _ = log.write(stream, data);
            let kind = match stream {
                Stream::Stdout => frame::STDOUT,
                Stream::Stderr => frame::STDERR,
            };
            clients.retain_mut(|c| frame::write_frame(&mut c.stream, kind, data).is_ok());
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
            if !client_input(c, io) {
                dead.push(i);
            }
        }
        for i in dead.into_iter().rev() {
            clients.remove(i);
        }
    }
}

/// Handles the complete frames a client sent; `false` when it spoke garbage.
fn client_input(c: &mut Client, io: &mut Io) -> bool {
    loop {
        match c.frames.next_frame() {
            Ok(Some((frame::STDIN, data))) => {
                if let Some(fd) = &io.stdin {
                    let _ = rustix::io::write(fd, &data);
                }
            }
            Ok(Some((frame::STDIN_CLOSE, _))) => {
                if io.master.is_none() {
                    io.stdin = None;
                }
            }
            Ok(Some((frame::TAKEOVER, _))) => c.takes_over = true,
            Ok(Some((frame::RESIZE, data))) if data.len() == 4 => {
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
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Becomes the engine's exit command (records the exit, cleans up, restarts); exits
/// with the container's code if there is none or it cannot be run.
fn run_exit_command(cfg: &MonitorConfig, code: i32) -> ! {
    if let Some((prog, args)) = cfg.exit_command.split_first() {
        let err = Command::new(prog)
            .args(args)
            .arg(code.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .exec();
        let _ = err;
    }
    std::process::exit(code.clamp(0, 255))
}
