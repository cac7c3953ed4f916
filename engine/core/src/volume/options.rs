//! The local driver's `-o` options, checked as Podman checks them: `type`, `device`,
//! `o` (mount options, whose `uid=`/`gid=` set the volume's owner), `uid`, `gid`,
//! `size`, `inodes`, `noquota`, `copy`, `nocopy`. The container side reads them back
//! to mount the volume (`type`, `device`, `o`) and to decide on copy-up.

use super::VolumeError;
use std::collections::BTreeMap;

const KNOWN: &[&str] = &[
    "o", "type", "uid", "gid", "size", "inodes", "noquota", "copy", "nocopy", "device",
];

/// Options as stored, plus the owner they ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedOptions {
    pub stored: BTreeMap<String, String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

fn id(which: &str, value: &str) -> Result<u32, VolumeError> {
    value.parse::<u32>().map_err(|e| {
        VolumeError::Option(format!(
            "cannot convert {which} {value} to integer: {e}: invalid argument"
        ))
    })
}

/// Validates `options` for the local driver. `o=uid=N,gid=M` also records `UID`/`GID`
/// (as Podman does); a top-level `uid`/`gid` sets the owner too.
pub fn parse(options: &BTreeMap<String, String>) -> Result<ParsedOptions, VolumeError> {
    let mut out = ParsedOptions {
        stored: options.clone(),
        ..ParsedOptions::default()
    };
    for (key, value) in options {
        let lower = key.to_ascii_lowercase();
        if !KNOWN.contains(&lower.as_str()) {
            return Err(VolumeError::Option(format!(
                "invalid mount option {key} for driver 'local': invalid argument"
            )));
        }
        match lower.as_str() {
            "uid" => out.uid = Some(id("UID", value)?),
            "gid" => out.gid = Some(id("GID", value)?),
            "device" if is_bind(options) => {
                if let Err(e) = std::fs::metadata(value) {
                    return Err(VolumeError::Option(format!(
                        "invalid volume option device for driver 'local': stat {value}: {e}"
                    )));
                }
            }
            "o" => {
                for o in value.split(',') {
                    let (k, v) = match o.split_once('=') {
                        Some((k, v)) => (k, Some(v)),
                        None => (o, None),
                    };
                    match (k.to_ascii_lowercase().as_str(), v) {
                        ("uid", Some(v)) => {
                            let uid = id("UID", v)?;
                            out.uid = Some(uid);
                            out.stored.insert("UID".into(), uid.to_string());
                        }
                        ("gid", Some(v)) => {
                            let gid = id("GID", v)?;
                            out.gid = Some(gid);
                            out.stored.insert("GID".into(), gid.to_string());
                        }
                        ("uid", None) | ("gid", None) => {
                            return Err(VolumeError::Option(format!(
                                "{k} option must provide a {}: invalid argument",
                                k.to_ascii_uppercase()
                            )))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn is_bind(options: &BTreeMap<String, String>) -> bool {
    options
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("type") && v.eq_ignore_ascii_case("bind"))
}

/// The owner stored options ask for: `UID`/`GID` (from `o=`), else `uid`/`gid`.
pub fn owner(stored: &BTreeMap<String, String>) -> (Option<u32>, Option<u32>) {
    let get = |upper: &str, lower: &str| {
        stored
            .get(upper)
            .or_else(|| stored.get(lower))
            .and_then(|v| v.parse::<u32>().ok())
    };
    (get("UID", "uid"), get("GID", "gid"))
}

/// `nocopy`, or `copy=false`: the image's content is never copied into the volume.
pub fn copy_disabled(stored: &BTreeMap<String, String>) -> bool {
    stored.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("nocopy")
            || (k.eq_ignore_ascii_case("copy")
                && matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn mount_option_uid_and_gid_set_the_owner_and_are_recorded() {
        let p = parse(&map(&[("o", "uid=1000,gid=1001,nodev")])).expect("valid");
        assert_eq!((p.uid, p.gid), (Some(1000), Some(1001)));
        assert_eq!(
            p.stored,
            map(&[
                ("o", "uid=1000,gid=1001,nodev"),
                ("UID", "1000"),
                ("GID", "1001")
            ])
        );
        assert_eq!(owner(&p.stored), (Some(1000), Some(1001)));
    }

    #[test]
    fn top_level_uid_sets_the_owner_and_is_kept_as_given() {
        let p = parse(&map(&[("uid", "5"), ("type", "tmpfs")])).expect("valid");
        assert_eq!((p.uid, p.gid), (Some(5), None));
        assert_eq!(p.stored, map(&[("uid", "5"), ("type", "tmpfs")]));
    }

    #[test]
    fn unknown_keys_and_bad_ids_are_refused_with_podmans_words() {
        let e = parse(&map(&[("foo", "bar")])).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "invalid mount option foo for driver 'local': invalid argument"
        );
        let e = parse(&map(&[("o", "uid")])).expect_err("no value");
        assert_eq!(
            e.to_string(),
            "uid option must provide a UID: invalid argument"
        );
        assert!(parse(&map(&[("o", "uid=abc")]))
            .expect_err("not a number")
            .to_string()
            .starts_with("cannot convert UID abc to integer"));
        assert!(parse(&map(&[("type", "bind"), ("device", "/nonexistent/x")])).is_err());
    }

    #[test]
    fn copy_can_be_switched_off() {
        assert!(copy_disabled(&map(&[("nocopy", "")])));
        assert!(copy_disabled(&map(&[("copy", "false")])));
        assert!(!copy_disabled(&map(&[("copy", "true")])));
        assert!(!copy_disabled(&map(&[])));
    }
}
