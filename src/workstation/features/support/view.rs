//! The support desk: a tab bar, the tab's list, and below it what the selection shows (two
//! records side by side with the weight of every field, a merge's preview, a record's JSON,
//! its versions and the changes between two).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{DeskState, DeskTab};
use crate::workstation::action::Action;
use crate::workstation::state::State;
use crate::workstation::support::raw;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, status_line, styled};

fn not_known(what: &str, e: &str, width: usize, theme: &Theme) -> Line<'static> {
    Line::from(styled(
        fit(&format!("NOT KNOWN: {what} could not be read: {e}"), width),
        theme.error,
    ))
}

fn reading(theme: &Theme) -> Line<'static> {
    Line::from(styled("reading...", theme.dim))
}

/// `rows` in `height` lines, the selected one shown.
fn window(
    rows: Vec<(Line<'static>, bool)>,
    cursor: usize,
    height: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let skip = (cursor + 1).saturating_sub(height);
    rows.into_iter()
        .skip(skip)
        .take(height)
        .map(|(l, selected)| {
            if selected {
                l.patch_style(theme.selected)
            } else {
                l
            }
        })
        .collect()
}

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(d) = &state.desk else { return };
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let mut title = vec![styled(" Support: ", theme.title)];
    for t in DeskTab::ALL {
        if t == d.tab {
            title.push(styled(format!("[{}]", t.title()), theme.title));
        } else {
            title.push(Span::raw(format!(" {} ", t.title())));
        }
    }
    let block = pane(Line::from(title), state.overlay.is_none(), state, theme);
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let lines = match d.tab {
        DeskTab::Duplicates => duplicates(d, theme, width, height),
        DeskTab::Record => record(d, theme, width, height),
        DeskTab::AsOf => as_of(d, theme, width, height),
        DeskTab::Access => access(d, theme, width, height),
        DeskTab::Quality => quality(d, theme, width, height),
        DeskTab::Status => server(d, theme, width, height),
    };
    frame.render_widget(Paragraph::new(lines), inner);
    let left = if d.sending {
        vec![styled("saving...", theme.warning)]
    } else if d.loading {
        vec![styled("reading...", theme.dim)]
    } else {
        Vec::new()
    };
    let keys: &[(Action, &str)] = match d.tab {
        DeskTab::Duplicates if d.merge.is_some() => &[
            (Action::Submit, "merge"),
            (Action::MergeRecords, "other way"),
            (Action::Back, "cancel"),
        ],
        DeskTab::Duplicates => &[
            (Action::Submit, "compare"),
            (Action::MergeRecords, "merge"),
            (Action::NotDuplicate, "not dup"),
            (Action::UndoMerge, "undo"),
            (Action::NextPane, "tab"),
        ],
        DeskTab::Record => &[
            (Action::OpenRecord, "open"),
            (Action::FoldSection, "fold"),
            (Action::FindInRecord, "find"),
            (Action::RecordHistory, "history"),
            (Action::WriteRecord, "file"),
            (Action::MoveRecord, "move"),
        ],
        _ => &[
            (Action::Submit, "record"),
            (Action::ChartAsOf, "as of"),
            (Action::AccessLogFor, "log"),
            (Action::ExportList, "csv"),
            (Action::NextPane, "tab"),
        ],
    };
    status_line(state, theme, frame, status, left, keys);
}

fn duplicates(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let pairs = match &d.pairs {
        None => return vec![reading(theme)],
        Some(Err(e)) => return vec![not_known("the duplicate pairs", e, width, theme)],
        Some(Ok((_, p))) if p.is_empty() => {
            return vec![Line::from(styled(
                "No pairs above the review threshold (the server's answer).",
                theme.dim,
            ))];
        }
        Some(Ok((total, p))) => {
            out.push(Line::from(styled(
                fit(
                    &format!("{total} pair(s), best first; sure matches marked SURE"),
                    width,
                ),
                theme.dim,
            )));
            p
        }
    };
    // Two lines a pair: the first record with the score, the second below it.
    let rows: Vec<(Line, bool)> = pairs
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let style = if p.sure { theme.warning } else { theme.base };
            let first = format!(
                "{:>5.1} {}{}",
                p.score,
                if p.sure { "SURE   " } else { "review " },
                p.a.words
            );
            let second = format!("{:13}= {}", "", p.b.words);
            [
                (
                    Line::from(Span::styled(fit(&first, width), style)),
                    i == d.cursor,
                ),
                (
                    Line::from(Span::styled(fit(&second, width), style)),
                    i == d.cursor,
                ),
            ]
        })
        .collect();
    let list_height = if d.merge.is_some() || d.compared.is_some() {
        4.min(height.saturating_sub(1))
    } else {
        height.saturating_sub(1)
    };
    out.extend(window(rows, d.cursor * 2 + 1, list_height, theme));
    if let Some(m) = &d.merge {
        out.push(Line::from(styled("-".repeat(width), theme.dim)));
        out.push(Line::from(vec![
            styled("MERGE ", theme.critical),
            Span::raw(fit(&m.source.words, width.saturating_sub(6))),
        ]));
        out.push(Line::from(vec![
            styled(" INTO ", theme.critical),
            Span::raw(fit(&m.target.words, width.saturating_sub(6))),
        ]));
        let counts: Vec<String> = m.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
        out.push(Line::from(Span::raw(fit(
            &format!("{} record(s) move: {}", m.moves, counts.join(", ")),
            width,
        ))));
        out.push(Line::from(Span::raw(format!(
            "Active orders: {} on the source, {} on the target",
            m.active_orders.0, m.active_orders.1
        ))));
        if m.needs_orders_reason {
            out.push(Line::from(styled(
                fit(
                    "BOTH have active orders: review them; a second reason is asked",
                    width,
                ),
                theme.warning,
            )));
        }
        for r in &m.refused {
            out.push(Line::from(styled(
                fit(&format!("REFUSED: {r}"), width),
                theme.error,
            )));
        }
        out.push(Line::from(styled(
            fit(
                "The source becomes inactive, replaced by the target; undone from its Provenance.",
                width,
            ),
            theme.dim,
        )));
        return out;
    }
    match &d.compared {
        None => {}
        Some(Err(e)) => out.push(not_known("the two records", e, width, theme)),
        Some(Ok(c)) => {
            out.push(Line::from(styled("-".repeat(width), theme.dim)));
            let col = width.saturating_sub(1) / 2;
            let n = c.sides[0].lines.len().max(c.sides[1].lines.len());
            for i in 0..n {
                let show = |s: &super::Side| {
                    s.lines
                        .get(i)
                        .map(|(k, v)| format!("{}{}", cell(k, 14), v))
                        .unwrap_or_default()
                };
                let (a, b) = (show(&c.sides[0]), show(&c.sides[1]));
                let same = a == b;
                let style: Style = if same { theme.base } else { theme.warning };
                out.push(Line::from(vec![
                    Span::styled(cell(&a, col), style),
                    Span::raw(" "),
                    Span::styled(fit(&b, col), style),
                ]));
            }
            if let Some(p) = d.selected_pair() {
                out.push(Line::from(styled("Why (each field's weight):", theme.dim)));
                for w in &p.why {
                    out.push(Line::from(Span::raw(fit(w, width))));
                }
            }
        }
    }
    out
}

fn record(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let r = match &d.record {
        None if d.loading => return vec![reading(theme)],
        None => {
            return vec![Line::from(styled(
                "Open a record by type and id (o), or with Enter from another tab's list.",
                theme.dim,
            ))];
        }
        Some(Err(e)) => return vec![not_known("the record", e, width, theme)],
        Some(Ok(r)) => r,
    };
    let mut out = vec![Line::from(vec![
        styled(fit(&r.reference, width / 2), theme.banner_name),
        styled(
            format!(
                "  {}",
                if d.trail.is_empty() {
                    String::new()
                } else {
                    format!(
                        "(Esc: back to {})",
                        d.trail.last().cloned().unwrap_or_default()
                    )
                }
            ),
            theme.dim,
        ),
    ])];
    for o in r.origin.iter().take(3) {
        out.push(Line::from(styled(fit(o, width), theme.dim)));
    }
    if let Some(at) = r.history {
        match &r.versions {
            None => out.push(reading(theme)),
            Some(Err(e)) => out.push(not_known("the history", e, width, theme)),
            Some(Ok(v)) => {
                let rows: Vec<(Line, bool)> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let who = match &r.writers {
                            None => "user NOT KNOWN".to_string(),
                            Some(w) => w
                                .iter()
                                .find(|(v, _)| *v == x.version)
                                .map(|(_, u)| u.clone())
                                .unwrap_or_else(|| "user not recorded".into()),
                        };
                        let text = format!(
                            "v{:<4} {:<6} {} {}{}",
                            x.version,
                            x.method,
                            x.when
                                .chars()
                                .take(19)
                                .collect::<String>()
                                .replace('T', " "),
                            who,
                            if x.resource.is_none() {
                                "  DELETED"
                            } else {
                                ""
                            }
                        );
                        let text = if r.marked == Some(i) {
                            format!("{text}  <- compared with")
                        } else {
                            text
                        };
                        (Line::from(Span::raw(fit(&text, width))), i == at)
                    })
                    .collect();
                let room = if r.diff.is_some() {
                    5
                } else {
                    height.saturating_sub(out.len())
                };
                out.extend(window(rows, at, room, theme));
                if let Some((from, to, changes)) = &r.diff {
                    out.push(Line::from(styled(
                        fit(
                            &format!("Changes from version {from} to {to} (field by field):"),
                            width,
                        ),
                        theme.title,
                    )));
                    if changes.is_empty() {
                        out.push(Line::from(styled("no field changed", theme.dim)));
                    }
                    for c in changes {
                        let show = |v: &Option<serde_json::Value>| {
                            v.as_ref()
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| "(none)".into())
                        };
                        out.push(Line::from(vec![
                            styled(format!("{} ", c.path), theme.key),
                            styled(show(&c.before), theme.error),
                            Span::raw(" -> "),
                            styled(show(&c.after), theme.base),
                        ]));
                    }
                } else {
                    out.push(Line::from(styled(
                        "Enter: what changed from the version below (or the one marked with z)",
                        theme.dim,
                    )));
                }
            }
        }
        return out;
    }
    let shown = raw::visible(&r.lines, &r.folded);
    let rows: Vec<(Line, bool)> = shown
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let l = &r.lines[n];
            let folded = r.folded.contains(&n);
            let mut text = format!("{}{}", "  ".repeat(l.depth), l.text);
            if folded {
                text.push_str(" ... ");
            }
            let style = if l.reference.is_some() {
                theme.key
            } else if !r.find.is_empty() && l.text.to_lowercase().contains(&r.find.to_lowercase()) {
                theme.warning
            } else {
                theme.base
            };
            (
                Line::from(Span::styled(fit(&text, width), style)),
                i == d.cursor,
            )
        })
        .collect();
    let room = height.saturating_sub(out.len());
    out.extend(window(rows, d.cursor, room, theme));
    out
}

fn as_of(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(styled(fit(&d.as_of_label, width), theme.title))];
    match &d.as_of {
        None if d.loading => out.push(reading(theme)),
        None => out.push(Line::from(styled(
            "Ask for a chart at a moment (a): ID 2026-12-01T03:00",
            theme.dim,
        ))),
        Some(Err(e)) => out.push(not_known("the chart as it was", e, width, theme)),
        Some(Ok(w)) if w.is_empty() => out.push(Line::from(styled(
            "The chart held nothing then (the server's answer).",
            theme.dim,
        ))),
        Some(Ok(w)) => {
            let rows = w
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let state_word = match x.status.as_str() {
                        "entered-in-error" | "cancelled" | "draft" | "on-hold" | "preliminary" => {
                            format!(" {}", x.status.to_uppercase())
                        }
                        _ => String::new(),
                    };
                    let text = if x.when.is_empty() {
                        format!(
                            "{} v{}{state_word}",
                            cell(&format!("({}) {}", x.what, x.reference), 44),
                            x.version
                        )
                    } else {
                        format!(
                            "{}{}{}{state_word}",
                            cell(&x.when, 17),
                            cell(&x.what, 11),
                            x.summary
                        )
                    };
                    let style = if matches!(x.status.as_str(), "entered-in-error" | "cancelled") {
                        theme.error
                    } else {
                        theme.base
                    };
                    (
                        Line::from(Span::styled(fit(&text, width), style)),
                        i == d.cursor,
                    )
                })
                .collect();
            out.extend(window(rows, d.cursor, height.saturating_sub(1), theme));
        }
    }
    out
}

fn access(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(styled(fit(&d.access_label, width), theme.title))];
    match &d.access {
        None if d.loading => out.push(reading(theme)),
        None => out.push(Line::from(styled(
            "Ask for a patient's or a user's log (l)",
            theme.dim,
        ))),
        Some(Err(e)) => out.push(not_known("the access log", e, width, theme)),
        Some(Ok(a)) if a.is_empty() => out.push(Line::from(styled(
            "No access recorded (the server's answer).",
            theme.dim,
        ))),
        Some(Ok(a)) => {
            let rows = a
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let mut text = format!(
                        "{} {}{}{}",
                        x.when
                            .chars()
                            .take(16)
                            .collect::<String>()
                            .replace('T', " "),
                        cell(&x.user, 14),
                        cell(&x.role, 10),
                        cell(&x.action, 12),
                    );
                    if x.outcome != "success" {
                        text.push_str(&format!("{} ", x.outcome.to_uppercase()));
                    }
                    if !x.patients.is_empty() {
                        text.push_str(&format!("{} patient(s) ", x.patients.len()));
                    }
                    let style = match &x.emergency {
                        Some(why) => {
                            text.push_str(&format!("EMERGENCY: {why}"));
                            theme.critical
                        }
                        None => theme.base,
                    };
                    (
                        Line::from(Span::styled(fit(&text, width), style)),
                        i == d.cursor,
                    )
                })
                .collect();
            out.extend(window(rows, d.cursor, height.saturating_sub(1), theme));
        }
    }
    out
}

fn quality(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    match &d.quality {
        None => vec![reading(theme)],
        Some(Err(e)) => vec![not_known("the data-quality scan", e, width, theme)],
        Some(Ok(kinds)) => {
            let mut rows = Vec::new();
            let mut i = 0;
            for k in kinds {
                let style = if k.count > 0 {
                    theme.warning
                } else {
                    theme.base
                };
                rows.push((
                    Line::from(Span::styled(
                        fit(&format!("{} ({})", k.title, k.count), width),
                        style,
                    )),
                    i == d.cursor,
                ));
                i += 1;
                for (r, detail) in &k.records {
                    rows.push((
                        Line::from(Span::raw(fit(&format!("  {}{detail}", cell(r, 34)), width))),
                        i == d.cursor,
                    ));
                    i += 1;
                }
            }
            window(rows, d.cursor, height, theme)
        }
    }
}

fn server(d: &DeskState, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    match &d.status {
        None => vec![reading(theme)],
        Some(Err(e)) => vec![not_known("the server's status", e, width, theme)],
        Some(Ok(lines)) => {
            let rows = lines
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    (
                        Line::from(Span::raw(fit(&format!("{}{v}", cell(k, 34)), width))),
                        i == d.cursor,
                    )
                })
                .collect();
            window(rows, d.cursor, height, theme)
        }
    }
}
