//! The detail pane: a result with units, range, interpretation and previous values; a report's
//! results; a note's full text; any other item's fields.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::chart::{Detail, Flag, Obs, Target};
use crate::workstation::state::{ChartFocus, ChartState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, styled};
use crate::workstation::wrap::words as wrap;

/// Previous values listed under a result.
const PREVIOUS: usize = 6;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let focused = c.focus == ChartFocus::Detail && state.overlay.is_none();
    let zone = state.display.zone;
    let Some(item) = c.selected() else {
        let block = pane(
            Line::from(styled(" Detail ", theme.title)),
            focused,
            state,
            theme,
        );
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let title = format!(" {} - {} ", item.kind.label(), item.when.display(zone));
    let block = pane(
        Line::from(styled(title, theme.title)),
        focused,
        state,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_line = None;
    match item.target {
        Target::Obs(i) => {
            if let Some(o) = c.chart.obs_at(i) {
                observation(state, theme, c, o, width, &mut lines);
            }
        }
        Target::Vitals(_) => {
            let results = c.chart.members(item.target);
            lines.push(Line::from(styled("Vital signs", theme.title)));
            cursor_line = member_table(theme, c, &results, width, focused, &mut lines);
            if focused && let Some(o) = results.get(c.detail_cursor) {
                lines.push(Line::raw(""));
                previous(state, theme, c, o, &mut lines);
            }
        }
        Target::Report(i) => {
            if let Some(r) = c.chart.reports.get(i as usize) {
                lines.push(Line::from(styled(r.name.clone(), theme.title)));
                lines.push(Line::from(styled(
                    format!("Status: {}", r.status),
                    theme.dim,
                )));
                let results = c.chart.report_results(r);
                if results.len() < r.results.len() {
                    lines.push(Line::from(styled(
                        format!("{} of {} results received", results.len(), r.results.len()),
                        theme.warning,
                    )));
                }
                cursor_line = member_table(theme, c, &results, width, focused, &mut lines);
                if let Some(conclusion) = &r.conclusion {
                    lines.push(Line::raw(""));
                    for l in wrap(&format!("Conclusion: {conclusion}"), width) {
                        lines.push(Line::raw(l));
                    }
                }
                if focused {
                    if let Some(o) = results.get(c.detail_cursor) {
                        lines.push(Line::raw(""));
                        previous(state, theme, c, o, &mut lines);
                    }
                }
            }
        }
        Target::Entry(i) => {
            if let Some(e) = c.chart.entries.get(i as usize) {
                let (fields, text) = match &e.detail {
                    Detail::Fields(f) => (f, None),
                    Detail::Note { fields, text } => (fields, Some(text)),
                };
                let label_w = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
                for (label, value) in fields {
                    let value = readable(c.chart.resolve(value), zone);
                    let value = value.as_str();
                    let mut first = true;
                    for chunk in wrap(value, width.saturating_sub(label_w).max(10)) {
                        let head = if first {
                            format!("{label}:")
                        } else {
                            String::new()
                        };
                        first = false;
                        lines.push(Line::from(vec![
                            Span::styled(cell(&head, label_w), theme.dim),
                            Span::raw(chunk),
                        ]));
                    }
                }
                if let Some(text) = text {
                    lines.push(Line::raw(""));
                    for l in wrap(text, width) {
                        lines.push(Line::raw(l));
                    }
                }
            }
        }
    }
    // Scrolled text, or a results table kept around its cursor.
    let rows = inner.height as usize;
    let skip = match cursor_line {
        Some(l) if l >= rows => l + 1 - rows,
        Some(_) => 0,
        None => c.detail_scroll.min(lines.len().saturating_sub(rows)),
    };
    let shown: Vec<Line> = lines.into_iter().skip(skip).take(rows).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn observation(
    state: &State,
    theme: &Theme,
    c: &ChartState,
    o: &Obs,
    width: usize,
    lines: &mut Vec<Line<'static>>,
) {
    lines.push(Line::from(styled(o.name.clone(), theme.title)));
    let value = crate::workstation::chart::value_text(o);
    let mut spans = vec![
        styled("Value:    ", theme.dim),
        styled(value, theme.flag(o.flag)),
    ];
    if o.flag != Flag::Normal {
        spans.push(styled(
            format!("  {} ({})", o.flag.marker(), o.flag.words()),
            theme.flag(o.flag),
        ));
    }
    lines.push(Line::from(spans));
    for comp in &o.components {
        let value = comp
            .value
            .as_deref()
            .map(|v| format!("{v} {}", comp.unit))
            .unwrap_or_default();
        let mut spans = vec![
            Span::raw(format!("  {}: ", comp.name)),
            Span::styled(value, theme.flag(comp.flag)),
        ];
        if comp.flag != Flag::Normal {
            spans.push(styled(
                format!(" {}", comp.flag.marker()),
                theme.flag(comp.flag),
            ));
        }
        if let Some(r) = &comp.range {
            spans.push(styled(format!("  (range {})", r.text), theme.range));
        }
        lines.push(Line::from(spans));
    }
    if let Some(r) = &o.range {
        lines.push(Line::from(vec![
            styled("Range:    ", theme.dim),
            styled(
                format!("{} {}", r.text, o.unit).trim().to_string(),
                theme.range,
            ),
        ]));
    }
    if let Some(i) = &o.interpretation {
        lines.push(Line::from(vec![
            styled("Meaning:  ", theme.dim),
            Span::raw(i.clone()),
        ]));
    }
    lines.push(Line::from(vec![
        styled("Status:   ", theme.dim),
        Span::raw(o.status.clone()),
    ]));
    if let Some(n) = &o.note {
        for l in wrap(&format!("Note: {n}"), width) {
            lines.push(Line::raw(l));
        }
    }
    lines.push(Line::raw(""));
    previous(state, theme, c, o, lines);
}

/// `Previous <name>:` and the last few earlier values with their flags.
fn previous(state: &State, theme: &Theme, c: &ChartState, o: &Obs, lines: &mut Vec<Line<'static>>) {
    let prev = c.chart.previous(o);
    if prev.is_empty() {
        lines.push(Line::from(styled(
            format!("No previous {}", o.name),
            theme.dim,
        )));
        return;
    }
    lines.push(Line::from(styled(
        format!("Previous {} ({}):", o.name, prev.len()),
        theme.dim,
    )));
    for p in prev.iter().take(PREVIOUS) {
        let when = p
            .when
            .map(|w| w.display(state.display.zone))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", cell(&when, 16)), theme.dim),
            Span::styled(crate::workstation::chart::value_text(p), theme.flag(p.flag)),
            Span::styled(format!(" {}", p.flag.marker()), theme.flag(p.flag)),
        ]));
    }
}

/// A FHIR dateTime as the timeline shows it (`2024-06-16 13:00` in the display zone); any
/// other value as it is.
fn readable(value: &str, zone: chrono::FixedOffset) -> String {
    let looks_like_date = value.len() >= 10
        && value.as_bytes()[4] == b'-'
        && value.chars().take(4).all(|c| c.is_ascii_digit());
    match crate::workstation::chart::When::parse(value).filter(|_| looks_like_date) {
        Some(when) => when.display(zone),
        None => value.to_string(),
    }
}

/// The table of a report's results or a set of vital signs: value, marker, range, previous.
/// The row under the detail cursor (when focused) is returned for scrolling.
fn member_table(
    theme: &Theme,
    c: &ChartState,
    results: &[&crate::workstation::chart::Obs],
    width: usize,
    focused: bool,
    lines: &mut Vec<Line<'static>>,
) -> Option<usize> {
    let mut cursor_line = None;
    let name_w = (width / 3).clamp(10, 28);
    lines.push(Line::from(styled(
        fit(
            &format!(
                "{}{}{}{}Previous",
                cell("Test", name_w + 1),
                cell("Result", 16),
                cell("", 4),
                cell("Range", 14)
            ),
            width,
        ),
        theme.dim,
    )));
    for (n, o) in results.iter().enumerate() {
        let prev = c
            .chart
            .previous(o)
            .first()
            .map(|p| crate::workstation::chart::value_text(p))
            .unwrap_or_default();
        let range = o.range.as_ref().map(|r| r.text.clone()).unwrap_or_default();
        let mut line = Line::from(vec![
            Span::raw(cell(crate::workstation::chart::short_name(o), name_w + 1)),
            Span::styled(
                cell(&crate::workstation::chart::value_text(o), 16),
                theme.flag(o.flag),
            ),
            Span::styled(cell(o.flag.marker(), 4), theme.flag(o.flag)),
            Span::styled(cell(&range, 14), theme.range),
            Span::styled(prev, theme.dim),
        ]);
        if focused && n == c.detail_cursor {
            line = line.patch_style(theme.selected);
            cursor_line = Some(lines.len());
        }
        lines.push(line);
    }
    cursor_line
}
