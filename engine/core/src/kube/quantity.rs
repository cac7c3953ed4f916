//! Kubernetes resource quantities (`128Mi`, `1G`, `500m`, `1.5`, `2e3`) as the byte
//! counts and CPU counts of a container's limits.

/// The value of a quantity in its base unit (bytes, CPUs), or `None` when it is not
/// one: a non-negative decimal number, then an optional suffix (`n u m k M G T P E`,
/// `Ki Mi Gi Ti Pi Ei`, or a decimal exponent `eN`/`EN`).
fn value(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let digits = exp.strip_prefix(['e', 'E'])?;
            let n: i32 = digits.parse().ok()?;
            10f64.powi(n)
        }
    };
    let v = number * scale;
    v.is_finite().then_some(v)
}

/// A memory quantity in bytes, rounded up as Kubernetes does (`128Mi` → 134217728).
pub fn bytes(text: &str) -> Option<i64> {
    let v = value(text)?.ceil();
    // Past i64 a limit means nothing anyway; refuse rather than saturate.
    (v <= i64::MAX as f64).then_some(v as i64)
}

/// A CPU quantity as a number of CPUs (`500m` → 0.5).
pub fn cpus(text: &str) -> Option<f64> {
    value(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_become_bytes() {
        let cases = [
            ("1000", 1000),
            ("1k", 1000),
            ("1M", 1_000_000),
            ("2G", 2_000_000_000),
            ("1T", 1_000_000_000_000),
            ("1Ki", 1024),
            ("128Mi", 134_217_728),
            ("1Gi", 1_073_741_824),
            ("1Ti", 1_099_511_627_776),
            ("1.5Gi", 1_610_612_736),
            ("1e3", 1000),
            ("1500m", 2),
        ];
        for (text, want) in cases {
            assert_eq!(bytes(text), Some(want), "{text}");
        }
    }

    #[test]
    fn cpu_quantities_become_cpus() {
        assert_eq!(cpus("500m"), Some(0.5));
        assert_eq!(cpus("1.5"), Some(1.5));
        assert_eq!(cpus("2"), Some(2.0));
        assert_eq!(cpus("250m"), Some(0.25));
    }

    #[test]
    fn malformed_quantities_are_refused() {
        for bad in [
            "", "Mi", "-1", "1..5", "1.2.3", "12x", "1MiB", "1e", "abc", ".",
        ] {
            assert_eq!(value(bad), None, "{bad}");
        }
    }
}
