//! The patient list screen: one row per patient that fits 80 columns (bed, name, age/sex, days,
//! allergies, NEWS2 and its trend, results waiting, unsigned notes, co-signatures) and grows
//! with the width (attending, MRN); how fresh it is; the list picker.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::census::adt::DISPOSITIONS;
use crate::workstation::census::{AllergyMark, Row, Source};
use crate::workstation::features::census::{AdtKind, AdtStep, Pick};
use crate::workstation::keymap::Context;
use crate::workstation::state::State;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, status_line, styled};

const BED_W: usize = 9;
const NAME_W: usize = 22;
const AGE_W: usize = 6;
const DAYS_W: usize = 4;
const ALG_W: usize = 5;
const NEWS_W: usize = 6;
const RES_W: usize = 8;
const COUNT_W: usize = 4;
const ATTENDING_W: usize = 16;
const MRN_W: usize = 10;

/// "14:02, 35 s ago", or how long ago in minutes.
fn freshness(state: &State, loaded_ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(loaded_ms)
        .map(|t| {
            t.with_timezone(&state.display.zone)
                .format("%H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let ago = (state.now_ms - loaded_ms).max(0) / 1000;
    if ago < 120 {
        format!("{at}, {ago} s ago")
    } else {
        format!("{at}, {} min ago", ago / 60)
    }
}

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(c) = &state.census else { return };
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let title = match (&c.source, c.loaded_ms) {
        _ if c.handoff.is_some() => format!(
            " I-PASS handoff: {} ",
            c.handoff.as_ref().map_or("", |h| h.row.name.as_str())
        ),
        _ if c.adt.is_some() => {
            let a = c.adt.as_ref().map(|a| (&a.kind, &a.patient.1));
            match a {
                Some((AdtKind::Admit, name)) => format!(" Admit {name} "),
                Some((AdtKind::Transfer { .. }, name)) => format!(" Transfer {name} "),
                Some((AdtKind::Discharge { .. }, name)) => format!(" Discharge {name} "),
                None => String::new(),
            }
        }
        _ if c.board.is_some() => format!(
            " Bed board: {} ",
            c.board.as_ref().map_or("", |b| b.ward.name.as_str())
        ),
        _ if c.picking.is_some() => match &c.adding {
            Some((_, name)) => format!(" Add {name} to which list? "),
            None => " Patient lists ".to_string(),
        },
        (Some(w), Some(at)) => format!(
            " {}: {} patient{}{}, updated {}; by {} ",
            w.title(),
            c.rows.len(),
            if c.rows.len() == 1 { "" } else { "s" },
            if c.filter == crate::workstation::census::Filter::All {
                String::new()
            } else {
                format!(" ({})", c.filter.words())
            },
            freshness(state, at),
            c.sort.words()
        ),
        (Some(w), None) => format!(" {}: loading... ", w.title()),
        (None, _) => " Patient lists ".to_string(),
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
    if let Some(h) = &c.handoff {
        handoff_lines(state, theme, h, width, inner.height as usize, &mut lines);
    } else if c.adt.is_some() || c.board.is_some() {
        adt_lines(state, theme, c, width, inner.height as usize, &mut lines);
    } else if let Some(pick) = c.picking {
        let picks = c.picks(state.notes.author_reference.is_some());
        if let Some(note) = &c.lists_note {
            lines.push(Line::from(styled(fit(note, width), theme.error)));
        }
        match &c.lists {
            None => lines.push(Line::from(styled("reading the lists...", theme.dim))),
            Some(Err(e)) => lines.push(Line::from(styled(fit(e, width), theme.error))),
            Some(Ok(_)) if picks.is_empty() => lines.push(Line::from(styled(
                "No lists: the server lists no wards (Locations of physical type ward), and no practitioner is linked to this sign-in.",
                theme.warning,
            ))),
            Some(Ok(_)) => {
                lines.push(Line::from(styled(
                    if c.adding.is_some() {
                        "Which of your lists? (Enter)"
                    } else {
                        "Which list? (Enter)"
                    },
                    theme.dim,
                )));
                let visible = inner.height.saturating_sub(lines.len() as u16) as usize;
                let skip = (pick + 1).saturating_sub(visible);
                for (i, p) in picks.iter().enumerate().skip(skip).take(visible) {
                    let (kind, name) = match p {
                        Pick::Open(Source::Mine) => ("", "My patients".to_string()),
                        Pick::Open(Source::Team { name, .. }) => ("Team", name.clone()),
                        Pick::Open(Source::Personal { name, .. }) => ("My list", name.clone()),
                        Pick::Open(Source::Ward(w)) => ("Ward", w.name.clone()),
                        Pick::NewList => ("", "New list of my own...".to_string()),
                    };
                    let line = Line::from(vec![
                        styled(if i == pick { ">" } else { " " }, theme.key),
                        styled(format!(" {kind:<8}"), theme.dim),
                        Span::raw(fit(&name, width.saturating_sub(10))),
                    ]);
                    lines.push(if i == pick {
                        line.patch_style(theme.selected)
                    } else {
                        line
                    });
                }
            }
        }
    } else {
        if let Some(e) = &c.error {
            let shown = match (c.loaded_ms, c.cached_from) {
                (Some(at), Some(_)) => format!(
                    "CACHED COPY, NOT UP TO DATE: {e}. This terminal's copy from {}",
                    freshness(state, at)
                ),
                (Some(at), None) => format!(
                    "NOT UP TO DATE: {e}. The rows are from {}",
                    freshness(state, at)
                ),
                (None, _) => format!("The list could not be read: {e}"),
            };
            lines.push(Line::from(styled(fit(&shown, width), theme.error)));
        }
        if c.lists.is_none() {
            lines.push(Line::from(styled("reading the lists...", theme.dim)));
        }
        let wide = width >= 100;
        let wider = width >= 120;
        let mut header = format!(
            "{}{}{}{}{}{}{}{}{}",
            cell("Bed", BED_W + 1),
            cell("Patient", NAME_W + 1),
            cell("Age", AGE_W + 1),
            cell("Days", DAYS_W + 1),
            cell("Allg", ALG_W + 1),
            cell("NEWS2", NEWS_W + 1),
            cell("Results", RES_W + 1),
            cell("Uns", COUNT_W),
            cell("Cos", COUNT_W),
        );
        if wide {
            header.push_str(&cell(" Attending", ATTENDING_W + 1));
        }
        if wider {
            header.push_str(&cell("MRN", MRN_W));
        }
        lines.push(Line::from(styled(fit(&header, width), theme.dim)));
        if c.rows.is_empty() && c.loaded_ms.is_some() && c.error.is_none() {
            let empty = match &c.source {
                Some(Source::Ward(_)) => {
                    "No patients are staying on this ward (the server's answer)."
                }
                _ => "No patients on this list (the server's answer).",
            };
            lines.push(Line::from(styled(empty, theme.dim)));
        }
        let visible = inner.height.saturating_sub(lines.len() as u16 + 1) as usize;
        let skip = (c.cursor + 1).saturating_sub(visible);
        for (i, row) in c.rows.iter().enumerate().skip(skip).take(visible) {
            lines.push(row_line(row, theme, i == c.cursor, wide, wider, width));
        }
        lines.push(Line::from(styled(
            fit(
                "Allg ALGn/NKDA/---- not assessed/???? unknown; NEWS2 H,M risk; C crit A abn",
                width,
            ),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let left = if c.loading {
        vec![styled("refreshing the list...", theme.warning)]
    } else {
        Vec::new()
    };
    let keys: &[(Action, &str)] = if c.handoff.is_some() {
        &[]
    } else if c.adt.is_some() {
        &[(Action::Submit, "choose"), (Action::Back, "back")]
    } else if c.board.is_some() {
        &[(Action::RefreshList, "refresh"), (Action::Back, "back")]
    } else if c.picking.is_some() {
        &[
            (Action::Submit, "choose"),
            (Action::NewList, "new list"),
            (Action::Back, "back"),
        ]
    } else if c.source.as_ref().is_some_and(Source::is_personal) {
        &[
            (Action::Submit, "open"),
            (Action::SortList, "sort"),
            (Action::ChooseWard, "lists"),
            (Action::RemoveFromList, "take off"),
            (Action::Back, "back"),
        ]
    } else if matches!(c.source, Some(Source::Ward(_))) {
        &[
            (Action::Submit, "open"),
            (Action::SortList, "sort"),
            (Action::ChooseWard, "lists"),
            (Action::BedBoard, "beds"),
            (Action::TransferPatient, "move"),
            (Action::DischargePatient, "discharge"),
        ]
    } else {
        &[
            (Action::Submit, "open"),
            (Action::SortList, "sort"),
            (Action::ChooseWard, "lists"),
            (Action::TransferPatient, "move"),
            (Action::DischargePatient, "discharge"),
        ]
    };
    status_line(state, theme, frame, status, left, keys);
}

/// The handoff form: the patient (bed, MRN), where it came from, and the five parts, the
/// one being typed in marked; long text wraps.
fn handoff_lines(
    state: &State,
    theme: &Theme,
    h: &crate::workstation::features::census::HandoffEdit,
    width: usize,
    height: usize,
    lines: &mut Vec<Line<'static>>,
) {
    use crate::workstation::handoff::SECTIONS;
    lines.push(Line::from(styled(
        fit(
            &format!(
                "{} | {} | {} | MRN {}",
                h.row.bed,
                h.row.name,
                h.row.age_sex,
                h.row.mrn.as_deref().unwrap_or("none")
            ),
            width,
        ),
        theme.banner_name,
    )));
    if h.loading {
        lines.push(Line::from(styled(
            "reading the chart and the handoffs kept...",
            theme.dim,
        )));
        return;
    }
    let origin = match &h.saved {
        Some(s) => format!(
            "Last saved by {} at {}",
            s.author["display"].as_str().unwrap_or("someone"),
            s.date
                .chars()
                .take(16)
                .collect::<String>()
                .replace('T', " ")
        ),
        None => "Not saved yet: filled from the chart; check every part".to_string(),
    };
    lines.push(Line::from(styled(fit(&origin, width), theme.dim)));
    let severity = h.ipass.severity.map_or(
        "NOT CHOSEN (s, w or u)",
        crate::workstation::handoff::Severity::words,
    );
    let texts = h.ipass.fields();
    let head = lines.len();
    let mut editing_end = head;
    for (i, title) in SECTIONS.iter().enumerate() {
        let value = if i == 0 { severity } else { texts[i - 1] };
        let mark = if i == h.field { ">" } else { " " };
        let style = match (i, h.ipass.severity) {
            (0, None) => theme.warning,
            (0, Some(crate::workstation::handoff::Severity::Unstable)) => theme.critical,
            _ => theme.base,
        };
        lines.push(Line::from(vec![
            styled(mark, theme.key),
            styled(format!(" {title}:"), theme.title),
        ]));
        let wrapped = crate::workstation::wrap::words(
            if value.is_empty() { "-" } else { value },
            width.saturating_sub(4).max(10),
        );
        for w in wrapped {
            let line = Line::from(Span::styled(format!("   {w}"), style));
            lines.push(if i == h.field {
                line.patch_style(theme.selected)
            } else {
                line
            });
        }
        if i == h.field {
            editing_end = lines.len();
        }
    }
    // The part being typed in stays on screen (the patient's line and the hint too): parts
    // above it give way first.
    let over = (editing_end + 1).saturating_sub(height);
    if over > 0 {
        lines.drain(head..(head + over).min(lines.len()));
    }
    lines.push(Line::from(styled(
        fit(
            &format!(
                "{} next part  {} saves on the server  {} leaves{}",
                state.keymap.hint(Context::Form, Action::NextField),
                state.keymap.hint(Context::Form, Action::Submit),
                state.keymap.hint(Context::Form, Action::Back),
                if h.sending { "  (saving...)" } else { "" }
            ),
            width,
        ),
        theme.dim,
    )));
}

/// The bed board, or the steps of an admission, transfer or discharge.
fn adt_lines(
    state: &State,
    theme: &Theme,
    c: &crate::workstation::features::census::CensusState,
    width: usize,
    height: usize,
    lines: &mut Vec<Line<'static>>,
) {
    let pick = |lines: &mut Vec<Line<'static>>, i: usize, at: usize, text: String, style| {
        let line = Line::from(vec![
            styled(if i == at { ">" } else { " " }, theme.key),
            Span::styled(fit(&format!(" {text}"), width.saturating_sub(1)), style),
        ]);
        lines.push(if i == at {
            line.patch_style(theme.selected)
        } else {
            line
        });
    };
    let step = c.adt.as_ref().map(|a| &a.step);
    match step {
        Some(AdtStep::Ward(at)) => {
            lines.push(Line::from(styled("To which ward? (Enter)", theme.dim)));
            let wards = c.wards();
            if c.lists.is_none() {
                lines.push(Line::from(styled("reading the wards...", theme.dim)));
            } else if wards.is_empty() {
                lines.push(Line::from(styled(
                    "The server lists no wards (Locations of physical type ward).",
                    theme.warning,
                )));
            }
            for (i, w) in wards.iter().enumerate() {
                pick(lines, i, *at, w.name.clone(), theme.base);
            }
            return;
        }
        Some(AdtStep::Disposition(at)) => {
            lines.push(Line::from(styled(
                "Where does the patient go? (Enter)",
                theme.dim,
            )));
            for (i, (_, d)) in DISPOSITIONS.iter().enumerate() {
                pick(lines, i, *at, d.to_string(), theme.base);
            }
            return;
        }
        Some(AdtStep::Confirm(change)) => {
            lines.push(Line::from(styled(
                fit(&format!("{}?", change.words()), width),
                theme.banner_name,
            )));
            lines.push(Line::from(styled(
                format!(
                    "{} saves it on the server; {} changes nothing",
                    state.keymap.hint(Context::Census, Action::Submit),
                    state.keymap.hint(Context::Census, Action::Back)
                ),
                theme.dim,
            )));
            return;
        }
        Some(AdtStep::Bed) | None => {}
    }
    let Some(b) = &c.board else { return };
    if step.is_some() {
        lines.push(Line::from(styled(
            format!("Which free bed on {}? (Enter)", b.ward.name),
            theme.dim,
        )));
    }
    match &b.beds {
        None => lines.push(Line::from(styled("reading the beds...", theme.dim))),
        Some(Err(e)) => lines.push(Line::from(styled(fit(e, width), theme.error))),
        Some(Ok(beds)) if beds.is_empty() => lines.push(Line::from(styled(
            "The server lists no beds on this ward (Locations of physical type bed, part of it).",
            theme.warning,
        ))),
        Some(Ok(beds)) => {
            let free = beds.iter().filter(|r| r.free()).count();
            lines.push(Line::from(styled(
                format!(
                    "{} beds: {free} free, {} occupied",
                    beds.len(),
                    beds.iter().filter(|r| r.occupant.is_some()).count()
                ),
                theme.dim,
            )));
            let visible = height.saturating_sub(lines.len());
            let skip = (b.cursor + 1).saturating_sub(visible);
            for (i, r) in beds.iter().enumerate().skip(skip).take(visible) {
                let (what, style) = match (&r.occupant, r.closed) {
                    (Some((name, _)), _) => (name.clone(), theme.base),
                    (None, true) => ("OUT OF SERVICE".to_string(), theme.dim),
                    (None, false) => ("FREE".to_string(), theme.allergy_none),
                };
                pick(
                    lines,
                    i,
                    b.cursor,
                    format!("{}{what}", cell(&r.name, 14)),
                    style,
                );
            }
        }
    }
}

fn row_line(
    row: &Row,
    theme: &Theme,
    selected: bool,
    wide: bool,
    wider: bool,
    width: usize,
) -> Line<'static> {
    let mut name = row.name.clone();
    if row.restricted {
        name = format!("[R] {name}");
    }
    if row.deceased {
        name.push_str(" DECEASED");
    }
    let (allergy, allergy_style) = match &row.allergies {
        AllergyMark::Known(n) => (format!("ALG{n}"), theme.allergy),
        AllergyMark::Nkda => ("NKDA".to_string(), theme.allergy_none),
        AllergyMark::NotAssessed => ("----".to_string(), theme.warning),
        AllergyMark::Unknown => ("????".to_string(), theme.allergy_unknown),
    };
    let (news, news_style) = match row.news2 {
        Err(()) => ("?".to_string(), theme.error),
        Ok((None, _)) => ("-".to_string(), theme.dim),
        Ok((Some(n), before)) => {
            let trend = match before {
                Some(b) if b < n => "↑",
                Some(b) if b > n => "↓",
                Some(_) => "=",
                None => "",
            };
            let band = if n >= 7 {
                " H"
            } else if n >= 5 {
                " M"
            } else {
                ""
            };
            let style = if n >= 7 {
                theme.critical
            } else if n >= 5 {
                theme.abnormal
            } else {
                theme.base
            };
            (format!("{n}{trend}{band}"), style)
        }
    };
    let (results, results_style) = match row.reviews {
        None => ("?".to_string(), theme.error),
        Some((0, 0, 0)) => (String::new(), theme.base),
        Some((c, a, n)) => {
            let mut parts = Vec::new();
            if c > 0 {
                parts.push(format!("{c}C"));
            }
            if a > 0 {
                parts.push(format!("{a}A"));
            }
            if n > 0 {
                parts.push(n.to_string());
            }
            let style = if c > 0 {
                theme.critical
            } else if a > 0 {
                theme.abnormal
            } else {
                theme.base
            };
            (parts.join(" "), style)
        }
    };
    let count = |n: Option<usize>| match n {
        None => "?".to_string(),
        Some(0) => String::new(),
        Some(n) => n.to_string(),
    };
    let mut spans = vec![
        Span::raw(cell(&row.bed, BED_W + 1)),
        Span::styled(cell(&name, NAME_W + 1), theme.base),
        Span::raw(cell(&row.age_sex, AGE_W + 1)),
        Span::raw(cell(
            &row.days.map(|d| format!("{d}d")).unwrap_or_default(),
            DAYS_W + 1,
        )),
        Span::styled(cell(&allergy, ALG_W + 1), allergy_style),
        Span::styled(cell(&news, NEWS_W + 1), news_style),
        Span::styled(cell(&results, RES_W + 1), results_style),
        Span::raw(cell(&count(row.unsigned), COUNT_W)),
        Span::raw(cell(&count(row.cosign), COUNT_W)),
    ];
    if wide {
        spans.push(Span::raw(cell(
            &format!(" {}", row.attending.as_deref().unwrap_or("")),
            ATTENDING_W + 1,
        )));
    }
    if wider {
        spans.push(Span::raw(cell(row.mrn.as_deref().unwrap_or(""), MRN_W)));
    }
    let used: usize = spans
        .iter()
        .map(|s| crate::workstation::text::width(&s.content))
        .sum();
    if used > width {
        // Narrower than 80: the name gives way first.
        let keep = NAME_W.saturating_sub(used - width);
        spans[1] = Span::styled(cell(&name, keep + 1), theme.base);
    }
    let line = Line::from(spans);
    if selected {
        line.patch_style(theme.selected)
    } else {
        line
    }
}
