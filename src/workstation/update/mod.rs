//! `update`: one message in, the state changed, effects out. It never waits and never does
//! I/O, so every behaviour here is tested by feeding messages.

mod dialogs;
#[cfg(test)]
mod tests;

use crate::workstation::features::access::{signature as signing, update as access};
use crate::workstation::features::chart::{timeline, update as chart};
use crate::workstation::features::lists::update as lists;
use crate::workstation::features::note::update as notes;
use crate::workstation::features::offline::update as offline;
use crate::workstation::features::orders::update as orders;
use crate::workstation::features::palette::update as palette;
use crate::workstation::features::search::update as search;
use crate::workstation::features::vitals::update as vitals;

use crossterm::event::KeyEventKind;

use crate::workstation::client::FetchError;

use super::action::Action;
use super::keymap::{Context, Key};
use super::state::*;
use chart::*;
use search::*;

use crate::workstation::features::chart::filter_choices;
use crate::workstation::features::chart::load::open_patient_id;
use crate::workstation::features::{Outcome, leave_note, list_cursor, resolve};
use timeline::{follow, timeline_rows};

use dialogs::dialog_action;

/// Messages kept for `:messages`.
const MESSAGES_KEPT: usize = 200;

/// Which one-line field has the focus: when it changes, its cursor goes back to the end.
type FieldIdentity = (
    Screen,
    Option<std::mem::Discriminant<Overlay>>,
    SearchFocus,
    Option<OrdersFocus>,
    Option<(FormMode, usize)>,
);

fn field_identity(state: &State) -> FieldIdentity {
    (
        state.screen,
        state.overlay.as_ref().map(std::mem::discriminant),
        state.search.focus,
        state
            .chart
            .as_ref()
            .and_then(|c| c.orders.as_ref())
            .map(|o| o.focus),
        state.access.form.as_ref().map(|f| (f.mode, f.field)),
    )
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let session_ended = session_ended(&msg);
    let before = state.notice.clone();
    let field = field_identity(state);
    let mut effects = update_inner(state, msg);
    // The flowsheet follows the chart's observations as pages arrive.
    vitals::sync(state);
    crate::workstation::features::register::update::sync(state);
    if field_identity(state) != field {
        state.field_cursor = None;
    }
    // Every new message goes to the session's list (`:messages`), whatever set it.
    if let Some(n) = &state.notice
        && before.as_ref() != Some(n)
    {
        if state.messages.len() >= MESSAGES_KEPT {
            state.messages.pop_front();
        }
        state
            .messages
            .push_back((state.now_ms, n.level, n.text.clone()));
    }
    if session_ended && state.access.signed_in {
        access::sign_in_ended(state, None, &mut effects);
    }
    effects
}

/// True when a reply says the server no longer accepts the token.
fn session_ended(msg: &Msg) -> bool {
    let unauthorized = |r: Option<&FetchError>| matches!(r, Some(FetchError::Unauthorized(_)));
    match msg {
        Msg::Search(SearchMsg::Done { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Search(SearchMsg::RecentLoaded(result)) => unauthorized(result.as_ref().err()),
        Msg::Chart(ChartMsg::Patient { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Chart(ChartMsg::Allergies { result, .. })
        | Msg::Chart(ChartMsg::Page { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Orders(OrdersMsg::Signed { result, .. })
        | Msg::Orders(OrdersMsg::Discontinued { result, .. })
        | Msg::Note(NoteMsg::Sent { result, .. })
        | Msg::Vitals(VitalsMsg::Recorded { result, .. })
        | Msg::Lists(ListsMsg::Written { result, .. })
        | Msg::Lists(ListsMsg::Changed { result, .. })
        | Msg::Register(RegisterMsg::Created { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Access(AccessMsg::GlassBroken { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Access(AccessMsg::AccessLog { result, .. }) => unauthorized(result.as_ref().err()),
        Msg::Access(AccessMsg::SignatureChecked { result, .. }) => {
            unauthorized(result.as_ref().err())
        }
        Msg::Offline(OfflineMsg::Outbox { error, .. }) => unauthorized(error.as_ref()),
        _ => false,
    }
}

fn update_inner(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    match msg {
        Msg::Key(key) => {
            if key.kind == KeyEventKind::Release {
                return effects;
            }
            state.dirty = true;
            state.access.last_input_ms = state.now_ms;
            let key = Key::from_event(&key);
            if state.access.form.is_some() {
                access::form_key(state, key, &mut effects);
                return effects;
            }
            if state.keymap.lookup(Context::Global, key) == Some(Action::LockScreen) {
                access::lock(state, &mut effects);
                return effects;
            }
            let had_notice = state.notice.clone();
            on_key(state, key, &mut effects);
            if state.notice == had_notice {
                state.notice = None;
            }
        }
        Msg::Resize(w, h) => {
            state.size = ratatui::layout::Rect::new(0, 0, w, h);
            clamp_search(state);
            if let Some(c) = &mut state.chart {
                let rows = timeline_rows(state.size);
                follow(c, rows);
            }
            state.dirty = true;
        }
        Msg::Action(action) => {
            state.dirty = true;
            act(state, action, &mut effects);
        }
        Msg::Tick => {
            state.tick_pending = false;
            if state.busy() {
                state.spinner = state.spinner.wrapping_add(1);
                state.dirty = true;
            }
        }
        Msg::Shutdown(_) => {
            state.quit = true;
        }
        Msg::Search(msg) => search::on_msg(state, msg, &mut effects),
        Msg::Chart(msg) => chart::on_msg(state, msg, &mut effects),
        Msg::Note(msg) => notes::on_msg(state, msg, &mut effects),
        Msg::Orders(msg) => orders::on_msg(state, msg, &mut effects),
        Msg::Vitals(msg) => vitals::on_msg(state, msg, &mut effects),
        Msg::Lists(msg) => lists::on_msg(state, msg, &mut effects),
        Msg::Register(msg) => {
            crate::workstation::features::register::update::on_msg(state, msg, &mut effects)
        }
        Msg::Access(msg) => access::on_msg(state, msg, &mut effects),
        Msg::Inbox(msg) => {
            crate::workstation::features::inbox::update::on_msg(state, msg, &mut effects)
        }
        Msg::Census(msg) => {
            crate::workstation::features::census::update::on_msg(state, msg, &mut effects)
        }
        Msg::Support(msg) => {
            crate::workstation::features::support::update::on_msg(state, msg, &mut effects)
        }
        Msg::Work(msg) => {
            crate::workstation::features::work::update::on_msg(state, msg, &mut effects)
        }
        Msg::Offline(msg) => offline::on_msg(state, msg, &mut effects),
    }
    if state.busy() && !state.tick_pending {
        state.tick_pending = true;
        effects.push(Effect::Tick);
    }
    effects
}

/// The labels of a pop-up list that takes accelerator letters, if one is open.
pub fn accelerated_labels(state: &State) -> Option<Vec<String>> {
    match &state.overlay {
        Some(Overlay::Filter { .. }) => Some(
            filter_choices(state)
                .iter()
                .map(|(k, _)| k.map(|k| k.label()).unwrap_or("Everything").to_string())
                .collect(),
        ),
        Some(Overlay::Templates { .. }) => Some(
            state
                .notes
                .templates
                .iter()
                .map(|t| t.name.clone())
                .collect(),
        ),
        _ => None,
    }
}

/// A pop-up list's accelerator letter chooses its item at once.
fn accelerator_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> bool {
    let Some(c) = key.typed_char() else {
        return false;
    };
    let Some(labels) = accelerated_labels(state) else {
        return false;
    };
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let letters = super::keymap::accelerators(&state.keymap, &refs);
    let Some(pos) = letters
        .iter()
        .position(|l| *l == Some(c.to_ascii_lowercase()))
    else {
        return false;
    };
    match state.overlay.take() {
        Some(Overlay::Filter { .. }) => {
            let choice = filter_choices(state).get(pos).and_then(|(k, _)| *k);
            set_filter(state, choice);
        }
        Some(Overlay::Templates { .. }) => notes::create_note(state, pos, None, effects),
        other => state.overlay = other,
    }
    true
}

fn on_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) {
    if let Some(overlay) = state.overlay.clone() {
        match palette::palette_key(state, key, effects) {
            Outcome::NotMine => {}
            Outcome::Done => return,
            Outcome::Pass(action) => return act(state, action, effects),
        }
        if signing::signature_key(state, key, effects)
            || accelerator_key(state, key, effects)
            || crate::workstation::features::orders::dialogs::overlay_key(state, key, effects)
            || offline::outbox_key(state, key, effects)
            || crate::workstation::features::help::update::help_key(state, key)
        {
            return;
        }
        if let Overlay::Prompt { kind, mut input } = overlay {
            let action = state.keymap.lookup_local(Context::Form, key);
            if action.is_none() && super::line::edit_at(&mut input, &mut state.field_cursor, key) {
                state.overlay = Some(Overlay::Prompt { kind, input });
                return;
            }
            match action {
                Some(Action::Submit) => {
                    state.overlay = None;
                    match kind {
                        PromptKind::BreakGlass => access::break_glass(state, input, effects),
                        PromptKind::EnteredInError => {
                            lists::entered_in_error(state, input, effects)
                        }
                        PromptKind::AccessFilter => access::open_access_log(state, input, effects),
                        PromptKind::CosignReject => {
                            crate::workstation::features::work::update::reject(
                                state, input, effects,
                            )
                        }
                        PromptKind::CosignOverride => {
                            if crate::workstation::features::work::update::override_reason(
                                state, input,
                            ) {
                                signing::confirmed(state, SignTarget::Cosign, effects);
                            }
                        }
                        PromptKind::Forward => {
                            crate::workstation::features::inbox::update::forward_to(
                                state, input, effects,
                            )
                        }
                        PromptKind::Support(ask) => {
                            crate::workstation::features::support::update::answered(
                                state, ask, input, effects,
                            )
                        }
                        PromptKind::NewList => {
                            crate::workstation::features::census::update::new_list(
                                state, input, effects,
                            )
                        }
                        _ => apply_prompt(state, kind, input),
                    }
                }
                Some(Action::Back) => state.overlay = None,
                Some(Action::Quit) => state.overlay = Some(Overlay::ConfirmQuit),
                _ => {}
            }
            return;
        }
        if let Some(action) = resolve(state, Context::Dialogs, key) {
            dialog_action(state, action, effects);
        }
        return;
    }
    if state.screen == Screen::Search
        && state.register.as_ref().is_some_and(|r| r.editing.is_none())
    {
        match crate::workstation::features::register::update::register_key(state, key, effects) {
            Outcome::NotMine => {}
            Outcome::Done => return,
            Outcome::Pass(action) => return act(state, action, effects),
        }
    }
    match state.screen {
        Screen::Inbox => {
            match crate::workstation::features::inbox::update::inbox_key(state, key, effects) {
                Outcome::NotMine | Outcome::Done => {}
                Outcome::Pass(action) => act(state, action, effects),
            }
        }
        Screen::Census => {
            match crate::workstation::features::census::update::census_key(state, key, effects) {
                Outcome::NotMine | Outcome::Done => {}
                Outcome::Pass(action) => act(state, action, effects),
            }
        }
        Screen::Work => {
            match crate::workstation::features::work::update::work_key(state, key, effects) {
                Outcome::NotMine | Outcome::Done => {}
                Outcome::Pass(action) => act(state, action, effects),
            }
        }
        Screen::Support => {
            match crate::workstation::features::support::update::support_key(state, key, effects) {
                Outcome::NotMine | Outcome::Done => {}
                Outcome::Pass(action) => act(state, action, effects),
            }
        }
        Screen::Search => {
            if state.search.focus == SearchFocus::Input {
                // No name, MRN or date has a `?` or a `:`: they open help and the command
                // palette even while typing.
                if let Some(c) = key.typed_char().filter(|c| *c != '?' && *c != ':') {
                    if state.field_cursor.is_none() {
                        type_char(state, c, effects);
                        return;
                    }
                }
                let before = state.search.query.clone();
                let typed = key.typed_char().filter(|c| *c != '?' && *c != ':');
                if (key.typed_char().is_none() || typed.is_some())
                    && super::line::edit_at(&mut state.search.query, &mut state.field_cursor, key)
                {
                    if state.search.query != before {
                        query_changed(state, effects);
                    }
                    return;
                }
            }
            let pending = !state.chord.is_empty();
            match resolve(state, Context::Search, key) {
                Some(action) => act(state, action, effects),
                None => {
                    // Typing in the result list goes to the query (not the end of a chord).
                    if let Some(c) = key
                        .typed_char()
                        .filter(|_| !pending && state.chord.is_empty())
                    {
                        state.search.focus = SearchFocus::Input;
                        type_char(state, c, effects);
                    }
                }
            }
        }
        Screen::Chart => {
            for outcome in [
                notes::note_key,
                orders::orders_key,
                vitals::vitals_key,
                lists::lists_key,
                crate::workstation::features::register::update::demographics_key,
            ] {
                match outcome(state, key, effects) {
                    Outcome::NotMine => continue,
                    Outcome::Done => {}
                    Outcome::Pass(action) => act(state, action, effects),
                }
                return;
            }
            let context = state.context();
            if let Some(action) = resolve(state, context, key) {
                act(state, action, effects);
            }
        }
    }
}

pub(super) fn act(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    match action {
        Action::ShowHelp => {
            state.overlay = Some(Overlay::Help {
                context: state.context(),
                query: String::new(),
                scroll: 0,
            });
            return;
        }
        Action::OpenPalette => {
            state.overlay = Some(Overlay::Palette {
                context: state.context(),
                input: String::new(),
                cursor: 0,
            });
            return;
        }
        Action::OpenInbox => {
            crate::workstation::features::inbox::update::open_inbox(state, effects);
            return;
        }
        Action::OpenCensus => {
            crate::workstation::features::census::update::open_census(state, effects);
            return;
        }
        Action::OpenWork => {
            crate::workstation::features::work::update::open_work(state, effects);
            return;
        }
        Action::OpenRecord if state.screen == Screen::Chart => {
            crate::workstation::features::support::update::open_from_chart(state, effects);
            return;
        }
        Action::OpenSupport => {
            crate::workstation::features::support::update::open_support(state, effects);
            return;
        }
        Action::RegisterPatient => {
            crate::workstation::features::register::update::open_register(state);
            return;
        }
        Action::AdmitPatient if state.screen == Screen::Chart => {
            crate::workstation::features::census::update::admit(state, effects);
            return;
        }
        Action::AddToList if state.screen == Screen::Chart => {
            crate::workstation::features::census::update::add_to_list(state, effects);
            return;
        }
        Action::EditDemographics if state.screen == Screen::Chart => {
            crate::workstation::features::register::update::open_edit(state, effects);
            return;
        }
        Action::Quit => {
            state.overlay = Some(Overlay::ConfirmQuit);
            return;
        }
        Action::RedrawScreen => {
            state.full_redraw = true;
            return;
        }
        Action::LockScreen => {
            access::lock(state, effects);
            return;
        }
        Action::BreakGlass if state.screen == Screen::Chart => {
            if state.chart.as_ref().is_some_and(|c| c.withheld.is_some()) {
                state.overlay = Some(Overlay::Prompt {
                    kind: PromptKind::BreakGlass,
                    input: String::new(),
                });
            }
            return;
        }
        Action::ShowOutbox => {
            state.overlay = Some(Overlay::Outbox {
                cursor: 0,
                compare: false,
                scroll: 0,
            });
            return;
        }
        Action::ShowAccessLog if state.screen == Screen::Chart => {
            access::open_access_log(state, String::new(), effects);
            return;
        }
        Action::AcknowledgeNames if state.screen == Screen::Chart => {
            if let Some(c) = &mut state.chart
                && c.namesakes.is_some_and(|n| n > 0)
            {
                c.namesakes = Some(0);
                state.names_acknowledged.insert(c.patient_id.clone());
                let name = c
                    .chart
                    .patient
                    .as_ref()
                    .map(|p| p.display_name())
                    .unwrap_or_default();
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!("similar names acknowledged for {name} (this session)"),
                });
            }
            return;
        }
        Action::SearchPatients => {
            leave_note(state, effects);
            let was_search = state.screen == Screen::Search;
            state.screen = Screen::Search;
            state.search.focus = SearchFocus::Input;
            if was_search || !state.search.query.is_empty() {
                state.search.query.clear();
                query_changed(state, effects);
            }
            return;
        }
        _ => {}
    }
    match state.screen {
        Screen::Search => search_action(state, action, effects),
        Screen::Chart => chart_action(state, action, effects),
        Screen::Census | Screen::Inbox | Screen::Work | Screen::Support => {}
    }
}
