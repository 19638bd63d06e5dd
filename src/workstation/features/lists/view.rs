//! The allergies-and-problems pane: the two lists (the allergy list says when it is not known),
//! or the form for a new entry with the suggestions for the field being typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::features::lists::state::{FieldKind, FormKind, ListFocus};
use crate::workstation::features::lists::{allergy_doubt, allergy_rows, picks, problem_rows};
use crate::workstation::state::{ChartState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(l) = &c.lists else { return };
    if l.form.is_some() {
        return form(state, theme, frame, area, c);
    }
    let [top, bottom, line] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let focused = |f: ListFocus| l.focus == f && state.overlay.is_none();

    // Allergies, or why the list is not known: never an empty list that looks like "none".
    let doubt = allergy_doubt(c);
    let rows = allergy_rows(c);
    let title = match &doubt {
        Some(why) => styled(
            format!(" Allergies: UNKNOWN ({why}) "),
            theme.allergy_unknown,
        ),
        None if rows.is_empty() => styled(
            " Allergies: none recorded (not assessed) ".to_string(),
            theme.allergy_unknown,
        ),
        None => styled(format!(" Allergies ({}) ", rows.len()), theme.title),
    };
    let block = pane(
        Line::from(title),
        focused(ListFocus::Allergies),
        state,
        theme,
    );
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let width = inner.width as usize;
    let skip = (l.allergy_cursor + 1).saturating_sub(inner.height as usize);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(skip)
        .take(inner.height as usize)
        .map(|(i, r)| {
            let style = if r.no_known {
                theme.allergy_none
            } else {
                theme.allergy
            };
            let mark = if i == l.allergy_cursor && focused(ListFocus::Allergies) {
                ">"
            } else {
                " "
            };
            let line = Line::from(vec![
                styled(mark, theme.key),
                Span::styled(fit(&r.line, width.saturating_sub(1)), style),
            ]);
            if i == l.allergy_cursor {
                line.patch_style(theme.selected_unfocused)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);

    let problems = problem_rows(c);
    let title = match (
        crate::workstation::features::vitals::sheet_doubt(c),
        problems.len(),
    ) {
        (Some(why), 0) => styled(format!(" Active problems: UNKNOWN ({why}) "), theme.warning),
        (Some(why), n) => styled(
            format!(" Active problems ({n}): MAY BE INCOMPLETE ({why}) "),
            theme.warning,
        ),
        (None, 0) => styled(
            " Active problems: none in this chart ".to_string(),
            theme.title,
        ),
        (None, n) => styled(format!(" Active problems ({n}) "), theme.title),
    };
    let block = pane(
        Line::from(title),
        focused(ListFocus::Problems),
        state,
        theme,
    );
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let width = inner.width as usize;
    let skip = (l.problem_cursor + 1).saturating_sub(inner.height as usize);
    let lines: Vec<Line> = problems
        .iter()
        .enumerate()
        .skip(skip)
        .take(inner.height as usize)
        .map(|(i, (_, text))| {
            let mark = if i == l.problem_cursor && focused(ListFocus::Problems) {
                ">"
            } else {
                " "
            };
            let line = Line::from(vec![
                styled(mark, theme.key),
                Span::raw(fit(text, width.saturating_sub(1))),
            ]);
            if i == l.problem_cursor {
                line.patch_style(theme.selected_unfocused)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(e) = &l.error {
        frame.render_widget(
            Paragraph::new(Line::from(styled(fit(e, line.width as usize), theme.error))),
            line,
        );
    }
}

fn form(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(l) = &c.lists else { return };
    let Some(f) = &l.form else { return };
    let patient = c
        .chart
        .patient
        .as_ref()
        .map(|p| p.display_name())
        .unwrap_or_default();
    let what = match (f.kind, &f.editing) {
        (FormKind::Allergy, None) => "New allergy or intolerance".to_string(),
        (FormKind::Problem, None) => "New problem".to_string(),
        (FormKind::Allergy, Some(e)) => format!("Edit allergy (version {})", e.version),
        (FormKind::Problem, Some(e)) => format!("Edit problem (version {})", e.version),
    };
    let title = if l.sending.is_some() {
        format!(" {what} for {patient}: sending... ")
    } else {
        format!(" {what} for {patient} ")
    };
    let block = pane(
        Line::from(styled(title, theme.title)),
        state.overlay.is_none(),
        state,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let labels = 14usize;
    let width = inner.width as usize;
    let suggestions = picks(f, &state.record_terms);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_row = 0u16;
    for (i, field) in f.fields.iter().enumerate() {
        let label = format!(
            "{:>12}{} ",
            field.label,
            if field.required { "*" } else { " " }
        );
        let hint = match field.kind {
            FieldKind::Choice(options) if i == f.at => format!("  ({})", options.join(" | ")),
            FieldKind::Term { many: true, .. } if i == f.at => "  (apart by commas)".into(),
            _ => String::new(),
        };
        let style = if i == f.at {
            theme.selected
        } else {
            theme.base
        };
        if i == f.at {
            cursor_row = lines.len() as u16;
        }
        lines.push(Line::from(vec![
            styled(label, theme.dim),
            Span::styled(
                fit(&field.value, width.saturating_sub(labels + hint.len())),
                style,
            ),
            styled(hint, theme.dim),
        ]));
        if i == f.at {
            for (n, s) in suggestions.iter().enumerate() {
                let style = if n == f.pick {
                    theme.selected
                } else {
                    theme.dim
                };
                lines.push(Line::from(vec![
                    Span::raw(cell("", labels)),
                    Span::styled(fit(&format!("  {s}"), width.saturating_sub(labels)), style),
                ]));
            }
        }
    }
    lines.push(Line::raw(""));
    let first = f.fields.first().map(|x| x.value.trim()).unwrap_or("");
    let uncoded = !first.is_empty()
        && match f.fields[0].kind {
            FieldKind::Term { list, .. } => {
                crate::workstation::features::lists::term_named(&state.record_terms, list, first)
                    .is_none()
            }
            _ => false,
        };
    if uncoded {
        lines.push(Line::from(styled(
            fit(
                &format!("\"{first}\" matches no term: it is recorded as text, marked uncoded"),
                width,
            ),
            theme.warning,
        )));
    }
    if let Some(e) = &l.error {
        lines.push(Line::from(styled(fit(e, width), theme.error)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if state.overlay.is_none() && l.sending.is_none() {
        let value = &f.fields[f.at].value;
        let col = crate::workstation::line::cursor_column(value, state.field_cursor);
        let x = inner.x + labels as u16 + col as u16;
        frame.set_cursor_position(Position::new(
            x.min(inner.right().saturating_sub(1)),
            inner.y + cursor_row,
        ));
    }
}
