//! The chart cache: the resources of recently opened charts, one SQLite database per user in
//! the cache directory. Every chart is sealed with the user's data key; rows are found by a
//! keyed hash of the patient id, so the file holds no id, name or clinical text in the clear.
//!
//! Bounded three ways, checked after every write: at most `max_charts` charts (the least
//! recently opened go first), at most `max_bytes`, and nothing older than `ttl` since it was
//! last fetched from the server (an expired chart is never shown).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{Vault, VaultError};
use crate::config::CacheConfig;

/// The defaults the issue asks for: 50 charts, 200 MB, 72 hours.
pub const DEFAULT_MAX_CHARTS: usize = 50;
pub const DEFAULT_MAX_MB: u64 = 200;
pub const DEFAULT_TTL_HOURS: u64 = 72;

#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    /// False: no chart is kept on disk (the site turned caching off).
    pub enabled: bool,
    pub max_charts: usize,
    pub max_bytes: u64,
    pub ttl_ms: i64,
    /// Wipe this user's cached charts when they sign out (offline reading then covers only
    /// the open session).
    pub wipe_on_sign_out: bool,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            enabled: true,
            max_charts: DEFAULT_MAX_CHARTS,
            max_bytes: DEFAULT_MAX_MB * 1024 * 1024,
            ttl_ms: DEFAULT_TTL_HOURS as i64 * 3_600_000,
            wipe_on_sign_out: false,
        }
    }
}

/// Resources in a chart's first part: the Patient, allergies and the newest items, enough
/// for the banner and a first screen of the timeline.
pub const HEAD: usize = 300;

/// A chart read back from the cache: its first part at once; the rest with `ChartCache::rest`.
pub struct Cached {
    pub head: Vec<Value>,
    /// When it was last fetched from the server (ms since the epoch).
    pub fetched_ms: i64,
    /// The first part's JSON (wiped when dropped), for a second copy parsed off the render
    /// path instead of cloned on it.
    head_plain: Plain,
    rest_sealed: Vec<u8>,
    key: String,
}

impl Cached {
    /// Another copy of the first part.
    pub fn head_again(&self) -> Vec<Value> {
        self.head_plain.parse().unwrap_or_default()
    }
}

/// Plaintext that is overwritten when dropped.
pub struct Plain(Vec<u8>);

impl Plain {
    pub fn parse(&self) -> Option<Vec<Value>> {
        serde_json::from_slice(&self.0).ok()
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// What a cache file holds, read without the key (`bedside cache stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub charts: usize,
    pub resources: u64,
    pub bytes: u64,
    pub oldest_ms: Option<i64>,
    pub newest_ms: Option<i64>,
}

/// What one round of eviction removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    pub expired: usize,
    pub over_count: usize,
    pub over_size: usize,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS owner (server TEXT NOT NULL, username TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chart (
    key TEXT PRIMARY KEY,
    card BLOB NOT NULL,
    head BLOB NOT NULL,
    rest BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    resources INTEGER NOT NULL,
    fetched_ms INTEGER NOT NULL,
    opened_ms INTEGER NOT NULL
);
-- Snapshots of patient lists (a ward's census) for downtime, sealed like the charts.
CREATE TABLE IF NOT EXISTS snapshot (
    key TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    fetched_ms INTEGER NOT NULL
);
";

pub struct ChartCache {
    path: PathBuf,
    conn: Mutex<Connection>,
    vault: Vault,
    pub settings: CacheSettings,
}

impl std::fmt::Debug for ChartCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartCache")
            .field("path", &self.path)
            .finish()
    }
}

/// Opens (creating it 0600 first, so SQLite's WAL and SHM files take the same mode) a
/// database in a private folder.
pub(crate) fn open_private_db(path: &Path) -> Result<Connection, VaultError> {
    if let Some(dir) = path.parent() {
        crate::files::private_dir(dir)?;
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)?;
    }
    crate::files::make_private(path)?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Deleted rows are overwritten with zeros, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn card_aad(key: &str) -> Vec<u8> {
    format!("bedside-cache-v1|card|{key}").into_bytes()
}

fn head_aad(key: &str) -> Vec<u8> {
    format!("bedside-cache-v1|head|{key}").into_bytes()
}

fn rest_aad(key: &str) -> Vec<u8> {
    format!("bedside-cache-v1|rest|{key}").into_bytes()
}

fn snapshot_aad(key: &str) -> Vec<u8> {
    format!("bedside-cache-v1|snapshot|{key}").into_bytes()
}

/// When a resource happened, as its ISO text (which sorts as time does).
fn when(r: &Value) -> &str {
    const FIELDS: [&str; 12] = [
        "/effectiveDateTime",
        "/effectivePeriod/start",
        "/issued",
        "/date",
        "/authoredOn",
        "/recordedDate",
        "/onsetDateTime",
        "/period/start",
        "/occurrenceDateTime",
        "/performedDateTime",
        "/performedPeriod/start",
        "/meta/lastUpdated",
    ];
    FIELDS
        .iter()
        .find_map(|f| r.pointer(f).and_then(Value::as_str))
        .unwrap_or("")
}

/// The Patient, then allergies, then everything else newest first: the order a chart is
/// stored in, so its first part fills the first screen.
fn screen_order(resources: &[Value]) -> Vec<&Value> {
    let rank = |r: &Value| match r.get("resourceType").and_then(Value::as_str) {
        Some("Patient") => 0,
        Some("AllergyIntolerance") => 1,
        _ => 2,
    };
    let mut out: Vec<&Value> = resources.iter().collect();
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| when(b).cmp(when(a))));
    out
}

impl ChartCache {
    /// The cache file of the vault's user under `root` (the cache directory).
    pub fn path_for(root: &Path, vault: &Vault) -> PathBuf {
        root.join(super::slug(&vault.server_id, &vault.username))
            .join("charts.db")
    }

    pub fn open(
        root: &Path,
        vault: Vault,
        settings: CacheSettings,
    ) -> Result<ChartCache, VaultError> {
        let path = ChartCache::path_for(root, &vault);
        let conn = open_private_db(&path)?;
        conn.execute_batch(SCHEMA)?;
        let has_owner: bool = conn.query_row("SELECT count(*) > 0 FROM owner", [], |r| r.get(0))?;
        if !has_owner {
            conn.execute(
                "INSERT INTO owner (server, username) VALUES (?1, ?2)",
                params![vault.server_id, vault.username],
            )?;
        }
        Ok(ChartCache {
            path,
            conn: Mutex::new(conn),
            vault,
            settings,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached chart of `patient_id`, unless it is missing or has expired (then removed).
    pub fn get(&self, patient_id: &str, now_ms: i64) -> Result<Option<Cached>, VaultError> {
        let key = self.vault.lookup(patient_id)?;
        let conn = self.conn();
        let row: Option<(Vec<u8>, Vec<u8>, i64)> = conn
            .query_row(
                "SELECT head, rest, fetched_ms FROM chart WHERE key = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((head, rest_sealed, fetched_ms)) = row else {
            return Ok(None);
        };
        if now_ms - fetched_ms > self.settings.ttl_ms {
            conn.execute("DELETE FROM chart WHERE key = ?1", [&key])?;
            return Ok(None);
        }
        let head_plain = Plain(self.vault.open_sealed(&head_aad(&key), &head)?);
        let head: Vec<Value> = serde_json::from_slice(&head_plain.0)
            .map_err(|e| VaultError::Corrupt(format!("a cached chart is not JSON ({e})")))?;
        conn.execute(
            "UPDATE chart SET opened_ms = ?2 WHERE key = ?1",
            params![key, now_ms],
        )?;
        Ok(Some(Cached {
            head,
            fetched_ms,
            head_plain,
            rest_sealed,
            key,
        }))
    }

    /// The rest of a cached chart (after its first part).
    pub fn rest(&self, cached: &Cached) -> Result<Vec<Value>, VaultError> {
        let plain = Plain(
            self.vault
                .open_sealed(&rest_aad(&cached.key), &cached.rest_sealed)?,
        );
        serde_json::from_slice(&plain.0)
            .map_err(|e| VaultError::Corrupt(format!("a cached chart is not JSON ({e})")))
    }

    /// The whole cached chart and when it was fetched (tests, tools).
    pub fn get_all(
        &self,
        patient_id: &str,
        now_ms: i64,
    ) -> Result<Option<(Vec<Value>, i64)>, VaultError> {
        let Some(hit) = self.get(patient_id, now_ms)? else {
            return Ok(None);
        };
        let rest = self.rest(&hit)?;
        let mut all = hit.head_again();
        all.extend(rest);
        Ok(Some((all, hit.fetched_ms)))
    }

    /// Keeps `resources` (the chart's whole `$everything`, the Patient among them) as
    /// `patient_id`'s chart fetched at `fetched_ms`, then evicts what is over the limits.
    pub fn put(
        &self,
        patient_id: &str,
        resources: &[Value],
        fetched_ms: i64,
        now_ms: i64,
    ) -> Result<Evicted, VaultError> {
        if !self.settings.enabled {
            return Ok(Evicted::default());
        }
        let key = self.vault.lookup(patient_id)?;
        let patient = resources
            .iter()
            .find(|r| {
                r.get("resourceType").and_then(Value::as_str) == Some("Patient")
                    && r.get("id").and_then(Value::as_str) == Some(patient_id)
            })
            .ok_or_else(|| {
                VaultError::Corrupt("a chart without its Patient is not cached".into())
            })?;
        let card = self.vault.seal(
            &card_aad(&key),
            &Zeroize(serde_json::to_vec(patient).unwrap_or_default()).0,
        )?;
        let ordered = screen_order(resources);
        let split = ordered.len().min(HEAD);
        let seal_part = |part: &[&Value], aad: Vec<u8>| -> Result<Vec<u8>, VaultError> {
            let plain = Zeroize(
                serde_json::to_vec(part)
                    .map_err(|e| VaultError::Io(format!("cannot write a chart ({e})")))?,
            );
            self.vault.seal(&aad, &plain.0)
        };
        let head = seal_part(&ordered[..split], head_aad(&key))?;
        let rest = seal_part(&ordered[split..], rest_aad(&key))?;
        let bytes = (head.len() + rest.len() + card.len()) as i64;
        {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO chart (key, card, head, rest, bytes, resources, fetched_ms, opened_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(key) DO UPDATE SET card = ?2, head = ?3, rest = ?4, bytes = ?5,
                 resources = ?6, fetched_ms = ?7, opened_ms = ?8",
                params![
                    key,
                    card,
                    head,
                    rest,
                    bytes,
                    resources.len() as i64,
                    fetched_ms,
                    now_ms
                ],
            )?;
        }
        self.evict(now_ms)
    }

    /// Drops `patient_id`'s chart (it became restricted, or the user may no longer see it).
    pub fn remove(&self, patient_id: &str) -> Result<(), VaultError> {
        let key = self.vault.lookup(patient_id)?;
        self.conn()
            .execute("DELETE FROM chart WHERE key = ?1", [&key])?;
        Ok(())
    }

    /// Removes expired charts, then the least recently opened beyond the count and size caps.
    pub fn evict(&self, now_ms: i64) -> Result<Evicted, VaultError> {
        let conn = self.conn();
        let mut out = Evicted {
            expired: conn.execute(
                "DELETE FROM chart WHERE fetched_ms < ?1",
                [now_ms - self.settings.ttl_ms],
            )?,
            ..Evicted::default()
        };
        let rows: Vec<(String, i64)> = {
            let mut stmt =
                conn.prepare_cached("SELECT key, bytes FROM chart ORDER BY opened_ms DESC, key")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut total = 0u64;
        for (i, (key, bytes)) in rows.iter().enumerate() {
            total += *bytes as u64;
            let over_count = i >= self.settings.max_charts;
            let over_size = total > self.settings.max_bytes;
            if over_count || over_size {
                conn.execute("DELETE FROM chart WHERE key = ?1", [key])?;
                total -= *bytes as u64;
                if over_count {
                    out.over_count += 1;
                } else {
                    out.over_size += 1;
                }
            }
        }
        Ok(out)
    }

    /// The Patient resources of every chart still fresh: what search covers offline.
    pub fn patients(&self, now_ms: i64) -> Result<Vec<Value>, VaultError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT key, card FROM chart WHERE fetched_ms >= ?1 ORDER BY opened_ms DESC",
        )?;
        let rows: Vec<(String, Vec<u8>)> = stmt
            .query_map([now_ms - self.settings.ttl_ms], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (key, card) in rows {
            let plain = Zeroize(self.vault.open_sealed(&card_aad(&key), &card)?);
            if let Ok(v) = serde_json::from_slice(&plain.0) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Keeps `body` as the snapshot named `name` (a patient list: `census:ward/ID`) fetched at
    /// `fetched_ms`, sealed; the name is kept only as the vault's keyed lookup of it.
    pub fn put_snapshot(
        &self,
        name: &str,
        body: &Value,
        fetched_ms: i64,
    ) -> Result<(), VaultError> {
        if !self.settings.enabled {
            return Ok(());
        }
        let key = self.vault.lookup(&format!("snapshot:{name}"))?;
        let plain = Zeroize(
            serde_json::to_vec(body)
                .map_err(|e| VaultError::Io(format!("cannot write a snapshot ({e})")))?,
        );
        let sealed = self.vault.seal(&snapshot_aad(&key), &plain.0)?;
        self.conn().execute(
            "INSERT OR REPLACE INTO snapshot (key, body, fetched_ms) VALUES (?1, ?2, ?3)",
            params![key, sealed, fetched_ms],
        )?;
        Ok(())
    }

    /// The snapshot named `name` and when it was fetched, unless missing or expired (then
    /// removed).
    pub fn get_snapshot(
        &self,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<(Value, i64)>, VaultError> {
        let key = self.vault.lookup(&format!("snapshot:{name}"))?;
        let conn = self.conn();
        let row: Option<(Vec<u8>, i64)> = conn
            .query_row(
                "SELECT body, fetched_ms FROM snapshot WHERE key = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((sealed, fetched_ms)) = row else {
            return Ok(None);
        };
        if now_ms - fetched_ms > self.settings.ttl_ms {
            conn.execute("DELETE FROM snapshot WHERE key = ?1", [&key])?;
            return Ok(None);
        }
        let plain = Plain(self.vault.open_sealed(&snapshot_aad(&key), &sealed)?);
        let body = serde_json::from_slice(&plain.0)
            .map_err(|e| VaultError::Corrupt(format!("a cached snapshot is not JSON ({e})")))?;
        Ok(Some((body, fetched_ms)))
    }

    /// Deletes every cached chart and snapshot (sign-out at a site that asks for it).
    pub fn wipe(&self) -> Result<usize, VaultError> {
        let conn = self.conn();
        conn.execute("DELETE FROM snapshot", [])?;
        let n = conn.execute("DELETE FROM chart", [])?;
        // Checkpoint so the WAL holds no old pages either (they are encrypted regardless).
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        Ok(n)
    }

    /// Counts and sizes of the cache file at `path`, read without any key.
    pub fn stats(path: &Path) -> Result<Stats, VaultError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn.query_row(
            "SELECT count(*), coalesce(sum(resources), 0), coalesce(sum(bytes), 0),
                    min(fetched_ms), max(fetched_ms) FROM chart",
            [],
            |r| {
                Ok(Stats {
                    charts: r.get::<_, i64>(0)? as usize,
                    resources: r.get::<_, i64>(1)? as u64,
                    bytes: r.get::<_, i64>(2)? as u64,
                    oldest_ms: r.get(3)?,
                    newest_ms: r.get(4)?,
                })
            },
        )?)
    }

    /// Charts held now (tests and the status line).
    pub fn len(&self) -> usize {
        self.conn()
            .query_row("SELECT count(*) FROM chart", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Plaintext that is overwritten when dropped.
struct Zeroize(Vec<u8>);

impl Drop for Zeroize {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The cache settings from the site's file (which binds) and the user's, and what to tell
/// the user about them.
pub fn cache_settings(site: &CacheConfig, user: &CacheConfig) -> (CacheSettings, Vec<String>) {
    let mut problems = Vec::new();
    let mut capped = |name: &str, site: Option<u64>, user: Option<u64>, default: u64| {
        let wanted = user.filter(|v| *v > 0).or(site).unwrap_or(default);
        match site {
            Some(s) if wanted > s => {
                problems.push(format!(
                    "cache {name} {wanted} is more than this site allows ({s}); using {s}"
                ));
                s
            }
            _ => wanted,
        }
    };
    let max_charts = capped(
        "max_charts",
        site.max_charts.map(|v| v as u64),
        user.max_charts.map(|v| v as u64),
        DEFAULT_MAX_CHARTS as u64,
    );
    let max_mb = capped("max_mb", site.max_mb, user.max_mb, DEFAULT_MAX_MB);
    let ttl_hours = capped(
        "ttl_hours",
        site.ttl_hours,
        user.ttl_hours,
        DEFAULT_TTL_HOURS,
    );
    let enabled = site.enabled != Some(false) && user.enabled != Some(false);
    let wipe = site.wipe_on_sign_out == Some(true) || user.wipe_on_sign_out == Some(true);
    if user.wipe_on_sign_out == Some(false) && site.wipe_on_sign_out == Some(true) {
        problems.push(
            "this site wipes the chart cache at sign-out; wipe_on_sign_out = false is ignored"
                .into(),
        );
    }
    if user.enabled == Some(true) && site.enabled == Some(false) {
        problems.push("this site turned the chart cache off; enabled = true is ignored".into());
    }
    (
        CacheSettings {
            enabled,
            max_charts: max_charts as usize,
            max_bytes: max_mb * 1024 * 1024,
            ttl_ms: ttl_hours as i64 * 3_600_000,
            wipe_on_sign_out: wipe,
        },
        problems,
    )
}

#[cfg(test)]
mod tests;
