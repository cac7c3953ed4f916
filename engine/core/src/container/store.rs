//! Container rows in the database: what was asked for (the create request, as JSON),
//! and the lifecycle facts the monitor and commands record (state, pids, exit code).

use berth_types::container::ContainerCreateRequest;
use rusqlite::{params, Connection, OptionalExtension};

/// Lifecycle states, spelled as Podman spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Paused,
    Stopping,
    Exited,
    Removing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Paused => "paused",
            State::Stopping => "stopping",
            State::Exited => "exited",
            State::Removing => "removing",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "running" => State::Running,
            "paused" => State::Paused,
            "stopping" => State::Stopping,
            "exited" => State::Exited,
            "removing" => State::Removing,
            _ => State::Created,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_name: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub config: ContainerCreateRequest,
    pub runtime: String,
    pub state: State,
    pub pid: i64,
    /// The container process's start time (clock ticks), to detect pid reuse.
    pub pid_start: i64,
    pub monitor_pid: i64,
    pub exit_code: i32,
    pub started_at: i64,
    pub finished_at: i64,
    pub oom_killed: bool,
    pub restart_count: i64,
    pub error: String,
}

const COLUMNS: &str = "id, name, image_id, image_name, created, config, runtime, state, pid, pid_start, monitor_pid, \
                       exit_code, started_at, finished_at, oom_killed, restart_count, error";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRow> {
    let config: String = r.get(5)?;
    let config = serde_json::from_str(&config).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ContainerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: r.get(2)?,
        image_name: r.get(3)?,
        created: r.get(4)?,
        config,
        runtime: r.get(6)?,
        state: State::parse(&r.get::<_, String>(7)?),
        pid: r.get(8)?,
        pid_start: r.get(9)?,
        monitor_pid: r.get(10)?,
        exit_code: r.get(11)?,
        started_at: r.get(12)?,
        finished_at: r.get(13)?,
        oom_killed: r.get::<_, i64>(14)? != 0,
        restart_count: r.get(15)?,
        error: r.get(16)?,
    })
}

/// Inserts a new container; fails with a constraint error when the name is taken.
pub fn insert(conn: &Connection, c: &ContainerRow) -> rusqlite::Result<()> {
    let config = serde_json::to_string(&c.config)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        &format!("INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
        params![
            c.id,
            c.name,
            c.image_id,
            c.image_name,
            c.created,
            config,
            c.runtime,
            c.state.as_str(),
            c.pid,
            c.pid_start,
            c.monitor_pid,
            c.exit_code,
            c.started_at,
            c.finished_at,
            c.oom_killed as i64,
            c.restart_count,
            c.error
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<ContainerRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The container named `name`, or with that ID, or the single one whose ID starts with it.
pub fn find(
    conn: &Connection,
    name: &str,
) -> rusqlite::Result<Result<Option<ContainerRow>, usize>> {
    crate::store::db::find_by_name_or_prefix(conn, "containers", COLUMNS, name, from_row)
}

/// All containers, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ContainerRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM containers ORDER BY created"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn set_state(conn: &Connection, id: &str, state: State) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE containers SET state = ?2 WHERE id = ?1",
        params![id, state.as_str()],
    )?;
    Ok(())
}

/// Records a start the monitor reported, unless an exit after it is already recorded
/// (a container that ended before its starter got here).
pub fn record_started(
    conn: &Connection,
    id: &str,
    s: &berth_monitor::config::Started,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE containers SET state = 'running', pid = ?2, pid_start = ?3, monitor_pid = ?4, started_at = ?5,
             exit_code = 0, finished_at = 0, oom_killed = 0, error = '',
             health_status = CASE WHEN config LIKE '%\"health\":{%' THEN 'starting' ELSE '' END,
             health_failing = 0, health_log = '[]'
         WHERE id = ?1 AND NOT (state = 'exited' AND finished_at >= ?5)",
        params![id, s.pid, s.start_ticks, s.monitor_pid, s.at],
    )?;
    Ok(())
}

/// Records an exit, unless the row already says the container exited (first writer wins).
pub fn record_exited(
    conn: &Connection,
    id: &str,
    code: i32,
    at: i64,
    oom: bool,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE containers SET state = 'exited', exit_code = ?2, finished_at = ?3, oom_killed = ?4, pid = 0
         WHERE id = ?1 AND state IN ('running', 'paused', 'stopping')",
        params![id, code, at, oom as i64],
    )?;
    Ok(n > 0)
}

pub fn record_error(conn: &Connection, id: &str, error: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE containers SET error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

pub fn increment_restarts(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE containers SET restart_count = restart_count + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Replaces the container's recorded configuration (`update`).
pub fn set_config(
    conn: &Connection,
    id: &str,
    config: &berth_types::container::ContainerCreateRequest,
) -> rusqlite::Result<()> {
    let config = serde_json::to_string(config)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "UPDATE containers SET config = ?2 WHERE id = ?1",
        params![id, config],
    )?;
    Ok(())
}

pub fn rename(conn: &Connection, id: &str, name: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE containers SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM containers WHERE id = ?1", [id])? > 0)
}

/// Containers using an image (for `rmi`).
pub fn using_image(conn: &Connection, image_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM containers WHERE image_id = ?1")?;
    let rows = stmt.query_map([image_id], |r| r.get(0))?;
    rows.collect()
}

/// The container holding `name`, if any.
pub fn id_of_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
}
