//! `--filter` for `volume ls` and `volume prune`, with Podman's semantics: values of one
//! key are alternatives (except `label`, where every one must hold), different keys
//! must all hold. `ls` knows name (regex), driver, scope, label, label!, opt, dangling,
//! anonymous, until, after/since; `prune` knows label, label! and until.

use super::regex::Regex;
use super::VolumeError;
use berth_types::volume::VolumeInspect;
use std::collections::BTreeMap;

/// The filter keys `volume ls` accepts.
pub const LIST_KEYS: &[&str] = &[
    "name",
    "driver",
    "scope",
    "label",
    "label!",
    "opt",
    "dangling",
    "anonymous",
    "until",
    "after",
    "since",
];
/// The filter keys `volume prune` accepts.
pub const PRUNE_KEYS: &[&str] = &["label", "label!", "until"];

/// One volume as the filters see it.
pub struct Subject<'a> {
    pub volume: &'a VolumeInspect,
    /// Nanoseconds since the epoch.
    pub created: i64,
    /// Some container mounts it.
    pub in_use: bool,
}

enum Pred {
    /// Patterns that failed to compile match nothing (as Podman's `StringMatchRegexSlice`).
    Name(Vec<Option<Regex>>),
    Driver(Vec<String>),
    Scope(Vec<String>),
    Label(Vec<(String, String)>),
    LabelNot(Vec<(String, String)>),
    Opt(Vec<(String, String)>),
    Dangling(Vec<bool>),
    Anonymous(Vec<bool>),
    Until(Vec<i64>),
    After(Vec<i64>),
}

/// Compiled filters; all must match.
pub struct Filters(Vec<Pred>);

fn key_value(v: &str) -> (String, String) {
    match v.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (v.to_string(), String::new()),
    }
}

fn bool_value(key: &str, v: &str) -> Result<bool, VolumeError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(VolumeError::Filter(format!(
            "{v:?} is not a valid value for the {key:?} filter - must be true or false"
        ))),
    }
}

/// A label (or option) filter `key` or `key=value` holds; an empty value matches any.
fn has(map: &BTreeMap<String, String>, (k, v): &(String, String)) -> bool {
    map.get(k).is_some_and(|x| v.is_empty() || x == v)
}

impl Filters {
    /// Parses `key=value` filters; `created_of` resolves a volume name (for after/since).
    pub fn parse(
        filters: &[String],
        allowed: &[&str],
        now: i64,
        created_of: &dyn Fn(&str) -> Result<i64, VolumeError>,
    ) -> Result<Filters, VolumeError> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for f in filters {
            let Some((key, value)) = f.split_once('=') else {
                return Err(VolumeError::Filter(format!(
                    "{f:?} is an invalid volume filter"
                )));
            };
            let key = key.to_ascii_lowercase();
            if !allowed.contains(&key.as_str()) {
                return Err(VolumeError::Filter(format!(
                    "{key:?} is an invalid volume filter"
                )));
            }
            let key = if key == "since" {
                "after".to_string()
            } else {
                key
            };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, values)) => values.push(value.to_string()),
                None => groups.push((key, vec![value.to_string()])),
            }
        }
        let mut preds = Vec::new();
        for (key, values) in groups {
            let pairs = || values.iter().map(|v| key_value(v)).collect::<Vec<_>>();
            preds.push(match key.as_str() {
                "name" => Pred::Name(values.iter().map(|v| Regex::new(v).ok()).collect()),
                "driver" => Pred::Driver(values),
                "scope" => Pred::Scope(values),
                "label" => Pred::Label(pairs()),
                "label!" => Pred::LabelNot(pairs()),
                "opt" => Pred::Opt(pairs()),
                "dangling" => Pred::Dangling(
                    values
                        .iter()
                        .map(|v| bool_value("dangling", v))
                        .collect::<Result<_, _>>()?,
                ),
                "anonymous" => Pred::Anonymous(
                    values
                        .iter()
                        .map(|v| bool_value("anonymous", v))
                        .collect::<Result<_, _>>()?,
                ),
                "until" => Pred::Until(
                    values
                        .iter()
                        .map(|v| parse_time(v, now))
                        .collect::<Result<_, _>>()?,
                ),
                _ => Pred::After(
                    values
                        .iter()
                        .map(|v| created_of(v))
                        .collect::<Result<_, _>>()?,
                ),
            });
        }
        Ok(Filters(preds))
    }

    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let v = s.volume;
        self.0.iter().all(|p| match p {
            Pred::Name(res) => res.iter().flatten().any(|r| r.is_match(&v.name)),
            Pred::Driver(d) => d.contains(&v.driver),
            Pred::Scope(sc) => sc.contains(&v.scope),
            Pred::Label(ls) => ls.iter().all(|l| has(&v.labels, l)),
            Pred::LabelNot(ls) => !ls.iter().any(|l| has(&v.labels, l)),
            Pred::Opt(os) => os.iter().any(|o| has(&v.options, o)),
            Pred::Dangling(b) => b.contains(&!s.in_use),
            Pred::Anonymous(b) => b.contains(&v.anonymous),
            Pred::Until(ts) => ts.iter().any(|t| s.created < *t),
            Pred::After(ts) => ts.iter().any(|t| s.created > *t),
        })
    }
}

/// Podman's timestamps for `until`: Unix seconds (`1700000000`, `1700000000.5`), a Go
/// duration before now (`24h`, `1h30m`), RFC 3339, or a local `2006-01-02[T15:04:05]`.
pub fn parse_time(value: &str, now: i64) -> Result<i64, VolumeError> {
    let bad = || {
        VolumeError::Filter(format!(
            "failed to parse value as time or duration: {value:?}"
        ))
    };
    if let Some(n) = unix_seconds(value) {
        return Ok(n);
    }
    if let Some(d) = go_duration(value) {
        return Ok(now.saturating_sub(d));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(saturating_nanos(&t));
    }
    let local = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| bad())?;
    chrono::TimeZone::from_local_datetime(&chrono::Local, &local)
        .earliest()
        .map(|t| saturating_nanos(&t))
        .ok_or_else(bad)
}

/// Nanoseconds since the epoch, clamped to `i64` (years past 2262 compare as the maximum).
fn saturating_nanos<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> i64 {
    t.timestamp()
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.timestamp_subsec_nanos()))
}

fn unix_seconds(value: &str) -> Option<i64> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let mut frac = frac.to_string();
    frac.truncate(9);
    while frac.len() < 9 {
        frac.push('0');
    }
    secs.checked_mul(1_000_000_000)?
        .checked_add(frac.parse::<i64>().ok()?)
}

/// Go's `time.ParseDuration` (non-negative): `1h30m`, `1.5s`, `300ms`; nanoseconds.
fn go_duration(value: &str) -> Option<i64> {
    const UNITS: &[(&str, f64)] = &[
        ("ns", 1.0),
        ("us", 1e3),
        ("µs", 1e3),
        ("ms", 1e6),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ];
    let mut rest = value;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        // Longest unit first so `ms` is not read as `m`.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())?;
        rest = &rest[unit.len()..];
        total += n * scale;
    }
    (total.is_finite() && total < 9.2e18).then_some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(name: &str, labels: &[(&str, &str)]) -> VolumeInspect {
        VolumeInspect {
            name: name.into(),
            driver: "local".into(),
            mountpoint: format!("/v/{name}/_data"),
            created_at: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            scope: "local".into(),
            options: BTreeMap::new(),
            uid: None,
            gid: None,
            mount_count: 0,
            needs_copy_up: true,
            needs_chown: true,
            anonymous: false,
        }
    }

    fn parse(f: &[&str]) -> Result<Filters, VolumeError> {
        let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        Filters::parse(&f, LIST_KEYS, 100 * 3_600_000_000_000, &|n| {
            if n == "old" {
                Ok(5)
            } else {
                Err(VolumeError::NotFound(n.into()))
            }
        })
    }

    fn hits(f: &[&str], v: &VolumeInspect, created: i64, in_use: bool) -> bool {
        parse(f).expect("parses").matches(&Subject {
            volume: v,
            created,
            in_use,
        })
    }

    #[test]
    fn same_key_is_or_different_keys_are_and_labels_are_all() {
        let w = vol("w", &[("a", "b"), ("c", "")]);
        assert!(hits(&["name=v", "name=w"], &w, 0, false));
        assert!(!hits(&["name=w", "driver=other"], &w, 0, false));
        assert!(hits(&["label=a=b", "label=c"], &w, 0, false));
        assert!(!hits(&["label=a=b", "label=x"], &w, 0, false));
        assert!(
            hits(&["label=c="], &w, 0, false),
            "an empty value matches any"
        );
        assert!(!hits(&["label!=a"], &w, 0, false));
        assert!(hits(&["label!=a=z"], &w, 0, false));
        assert!(hits(&["name=^w$", "dangling=true"], &w, 0, false));
        assert!(!hits(&["dangling=true"], &w, 0, true));
        assert!(hits(&["anonymous=false", "scope=local"], &w, 0, false));
        assert!(hits(&["since=old"], &w, 6, false));
        assert!(!hits(&["after=old"], &w, 5, false));
        assert!(hits(&["until=1h"], &w, 0, false));
        assert!(!hits(&["until=1h"], &w, 100 * 3_600_000_000_000 - 1, false));
        assert!(
            !hits(&["name=("], &w, 0, false),
            "a bad pattern matches nothing"
        );
    }

    #[test]
    fn bad_filters_read_like_podmans() {
        let msg = |f: &[&str]| parse(f).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg(&["bogus=1"]), "\"bogus\" is an invalid volume filter");
        assert_eq!(
            msg(&["dangling=maybe"]),
            "\"maybe\" is not a valid value for the \"dangling\" filter - must be true or false"
        );
        assert_eq!(
            msg(&["until=bogus"]),
            "failed to parse value as time or duration: \"bogus\""
        );
    }

    #[test]
    fn times_parse_as_podman_reads_them() {
        assert_eq!(parse_time("10", 0).expect("unix"), 10_000_000_000);
        assert_eq!(parse_time("1.5", 0).expect("frac"), 1_500_000_000);
        assert_eq!(
            parse_time("1h30m", 10_000_000_000_000).expect("dur"),
            10_000_000_000_000 - 5_400_000_000_000
        );
        assert_eq!(parse_time("300ms", 1_000_000_000).expect("ms"), 700_000_000);
        assert_eq!(
            parse_time("2000-01-01T00:00:00Z", 0).expect("rfc3339"),
            946_684_800_000_000_000
        );
        assert!(parse_time("2000-01-01", 0).is_ok());
        assert_eq!(
            parse_time("2999-01-01T00:00:00Z", 0).expect("far"),
            i64::MAX
        );
    }
}
