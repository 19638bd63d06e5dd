//! One patient to a bed, on the server: a second admission to a bed that is held is refused
//! through every way in (POST, PUT, PATCH, a transaction, a batch, a conditional create, an
//! import), and under concurrent admissions exactly one wins. A transfer or a discharge frees
//! the bed; a planned stay does not hold it.

mod common;

use bedside::server::auth::Role;
use common::{TestServer, body, client_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn setup(srv: &TestServer) -> (String, String, Vec<String>) {
    srv.create(
        json!({"resourceType": "Location", "id": "ward-T", "status": "active", "name": "Test ward",
        "physicalType": {"coding": [{"code": "wa"}]}}),
    )
    .await;
    for b in ["bed-T-01", "bed-T-02"] {
        let (status, reply) = srv
            .put(
                &format!("Location/{b}"),
                // The bed is known as one from the Location itself.
                &json!({"resourceType": "Location", "id": b, "status": "active", "name": b,
                    "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd"}]},
                    "partOf": {"reference": "Location/ward-T"}}),
            )
            .await;
        assert!(status.is_success(), "{reply}");
    }
    let mut patients = Vec::new();
    for family in ["Bedone", "Bedtwo", "Bedthree"] {
        patients.push(
            srv.create(json!({"resourceType": "Patient", "name": [{"family": family}]}))
                .await,
        );
    }
    (
        "Location/bed-T-01".into(),
        "Location/bed-T-02".into(),
        patients,
    )
}

async fn bundle_post(srv: &TestServer, bundle: &Value) -> (StatusCode, Value) {
    body(
        client_with(&srv.token)
            .post(srv.base.clone())
            .json(bundle)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn admission(patient: &str, bed: &str, status: &str) -> Value {
    json!({"resourceType": "Encounter", "status": status,
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    "subject": {"reference": format!("Patient/{patient}")},
    "location": [
        {"location": {"reference": "Location/ward-T"}, "status": "active"},
        {"location": {"reference": bed}, "status": "active"}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_bed_is_refused_by_every_way_in() {
    let srv = TestServer::start().await;
    let (bed1, bed2, p) = setup(&srv).await;
    let (status, first) = srv
        .post("Encounter", &admission(&p[0], &bed1, "in-progress"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first_id = first["id"].as_str().unwrap().to_string();

    // POST.
    let (status, reply) = srv
        .post("Encounter", &admission(&p[1], &bed1, "in-progress"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    let text = reply.to_string();
    assert!(text.contains("bed-T-01 is occupied"), "{text}");
    assert!(!text.contains("Bedone"), "who is in the bed is not said");
    // PUT: a planned stay (allowed) made in progress.
    let (status, planned) = srv
        .post("Encounter", &admission(&p[1], &bed1, "planned"))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a planned stay does not hold the bed: {planned}"
    );
    let planned_id = planned["id"].as_str().unwrap().to_string();
    let mut now = planned.clone();
    now["status"] = json!("in-progress");
    let (status, reply) = srv.put(&format!("Encounter/{planned_id}"), &now).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    // PATCH.
    let doctor = client_with(&srv.token);
    let (status, reply) = body(
        doctor
            .patch(srv.url(&format!("Encounter/{planned_id}")))
            .header("content-type", "application/json-patch+json")
            .body(json!([{"op": "replace", "path": "/status", "value": "arrived"}]).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    // A transaction: refused whole. A batch: that entry refused.
    for kind in ["transaction", "batch"] {
        let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": admission(&p[2], &bed2, "in-progress"), "request": {"method": "POST", "url": "Encounter"}},
            {"resource": admission(&p[1], &bed1, "in-progress"), "request": {"method": "POST", "url": "Encounter"}},
        ]});
        let (status, reply) = bundle_post(&srv, &bundle).await;
        if kind == "transaction" {
            assert_eq!(status, StatusCode::CONFLICT, "{reply}");
        } else {
            assert_eq!(status, StatusCode::OK, "{reply}");
            assert!(
                reply["entry"][1]["response"]["status"]
                    .as_str()
                    .unwrap()
                    .starts_with("409")
            );
            // The batch's first entry took bed 2: discharge it again.
            let id = reply["entry"][0]["response"]["location"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap()
                .to_string();
            let (_, mut e) = srv.get(&format!("Encounter/{id}")).await;
            e["status"] = json!("finished");
            let (status, reply) = srv.put(&format!("Encounter/{id}"), &e).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
        }
    }
    // Two admissions to one bed inside one transaction.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": admission(&p[1], &bed2, "in-progress"), "request": {"method": "POST", "url": "Encounter"}},
        {"resource": admission(&p[2], &bed2, "in-progress"), "request": {"method": "POST", "url": "Encounter"}},
    ]});
    let (status, reply) = bundle_post(&srv, &bundle).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    // A conditional create that matches nothing creates, so it is checked too.
    let (status, reply) = body(
        doctor
            .post(srv.url("Encounter"))
            .header("if-none-exist", "identifier=urn:test|nothing")
            .json(&admission(&p[1], &bed1, "in-progress"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");

    // Transferred to bed 2: bed 1 is free for the next patient.
    let (_, mut moving) = srv.get(&format!("Encounter/{first_id}")).await;
    moving["location"][1]["status"] = json!("completed");
    moving["location"]
        .as_array_mut()
        .unwrap()
        .push(json!({"location": {"reference": bed2}, "status": "active"}));
    let (status, reply) = srv.put(&format!("Encounter/{first_id}"), &moving).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (status, reply) = srv.put(&format!("Encounter/{planned_id}"), &now).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "bed 1 is free after the transfer: {reply}"
    );
    // Discharged: bed 2 is free.
    let (_, mut leaving) = srv.get(&format!("Encounter/{first_id}")).await;
    leaving["status"] = json!("finished");
    let (status, _) = srv.put(&format!("Encounter/{first_id}"), &leaving).await;
    assert_eq!(status, StatusCode::OK);
    let (status, reply) = srv
        .post("Encounter", &admission(&p[2], &bed2, "in-progress"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admissions_to_one_bed_admit_one() {
    let srv = TestServer::start().await;
    let (bed1, _, _) = setup(&srv).await;
    let mut patients = Vec::new();
    for i in 0..12 {
        patients.push(
            srv.create(
                json!({"resourceType": "Patient", "name": [{"family": format!("Rush{i}")}]}),
            )
            .await,
        );
    }
    let tokens: Vec<String> = (0..4)
        .map(|i| srv.user(&format!("adt.nurse{i}"), Role::Nurse))
        .collect();
    let mut tasks = Vec::new();
    for (n, p) in patients.iter().enumerate() {
        let client = client_with(&tokens[n % 4]);
        let url = srv.url("Encounter");
        let resource = admission(p, &bed1, "in-progress");
        tasks.push(tokio::spawn(async move {
            body(client.post(url).json(&resource).send().await.unwrap()).await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, reply) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => refused += 1,
            other => panic!("{other}: {reply}"),
        }
    }
    assert_eq!((created, refused), (1, 11));
}

#[test]
fn an_import_does_not_put_two_patients_in_one_bed() {
    let dir = tempfile::tempdir().unwrap();
    let store = bedside::server::store::Store::open(&dir.path().join("beds.db")).unwrap();
    let file = dir.path().join("adt.ndjson");
    let lines = [
        json!({"resourceType": "Location", "id": "bed-I-01", "status": "active", "name": "I bed 1",
            "physicalType": {"coding": [{"code": "bd"}]}}),
        json!({"resourceType": "Patient", "id": "i1"}),
        json!({"resourceType": "Patient", "id": "i2"}),
        {
            let mut e = admission("i1", "Location/bed-I-01", "in-progress");
            e["id"] = json!("e1");
            e
        },
        {
            let mut e = admission("i2", "Location/bed-I-01", "in-progress");
            e["id"] = json!("e2");
            e
        },
    ];
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&file, text.join("\n")).unwrap();
    let summary = bedside::server::import::import_files(&store, &[file], |_| {});
    assert_eq!(summary.rejected, 1, "{:?}", summary.rejections);
    assert!(
        summary.rejections[0].contains("occupied"),
        "{:?}",
        summary.rejections
    );
}
