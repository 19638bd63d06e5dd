//! Overlays drawn over a screen: help (the real bindings, from the keymap), the timeline
//! filter, the find/date prompt and the quit question.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{cell, pane, styled};
use crate::workstation::keymap::{Chord, Context};
use crate::workstation::state::{Overlay, PromptKind, State};
use crate::workstation::theme::Theme;
use crate::workstation::update::filter_choices;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(overlay) = &state.overlay else {
        return;
    };
    match overlay {
        Overlay::Help {
            context,
            query,
            scroll,
        } => help(state, theme, frame, area, *context, query, *scroll),
        Overlay::Palette {
            context,
            input,
            cursor,
        } => palette(state, theme, frame, area, *context, input, *cursor),
        Overlay::Problems { scroll } => problems(state, theme, frame, area, *scroll),
        Overlay::Messages { scroll } => messages(state, theme, frame, area, *scroll),
        Overlay::Filter { cursor } => {
            let choices = filter_choices(state);
            let labels: Vec<&str> = choices
                .iter()
                .map(|(k, _)| k.map(|k| k.label()).unwrap_or("Everything"))
                .collect();
            let letters = crate::workstation::keymap::accelerators(&state.keymap, &labels);
            let mut lines = Vec::new();
            for (i, (label, (_, count))) in labels.iter().zip(&choices).enumerate() {
                let letter = letters[i].map(|c| c.to_string()).unwrap_or_default();
                let mut line = Line::from(vec![
                    styled(format!(" {letter:<2}"), theme.key),
                    Span::raw(format!("{} {count:>6} ", cell(label, 16))),
                ]);
                if i == *cursor {
                    line = line.patch_style(theme.selected);
                }
                lines.push(line);
            }
            let r = centered(area, 31, lines.len() as u16 + 2);
            popup(state, theme, frame, r, " Show ", Paragraph::new(lines));
        }
        Overlay::Prompt {
            kind: PromptKind::BreakGlass,
            input,
        } => break_glass(state, theme, frame, area, input),
        Overlay::Prompt { kind, input } => {
            let (title, hint) = match kind {
                PromptKind::Find => (" Find in chart ", "text to look for, Enter to apply"),
                PromptKind::Date => (" Go to date ", "YYYY-MM-DD, YYYY-MM, YYYY or DD/MM/YYYY"),
                PromptKind::AccessFilter => (
                    " Filter the access log ",
                    "a username and/or a date (2026-11-21); empty shows all",
                ),
                PromptKind::BreakGlass => (" Break the glass ", ""),
            };
            text_prompt(state, theme, frame, area, title, input, hint);
        }
        Overlay::AccessLog {
            entries,
            filter,
            scroll,
            detail,
        } => access_log(state, theme, frame, area, entries, filter, *scroll, *detail),
        Overlay::Outbox {
            cursor,
            compare,
            scroll,
        } => outbox(state, theme, frame, area, *cursor, *compare, *scroll),
        Overlay::Templates { cursor } => {
            let names: Vec<&str> = state
                .notes
                .templates
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            let letters = crate::workstation::keymap::accelerators(&state.keymap, &names);
            let items: Vec<String> = names
                .iter()
                .zip(letters)
                .map(|(n, l)| format!("{:<2} {n}", l.map(String::from).unwrap_or_default()))
                .collect();
            list(
                state,
                theme,
                frame,
                area,
                " New note: pick a template ",
                &items,
                *cursor,
            );
        }
        Overlay::Drafts { cursor } => {
            let items: Vec<String> = state
                .drafts
                .iter()
                .map(|d| {
                    format!(
                        "{} (MRN {}) - {}, saved {}",
                        d.patient_name,
                        d.mrn.as_deref().unwrap_or("none"),
                        d.title,
                        d.saved.replace('T', " ").trim_end_matches('Z')
                    )
                })
                .collect();
            list(
                state,
                theme,
                frame,
                area,
                " Unsent drafts from an earlier session: Enter reopens, Esc later ",
                &items,
                *cursor,
            );
        }
        Overlay::ConfirmSign { status } => {
            let question = crate::workstation::update::sign_question(state, *status);
            confirm(
                state,
                theme,
                frame,
                area,
                " Confirm ",
                &question,
                theme.warning,
            );
        }
        Overlay::OrderFields { item, field } => {
            let Some(it) = state
                .chart
                .as_ref()
                .and_then(|c| c.orders.as_ref())
                .and_then(|o| o.basket.get(*item))
            else {
                return;
            };
            let problems = it.problems();
            let mut lines: Vec<Line> = Vec::new();
            for (i, (label, value)) in crate::workstation::update::field_list(it)
                .into_iter()
                .enumerate()
            {
                let problem = problems.iter().find(|p| p.field == label);
                let mut line = Line::from(vec![
                    styled(cell(&format!("{label}:"), 12), theme.dim),
                    Span::raw(value),
                    styled(
                        problem
                            .map(|p| format!("   <- {}", p.message))
                            .unwrap_or_default(),
                        theme.warning,
                    ),
                ]);
                if i == *field {
                    line = line.patch_style(theme.selected);
                }
                lines.push(line);
            }
            lines.push(Line::raw(""));
            lines.push(Line::from(styled(
                "Up/Down or Tab: field   type to edit   Enter: done",
                theme.dim,
            )));
            let w = area.width.saturating_sub(6).min(100);
            let h = (lines.len() as u16 + 2).min(area.height);
            let r = centered(area, w, h);
            popup(
                state,
                theme,
                frame,
                r,
                format!(" {} ", it.name),
                Paragraph::new(lines),
            );
        }
        Overlay::Override {
            alert,
            cursor,
            text,
        } => {
            let alert = state
                .chart
                .as_ref()
                .and_then(|c| c.orders.as_ref())
                .and_then(|o| o.alerts.get(*alert));
            let Some(a) = alert else { return };
            let w = area.width.saturating_sub(6).min(100);
            let mut lines = vec![Line::from(styled(
                format!("[{}] {}", a.severity.word(), a.what),
                theme.flag_style(a.severity),
            ))];
            for l in super::search::wrap(
                &format!("{} Instead: {}", a.why, a.instead),
                w.saturating_sub(2) as usize,
            ) {
                lines.push(Line::raw(l));
            }
            lines.push(Line::raw(""));
            lines.push(Line::from(styled(
                "Override reason (pick, or type your own):",
                theme.title,
            )));
            for (i, reason) in crate::workstation::orders::basket::OVERRIDE_REASONS
                .iter()
                .enumerate()
            {
                let line = Line::raw(format!("  {reason}"));
                lines.push(if i == *cursor && text.is_empty() {
                    line.patch_style(theme.selected)
                } else {
                    line
                });
            }
            lines.push(Line::from(vec![
                styled("> ", theme.key),
                Span::raw(text.clone()),
            ]));
            let h = (lines.len() as u16 + 2).min(area.height);
            let r = centered(area, w, h);
            popup(
                state,
                theme,
                frame,
                r,
                " High-severity alert ",
                Paragraph::new(lines),
            );
        }
        Overlay::AckChecks => {
            let why = state
                .chart
                .as_ref()
                .and_then(|c| c.orders.as_ref())
                .and_then(|o| o.checks_error.clone())
                .unwrap_or_default();
            let question = format!(
                "Order checks did NOT run ({why}). Allergies and interactions were not checked. Sign anyway?"
            );
            confirm(
                state,
                theme,
                frame,
                area,
                " Checks did not run ",
                &question,
                theme.critical,
            );
        }
        Overlay::ConfirmOrders => {
            let question = crate::workstation::update::sign_orders_question(state);
            confirm(
                state,
                theme,
                frame,
                area,
                " Confirm ",
                &question,
                theme.warning,
            );
        }
        Overlay::Signature {
            target,
            input,
            error,
            checking,
        } => {
            let question = match target {
                crate::workstation::state::SignTarget::Note(status) => {
                    crate::workstation::update::sign_question(state, *status)
                }
                crate::workstation::state::SignTarget::Orders => {
                    crate::workstation::update::sign_orders_question(state)
                }
            };
            let w = (crate::workstation::text::width(&question) as u16 + 4).clamp(50, area.width);
            let r = centered(area, w, 6);
            let masked = "*".repeat(input.chars());
            let mut lines = vec![
                Line::from(styled(format!(" {question}"), theme.warning)),
                Line::from(vec![
                    styled(" Signature (your password or PIN): ", theme.base),
                    Span::raw(masked.clone()),
                ]),
            ];
            if *checking {
                lines.push(Line::from(styled(
                    " checking with the server...",
                    theme.dim,
                )));
            } else if let Some(e) = error {
                lines.push(Line::from(styled(format!(" {e}"), theme.error)));
            }
            lines.push(Line::from(vec![
                Span::raw(" "),
                styled("Enter", theme.key),
                Span::raw(" signs  "),
                styled("Esc", theme.key),
                Span::raw(" does not sign"),
            ]));
            let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
            popup(state, theme, frame, r, " Electronic signature ", body);
            let col = " Signature (your password or PIN): ".chars().count() as u16;
            field_cursor(state, theme, frame, r, (col, 1), &masked);
        }
        Overlay::Discontinue { input } => {
            // The dialog names the order and the patient it acts on.
            let what = state
                .chart
                .as_ref()
                .and_then(|c| {
                    let o = c.orders.as_ref()?;
                    let list = crate::workstation::update::active_orders(c);
                    let (_, _, line) = list.get(o.active_cursor)?;
                    let who = c.chart.patient.as_ref().map(|p| p.display_name());
                    Some(format!("{line} ({})", who.unwrap_or_default()))
                })
                .unwrap_or_else(|| "the selected order".into());
            let title = format!(" Discontinue {what}: reason ");
            text_prompt(
                state,
                theme,
                frame,
                area,
                &title,
                input,
                "Enter discontinues, Esc keeps the order",
            );
        }
        Overlay::ConfirmQuit => {
            confirm(
                state,
                theme,
                frame,
                area,
                " Quit ",
                "Quit bedside?",
                theme.base,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn help(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    context: Context,
    query: &str,
    scroll: usize,
) {
    let entries = crate::workstation::update::help_entries(&state.keymap, context, query);
    let mut lines = vec![
        Line::from(vec![
            styled("/ ", theme.key),
            Span::raw(query.to_string()),
            styled(
                if query.is_empty() {
                    "  (type to search)"
                } else {
                    ""
                },
                theme.dim,
            ),
        ]),
        Line::from(styled(
            format!(
                "Keys in [{}] of the {} keymap; : lists every action and command",
                context.name(),
                state.keymap.name
            ),
            theme.dim,
        )),
    ];
    if entries.is_empty() {
        lines.push(Line::raw(format!("no key here matches {query:?}")));
    }
    for (action, keys) in &entries {
        let keys: Vec<String> = keys.iter().map(Chord::to_string).collect();
        lines.push(Line::from(vec![
            styled(cell(&keys.join(", "), 22), theme.key),
            Span::raw(action.description()),
        ]));
    }
    if context == Context::Note && query.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(styled(
            "While typing (after i or Enter): arrows, Home/End, PgUp/PgDn, Ctrl-Left/Right by \
             word, Ctrl-Home/End, Shift+motion selects, Ctrl-A all, Ctrl-C/X/V copy/cut/paste, \
             Ctrl-W delete word, Ctrl-Z undo, Ctrl-Y redo, Ctrl-S save, Esc commands.",
            theme.dim,
        )));
        lines.push(Line::raw(""));
        lines.push(Line::from(styled(
            "Smart phrases: type the name, then Tab or Space",
            theme.title,
        )));
        for (name, what) in crate::workstation::notes::phrases::BUILT_IN {
            lines.push(Line::from(vec![
                styled(cell(&format!(".{name}"), 22), theme.key),
                Span::raw(*what),
            ]));
        }
        for (name, text) in &state.notes.phrases {
            lines.push(Line::from(vec![
                styled(cell(&format!(".{name}"), 22), theme.key),
                Span::raw(super::fit(text, 60)),
            ]));
        }
        lines.push(Line::from(styled(
            "Add your own as name = \"text\" lines in phrases.toml in the config directory.",
            theme.dim,
        )));
    }
    if context == Context::Search && query.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(styled(
            "In the query field letters are typed; Tab moves to the list. / clears the query \
             (inside a date such as 14/03/1956 it is typed).",
            theme.dim,
        )));
    }
    let w = area.width.saturating_sub(8).min(100);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let h = area.height.saturating_sub(4).min(rows as u16 + 2);
    let r = centered(area, w, h);
    let scroll = scroll.min(lines.len().saturating_sub(h.saturating_sub(2) as usize));
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    popup(
        state,
        theme,
        frame,
        r,
        " Help - type to search, arrows scroll, Esc closes ",
        body,
    );
    if scroll == 0 {
        field_cursor(state, theme, frame, r, (2, 0), query);
    }
}

/// `:`: the input, then matching actions and commands with their keys.
#[allow(clippy::too_many_arguments)]
fn palette(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    context: Context,
    input: &str,
    cursor: usize,
) {
    let entries = crate::workstation::update::palette_entries(state, context, input);
    let w = area.width.saturating_sub(6).min(96);
    let h = area
        .height
        .saturating_sub(4)
        .min(entries.len() as u16 + 4)
        .max(5);
    let r = centered(area, w, h);
    let rows = h.saturating_sub(4) as usize;
    let inner_w = w.saturating_sub(2) as usize;
    let mut lines = vec![
        Line::from(vec![styled(": ", theme.key), Span::raw(input.to_string())]),
        Line::from(styled(
            if entries.is_empty() {
                "nothing matches: Backspace, or Esc to close".to_string()
            } else {
                format!(
                    "{} match; Enter runs, Tab completes, Esc closes",
                    entries.len()
                )
            },
            theme.dim,
        )),
    ];
    let skip = (cursor + 1).saturating_sub(rows);
    for (i, e) in entries.iter().enumerate().skip(skip).take(rows) {
        let label_w = 22.min(inner_w / 3);
        let keys_w = 16.min(inner_w / 4);
        let mut spans: Vec<Span> = vec![Span::raw(" ")];
        for (ci, ch) in super::fit(&e.label, label_w).chars().enumerate() {
            let style = if e.matched.contains(&ci) {
                theme.matched
            } else {
                theme.base
            };
            spans.push(Span::styled(ch.to_string(), style));
        }
        let used = crate::workstation::text::width(&e.label).min(label_w);
        spans.push(Span::raw(" ".repeat(label_w - used + 1)));
        spans.push(styled(
            cell(e.keys.as_deref().unwrap_or(""), keys_w),
            theme.key,
        ));
        spans.push(Span::raw(" "));
        let rest = inner_w.saturating_sub(label_w + keys_w + 3);
        spans.push(styled(super::fit(&e.description, rest), theme.dim));
        let mut line = Line::from(spans);
        if i == cursor {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    popup(
        state,
        theme,
        frame,
        r,
        " Commands: :open MRN, :theme NAME, :filter KIND, or any action ",
        Paragraph::new(lines),
    );
    field_cursor(state, theme, frame, r, (2, 0), input);
}

/// Problems in the user's keymap, theme and config: file, line, what, how to fix.
/// This session's messages in full, wrapped; the one at `scroll` at the bottom.
fn messages(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, scroll: usize) {
    let w = area.width.saturating_sub(4).min(120);
    let inner_w = w.saturating_sub(2).max(10) as usize;
    let h = area.height.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    for (ms, level, text) in state.messages.iter().take(scroll + 1) {
        let when = chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| {
                t.with_timezone(&state.display.zone)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let style = match level {
            crate::workstation::state::Level::Info => theme.base,
            crate::workstation::state::Level::Warning => theme.warning,
            crate::workstation::state::Level::Error => theme.error,
        };
        for (i, part) in super::search::wrap(&format!("{when}  {text}"), inner_w)
            .into_iter()
            .enumerate()
        {
            let part = if i == 0 {
                part
            } else {
                format!("          {part}")
            };
            lines.push(Line::from(styled(part, style)));
        }
    }
    // The newest shown at the bottom of the box.
    let room = h.saturating_sub(2) as usize;
    let skip = lines.len().saturating_sub(room);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    let r = centered(area, w, (lines.len() as u16 + 2).min(h));
    popup(
        state,
        theme,
        frame,
        r,
        format!(
            " Messages this session ({}) - arrows scroll, Esc closes ",
            state.messages.len()
        ),
        Paragraph::new(lines),
    );
}

fn problems(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, scroll: usize) {
    let mut lines = vec![Line::from(styled(
        format!(
            "{} problem(s) in your settings; defaults are used for those parts. \
             `bedside check-config` prints them too.",
            state.problems.len()
        ),
        theme.dim,
    ))];
    for p in state.problems.iter().skip(scroll) {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            styled(p.place(), theme.key),
            Span::raw(": "),
            styled(p.message.clone(), theme.warning),
        ]));
        if let Some(fix) = &p.fix {
            lines.push(Line::from(vec![
                styled("  fix: ", theme.dim),
                Span::raw(fix.clone()),
            ]));
        }
    }
    let w = area.width.saturating_sub(4).min(120);
    // Rows once wrapped, so the box holds what it shows.
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let h = area.height.saturating_sub(2).min(rows as u16 + 2);
    let r = centered(area, w, h);
    let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    popup(
        state,
        theme,
        frame,
        r,
        " Settings problems - arrows scroll, Esc closes ",
        body,
    );
}

/// Emergency access: what it means, and the reason field.
fn break_glass(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, input: &str) {
    let restricted = state
        .chart
        .as_ref()
        .and_then(|c| c.withheld)
        .unwrap_or(true);
    let why = if restricted {
        "This is a RESTRICTED record (staff member or VIP)."
    } else {
        "Support staff see demographics only; clinical content needs emergency access."
    };
    let w = 72.min(area.width);
    let r = centered(area, w, 9);
    let body = Paragraph::new(vec![
        Line::from(styled(format!(" {why}"), theme.error)),
        Line::raw(" Opening it is emergency access: it is time-limited, recorded with"),
        Line::raw(" your name and reason, and reviewed by the privacy office."),
        Line::raw(""),
        Line::from(vec![
            styled(" Reason: ", theme.key),
            Span::raw(input.to_string()),
        ]),
        Line::from(styled(
            " Enter to open the record   Esc to leave it closed".to_string(),
            theme.dim,
        )),
    ])
    .wrap(ratatui::widgets::Wrap { trim: false });
    popup(state, theme, frame, r, " Break the glass? ", body);
    field_cursor(state, theme, frame, r, (9, 4), input);
}

/// Who looked at this chart: time, user, what, outcome, address.
#[allow(clippy::too_many_arguments)]
fn access_log(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    entries: &Option<Result<Vec<crate::workstation::state::AccessEntry>, String>>,
    filter: &str,
    scroll: usize,
    detail: bool,
) {
    let r = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let title = if filter.trim().is_empty() {
        " Access log: who looked at this chart ".to_string()
    } else {
        format!(" Access log ({}) ", filter.trim())
    };
    // The selected access in full, below the list (Enter): every field, nothing cut.
    let selected = match entries {
        Some(Ok(list)) if detail => list.get(scroll),
        _ => None,
    };
    let width = r.width.saturating_sub(2) as usize;
    let mut full: Vec<Line> = Vec::new();
    if let Some(e) = selected {
        let mut fields = vec![
            ("When", e.when.clone()),
            ("User", e.user.clone()),
            ("What", e.what.clone()),
            (
                "Result",
                if e.success {
                    "ok".into()
                } else {
                    "FAILED".into()
                },
            ),
            ("From", e.address.clone()),
        ];
        if let Some(x) = &e.resource {
            fields.push(("Resource", x.clone()));
        }
        if let Some(x) = &e.query {
            fields.push(("Query", x.clone()));
        }
        if let Some(x) = &e.description {
            fields.push(("Note", x.clone()));
        }
        if let Some(x) = &e.emergency {
            fields.push(("EMERGENCY", x.clone()));
        }
        full.push(Line::from(styled("-".repeat(width), theme.dim)));
        for (label, value) in fields {
            for (i, part) in super::search::wrap(&value, width.saturating_sub(12))
                .into_iter()
                .enumerate()
            {
                let label = if i == 0 { label } else { "" };
                full.push(Line::from(vec![
                    styled(format!(" {label:<10} "), theme.key),
                    Span::raw(part),
                ]));
            }
        }
    }
    let rows = (r.height.saturating_sub(3) as usize).saturating_sub(full.len());
    let mut lines = vec![Line::from(styled(
        format!(
            " {:<19} {:<24} {:<17} {:<6} {}",
            "WHEN", "USER", "WHAT", "RESULT", "FROM"
        ),
        theme.title,
    ))];
    match entries {
        None => lines.push(Line::raw(" loading...")),
        Some(Err(e)) => lines.push(Line::from(styled(format!(" {e}"), theme.error))),
        Some(Ok(list)) if list.is_empty() => lines.push(Line::raw(
            " no accesses recorded for this patient (with this filter)",
        )),
        Some(Ok(list)) => {
            let skip = (scroll + 1).saturating_sub(rows);
            for (i, e) in list.iter().enumerate().skip(skip).take(rows) {
                let result = if e.success { "ok" } else { "FAILED" };
                // The whole address, then what was asked for (the query, or the resource).
                let mut text = format!(
                    " {:<19} {} {} {:<6} {}",
                    e.when,
                    cell(&e.user, 24),
                    cell(&e.what, 17),
                    result,
                    e.address
                );
                if let Some(q) = &e.query {
                    text.push_str(&format!("  ?{q}"));
                } else if let Some(x) = &e.resource {
                    text.push_str(&format!("  {x}"));
                }
                if let Some(reason) = &e.emergency {
                    text.push_str(&format!("  EMERGENCY: {reason}"));
                }
                // Marked in the first column too (never colour alone; the reason may be
                // past the edge of a narrow terminal).
                if e.emergency.is_some() {
                    text.replace_range(0..1, "!");
                }
                let mut line = Line::raw(text);
                if e.emergency.is_some() || !e.success {
                    line = line.patch_style(theme.error);
                }
                if i == scroll {
                    line = line.patch_style(theme.selected);
                }
                lines.push(line);
            }
        }
    }
    lines.extend(full);
    lines.push(Line::from(styled(
        " ! emergency access   Enter details   / filter by user or date   Esc close".to_string(),
        theme.dim,
    )));
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}

/// The outbox: what waits for the server, what was sent, and what needs the clinician; or,
/// for one note, the local copy and the server's one after the other.
fn outbox(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    cursor: usize,
    compare: bool,
    scroll: usize,
) {
    use crate::workstation::vault::outbox::State as Sent;
    let r = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let rows = r.height.saturating_sub(3) as usize;
    let entries = &state.storage.outbox;
    let zone = state.display.zone;
    let clock = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&zone).format("%d %b %H:%M").to_string())
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    if let (true, Some(e)) = (compare, entries.get(cursor)) {
        let note_text = |doc: &serde_json::Value| {
            doc.pointer("/content/0/attachment/data")
                .and_then(serde_json::Value::as_str)
                .and_then(|d| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d).ok()
                })
                .map(|b| String::from_utf8_lossy(&b).to_string())
                .unwrap_or_default()
        };
        let mut body: Vec<Line> = vec![Line::from(styled(
            format!(
                " {} for {} (MRN {})",
                e.item.draft.title,
                e.item.draft.patient_name,
                e.item.draft.mrn.as_deref().unwrap_or("none")
            ),
            theme.title,
        ))];
        if let Some(m) = &e.item.message {
            body.push(Line::from(styled(format!(" {m}"), theme.warning)));
        }
        body.push(Line::from(styled(
            format!(
                " YOUR COPY ({}, {})",
                e.item.status.code(),
                clock(e.queued_ms)
            ),
            theme.title,
        )));
        body.extend(
            note_text(&e.item.resource)
                .lines()
                .map(|l| Line::raw(format!("   {l}"))),
        );
        if let Some(server) = &e.item.server_copy {
            let by = server
                .pointer("/author/0/display")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("someone");
            body.push(Line::from(styled(
                format!(
                    " THE SERVER'S COPY ({}, by {by})",
                    server["docStatus"].as_str().unwrap_or("?")
                ),
                theme.title,
            )));
            body.extend(
                note_text(server)
                    .lines()
                    .map(|l| Line::raw(format!("   {l}"))),
            );
        }
        lines.extend(body.into_iter().skip(scroll).take(rows));
        lines.push(Line::from(styled(
            " up/down scroll   r take back as a draft   x discard mine   Esc back".to_string(),
            theme.dim,
        )));
        popup(
            state,
            theme,
            frame,
            r,
            " Outbox: both copies ",
            Paragraph::new(lines),
        );
        return;
    }
    lines.push(Line::from(styled(
        format!(
            " {:<9} {:<13} {:<24} {}",
            "STATE", "WRITTEN", "PATIENT", "NOTE"
        ),
        theme.title,
    )));
    if entries.is_empty() {
        lines.push(Line::raw(if state.storage.open {
            " nothing waiting: notes signed while the server cannot be reached wait here"
        } else {
            " the outbox opens once you are signed in"
        }));
    }
    let skip = (cursor + 1).saturating_sub(rows.saturating_sub(1));
    for (i, e) in entries
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows.saturating_sub(1))
    {
        let what = match e.state {
            Sent::Waiting => "WAITING".to_string(),
            Sent::Sent => format!(
                "sent {}",
                clock(e.sent_ms.unwrap_or(0)).get(7..).unwrap_or("")
            ),
            Sent::Conflict => "!CONFLICT".to_string(),
            Sent::Refused => "!REFUSED".to_string(),
        };
        let patient = format!(
            "{} {}",
            e.item.draft.patient_name,
            e.item.draft.mrn.as_deref().unwrap_or("")
        );
        let mut text = format!(
            " {} {} {} {} ({})",
            cell(&what, 9),
            cell(&clock(e.queued_ms), 13),
            cell(&patient, 24),
            e.item.draft.title,
            e.item.status.code()
        );
        if let Some(m) = e.item.message.as_ref().filter(|_| e.state != Sent::Sent) {
            text.push_str(&format!(": {m}"));
        }
        let mut line = Line::raw(text);
        if matches!(e.state, Sent::Conflict | Sent::Refused) {
            line = line.patch_style(theme.error);
        } else if e.state == Sent::Waiting {
            line = line.patch_style(theme.warning);
        }
        if i == cursor {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    lines.push(Line::from(styled(
        " Enter show   r take back as a draft   x discard (stuck notes)   F3/Esc close".to_string(),
        theme.dim,
    )));
    let title = format!(
        " Outbox: {} waiting, {} need you ",
        state.storage.waiting(),
        state.storage.stuck()
    );
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}

/// A bordered box over whatever is under `r`, with a title.
fn popup(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    r: Rect,
    title: impl Into<String>,
    body: Paragraph<'_>,
) {
    frame.render_widget(Clear, r);
    let block = pane(
        Line::from(styled(title.into(), theme.title)),
        true,
        state,
        theme,
    );
    frame.render_widget(body.block(block), r);
}

/// A one-line text field with a hint under it, centred, with the terminal cursor in it.
fn text_prompt(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    input: &str,
    hint: &str,
) {
    let w = (crate::workstation::text::width(title) as u16 + 4).max(60);
    let r = centered(area, w.min(area.width), 4);
    let body = Paragraph::new(vec![
        Line::from(vec![styled("> ", theme.key), Span::raw(input.to_string())]),
        Line::from(styled(hint.to_string(), theme.dim)),
    ]);
    popup(state, theme, frame, r, title, body);
    field_cursor(state, theme, frame, r, (2, 0), input);
}

/// A yes/no question, centred; `y` and `n` are the dialog keymap's.
fn confirm(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    question: &str,
    style: ratatui::style::Style,
) {
    let w = (crate::workstation::text::width(question) as u16 + 4).clamp(30, area.width);
    let r = centered(area, w, 4);
    let body = Paragraph::new(vec![
        Line::from(styled(format!(" {question}"), style)),
        Line::from(vec![
            Span::raw(" "),
            styled("y", theme.key),
            Span::raw(" yes  "),
            styled("n", theme.key),
            Span::raw(" no"),
        ]),
    ])
    .wrap(ratatui::widgets::Wrap { trim: false });
    popup(state, theme, frame, r, title, body);
}

/// A titled list with a cursor, centred.
fn list(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    items: &[String],
    cursor: usize,
) {
    let widest = items
        .iter()
        .map(|i| crate::workstation::text::width(i))
        .max()
        .unwrap_or(10);
    let w = (widest.max(crate::workstation::text::width(title)) as u16 + 4).min(area.width);
    let h = (items.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let rows = h.saturating_sub(2) as usize;
    let skip = (cursor + 1).saturating_sub(rows);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, item)| {
            let line = Line::raw(format!(" {item}"));
            if i == cursor {
                line.patch_style(theme.selected)
            } else {
                line
            }
        })
        .collect();
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}

/// The terminal cursor in a pop-up's text field: `at` is the field's (column, row) inside
/// the box, and the cursor stands after `input` (never past the border).
fn field_cursor(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    r: Rect,
    at: (u16, u16),
    input: &str,
) {
    let inner = pane(Line::default(), true, state, theme).inner(r);
    let x =
        inner.x + at.0 + crate::workstation::line::cursor_column(input, state.field_cursor) as u16;
    frame.set_cursor_position(Position::new(
        x.min(inner.right().saturating_sub(1)),
        inner.y + at.1,
    ));
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}
