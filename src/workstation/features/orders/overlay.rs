//! The orders' pop-ups: an item's fields, an alert's override, the questions before signing, discontinuing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

pub fn fields(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    item: usize,
    field: usize,
) {
    let Some(it) = state
        .chart
        .as_ref()
        .and_then(|c| c.orders.as_ref())
        .and_then(|o| o.basket.get(item))
    else {
        return;
    };
    let problems = it.problems();
    let mut lines: Vec<Line> = Vec::new();
    for (i, (label, value)) in crate::workstation::features::orders::field_list(it)
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
        if i == field {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    let hint = |a| state.keymap.hint(Context::Form, a);
    lines.push(Line::from(styled(
        format!(
            "{}/{}: field   type to edit   {}: done",
            hint(Action::PreviousField),
            hint(Action::NextField),
            hint(Action::Submit)
        ),
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

pub fn override_reason(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    alert: usize,
    cursor: usize,
    text: &str,
) {
    let alert = state
        .chart
        .as_ref()
        .and_then(|c| c.orders.as_ref())
        .and_then(|o| o.alerts.get(alert));
    let Some(a) = alert else { return };
    let w = area.width.saturating_sub(6).min(100);
    let mut lines = vec![Line::from(styled(
        format!("[{}] {}", a.severity.word(), a.what),
        theme.flag_style(a.severity),
    ))];
    for l in crate::workstation::wrap::words(
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
        lines.push(if i == cursor && text.is_empty() {
            line.patch_style(theme.selected)
        } else {
            line
        });
    }
    lines.push(Line::from(vec![styled("> ", theme.key), Span::raw(text)]));
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

pub fn ack_checks(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
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

pub fn confirm_orders(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let question = crate::workstation::features::orders::sign_orders_question(state);
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

pub fn discontinue(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, input: &str) {
    // The dialog names the order and the patient it acts on.
    let what = state
        .chart
        .as_ref()
        .and_then(|c| {
            let o = c.orders.as_ref()?;
            let list = crate::workstation::features::orders::active_orders(c);
            let (_, _, line) = list.get(o.active_cursor)?;
            let who = c.chart.patient.as_ref().map(|p| p.display_name());
            Some(format!("{line} ({})", who.unwrap_or_default()))
        })
        .unwrap_or_else(|| "the selected order".into());
    let title = format!(" Discontinue {what}: reason ");
    let hint = format!(
        "{} discontinues, {} keeps the order",
        state.keymap.hint(Context::Form, Action::Submit),
        state.keymap.hint(Context::Form, Action::Back)
    );
    text_prompt(state, theme, frame, area, &title, input, &hint);
}
