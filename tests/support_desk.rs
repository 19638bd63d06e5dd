//! The support desk's duplicate patients: found with an explanation, marked "not a
//! duplicate", merged (`Patient/$merge` with preview) and the merge undone. Attacked from the
//! other roles, through a batch and a transaction, with hostile bodies, with a restricted
//! record, and by undoing over a later change.

mod common;

use bedside::server::auth::Role;
use common::{TestServer, body, client_with, diagnostics, ids};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Desk {
    srv: TestServer,
    support: Client,
    a: String,
    b: String,
}

fn person(family: &str, given: &str, birth: &str, phone: &str) -> Value {
    json!({"resourceType": "Patient", "active": true,
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth, "gender": "female",
        "telecom": [{"system": "phone", "value": phone}],
        "address": [{"line": ["12 Mill Lane"], "postalCode": "AB1 2CD"}]})
}

fn observation(patient: &str, value: f64) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-11-01T08:00:00Z",
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}})
}

fn order(patient: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361", "display": "amlodipine 5 MG Oral Tablet"}]},
        "subject": {"reference": format!("Patient/{patient}")}})
}

async fn desk() -> Desk {
    let srv = TestServer::start().await;
    let a = srv
        .create(person(
            "Harrowgate",
            "Eleanor",
            "1948-03-12",
            "07700 900123",
        ))
        .await;
    let b = srv
        .create(person("Harrowgate", "Elenor", "1948-12-03", "07700 900123"))
        .await;
    // Someone else entirely.
    srv.create(person("Okonkwo", "Chidi", "1990-07-01", "07700 900999"))
        .await;
    for v in [4.1, 4.3, 5.9] {
        srv.create(observation(&a, v)).await;
    }
    srv.create(observation(&b, 3.8)).await;
    srv.create(order(&a)).await;
    let support = client_with(&srv.user("desk.support", Role::Support));
    Desk { srv, support, a, b }
}

fn params(list: &[(&str, Value)]) -> Value {
    json!({"resourceType": "Parameters", "parameter": list.iter().map(|(n, v)| {
        let key = match v {
            Value::Bool(_) => "valueBoolean",
            Value::Object(_) => "valueReference",
            _ => "valueString",
        };
        json!({"name": n, key: v})
    }).collect::<Vec<_>>()})
}

fn reference(id: &str) -> Value {
    json!({"reference": format!("Patient/{id}")})
}

fn merge_params(source: &str, target: &str, extra: &[(&str, Value)]) -> Value {
    let mut list = vec![
        ("source-patient", reference(source)),
        ("target-patient", reference(target)),
    ];
    list.extend(extra.iter().cloned());
    params(&list)
}

async fn post(
    http: &Client,
    srv: &TestServer,
    path: &str,
    body_json: &Value,
) -> (StatusCode, Value) {
    body(
        http.post(srv.url(path))
            .header("content-type", "application/fhir+json")
            .body(body_json.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get(http: &Client, srv: &TestServer, path: &str) -> (StatusCode, Value) {
    body(http.get(srv.url(path)).send().await.unwrap()).await
}

fn parameter<'a>(p: &'a Value, name: &str) -> Vec<&'a Value> {
    p["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["name"] == name)
        .collect()
}

fn pairs(p: &Value) -> Vec<(String, String)> {
    parameter(p, "pair")
        .into_iter()
        .map(|pair| {
            let part = |n: &str| {
                pair["part"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["name"] == n)
                    .unwrap()["valueReference"]["reference"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("Patient/")
                    .to_string()
            };
            (part("patient"), part("other"))
        })
        .collect()
}

fn same_pair(found: &(String, String), x: &str, y: &str) -> bool {
    (found.0 == x && found.1 == y) || (found.0 == y && found.1 == x)
}

#[tokio::test]
async fn duplicates_are_found_with_why_and_a_pair_marked_distinct_is_never_proposed_again() {
    let d = desk().await;
    let (status, found) = get(&d.support, &d.srv, "Patient/$duplicates").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let listed = pairs(&found);
    assert_eq!(listed.len(), 1, "only the two Eleanors: {found}");
    assert!(same_pair(&listed[0], &d.a, &d.b));
    let pair = &parameter(&found, "pair")[0]["part"];
    let fields: Vec<&str> = pair
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["name"] == "field")
        .map(|x| x["valueString"].as_str().unwrap())
        .collect();
    assert!(
        fields.iter().any(|f| f.contains("birth date nearly agree")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|f| f.contains("phone agree")),
        "{fields:?}"
    );
    let display = pair[0]["valueReference"]["display"].as_str().unwrap();
    assert!(
        display.contains("HARROWGATE") && display.contains("MRN"),
        "{display}"
    );

    // Other roles may not look.
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&d.srv.user(&format!("desk.{role:?}").to_lowercase(), role));
        let (status, refused) = get(&other, &d.srv, "Patient/$duplicates").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}: {refused}");
        let (status, _) = post(
            &other,
            &d.srv,
            "Patient/$not-duplicate",
            &params(&[
                ("patient", reference(&d.a)),
                ("other", reference(&d.b)),
                ("reason", json!("twins, checked")),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }

    // Not a duplicate: needs a reason; then the pair is gone from the list.
    let (status, _) = post(
        &d.support,
        &d.srv,
        "Patient/$not-duplicate",
        &params(&[("patient", reference(&d.a)), ("other", reference(&d.b))]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, said) = post(
        &d.support,
        &d.srv,
        "Patient/$not-duplicate",
        &params(&[
            ("patient", reference(&d.b)),
            ("other", reference(&d.a)),
            ("reason", json!("twins, checked with the ward")),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    let (_, found) = get(&d.support, &d.srv, "Patient/$duplicates").await;
    assert!(pairs(&found).is_empty(), "{found}");
    // It stays so after a change to the records (a new scan).
    d.srv.create(observation(&d.a, 4.0)).await;
    let (_, found) = get(&d.support, &d.srv, "Patient/$duplicates").await;
    assert!(pairs(&found).is_empty(), "{found}");

    // The look was audited, with the patients it showed.
    let (status, log) = get(
        &d.support,
        &d.srv,
        &format!("AuditEvent?patient={}&altid=desk.support", d.a),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(log["total"].as_i64().unwrap() >= 2, "{log}");

    // Bad parameters are refused with a message.
    for bad in [
        "Patient/$duplicates?_count=abc",
        "Patient/$duplicates?name=x",
    ] {
        let (status, refused) = get(&d.support, &d.srv, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {refused}");
    }
}

#[tokio::test]
async fn a_merge_is_previewed_moves_every_record_and_is_undone_from_its_provenance() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let source_before = srv.get(&format!("Patient/{}", d.b)).await.1;

    // Preview: counts, nothing written.
    let (status, preview) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[("preview", json!(true))]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(parameter(&preview, "moves")[0]["valueInteger"], 1);
    let moved = parameter(&preview, "moved");
    assert_eq!(moved[0]["part"][0]["valueCode"], "Observation");
    assert!(
        parameter(&preview, "source")[0]["valueReference"]["display"]
            .as_str()
            .unwrap()
            .contains("1948-12-03")
    );
    assert_eq!(srv.get(&format!("Patient/{}", d.b)).await.1, source_before);

    // Without a reason: refused.
    let (status, refused) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(diagnostics(&refused).contains("reason"));

    // The merge: b into a.
    let (status, merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(
            &d.b,
            &d.a,
            &[("reason", json!("same patient registered twice in ED"))],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let said = parameter(&merged, "outcome")[0]["resource"]["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        said.contains("1948-12-03") && said.contains("1948-03-12"),
        "both named: {said}"
    );
    let prov = parameter(&merged, "provenance")[0]["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, source) = srv.get(&format!("Patient/{}", d.b)).await;
    assert_eq!(source["active"], false);
    assert_eq!(source["link"][0]["type"], "replaced-by");
    assert_eq!(
        source["link"][0]["other"]["reference"],
        format!("Patient/{}", d.a)
    );
    let (_, target) = srv.get(&format!("Patient/{}", d.a)).await;
    assert_eq!(target["link"][0]["type"], "replaces");
    let (_, on_a) = srv
        .get(&format!("Observation?patient={}&_count=50", d.a))
        .await;
    assert_eq!(ids(&on_a).len(), 4);
    let (_, on_b) = srv.get(&format!("Observation?patient={}", d.b)).await;
    assert_eq!(on_b["total"], 0, "{on_b}");
    let (_, everything) = srv.get(&format!("Patient/{}/$everything", d.b)).await;
    let observations = everything["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .count();
    assert_eq!(observations, 0, "{everything}");
    let (_, p) = srv.get(&prov).await;
    assert_eq!(p["activity"]["coding"][0]["code"], "merge");
    assert_eq!(
        p["reason"][0]["text"],
        "same patient registered twice in ED"
    );
    // A merged record is not proposed as a duplicate, and cannot be merged again.
    let (_, found) = get(support, srv, "Patient/$duplicates").await;
    assert!(pairs(&found).is_empty(), "{found}");
    let (status, again) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[("reason", json!("again please"))]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(diagnostics(&again).contains("already merged"));
    let (status, into_merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.a, &d.b, &[("reason", json!("the other way round"))]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{into_merged}");

    // The audit record names both patients and the reason.
    let (_, log) = get(
        support,
        srv,
        &format!("AuditEvent?patient={}&altid=desk.support&_count=100", d.b),
    )
    .await;
    let text = log.to_string();
    assert!(
        text.contains("same patient registered twice in ED"),
        "{text}"
    );

    // Undo: everything back.
    let (status, undone) = post(
        support,
        srv,
        "Patient/$unmerge",
        &params(&[
            ("provenance", json!({"reference": prov})),
            ("reason", json!("merged the wrong pair")),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    let (_, on_b) = srv.get(&format!("Observation?patient={}", d.b)).await;
    assert_eq!(on_b["total"], 1, "{on_b}");
    let (_, source) = srv.get(&format!("Patient/{}", d.b)).await;
    assert_eq!(source["active"], true);
    assert!(source.get("link").is_none(), "{source}");
    // Twice: refused, nothing changes.
    let (status, twice) = post(
        support,
        srv,
        "Patient/$unmerge",
        &params(&[
            ("provenance", json!({"reference": prov})),
            ("reason", json!("once more")),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");

    // Merge again, then a clinician changes a moved record: the undo is refused, naming it.
    let (_, merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(
            &d.b,
            &d.a,
            &[("reason", json!("same patient, checked twice"))],
        ),
    )
    .await;
    let prov = parameter(&merged, "provenance")[0]["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, on_a) = srv
        .get(&format!("Observation?patient={}&value-quantity=3.8", d.a))
        .await;
    let moved_id = ids(&on_a)[0].clone();
    let (_, mut obs) = srv.get(&format!("Observation/{moved_id}")).await;
    obs["status"] = json!("amended");
    let (status, _) = srv.put(&format!("Observation/{moved_id}"), &obs).await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = post(
        support,
        srv,
        "Patient/$unmerge",
        &params(&[
            ("provenance", json!({"reference": prov})),
            ("reason", json!("wrong pair after all")),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        diagnostics(&refused).contains(&format!("Observation/{moved_id}")),
        "{refused}"
    );
}

#[tokio::test]
async fn both_records_with_active_orders_need_a_reason_and_restricted_labels_must_agree() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    srv.create(order(&d.b)).await;
    let (status, refused) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[("reason", json!("registered twice"))]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(diagnostics(&refused).contains("active-orders-reason"));
    let (status, merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(
            &d.b,
            &d.a,
            &[
                ("reason", json!("registered twice")),
                (
                    "active-orders-reason",
                    json!("pharmacist reviewed both lists"),
                ),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let (_, orders) = srv.get(&format!("MedicationRequest?patient={}", d.a)).await;
    assert_eq!(orders["total"], 2);

    // A restricted record is not merged with an unrestricted one.
    let c = srv
        .create(person("Vane", "Iris", "1970-01-01", "07700 900555"))
        .await;
    let mut restricted = person("Vane", "Iris", "1970-01-01", "07700 900555");
    restricted["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    let r = srv.create(restricted).await;
    let (status, refused) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&r, &c, &[("reason", json!("registered twice"))]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(diagnostics(&refused).contains("restricted"));
}

#[tokio::test]
async fn no_other_way_in_merges_and_hostile_bodies_are_refused() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let before = srv.get(&format!("Patient/{}", d.b)).await.1;
    let body_ok = merge_params(&d.b, &d.a, &[("reason", json!("registered twice"))]);
    // Other roles.
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("m.{role:?}").to_lowercase(), role));
        let (status, _) = post(&other, srv, "Patient/$merge", &body_ok).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        let (status, _) = post(
            &other,
            srv,
            "Patient/$unmerge",
            &params(&[
                ("provenance", json!("Provenance/x")),
                ("reason", json!("undo it now")),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // Through a batch and a transaction, by anyone, including support.
    for http in [&srv.http, support] {
        for kind in ["batch", "transaction"] {
            let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [{
                "resource": body_ok,
                "request": {"method": "POST", "url": "Patient/$merge"}
            }]});
            let (_, answer) = post(http, srv, "", &bundle).await;
            assert_eq!(
                srv.get(&format!("Patient/{}", d.b)).await.1,
                before,
                "{kind}: {answer}"
            );
        }
    }
    // Hostile bodies.
    let long = "x".repeat(600);
    let many: Vec<(&str, Value)> = (0..30).map(|_| ("reason", json!("a reason"))).collect();
    for bad in [
        json!({"resourceType": "Patient"}),
        json!({"resourceType": "Parameters"}),
        merge_params(&d.b, &d.a, &[("reason", json!(long))]),
        merge_params(&d.b, &d.a, &[("reason", json!("line one\nline two"))]),
        merge_params(&d.b, &d.a, &[("reason", json!(" ab "))]),
        merge_params("../x", &d.a, &[("reason", json!("registered twice"))]),
        merge_params(&d.b, &d.b, &[("reason", json!("registered twice"))]),
        merge_params(&d.b, "nope", &[("reason", json!("registered twice"))]),
        params(&many),
    ] {
        let (status, refused) = post(support, srv, "Patient/$merge", &bad).await;
        assert!(status.is_client_error(), "{bad}: {status} {refused}");
    }
    let (status, _) = body(
        support
            .post(srv.url("Patient/$merge"))
            .header("content-type", "application/fhir+json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An undo of something that is not a merge.
    let obs = srv.create(observation(&d.a, 4.4)).await;
    let (_, o) = srv.get(&format!("Observation/{obs}")).await;
    let prov = srv
        .create(json!({"resourceType": "Provenance", "target": [{"reference": format!("Observation/{obs}/_history/{}", o["meta"]["versionId"].as_str().unwrap())}],
            "recorded": "2026-11-01T00:00:00Z", "agent": [{"who": {"display": "x"}}]}))
        .await;
    let (status, refused) = post(
        support,
        srv,
        "Patient/$unmerge",
        &params(&[
            ("provenance", json!(format!("Provenance/{prov}"))),
            ("reason", json!("undo it now")),
        ]),
    )
    .await;
    assert!(status.is_client_error(), "{refused}");
    assert_eq!(srv.get(&format!("Patient/{}", d.b)).await.1, before);
}

fn note(patient: &str, author: &str, encounter: Option<&str>) -> Value {
    let mut n = json!({"resourceType": "DocumentReference", "status": "current", "docStatus": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "date": "2026-11-30T09:15:00Z",
        "author": [{"reference": author}],
        "content": [{"attachment": {"contentType": "text/plain", "data": "U2VlbiBvbiB3YXJkIHJvdW5kLg=="}}]});
    if let Some(e) = encounter {
        n["context"] = json!({"encounter": [{"reference": format!("Encounter/{e}")}]});
    }
    n
}

#[tokio::test]
async fn a_misfiled_note_and_report_are_moved_with_both_patients_named_and_the_author_told() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let doctor = format!("Practitioner/{}", srv.practitioner_of(&srv.token).await);
    let right = srv
        .create(person("Okafor", "Ada", "1961-05-05", "07700 900777"))
        .await;
    let stay = srv
        .create(json!({"resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": format!("Patient/{}", d.a)}}))
        .await;
    let wrong = srv.create(note(&d.a, &doctor, Some(&stay))).await;

    // Only support staff move records, and not through a Bundle.
    let body_ok = params(&[
        ("target-patient", reference(&right)),
        (
            "reason",
            json!("written on the wrong chart by the ward doctor"),
        ),
    ]);
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("mv.{role:?}").to_lowercase(), role));
        let (status, _) = post(
            &other,
            srv,
            &format!("DocumentReference/{wrong}/$move"),
            &body_ok,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    for http in [&srv.http, support] {
        for kind in ["batch", "transaction"] {
            let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [{
                "resource": body_ok,
                "request": {"method": "POST", "url": format!("DocumentReference/{wrong}/$move")}
            }]});
            post(http, srv, "", &bundle).await;
        }
    }
    let (_, still) = srv.get(&format!("DocumentReference/{wrong}")).await;
    assert_eq!(still["status"], "current", "nothing moved by a Bundle");

    // Bad requests: named.
    for (path, bad) in [
        (
            format!("DocumentReference/{wrong}/$move"),
            params(&[
                ("target-patient", reference(&d.a)),
                ("reason", json!("same patient really")),
            ]),
        ),
        (
            format!("DocumentReference/{wrong}/$move"),
            params(&[
                ("target-patient", reference("nobody")),
                ("reason", json!("to nobody at all")),
            ]),
        ),
        (
            format!("DocumentReference/{wrong}/$move"),
            params(&[("target-patient", reference(&right))]),
        ),
        (format!("Condition/{wrong}/$move"), body_ok.clone()),
        (
            "DocumentReference/missing/$move".to_string(),
            body_ok.clone(),
        ),
    ] {
        let (status, refused) = post(support, srv, &path, &bad).await;
        assert!(status.is_client_error(), "{path}: {status} {refused}");
    }

    let (status, moved) = post(
        support,
        srv,
        &format!("DocumentReference/{wrong}/$move"),
        &body_ok,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let said = parameter(&moved, "outcome")[0]["resource"]["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        said.contains("HARROWGATE, Eleanor") && said.contains("OKAFOR, Ada"),
        "both named: {said}"
    );
    // The wrong copy: entered in error, its history kept.
    let (_, old) = srv.get(&format!("DocumentReference/{wrong}")).await;
    assert_eq!(old["status"], "entered-in-error");
    assert_eq!(old["subject"]["reference"], format!("Patient/{}", d.a));
    let (_, history) = srv
        .get(&format!("DocumentReference/{wrong}/_history"))
        .await;
    assert_eq!(history["total"], 2);
    // The right copy: on the right chart, without the wrong stay, pointing at what it replaces.
    let filed = parameter(&moved, "filed")[0]["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, new) = srv.get(&filed).await;
    assert_eq!(new["subject"]["reference"], format!("Patient/{right}"));
    assert_eq!(new["status"], "current");
    assert!(new["context"].get("encounter").is_none(), "{new}");
    assert_eq!(
        new["relatesTo"][0]["target"]["reference"],
        format!("DocumentReference/{wrong}")
    );
    let (_, on_right) = srv.get(&format!("DocumentReference?patient={right}")).await;
    assert_eq!(ids(&on_right).len(), 1);
    // The author is told, with both patients named.
    let (_, told) = srv.get(&format!("Communication?recipient={doctor}")).await;
    let text = told["entry"][0]["resource"]["payload"][0]["contentString"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("HARROWGATE") && text.contains("OKAFOR") && text.contains("wrong chart"),
        "{text}"
    );
    // A second move of the wrong copy is refused.
    let (status, _) = post(
        support,
        srv,
        &format!("DocumentReference/{wrong}/$move"),
        &body_ok,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A report moves with its results, the copy pointing at the moved results.
    let o1 = srv.create(observation(&d.a, 6.1)).await;
    let o2 = srv.create(observation(&d.a, 6.2)).await;
    let report = srv
        .create(json!({"resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "24326-1", "display": "Electrolytes panel"}]},
            "subject": {"reference": format!("Patient/{}", d.a)},
            "effectiveDateTime": "2026-11-30T06:00:00Z",
            "performer": [{"reference": doctor}],
            "result": [{"reference": format!("Observation/{o1}")}, {"reference": format!("Observation/{o2}")}]}))
        .await;
    let (status, moved) = post(
        support,
        srv,
        &format!("DiagnosticReport/{report}/$move"),
        &body_ok,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    for o in [&o1, &o2] {
        let (_, old) = srv.get(&format!("Observation/{o}")).await;
        assert_eq!(old["status"], "entered-in-error");
    }
    let (_, results) = srv
        .get(&format!("Observation?patient={right}&_count=50"))
        .await;
    assert_eq!(ids(&results).len(), 2);
    let (_, reports) = srv.get(&format!("DiagnosticReport?patient={right}")).await;
    let copy = &reports["entry"][0]["resource"];
    for r in copy["result"].as_array().unwrap() {
        assert!(
            ids(&results)
                .iter()
                .any(|id| r["reference"] == format!("Observation/{id}")),
            "{copy}"
        );
    }
    // The move was audited with its reason and both patients.
    let (_, log) = get(
        support,
        srv,
        &format!("AuditEvent?patient={right}&altid=desk.support"),
    )
    .await;
    assert!(
        log.to_string().contains("written on the wrong chart"),
        "{log}"
    );
}

#[tokio::test]
async fn the_access_log_names_patients_a_search_returned_and_filters_by_role_and_emergency() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    // A nurse searches by name: both Eleanors were returned, so both logs show it.
    let nurse = client_with(&srv.user("log.nurse", Role::Nurse));
    let (status, _) = get(&nurse, srv, "Patient?family=Harrowgate").await;
    assert_eq!(status, StatusCode::OK);
    for p in [&d.a, &d.b] {
        let (_, log) = get(support, srv, &format!("AuditEvent?patient={p}&role=nurse")).await;
        assert_eq!(log["total"], 1, "{log}");
        assert_eq!(
            log["entry"][0]["resource"]["subtype"][0]["code"],
            "search-type"
        );
    }
    let (_, by_physician) = get(
        support,
        srv,
        &format!("AuditEvent?patient={}&role=physician", d.a),
    )
    .await;
    assert!(
        by_physician["total"].as_i64().unwrap() >= 1,
        "the physician created it"
    );
    // Emergency access is marked and filtered.
    let mut restricted = person("Vane", "Iris", "1970-01-01", "07700 900555");
    restricted["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    let vip = srv.create(restricted).await;
    let r = nurse
        .post(format!("{}/auth/break-glass", srv.root()))
        .json(&json!({"patient": vip, "reason": "collapsed on the ward, need allergies"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = get(&nurse, srv, &format!("Patient/{vip}/$everything")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, urgent) = get(
        support,
        srv,
        &format!("AuditEvent?patient={vip}&emergency=true"),
    )
    .await;
    assert!(urgent["total"].as_i64().unwrap() >= 1, "{urgent}");
    for e in urgent["entry"].as_array().unwrap() {
        assert!(e.to_string().contains("collapsed on the ward"), "{e}");
    }
    let (_, calm) = get(
        support,
        srv,
        &format!("AuditEvent?patient={}&emergency=true", d.a),
    )
    .await;
    assert_eq!(calm["total"], 0);
    // A user's log across patients.
    let (_, by_user) = get(support, srv, "AuditEvent?altid=log.nurse&_count=100").await;
    assert!(by_user["total"].as_i64().unwrap() >= 3, "{by_user}");
    let (status, _) = get(support, srv, "AuditEvent?emergency=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn data_quality_and_server_status_are_reported_to_support_only() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    // Plant one problem of each kind.
    srv.create(observation("does-not-exist", 4.0)).await;
    let mut orphan = observation("x", 4.2);
    orphan.as_object_mut().unwrap().remove("subject");
    srv.create(orphan).await;
    let mut future = person("Later", "Lou", "2090-01-01", "07700 900444");
    future["birthDate"] = json!("2090-01-01");
    srv.create(future).await;
    let shared = json!([{"system": "urn:oid:2.16.840.1.113883.2.1.4.1", "value": "9434765919"}]);
    for given in ["Sam", "Samuel"] {
        let mut p = person("Twin", given, "1980-02-02", "07700 900333");
        p["identifier"] = shared.clone();
        srv.create(p).await;
    }
    srv.create(json!({"resourceType": "Encounter", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": format!("Patient/{}", d.a)},
        "period": {"start": "2025-01-01T00:00:00Z"}}))
        .await;
    let (status, report) = get(support, srv, "$data-quality").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let count = |code: &str| {
        parameter(&report, "kind")
            .into_iter()
            .find(|k| k["part"][0]["valueCode"] == code)
            .map(|k| k["part"][2]["valueInteger"].as_i64().unwrap())
            .unwrap()
    };
    for code in [
        "missing-reference",
        "no-patient",
        "future-date",
        "shared-identifier",
        "open-encounter",
    ] {
        assert_eq!(count(code), 1, "{code}: {report}");
    }
    assert!(report.to_string().contains("Patient/does-not-exist"));
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("q.{role:?}").to_lowercase(), role));
        let (status, _) = get(&other, srv, "$data-quality").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        let (status, _) = get(&other, srv, "$server-status").await;
        let allowed = role == Role::Admin;
        assert_eq!(status.is_success(), allowed, "{role:?}");
    }
    let (status, st) = get(support, srv, "$server-status").await;
    assert_eq!(status, StatusCode::OK, "{st}");
    let patients = parameter(&st, "count")
        .into_iter()
        .find(|c| c["part"][0]["valueCode"] == "Patient")
        .unwrap()["part"][1]["valueInteger"]
        .as_i64()
        .unwrap();
    assert_eq!(patients, 6);
    assert!(
        parameter(&st, "file")[0]["part"][1]["valueInteger"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(
        parameter(&st, "audit-records")[0]["valueInteger"]
            .as_i64()
            .unwrap()
            > 0
    );
    // A wrong password shows as a sign-in failure.
    let r = reqwest::Client::new()
        .post(format!("{}/auth/login", srv.root()))
        .json(&json!({"username": "desk.support", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let (_, st) = get(support, srv, "$server-status").await;
    assert!(
        parameter(&st, "sign-in-failures-24h")[0]["valueInteger"]
            .as_i64()
            .unwrap()
            >= 1,
        "{st}"
    );
    assert!(
        !st.to_string().contains("Harrowgate"),
        "no patient data in the status"
    );
}

#[tokio::test]
async fn the_chart_as_it_was_is_rebuilt_from_history_across_changes_deletes_and_a_merge() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let first = srv.create(observation(&d.a, 7.5)).await;
    let gone = srv.create(observation(&d.a, 2.0)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let then = chrono_now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, mut o) = srv.get(&format!("Observation/{first}")).await;
    o["valueQuantity"]["value"] = json!(5.0);
    o["status"] = json!("amended");
    srv.put(&format!("Observation/{first}"), &o).await;
    let later = srv.create(observation(&d.a, 4.9)).await;
    let r = srv
        .http
        .delete(srv.url(&format!("Observation/{gone}")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[("reason", json!("registered twice"))]),
    )
    .await;
    assert!(parameter(&merged, "provenance").len() == 1, "{merged}");

    let values = |bundle: &Value| -> Vec<(String, f64)> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .map(|e| {
                (
                    e["resource"]["id"].as_str().unwrap().to_string(),
                    e["resource"]["valueQuantity"]["value"]
                        .as_f64()
                        .unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    let (status, was) = srv.get(&format!("Patient/{}/$as-of?at={then}", d.a)).await;
    assert_eq!(status, StatusCode::OK, "{was}");
    let was = values(&was);
    assert!(
        was.contains(&(first.clone(), 7.5)),
        "the value as it was: {was:?}"
    );
    assert!(
        was.iter().any(|(id, _)| id == &gone),
        "deleted since, shown then"
    );
    assert!(!was.iter().any(|(id, _)| id == &later), "written later");
    assert_eq!(was.len(), 5, "a's three, first and gone; not b's: {was:?}");
    // The merged-away record, as it was, still holds its own result.
    let (_, b_was) = srv.get(&format!("Patient/{}/$as-of?at={then}", d.b)).await;
    assert_eq!(values(&b_was).len(), 1);
    let (_, now) = srv
        .get(&format!("Patient/{}/$as-of?at={}", d.a, chrono_now()))
        .await;
    let now = values(&now);
    assert!(now.contains(&(first.clone(), 5.0)));
    assert!(!now.iter().any(|(id, _)| id == &gone));
    assert_eq!(now.len(), 6, "{now:?}");
    // Support staff see metadata, not values.
    let (status, meta) = get(support, srv, &format!("Patient/{}/$as-of?at={then}", d.a)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!meta.to_string().contains("7.5"), "{meta}");
    // Restricted: refused without the glass; bad moments refused.
    let mut restricted = person("Vane", "Iris", "1970-01-01", "07700 900555");
    restricted["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    let vip = srv.create(restricted).await;
    let (status, _) = srv.get(&format!("Patient/{vip}/$as-of?at={then}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for role in [Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("asof.{role:?}").to_lowercase(), role));
        let (status, _) = get(&other, srv, &format!("Patient/{}/$as-of?at={then}", d.a)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    for bad in ["at=yesterday", "when=2026-01-01", ""] {
        let (status, _) = srv.get(&format!("Patient/{}/$as-of?{bad}", d.a)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

fn chrono_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    bedside::fhir::date::instant(ms).replace('+', "%2B")
}

/// `bedside support ...` against the test server, the password on standard input.
fn cli(srv: &TestServer, args: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .arg("--server")
        .arg(&srv.base)
        .arg("support")
        .args(args)
        .args(["--user", "desk.support"])
        .env_remove("BEDSIDE_TOKEN")
        .env("XDG_CONFIG_HOME", srv.dir.path())
        .env("HOME", srv.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", common::TEST_PASSWORD).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_list_is_written_as_csv_or_ndjson_from_the_command_line() {
    let d = desk().await;
    let srv = &d.srv;
    let run = |args: &'static [&'static str]| cli(srv, args);
    let (ok, out, err) = run(&["duplicates", "--csv"]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("patient,patient_name,other,other_name,score,verdict,why")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(&d.a) && row.contains(&d.b) && row.contains("HARROWGATE"),
        "{row}"
    );
    assert_eq!(lines.next(), None);
    let (ok, out, err) = run(&["quality", "--ndjson"]);
    assert!(ok, "{err}");
    for line in out.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    let (ok, out, err) = run(&["status"]);
    assert!(ok, "{err}");
    assert!(out.contains("count Patient"), "{out}");
    let (ok, out, err) = cli(srv, &["access-log", "--patient", &d.a, "--csv"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("time,user,role,action"), "{out}");
    assert!(out.lines().count() >= 2, "{out}");
    // A record's versions with who wrote them and what changed; a chart as it was.
    let (_, mut obs) = srv.get(&format!("Patient/{}", d.a)).await;
    obs["gender"] = json!("other");
    srv.put(&format!("Patient/{}", d.a), &obs).await;
    let reference = format!("Patient/{}", d.a);
    let (ok, out, err) = cli(srv, &["history", &reference, "--csv"]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("version,when,method,user,changed"));
    let newest = lines.next().unwrap();
    assert!(
        newest.starts_with("2,")
            && newest.contains("test.physician (physician)")
            && newest.contains("gender"),
        "{newest}"
    );
    let (ok, out, err) = cli(srv, &["as-of", &d.a, "2099-01-01", "--ndjson"]);
    assert!(ok, "{err}");
    assert!(out.lines().count() >= 5, "{out}");
    let (ok, _, err) = cli(srv, &["history", "not a reference"]);
    assert!(!ok && err.contains("Type/id"), "{err}");
    // No patient named, no user named: refused with a message.
    let (ok, _, err) = run(&["access-log"]);
    assert!(!ok && err.contains("--patient"), "{err}");
    // A wrong password: a clear message, nothing written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "--server",
            &srv.base,
            "support",
            "status",
            "--user",
            "desk.support",
        ])
        .env_remove("BEDSIDE_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "wrong password").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot sign in"));
}

fn desk_workstation(srv: &TestServer, token: &str) -> bedside::workstation::headless::Headless {
    let mut options = bedside::workstation::Options::new(&srv.base);
    options.token = Some(token.to_string());
    options.author = "Desk Support".into();
    options.user = Some(bedside::workstation::client::SignedIn {
        username: "desk.support".into(),
        name: "Desk Support".into(),
        role: "support".into(),
        practitioner: None,
    });
    let display =
        bedside::workstation::headless::test_display(&srv.base, chrono::Utc::now().date_naive());
    bedside::workstation::headless::Headless::with_options(options, display, 80, 24).unwrap()
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

fn settled(s: &bedside::workstation::state::State) -> bool {
    s.desk.as_ref().is_some_and(|d| !d.loading && !d.sending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_merges_a_pair_from_the_keyboard_and_undoes_it() {
    let d = desk().await;
    let srv = &d.srv;
    let token = srv.user("desk.support", Role::Support);
    let mut h = desk_workstation(srv, &token);
    h.keys("<f8>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.desk.as_ref().unwrap().pairs.is_some())
            .await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(
        screen.contains("HARROWGATE, Eleanor") && screen.contains("SURE"),
        "{screen}"
    );
    // Compare, then preview b into a (or a into b: whichever the pair lists second).
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.desk.as_ref().unwrap().compared.is_some())
            .await
    );
    let screen = h.screen();
    assert!(
        screen.contains("Records") && screen.contains("Observation"),
        "{screen}"
    );
    h.keys("m").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.desk.as_ref().unwrap().merge.is_some())
            .await,
        "{}",
        h.screen()
    );
    let (source, target) = {
        let m = h.state().desk.as_ref().unwrap().merge.clone().unwrap();
        (m.source.id, m.target.id)
    };
    assert!(h.screen().contains("MERGE"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    h.keys("registered twice in the ED<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.desk.as_ref().unwrap().last_merge.is_some())
            .await,
        "{}",
        h.screen()
    );
    let (_, merged) = srv.get(&format!("Patient/{source}")).await;
    assert_eq!(merged["active"], false, "{merged}");
    assert_eq!(
        merged["link"][0]["other"]["reference"],
        format!("Patient/{target}")
    );
    // The queue is empty now, and says so as the server's answer.
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && matches!(&s.desk.as_ref().unwrap().pairs, Some(Ok((_, p))) if p.is_empty()))
            .await,
        "{}",
        h.screen()
    );
    // Undo from the desk.
    h.keys("u").unwrap();
    h.keys("merged the wrong pair<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.desk.as_ref().unwrap().last_merge.is_none())
            .await,
        "{}",
        h.screen()
    );
    let (_, back) = srv.get(&format!("Patient/{source}")).await;
    assert_eq!(back["active"], true, "{back}");
    // Open the target's record, its history, and the chart as it was.
    h.keys("o").unwrap();
    h.keys(&format!("Patient/{target}<enter>")).unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && matches!(&s.desk.as_ref().unwrap().record, Some(Ok(_))))
            .await,
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("\"resourceType\": \"Patient\""),
        "{}",
        h.screen()
    );
    h.keys("h<enter>").unwrap();
    let screen = h.screen();
    assert!(screen.contains("Changes from version"), "{screen}");
    assert!(
        screen.contains("link"),
        "the merge's link and its undo: {screen}"
    );
    assert!(
        screen.contains("desk.support (support)"),
        "who wrote each version: {screen}"
    );
    assert!(screen.contains("test.physician (physician)"), "{screen}");
}

#[tokio::test]
async fn the_writes_of_one_record_are_found_in_the_audit_trail() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let o = srv.create(observation(&d.a, 4.4)).await;
    let (_, mut obs) = srv.get(&format!("Observation/{o}")).await;
    obs["status"] = json!("amended");
    srv.put(&format!("Observation/{o}"), &obs).await;
    let (status, log) = get(support, srv, &format!("AuditEvent?entity=Observation/{o}")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["total"], 2, "{log}");
    let text = log.to_string();
    assert!(
        text.contains(&format!("Observation/{o}/_history/2")) && text.contains("test.physician")
    );
    // Another record's writes are not among them; bad entities are refused.
    assert!(!text.contains(&format!("Patient/{}/_history", d.b)));
    // Administrators see sign-ins, not who wrote a patient's records.
    let (status, _) = get(
        &srv.admin_http,
        srv,
        &format!("AuditEvent?entity=Observation/{o}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in ["Observation/a/b", "Nope/x", "Observation/bad%20id"] {
        let (status, _) = get(support, srv, &format!("AuditEvent?entity={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn support_reads_provenance_whole_but_not_of_a_restricted_chart() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let (_, merged) = post(
        support,
        srv,
        "Patient/$merge",
        &merge_params(&d.b, &d.a, &[("reason", json!("registered twice"))]),
    )
    .await;
    let prov = parameter(&merged, "provenance")[0]["valueReference"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, found) = get(support, srv, &format!("Provenance?target=Patient/{}", d.a)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(found.to_string().contains("registered twice"), "{found}");
    assert!(
        found
            .to_string()
            .contains(prov.trim_start_matches("Provenance/"))
    );
    // A restricted patient's Provenance is not shown without the glass.
    let mut restricted = person("Vane", "Iris", "1970-01-01", "07700 900555");
    restricted["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    let vip = srv.create(restricted).await;
    let r = srv
        .http
        .post(format!("{}/auth/break-glass", srv.root()))
        .json(&json!({"patient": vip, "reason": "correcting the VIP's phone"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, mut p) = srv.get(&format!("Patient/{vip}")).await;
    p["telecom"] = json!([{"system": "phone", "value": "07700 900556"}]);
    let r = srv
        .http
        .put(srv.url(&format!("Patient/{vip}")))
        .header("content-type", "application/fhir+json")
        .header(
            "x-provenance",
            json!({"resourceType": "Provenance", "reason": [{"text": "VIP phone changed"}]})
                .to_string(),
        )
        .body(p.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let (_, hidden) = get(support, srv, &format!("Provenance?target=Patient/{vip}")).await;
    assert!(
        !hidden.to_string().contains("VIP phone changed"),
        "{hidden}"
    );
    // Other clinical content stays metadata for support.
    let (_, obs) = get(support, srv, &format!("Observation?patient={}", d.a)).await;
    assert!(!obs.to_string().contains("mmol/L"), "{obs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_of_a_moved_note_reads_why_in_my_work() {
    let d = desk().await;
    let (srv, support) = (&d.srv, &d.support);
    let doctor_id = srv.practitioner_of(&srv.token).await;
    let doctor = format!("Practitioner/{doctor_id}");
    let right = srv
        .create(person("Okafor", "Ada", "1961-05-05", "07700 900777"))
        .await;
    let wrong = srv.create(note(&d.a, &doctor, None)).await;
    let (status, moved) = post(
        support,
        srv,
        &format!("DocumentReference/{wrong}/$move"),
        &params(&[
            ("target-patient", reference(&right)),
            (
                "reason",
                json!("written on the wrong chart on the ward round"),
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let mut options = bedside::workstation::Options::new(&srv.base);
    options.token = Some(srv.token.clone());
    options.author = "Dr Test".into();
    options.user = Some(bedside::workstation::client::SignedIn {
        username: "test.physician".into(),
        name: "Dr Test".into(),
        role: "physician".into(),
        practitioner: Some(doctor_id.clone()),
    });
    let display =
        bedside::workstation::headless::test_display(&srv.base, chrono::Utc::now().date_naive());
    let mut h =
        bedside::workstation::headless::Headless::with_options(options, display, 80, 24).unwrap();
    h.keys("<f7>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.work.as_ref().is_some_and(
            |w| matches!(&w.messages, Some(Ok(m)) if !m.is_empty())
        ))
        .await,
        "{}",
        h.screen()
    );
    h.keys("<tab><tab>").unwrap();
    let screen = h.screen();
    assert!(screen.contains("[Messages (1)]"), "{screen}");
    assert!(
        screen.contains("HARROWGATE") && screen.contains("OKAFOR"),
        "both patients named: {screen}"
    );
}
