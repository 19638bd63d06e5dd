//! The outbox: notes signed or saved while the server could not be reached, kept (sealed) in
//! a SQLite database in the user's data folder until they are sent, in the order they were
//! written. A killed workstation loses nothing: an entry is committed before the note leaves
//! the screen, and marked sent only after the server has it.
//!
//! Each note carries its draft id as an identifier and is sent as a conditional create
//! (`If-None-Exist: identifier=urn:bedside:draft|ID`), so a retry after a lost answer finds the
//! note already filed instead of filing it twice.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Vault, VaultError};
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;

/// Sent entries are listed this long, so the clinician sees what went.
pub const SENT_SHOWN_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Waiting,
    Sent,
    /// Someone else changed the note on the server: the local copy is kept, with theirs.
    Conflict,
    /// The server refused it (the reason is kept); it stays until the clinician acts.
    Refused,
}

impl State {
    fn code(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Sent => "sent",
            State::Conflict => "conflict",
            State::Refused => "refused",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "sent" => State::Sent,
            "conflict" => State::Conflict,
            "refused" => State::Refused,
            _ => State::Waiting,
        }
    }
}

/// One note waiting (or sent). Everything but the order and state is sealed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub draft: Draft,
    pub status: DocStatus,
    /// The DocumentReference as it was when the clinician signed or saved it.
    pub resource: Value,
    /// The server's version when the note was an update of one saved earlier.
    #[serde(default)]
    pub if_match: Option<String>,
    /// Why the server refused it, or what happened.
    #[serde(default)]
    pub message: Option<String>,
    /// The server's copy, when it changed under us.
    #[serde(default)]
    pub server_copy: Option<Value>,
    /// A record written at the bedside (a set of vital signs) instead of a note: the
    /// transaction to post, each entry a conditional create so it is filed once however often
    /// it is sent. `draft` then only names it for the list (patient, title, what it says).
    #[serde(default)]
    pub record: Option<Value>,
}

// The note and the server's copy are patient data: never printed.
impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("draft", &self.draft)
            .field("status", &self.status)
            .field("if_match", &self.if_match)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// An entry as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub state: State,
    pub queued_ms: i64,
    pub sent_ms: Option<i64>,
    pub item: Item,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    queued_ms INTEGER NOT NULL,
    sent_ms INTEGER,
    body BLOB NOT NULL
);
";

pub struct Outbox {
    path: PathBuf,
    conn: Mutex<Connection>,
    vault: Vault,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish()
    }
}

fn aad(id: &str) -> Vec<u8> {
    format!("bedside-outbox-v1|{id}").into_bytes()
}

impl Outbox {
    /// The outbox of the vault's user (in their folder in the data directory).
    pub fn open(vault: Vault) -> Result<Outbox, VaultError> {
        let path = vault.dir().join("outbox.db");
        let conn = super::cache::open_private_db(&path)?;
        // Every entry reaches the disk before the note leaves the screen.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Outbox {
            path,
            conn: Mutex::new(conn),
            vault,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a note to send. A note already waiting under the same draft id is replaced (saved
    /// unsigned, then signed, while offline: only the signed one needs to go), keeping its
    /// place in the order.
    pub fn enqueue(&self, item: &Item, now_ms: i64) -> Result<i64, VaultError> {
        let id = item.draft.id.clone();
        let body = self.seal(item)?;
        let conn = self.conn();
        let waiting: Option<i64> = conn
            .query_row(
                "SELECT seq FROM outbox WHERE id = ?1 AND state = 'waiting'",
                [&id],
                |r| r.get(0),
            )
            .ok();
        if let Some(seq) = waiting {
            conn.execute(
                "UPDATE outbox SET body = ?2 WHERE seq = ?1",
                params![seq, body],
            )?;
            return Ok(seq);
        }
        // A sent or settled entry under this id is history: the new one is a new send.
        conn.execute("DELETE FROM outbox WHERE id = ?1", [&id])?;
        conn.execute(
            "INSERT INTO outbox (id, state, queued_ms, body) VALUES (?1, 'waiting', ?2, ?3)",
            params![id, now_ms, body],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn seal(&self, item: &Item) -> Result<Vec<u8>, VaultError> {
        let plain = serde_json::to_vec(item)
            .map_err(|e| VaultError::Io(format!("cannot write an outbox entry ({e})")))?;
        let sealed = self.vault.seal(&aad(&item.draft.id), &plain);
        let mut plain = plain;
        zeroize::Zeroize::zeroize(&mut plain);
        sealed
    }

    /// Notes still to send, oldest first.
    pub fn waiting(&self) -> Result<Vec<Entry>, VaultError> {
        self.select("WHERE state = 'waiting' ORDER BY seq", params![])
    }

    /// Everything to show: waiting, conflicts and refusals, and what was sent since `since_ms`.
    pub fn list(&self, since_ms: i64) -> Result<Vec<Entry>, VaultError> {
        self.select(
            "WHERE state != 'sent' OR sent_ms >= ?1 ORDER BY seq",
            params![since_ms],
        )
    }

    /// `list` of what to show now: everything not sent, and what was sent in the last day.
    pub fn recent(&self) -> Result<Vec<Entry>, VaultError> {
        self.list(crate::fhir::date::now_ms() - SENT_SHOWN_MS)
    }

    fn select(&self, tail: &str, args: impl rusqlite::Params) -> Result<Vec<Entry>, VaultError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT seq, id, state, queued_ms, sent_ms, body FROM outbox {tail}"
        ))?;
        type Row = (i64, String, String, i64, Option<i64>, Vec<u8>);
        let rows: Vec<Row> = stmt
            .query_map(args, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, id, state, queued_ms, sent_ms, body) in rows {
            let plain = self.vault.open_sealed(&aad(&id), &body)?;
            let item: Item = serde_json::from_slice(&plain)
                .map_err(|e| VaultError::Corrupt(format!("an outbox entry is damaged ({e})")))?;
            out.push(Entry {
                seq,
                state: State::parse(&state),
                queued_ms,
                sent_ms,
                item,
            });
        }
        Ok(out)
    }

    /// Records what became of entry `seq` (and the item's message or server copy).
    pub fn settle(
        &self,
        seq: i64,
        state: State,
        item: &Item,
        now_ms: i64,
    ) -> Result<(), VaultError> {
        let body = self.seal(item)?;
        let sent = (state == State::Sent).then_some(now_ms);
        self.conn().execute(
            "UPDATE outbox SET state = ?2, sent_ms = ?3, body = ?4 WHERE seq = ?1",
            params![seq, state.code(), sent, body],
        )?;
        Ok(())
    }

    /// Removes entry `seq` (the clinician discarded it, or took it back as a draft).
    pub fn remove(&self, seq: i64) -> Result<(), VaultError> {
        self.conn()
            .execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
        Ok(())
    }

    /// Entries not yet sent in the outbox file at `path`, counted without any key.
    pub fn unsent_at(path: &Path) -> Result<usize, VaultError> {
        if !path.exists() {
            return Ok(0);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE state != 'sent'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workstation::vault::Kdf;

    fn item(id: &str, status: DocStatus) -> Item {
        let draft = Draft {
            id: id.into(),
            server: "s".into(),
            patient_id: "p1".into(),
            patient_name: "QUIXOTEZ, Ann".into(),
            mrn: None,
            encounter: None,
            template: "progress".into(),
            title: "Progress note".into(),
            loinc: "11506-3".into(),
            loinc_display: "Progress note".into(),
            text: "seen".into(),
            created: String::new(),
            saved: String::new(),
            appends: None,
            server_id: None,
            server_version: None,
            owner: Some("a".into()),
        };
        Item {
            draft,
            status,
            resource: serde_json::json!({"resourceType": "DocumentReference"}),
            if_match: None,
            message: None,
            server_copy: None,
            record: None,
        }
    }

    #[test]
    fn keeps_order_coalesces_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let kdf = Kdf {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        let v = Vault::open_with(dir.path(), "s", "a", "pw", kdf).unwrap();
        let o = Outbox::open(v.clone()).unwrap();
        let first = o.enqueue(&item("d1", DocStatus::Preliminary), 1).unwrap();
        o.enqueue(&item("d2", DocStatus::Final), 2).unwrap();
        // d1 signed while still waiting: one entry, in d1's place, now final.
        assert_eq!(o.enqueue(&item("d1", DocStatus::Final), 3).unwrap(), first);
        drop(o);
        let o = Outbox::open(v.clone()).unwrap();
        let w = o.waiting().unwrap();
        assert_eq!(
            w.iter()
                .map(|e| e.item.draft.id.as_str())
                .collect::<Vec<_>>(),
            ["d1", "d2"]
        );
        assert_eq!(w[0].item.status, DocStatus::Final);
        o.settle(w[0].seq, State::Sent, &w[0].item, 10).unwrap();
        assert_eq!(o.waiting().unwrap().len(), 1);
        assert_eq!(o.list(0).unwrap().len(), 2);
        assert_eq!(o.list(11).unwrap().len(), 1);
        assert_eq!(Outbox::unsent_at(o.path()).unwrap(), 1);
        // The text is sealed.
        let bytes = std::fs::read(o.path()).unwrap();
        assert!(!bytes.windows(8).any(|w| w == b"QUIXOTEZ"));
        // Locked: nothing can be read or added.
        v.close();
        assert_eq!(o.waiting().unwrap_err(), VaultError::Locked);
    }
}
