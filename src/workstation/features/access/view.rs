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
    if form.mode == FormMode::Provider {
        draw_provider(state, theme, frame, area, form);
        return;
    }
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
        lines.push(Line::raw(if state.access.provider.is_some() {
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

/// The lock screen of a user whose sign-in with the identity provider ended: sign in with it
/// again here. What the provider's sign-in asks is drawn in full: the link (wrapped, to copy),
/// its QR code when the screen has room, or the device code.
fn draw_provider(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, form: &SignInForm) {
    use crate::workstation::client::smart::{Shown, qr_text};
    let shown = state
        .access
        .provider
        .as_ref()
        .and_then(|p| p.shown.as_ref());
    // A QR code only where it fits whole with the rest (it is useless cut); the box widens
    // for it.
    let qr_of = |url: &str| -> Vec<String> {
        qr_text(url)
            .map(|q| q.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|q| {
                q.len() + 16 <= area.height as usize
                    && q.iter()
                        .all(|l| l.chars().count() + 3 <= area.width as usize)
            })
            .unwrap_or_default()
    };
    let qr_rows = match shown {
        Some(Shown::PasteUrl(url)) => qr_of(url),
        Some(Shown::DeviceCode {
            complete: Some(url),
            ..
        }) => qr_of(url),
        _ => Vec::new(),
    };
    let qr_width = qr_rows.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16;
    let w = 76.max(qr_width + 3).min(area.width);
    let text_width = w.saturating_sub(3) as usize;
    let mut lines = vec![
        Line::raw(" This terminal is locked."),
        Line::from(styled(format!(" {}", state.display.server), theme.dim)),
    ];
    if let Some(way) = &state.access.way_in {
        lines.push(Line::from(styled(
            format!(" Signed in with {way}"),
            theme.dim,
        )));
    }
    if !form.username.is_empty() {
        lines.push(Line::raw(format!(" In use by {}.", form.username)));
    }
    lines.push(Line::raw(""));
    let wrapped = |text: &str| -> Vec<Line<'static>> {
        crate::workstation::wrap::words(text, text_width)
            .into_iter()
            .map(|row| Line::raw(format!(" {row}")))
            .collect()
    };
    let qr: Vec<Line<'static>> = qr_rows.iter().map(|l| Line::raw(format!(" {l}"))).collect();
    let mut cursor = None;
    match shown {
        None if form.busy => lines.push(Line::raw(" Asking the identity provider...")),
        None => {}
        Some(Shown::OpenUrl(url)) => {
            lines.push(Line::raw(
                " Your browser opens the sign-in page. If it does not, open:",
            ));
            lines.extend(wrapped(url));
            lines.push(Line::raw(" Waiting for the browser..."));
        }
        Some(Shown::PasteUrl(url)) => {
            lines.push(Line::raw(
                " Open this address in a browser (or scan the code):",
            ));
            lines.extend(qr.iter().cloned());
            lines.extend(wrapped(url));
            lines.push(Line::raw(" Then paste the address the browser lands on:"));
            cursor = Some(lines.len());
            let shown_text: String = {
                let n = form.code.chars().count();
                let skip = n.saturating_sub(text_width.saturating_sub(14));
                form.code.chars().skip(skip).collect()
            };
            lines.push(Line::from(vec![
                styled("> Answer    ".to_string(), theme.key),
                Span::raw(shown_text),
            ]));
        }
        Some(Shown::DeviceCode {
            uri,
            code,
            complete,
        }) => {
            let _ = complete;
            lines.extend(qr.iter().cloned());
            lines.push(Line::raw(format!(" On any device, open {uri}")));
            lines.push(Line::raw(" and enter the code"));
            lines.push(Line::from(styled(format!("     {code}"), theme.title)));
            lines.push(Line::raw(" Waiting for you to finish there..."));
        }
        Some(Shown::TryAgain(_)) => {}
    }
    lines.push(Line::raw(""));
    if let Some(error) = form.error.as_ref().filter(|_| !form.busy) {
        for row in crate::workstation::wrap::words(error, text_width) {
            lines.push(Line::from(styled(format!(" {row}"), theme.error)));
        }
    } else if form.busy && shown.is_some() {
        lines.push(Line::raw(" checking..."));
    }
    let key = |a| state.keymap.hint(Context::Form, a);
    let (submit, quit) = (key(Action::Submit), key(Action::Quit));
    let keys = match shown {
        None => format!(" {submit} sign in with the identity provider  {quit} quit"),
        Some(Shown::PasteUrl(_)) => format!(" {submit} send what was pasted  {quit} quit"),
        Some(_) => format!(" {quit} quit"),
    };
    lines.push(Line::from(styled(keys, theme.dim)));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let block = pane(
        Line::from(styled(" bedside: LOCKED, sign in again ", theme.title)),
        true,
        state,
        theme,
    );
    let inner = block.inner(r);
    frame.render_widget(Paragraph::new(lines).block(block), r);
    if let Some(line) = cursor.filter(|_| !form.busy) {
        let col = 12 + form.code.chars().count().min(text_width.saturating_sub(14));
        frame.set_cursor_position(Position::new(
            (inner.x + col as u16).min(inner.right().saturating_sub(1)),
            inner.y + line as u16,
        ));
    }
}
