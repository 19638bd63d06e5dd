//! Search, paging, sorting, includes, bundles and $everything over real HTTP.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn population(srv: &TestServer) -> Vec<String> {
    let mut ids = Vec::new();
    for (family, given, birth, gender, mrn) in [
        ("Smith", "John", "1956-03-14", "male", "0000001"),
        ("Smith", "John", "1971-11-02", "male", "0000002"),
        ("Smithers", "Waylon", "1950-06-30", "male", "0000003"),
        ("Núñez", "José", "1956-03-01", "male", "0000004"),
        ("Garcia", "Maria", "1990-12-25", "female", "0000005"),
    ] {
        ids.push(srv.create(patient(family, given, birth, gender, mrn)).await);
    }
    ids
}

async fn expect(srv: &TestServer, q: &str, want: Vec<&String>) {
    expect_ids(srv, &format!("Patient?{q}"), &want).await;
}

#[tokio::test]
async fn patient_search_parameters() {
    let srv = TestServer::start().await;
    let p = population(&srv).await;
    expect(&srv, "name=smi", vec![&p[0], &p[1], &p[2]]).await;
    expect(&srv, "name=SMITH", vec![&p[0], &p[1], &p[2]]).await;
    expect(&srv, "family=smith&given=jo", vec![&p[0], &p[1]]).await;
    expect(&srv, "name=nunez", vec![&p[3]]).await;
    expect(&srv, "name=NÚÑ", vec![&p[3]]).await;
    expect(&srv, "given=jose", vec![&p[3]]).await;
    expect(&srv, "name:exact=Smith", vec![&p[0], &p[1]]).await;
    expect(&srv, "name:contains=ither", vec![&p[2]]).await;
    expect(
        &srv,
        "identifier=http://hospital.example/mrn|0000002",
        vec![&p[1]],
    )
    .await;
    expect(&srv, "identifier=0000005", vec![&p[4]]).await;
    expect(&srv, "identifier=http://other|0000005", vec![]).await;
    expect(&srv, "birthdate=1956", vec![&p[0], &p[3]]).await;
    expect(&srv, "birthdate=1956-03", vec![&p[0], &p[3]]).await;
    expect(&srv, "birthdate=1956-03-14", vec![&p[0]]).await;
    expect(&srv, "birthdate=ge1971", vec![&p[1], &p[4]]).await;
    expect(&srv, "birthdate=lt1956-03-02", vec![&p[2], &p[3]]).await;
    expect(
        &srv,
        "birthdate=gt1990-12-24&birthdate=le1990-12-25",
        vec![&p[4]],
    )
    .await;
    expect(&srv, "gender=female", vec![&p[4]]).await;
    expect(&srv, "gender:not=male", vec![&p[4]]).await;
    expect(&srv, &format!("_id={},{}", p[0], p[4]), vec![&p[0], &p[4]]).await;
    expect(&srv, "name=smith,garcia", vec![&p[0], &p[1], &p[2], &p[4]]).await;
    expect(&srv, "_lastUpdated=ge2000-01-01", p.iter().collect()).await;
    // A streamed condition with one that reads the resource table, and with :missing.
    expect(
        &srv,
        "family=smith&_lastUpdated=gt2000",
        vec![&p[0], &p[1], &p[2]],
    )
    .await;
    expect(&srv, "given:missing=false&gender=female", vec![&p[4]]).await;
    expect(&srv, "name=smith&name=john", vec![&p[0], &p[1]]).await;
    expect(&srv, "birthdate=1956-03-14&gender=male", vec![&p[0]]).await;
    expect(&srv, "birthdate=eb1956-03-02", vec![&p[2], &p[3]]).await;
}

#[tokio::test]
async fn paging_sorting_totals_and_lenient_handling() {
    let srv = TestServer::start().await;
    let p = population(&srv).await;
    let (_, first) = srv.get("Patient?_count=2&_sort=family").await;
    assert_eq!(first["total"], 5);
    let mut seen = ids(&first);
    let mut next = link(&first, "next");
    while let Some(url) = next {
        assert!(url.contains("_page="), "opaque token: {url}");
        let (status, page) = body(srv.http.get(&url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(ids(&page));
        next = link(&page, "next");
    }
    assert_eq!(seen.len(), 5);
    // Sorted by family: Garcia, Núñez (nunez), Smith, Smith, Smithers.
    assert_eq!(seen[0], p[4]);
    assert_eq!(seen[1], p[3]);
    assert_eq!(seen[4], p[2]);
    let (_, desc) = srv.get("Patient?_sort=-birthdate").await;
    assert_eq!(ids(&desc)[0], p[4]);
    let (_, last) = srv.get("Patient?_sort=-_lastUpdated&_count=1").await;
    assert_eq!(ids(&last), [p[4].clone()]);
    let (_, count) = srv.get("Patient?name=smith&_summary=count").await;
    assert_eq!(count["total"], 3);
    assert!(count.get("entry").is_none());
    let (_, none) = srv.get("Patient?_total=none&_count=1").await;
    assert!(none.get("total").is_none());
    let (_, big) = srv.get("Patient?_count=5000").await;
    assert_eq!(ids(&big).len(), 5);
    // Unknown parameters are ignored, and said so.
    let (status, lenient) = srv.get("Patient?shoe-size=9&name=garcia").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&lenient), [p[4].clone()]);
    let outcome = lenient["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .unwrap();
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("shoe-size")
    );
    // POST _search takes a form body.
    let resp = srv
        .http
        .post(srv.url("Patient/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("family=garcia")
        .send()
        .await
        .unwrap();
    let (status, posted) = body(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&posted), [p[4].clone()]);
}

async fn get_ids(srv: &TestServer, q: String) -> (Vec<String>, Value) {
    let (status, b) = srv.get(&q).await;
    assert_eq!(status, StatusCode::OK, "{q}: {b}");
    (ids(&b), b)
}

async fn chart(srv: &TestServer) -> (String, String, String) {
    let pat = srv
        .create(patient("Ito", "Hana", "1948-02-02", "female", "C1"))
        .await;
    let ward = srv
        .create(json!({"resourceType": "Location", "name": "Ward 4A"}))
        .await;
    let enc = srv
        .create(json!({"resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": format!("Patient/{pat}")},
            "location": [{"location": {"reference": format!("Location/{ward}")}}],
            "period": {"start": "2026-11-18T08:00:00Z"}}))
        .await;
    for (code, value, when) in [
        ("2823-3", "6.4", "2026-11-19T06:00:00Z"),
        ("2823-3", "4.1", "2026-11-20T06:00:00Z"),
        ("718-7", "9.5", "2026-11-20T06:00:00Z"),
    ] {
        let obs: Value = serde_json::from_str(&format!(
            r#"{{"resourceType":"Observation","status":"final",
            "category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],
            "code":{{"coding":[{{"system":"http://loinc.org","code":"{code}"}}]}},
            "subject":{{"reference":"Patient/{pat}"}},"encounter":{{"reference":"Encounter/{enc}"}},
            "effectiveDateTime":"{when}","valueQuantity":{{"value":{value}}}}}"#
        ))
        .unwrap();
        srv.create(obs).await;
    }
    (pat, enc, ward)
}

#[tokio::test]
async fn clinical_search_include_and_census() {
    let srv = TestServer::start().await;
    let (pat, enc, ward) = chart(&srv).await;
    let other = srv
        .create(patient("Other", "Person", "1970-01-01", "male", "C2"))
        .await;
    assert_eq!(
        get_ids(&srv, format!("Observation?patient={pat}"))
            .await
            .0
            .len(),
        3
    );
    assert_eq!(
        get_ids(&srv, format!("Observation?subject=Patient/{pat}"))
            .await
            .0
            .len(),
        3
    );
    assert_eq!(
        get_ids(&srv, format!("Observation?patient={other}"))
            .await
            .0
            .len(),
        0
    );
    assert_eq!(
        get_ids(
            &srv,
            format!("Observation?patient={pat}&code=http://loinc.org|2823-3")
        )
        .await
        .0
        .len(),
        2
    );
    assert_eq!(
        get_ids(&srv, format!("Observation?patient={pat}&code=718-7"))
            .await
            .0
            .len(),
        1
    );
    assert_eq!(
        get_ids(
            &srv,
            format!("Observation?patient={pat}&category=laboratory&status=final")
        )
        .await
        .0
        .len(),
        3
    );
    assert_eq!(
        get_ids(&srv, format!("Observation?patient={pat}&date=ge2026-11-20"))
            .await
            .0
            .len(),
        2
    );
    assert_eq!(
        get_ids(&srv, format!("Observation?encounter={enc}"))
            .await
            .0
            .len(),
        3
    );
    assert_eq!(
        get_ids(
            &srv,
            format!("Observation?patient={pat}&_lastUpdated=gt2000")
        )
        .await
        .0
        .len(),
        3
    );
    let (sorted, b) = get_ids(&srv, format!("Observation?patient={pat}&_sort=-date")).await;
    assert_eq!(sorted.len(), 3);
    let first_date = b["entry"][0]["resource"]["effectiveDateTime"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first_date, "2026-11-20T06:00:00Z");
    let (_, b) = get_ids(&srv, format!("Observation?patient={pat}&_sort=date")).await;
    assert_eq!(
        b["entry"][0]["resource"]["effectiveDateTime"],
        "2026-11-19T06:00:00Z"
    );
    // Ward census: encounters in progress at a location, with the patients included.
    let (census, b) = get_ids(&srv, format!("Encounter?location={ward}&status=in-progress&_include=Encounter:patient&_include=Encounter:location")).await;
    assert_eq!(census, std::slice::from_ref(&enc));
    let included: Vec<_> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_string())
        .collect();
    assert!(
        included.contains(&"Patient".to_string()) && included.contains(&"Location".to_string()),
        "{included:?}"
    );
    let (_, b) = get_ids(
        &srv,
        format!("Patient?_id={pat}&_revinclude=Encounter:patient"),
    )
    .await;
    assert_eq!(b["entry"].as_array().unwrap().len(), 2);
    let (status, b) = srv.get("Observation?_include=Patient:name").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn everything_is_paged_and_complete() {
    let srv = TestServer::start().await;
    let (pat, _, _) = chart(&srv).await;
    let (status, page) = srv
        .get(&format!("Patient/{pat}/$everything?_count=2"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["type"], "searchset");
    assert_eq!(page["entry"][0]["resource"]["resourceType"], "Patient");
    let total = page["total"].as_i64().unwrap();
    assert_eq!(
        total, 6,
        "patient, encounter, 3 observations, referenced location: {page}"
    );
    let mut types: Vec<String> = Vec::new();
    let mut page = page;
    loop {
        types.extend(
            page["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_string()),
        );
        match link(&page, "next") {
            Some(url) => page = body(srv.http.get(&url).send().await.unwrap()).await.1,
            None => break,
        }
    }
    assert_eq!(types.len(), 6);
    assert!(types.contains(&"Location".to_string()));
    let (_, only) = srv
        .get(&format!("Patient/{pat}/$everything?_type=Observation"))
        .await;
    assert_eq!(only["total"], 3);
    let (status, _) = srv.get("Patient/missing/$everything").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Pages share one listing until something is written; then the next page sees the write,
    // whether it came through the API or straight into the database file.
    let (_, first) = srv
        .get(&format!("Patient/{pat}/$everything?_count=2"))
        .await;
    assert_eq!(first["total"], 6);
    srv.create(json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "late"}, "subject": {"reference": format!("Patient/{pat}")}}))
        .await;
    let next = link(&first, "next").unwrap();
    let (_, second) = body(srv.http.get(&next).send().await.unwrap()).await;
    assert_eq!(second["total"], 7, "a cached listing outlived a write");
    let other = bedside::server::store::Store::open(srv.store.path()).unwrap();
    other
        .write(|tx| {
            tx.upsert(
                "Observation",
                "direct",
                json!({"resourceType": "Observation", "id": "direct", "status": "final",
                    "code": {"text": "direct"}, "subject": {"reference": format!("Patient/{pat}")}}),
            )
            .map(|_| ())
        })
        .unwrap();
    let (_, third) = body(srv.http.get(&next).send().await.unwrap()).await;
    assert_eq!(
        third["total"], 8,
        "a write through another connection was missed"
    );
}

#[tokio::test]
async fn transaction_is_atomic_and_resolves_urn_uuids() {
    let srv = TestServer::start().await;
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
         "resource": patient("Tanaka", "Yuki", "1985-05-05", "female", "T1"),
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
         "resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                      "code": {"text": "Asthma"}},
         "request": {"method": "POST", "url": "Condition"}},
        {"request": {"method": "GET", "url": "Patient?family=tanaka"}}
    ]});
    let (status, resp) = srv.post("", &tx).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["type"], "transaction-response");
    assert_eq!(resp["entry"][0]["response"]["status"], "201 Created");
    let pid = resp["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        resp["entry"][1]["resource"]["subject"]["reference"],
        format!("Patient/{pid}")
    );
    assert_eq!(resp["entry"][2]["resource"]["total"], 1);

    // One bad entry: nothing of the transaction is saved.
    let bad = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": patient("Atomic", "Never", "1990-01-01", "male", "A1"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "PUT", "url": "Patient/y"}}
    ]});
    let (status, outcome) = srv.post("", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        diagnostics(&outcome).contains("nothing was saved"),
        "{outcome}"
    );
    let (_, none) = srv.get("Patient?family=atomic").await;
    assert_eq!(none["total"], 0);

    // A batch applies what it can and reports the rest per entry.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient("Batch", "Ok", "1990-01-01", "male", "B1"), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        {"request": {"method": "DELETE", "url": format!("Patient/{pid}")}}
    ]});
    let (status, resp) = srv.post("", &batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp["type"], "batch-response");
    assert_eq!(resp["entry"][0]["response"]["status"], "201 Created");
    assert!(
        resp["entry"][1]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("404")
    );
    assert_eq!(
        resp["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(resp["entry"][2]["response"]["status"], "204 No Content");
    let (status, _) = srv.get(&format!("Patient/{pid}")).await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_readers_one_writer_no_lock_errors() {
    let srv = TestServer::start().await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let http = srv.http.clone();
        let base = srv.base.clone();
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            for i in 0..40 {
                let p = patient(
                    "Concurrent",
                    &format!("W{w}N{i}"),
                    "1999-09-09",
                    "other",
                    &format!("{w}-{i}"),
                );
                let r = http
                    .post(format!("{base}/Patient"))
                    .body(p.to_string())
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::CREATED {
                    failures.push(r.text().await.unwrap());
                }
                let r = http
                    .get(format!("{base}/Patient?family=concurrent&_count=5"))
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::OK {
                    failures.push(r.text().await.unwrap());
                }
            }
            failures
        }));
    }
    for t in tasks {
        let failures = t.await.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
    }
    let (_, count) = srv.get("Patient?family=concurrent&_summary=count").await;
    assert_eq!(count["total"], 160);
}

#[tokio::test]
async fn graceful_stop_keeps_every_committed_write() {
    let mut srv = TestServer::start().await;
    for i in 0..25 {
        srv.create(patient(
            "Durable",
            &format!("N{i}"),
            "1960-01-01",
            "female",
            &format!("D{i}"),
        ))
        .await;
    }
    srv.stop().await;
    let path = srv.dir.path().join("test.db");
    let reopened = bedside::server::store::Store::open(&path).unwrap();
    let counts = reopened.counts().unwrap();
    // The test server's physician is a Practitioner too.
    assert_eq!(
        counts,
        [("Patient".to_string(), 25), ("Practitioner".to_string(), 1)]
    );
}

#[tokio::test]
async fn totals_are_exact_up_to_the_cap_or_on_request() {
    let srv = TestServer::start().await;
    let entries: Vec<Value> = (0..1001)
        .map(|i| {
            json!({"resource": patient("Many", &format!("N{i}"), "1970-01-01", "female", &format!("MANY{i}")),
                   "request": {"method": "POST", "url": "Patient"}})
        })
        .collect();
    let (status, _) = srv
        .post(
            "",
            &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, broad) = srv.get("Patient?family=many&_count=500").await;
    assert!(
        broad.get("total").is_none(),
        "more than the cap: no total by default"
    );
    assert_eq!(ids(&broad).len(), 500);
    let (_, exact) = srv
        .get("Patient?family=many&_total=accurate&_count=1")
        .await;
    assert_eq!(exact["total"], 1001);
    let (_, count) = srv.get("Patient?family=many&_summary=count").await;
    assert_eq!(count["total"], 1001);
    let (_, narrow) = srv.get("Patient?family=many&given=n99").await;
    assert_eq!(narrow["total"], 11, "N99 and N990..N999");
    // Every page together holds every match exactly once.
    let mut seen = std::collections::HashSet::new();
    let mut page = broad;
    loop {
        for id in ids(&page) {
            assert!(seen.insert(id), "a match came twice");
        }
        match link(&page, "next") {
            Some(url) => page = body(srv.http.get(&url).send().await.unwrap()).await.1,
            None => break,
        }
    }
    assert_eq!(seen.len(), 1001);
}
