//! The sign-in and lock screens. Nothing about any patient is drawn here: the next person at a
//! shared terminal sees the server, the user who locked it, and the fields.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::{FormMode, SignInForm, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{pane, styled};

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, form: &SignInForm) {
    frame.render_widget(Clear, area);
    let locked = form.mode == FormMode::Unlock;
    let passphrase = form.mode == FormMode::Passphrase;
    let choosing = form.mode == FormMode::NewPassword;
    let title = if locked {
        " bedside: LOCKED "
    } else if choosing {
        " bedside: choose your password "
    } else if passphrase {
        " bedside: offline data passphrase "
    } else {
        " bedside: sign in "
    };
    let w = 64.min(area.width);
    // The error in full, wrapped (a long one grows the box instead of being cut).
    let error_rows: Vec<String> = match (&form.error, form.busy) {
        (Some(e), false) => crate::workstation::wrap::words(e, w.saturating_sub(3) as usize),
        _ => Vec::new(),
    };
    // Where, and how the user got in, when not by the server's own sign-in.
    let way_rows = if state.access.way_in.is_some() && (locked || passphrase) {
        2
    } else {
        0
    };
    let h = (14 + way_rows + error_rows.len().saturating_sub(1) as u16).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let mut lines = Vec::new();
    if passphrase {
        lines.push(Line::raw(if state.access.by_provider {
            " Signed in by the identity provider: a passphrase"
        } else {
            " This server gave a token, not a sign-in: a passphrase"
        }));
        lines.push(Line::raw(
            " seals the charts, notes and drafts this terminal keeps.",
        ));
        lines.push(Line::raw(
            " Asked once per session, and to unlock. At least 8 characters.",
        ));
    } else if choosing {
        lines.push(Line::raw(format!(
            " {} signed in with a one-time password.",
            form.username
        )));
        lines.push(Line::raw(
            " Choose your own: 12 or more characters, not a common one.",
        ));
    } else if locked {
        let who = state
            .access
            .user
            .as_ref()
            .map(|u| format!("{} ({})", u.name, u.username))
            .unwrap_or_else(|| form.username.clone());
        lines.push(Line::raw(" This terminal is locked."));
        lines.push(Line::raw(format!(" In use by {who}.")));
    } else {
        lines.push(Line::raw(" Sign in to see patient records."));
        lines.push(Line::from(styled(
            format!(" {}", state.display.server),
            theme.dim,
        )));
    }
    if let Some(way) = state.access.way_in.as_ref().filter(|_| way_rows > 0) {
        lines.push(Line::from(styled(
            format!(" {}", state.display.server),
            theme.dim,
        )));
        lines.push(Line::from(styled(
            format!(" Signed in with {way}"),
            theme.dim,
        )));
    }
    lines.push(Line::raw(""));
    let field = |label: &str, value: String, index: usize| {
        let marker = if form.field == index { ">" } else { " " };
        Line::from(vec![
            styled(format!("{marker} {label:<10}"), theme.key),
            Span::raw(value),
        ])
    };
    let mask = |s: &str| "*".repeat(s.chars().count());
    let mut cursor_line = 0;
    let mut cursor_col = 0;
    let fields: Vec<(&str, String, usize, usize)> = {
        let mut f = vec![
            (
                "Username",
                form.username.clone(),
                0,
                crate::workstation::text::width(&form.username),
            ),
            (
                "Password",
                mask(&form.password),
                1,
                form.password.chars().count(),
            ),
        ];
        if passphrase {
            f.remove(0);
            f[0].0 = "Passphrase";
        }
        if choosing {
            f.remove(0);
            f[0].0 = "New";
            f.insert(
                1,
                (
                    "Again",
                    mask(&form.confirm),
                    3,
                    form.confirm.chars().count(),
                ),
            );
        }
        if form.needs_code {
            f.push(("Code", form.code.clone(), 2, form.code.chars().count()));
        }
        f
    };
    for (label, value, index, len) in fields {
        if form.field == index {
            cursor_line = lines.len();
            cursor_col = 12 + state.field_cursor.unwrap_or(len).min(len);
        }
        lines.push(field(label, value, index));
    }
    lines.push(Line::raw(""));
    if form.busy {
        lines.push(Line::raw(" checking..."));
    } else if !error_rows.is_empty() {
        for row in &error_rows {
            lines.push(Line::from(styled(format!(" {row}"), theme.error)));
        }
    } else {
        lines.push(Line::raw(""));
    }
    let key = |a| state.keymap.hint(Context::Form, a);
    let (submit, next, back, quit) = (
        key(Action::Submit),
        key(Action::NextField),
        key(Action::Back),
        key(Action::Quit),
    );
    let keys = if passphrase {
        format!(" {submit} continue  {quit} quit")
    } else if choosing {
        format!(" {submit} set password  {next} next field  {back} back  {quit} quit")
    } else if locked {
        let switch = key(Action::SwitchUser);
        format!(" {submit} unlock  {switch} sign in as another user  {quit} quit")
    } else {
        format!(" {submit} sign in  {next} next field  {quit} quit")
    };
    lines.push(Line::from(styled(keys, theme.dim)));
    if let Some(password) = &state.access.demo_password {
        lines.push(Line::from(styled(
            format!(" demo only: the demo users' password is {password}"),
            theme.dim,
        )));
    }
    let block = pane(Line::from(styled(title, theme.title)), true, state, theme);
    let inner = block.inner(r);
    frame.render_widget(Paragraph::new(lines).block(block), r);
    if !form.busy {
        frame.set_cursor_position(Position::new(
            (inner.x + cursor_col as u16).min(inner.right().saturating_sub(1)),
            inner.y + cursor_line as u16,
        ));
    }
}
