//! Patient search and the recent list.

use super::*;

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_search(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::Debounce { generation } => {
                tokio::spawn(async move {
                    tokio::time::sleep(DEBOUNCE).await;
                    let _ = tx.send(Msg::Search(SearchMsg::Due(generation)));
                });
            }
            Effect::SearchPatients { generation, params } => {
                if let Some(old) = self.search_task.take() {
                    old.abort();
                }
                let cache = self.cache();
                self.search_task = Some(tokio::spawn(async move {
                    let mut result = search(&client, "Patient", &params).await;
                    // Offline: the cached patients are searched instead.
                    if let Some(cards) = offline_patients(&result, cache, &tx).await {
                        result = Ok(offline::search_cached(&cards, &params));
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::Done { generation, result }));
                }));
            }
            Effect::FetchLocations { patient_ids } => {
                let zone = self.zone;
                tokio::spawn(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for id in patient_ids {
                        let client = client.clone();
                        set.spawn(async move {
                            let params = [
                                ("patient", format!("Patient/{id}")),
                                ("_sort", "-date".to_string()),
                                ("_count", "10".to_string()),
                                ("_include", "Encounter:location".to_string()),
                            ];
                            let found = search(&client, "Encounter", &params).await;
                            (id, found.ok().and_then(|r| location_of(r, zone)))
                        });
                    }
                    let mut found = Vec::new();
                    while let Some(Ok(x)) = set.join_next().await {
                        found.push(x);
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::Locations(found)));
                });
            }
            Effect::LoadRecent { patient_ids } => {
                let cache = self.cache();
                tokio::spawn(async move {
                    let params = [
                        ("_id", patient_ids.join(",")),
                        ("_count", patient_ids.len().to_string()),
                    ];
                    let mut result = search(&client, "Patient", &params).await;
                    if let Some(cards) = offline_patients(&result, cache, &tx).await {
                        let cached = |p: &&serde_json::Value| {
                            p["id"]
                                .as_str()
                                .is_some_and(|id| patient_ids.iter().any(|w| w == id))
                        };
                        result = Ok(cards.into_iter().filter(|p| cached(&p)).collect());
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::RecentLoaded(result)));
                });
            }
            Effect::SaveRecent { patient_ids } => {
                if let Some(store) = self.recent.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.save(&patient_ids) {
                            tracing::warn!("cannot save the recent patients list: {e}");
                        }
                    });
                }
            }
            _ => {}
        }
    }
}
