//! Pure `update` tests: messages in, state out. The helpers are here, the tests by feature
//! beside.

mod access;
mod census;
mod chart;
mod inbox;
mod keys;
mod lists;
mod offline;
mod orders;
mod register;
mod search;
mod support;
mod vitals;
mod work;

use super::*;
use crate::workstation::chart::read_patient;
use crate::workstation::client::FetchError;
use crate::workstation::features::help::help_entries;
use crate::workstation::keymap::Keymap;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::state::Display;
use crossterm::event::{KeyEvent, KeyEventState};
use ratatui::layout::Rect;
use serde_json::{Value, json};
use std::sync::Arc;

fn state() -> State {
    let display = Display {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        zone: chrono::FixedOffset::east_opt(0).unwrap(),
        ascii: false,
        braille: true,
        server: "http://test/fhir".into(),
    };
    State::new(
        display,
        Arc::new(Keymap::default_keymap()),
        Rect::new(0, 0, 80, 24),
        Vec::new(),
    )
}

fn key(s: &mut State, k: &str) -> Vec<Effect> {
    let key = Key::parse(k).unwrap();
    update(
        s,
        Msg::Key(KeyEvent {
            code: key.code,
            modifiers: key.mods,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }),
    )
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| key(s, &c.to_string())).collect()
}

/// Opens patient `p` (context 1) with `resources` as the whole chart.
fn open_chart(s: &mut State, resources: Vec<Value>) {
    update(s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(resources),
        }),
    );
    update(s, Msg::Chart(ChartMsg::Done { context: 1 }));
}

fn patient(id: &str, family: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "name": [{"family": family, "given": ["Jo"]}]})
}

/// A state with the shipped catalog and knowledge loaded.
fn state_with_orders() -> State {
    use crate::workstation::orders::catalog::Catalog;
    use crate::workstation::orders::knowledge::Knowledge;
    let mut s = state();
    let (knowledge, _) = Knowledge::load(None);
    let (catalog, _) = Catalog::load(&knowledge, None);
    s.order_settings = Arc::new(crate::workstation::state::OrderSettings {
        catalog,
        knowledge,
        duplicate_window_ms: 86_400_000,
    });
    s
}

/// The screen for the state, as text.
fn screen(s: &State) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let theme = crate::workstation::theme::Theme::color();
    let mut t = Terminal::new(TestBackend::new(s.size.width, s.size.height)).unwrap();
    t.draw(|f| crate::workstation::view::view(s, &theme, f))
        .unwrap();
    let buffer = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn obs(id: &str, day: u32) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "subject": {"reference": "Patient/p"}, "code": {"text": format!("Test {id}")},
           "effectiveDateTime": format!("2026-10-{day:02}T10:00:00Z"),
           "valueQuantity": {"value": day, "unit": "u"}})
}

/// A chart with a signed note on its way to the server: the `SendNote` effect's parts.
fn sending_a_note(s: &mut State) -> (u64, Box<Draft>, DocStatus, Value) {
    s.storage.enabled = true;
    s.storage.open = true;
    s.notes = Arc::new(NoteSettings {
        templates: crate::workstation::notes::templates(None).0,
        ..Default::default()
    });
    open_chart(s, vec![patient("p", "Doe")]);
    let mut effects = Vec::new();
    notes::create_note(s, 0, None, &mut effects);
    effects.clear();
    notes::confirm_send(s, DocStatus::Final, &mut effects);
    let sent = effects.into_iter().find_map(|e| match e {
        Effect::SendNote {
            context,
            draft,
            status,
            author,
        } => Some((context, draft, status, author)),
        _ => None,
    });
    sent.expect("signing sends the note")
}

/// A sign-in form with `username` and `password` submitted: the effects of Enter.
fn signing_in(s: &mut State, mode: FormMode, username: &str, password: &str) -> Vec<Effect> {
    s.access.form = Some(SignInForm::new(mode, ""));
    if mode == FormMode::SignIn {
        typed(s, username);
        key(s, "tab");
    } else if let Some(form) = &mut s.access.form {
        form.username = username.into();
        form.field = 1;
    }
    typed(s, password);
    key(s, "enter")
}

fn restricted_patient(id: &str) -> Value {
    let mut p = patient(id, "Hidden");
    p["meta"] = json!({"security": [crate::fhir::restricted_label()]});
    p
}

/// Opens patient `p` as `role` and returns the `OpenChart` effect's `from_cache`.
fn opening_as(s: &mut State, role: &str) -> bool {
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "u".into(),
        name: "U".into(),
        role: role.into(),
        practitioner: None,
    });
    let effects = update(s, Msg::Chart(ChartMsg::Open("p".into())));
    effects
        .iter()
        .find_map(|e| match e {
            Effect::OpenChart { from_cache, .. } => Some(*from_cache),
            _ => None,
        })
        .expect("opening a patient opens the chart")
}

/// A keymap with the user's file merged over the default one.
fn with_keymap(s: &mut State, user: &str) {
    let mut k = Keymap::default_keymap();
    k.merge(user, "keymap.toml");
    assert!(k.problems.is_empty(), "{:?}", k.problems);
    s.keymap = Arc::new(k);
}
