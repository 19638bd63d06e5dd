//! The allergies-and-problems pane: moving in the lists, the form for a new entry, "no known
//! drug allergies", entered in error with a reason, resolving a problem, and the answers.

use serde_json::Value;

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::lists::state::{
    EntryForm, FieldKind, FormKind, ListFocus, ListsState, Sent,
};
use crate::workstation::features::lists::{
    allergy_rows, choice, has_drug_allergy, has_nkda, picks, problem_rows, segment, term_named,
};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::record::entries::{
    self, Change, Coded, NewAllergy, NewProblem, create_once,
};
use crate::workstation::state::*;

pub(crate) fn open_lists(state: &mut State) {
    let Some(c) = &mut state.chart else { return };
    if c.withheld.is_some() {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "this chart's clinical record is withheld: allergies and problems cannot be recorded here".into(),
        });
        return;
    }
    c.lists.get_or_insert_with(ListsState::default);
    c.view = ChartView::Lists;
}

fn warn(state: &mut State, text: String) {
    if let Some(l) = state.chart.as_mut().and_then(|c| c.lists.as_mut()) {
        l.error = Some(text.clone());
    }
    state.notice = Some(Notice {
        level: Level::Warning,
        text,
    });
}

/// A key while the pane is open.
pub(crate) fn lists_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let Some(c) = state.chart.as_mut().filter(|c| c.view == ChartView::Lists) else {
        return Outcome::NotMine;
    };
    let Some(l) = &mut c.lists else {
        return Outcome::NotMine;
    };
    // In the form, letters type; the other keys are the pane's.
    if let Some(form) = &mut l.form
        && l.sending.is_none()
        && (key.typed_char().is_some() || state.keymap.lookup_local(Context::Lists, key).is_none())
    {
        let f = form.at;
        if form.fresh
            && key.typed_char().is_some()
            && matches!(form.fields[f].kind, FieldKind::Choice(_))
        {
            form.fields[f].value.clear();
            state.field_cursor = None;
        }
        if crate::workstation::line::edit_at(
            &mut form.fields[f].value,
            &mut state.field_cursor,
            key,
        ) {
            form.fresh = false;
            form.pick = 0;
            l.error = None;
            return Outcome::Done;
        }
    }
    let Some(action) = crate::workstation::features::resolve(state, Context::Lists, key) else {
        return Outcome::Done;
    };
    match lists_action(state, action, effects) {
        Some(other) => Outcome::Pass(other),
        None => Outcome::Done,
    }
}

pub(crate) fn lists_action(
    state: &mut State,
    action: Action,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    let terms = state.record_terms.clone();
    let c = state.chart.as_mut()?;
    let allergies = allergy_rows(c).len();
    let problems = problem_rows(c).len();
    let l = c.lists.as_mut()?;
    if let Some(form) = &mut l.form {
        let n = picks(form, &terms).len();
        match action {
            Action::Submit => pick_or_submit(state, effects),
            Action::NextField | Action::PreviousField => {
                complete_choice(form);
                let len = form.fields.len();
                form.at = if action == Action::NextField {
                    (form.at + 1) % len
                } else {
                    (form.at + len - 1) % len
                };
                form.pick = 0;
                form.fresh = true;
                state.field_cursor = None;
            }
            Action::MoveUp => form.pick = form.pick.saturating_sub(1),
            Action::MoveDown => form.pick = (form.pick + 1).min(n.saturating_sub(1)),
            Action::Back => {
                // What was typed is not dropped by one stray Esc.
                let typed = form.kind == FormKind::Allergy && !form.value("substance").is_empty()
                    || form.kind == FormKind::Problem && !form.value("problem").is_empty();
                if typed && l.error.as_deref() != Some(DISCARD) {
                    l.error = Some(DISCARD.into());
                } else {
                    l.form = None;
                    l.error = None;
                }
            }
            other => return Some(other),
        }
        return None;
    }
    match action {
        Action::NextPane | Action::PreviousPane | Action::NextField | Action::PreviousField => {
            l.focus = match l.focus {
                ListFocus::Allergies => ListFocus::Problems,
                ListFocus::Problems => ListFocus::Allergies,
            };
        }
        Action::MoveUp | Action::MoveDown => {
            let down = action == Action::MoveDown;
            let (cursor, len) = match l.focus {
                ListFocus::Allergies => (&mut l.allergy_cursor, allergies),
                ListFocus::Problems => (&mut l.problem_cursor, problems),
            };
            *cursor = if down {
                (*cursor + 1).min(len.saturating_sub(1))
            } else {
                cursor.saturating_sub(1)
            };
        }
        Action::AddEntry => {
            l.error = None;
            l.form = Some(match l.focus {
                ListFocus::Allergies => EntryForm::allergy(),
                ListFocus::Problems => EntryForm::problem(),
            });
            state.field_cursor = None;
        }
        Action::RecordNoKnownDrugAllergies => no_known_drug_allergies(state, effects),
        Action::EditEntry => match selected(c) {
            _ if state.storage.offline() => warn(
                state,
                "NOT editable now: the server cannot be reached, and an edit is made on the version it holds".into(),
            ),
            Some((reference, _)) => {
                effects.push(Effect::ReadEntry {
                    context: c.context,
                    reference,
                });
            }
            None => warn(state, "nothing selected to edit".into()),
        },
        Action::EnteredInError => {
            let target = selected(c);
            match target {
                Some(target) => {
                    if let Some(l) = &mut c.lists {
                        l.target = Some(target);
                    }
                    state.overlay = Some(Overlay::Prompt {
                        kind: PromptKind::EnteredInError,
                        input: String::new(),
                    });
                }
                None => warn(state, "nothing selected to mark entered in error".into()),
            }
        }
        Action::ResolveProblem => {
            if l.focus != ListFocus::Problems {
                warn(state, "only a problem resolves: Tab to the problems".into());
                return None;
            }
            match selected(c) {
                Some((reference, what)) => {
                    change(state, reference, what, Change::Resolved, effects)
                }
                None => warn(state, "no problem selected".into()),
            }
        }
        Action::Back => c.view = ChartView::Timeline,
        other => return Some(other),
    }
    None
}

const DISCARD: &str = "Esc again discards what was typed in the form";

/// The selected entry as (`Type/id`, what it is).
fn selected(c: &ChartState) -> Option<(String, String)> {
    let l = c.lists.as_ref()?;
    match l.focus {
        ListFocus::Allergies => {
            let row = allergy_rows(c).into_iter().nth(l.allergy_cursor)?;
            Some((row.reference?, format!("allergy entry \"{}\"", row.line)))
        }
        ListFocus::Problems => {
            let (reference, line) = problem_rows(c).into_iter().nth(l.problem_cursor)?;
            Some((reference, format!("problem \"{line}\"")))
        }
    }
}

/// Leaving a choice field typed as its first letters completes it (`sev` -> `severe`).
fn complete_choice(form: &mut EntryForm) {
    let f = &mut form.fields[form.at];
    if let FieldKind::Choice(options) = f.kind
        && let Some(full) = choice(options, &f.value)
    {
        f.value = full;
    }
}

/// Enter: a suggestion is taken when one is highlighted and the field does not already say
/// it; otherwise the entry is recorded.
fn pick_or_submit(state: &mut State, effects: &mut Vec<Effect>) {
    let terms = state.record_terms.clone();
    let Some(form) = state
        .chart
        .as_mut()
        .and_then(|c| c.lists.as_mut())
        .and_then(|l| l.form.as_mut())
    else {
        return;
    };
    let suggestions = picks(form, &terms);
    let f = &mut form.fields[form.at];
    // Another name of a term (`copd`, `hives`) becomes the term's own name first.
    if let FieldKind::Term { list, many } = f.kind {
        let typed = segment(&f.value, many).to_string();
        if let Some(t) = term_named(&terms, list, &typed)
            && !t.name.eq_ignore_ascii_case(&typed)
        {
            if many {
                let mut parts: Vec<String> = f
                    .value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                parts.pop();
                parts.push(t.name.clone());
                f.value = format!("{}, ", parts.join(", "));
            } else {
                f.value = t.name.clone();
            }
            form.pick = 0;
            state.field_cursor = None;
            return;
        }
    }
    if let Some(pick) = suggestions.get(form.pick) {
        match f.kind {
            FieldKind::Term { list, many } => {
                let typed = segment(&f.value, many).to_string();
                if term_named(&terms, list, &typed).is_none() {
                    // The label is "name (codes)": the name goes in.
                    let name = pick.split(" (").next().unwrap_or(pick).to_string();
                    if many {
                        let kept: Vec<&str> = f
                            .value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .collect();
                        let mut kept: Vec<String> = kept[..kept.len().saturating_sub(1)]
                            .iter()
                            .map(|s| s.to_string())
                            .collect();
                        kept.push(name.clone());
                        f.value = format!("{}, ", kept.join(", "));
                    } else {
                        f.value = name.clone();
                    }
                    // A substance sets its category.
                    if form.kind == FormKind::Allergy
                        && form.at == 0
                        && let Some(t) = term_named(&terms, list, &name)
                        && let Some(cat) = form.fields.iter_mut().find(|f| f.label == "category")
                    {
                        cat.value = t.category.clone();
                    }
                    form.pick = 0;
                    state.field_cursor = None;
                    return;
                }
            }
            FieldKind::Choice(_) if f.value.trim() != pick => {
                f.value = pick.clone();
                form.pick = 0;
                state.field_cursor = None;
                return;
            }
            _ => {}
        }
    }
    submit(state, effects);
}

fn today(state: &State) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(state.now_ms)
        .map(|t| t.with_timezone(&state.display.zone).date_naive())
        .unwrap_or_default()
}

fn context_for(state: &State, id: String) -> Option<entries::Context> {
    let c = state.chart.as_ref()?;
    let patient = c.chart.patient.clone().unwrap_or_default();
    Some(entries::Context {
        patient_id: c.patient_id.clone(),
        patient_name: patient.display_name(),
        encounter: c.chart.current_encounter(),
        recorder: state.notes.author_json(),
        now: crate::fhir::date::instant(state.now_ms),
        id,
    })
}

/// The form read: what it records, or what is wrong with it.
fn read_form(state: &State, form: &EntryForm) -> Result<(Value, String), String> {
    let terms = &state.record_terms;
    for f in &form.fields {
        let defaulted = f.label == "category" && form.kind == FormKind::Allergy;
        if f.required && f.value.trim().is_empty() && !defaulted {
            return Err(format!("{} is needed", f.label));
        }
        if let FieldKind::Choice(options) = f.kind
            && !f.value.trim().is_empty()
            && choice(options, &f.value).is_none()
        {
            return Err(format!(
                "{} \"{}\" is not one of: {}",
                f.label,
                f.value.trim(),
                options.join(", ")
            ));
        }
    }
    // A coded substance says its category when the form does not.
    let substance_category = (form.kind == FormKind::Allergy)
        .then(|| {
            term_named(
                terms,
                crate::workstation::features::lists::state::TermList::Allergens,
                form.value("substance"),
            )
        })
        .flatten()
        .map(|t| t.category);
    let pick = |label: &str| {
        form.fields
            .iter()
            .find(|f| f.label == label)
            .and_then(|f| match f.kind {
                FieldKind::Choice(options) => choice(options, &f.value),
                _ => None,
            })
    };
    let text = |label: &str| Some(form.value(label).to_string()).filter(|s| !s.is_empty());
    let onset = entries::onset(form.value("onset"), today(state))?;
    let ctx = context_for(state, uuid::Uuid::new_v4().to_string()).ok_or("no chart is open")?;
    let coded = |list, text: &str| Coded {
        text: text.trim().to_string(),
        term: term_named(terms, list, text),
    };
    match form.kind {
        FormKind::Allergy => {
            let substance = coded(
                crate::workstation::features::lists::state::TermList::Allergens,
                form.value("substance"),
            );
            let reactions = form
                .value("reactions")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|r| {
                    coded(
                        crate::workstation::features::lists::state::TermList::Reactions,
                        r,
                    )
                })
                .collect();
            let category = pick("category")
                .or(substance_category)
                .ok_or("category is needed (medication, food, environment or biologic)")?;
            let a = NewAllergy {
                category,
                kind: pick("type").unwrap_or_else(|| "allergy".into()),
                reactions,
                severity: pick("severity"),
                criticality: pick("criticality").unwrap_or_else(|| "unable-to-assess".into()),
                verification: pick("verification").unwrap_or_else(|| "confirmed".into()),
                onset,
                note: text("note"),
                substance,
            };
            let what = format!(
                "{} to {}{}",
                a.kind,
                a.substance.text,
                if a.substance.uncoded() {
                    " (uncoded)"
                } else {
                    ""
                }
            );
            Ok((a.resource(&ctx), what))
        }
        FormKind::Problem => {
            let condition = coded(
                crate::workstation::features::lists::state::TermList::Conditions,
                form.value("problem"),
            );
            let p = NewProblem {
                clinical: pick("status").unwrap_or_else(|| "active".into()),
                verification: pick("verification").unwrap_or_else(|| "confirmed".into()),
                category: pick("category").unwrap_or_else(|| "problem-list-item".into()),
                onset,
                note: text("note"),
                condition,
            };
            let what = format!(
                "problem {}{}",
                p.condition.text,
                if p.condition.uncoded() {
                    " (uncoded)"
                } else {
                    ""
                }
            );
            Ok((p.resource(&ctx), what))
        }
    }
}

fn submit(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(form) = state
        .chart
        .as_ref()
        .and_then(|c| c.lists.as_ref())
        .and_then(|l| l.form.clone())
    else {
        return;
    };
    match (read_form(state, &form), &form.editing) {
        (Ok((resource, what)), Some(edit)) => {
            let who = state.notes.author.clone();
            let now = crate::fhir::date::instant(state.now_ms);
            let Some(mut update) = entries::edited(&edit.base, &resource, &who, &now) else {
                return warn(
                    state,
                    format!(
                        "NOT changed: {} is not an entry this form edits",
                        edit.reference
                    ),
                );
            };
            if let Some(o) = update.as_object_mut() {
                o.remove("meta");
            }
            let Some(c) = &mut state.chart else { return };
            let context = c.context;
            let Some(l) = &mut c.lists else { return };
            if l.sending.is_some() {
                return;
            }
            l.sending = Some(Sent {
                what: what.clone(),
                bundle: update.clone(),
                id: edit.reference.clone(),
            });
            l.error = None;
            effects.push(Effect::UpdateEntry {
                context,
                resource: Box::new(update),
                version: edit.version.clone(),
                what,
            });
        }
        (Ok((resource, what)), None) => write(state, resource, what, effects),
        (Err(why), Some(_)) => warn(state, format!("NOT changed: {why}")),
        (Err(why), None) => warn(state, format!("NOT recorded: {why}")),
    }
}

/// Sends a new entry (or puts it in the outbox when the server is known to be away).
fn write(state: &mut State, resource: Value, what: String, effects: &mut Vec<Effect>) {
    let offline = state.storage.offline();
    let Some(c) = &mut state.chart else { return };
    let context = c.context;
    let Some(l) = &mut c.lists else { return };
    if l.sending.is_some() {
        return;
    }
    let id = resource
        .pointer("/identifier/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let bundle = create_once(&resource);
    l.sending = Some(Sent {
        what,
        bundle: bundle.clone(),
        id,
    });
    l.error = None;
    if offline {
        queue(state, effects);
        return;
    }
    effects.push(Effect::WriteEntry {
        context,
        bundle: Box::new(bundle),
    });
}

fn no_known_drug_allergies(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &state.chart else { return };
    // Never asserted over an answer that cannot be trusted, or over a recorded allergy.
    if let Some(why) = crate::workstation::features::lists::allergy_doubt(c) {
        return warn(
            state,
            format!("NOT recorded: the allergy list is not known ({why}); reload the chart first"),
        );
    }
    if has_drug_allergy(c) {
        return warn(
            state,
            "NOT recorded: the chart lists a drug allergy; mark it entered in error first if it is wrong".into(),
        );
    }
    if has_nkda(c) {
        return warn(state, "no known drug allergies is already recorded".into());
    }
    let Some(ctx) = context_for(state, uuid::Uuid::new_v4().to_string()) else {
        return;
    };
    let resource = entries::no_known_drug_allergies(&ctx);
    write(state, resource, "no known drug allergies".into(), effects);
}

/// The reason typed for an entry entered in error.
pub(crate) fn entered_in_error(state: &mut State, reason: String, effects: &mut Vec<Effect>) {
    let Some((reference, what)) = state
        .chart
        .as_mut()
        .and_then(|c| c.lists.as_mut())
        .and_then(|l| l.target.take())
    else {
        return;
    };
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return warn(
            state,
            "NOT changed: say why it was entered in error (wrong patient, wrong substance...)"
                .into(),
        );
    }
    change(
        state,
        reference,
        what,
        Change::EnteredInError { reason },
        effects,
    );
}

fn change(
    state: &mut State,
    reference: String,
    what: String,
    change: Change,
    effects: &mut Vec<Effect>,
) {
    if state.storage.offline() {
        return warn(
            state,
            format!("NOT changed: the server cannot be reached; the {what} is as it was"),
        );
    }
    let who = state.notes.author.clone();
    let Some(c) = &state.chart else { return };
    effects.push(Effect::ChangeEntry {
        context: c.context,
        reference,
        what,
        change,
        who,
    });
}

/// The entry on its way goes to the outbox: sent, once, when the server is back.
fn queue(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(sent) = state
        .chart
        .as_ref()
        .and_then(|c| c.lists.as_ref())
        .and_then(|l| l.sending.clone())
    else {
        return;
    };
    let what = capitalised(&sent.what);
    let queued = crate::workstation::features::offline::record_item(
        state,
        &sent.id,
        "record",
        what.clone(),
        what,
        sent.bundle,
    );
    if let Some((context, item)) = queued {
        effects.push(Effect::QueueEntry {
            context,
            item: Box::new(item),
        });
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn settled(state: &mut State, text: String, level: Level) {
    if let Some(l) = state.chart.as_mut().and_then(|c| c.lists.as_mut()) {
        l.sending = None;
        l.form = None;
        l.error = None;
    }
    state.field_cursor = None;
    state.notice = Some(Notice { level, text });
}

fn kept(state: &mut State, text: String) {
    if let Some(l) = state.chart.as_mut().and_then(|c| c.lists.as_mut()) {
        l.sending = None;
    }
    warn(state, text);
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    match msg {
        super::Msg::Written { context, result } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            let Some(sent) = c.lists.as_ref().and_then(|l| l.sending.clone()) else {
                return;
            };
            match result {
                Ok(answer) if crate::workstation::record::vitals::filed(&answer) == 1 => {
                    settled(
                        state,
                        format!("{} recorded for {who}", capitalised(&sent.what)),
                        Level::Info,
                    );
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Ok(_) => kept(
                    state,
                    format!(
                        "the server's answer does not show the {} filed: check the chart before recording it again (sending it again files it once)",
                        sent.what
                    ),
                ),
                Err(e) if e.is_unreachable() => {
                    effects.push(Effect::Probe);
                    state.storage.probe_pending = true;
                    state.storage.offline_since.get_or_insert(state.now_ms);
                    queue(state, effects);
                }
                Err(e) => kept(
                    state,
                    format!("NOT recorded: {e}. What was typed is kept in the form"),
                ),
            }
        }
        super::Msg::Queued { context, result } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            let Some(sent) = c.lists.as_ref().and_then(|l| l.sending.clone()) else {
                return;
            };
            match result {
                Ok(()) => settled(
                    state,
                    format!(
                        "NOT on the server yet: it cannot be reached. The {} for {who} waits in the outbox and goes, once, when it is back",
                        sent.what
                    ),
                    Level::Warning,
                ),
                Err(e) => kept(
                    state,
                    format!(
                        "NOT recorded: the server cannot be reached and the outbox could not keep it ({e}); what was typed is kept in the form"
                    ),
                ),
            }
        }
        super::Msg::Read {
            context,
            reference,
            result,
        } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let version = result.as_ref().ok().and_then(|r| {
                r.pointer("/meta/versionId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            let same = |r: &Value| {
                format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default()
                ) == reference
            };
            match (result, version) {
                (Ok(r), Some(version)) if same(&r) => {
                    match super::state::EntryForm::editing(&r, reference, version) {
                        Some(form) => {
                            if let Some(l) = &mut c.lists {
                                l.form = Some(form);
                                l.error = None;
                            }
                            state.field_cursor = None;
                        }
                        None => warn(state, "this entry is not an allergy or a problem".into()),
                    }
                }
                (Ok(r), None) if same(&r) => warn(
                    state,
                    "NOT editable: the server gives no version for this entry, so an edit could overwrite another unseen; mark it entered in error and record it again".into(),
                ),
                (Ok(_), _) => warn(state, format!("the server's answer is not {reference}; nothing to edit")),
                (Err(e), _) => warn(state, format!("the entry could not be read to edit it: {e}")),
            }
        }
        super::Msg::Edited {
            context,
            what,
            result,
            current,
        } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            match result {
                Ok(_) => {
                    settled(
                        state,
                        format!("the {what} is changed for {who}"),
                        Level::Info,
                    );
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Err(crate::workstation::client::FetchError::Conflict(_)) => {
                    // The form keeps what was typed; it is now made over the server's version,
                    // so Enter is an explicit choice to save it over the other change.
                    let version = current
                        .as_ref()
                        .and_then(|r| r.pointer("/meta/versionId"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let rebased = match (
                        current,
                        version,
                        c.lists.as_mut().and_then(|l| l.form.as_mut()),
                    ) {
                        (Some(r), Some(version), Some(form)) => match &mut form.editing {
                            Some(edit) => {
                                edit.version = version;
                                *edit.base = r;
                                true
                            }
                            None => false,
                        },
                        _ => false,
                    };
                    let text = if rebased {
                        format!(
                            "NOT changed: someone else changed the {what} since you opened it (both versions stay in its history). Your edit is kept: Enter saves it over theirs, Esc Esc leaves theirs"
                        )
                    } else {
                        format!(
                            "NOT changed: someone else changed the {what} since you opened it; nothing was overwritten. Your edit is kept in the form"
                        )
                    };
                    kept(state, text);
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Err(e) => kept(
                    state,
                    format!("NOT changed: {e}. Your edit is kept in the form"),
                ),
            }
        }
        super::Msg::Changed {
            context,
            what,
            done,
            result,
        } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            match result {
                Ok(_) => {
                    state.notice = Some(Notice {
                        level: Level::Info,
                        text: format!("the {what} is {done} for {who}"),
                    });
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Err(crate::workstation::client::FetchError::Conflict(_)) => {
                    warn(
                        state,
                        format!(
                            "NOT changed: someone else changed the {what} meanwhile; nothing was overwritten. The chart is reloaded: look again"
                        ),
                    );
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Err(e) => warn(state, format!("NOT changed: {e}; the {what} is as it was")),
            }
        }
    }
}
