//! The chart screen: the banner (always), then the timeline and detail, the summary or a
//! trend, and the status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::workstation::action::Action;
use crate::workstation::chart::{AllergyAlert, Precision};
use crate::workstation::keymap::Context;
use crate::workstation::layout;
use crate::workstation::state::{ChartFocus, ChartState, ChartView, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{
    ASCII_BORDER, cell, fit, pane, spinner, status_line, styled,
};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(c) = &state.chart else { return };
    let areas = layout::chart(area, c.focus == ChartFocus::Detail);
    banner(state, theme, frame, areas.banner, c);
    match &c.view {
        ChartView::Timeline => {
            timeline(state, theme, frame, areas.timeline, c);
            if areas.detail.height > 0 {
                crate::workstation::features::chart::detail::draw(
                    state,
                    theme,
                    frame,
                    areas.detail,
                    c,
                );
            }
        }
        ChartView::Summary => {
            crate::workstation::features::chart::summary::draw(state, theme, frame, areas.body, c)
        }
        ChartView::Trend { key, title } => crate::workstation::features::chart::trend::draw(
            state, theme, frame, areas.body, c, key, title,
        ),
        ChartView::Note => {
            crate::workstation::features::note::view::draw(state, theme, frame, areas.body, c)
        }
        ChartView::Orders => {
            crate::workstation::features::orders::view::draw(state, theme, frame, areas.body, c)
        }
        ChartView::Vitals => {
            crate::workstation::features::vitals::view::draw(state, theme, frame, areas.body, c)
        }
        ChartView::Lists => {
            crate::workstation::features::lists::view::draw(state, theme, frame, areas.body, c)
        }
        ChartView::Demographics => {
            crate::workstation::features::register::view::draw(state, theme, frame, areas.body)
        }
    }
    let mut left = Vec::new();
    if c.loading {
        left.push(styled(
            format!(
                "{} loading chart: {} items so far",
                spinner(state),
                c.chart.resources
            ),
            theme.warning,
        ));
    } else if let Some(e) = &c.error {
        left.push(styled(e.clone(), theme.error));
    } else {
        left.push(styled(
            crate::workstation::count(c.chart.resources, "resource", "resources"),
            theme.dim,
        ));
        if c.chart.unreadable > 0 {
            left.push(styled(
                format!(", {} could not be read", c.chart.unreadable),
                theme.warning,
            ));
        }
        let undated = c.chart.undated();
        if undated > 0 {
            left.push(styled(
                format!(", {undated} UNDATED (date unreadable, listed last)"),
                theme.warning,
            ));
        }
        let cut: Vec<String> = c
            .chart
            .answers
            .iter()
            .filter(|a| a.is_cut())
            .map(|a| a.describe())
            .collect();
        if !cut.is_empty() {
            left.push(styled(
                format!(", INCOMPLETE: {}", cut.join(", ")),
                theme.error,
            ));
        }
    }
    // The few keys that matter most in the focused pane, and only those that act on the
    // selected item (no "addendum" on a lab result, no "trend" on a note).
    let acts = |a: &(Action, &str)| match a.0 {
        Action::ShowTrend => crate::workstation::features::chart::trend_target(c).is_some(),
        Action::AddAddendum => crate::workstation::features::note::addendum_possible(c),
        _ => true,
    };
    let hints: &[(Action, &str)] = match (&c.view, c.focus) {
        (ChartView::Timeline, ChartFocus::Timeline) => &[
            (Action::SearchPatients, "patient"),
            (Action::FilterTimeline, "filter"),
            (Action::ShowTrend, "trend"),
            (Action::ToggleSummary, "summary"),
            (Action::ShowHelp, "help"),
            (Action::CloseChart, "close"),
            (Action::OpenPalette, "commands"),
        ],
        (ChartView::Timeline, ChartFocus::Detail) => &[
            (Action::Back, "timeline"),
            (Action::AddAddendum, "addendum"),
            (Action::NewNote, "note"),
            (Action::ShowHelp, "help"),
            (Action::OpenPalette, "commands"),
        ],
        (ChartView::Note, _)
            if c.note
                .as_ref()
                .is_some_and(|n| n.mode == crate::workstation::state::NoteMode::Editing) =>
        {
            // Typing: keys go to the editor (`?` too); the pane's own line says Esc gives
            // commands and F1 help.
            &[]
        }
        (ChartView::Note, _) => &[
            (Action::SignNote, "sign"),
            (Action::EditNote, "edit"),
            (Action::CloseNote, "close"),
            (Action::ShowHelp, "help"),
        ],
        (ChartView::Vitals, _) => &[
            (Action::Submit, "record"),
            (Action::SwitchEntry, "fields/line"),
            (Action::Back, "back"),
        ],
        (ChartView::Lists, _) if c.lists.as_ref().is_some_and(|l| l.form.is_some()) => &[
            (Action::Submit, "pick/record"),
            (Action::NextField, "next field"),
            (Action::Back, "close"),
        ],
        (ChartView::Lists, _) => &[
            (Action::AddEntry, "add"),
            (Action::EditEntry, "edit"),
            (Action::RecordNoKnownDrugAllergies, "NKDA"),
            (Action::EnteredInError, "in error"),
            (Action::ResolveProblem, "resolve"),
            (Action::Back, "back"),
        ],
        (ChartView::Demographics, _) => &[
            (Action::Submit, "save/choose"),
            (Action::NextField, "next field"),
            (Action::Back, "close"),
        ],
        (ChartView::Orders, _) => &[
            (Action::SignOrders, "sign"),
            (Action::RemoveOrder, "remove"),
            (Action::ShowHelp, "help"),
            (Action::OpenPalette, "commands"),
        ],
        _ => &[
            (Action::Back, "back"),
            (Action::ShowHelp, "help"),
            (Action::OpenPalette, "commands"),
        ],
    };
    let hints: Vec<(Action, &str)> = hints.iter().filter(|h| acts(h)).copied().collect();
    status_line(state, theme, frame, areas.status, left, &hints);
}

/// Name, age and DOB, sex, MRN, location; then allergies in words and in an alert style.
/// " cached 14:02 " while a chart shows the cache's copy (and why).
pub fn cached_mark(state: &State, c: &ChartState) -> Option<String> {
    let ms = c.cached?;
    let t = chrono::DateTime::from_timestamp_millis(ms)?.with_timezone(&state.display.zone);
    let day = if t.date_naive() == state.display.today {
        t.format("%H:%M").to_string()
    } else {
        t.format("%d %b %H:%M").to_string()
    };
    Some(if state.storage.offline() {
        format!(" CACHED {day}: server unreachable, read-only ")
    } else if c.loading {
        format!(" cached {day}: checking for changes ")
    } else {
        format!(" cached {day} ")
    })
}

fn banner(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let width = area.width as usize;
    let sep = || Span::styled(" | ", theme.dim);
    let mut first: Vec<Span> = Vec::new();
    match &c.chart.patient {
        Some(p) => {
            first.push(styled(p.display_name(), theme.banner_name));
            if p.deceased {
                first.push(styled(" (DECEASED)", theme.warning));
            }
            if let Some(into) = &p.merged_into {
                first.push(styled(
                    format!(" (MERGED into {into}: open that record)"),
                    theme.error,
                ));
            } else if p.inactive {
                first.push(styled(" (INACTIVE RECORD)", theme.warning));
            }
            first.push(sep());
            first.push(styled(p.dob_and_age(state.display.today), theme.banner));
            first.push(sep());
            first.push(styled(p.sex_word().to_string(), theme.banner));
            first.push(sep());
            first.push(styled(
                format!("MRN {}", p.mrn.as_deref().unwrap_or("none")),
                theme.banner,
            ));
            if let Some(until) = c.grant_until {
                // Emergency access: said on the banner, with the time it has left.
                first.push(sep());
                let left = (until - state.now_ms).max(0);
                let text = if left == 0 {
                    "EMERGENCY ACCESS ENDED".to_string()
                } else {
                    format!(
                        "EMERGENCY ACCESS {} min left",
                        (left as u64).div_ceil(60_000)
                    )
                };
                first.push(styled(text, theme.critical));
            }
            if let Some(loc) = c.chart.location(state.display.zone) {
                first.push(sep());
                first.push(styled(loc, theme.banner));
            }
        }
        None => first.push(styled("Loading patient...", theme.warning)),
    }
    let (allergy, alert) = c.chart.allergy_line(width.saturating_sub(2));
    let style = match alert {
        AllergyAlert::Allergic => theme.allergy,
        AllergyAlert::Unknown => theme.allergy_unknown,
        AllergyAlert::None => theme.allergy_none,
    };
    let marker = match alert {
        AllergyAlert::None => "",
        _ => "! ",
    };
    let second = Line::from(styled(fit(&format!("{marker}{allergy}"), width), style));
    let mut block = Block::default()
        .borders(Borders::BOTTOM)
        .border_style(theme.border);
    if state.display.ascii {
        block = block.border_set(ASCII_BORDER);
    }
    if let (Some(n), Some(p)) = (c.namesakes.filter(|n| *n > 0), &c.chart.patient) {
        // Wrong-patient risk: on the banner itself, until acknowledged.
        let others = if n == 1 {
            "1 other patient".to_string()
        } else {
            format!("{n} other patients")
        };
        let key = state
            .keymap
            .key_for(
                crate::workstation::keymap::Context::Chart,
                Action::AcknowledgeNames,
            )
            .map(|k| k.to_string())
            .unwrap_or_else(|| ":acknowledge_similar_names".into());
        let text = format!(
            " ! {others} named {}: check DOB and MRN ({key} ok) ",
            p.display_name()
        );
        block = block.title_bottom(Line::from(styled(text, theme.critical)).left_aligned());
    }
    if let Some(mark) = cached_mark(state, c) {
        // On the banner itself, so no notice can hide that this is an older copy.
        block = block.title_bottom(Line::from(styled(mark, theme.warning)).right_aligned());
    }
    frame.render_widget(
        Paragraph::new(vec![clip(first, width), second]).block(block),
        area,
    );
}

/// Cuts a line of spans to `width` characters.
fn clip(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let n = crate::workstation::text::width(&s.content);
        if used + n <= width {
            used += n;
            out.push(s);
        } else {
            let room = width.saturating_sub(used);
            if room > 0 {
                out.push(Span::styled(fit(&s.content, room), s.style));
            }
            break;
        }
    }
    Line::from(out)
}

/// Pointer, date, tag and flag columns before the summary.
const TIMELINE_PREFIX: usize = 1 + 16 + 1 + 5 + 1 + 3 + 1;

fn timeline(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let mut title = vec![styled(" Timeline ", theme.title)];
    title.push(styled(
        format!("{} of {} ", c.visible.len(), c.chart.timeline.len()),
        theme.dim,
    ));
    if let Some(k) = c.filter {
        title.push(styled(format!("[{}] ", k.label()), theme.warning));
    }
    if let Some(f) = &c.find {
        title.push(styled(format!("[find: {f}] "), theme.warning));
    }
    let focused = c.focus == ChartFocus::Timeline && state.overlay.is_none();
    let block = pane(Line::from(title), focused, state, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let rows = inner.height as usize;
    let mut lines: Vec<Line> = Vec::with_capacity(rows);
    let empty_answer = c.chart.empty_answer();
    if c.visible.is_empty() {
        let key = |a| state.keymap.hint(Context::Timeline, a);
        let (glass, log) = (key(Action::BreakGlass), key(Action::ShowAccessLog));
        let text = if c.withheld == Some(true) {
            format!(
                "Restricted record: clinical content withheld. {glass} breaks the glass (with a reason); {log} shows who opened this chart."
            )
        } else if c.withheld == Some(false) {
            format!(
                "Support view: demographics only. {glass} breaks the glass (with a reason) for clinical content; {log} shows the access log."
            )
        } else if c.loading {
            "Loading...".into()
        } else if c.filter.is_some() || c.find.is_some() {
            format!(
                "Nothing matches the filter. {} clears it.",
                key(Action::Back)
            )
        } else if let Some(answer) = &empty_answer {
            answer.clone()
        } else {
            "Nothing dated in this chart yet.".into()
        };
        // Said in full, wrapped: the answers behind an empty chart are the point.
        let style = if empty_answer.is_some() {
            theme.warning
        } else {
            theme.dim
        };
        for part in crate::workstation::wrap::words(&text, width) {
            lines.push(Line::from(styled(part, style)));
        }
    }
    // The detail pane may have taken lines since the scroll was set: keep the cursor in view.
    let scroll = if c.cursor >= c.scroll + rows {
        c.cursor + 1 - rows
    } else {
        c.scroll
    };
    let pointer = if state.display.ascii { ">" } else { "▶" };
    for (pos, &i) in c.visible.iter().enumerate().skip(scroll).take(rows) {
        let Some(item) = c.chart.timeline.get(i as usize) else {
            continue;
        };
        let date = match item.when.precision {
            Precision::Time => item.when.display(state.display.zone),
            _ => cell(&item.when.display(state.display.zone), 16),
        };
        // The selection is a pointer and a highlighted date and tag, not a whole repainted
        // line: a cursor move then costs a few dozen bytes over a slow link.
        let selected = pos == c.cursor;
        let (mark, date_style, tag_style) = if selected {
            let style = if focused {
                theme.selected
            } else {
                theme.selected_unfocused
            };
            (pointer, style, style)
        } else {
            (" ", theme.dim, theme.tag)
        };
        let marker = item.flag.marker();
        let spans = vec![
            // Unselected, the pointer column shares the border's and the date's style, so a
            // full repaint switches styles fewer times per line.
            Span::styled(mark, if selected { theme.key } else { theme.dim }),
            Span::styled(date, date_style),
            Span::styled(" ", date_style),
            Span::styled(cell(item.kind.tag(), 5), tag_style),
            Span::raw(" "),
            Span::styled(cell(marker, 3), theme.flag(item.flag)),
            Span::raw(" "),
            Span::raw(fit(&item.summary, width.saturating_sub(TIMELINE_PREFIX))),
        ];
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
