//! A batch: each entry on its own, through the gate, each with its own outcome.

use super::*;

pub(super) fn batch(store: &Store, gate: &mut Gate, entries: Vec<Value>, base: &str) -> String {
    let mut out = Bundle::new("batch-response");
    for (index, entry) in entries.into_iter().enumerate() {
        let result = parse_entry(index, entry, base).and_then(|op| {
            if op.method == Method::Get {
                return audited_entry(
                    gate,
                    &op,
                    |gate| {
                        let mut reader = store.reader()?;
                        read_entry(gate, &mut reader, &op, base)
                    },
                    entry_status,
                );
            }
            batch_write(store, gate, &op, base)
        });
        out.entry.push(match result {
            Ok(entry) => entry,
            Err(e) => Entry {
                response: Some(EntryResponse {
                    status: format!(
                        "{} {}",
                        e.status.as_u16(),
                        e.status.canonical_reason().unwrap_or("")
                    ),
                    outcome: serde_json::value::to_raw_value(&e.outcome).ok(),
                    ..EntryResponse::default()
                }),
                ..Entry::default()
            },
        });
    }
    out.to_json()
}

/// One writing entry of a batch, in a transaction of its own that also stores the entry's
/// audit record (and those of the labels it changed): applied and audited, or neither.
fn batch_write(store: &Store, gate: &mut Gate, op: &Op, base: &str) -> Result<Entry, ApiError> {
    let labels_from = gate.note.label_changes.len();
    let entries_before = gate.note.entries.len();
    let written = store.write_with(|tx| {
        let entry = audited_entry(
            gate,
            op,
            |gate| match op.method {
                Method::Post => {
                    let created = interact::create(
                        gate,
                        tx,
                        &op.rtype,
                        op.resource.clone().unwrap_or_default(),
                        None,
                        op.if_none_exist.as_deref(),
                    )?;
                    Ok(created_entry(base, created))
                }
                _ => apply(gate, tx, op, base),
            },
            entry_status,
        )?;
        gate.record_entry(tx, labels_from)?;
        Ok::<_, ApiError>(entry)
    });
    // What was rolled back changed no label; what committed has its records already.
    gate.note.label_changes.truncate(labels_from);
    match written {
        Ok(entry) => {
            if let Some(audit) = gate.note.entries.last_mut() {
                audit.in_write = true;
            }
            Ok(entry)
        }
        Err(e) => {
            // Refused before it was audited (or the commit failed after): the trail records
            // the failure.
            if gate.note.entries.len() == entries_before {
                return audited_entry(gate, op, |_| Err::<Entry, _>(e), entry_status);
            }
            if let Some(audit) = gate.note.entries.last_mut() {
                if audit.status < 400 {
                    audit.status = e.status.as_u16();
                    audit.description =
                        Some(e.status.canonical_reason().unwrap_or("failed").to_string());
                }
            }
            Err(e)
        }
    }
}
