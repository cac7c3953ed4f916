//! Facts about processes from /proc, so a reused pid is never mistaken for the
//! container or its monitor.

/// Field 22 of /proc/PID/stat (start time in clock ticks); `None` for a gone or zombie process.
pub fn start_ticks(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether a process still exists and is the one that started at `start_ticks` (any
/// process with that pid when `start_ticks` is 0).
pub fn alive(pid: i64, start_ticks: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match self::start_ticks(pid) {
        Some(t) => start_ticks == 0 || t == start_ticks,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i64;
        let ticks = start_ticks(me).expect("own stat");
        assert!(alive(me, ticks));
        assert!(alive(me, 0));
        assert!(!alive(me, ticks + 1));
        assert!(!alive(0, 0));
    }
}
