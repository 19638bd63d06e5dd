//! Sign-in, the idle lock, break-the-glass and the access log.

use serde_json::Value;

use crate::workstation::client::{LoginError, SignedIn};

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;

pub(crate) use super::form::form_key;

/// The user's vault opened (or not): the cache, outbox and drafts can be used.
pub(crate) fn vault_opened(
    state: &mut State,
    result: Result<Unlocked, String>,
    effects: &mut Vec<Effect>,
) {
    match result {
        Ok(unlocked) => {
            let set_aside = unlocked.set_aside.clone();
            effects.push(Effect::AttachVault(Box::new(unlocked)));
            state.storage.open = true;
            if let Some(form) = &state.access.form
                && form.mode == FormMode::Passphrase
            {
                let first = state.search.recent.is_empty() && state.chart.is_none();
                state.access.form = None;
                state.access.last_input_ms = state.now_ms;
                state.full_redraw = true;
                if first && !state.recent_ids.is_empty() {
                    effects.push(Effect::LoadRecent {
                        patient_ids: state.recent_ids.clone(),
                    });
                }
            }
            if let Some(text) = set_aside {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text,
                });
            }
        }
        Err(message) => match &mut state.access.form {
            Some(form) if form.mode == FormMode::Passphrase => {
                form.busy = false;
                form.error = Some(message);
            }
            _ => {
                state.notice = Some(Notice {
                    level: Level::Error,
                    text: format!("{message}: no offline cache, outbox or drafts this session"),
                });
            }
        },
    }
    state.dirty = true;
}

/// The server's answer to a sign-in or unlock.
pub(crate) fn signed_in(
    state: &mut State,
    result: Result<SignedIn, LoginError>,
    effects: &mut Vec<Effect>,
) {
    let Some(form) = &mut state.access.form else {
        return;
    };
    if let Err(LoginError::Fetch(e)) = &result
        && e.is_unreachable()
        && state.storage.enabled
        && form.mode != FormMode::NewPassword
        && !form.current.is_empty()
    {
        // The server cannot be reached: the password is checked against this terminal's key
        // file instead, for reading cached charts. The form stays busy until that answers.
        let username = form.username.trim().to_lowercase();
        let same_user = form.mode == FormMode::Unlock
            && state
                .access
                .user
                .as_ref()
                .is_some_and(|u| u.username == username);
        effects.push(Effect::OpenOffline {
            username,
            password: std::mem::take(&mut form.current).into(),
            same_user,
            unreachable: e.clone(),
        });
        state.dirty = true;
        return;
    }
    form.busy = false;
    match result {
        Ok(user) => {
            let switching = state
                .access
                .user
                .as_ref()
                .is_some_and(|u| u.username != user.username);
            let first = !state.access.signed_in;
            state.access.form = None;
            state.access.signed_in = true;
            state.access.last_input_ms = state.now_ms;
            if switching {
                // A different person: close the previous user's charts. Their open note is
                // already on disk (saved when the screen locked).
                state.chart = None;
                state.census = None;
                state.inbox = None;
                state.critical = Default::default();
                state.register = None;
                state.overlay = None;
                state.notice = None;
                state.screen = Screen::Search;
                state.search.query.clear();
                state.search.rows.clear();
                state.search.recent.clear();
                state.search.status = SearchStatus::Recent;
                state.search.focus = SearchFocus::Input;
                state.recent_ids.clear();
                state.drafts.clear();
            }
            let mut notes = (*state.notes).clone();
            notes.author = user.name.clone();
            notes.author_reference = user
                .practitioner
                .as_ref()
                .map(|p| format!("Practitioner/{p}"));
            state.notes = std::sync::Arc::new(notes);
            if first || switching {
                effects.push(Effect::UserChanged {
                    username: user.username.clone(),
                });
                effects.push(Effect::LoadDrafts);
                crate::workstation::features::inbox::update::watch_critical(state, effects);
            }
            state.notice = Some(Notice {
                level: Level::Info,
                text: format!("signed in as {} ({})", user.name, user.role),
            });
            state.access.user = Some(user);
        }
        Err(LoginError::MustChange(_)) => {
            form.mode = FormMode::NewPassword;
            form.field = 1;
            form.password.clear();
            form.confirm.clear();
            form.code.clear();
            form.needs_code = false;
            form.error = Some(
                "this is a one-time password: choose your own (at least 12 characters; a few unrelated words are good)"
                    .into(),
            );
        }
        Err(LoginError::NeedsCode(message)) => {
            let was_asking = form.needs_code;
            form.needs_code = true;
            form.field = 2;
            form.code.clear();
            form.error = Some(if was_asking {
                message
            } else {
                "type the 6-digit code from your authenticator app".into()
            });
        }
        Err(e) => {
            form.error = Some(e.to_string());
            form.field = 1;
            if form.mode == FormMode::NewPassword {
                // Refused by the policy: choose again (the one-time password still holds).
                form.password.clear();
                form.confirm.clear();
            } else {
                form.current.clear();
            }
        }
    }
    state.dirty = true;
}

/// Locks the screen now: the open note goes to disk, and nothing but the lock screen is drawn
/// until the same user's password (or another user's sign-in) is given.
pub(crate) fn lock(state: &mut State, effects: &mut Vec<Effect>) {
    if state.access.form.is_some() || !state.access.signed_in {
        return;
    }
    if let Some(draft) = state.unsaved_draft() {
        if let Some(note) = state.chart.as_mut().and_then(|c| c.note.as_mut()) {
            note.unsaved = false;
        }
        effects.push(Effect::SaveDraft(Box::new(draft)));
    }
    let username = state
        .access
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    // The data key leaves memory (after the note above reaches the disk).
    if state.storage.enabled {
        effects.push(Effect::CloseVault);
        state.storage.open = false;
    }
    let mode = if state.access.user.is_none() && state.storage.enabled {
        // A token user unlocks with their passphrase.
        FormMode::Passphrase
    } else {
        FormMode::Unlock
    };
    state.access.form = Some(SignInForm::new(mode, &username));
    state.full_redraw = true;
    state.dirty = true;
}

/// Locks when the terminal has been idle for the configured time.
pub(crate) fn idle_check(state: &mut State, effects: &mut Vec<Effect>) {
    let idle = state.access.idle_ms;
    if idle > 0 && state.now_ms - state.access.last_input_ms >= idle {
        lock(state, effects);
    }
}

/// The reason typed for break-the-glass.
pub(crate) fn break_glass(state: &mut State, reason: String, effects: &mut Vec<Effect>) {
    let Some(c) = &state.chart else { return };
    if reason.trim().chars().count() < 4 {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: format!(
                "give a reason for the emergency access (press {} to try again)",
                state.keymap.hint(Context::Chart, Action::BreakGlass)
            ),
        });
        return;
    }
    effects.push(Effect::BreakGlass {
        context: c.context,
        patient_id: c.patient_id.clone(),
        reason: reason.trim().to_string(),
    });
}

pub(crate) fn glass_broken(
    state: &mut State,
    context: u64,
    result: Result<Option<i64>, crate::workstation::client::FetchError>,
    effects: &mut Vec<Effect>,
) {
    let Some(c) = state.chart.as_mut().filter(|c| c.context == context) else {
        state.dropped_stale += 1;
        return;
    };
    match result {
        Ok(until) => {
            c.withheld = None;
            c.grant_until = until;
            c.loading = true;
            c.chart.allergy_load = Some(crate::workstation::chart::AllergyLoad::Loading);
            effects.push(crate::workstation::features::chart::load::open(
                c, false, false,
            ));
            state.notice = Some(Notice {
                level: Level::Warning,
                text: "emergency access granted for a limited time; it is audited and reviewed"
                    .into(),
            });
        }
        Err(e) => {
            state.notice = Some(Notice {
                level: Level::Error,
                text: format!("emergency access refused: {e}"),
            });
        }
    }
    state.dirty = true;
}

/// Opens the access log for the open chart.
pub(crate) fn open_access_log(state: &mut State, filter: String, effects: &mut Vec<Effect>) {
    let Some(c) = &state.chart else { return };
    let mut params = vec![("_count", "200".to_string())];
    for word in filter.split_whitespace() {
        let word = word.trim_start_matches("user:").trim_start_matches("date:");
        if word.starts_with(|ch: char| ch.is_ascii_digit()) {
            match crate::workstation::features::chart::update::parse_day(word) {
                Some(day) => params.push(("date", day.format("%Y-%m-%d").to_string())),
                None => {
                    state.notice = Some(Notice {
                        level: Level::Warning,
                        text: format!("{word:?} is not a date (try 2026-11-21 or 21/11/2026)"),
                    });
                    return;
                }
            }
        } else {
            params.push(("altid", word.to_lowercase()));
        }
    }
    effects.push(Effect::LoadAccessLog {
        context: c.context,
        patient_id: c.patient_id.clone(),
        params,
    });
    state.overlay = Some(Overlay::AccessLog {
        entries: None,
        filter,
        scroll: 0,
        detail: false,
    });
}

pub(crate) fn access_log(
    state: &mut State,
    context: u64,
    result: Result<Vec<Value>, crate::workstation::client::FetchError>,
) {
    if state.chart.as_ref().is_none_or(|c| c.context != context) {
        state.dropped_stale += 1;
        return;
    }
    let zone = state.display.zone;
    if let Some(Overlay::AccessLog { entries, .. }) = &mut state.overlay {
        *entries = Some(
            result
                .map(|events| events.iter().map(|e| entry(e, zone)).collect())
                .map_err(|e| e.to_string()),
        );
        state.dirty = true;
    }
}

/// One AuditEvent as a line of the access log.
fn entry(event: &Value, zone: chrono::FixedOffset) -> AccessEntry {
    let when = event["recorded"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let agent = &event["agent"][0];
    let username = agent["altId"].as_str().unwrap_or("?");
    let name = agent["who"]["display"].as_str().unwrap_or_default();
    let user = if name.is_empty() || name == username {
        username.to_string()
    } else {
        format!("{username} ({name})")
    };
    let what = event["subtype"][0]["display"]
        .as_str()
        .or_else(|| event["subtype"][0]["code"].as_str())
        .unwrap_or("?")
        .to_string();
    let entities = || event["entity"].as_array().into_iter().flatten();
    let resource = entities()
        .filter_map(|e| e["what"]["reference"].as_str())
        .find(|r| !r.starts_with("Patient/"))
        .map(str::to_string);
    let query = entities()
        .find(|e| e["role"]["code"] == "24")
        .and_then(|e| e["description"].as_str())
        .map(str::to_string);
    let target = resource
        .as_deref()
        .map(|r| r.split('/').next().unwrap_or_default().to_string());
    let what = match target {
        Some(t) => format!("{what} {t}"),
        None => what,
    };
    AccessEntry {
        when,
        user,
        what,
        success: event["outcome"] == "0",
        address: agent["network"]["address"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        emergency: event["purposeOfEvent"][0]["text"]
            .as_str()
            .map(str::to_string),
        resource,
        query,
        description: event["outcomeDesc"].as_str().map(str::to_string),
    }
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: AccessMsg, effects: &mut Vec<Effect>) {
    use crate::workstation::features::access::signature as signing;
    match msg {
        AccessMsg::SignedIn(result) => signed_in(state, result, effects),
        AccessMsg::IdleCheck => idle_check(state, effects),
        AccessMsg::GlassBroken { context, result } => glass_broken(state, context, result, effects),
        AccessMsg::AccessLog { context, result } => access_log(state, context, result),
        AccessMsg::SignatureChecked {
            context,
            target,
            result,
        } => {
            signing::checked(state, context, target, result, effects);
            state.dirty = true;
        }
        AccessMsg::VaultOpened(result) => vault_opened(state, *result, effects),
        AccessMsg::RenewalFailed(why) => {
            if state.access.signed_in {
                sign_in_ended(state, Some(&why), effects);
            }
        }
        AccessMsg::ProviderShown(shown) => provider_shown(state, shown),
        AccessMsg::ProviderSignedIn(result) => provider_signed_in(state, result, effects),
    }
}

/// The server no longer accepts the token (expired, revoked, or the provider would not renew
/// it: `why`): lock, so the next sign-in happens where the user is (the open note is saved
/// first, as for any lock). A user who came with a token or through the identity provider
/// cannot sign in again on this screen: it says how instead.
pub(crate) fn sign_in_ended(state: &mut State, why: Option<&str>, effects: &mut Vec<Effect>) {
    let token_user = state.access.user.is_none();
    let quit = state.keymap.hint(Context::Form, Action::Quit);
    let submit = state.keymap.hint(Context::Form, Action::Submit);
    let provider = state.access.provider.is_some();
    if provider
        && state
            .access
            .form
            .as_ref()
            .is_some_and(|f| f.mode == FormMode::Provider)
    {
        // Already asking for a new sign-in (another reply said the same).
        return;
    }
    lock(state, effects);
    if provider {
        // Signed in through the identity provider: sign in with it again, here.
        let who = state
            .access
            .provider
            .as_ref()
            .and_then(|p| p.who.clone())
            .unwrap_or_default();
        if let Some(p) = &mut state.access.provider {
            p.shown = None;
        }
        let mut form = SignInForm::new(FormMode::Provider, &who);
        form.error = Some(format!(
            "your sign-in with the identity provider ended{}. Any open note is saved. Press \
             {submit} to sign in again, or {quit} to quit",
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        ));
        state.access.form = Some(form);
        return;
    }
    if let Some(form) = &mut state.access.form {
        form.error = Some(if token_user {
            format!(
                "the server no longer accepts the token bedside was started with (expired \
                 or revoked). Any open note is saved. Press {quit} to quit, then start \
                 bedside again with a new --token (or BEDSIDE_TOKEN)"
            )
        } else {
            "your sign-in expired or was revoked: enter your password".into()
        });
    }
}

/// What a new sign-in with the identity provider asks the user to do.
fn provider_shown(state: &mut State, shown: crate::workstation::client::smart::Shown) {
    use crate::workstation::client::smart::Shown;
    let Some(form) = &mut state.access.form else {
        return;
    };
    if form.mode != FormMode::Provider {
        return;
    }
    if let Shown::TryAgain(why) = &shown {
        form.busy = false;
        form.error = Some(format!("{why}: paste again"));
        return;
    }
    form.error = None;
    // Waiting on the browser or another device; a paste is typed here.
    form.busy = false;
    if let Some(p) = &mut state.access.provider {
        p.shown = Some(shown);
    }
    state.dirty = true;
}

/// A new sign-in with the identity provider finished. The same person: their tokens are used
/// and the offline data opens with their passphrase. Someone else: their tokens are dropped
/// (this terminal's data is not theirs).
fn provider_signed_in(
    state: &mut State,
    result: Result<Option<String>, String>,
    effects: &mut Vec<Effect>,
) {
    let Some(form) = &mut state.access.form else {
        return;
    };
    if form.mode != FormMode::Provider {
        return;
    }
    form.busy = false;
    let Some(provider) = &mut state.access.provider else {
        return;
    };
    provider.shown = None;
    match result {
        Err(why) => {
            form.error = Some(format!("the sign-in did not finish: {why}"));
        }
        Ok(who) if provider.who.is_some() && who != provider.who => {
            effects.push(Effect::ProviderDiscard);
            let quit = state.keymap.hint(Context::Form, Action::Quit);
            form.error = Some(format!(
                "{} signed in, but this terminal is in use by {}: their work stays locked. \
                 Press {quit} to quit, then start bedside again to work as yourself",
                who.as_deref().unwrap_or("someone else"),
                provider.who.as_deref().unwrap_or_default()
            ));
        }
        Ok(_) => {
            effects.push(Effect::ProviderAccept);
            if state.storage.enabled {
                // The data key left memory at the lock: the passphrase brings it back.
                let mut next = SignInForm::new(FormMode::Passphrase, &form.username);
                next.error = Some("signed in again: your passphrase opens the offline data".into());
                state.access.form = Some(next);
            } else {
                state.access.form = None;
                state.access.last_input_ms = state.now_ms;
                state.full_redraw = true;
            }
        }
    }
    state.dirty = true;
}
