//! The support desk's requests: each is sent as asked and its answer (or failure) reported
//! as it came; files are written into the state folder, mode 0600.

use super::*;
use crate::workstation::features::support::Request;
use crate::workstation::msg::SupportMsg;
use serde_json::{Value, json};
use std::time::Duration;

/// A scan of a large database takes a while.
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

async fn ask(client: &FhirClient, request: &Request) -> Result<Value, FetchError> {
    use crate::workstation::support::merge_parameters;
    match request {
        Request::Duplicates => {
            client
                .get(
                    "Patient/$duplicates",
                    &[("_count", "500".into())],
                    SCAN_TIMEOUT,
                )
                .await
        }
        Request::Quality => client.get("$data-quality", &[], SCAN_TIMEOUT).await,
        Request::Status => client.get("$server-status", &[], SEND_TIMEOUT).await,
        Request::Record(reference) => {
            let bare = reference
                .split("/_history/")
                .next()
                .unwrap_or(reference)
                .to_string();
            let history_path = format!("{bare}/_history");
            let history_params = [("_count", "100".to_string())];
            let provenance_params = [("target", bare.clone()), ("_count", "50".to_string())];
            let audit_params = [("entity", bare.clone()), ("_count", "200".to_string())];
            let (resource, history, provenance, audit) = tokio::join!(
                client.get(reference, &[], SEND_TIMEOUT),
                client.get(&history_path, &history_params, SEND_TIMEOUT),
                client.get("Provenance", &provenance_params, SEND_TIMEOUT),
                client.get("AuditEvent", &audit_params, SEND_TIMEOUT),
            );
            Ok(json!({
                "resource": resource?,
                "history": history.unwrap_or(Value::Null),
                "provenance": provenance.unwrap_or(Value::Null),
                "audit": audit.unwrap_or(Value::Null),
            }))
        }
        Request::AsOf { patient, at } => {
            client
                .get(
                    &format!("Patient/{patient}/$as-of"),
                    &[("at", at.clone())],
                    SCAN_TIMEOUT,
                )
                .await
        }
        Request::Access {
            patient,
            user,
            filters,
        } => {
            let mut params: Vec<(&str, String)> = vec![("_count", "500".to_string())];
            for (k, v) in filters {
                params.push((k.as_str(), v.clone()));
            }
            if let Some(p) = patient {
                params.push(("patient", p.clone()));
            }
            if let Some(u) = user {
                params.push(("altid", u.clone()));
            }
            client.get("AuditEvent", &params, SEND_TIMEOUT).await
        }
        Request::Compare { a, b } => {
            let last = |p: &str| {
                let params = vec![
                    ("patient", p.to_string()),
                    ("_sort", "-date".to_string()),
                    ("_count", "1".to_string()),
                ];
                async move { client.get("Encounter", &params, SEND_TIMEOUT).await }
            };
            let (path_a, path_b) = (format!("Patient/{a}"), format!("Patient/{b}"));
            let (ab, ba) = (
                merge_parameters(a, b, true, None, None),
                merge_parameters(b, a, true, None, None),
            );
            let (pa, pb, ab, ba, la, lb) = tokio::join!(
                client.get(&path_a, &[], SEND_TIMEOUT),
                client.get(&path_b, &[], SEND_TIMEOUT),
                client.operation("Patient/$merge", &ab, SEND_TIMEOUT),
                client.operation("Patient/$merge", &ba, SEND_TIMEOUT),
                last(a),
                last(b),
            );
            Ok(json!({
                "a": pa?, "b": pb?,
                "ab": ab.unwrap_or(Value::Null), "ba": ba.unwrap_or(Value::Null),
                "last_a": la.unwrap_or(Value::Null), "last_b": lb.unwrap_or(Value::Null),
            }))
        }
        Request::MergePreview { source, target } => {
            client
                .operation(
                    "Patient/$merge",
                    &merge_parameters(source, target, true, None, None),
                    SEND_TIMEOUT,
                )
                .await
        }
        Request::Merge {
            source,
            target,
            reason,
            orders_reason,
        } => {
            client
                .operation(
                    "Patient/$merge",
                    &merge_parameters(
                        source,
                        target,
                        false,
                        Some(reason),
                        orders_reason.as_deref(),
                    ),
                    SCAN_TIMEOUT,
                )
                .await
        }
        Request::Unmerge { provenance, reason } => {
            let body = json!({"resourceType": "Parameters", "parameter": [
                {"name": "provenance", "valueReference": {"reference": provenance}},
                {"name": "reason", "valueString": reason}]});
            client
                .operation("Patient/$unmerge", &body, SCAN_TIMEOUT)
                .await
        }
        Request::Move {
            reference,
            target,
            reason,
        } => {
            let body = json!({"resourceType": "Parameters", "parameter": [
                {"name": "target-patient", "valueReference": {"reference": format!("Patient/{target}")}},
                {"name": "reason", "valueString": reason}]});
            client
                .operation(&format!("{reference}/$move"), &body, SCAN_TIMEOUT)
                .await
        }
        Request::NotDuplicate { a, b, reason } => {
            let body = json!({"resourceType": "Parameters", "parameter": [
                {"name": "patient", "valueReference": {"reference": format!("Patient/{a}")}},
                {"name": "other", "valueReference": {"reference": format!("Patient/{b}")}},
                {"name": "reason", "valueString": reason}]});
            client
                .operation("Patient/$not-duplicate", &body, SEND_TIMEOUT)
                .await
        }
    }
}

impl Runner {
    pub(super) fn run_support(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::Support {
                generation,
                request,
            } => {
                tokio::spawn(async move {
                    let result = ask(&client, &request).await;
                    let _ = tx.send(Msg::Support(SupportMsg::Answer {
                        generation,
                        request,
                        result,
                    }));
                });
            }
            Effect::WriteSupportFile { name, contents } => {
                tokio::spawn(async move {
                    let result = tokio::task::spawn_blocking(move || {
                        let dir = crate::paths::state_dir()
                            .map_err(|e| e.to_string())?
                            .join("support");
                        crate::files::private_dir(&dir).map_err(|e| e.to_string())?;
                        // Only a plain file name: nothing from a record chooses the folder.
                        let name: String = name
                            .chars()
                            .map(|c| {
                                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                                    c
                                } else {
                                    '_'
                                }
                            })
                            .collect();
                        let path = dir.join(name.trim_start_matches('.'));
                        crate::files::write_private_file(&path, contents.as_bytes())
                            .map_err(|e| e.to_string())?;
                        Ok(path.display().to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                    let _ = tx.send(Msg::Support(SupportMsg::Written { result }));
                });
            }
            _ => {}
        }
    }
}
