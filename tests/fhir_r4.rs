//! The whole of FHIR R4 over real HTTP (issue 18): every type served, the spec's search
//! parameters (number, quantity, uri, composite, `_tag`...), chaining and `_has`,
//! `_include:iterate`, `_summary` and `_elements`, conditional reads, updates and deletes,
//! JSON Patch, 415 and CORS; and each of those tried against the gate as an attacker would.

mod common;

use bedside::server::ServerConfig;
use bedside::server::auth::{Role, policy};
use common::{TestServer, body, client_with, diagnostics, ids, link};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn obs(patient: &str, loinc: &str, value: f64, unit: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        "subject": {"reference": format!("Patient/{patient}")}})
}

struct World {
    srv: TestServer,
    smith: String,
    jones: String,
    /// A restricted patient (meta.security R), with a Task, a Coverage and a Group naming it.
    vip: String,
}

async fn world() -> World {
    world_with(ServerConfig::default()).await
}

async fn world_with(config: ServerConfig) -> World {
    let srv = TestServer::start_with(config).await;
    let mut smith = common::patient("Smith", "Anna", "1960-01-01", "female", "S1");
    smith["telecom"] = json!([{"system": "phone", "value": "555-0100"},
        {"system": "email", "value": "anna@example.org"}]);
    smith["address"] = json!([{"city": "Springfield", "postalCode": "12345"}]);
    smith["meta"] = json!({"tag": [{"system": "urn:tags", "code": "study-a"}],
        "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]});
    let smith = srv.create(smith).await;
    let jones = srv
        .create(common::patient("Jones", "Bob", "1970-01-01", "male", "J1"))
        .await;
    let mut vip = common::patient("Star", "Vera", "1980-01-01", "female", "V1");
    vip["meta"] = json!({"security": [policy::restricted_label()]});
    let vip = srv.create(vip).await;
    // The restricted chart's records are written straight to the store: over the API they
    // would (rightly) need break-the-glass.
    let v = vip.clone();
    srv.store
        .write(|tx| {
            tx.create(obs(&v, "2345-7", 9.9, "mmol/L"), Some("vip-glucose"))?;
            tx.create(
                json!({"resourceType": "Task", "status": "requested", "intent": "order",
                    "description": "call the family",
                    "for": {"reference": format!("Patient/{v}")}}),
                Some("vip-task"),
            )?;
            tx.create(
                json!({"resourceType": "Coverage", "status": "active",
                    "beneficiary": {"reference": format!("Patient/{v}")},
                    "payor": [{"display": "Acme Health"}]}),
                Some("vip-coverage"),
            )?;
            tx.create(
                json!({"resourceType": "Group", "type": "person", "actual": true,
                    "member": [{"entity": {"reference": format!("Patient/{v}")}}]}),
                Some("vip-group"),
            )?;
            Ok(())
        })
        .unwrap();
    World {
        srv,
        smith,
        jones,
        vip,
    }
}

#[tokio::test]
async fn every_type_is_served_and_searched() {
    let w = world().await;
    let srv = &w.srv;
    // Types the feature issues need, and a few more.
    let coverage = srv
        .create(json!({"resourceType": "Coverage", "status": "active",
            "beneficiary": {"reference": format!("Patient/{}", w.smith)},
            "payor": [{"display": "Acme"}]}))
        .await;
    let related = srv
        .create(json!({"resourceType": "RelatedPerson", "active": true,
            "patient": {"reference": format!("Patient/{}", w.smith)},
            "name": [{"family": "Smith", "given": ["Carl"]}]}))
        .await;
    let task = srv
        .create(
            json!({"resourceType": "Task", "status": "requested", "intent": "order",
            "for": {"reference": format!("Patient/{}", w.smith)}}),
        )
        .await;
    for (path, id) in [
        (
            format!("Coverage?beneficiary=Patient/{}", w.smith),
            &coverage,
        ),
        (format!("RelatedPerson?patient={}", w.smith), &related),
        (format!("Task?patient={}", w.smith), &task),
    ] {
        let (status, bundle) = srv.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        assert_eq!(ids(&bundle), std::slice::from_ref(id), "{path}");
    }
    // $everything of Smith holds them (Task: every Patient a type outside the compartment
    // definition names).
    let (_, all) = srv
        .get(&format!("Patient/{}/$everything?_count=100", w.smith))
        .await;
    let found = ids_any(&all);
    for id in [&coverage, &related, &task] {
        assert!(found.contains(id), "{id} not in $everything: {found:?}");
    }
    // The CapabilityStatement lists all 146 types, each with its parameters.
    let (_, cap) = srv.get("metadata").await;
    let resources = cap["rest"][0]["resource"].as_array().unwrap();
    assert_eq!(resources.len(), 146);
    let observation = resources
        .iter()
        .find(|r| r["type"] == "Observation")
        .unwrap();
    let names: Vec<&str> = observation["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for n in [
        "code-value-quantity",
        "value-quantity",
        "combo-code",
        "_tag",
        "patient",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
}

/// Every entry's resource id, whatever its search mode.
fn ids_any(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_parameters_that_were_ignored_now_narrow() {
    let w = world().await;
    let srv = &w.srv;
    let glucose = srv.create(obs(&w.smith, "2345-7", 5.4, "mmol/L")).await;
    let high = srv.create(obs(&w.jones, "2345-7", 12.0, "mmol/L")).await;
    let mut logical = obs(&w.jones, "718-7", 13.0, "g/dL");
    logical["subject"] =
        json!({"identifier": {"system": "http://hospital.example/mrn", "value": "ELSEWHERE-1"}});
    let logical = srv.create(logical).await;
    let cases: Vec<(String, Vec<&String>)> = vec![
        (
            "Observation?subject:identifier=http://hospital.example/mrn|ELSEWHERE-1".into(),
            vec![&logical],
        ),
        ("Patient?phone=555-0100".into(), vec![&w.smith]),
        ("Patient?email=anna@example.org".into(), vec![&w.smith]),
        ("Patient?address-city=springfield".into(), vec![&w.smith]),
        ("Patient?_tag=urn:tags|study-a".into(), vec![&w.smith]),
        (
            "Patient?_profile=http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
                .into(),
            vec![&w.smith],
        ),
        ("Observation?value-quantity=5.4".into(), vec![&glucose]),
        (
            "Observation?value-quantity=gt10".into(),
            vec![&high, &logical],
        ),
        (
            "Observation?value-quantity=le6|http://unitsofmeasure.org|mmol/L".into(),
            vec![&glucose],
        ),
        ("Observation?value-quantity=5.4||mg".into(), vec![]),
        (
            "Observation?code-value-quantity=http://loinc.org|2345-7$gt10".into(),
            vec![&high],
        ),
        ("Observation?combo-code=2345-7&_sort=_id".into(), {
            let mut v = vec![&glucose, &high];
            v.sort();
            v
        }),
        ("Observation?patient.name=smith".to_string(), vec![&glucose]),
        (
            "Observation?subject:Patient.identifier=J1".to_string(),
            vec![&high],
        ),
        (
            "Patient?_has:Observation:patient:value-quantity=gt10".into(),
            vec![&w.jones],
        ),
    ];
    for (path, want) in cases {
        let (status, bundle) = srv.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        let mut got = ids(&bundle);
        if !path.contains("_sort") {
            got.sort();
        }
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        if !path.contains("_sort") {
            want.sort();
        }
        assert_eq!(got, want, "{path}");
    }
    // Bad values are refused, not ignored.
    for path in [
        "Observation?value-quantity=lots",
        "Observation?code-value-quantity=2345-7",
        "Observation?patient.nonsense=1",
        "Observation?patient.organization.partof.name=x",
        "Patient?_has:Observation:nonsense:code=x",
        "Patient?_summary=maybe",
    ] {
        let (status, outcome) = srv.get(path).await;
        assert!(
            status == StatusCode::BAD_REQUEST,
            "{path}: {status} {outcome}"
        );
    }
}

#[tokio::test]
async fn summary_elements_count_and_conditional_reads() {
    let w = world().await;
    let srv = &w.srv;
    let (_, bundle) = srv.get("Patient?_summary=count").await;
    // Patients are listed by their demographics, restricted ones too (to be found and opened
    // with break-the-glass).
    assert_eq!(bundle["total"], 3, "{bundle}");
    assert!(bundle.get("entry").is_none());
    assert_eq!(link(&bundle, "next"), None);
    let (_, bundle) = srv.get("Patient?_summary=count&_count=1").await;
    assert_eq!(link(&bundle, "next"), None, "{bundle}");
    let (_, one) = srv
        .get(&format!("Patient/{}?_elements=birthDate", w.smith))
        .await;
    assert_eq!(one["birthDate"], "1960-01-01");
    assert!(one.get("name").is_none() && one.get("telecom").is_none());
    assert!(
        one["meta"]["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "SUBSETTED")
    );
    let (_, list) = srv.get("Patient?_summary=true&name=smith").await;
    let p = &list["entry"][0]["resource"];
    assert!(p.get("name").is_some(), "{p}");

    // 304 when the client's copy is current.
    let url = srv.url(&format!("Patient/{}", w.smith));
    let first = srv.http.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let again = srv
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.text().await.unwrap().is_empty());
    let since = srv
        .http
        .get(&url)
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), StatusCode::NOT_MODIFIED);
    let stale = srv
        .http
        .get(&url)
        .header("If-None-Match", "W/\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    // A restricted record is refused before any 304: the tag is no way around the gate.
    let task = srv
        .http
        .get(srv.url("Task/vip-task"))
        .header("If-None-Match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(task.status(), StatusCode::FORBIDDEN);
    // XML is 415, not "invalid JSON".
    let xml = srv
        .http
        .post(srv.url("Patient"))
        .header("content-type", "application/fhir+xml")
        .body("<Patient xmlns=\"http://hl7.org/fhir\"/>")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, outcome) = body(xml).await;
    assert!(diagnostics(&outcome).contains("JSON"));
}

#[tokio::test]
async fn conditional_update_delete_and_patch() {
    let w = world().await;
    let srv = &w.srv;
    // Conditional update: creates when nothing matches, then updates the one match.
    let (status, made) = srv
        .put(
            "Patient?identifier=http://hospital.example/mrn|C1",
            &common::patient("Cond", "Carla", "1990-01-01", "female", "C1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let mut changed = common::patient("Cond", "Carla", "1990-02-02", "female", "C1");
    changed["id"] = json!(id);
    let (status, updated) = srv
        .put(
            "Patient?identifier=http://hospital.example/mrn|C1",
            &changed,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["meta"]["versionId"], "2");
    // Two matches: 412, nothing written.
    let (status, _) = srv
        .put(
            "Patient?gender=female",
            &common::patient("X", "Y", "2000-01-01", "female", "X"),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    // An id that is not the match's: 400.
    let mut other = changed.clone();
    other["id"] = json!(w.jones);
    let (status, _) = srv
        .put("Patient?identifier=http://hospital.example/mrn|C1", &other)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // JSON Patch.
    let patch = |path: &str, ops: Value, content_type: &'static str| {
        srv.http
            .patch(srv.url(path))
            .header("content-type", content_type)
            .body(ops.to_string())
            .send()
    };
    let ok = patch(
        &format!("Patient/{id}"),
        json!([{"op": "replace", "path": "/birthDate", "value": "1991-03-03"}]),
        "application/json-patch+json",
    )
    .await
    .unwrap();
    let (status, patched) = body(ok).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["birthDate"], "1991-03-03");
    assert_eq!(patched["meta"]["versionId"], "3");
    for (ops, want) in [
        (
            json!([{"op": "replace", "path": "/id", "value": "other"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!([{"op": "remove", "path": "/nothing/here"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"op": "nonsense"}), StatusCode::BAD_REQUEST),
    ] {
        let r = patch(&format!("Patient/{id}"), ops, "application/json-patch+json")
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    let wrong = patch(&format!("Patient/{id}"), json!([]), "application/fhir+json")
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, now) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(
        now["meta"]["versionId"], "3",
        "a refused patch changed nothing"
    );

    // Conditional delete: every match, none is fine.
    for n in 0..3 {
        srv.create(obs(&w.jones, "8867-4", 60.0 + f64::from(n), "/min"))
            .await;
    }
    let gone = srv
        .http
        .delete(srv.url(&format!("Observation?code=8867-4&patient={}", w.jones)))
        .send()
        .await
        .unwrap();
    let (status, outcome) = body(gone).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert!(diagnostics(&outcome).starts_with("deleted 3"), "{outcome}");
    let (_, left) = srv.get("Observation?code=8867-4").await;
    assert!(ids(&left).is_empty());
    let none = srv
        .http
        .delete(srv.url("Observation?code=nothing-like-it"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::OK);
    let unconditional = srv
        .http
        .delete(srv.url("Observation"))
        .send()
        .await
        .unwrap();
    assert_eq!(unconditional.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn include_iterate_follows_what_was_included() {
    let w = world().await;
    let srv = &w.srv;
    let org = srv
        .create(json!({"resourceType": "Organization", "name": "Parent Org"}))
        .await;
    let practitioner = srv
        .create(json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}))
        .await;
    let role = srv
        .create(json!({"resourceType": "PractitionerRole",
            "practitioner": {"reference": format!("Practitioner/{practitioner}")},
            "organization": {"reference": format!("Organization/{org}")}}))
        .await;
    let mut o = obs(&w.smith, "2345-7", 5.0, "mmol/L");
    o["performer"] = json!([{"reference": format!("PractitionerRole/{role}")}]);
    let o = srv.create(o).await;
    let (_, plain) = srv
        .get(&format!(
            "Observation?_id={o}&_include=Observation:performer"
        ))
        .await;
    let found = ids_any(&plain);
    assert!(found.contains(&role) && !found.contains(&org), "{found:?}");
    let (_, iterated) = srv
        .get(&format!(
            "Observation?_id={o}&_include=Observation:performer&_include:iterate=PractitionerRole:organization&_include:iterate=PractitionerRole:practitioner"
        ))
        .await;
    let found = ids_any(&iterated);
    for id in [&o, &role, &org, &practitioner] {
        assert!(found.contains(id), "{id} missing from {found:?}");
    }
}

#[tokio::test]
async fn cors_for_configured_origins_only() {
    let config = ServerConfig {
        cors_origins: vec!["https://app.example.org".into()],
        ..ServerConfig::default()
    };
    let w = world_with(config).await;
    let srv = &w.srv;
    let plain = reqwest::Client::new();
    // The preflight carries no token and is answered anyway.
    let preflight = plain
        .request(Method::OPTIONS, srv.url("Patient"))
        .header("Origin", "https://app.example.org")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let real = srv
        .http
        .get(srv.url("Patient"))
        .header("Origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        real.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let evil = srv
        .http
        .get(srv.url("Patient"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // The preflight opens no data: without a token the request itself is still 401.
    let anonymous = plain
        .get(srv.url("Patient"))
        .header("Origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// The gate through every new way in: types outside the compartment definition, the new
/// search forms, conditional writes, PATCH and the conditional read.
#[tokio::test]
async fn the_gate_holds_through_the_new_entry_points() {
    let w = world().await;
    let srv = &w.srv;
    let support = client_with(&srv.user("s.support", Role::Support));
    let admin = &srv.admin_http;
    // Records naming the restricted patient, of types the old server did not have.
    for path in ["Task/vip-task", "Coverage/vip-coverage", "Group/vip-group"] {
        let (status, outcome) = srv.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {outcome}");
        assert!(diagnostics(&outcome).contains("restricted"), "{path}");
        let (status, _) = body(admin.get(srv.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "admin reads {path}");
    }
    // Searches by content leave the restricted chart out, whichever form they take.
    for path in [
        "Task?status=requested".to_string(),
        "Coverage?status=active".to_string(),
        "Observation?code=2345-7".to_string(),
        "Observation?value-quantity=9.9".to_string(),
        "Observation?code-value-quantity=2345-7$9.9".to_string(),
        "Observation?patient.name=star".to_string(),
        "Observation?subject:Patient.identifier=V1".to_string(),
        "Patient?_has:Observation:patient:code=2345-7".to_string(),
        "Patient?_has:Task:patient:status=requested".to_string(),
        "Task?_id=vip-task".to_string(),
        "Group?_summary=count".to_string(),
    ] {
        let (status, bundle) = srv.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        let text = bundle["entry"].to_string();
        // The value as it is written in the resource (a bare "9.9" can be in a timestamp).
        for content in ["call the family", "Acme Health", "\"value\":9.9"] {
            assert!(!text.contains(content), "{path} showed {content}: {text}");
        }
        if path.contains("_id=") {
            // Asked for by id, it is listed cut to its metadata.
            assert_eq!(
                bundle["entry"][0]["resource"]["meta"]["tag"][0]["code"],
                "SUBSETTED"
            );
            continue;
        }
        let found = ids_any(&bundle);
        assert!(
            !found.iter().any(|id| id.starts_with("vip") || *id == w.vip),
            "{path} showed the restricted chart: {found:?}"
        );
    }
    // History, a batch entry and an _include of the restricted chart's new types give no
    // content either.
    let (_, history) = srv.get("Task/vip-task/_history").await;
    assert!(
        !history.to_string().contains("call the family"),
        "{history}"
    );
    let (_, batch) = srv
        .post(
            "",
            &json!({"resourceType": "Bundle", "type": "batch", "entry": [
                {"request": {"method": "GET", "url": "Task/vip-task"}},
                {"request": {"method": "GET", "url": "Coverage?status=active"}}]}),
        )
        .await;
    let text = batch.to_string();
    assert!(
        !text.contains("call the family") && !text.contains("Acme Health"),
        "{text}"
    );
    assert!(
        batch["entry"][0]["response"]["status"]
            .as_str()
            .unwrap_or_default()
            .starts_with("403")
    );
    let (_, included) = srv
        .get(&format!(
            "Patient?_id={}&_revinclude=Task:patient&_revinclude=Coverage:beneficiary",
            w.vip
        ))
        .await;
    let text = included.to_string();
    assert!(
        !text.contains("call the family") && !text.contains("Acme Health"),
        "{text}"
    );
    // A metadata-only role may not test content through a chain or _has either.
    for path in [
        "Patient?_has:Observation:patient:code=2345-7",
        "Observation?patient.name=smith",
        "Task?status=requested",
    ] {
        let (status, _) = body(support.get(srv.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "support: {path}");
    }
    // Writes: PATCH, conditional update and conditional delete of the restricted chart's
    // records are refused, and change nothing.
    let p = srv
        .http
        .patch(srv.url("Task/vip-task"))
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/status", "value": "cancelled"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(p.status(), StatusCode::FORBIDDEN);
    // A patch that moves an ordinary record into the restricted chart is refused too.
    let mine = srv
        .create(
            json!({"resourceType": "Task", "status": "requested", "intent": "order",
            "for": {"reference": format!("Patient/{}", w.smith)}}),
        )
        .await;
    let p = srv
        .http
        .patch(srv.url(&format!("Task/{mine}")))
        .header("content-type", "application/json-patch+json")
        .body(
            json!([{"op": "replace", "path": "/for/reference", "value": format!("Patient/{}", w.vip)}])
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(p.status(), StatusCode::FORBIDDEN);
    let gone = srv
        .http
        .delete(srv.url(&format!("Task?patient={}", w.vip)))
        .send()
        .await
        .unwrap();
    let (status, outcome) = body(gone).await;
    // Nothing matched as far as this user may see: none deleted.
    assert!(
        status == StatusCode::OK || status == StatusCode::FORBIDDEN,
        "{status} {outcome}"
    );
    let (status, _) = srv
        .put(
            "Task?_id=vip-task",
            &json!({"resourceType": "Task", "status": "cancelled", "intent": "order",
                "for": {"reference": format!("Patient/{}", w.vip)}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let task = srv
        .store
        .reader()
        .unwrap()
        .read("Task", "vip-task")
        .unwrap();
    assert!(
        task.json.contains("\"requested\""),
        "the restricted Task was changed"
    );
    // Support sees a Task as metadata only, a nurse may not write one.
    let (status, t) = body(
        support
            .get(srv.url(&format!("Task/{mine}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(t.get("status").is_none(), "support saw content: {t}");
    let nurse = client_with(&srv.user("n.nurse", Role::Nurse));
    let r = nurse
        .post(srv.url("Task"))
        .header("content-type", "application/fhir+json")
        .body(
            json!({"resourceType": "Task", "status": "requested", "intent": "order",
            "for": {"reference": format!("Patient/{}", w.smith)}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The directory stays the administrator's: a physician may not write a ValueSet.
    let (status, _) = body(
        srv.http
            .post(srv.url("ValueSet"))
            .header("content-type", "application/fhir+json")
            .body(json!({"resourceType": "ValueSet", "status": "draft"}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn validation_on_write_validate_and_lastn() {
    let w = world().await;
    let srv = &w.srv;
    // The findings: refused with the element's path, nothing stored.
    let (status, outcome) = srv
        .post(
            "Patient",
            &json!({"resourceType": "Patient", "birthDate": "not-a-date", "gender": "banana"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    let expressions: Vec<&str> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert_eq!(expressions, ["Patient.birthDate", "Patient.gender"]);
    let (_, count) = srv.get("Patient?_summary=count").await;
    assert_eq!(count["total"], 3);
    // An update and a patch are judged the same way.
    let (status, _) = srv
        .put(
            &format!("Patient/{}", w.smith),
            &json!({"resourceType": "Patient", "id": w.smith, "unknownElement": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = srv
        .http
        .patch(srv.url(&format!("Patient/{}", w.smith)))
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "add", "path": "/gender", "value": "banana"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // $validate: the same verdict, nothing stored; by the resource or by Parameters.
    let (status, verdict) = srv
        .post(
            "Observation/$validate",
            &json!({"resourceType": "Observation", "valueQuantity": {"value": "high"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = verdict.to_string();
    for path in [
        "Observation.status",
        "Observation.code",
        "Observation.valueQuantity.value",
    ] {
        assert!(text.contains(path), "{path}: {verdict}");
    }
    let (_, fine) = srv
        .post(
            &format!("Patient/{}/$validate", w.smith),
            &json!({"resourceType": "Parameters", "parameter": [{"name": "resource",
                "resource": {"resourceType": "Patient", "gender": "female"}}]}),
        )
        .await;
    assert_eq!(fine["issue"][0]["severity"], "information", "{fine}");
    let (_, count) = srv.get("Observation?_summary=count").await;
    assert_eq!(count["total"], 1, "$validate stored nothing");

    // $lastn: the newest per code.
    for (loinc, value, day) in [
        ("8867-4", 80.0, "2026-01-01"),
        ("8867-4", 90.0, "2026-01-03"),
        ("8867-4", 70.0, "2026-01-02"),
        ("8310-5", 37.0, "2026-01-01"),
    ] {
        let mut o = obs(&w.smith, loinc, value, "/min");
        o["effectiveDateTime"] = json!(format!("{day}T08:00:00Z"));
        srv.create(o).await;
    }
    let (status, last) = srv
        .get(&format!("Observation/$lastn?patient={}", w.smith))
        .await;
    assert_eq!(status, StatusCode::OK, "{last}");
    let values: Vec<f64> = last["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["valueQuantity"]["value"].as_f64())
        .collect();
    assert_eq!(values.len(), 2, "{last}");
    assert!(
        values.contains(&90.0) && values.contains(&37.0),
        "{values:?}"
    );
    let (_, two) = srv
        .get(&format!(
            "Observation/$lastn?patient={}&code=8867-4&max=2",
            w.smith
        ))
        .await;
    let values: Vec<f64> = two["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["valueQuantity"]["value"].as_f64())
        .collect();
    assert_eq!(values, [90.0, 70.0]);
    let (status, _) = srv.get("Observation/$lastn?code=8867-4").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a patient is needed");
    // The restricted chart's latest results are not handed out.
    let (status, vip) = srv
        .get(&format!("Observation/$lastn?patient={}", w.vip))
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || ids_any(&vip).is_empty(),
        "{status} {vip}"
    );
    let support = client_with(&srv.user("s.support", Role::Support));
    let (status, _) = body(
        support
            .get(srv.url(&format!(
                "Observation/$lastn?patient={}&code=8867-4",
                w.smith
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "support may not search by code"
    );
}

/// Runs an export as `client` and returns the manifest (after polling its status).
async fn export(srv: &TestServer, client: &reqwest::Client, path: &str) -> (StatusCode, Value) {
    let kick = client
        .get(srv.url(path))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    if kick.status() != StatusCode::ACCEPTED {
        return body(kick).await;
    }
    let status_url = kick.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    for _ in 0..200 {
        let r = client.get(&status_url).send().await.unwrap();
        if r.status() != StatusCode::ACCEPTED {
            let (status, mut manifest) = body(r).await;
            manifest["_status"] = json!(status_url);
            return (status, manifest);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the export did not finish");
}

/// Every line of every file of `manifest`, fetched as `client`.
async fn lines(client: &reqwest::Client, manifest: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for file in manifest["output"].as_array().unwrap() {
        let r = client
            .get(file["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
        let text = r.text().await.unwrap();
        let n = text.lines().count();
        assert_eq!(n as u64, file["count"].as_u64().unwrap());
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

#[tokio::test]
async fn bulk_export_behind_the_gate() {
    let w = world().await;
    let srv = &w.srv;
    srv.create(obs(&w.smith, "2345-7", 5.4, "mmol/L")).await;
    // Asked for without Prefer: respond-async: 400.
    let r = srv.http.get(srv.url("$export")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let (status, manifest) = export(srv, &srv.http, "Patient/$export").await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    assert_eq!(manifest["requiresAccessToken"], true);
    let all = lines(&srv.http, &manifest).await;
    let find = |id: &str| all.iter().find(|r| r["id"] == id).cloned();
    assert!(find(&w.smith).is_some());
    assert_eq!(
        find("vip-glucose").unwrap()["meta"]["tag"][0]["code"],
        "SUBSETTED"
    );
    assert!(find("vip-glucose").unwrap().get("valueQuantity").is_none());
    assert!(
        all.iter().all(|r| r["resourceType"] != "AuditEvent"),
        "the audit trail is never exported"
    );
    // Another user may not see the job or its files.
    let other = client_with(&srv.user("other.physician", Role::Physician));
    let status_url = manifest["_status"].as_str().unwrap();
    assert_eq!(
        other.get(status_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let file_url = manifest["output"][0]["url"].as_str().unwrap();
    assert_eq!(
        other.get(file_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // DELETE removes it.
    let d = srv.http.delete(status_url).send().await.unwrap();
    assert_eq!(d.status(), StatusCode::ACCEPTED);
    assert_eq!(
        srv.http.get(file_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // _type and _since narrow it.
    let (_, only) = export(srv, &srv.http, "$export?_type=Observation").await;
    let types: Vec<&str> = only["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["type"].as_str())
        .collect();
    assert_eq!(types, ["Observation"]);
    let (_, future) = export(srv, &srv.http, "$export?_since=2999-01-01T00:00:00Z").await;
    assert!(future["output"].as_array().unwrap().is_empty());

    // Support's export is metadata only; an administrator's holds no patient data.
    let support = client_with(&srv.user("s.support", Role::Support));
    let (status, m) = export(srv, &support, "$export?_type=Observation,Task").await;
    assert_eq!(status, StatusCode::OK, "{m}");
    for r in lines(&support, &m).await {
        assert!(
            r.get("valueQuantity").is_none() && r.get("description").is_none(),
            "{r}"
        );
    }
    let (status, _) = export(srv, &srv.admin_http, "Patient/$export").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, m) = export(srv, &srv.admin_http, "$export").await;
    for r in lines(&srv.admin_http, &m).await {
        let class = policy::class(r["resourceType"].as_str().unwrap());
        assert_eq!(class, policy::Class::Directory, "{r}");
    }
    // Group level: the group's members only; a group naming the restricted patient is refused.
    let group = srv
        .create(
            json!({"resourceType": "Group", "type": "person", "actual": true,
            "member": [{"entity": {"reference": format!("Patient/{}", w.jones)}}]}),
        )
        .await;
    let (status, m) = export(srv, &srv.http, &format!("Group/{group}/$export")).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let members = lines(&srv.http, &m).await;
    assert!(members.iter().any(|r| r["id"] == w.jones.as_str()));
    assert!(!members.iter().any(|r| r["id"] == w.smith.as_str()));
    let (status, _) = export(srv, &srv.http, "Group/vip-group/$export").await;
    assert_ne!(status, StatusCode::OK);
    // Each finished export is audited with the patients it wrote.
    let (events, _) = bedside::server::audit::search(
        &srv.store,
        &bedside::server::audit::Filter {
            subtype: Some("export".into()),
            patient: Some(w.smith.clone()),
            count: 50,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!events.is_empty(), "no export audit naming the patient");
}

/// Nothing the CapabilityStatement declares answers 405 (or "no such endpoint"), for any of
/// the 146 types.
#[tokio::test]
async fn nothing_declared_answers_405() {
    let srv = TestServer::start().await;
    let (_, cap) = srv.get("metadata").await;
    let rest = &cap["rest"][0];
    let mut tried = 0;
    for resource in rest["resource"].as_array().unwrap() {
        let t = resource["type"].as_str().unwrap();
        let mut requests: Vec<(Method, String, Option<&str>)> = Vec::new();
        for i in resource["interaction"].as_array().unwrap() {
            let (method, path, body) = match i["code"].as_str().unwrap() {
                "read" => (Method::GET, format!("{t}/none"), None),
                "vread" => (Method::GET, format!("{t}/none/_history/1"), None),
                "update" => (Method::PUT, format!("{t}/none"), Some("{}")),
                "patch" => (Method::PATCH, format!("{t}/none"), Some("[]")),
                "delete" => (Method::DELETE, format!("{t}/none"), None),
                "history-instance" => (Method::GET, format!("{t}/none/_history"), None),
                "history-type" => (Method::GET, format!("{t}/_history"), None),
                "create" => (Method::POST, t.to_string(), Some("{}")),
                "search-type" => (Method::GET, format!("{t}?_count=1"), None),
                other => panic!("{t} declares {other}, which this test does not know"),
            };
            requests.push((method, path, body));
        }
        assert_eq!(resource["conditionalDelete"], "multiple");
        requests.push((Method::DELETE, format!("{t}?_id=none"), None));
        requests.push((Method::PUT, format!("{t}?_id=none"), Some("{}")));
        for op in resource["operation"].as_array().unwrap() {
            match op["name"].as_str().unwrap() {
                "validate" => requests.push((Method::POST, format!("{t}/$validate"), Some("{}"))),
                "lastn" => requests.push((Method::GET, format!("{t}/$lastn?patient=x"), None)),
                "everything" => requests.push((Method::GET, format!("{t}/none/$everything"), None)),
                "export" => {} // tried in bulk_export_behind_the_gate
                other => panic!("{t} declares ${other}, which this test does not know"),
            }
        }
        for (method, path, body) in requests {
            let content_type = if method == Method::PATCH {
                "application/json-patch+json"
            } else {
                "application/fhir+json"
            };
            let mut request = srv.http.request(method.clone(), srv.url(&path));
            if let Some(b) = body {
                request = request.header("content-type", content_type).body(b);
            }
            let r = request.send().await.unwrap();
            let status = r.status();
            let (_, answer) = body_of(r).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !answer.to_string().contains("no such endpoint"),
                "{method} {path}: {answer}"
            );
            tried += 1;
        }
    }
    for (method, path) in [
        (Method::GET, "_history"),
        (Method::POST, ""),
        (Method::GET, "metadata"),
    ] {
        let r = srv
            .http
            .request(method.clone(), srv.url(path))
            .send()
            .await
            .unwrap();
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    assert!(tried > 146 * 11, "{tried} requests");
}

async fn body_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn list_members_and_a_restricted_list() {
    let w = world().await;
    let srv = &w.srv;
    let ward = srv
        .create(
            json!({"resourceType": "List", "status": "current", "mode": "working",
            "title": "Ward 7", "entry": [
                {"item": {"reference": format!("Patient/{}", w.smith)}},
                {"item": {"reference": format!("Patient/{}", w.jones)}}]}),
        )
        .await;
    let (status, bundle) = srv.get(&format!("Patient?_list={ward}&_sort=_id")).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let mut want = vec![w.smith.clone(), w.jones.clone()];
    want.sort();
    assert_eq!(ids(&bundle), want);
    let (_, none) = srv.get(&format!("Observation?_list={ward}")).await;
    assert!(ids(&none).is_empty());
    // A List of the restricted chart does not give its members away.
    let v = w.vip.clone();
    srv.store
        .write(|tx| {
            tx.create(
                json!({"resourceType": "List", "status": "current", "mode": "working",
                    "subject": {"reference": format!("Patient/{v}")},
                    "entry": [{"item": {"reference": format!("Patient/{v}")}}]}),
                Some("vip-list"),
            )
        })
        .unwrap();
    let (status, _) = srv.get("Patient?_list=vip-list").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Runs each search and checks the ids it finds, in any order.
async fn expect_all(srv: &TestServer, cases: Vec<(String, Vec<&String>)>) {
    for (path, want) in cases {
        common::expect_ids(srv, &path, &want).await;
    }
}

#[tokio::test]
async fn token_modifiers_value_sets_hierarchies_and_ucum_units() {
    let w = world().await;
    let srv = &w.srv;
    // A code system with a hierarchy, and value sets over it (one a cycle, one too large).
    srv.create(
        json!({"resourceType": "CodeSystem", "url": "urn:cs:test", "status": "active",
        "content": "complete", "concept": [{"code": "disease", "concept": [
            {"code": "infection", "concept": [{"code": "pneumonia"}]},
            {"code": "cancer"}]}]}),
    )
    .await;
    srv.create(
        json!({"resourceType": "ValueSet", "url": "urn:vs:infections", "status": "active",
        "compose": {"include": [{"system": "urn:cs:test",
            "filter": [{"property": "concept", "op": "is-a", "value": "infection"}]}]}}),
    )
    .await;
    srv.create(
        json!({"resourceType": "ValueSet", "url": "urn:vs:cycle", "status": "active",
        "compose": {"include": [{"valueSet": ["urn:vs:cycle"]}]}}),
    )
    .await;
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"code": format!("c{i}")}))
        .collect();
    srv.create(
        json!({"resourceType": "ValueSet", "url": "urn:vs:huge", "status": "active",
        "compose": {"include": [{"system": "urn:cs:test", "concept": many}]}}),
    )
    .await;
    let condition = |patient: &str, code: &str, display: &str| {
        json!({"resourceType": "Condition", "subject": {"reference": format!("Patient/{patient}")},
            "verificationStatus": {"coding": [{"system":
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [{"system": "urn:cs:test", "code": code, "display": display}]}})
    };
    let pneumonia = srv
        .create(condition(&w.smith, "pneumonia", "Pneumonia, lobar"))
        .await;
    let cancer = srv.create(condition(&w.jones, "cancer", "Cancer")).await;
    let mut free_text = condition(&w.jones, "x", "");
    free_text["code"] = json!({"text": "Lung nodule, query cause"});
    let free_text = srv.create(free_text).await;
    // The restricted chart has a pneumonia too: no modifier shows it without a grant.
    let v = w.vip.clone();
    srv.store
        .write(|tx| {
            tx.create(
                condition(&v, "pneumonia", "Pneumonia, lobar"),
                Some("vip-pneumonia"),
            )?;
            Ok(())
        })
        .unwrap();
    let mut typed = common::patient("Other", "Otto", "1950-05-05", "male", "O1");
    typed["identifier"] = json!([{"system": "urn:mrn", "value": "OT-1",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "MR"}], "text": "Medical record number"}}]);
    let typed = srv.create(typed).await;
    // Quantities in units other than the ones searched.
    let weight = srv.create(obs(&w.smith, "29463-7", 70_000.0, "g")).await;
    let temperature = srv.create(obs(&w.smith, "8310-5", 37.0, "Cel")).await;
    let mut absent = obs(&w.smith, "8310-5", 0.0, "Cel");
    absent.as_object_mut().unwrap().remove("valueQuantity");
    absent["dataAbsentReason"] = json!({"text": "patient refused"});
    let absent = srv.create(absent).await;

    expect_all(
        srv,
        vec![
            ("Condition?code:below=urn:cs:test|infection".into(), vec![&pneumonia]),
            ("Condition?code:below=urn:cs:test|disease".into(), vec![&pneumonia, &cancer]),
            ("Condition?code:above=urn:cs:test|pneumonia".into(), vec![&pneumonia]),
            ("Condition?code:above=urn:cs:test|infection".into(), vec![]),
            ("Condition?code:in=urn:vs:infections".into(), vec![&pneumonia]),
            ("Condition?code:not-in=urn:vs:infections".into(), vec![&cancer, &free_text]),
            // The spec's own required value set, without a copy on the server.
            (
                "Condition?verification-status:in=http://hl7.org/fhir/ValueSet/condition-ver-status"
                    .into(),
                vec![&pneumonia, &cancer, &free_text],
            ),
            ("Condition?code:text=lobar".into(), vec![&pneumonia]),
            ("Condition?code:text=PNEUMO".into(), vec![&pneumonia]),
            ("Condition?code:text=lung".into(), vec![&free_text]),
            ("Condition?code:text=obar".into(), vec![]),
            ("Condition?code:text=lung,cancer".into(), vec![&free_text, &cancer]),
            (
                "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|OT-1"
                    .into(),
                vec![&typed],
            ),
            (
                "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|DL|OT-1"
                    .into(),
                vec![],
            ),
            ("Patient?identifier:text=medical record".into(), vec![&typed]),
            // Reverse chains and chains carry the modifiers, and the restricted chart stays out.
            (
                "Patient?_has:Condition:patient:code:in=urn:vs:infections".into(),
                vec![&w.smith],
            ),
            (
                "Condition?subject:Patient.identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|OT-1"
                    .into(),
                vec![],
            ),
            // UCUM: the same amount in another unit of the same dimension.
            ("Observation?value-quantity=70|http://unitsofmeasure.org|kg".into(), vec![&weight]),
            ("Observation?value-quantity=70||kg".into(), vec![&weight]),
            ("Observation?value-quantity=gt69.9||kg".into(), vec![&weight]),
            ("Observation?value-quantity=70000000|http://unitsofmeasure.org|mg".into(), vec![&weight]),
            ("Observation?value-quantity=lt69.9||kg".into(), vec![]),
            ("Observation?value-quantity=70||mol".into(), vec![]),
            ("Observation?value-quantity=98.6||[degF]".into(), vec![&temperature]),
            ("Observation?value-quantity=310.15||K".into(), vec![&temperature]),
            (
                "Observation?code-value-quantity=http://loinc.org|29463-7$70|http://unitsofmeasure.org|kg"
                    .into(),
                vec![&weight],
            ),
            // The unit as written still matches as before.
            ("Observation?value-quantity=70000||g".into(), vec![&weight]),
            // A composite of the whole Observation is answered by both its parts matching:
            // alone, in an OR-list, through the combo alias, and for :missing.
            (
                "Observation?code-value-quantity=http://loinc.org|8310-5$gt36,http://loinc.org|29463-7$lt1"
                    .into(),
                vec![&temperature],
            ),
            ("Observation?code-value-quantity=8310-5$gt36||Cel".into(), vec![&temperature]),
            ("Observation?code-value-quantity=29463-7$gt36||Cel".into(), vec![]),
            (
                "Observation?combo-code-value-quantity=http://loinc.org|29463-7$70||kg".into(),
                vec![&weight],
            ),
            (
                "Observation?code=8310-5&code-value-quantity:missing=true".into(),
                vec![&absent],
            ),
            (
                "Observation?code=8310-5&code-value-quantity:missing=false".into(),
                vec![&temperature],
            ),
            (
                "Observation?code=8310-5&combo-code-value-quantity:missing=true".into(),
                vec![&absent],
            ),
            (
                "Patient?_has:Observation:patient:code-value-quantity=8310-5$ge37||Cel".into(),
                vec![&w.smith],
            ),
        ],
    )
    .await;
    // A role that sees metadata only cannot learn content through the new modifiers either.
    let support = client_with(&srv.user("t18.support", Role::Support));
    for path in [
        "Condition?code:text=pneumonia",
        "Condition?code:in=urn:vs:infections",
        "Condition?code:below=urn:cs:test|infection",
        "Observation?value-quantity=70||kg",
        "Observation?code-value-quantity=8310-5$gt36||Cel",
        "Patient?_has:Condition:patient:code:below=urn:cs:test|infection",
        "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|OT-1&_has:Condition:patient:code:text=pneu",
    ] {
        let response = support.get(srv.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // What cannot be answered exactly is refused, saying why.
    for (path, why) in [
        ("Condition?code:below=infection", "system|code"),
        ("Condition?code:below=urn:cs:unknown|x", "no CodeSystem"),
        (
            "Condition?code:below=urn:cs:test|nonsense",
            "not in the CodeSystem",
        ),
        ("Condition?code:in=urn:vs:missing", "no ValueSet"),
        ("Condition?code:in=urn:vs:cycle", "includes itself"),
        ("Condition?code:in=urn:vs:huge", "more than 1000"),
        ("Patient?identifier:of-type=MR|OT-1", "system|code|value"),
        ("Condition?code:exact=x", "not supported"),
        (
            "Observation?code-value-quantity:missing=maybe",
            "true or false",
        ),
        ("Observation?code-value-quantity=8310-5", "code$value"),
        ("Observation?code-value-quantity:text=x", "not supported"),
    ] {
        let (status, outcome) = srv.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {outcome}");
        assert!(diagnostics(&outcome).contains(why), "{path}: {outcome}");
    }
}

/// A search that would scan for long is stopped at the time limit and refused as too costly,
/// and the reader it ran on serves the next search normally. (The limit is set to nothing, so
/// that the scan is stopped at SQLite's first check, however fast this machine is.)
#[tokio::test]
async fn a_search_past_its_time_limit_is_stopped() {
    let w = world().await;
    let srv = &w.srv;
    let smith = w.smith.clone();
    srv.store
        .write(|tx| {
            for i in 0..2_000 {
                tx.create(obs(&smith, "2345-7", f64::from(i % 90), "mmol/L"), None)?;
            }
            Ok(())
        })
        .unwrap();
    // `:text` cannot use an index: every Observation is examined.
    let broad = "Observation?code:text=nothing-like-this";
    srv.store.set_search_time(std::time::Duration::ZERO);
    let (status, outcome) = srv.get(broad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(diagnostics(&outcome).contains("was stopped"), "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], "too-costly");
    srv.store
        .set_search_time(bedside::server::store::search::SEARCH_TIME);
    for _ in 0..20 {
        let (status, bundle) = srv.get(broad).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert!(ids(&bundle).is_empty());
    }
}
