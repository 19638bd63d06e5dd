//! The registration form, and what the search for the patient found with the fields that
//! agree marked.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::features::register::{FIELDS, Stage};
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{fit, pane, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(r) = &state.register else { return };
    let title = match &r.stage {
        Stage::Form => " Register a patient (the MRN is given by the server) ",
        Stage::Searching => " Register a patient: looking for them first... ",
        Stage::Candidates { .. } => " Register a patient: is it one of these? ",
        Stage::Creating => " Register a patient: registering... ",
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
    let labels = 17usize;
    let rows = inner.height.saturating_sub(1) as usize;
    let skip = (r.at + 1).saturating_sub(rows);
    for (i, (label, required, hint)) in FIELDS.iter().enumerate().skip(skip).take(rows) {
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
                format!("{:>15}{} ", label, if *required { "*" } else { " " }),
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
            inner.y + (r.at - skip) as u16,
        ));
    }
}
