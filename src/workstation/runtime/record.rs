//! Writing the record: a set of vital signs as one transaction, a new allergy or problem (a
//! conditional create), and a change to one (read for its version, then `If-Match`).

use super::*;

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_record(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::RecordVitals {
                context,
                bundle,
                sent,
            } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Vitals(crate::workstation::msg::VitalsMsg::Recorded {
                        context,
                        sent,
                        result,
                    }));
                });
            }
            Effect::FindDuplicates {
                generation,
                searches,
            } => {
                tokio::spawn(async move {
                    let result = async {
                        let mut all = Vec::new();
                        for params in searches {
                            let page = client
                                .get(
                                    "Patient",
                                    &params,
                                    crate::workstation::client::SEARCH_TIMEOUT,
                                )
                                .await
                                .map_err(|e| e.to_string())?;
                            let (found, _) = crate::workstation::client::bundle_page(page)
                                .map_err(|e| e.to_string())?;
                            all.extend(found);
                        }
                        Ok(all)
                    }
                    .await;
                    let _ = tx.send(Msg::Register(crate::workstation::msg::RegisterMsg::Found {
                        generation,
                        result,
                    }));
                });
            }
            Effect::RegisterPatient { generation, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Register(
                        crate::workstation::msg::RegisterMsg::Created { generation, result },
                    ));
                });
            }
            Effect::ReadForEdit {
                generation,
                patient_id,
            } => {
                tokio::spawn(async move {
                    let result = client
                        .get(&format!("Patient/{patient_id}"), &[], SEND_TIMEOUT)
                        .await;
                    let _ = tx.send(Msg::Register(
                        crate::workstation::msg::RegisterMsg::Loaded { generation, result },
                    ));
                });
            }
            Effect::SaveDemographics {
                generation,
                patient,
                version,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = client
                        .update_with_reason(&patient, &version, reason.as_deref(), SEND_TIMEOUT)
                        .await;
                    // Crossed with another edit: what the server holds now, to show beside.
                    let current = match (&result, patient["id"].as_str()) {
                        (Err(crate::workstation::client::FetchError::Conflict(_)), Some(id)) => {
                            client
                                .get(&format!("Patient/{id}"), &[], SEND_TIMEOUT)
                                .await
                                .ok()
                        }
                        _ => None,
                    };
                    let _ = tx.send(Msg::Register(crate::workstation::msg::RegisterMsg::Saved {
                        generation,
                        result,
                        current,
                    }));
                });
            }
            Effect::ReadEntry { context, reference } => {
                tokio::spawn(async move {
                    let result = client.get(&reference, &[], SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Lists(crate::workstation::msg::ListsMsg::Read {
                        context,
                        reference,
                        result,
                    }));
                });
            }
            Effect::UpdateEntry {
                context,
                resource,
                version,
                what,
            } => {
                tokio::spawn(async move {
                    let result = client
                        .write(&resource, None, Some(&version), SEND_TIMEOUT)
                        .await;
                    let current = match (
                        &result,
                        resource["resourceType"].as_str(),
                        resource["id"].as_str(),
                    ) {
                        (
                            Err(crate::workstation::client::FetchError::Conflict(_)),
                            Some(t),
                            Some(id),
                        ) => client
                            .get(&format!("{t}/{id}"), &[], SEND_TIMEOUT)
                            .await
                            .ok(),
                        _ => None,
                    };
                    let _ = tx.send(Msg::Lists(crate::workstation::msg::ListsMsg::Edited {
                        context,
                        what,
                        result,
                        current,
                    }));
                });
            }
            Effect::WriteEntry { context, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Lists(crate::workstation::msg::ListsMsg::Written {
                        context,
                        result,
                    }));
                });
            }
            Effect::ChangeEntry {
                context,
                reference,
                what,
                change,
                who,
            } => {
                tokio::spawn(async move {
                    let done = change.words();
                    let result = async {
                        let current = client.get(&reference, &[], SEND_TIMEOUT).await?;
                        let version = current
                            .pointer("/meta/versionId")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string);
                        let now = crate::fhir::date::instant(crate::fhir::date::now_ms());
                        let update = crate::workstation::record::entries::changed(
                            &current, &change, &who, &now,
                        )
                        .ok_or_else(|| {
                            crate::workstation::client::FetchError::Malformed(format!(
                                "{reference} cannot be {done}"
                            ))
                        })?;
                        client
                            .write(&update, None, version.as_deref(), SEND_TIMEOUT)
                            .await
                    }
                    .await;
                    let _ = tx.send(Msg::Lists(crate::workstation::msg::ListsMsg::Changed {
                        context,
                        what,
                        done,
                        result,
                    }));
                });
            }
            _ => {}
        }
    }
}
