//! `machine ssh`: a session to the machine's forwarded SSH port with its own key
//! (russh). The guest's host key is trusted on first use and pinned in the machine's
//! folder; a command runs with its output and exit code relayed, no command opens a
//! shell (on a pty when stdin is a terminal).

use russh::client;
use russh::keys::{self, PrivateKeyWithHashAlg};
use russh::ChannelMsg;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where to log in.
#[derive(Debug, Clone)]
pub struct Target {
    pub port: u16,
    pub user: String,
    pub key: PathBuf,
    /// The pinned host key (`known_host`, one OpenSSH public key line).
    pub known_host: PathBuf,
}

struct Pinning {
    file: PathBuf,
}

impl client::Handler for Pinning {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        let line = key.to_openssh().map_err(|_| russh::Error::UnknownKey)?;
        match std::fs::read_to_string(&self.file) {
            Ok(pinned) => Ok(pinned.trim() == line.trim()),
            // First contact after a (re)provisioned boot: pin it.
            Err(_) => Ok(std::fs::write(&self.file, format!("{line}\n")).is_ok()),
        }
    }
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Forgets the pinned host key (a machine's guest makes a new one when its OS disk is new).
pub fn forget_host(known_host: &Path) {
    let _ = std::fs::remove_file(known_host);
}

/// Where a session's bytes come from and go to.
struct Io {
    input: Option<Box<dyn Read + Send>>,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// Runs `command` (a shell when `None`) on this terminal, stdin relayed to it (its end
/// too, as ssh does); returns its exit code.
pub fn run(t: &Target, command: Option<String>, tty: bool) -> io::Result<i32> {
    let stdio = Io {
        input: Some(Box::new(io::stdin())),
        out: Box::new(io::stdout()),
        err: Box::new(io::stderr()),
    };
    runtime()?.block_on(session(t, command, tty, stdio))
}

/// A shell word for the guest.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Writes `input` to `remote` in the machine (through `cat`); the exit code.
pub fn copy_in(t: &Target, input: impl Read + Send + 'static, remote: &str) -> io::Result<i32> {
    let stdio = Io {
        input: Some(Box::new(input)),
        out: Box::new(io::sink()),
        err: Box::new(io::stderr()),
    };
    runtime()?.block_on(session(
        t,
        Some(format!("cat > {}", quote(remote))),
        false,
        stdio,
    ))
}

/// Reads `remote` in the machine into `output`; the exit code.
pub fn copy_out(t: &Target, remote: &str, output: impl Write + Send + 'static) -> io::Result<i32> {
    let stdio = Io {
        input: None,
        out: Box::new(output),
        err: Box::new(io::stderr()),
    };
    runtime()?.block_on(session(
        t,
        Some(format!("cat {}", quote(remote))),
        false,
        stdio,
    ))
}

/// Connects, retrying for a few seconds: right after `machine start` the guest's sshd may
/// still be starting behind QEMU's forwarded port, which then resets the connection.
async fn connect(t: &Target, config: Arc<client::Config>) -> io::Result<client::Handle<Pinning>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pin = Pinning {
            file: t.known_host.clone(),
        };
        match client::connect(config.clone(), ("127.0.0.1", t.port), pin).await {
            Ok(h) => return Ok(h),
            Err(e) if std::time::Instant::now() < deadline && transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await
            }
            Err(e) => return Err(other(format!("connecting to 127.0.0.1:{}: {e}", t.port))),
        }
    }
}

/// Whether a failed connection may work when tried again (nothing answered yet).
fn transient(e: &russh::Error) -> bool {
    match e {
        russh::Error::IO(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::BrokenPipe
        ),
        russh::Error::Disconnect | russh::Error::HUP => true,
        _ => false,
    }
}

async fn session(t: &Target, command: Option<String>, tty: bool, mut stdio: Io) -> io::Result<i32> {
    let config = Arc::new(client::Config::default());
    let mut handle = connect(t, config).await?;
    let key = keys::load_secret_key(&t.key, None)
        .map_err(|e| other(format!("reading {}: {e}", t.key.display())))?;
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(other)?
        .flatten();
    let auth = handle
        .authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(other)?;
    if !auth.success() {
        return Err(other(format!(
            "{}@machine refused the machine's key",
            t.user
        )));
    }
    let mut channel = handle.channel_open_session().await.map_err(other)?;
    if tty {
        let (cols, rows) = terminal_size();
        channel
            .request_pty(
                false,
                &std::env::var("TERM").unwrap_or_else(|_| "xterm".into()),
                cols,
                rows,
                0,
                0,
                &[],
            )
            .await
            .map_err(other)?;
    }
    match &command {
        Some(c) => channel.exec(true, c.as_bytes()).await.map_err(other)?,
        None => channel.request_shell(true).await.map_err(other)?,
    }
    if let Some(mut input) = stdio.input.take() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = input.read(&mut buf) {
                if n == 0 || tx.blocking_send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let writer = channel.make_writer();
        let eof = channel.make_writer();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut writer, mut eof) = (writer, eof);
            while let Some(chunk) = rx.recv().await {
                if writer.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            let _ = writer.flush().await;
            let _ = eof.shutdown().await;
        });
    }
    let mut code = None;
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                stdio.out.write_all(&data)?;
                stdio.out.flush()?;
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                stdio.err.write_all(&data)?;
                stdio.err.flush()?;
            }
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i32),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    let _ = handle
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    Ok(code.unwrap_or(255))
}

fn terminal_size() -> (u32, u32) {
    match rustix::termios::tcgetwinsize(io::stdout()) {
        Ok(w) if w.ws_col > 0 => (u32::from(w.ws_col), u32::from(w.ws_row)),
        _ => (80, 24),
    }
}
