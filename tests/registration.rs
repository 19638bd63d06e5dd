//! Registration on the server: MRNs assigned in the site's system (sequential, distinct under
//! concurrent registrations, through REST, transactions and conditional creates), never
//! reused and never changed (PUT, PATCH, a transaction's update); and the clerk role attacked
//! through every way in: it registers patients and their insurance and sees nothing clinical.

mod common;

use bedside::server::auth::Role;
use common::{TestServer, body, client_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MRN: &str = "http://hospital.example/mrn";

fn person(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Reg"]}],
           "birthDate": "1970-01-01", "gender": "female"})
}

fn mrn_of(p: &Value) -> String {
    p["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["system"] == MRN)
        .and_then(|i| i["value"].as_str())
        .unwrap_or_else(|| panic!("no MRN: {p}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mrns_are_assigned_sequential_distinct_and_never_change() {
    let srv = TestServer::start().await;
    let clerk = client_with(&srv.user("reg.clerk", Role::Clerk));
    let post = |resource: Value| {
        let clerk = clerk.clone();
        let url = srv.url("Patient");
        async move { body(clerk.post(url).json(&resource).send().await.unwrap()).await }
    };
    let (status, first) = post(person("Alpha")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = post(person("Beta")).await;
    let a: u64 = mrn_of(&first).parse().unwrap();
    let b: u64 = mrn_of(&second).parse().unwrap();
    assert_eq!(b, a + 1, "sequential");
    assert_eq!(mrn_of(&first).len(), 7, "zero-padded");
    assert_eq!(first["identifier"][0]["type"]["coding"][0]["code"], "MR");

    // Twenty registrations at once from four clerks: twenty distinct numbers.
    let tokens: Vec<String> = (0..4)
        .map(|i| srv.user(&format!("clerk{i}"), Role::Clerk))
        .collect();
    let mut tasks = Vec::new();
    for n in 0..20 {
        let client = client_with(&tokens[n % 4]);
        let url = srv.url("Patient");
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&person(&format!("Concurrent{n}")))
                .send()
                .await
                .unwrap();
            body(r).await
        }));
    }
    let mut mrns = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, p) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{p}");
        mrns.insert(mrn_of(&p));
    }
    assert_eq!(mrns.len(), 20, "{mrns:?}");
    assert!(!mrns.contains(&mrn_of(&first)) && !mrns.contains(&mrn_of(&second)));

    // In a transaction: each new patient numbered, distinct.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": person("Tx1"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": person("Tx2"), "request": {"method": "POST", "url": "Patient"}},
    ]});
    let (status, answer) = body(
        clerk
            .post(srv.base.clone())
            .json(&bundle)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut tx_mrns = Vec::new();
    for e in answer["entry"].as_array().unwrap() {
        let location = e["response"]["location"].as_str().unwrap();
        let id = location.split('/').nth(1).unwrap();
        let (_, p) = srv.get(&format!("Patient/{id}")).await;
        tx_mrns.push(mrn_of(&p));
    }
    assert_ne!(tx_mrns[0], tx_mrns[1]);
    assert!(!mrns.contains(&tx_mrns[0]));

    // An MRN already given is never given again, even when sent.
    let mut copy = person("Copycat");
    copy["identifier"] = json!([{"system": MRN, "value": mrn_of(&first)}]);
    let (status, refused) = post(copy).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("already belongs to another patient")
    );

    // Never changed: PUT with another, PUT without, PATCH, or a transaction's PUT.
    let id = first["id"].as_str().unwrap();
    let url = srv.url(&format!("Patient/{id}"));
    let mut changed = first.clone();
    changed["identifier"][0]["value"] = json!("9999999");
    let (status, refused) = body(clerk.put(&url).json(&changed).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("an MRN never changes"));
    let mut dropped = first.clone();
    dropped.as_object_mut().unwrap().remove("identifier");
    let (status, _) = body(clerk.put(&url).json(&dropped).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = clerk
        .patch(&url)
        .header("content-type", "application/json-patch+json")
        .body(r#"[{"op": "remove", "path": "/identifier"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": changed, "request": {"method": "PUT", "url": format!("Patient/{id}")}},
    ]});
    let r = clerk
        .post(srv.base.clone())
        .json(&bundle)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // Kept as it was, a demographic change goes through (and the history has both).
    let mut moved = first.clone();
    moved["address"] = json!([{"line": ["1 New Street"], "city": "Leeds"}]);
    let (status, saved) = body(clerk.put(&url).json(&moved).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, now) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(mrn_of(&now), mrn_of(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_registers_and_sees_nothing_clinical_by_any_way_in() {
    let srv = TestServer::start().await;
    let p = srv.create(person("Clinical")).await;
    let obs = srv
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
            "subject": {"reference": format!("Patient/{p}")},
            "valueQuantity": {"value": 6.9, "unit": "mmol/L"}}))
        .await;
    srv.create(json!({"resourceType": "Condition", "subject": {"reference": format!("Patient/{p}")},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "B20"}], "text": "HIV disease"}}))
        .await;
    let clerk = client_with(&srv.user("reg.only", Role::Clerk));
    let get = |path: String| {
        let clerk = clerk.clone();
        let url = srv.url(&path);
        async move { body(clerk.get(url).send().await.unwrap()).await }
    };
    // Demographics and insurance: yes.
    let (status, _) = get(format!("Patient/{p}")).await;
    assert_eq!(status, StatusCode::OK);
    let coverage = json!({"resourceType": "Coverage", "status": "active",
        "beneficiary": {"reference": format!("Patient/{p}")},
        "payor": [{"display": "Northern Health Insurance"}], "subscriberId": "NHI-123"});
    let (status, c) = body(
        clerk
            .post(srv.url("Coverage"))
            .json(&coverage)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let (status, found) = get(format!("Coverage?beneficiary=Patient/{p}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["entry"].as_array().map_or(0, Vec::len), 1);

    // Clinical content: refused by every way in, and nothing of it comes back.
    for path in [
        format!("Observation/{obs}"),
        format!("Observation?patient={p}"),
        format!("Observation/{obs}/_history"),
        "Observation/_history".to_string(),
        format!("Patient/{p}/$everything"),
        format!("Condition?patient={p}"),
    ] {
        let (status, reply) = get(path.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {reply}");
        assert!(!reply.to_string().contains("6.9"), "{path}: {reply}");
    }
    // Through a search of patients: an include, a reverse include, a chain, a _has filter.
    for path in [
        format!("Patient?_id={p}&_revinclude=Observation:patient"),
        format!("Patient?_id={p}&_revinclude=Condition:subject"),
        "Patient?_has:Condition:subject:code=B20".to_string(),
        "Patient?_has:Observation:patient:value-quantity=gt6".to_string(),
    ] {
        let (status, reply) = get(path.clone()).await;
        let text = reply.to_string();
        assert!(
            status == StatusCode::FORBIDDEN
                || (status == StatusCode::OK && !text.contains("HIV") && !text.contains("6.9")),
            "{path}: {status} {reply}"
        );
        if path.contains("_has") {
            // Which patients have a diagnosis is clinical: never answered.
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {reply}");
        }
    }
    // A transaction or a batch reading for it.
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Observation?patient={p}")}},
        {"request": {"method": "GET", "url": format!("Observation/{obs}")}},
    ]});
    let (status, answer) = body(
        clerk
            .post(srv.base.clone())
            .json(&bundle)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for e in answer["entry"].as_array().unwrap() {
        assert!(
            e["response"]["status"].as_str().unwrap().starts_with("403"),
            "{e}"
        );
    }
    assert!(!answer.to_string().contains("6.9"));
    // Writes of clinical content, directly or in a transaction.
    let note = json!({"resourceType": "DocumentReference", "status": "current",
        "subject": {"reference": format!("Patient/{p}")},
        "content": [{"attachment": {"contentType": "text/plain", "data": "T2sK"}}]});
    let (status, _) = body(
        clerk
            .post(srv.url("DocumentReference"))
            .json(&note)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": person("Fine"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": note, "request": {"method": "POST", "url": "DocumentReference"}},
    ]});
    let r = clerk
        .post(srv.base.clone())
        .json(&bundle)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, all) = srv.get("Patient?family=Fine").await;
    assert_eq!(
        all["entry"].as_array().map_or(0, Vec::len),
        0,
        "nothing of a failed transaction"
    );
    // No export, no break-the-glass, no delete.
    let r = clerk
        .get(srv.url("Patient/$export"))
        .header("prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = clerk
        .post(format!("{}/auth/break-glass", srv.root()))
        .json(&json!({"patient": p, "reason": "curious"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = clerk
        .delete(srv.url(&format!("Patient/{p}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
