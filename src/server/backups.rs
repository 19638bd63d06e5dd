//! Backups with a record: every backup, by `bedside backup` or on the server's schedule
//! (`[backup]` in the site's config.toml), leaves an AuditEvent (`backup`, success or failure)
//! and a line in the log. The schedule writes `<database name>-<UTC time>.db` into its folder
//! and keeps the newest `keep` of those; it never touches other files there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::server::audit::{self, Agent, Event, Subtype};
use crate::server::store::backup::{self, Verified};
use crate::server::store::{DbKey, StoreError};

/// When and where the server backs up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub every: Duration,
    pub folder: PathBuf,
    pub keep: usize,
}

impl Schedule {
    /// The schedule of `[backup]`, its folder made (0700) if missing.
    pub fn from_config(config: &crate::config::BackupConfig) -> Result<Schedule, String> {
        let every = config.interval()?;
        if !config.folder.exists() {
            crate::files::private_dir(&config.folder).map_err(|e| {
                format!(
                    "backup.folder {}: cannot create it ({e})",
                    config.folder.display()
                )
            })?;
        }
        Ok(Schedule {
            every,
            folder: config.folder.clone(),
            keep: config.keep.max(1),
        })
    }
}

/// Backs `db` up to `to` and records it in the audit trail (and the log), whether it worked
/// or not.
pub fn backup_recorded(
    db: &Path,
    key: Option<&DbKey>,
    to: &Path,
    agent: Agent,
    progress: impl Fn(u64, u64),
) -> Result<Verified, StoreError> {
    let result = backup::backup(db, key, to, progress);
    let mut event = Event::new(Subtype::Backup, agent);
    event.resources = Vec::new();
    match &result {
        Ok(verified) => {
            tracing::info!(
                file = %to.display(),
                bytes = verified.bytes,
                resources = verified.resources,
                "backup written and checked"
            );
            event.description = Some(format!(
                "backup written to {} ({} bytes, integrity check ok, {} resources, {} audit records)",
                to.display(),
                verified.bytes,
                verified.resources,
                verified.audit_records
            ));
        }
        Err(e) => {
            tracing::error!(file = %to.display(), error = %e, "backup failed");
            event.success = false;
            event.description = Some(format!("backup to {} failed: {e}", to.display()));
        }
    }
    if let Err(e) = audit::record_beside(db, key, &[event]) {
        tracing::error!(error = %e, "the backup's audit record could not be written");
    }
    result
}

/// The name of a scheduled backup of `db` made now.
fn scheduled_name(db: &Path, folder: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bedside".into());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    folder.join(format!("{stem}-{stamp}.db"))
}

/// Scheduled backups of `db` in `folder`, oldest first.
pub fn scheduled_backups(db: &Path, folder: &Path) -> Vec<PathBuf> {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bedside".into());
    let prefix = format!("{stem}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|rest| rest.strip_suffix(".db"))
                .is_some_and(|stamp| {
                    stamp.len() == 20
                        && stamp.ends_with('Z')
                        && stamp.as_bytes().get(8) == Some(&b'T')
                })
        })
        .collect();
    found.sort();
    found
}

/// One scheduled backup, then the oldest beyond `keep` removed.
pub fn backup_once(
    db: &Path,
    key: Option<&DbKey>,
    schedule: &Schedule,
) -> Result<PathBuf, StoreError> {
    let to = scheduled_name(db, &schedule.folder);
    let agent = Agent {
        username: Some("bedside-server".into()),
        name: Some("bedside server (scheduled backup)".into()),
        role: None,
        reference: None,
    };
    backup_recorded(db, key, &to, agent, |_, _| {})?;
    let all = scheduled_backups(db, &schedule.folder);
    let surplus = all.len().saturating_sub(schedule.keep);
    for old in &all[..surplus] {
        match std::fs::remove_file(old) {
            Ok(()) => tracing::info!(file = %old.display(), "old backup removed"),
            Err(e) => {
                tracing::warn!(file = %old.display(), error = %e, "cannot remove an old backup")
            }
        }
    }
    Ok(to)
}

/// Backs up on `schedule` until the task is dropped; the first backup after one interval.
pub async fn run_schedule(db: PathBuf, key: Option<DbKey>, schedule: Schedule) {
    let mut tick = tokio::time::interval(schedule.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let (db, key, schedule) = (db.clone(), key.clone(), schedule.clone());
        // A failure is logged and audited; the next one is tried on time.
        let _ =
            tokio::task::spawn_blocking(move || backup_once(&db, key.as_ref(), &schedule)).await;
    }
}
