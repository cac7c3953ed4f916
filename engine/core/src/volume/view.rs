//! What `volume inspect` and `volume ls` show for a stored volume (Podman's shape),
//! with the creation time in RFC 3339 at the local offset, as Podman prints it.

use super::{options, VolumeError};
use crate::store::db::VolumeRow;
use berth_types::volume::VolumeInspect;
use std::collections::BTreeMap;

fn map(
    row: &VolumeRow,
    what: &'static str,
    json: &str,
) -> Result<BTreeMap<String, String>, VolumeError> {
    serde_json::from_str(json).map_err(|source| VolumeError::Corrupt {
        name: row.name.clone(),
        what,
        source,
    })
}

/// The labels stored with a volume.
pub fn labels(row: &VolumeRow) -> Result<BTreeMap<String, String>, VolumeError> {
    map(row, "labels", &row.labels)
}

/// The driver options stored with a volume.
pub fn stored_options(row: &VolumeRow) -> Result<BTreeMap<String, String>, VolumeError> {
    map(row, "options", &row.options)
}

pub fn inspect(row: &VolumeRow) -> Result<VolumeInspect, VolumeError> {
    let options = stored_options(row)?;
    let (uid, gid) = options::owner(&options);
    Ok(VolumeInspect {
        name: row.name.clone(),
        driver: row.driver.clone(),
        mountpoint: row.mountpoint.clone(),
        created_at: rfc3339_local(row.created),
        labels: labels(row)?,
        scope: "local".into(),
        options,
        uid,
        gid,
        mount_count: 0,
        needs_copy_up: row.needs_copy_up,
        // An owner given at creation is kept; otherwise the first container's applies.
        needs_chown: row.needs_copy_up && uid.is_none() && gid.is_none(),
        anonymous: row.anonymous,
    })
}

/// Go's `time.RFC3339Nano` at the local offset: `2024-05-01T10:07:01.5596195+01:00`,
/// trailing zeros of the fraction dropped, `Z` for a zero offset.
pub fn rfc3339_local(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, sub) {
        Some(utc) => rfc3339(&utc.with_timezone(&chrono::Local).fixed_offset()),
        None => String::new(),
    }
}

fn rfc3339(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::Timelike;
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = format!("{:09}", t.nanosecond() % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    let offset = t.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs / 60) % 60));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    #[test]
    fn created_at_reads_like_go_rfc3339nano() {
        let at = |offset: i32, nanos: u32| {
            let tz = FixedOffset::east_opt(offset).expect("offset");
            let t = tz
                .timestamp_opt(1_764_061_621, nanos)
                .single()
                .expect("time");
            rfc3339(&t)
        };
        assert_eq!(at(0, 559_619_500), "2025-11-25T09:07:01.5596195Z");
        assert_eq!(at(3600, 559_619_546), "2025-11-25T10:07:01.559619546+01:00");
        assert_eq!(at(-5 * 3600 - 1800, 0), "2025-11-25T03:37:01-05:30");
        assert!(!rfc3339_local(1_700_000_000_000_000_000).contains('.'));
    }
}
