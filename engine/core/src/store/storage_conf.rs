//! What Berth takes from the containers `storage.conf` Podman users already have:
//! the overlay `mount_program` (fuse-overlayfs, for kernels that refuse overlay to a
//! rootless user). Read from `$CONTAINERS_STORAGE_CONF`, else the user's file (rootless)
//! or /etc/containers/storage.conf, else /usr/share/containers/storage.conf.

use std::path::PathBuf;

/// The files to read, first found wins (as containers/storage reads them).
fn candidates() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("CONTAINERS_STORAGE_CONF") {
        return vec![PathBuf::from(p)];
    }
    let mut out = Vec::new();
    if crate::rootless::active() {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        if let Some(c) = config {
            out.push(c.join("containers/storage.conf"));
        }
    }
    out.push(PathBuf::from("/etc/containers/storage.conf"));
    out.push(PathBuf::from("/usr/share/containers/storage.conf"));
    out
}

/// `[storage.options.overlay] mount_program` (or the older `[storage.options]` one).
pub fn parse_mount_program(text: &str) -> Option<String> {
    let doc: toml::Table = text.parse().ok()?;
    let options = doc.get("storage")?.get("options")?;
    options
        .get("overlay")
        .and_then(|o| o.get("mount_program"))
        .or_else(|| options.get("mount_program"))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The configured overlay mount program, if any.
pub fn mount_program() -> Option<String> {
    candidates()
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| parse_mount_program(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_program_is_read_where_containers_storage_puts_it() {
        let text = "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n";
        assert_eq!(
            parse_mount_program(text).as_deref(),
            Some("/usr/bin/fuse-overlayfs")
        );
        let old = "[storage.options]\nmount_program = \"/bin/fo\"\n";
        assert_eq!(parse_mount_program(old).as_deref(), Some("/bin/fo"));
        assert_eq!(
            parse_mount_program("[storage]\ndriver = \"overlay\"\n"),
            None
        );
        assert_eq!(parse_mount_program("not toml ["), None);
        assert_eq!(
            parse_mount_program("[storage.options.overlay]\nmount_program = \"\"\n"),
            None
        );
    }
}
