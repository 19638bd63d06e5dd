//! The support desk's decisions: what to ask the server on each tab, what a key does there,
//! what a prompt's answer means (a reason is required for every change), and what each
//! answer shows. An answer that could not be read is kept as not known, never as empty.

use serde_json::Value;

use super::{Ask, Compared, DeskState, DeskTab, RecordView, Request, Side};
use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;
use crate::workstation::support::{self, raw};

/// The shortest reason taken.
const MIN_REASON: usize = 4;

fn notice(state: &mut State, level: Level, text: impl Into<String>) {
    state.notice = Some(Notice {
        level,
        text: text.into(),
    });
}

/// F8: the support desk, for support staff.
pub(crate) fn open_support(state: &mut State, effects: &mut Vec<Effect>) {
    if state.access.role() != Some("support") {
        notice(
            state,
            Level::Warning,
            "the support desk is for support staff (the server refuses it to other roles)",
        );
        return;
    }
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Support;
    state.overlay = None;
    let first = state.desk.is_none();
    state.desk.get_or_insert_with(DeskState::default);
    if first {
        load(state, effects);
    }
}

fn ask_server(state: &mut State, request: Request, effects: &mut Vec<Effect>) {
    let Some(d) = &mut state.desk else { return };
    state.context += 1;
    d.generation = state.context;
    d.loading = true;
    effects.push(Effect::Support {
        generation: d.generation,
        request,
    });
}

/// What the tab shown needs from the server (nothing for those that are asked by a prompt).
fn load(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(d) = &mut state.desk else { return };
    let request = match d.tab {
        DeskTab::Duplicates => {
            d.compared = None;
            Request::Duplicates
        }
        DeskTab::Quality => Request::Quality,
        DeskTab::Status => Request::Status,
        DeskTab::Record => match &d.record {
            Some(Ok(r)) => Request::Record(r.reference.clone()),
            _ => return prompt(state, Ask::OpenRecord),
        },
        DeskTab::AsOf => return prompt(state, Ask::AsOf),
        DeskTab::Access => return prompt(state, Ask::AccessFor),
    };
    ask_server(state, request, effects);
}

fn prompt(state: &mut State, ask: Ask) {
    state.field_cursor = None;
    state.overlay = Some(Overlay::Prompt {
        kind: PromptKind::Support(ask),
        input: String::new(),
    });
}

fn needs_first_load(d: &DeskState) -> bool {
    match d.tab {
        DeskTab::Duplicates => d.pairs.is_none(),
        DeskTab::Quality => d.quality.is_none(),
        DeskTab::Status => d.status.is_none(),
        DeskTab::Record => d.record.is_none(),
        DeskTab::AsOf => d.as_of.is_none(),
        DeskTab::Access => d.access.is_none(),
    }
}

/// From a chart: the selected item's record as the server holds it, on the desk (support
/// staff; other roles read the chart itself).
pub(crate) fn open_from_chart(state: &mut State, effects: &mut Vec<Effect>) {
    if state.access.role() != Some("support") {
        notice(
            state,
            Level::Warning,
            "the record as stored is shown on the support desk (support staff)",
        );
        return;
    }
    let Some(c) = &state.chart else { return };
    let reference = c
        .selected_target()
        .and_then(|t| c.chart.source_of(t))
        .or_else(|| {
            c.chart
                .patient
                .as_ref()
                .map(|p| format!("Patient/{}", p.id))
        });
    let Some(reference) = reference else { return };
    state.screen = Screen::Support;
    state.overlay = None;
    state.desk.get_or_insert_with(DeskState::default);
    open_record(state, reference, effects);
}

pub(crate) fn support_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    if state.screen != Screen::Support || state.desk.is_none() {
        return Outcome::NotMine;
    }
    match crate::workstation::features::resolve(state, Context::Support, key) {
        Some(action) => match desk_action(state, action, effects) {
            Some(other) => Outcome::Pass(other),
            None => Outcome::Done,
        },
        None => Outcome::Done,
    }
}

fn open_record(state: &mut State, reference: String, effects: &mut Vec<Effect>) {
    let Some(d) = &mut state.desk else { return };
    if let Some(Ok(r)) = &d.record {
        if r.reference != reference {
            d.trail.push(r.reference.clone());
        }
    }
    d.tab = DeskTab::Record;
    d.cursor = 0;
    d.record = None;
    ask_server(state, Request::Record(reference), effects);
}

fn desk_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let d = state.desk.as_mut()?;
    let history_at = match &d.record {
        Some(Ok(r)) if d.tab == DeskTab::Record => r.history,
        _ => None,
    };
    let from = history_at.unwrap_or(d.cursor);
    if let Some(cursor) = crate::workstation::features::list_cursor(from, action, d.lines()) {
        if history_at.is_some() {
            if let Some(Ok(r)) = &mut d.record {
                r.history = Some(cursor);
                r.diff = None;
            }
        } else {
            d.cursor = cursor;
        }
        return None;
    }
    match action {
        Action::NextPane | Action::PreviousPane => {
            d.tab = d.tab.step(if action == Action::NextPane { 1 } else { -1 });
            d.cursor = 0;
            d.merge = None;
            if needs_first_load(d)
                && !matches!(d.tab, DeskTab::Record | DeskTab::AsOf | DeskTab::Access)
            {
                load(state, effects);
            }
        }
        Action::RefreshList => load(state, effects),
        Action::Submit | Action::OpenSelected => match d.tab {
            DeskTab::Duplicates if d.merge.is_some() => prompt(state, Ask::MergeReason),
            DeskTab::Duplicates => {
                let pair = d.selected_pair()?.clone();
                d.compared = None;
                ask_server(
                    state,
                    Request::Compare {
                        a: pair.a.id,
                        b: pair.b.id,
                    },
                    effects,
                );
            }
            DeskTab::Record => {
                let Some(Ok(r)) = &mut d.record else {
                    return None;
                };
                if let Some(at) = r.history {
                    r.diff = diff_at(r, at);
                    return None;
                }
                let shown = raw::visible(&r.lines, &r.folded);
                let line = *shown.get(d.cursor)?;
                match r.lines[line].reference.clone() {
                    Some(reference) => {
                        let reference = reference
                            .rsplit_once("/fhir/")
                            .map(|(_, rest)| rest.to_string())
                            .unwrap_or(reference);
                        open_record(state, reference, effects);
                    }
                    None if r.lines[line].closes_at.is_some() => toggle_fold(r, line),
                    None => {}
                }
            }
            _ => {
                let reference = d.selected_reference()?;
                open_record(state, reference, effects);
            }
        },
        Action::NotDuplicate => {
            d.selected_pair()?;
            prompt(state, Ask::NotDuplicate);
        }
        Action::MergeRecords => {
            let pair = d.selected_pair()?.clone();
            // The second record into the first; asked again, the other way round.
            let (source, target) = match &d.merge {
                Some(m) if m.source.id == pair.b.id => (pair.a.id, pair.b.id),
                _ => (pair.b.id, pair.a.id),
            };
            d.merge = None;
            d.merge_reason = None;
            ask_server(state, Request::MergePreview { source, target }, effects);
        }
        Action::Confirm if d.merge.is_some() => prompt(state, Ask::MergeReason),
        Action::UndoMerge => {
            if d.last_merge.is_none() {
                notice(
                    state,
                    Level::Warning,
                    "no merge was done on this desk to undo",
                );
                return None;
            }
            prompt(state, Ask::UndoReason);
        }
        Action::OpenRecord => prompt(state, Ask::OpenRecord),
        Action::FindInRecord if d.tab == DeskTab::Record => prompt(state, Ask::Find),
        Action::FindNext if d.tab == DeskTab::Record => find_next(state, 1),
        Action::FoldSection => {
            let Some(Ok(r)) = &mut d.record else {
                return None;
            };
            // In the versions list: mark (or unmark) the version to compare with.
            if let Some(at) = r.history {
                r.marked = if r.marked == Some(at) { None } else { Some(at) };
                r.diff = None;
                return None;
            }
            let shown = raw::visible(&r.lines, &r.folded);
            if let Some(&line) = shown.get(d.cursor) {
                toggle_fold(r, line);
            }
        }
        Action::RecordHistory => {
            let Some(Ok(r)) = &mut d.record else {
                return None;
            };
            r.history = match r.history {
                Some(_) => None,
                None => Some(0),
            };
            r.diff = None;
        }
        Action::WriteRecord => {
            let Some(Ok(r)) = &d.record else {
                notice(state, Level::Warning, "open a record first (o)");
                return None;
            };
            let name = r.reference.replace('/', "-").replace("-_history-", "-v");
            let contents = raw::pretty(&r.resource);
            effects.push(Effect::WriteSupportFile {
                name: format!("{name}.json"),
                contents,
            });
        }
        Action::ChartAsOf => prompt(state, Ask::AsOf),
        Action::MoveRecord => {
            let movable = matches!(&d.record, Some(Ok(r)) if ["DocumentReference/", "Observation/", "DiagnosticReport/"].iter().any(|t| r.reference.starts_with(t)));
            if !movable {
                notice(
                    state,
                    Level::Warning,
                    "open the note or result to move first (o): a DocumentReference, Observation or DiagnosticReport",
                );
                return None;
            }
            prompt(state, Ask::MoveTo);
        }
        Action::AccessLogFor => prompt(state, Ask::AccessFor),
        Action::ExportList => export(state, effects),
        Action::Back => {
            if d.merge.take().is_some() {
                return None;
            }
            if d.tab == DeskTab::Record {
                if let Some(Ok(r)) = &mut d.record {
                    if r.history.is_some() {
                        r.history = None;
                        r.diff = None;
                        return None;
                    }
                }
                if let Some(previous) = d.trail.pop() {
                    d.record = None;
                    d.cursor = 0;
                    ask_server(state, Request::Record(previous), effects);
                    return None;
                }
            }
            state.screen = Screen::Search;
        }
        other => return Some(other),
    }
    None
}

fn toggle_fold(r: &mut RecordView, line: usize) {
    if r.lines.get(line).is_some_and(|l| l.closes_at.is_some()) {
        match r.folded.iter().position(|f| *f == line) {
            Some(i) => {
                r.folded.remove(i);
            }
            None => r.folded.push(line),
        }
    }
}

fn diff_at(r: &RecordView, at: usize) -> Option<(String, String, Vec<crate::fhir::diff::Change>)> {
    let versions = r.versions.as_ref()?.as_ref().ok()?;
    // Newest first: the higher index is the older version.
    let other = r.marked.filter(|m| *m != at).unwrap_or(at + 1);
    let (newer, older) = (versions.get(at.min(other))?, versions.get(at.max(other))?);
    Some((
        older.version.clone(),
        newer.version.clone(),
        raw::changes(older, newer),
    ))
}

/// The cursor to the next line holding the text looked for (folds opened to show it).
fn find_next(state: &mut State, from_next: usize) {
    let Some(d) = &mut state.desk else { return };
    let Some(Ok(r)) = &mut d.record else { return };
    let shown = raw::visible(&r.lines, &r.folded);
    let here = shown.get(d.cursor).copied().unwrap_or(0);
    match raw::find(&r.lines, &r.find, here + from_next) {
        Some(line) => {
            // Unfold what hides it.
            r.folded
                .retain(|&f| !(f < line && r.lines[f].closes_at.is_some_and(|end| end > line)));
            let shown = raw::visible(&r.lines, &r.folded);
            d.cursor = shown.iter().position(|&l| l == line).unwrap_or(0);
        }
        None => {
            let what = r.find.clone();
            notice(
                state,
                Level::Info,
                format!("{what:?} is not in this record"),
            );
        }
    }
}

fn export(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(d) = &state.desk else { return };
    let stamp = crate::fhir::date::instant(state.now_ms)
        .chars()
        .take(16)
        .filter(|c| c.is_ascii_digit())
        .collect::<String>();
    let (name, table) = match d.tab {
        DeskTab::Duplicates => match &d.pairs {
            Some(Ok((_, p))) => ("duplicates", support::duplicates_table(p)),
            _ => {
                return notice(
                    state,
                    Level::Warning,
                    "nothing to export: the list is not known",
                );
            }
        },
        DeskTab::Access => match &d.access {
            Some(Ok(a)) => ("access-log", support::access_table(a)),
            _ => {
                return notice(
                    state,
                    Level::Warning,
                    "nothing to export: the log is not known",
                );
            }
        },
        DeskTab::Quality => match &d.quality {
            Some(Ok(q)) => ("data-quality", support::quality_table(q)),
            _ => {
                return notice(
                    state,
                    Level::Warning,
                    "nothing to export: the scan is not known",
                );
            }
        },
        DeskTab::Status => match &d.status {
            Some(Ok(s)) => ("server-status", support::status_table(s)),
            _ => {
                return notice(
                    state,
                    Level::Warning,
                    "nothing to export: the status is not known",
                );
            }
        },
        DeskTab::AsOf => match &d.as_of {
            Some(Ok(w)) => ("chart-as-it-was", support::as_of_table(w)),
            _ => {
                return notice(
                    state,
                    Level::Warning,
                    "nothing to export: the chart is not known",
                );
            }
        },
        DeskTab::Record => {
            return desk_action(state, Action::WriteRecord, effects)
                .map(|_| ())
                .unwrap_or(());
        }
    };
    effects.push(Effect::WriteSupportFile {
        name: format!("{name}-{stamp}.csv"),
        contents: table.csv(),
    });
}

fn reason_ok(state: &mut State, input: &str) -> Option<String> {
    let text = input.trim();
    if text.chars().count() < MIN_REASON {
        notice(
            state,
            Level::Warning,
            "a reason in words is needed: nothing was changed",
        );
        return None;
    }
    Some(text.to_string())
}

/// A desk prompt answered.
pub(crate) fn answered(state: &mut State, ask: Ask, input: String, effects: &mut Vec<Effect>) {
    let Some(d) = &mut state.desk else { return };
    match ask {
        Ask::OpenRecord => {
            let reference = input.trim().trim_start_matches('/').to_string();
            let valid = reference.split('/').count() >= 2
                && reference.split('/').all(|s| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
                });
            if !valid {
                notice(
                    state,
                    Level::Warning,
                    format!("{reference:?} is not Type/id (Observation/123)"),
                );
                return;
            }
            open_record(state, reference, effects);
        }
        Ask::Find => {
            if let Some(Ok(r)) = &mut d.record {
                r.find = input.trim().to_string();
            }
            find_next(state, 0);
        }
        Ask::NotDuplicate => {
            let Some(pair) = d.selected_pair().cloned() else {
                return;
            };
            let Some(reason) = reason_ok(state, &input) else {
                return;
            };
            ask_server(
                state,
                Request::NotDuplicate {
                    a: pair.a.id,
                    b: pair.b.id,
                    reason,
                },
                effects,
            );
        }
        Ask::MergeReason => {
            let Some(m) = d.merge.clone() else { return };
            let Some(reason) = reason_ok(state, &input) else {
                return;
            };
            if !m.refused.is_empty() {
                notice(
                    state,
                    Level::Error,
                    format!("the merge cannot be done: {}", m.refused.join("; ")),
                );
                return;
            }
            if m.needs_orders_reason {
                if let Some(d) = &mut state.desk {
                    d.merge_reason = Some(reason);
                }
                prompt(state, Ask::OrdersReason);
                return;
            }
            merge(state, m, reason, None, effects);
        }
        Ask::OrdersReason => {
            let (Some(m), Some(reason)) = (d.merge.clone(), d.merge_reason.clone()) else {
                return;
            };
            let Some(orders) = reason_ok(state, &input) else {
                return;
            };
            merge(state, m, reason, Some(orders), effects);
        }
        Ask::UndoReason => {
            let Some((provenance, _)) = d.last_merge.clone() else {
                return;
            };
            let Some(reason) = reason_ok(state, &input) else {
                return;
            };
            if let Some(d) = &mut state.desk {
                d.sending = true;
            }
            ask_server(state, Request::Unmerge { provenance, reason }, effects);
        }
        Ask::AsOf => {
            let mut parts = input.split_whitespace();
            let (Some(patient), Some(at)) = (parts.next(), parts.next()) else {
                notice(
                    state,
                    Level::Warning,
                    "give a patient id and a moment: ID 2026-12-01T03:00",
                );
                return;
            };
            let patient = patient.trim_start_matches("Patient/").to_string();
            let at = if at.len() == 16 {
                format!("{at}:00")
            } else {
                at.to_string()
            };
            if crate::fhir::date::parse_range(&at).is_none() {
                notice(
                    state,
                    Level::Warning,
                    format!("{at:?} is not a moment: 2026-12-01T03:00"),
                );
                return;
            }
            d.tab = DeskTab::AsOf;
            d.cursor = 0;
            d.as_of = None;
            d.as_of_label = format!("Patient/{patient} as it was at {at}");
            ask_server(state, Request::AsOf { patient, at }, effects);
        }
        Ask::AccessFor => {
            let text = input.trim();
            if text.is_empty() {
                notice(state, Level::Warning, "give a patient id, or user:NAME");
                return;
            }
            let mut words = text.split_whitespace();
            let who = words.next().unwrap_or_default();
            let (patient, user) = match who.strip_prefix("user:") {
                Some(u) => (None, Some(u.trim().to_lowercase())),
                None => (Some(who.trim_start_matches("Patient/").to_string()), None),
            };
            let mut filters = Vec::new();
            for w in words {
                let (key, value) = w.split_once('=').unwrap_or((w, ""));
                let pair = match key {
                    "role" => ("role", value.to_string()),
                    "action" => ("subtype", value.to_string()),
                    "since" => ("date", format!("ge{value}")),
                    "until" => ("date", format!("le{value}")),
                    "emergency" => ("emergency", "true".to_string()),
                    _ => {
                        notice(
                            state,
                            Level::Warning,
                            format!("{w:?}: use role=, action=, since=, until= or emergency"),
                        );
                        return;
                    }
                };
                if key != "emergency" && value.is_empty() {
                    notice(state, Level::Warning, format!("{w:?} needs a value"));
                    return;
                }
                filters.push((pair.0.to_string(), pair.1));
            }
            let Some(d) = &mut state.desk else { return };
            d.tab = DeskTab::Access;
            d.cursor = 0;
            d.access = None;
            d.access_label = match (&patient, &user) {
                (Some(p), _) => format!("who opened Patient/{p}"),
                (_, Some(u)) => format!("what {u} opened"),
                _ => String::new(),
            };
            for (k, v) in &filters {
                d.access_label.push_str(&format!(", {k} {v}"));
            }
            ask_server(
                state,
                Request::Access {
                    patient,
                    user,
                    filters,
                },
                effects,
            );
        }
        Ask::MoveTo => {
            let Some(Ok(r)) = &d.record else { return };
            let reference = r
                .reference
                .split("/_history/")
                .next()
                .unwrap_or_default()
                .to_string();
            let Some((target, reason)) = input.split_once(':') else {
                notice(
                    state,
                    Level::Warning,
                    "give the right patient's id, a colon, and why: abc123: written on the wrong chart",
                );
                return;
            };
            let target = target.trim().trim_start_matches("Patient/").to_string();
            let Some(reason) = reason_ok(state, reason) else {
                return;
            };
            if target.is_empty() {
                notice(state, Level::Warning, "the right patient's id is missing");
                return;
            }
            if let Some(d) = &mut state.desk {
                d.sending = true;
            }
            ask_server(
                state,
                Request::Move {
                    reference,
                    target,
                    reason,
                },
                effects,
            );
        }
    }
}

fn merge(
    state: &mut State,
    m: support::MergePreview,
    reason: String,
    orders_reason: Option<String>,
    effects: &mut Vec<Effect>,
) {
    if let Some(d) = &mut state.desk {
        d.sending = true;
    }
    ask_server(
        state,
        Request::Merge {
            source: m.source.id,
            target: m.target.id,
            reason,
            orders_reason,
        },
        effects,
    );
}

fn side(patient: &Value, preview: Option<&support::MergePreview>, last: &Value) -> Side {
    let mut lines = Vec::new();
    let name = patient["name"]
        .as_array()
        .and_then(|n| n.first())
        .map(|n| {
            format!(
                "{}, {}",
                n["family"].as_str().unwrap_or_default().to_uppercase(),
                n["given"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .unwrap_or_else(|| "not recorded".into());
    lines.push(("Name".to_string(), name));
    lines.push((
        "Born".into(),
        patient["birthDate"]
            .as_str()
            .unwrap_or("not recorded")
            .into(),
    ));
    lines.push((
        "Sex".into(),
        patient["gender"].as_str().unwrap_or("not recorded").into(),
    ));
    for i in patient["identifier"].as_array().into_iter().flatten() {
        let label = i["type"]["text"].as_str().unwrap_or("Identifier");
        lines.push((
            label.to_string(),
            i["value"].as_str().unwrap_or_default().to_string(),
        ));
    }
    for t in patient["telecom"].as_array().into_iter().flatten() {
        lines.push((
            "Phone".into(),
            t["value"].as_str().unwrap_or_default().into(),
        ));
    }
    for a in patient["address"].as_array().into_iter().flatten() {
        let line: Vec<&str> = a["line"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        lines.push((
            "Address".into(),
            format!(
                "{} {}",
                line.join(", "),
                a["postalCode"].as_str().unwrap_or_default()
            )
            .trim()
            .to_string(),
        ));
    }
    if patient["active"] == false {
        lines.push(("State".into(), "INACTIVE".into()));
    }
    match preview {
        Some(p) => {
            let counts: Vec<String> = p.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
            lines.push((
                "Records".into(),
                format!("{} ({})", p.moves, counts.join(", ")),
            ));
            lines.push(("Active orders".into(), p.active_orders.0.to_string()));
        }
        None => lines.push(("Records".into(), "NOT KNOWN".into())),
    }
    let stay = last["entry"][0]["resource"].clone();
    lines.push((
        "Last stay".into(),
        if last["resourceType"] != "Bundle" {
            "NOT KNOWN".into()
        } else if stay.is_null() {
            "none (the server's answer)".into()
        } else {
            format!(
                "{} {}",
                stay["period"]["start"]
                    .as_str()
                    .unwrap_or("?")
                    .chars()
                    .take(10)
                    .collect::<String>(),
                stay["status"].as_str().unwrap_or_default()
            )
        },
    ));
    Side { lines }
}

fn compared(a: &str, b: &str, v: &Value) -> Result<Compared, String> {
    if v["a"]["resourceType"] != "Patient" || v["b"]["resourceType"] != "Patient" {
        return Err("the two records could not be read".into());
    }
    let ab = support::merge_preview(&v["ab"]).ok();
    let ba = support::merge_preview(&v["ba"]).ok();
    Ok(Compared {
        a: a.to_string(),
        b: b.to_string(),
        // a→b moves a's records: a's counts.
        sides: [
            side(&v["a"], ab.as_ref(), &v["last_a"]),
            side(&v["b"], ba.as_ref(), &v["last_b"]),
        ],
    })
}

fn record_view(reference: &str, v: &Value) -> Result<RecordView, String> {
    let resource = v["resource"].clone();
    if !resource["resourceType"].is_string() {
        return Err(format!("{reference} could not be read"));
    }
    let mut origin = raw::origin(&resource);
    for e in v["provenance"]["entry"].as_array().into_iter().flatten() {
        let p = &e["resource"];
        let activity = p["activity"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("changed");
        let who = p["agent"][0]["who"]["display"].as_str().unwrap_or("?");
        let why = p["reason"][0]["text"].as_str().unwrap_or("");
        origin.push(format!(
            "Provenance/{}: {activity} by {who} at {}{}",
            p["id"].as_str().unwrap_or_default(),
            p["recorded"].as_str().unwrap_or_default(),
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        ));
    }
    if v["provenance"]["resourceType"] != "Bundle" {
        origin.push("Provenance: NOT KNOWN (could not be read)".into());
    }
    let bare = reference.split("/_history/").next().unwrap_or(reference);
    let writers = support::writers(bare, &v["audit"]);
    Ok(RecordView {
        reference: reference.to_string(),
        writers,
        lines: raw::lines(&resource),
        resource,
        versions: Some(raw::versions(&v["history"])),
        origin,
        ..Default::default()
    })
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    match msg {
        super::Msg::Written { result } => match result {
            Ok(path) => notice(state, Level::Info, format!("written to {path}")),
            Err(e) => notice(state, Level::Error, format!("NOT written: {e}")),
        },
        super::Msg::Answer {
            generation,
            request,
            result,
        } => {
            let Some(d) = &mut state.desk else { return };
            let write = matches!(
                request,
                Request::Merge { .. }
                    | Request::Unmerge { .. }
                    | Request::NotDuplicate { .. }
                    | Request::Move { .. }
            );
            // A list answer for an earlier question is dropped; a write's is always said.
            if !write && generation != d.generation {
                state.dropped_stale += 1;
                return;
            }
            d.loading = false;
            let result = result.map_err(|e| e.to_string());
            match request {
                Request::Duplicates => {
                    d.pairs = Some(result.and_then(|v| support::duplicates(&v)));
                    d.cursor = d.cursor.min(d.lines().saturating_sub(1));
                }
                Request::Quality => {
                    d.quality = Some(result.and_then(|v| support::quality(&v)));
                }
                Request::Status => d.status = Some(result.and_then(|v| support::status(&v))),
                Request::Record(reference) => {
                    d.record = Some(result.and_then(|v| record_view(&reference, &v)));
                    d.cursor = 0;
                }
                Request::AsOf { patient, .. } => {
                    d.as_of =
                        Some(result.and_then(|v| support::as_of(&v, &patient, state.display.zone)))
                }
                Request::Access { .. } => {
                    d.access = Some(result.and_then(|v| support::accesses(&v)))
                }
                Request::Compare { a, b } => {
                    d.compared = Some(result.and_then(|v| compared(&a, &b, &v)))
                }
                Request::MergePreview { .. } => {
                    match result.and_then(|v| support::merge_preview(&v)) {
                        Ok(p) => {
                            let refused = p.refused.join("; ");
                            d.merge = Some(p);
                            if !refused.is_empty() {
                                notice(
                                    state,
                                    Level::Error,
                                    format!("this merge cannot be done: {refused}"),
                                );
                            }
                        }
                        Err(e) => notice(
                            state,
                            Level::Error,
                            format!("the merge preview could not be read: {e}"),
                        ),
                    }
                }
                Request::Merge { source, target, .. } => {
                    d.sending = false;
                    d.merge = None;
                    d.merge_reason = None;
                    match result.and_then(|v| support::merge_preview(&v)) {
                        Ok(done) => {
                            d.last_merge = done
                                .provenance
                                .clone()
                                .map(|p| (p, format!("{source} into {target}")));
                            let said = done.said.unwrap_or_else(|| "merged".into());
                            notice(state, Level::Info, format!("{said} (u undoes it)"));
                            load(state, effects);
                        }
                        Err(e) => notice(state, Level::Error, format!("NOT merged: {e}")),
                    }
                }
                Request::Unmerge { .. } => {
                    d.sending = false;
                    match result {
                        Ok(v) => {
                            d.last_merge = None;
                            let said = v["parameter"][0]["resource"]["issue"][0]["diagnostics"]
                                .as_str()
                                .unwrap_or("the merge was undone")
                                .to_string();
                            notice(state, Level::Info, said);
                            load(state, effects);
                        }
                        Err(e) => notice(state, Level::Error, format!("NOT undone: {e}")),
                    }
                }
                Request::Move { reference, .. } => {
                    d.sending = false;
                    match result {
                        Ok(v) => {
                            let said = v["parameter"][0]["resource"]["issue"][0]["diagnostics"]
                                .as_str()
                                .unwrap_or("moved")
                                .to_string();
                            notice(state, Level::Info, said);
                            if let Some(d) = &mut state.desk {
                                d.record = None;
                            }
                            ask_server(state, Request::Record(reference), effects);
                        }
                        Err(e) => notice(state, Level::Error, format!("NOT moved: {e}")),
                    }
                }
                Request::NotDuplicate { .. } => match result {
                    Ok(_) => {
                        notice(
                            state,
                            Level::Info,
                            "marked as two people: the pair will not be proposed again",
                        );
                        load(state, effects);
                    }
                    Err(e) => notice(state, Level::Error, format!("NOT marked: {e}")),
                },
            }
        }
    }
}
