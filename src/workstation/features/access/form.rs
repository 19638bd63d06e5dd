//! The sign-in, lock, new-password and passphrase forms: their keys come from `[form]`, the
//! text keys edit the field with the focus.

use crate::workstation::action::Action;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// Keys while the sign-in or lock screen shows: they go to its fields and nowhere else.
pub(crate) fn form_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) {
    let action = state.keymap.lookup_local(Context::Form, key);
    let Some(form) = &mut state.access.form else {
        return;
    };
    if action == Some(Action::Quit) {
        // Quitting from here shows nothing and keeps drafts (saved on the way out).
        state.quit = true;
        return;
    }
    if form.busy {
        return;
    }
    // The line-editing keys (typing, arrows, Backspace...), in whichever field has the focus.
    let field = match (form.mode, form.field) {
        (FormMode::Passphrase, _) => &mut form.password,
        (FormMode::Provider, _) => &mut form.code,
        (FormMode::NewPassword, 3) => &mut form.confirm,
        (FormMode::NewPassword, 2) => &mut form.code,
        (FormMode::NewPassword, _) => &mut form.password,
        _ => field_mut(form),
    };
    if action.is_none() && crate::workstation::line::edit_at(field, &mut state.field_cursor, key) {
        form.error = None;
        return;
    }
    let Some(action) = action else { return };
    if form.mode == FormMode::Passphrase {
        passphrase_action(form, action, effects);
        return;
    }
    if form.mode == FormMode::NewPassword {
        new_password_action(form, action, effects);
        return;
    }
    if form.mode == FormMode::Provider {
        let shown = state
            .access
            .provider
            .as_ref()
            .and_then(|p| p.shown.as_ref());
        provider_action(form, shown, action, effects);
        return;
    }
    let fields = if form.needs_code { 3 } else { 2 };
    match action {
        Action::NextField => form.field = (form.field + 1) % fields,
        Action::PreviousField => form.field = (form.field + fields - 1) % fields,
        // Another user at a locked terminal: sign in as yourself (the previous user's charts
        // close; their drafts stay on disk).
        Action::SwitchUser if form.mode == FormMode::Unlock => {
            *form = SignInForm::new(FormMode::SignIn, "");
            form.error = Some("sign in as another user: the open charts will close".into());
        }
        Action::Back => {
            form.password.clear();
            form.code.clear();
            form.error = None;
        }
        Action::Submit => {
            if form.username.trim().is_empty() {
                form.field = 0;
                form.error = Some("type your username".into());
            } else if form.field == 0 {
                form.field = 1;
            } else if form.password.is_empty() {
                form.field = 1;
                form.error = Some("type your password".into());
            } else if form.needs_code && form.code.trim().is_empty() {
                form.field = 2;
                form.error = Some("type the 6-digit code from your authenticator app".into());
            } else {
                form.busy = true;
                form.error = None;
                // Kept until the answer: a one-time password is needed again to replace it.
                form.current = form.password.clone();
                effects.push(Effect::Login {
                    username: form.username.trim().to_lowercase(),
                    password: std::mem::take(&mut form.password).into(),
                    code: form
                        .needs_code
                        .then(|| std::mem::take(&mut form.code).into()),
                    replace: state.access.signed_in,
                });
            }
        }
        _ => {}
    }
}

/// Choosing a new password in place of a one-time one: typed twice (and the code, if the
/// server asks for one). The server checks it against its policy and says why it refuses.
fn new_password_action(form: &mut SignInForm, action: Action, effects: &mut Vec<Effect>) {
    let order: &[usize] = if form.needs_code { &[1, 3, 2] } else { &[1, 3] };
    let at = order.iter().position(|f| *f == form.field).unwrap_or(0);
    match action {
        Action::NextField => form.field = order[(at + 1) % order.len()],
        Action::PreviousField => form.field = order[(at + order.len() - 1) % order.len()],
        Action::Back => {
            // Back to signing in: nothing was changed.
            let username = form.username.clone();
            *form = SignInForm::new(FormMode::SignIn, &username);
        }
        Action::Submit if form.field == 1 && form.confirm.is_empty() => form.field = 3,
        Action::Submit if form.password.is_empty() => {
            form.field = 1;
            form.error = Some("type the password you want to use from now on".into());
        }
        Action::Submit if form.password != form.confirm => {
            form.confirm.clear();
            form.field = 3;
            form.error = Some("the two new passwords differ; type it again".into());
        }
        Action::Submit if form.needs_code && form.code.trim().is_empty() => {
            form.field = 2;
            form.error = Some("type the 6-digit code from your authenticator app".into());
        }
        Action::Submit => {
            form.busy = true;
            form.error = None;
            effects.push(Effect::ChangePassword {
                username: form.username.trim().to_lowercase(),
                current: form.current.clone().into(),
                // Kept: the server may yet ask for a code.
                new: form.password.clone().into(),
                code: form
                    .needs_code
                    .then(|| std::mem::take(&mut form.code).into()),
            });
        }
        _ => {}
    }
}

/// Signing in again with the identity provider: Submit starts it; once it shows a link to
/// open elsewhere, Submit sends what was pasted (the address the browser landed on).
fn provider_action(
    form: &mut SignInForm,
    shown: Option<&crate::workstation::client::smart::Shown>,
    action: Action,
    effects: &mut Vec<Effect>,
) {
    use crate::workstation::client::smart::Shown;
    form.field = 2;
    match action {
        Action::Back => form.code.clear(),
        Action::Submit if shown.is_none() => {
            form.busy = true;
            form.error = None;
            effects.push(Effect::ProviderSignIn);
        }
        // Waiting on the browser here, or on another device: nothing to send from here.
        Action::Submit if !matches!(shown, Some(Shown::PasteUrl(_))) => {}
        Action::Submit if form.code.trim().is_empty() => {
            form.error = Some("paste the address the browser landed on (or the code in it)".into());
        }
        Action::Submit => {
            form.busy = true;
            form.error = None;
            effects.push(Effect::ProviderPaste(std::mem::take(&mut form.code).into()));
        }
        _ => {}
    }
}

/// The shortest passphrase accepted for the offline data.
pub const MIN_PASSPHRASE: usize = 8;

/// The passphrase form (a token-only server): one field.
fn passphrase_action(form: &mut SignInForm, action: Action, effects: &mut Vec<Effect>) {
    form.field = 1;
    match action {
        Action::Back => form.password.clear(),
        Action::Submit if form.password.chars().count() < MIN_PASSPHRASE => {
            form.error = Some(format!(
                "the passphrase needs at least {MIN_PASSPHRASE} characters"
            ));
        }
        Action::Submit => {
            form.busy = true;
            form.error = None;
            effects.push(Effect::OpenVault {
                secret: std::mem::take(&mut form.password).into(),
            });
        }
        _ => {}
    }
}

fn field_mut(form: &mut SignInForm) -> &mut String {
    match form.field {
        0 => &mut form.username,
        1 => &mut form.password,
        3 => &mut form.confirm,
        _ => &mut form.code,
    }
}
