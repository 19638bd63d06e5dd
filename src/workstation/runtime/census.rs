//! Patient lists and the results inbox. The lists: the site's wards, my teams and my own
//! lists; a list's patients (a ward's stays; my care teams and stays; a team's patients; the
//! entries of my own list) with their stays, beds and clinicians, and for those patients (in
//! one search per kind, not one per patient) their allergies, NEWS2 scores, results waiting
//! for review, unsigned notes and draft orders. A part that fails or has more pages than are
//! read is reported as not known. My own lists are changed over the version read.

use super::*;
use crate::workstation::census::{Fetched, ListChange, Source};
use crate::workstation::msg::Polled;
use std::time::Duration;

/// Stays followed through at most this many pages (of `PAGE`).
const STAY_PAGES: usize = 10;
const PAGE: usize = 500;

/// Every page of a search, up to `pages`; `Err` when one fails or there are more.
async fn all_pages(
    client: &FhirClient,
    rtype: &str,
    params: &[(&str, String)],
    pages: usize,
) -> Result<Vec<serde_json::Value>, FetchError> {
    let bundle = client.get(rtype, params, SEARCH_TIMEOUT).await?;
    let (mut out, mut next) = bundle_page(bundle)?;
    for _ in 1..pages {
        let Some(link) = next.take() else { break };
        let (more, after) = bundle_page(client.follow(&link, SEARCH_TIMEOUT).await?)?;
        out.extend(more);
        next = after;
    }
    match next {
        None => Ok(out),
        Some(_) => Err(FetchError::Malformed(format!(
            "more than {} {rtype} resources: the answer is incomplete",
            pages * PAGE
        ))),
    }
}

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_census(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::LoadLists { generation, me } => {
                let (cache, writer) = (self.cache(), self.cache_writer());
                tokio::spawn(async move {
                    let count = ("_count", PAGE.to_string());
                    let first = [count.clone()];
                    let locations = all_pages(&client, "Location", &first, 4);
                    let teams = async {
                        let me = me.as_ref()?;
                        let params = [
                            ("participant", me.clone()),
                            ("status", "active".to_string()),
                            ("subject:missing", "true".to_string()),
                            count.clone(),
                        ];
                        Some(all_pages(&client, "CareTeam", &params, 1).await)
                    };
                    let personal = async {
                        let me = me.as_ref()?;
                        let (system, code) = crate::fhir::PERSONAL_LIST;
                        let params = [
                            ("source", me.clone()),
                            ("code", format!("{system}|{code}")),
                            ("status", "current".to_string()),
                            count.clone(),
                        ];
                        Some(all_pages(&client, "List", &params, 1).await)
                    };
                    let (mut locations, mut teams, mut personal) =
                        tokio::join!(locations, teams, personal);
                    let mut cached_at = None;
                    match &locations {
                        // Kept, sealed, so a terminal in downtime can still choose a list.
                        Ok(l) => {
                            let ok = |p: &Option<Result<Vec<serde_json::Value>, FetchError>>| {
                                p.as_ref().and_then(|r| r.as_ref().ok()).cloned()
                            };
                            if let Some(w) = writer {
                                let body = serde_json::json!({
                                    "locations": l, "teams": ok(&teams), "personal": ok(&personal)
                                });
                                let _ = w.send(super::offline::CacheJob::Snapshot {
                                    name: "lists".into(),
                                    body,
                                    fetched_ms: crate::fhir::date::now_ms(),
                                });
                            }
                        }
                        Err(e) if super::offline::is_offline(e) => {
                            if let Some(cache) = cache {
                                let now = crate::fhir::date::now_ms();
                                let kept = tokio::task::spawn_blocking(move || {
                                    cache.get_snapshot("lists", now)
                                })
                                .await
                                .ok()
                                .and_then(Result::ok)
                                .flatten();
                                if let Some((body, at)) = kept {
                                    let part = |k: &str| body[k].as_array().cloned().map(Ok);
                                    locations = Ok(body["locations"]
                                        .as_array()
                                        .cloned()
                                        .unwrap_or_default());
                                    teams = part("teams");
                                    personal = part("personal");
                                    cached_at = Some(at);
                                }
                            }
                        }
                        Err(_) => {}
                    }
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Lists {
                        generation,
                        locations,
                        teams,
                        personal,
                        cached_at,
                    }));
                });
            }
            Effect::LoadCensus {
                generation,
                source,
                me,
                clinical,
            } => {
                let (cache, writer) = (self.cache(), self.cache_writer());
                tokio::spawn(async move {
                    let key = source.key();
                    let result = census(&client, &source, me.as_deref(), clinical).await;
                    let name = format!("census:{key}");
                    let mut cached = None;
                    match &result {
                        // Kept, sealed, for downtime.
                        Ok(fetched) => {
                            if let (Some(w), Ok(body)) = (writer, serde_json::to_value(fetched)) {
                                let _ = w.send(super::offline::CacheJob::Snapshot {
                                    name,
                                    body,
                                    fetched_ms: crate::fhir::date::now_ms(),
                                });
                            }
                        }
                        Err(e) if super::offline::is_offline(e) => {
                            let _ = tx.send(Msg::Offline(
                                crate::workstation::msg::OfflineMsg::Connectivity(false),
                            ));
                            if let Some(cache) = cache {
                                let now = crate::fhir::date::now_ms();
                                cached = tokio::task::spawn_blocking(move || {
                                    cache.get_snapshot(&name, now)
                                })
                                .await
                                .ok()
                                .and_then(Result::ok)
                                .flatten()
                                .and_then(|(body, at)| {
                                    Some(Box::new((
                                        serde_json::from_value::<Fetched>(body).ok()?,
                                        at,
                                    )))
                                });
                            }
                        }
                        Err(_) => {}
                    }
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Loaded {
                        generation,
                        key,
                        result,
                        cached,
                    }));
                });
            }
            Effect::LoadBoard {
                generation,
                ward_id,
            } => {
                tokio::spawn(async move {
                    let beds = [
                        ("partof", format!("Location/{ward_id}")),
                        ("_count", PAGE.to_string()),
                    ];
                    let stays = [
                        ("location", format!("Location/{ward_id}")),
                        ("status", UNDER_WAY.to_string()),
                        ("_include", "Encounter:subject".to_string()),
                        ("_count", PAGE.to_string()),
                    ];
                    let (beds, stays) = tokio::join!(
                        all_pages(&client, "Location", &beds, 2),
                        all_pages(&client, "Encounter", &stays, STAY_PAGES)
                    );
                    let result = beds.and_then(|b| Ok((b, stays?)));
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Board {
                        generation,
                        result,
                    }));
                });
            }
            Effect::LoadHandoffs {
                generation,
                patients,
            } => {
                tokio::spawn(async move {
                    let result = handoff_parts(&client, &patients).await;
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Handoffs {
                        generation,
                        result,
                    }));
                });
            }
            Effect::SaveHandoff {
                resource,
                version,
                name,
            } => {
                tokio::spawn(async move {
                    let result = client
                        .write(&resource, None, version.as_deref(), SEND_TIMEOUT)
                        .await;
                    let _ = tx.send(Msg::Census(
                        crate::workstation::msg::CensusMsg::HandoffSaved { name, result },
                    ));
                });
            }
            Effect::WriteHandoff {
                dir,
                name,
                text,
                pdf,
            } => {
                tokio::spawn(async move {
                    let result = tokio::task::spawn_blocking(move || {
                        let dir = match dir {
                            Some(d) => d,
                            None => crate::paths::state_dir()
                                .map_err(|e| e.to_string())?
                                .join("handoff"),
                        };
                        crate::files::private_dir(&dir).map_err(|e| e.to_string())?;
                        let txt = dir.join(format!("{name}.txt"));
                        crate::files::write_private_file(&txt, text.as_bytes())
                            .map_err(|e| e.to_string())?;
                        crate::files::write_private_file(&dir.join(format!("{name}.pdf")), &pdf)
                            .map_err(|e| e.to_string())?;
                        Ok(txt.display().to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                    let _ = tx.send(Msg::Census(
                        crate::workstation::msg::CensusMsg::HandoffWritten { result },
                    ));
                });
            }
            Effect::Adt { change } => {
                tokio::spawn(async move {
                    let result = adt(&client, &change).await;
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::AdtDone {
                        change,
                        result,
                    }));
                });
            }
            Effect::ChangeList { change } => {
                tokio::spawn(async move {
                    let result = change_list(&client, &change).await;
                    let _ = tx.send(Msg::Census(
                        crate::workstation::msg::CensusMsg::ListChanged { change, result },
                    ));
                });
            }
            Effect::Poll {
                what,
                generation,
                after_seconds,
            } => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(after_seconds)).await;
                    let _ = tx.send(match what {
                        Polled::Census => {
                            Msg::Census(crate::workstation::msg::CensusMsg::Due { generation })
                        }
                        Polled::Inbox => {
                            Msg::Inbox(crate::workstation::msg::InboxMsg::Due { generation })
                        }
                        Polled::Critical => {
                            Msg::Inbox(crate::workstation::msg::InboxMsg::CriticalDue {
                                generation,
                            })
                        }
                        Polled::Work => {
                            Msg::Work(crate::workstation::msg::WorkMsg::Due { generation })
                        }
                    });
                });
            }
            Effect::LoadCritical { generation, owner } => {
                tokio::spawn(async move {
                    let mut params = crate::workstation::inbox::search(&owner);
                    params.push(("priority", "stat".to_string()));
                    let result = all_pages(&client, "Task", &params, 1).await;
                    let _ = tx.send(Msg::Inbox(crate::workstation::msg::InboxMsg::Critical {
                        generation,
                        result,
                    }));
                });
            }
            Effect::LoadWork {
                generation,
                me,
                nurse,
                since,
            } => {
                tokio::spawn(async move {
                    let (drafts, notes) =
                        tokio::join!(work_orders(&client, &me, nurse, &since), async {
                            let params = [
                                ("author", me.clone()),
                                ("status", "current".to_string()),
                                ("_include", "DocumentReference:subject:Patient".to_string()),
                                ("_count", PAGE.to_string()),
                            ];
                            all_pages(&client, "DocumentReference", &params, 4).await
                        });
                    let _ = tx.send(Msg::Work(crate::workstation::msg::WorkMsg::Loaded {
                        generation,
                        drafts,
                        notes,
                    }));
                    // Messages to me: a record of mine moved by the support desk, and the like.
                    let params = [
                        ("recipient", me.clone()),
                        ("_sort", "-sent".to_string()),
                        ("_count", "50".to_string()),
                    ];
                    let result = client
                        .get("Communication", &params, SEND_TIMEOUT)
                        .await
                        .and_then(|b| {
                            if b["resourceType"] != "Bundle" {
                                return Err(crate::workstation::client::FetchError::Malformed(
                                    "the messages are not a Bundle".into(),
                                ));
                            }
                            Ok(b["entry"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|x| x["resource"].clone())
                                .collect())
                        });
                    let _ = tx.send(Msg::Work(crate::workstation::msg::WorkMsg::Messages {
                        generation,
                        result,
                    }));
                });
            }
            Effect::SaveCosign { words, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Work(crate::workstation::msg::WorkMsg::Saved {
                        words,
                        result,
                    }));
                });
            }
            Effect::FindColleague {
                generation,
                name,
                comment,
            } => {
                tokio::spawn(async move {
                    let params = [
                        ("name", name.clone()),
                        ("active", "true".to_string()),
                        ("_count", "20".to_string()),
                    ];
                    let result = all_pages(&client, "Practitioner", &params, 1).await;
                    let _ = tx.send(Msg::Inbox(crate::workstation::msg::InboxMsg::Colleagues {
                        generation,
                        name,
                        comment,
                        result,
                    }));
                });
            }
            Effect::ForwardResult {
                generation,
                to,
                bundle,
            } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEARCH_TIMEOUT).await;
                    let _ = tx.send(Msg::Inbox(crate::workstation::msg::InboxMsg::Forwarded {
                        generation,
                        to,
                        result,
                    }));
                });
            }
            Effect::LoadInbox { generation, query } => {
                tokio::spawn(async move {
                    let result = match query {
                        crate::workstation::inbox::InboxQuery::Mine(owner) => {
                            inbox(&client, &owner).await
                        }
                        crate::workstation::inbox::InboxQuery::Overdue {
                            owner,
                            critical_before,
                            abnormal_before,
                        } => {
                            let critical = crate::workstation::inbox::overdue_search(
                                owner.as_deref(),
                                "stat",
                                &critical_before,
                            );
                            let abnormal = crate::workstation::inbox::overdue_search(
                                owner.as_deref(),
                                "urgent",
                                &abnormal_before,
                            );
                            let (c, a) = tokio::join!(
                                all_pages(&client, "Task", &critical, 4),
                                all_pages(&client, "Task", &abnormal, 4)
                            );
                            c.and_then(|mut c| {
                                c.extend(a?);
                                Ok((c, Vec::new()))
                            })
                        }
                    };
                    let _ = tx.send(Msg::Inbox(crate::workstation::msg::InboxMsg::Loaded {
                        generation,
                        result,
                    }));
                });
            }
            Effect::AcknowledgeResults {
                generation,
                count,
                who,
                bundle,
            } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEARCH_TIMEOUT).await;
                    let _ = tx.send(Msg::Inbox(
                        crate::workstation::msg::InboxMsg::Acknowledged {
                            generation,
                            count,
                            who,
                            result,
                        },
                    ));
                });
            }
            _ => {}
        }
    }
}

/// `owner`'s results waiting for review, and their patients' earlier results of those codes
/// (the value before each; empty if that search fails: the previous values are then left out).
async fn inbox(
    client: &FhirClient,
    owner: &str,
) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>), FetchError> {
    let params = crate::workstation::inbox::search(owner);
    let found = all_pages(client, "Task", &params, 4).await?;
    let groups = crate::workstation::inbox::groups(&found, &[]);
    let (patients, codes) = crate::workstation::inbox::codes(&groups);
    if patients.is_empty() || codes.is_empty() {
        return Ok((found, Vec::new()));
    }
    let params = [
        ("patient", patients.join(",")),
        ("code", codes.join(",")),
        ("_sort", "-date".to_string()),
        ("_count", PAGE.to_string()),
    ];
    let earlier = all_pages(client, "Observation", &params, 2)
        .await
        .unwrap_or_default();
    Ok((found, earlier))
}

/// The medication orders of my work: a prescriber's queue (every draft waiting, oldest first)
/// or a nurse's own (entered since `since`, whatever became of them), with their patients and
/// practitioners.
async fn work_orders(
    client: &FhirClient,
    me: &str,
    nurse: bool,
    since: &str,
) -> Result<Vec<serde_json::Value>, FetchError> {
    let mut params = vec![
        ("_include", "MedicationRequest:subject:Patient".to_string()),
        (
            "_include",
            "MedicationRequest:requester:Practitioner".to_string(),
        ),
        ("_count", PAGE.to_string()),
    ];
    if nurse {
        let id = me.strip_prefix("Practitioner/").unwrap_or(me);
        params.push((
            "_tag",
            format!("{}|{id}", crate::workstation::work::ENTERED_BY),
        ));
        params.push(("authoredon", format!("ge{since}")));
    } else {
        params.push(("status", "draft".to_string()));
        params.push(("_sort", "authoredon".to_string()));
    }
    let mut found = all_pages(client, "MedicationRequest", &params, 4).await?;
    // A signed order names its recorder (the nurse): that name too.
    if nurse {
        let recorders: Vec<String> = found
            .iter()
            .filter_map(|m| m["recorder"]["reference"].as_str())
            .filter_map(|r| r.strip_prefix("Practitioner/"))
            .map(str::to_string)
            .collect();
        if !recorders.is_empty() {
            let params = [("_id", recorders.join(",")), ("_count", PAGE.to_string())];
            if let Ok(more) = all_pages(client, "Practitioner", &params, 1).await {
                found.extend(more);
            }
        }
    }
    Ok(found)
}

/// A stay under way.
const UNDER_WAY: &str = "arrived,triaged,in-progress,onleave";

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the handoffs of `patients` are filled from: one search per kind for them all. A
/// part that fails fails the whole (a handoff filled from half the chart would mislead).
async fn handoff_parts(
    client: &FhirClient,
    patients: &[String],
) -> Result<crate::workstation::handoff::Parts, FetchError> {
    let ids = patients.join(",");
    let count = ("_count", PAGE.to_string());
    let (system, code) = crate::fhir::HANDOFF;
    let problems = [
        ("patient", ids.clone()),
        ("clinical-status", "active,recurrence,relapse".to_string()),
        count.clone(),
    ];
    let orders = [
        ("patient", ids.clone()),
        ("status", "active".to_string()),
        count.clone(),
    ];
    let flags = [
        ("patient", ids.clone()),
        ("status", "active".to_string()),
        count.clone(),
    ];
    let kept = [
        ("patient", ids.clone()),
        ("type", format!("{system}|{code}")),
        ("_sort", "-date".to_string()),
        count.clone(),
    ];
    let (problems, orders, flags, compositions) = tokio::join!(
        all_pages(client, "Condition", &problems, 2),
        all_pages(client, "ServiceRequest", &orders, 2),
        all_pages(client, "Flag", &flags, 2),
        all_pages(client, "Composition", &kept, 2)
    );
    Ok(crate::workstation::handoff::Parts {
        problems: problems?,
        orders: orders?,
        flags: flags?,
        compositions: compositions?,
    })
}

/// Writes an admission (a new stay) or changes a stay (over the version read, read again
/// once if another terminal changed it meanwhile; a bed held elsewhere is the server's 409).
async fn adt(
    client: &FhirClient,
    change: &crate::workstation::census::adt::AdtChange,
) -> Result<(), FetchError> {
    use crate::workstation::census::adt::AdtChange;
    let stay_id = match change {
        AdtChange::Admit { encounter, .. } => {
            client.write(encounter, None, None, SEND_TIMEOUT).await?;
            return Ok(());
        }
        AdtChange::Transfer { stay_id, .. } | AdtChange::Discharge { stay_id, .. } => stay_id,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let stay = client
            .get(&format!("Encounter/{stay_id}"), &[], SEND_TIMEOUT)
            .await?;
        let Some(version) = stay["meta"]["versionId"].as_str().map(str::to_string) else {
            return Err(FetchError::Malformed(
                "the stay came back without its version: not changed".into(),
            ));
        };
        let Some(changed) = change.apply(&stay, &now_text()) else {
            return Ok(());
        };
        match client
            .write(&changed, None, Some(&version), SEND_TIMEOUT)
            .await
        {
            Err(FetchError::Conflict(412)) if tries < 2 => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(()),
        }
    }
}

/// Makes or changes one of my own lists; a change is written over the version read, and read
/// again once if another terminal changed the list meanwhile. `Ok(Some(id))` for a new list.
async fn change_list(
    client: &FhirClient,
    change: &ListChange,
) -> Result<Option<String>, FetchError> {
    let list_id = match change {
        ListChange::Create {
            title,
            owner,
            patient,
        } => {
            let list =
                crate::workstation::census::new_list(title, owner, patient.as_ref(), &now_text());
            let made = client.write(&list, None, None, SEND_TIMEOUT).await?;
            return Ok(made["id"].as_str().map(str::to_string));
        }
        ListChange::Add { list_id, .. } | ListChange::Remove { list_id, .. } => list_id,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let list = client
            .get(&format!("List/{list_id}"), &[], SEND_TIMEOUT)
            .await?;
        let Some(version) = list["meta"]["versionId"].as_str().map(str::to_string) else {
            return Err(FetchError::Malformed(
                "the list came back without its version: not changed".into(),
            ));
        };
        let Some(changed) = crate::workstation::census::changed_list(&list, change, &now_text())
        else {
            return Ok(None); // already as asked
        };
        match client
            .write(&changed, None, Some(&version), SEND_TIMEOUT)
            .await
        {
            Err(FetchError::Conflict(_)) if tries < 2 => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(None),
        }
    }
}

/// The patients on `source` (not a ward): at most `MAX_MEMBERS`.
async fn members(
    client: &FhirClient,
    source: &Source,
    me: Option<&str>,
) -> Result<Vec<String>, FetchError> {
    let count = ("_count", PAGE.to_string());
    let mut found = match source {
        Source::Ward(_) => Vec::new(),
        Source::Mine => {
            let me = me.ok_or_else(|| {
                FetchError::Malformed("no practitioner is linked to this sign-in".into())
            })?;
            let teams = [
                ("participant", me.to_string()),
                ("status", "active".to_string()),
                count.clone(),
            ];
            let stays = [
                ("participant", me.to_string()),
                ("status", UNDER_WAY.to_string()),
                count.clone(),
            ];
            let (teams, stays) = tokio::join!(
                all_pages(client, "CareTeam", &teams, 2),
                all_pages(client, "Encounter", &stays, 2)
            );
            let mut all = teams?;
            all.extend(stays?);
            crate::workstation::census::subjects(&all)
        }
        Source::Team { id, .. } => {
            let params = [
                ("participant", format!("CareTeam/{id}")),
                ("status", "active".to_string()),
                count.clone(),
            ];
            crate::workstation::census::subjects(&all_pages(client, "CareTeam", &params, 2).await?)
        }
        Source::Personal { id, .. } => {
            let list = client
                .get(&format!("List/{id}"), &[], SEARCH_TIMEOUT)
                .await?;
            crate::workstation::census::list_members(&list)
        }
    };
    if found.len() > crate::workstation::census::MAX_MEMBERS {
        return Err(FetchError::Malformed(format!(
            "{} patients: a list shows at most {}",
            found.len(),
            crate::workstation::census::MAX_MEMBERS
        )));
    }
    found.dedup();
    Ok(found)
}

async fn census(
    client: &FhirClient,
    source: &Source,
    me: Option<&str>,
    clinical: bool,
) -> Result<Fetched, FetchError> {
    let includes = [
        ("_include", "Encounter:subject".to_string()),
        ("_include", "Encounter:location".to_string()),
        ("_include", "Encounter:participant".to_string()),
        ("_count", PAGE.to_string()),
        ("status", UNDER_WAY.to_string()),
    ];
    let members = members(client, source, me).await?;
    let stays = match source {
        Source::Ward(ward) => {
            let mut params = vec![("location", format!("Location/{}", ward.id))];
            params.extend(includes.iter().cloned());
            all_pages(client, "Encounter", &params, STAY_PAGES).await?
        }
        _ if members.is_empty() => Vec::new(),
        _ => {
            let ids = members.join(",");
            let mut params = vec![("patient", ids.clone())];
            params.extend(includes.iter().cloned());
            let patients = [("_id", ids), ("_count", PAGE.to_string())];
            let (stays, patients) = tokio::join!(
                all_pages(client, "Encounter", &params, 2),
                all_pages(client, "Patient", &patients, 1)
            );
            let mut all = stays?;
            all.extend(patients?);
            all
        }
    };
    let mut patients: Vec<String> = stays
        .iter()
        .filter(|r| r["resourceType"] == "Encounter")
        .filter_map(|e| e["subject"]["reference"].as_str())
        .filter_map(|r| r.strip_prefix("Patient/"))
        .map(str::to_string)
        .collect();
    patients.extend(members.iter().cloned());
    patients.sort();
    patients.dedup();
    if !clinical {
        return Ok(Fetched {
            stays,
            members,
            ..Fetched::default()
        });
    }
    if patients.is_empty() {
        let known = Some(Vec::new());
        return Ok(Fetched {
            stays,
            members,
            allergies: known.clone(),
            news2: known.clone(),
            reviews: known.clone(),
            unsigned: known.clone(),
            drafts: known,
        });
    }
    let ids = patients.join(",");
    let since = |days: i64| {
        let t = chrono::Utc::now() - chrono::Duration::days(days);
        format!("ge{}", t.format("%Y-%m-%d"))
    };
    let count = ("_count", PAGE.to_string());
    let part = |rtype: &'static str, extra: Vec<(&'static str, String)>| {
        let mut params = vec![("patient", ids.clone()), count.clone()];
        params.extend(extra);
        async move { all_pages(client, rtype, &params, 4).await.ok() }
    };
    let (allergies, news2, reviews, unsigned, drafts) = tokio::join!(
        part("AllergyIntolerance", vec![]),
        part(
            "Observation",
            vec![
                (
                    "code",
                    format!(
                        "http://snomed.info/sct|{}",
                        crate::workstation::record::vitals::NEWS2_CODE
                    ),
                ),
                ("date", since(14)),
            ],
        ),
        part(
            "Task",
            vec![
                (
                    "code",
                    format!(
                        "{}|{}",
                        crate::workstation::census::TASK_SYSTEM,
                        crate::workstation::census::REVIEW
                    ),
                ),
                (
                    "status",
                    "requested,received,accepted,ready,in-progress".into()
                ),
            ],
        ),
        // No date window: an unsigned note from last month is still unsigned. More than the
        // pages read makes the column unknown.
        part("DocumentReference", vec![]),
        part("MedicationRequest", vec![("status", "draft".into())]),
    );
    // Unsigned notes: those the server returned that are preliminary.
    let unsigned = unsigned.map(|notes| {
        notes
            .into_iter()
            .filter(|d| d["docStatus"] == "preliminary" && d["status"] == "current")
            .collect()
    });
    Ok(Fetched {
        stays,
        members,
        allergies,
        news2,
        reviews,
        unsigned,
        drafts,
    })
}
