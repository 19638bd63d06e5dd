//! The pop-ups of access: break-the-glass, the access log and the electronic signature.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

/// Emergency access: what it means, and the reason field.
pub fn break_glass(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, input: &str) {
    let restricted = state
        .chart
        .as_ref()
        .and_then(|c| c.withheld)
        .unwrap_or(true);
    let why = if restricted {
        "This is a RESTRICTED record (staff member or VIP)."
    } else {
        "Support staff see demographics only; clinical content needs emergency access."
    };
    let w = 72.min(area.width);
    let r = centered(area, w, 9);
    let body = Paragraph::new(vec![
        Line::from(styled(format!(" {why}"), theme.error)),
        Line::raw(" Opening it is emergency access: it is time-limited, recorded with"),
        Line::raw(" your name and reason, and reviewed by the privacy office."),
        Line::raw(""),
        Line::from(vec![
            styled(" Reason: ", theme.key),
            Span::raw(input.to_string()),
        ]),
        Line::from(styled(
            format!(
                " {} to open the record   {} to leave it closed",
                state.keymap.hint(Context::Form, Action::Submit),
                state.keymap.hint(Context::Form, Action::Back)
            ),
            theme.dim,
        )),
    ])
    .wrap(ratatui::widgets::Wrap { trim: false });
    popup(state, theme, frame, r, " Break the glass? ", body);
    field_cursor(state, theme, frame, r, (9, 4), input);
}

/// Who looked at this chart: time, user, what, outcome, address.
#[allow(clippy::too_many_arguments)]
pub fn access_log(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    entries: &Option<Result<Vec<crate::workstation::state::AccessEntry>, String>>,
    filter: &str,
    scroll: usize,
    detail: bool,
) {
    let r = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let title = if filter.trim().is_empty() {
        " Access log: who looked at this chart ".to_string()
    } else {
        format!(" Access log ({}) ", filter.trim())
    };
    // The selected access in full, below the list (Enter): every field, nothing cut.
    let selected = match entries {
        Some(Ok(list)) if detail => list.get(scroll),
        _ => None,
    };
    let width = r.width.saturating_sub(2) as usize;
    let mut full: Vec<Line> = Vec::new();
    if let Some(e) = selected {
        let mut fields = vec![
            ("When", e.when.clone()),
            ("User", e.user.clone()),
            ("What", e.what.clone()),
            (
                "Result",
                if e.success {
                    "ok".into()
                } else {
                    "FAILED".into()
                },
            ),
            ("From", e.address.clone()),
        ];
        if let Some(x) = &e.resource {
            fields.push(("Resource", x.clone()));
        }
        if let Some(x) = &e.query {
            fields.push(("Query", x.clone()));
        }
        if let Some(x) = &e.description {
            fields.push(("Note", x.clone()));
        }
        if let Some(x) = &e.emergency {
            fields.push(("EMERGENCY", x.clone()));
        }
        full.push(Line::from(styled("-".repeat(width), theme.dim)));
        for (label, value) in fields {
            for (i, part) in crate::workstation::wrap::words(&value, width.saturating_sub(12))
                .into_iter()
                .enumerate()
            {
                let label = if i == 0 { label } else { "" };
                full.push(Line::from(vec![
                    styled(format!(" {label:<10} "), theme.key),
                    Span::raw(part),
                ]));
            }
        }
    }
    let rows = (r.height.saturating_sub(3) as usize).saturating_sub(full.len());
    let mut lines = vec![Line::from(styled(
        format!(
            " {:<19} {:<24} {:<17} {:<6} {}",
            "WHEN", "USER", "WHAT", "RESULT", "FROM"
        ),
        theme.title,
    ))];
    match entries {
        None => lines.push(Line::raw(" loading...")),
        Some(Err(e)) => lines.push(Line::from(styled(format!(" {e}"), theme.error))),
        Some(Ok(list)) if list.is_empty() => lines.push(Line::raw(
            " no accesses recorded for this patient (with this filter)",
        )),
        Some(Ok(list)) => {
            let skip = (scroll + 1).saturating_sub(rows);
            for (i, e) in list.iter().enumerate().skip(skip).take(rows) {
                let result = if e.success { "ok" } else { "FAILED" };
                // The whole address, then what was asked for (the query, or the resource).
                let mut text = format!(
                    " {:<19} {} {} {:<6} {}",
                    e.when,
                    cell(&e.user, 24),
                    cell(&e.what, 17),
                    result,
                    e.address
                );
                if let Some(q) = &e.query {
                    text.push_str(&format!("  ?{q}"));
                } else if let Some(x) = &e.resource {
                    text.push_str(&format!("  {x}"));
                }
                if let Some(reason) = &e.emergency {
                    text.push_str(&format!("  EMERGENCY: {reason}"));
                }
                // Marked in the first column too (never colour alone; the reason may be
                // past the edge of a narrow terminal).
                if e.emergency.is_some() {
                    text.replace_range(0..1, "!");
                }
                let mut line = Line::raw(text);
                if e.emergency.is_some() || !e.success {
                    line = line.patch_style(theme.error);
                }
                if i == scroll {
                    line = line.patch_style(theme.selected);
                }
                lines.push(line);
            }
        }
    }
    lines.extend(full);
    let key = |a| state.keymap.hint(Context::Dialogs, a);
    lines.push(Line::from(styled(
        format!(
            " ! emergency access   {} details   {} filter by user or date   {} close",
            key(Action::OpenSelected),
            key(Action::FilterTimeline),
            key(Action::Back)
        ),
        theme.dim,
    )));
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}

#[allow(clippy::too_many_arguments)]
pub fn signature(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    target: SignTarget,
    input: &crate::secret::Secret,
    error: Option<&str>,
    checking: bool,
) {
    let question = match target {
        crate::workstation::state::SignTarget::Note(status) => {
            crate::workstation::features::note::sign_question(state, status)
        }
        crate::workstation::state::SignTarget::Orders => {
            crate::workstation::features::orders::sign_orders_question(state)
        }
        crate::workstation::state::SignTarget::Cosign => state
            .work
            .as_ref()
            .and_then(|w| w.reviewing.as_ref())
            .map_or_else(
                || "Co-sign the order?".into(),
                |d| format!("Co-sign {} for {}?", d.medication, d.patient),
            ),
    };
    let w = (crate::workstation::text::width(&question) as u16 + 4).clamp(50, area.width);
    let r = centered(area, w, 6);
    let masked = "*".repeat(input.chars());
    let mut lines = vec![
        Line::from(styled(format!(" {question}"), theme.warning)),
        Line::from(vec![
            styled(" Signature (your password or PIN): ", theme.base),
            Span::raw(masked.clone()),
        ]),
    ];
    if checking {
        lines.push(Line::from(styled(
            " checking with the server...",
            theme.dim,
        )));
    } else if let Some(e) = error {
        lines.push(Line::from(styled(format!(" {e}"), theme.error)));
    }
    lines.push(Line::from(vec![
        Span::raw(" "),
        styled(state.keymap.hint(Context::Form, Action::Submit), theme.key),
        Span::raw(" signs  "),
        styled(state.keymap.hint(Context::Form, Action::Back), theme.key),
        Span::raw(" does not sign"),
    ]));
    let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    popup(state, theme, frame, r, " Electronic signature ", body);
    let col = " Signature (your password or PIN): ".chars().count() as u16;
    field_cursor(state, theme, frame, r, (col, 1), &masked);
}
