//! The inbox screen: a line per patient, then their results (flag, name, value, range, the
//! value before, when), critical and abnormal marked in words as well as colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::features::inbox::InboxView;
use crate::workstation::inbox::Urgency;
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, status_line, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(inbox) = &state.inbox else { return };
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let (c, a, n) = inbox.counts();
    let (crit, abn) = (
        crate::workstation::inbox::waited(state.overdue.critical_ms),
        crate::workstation::inbox::waited(state.overdue.abnormal_ms),
    );
    let net = match inbox.view {
        InboxView::Mine => None,
        InboxView::OverdueMine => Some("mine"),
        InboxView::OverdueAll => Some("everyone's"),
    };
    let title = match (inbox.loaded_ms, net) {
        (Some(_), Some(whose)) => format!(
            " SAFETY NET ({whose}): {c} critical >{crit}, {a} abnormal >{abn} unacknowledged "
        ),
        (None, Some(whose)) => {
            format!(" SAFETY NET ({whose}): critical >{crit}, abnormal >{abn}: reading... ")
        }
        (loaded, None) => match loaded {
            Some(at) => {
                let time = chrono::DateTime::from_timestamp_millis(at)
                    .map(|t| {
                        t.with_timezone(&state.display.zone)
                            .format("%H:%M")
                            .to_string()
                    })
                    .unwrap_or_default();
                format!(
                    " Results to review: {c} critical, {a} abnormal, {n} normal (updated {time}) "
                )
            }
            None if inbox.loading => " Results to review: loading... ".to_string(),
            None => " Results to review ".to_string(),
        },
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
            match inbox.view {
                InboxView::Mine => "No results are waiting for your review (the server's answer).",
                _ => "No results have waited longer than that (the server's answer).",
            },
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
                        "{}{} (MRN {}): {}",
                        g.owner
                            .as_deref()
                            .map(|o| format!("{o} | "))
                            .unwrap_or_default(),
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
            let when: String = match inbox.view {
                // In the safety net: how long it has waited.
                InboxView::OverdueMine | InboxView::OverdueAll => {
                    crate::fhir::date::parse_range(&item.authored)
                        .map(|r| {
                            format!(
                                "waiting {}",
                                crate::workstation::inbox::waited(state.now_ms - r.lo)
                            )
                        })
                        .unwrap_or_default()
                }
                InboxView::Mine => item
                    .when
                    .chars()
                    .take(16)
                    .map(|c| if c == 'T' { ' ' } else { c })
                    .collect(),
            };
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
        vec![styled("sending...", theme.warning)]
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
        if inbox.view == InboxView::OverdueAll {
            &[
                (Action::ForwardResult, "forward"),
                (Action::SafetyNet, "my inbox"),
                (Action::Submit, "chart"),
                (Action::Back, "back"),
            ]
        } else {
            &[
                (Action::AcknowledgeResult, "ack"),
                (Action::AcknowledgePatient, "patient"),
                (Action::AcknowledgeNormal, "normals"),
                (Action::ForwardResult, "fwd"),
                (Action::SafetyNet, "net"),
                (Action::Submit, "chart"),
            ]
        },
    );
}
