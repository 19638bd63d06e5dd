//! The runner's side of offline work: opening the user's vault at sign-in, charts from the
//! cache with the server's changes merged in, search over cached patients, and the outbox
//! sent in order once the server is back.

use crate::workstation::msg::OfflineMsg;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::secret::Secret;
use crate::workstation::client::{FetchError, FhirClient, SignedIn, bundle_page};
use crate::workstation::vault::cache::ChartCache;
use crate::workstation::vault::outbox::{Item, Outbox, State as Sent};
use crate::workstation::vault::{Vault, VaultError};

pub use super::session::{Ready, StorageConfig, Unlocked, ready};
use crate::workstation::state::Msg;

/// How long to wait between asks while the server cannot be reached.
pub const PROBE_EVERY: Duration = Duration::from_secs(3);
/// Changes are asked for from this long before the cached copy was fetched (clock skew
/// between this machine and the server).
const SKEW_MS: i64 = 5 * 60 * 1000;

/// The server could not be reached (as opposed to an answer that says no).
pub fn is_offline(e: &FetchError) -> bool {
    e.is_unreachable()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Deletes a user's cached charts without making anyone wait: the folder is renamed aside at
/// once (so a sign-in right after finds none and starts afresh), then removed in the
/// background, with any left by an earlier run that was stopped meanwhile.
pub fn wipe_cache(cache_root: &std::path::Path, dir: &std::path::Path) {
    let aside = dir.with_file_name(format!(
        "{}{WIPING}{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    match std::fs::rename(dir, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot wipe the chart cache at sign-out: {e}"),
    }
    let root = cache_root.to_path_buf();
    let _ = std::thread::Builder::new()
        .name("bedside-wipe".into())
        .spawn(move || {
            let leftovers = std::fs::read_dir(&root).into_iter().flatten().flatten();
            for entry in leftovers {
                if entry.file_name().to_string_lossy().contains(WIPING)
                    && let Err(e) = std::fs::remove_dir_all(entry.path())
                {
                    tracing::warn!("cannot wipe the chart cache at sign-out: {e}");
                }
            }
        });
}

/// What a cache folder being wiped is renamed to include.
pub const WIPING: &str = ".wiping-";

/// Opens the user's vault with the password the server just accepted. A folder the password
/// does not open (the password was changed since) is set aside, not deleted: its unsent notes
/// can still be read with the old password.
pub async fn open_after_sign_in(
    cfg: Arc<StorageConfig>,
    user: SignedIn,
    password: Secret,
) -> Result<Unlocked, String> {
    blocking(move || {
        let root = &cfg.vault_root;
        let open = |pw: &str| Vault::open_with(root, &cfg.server_id, &user.username, pw, cfg.kdf);
        let (vault, set_aside) = match open(password.expose()) {
            Ok(v) => (v, None),
            Err(VaultError::WrongSecret) => {
                let dir = Vault::dir_for(root, &cfg.server_id, &user.username);
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
                let aside = dir.with_file_name(format!(
                    "{}.set-aside-{stamp}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                ));
                std::fs::rename(&dir, &aside).map_err(|e| {
                    format!("offline data: cannot set aside the old folder ({e})")
                })?;
                // The old cache cannot be read either; it is only a copy of the server's.
                let cache = cfg
                    .cache_root
                    .join(crate::workstation::vault::slug(&cfg.server_id, &user.username));
                let _ = std::fs::remove_dir_all(cache);
                let v = open(password.expose()).map_err(|e| format!("offline data: {e}"))?;
                (
                    v,
                    Some(format!(
                        "your offline data was sealed with an earlier password; it was set aside in {}",
                        aside.display()
                    )),
                )
            }
            Err(e) => return Err(format!("offline data: {e}")),
        };
        let profile = serde_json::json!({
            "username": user.username, "name": user.name, "role": user.role,
            "practitioner": user.practitioner,
        });
        if let Err(e) = vault.save_profile(&profile) {
            tracing::warn!("cannot remember the user for offline unlock: {e}");
        }
        Ok(Unlocked {
            ready: ready(Some(&cfg), &vault),
            vault,
            offline_user: None,
            set_aside,
        })
    })
    .await
    .unwrap_or_else(|| Err("offline data: the task opening it failed".into()))
}

/// Signs in against the key file while the server cannot be reached: the password must open
/// the vault this terminal already holds for the user.
pub async fn open_offline(
    cfg: Arc<StorageConfig>,
    username: String,
    password: Secret,
) -> Result<Unlocked, String> {
    blocking(move || {
        if !Vault::exists(&cfg.vault_root, &cfg.server_id, &username) {
            return Err(format!(
                "the server cannot be reached, and this terminal holds no offline data for {username}"
            ));
        }
        let vault = Vault::open_with(
            &cfg.vault_root,
            &cfg.server_id,
            &username,
            password.expose(),
            cfg.kdf,
        )
            .map_err(|e| match e {
                VaultError::WrongSecret => "wrong username or password (checked on this terminal: the server cannot be reached)".to_string(),
                e => format!("offline data: {e}"),
            })?;
        let user = vault
            .profile()
            .and_then(|p| serde_json::from_value::<SignedIn>(p).ok())
            .unwrap_or(SignedIn {
                username: username.clone(),
                name: username.clone(),
                role: String::new(),
                practitioner: None,
            });
        Ok(Unlocked {
            ready: ready(Some(&cfg), &vault),
            vault,
            offline_user: Some(user),
            set_aside: None,
        })
    })
    .await
    .unwrap_or_else(|| Err("offline data: the task opening it failed".into()))
}

/// Opens the token user's vault with their passphrase.
pub async fn open_with_passphrase(
    cfg: Arc<StorageConfig>,
    secret: Secret,
) -> Result<Unlocked, String> {
    blocking(move || {
        Vault::open_with(
            &cfg.vault_root,
            &cfg.server_id,
            &cfg.local_user,
            secret.expose(),
            cfg.kdf,
        )
        .map(|vault| Unlocked {
            ready: ready(Some(&cfg), &vault),
            vault,
            offline_user: None,
            set_aside: None,
        })
        .map_err(|e| match e {
            VaultError::WrongSecret => format!(
                "wrong passphrase for this terminal's offline data (forgotten? `bedside cache purge --everything --user {}` starts afresh; its unsent notes and drafts are lost)",
                cfg.local_user
            ),
            e => format!("offline data: {e}"),
        })
    })
    .await
    .unwrap_or_else(|| Err("offline data: the task opening it failed".into()))
}

/// Search over the cached patients, with the server's search parameters: `name` is a prefix
/// of any name part, `birthdate` a prefix of the date, `identifier` a whole identifier.
pub fn search_cached(patients: &[Value], params: &[(&str, String)]) -> Vec<Value> {
    let fold = |s: &str| deunicode::deunicode(s).to_lowercase();
    patients
        .iter()
        .filter(|p| {
            params.iter().all(|(k, v)| match *k {
                "name" => {
                    let v = fold(v);
                    name_parts(p).iter().any(|n| fold(n).starts_with(&v))
                }
                "birthdate" => p["birthDate"].as_str().is_some_and(|d| d.starts_with(v)),
                "identifier" => p["identifier"]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|i| i["value"].as_str() == Some(v))),
                _ => true,
            })
        })
        .cloned()
        .collect()
}

fn name_parts(p: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for n in p["name"].as_array().into_iter().flatten() {
        out.extend(n["family"].as_str());
        for g in n["given"].as_array().into_iter().flatten() {
            out.extend(g.as_str());
        }
    }
    out
}

/// Work for the thread that writes the cache (off the render path, one write at a time).
pub enum CacheJob {
    Put {
        patient_id: String,
        resources: Vec<Value>,
        fetched_ms: i64,
    },
    Remove(String),
    /// A patient list's snapshot (`name`), for downtime.
    Snapshot {
        name: String,
        body: Value,
        fetched_ms: i64,
    },
}

pub fn start_cache_writer(cache: Arc<ChartCache>) -> std::sync::mpsc::Sender<CacheJob> {
    let (jobs, queue) = std::sync::mpsc::channel::<CacheJob>();
    let _ = std::thread::Builder::new()
        .name("bedside-cache".into())
        .spawn(move || {
            for job in queue {
                let result = match job {
                    CacheJob::Put {
                        patient_id,
                        resources,
                        fetched_ms,
                    } => cache
                        .put(
                            &patient_id,
                            &resources,
                            fetched_ms,
                            crate::fhir::date::now_ms(),
                        )
                        .map(|_| ()),
                    CacheJob::Remove(id) => cache.remove(&id),
                    CacheJob::Snapshot {
                        name,
                        body,
                        fetched_ms,
                    } => cache.put_snapshot(&name, &body, fetched_ms),
                };
                match result {
                    Ok(()) | Err(VaultError::Locked) => {}
                    Err(e) => tracing::warn!("cannot write the chart cache: {e}"),
                }
            }
        });
    jobs
}

/// `Type/id` of a resource.
fn key_of(r: &Value) -> String {
    format!(
        "{}/{}",
        r["resourceType"].as_str().unwrap_or_default(),
        r["id"].as_str().unwrap_or_default()
    )
}

/// `cached` with `delta`'s resources put in place of the versions they replace.
pub fn merge(cached: Vec<Value>, delta: Vec<Value>) -> Vec<Value> {
    let mut index: std::collections::HashMap<String, usize> = cached
        .iter()
        .enumerate()
        .map(|(i, r)| (key_of(r), i))
        .collect();
    let mut out = cached;
    for r in delta {
        let k = key_of(&r);
        match index.get(&k) {
            Some(&i) => out[i] = r,
            None => {
                index.insert(k, out.len());
                out.push(r);
            }
        }
    }
    out
}

/// Every page of a `$everything` (or search) reply, following `next`.
async fn all_pages(
    client: &FhirClient,
    first: Result<Value, FetchError>,
) -> Result<(Vec<Value>, Option<u64>), FetchError> {
    let mut reply = first;
    let mut out = Vec::new();
    let mut total = None;
    loop {
        let bundle = reply?;
        if total.is_none() {
            total = bundle["total"].as_u64();
        }
        let (resources, next) = bundle_page(bundle)?;
        out.extend(resources);
        match next {
            Some(link) => {
                reply = client
                    .follow(&link, crate::workstation::client::PAGE_TIMEOUT)
                    .await
            }
            None => return Ok((out, total)),
        }
    }
}

/// The server's changes to a cached chart since it was fetched, merged in. `None` when the
/// server has no `_since` on `$everything` (the caller loads the whole chart).
///
/// `_since` cannot report deletions, so the merged chart's size is checked against the
/// server's count of the whole chart; when they differ (something was deleted, or merged
/// away to another patient), the whole chart is fetched again.
pub async fn changes_since(
    client: &FhirClient,
    id: &str,
    cached: Vec<Value>,
    fetched_ms: i64,
) -> Result<Option<(Vec<Value>, bool)>, FetchError> {
    let path = format!("Patient/{id}/$everything");
    let since = crate::fhir::date::instant(fetched_ms - SKEW_MS);
    let params = [
        ("_since", since),
        ("_count", super::timing::EVERYTHING_PAGE.to_string()),
    ];
    let first = client
        .get(&path, &params, crate::workstation::client::PAGE_TIMEOUT)
        .await;
    let delta = match all_pages(client, first).await {
        Ok((delta, _)) => delta,
        Err(e) if e.is_unsupported() => return Ok(None),
        Err(e) => return Err(e),
    };
    let changed = !delta.is_empty();
    let merged = merge(cached, delta);
    let count = client
        .get(
            &path,
            &[("_count", "1".to_string())],
            crate::workstation::client::PAGE_TIMEOUT,
        )
        .await?;
    if count["total"].as_u64() == Some(merged.len() as u64) {
        return Ok(Some((merged, changed)));
    }
    // Something left the chart: fetch it whole.
    let first = client
        .get(
            &path,
            &[("_count", super::timing::EVERYTHING_PAGE.to_string())],
            crate::workstation::client::PAGE_TIMEOUT,
        )
        .await;
    let (all, _) = all_pages(client, first).await?;
    Ok(Some((all, true)))
}

/// Sends one outbox note: a conditional create (or an update of a note saved earlier). A
/// note the server already holds as we would leave it counts as sent (a retry after a lost
/// answer, or a kill between the send and the record of it).
async fn send_item(client: &FhirClient, item: &Item) -> Result<Value, FetchError> {
    let timeout = super::timing::SEND_TIMEOUT;
    if let Some(bundle) = &item.record {
        // Each entry is a conditional create: sent again, it is filed once.
        let answer = client.post_bundle(bundle, timeout).await?;
        let sent = bundle["entry"].as_array().map_or(0, Vec::len);
        let filed = crate::workstation::record::vitals::filed(&answer);
        return if filed == sent {
            Ok(answer)
        } else {
            Err(FetchError::Malformed(format!(
                "the server's answer shows {filed} of {sent} values filed"
            )))
        };
    }
    let resource = &item.resource;
    if resource.get("id").is_some() {
        return match client
            .write(resource, None, item.if_match.as_deref(), timeout)
            .await
        {
            Err(FetchError::Conflict(code)) => {
                let reference = key_of(resource);
                let current = client.get(&reference, &[], timeout).await?;
                if same_note(&current, resource) {
                    Ok(current)
                } else {
                    Err(FetchError::Conflict(code))
                }
            }
            other => other,
        };
    }
    let if_none_exist = format!("identifier=urn:bedside:draft|{}", item.draft.id);
    let stored = client
        .write(resource, Some(&if_none_exist), None, timeout)
        .await?;
    if same_note(&stored, resource) {
        return Ok(stored);
    }
    // The server held an earlier state of this note (saved unsigned before): ours is newer.
    let mut update = resource.clone();
    update["id"] = stored["id"].clone();
    let version = stored
        .pointer("/meta/versionId")
        .and_then(Value::as_str)
        .map(str::to_string);
    client
        .write(&update, None, version.as_deref(), timeout)
        .await
}

/// The same note text and status.
fn same_note(a: &Value, b: &Value) -> bool {
    a["docStatus"] == b["docStatus"]
        && a.pointer("/content/0/attachment/data") == b.pointer("/content/0/attachment/data")
}

/// Sends the outbox in order; stops at the first note the server cannot be reached for (the
/// rest keep their place). One flush at a time.
pub fn flush(
    client: FhirClient,
    outbox: Arc<Outbox>,
    tx: UnboundedSender<Msg>,
    running: Arc<AtomicBool>,
) {
    if running.swap(true, Ordering::SeqCst) {
        return;
    }
    tokio::spawn(async move {
        let mut sent_now = 0;
        let mut error = None;
        let ob = outbox.clone();
        let waiting = blocking(move || ob.waiting())
            .await
            .unwrap_or_else(|| Err(VaultError::Io("task failed".into())));
        match waiting {
            Ok(entries) => {
                for entry in entries {
                    let mut item = entry.item.clone();
                    let result = send_item(&client, &item).await;
                    let state = match result {
                        Ok(_) => {
                            item.message = None;
                            sent_now += 1;
                            Sent::Sent
                        }
                        Err(e) if is_offline(&e) => {
                            let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
                            break;
                        }
                        // Kept in place for the next flush: the sign-in or the server's
                        // certificate must be fixed first, and the note was never sent.
                        Err(e @ (FetchError::Unauthorized(_) | FetchError::Tls(_))) => {
                            error = Some(e);
                            break;
                        }
                        Err(FetchError::Conflict(_)) => {
                            let current = client
                                .get(&key_of(&item.resource), &[], super::timing::SEND_TIMEOUT)
                                .await
                                .ok();
                            item.server_copy = current;
                            item.message = Some(
                                "someone else changed this note on the server: both copies are kept"
                                    .into(),
                            );
                            Sent::Conflict
                        }
                        Err(e) => {
                            item.message = Some(e.to_string());
                            Sent::Refused
                        }
                    };
                    let ob = outbox.clone();
                    let seq = entry.seq;
                    let now = crate::fhir::date::now_ms();
                    let settled = blocking(move || ob.settle(seq, state, &item, now)).await;
                    if let Some(Err(e)) = settled {
                        tracing::error!("cannot record an outbox send: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read the outbox: {e}"),
        }
        running.store(false, Ordering::SeqCst);
        let ob = outbox.clone();
        let entries = blocking(move || ob.recent())
            .await
            .and_then(Result::ok)
            .unwrap_or_default();
        let _ = tx.send(Msg::Offline(OfflineMsg::Outbox {
            entries,
            sent_now,
            error,
        }));
    });
}

#[cfg(test)]
mod tests;
