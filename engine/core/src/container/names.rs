//! Container IDs (64 random hex digits) and generated names (`adjective_noun`), and
//! the rule user-given names follow.

use std::io::Read;

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
    "deft", "eager", "epic", "fancy", "fervent", "gentle", "glad", "golden", "happy", "hardy",
    "honest", "jolly", "keen", "kind", "lively", "lucid", "merry", "mighty", "modest", "nimble",
    "noble", "placid", "plucky", "proud", "quick", "quiet", "rapid", "ready", "serene", "sharp",
    "shiny", "silent", "sleek", "steady", "stoic", "sunny", "swift", "tender", "tidy", "vivid",
    "warm", "wise", "witty", "zealous",
];

const NOUNS: &[&str] = &[
    "anchor",
    "atoll",
    "barge",
    "beacon",
    "bollard",
    "bosun",
    "buoy",
    "cabin",
    "canal",
    "capstan",
    "cargo",
    "channel",
    "cove",
    "crane",
    "current",
    "delta",
    "dinghy",
    "dock",
    "ferry",
    "fjord",
    "galley",
    "gangway",
    "harbor",
    "hull",
    "inlet",
    "island",
    "jetty",
    "keel",
    "lagoon",
    "lantern",
    "lighthouse",
    "marina",
    "mast",
    "mooring",
    "oar",
    "pier",
    "pilot",
    "port",
    "quay",
    "raft",
    "reef",
    "rudder",
    "sail",
    "schooner",
    "shoal",
    "skiff",
    "slipway",
    "tide",
    "tugboat",
    "wake",
    "wharf",
];

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut buf).is_ok() {
            return buf;
        }
    }
    // Without /dev/urandom: time and pid are unique enough for an ID, not for secrets.
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    use sha2::Digest;
    sha2::Sha256::digest(seed.as_bytes())[..n.min(32)].to_vec()
}

pub fn new_id() -> String {
    hex::encode(random_bytes(32))
}

pub fn generated_name() -> String {
    let b = random_bytes(4);
    let a = ADJECTIVES[(u16::from_be_bytes([b[0], b[1]]) as usize) % ADJECTIVES.len()];
    let n = NOUNS[(u16::from_be_bytes([b[2], b[3]]) as usize) % NOUNS.len()];
    format!("{a}_{n}")
}

/// Podman's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_names_follow_the_rule() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(new_id(), id);
        assert!(valid_name(&generated_name()));
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-web") && !valid_name("a b") && !valid_name(""));
    }
}
