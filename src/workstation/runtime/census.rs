//! The ward census and the results inbox. The census: the site's wards, a ward's stays with their patients, beds and
//! clinicians, and for those patients (in one search per kind, not one per patient) their
//! allergies, NEWS2 scores, results waiting for review, unsigned notes and draft orders. A part
//! that fails or has more than one page is reported as not known.

use super::*;
use crate::workstation::census::Fetched;
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
            Effect::LoadWards { generation } => {
                tokio::spawn(async move {
                    let params = [("_count", PAGE.to_string())];
                    let result = all_pages(&client, "Location", &params, 4).await;
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Wards {
                        generation,
                        result,
                    }));
                });
            }
            Effect::LoadCensus {
                generation,
                ward_id,
                clinical,
            } => {
                tokio::spawn(async move {
                    let result = census(&client, &ward_id, clinical).await;
                    let _ = tx.send(Msg::Census(crate::workstation::msg::CensusMsg::Loaded {
                        generation,
                        ward_id,
                        result,
                    }));
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
            Effect::LoadInbox { generation, owner } => {
                tokio::spawn(async move {
                    let result = inbox(&client, &owner).await;
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

async fn census(client: &FhirClient, ward_id: &str, clinical: bool) -> Result<Fetched, FetchError> {
    let params = [
        ("location", format!("Location/{ward_id}")),
        ("status", "arrived,triaged,in-progress,onleave".to_string()),
        ("_include", "Encounter:subject".to_string()),
        ("_include", "Encounter:location".to_string()),
        ("_include", "Encounter:participant".to_string()),
        ("_count", PAGE.to_string()),
    ];
    let stays = all_pages(client, "Encounter", &params, STAY_PAGES).await?;
    let mut patients: Vec<String> = stays
        .iter()
        .filter(|r| r["resourceType"] == "Encounter")
        .filter_map(|e| e["subject"]["reference"].as_str())
        .filter_map(|r| r.strip_prefix("Patient/"))
        .map(str::to_string)
        .collect();
    patients.sort();
    patients.dedup();
    if !clinical {
        return Ok(Fetched {
            stays,
            ..Fetched::default()
        });
    }
    if patients.is_empty() {
        let known = Some(Vec::new());
        return Ok(Fetched {
            stays,
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
        allergies,
        news2,
        reviews,
        unsigned,
        drafts,
    })
}
