//! RFC 3339 timestamps with nanoseconds in UTC (`2024-05-01T12:00:00.123456789+00:00`),
//! the form of k8s-file log lines, computed without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// `nanos` since the epoch as RFC 3339 in UTC with nine fractional digits.
pub fn rfc3339_nanos(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}+00:00",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_as_rfc3339() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000+00:00");
        // 2000-02-29 (a leap day in a year divisible by 400), 23:59:59.5
        assert_eq!(
            rfc3339_nanos(951_868_799_500_000_000),
            "2000-02-29T23:59:59.500000000+00:00"
        );
        assert_eq!(
            rfc3339_nanos(1_798_761_600_000_000_001),
            "2027-01-01T00:00:00.000000001+00:00"
        );
        assert_eq!(
            rfc3339_nanos(-1_000_000_000),
            "1969-12-31T23:59:59.000000000+00:00"
        );
    }
}
