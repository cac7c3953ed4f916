//! What host and guest of a machine agree on: the provisioning document the host hands
//! the guest agent at boot, and the vsock ports the agent serves.

use serde::{Deserialize, Serialize};

/// The engine API's port, served by the guest's `berth system service` itself. A
/// stream on it carries one host connection after another (sessions): each is framed
/// both ways (see `framing`) and over once both ends sent their end mark, when the
/// stream is ready for the next; either end closing the stream ends it for good.
pub const API_PORT: u32 = 1024;
/// The host's port the agent connects to once the API answers (`ready\n`).
pub const READY_PORT: u32 = 1025;
/// The agent's port for published ports: `tcp PORT\n`, then the connection's bytes;
/// or `udp PORT\n`, then one flow's datagrams, framed both ways.
pub const FORWARD_PORT: u32 = 1026;
/// The agent's port for the host's clock: `time UNIX_NANOS\n` sets the guest's (the
/// agent answers `ok\n`); `now\n` reads it (the agent answers `time UNIX_NANOS\n`).
pub const CLOCK_PORT: u32 = 1027;

/// The agent's port for the host's requests: `poweroff\n` shuts the guest down
/// cleanly (a guest without udev does not see ACPI's power button).
pub const CONTROL_PORT: u32 = 1028;

/// The first bytes of a provisioning seed disk (a raw disk: this line, then the JSON
/// document, then zeros), for hypervisors without QEMU's fw_cfg.
pub const SEED_MAGIC: &[u8] = b"BERTH-PROVISION-1\n";
/// The fw_cfg entry QEMU hands the document in.
pub const FW_CFG_NAME: &str = "opt/berth/provision";

/// A host folder the guest mounts (virtiofs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub tag: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

/// First-boot (and every-boot) settings of a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provision {
    /// The machine's name, which becomes the guest's host name.
    pub name: String,
    /// The user the host logs in as (the image's default user is renamed to it).
    pub username: String,
    /// Public keys (OpenSSH lines) allowed to log in as that user and as root.
    pub ssh_authorized_keys: Vec<String>,
    /// Serve the API as root (`/run/berth/berth.sock`) instead of as the user.
    pub rootful: bool,
    /// An IANA zone (`Europe/Paris`); empty keeps UTC.
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Name servers for /etc/resolv.conf (the provider's network knows them).
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// A fixed address for the first network interface (`10.0.2.15/24`) and its
    /// gateway, where the provider's network has them (QEMU's user network): no DHCP
    /// round to wait for. Without it the guest asks DHCP.
    #[serde(default)]
    pub static_network: Option<(String, String)>,
}

impl Provision {
    /// The seed disk's contents (padded to whole 512-byte sectors).
    pub fn seed_disk(&self) -> Vec<u8> {
        let mut out = SEED_MAGIC.to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out.push(b'\n');
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    /// Reads a document from a seed disk's first bytes, if it is one.
    pub fn from_seed(bytes: &[u8]) -> Option<Provision> {
        let rest = bytes.strip_prefix(SEED_MAGIC)?;
        let end = rest.iter().position(|&b| b == b'\n' || b == 0)?;
        serde_json::from_slice(&rest[..end]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_disk_round_trips_and_others_are_not_seeds() {
        let p = Provision {
            name: "m".into(),
            username: "core".into(),
            ssh_authorized_keys: vec!["ssh-ed25519 AAAA x".into()],
            rootful: true,
            timezone: "Europe/Paris".into(),
            mounts: vec![MountSpec {
                tag: "vol0".into(),
                target: "/home/core/src".into(),
                read_only: false,
            }],
            nameservers: vec!["10.0.2.3".into()],
            static_network: Some(("10.0.2.15/24".into(), "10.0.2.2".into())),
        };
        let disk = p.seed_disk();
        assert_eq!(disk.len() % 512, 0);
        assert_eq!(Provision::from_seed(&disk), Some(p));
        assert_eq!(Provision::from_seed(&[0u8; 512]), None);
        assert_eq!(Provision::from_seed(b"BERTH-PROVISION-1\n{bad"), None);
    }
}

/// Host-to-guest bytes on the API and forward ports travel in frames (a big-endian u32
/// length, then the bytes; length 0 is the host's half-close), since a vsock transport
/// may not pass a half-close on. Guest-to-host bytes are framed too on the API port
/// (its end mark ends a session: see `API_PORT`), and are plain on the forward port's
/// TCP connections, ending with the stream. A forwarded UDP flow frames both ways, a
/// datagram to a frame.
pub mod framing {
    use std::io::{self, Read, Write};

    /// Frames everything `from` yields onto `to`, then the end mark; each frame goes in
    /// one write (on vsock, one packet rather than two).
    pub fn send(mut from: impl Read, mut to: impl Write) -> io::Result<()> {
        let mut buf = vec![0u8; 4 + 64 * 1024];
        loop {
            let n = match from.read(&mut buf[4..]) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            buf[..4].copy_from_slice(&(n as u32).to_be_bytes());
            to.write_all(&buf[..4 + n])?;
            to.flush()?;
            if n == 0 {
                return Ok(());
            }
        }
    }

    /// One frame holding `data`.
    pub fn frame(data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(data);
        out
    }

    /// The largest datagram a UDP flow carries.
    pub const MAX_DATAGRAM: usize = 65535;

    /// The next frame of a UDP flow: `None` at the end mark or the stream's end; an
    /// error for a frame bigger than a datagram.
    pub fn read_datagram(mut from: impl Read) -> io::Result<Option<Vec<u8>>> {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).is_err() {
            return Ok(None);
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            return Ok(None);
        }
        if len > MAX_DATAGRAM {
            return Err(io::Error::other(format!("a {len}-byte datagram frame")));
        }
        let mut data = vec![0u8; len];
        from.read_exact(&mut data)?;
        Ok(Some(data))
    }

    /// Unframes `from` onto `to` until the end mark (`true`) or the stream's end
    /// (`false`).
    pub fn receive(mut from: impl Read, mut to: impl Write) -> io::Result<bool> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut len = [0u8; 4];
            if from.read_exact(&mut len).is_err() {
                return Ok(false);
            }
            let mut left = u32::from_be_bytes(len) as usize;
            if left == 0 {
                return Ok(true);
            }
            while left > 0 {
                let want = left.min(buf.len());
                from.read_exact(&mut buf[..want])?;
                to.write_all(&buf[..want])?;
                left -= want;
            }
            to.flush()?;
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn frames_carry_bytes_and_the_end() {
            let mut wire = Vec::new();
            super::send(&b"hello world"[..], &mut wire).expect("send");
            wire.extend_from_slice(b"after the end");
            let mut out = Vec::new();
            let mut rest = &wire[..];
            assert!(super::receive(&mut rest, &mut out).expect("receive"));
            assert_eq!(out, b"hello world");
            assert_eq!(rest, b"after the end");
            let mut cut = &super::frame(b"no end")[..];
            out.clear();
            assert!(!super::receive(&mut cut, &mut out).expect("receive"));
            assert_eq!(out, b"no end");
        }

        #[test]
        fn datagrams_keep_their_bounds() {
            let mut wire = super::frame(b"one");
            wire.extend(super::frame(b"two!"));
            wire.extend(super::frame(b""));
            let mut rest = &wire[..];
            assert_eq!(
                super::read_datagram(&mut rest).expect("read"),
                Some(b"one".to_vec())
            );
            assert_eq!(
                super::read_datagram(&mut rest).expect("read"),
                Some(b"two!".to_vec())
            );
            assert_eq!(super::read_datagram(&mut rest).expect("read"), None);
            assert_eq!(super::read_datagram(&mut rest).expect("read"), None);
            let big = (70_000u32).to_be_bytes();
            assert!(super::read_datagram(&big[..]).is_err());
        }
    }
}
