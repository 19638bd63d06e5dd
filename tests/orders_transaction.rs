//! The order basket as one FHIR transaction against the embedded server, through the
//! workstation's HTTP client: orders and the DetectedIssue of an override are filed together,
//! references resolved; a discontinue is a versioned update; a failing transaction leaves
//! nothing behind. (The orders pane that drives this comes next.)

mod common;

use bedside::workstation::client::{FhirClient, SEARCH_TIMEOUT};
use bedside::workstation::orders::basket::{Context, Fields, Item, discontinued, transaction};
use bedside::workstation::orders::catalog::Catalog;
use bedside::workstation::orders::checks::{AlertKind, Patient, Settings, check};
use bedside::workstation::orders::knowledge::Knowledge;
use common::TestServer;
use serde_json::{Value, json};

fn basket(k: &Knowledge, c: &Catalog) -> Vec<Item> {
    let mut warfarin = Item::new(c.by_code("rxnorm:11289").unwrap(), k.medication("11289"));
    let mut naproxen = Item::new(c.by_code("rxnorm:7258").unwrap(), k.medication("7258"));
    for item in [&mut warfarin, &mut naproxen] {
        if let Fields::Medication(m) = &mut item.fields {
            m.indication = "test".into();
        }
    }
    let mut inr = Item::new(c.by_code("loinc:6301-6").unwrap(), None);
    if let Fields::Test(t) = &mut inr.fields {
        t.reason = "on warfarin".into();
    }
    vec![warfarin, naproxen, inr]
}

#[tokio::test]
async fn sign_read_back_discontinue_and_fail_cleanly() {
    let srv = TestServer::start().await;
    let pid = srv
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ada"]}]}),
        )
        .await;
    let (k, _) = Knowledge::load(None);
    let (c, _) = Catalog::load(&k, None);
    let mut items = basket(&k, &c);
    let proposed: Vec<_> = items.iter().map(Item::proposed).collect();
    let patient = Patient {
        allergies_assessed: true,
        ..Patient::default()
    };
    let settings = Settings {
        duplicate_test_window_ms: 86_400_000,
        now_ms: 0,
    };
    let alerts = check(&proposed, &patient, &k, settings);
    let alert = alerts
        .iter()
        .find(|a| a.kind == AlertKind::DrugDrug)
        .expect("warfarin with naproxen fires")
        .clone();
    assert!(alert.needs_override());
    items[alert.order]
        .overrides
        .push((alert, "Benefit outweighs risk; will monitor".into()));
    let ctx = Context {
        patient_id: pid.clone(),
        patient_name: "OKAFOR, Ada".into(),
        encounter: None,
        requester: json!({"display": "Dr Test"}),
        now: "2026-11-20T10:00:00.000Z".into(),
        cosign: false,
    };
    let client = FhirClient::new(&srv.base, Some(srv.token.clone())).unwrap();
    let reply = client
        .post_bundle(&transaction(&items, &ctx), SEARCH_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(reply["type"], "transaction-response");

    // Read back: two MedicationRequests, one ServiceRequest, one DetectedIssue linked both ways.
    let (_, meds) = srv
        .get(&format!("MedicationRequest?subject=Patient/{pid}"))
        .await;
    let meds: Vec<Value> = meds["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    assert_eq!(meds.len(), 2);
    let naproxen = meds
        .iter()
        .find(|m| m["medicationCodeableConcept"]["coding"][0]["code"] == "7258")
        .unwrap();
    let issue_ref = naproxen["detectedIssue"][0]["reference"].as_str().unwrap();
    assert!(issue_ref.starts_with("DetectedIssue/"), "{issue_ref}");
    let (_, issue) = srv.get(issue_ref).await;
    assert_eq!(
        issue["implicated"][0]["reference"],
        format!("MedicationRequest/{}", naproxen["id"].as_str().unwrap())
    );
    assert!(
        issue["mitigation"][0]["action"]["text"]
            .as_str()
            .unwrap()
            .contains("will monitor")
    );
    let (_, srs) = srv
        .get(&format!("ServiceRequest?subject=Patient/{pid}"))
        .await;
    assert_eq!(
        srs["entry"][0]["resource"]["code"]["coding"][0]["code"],
        "6301-6"
    );

    // Discontinue with If-Match on the version read; a stale version is refused.
    let version = naproxen["meta"]["versionId"].as_str().unwrap().to_string();
    let stopped = client
        .write(
            &discontinued(naproxen.clone(), "GI upset"),
            None,
            Some(&version),
            SEARCH_TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(stopped["status"], "stopped");
    let stale = client
        .write(
            &discontinued(naproxen.clone(), "again"),
            None,
            Some(&version),
            SEARCH_TIMEOUT,
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(bedside::workstation::client::FetchError::Conflict(_))
        ),
        "{stale:?}"
    );

    // A transaction that cannot be filed leaves nothing behind.
    let mut broken = transaction(&basket(&k, &c), &ctx);
    broken["entry"][1]["resource"]["resourceType"] = json!("NotAType");
    broken["entry"][1]["request"]["url"] = json!("NotAType");
    assert!(client.post_bundle(&broken, SEARCH_TIMEOUT).await.is_err());
    let (_, after) = srv
        .get(&format!(
            "MedicationRequest?subject=Patient/{pid}&_summary=count"
        ))
        .await;
    assert_eq!(after["total"], 2, "nothing from the failed transaction");
}
