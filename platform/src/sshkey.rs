//! The machine's SSH key pair: ed25519, made at `machine init` from the kernel's
//! randomness (the `ssh-key` crate, as russh carries it), written as OpenSSH files:
//! the private key 0600 (temp file, fsync, rename), the public key beside it.

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::PrivateKey;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// Makes `dir/NAME` and `dir/NAME.pub`; returns the private key's path and the
/// public key's OpenSSH line.
pub fn generate(dir: &Path, name: &str, comment: &str) -> std::io::Result<(PathBuf, String)> {
    let mut seed = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    key.set_comment(comment);
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(std::io::Error::other)?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(std::io::Error::other)?;
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    write_private(&path, &private)?;
    fs::write(dir.join(format!("{name}.pub")), format!("{public}\n"))?;
    Ok((path, public))
}

/// The public key's line of a key made by [`generate`].
pub fn public_line(private: &Path) -> std::io::Result<String> {
    let mut p = private.as_os_str().to_owned();
    p.push(".pub");
    Ok(fs::read_to_string(PathBuf::from(p))?.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_ed25519_private_and_fresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, public) = generate(dir.path(), "machine", "berth@m1").expect("generate");
        assert!(
            public.starts_with("ssh-ed25519 ") && public.ends_with(" berth@m1"),
            "{public}"
        );
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let loaded = russh::keys::load_secret_key(&path, None).expect("loads");
        assert_eq!(loaded.public_key().to_openssh().expect("openssh"), public);
        assert_eq!(public_line(&path).expect("pub"), public);
        let (_, other) = generate(dir.path(), "other", "berth@m1").expect("generate");
        assert_ne!(other, public);
    }
}
