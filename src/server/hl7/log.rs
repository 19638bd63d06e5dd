//! The message log: every message received is stored, with its dedupe key (sender and
//! MSH-10), in a committed (synced) transaction before it is acknowledged; what it did and
//! the acknowledgement sent are added when it has been handled. A message whose key was
//! seen before is not applied again: the acknowledgement stored for it is sent again.

use rusqlite::{OptionalExtension, params};

use crate::server::store::{Result, Store};

/// What receiving a message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored now, as `seq`.
    New(i64),
    /// Seen before as `seq`: its status and the acknowledgement sent then (if any yet).
    Repeat {
        seq: i64,
        status: String,
        ack: Option<String>,
    },
}

/// One logged message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: i64,
    pub received: i64,
    pub sender: String,
    pub control_id: String,
    pub kind: String,
    pub status: String,
    pub raw: String,
    pub ack: Option<String>,
    pub error: Option<String>,
    pub resources: Vec<String>,
}

/// Stores `raw` as received (durably) unless its key was seen before.
pub fn receive(
    store: &Store,
    raw: &str,
    sender: &str,
    control_id: &str,
    kind: &str,
) -> Result<Received> {
    store.write_side(|tx| {
        if !control_id.is_empty() {
            let seen: Option<(i64, String, Option<String>)> = tx
                .query_row(
                    "SELECT seq, status, ack FROM hl7_message WHERE sender = ?1 AND control_id = ?2",
                    params![sender, control_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((seq, status, ack)) = seen {
                return Ok(Received::Repeat { seq, status, ack });
            }
        }
        tx.execute(
            "INSERT INTO hl7_message (received, sender, control_id, kind, status, raw)
             VALUES (?1, ?2, ?3, ?4, 'received', ?5)",
            params![crate::fhir::date::now_ms(), sender, control_id, kind, raw],
        )?;
        Ok(Received::New(tx.last_insert_rowid()))
    })
}

/// Records what message `seq` did and the acknowledgement sent.
pub fn finish(
    store: &Store,
    seq: i64,
    status: &str,
    ack: &str,
    error: Option<&str>,
    resources: &[String],
) -> Result<()> {
    let resources = serde_json::to_string(resources).unwrap_or_else(|_| "[]".into());
    store.write_side(|tx| {
        tx.execute(
            "UPDATE hl7_message SET status = ?2, ack = ?3, error = ?4, resources = ?5 WHERE seq = ?1",
            params![seq, status, ack, error, resources],
        )?;
        Ok(())
    })
}

/// One logged message.
pub fn get(store: &Store, seq: i64) -> Result<Option<Logged>> {
    Ok(list_where(store, "seq = ?1", seq, 1)?.pop())
}

/// The newest messages first, optionally of one status, at most `count`.
pub fn list(store: &Store, status: Option<&str>, count: i64) -> Result<Vec<Logged>> {
    list_where(store, "(?1 IS NULL OR status = ?1)", status, count)
}

fn list_where(
    store: &Store,
    condition: &str,
    arg: impl rusqlite::ToSql,
    count: i64,
) -> Result<Vec<Logged>> {
    store.read_side(|c| {
        let mut stmt = c.prepare(&format!(
            "SELECT seq, received, sender, control_id, kind, status, raw, ack, error, resources
             FROM hl7_message WHERE {condition} ORDER BY seq DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![arg, count.clamp(1, 1000)], |r| {
            let resources: Option<String> = r.get(9)?;
            Ok(Logged {
                seq: r.get(0)?,
                received: r.get(1)?,
                sender: r.get(2)?,
                control_id: r.get(3)?,
                kind: r.get(4)?,
                status: r.get(5)?,
                raw: r.get(6)?,
                ack: r.get(7)?,
                error: r.get(8)?,
                resources: resources
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_stored_once_and_its_ack_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("log.db")).unwrap();
        let first = receive(&store, "MSH|...", "LAB^GENHOSP", "LAB42", "ORU^R01").unwrap();
        let Received::New(seq) = first else {
            panic!("new")
        };
        // Received again before it was answered: not applied twice, no ACK to repeat yet.
        assert_eq!(
            receive(&store, "MSH|...", "LAB^GENHOSP", "LAB42", "ORU^R01").unwrap(),
            Received::Repeat {
                seq,
                status: "received".into(),
                ack: None
            }
        );
        finish(
            &store,
            seq,
            "applied",
            "MSH|ACK",
            None,
            &["Observation/o/_history/1".into()],
        )
        .unwrap();
        assert_eq!(
            receive(&store, "MSH|...", "LAB^GENHOSP", "LAB42", "ORU^R01").unwrap(),
            Received::Repeat {
                seq,
                status: "applied".into(),
                ack: Some("MSH|ACK".into())
            }
        );
        // Another sender's same control id is another message; unreadable ones are all kept.
        assert!(matches!(
            receive(&store, "x", "ADT^GENHOSP", "LAB42", "ADT^A01").unwrap(),
            Received::New(_)
        ));
        assert!(matches!(
            receive(&store, "junk", "", "", "").unwrap(),
            Received::New(_)
        ));
        assert!(matches!(
            receive(&store, "junk", "", "", "").unwrap(),
            Received::New(_)
        ));
        let all = list(&store, None, 10).unwrap();
        assert_eq!(all.len(), 4);
        let applied = list(&store, Some("applied"), 10).unwrap();
        assert_eq!(applied[0].resources, ["Observation/o/_history/1"]);
    }
}
