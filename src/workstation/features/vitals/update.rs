//! The vital-signs pane: typing the line (or the fields), Enter to record, the checks that
//! stop or ask first, and the server's answer.

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::vitals::state::{FIELDS, Pending, VitalsState};
use crate::workstation::features::vitals::{flowsheet, preview};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::record::news2::Risk;
use crate::workstation::record::vitals::{self, Sign};
use crate::workstation::state::*;

/// More than this between the time taken and the time recorded makes a late entry.
const LATE_MS: i64 = 15 * 60_000;

pub(crate) fn open_vitals(state: &mut State) {
    let Some(c) = &mut state.chart else { return };
    if c.withheld.is_some() {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "this chart's clinical record is withheld: vital signs cannot be recorded here"
                .into(),
        });
        return;
    }
    c.vitals.get_or_insert_with(VitalsState::default);
    c.view = ChartView::Vitals;
    sync(state);
}

/// Rebuilds the flowsheet when the chart's observations changed (a page arrived, a reload).
pub(crate) fn sync(state: &mut State) {
    let Some(c) = &mut state.chart else { return };
    let Some(v) = &mut c.vitals else { return };
    let count = c.chart.obs.len();
    if v.sheet_for != count || (count > 0 && v.sheet.is_empty()) {
        v.sheet = flowsheet(&c.chart);
        v.sheet_for = count;
        v.scroll = v.scroll.min(v.sheet.len().saturating_sub(1));
    }
}

fn today(state: &State) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(state.now_ms)
        .map(|t| t.with_timezone(&state.display.zone).date_naive())
        .unwrap_or_default()
}

/// A key while the vital-signs pane is open.
pub(crate) fn vitals_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let Some(c) = state.chart.as_mut().filter(|c| c.view == ChartView::Vitals) else {
        return Outcome::NotMine;
    };
    let Some(v) = &mut c.vitals else {
        return Outcome::NotMine;
    };
    let action = state.keymap.lookup_local(Context::Vitals, key);
    // While a set is on its way the entry is held as sent.
    if action.is_none() && !v.sending {
        let text = match v.form {
            Some(f) => &mut v.fields[f],
            None => &mut v.line,
        };
        if crate::workstation::line::edit_at(text, &mut state.field_cursor, key) {
            v.error = None;
            return Outcome::Done;
        }
    }
    let Some(action) = crate::workstation::features::resolve(state, Context::Vitals, key) else {
        return Outcome::Done;
    };
    match vitals_action(state, action, effects) {
        Some(other) => Outcome::Pass(other),
        None => Outcome::Done,
    }
}

pub(crate) fn vitals_action(
    state: &mut State,
    action: Action,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    let c = state.chart.as_mut()?;
    let v = c.vitals.as_mut()?;
    match action {
        Action::Submit => submit(state, effects),
        Action::SwitchEntry => {
            state.field_cursor = None;
            match v.form {
                Some(_) => {
                    v.line = v.text();
                    v.form = None;
                }
                None => {
                    // The fields start from what the line says.
                    let entry = vitals::parse(&v.line);
                    v.fields = Default::default();
                    for (i, field) in v.fields.iter_mut().enumerate().take(7) {
                        if let Some(sign) = entry.get(i) {
                            *field = field_value(sign);
                        }
                    }
                    if let Some(at) = entry.at {
                        v.fields[7] = format!("{:02}:{:02}", at / 60, at % 60);
                    }
                    v.form = Some(0);
                }
            }
        }
        Action::NextField | Action::PreviousField if v.form.is_some() => {
            let f = v.form.unwrap_or(0);
            let n = FIELDS.len();
            v.form = Some(if action == Action::NextField {
                (f + 1) % n
            } else {
                (f + n - 1) % n
            });
        }
        Action::MoveUp => v.scroll = v.scroll.saturating_sub(1),
        Action::MoveDown => v.scroll = (v.scroll + 1).min(v.sheet.len().saturating_sub(1)),
        Action::PageUp => v.scroll = v.scroll.saturating_sub(8),
        Action::PageDown => v.scroll = (v.scroll + 8).min(v.sheet.len().saturating_sub(1)),
        Action::GoTop => v.scroll = 0,
        Action::GoBottom => v.scroll = v.sheet.len().saturating_sub(1),
        Action::Back => c.view = ChartView::Timeline,
        other => return Some(other),
    }
    None
}

/// A sign's value as a field holds it (`37.9`, `92/58`, `2L`, `air`, `A`).
fn field_value(sign: &Sign) -> String {
    match sign {
        Sign::Temperature {
            fahrenheit: Some(f),
            ..
        } => format!("{f}F"),
        Sign::Temperature { celsius, .. } => format!("{celsius:.1}"),
        Sign::HeartRate(v) | Sign::RespiratoryRate(v) | Sign::Spo2(v) => v.to_string(),
        Sign::BloodPressure {
            systolic,
            diastolic,
        } => format!("{systolic}/{diastolic}"),
        Sign::Oxygen(vitals::Oxygen::Air) => "air".into(),
        Sign::Oxygen(vitals::Oxygen::Flow(l)) => format!("{l}L"),
        Sign::Oxygen(vitals::Oxygen::Fio2(p)) => format!("{p}%"),
        Sign::Consciousness(a) => a.letter().into(),
    }
}

fn warn(state: &mut State, text: String) {
    if let Some(v) = state.chart.as_mut().and_then(|c| c.vitals.as_mut()) {
        v.error = Some(text.clone());
    }
    state.notice = Some(Notice {
        level: Level::Warning,
        text,
    });
}

/// Enter: impossible values stop here; unusual ones are named and need Enter again on the
/// same text; then the set goes to the server as one transaction naming the patient.
pub(crate) fn submit(state: &mut State, effects: &mut Vec<Effect>) {
    let today = today(state);
    let Some(c) = &state.chart else { return };
    let Some(v) = &c.vitals else { return };
    if v.sending {
        return;
    }
    let text = v.text();
    let p = preview(&text, &c.chart, today);
    if p.entry.signs.is_empty() && p.entry.problems.is_empty() {
        return warn(
            state,
            "type the signs first: T 37.2 HR 80 RR 16 BP 120/80 SpO2 97 O2 air ACVPU A".into(),
        );
    }
    let impossible = p.entry.impossible();
    if !impossible.is_empty() {
        return warn(state, format!("NOT recorded: {}", impossible.join("; ")));
    }
    if p.entry.signs.is_empty() {
        return warn(state, "NOT recorded: no sign was given".into());
    }
    let unusual = p.entry.unusual();
    if !unusual.is_empty() && v.confirmed.as_deref() != Some(text.as_str()) {
        let question = format!(
            "{}: check it, then Enter again to record it as typed",
            unusual.join("; ")
        );
        if let Some(v) = state.chart.as_mut().and_then(|c| c.vitals.as_mut()) {
            v.confirmed = Some(text);
        }
        return warn(state, question);
    }
    // When the set was taken: now, or the time typed (yesterday's, when that is later than
    // now: a set taken at 23:50 recorded at 00:10).
    let taken_ms = match p.entry.at {
        None => state.now_ms,
        Some(minutes) => {
            let zone = state.display.zone;
            let now = chrono::DateTime::from_timestamp_millis(state.now_ms)
                .unwrap_or_default()
                .with_timezone(&zone);
            let at = now
                .date_naive()
                .and_hms_opt(minutes / 60, minutes % 60, 0)
                .and_then(|t| t.and_local_timezone(zone).single());
            match at {
                Some(at) if at.timestamp_millis() > state.now_ms + 60_000 => {
                    at.timestamp_millis() - 86_400_000
                }
                Some(at) => at.timestamp_millis(),
                None => {
                    return warn(state, "NOT recorded: that time cannot be read".into());
                }
            }
        }
    };
    let requester = state.notes.author_json();
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(c) = &mut state.chart else { return };
    let patient = c.chart.patient.clone().unwrap_or_default();
    let ctx = vitals::Context {
        patient_id: c.patient_id.clone(),
        patient_name: patient.display_name(),
        encounter: c.chart.current_encounter(),
        performer: requester,
        effective: crate::fhir::date::instant(taken_ms),
        now,
        late: state.now_ms - taken_ms > LATE_MS,
        set_id: uuid::Uuid::new_v4().to_string(),
        scale: p.scale,
    };
    let score = p.news2.as_ref().ok();
    let bundle = vitals::transaction(&p.entry, &ctx, score);
    let signs = crate::workstation::count(p.entry.signs.len(), "vital sign", "vital signs");
    let shown: Vec<String> = p.entry.signs.iter().map(|s| s.shown()).collect();
    let (alert, score) = match &p.news2 {
        Ok(s) => (s.risk >= Risk::LowMedium, format!(": {}", s.headline())),
        Err(why) => (false, format!(" ({why})")),
    };
    let pending = Pending {
        alert,
        signs,
        score,
        bundle: bundle.clone(),
        set_id: ctx.set_id.clone(),
        shown: format!(
            "{}\ntaken {}{}",
            shown.join("  "),
            ctx.effective,
            if ctx.late { " (late entry)" } else { "" }
        ),
    };
    let sent = bundle["entry"].as_array().map_or(0, Vec::len);
    let context = c.context;
    let offline = state.storage.offline();
    let Some(c) = &mut state.chart else { return };
    let Some(v) = &mut c.vitals else { return };
    v.sending = true;
    v.pending = Some(pending);
    v.error = None;
    // Known to be offline: straight to the outbox, without waiting for a request to fail.
    if offline {
        queue(state, effects);
        return;
    }
    effects.push(Effect::RecordVitals {
        context,
        bundle: Box::new(bundle),
        sent,
    });
}

/// The set on its way goes to the outbox: sent, once, when the server is back.
fn queue(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(p) = state
        .chart
        .as_ref()
        .and_then(|c| c.vitals.as_ref())
        .and_then(|v| v.pending.clone())
    else {
        return;
    };
    let queued = crate::workstation::features::offline::record_item(
        state,
        &p.set_id,
        "vitals",
        format!("Vital signs ({})", p.signs),
        format!("{}\n{}{}", p.shown, p.signs, p.score),
        p.bundle,
    );
    if let Some((context, item)) = queued {
        effects.push(Effect::QueueVitals {
            context,
            item: Box::new(item),
        });
    }
}

fn done(state: &mut State, level: Level, text: String, effects: &mut Vec<Effect>, reload: bool) {
    let Some(c) = &mut state.chart else { return };
    if let Some(v) = &mut c.vitals {
        v.sending = false;
        v.pending = None;
        v.line.clear();
        v.fields = Default::default();
        v.confirmed = None;
        v.error = None;
    }
    state.notice = Some(Notice { level, text });
    state.field_cursor = None;
    if reload {
        crate::workstation::features::chart::load::refresh_keeping(state, effects);
    }
}

fn kept(state: &mut State, text: String) {
    if let Some(v) = state.chart.as_mut().and_then(|c| c.vitals.as_mut()) {
        v.sending = false;
        v.pending = None;
        v.error = Some(text.clone());
    }
    state.notice = Some(Notice {
        level: Level::Warning,
        text,
    });
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    match msg {
        super::Msg::Recorded {
            context,
            sent,
            result,
        } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            let Some(p) = c.vitals.as_ref().and_then(|v| v.pending.clone()) else {
                return;
            };
            match result {
                Ok(answer) if vitals::filed(&answer) == sent => {
                    let level = if p.alert { Level::Warning } else { Level::Info };
                    let text = format!("{} recorded for {who}{}", p.signs, p.score);
                    done(state, level, text, effects, true);
                }
                Ok(answer) => kept(
                    state,
                    format!(
                        "the server's answer shows {} of {sent} values filed: check the flowsheet before recording again (sending the same set again files it once)",
                        vitals::filed(&answer)
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
                    format!("NOT recorded: {e}. The values are kept here"),
                ),
            }
        }
        super::Msg::Queued { context, result } => {
            let Some(c) = crate::workstation::features::current_chart(state, context) else {
                return;
            };
            let who = crate::workstation::features::patient_label(c);
            let Some(p) = c.vitals.as_ref().and_then(|v| v.pending.clone()) else {
                return;
            };
            match result {
                Ok(()) => {
                    let text = format!(
                        "NOT on the server yet: it cannot be reached. {} for {who} wait in the outbox and go, once, when it is back{}",
                        p.signs, p.score
                    );
                    done(state, Level::Warning, text, effects, false);
                }
                Err(e) => kept(
                    state,
                    format!(
                        "NOT recorded: the server cannot be reached and the outbox could not keep the set ({e}); the values stay here"
                    ),
                ),
            }
        }
    }
}
