//! The vital-signs pane: the entry (a line, or a field per sign) with each value read back
//! with its unit, what is wrong with it, NEWS2 when the set is complete, and the flowsheet.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::features::vitals::state::FIELDS;
use crate::workstation::features::vitals::{ROWS, preview};
use crate::workstation::record::news2::{Risk, Scale};
use crate::workstation::state::{ChartState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, styled};

/// Cells per flowsheet column, and for the row names.
const COLUMN: usize = 8;
const NAMES: usize = 6;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(v) = &c.vitals else { return };
    let entry_height = if v.form.is_some() { 4 } else { 3 };
    let read_back = read_back(state, theme, c, area.width as usize);
    let [entry, read, sheet] = Layout::vertical([
        Constraint::Length(entry_height),
        Constraint::Length(read_back.len() as u16),
        Constraint::Min(3),
    ])
    .areas(area);
    let focused = state.overlay.is_none();
    let title = if v.sending {
        " Vital signs: sending... ".to_string()
    } else {
        " Vital signs: T HR RR BP SpO2 O2 ACVPU (at HH:MM, scale2) ".to_string()
    };
    let block = pane(
        Line::from(styled(title, theme.title)),
        focused,
        state,
        theme,
    );
    let inner = block.inner(entry);
    frame.render_widget(block, entry);
    match v.form {
        None => {
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    styled("> ", theme.key),
                    Span::raw(fit(&v.line, inner.width.saturating_sub(2) as usize)),
                ])),
                inner,
            );
            if focused && !v.sending {
                let col = crate::workstation::line::cursor_column(&v.line, state.field_cursor);
                let x = inner.x + 2 + col as u16;
                frame.set_cursor_position(Position::new(
                    x.min(inner.right().saturating_sub(1)),
                    inner.y,
                ));
            }
        }
        Some(at) => {
            // Two rows of four fields: `T [37.9    ]`.
            let width = (inner.width as usize / 4).max(10);
            let value_width = width.saturating_sub(9);
            let mut rows = vec![Vec::new(), Vec::new()];
            for (i, name) in FIELDS.iter().enumerate() {
                let style = if i == at { theme.selected } else { theme.base };
                rows[i / 4].push(styled(format!(" {:>5} ", name), theme.dim));
                rows[i / 4].push(Span::styled(
                    format!("[{}]", cell(&v.fields[i], value_width)),
                    style,
                ));
            }
            let lines: Vec<Line> = rows.into_iter().map(Line::from).collect();
            frame.render_widget(Paragraph::new(lines), inner);
            if focused && !v.sending {
                let col =
                    crate::workstation::line::cursor_column(&v.fields[at], state.field_cursor);
                let x = inner.x + ((at % 4) * (9 + value_width)) as u16 + 8 + col as u16;
                frame.set_cursor_position(Position::new(
                    x.min(inner.right().saturating_sub(1)),
                    inner.y + (at / 4) as u16,
                ));
            }
        }
    }

    frame.render_widget(Paragraph::new(read_back), read);

    flowsheet(state, theme, frame, sheet, c);
}

/// What the entry says, in as few rows as it needs: each value with its unit (the line's
/// only: the form shows them in its fields), what is wrong, then NEWS2 or why there is none.
fn read_back(state: &State, theme: &Theme, c: &ChartState, width: usize) -> Vec<Line<'static>> {
    let Some(v) = &c.vitals else {
        return Vec::new();
    };
    let today = chrono::DateTime::from_timestamp_millis(state.now_ms)
        .map(|t| t.with_timezone(&state.display.zone).date_naive())
        .unwrap_or_default();
    let p = preview(&v.text(), &c.chart, today);
    let mut lines: Vec<Line<'static>> = Vec::new();
    if v.form.is_none() {
        let mut parts: Vec<String> = p.entry.signs.iter().map(|s| s.shown()).collect();
        if let Some(at) = p.entry.at {
            parts.push(format!("taken at {:02}:{:02}", at / 60, at % 60));
        }
        if parts.is_empty() && p.entry.problems.is_empty() {
            parts.push("e.g. T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A".into());
        }
        // Whole values to a row, two rows at most.
        let mut row = String::new();
        for part in parts {
            if !row.is_empty() && row.chars().count() + 2 + part.chars().count() > width {
                lines.push(Line::raw(std::mem::take(&mut row)));
            }
            if !row.is_empty() {
                row.push_str("  ");
            }
            row.push_str(&part);
        }
        if !row.is_empty() {
            lines.push(Line::raw(row));
        }
        lines.truncate(2);
    }
    if let Some(e) = &v.error {
        lines.push(Line::from(styled(fit(e, width), theme.error)));
    } else if let Some(problem) = p.entry.impossible().first() {
        lines.push(Line::from(styled(
            fit(&format!("NOT possible: {problem}"), width),
            theme.error,
        )));
    } else if let Some(unusual) = p.entry.unusual().first() {
        lines.push(Line::from(styled(
            fit(&format!("check: {unusual}"), width),
            theme.warning,
        )));
    }
    let scale = if p.scale == Scale::Two {
        " (SpO2 scale 2)"
    } else {
        ""
    };
    match &p.news2 {
        Ok(s) => {
            let style = match s.risk {
                Risk::High => theme.critical,
                Risk::Medium | Risk::LowMedium => theme.high,
                Risk::Low => theme.base,
            };
            let headline = s.headline();
            let breakdown = format!("{}{scale}", s.breakdown());
            if headline.chars().count() + 2 + breakdown.chars().count() <= width {
                lines.push(Line::from(vec![
                    styled(headline, style),
                    styled(format!("  {breakdown}"), theme.dim),
                ]));
            } else {
                lines.push(Line::from(styled(fit(&headline, width), style)));
                lines.push(Line::from(styled(fit(&breakdown, width), theme.dim)));
            }
        }
        Err(why) if p.entry.signs.is_empty() => lines.push(Line::from(styled(
            fit(&format!("{why}{scale}"), width),
            theme.dim,
        ))),
        // An incomplete set has no score: said in the alert style, never left blank.
        Err(why) => lines.push(Line::from(styled(
            fit(&format!("{why}{scale}"), width),
            theme.warning,
        ))),
    }
    lines
}

fn flowsheet(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(v) = &c.vitals else { return };
    let total = v.sheet.len();
    // "None" only when the server's answer can be trusted; otherwise the doubt, as an alert.
    let title = match (crate::workstation::features::vitals::sheet_doubt(c), total) {
        (Some(why), 0) => styled(
            format!(" Flowsheet: vital signs UNKNOWN ({why}) "),
            theme.warning,
        ),
        (Some(why), _) => styled(
            format!(" Flowsheet (newest left): MAY BE INCOMPLETE ({why}) "),
            theme.warning,
        ),
        (None, 0) => styled(" Flowsheet: no vital signs in this chart ", theme.title),
        (None, _) => styled(" Flowsheet (newest left) ", theme.title),
    };
    let block = pane(Line::from(title), false, state, theme);
    let inner = block.inner(area);
    let columns = (inner.width as usize).saturating_sub(NAMES) / COLUMN;
    let shown: Vec<_> = v.sheet.iter().skip(v.scroll).take(columns).collect();
    let block = if total > 0 {
        block.title_bottom(
            Line::from(styled(
                format!(
                    " sets {}-{} of {total} ",
                    v.scroll + 1,
                    v.scroll + shown.len()
                ),
                theme.dim,
            ))
            .right_aligned(),
        )
    } else {
        block
    };
    frame.render_widget(block, area);
    if shown.is_empty() {
        return;
    }
    let zone = state.display.zone;
    let mut lines = Vec::with_capacity(ROWS.len() + 2);
    let mut dates = vec![Span::raw(cell("", NAMES))];
    let mut times = vec![Span::raw(cell("", NAMES))];
    for col in &shown {
        let when = col.when.display(zone);
        let (date, time) = when.split_once(' ').unwrap_or((when.as_str(), ""));
        dates.push(styled(
            cell(date.get(5..).unwrap_or(date), COLUMN),
            theme.dim,
        ));
        times.push(styled(cell(time, COLUMN), theme.dim));
    }
    lines.push(Line::from(dates));
    lines.push(Line::from(times));
    for (row, name) in ROWS.iter().enumerate() {
        let mut spans = vec![styled(cell(name, NAMES), theme.title)];
        for col in &shown {
            match &col.cells[row] {
                Some((value, flag)) => {
                    let marker = flag.marker();
                    let text = if marker.is_empty() {
                        value.clone()
                    } else {
                        format!("{value}{marker}")
                    };
                    spans.push(Span::styled(cell(&text, COLUMN), theme.flag(*flag)));
                }
                None => spans.push(styled(cell(".", COLUMN), theme.dim)),
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
