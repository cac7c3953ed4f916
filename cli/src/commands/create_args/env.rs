//! The container's environment (`--env-host` < `--env-file` < `-e`) and its labels
//! (`--label-file` < `-l`) and annotations, assembled the way Podman's `pkg/env` does.

use super::host::Host;
use super::{invalid, ArgError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `KEY=VALUE` pairs: later sources override earlier ones, a variable keeps the
/// place where it first appeared.
pub fn environment(
    env_host: bool,
    files: &[PathBuf],
    flags: &[String],
    host: &dyn Host,
) -> Result<Vec<String>, ArgError> {
    let mut env = OrderedEnv::default();
    if env_host {
        for (key, value) in host.vars() {
            env.set(&key, &value);
        }
    }
    for path in files {
        for line in file_lines("--env-file", path, host)? {
            parse_env(&line, host, &mut env).map_err(|reason| ArgError::FileContent {
                flag: "--env-file",
                path: path.clone(),
                reason,
            })?;
        }
    }
    for flag in flags {
        parse_env(flag, host, &mut env).map_err(|reason| invalid("-e, --env", flag, reason))?;
    }
    Ok(env
        .entries
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

/// Labels from `--label-file` lines (`KEY=VALUE`; a bare `KEY` line sets nothing),
/// then `-l KEY[=VALUE]` (a bare key is an empty label).
pub fn labels(
    files: &[PathBuf],
    flags: &[String],
    host: &dyn Host,
) -> Result<BTreeMap<String, String>, ArgError> {
    let mut labels = BTreeMap::new();
    for path in files {
        for line in file_lines("--label-file", path, host)? {
            let (key, value) = line.split_once('=').unwrap_or((&line, ""));
            let name = checked_name(key, &line).map_err(|reason| ArgError::FileContent {
                flag: "--label-file",
                path: path.clone(),
                reason,
            })?;
            if line.contains('=') {
                labels.insert(name.to_string(), value.to_string());
            }
        }
    }
    for flag in flags {
        let (key, value) = flag.split_once('=').unwrap_or((flag, ""));
        if key.is_empty() {
            return Err(invalid("-l, --label", flag, "invalid label format"));
        }
        labels.insert(key.to_string(), value.to_string());
    }
    Ok(labels)
}

/// `--annotation KEY=VALUE`.
pub fn annotations(flags: &[String]) -> Result<BTreeMap<String, String>, ArgError> {
    flags
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(invalid(
                "--annotation",
                a,
                "annotations must be formatted KEY=VALUE",
            )),
        })
        .collect()
}

/// The meaningful lines of an env or label file: leading blanks trimmed, empty lines
/// and `#` comments skipped, CRLF endings accepted.
fn file_lines(flag: &'static str, path: &Path, host: &dyn Host) -> Result<Vec<String>, ArgError> {
    let text = host
        .read_to_string(path)
        .map_err(|source| ArgError::ReadFile {
            flag,
            path: path.to_path_buf(),
            source,
        })?;
    Ok(text
        .lines()
        .map(|l| l.trim_start_matches([' ', '\t']))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// One `-e` value or env-file line: `KEY=VALUE` sets, `KEY` copies the host's value
/// (nothing when unset), `PREFIX*` copies every host variable starting with PREFIX.
fn parse_env(entry: &str, host: &dyn Host, env: &mut OrderedEnv) -> Result<(), String> {
    let (key, value) = match entry.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (entry, None),
    };
    let name = checked_name(key, entry)?;
    match value {
        Some(value) => env.set(name, value),
        None => match name.strip_suffix('*') {
            Some(prefix) => {
                for (k, v) in host.vars() {
                    if k.starts_with(prefix) {
                        env.set(&k, &v);
                    }
                }
            }
            None => {
                if let Some(v) = host.var(name) {
                    env.set(name, &v);
                }
            }
        },
    }
    Ok(())
}

/// A variable or label name: leading blanks dropped, none inside, not empty.
fn checked_name<'a>(key: &'a str, entry: &str) -> Result<&'a str, String> {
    let name = key.trim_start_matches([' ', '\t']);
    if name.is_empty() {
        return Err(format!("invalid variable: {entry:?}"));
    }
    if name.contains([' ', '\t']) {
        return Err(format!(
            "name {name:?} has white spaces, poorly formatted name"
        ));
    }
    Ok(name)
}

#[derive(Default)]
struct OrderedEnv {
    entries: Vec<(String, String)>,
}

impl OrderedEnv {
    fn set(&mut self, key: &str, value: &str) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.entries.push((key.to_string(), value.to_string())),
        }
    }
}
