//! Support staff correcting a patient's registration details: only with a reason (the FHIR
//! `X-Provenance` header) and the version corrected (`If-Match`), one record at a time,
//! registration details only. The reason is in the audit record and in a Provenance beside
//! the version it made; every version stays in the history. Attacked through the other ways
//! in: a transaction, a batch, a conditional update, a create, a PATCH, a restricted record.

mod common;

use bedside::server::auth::Role;
use common::{TestServer, body, client_with, diagnostics};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn provenance(reason: &str) -> String {
    json!({"resourceType": "Provenance", "reason": [{"text": reason}]}).to_string()
}

struct Desk {
    srv: TestServer,
    support: reqwest::Client,
    id: String,
    current: Value,
}

async fn desk() -> Desk {
    let srv = TestServer::start().await;
    let clerk = client_with(&srv.user("corr.clerk", Role::Clerk));
    let (status, current) = body(
        clerk
            .post(srv.url("Patient"))
            .json(&json!({"resourceType": "Patient", "active": true,
                "name": [{"family": "Smiht", "given": ["Ann"]}],
                "birthDate": "1950-04-03", "gender": "female"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{current}");
    let id = current["id"].as_str().unwrap().to_string();
    let support = client_with(&srv.user("corr.support", Role::Support));
    Desk {
        srv,
        support,
        id,
        current,
    }
}

impl Desk {
    async fn put(
        &self,
        resource: &Value,
        reason: Option<&str>,
        version: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .support
            .put(self.srv.url(&format!("Patient/{}", self.id)))
            .json(resource);
        if let Some(reason) = reason {
            r = r.header("x-provenance", provenance(reason));
        }
        if let Some(v) = version {
            r = r.header("if-match", format!("W/\"{v}\""));
        }
        body(r.send().await.unwrap()).await
    }

    fn corrected(&self) -> Value {
        let mut p = self.current.clone();
        p["name"][0]["family"] = json!("Smith");
        p
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_corrects_with_a_reason_and_the_version_and_it_is_audited() {
    let d = desk().await;
    let fixed = d.corrected();
    // No reason: refused, whatever else is right.
    let (status, reply) = d.put(&fixed, None, Some("1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    // A reason but not the version corrected.
    let (status, reply) = d
        .put(&fixed, Some("surname misspelt at registration"), None)
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{reply}");
    assert!(diagnostics(&reply).contains("If-Match"), "{reply}");
    // A reason too short to be one; a header that is not a Provenance.
    let (status, _) = d.put(&fixed, Some("x"), Some("1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, reply) = body(
        d.support
            .put(d.srv.url(&format!("Patient/{}", d.id)))
            .header("x-provenance", "{\"resourceType\": \"Patient\"}")
            .header("if-match", "W/\"1\"")
            .json(&fixed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    // Both: corrected.
    let (status, reply) = d
        .put(&fixed, Some("surname misspelt at registration"), Some("1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["name"][0]["family"], "Smith");
    assert_eq!(reply["meta"]["versionId"], "2");
    // The same version again: someone corrected it since.
    let (status, _) = d
        .put(&fixed, Some("surname misspelt again"), Some("1"))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // Both versions in the history.
    let (_, history) = d.srv.get(&format!("Patient/{}/_history", d.id)).await;
    let families: Vec<String> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["resource"]["name"][0]["family"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(families, ["Smith", "Smiht"]);
    // The Provenance beside the new version, with the reason and who.
    let (_, found) = d
        .srv
        .get(&format!("Provenance?target=Patient/{}/_history/2", d.id))
        .await;
    let prov = &found["entry"][0]["resource"];
    assert_eq!(
        prov["reason"][0]["text"], "surname misspelt at registration",
        "{found}"
    );
    assert_eq!(prov["agent"][0]["who"]["display"], "corr.support");
    assert_eq!(
        prov["target"][0]["reference"],
        format!("Patient/{}/_history/2", d.id)
    );
    // The audit record of the correction carries the reason.
    let (status, audit) = body(
        d.support
            .get(d.srv.url(&format!(
                "AuditEvent?patient={}&altid=corr.support&_count=50",
                d.id
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let reasons: Vec<&Value> = audit["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["purposeOfEvent"].as_array())
        .flatten()
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r["text"] == "surname misspelt at registration"
                && r["coding"][0]["code"] == "PATADMIN"),
        "{audit}"
    );

    // A JSON Patch, with its reason and version, corrects too.
    let (status, reply) = body(
        d.support
            .patch(d.srv.url(&format!("Patient/{}", d.id)))
            .header("content-type", "application/json-patch+json")
            .header(
                "x-provenance",
                provenance("birth date day and month swapped"),
            )
            .header("if-match", "W/\"2\"")
            .body(
                json!([{"op": "replace", "path": "/birthDate", "value": "1950-03-04"}]).to_string(),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["birthDate"], "1950-03-04");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_changes_details_only_and_no_other_way_in_carries_it() {
    let d = desk().await;
    let reason = Some("record tidied after a complaint");
    // What the record is, not how its details are written: refused.
    for (field, value) in [
        ("active", json!(false)),
        ("deceasedBoolean", json!(true)),
        (
            "link",
            json!([{"other": {"reference": "Patient/x"}, "type": "replaced-by"}]),
        ),
        (
            "meta",
            json!({"security": [bedside::server::auth::policy::restricted_label()]}),
        ),
    ] {
        let mut p = d.corrected();
        p[field] = value;
        let (status, reply) = d.put(&p, reason, Some("1")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field}: {reply}");
    }
    // The MRN never changes, correction or not.
    let mut p = d.corrected();
    p["identifier"][0]["value"] = json!("9999999");
    let (status, reply) = d.put(&p, reason, Some("1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");

    // A transaction or a batch with the header on the bundle: its entries are not corrections.
    for kind in ["transaction", "batch"] {
        let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": d.corrected(), "request": {"method": "PUT", "url": format!("Patient/{}", d.id), "ifMatch": "W/\"1\""}},
        ]});
        let (status, reply) = body(
            d.support
                .post(d.srv.base.clone())
                .header("x-provenance", provenance("in a bundle"))
                .json(&bundle)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let refused = status == StatusCode::FORBIDDEN
            || reply["entry"][0]["response"]["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("403"));
        assert!(refused, "{kind}: {status} {reply}");
    }
    // A conditional update, and a create under a new id.
    let (status, _) = body(
        d.support
            .put(d.srv.url(&format!("Patient?_id={}", d.id)))
            .header("x-provenance", provenance("conditional"))
            .header("if-match", "W/\"1\"")
            .json(&d.corrected())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut new = d.corrected();
    new["id"] = json!("made-by-support");
    let (status, _) = body(
        d.support
            .put(d.srv.url("Patient/made-by-support"))
            .header("x-provenance", provenance("a new record"))
            .json(&new)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Clinical content is not corrected this way.
    let obs = d
        .srv
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "Potassium"}, "subject": {"reference": format!("Patient/{}", d.id)}}))
        .await;
    let (status, _) = body(
        d.support
            .put(d.srv.url(&format!("Observation/{obs}")))
            .header("x-provenance", provenance("wrong value"))
            .header("if-match", "W/\"1\"")
            .json(&json!({"resourceType": "Observation", "id": obs, "status": "final",
                "code": {"text": "Potassium"}, "subject": {"reference": format!("Patient/{}", d.id)}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing above changed the record.
    let (_, now) = d.srv.get(&format!("Patient/{}", d.id)).await;
    assert_eq!(now["meta"]["versionId"], "1", "{now}");
    assert_eq!(now["name"][0]["family"], "Smiht");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_record_is_corrected_only_after_breaking_the_glass() {
    let d = desk().await;
    let mut vip = d.current.clone();
    vip["meta"] = json!({"security": [bedside::server::auth::policy::restricted_label()]});
    let physician = client_with(&d.srv.user("corr.doc", Role::Physician));
    // Labelled by a physician who broke the glass on it.
    let glass = format!("{}/auth/break-glass", d.srv.root());
    let (status, reply) = body(
        physician
            .post(&glass)
            .json(&json!({"patient": d.id, "reason": "restricting at the patient's request"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{reply}");
    let (status, reply) = body(
        physician
            .put(d.srv.url(&format!("Patient/{}", d.id)))
            .json(&vip)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let mut fixed = reply.clone();
    fixed["name"][0]["family"] = json!("Smith");
    let (status, reply) = d.put(&fixed, Some("surname misspelt"), Some("2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert!(diagnostics(&reply).contains("restricted"), "{reply}");
    let (status, _) = body(
        d.support
            .post(&glass)
            .json(&json!({"patient": d.id, "reason": "ticket 4411: surname misspelt"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success());
    let (status, reply) = d.put(&fixed, Some("surname misspelt"), Some("2")).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}
