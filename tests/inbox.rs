//! Results to review, on the server: a new laboratory result makes one review Task for the
//! clinician responsible, however it came in (REST, a transaction, an import), once per
//! result (again for an amended one), with its urgency; vital signs, preliminary results and
//! old history make none. The Tasks stay behind the same gate as the results.

mod common;

use bedside::server::auth::Role;
use common::{TestServer, body, client_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn potassium(patient: &str, flag: &str, extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": now(),
        "valueQuantity": {"value": 6.9, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}]});
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    o
}

async fn tasks_for(srv: &TestServer, focus: &str) -> Vec<Value> {
    let (status, b) = srv.get(&format!("Task?focus={focus}")).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_result_makes_one_review_task_for_whoever_is_responsible() {
    let srv = TestServer::start().await;
    let doctor = srv
        .create(json!({"resourceType": "Practitioner", "name": [{"family": "Orderer"}]}))
        .await;
    let attending = srv
        .create(json!({"resourceType": "Practitioner", "name": [{"family": "Attending"}]}))
        .await;
    let gp = srv
        .create(json!({"resourceType": "Practitioner", "name": [{"family": "Family"}]}))
        .await;
    let p = srv
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Inboxed"}],
            "generalPractitioner": [{"reference": format!("Practitioner/{gp}")}]}),
        )
        .await;
    let order = srv
        .create(
            json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"text": "Potassium"}, "subject": {"reference": format!("Patient/{p}")},
            "requester": {"reference": format!("Practitioner/{doctor}")}}),
        )
        .await;
    let enc = srv
        .create(json!({"resourceType": "Encounter", "status": "in-progress",
            "class": {"code": "IMP"}, "subject": {"reference": format!("Patient/{p}")},
            "participant": [{"individual": {"reference": format!("Practitioner/{attending}")}}]}))
        .await;

    // REST, based on the order: the orderer's, urgent as the flag says.
    let (status, obs) = srv
        .post(
            "Observation",
            &potassium(
                &p,
                "HH",
                json!({"basedOn": [{"reference": format!("ServiceRequest/{order}")}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{obs}");
    let id = obs["id"].as_str().unwrap();
    let tasks = tasks_for(&srv, &format!("Observation/{id}")).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(t["status"], "requested");
    assert_eq!(t["priority"], "stat");
    assert_eq!(t["code"]["coding"][0]["code"], "review-result");
    assert_eq!(t["owner"]["reference"], format!("Practitioner/{doctor}"));
    assert_eq!(t["for"]["reference"], format!("Patient/{p}"));
    assert_eq!(
        t["basedOn"][0]["reference"],
        format!("ServiceRequest/{order}")
    );

    // Filed again unchanged in meaning: no second Task; amended: one more.
    let mut again = obs.clone();
    again["valueQuantity"]["value"] = json!(6.8);
    let (status, _) = srv.put(&format!("Observation/{id}"), &again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tasks_for(&srv, &format!("Observation/{id}")).await.len(), 1);
    again["status"] = json!("amended");
    let (status, _) = srv.put(&format!("Observation/{id}"), &again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tasks_for(&srv, &format!("Observation/{id}")).await.len(), 2);

    // In a transaction with its report, from the encounter: the attending's, one per
    // Observation and none for the report that lists them.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c1a4e-0000-4000-8000-000000000001",
         "resource": potassium(&p, "H", json!({"encounter": {"reference": format!("Encounter/{enc}")}})),
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Potassium"},
            "subject": {"reference": format!("Patient/{p}")}, "issued": now(),
            "result": [{"reference": "urn:uuid:6f1c1a4e-0000-4000-8000-000000000001"}]},
         "request": {"method": "POST", "url": "DiagnosticReport"}},
    ]});
    let (status, answer) = body(
        client_with(&srv.token)
            .post(srv.base.clone())
            .json(&bundle)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let tx_obs = answer["entry"][0]["response"]["location"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(1)
        .unwrap()
        .to_string();
    let report = answer["entry"][1]["response"]["location"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(1)
        .unwrap()
        .to_string();
    let tasks = tasks_for(&srv, &format!("Observation/{tx_obs}")).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0]["owner"]["reference"],
        format!("Practitioner/{attending}")
    );
    assert_eq!(tasks[0]["priority"], "urgent");
    assert!(
        tasks_for(&srv, &format!("DiagnosticReport/{report}"))
            .await
            .is_empty()
    );

    // Neither order nor encounter: the GP's. Normal: routine.
    let (_, plain) = srv
        .post("Observation", &potassium(&p, "N", json!({})))
        .await;
    let tasks = tasks_for(
        &srv,
        &format!("Observation/{}", plain["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(tasks[0]["owner"]["reference"], format!("Practitioner/{gp}"));
    assert_eq!(tasks[0]["priority"], "routine");

    // No Task: a vital sign, a preliminary result, a result from last month.
    for extra in [
        json!({"category": [{"coding": [{"code": "vital-signs"}]}]}),
        json!({"status": "preliminary"}),
        json!({"effectiveDateTime": "2026-01-01T08:00:00Z"}),
    ] {
        let (status, o) = srv
            .post("Observation", &potassium(&p, "H", extra.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{o}");
        let tasks = tasks_for(&srv, &format!("Observation/{}", o["id"].as_str().unwrap())).await;
        assert!(tasks.is_empty(), "{extra}: {tasks:?}");
    }

    // The Tasks are clinical: a clerk sees none of them.
    let clerk = client_with(&srv.user("inbox.clerk", Role::Clerk));
    let r = clerk
        .get(srv.url(&format!("Task?patient=Patient/{p}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Acknowledged by a physician: completed; a nurse may not close a physician's review.
    let mut done = tasks[0].clone();
    done["status"] = json!("completed");
    let path = format!("Task/{}", done["id"].as_str().unwrap());
    let nurse = client_with(&srv.user("inbox.nurse", Role::Nurse));
    let r = nurse.put(srv.url(&path)).json(&done).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (status, reply) = srv.put(&path, &done).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["status"], "completed");
}

#[test]
fn an_import_of_new_results_fills_the_inbox_and_history_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = bedside::server::store::Store::open(&dir.path().join("inbox.db")).unwrap();
    let file = dir.path().join("lab.ndjson");
    let mut old = potassium(
        "imp",
        "H",
        json!({"effectiveDateTime": "2024-05-01T08:00:00Z"}),
    );
    old["id"] = json!("old");
    let mut new = potassium("imp", "LL", json!({}));
    new["id"] = json!("new");
    let lines = [
        json!({"resourceType": "Patient", "id": "imp"}).to_string(),
        old.to_string(),
        new.to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let summary =
        bedside::server::import::import_files(&store, std::slice::from_ref(&file), |_| {});
    assert_eq!(summary.rejected, 0, "{:?}", summary.rejections);
    let count = |focus: &str| {
        let (_, found) = store
            .reader()
            .unwrap()
            .search("Task", &[("focus".to_string(), focus.to_string())], true)
            .unwrap();
        found.matches.len()
    };
    assert_eq!(count("Observation/new"), 1);
    assert_eq!(count("Observation/old"), 0);
    // The same file again: nothing new, no second Task.
    bedside::server::import::import_files(&store, &[file], |_| {});
    assert_eq!(count("Observation/new"), 1);
}
