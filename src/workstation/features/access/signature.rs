//! The electronic signature: after the confirm that names the patient, a note or an order
//! basket is signed only once the server has checked the signer's password (or signature
//! PIN). A wrong one is counted by the server like a failed sign-in; nothing is signed.

use crate::workstation::action::Action;
use crate::workstation::client::FetchError;
use crate::workstation::features::note::update as notes;
use crate::workstation::features::orders::update as orders;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::notes::document::DocStatus;
use crate::workstation::state::*;

/// The clinician confirmed: ask for the signature where the site requires one, else go on.
pub(crate) fn confirmed(state: &mut State, target: SignTarget, effects: &mut Vec<Effect>) {
    let required = match target {
        // Offline, orders are refused whatever is typed: no signature to ask for.
        SignTarget::Orders if state.storage.offline() => false,
        SignTarget::Orders | SignTarget::Cosign => state.access.signing.orders(),
        SignTarget::Note(DocStatus::Final) => state.access.signing.notes(),
        SignTarget::Note(DocStatus::Preliminary) => false,
    };
    if required {
        state.overlay = Some(Overlay::Signature {
            target,
            input: Default::default(),
            error: None,
            checking: false,
        });
    } else {
        sign(state, target, effects);
    }
}

fn sign(state: &mut State, target: SignTarget, effects: &mut Vec<Effect>) {
    match target {
        SignTarget::Orders => orders::confirm_sign(state, effects),
        SignTarget::Note(status) => notes::confirm_send(state, status, effects),
        SignTarget::Cosign => {
            crate::workstation::features::work::update::send_cosign(state, effects)
        }
    }
}

/// A key while the signature is asked for; false when the overlay is not it.
pub(crate) fn signature_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> bool {
    let Some(Overlay::Signature {
        target,
        mut input,
        error,
        checking,
    }) = state.overlay.clone()
    else {
        return false;
    };
    let action = state.keymap.lookup_local(Context::Form, key);
    if checking {
        // Waiting for the server: only Back (which abandons the signing, not the work).
        if action == Some(Action::Back) {
            state.overlay = None;
        }
        return true;
    }
    let mut error = error;
    match action {
        Some(Action::Back) => {
            state.overlay = None;
            state.notice = Some(Notice {
                level: Level::Info,
                text: format!("not signed: the {} is kept as it was", what(target)),
            });
            return true;
        }
        Some(Action::Submit) if input.is_empty() => {
            error = Some("type your password (or your signature PIN) to sign".into());
        }
        Some(Action::Submit) => {
            let context = state.chart.as_ref().map_or(0, |c| c.context);
            effects.push(Effect::CheckSignature {
                context,
                target,
                secret: std::mem::take(&mut input),
            });
            state.overlay = Some(Overlay::Signature {
                target,
                input,
                error: None,
                checking: true,
            });
            return true;
        }
        _ => {
            if !crate::workstation::line::edit_at(input.edit(), &mut state.field_cursor, key) {
                return true;
            }
        }
    }
    state.overlay = Some(Overlay::Signature {
        target,
        input,
        error,
        checking: false,
    });
    true
}

fn what(target: SignTarget) -> &'static str {
    match target {
        SignTarget::Orders => "order basket",
        SignTarget::Note(_) => "note",
        SignTarget::Cosign => "draft order",
    }
}

/// The server's answer to a signature check. The answer counts only for the chart it was
/// asked on, and only while the signature is still being asked for.
pub(crate) fn checked(
    state: &mut State,
    context: u64,
    target: SignTarget,
    result: Result<bool, FetchError>,
    effects: &mut Vec<Effect>,
) {
    let waiting = matches!(
        &state.overlay,
        Some(Overlay::Signature { target: t, checking: true, .. }) if *t == target
    );
    let same_chart = state.chart.as_ref().is_some_and(|c| c.context == context);
    if !waiting || !same_chart {
        return;
    }
    match result {
        Ok(locally) => {
            state.overlay = None;
            if locally {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: "signature checked on this terminal (the server cannot be reached)"
                        .into(),
                });
            }
            sign(state, target, effects);
        }
        Err(e) => {
            let error = match e {
                FetchError::SignatureRefused(m) => m,
                FetchError::NotFound => "this server cannot check electronic signatures: \
                     nothing was signed (a site without them sets signing = \"none\" in \
                     config.toml)"
                    .to_string(),
                e => format!("the signature could not be checked ({e}): nothing was signed"),
            };
            state.overlay = Some(Overlay::Signature {
                target,
                input: Default::default(),
                error: Some(error),
                checking: false,
            });
        }
    }
}
