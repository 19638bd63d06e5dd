//! `bedside import`: loads FHIR JSON Bundles (the entries of a transaction, batch,
//! collection, searchset or history), single resources (a document or message Bundle is one:
//! it is stored whole, as it was signed or sent) and Bulk Data NDJSON files. References to `urn:uuid:` and to other
//! entries' full URLs are resolved; entries without an id get one derived from their fullUrl
//! or content, so importing the same files again adds nothing. A bad file or entry is
//! reported and skipped; it never undoes what was already imported.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fhir::{parse_reference, rewrite_references, valid_id};
use crate::server::store::{Store, StoreError, Tx};

/// Resources per write transaction for NDJSON and large collections.
const CHUNK: usize = 10_000;

#[derive(Debug, Default)]
pub struct ImportSummary {
    pub files: usize,
    pub imported: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// Where (file, line or entry) and why, for each rejection. Never resource content.
    pub rejections: Vec<String>,
}

/// Every `.json` and `.ndjson` file under the given paths, in a stable order.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir() || p.extension().is_some_and(|e| e == "json" || e == "ndjson")
                })
                .collect();
            entries.sort();
            out.extend(collect_files(&entries)?);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            let msg = format!("{} does not exist", path.display());
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, msg));
        }
    }
    Ok(out)
}

/// Imports `files`, calling `progress(bytes_done)` as each file finishes.
pub fn import_files(
    store: &Store,
    files: &[PathBuf],
    mut progress: impl FnMut(u64),
) -> ImportSummary {
    let mut summary = ImportSummary::default();
    let _bulk = store
        .bulk_mode()
        .inspect_err(|e| tracing::warn!(error = %e, "could not tune the database for a bulk load"));
    let mut bytes = 0;
    for file in files {
        summary.files += 1;
        let result = if file.extension().is_some_and(|e| e == "ndjson") {
            import_ndjson(store, file, &mut summary)
        } else {
            import_json(store, file, &mut summary)
        };
        if let Err(why) = result {
            summary.rejected += 1;
            summary
                .rejections
                .push(format!("{}: {why}", file.display()));
        }
        bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        progress(bytes);
    }
    summary
}

/// What the NDJSON reader hands the writer.
/// A resource to store: its line (0 for a whole file), and its index rows if they were
/// extracted ahead.
type Item = (usize, Value, Option<crate::fhir::extract::Extracted>);

enum Parsed {
    /// Resources with their line numbers, and their index rows when they were checked.
    Chunk(Vec<Item>),
    Rejected(usize, String),
}

/// Reads and parses on one thread while the writer stores the previous chunk on another.
fn import_ndjson(store: &Store, file: &Path, summary: &mut ImportSummary) -> Result<(), String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    std::thread::scope(|scope| {
        let (send, parsed) = std::sync::mpsc::sync_channel::<Parsed>(2);
        scope.spawn(move || parse_lines(BufReader::new(handle), send));
        for message in parsed {
            match message {
                Parsed::Chunk(chunk) => write_each(store, file, chunk, summary, true)?,
                Parsed::Rejected(line, why) => reject(summary, &place(file, line), &why),
            }
        }
        Ok(())
    })
}

fn parse_lines(reader: impl BufRead, send: std::sync::mpsc::SyncSender<Parsed>) {
    let mut chunk = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let number = n + 1;
        let message = match line {
            Err(e) => Some(Parsed::Rejected(
                number,
                format!("cannot read the rest of the file: {e}"),
            )),
            Ok(line) if line.trim().is_empty() => None,
            Ok(line) => match serde_json::from_str::<Value>(&line) {
                // Validated here, beside the writer rather than in its way, under the id it
                // will be stored with.
                Ok(mut resource) => match settle_and_check(&mut resource) {
                    Err(why) => Some(Parsed::Rejected(number, why)),
                    Ok(()) => {
                        let extracted = extract_ahead(&resource);
                        chunk.push((number, resource, extracted));
                        (chunk.len() >= CHUNK).then(|| Parsed::Chunk(std::mem::take(&mut chunk)))
                    }
                },
                Err(e) => Some(Parsed::Rejected(number, format!("not valid JSON: {e}"))),
            },
        };
        let stop =
            matches!(&message, Some(Parsed::Rejected(_, why)) if why.starts_with("cannot read"));
        if let Some(message) = message {
            if send.send(message).is_err() {
                return; // the writer stopped
            }
        }
        if stop {
            break;
        }
    }
    let _ = send.send(Parsed::Chunk(chunk));
}

/// `file:line`, or the file alone for a whole-file resource (line 0).
fn place(file: &Path, line: usize) -> String {
    if line == 0 {
        file.display().to_string()
    } else {
        format!("{}:{line}", file.display())
    }
}

fn import_json(store: &Store, file: &Path, summary: &mut ImportSummary) -> Result<(), String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    let value: Value = serde_json::from_slice(&text).map_err(|e| format!("not valid JSON: {e}"))?;
    let place = file.display().to_string();
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return write_each(store, file, vec![(0, value, None)], summary, false);
    }
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !matches!(
        kind.as_str(),
        "transaction" | "batch" | "collection" | "searchset" | "history"
    ) {
        // A document, a message or a response is a record in itself.
        return write_each(store, file, vec![(0, value, None)], summary, false);
    }
    let mut entries = prepare_bundle(&value);
    if kind == "transaction" {
        // A transaction is all or nothing, on import as over HTTP.
        let n = entries.len() as u64;
        let outcome = store.write(|tx| {
            let mut written = (0, 0);
            for e in entries.drain(..) {
                let index = e.index;
                let w = apply_entry(tx, e)
                    .map_err(|err| StoreError::invalid(format!("entry {index}: {err}")))?;
                if w { written.0 += 1 } else { written.1 += 1 }
            }
            Ok(written)
        });
        return match outcome {
            Ok((imported, skipped)) => {
                summary.imported += imported;
                summary.skipped += skipped;
                Ok(())
            }
            Err(e) => Err(format!("transaction of {n} entries not imported: {e}")),
        };
    }
    while !entries.is_empty() {
        let chunk: Vec<Prepared> = entries.drain(..entries.len().min(CHUNK)).collect();
        let results = store
            .write(|tx| {
                Ok(chunk
                    .into_iter()
                    .map(|e| (e.index, apply_entry(tx, e)))
                    .collect::<Vec<_>>())
            })
            .map_err(|e| format!("database error: {e}"))?;
        for (index, r) in results {
            tally(summary, r, || format!("{place} entry {index}"));
        }
    }
    Ok(())
}

/// A bundle entry ready to store: its id is settled and its references are rewritten.
struct Prepared {
    index: usize,
    delete: bool,
    rtype: String,
    id: String,
    resource: Option<Value>,
    /// Validated already (on the reading thread), under its settled id.
    checked: bool,
    /// Its index rows, extracted on the reading thread too.
    extracted: Option<crate::fhir::extract::Extracted>,
}

fn prepare_bundle(bundle: &Value) -> Vec<Prepared> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut map: HashMap<String, String> = HashMap::new();
    let mut prepared = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let method = entry
            .pointer("/request/method")
            .and_then(Value::as_str)
            .unwrap_or("PUT");
        let url = entry
            .pointer("/request/url")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let full_url = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        let resource = entry.get("resource").cloned();
        let (rtype, id) = if method == "DELETE" {
            match parse_reference(url) {
                Some((t, id)) => (t.to_string(), id.to_string()),
                None => continue,
            }
        } else {
            let Some(resource) = &resource else { continue };
            let rtype = resource
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (rtype, entry_id(resource, full_url.as_deref(), url))
        };
        if let Some(full) = full_url {
            map.insert(full, format!("{rtype}/{id}"));
        }
        prepared.push(Prepared {
            index,
            delete: method == "DELETE",
            rtype,
            id,
            resource,
            checked: false,
            extracted: None,
        });
    }
    for p in &mut prepared {
        if let Some(resource) = &mut p.resource {
            rewrite_references(resource, &map);
        }
    }
    prepared
}

/// The id an entry is stored under: its own, else its fullUrl's or request URL's, else one
/// derived from its content (so the same entry always gets the same id).
fn entry_id(resource: &Value, full_url: Option<&str>, url: &str) -> String {
    if let Some(id) = resource
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| valid_id(id))
    {
        return id.to_string();
    }
    if let Some(uuid) = full_url
        .and_then(|f| f.strip_prefix("urn:uuid:"))
        .filter(|id| valid_id(id))
    {
        return uuid.to_string();
    }
    for candidate in [full_url.unwrap_or_default(), url] {
        if let Some((_, id)) = parse_reference(candidate) {
            return id.to_string();
        }
    }
    let digest = Sha256::digest(resource.to_string().as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Stores one entry; `Ok(true)` if it changed the database, `Ok(false)` if it was already there.
fn apply_entry(tx: &mut Tx, e: Prepared) -> Result<bool, StoreError> {
    if e.delete {
        return Ok(tx.delete(&e.rtype, &e.id)?.is_some());
    }
    let Some(mut resource) = e.resource else {
        return Err(StoreError::invalid("the entry has no resource"));
    };
    if e.rtype.is_empty() {
        return Err(StoreError::invalid("the resource has no 'resourceType'"));
    }
    if e.rtype == "AuditEvent" {
        return Err(StoreError::invalid(
            "AuditEvent: the audit trail is written by the server itself and cannot be imported",
        ));
    }
    if let Some(obj) = resource.as_object_mut() {
        obj.insert("id".into(), Value::String(e.id.clone()));
    }
    if !e.checked {
        check(&resource).map_err(StoreError::invalid)?;
    }
    if e.rtype == "Encounter" {
        crate::server::beds::check(tx, Some(&e.id), &resource)?;
    }
    let written = match e.extracted {
        Some(x) => tx.upsert_extracted(&e.rtype, &e.id, resource, x)?,
        None => tx.upsert(&e.rtype, &e.id, resource)?,
    };
    if !written.unchanged {
        crate::server::inbox::on_result(tx, &written, crate::fhir::date::now_ms())?;
    }
    Ok(!written.unchanged)
}

/// A resource's index rows, as the writer would extract them (its id settled).
fn extract_ahead(resource: &Value) -> Option<crate::fhir::extract::Extracted> {
    let rtype = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    crate::fhir::is_supported(rtype).then(|| crate::fhir::extract::extract(rtype, id, resource))
}

/// An NDJSON line's resource with the id it will be stored under, validated.
fn settle_and_check(resource: &mut Value) -> Result<(), String> {
    let id = entry_id(resource, None, "");
    if let Some(obj) = resource.as_object_mut() {
        obj.insert("id".into(), Value::String(id));
    }
    check(resource)
}

/// The first problem validation finds (and how many more), worded for the report.
fn check(resource: &Value) -> Result<(), String> {
    let issues = crate::fhir::validate::validate(resource);
    match issues.first() {
        None => Ok(()),
        Some(first) => {
            let more = match issues.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            Err(format!(
                "not valid FHIR R4: {}: {}{more}",
                first.path, first.message
            ))
        }
    }
}

fn write_each(
    store: &Store,
    file: &Path,
    items: Vec<Item>,
    summary: &mut ImportSummary,
    checked: bool,
) -> Result<(), String> {
    if items.is_empty() {
        return Ok(());
    }
    let prepared = items
        .into_iter()
        .enumerate()
        .map(|(index, (line, resource, extracted))| {
            let rtype = resource
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let id = entry_id(&resource, None, "");
            (
                line,
                Prepared {
                    index,
                    delete: false,
                    rtype,
                    id,
                    resource: Some(resource),
                    checked,
                    extracted,
                },
            )
        });
    let results = store
        .write(|tx| {
            Ok(prepared
                .map(|(line, p)| (line, apply_entry(tx, p)))
                .collect::<Vec<_>>())
        })
        .map_err(|e| format!("database error: {e}"))?;
    for (line, r) in results {
        tally(summary, r, || place(file, line));
    }
    Ok(())
}

/// Counts one entry's outcome; `place` is only worked out for a rejection.
fn tally(
    summary: &mut ImportSummary,
    result: Result<bool, StoreError>,
    place: impl FnOnce() -> String,
) {
    match result {
        Ok(true) => summary.imported += 1,
        Ok(false) => summary.skipped += 1,
        Err(e) => reject(summary, &place(), &e.to_string()),
    }
}

fn reject(summary: &mut ImportSummary, place: &str, why: &str) {
    summary.rejected += 1;
    summary.rejections.push(format!("{place}: {why}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_from_resource_then_full_url_then_content() {
        let r = json!({"resourceType": "Patient", "id": "p1"});
        assert_eq!(entry_id(&r, Some("urn:uuid:x"), ""), "p1");
        let r = json!({"resourceType": "Patient"});
        assert_eq!(entry_id(&r, Some("urn:uuid:0b8f-11"), ""), "0b8f-11");
        assert_eq!(entry_id(&r, Some("http://a/fhir/Patient/q7"), ""), "q7");
        let a = entry_id(&r, None, "");
        assert_eq!(a, entry_id(&r, None, ""));
        assert_eq!(a.len(), 32);
    }
}
