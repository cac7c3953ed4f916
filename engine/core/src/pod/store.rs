//! Pod rows in the database: the create request (as JSON) and the infra container.
//! Which containers belong to a pod is in each container's own config.

use berth_types::pod::PodCreateRequest;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone)]
pub struct PodRow {
    pub id: String,
    pub name: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub config: PodCreateRequest,
    /// Empty for a pod without one.
    pub infra_id: String,
}

const COLUMNS: &str = "id, name, created, config, infra_id";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PodRow> {
    let config: String = r.get(3)?;
    let config = serde_json::from_str(&config).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(PodRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created: r.get(2)?,
        config,
        infra_id: r.get(4)?,
    })
}

/// Inserts a new pod; fails with a constraint error when the name is taken.
pub fn insert(conn: &Connection, p: &PodRow) -> rusqlite::Result<()> {
    let config = serde_json::to_string(&p.config)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        &format!("INSERT INTO pods ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
        params![p.id, p.name, p.created, config, p.infra_id],
    )?;
    Ok(())
}

pub fn set_infra(conn: &Connection, id: &str, infra_id: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE pods SET infra_id = ?2 WHERE id = ?1",
        params![id, infra_id],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<PodRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM pods WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The pod named `name`, or with that ID, or the single one whose ID starts with it;
/// `Err(n)` when `n` pods share the prefix.
pub fn find(conn: &Connection, name: &str) -> rusqlite::Result<Result<Option<PodRow>, usize>> {
    crate::store::db::find_by_name_or_prefix(conn, "pods", COLUMNS, name, from_row)
}

/// All pods, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<PodRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM pods ORDER BY created"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM pods WHERE id = ?1", [id])? > 0)
}

/// The pod whose infra container is `container_id`, if any.
pub fn of_infra(conn: &Connection, container_id: &str) -> rusqlite::Result<Option<PodRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM pods WHERE infra_id = ?1"),
        [container_id],
        from_row,
    )
    .optional()
}
