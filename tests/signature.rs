//! Electronic signatures (`POST /auth/signature`, `POST /auth/signature-pin`) tried as an
//! attacker would: guessing counts towards the same lockout as sign-in, a PIN is never a way
//! to sign in, nothing works without a session, and every check is audited without the
//! secret in it.

mod common;

use bedside::server::ServerConfig;
use bedside::server::auth::Role;
use common::{TEST_PASSWORD, TestServer, client_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post(
    srv: &TestServer,
    token: Option<&str>,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let client = match token {
        Some(t) => client_with(t),
        None => reqwest::Client::new(),
    };
    let r = client
        .post(format!("{}/{path}", srv.root()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn sign(srv: &TestServer, token: &str, secret: &str) -> (StatusCode, Value) {
    post(
        srv,
        Some(token),
        "auth/signature",
        json!({"secret": secret, "what": "orders"}),
    )
    .await
}

async fn login(srv: &TestServer, user: &str, password: &str) -> StatusCode {
    post(
        srv,
        None,
        "auth/login",
        json!({"username": user, "password": password}),
    )
    .await
    .0
}

#[tokio::test]
async fn a_wrong_signature_signs_nothing_and_counts_towards_the_lockout() {
    let srv = TestServer::start().await;
    let token = srv.user("sig.doc", Role::Physician);
    // No session, no check (and no hint whether the secret was right).
    let (status, _) = post(
        &srv,
        None,
        "auth/signature",
        json!({"secret": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = sign(&srv, &token, TEST_PASSWORD).await;
    assert!(status.is_success(), "{status}");
    // A wrong one: 403 (the sign-in itself stays good), and said in words.
    let (status, body) = sign(&srv, &token, "guess").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not right")
    );
    // Guessing locks the account like failed sign-ins do (5 in a row)...
    for _ in 0..4 {
        sign(&srv, &token, "guess").await;
    }
    let (status, body) = sign(&srv, &token, TEST_PASSWORD).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    // ...and the lockout is the account's: sign-in is refused too.
    assert_eq!(
        login(&srv, "sig.doc", TEST_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    // A huge or malformed body is refused before any work.
    let (status, _) = post(
        &srv,
        Some(&token),
        "auth/signature",
        json!({"secret": "x".repeat(100_000)}),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = post(
        &srv,
        Some(&srv.token),
        "auth/signature",
        json!({"password": 1}),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn every_check_is_audited_without_the_secret() {
    let srv = TestServer::start().await;
    let token = srv.user("sig.audit", Role::Physician);
    sign(&srv, &token, TEST_PASSWORD).await;
    sign(&srv, &token, "the-wrong-secret").await;
    let support = srv.user("sig.support", Role::Support);
    let r = client_with(&support)
        .get(srv.url("AuditEvent?subtype=signature&_count=50"))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let events: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|e| e["agent"].to_string().contains("sig.audit"))
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    let outcomes: Vec<&str> = events
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"0") && outcomes.iter().any(|o| *o != "0"),
        "{outcomes:?}"
    );
    assert!(!text.contains(TEST_PASSWORD) && !text.contains("the-wrong-secret"));
}

#[tokio::test]
async fn a_pin_only_where_the_site_allows_it_and_never_to_sign_in() {
    // Not allowed by default.
    let srv = TestServer::start().await;
    let token = srv.user("pin.doc", Role::Physician);
    let (status, _) = post(
        &srv,
        Some(&token),
        "auth/signature-pin",
        json!({"password": TEST_PASSWORD, "pin": "482913"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut config = ServerConfig::default();
    config.auth.signature_pins = true;
    let srv = TestServer::start_with(config).await;
    let token = srv.user("pin.doc", Role::Physician);
    let set = |password: &'static str, pin: &'static str| {
        let token = token.clone();
        let srv = &srv;
        async move {
            post(
                srv,
                Some(&token),
                "auth/signature-pin",
                json!({"password": password, "pin": pin}),
            )
            .await
            .0
        }
    };
    // The password proves who sets it; weak PINs are refused.
    assert_eq!(set("not it", "482913").await, StatusCode::FORBIDDEN);
    assert_eq!(set(TEST_PASSWORD, "123456").await, StatusCode::BAD_REQUEST);
    assert_eq!(set(TEST_PASSWORD, "000000").await, StatusCode::BAD_REQUEST);
    assert_eq!(set(TEST_PASSWORD, "12ab56").await, StatusCode::BAD_REQUEST);
    assert_eq!(set(TEST_PASSWORD, "4829").await, StatusCode::BAD_REQUEST);
    assert!(set(TEST_PASSWORD, "482913").await.is_success());
    // The PIN signs; the password still does; a PIN never signs in.
    assert!(sign(&srv, &token, "482913").await.0.is_success());
    assert!(sign(&srv, &token, TEST_PASSWORD).await.0.is_success());
    assert_eq!(
        login(&srv, "pin.doc", "482913").await,
        StatusCode::UNAUTHORIZED
    );
    // Another user's PIN is not this user's.
    let other = srv.user("pin.other", Role::Nurse);
    assert_eq!(sign(&srv, &other, "482913").await.0, StatusCode::FORBIDDEN);
}
