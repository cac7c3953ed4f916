//! How the container starts, is watched and stops: `--entrypoint`, `--restart`,
//! the `--health-*` flags and `--stop-signal`.

use super::units::{go_duration_nanos, nanos_to_secs_ceil};
use super::{invalid, ArgError, CreateArgs};
use berth_types::container::{HealthConfig, RestartPolicy};

/// `--entrypoint`: a JSON array is taken as the argv, any other string is one
/// element; `""` (like `[]`) clears the image's ENTRYPOINT.
pub fn entrypoint(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Vec<String>>(value).unwrap_or_else(|_| vec![value.to_string()])
}

/// `--restart no|always|unless-stopped|on-failure[:N]`. With `--rm`, only `no` and a
/// bare `on-failure` are allowed, as in Podman.
pub fn restart_policy(value: Option<&str>, rm: bool) -> Result<RestartPolicy, ArgError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(RestartPolicy::default());
    };
    if rm && value != "no" && value != "on-failure" {
        return Err(ArgError::Conflict(
            "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\""
                .into(),
        ));
    }
    let flag = "--restart";
    let (name, retries) = match value.split(':').collect::<Vec<_>>().as_slice() {
        [name] => (*name, 0),
        [name, count] => {
            if !name.eq_ignore_ascii_case("on-failure") {
                return Err(invalid(
                    flag,
                    value,
                    "restart policy retries can only be specified with on-failure restart policy",
                ));
            }
            let retries = count.parse::<u32>().map_err(|_| {
                invalid(
                    flag,
                    value,
                    format!("the retry count {count:?} is not a number of 0 or more"),
                )
            })?;
            (*name, retries)
        }
        _ => {
            return Err(invalid(
                flag,
                value,
                "invalid restart policy: may specify retries at most once",
            ))
        }
    };
    match name {
        "no" | "always" | "on-failure" | "unless-stopped" => Ok(RestartPolicy {
            name: name.to_string(),
            max_retries: retries,
        }),
        other => Err(invalid(
            flag,
            value,
            format!("{other:?} is not a valid restart policy: use no, always, on-failure[:N] or unless-stopped"),
        )),
    }
}

/// The healthcheck: `--no-healthcheck` or `--health-cmd none` disable the image's
/// (`["NONE"]`); otherwise `--health-cmd` sets one with Podman's defaults (30s
/// interval and timeout, 3 retries, no start period). Durations are whole seconds,
/// a fraction rounded up.
pub fn health(a: &CreateArgs) -> Result<Option<HealthConfig>, ArgError> {
    let cmd = a.health_cmd.as_deref().filter(|c| !c.is_empty());
    let tuned = [
        ("--health-interval", a.health_interval.is_some()),
        ("--health-retries", a.health_retries.is_some()),
        ("--health-start-period", a.health_start_period.is_some()),
        ("--health-timeout", a.health_timeout.is_some()),
    ];
    match (cmd, a.no_healthcheck) {
        (Some(_), true) => {
            return Err(ArgError::Conflict(
                "cannot specify both --no-healthcheck and --health-cmd".into(),
            ))
        }
        (None, true) => return Ok(Some(disabled())),
        (None, false) => {
            return match tuned.iter().find(|(_, given)| *given) {
                Some((flag, _)) => Err(ArgError::Unsupported(format!(
                "{flag} without --health-cmd (tuning the image's healthcheck) is not supported yet"
            ))),
                None => Ok(None),
            }
        }
        (Some(_), false) => {}
    }
    let test = health_test(cmd.unwrap_or_default()).ok_or_else(|| {
        invalid(
            "--health-cmd",
            cmd.unwrap_or_default(),
            "must define a healthcheck command for all healthchecks",
        )
    })?;
    if test == ["NONE"] {
        return Ok(Some(disabled()));
    }
    let interval = match a.health_interval.as_deref() {
        Some("disable") => 0,
        other => duration("--health-interval", other.unwrap_or("30s"), 0)?,
    };
    let retries = a.health_retries.unwrap_or(3);
    if retries == 0 {
        return Err(invalid(
            "--health-retries",
            "0",
            "healthcheck-retries must be greater than 0",
        ));
    }
    Ok(Some(HealthConfig {
        test,
        interval_secs: interval,
        timeout_secs: duration(
            "--health-timeout",
            a.health_timeout.as_deref().unwrap_or("30s"),
            1,
        )?,
        start_period_secs: duration(
            "--health-start-period",
            a.health_start_period.as_deref().unwrap_or("0s"),
            0,
        )?,
        retries,
    }))
}

fn disabled() -> HealthConfig {
    HealthConfig {
        test: vec!["NONE".to_string()],
        ..HealthConfig::default()
    }
}

/// Podman's reading of `--health-cmd`: a JSON array of several words runs without a
/// shell (`["CMD", …]`), any other command runs with one (`["CMD-SHELL", "…"]`);
/// a leading `CMD`, `CMD-SHELL` or `NONE` is kept as given. `None` for `[]`.
fn health_test(cmd: &str) -> Option<Vec<String>> {
    Some(match serde_json::from_str::<Vec<String>>(cmd) {
        Ok(argv) => match argv.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            None => return None,
            Some("NONE") => vec!["NONE".to_string()],
            Some("CMD" | "CMD-SHELL") => argv,
            Some(_) if argv.len() > 1 => std::iter::once("CMD".to_string()).chain(argv).collect(),
            Some(_) => vec!["CMD-SHELL".to_string(), argv[0].clone()],
        },
        Err(_) => {
            let first = cmd
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match first.as_str() {
                "NONE" => vec!["NONE".to_string()],
                "CMD" => cmd.split_whitespace().map(str::to_string).collect(),
                "CMD-SHELL" => match cmd.split_once(' ') {
                    Some((word, rest)) => vec![word.to_string(), rest.to_string()],
                    None => vec![cmd.to_string()],
                },
                _ => vec!["CMD-SHELL".to_string(), cmd.to_string()],
            }
        }
    })
}

/// A Go duration of at least `min_secs` seconds (after rounding up).
fn duration(flag: &'static str, value: &str, min_secs: u64) -> Result<u64, ArgError> {
    let nanos = go_duration_nanos(value).ok_or_else(|| {
        invalid(
            flag,
            value,
            "invalid duration: use Go's format, such as 30s, 1m30s or 500ms",
        )
    })?;
    if nanos < 0 {
        return Err(invalid(flag, value, "must be 0 seconds or greater"));
    }
    let secs = nanos_to_secs_ceil(nanos);
    if secs < min_secs {
        return Err(invalid(
            flag,
            value,
            format!("must be at least {min_secs} second"),
        ));
    }
    Ok(secs)
}

/// Linux signal names by number (1-31); 34-64 are SIGRTMIN+n / SIGRTMAX-n.
const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// `--stop-signal`: a name (`TERM`, `sigterm`, `SIGRTMIN+3`) or a number 1-64, given
/// back as its canonical name (`SIGTERM`), or the number where Linux has none.
pub fn stop_signal(value: &str) -> Result<String, ArgError> {
    let bad = || {
        invalid(
            "--stop-signal",
            value,
            "invalid signal: valid signals are 1 through 64 or their names",
        )
    };
    let raw = value.strip_prefix('-').unwrap_or(value);
    let number = match raw.parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            let upper = raw.to_ascii_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            let aliases = [
                ("IOT", 6),
                ("CLD", 17),
                ("POLL", 29),
                ("RTMIN", 34),
                ("RTMAX", 64),
            ];
            if let Some(i) = SIGNALS.iter().position(|s| *s == name) {
                i as u32 + 1
            } else if let Some((_, n)) = aliases.iter().find(|(a, _)| *a == name) {
                *n
            } else if let Some(k) = name
                .strip_prefix("RTMIN+")
                .and_then(|k| k.parse::<u32>().ok())
            {
                34u32.saturating_add(k)
            } else if let Some(k) = name
                .strip_prefix("RTMAX-")
                .and_then(|k| k.parse::<u32>().ok())
            {
                64u32.checked_sub(k).filter(|n| *n >= 34).ok_or_else(bad)?
            } else {
                return Err(bad());
            }
        }
    };
    match number {
        1..=31 => Ok(format!("SIG{}", SIGNALS[number as usize - 1])),
        32 | 33 => Ok(number.to_string()),
        34..=49 => Ok(match number - 34 {
            0 => "SIGRTMIN".to_string(),
            k => format!("SIGRTMIN+{k}"),
        }),
        50..=64 => Ok(match 64 - number {
            0 => "SIGRTMAX".to_string(),
            k => format!("SIGRTMAX-{k}"),
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_commands_follow_podman() {
        let t = |s: &str| health_test(s).expect(s);
        assert_eq!(
            t("curl -f http://localhost/"),
            ["CMD-SHELL", "curl -f http://localhost/"]
        );
        assert_eq!(t(r#"["curl","-f","x"]"#), ["CMD", "curl", "-f", "x"]);
        assert_eq!(t(r#"["ls -l"]"#), ["CMD-SHELL", "ls -l"]);
        assert_eq!(t(r#"["CMD-SHELL","echo hi"]"#), ["CMD-SHELL", "echo hi"]);
        assert_eq!(t("CMD ls  -l"), ["CMD", "ls", "-l"]);
        assert_eq!(t("none"), ["NONE"]);
        assert_eq!(health_test("[]"), None);
    }

    #[test]
    fn stop_signals_are_named_canonically() {
        assert_eq!(stop_signal("TERM").expect("TERM"), "SIGTERM");
        assert_eq!(stop_signal("sigkill").expect("sigkill"), "SIGKILL");
        assert_eq!(stop_signal("9").expect("9"), "SIGKILL");
        assert_eq!(stop_signal("-HUP").expect("-HUP"), "SIGHUP");
        assert_eq!(stop_signal("SIGRTMIN+3").expect("rt"), "SIGRTMIN+3");
        assert_eq!(stop_signal("64").expect("64"), "SIGRTMAX");
        for bad in ["0", "65", "SIGFOO", ""] {
            assert!(stop_signal(bad).is_err(), "{bad:?}");
        }
    }
}
