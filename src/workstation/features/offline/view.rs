//! The outbox pop-up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

/// The outbox: what waits for the server, what was sent, and what needs the clinician; or,
/// for one note, the local copy and the server's one after the other.
pub fn outbox(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    cursor: usize,
    compare: bool,
    scroll: usize,
) {
    use crate::workstation::vault::outbox::State as Sent;
    let key = |a| state.keymap.hint(Context::Outbox, a);
    let r = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let rows = r.height.saturating_sub(3) as usize;
    let entries = &state.storage.outbox;
    let zone = state.display.zone;
    let clock = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&zone).format("%d %b %H:%M").to_string())
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    if let (true, Some(e)) = (compare, entries.get(cursor)) {
        let note_text = |doc: &serde_json::Value| {
            doc.pointer("/content/0/attachment/data")
                .and_then(serde_json::Value::as_str)
                .and_then(|d| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d).ok()
                })
                .map(|b| String::from_utf8_lossy(&b).to_string())
                .unwrap_or_default()
        };
        let mut body: Vec<Line> = vec![Line::from(styled(
            format!(
                " {} for {} (MRN {})",
                e.item.draft.title,
                e.item.draft.patient_name,
                e.item.draft.mrn.as_deref().unwrap_or("none")
            ),
            theme.title,
        ))];
        if let Some(m) = &e.item.message {
            body.push(Line::from(styled(format!(" {m}"), theme.warning)));
        }
        body.push(Line::from(styled(
            format!(
                " YOUR COPY ({}, {})",
                e.item.status.code(),
                clock(e.queued_ms)
            ),
            theme.title,
        )));
        let text = if e.item.record.is_some() {
            e.item.draft.text.clone()
        } else {
            note_text(&e.item.resource)
        };
        body.extend(text.lines().map(|l| Line::raw(format!("   {l}"))));
        if let Some(server) = &e.item.server_copy {
            let by = server
                .pointer("/author/0/display")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("someone");
            body.push(Line::from(styled(
                format!(
                    " THE SERVER'S COPY ({}, by {by})",
                    server["docStatus"].as_str().unwrap_or("?")
                ),
                theme.title,
            )));
            body.extend(
                note_text(server)
                    .lines()
                    .map(|l| Line::raw(format!("   {l}"))),
            );
        }
        lines.extend(body.into_iter().skip(scroll).take(rows));
        lines.push(Line::from(styled(
            format!(
                " {}/{} scroll   {} take back as a draft   {} discard mine   {} back",
                key(Action::MoveUp),
                key(Action::MoveDown),
                key(Action::TakeBack),
                key(Action::Discard),
                key(Action::Back)
            ),
            theme.dim,
        )));
        popup(
            state,
            theme,
            frame,
            r,
            " Outbox: both copies ",
            Paragraph::new(lines),
        );
        return;
    }
    lines.push(Line::from(styled(
        format!(
            " {:<9} {:<13} {:<24} {}",
            "STATE", "WRITTEN", "PATIENT", "NOTE"
        ),
        theme.title,
    )));
    if entries.is_empty() {
        lines.push(Line::raw(if state.storage.open {
            " nothing waiting: notes signed while the server cannot be reached wait here"
        } else {
            " the outbox opens once you are signed in"
        }));
    }
    let skip = (cursor + 1).saturating_sub(rows.saturating_sub(1));
    for (i, e) in entries
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows.saturating_sub(1))
    {
        let what = match e.state {
            Sent::Waiting => "WAITING".to_string(),
            Sent::Sent => format!(
                "sent {}",
                clock(e.sent_ms.unwrap_or(0)).get(7..).unwrap_or("")
            ),
            Sent::Conflict => "!CONFLICT".to_string(),
            Sent::Refused => "!REFUSED".to_string(),
        };
        let patient = format!(
            "{} {}",
            e.item.draft.patient_name,
            e.item.draft.mrn.as_deref().unwrap_or("")
        );
        let mut text = format!(
            " {} {} {} {} ({})",
            cell(&what, 9),
            cell(&clock(e.queued_ms), 13),
            cell(&patient, 24),
            e.item.draft.title,
            e.item.status.code()
        );
        if let Some(m) = e.item.message.as_ref().filter(|_| e.state != Sent::Sent) {
            text.push_str(&format!(": {m}"));
        }
        let mut line = Line::raw(text);
        if matches!(e.state, Sent::Conflict | Sent::Refused) {
            line = line.patch_style(theme.error);
        } else if e.state == Sent::Waiting {
            line = line.patch_style(theme.warning);
        }
        if i == cursor {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    lines.push(Line::from(styled(
        format!(
            " {} show   {} take back as a draft   {} discard (stuck notes)   {} close",
            key(Action::OpenSelected),
            key(Action::TakeBack),
            key(Action::Discard),
            key(Action::Back)
        ),
        theme.dim,
    )));
    let title = format!(
        " Outbox: {} waiting, {} need you ",
        state.storage.waiting(),
        state.storage.stuck()
    );
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}
