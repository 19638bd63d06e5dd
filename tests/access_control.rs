//! Who may see what, over real HTTP: the per-role permission matrix, the audit trail,
//! break-the-glass, and sign-in (wrong password, lockout, TOTP, expired and revoked tokens).

mod common;

use std::time::Duration;

use bedside::server::ServerConfig;
use bedside::server::audit::{self, Filter};
use bedside::server::auth::{Role, Settings};
use common::{TEST_PASSWORD, TestServer, body, client_with};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct World {
    srv: TestServer,
    patient: String,
    lab: String,
    tokens: Vec<(Role, String)>,
}

async fn world() -> World {
    let srv = TestServer::start().await;
    let patient = srv
        .create(common::patient(
            "OKAFOR",
            "Ada",
            "1950-02-03",
            "female",
            "M1",
        ))
        .await;
    let lab = srv
        .create(json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"code": "laboratory"}]}],
            "code": {"text": "Potassium"}, "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
            "subject": {"reference": format!("Patient/{patient}")}}))
        .await;
    let tokens = Role::ALL
        .iter()
        .map(|r| (*r, srv.user(&format!("t.{}", r.as_str()), *r)))
        .collect();
    World {
        srv,
        patient,
        lab,
        tokens,
    }
}

impl World {
    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    async fn call(
        &self,
        role: Role,
        method: Method,
        path: &str,
        body_json: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = client_with(self.token(role)).request(method, self.srv.url(path));
        if let Some(b) = body_json {
            request = request
                .header("content-type", "application/fhir+json")
                .body(b.to_string());
        }
        body(request.send().await.unwrap()).await
    }
}

fn vital(patient: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 72, "unit": "/min"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn medication(patient: &str, status: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": status, "intent": "order",
        "medicationCodeableConcept": {"text": "amoxicillin 500 mg"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn note(patient: &str) -> Value {
    json!({"resourceType": "DocumentReference", "status": "current",
        "type": {"text": "Progress note"},
        "subject": {"reference": format!("Patient/{patient}")},
        "content": [{"attachment": {"contentType": "text/plain", "data": "T2sK"}}]})
}

/// Every role against every interaction: the status, and for support's reads of clinical
/// content, that nothing clinical came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_matrix() {
    let w = world().await;
    let p = w.patient.clone();
    let lab = w.lab.clone();
    use Method as M;
    // (what, method, path, body, [physician, nurse, support, admin, clerk])
    type Case = (&'static str, Method, String, Option<Value>, [u16; 5]);
    let cases: Vec<Case> = vec![
        (
            "read patient",
            M::GET,
            format!("Patient/{p}"),
            None,
            [200, 200, 200, 403, 200],
        ),
        (
            "search patients",
            M::GET,
            "Patient?name=okafor".into(),
            None,
            [200, 200, 200, 403, 200],
        ),
        (
            "read result",
            M::GET,
            format!("Observation/{lab}"),
            None,
            [200, 200, 200, 403, 403],
        ),
        (
            "search results",
            M::GET,
            format!("Observation?patient={p}"),
            None,
            [200, 200, 200, 403, 403],
        ),
        (
            "whole chart",
            M::GET,
            format!("Patient/{p}/$everything"),
            None,
            [200, 200, 200, 403, 403],
        ),
        (
            "history",
            M::GET,
            format!("Observation/{lab}/_history"),
            None,
            [200, 200, 200, 403, 403],
        ),
        (
            "read directory",
            M::GET,
            "Practitioner".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            "write note",
            M::POST,
            "DocumentReference".into(),
            Some(note(&p)),
            [201, 201, 403, 403, 403],
        ),
        (
            "record vitals",
            M::POST,
            "Observation".into(),
            Some(vital(&p)),
            [201, 201, 403, 403, 403],
        ),
        (
            "record a lab result",
            M::POST,
            "Observation".into(),
            Some(
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "K"}, "subject": {"reference": format!("Patient/{p}")}}),
            ),
            [201, 403, 403, 403, 403],
        ),
        (
            "sign medication order",
            M::POST,
            "MedicationRequest".into(),
            Some(medication(&p, "active")),
            [201, 403, 403, 403, 403],
        ),
        (
            "draft medication order",
            M::POST,
            "MedicationRequest".into(),
            Some(medication(&p, "draft")),
            [201, 201, 403, 403, 403],
        ),
        (
            "update patient",
            M::PUT,
            format!("Patient/{p}"),
            Some(
                json!({"resourceType": "Patient", "id": p, "name": [{"family": "OKAFOR", "given": ["Ada"]}], "gender": "female", "birthDate": "1950-02-03",
                    "identifier": [{"system": "http://hospital.example/mrn", "value": "M1"}]}),
            ),
            [200, 200, 403, 403, 200],
        ),
        (
            "write directory",
            M::POST,
            "Location".into(),
            Some(json!({"resourceType": "Location", "name": "Ward 9"})),
            [403, 403, 403, 201, 403],
        ),
        (
            "read a patient's audit trail",
            M::GET,
            format!("AuditEvent?patient={p}"),
            None,
            // Which patients were opened is clinical metadata: not for administrators.
            [403, 403, 200, 403, 403],
        ),
        (
            "read the sign-in audit trail",
            M::GET,
            "AuditEvent?subtype=login".into(),
            None,
            [403, 403, 200, 200, 403],
        ),
        (
            "write audit",
            M::POST,
            "AuditEvent".into(),
            Some(json!({"resourceType": "AuditEvent"})),
            [403, 403, 403, 403, 403],
        ),
        (
            "delete audit",
            M::DELETE,
            "AuditEvent/x".into(),
            None,
            [403, 403, 403, 403, 403],
        ),
    ];
    let mut wrong = Vec::new();
    for (what, method, path, body_json, expected) in &cases {
        for (i, role) in Role::ALL.iter().enumerate() {
            let (status, reply) = w.call(*role, method.clone(), path, body_json.clone()).await;
            if status.as_u16() != expected[i] {
                wrong.push(format!(
                    "{what} as {}: {status} (expected {}) {reply}",
                    role.as_str(),
                    expected[i]
                ));
                continue;
            }
            if status == StatusCode::FORBIDDEN {
                // The refusal says which permission is missing.
                let text = reply["issue"][0]["diagnostics"]
                    .as_str()
                    .unwrap_or_default();
                if !text.contains("permission") && !text.contains("audit") {
                    wrong.push(format!(
                        "{what} as {}: unclear refusal {text}",
                        role.as_str()
                    ));
                }
            }
        }
    }
    // Deletes last (they remove what the others read).
    for (i, role) in Role::ALL.iter().enumerate() {
        let id = w.srv.create(vital(&p)).await;
        let (status, _) = w
            .call(*role, Method::DELETE, &format!("Observation/{id}"), None)
            .await;
        let expected = [204, 403, 403, 403, 403][i];
        if status.as_u16() != expected {
            wrong.push(format!(
                "delete result as {}: {status} (expected {expected})",
                role.as_str()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Support staff see that results exist, not what they say.
    let (_, obs) = w
        .call(
            Role::Support,
            Method::GET,
            &format!("Observation/{lab}"),
            None,
        )
        .await;
    assert!(obs.get("valueQuantity").is_none(), "{obs}");
    assert_eq!(obs["meta"]["tag"][0]["code"], "SUBSETTED");
    assert_eq!(obs["subject"]["reference"], format!("Patient/{p}"));
    let (_, chart) = w
        .call(
            Role::Support,
            Method::GET,
            &format!("Patient/{p}/$everything"),
            None,
        )
        .await;
    assert!(!chart.to_string().contains("mmol/L"), "{chart}");
    // ...and the physician sees everything.
    let (_, obs) = w
        .call(
            Role::Physician,
            Method::GET,
            &format!("Observation/{lab}"),
            None,
        )
        .await;
    assert_eq!(obs["valueQuantity"]["value"], 4.1);

    // Without a token, only the CapabilityStatement answers.
    let anonymous = Client::new();
    let r = anonymous
        .get(w.srv.url(&format!("Patient/{p}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = anonymous.get(w.srv.url("metadata")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // User management is the administrator's.
    let users = format!("{}/auth/users", w.srv.root());
    for (role, expected) in [
        (Role::Admin, 200),
        (Role::Physician, 403),
        (Role::Support, 403),
    ] {
        let r = client_with(w.token(role)).get(&users).send().await.unwrap();
        assert_eq!(r.status().as_u16(), expected, "{role:?}");
    }
}

fn events(srv: &TestServer, filter: Filter) -> Vec<Value> {
    let filter = Filter {
        count: 1000,
        ..filter
    };
    audit::search(&srv.store, &filter)
        .unwrap()
        .0
        .into_iter()
        .map(|(_, _, json)| serde_json::from_str(&json).unwrap())
        .collect()
}

/// Each interaction leaves exactly one AuditEvent of the right kind, naming who, which
/// patient, what, from where and whether it worked; and the trail cannot be changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interaction_is_audited() {
    let w = world().await;
    let p = w.patient.clone();
    let lab = w.lab.clone();
    type Case = (
        Method,
        String,
        Option<Value>,
        &'static str,
        &'static str,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            format!("Observation/{lab}"),
            None,
            "read",
            "R",
            true,
        ),
        (
            Method::GET,
            format!("Observation/{lab}/_history/1"),
            None,
            "vread",
            "R",
            true,
        ),
        (
            Method::GET,
            format!("Observation?patient={p}"),
            None,
            "search",
            "E",
            true,
        ),
        (
            Method::GET,
            format!("Patient/{p}/_history"),
            None,
            "history",
            "R",
            true,
        ),
        (
            Method::GET,
            format!("Patient/{p}/$everything"),
            None,
            "operation",
            "E",
            true,
        ),
        (
            Method::POST,
            "DocumentReference".into(),
            Some(note(&p)),
            "create",
            "C",
            true,
        ),
        (
            Method::PUT,
            format!("Observation/{lab}"),
            Some(
                json!({"resourceType": "Observation", "id": lab, "status": "amended", "code": {"text": "Potassium"}, "subject": {"reference": format!("Patient/{p}")}}),
            ),
            "update",
            "U",
            true,
        ),
        (
            Method::DELETE,
            format!("Observation/{lab}"),
            None,
            "delete",
            "D",
            true,
        ),
        (
            Method::GET,
            "Observation/no-such-thing".into(),
            None,
            "read",
            "R",
            false,
        ),
    ];
    for (method, path, body_json, subtype, action, success) in cases {
        let before = events(&w.srv, Filter::default()).len();
        let (status, _) = w
            .call(Role::Physician, method.clone(), &path, body_json)
            .await;
        assert_eq!(status.is_success(), success, "{method} {path}: {status}");
        let after = events(&w.srv, Filter::default());
        assert_eq!(after.len(), before + 1, "{method} {path}: one event");
        let e = &after[0];
        assert_eq!(
            e["subtype"][0]["code"].as_str().unwrap().split('-').next(),
            subtype.split('-').next(),
            "{method} {path}: {e}"
        );
        assert_eq!(e["action"], action, "{method} {path}");
        assert_eq!(
            e["outcome"],
            if success { "0" } else { "4" },
            "{method} {path}"
        );
        assert_eq!(e["agent"][0]["altId"], "t.physician");
        assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");
        assert!(e["recorded"].as_str().unwrap().ends_with('Z'));
        if success {
            let patients: Vec<&str> = e["entity"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|x| x["what"]["reference"].as_str())
                .collect();
            assert!(
                patients.contains(&format!("Patient/{p}").as_str()),
                "{method} {path}: {e}"
            );
        }
    }
    // A search records its query.
    let searches = events(
        &w.srv,
        Filter {
            subtype: Some("search".into()),
            ..Default::default()
        },
    );
    assert!(
        searches[0]["entity"]
            .to_string()
            .contains(&format!("patient={p}"))
    );

    // "Who looked at this chart", as support sees it, filtered by user.
    let (status, log) = w
        .call(
            Role::Support,
            Method::GET,
            &format!("AuditEvent?patient={p}&altid=t.physician"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(log["total"].as_i64().unwrap() >= 8, "{log}");
    let first = log["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The trail cannot be changed through the API...
    for role in Role::ALL {
        let (s, _) = w
            .call(role, Method::DELETE, &format!("AuditEvent/{first}"), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = w
            .call(
                role,
                Method::PUT,
                &format!("AuditEvent/{first}"),
                Some(json!({"resourceType": "AuditEvent", "id": first})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": format!("AuditEvent/{first}")}}]});
    let (s, _) = w
        .call(Role::Physician, Method::POST, "", Some(bundle))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // ...nor in the database itself.
    let refused = w
        .srv
        .store
        .write_side(|tx| Ok(tx.execute("DELETE FROM audit", [])?));
    assert!(refused.is_err());
    let refused = w
        .srv
        .store
        .write_side(|tx| Ok(tx.execute("UPDATE audit SET outcome = '0'", [])?));
    assert!(refused.is_err());
    let (s, still) = w
        .call(
            Role::Support,
            Method::GET,
            &format!("AuditEvent/{first}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{still}");
}

/// A restricted record needs a reason; the access is time-limited and audited as emergency
/// access.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_the_glass() {
    let w = world().await;
    let mut vip = common::patient("STAR", "Vera", "1970-01-01", "female", "VIP1");
    vip["meta"] = json!({"security": [bedside::server::auth::policy::restricted_label()]});
    let vip = w.srv.create(vip).await;
    // Writing into a restricted chart needs the glass broken too.
    let (s, _) = w
        .call(
            Role::Physician,
            Method::POST,
            "Observation",
            Some(vital(&vip)),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = vital(&vip);
    w.srv.store.write(|tx| tx.create(v, None)).unwrap();
    // The Patient (banner) is readable; the chart is not.
    let (s, _) = w
        .call(
            Role::Physician,
            Method::GET,
            &format!("Patient/{vip}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, refused) = w
        .call(
            Role::Physician,
            Method::GET,
            &format!("Patient/{vip}/$everything"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        refused.to_string().contains("restricted record"),
        "{refused}"
    );
    let (_, listed) = w
        .call(
            Role::Physician,
            Method::GET,
            &format!("Observation?patient={vip}"),
            None,
        )
        .await;
    assert!(!listed.to_string().contains("\"value\":72"), "{listed}");

    let glass = format!("{}/auth/break-glass", w.srv.root());
    let http = client_with(w.token(Role::Physician));
    let r = http
        .post(&glass)
        .json(&json!({"patient": vip, "reason": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is required");
    let r = http
        .post(&glass)
        .json(&json!({"patient": vip, "reason": "Unresponsive in ED, need medication history"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, grant) = body(r).await;
    assert!(grant["expires_in"].as_i64().unwrap() > 0);
    let (s, chart) = w
        .call(
            Role::Physician,
            Method::GET,
            &format!("Patient/{vip}/$everything"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(chart.to_string().contains("\"value\":72"));
    // Only for that user: another physician is still refused.
    let other = w.srv.user("t.physician2", Role::Physician);
    let r = client_with(&other)
        .get(w.srv.url(&format!("Patient/{vip}/$everything")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Administrators cannot break the glass at all.
    let r = client_with(w.token(Role::Admin))
        .post(&glass)
        .json(&json!({"patient": vip, "reason": "curious"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let trail = events(
        &w.srv,
        Filter {
            patient: Some(vip.clone()),
            ..Default::default()
        },
    );
    let btg: Vec<&Value> = trail
        .iter()
        .filter(|e| e["subtype"][0]["code"] == "break-glass")
        .collect();
    assert_eq!(
        btg.len(),
        3,
        "refused (no reason), granted, refused (admin)"
    );
    let granted = btg.iter().find(|e| e["outcome"] == "0").unwrap();
    assert_eq!(granted["purposeOfEvent"][0]["coding"][0]["code"], "BTG");
    assert_eq!(
        granted["purposeOfEvent"][0]["text"],
        "Unresponsive in ED, need medication history"
    );
    // The reads under the grant are marked as emergency access too.
    let read = trail
        .iter()
        .find(|e| e["subtype"][0]["code"] == "operation" && e["outcome"] == "0")
        .unwrap();
    assert_eq!(read["purposeOfEvent"][0]["coding"][0]["code"], "BTG");

    // Time-limited: a grant of one second lapses.
    let config = ServerConfig {
        auth: Settings {
            break_glass: Duration::from_secs(1),
            ..Settings::default()
        },
        ..ServerConfig::default()
    };
    let short = TestServer::start_with(config).await;
    let mut vip2 = common::patient("STAR", "Vera", "1970-01-01", "female", "VIP2");
    vip2["meta"] = json!({"security": [bedside::server::auth::policy::restricted_label()]});
    let vip2 = short.create(vip2).await;
    let r = short
        .http
        .post(format!("{}/auth/break-glass", short.root()))
        .json(&json!({"patient": vip2, "reason": "cardiac arrest"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = short.get(&format!("Patient/{vip2}/$everything")).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, _) = short.get(&format!("Patient/{vip2}/$everything")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn login(
    srv: &TestServer,
    username: &str,
    password: &str,
    totp: Option<&str>,
) -> (StatusCode, Value) {
    let mut b = json!({"username": username, "password": password});
    if let Some(code) = totp {
        b["totp"] = json!(code);
    }
    body(
        Client::new()
            .post(format!("{}/auth/login", srv.root()))
            .json(&b)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_lockout_totp_expiry_and_revocation() {
    let config = ServerConfig {
        auth: Settings {
            token_ttl: Duration::from_secs(2),
            max_failures: 3,
            ..Settings::default()
        },
        ..ServerConfig::default()
    };
    let srv = TestServer::start_with(config).await;
    srv.user("jdoe", Role::Nurse);

    // Right password: a token that works.
    let (s, ok) = login(&srv, "jdoe", TEST_PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 2);
    assert_eq!(ok["user"]["role"], "nurse");
    let token = ok["access_token"].as_str().unwrap().to_string();
    let r = client_with(&token)
        .get(srv.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The token is not stored as such.
    let stored: i64 = srv
        .store
        .read_side(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM auth_token WHERE hash = ?1",
                [&token],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(stored, 0);

    // Expired after its lifetime.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = client_with(&token)
        .get(srv.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(body(r).await.1.to_string().contains("expired"));

    // Revoked by signing out.
    let (_, ok) = login(&srv, "jdoe", TEST_PASSWORD, None).await;
    let token = ok["access_token"].as_str().unwrap().to_string();
    let r = client_with(&token)
        .post(format!("{}/auth/logout", srv.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client_with(&token)
        .get(srv.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Wrong password, then a lockout that holds even against the right one.
    let (s, wrong) = login(&srv, "jdoe", "nope", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong["error_description"], "wrong username or password");
    let (_, unknown) = login(&srv, "nobody", "nope", None).await;
    assert_eq!(
        unknown["error_description"], wrong["error_description"],
        "no hint which usernames exist"
    );
    login(&srv, "jdoe", "nope", None).await;
    login(&srv, "jdoe", "nope", None).await;
    let (s, locked) = login(&srv, "jdoe", TEST_PASSWORD, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(locked["error"], "locked", "{locked}");
    let failures = events(
        &srv,
        Filter {
            username: Some("jdoe".into()),
            subtype: Some("login".into()),
            outcome: Some("4".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        failures.len(),
        4,
        "three wrong passwords and the locked attempt"
    );
    // An administrator's reset clears it.
    srv.auth
        .reset_password("jdoe", "a brand new password")
        .unwrap();
    let (s, _) = login(&srv, "jdoe", "a brand new password", None).await;
    assert_eq!(s, StatusCode::OK);

    // TOTP: asked for, checked, not reusable.
    let (secret, uri) = srv.auth.enrol_totp("jdoe").unwrap();
    assert!(uri.starts_with("otpauth://totp/bedside:jdoe?secret="));
    let (s, need) = login(&srv, "jdoe", "a brand new password", None).await;
    assert_eq!(
        (s, need["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp_required"))
    );
    let (s, bad) = login(&srv, "jdoe", "a brand new password", Some("000000")).await;
    assert_eq!(bad["error"], "totp_invalid", "{s}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = bedside::server::auth::totp_code(&secret, now).unwrap();
    let (s, ok) = login(&srv, "jdoe", "a brand new password", Some(&code)).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    let (_, replay) = login(&srv, "jdoe", "a brand new password", Some(&code)).await;
    assert_eq!(replay["error"], "totp_invalid", "a code works once");

    // A role marked as requiring MFA: its users without TOTP cannot sign in.
    srv.user("drx", Role::Physician);
    srv.auth.require_mfa(Role::Physician, true).unwrap();
    let (s, refused) = login(&srv, "drx", TEST_PASSWORD, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("second factor")
    );

    // A disabled account is signed out at once.
    let (_, ok) = login(&srv, "t.support", TEST_PASSWORD, None).await;
    assert!(ok.get("access_token").is_none(), "not a user yet");
    let support = srv.user("t.support", Role::Support);
    srv.auth.set_disabled("t.support", true).unwrap();
    let r = client_with(&support)
        .get(srv.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
