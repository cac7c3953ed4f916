//! The SQLite database: the one source of truth for which images and layers exist and
//! what they are called. WAL mode, a busy timeout, short `IMMEDIATE` transactions, so
//! many `berth` processes can use one store at once. Migrations are numbered.

use crate::store::lock::FileLock;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("store database {path}")]
pub struct DbError {
    pub path: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub type DbResult<T> = Result<T, rusqlite::Error>;

/// Each entry upgrades the schema by one version (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    // 1: images, their names and repo digests, layers and which image uses which.
    "CREATE TABLE layers (
        diff_id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        blob_digest TEXT,
        blob_size INTEGER,
        blob_media_type TEXT
    );
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        manifest_type TEXT NOT NULL,
        created INTEGER NOT NULL,
        created_text TEXT NOT NULL,
        size INTEGER NOT NULL,
        architecture TEXT NOT NULL,
        os TEXT NOT NULL,
        labels TEXT,
        added INTEGER NOT NULL
    );
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        diff_id TEXT NOT NULL REFERENCES layers(diff_id),
        PRIMARY KEY (image_id, position)
    );
    CREATE INDEX image_layers_diff ON image_layers(diff_id);
    CREATE TABLE image_names (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        added INTEGER NOT NULL
    );
    CREATE INDEX image_names_image ON image_names(image_id);
    CREATE TABLE image_digests (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        repo_digest TEXT NOT NULL,
        PRIMARY KEY (image_id, repo_digest)
    );
    CREATE TABLE names_history (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (image_id, name)
    );",
    // 2: where each layer is known to exist as a compressed blob (registry/repository),
    //    so a push can skip or cross-mount instead of uploading again.
    "CREATE TABLE layer_locations (
        diff_id TEXT NOT NULL REFERENCES layers(diff_id) ON DELETE CASCADE,
        blob_digest TEXT NOT NULL,
        blob_size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        location TEXT NOT NULL,
        PRIMARY KEY (diff_id, blob_digest, location)
    );",
    // 3: containers, volumes, and which container mounts which volume where.
    "CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL REFERENCES images(id),
        image_name TEXT NOT NULL,
        created INTEGER NOT NULL,
        config TEXT NOT NULL,
        runtime TEXT NOT NULL,
        state TEXT NOT NULL,
        pid INTEGER NOT NULL DEFAULT 0,
        pid_start INTEGER NOT NULL DEFAULT 0,
        monitor_pid INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER NOT NULL DEFAULT 0,
        finished_at INTEGER NOT NULL DEFAULT 0,
        oom_killed INTEGER NOT NULL DEFAULT 0,
        restart_count INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX containers_image ON containers(image_id);
    CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        mountpoint TEXT NOT NULL,
        created INTEGER NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        anonymous INTEGER NOT NULL DEFAULT 0,
        needs_copy_up INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE container_volumes (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        volume TEXT NOT NULL REFERENCES volumes(name),
        destination TEXT NOT NULL,
        PRIMARY KEY (container_id, destination)
    );",
    // 4: container health (`--health-cmd`): status, failing streak, recent results (JSON).
    "ALTER TABLE containers ADD COLUMN health_status TEXT NOT NULL DEFAULT '';
     ALTER TABLE containers ADD COLUMN health_failing INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE containers ADD COLUMN health_log TEXT NOT NULL DEFAULT '[]';",
    // 5: which containers joined which networks (interface, aliases, static address);
    // the networks themselves and their leases belong to the host (network::host).
    "CREATE TABLE container_networks (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        network TEXT NOT NULL,
        interface_name TEXT NOT NULL,
        aliases TEXT NOT NULL DEFAULT '[]',
        static_ips TEXT NOT NULL DEFAULT '[]',
        mac TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL,
        PRIMARY KEY (container_id, network)
    );
    CREATE INDEX container_networks_network ON container_networks(network);",
    // 6: pods (what was asked for, as JSON, and the infra container holding their
    // namespaces); a container names its pod in its own config.
    "CREATE TABLE pods (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        config TEXT NOT NULL,
        infra_id TEXT NOT NULL DEFAULT ''
    );",
];

/// Opens the database. `init_lock` serialises the setup (WAL switch and migrations)
/// between processes: SQLite answers "locked" there without waiting for its timeout.
pub fn open(path: &Path, init_lock: &Path) -> Result<Connection, DbError> {
    let wrap = |source: rusqlite::Error| DbError {
        path: path.display().to_string(),
        source: Box::new(source),
    };
    let _init = FileLock::exclusive(init_lock).map_err(|e| DbError {
        path: init_lock.display().to_string(),
        source: Box::new(e),
    })?;
    let conn = Connection::open(path).map_err(wrap)?;
    conn.busy_timeout(Duration::from_secs(60)).map_err(wrap)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(wrap)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(wrap)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(wrap)?;
    migrate(&conn).map_err(wrap)?;
    Ok(conn)
}

/// The row of `table` whose `name` or `id` is `name`, or the single one whose ID
/// starts with it; `Err(n)` when `n` rows share that prefix (containers and pods).
pub fn find_by_name_or_prefix<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    name: &str,
    from_row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> DbResult<Result<Option<T>, usize>> {
    if let Some(found) = conn
        .query_row(
            &format!("SELECT {columns} FROM {table} WHERE name = ?1 OR id = ?1"),
            [name],
            from_row,
        )
        .optional()?
    {
        return Ok(Ok(Some(found)));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Ok(None));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM {table} WHERE substr(id, 1, length(?1)) = ?1"
    ))?;
    let mut rows: Vec<T> = stmt
        .query_map([name], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(match rows.len() {
        0 => Ok(None),
        1 => Ok(rows.pop()),
        n => Err(n),
    })
}

fn migrate(conn: &Connection) -> DbResult<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the write lock.
    let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()
}

/// A layer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    pub diff_id: String,
    pub size: u64,
    pub blob_digest: Option<String>,
    pub blob_size: Option<u64>,
    pub blob_media_type: Option<String>,
}

/// An image row plus its names, repo digests and layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub id: String,
    /// What the pulled tag pointed at (a list's digest when pulled through one).
    pub digest: String,
    /// The image manifest's own digest (its blob is in the store).
    pub manifest_digest: String,
    pub manifest_type: String,
    pub created: i64,
    pub created_text: String,
    pub size: u64,
    pub architecture: String,
    pub os: String,
    pub labels: Option<String>,
    pub added: i64,
    pub names: Vec<String>,
    pub repo_digests: Vec<String>,
    pub layers: Vec<String>,
}

pub fn layer_exists(conn: &Connection, diff_id: &str) -> DbResult<bool> {
    conn.query_row("SELECT 1 FROM layers WHERE diff_id = ?1", [diff_id], |_| {
        Ok(())
    })
    .optional()
    .map(|r| r.is_some())
}

pub fn get_layer(conn: &Connection, diff_id: &str) -> DbResult<Option<LayerRow>> {
    conn.query_row(
        "SELECT diff_id, size, blob_digest, blob_size, blob_media_type FROM layers WHERE diff_id = ?1",
        [diff_id],
        |r| {
            Ok(LayerRow {
                diff_id: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                blob_digest: r.get(2)?,
                blob_size: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
                blob_media_type: r.get(4)?,
            })
        },
    )
    .optional()
}

pub fn insert_layer(conn: &Connection, l: &LayerRow) -> DbResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO layers (diff_id, size, blob_digest, blob_size, blob_media_type) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![l.diff_id, l.size as i64, l.blob_digest, l.blob_size.map(|s| s as i64), l.blob_media_type],
    )?;
    Ok(())
}

/// Stores an image (or refreshes it) and points `names` at it, taking them from any
/// other image. One transaction: other processes see all of it or none.
pub fn commit_image(
    conn: &mut Connection,
    img: &ImageRow,
    names: &[String],
    now: i64,
) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO images (id, digest, manifest_digest, manifest_type, created, created_text, size, architecture, os, labels, added)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET digest = excluded.digest, manifest_digest = excluded.manifest_digest,
             manifest_type = excluded.manifest_type",
        params![
            img.id,
            img.digest,
            img.manifest_digest,
            img.manifest_type,
            img.created,
            img.created_text,
            img.size as i64,
            img.architecture,
            img.os,
            img.labels,
            img.added
        ],
    )?;
    for (pos, diff) in img.layers.iter().enumerate() {
        tx.execute(
            "INSERT OR IGNORE INTO image_layers (image_id, position, diff_id) VALUES (?1, ?2, ?3)",
            params![img.id, pos as i64, diff],
        )?;
    }
    for d in &img.repo_digests {
        tx.execute(
            "INSERT OR IGNORE INTO image_digests (image_id, repo_digest) VALUES (?1, ?2)",
            params![img.id, d],
        )?;
    }
    set_names(&tx, &img.id, names, now)?;
    tx.commit()
}

fn set_names(tx: &rusqlite::Transaction<'_>, id: &str, names: &[String], now: i64) -> DbResult<()> {
    for name in names {
        tx.execute(
            "INSERT INTO image_names (name, image_id, added) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, added = excluded.added",
            params![name, id, now],
        )?;
        tx.execute(
            "INSERT INTO names_history (image_id, name, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT(image_id, name) DO UPDATE SET seq = excluded.seq",
            params![id, name, now],
        )?;
    }
    Ok(())
}

/// Adds names to an existing image (moving them from other images).
pub fn add_names(conn: &mut Connection, id: &str, names: &[String], now: i64) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    set_names(&tx, id, names, now)?;
    tx.commit()
}

/// Removes a name; returns whether it existed.
pub fn remove_name(conn: &Connection, name: &str) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM image_names WHERE name = ?1", [name])? > 0)
}

pub fn delete_image(conn: &Connection, id: &str) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM images WHERE id = ?1", [id])? > 0)
}

const IMAGE_COLUMNS: &str =
    "id, digest, manifest_digest, manifest_type, created, created_text, size, architecture, os, labels, added";

fn image_from_row(r: &rusqlite::Row<'_>) -> DbResult<ImageRow> {
    Ok(ImageRow {
        id: r.get(0)?,
        digest: r.get(1)?,
        manifest_digest: r.get(2)?,
        manifest_type: r.get(3)?,
        created: r.get(4)?,
        created_text: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        architecture: r.get(7)?,
        os: r.get(8)?,
        labels: r.get(9)?,
        added: r.get(10)?,
        names: Vec::new(),
        repo_digests: Vec::new(),
        layers: Vec::new(),
    })
}

/// Every image with names, digests and layers, newest first. A few queries, not one per image.
pub fn list_images(conn: &Connection) -> DbResult<Vec<ImageRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {IMAGE_COLUMNS} FROM images ORDER BY added DESC, id"
    ))?;
    let mut images: Vec<ImageRow> = stmt
        .query_map([], image_from_row)?
        .collect::<DbResult<_>>()?;
    let index: std::collections::HashMap<String, usize> = images
        .iter()
        .enumerate()
        .map(|(i, img)| (img.id.clone(), i))
        .collect();
    let mut stmt =
        conn.prepare("SELECT image_id, name FROM image_names ORDER BY added DESC, name")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = row?;
        if let Some(i) = index.get(&id) {
            images[*i].names.push(name);
        }
    }
    let mut stmt =
        conn.prepare("SELECT image_id, repo_digest FROM image_digests ORDER BY repo_digest")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, d) = row?;
        if let Some(i) = index.get(&id) {
            images[*i].repo_digests.push(d);
        }
    }
    let mut stmt =
        conn.prepare("SELECT image_id, diff_id FROM image_layers ORDER BY image_id, position")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, d) = row?;
        if let Some(i) = index.get(&id) {
            images[*i].layers.push(d);
        }
    }
    Ok(images)
}

pub fn get_image(conn: &Connection, id: &str) -> DbResult<Option<ImageRow>> {
    let Some(mut img) = conn
        .query_row(
            &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?1"),
            [id],
            image_from_row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    let strings = |sql: &str| -> DbResult<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    img.names =
        strings("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY added DESC, name")?;
    img.repo_digests =
        strings("SELECT repo_digest FROM image_digests WHERE image_id = ?1 ORDER BY repo_digest")?;
    img.layers = strings("SELECT diff_id FROM image_layers WHERE image_id = ?1 ORDER BY position")?;
    Ok(Some(img))
}

pub fn names_history(conn: &Connection, id: &str) -> DbResult<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM names_history WHERE image_id = ?1 ORDER BY seq DESC, name")?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// The image a name points at.
pub fn image_by_name(conn: &Connection, name: &str) -> DbResult<Option<String>> {
    conn.query_row(
        "SELECT image_id FROM image_names WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

/// Images whose repo digest is `repo@digest`.
pub fn image_by_repo_digest(conn: &Connection, repo_digest: &str) -> DbResult<Option<String>> {
    conn.query_row(
        "SELECT image_id FROM image_digests WHERE repo_digest = ?1",
        [repo_digest],
        |r| r.get(0),
    )
    .optional()
}

/// Image IDs starting with `prefix`.
pub fn images_by_id_prefix(conn: &Connection, prefix: &str) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM images WHERE substr(id, 1, length(?1)) = ?1")?;
    let rows = stmt.query_map([prefix], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// All names in the store (for short-name matching).
pub fn all_names(conn: &Connection) -> DbResult<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare("SELECT name, image_id FROM image_names ORDER BY added DESC, name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Layers no image uses.
pub fn unreferenced_layers(conn: &Connection) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT diff_id FROM layers WHERE diff_id NOT IN (SELECT DISTINCT diff_id FROM image_layers)",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

pub fn delete_layer(conn: &Connection, diff_id: &str) -> DbResult<()> {
    conn.execute("DELETE FROM layers WHERE diff_id = ?1", [diff_id])?;
    Ok(())
}

/// Digests of manifests and configs still referenced by an image.
pub fn referenced_blobs(conn: &Connection) -> DbResult<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare("SELECT id, manifest_digest FROM images")?;
    let mut set = std::collections::HashSet::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, manifest) = row?;
        set.insert(id);
        set.insert(manifest.trim_start_matches("sha256:").to_string());
    }
    Ok(set)
}

/// A compressed form of a layer and a `registry/repository` that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerLocation {
    pub blob_digest: String,
    pub blob_size: u64,
    pub media_type: String,
    pub location: String,
}

pub fn add_layer_location(conn: &Connection, diff_id: &str, l: &LayerLocation) -> DbResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO layer_locations (diff_id, blob_digest, blob_size, media_type, location)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![diff_id, l.blob_digest, l.blob_size as i64, l.media_type, l.location],
    )?;
    Ok(())
}

pub fn layer_locations(conn: &Connection, diff_id: &str) -> DbResult<Vec<LayerLocation>> {
    let mut stmt = conn.prepare(
        "SELECT blob_digest, blob_size, media_type, location FROM layer_locations WHERE diff_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([diff_id], |r| {
        Ok(LayerLocation {
            blob_digest: r.get(0)?,
            blob_size: r.get::<_, i64>(1)? as u64,
            media_type: r.get(2)?,
            location: r.get(3)?,
        })
    })?;
    rows.collect()
}

pub fn layer_stats(conn: &Connection) -> DbResult<(u64, u64)> {
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM layers",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

// ---- Volumes (schema 3): `volumes` and `container_volumes`. ----

/// A volume row. `labels` and `options` are JSON objects of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRow {
    pub name: String,
    pub driver: String,
    /// The host directory containers mount (`<root>/volumes/<name>/_data`).
    pub mountpoint: String,
    /// Nanoseconds since the epoch.
    pub created: i64,
    pub labels: String,
    pub options: String,
    pub anonymous: bool,
    pub needs_copy_up: bool,
}

const VOLUME_COLUMNS: &str =
    "name, driver, mountpoint, created, labels, options, anonymous, needs_copy_up";

fn volume_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRow> {
    Ok(VolumeRow {
        name: r.get(0)?,
        driver: r.get(1)?,
        mountpoint: r.get(2)?,
        created: r.get(3)?,
        labels: r.get(4)?,
        options: r.get(5)?,
        anonymous: r.get::<_, i64>(6)? != 0,
        needs_copy_up: r.get::<_, i64>(7)? != 0,
    })
}

/// Inserts a volume; fails with a constraint violation when the name is taken.
pub fn insert_volume(conn: &Connection, v: &VolumeRow) -> DbResult<()> {
    conn.execute(
        &format!("INSERT INTO volumes ({VOLUME_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            v.name,
            v.driver,
            v.mountpoint,
            v.created,
            v.labels,
            v.options,
            v.anonymous as i64,
            v.needs_copy_up as i64
        ],
    )?;
    Ok(())
}

pub fn get_volume(conn: &Connection, name: &str) -> DbResult<Option<VolumeRow>> {
    conn.query_row(
        &format!("SELECT {VOLUME_COLUMNS} FROM volumes WHERE name = ?1"),
        [name],
        volume_from_row,
    )
    .optional()
}

/// Every volume, by name.
pub fn list_volumes(conn: &Connection) -> DbResult<Vec<VolumeRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {VOLUME_COLUMNS} FROM volumes ORDER BY name"
    ))?;
    let rows = stmt.query_map([], volume_from_row)?;
    rows.collect()
}

/// Deletes a volume row; returns whether there was one.
pub fn delete_volume(conn: &Connection, name: &str) -> DbResult<bool> {
    Ok(conn.execute("DELETE FROM volumes WHERE name = ?1", [name])? > 0)
}

pub fn set_volume_needs_copy_up(conn: &Connection, name: &str, needs: bool) -> DbResult<()> {
    conn.execute(
        "UPDATE volumes SET needs_copy_up = ?2 WHERE name = ?1",
        params![name, needs as i64],
    )?;
    Ok(())
}

/// IDs of the containers that mount the volume.
pub fn volume_users(conn: &Connection, name: &str) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT container_id FROM container_volumes WHERE volume = ?1 ORDER BY container_id",
    )?;
    let rows = stmt.query_map([name], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Names of the volumes some container mounts.
pub fn used_volumes(conn: &Connection) -> DbResult<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare("SELECT DISTINCT volume FROM container_volumes")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Records that a container mounts `volume` at `destination`.
pub fn add_container_volume(
    conn: &Connection,
    container_id: &str,
    volume: &str,
    destination: &str,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO container_volumes (container_id, volume, destination) VALUES (?1, ?2, ?3)
         ON CONFLICT(container_id, destination) DO UPDATE SET volume = excluded.volume",
        params![container_id, volume, destination],
    )?;
    Ok(())
}

/// The anonymous volumes a container mounts, by name.
/// The volumes a container mounts: (destination, volume name).
pub fn container_volumes(conn: &Connection, container_id: &str) -> DbResult<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare("SELECT destination, volume FROM container_volumes WHERE container_id = ?1")?;
    let rows = stmt.query_map([container_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub fn anonymous_volumes_of(conn: &Connection, container_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT v.name FROM container_volumes cv JOIN volumes v ON v.name = cv.volume
         WHERE cv.container_id = ?1 AND v.anonymous = 1 ORDER BY v.name",
    )?;
    let rows = stmt.query_map([container_id], |r| r.get::<_, String>(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, layers: &[&str]) -> ImageRow {
        ImageRow {
            id: id.into(),
            digest: format!("sha256:m{id}"),
            manifest_digest: format!("sha256:m{id}"),
            manifest_type: "application/vnd.oci.image.manifest.v1+json".into(),
            created: 1,
            created_text: "2024-01-01T00:00:00Z".into(),
            size: 10,
            architecture: "amd64".into(),
            os: "linux".into(),
            labels: None,
            added: 1,
            names: vec![],
            repo_digests: vec![format!("r/x@sha256:m{id}")],
            layers: layers.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn layer(d: &str) -> LayerRow {
        LayerRow {
            diff_id: d.into(),
            size: 5,
            blob_digest: None,
            blob_size: None,
            blob_media_type: None,
        }
    }

    #[test]
    fn names_move_between_images_and_shared_layers_stay_until_unused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir.path().join("db"), &dir.path().join("db.lock")).expect("open");
        for l in ["l1", "l2", "l3"] {
            insert_layer(&conn, &layer(l)).expect("layer");
        }
        commit_image(
            &mut conn,
            &image("a", &["l1", "l2"]),
            &["r/x:latest".into()],
            1,
        )
        .expect("a");
        commit_image(
            &mut conn,
            &image("b", &["l1", "l3"]),
            &["r/x:latest".into(), "r/y:1".into()],
            2,
        )
        .expect("b");
        assert_eq!(
            image_by_name(&conn, "r/x:latest").expect("q"),
            Some("b".into())
        );
        let a = get_image(&conn, "a").expect("q").expect("a exists");
        assert!(a.names.is_empty(), "a lost its name to b and is dangling");
        assert_eq!(unreferenced_layers(&conn).expect("q"), Vec::<String>::new());
        delete_image(&conn, "a").expect("delete");
        assert_eq!(
            unreferenced_layers(&conn).expect("q"),
            vec!["l2".to_string()]
        );
        assert_eq!(
            images_by_id_prefix(&conn, "b").expect("q"),
            vec!["b".to_string()]
        );
    }

    #[test]
    fn reopening_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("db");
        drop(open(&p, &dir.path().join("l")).expect("first"));
        let conn = open(&p, &dir.path().join("l")).expect("second");
        let v: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, MIGRATIONS.len());
    }
}
