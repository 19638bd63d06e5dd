//! My unsigned work: the orders (waiting for co-signature, or a nurse's with what became of
//! them) and the unsigned notes; and the co-signature review over the order's chart, below
//! its banner, with the checks re-run.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::workstation::action::Action;
use crate::workstation::features::work::WorkTab;
use crate::workstation::keymap::Context;
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, popup, status_line, styled};
use crate::workstation::work::Outcome;

fn day_time(s: &str) -> String {
    s.chars()
        .take(16)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect()
}

/// How many, `?` when not known, `...` while read.
fn count<T>(part: &Option<Result<Vec<T>, String>>) -> String {
    match part {
        Some(Ok(v)) => v.len().to_string(),
        Some(Err(_)) => "?".into(),
        None => "...".into(),
    }
}

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(w) = &state.work else { return };
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let orders = if w.nurse {
        format!("My drafts ({})", count(&w.drafts))
    } else {
        format!("To co-sign ({})", count(&w.drafts))
    };
    let notes = format!("Unsigned ({})", count(&w.notes));
    let messages = format!("Messages ({})", count(&w.messages));
    let mark = |tab: WorkTab, title: &str| {
        if w.tab == tab {
            format!("[{title}]")
        } else {
            format!(" {title} ")
        }
    };
    let (a, b, c) = (
        mark(WorkTab::Orders, &orders),
        mark(WorkTab::Notes, &notes),
        mark(WorkTab::Messages, &messages),
    );
    let block = pane(
        Line::from(vec![
            styled(" My work: ", theme.title),
            styled(a, theme.title),
            Span::raw(" "),
            styled(b, theme.title),
            Span::raw(" "),
            styled(c, theme.title),
            Span::raw(" "),
        ]),
        state.overlay.is_none(),
        state,
        theme,
    );
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut rows: Vec<(Line, bool)> = Vec::new();
    match w.tab {
        WorkTab::Orders => match &w.drafts {
            None => lines.push(Line::from(styled("reading...", theme.dim))),
            Some(Err(e)) => lines.push(Line::from(styled(
                fit(
                    &format!("NOT KNOWN: the orders could not be read: {e}"),
                    width,
                ),
                theme.error,
            ))),
            Some(Ok(d)) if d.is_empty() => lines.push(Line::from(styled(
                if w.nurse {
                    "You entered no medication orders in the last 7 days (the server's answer)."
                } else {
                    "No orders are waiting for a co-signature (the server's answer)."
                },
                theme.dim,
            ))),
            Some(Ok(d)) => {
                for (i, x) in d.iter().enumerate() {
                    let (mark, style) = match &x.outcome {
                        Outcome::Waiting => {
                            ("WAITING for a co-signature".to_string(), theme.warning)
                        }
                        Outcome::Signed(by) => (format!("SIGNED by {by}"), theme.base),
                        Outcome::Rejected(why) => (
                            match why.strip_prefix("Rejected") {
                                Some(rest) => format!("REJECTED{rest}"),
                                None => format!("REJECTED: {why}"),
                            },
                            theme.error,
                        ),
                        Outcome::Other(s) => (s.to_uppercase(), theme.dim),
                    };
                    let selected = i == w.cursor;
                    if w.nurse {
                        // Two lines: the order, then what became of it, in full.
                        let text = format!(
                            "{}{}{}",
                            cell(&x.patient, 18),
                            cell(&format!("{} {}", x.medication, x.dosage), 42),
                            day_time(&x.entered)
                        );
                        rows.push((Line::from(Span::raw(fit(&text, width))), selected));
                        rows.push((
                            Line::from(Span::styled(fit(&format!("  -> {mark}"), width), style)),
                            selected,
                        ));
                    } else {
                        let text = format!(
                            "{}{}{}{}",
                            cell(&x.patient, 18),
                            cell(&format!("{} {}", x.medication, x.dosage), 28),
                            cell(&format!("by {}", x.entered_by), 16),
                            day_time(&x.entered)
                        );
                        rows.push((Line::from(Span::styled(fit(&text, width), style)), selected));
                    }
                }
            }
        },
        WorkTab::Messages => match &w.messages {
            None => lines.push(Line::from(styled("reading...", theme.dim))),
            Some(Err(e)) => lines.push(Line::from(styled(
                fit(
                    &format!("NOT KNOWN: your messages could not be read: {e}"),
                    width,
                ),
                theme.error,
            ))),
            Some(Ok(m)) if m.is_empty() => lines.push(Line::from(styled(
                "No messages for you (the server's answer).",
                theme.dim,
            ))),
            Some(Ok(m)) => {
                for (i, x) in m.iter().enumerate() {
                    let text = format!("{} {}", day_time(&x.sent), x.text);
                    rows.push((
                        Line::from(Span::styled(fit(&text, width), theme.base)),
                        i == w.cursor,
                    ));
                }
                // The selected message in full, below the list.
                if let Some(x) = m.get(w.cursor) {
                    for part in crate::workstation::wrap::words(&x.text, width) {
                        lines.push(Line::from(Span::raw(part)));
                    }
                    lines.push(Line::from(styled("-".repeat(width), theme.dim)));
                }
            }
        },
        WorkTab::Notes => match &w.notes {
            None => lines.push(Line::from(styled("reading...", theme.dim))),
            Some(Err(e)) => lines.push(Line::from(styled(
                fit(
                    &format!("NOT KNOWN: your notes could not be read: {e}"),
                    width,
                ),
                theme.error,
            ))),
            Some(Ok(n)) if n.is_empty() => lines.push(Line::from(styled(
                "No notes of yours are waiting to be signed (the server's answer).",
                theme.dim,
            ))),
            Some(Ok(n)) => {
                for (i, x) in n.iter().enumerate() {
                    let text = format!(
                        "{}{}{} UNSIGNED{}",
                        cell(&x.patient, 20),
                        cell(&x.title, 24),
                        day_time(&x.date),
                        if x.addendum { " addendum" } else { "" }
                    );
                    rows.push((
                        Line::from(Span::styled(fit(&text, width), theme.warning)),
                        i == w.cursor,
                    ));
                }
            }
        },
    }
    let visible = (inner.height as usize).saturating_sub(lines.len());
    let per = if w.nurse && w.tab == WorkTab::Orders {
        2
    } else {
        1
    };
    let skip = ((w.cursor + 1) * per).saturating_sub(visible);
    for (line, selected) in rows.into_iter().skip(skip).take(visible) {
        lines.push(if selected {
            line.patch_style(theme.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let left = if w.sending {
        vec![styled("saving...", theme.warning)]
    } else {
        Vec::new()
    };
    let keys: &[(Action, &str)] = if w.tab == WorkTab::Orders && !w.nurse {
        &[
            (Action::Submit, "review"),
            (Action::RejectOrder, "reject"),
            (Action::NextPane, "notes"),
            (Action::RefreshList, "refresh"),
            (Action::Back, "back"),
        ]
    } else {
        &[
            (Action::Submit, "chart"),
            (Action::NextPane, "other list"),
            (Action::RefreshList, "refresh"),
            (Action::Back, "back"),
        ]
    };
    status_line(state, theme, frame, status, left, keys);
}

/// The co-signature review, under the chart's banner: the order, who entered it, and the
/// checks re-run against the chart (or why they could not run, in the alert style).
pub fn cosign(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(draft) = state.work.as_ref().and_then(|w| w.reviewing.as_ref()) else {
        return;
    };
    // Below the banner (the first lines of the chart), never over it.
    let top = area.y + 6.min(area.height / 3);
    let r = Rect::new(
        area.x + 1,
        top,
        area.width.saturating_sub(2),
        area.height.saturating_sub(top - area.y + 1),
    );
    let mut lines = vec![
        Line::from(vec![
            styled("Order: ", theme.dim),
            styled(
                format!("{} {}", draft.medication, draft.dosage),
                theme.banner_name,
            ),
        ]),
        Line::from(vec![
            styled("For: ", theme.dim),
            Span::raw(format!(
                "{} (MRN {})",
                draft.patient,
                draft.mrn.as_deref().unwrap_or("none")
            )),
        ]),
        Line::from(vec![
            styled("Entered by: ", theme.dim),
            Span::raw(format!(
                "{}, {} (DRAFT)",
                draft.entered_by,
                day_time(&draft.entered)
            )),
        ]),
        Line::from(""),
    ];
    match super::update::review_checks(state) {
        Err(why) => lines.push(Line::from(styled(
            format!("CHECKS NOT RUN: {why}. It cannot be co-signed until they run."),
            theme.error,
        ))),
        Ok(alerts) if alerts.is_empty() => lines.push(Line::from(styled(
            "Checks ran against this chart's allergies and medications: no alerts.",
            theme.base,
        ))),
        Ok(alerts) => {
            for a in &alerts {
                let high = a.needs_override();
                lines.push(Line::from(styled(
                    format!(
                        "{} {}: {} {}",
                        if high { "HIGH" } else { "WARN" },
                        a.what,
                        a.why,
                        a.instead
                    ),
                    if high { theme.critical } else { theme.warning },
                )));
            }
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(styled(
        format!(
            "{} co-sign  {} reject with a reason  {} later",
            state.keymap.hint(Context::Dialogs, Action::Confirm),
            state.keymap.hint(Context::Dialogs, Action::RejectOrder),
            state.keymap.hint(Context::Dialogs, Action::Back)
        ),
        theme.dim,
    )));
    popup(
        state,
        theme,
        frame,
        r,
        " Co-sign this order? ",
        Paragraph::new(lines).wrap(Wrap { trim: false }),
    );
}
