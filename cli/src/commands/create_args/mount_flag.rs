//! `--mount type=bind|volume|tmpfs,KEY[=VALUE],…`: Podman's key names and their
//! translation into mount options (`readonly` is `ro`, `relabel=private` is `Z`…).

use super::host::Host;
use super::mounts::{destination, host_path, volume_name, volume_options, PROPAGATION};
use super::{invalid, ArgError};
use berth_types::container::{MountKind, MountSpec};

const MOUNT: &str = "--mount";

/// `--mount type=bind|volume|tmpfs,KEY[=VALUE],…` (comma-separated, CSV quoting).
/// A bind without a source binds the destination's own host path, as in Podman.
pub(super) fn parse(spec: &str, host: &dyn Host) -> Result<MountSpec, ArgError> {
    let fail = |reason: String| invalid(MOUNT, spec, reason);
    let format_error = || fail(FORMAT.to_string());
    let fields = split_csv(spec).ok_or_else(format_error)?;
    let type_at = fields
        .iter()
        .position(|f| f.strip_prefix("type=").is_some_and(|t| !t.contains('=')))
        .ok_or_else(format_error)?;
    let kind = match &fields[type_at]["type=".len()..] {
        "bind" => MountKind::Bind,
        "volume" => MountKind::Volume,
        "tmpfs" => MountKind::Tmpfs,
        t @ ("glob" | "image" | "devpts" | "ramfs" | "artifact") => {
            return Err(ArgError::Unsupported(format!(
                "--mount type={t} is not supported yet; use bind, volume or tmpfs"
            )))
        }
        t => return Err(fail(format!("invalid filesystem type {t:?}"))),
    };
    let (mut source, mut dest, mut options) = (None::<String>, None::<String>, Vec::new());
    let mut seen: Vec<&str> = Vec::new();
    for (_, field) in fields.iter().enumerate().filter(|(i, _)| *i != type_at) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field.as_str(), None),
        };
        let needs_value =
            || value.ok_or_else(|| fail(format!("{key}: must provide an argument for option")));
        let only = |allowed: MountKind| match kind == allowed {
            true => Ok(()),
            false => Err(fail(format!(
                "{key:?} option not supported for {} mount types",
                kind_name(kind)
            ))),
        };
        // Keys that may appear once, grouped with their synonyms.
        let group = match key {
            "src" | "source" => "source",
            "dst" | "destination" | "target" => "destination",
            "ro" | "readonly" | "rw" => "'readonly', 'ro' or 'rw'",
            "U" | "chown" => "'U' or 'chown'",
            other => other,
        };
        if [
            "source",
            "destination",
            "'readonly', 'ro' or 'rw'",
            "'U' or 'chown'",
            "relabel",
        ]
        .contains(&group)
        {
            if seen.contains(&group) {
                return Err(fail(format!("cannot pass {group} more than once")));
            }
            seen.push(group);
        }
        match key {
            "src" | "source" if kind == MountKind::Tmpfs => {
                return Err(fail(format!(
                    "{key:?} option not supported for tmpfs mount types"
                )))
            }
            "src" | "source" => match needs_value()? {
                "" => return Err(fail("host directory cannot be empty".into())),
                v => source = Some(v.to_string()),
            },
            "dst" | "destination" | "target" => {
                dest = Some(destination(MOUNT, spec, needs_value()?)?)
            }
            "ro" | "readonly" | "rw" => match (key == "rw", go_bool_or_true(value)) {
                (_, None) => return Err(fail(format!("{key} must be true or false"))),
                (false, Some(true)) | (true, Some(false)) => options.push("ro".to_string()),
                (true, Some(true)) => options.push("rw".to_string()),
                (false, Some(false)) => {}
            },
            "relabel" => match value {
                Some("private") => options.push("Z".to_string()),
                Some("shared") => options.push("z".to_string()),
                _ => {
                    return Err(fail(
                        "relabel mount option must be 'private' or 'shared'".into(),
                    ))
                }
            },
            "U" | "chown" => match go_bool_or_true(value.filter(|v| !v.is_empty())) {
                Some(true) => options.push("U".to_string()),
                Some(false) => {}
                None => return Err(fail("'U' or 'chown' must be set to true or false".into())),
            },
            "bind-propagation" => {
                only(MountKind::Bind)?;
                match needs_value()? {
                    v if PROPAGATION.contains(&v) => options.push(v.to_string()),
                    _ => return Err(fail(format!("invalid value {field:?}"))),
                }
            }
            "bind-nonrecursive" => {
                only(MountKind::Bind)?;
                options.push("bind".to_string());
            }
            "tmpfs-size" | "tmpfs-mode" => {
                only(MountKind::Tmpfs)?;
                let name = if key == "tmpfs-size" { "size" } else { "mode" };
                options.push(format!("{name}={}", needs_value()?));
            }
            "tmpcopyup" | "notmpcopyup" => {
                only(MountKind::Tmpfs)?;
                options.push(key.to_string());
            }
            "consistency" => {}
            "z" | "Z" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" => {
                options.push(key.to_string())
            }
            k if PROPAGATION.contains(&k) => options.push(k.to_string()),
            _ => return Err(fail(format!("unknown option {key:?}"))),
        }
    }
    let destination = dest.ok_or_else(|| fail("must set volume destination".into()))?;
    let source = match kind {
        MountKind::Bind => Some(host_path(
            MOUNT,
            spec,
            source.as_deref().unwrap_or(&destination),
            host,
        )?),
        MountKind::Volume => source.map(|s| volume_name(MOUNT, spec, &s)).transpose()?,
        MountKind::Tmpfs => None,
    };
    let options = match kind {
        MountKind::Tmpfs => options,
        _ => volume_options(MOUNT, spec, options)?,
    };
    Ok(MountSpec {
        kind,
        source,
        destination,
        options,
    })
}

const FORMAT: &str = "incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]";

/// `KEY` alone is true; `KEY=true|false` in any case.
fn go_bool_or_true(value: Option<&str>) -> Option<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => None,
    }
}

fn kind_name(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    }
}

/// One CSV record, as Go's `encoding/csv` reads `--mount`: commas split fields, a
/// field that starts with `"` runs to the closing quote (`""` is a quote). `None`
/// when a quote is left open.
fn split_csv(s: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut at_start) = (false, true);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c != '"' {
                field.push(c);
            } else if chars.peek() == Some(&'"') {
                chars.next();
                field.push('"');
            } else {
                quoted = false;
            }
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            at_start = true;
            continue;
        } else if c == '"' && at_start {
            quoted = true;
        } else {
            field.push(c);
        }
        at_start = false;
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_specs_split_as_csv() {
        assert_eq!(
            split_csv(r#"type=bind,"src=/a,b",dst=/x"#),
            Some(vec!["type=bind".into(), "src=/a,b".into(), "dst=/x".into()])
        );
        assert_eq!(split_csv(r#""open"#), None);
    }
}
