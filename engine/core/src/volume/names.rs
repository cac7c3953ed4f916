//! Volume names: Podman's rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`) and random 64-hex names
//! for volumes created without one.

use super::VolumeError;
use std::io::Read;

/// Accepts Podman's volume names; anything else (a `/`, a leading `.` or `-`) is refused,
/// so a name is always one path component and never a hidden entry of the volumes dir.
pub fn validate(name: &str) -> Result<(), VolumeError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(VolumeError::InvalidName(name.to_string()))
    }
}

/// 64 random hex digits, as Podman names volumes created without a name.
pub fn random() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_podmans_pattern() {
        for ok in ["v", "a.b-c_d", "0", "Vol1"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "_x", "a/b", "..", "a b", "é"] {
            assert!(
                matches!(validate(bad), Err(VolumeError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn random_names_are_64_hex_and_valid() {
        let n = random().expect("urandom");
        assert_eq!(n.len(), 64);
        assert!(n.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(validate(&n).is_ok());
        assert_ne!(n, random().expect("urandom"));
    }
}
