//! The cover sheet: problems, medications and allergies on the left; latest vitals and recent
//! abnormal results on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::chart::summary::summarise;
use crate::workstation::chart::{Flag, value_text};
use crate::workstation::state::{ChartState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let s = summarise(&c.chart);
    let zone = state.display.zone;
    // Each section: its title and lines, laid out for the width at the end.
    let mut sections: Vec<(String, Vec<Line<'static>>)> = Vec::new();
    let list = |frame: &mut Frame, area: Rect, title: String, lines: Vec<Line<'static>>| {
        let block = pane(Line::from(styled(title, theme.title)), false, state, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let width = inner.width as usize;
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                if crate::workstation::text::width(&text) > width {
                    let style = l.spans.first().map(|s| s.style).unwrap_or_default();
                    Line::from(Span::styled(fit(&text, width), style))
                } else {
                    l
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    };
    let none = |what: &str| vec![Line::from(styled(format!("No {what} recorded"), theme.dim))];

    let problems: Vec<Line> = s
        .problems
        .iter()
        .map(|e| Line::raw(format!("{}  (since {})", e.summary, e.when.display(zone))))
        .collect();
    sections.push((
        format!(" Active problems ({}) ", s.problems.len()),
        if problems.is_empty() {
            none("active problems")
        } else {
            problems
        },
    ));
    let mut meds: Vec<Line> = s
        .medications
        .iter()
        .map(|e| Line::raw(e.summary.trim_start_matches("Started ").to_string()))
        .collect();
    // The medication review: what is already wrong among them, under the list.
    for a in &c.review {
        meds.push(Line::from(styled(
            format!("! [{}] {}", a.severity.word(), a.what),
            theme.flag_style(a.severity),
        )));
    }
    sections.push((
        format!(" Active medications ({}) ", s.medications.len()),
        if meds.is_empty() {
            none("active medications")
        } else {
            meds
        },
    ));
    let (text, _) = c.chart.allergy_text();
    let mut allergies: Vec<Line> = c
        .chart
        .allergies
        .iter()
        .filter(|a| a.no_known.is_none())
        .map(|a| {
            let mut t = a.substance.clone();
            if !a.reactions.is_empty() {
                t.push_str(&format!(" - {}", a.reactions.join(", ")));
            }
            if let Some(sev) = &a.severity {
                t.push_str(&format!(" ({sev})"));
            }
            if a.high_criticality {
                t.push_str(" HIGH CRITICALITY");
            }
            Line::from(styled(format!("! {t}"), theme.high))
        })
        .collect();
    if allergies.is_empty() {
        allergies.push(Line::from(styled(text, theme.allergy_unknown)));
    } else if let Some(why) = c.chart.allergy_doubt() {
        allergies.insert(
            0,
            Line::from(styled(
                format!("! list may be INCOMPLETE: {why}"),
                theme.allergy_unknown,
            )),
        );
    }
    sections.push((" Allergies ".into(), allergies));

    let vitals: Vec<Line> = s
        .vitals
        .iter()
        .map(|o| {
            let when = o.when.map(|w| w.display(zone)).unwrap_or_default();
            Line::from(vec![
                Span::raw(cell(crate::workstation::chart::short_name(o), 18)),
                Span::styled(cell(&value_text(o), 16), theme.flag(o.flag)),
                Span::styled(cell(o.flag.marker(), 4), theme.flag(o.flag)),
                Span::styled(when, theme.dim),
            ])
        })
        .collect();
    sections.push((
        " Latest vitals ".into(),
        if vitals.is_empty() {
            none("vital signs")
        } else {
            vitals
        },
    ));
    let abnormal: Vec<Line> = s
        .abnormal
        .iter()
        .map(|o| {
            let when = o
                .when
                .and_then(|w| w.day(zone))
                .map(|d| d.to_string())
                .unwrap_or_default();
            // The marker before the name: a narrow pane cuts the value, never the marker.
            Line::from(vec![
                Span::styled(cell(&when, 11), theme.dim),
                Span::styled(cell(o.flag.marker(), 4), theme.flag(o.flag)),
                Span::raw(cell(crate::workstation::chart::short_name(o), 15)),
                Span::styled(value_text(o), theme.flag(o.flag)),
            ])
        })
        .collect();
    let critical = s.abnormal.iter().filter(|o| o.flag.is_critical()).count();
    let title = if critical > 0 {
        format!(" Recent abnormal results ({critical} critical) ")
    } else {
        " Recent abnormal results ".into()
    };
    let _ = Flag::Normal;
    sections.push((
        title,
        if abnormal.is_empty() {
            none("abnormal results")
        } else {
            abnormal
        },
    ));
    // Two columns only where each is wide enough to show values, units and dates whole;
    // otherwise one column, every section in turn, scrolled with the usual keys.
    if area.width >= TWO_COLUMNS {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(area);
        let [problems_area, meds_area, allergy_area] = Layout::vertical([
            Constraint::Percentage(35),
            Constraint::Percentage(40),
            Constraint::Percentage(25),
        ])
        .areas(left);
        let [vitals_area, abnormal_area] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
        let areas = [
            problems_area,
            meds_area,
            allergy_area,
            vitals_area,
            abnormal_area,
        ];
        for ((title, lines), area) in sections.into_iter().zip(areas) {
            list(frame, area, title, lines);
        }
    } else {
        let mut lines: Vec<Line> = Vec::new();
        for (title, body) in sections {
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::from(styled(title.trim().to_string(), theme.title)));
            lines.extend(body);
        }
        let block = pane(
            Line::from(styled(" Summary - arrows scroll ", theme.title)),
            true,
            state,
            theme,
        );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let most = lines.len().saturating_sub(inner.height as usize);
        let scroll = c.summary_scroll.min(most);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .scroll((scroll as u16, 0)),
            inner,
        );
    }
}

/// The narrowest summary laid out in two columns (each column then shows ~55 characters).
pub const TWO_COLUMNS: u16 = 112;
