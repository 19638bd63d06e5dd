//! Signing in, locking, the vault, secrets.

use super::*;

#[test]
fn idle_lock_hides_the_chart_and_the_password_unlocks() {
    let mut s = state();
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: Some("pr1".into()),
    });
    s.access.idle_ms = 300_000;
    s.now_ms = 1_000_000;
    s.access.last_input_ms = s.now_ms;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    // Not yet idle long enough.
    s.now_ms += 299_000;
    update(&mut s, Msg::Access(AccessMsg::IdleCheck));
    assert!(s.access.form.is_none());
    s.now_ms += 1_000;
    update(&mut s, Msg::Access(AccessMsg::IdleCheck));
    let form = s.access.form.clone().expect("locked");
    assert_eq!(form.mode, FormMode::Unlock);
    assert_eq!(form.username, "ada");
    // Keys go to the form, not the chart.
    typed(&mut s, "q");
    assert_eq!(s.screen, Screen::Chart);
    assert_eq!(s.access.form.as_ref().unwrap().password, "q");
    key(&mut s, "backspace");
    typed(&mut s, "secret");
    let effects = key(&mut s, "enter");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Login { password, .. } if password.expose() == "secret"))
    );
    let user = crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: Some("pr1".into()),
    };
    update(&mut s, Msg::Access(AccessMsg::SignedIn(Ok(user))));
    assert!(s.access.form.is_none());
    assert!(s.chart.is_some(), "the same user finds the chart as it was");
    assert_eq!(
        s.notes.author_reference.as_deref(),
        Some("Practitioner/pr1")
    );
    // Ctrl-L locks at once.
    key(&mut s, "ctrl-l");
    assert!(s.access.form.is_some());
}

/// A search answered 401 (the token expired or was revoked): the lock screen's error.
fn refused_search(s: &mut State) -> (FormMode, String) {
    s.access.signed_in = true;
    let generation = s.search.generation;
    update(
        s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Err(FetchError::Unauthorized(401)),
        }),
    );
    let form = s.access.form.as_ref().expect("locked");
    (form.mode, form.error.clone().unwrap_or_default())
}

#[test]
fn an_expired_token_locks_for_a_new_sign_in() {
    let mut s = state();
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: None,
    });
    let (_, error) = refused_search(&mut s);
    assert!(
        error.contains("expired") && error.contains("enter your password"),
        "{error}"
    );
}

#[test]
fn an_expired_command_line_token_says_how_to_get_going_again() {
    // Started with --token: no sign-in of the server's own, so no password to enter.
    let mut s = state();
    s.storage.enabled = true;
    let (mode, error) = refused_search(&mut s);
    assert!(error.contains("--token"), "{error}");
    assert!(error.contains("Press Ctrl-c to quit"), "{error}");
    assert!(!error.contains("enter your password"), "{error}");
    assert_eq!(mode, FormMode::Passphrase);
}

#[test]
fn locking_closes_the_vault_after_saving_the_note() {
    let mut s = state();
    s.storage.enabled = true;
    s.storage.open = true;
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "u".into(),
        name: "U".into(),
        role: "physician".into(),
        practitioner: None,
    });
    let effects = key(&mut s, "ctrl-l");
    assert_eq!(effects, vec![Effect::CloseVault]);
    assert!(!s.storage.open);
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Unlock);
    // A token user (no sign-in) unlocks with the passphrase.
    let mut s = state();
    s.storage.enabled = true;
    s.access.signed_in = true;
    key(&mut s, "ctrl-l");
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Passphrase);
    typed(&mut s, "short");
    let effects = key(&mut s, "enter");
    assert!(effects.is_empty());
    assert!(s.access.form.as_ref().unwrap().error.is_some());
    typed(&mut s, " enough");
    let effects = key(&mut s, "enter");
    assert_eq!(
        effects,
        vec![Effect::OpenVault {
            secret: "short enough".into()
        }]
    );
}

#[test]
fn a_one_time_password_is_replaced_at_sign_in() {
    use crate::workstation::client::LoginError;
    let mut s = state();
    s.access.form = Some(SignInForm::new(FormMode::SignIn, ""));
    typed(&mut s, "newdoc");
    key(&mut s, "tab");
    typed(&mut s, "abcde-fghjk");
    let effects = key(&mut s, "enter");
    assert!(effects.iter().any(|e| matches!(e, Effect::Login { .. })));
    update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::MustChange(
            "one-time".into(),
        )))),
    );
    let form = s.access.form.clone().expect("still signing in");
    assert_eq!(form.mode, FormMode::NewPassword);
    assert!(
        form.error
            .as_deref()
            .unwrap_or_default()
            .contains("one-time")
    );
    // Typed twice; a mismatch is caught here, before the server is asked.
    typed(&mut s, "lantern orchard quietly");
    key(&mut s, "tab");
    typed(&mut s, "lantern orchard quiet");
    assert!(key(&mut s, "enter").is_empty());
    let form = s.access.form.clone().unwrap();
    assert!(form.error.unwrap().contains("differ"));
    typed(&mut s, "lantern orchard quietly");
    let effects = key(&mut s, "enter");
    let change = effects.iter().find_map(|e| match e {
        Effect::ChangePassword {
            username,
            current,
            new,
            ..
        } => Some((
            username.clone(),
            current.expose().to_string(),
            new.expose().to_string(),
        )),
        _ => None,
    });
    assert_eq!(
        change,
        Some((
            "newdoc".to_string(),
            "abcde-fghjk".to_string(),
            "lantern orchard quietly".to_string()
        ))
    );
    // Refused by the policy: the reason shows and the user chooses again.
    update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Refused(
            "on the list".into(),
        )))),
    );
    let form = s.access.form.clone().unwrap();
    assert_eq!(form.mode, FormMode::NewPassword);
    assert_eq!(form.error.as_deref(), Some("on the list"));
    assert!(form.password.is_empty() && form.confirm.is_empty());
    assert_eq!(form.current, "abcde-fghjk");
    // The form says what it is for, and never shows the password, at 80x24 and on a 40x10.
    typed(&mut s, "secret words here");
    let theme = crate::workstation::theme::Theme::color();
    for (w, h) in [(80, 24), (40, 10)] {
        s.size = Rect::new(0, 0, w, h);
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        t.draw(|f| crate::workstation::view::view(&s, &theme, f))
            .unwrap();
        let screen: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(!screen.contains("secret"), "{screen}");
        if w == 80 {
            assert!(screen.contains("choose your password"), "{screen}");
            assert!(screen.contains("one-time password"), "{screen}");
        }
    }
}

#[test]
fn a_sign_in_the_server_did_not_answer_is_checked_on_this_terminal() {
    use crate::workstation::client::LoginError;
    let unreachable = FetchError::Unreachable("connection refused".into());
    let mut s = state();
    s.storage.enabled = true;
    let effects = signing_in(&mut s, FormMode::SignIn, "Doc", "lantern orchard");
    assert!(effects.iter().any(|e| matches!(e, Effect::Login { .. })));
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            unreachable.clone(),
        )))),
    );
    assert_eq!(
        effects,
        vec![Effect::OpenOffline {
            username: "doc".into(),
            password: "lantern orchard".into(),
            same_user: false,
            unreachable: unreachable.clone(),
        }]
    );
    let form = s.access.form.as_ref().expect("still signing in");
    assert!(form.busy && form.current.is_empty() && form.error.is_none());

    // Unlocking for the user already signed in keeps their token.
    let mut s = state();
    s.storage.enabled = true;
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "doc".into(),
        name: "Doc".into(),
        role: "physician".into(),
        practitioner: None,
    });
    signing_in(&mut s, FormMode::Unlock, "doc", "lantern orchard");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            FetchError::Timeout(10),
        )))),
    );
    assert!(
        matches!(
            &effects[..],
            [Effect::OpenOffline {
                same_user: true,
                ..
            }]
        ),
        "{effects:?}"
    );
}

#[test]
fn a_sign_in_is_not_tried_offline_when_refused_or_when_nothing_is_kept_here() {
    use crate::workstation::client::LoginError;
    // Nothing kept on this terminal: the failure is shown, nothing else is tried.
    let mut s = state();
    signing_in(&mut s, FormMode::SignIn, "doc", "lantern orchard");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            FetchError::Unreachable("x".into()),
        )))),
    );
    assert!(effects.is_empty(), "{effects:?}");
    let form = s.access.form.as_ref().unwrap();
    assert!(!form.busy && form.error.as_deref().unwrap().contains("cannot reach"));
    // The server answered no: a refusal is never retried against the key file.
    let mut s = state();
    s.storage.enabled = true;
    signing_in(&mut s, FormMode::SignIn, "doc", "wrong password");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Refused(
            "wrong username or password".into(),
        )))),
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert!(!s.access.form.as_ref().unwrap().busy);
}

#[test]
fn secrets_and_note_text_never_print_by_debug() {
    let mut s = state();
    s.notes = Arc::new(NoteSettings {
        templates: crate::workstation::notes::templates(None).0,
        ..Default::default()
    });
    open_chart(&mut s, vec![patient("p", "Doe")]);
    let mut effects = Vec::new();
    notes::create_note(&mut s, 0, None, &mut effects);
    typed(&mut s, "confides-a-secret");
    let note = format!(
        "{:?}",
        s.chart.as_ref().and_then(|c| c.note.as_ref()).unwrap()
    );
    let mut form = SignInForm::new(FormMode::SignIn, "doc");
    form.password = "hunter2-password".into();
    form.code = "123456".into();
    form.current = "one-time-pass".into();
    let client = crate::workstation::client::FhirClient::new(
        "http://127.0.0.1:9/fhir",
        Some("tok-en-xyz".into()),
    )
    .unwrap();
    let login = Effect::Login {
        username: "doc".into(),
        password: "hunter2-password".into(),
        code: Some("123456".into()),
        replace: false,
    };
    let sign = Overlay::Signature {
        target: SignTarget::Orders,
        input: "hunter2-password".into(),
        error: None,
        checking: false,
    };
    let printed = format!("{note} {form:?} {client:?} {login:?} {sign:?} {effects:?}");
    for secret in [
        "confides-a-secret",
        "hunter2",
        "123456",
        "one-time-pass",
        "tok-en-xyz",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[test]
fn the_sign_in_form_takes_its_keys_and_hints_from_the_keymap() {
    let mut s = state();
    with_keymap(
        &mut s,
        "[form]\n\"enter\" = \"none\"\n\"ctrl-j\" = \"submit\"\n\"tab\" = \"none\"\n\"f4\" = \"next_field\"\n",
    );
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: None,
    });
    key(&mut s, "ctrl-l");
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Unlock);
    typed(&mut s, "secret");
    assert!(key(&mut s, "enter").is_empty(), "Enter is unbound here");
    let shown = screen(&s);
    assert!(shown.contains("Ctrl-j unlock"), "{shown}");
    assert!(!shown.contains("Enter unlock"), "{shown}");
    let effects = key(&mut s, "ctrl-j");
    assert!(
        matches!(&effects[..], [Effect::Login { .. }]),
        "{effects:?}"
    );

    // A new sign-in: the next-field key is the user's, and the hint says so.
    let mut s = state();
    with_keymap(
        &mut s,
        "[form]\n\"tab\" = \"none\"\n\"down\" = \"none\"\n\"f4\" = \"next_field\"\n",
    );
    s.access.form = Some(SignInForm::new(FormMode::SignIn, ""));
    typed(&mut s, "ada");
    key(&mut s, "tab");
    assert_eq!(s.access.form.as_ref().unwrap().field, 0, "Tab is unbound");
    assert!(screen(&s).contains("F4 next field"));
    key(&mut s, "f4");
    assert_eq!(s.access.form.as_ref().unwrap().field, 1);
}

/// Signed in through the identity provider: when its sign-in ends (a renewal refused, or a
/// 401), the lock screen signs in with it again; the same person's tokens are used and the
/// passphrase opens the offline data; someone else's are dropped.
#[test]
fn a_provider_sign_in_that_ended_is_done_again_at_the_lock_screen() {
    use crate::workstation::client::smart::Shown;
    let mut s = state();
    s.storage.enabled = true;
    s.access.signed_in = true;
    s.access.provider = Some(ProviderAccess {
        who: Some("dr.smart".into()),
        shown: None,
    });
    update(
        &mut s,
        Msg::Access(AccessMsg::RenewalFailed(
            "the identity provider refused: invalid_grant".into(),
        )),
    );
    let form = s.access.form.clone().expect("locked");
    assert_eq!(form.mode, FormMode::Provider);
    let error = form.error.unwrap_or_default();
    assert!(
        error.contains("invalid_grant") && error.contains("Press Enter to sign in again"),
        "{error}"
    );
    // A 401 on top of it leaves the form as it is.
    let (mode, _) = refused_search(&mut s);
    assert_eq!(mode, FormMode::Provider);

    // Enter starts the sign-in; the link to open elsewhere, then a paste.
    let effects = key(&mut s, "enter");
    assert!(effects.iter().any(|e| matches!(e, Effect::ProviderSignIn)));
    assert!(
        key(&mut s, "enter").is_empty(),
        "busy: nothing more until it answers"
    );
    update(
        &mut s,
        Msg::Access(AccessMsg::ProviderShown(Shown::PasteUrl(
            "https://idp.example/auth?x=1".into(),
        ))),
    );
    let effects = key(&mut s, "enter");
    assert!(effects.is_empty());
    assert!(
        s.access
            .form
            .as_ref()
            .unwrap()
            .error
            .as_ref()
            .is_some_and(|e| e.contains("paste"))
    );
    typed(&mut s, "http://127.0.0.1/callback?code=c&state=s");
    let effects = key(&mut s, "enter");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::ProviderPaste(t) if t.expose().contains("code=c")))
    );
    // A wrong paste: say so, paste again.
    update(
        &mut s,
        Msg::Access(AccessMsg::ProviderShown(Shown::TryAgain(
            "not this sign-in".into(),
        ))),
    );
    assert!(!s.access.form.as_ref().unwrap().busy);

    // Someone else signed in at this terminal: their tokens are dropped, the lock stays.
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::ProviderSignedIn(Ok(Some("dr.other".into())))),
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::ProviderDiscard)));
    let form = s.access.form.clone().expect("still locked");
    assert_eq!(form.mode, FormMode::Provider);
    assert!(
        form.error
            .unwrap_or_default()
            .contains("in use by dr.smart")
    );

    // The same person: their tokens are used, the passphrase opens the offline data.
    key(&mut s, "enter");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::ProviderSignedIn(Ok(Some("dr.smart".into())))),
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::ProviderAccept)));
    let form = s.access.form.clone().expect("the passphrase next");
    assert_eq!(form.mode, FormMode::Passphrase);
    assert!(form.error.unwrap_or_default().contains("signed in again"));
}
