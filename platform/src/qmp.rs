//! QEMU's machine protocol (QMP) over the machine's `qmp.sock`, through the `qapi`
//! crate: the run state, a graceful `system_powerdown`, and `quit`.

use qapi::{qmp, Qmp};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// One QMP session.
pub struct Session {
    stream: UnixStream,
}

impl Session {
    /// Connects and negotiates capabilities.
    pub fn connect(socket: &Path) -> std::io::Result<Session> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut q = Qmp::from_stream(&stream);
        q.handshake().map_err(std::io::Error::from)?;
        Ok(Session { stream })
    }

    fn qmp(&self) -> Qmp<qapi::Stream<std::io::BufReader<&UnixStream>, &UnixStream>> {
        Qmp::from_stream(&self.stream)
    }

    /// QEMU's run state (`running`, `paused`, `shutdown`…).
    pub fn status(&self) -> std::io::Result<String> {
        let info = self
            .qmp()
            .execute(&qmp::query_status {})
            .map_err(std::io::Error::from)?;
        let name = serde_json::to_value(info.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Ok(name)
    }

    /// Asks the guest to power off (ACPI), as pressing the power button does.
    pub fn powerdown(&self) -> std::io::Result<()> {
        self.qmp()
            .execute(&qmp::system_powerdown {})
            .map(|_| ())
            .map_err(std::io::Error::from)
    }

    /// Ends QEMU at once.
    pub fn quit(&self) -> std::io::Result<()> {
        self.qmp()
            .execute(&qmp::quit {})
            .map(|_| ())
            .map_err(std::io::Error::from)
    }
}
