//! Resource limits: `--memory`, `--memory-swap`, `--cpus`, `--cpu-shares`,
//! `--cpuset-cpus`, `--pids-limit`, `--shm-size` and `--ulimit`.

use super::units::ram_in_bytes;
use super::{invalid, ArgError, CreateArgs};
use berth_types::container::{Resources, Ulimit};

/// The cgroup limits. `memory_swap` stays `None` when not given, so the engine can
/// apply Podman's default (twice the memory limit); `Some(-1)` is unlimited swap.
pub fn resources(a: &CreateArgs) -> Result<Resources, ArgError> {
    let memory = a
        .memory
        .as_deref()
        .map(|m| size("-m, --memory", m))
        .transpose()?
        .filter(|m| *m > 0);
    let memory_swap = match a.memory_swap.as_deref() {
        None => None,
        Some("-1") => Some(-1),
        Some(s) => match (size("--memory-swap", s)?, memory) {
            (0, _) => None,
            (_, None) => {
                return Err(ArgError::Conflict(
                    "--memory-swap needs --memory: the swap limit counts memory plus swap".into(),
                ))
            }
            (swap, Some(m)) if swap < m => {
                return Err(invalid(
                    "--memory-swap",
                    s,
                    "minimum memoryswap limit should be larger than memory limit",
                ))
            }
            (swap, Some(_)) => Some(swap),
        },
    };
    let cpus = match a.cpus {
        Some(c) if !c.is_finite() || c < 0.0 => {
            return Err(invalid(
                "--cpus",
                &c.to_string(),
                "must be a positive number",
            ))
        }
        Some(c) if c > 0.0 => Some(c),
        _ => None,
    };
    if let Some(set) = a.cpuset_cpus.as_deref() {
        if !is_cpu_list(set) {
            return Err(invalid(
                "--cpuset-cpus",
                set,
                "expected a list of CPUs such as 0-3 or 0,1",
            ));
        }
    }
    Ok(Resources {
        memory,
        memory_swap,
        cpus,
        cpu_shares: a.cpu_shares.filter(|s| *s > 0),
        cpuset_cpus: a.cpuset_cpus.clone().filter(|s| !s.is_empty()),
        pids_limit: a.pids_limit,
    })
}

/// `--shm-size` in bytes.
pub fn shm_size(value: Option<&str>) -> Result<Option<u64>, ArgError> {
    let Some(s) = value else { return Ok(None) };
    match size("--shm-size", s)? {
        0 => Err(invalid("--shm-size", s, "must be greater than 0")),
        n => Ok(Some(n as u64)),
    }
}

/// `--ulimit NAME=SOFT[:HARD]` (a missing HARD equals SOFT; `-1` is unlimited). A
/// name given twice keeps its last value.
pub fn ulimits(flags: &[String]) -> Result<Vec<Ulimit>, ArgError> {
    let mut out: Vec<Ulimit> = Vec::new();
    for flag in flags {
        if flag == "host" {
            return Err(ArgError::Unsupported(
                "--ulimit host is not supported yet; give NAME=SOFT[:HARD] limits".into(),
            ));
        }
        let limit = ulimit(flag).map_err(|reason| {
            invalid(
                "--ulimit",
                flag,
                format!("requires name=SOFT:HARD, failed to be parsed: {reason}"),
            )
        })?;
        match out.iter_mut().find(|u| u.name == limit.name) {
            Some(existing) => *existing = limit,
            None => out.push(limit),
        }
    }
    Ok(out)
}

fn ulimit(flag: &str) -> Result<Ulimit, String> {
    let (name, values) = flag
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {flag}"))?;
    if !berth_types::container::RLIMIT_NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let number = |v: &str| -> Result<i64, String> {
        v.parse::<i64>()
            .ok()
            .filter(|n| *n >= -1)
            .ok_or_else(|| format!("invalid limit {v:?}: use a number or -1 for unlimited"))
    };
    let (soft, hard) = match values.split(':').collect::<Vec<_>>().as_slice() {
        [soft] => (number(soft)?, number(soft)?),
        [soft, hard] => (number(soft)?, number(hard)?),
        _ => {
            return Err(format!(
                "too many limit value arguments - {values}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    let unlimited = |n: i64| if n == -1 { u64::MAX } else { n as u64 };
    let (soft, hard) = (unlimited(soft), unlimited(hard));
    if soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

pub(crate) fn size(flag: &'static str, value: &str) -> Result<i64, ArgError> {
    ram_in_bytes(value).ok_or_else(|| invalid(flag, value, format!("invalid size: '{value}'")))
}

/// `0-3`, `0,1`, `0-2,7`: CPU numbers and ascending ranges.
pub(crate) fn is_cpu_list(s: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    s.split(',').all(|item| match item.split_once('-') {
        Some((lo, hi)) => {
            number(lo) && number(hi) && lo.parse::<u32>().ok() <= hi.parse::<u32>().ok()
        }
        None => number(item),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_take_podman_forms() {
        let u = ulimits(&[
            "nofile=1024:2048".into(),
            "nproc=100".into(),
            "core=-1".into(),
        ])
        .expect("valid");
        assert_eq!(
            u,
            vec![
                Ulimit {
                    name: "nofile".into(),
                    soft: 1024,
                    hard: 2048
                },
                Ulimit {
                    name: "nproc".into(),
                    soft: 100,
                    hard: 100
                },
                Ulimit {
                    name: "core".into(),
                    soft: u64::MAX,
                    hard: u64::MAX
                },
            ]
        );
    }

    #[test]
    fn bad_ulimits_name_the_problem() {
        let err = |s: &str| ulimits(&[s.to_string()]).expect_err(s).to_string();
        assert!(err("nofile").contains("invalid ulimit argument: nofile"));
        assert!(err("files=1").contains("invalid ulimit type: files"));
        assert!(err("nofile=2048:1024").contains("soft limit must be less than or equal"));
        assert!(err("nofile=1:2:3").contains("too many limit value arguments"));
        assert!(err("nofile=lots").contains("invalid limit \"lots\""));
    }

    #[test]
    fn cpu_lists_are_checked() {
        assert!(is_cpu_list("0-3"));
        assert!(is_cpu_list("0,1,4-7"));
        assert!(!is_cpu_list("3-1"));
        assert!(!is_cpu_list("a"));
        assert!(!is_cpu_list("1,"));
    }
}
