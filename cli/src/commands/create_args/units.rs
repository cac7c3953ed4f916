//! Podman's number formats: sizes as go-units reads them (`512m`, `1.5g`, `10MB`) and
//! Go duration strings (`1m30s`, `500ms`).

/// Binary sizes (`k` = 1024), as `--memory` and `--shm-size` read them (go-units' `RAMInBytes`).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    parse_size(s, 1024.0)
}

/// Decimal sizes (`k` = 1000), as `--log-opt max-size` reads them (go-units' `FromHumanSize`).
pub fn from_human_size(s: &str) -> Option<i64> {
    parse_size(s, 1000.0)
}

/// `<number>[ ][<unit>[b|ib]]`, units b, k, m, g, t, p in any case; the number may
/// have a fraction; the result is truncated to whole bytes. Negative sizes are refused.
fn parse_size(s: &str, base: f64) -> Option<i64> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')?;
    let (num, suffix) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num.parse().ok()?;
    if !size.is_finite() || size < 0.0 {
        return None;
    }
    let suffix = suffix.to_ascii_lowercase();
    let multiplier = match suffix.as_bytes() {
        [] | [b'b'] => 1.0,
        [unit] | [unit, b'b'] | [unit, b'i', b'b'] => {
            let power = b"kmgtp".iter().position(|u| u == unit)? as i32 + 1;
            base.powi(power)
        }
        _ => return None,
    };
    let bytes = size * multiplier;
    (bytes < i64::MAX as f64).then_some(bytes as i64)
}

/// A Go duration (`300ms`, `-1.5h`, `2h45m`) in nanoseconds: a signed sequence of
/// decimal numbers, each with a unit (ns, us, µs, ms, s, m, h); `0` needs no unit.
pub fn go_duration_nanos(s: &str) -> Option<i128> {
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let len = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(len)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut nanos = whole.checked_mul(scale)?;
        if !frac_part.is_empty() {
            let digits = frac_part.len().min(30) as u32;
            let frac: i128 = frac_part[..digits as usize].parse().ok()?;
            nanos += frac * scale / 10i128.pow(digits);
        }
        total = total.checked_add(nanos)?;
        if total > i64::MAX as i128 {
            return None;
        }
        rest = after;
    }
    Some(if negative { -total } else { total })
}

/// Whole seconds, rounding a non-zero fraction up (`500ms` is 1s, not "no timeout").
pub fn nanos_to_secs_ceil(nanos: i128) -> u64 {
    let secs = (nanos + 999_999_999).div_euclid(1_000_000_000);
    u64::try_from(secs).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sizes_follow_go_units() {
        assert_eq!(ram_in_bytes("1024"), Some(1024));
        assert_eq!(ram_in_bytes("512m"), Some(512 << 20));
        assert_eq!(ram_in_bytes("512M"), Some(512 << 20));
        assert_eq!(ram_in_bytes("1g"), Some(1 << 30));
        assert_eq!(ram_in_bytes("1.5g"), Some(1_610_612_736));
        assert_eq!(ram_in_bytes("64kb"), Some(64 << 10));
        assert_eq!(ram_in_bytes("64KiB"), Some(64 << 10));
        assert_eq!(ram_in_bytes("10b"), Some(10));
        assert_eq!(ram_in_bytes("2 g"), Some(2 << 30));
    }

    #[test]
    fn garbage_sizes_are_refused() {
        for bad in ["", "12x", "m", "-1", "1gg", "1kib2", "1.2.3g", "g1", "1 x"] {
            assert_eq!(ram_in_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn human_sizes_are_decimal() {
        assert_eq!(from_human_size("10m"), Some(10_000_000));
        assert_eq!(from_human_size("10MB"), Some(10_000_000));
    }

    #[test]
    fn go_durations_parse_like_time_parse_duration() {
        assert_eq!(go_duration_nanos("0"), Some(0));
        assert_eq!(go_duration_nanos("30s"), Some(30_000_000_000));
        assert_eq!(go_duration_nanos("1m30s"), Some(90_000_000_000));
        assert_eq!(go_duration_nanos("500ms"), Some(500_000_000));
        assert_eq!(go_duration_nanos("1.5h"), Some(5_400_000_000_000));
        assert_eq!(go_duration_nanos(".5s"), Some(500_000_000));
        assert_eq!(go_duration_nanos("-2s"), Some(-2_000_000_000));
        assert_eq!(go_duration_nanos("10\u{b5}s"), Some(10_000));
        for bad in ["", "30", "1x", "s", "1m30", "-", "."] {
            assert_eq!(go_duration_nanos(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sub_second_durations_round_up() {
        assert_eq!(nanos_to_secs_ceil(0), 0);
        assert_eq!(nanos_to_secs_ceil(1), 1);
        assert_eq!(nanos_to_secs_ceil(1_000_000_000), 1);
        assert_eq!(nanos_to_secs_ceil(1_500_000_000), 2);
    }
}
