//! The `networks`, `container_networks` and `ip_leases` tables.

use berth_types::network::Network;
use rusqlite::{params, Connection, OptionalExtension};

/// A container's membership in one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub network: String,
    /// `eth0`, `eth1`… in the order the networks were joined.
    pub interface_name: String,
    pub aliases: Vec<String>,
    pub static_ips: Vec<String>,
    pub mac: String,
}

fn parse_doc(doc: String) -> rusqlite::Result<Network> {
    serde_json::from_str(&doc).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub fn insert(conn: &Connection, n: &Network, created: i64) -> rusqlite::Result<()> {
    let doc = serde_json::to_string(n).unwrap_or_default();
    conn.execute(
        "INSERT INTO networks (name, id, interface, doc, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![n.name, n.id, n.network_interface, doc, created],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Network>> {
    let mut stmt = conn.prepare("SELECT doc FROM networks ORDER BY created, name")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|r| r.and_then(parse_doc)).collect()
}

/// By name, full ID or unique ID prefix.
pub fn find(conn: &Connection, name: &str) -> rusqlite::Result<Option<Network>> {
    if let Some(doc) = conn
        .query_row(
            "SELECT doc FROM networks WHERE name = ?1 OR id = ?1",
            [name],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    {
        return parse_doc(doc).map(Some);
    }
    if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut stmt = conn.prepare("SELECT doc FROM networks WHERE id LIKE ?1 || '%' LIMIT 2")?;
    let docs: Vec<String> = stmt
        .query_map([name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match docs.len() {
        1 => parse_doc(docs.into_iter().next().unwrap_or_default()).map(Some),
        _ => Ok(None),
    }
}

pub fn delete(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM networks WHERE name = ?1", [name])? > 0)
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

/// Addresses leased in `network`.
pub fn leased(conn: &Connection, network: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT ip FROM ip_leases WHERE network = ?1")?;
    let rows = stmt.query_map([network], |r| r.get(0))?;
    rows.collect()
}

/// Takes `ip` in `network` for `container`; `false` when someone holds it.
pub fn lease(
    conn: &Connection,
    network: &str,
    ip: &str,
    container: &str,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO ip_leases (network, ip, container_id) VALUES (?1, ?2, ?3)",
        params![network, ip, container],
    )? > 0)
}

/// Gives back what `container` leased (in `network`, or everywhere).
pub fn release(conn: &Connection, container: &str, network: Option<&str>) -> rusqlite::Result<()> {
    match network {
        Some(n) => conn.execute(
            "DELETE FROM ip_leases WHERE container_id = ?1 AND network = ?2",
            params![container, n],
        )?,
        None => conn.execute("DELETE FROM ip_leases WHERE container_id = ?1", [container])?,
    };
    Ok(())
}

/// Addresses `container` holds in `network`.
pub fn leases_of(
    conn: &Connection,
    container: &str,
    network: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT ip FROM ip_leases WHERE container_id = ?1 AND network = ?2")?;
    let rows = stmt.query_map(params![container, network], |r| r.get(0))?;
    rows.collect()
}
