//! Create, read, vread, update, delete, history and their errors, over real HTTP.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn create_read_update_delete_and_history() {
    let srv = TestServer::start().await;
    let resp = srv
        .http
        .post(srv.url("Patient"))
        .header("content-type", "application/fhir+json")
        .body(patient("Smith", "John", "1956-03-14", "male", "0012345").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["etag"], "W/\"1\"");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/fhir+json")
    );
    let (_, created) = body(resp).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        location.ends_with(&format!("/Patient/{id}/_history/1")),
        "{location}"
    );
    assert_eq!(created["meta"]["versionId"], "1");

    let (status, read) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["name"][0]["family"], "Smith");

    // Update with the right version, then with a stale one.
    let mut changed = read.clone();
    changed["gender"] = json!("other");
    let resp = srv
        .http
        .put(srv.url(&format!("Patient/{id}")))
        .header("if-match", "W/\"1\"")
        .body(changed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["etag"], "W/\"2\"");
    let resp = srv
        .http
        .put(srv.url(&format!("Patient/{id}")))
        .header("if-match", "W/\"1\"")
        .body(changed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    let (_, outcome) = body(resp).await;
    assert!(diagnostics(&outcome).contains("current version is 2"));

    let (status, v1) = srv.get(&format!("Patient/{id}/_history/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["gender"], "male");
    let (status, _) = srv.get(&format!("Patient/{id}/_history/9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let resp = srv
        .http
        .delete(srv.url(&format!("Patient/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, outcome) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(diagnostics(&outcome).contains("deleted"));

    let (status, history) = srv.get(&format!("Patient/{id}/_history")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["type"], "history");
    assert_eq!(history["total"], 3);
    let methods: Vec<_> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["DELETE", "PUT", "POST"]);
    let (_, type_history) = srv.get("Patient/_history").await;
    assert_eq!(type_history["total"], 3);
    let (_, system_history) = srv.get("_history?_count=1").await;
    assert_eq!(system_history["entry"].as_array().unwrap().len(), 1);
    assert!(link(&system_history, "next").is_some());

    // PUT to a new id creates it.
    let (status, made) = srv
        .put(
            "Patient/chosen-id",
            &json!({"resourceType": "Patient", "id": "chosen-id"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(made["id"], "chosen-id");
}

#[tokio::test]
async fn conditional_create() {
    let srv = TestServer::start().await;
    let p = patient("Okafor", "Ngozi", "1980-01-02", "female", "M1");
    let send = |cond: &'static str| {
        srv.http
            .post(srv.url("Patient"))
            .header("if-none-exist", cond)
            .body(p.to_string())
            .send()
    };
    let first = send("identifier=http://hospital.example/mrn|M1")
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = send("identifier=http://hospital.example/mrn|M1")
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    srv.create(patient("Okafor", "Ngozi", "1981-01-02", "female", "M2"))
        .await;
    let third = send("family=okafor").await.unwrap();
    assert_eq!(third.status(), StatusCode::PRECONDITION_FAILED);
    let (_, bundle) = srv.get("Patient?family=okafor").await;
    assert_eq!(bundle["total"], 2);
}

#[tokio::test]
async fn unknown_elements_extensions_and_decimals_round_trip() {
    let srv = TestServer::start().await;
    // An element R4 does not define is refused (the server's stated policy), with its path.
    let (status, outcome) = srv
        .post(
            "Observation",
            &serde_json::json!({"resourceType": "Observation", "status": "final",
                "code": {"text": "x"}, "somethingFromAnotherSystem": {"nested": [1]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Observation.somethingFromAnotherSystem"
    );
    // Extensions (where another system's data belongs) and decimals round-trip as sent.
    let text = r#"{"resourceType":"Observation","status":"final",
        "code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},
        "valueQuantity":{"value":6.10,"unit":"mmol/L"},
        "extension":[{"url":"http://other.example/ext","valueDecimal":1.500}],
        "_status":{"extension":[{"url":"http://other.example/why","valueString":"kept"}]},
        "component":[{"code":{"text":"x"},"valueQuantity":{"value":2.0}}]}"#;
    let resp = srv
        .http
        .post(srv.url("Observation"))
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (_, created) = body(resp).await;
    let id = created["id"].as_str().unwrap();
    let raw = srv
        .http
        .get(srv.url(&format!("Observation/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains("6.10"), "{raw}");
    assert!(raw.contains("1.500"), "{raw}");
    assert!(raw.contains("2.0"), "{raw}");
    let mut back: Value = serde_json::from_str(&raw).unwrap();
    let mut sent: Value = serde_json::from_str(text).unwrap();
    back.as_object_mut().unwrap().remove("meta");
    back.as_object_mut().unwrap().remove("id");
    sent.as_object_mut().unwrap().remove("id");
    assert_eq!(back, sent);
}

#[tokio::test]
async fn errors_are_operation_outcomes() {
    let srv = TestServer::start().await;
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            srv.http.post(srv.url("Patient")).body("{not json"),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            srv.http
                .post(srv.url("Patient"))
                .body(r#"{"resourceType":"Observation"}"#),
            StatusCode::BAD_REQUEST,
            "posted to Patient",
        ),
        (
            srv.http
                .put(srv.url("Patient/a"))
                .body(r#"{"resourceType":"Observation","id":"a"}"#),
            StatusCode::BAD_REQUEST,
            "URL is for Patient",
        ),
        (
            srv.http
                .put(srv.url("Patient/a"))
                .body(r#"{"resourceType":"Patient","id":"b"}"#),
            StatusCode::BAD_REQUEST,
            "does not match",
        ),
        (
            srv.http.post(srv.url("Patient")).body("[1,2]"),
            StatusCode::BAD_REQUEST,
            "JSON object",
        ),
        (
            srv.http.post(srv.url("Patient")),
            StatusCode::BAD_REQUEST,
            "no body",
        ),
        (
            srv.http.get(srv.url("Spaceship/1")),
            StatusCode::NOT_FOUND,
            "not supported",
        ),
        (
            srv.http.get(srv.url("Spaceship?name=x")),
            StatusCode::NOT_FOUND,
            "not supported",
        ),
        (
            srv.http.get(srv.url("Patient/nope")),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            srv.http.get(srv.url("Patient?birthdate=notadate")),
            StatusCode::BAD_REQUEST,
            "not a valid date",
        ),
        (
            srv.http.get(srv.url("Patient?_count=lots")),
            StatusCode::BAD_REQUEST,
            "_count",
        ),
        (
            srv.http.get(srv.url("Patient?_sort=shoe-size")),
            StatusCode::BAD_REQUEST,
            "cannot sort",
        ),
        (
            srv.http.get(srv.url("Patient?_page=bogus")),
            StatusCode::BAD_REQUEST,
            "paging link",
        ),
        (
            srv.http.get(srv.url("Patient?name:sounds-like=x")),
            StatusCode::BAD_REQUEST,
            "modifier",
        ),
        (
            srv.http
                .get(srv.url("Patient?shoe-size=9"))
                .header("prefer", "handling=strict"),
            StatusCode::BAD_REQUEST,
            "not a search parameter",
        ),
        (
            srv.http.get(srv.url("Patient/1/$spin")),
            StatusCode::NOT_FOUND,
            "not an operation",
        ),
        (
            srv.http.get(srv.url("Patient?_format=xml")),
            StatusCode::NOT_ACCEPTABLE,
            "JSON only",
        ),
        (
            srv.http.patch(srv.url("metadata")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method",
        ),
        (
            srv.http.patch(srv.url("Patient/1")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "JSON Patch",
        ),
        (
            srv.http.get(format!("{}/../nowhere", srv.base)),
            StatusCode::NOT_FOUND,
            "endpoint",
        ),
        (
            srv.http
                .post(srv.url(""))
                .body(r#"{"resourceType":"Bundle","type":"collection"}"#),
            StatusCode::BAD_REQUEST,
            "batch or transaction",
        ),
    ];
    for (request, status, text) in cases {
        let (got, outcome) = body(request.send().await.unwrap()).await;
        assert_eq!(got, status, "{outcome}");
        assert!(diagnostics(&outcome).contains(text), "{text}: {outcome}");
    }
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let config = bedside::server::ServerConfig {
        body_limit: 1024,
        ..Default::default()
    };
    let srv = TestServer::start_with(config).await;
    let big = json!({"resourceType": "Patient", "text": {"div": "x".repeat(4096)}});
    let server = srv.server.as_ref().unwrap();
    let resp = srv
        .http
        .post(format!("{}/Patient", server.base_url()))
        .body(big.to_string())
        .send()
        .await
        .unwrap();
    let (status, outcome) = body(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(diagnostics(&outcome).contains("limit"));
}

#[tokio::test]
async fn metadata_lists_what_works() {
    let srv = TestServer::start().await;
    let resp = srv.http.get(srv.url("metadata")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, cs) = body(resp).await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let types: Vec<_> = resources
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for t in [
        "Patient",
        "Observation",
        "AuditEvent",
        "Flag",
        "DetectedIssue",
        "Location",
    ] {
        assert!(types.contains(&t), "{t}");
    }
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let params: Vec<_> = patient["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "name",
        "family",
        "given",
        "identifier",
        "birthdate",
        "gender",
        "_id",
        "_lastUpdated",
    ] {
        assert!(params.contains(&p), "{p}");
    }
    assert_eq!(patient["operation"][0]["name"], "everything");
    let system: Vec<_> = cs["rest"][0]["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert!(system.contains(&"transaction") && system.contains(&"batch"));
}
