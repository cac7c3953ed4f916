//! The store's side of networks: which containers joined which network (the
//! `container_networks` table), with their interface, aliases and static addresses.

use rusqlite::{params, Connection};

/// A container's membership in one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub network: String,
    /// `eth0`, `eth1`… in the order the networks were joined.
    pub interface_name: String,
    pub aliases: Vec<String>,
    pub static_ips: Vec<String>,
    pub mac: String,
}

/// IDs of the containers that joined `network`.
pub fn users(conn: &Connection, network: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT container_id FROM container_networks WHERE network = ?1")?;
    let rows = stmt.query_map([network], |r| r.get(0))?;
    rows.collect()
}

pub fn memberships(conn: &Connection, container: &str) -> rusqlite::Result<Vec<Membership>> {
    let mut stmt = conn.prepare(
        "SELECT network, interface_name, aliases, static_ips, mac FROM container_networks
         WHERE container_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([container], |r| {
        let list = |i: usize| -> rusqlite::Result<Vec<String>> {
            Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
        };
        Ok(Membership {
            network: r.get(0)?,
            interface_name: r.get(1)?,
            aliases: list(2)?,
            static_ips: list(3)?,
            mac: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Adds a membership as the container's next interface; `false` if it is already a member.
pub fn join(
    conn: &Connection,
    container: &str,
    network: &str,
    aliases: &[String],
    static_ips: &[String],
    mac: &str,
) -> rusqlite::Result<bool> {
    let position: i64 = conn.query_row(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM container_networks WHERE container_id = ?1",
        [container],
        |r| r.get(0),
    )?;
    let changed = conn.execute(
        "INSERT OR IGNORE INTO container_networks
           (container_id, network, interface_name, aliases, static_ips, mac, position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            container,
            network,
            format!("eth{position}"),
            serde_json::to_string(aliases).unwrap_or_default(),
            serde_json::to_string(static_ips).unwrap_or_default(),
            mac,
            position
        ],
    )?;
    Ok(changed > 0)
}

pub fn leave(conn: &Connection, container: &str, network: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM container_networks WHERE container_id = ?1 AND network = ?2",
        params![container, network],
    )? > 0)
}
