//! Where the container's output goes: `--log-driver` and `--log-opt`.

use super::units::from_human_size;
use super::{invalid, ArgError};
use std::collections::BTreeMap;

/// The drivers Berth implements; `json-file` is Podman's alias for `k8s-file`.
const DRIVERS: [&str; 3] = ["k8s-file", "json-file", "none"];

/// `--log-driver`, `k8s-file` when not given.
pub fn log_driver(value: Option<&str>) -> Result<String, ArgError> {
    match value.unwrap_or("k8s-file") {
        d if DRIVERS.contains(&d) => Ok(d.to_string()),
        d @ ("journald" | "passthrough" | "passthrough-tty") => Err(ArgError::Unsupported(
            format!("log driver {d:?} is not supported yet; use k8s-file, json-file or none"),
        )),
        d => Err(invalid(
            "--log-driver",
            d,
            "invalid log driver: use k8s-file, json-file or none",
        )),
    }
}

/// `--log-opt NAME=VALUE`: `path` (absolute), `max-size` (given back in bytes,
/// decimal units as Podman reads them: `10m` is 10000000), `max-file` (a count) and
/// `tag`. Names are case-insensitive.
pub fn log_opts(flags: &[String]) -> Result<BTreeMap<String, String>, ArgError> {
    const FLAG: &str = "--log-opt";
    let mut out = BTreeMap::new();
    for flag in flags {
        let Some((name, value)) = flag.split_once('=') else {
            return Err(invalid(FLAG, flag, "expected NAME=VALUE"));
        };
        let name = name.to_ascii_lowercase();
        let value = match name.as_str() {
            "max-size" => match from_human_size(value) {
                Some(bytes) if bytes > 0 => bytes.to_string(),
                _ => return Err(invalid(FLAG, flag, format!("invalid size: '{value}'"))),
            },
            "max-file" => match value.parse::<u32>() {
                Ok(n) if n > 0 => n.to_string(),
                _ => {
                    return Err(invalid(
                        FLAG,
                        flag,
                        "max-file must be a number greater than 0",
                    ))
                }
            },
            "path" if value.starts_with('/') => value.to_string(),
            "path" => return Err(invalid(FLAG, flag, "path must be absolute")),
            "tag" => value.to_string(),
            _ => {
                return Err(invalid(
                    FLAG,
                    flag,
                    format!("unknown log option {name:?}: use path, max-size, max-file or tag"),
                ))
            }
        };
        out.insert(name, value);
    }
    Ok(out)
}
