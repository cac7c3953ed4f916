//! Subordinate ID ranges from /etc/subuid and /etc/subgid (`NAME_OR_ID:START:COUNT`
//! lines), which newuidmap/newgidmap let a user map into a user namespace.

use std::path::Path;

/// One range: `count` IDs from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub count: u32,
}

/// The ranges `file` grants to the user `name` (or numeric `id`).
pub fn ranges_in(text: &str, name: &str, id: u32) -> Vec<Range> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let who = f.next()?;
            if who != name && who.parse::<u32>().ok() != Some(id) {
                return None;
            }
            let start = f.next()?.trim().parse().ok()?;
            let count = f.next()?.trim().parse().ok()?;
            (count > 0).then_some(Range { start, count })
        })
        .collect()
}

/// The ranges of `file` for the user, or an error that says how to add some.
pub fn ranges(file: &Path, name: &str, id: u32, tool_flag: &str) -> Result<Vec<Range>, String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let found = ranges_in(&text, name, id);
    if found.is_empty() {
        return Err(format!(
            "no subordinate IDs for user {name} (uid {id}) in {}: rootless containers need a range; add one as root, e.g. `usermod {tool_flag} 100000-165535 {name}`",
            file.display()
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_by_name_or_id() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:0\n# junk\n";
        assert_eq!(
            ranges_in(text, "alice", 1000),
            [Range {
                start: 100000,
                count: 65536
            }]
        );
        assert_eq!(
            ranges_in(text, "carol", 1001),
            [Range {
                start: 200000,
                count: 1000
            }]
        );
        assert!(ranges_in(text, "bob", 1002).is_empty());
    }

    #[test]
    fn a_user_without_ranges_is_told_how_to_fix_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("subuid");
        std::fs::write(&file, "other:1:2\n").expect("write");
        let err = ranges(&file, "dave", 1003, "--add-subuids").expect_err("none");
        assert!(
            err.contains("usermod --add-subuids") && err.contains("dave"),
            "{err}"
        );
    }
}
