//! Ordering: the composer, checks, signing.

use super::*;

#[test]
fn the_composer_searches_the_whole_catalog_again_after_an_edit() {
    let mut s = state_with_orders();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    typed(&mut s, "o");
    let picks = |s: &State| {
        s.chart
            .as_ref()
            .unwrap()
            .orders
            .as_ref()
            .unwrap()
            .picks
            .len()
    };
    typed(&mut s, "amox");
    let direct = picks(&s);
    assert!(direct > 0);
    // Once the empty query left an empty pool, every later query found nothing.
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    typed(&mut s, "x");
    key(&mut s, "backspace");
    typed(&mut s, "amox");
    assert_eq!(picks(&s), direct);
    // A changed letter in the middle (not an extension) also searches afresh.
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    typed(&mut s, "ox");
    assert_eq!(picks(&s), direct);
}

#[test]
fn interactions_already_among_the_active_medications_are_shown() {
    let mut s = state_with_orders();
    s.size = Rect::new(0, 0, 120, 40);
    let subject = json!({"reference": "Patient/p"});
    let med = |id: &str, code: &str, name: &str| {
        json!({"resourceType": "MedicationRequest", "id": id, "status": "active",
               "intent": "order", "subject": subject, "authoredOn": "2026-11-01T08:00:00Z",
               "medicationCodeableConcept": {"text": name, "coding": [
                   {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}]}})
    };
    open_chart(
        &mut s,
        vec![
            med("m1", "11289", "warfarin"),
            med("m2", "5640", "ibuprofen"),
            json!({"resourceType": "AllergyIntolerance", "id": "n", "patient": subject,
                   "code": {"coding": [{"system": "http://snomed.info/sct", "code": "409137002"}]}}),
        ],
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.review.len(), 1);
    assert!(c.review[0].what.contains("warfarin with ibuprofen"));
    // On the summary...
    key(&mut s, "s");
    let summary = screen(&s);
    assert!(
        summary.contains("[HIGH] warfarin with ibuprofen"),
        "{summary}"
    );
    // ...and in the orders pane, which never says "No alerts" over it.
    key(&mut s, "esc");
    key(&mut s, "o");
    let orders = screen(&s);
    assert!(
        orders.contains("Among the active medications (1)"),
        "{orders}"
    );
    assert!(
        orders.contains("[HIGH] warfarin with ibuprofen"),
        "{orders}"
    );
    assert!(!orders.contains("No alerts"), "{orders}");
}

#[test]
fn orders_when_checks_cannot_run_must_be_acknowledged() {
    let mut s = state_with_orders();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Allergies {
            context: 1,
            result: Err(FetchError::Timeout(10)),
        }),
    );
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    typed(&mut s, "o");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Orders);
    typed(&mut s, "cbc");
    key(&mut s, "enter");
    typed(&mut s, "");
    // The reason field, then close the form.
    key(&mut s, "down");
    typed(&mut s, "anemia");
    key(&mut s, "enter");
    let o = s.chart.as_ref().unwrap().orders.as_ref().unwrap();
    assert!(
        o.checks_error
            .as_deref()
            .unwrap()
            .contains("could not be loaded")
    );
    key(&mut s, "s");
    assert_eq!(s.overlay, Some(Overlay::AckChecks));
    typed(&mut s, "y");
    assert_eq!(s.overlay, Some(Overlay::ConfirmOrders));
    // Signing is not one `y`: the signer's password, checked by the server, comes first.
    let effects = typed(&mut s, "y");
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(s.overlay, Some(Overlay::Signature { .. })));
    let effects = typed(&mut s, "wrong pw");
    assert!(effects.is_empty());
    let effects = key(&mut s, "enter");
    assert!(matches!(
        effects.as_slice(),
        [Effect::CheckSignature { context: 1, target: SignTarget::Orders, secret, .. }]
            if secret.expose() == "wrong pw"
    ));
    // Keys wait while the server checks; a refusal says so and signs nothing.
    assert!(typed(&mut s, "zz").is_empty());
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 1,
            target: SignTarget::Orders,
            result: Err(FetchError::SignatureRefused(
                "the signature code is not right".into(),
            )),
        }),
    );
    assert!(effects.is_empty());
    match &s.overlay {
        Some(Overlay::Signature {
            error: Some(e),
            input,
            checking: false,
            ..
        }) => {
            assert!(e.contains("not right"));
            assert!(input.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // A late answer for another chart signs nothing.
    typed(&mut s, "correct");
    key(&mut s, "enter");
    let late = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 99,
            target: SignTarget::Orders,
            result: Ok(false),
        }),
    );
    assert!(late.is_empty());
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 1,
            target: SignTarget::Orders,
            result: Ok(false),
        }),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SignOrders { context: 1, .. }))
    );
    assert_eq!(s.overlay, None);
}

#[test]
fn a_site_that_signs_orders_only_saves_notes_on_y() {
    use crate::config::{Signing, signing};
    // The site's rule binds: a user cannot turn signing off.
    assert_eq!(
        signing(Some(Signing::Orders), Some(Signing::None)),
        Signing::Orders
    );
    assert_eq!(signing(None, None), Signing::NotesAndOrders);
    assert_eq!(
        signing(Some(Signing::None), Some(Signing::NotesAndOrders)),
        Signing::NotesAndOrders
    );
    let mut s = state();
    s.access.signing = Signing::Orders;
    s.overlay = Some(Overlay::ConfirmOrders);
    key(&mut s, "y");
    assert!(matches!(s.overlay, Some(Overlay::Signature { .. })));
    s.overlay = Some(Overlay::ConfirmSign {
        status: crate::workstation::notes::document::DocStatus::Final,
    });
    key(&mut s, "y");
    assert_eq!(s.overlay, None, "notes are signed on y at this site");
}
