//! The registration form, and what the search for the patient found with the fields that
//! agree marked.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::features::register::{FIELDS, RegisterState, Stage};
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{fit, pane, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(r) = &state.register else { return };
    let title = match (&r.stage, &r.editing) {
        (Stage::Form, Some(e)) => format!(" Details of {} (version {}) ", e.label, e.version),
        (Stage::Loading, Some(e)) => format!(" Details of {}: reading... ", e.label),
        (Stage::Saving, Some(e)) => format!(" Details of {}: saving... ", e.label),
        (Stage::Crossed { .. }, Some(e)) => {
            format!(" Details of {}: changed by someone else ", e.label)
        }
        (Stage::Form, _) => " Register a patient (the MRN is given by the server) ".into(),
        (Stage::Searching, _) => " Register a patient: looking for them first... ".into(),
        (Stage::Candidates { .. }, _) => " Register a patient: is it one of these? ".into(),
        (_, _) => " Register a patient: registering... ".into(),
    };
    let block = pane(
        Line::from(styled(title, theme.title)),
        state.overlay.is_none(),
        state,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Stage::Candidates {
        found,
        failed,
        cursor,
    } = &r.stage
    {
        let reg = r.registration();
        lines.push(Line::raw(fit(
            &format!(
                "Registering {}, {} born {}",
                reg.family.to_uppercase(),
                reg.given,
                reg.birth_date
            ),
            width,
        )));
        match failed {
            Some(e) => lines.push(Line::from(styled(
                fit(
                    &format!("The search for an existing record FAILED ({e}): they may already be registered"),
                    width,
                ),
                theme.error,
            ))),
            None if found.is_empty() => lines.push(Line::from(styled(
                "No likely existing record was found (same name and birth date, swapped day and month, same phone).",
                theme.dim,
            ))),
            None => lines.push(Line::from(styled(
                fit(
                    &format!("{} likely existing record(s): the fields marked * agree. Enter opens one instead.", found.len()),
                    width,
                ),
                theme.warning,
            ))),
        }
        lines.push(Line::raw(""));
        let rows = (inner.height as usize).saturating_sub(5);
        let skip = (cursor + 1).saturating_sub(rows);
        for (i, c) in found.iter().enumerate().skip(skip).take(rows) {
            let mark = |what: &str, text: String| -> Span<'static> {
                if c.agrees.iter().any(|a| a.starts_with(what)) {
                    Span::styled(format!("*{text}  "), theme.matched)
                } else {
                    Span::raw(format!(" {text}  "))
                }
            };
            let mut spans = vec![
                styled(if i == *cursor { ">" } else { " " }, theme.key),
                mark("family", c.name.clone()),
                mark("birth date", c.birth_date.clone()),
                Span::raw(format!(" MRN {}  ", c.mrn.as_deref().unwrap_or("none"))),
            ];
            if let Some(p) = &c.phone {
                spans.push(mark("phone", p.clone()));
            }
            if let Some(p) = &c.postcode {
                spans.push(mark("postcode", p.clone()));
            }
            let line = Line::from(spans);
            lines.push(if i == *cursor {
                line.patch_style(theme.selected)
            } else {
                line
            });
        }
        let new = Line::from(vec![
            styled(if *cursor == found.len() { ">" } else { " " }, theme.key),
            Span::raw(if found.is_empty() && failed.is_none() {
                " Register as a new patient"
            } else {
                " None of these: register as a NEW patient"
            }),
        ]);
        lines.push(if *cursor == found.len() {
            new.patch_style(theme.selected)
        } else {
            new
        });
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    if let Stage::Crossed {
        theirs,
        theirs_values,
        both,
        cursor,
    } = &r.stage
    {
        crossed(
            r,
            theirs,
            theirs_values,
            both,
            *cursor,
            theme,
            width,
            &mut lines,
        );
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    if r.stage == Stage::Loading && r.error.is_none() {
        lines.push(Line::from(styled(
            "reading the details the server holds now...",
            theme.dim,
        )));
    }
    let labels = 17usize;
    let shown = r.rows();
    let here = shown.iter().position(|i| *i == r.at).unwrap_or(0);
    let rows = inner.height.saturating_sub(1) as usize;
    let skip = (here + 1).saturating_sub(rows);
    let fields = shown.iter().map(|i| (*i, FIELDS[*i]));
    for (i, (label, required, hint)) in fields.skip(skip).take(rows) {
        let style = if i == r.at {
            theme.selected
        } else {
            theme.base
        };
        let hint = if i == r.at && !hint.is_empty() {
            format!("  ({hint})")
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            styled(
                format!("{:>15}{} ", label, if required { "*" } else { " " }),
                theme.dim,
            ),
            Span::styled(
                fit(&r.values[i], width.saturating_sub(labels + hint.len())),
                style,
            ),
            styled(hint, theme.dim),
        ]));
    }
    if let Some(e) = &r.error {
        lines.push(Line::from(styled(fit(e, width), theme.error)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if state.overlay.is_none() && r.stage == Stage::Form {
        let col = crate::workstation::line::cursor_column(&r.values[r.at], state.field_cursor);
        frame.set_cursor_position(Position::new(
            (inner.x + labels as u16 + col as u16).min(inner.right().saturating_sub(1)),
            inner.y + (here - skip) as u16,
        ));
    }
}

/// An edit that crossed another: each field that differs, this user's value beside the
/// server's (`!` where both changed it differently), then the two choices.
#[allow(clippy::too_many_arguments)]
fn crossed(
    r: &RegisterState,
    theirs: &serde_json::Value,
    theirs_values: &[String],
    both: &[usize],
    cursor: usize,
    theme: &Theme,
    width: usize,
    lines: &mut Vec<Line<'static>>,
) {
    let when: String = theirs
        .pointer("/meta/lastUpdated")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?")
        .chars()
        .take(16)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect();
    let version = theirs
        .pointer("/meta/versionId")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?");
    lines.push(Line::from(styled(
        fit(
            &format!("NOT saved: version {version} was saved {when}; both stay in the history."),
            width,
        ),
        theme.warning,
    )));
    let col = width.saturating_sub(18) / 2;
    lines.push(Line::from(styled(
        format!(
            "{:>15}   {:<col$} {}",
            "",
            fit("yours", col),
            "on the server"
        ),
        theme.dim,
    )));
    let mut differ = 0;
    for i in r.rows().into_iter().filter(|i| *i != super::REASON) {
        let mine = r.values.get(i).map(String::as_str).unwrap_or_default();
        let server = theirs_values.get(i).map(String::as_str).unwrap_or_default();
        if mine.trim() == server.trim() {
            continue;
        }
        differ += 1;
        let mark = if both.contains(&i) { "!" } else { " " };
        let style = if both.contains(&i) {
            theme.warning
        } else {
            theme.base
        };
        lines.push(Line::from(vec![
            styled(format!("{:>15} {mark} ", FIELDS[i].0), theme.dim),
            Span::styled(format!("{:<col$} ", fit(mine, col)), style),
            Span::styled(fit(server, col), style),
        ]));
    }
    if differ == 0 {
        lines.push(Line::from(styled(
            "  (the fields shown here agree; the change was elsewhere in the record)",
            theme.dim,
        )));
    }
    if !both.is_empty() {
        lines.push(Line::from(styled(
            "  ! changed by both: saving yours replaces theirs there",
            theme.dim,
        )));
    }
    lines.push(Line::raw(""));
    for (n, choice) in [
        "Save my changes over theirs (their other changes kept)",
        "Take theirs: drop my changes",
    ]
    .iter()
    .enumerate()
    {
        let line = Line::from(vec![
            styled(if n == cursor { ">" } else { " " }, theme.key),
            Span::raw(format!(" {choice}")),
        ]);
        lines.push(if n == cursor {
            line.patch_style(theme.selected)
        } else {
            line
        });
    }
}
