//! The inbox screen: a line per patient, then their results (flag, name, value, range, the
//! value before, when), critical and abnormal marked in words as well as colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::inbox::Urgency;
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, status_line, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(inbox) = &state.inbox else { return };
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let (c, a, n) = inbox.counts();
    let title = match inbox.loaded_ms {
        Some(at) => {
            let time = chrono::DateTime::from_timestamp_millis(at)
                .map(|t| {
                    t.with_timezone(&state.display.zone)
                        .format("%H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            format!(" Results to review: {c} critical, {a} abnormal, {n} normal (updated {time}) ")
        }
        None if inbox.loading => " Results to review: loading... ".to_string(),
        None => " Results to review ".to_string(),
    };
    let block = pane(
        Line::from(styled(title, theme.title)),
        state.overlay.is_none(),
        state,
        theme,
    );
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &inbox.error {
        let text = match inbox.loaded_ms {
            Some(_) => format!("NOT UP TO DATE: {e}"),
            None => format!("Could not be read: {e}"),
        };
        lines.push(Line::from(styled(fit(&text, width), theme.error)));
    }
    if inbox.groups.is_empty() && inbox.loaded_ms.is_some() && inbox.error.is_none() {
        lines.push(Line::from(styled(
            "No results are waiting for your review (the server's answer).",
            theme.dim,
        )));
    }
    let mut all: Vec<(Option<usize>, Line)> = Vec::new();
    let mut k = 0;
    for g in &inbox.groups {
        all.push((
            None,
            Line::from(styled(
                fit(
                    &format!(
                        "{} (MRN {}): {}",
                        g.name,
                        g.mrn.as_deref().unwrap_or("none"),
                        crate::workstation::count(g.items.len(), "result", "results")
                    ),
                    width,
                ),
                theme.banner_name,
            )),
        ));
        for item in &g.items {
            let (mark, style) = match item.urgency {
                Urgency::Critical => ("CRIT", theme.critical),
                Urgency::Abnormal => ("ABN ", theme.abnormal),
                Urgency::Normal => ("    ", theme.base),
            };
            let previous = item
                .previous
                .as_deref()
                .map(|p| format!(" was {p}"))
                .unwrap_or_default();
            let when: String = item
                .when
                .chars()
                .take(16)
                .map(|c| if c == 'T' { ' ' } else { c })
                .collect();
            let text = format!(
                " {mark} {}{}{} {} {}{}",
                cell(&item.name, 14),
                cell(&item.value, 14),
                cell(&item.flag, 4),
                if item.range.is_empty() {
                    String::new()
                } else {
                    format!("({})", item.range)
                },
                when,
                previous
            );
            let line = Line::from(Span::styled(fit(&text, width), style));
            all.push((
                Some(k),
                if k == inbox.cursor {
                    line.patch_style(theme.selected)
                } else {
                    line
                },
            ));
            k += 1;
        }
    }
    let visible = (inner.height as usize).saturating_sub(lines.len());
    let at = all
        .iter()
        .position(|(i, _)| *i == Some(inbox.cursor))
        .unwrap_or(0);
    let skip = (at + 1).saturating_sub(visible);
    lines.extend(all.into_iter().skip(skip).take(visible).map(|(_, l)| l));
    frame.render_widget(Paragraph::new(lines), inner);
    let left = if inbox.sending {
        vec![styled("acknowledging...", theme.warning)]
    } else if inbox.loading {
        vec![styled("reading...", theme.dim)]
    } else {
        Vec::new()
    };
    status_line(
        state,
        theme,
        frame,
        status,
        left,
        &[
            (Action::AcknowledgeResult, "ack"),
            (Action::AcknowledgePatient, "ack patient"),
            (Action::AcknowledgeNormal, "ack normals"),
            (Action::Submit, "chart"),
            (Action::Back, "back"),
        ],
    );
}
