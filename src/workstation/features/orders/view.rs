//! The orders pane: the composer and its catalog results, the basket with each order's
//! problems and alerts marked, the active orders, and the selected order's alerts in words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::features::orders::active_orders;
use crate::workstation::keymap::Context;
use crate::workstation::orders::basket::Fields;
use crate::workstation::orders::knowledge::Severity;
use crate::workstation::state::{ChartState, OrdersFocus, Pick, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, styled};
use crate::workstation::wrap::words as wrap;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(o) = &c.orders else { return };
    let settings = &state.order_settings;
    let [composer, lists, alerts] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(4),
        Constraint::Length(7),
    ])
    .areas(area);
    let focused = |f: OrdersFocus| o.focus == f && state.overlay.is_none();
    let block = pane(
        Line::from(styled(
            " New order: type a test, a medication or an order set ",
            theme.title,
        )),
        focused(OrdersFocus::Composer),
        state,
        theme,
    );
    let inner = block.inner(composer);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            styled("> ", theme.key),
            Span::raw(o.query.clone()),
        ]))
        .block(block),
        composer,
    );
    if focused(OrdersFocus::Composer) {
        let col = crate::workstation::line::cursor_column(&o.query, state.field_cursor);
        let x = inner.x + 2 + col as u16;
        frame.set_cursor_position(Position::new(
            x.min(inner.right().saturating_sub(1)),
            inner.y,
        ));
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lists);

    // Left: catalog results while composing, else the active orders.
    if !o.query.is_empty() {
        let block = pane(
            Line::from(styled(
                format!(
                    " {} ",
                    crate::workstation::count(o.picks.len(), "match", "matches")
                ),
                theme.title,
            )),
            focused(OrdersFocus::Composer),
            state,
            theme,
        );
        let inner = block.inner(left);
        frame.render_widget(block, left);
        let rows = inner.height as usize;
        let skip = (o.pick_cursor + 1).saturating_sub(rows);
        let lines: Vec<Line> = o
            .picks
            .iter()
            .enumerate()
            .skip(skip)
            .take(rows)
            .map(|(i, p)| {
                let text = match p {
                    Pick::Set(s) => format!("SET  {}", settings.catalog.sets[*s].name),
                    Pick::Entry(h) => {
                        let e = &settings.catalog.entries[h.entry];
                        // Medications show their strengths and forms.
                        let forms = settings
                            .knowledge
                            .medication(&e.code)
                            .filter(|_| {
                                e.kind == crate::workstation::orders::catalog::Kind::Medication
                            })
                            .map(|m| format!(" ({})", m.strengths.join(", ")))
                            .unwrap_or_default();
                        format!("{:<4} {}{forms}", e.kind.tag(), e.name)
                    }
                };
                let line = Line::raw(fit(&text, inner.width as usize));
                if i == o.pick_cursor {
                    line.patch_style(theme.selected)
                } else {
                    line
                }
            })
            .collect();
        let lines = if lines.is_empty() {
            vec![Line::from(styled(
                "Nothing in the catalog matches.",
                theme.dim,
            ))]
        } else {
            lines
        };
        frame.render_widget(Paragraph::new(lines), inner);
    } else {
        let active = active_orders(c);
        let block = pane(
            Line::from(styled(
                format!(" Active orders ({}) ", active.len()),
                theme.title,
            )),
            focused(OrdersFocus::Active),
            state,
            theme,
        );
        let inner = block.inner(left);
        frame.render_widget(block, left);
        let lines: Vec<Line> = active
            .iter()
            .enumerate()
            .map(|(i, (_, _, summary))| {
                let line = Line::raw(fit(summary, inner.width as usize));
                if i == o.active_cursor && o.focus == OrdersFocus::Active {
                    line.patch_style(theme.selected)
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }

    // Right: the basket, each order marked with its problems and alerts.
    let block = pane(
        Line::from(styled(
            format!(
                " Basket ({}) - {} signs ",
                o.basket.len(),
                state.keymap.hint(Context::Orders, Action::SignOrders)
            ),
            theme.title,
        )),
        focused(OrdersFocus::Basket),
        state,
        theme,
    );
    let inner = block.inner(right);
    frame.render_widget(block, right);
    let mut lines: Vec<Line> = Vec::new();
    for (i, item) in o.basket.iter().enumerate() {
        let worst = o
            .alerts
            .iter()
            .filter(|a| a.order == i)
            .map(|a| a.severity)
            .max();
        let (mark, style) = match worst {
            Some(Severity::High) => ("!!", theme.critical),
            Some(Severity::Moderate) => ("! ", theme.high),
            Some(Severity::Low) => ("i ", theme.abnormal),
            None => ("  ", theme.base),
        };
        let detail = match &item.fields {
            Fields::Medication(m) => format!("{} {} {} {}", m.dose, m.unit, m.route, m.frequency),
            Fields::Test(t) => t.priority.clone(),
        };
        let fix = if item.problems().is_empty() {
            ""
        } else {
            " [fields]"
        };
        let text = fit(
            &format!("{} {} - {detail}{fix}", item.kind.tag(), item.name),
            (inner.width as usize).saturating_sub(3),
        );
        let mut line = Line::from(vec![
            Span::styled(mark, style),
            Span::raw(" "),
            Span::raw(text),
        ]);
        if i == o.basket_cursor && o.focus == OrdersFocus::Basket {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(Line::from(styled(
            "Empty: add orders from the composer.",
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);

    // Bottom: what the checks say about the selected order, in words.
    let block = pane(
        Line::from(styled(" Order checks ", theme.title)),
        false,
        state,
        theme,
    );
    let inner = block.inner(alerts);
    frame.render_widget(block, alerts);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    // Said in full, wrapped: never cut at the pane's edge.
    if let Some(e) = &o.error {
        for l in wrap(e, width) {
            lines.push(Line::from(styled(l, theme.error)));
        }
    }
    if let Some(e) = &o.checks_error {
        let text = format!("ORDER CHECKS DID NOT RUN: {e}. You will be asked to acknowledge this.");
        for l in wrap(&text, width) {
            lines.push(Line::from(styled(l, theme.critical)));
        }
    }
    // Every alert's headline first (so none hides below the fold), then the details of the
    // most severe.
    let mut selected: Vec<_> = o
        .alerts
        .iter()
        .filter(|a| a.order == o.basket_cursor)
        .collect();
    selected.sort_by_key(|a| std::cmp::Reverse(a.severity));
    for a in &selected {
        let overridden = o.basket[a.order]
            .overrides
            .iter()
            .any(|(x, _)| x.what == a.what);
        let head = format!(
            "[{}] {}{}",
            a.severity.word(),
            a.what,
            if overridden { " (overridden)" } else { "" }
        );
        lines.push(Line::from(styled(
            fit(&head, width),
            theme.flag_style(a.severity),
        )));
    }
    if let Some(a) = selected.first() {
        for l in wrap(&format!("Why: {} Instead: {}", a.why, a.instead), width) {
            lines.push(Line::raw(l));
        }
        if let Some(src) = &a.source {
            lines.push(Line::from(styled(
                fit(&format!("Source: {src}"), width),
                theme.dim,
            )));
        }
    }
    if lines.is_empty() {
        let others = o.alerts.len();
        let text = if others > 0 {
            format!(
                "{} on other orders in the basket",
                crate::workstation::count(others, "alert", "alerts")
            )
        } else if o.basket.is_empty() {
            "Nothing in the basket to check.".to_string()
        } else {
            "No alerts on this order.".to_string()
        };
        lines.push(Line::from(styled(text, theme.dim)));
    }
    // The medication review: interactions and duplicates already among the active ones.
    if !c.review.is_empty() {
        lines.push(Line::from(styled(
            format!("Among the active medications ({}):", c.review.len()),
            theme.title,
        )));
        for a in &c.review {
            let head = format!("[{}] {}", a.severity.word(), a.what);
            lines.push(Line::from(styled(
                fit(&head, width),
                theme.flag_style(a.severity),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let _ = cell;
}
