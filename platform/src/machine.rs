//! Machine lifecycle on the host: `init` (image, disks, SSH key, config), `start`
//! (provisioning document, the provider's processes, the agent's ready signal, the
//! forwarder that serves the host's API socket), `stop` (graceful power-off through
//! QMP, then `quit`), `rm`, `set`, and the state a machine is in. Every command that
//! changes a machine holds its lock.

use crate::config::{self, Dirs, MachineConfig, Volume};
use crate::image::{self, ImageError, Progress};
use crate::procs;
use crate::provider::{command_line, Provider, Share, VmSpec, VmState};
use crate::qemu::Qemu;
use crate::{qmp, sshkey, vsock};
use berth_types::machine::{MountSpec, Provision, READY_PORT};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}: VM does not exist")]
    NotFound(String),
    #[error("{0}: VM already exists")]
    Exists(String),
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    Failed(String),
    /// The guest did not signal readiness in time.
    #[error("{0}")]
    NotReady(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MachineError {
    let what = what.into();
    move |source| MachineError::Io { what, source }
}

pub type Result<T> = std::result::Result<T, MachineError>;

/// What `machine init` asks for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub name: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    pub image: String,
    pub rootful: bool,
    pub volumes: Vec<Volume>,
    pub username: String,
    pub user_mode_networking: bool,
    pub timezone: String,
    pub provision_override: Option<PathBuf>,
}

/// What a successful start reports.
#[derive(Debug, Clone)]
pub struct Started {
    pub api_socket: PathBuf,
    /// From starting the processes to the agent's ready signal.
    pub boot: Duration,
    /// Until the host's API socket answered.
    pub total: Duration,
}

/// The machines of this user, and the QEMU provider that runs them here.
pub struct Machines {
    pub dirs: Dirs,
    pub qemu: Qemu,
}

/// Whether an API socket answers `/_ping`.
pub fn api_answers(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Machines {
    pub fn from_env() -> Machines {
        Machines {
            dirs: Dirs::from_env(),
            qemu: Qemu::from_host(),
        }
    }

    pub fn api_socket(&self, name: &str) -> PathBuf {
        self.dirs.run_dir(name).join("api.sock")
    }

    pub fn ssh_key(&self, name: &str) -> PathBuf {
        self.dirs.data_dir(name).join("ssh").join("machine")
    }

    pub fn load(&self, name: &str) -> Result<MachineConfig> {
        config::valid_name(name).map_err(MachineError::Invalid)?;
        match self.dirs.load(name) {
            Ok(c) => Ok(c),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(MachineError::NotFound(name.to_string()))
            }
            Err(e) => Err(MachineError::Io {
                what: format!("reading machine {name}"),
                source: e,
            }),
        }
    }

    fn lock(&self, name: &str) -> Result<config::MachineLock> {
        self.dirs
            .lock(name)
            .map_err(io(format!("locking machine {name}")))
    }

    /// Running: QEMU is alive; starting: alive but the API socket does not answer yet.
    pub fn state(&self, name: &str) -> VmState {
        let run = self.dirs.run_dir(name);
        if !procs::alive(&Qemu::pid_file(&run)) {
            return VmState::Stopped;
        }
        if api_answers(&self.api_socket(name)) {
            VmState::Running
        } else {
            VmState::Starting
        }
    }

    pub fn init(
        &self,
        o: &InitOptions,
        insecure: bool,
        progress: Progress,
    ) -> Result<MachineConfig> {
        config::valid_name(&o.name).map_err(MachineError::Invalid)?;
        if o.cpus == 0 || o.memory_mib < 256 || o.disk_gib == 0 {
            return Err(MachineError::Invalid(format!(
                "invalid machine size: {} CPUs, {} MiB of memory, {} GiB of disk (at least 1, 256 and 1)",
                o.cpus, o.memory_mib, o.disk_gib
            )));
        }
        for v in &o.volumes {
            if !v.source.is_dir() {
                return Err(MachineError::Invalid(format!(
                    "volume source {} is not a folder",
                    v.source.display()
                )));
            }
        }
        let _lock = self.lock(&o.name)?;
        if self.dirs.exists(&o.name) {
            return Err(MachineError::Exists(o.name.clone()));
        }
        let data = self.dirs.data_dir(&o.name);
        let _ = fs::remove_dir_all(&data);
        let fetched = image::fetch(&o.image, &data, insecure, progress)?;
        let made = self.finish_init(o, &fetched);
        if made.is_err() {
            let _ = fs::remove_dir_all(&data);
        }
        made
    }

    fn finish_init(&self, o: &InitOptions, fetched: &image::Fetched) -> Result<MachineConfig> {
        let data = self.dirs.data_dir(&o.name);
        let image_size =
            image::qcow2_virtual_size(&fetched.disk).map_err(io("reading the image's size"))?;
        let wanted = o.disk_gib << 30;
        if wanted < image_size {
            return Err(MachineError::Invalid(format!(
                "disk size {} GiB is smaller than the image ({:.1} GiB)",
                o.disk_gib,
                image_size as f64 / (1u64 << 30) as f64
            )));
        }
        qemu_img(
            &["create", "-q", "-f", "qcow2"],
            &data.join("data.qcow2"),
            Some(o.disk_gib),
        )?;
        sshkey::generate(&data.join("ssh"), "machine", &format!("berth@{}", o.name))
            .map_err(io("making the SSH key"))?;
        let c = MachineConfig {
            name: o.name.clone(),
            provider: self.qemu.name().to_string(),
            cpus: o.cpus,
            memory_mib: o.memory_mib,
            disk_gib: o.disk_gib,
            image: o.image.clone(),
            image_digest: fetched.digest.clone(),
            rootful: o.rootful,
            username: o.username.clone(),
            volumes: o.volumes.clone(),
            user_mode_networking: o.user_mode_networking,
            ssh_port: config::free_port().map_err(io("finding a free SSH port"))?,
            timezone: o.timezone.clone(),
            created: now(),
            last_up: 0,
            provision_override: o.provision_override.clone(),
        };
        self.dirs
            .save(&c)
            .map_err(io("writing the machine's config"))?;
        Ok(c)
    }

    /// The provisioning document for a start.
    fn provision(&self, c: &MachineConfig) -> Result<Vec<u8>> {
        let key = sshkey::public_line(&self.ssh_key(&c.name))
            .map_err(io("reading the machine's public key"))?;
        let doc = Provision {
            name: c.name.clone(),
            username: c.username.clone(),
            ssh_authorized_keys: vec![key],
            rootful: c.rootful,
            timezone: c.timezone.clone(),
            mounts: shares(c)
                .iter()
                .map(|s| MountSpec {
                    tag: s.tag.clone(),
                    target: s.target.clone(),
                    read_only: s.read_only,
                })
                .collect(),
            nameservers: vec!["10.0.2.3".into()],
            // QEMU's user network: its fixed addresses.
            static_network: Some(("10.0.2.15/24".into(), "10.0.2.2".into())),
        };
        let mut value =
            serde_json::to_value(&doc).map_err(|e| MachineError::Failed(e.to_string()))?;
        if let Some(path) = &c.provision_override {
            let text = fs::read(path).map_err(io(format!("reading {}", path.display())))?;
            let extra: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
                MachineError::Invalid(format!(
                    "{}: not a JSON provisioning document: {e}",
                    path.display()
                ))
            })?;
            if let (Some(base), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
                for (k, v) in extra {
                    base.insert(k.clone(), v.clone());
                }
            }
            serde_json::from_value::<Provision>(value.clone())
                .map_err(|e| MachineError::Invalid(format!("{}: {e}", path.display())))?;
        }
        serde_json::to_vec(&value).map_err(|e| MachineError::Failed(e.to_string()))
    }

    fn spec(&self, c: &MachineConfig) -> VmSpec {
        let run = self.dirs.run_dir(&c.name);
        let data = self.dirs.data_dir(&c.name);
        VmSpec {
            name: c.name.clone(),
            cpus: c.cpus,
            memory_mib: c.memory_mib,
            kernel: data.join("vmlinuz"),
            cmdline: format!(
                "root={} rw console=ttyS0 quiet loglevel=3 systemd.show_status=false net.ifnames=0",
                self.qemu.root_device()
            ),
            disks: vec![data.join("os.qcow2"), data.join("data.qcow2")],
            shares: shares(c),
            channel: Qemu::channel(&run, 3),
            ssh_port: c.ssh_port,
            provision: run.join("provision.json"),
            run_dir: run,
        }
    }

    /// Boots the machine and serves its API on the host; `forwarder` is the command that
    /// runs the host side (`berth machine __forward NAME`).
    pub fn start(
        &self,
        name: &str,
        forwarder: Command,
        progress: &dyn Fn(&str),
    ) -> Result<Started> {
        let _lock = self.lock(name)?;
        let mut c = self.load(name)?;
        match self.state(name) {
            VmState::Stopped => {}
            _ => {
                return Err(MachineError::State(format!(
                    "machine {name}: VM already running or starting"
                )))
            }
        }
        let began = Instant::now();
        self.cleanup(name);
        let run = self.dirs.run_dir(name);
        fs::create_dir_all(&run).map_err(io(format!("creating {}", run.display())))?;
        if !config::port_free(c.ssh_port) {
            c.ssh_port = config::free_port().map_err(io("finding a free SSH port"))?;
            progress(&format!("SSH port taken; using {}", c.ssh_port));
            self.dirs
                .save(&c)
                .map_err(io("writing the machine's config"))?;
        }
        let spec = self.spec(&c);
        let timeout = Duration::from_secs(
            std::env::var("BERTH_MACHINE_BOOT_TIMEOUT")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(600),
        );
        // A guest silent for minutes has hung early in its boot (rarely seen under
        // software emulation): it is booted once more, in the time left.
        let first = timeout.min(Duration::from_secs(180));
        let mut forwarder = forwarder;
        let mut result = self.boot(&c, &spec, &mut forwarder, progress, began, first);
        if let (Err(MachineError::NotReady(why)), true) = (&result, timeout > first) {
            tracing::warn!(machine = name, "{why}");
            progress("The guest did not come up: booting it again");
            self.halt(name, true);
            fs::create_dir_all(&run).map_err(io(format!("creating {}", run.display())))?;
            result = self.boot(&c, &spec, &mut forwarder, progress, began, timeout - first);
        }
        if result.is_err() {
            self.halt(name, true);
        }
        result
    }

    fn boot(
        &self,
        c: &MachineConfig,
        spec: &VmSpec,
        forwarder: &mut Command,
        progress: &dyn Fn(&str),
        began: Instant,
        limit: Duration,
    ) -> Result<Started> {
        let run = &spec.run_dir;
        fs::write(&spec.provision, self.provision(c)?)
            .map_err(io("writing the provisioning document"))?;
        let ready = match &spec.channel {
            crate::Channel::HybridVsock { uds, .. } => {
                Some(vsock::listen(uds, READY_PORT).map_err(io("listening for the agent"))?)
            }
            _ => None,
        };
        progress("Starting the VM");
        let mut commands = self
            .qemu
            .start_commands(spec)
            .map_err(|e| MachineError::Failed(e.to_string()))?;
        let qemu_cmd = commands
            .pop()
            .ok_or_else(|| MachineError::Failed("no QEMU command".into()))?;
        if let Some(mut vhost) = self.qemu.vhost_vsock_command(&spec.channel) {
            commands.remove(0);
            procs::spawn(
                &mut vhost,
                &run.join("vhost-vsock.log"),
                &procs::pid_file(run, "vhost-vsock"),
            )
            .map_err(io("starting vhost-device-vsock"))?;
            if let crate::Channel::HybridVsock { control, .. } = &spec.channel {
                if !procs::wait_for_path(control, Duration::from_secs(10)) {
                    return Err(MachineError::Failed(format!(
                        "vhost-device-vsock did not start: {}",
                        procs::tail(&run.join("vhost-vsock.log"), 3)
                    )));
                }
            }
        }
        for (i, mut fsd) in commands.into_iter().enumerate() {
            procs::spawn(
                &mut fsd,
                &run.join(format!("virtiofsd-{i}.log")),
                &procs::pid_file(run, &format!("virtiofsd-{i}")),
            )
            .map_err(io("starting virtiofsd"))?;
            if !procs::wait_for_path(&Qemu::virtiofs_socket(run, i), Duration::from_secs(10)) {
                return Err(MachineError::Failed(format!(
                    "virtiofsd did not start: {}",
                    procs::tail(&run.join(format!("virtiofsd-{i}.log")), 3)
                )));
            }
        }
        let mut qemu_cmd = qemu_cmd;
        tracing::debug!(command = %command_line(&qemu_cmd), "starting qemu");
        let out = qemu_cmd
            .output()
            .map_err(io(format!("running {}", self.qemu.qemu.display())))?;
        if !out.status.success() {
            return Err(MachineError::Failed(format!(
                "QEMU failed to start: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let booted = Instant::now();
        progress("Waiting for the guest agent");
        self.wait_ready(c, spec, ready, booted, limit)?;
        let boot = booted.elapsed();
        procs::spawn(
            forwarder,
            &run.join("forward.log"),
            &procs::pid_file(run, "forward"),
        )
        .map_err(io("starting the forwarder"))?;
        let socket = self.api_socket(&c.name);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !api_answers(&socket) {
            if Instant::now() > deadline {
                return Err(MachineError::Failed(format!(
                    "the API socket {} did not answer: {}",
                    socket.display(),
                    procs::tail(&run.join("forward.log"), 3)
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut c = c.clone();
        c.last_up = now();
        self.dirs
            .save(&c)
            .map_err(io("writing the machine's config"))?;
        Ok(Started {
            api_socket: socket,
            boot,
            total: began.elapsed(),
        })
    }

    fn wait_ready(
        &self,
        c: &MachineConfig,
        spec: &VmSpec,
        ready: Option<std::os::unix::net::UnixListener>,
        since: Instant,
        timeout: Duration,
    ) -> Result<()> {
        let pid = Qemu::pid_file(&spec.run_dir);
        let console = Qemu::console_log(&spec.run_dir);
        let Some(listener) = ready else {
            return Err(MachineError::Failed(
                "this channel has no ready signal".into(),
            ));
        };
        listener
            .set_nonblocking(true)
            .map_err(io("listening for the agent"))?;
        loop {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut line = [0u8; 6];
                    if s.read_exact(&mut line).is_ok() && &line == b"ready\n" {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io("waiting for the agent")(e)),
            }
            if !procs::alive(&pid) {
                return Err(MachineError::Failed(format!(
                    "machine {}: QEMU exited while booting: {}",
                    c.name,
                    procs::tail(&console, 5)
                )));
            }
            if since.elapsed() > timeout {
                return Err(MachineError::NotReady(format!(
                    "machine {}: the guest agent was not ready after {} s: {}",
                    c.name,
                    timeout.as_secs(),
                    procs::tail(&console, 5)
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops every host process of the machine (gracefully asks QEMU first unless `hard`).
    fn halt(&self, name: &str, hard: bool) {
        let run = self.dirs.run_dir(name);
        let pid = Qemu::pid_file(&run);
        if procs::alive(&pid) {
            let session = qmp::Session::connect(&Qemu::qmp_socket(&run));
            if !hard {
                // The agent shuts the guest down; QMP's power button is the fallback.
                let asked = vsock::poweroff(&run.join("vsock.sock")).is_ok();
                if let (false, Ok(s)) = (asked, &session) {
                    let _ = s.powerdown();
                }
                let timeout = Duration::from_secs(
                    std::env::var("BERTH_MACHINE_STOP_TIMEOUT")
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(90),
                );
                let deadline = Instant::now() + timeout;
                while procs::alive(&pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            if procs::alive(&pid) {
                if let Ok(s) = &session {
                    let _ = s.quit();
                }
                let deadline = Instant::now() + Duration::from_secs(5);
                while procs::alive(&pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            procs::stop(&pid, Duration::from_secs(2));
        }
        self.cleanup(name);
    }

    /// Ends the helper processes and removes the runtime folder.
    fn cleanup(&self, name: &str) {
        let run = self.dirs.run_dir(name);
        let Ok(entries) = fs::read_dir(&run) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pid") {
                procs::stop(&p, Duration::from_secs(2));
            }
        }
        let _ = fs::remove_dir_all(&run);
    }

    pub fn stop(&self, name: &str) -> Result<()> {
        let _lock = self.lock(name)?;
        self.load(name)?;
        self.halt(name, false);
        Ok(())
    }

    /// Removes the machine; with `save_image`, its OS disk and kernel are kept in a
    /// folder of their own, which is returned.
    pub fn remove(&self, name: &str, force: bool, save_image: bool) -> Result<Option<PathBuf>> {
        let _lock = self.lock(name)?;
        self.load(name)?;
        if self.state(name) != VmState::Stopped {
            if !force {
                return Err(MachineError::State(format!(
                    "machine {name} is running: stop it first, or remove it with --force"
                )));
            }
            self.halt(name, true);
        }
        let saved = if save_image {
            let dir = self.dirs.data.join(format!("{name}-image"));
            fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
            let data = self.dirs.data_dir(name);
            for f in ["os.qcow2", "vmlinuz"] {
                fs::rename(data.join(f), dir.join(f)).map_err(io(format!("keeping {f}")))?;
            }
            Some(dir)
        } else {
            None
        };
        self.cleanup(name);
        self.dirs
            .remove(name)
            .map_err(io(format!("removing machine {name}")))?;
        Ok(saved)
    }

    /// Changes a stopped machine's CPUs, memory, data disk size (grow only) or mode.
    pub fn set(
        &self,
        name: &str,
        cpus: Option<u32>,
        memory_mib: Option<u64>,
        disk_gib: Option<u64>,
        rootful: Option<bool>,
    ) -> Result<MachineConfig> {
        let _lock = self.lock(name)?;
        let mut c = self.load(name)?;
        if self.state(name) != VmState::Stopped
            && (cpus.is_some() || memory_mib.is_some() || disk_gib.is_some())
        {
            return Err(MachineError::State(format!(
                "machine {name} is running: stop it to change its size"
            )));
        }
        if let Some(n) = cpus {
            if n == 0 {
                return Err(MachineError::Invalid("--cpus must be at least 1".into()));
            }
            c.cpus = n;
        }
        if let Some(m) = memory_mib {
            if m < 256 {
                return Err(MachineError::Invalid(
                    "--memory must be at least 256 MiB".into(),
                ));
            }
            c.memory_mib = m;
        }
        if let Some(d) = disk_gib {
            if d < c.disk_gib {
                return Err(MachineError::Invalid(format!(
                    "new disk size must be larger than the current {} GiB",
                    c.disk_gib
                )));
            }
            if d > c.disk_gib {
                qemu_img(
                    &["resize", "-q", "-f", "qcow2"],
                    &self.dirs.data_dir(name).join("data.qcow2"),
                    Some(d),
                )?;
                c.disk_gib = d;
            }
        }
        if let Some(r) = rootful {
            c.rootful = r;
        }
        self.dirs
            .save(&c)
            .map_err(io("writing the machine's config"))?;
        Ok(c)
    }

    /// Replaces a stopped machine's OS disk with another image; its data disk stays.
    pub fn os_apply(
        &self,
        name: &str,
        image_source: &str,
        insecure: bool,
        progress: Progress,
    ) -> Result<MachineConfig> {
        let _lock = self.lock(name)?;
        let mut c = self.load(name)?;
        if self.state(name) != VmState::Stopped {
            return Err(MachineError::State(format!(
                "machine {name} is running: stop it to apply an image"
            )));
        }
        let staging = self.dirs.data.join(format!(".{name}-apply"));
        let _ = fs::remove_dir_all(&staging);
        let fetched = image::fetch(image_source, &staging, insecure, progress)?;
        let data = self.dirs.data_dir(name);
        for (from, to) in [(&fetched.disk, "os.qcow2"), (&fetched.kernel, "vmlinuz")] {
            fs::rename(from, data.join(to)).map_err(io(format!("placing {to}")))?;
        }
        let _ = fs::remove_dir_all(&staging);
        c.image = image_source.to_string();
        c.image_digest = fetched.digest;
        self.dirs
            .save(&c)
            .map_err(io("writing the machine's config"))?;
        Ok(c)
    }
}

fn shares(c: &MachineConfig) -> Vec<Share> {
    c.volumes
        .iter()
        .enumerate()
        .map(|(i, v)| Share {
            source: v.source.clone(),
            target: v.target.clone(),
            tag: format!("vol{i}"),
            read_only: v.read_only,
        })
        .collect()
}

fn qemu_img(args: &[&str], file: &Path, gib: Option<u64>) -> Result<()> {
    let mut c = Command::new("qemu-img");
    c.args(args).arg(file);
    if let Some(g) = gib {
        c.arg(format!("{g}G"));
    }
    let out = c.output().map_err(io("running qemu-img"))?;
    if !out.status.success() {
        return Err(MachineError::Failed(format!(
            "qemu-img {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
