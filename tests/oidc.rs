//! Signing in with a real OpenID Connect provider (issue 19): the npm package `oidc-provider`
//! (tests/oidc/provider.mjs), started here on an ephemeral port. The test plays the browser
//! and the user over HTTP (the provider's own login, consent and device pages).
//!
//! - The workstation's SMART client: each of the three ways to finish the browser step
//!   (loopback redirect, pasted answer, device code), refresh, a revoked refresh token.
//! - The embedded server behind the provider (`serve --oidc-issuer`): each role through a
//!   provider's token, with the gate and the audit as for bedside's own sign-in; an expired
//!   token, a wrong audience, a forged signature, an unknown user, a rotated key, read-only
//!   scopes through every write path.

mod common;

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bedside::server::ServerConfig;
use bedside::server::auth::Role;
use bedside::server::auth::oidc::OidcSettings;
use bedside::workstation::client::smart::{self, Shown, Way};
use common::{TestServer, client_with, patient};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://bedside.test/fhir";

/// The provider's packages, installed once (`.ci/run` installs them first; a newcomer's first
/// `cargo test` does it here).
fn node_modules() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        if dir.join("node_modules/oidc-provider").exists() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect("npm (Node.js) is needed for the OpenID Connect provider of these tests");
        assert!(status.success(), "npm ci --prefix tests/oidc failed");
    });
}

struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start(ttl: u64, alg: &str) -> Provider {
        Provider::start_with(ttl, alg, 3600)
    }

    fn start_with(ttl: u64, alg: &str, refresh_ttl: u64) -> Provider {
        node_modules();
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/oidc/provider.mjs"
            ))
            .env("OIDC_AUDIENCE", AUDIENCE)
            .env("OIDC_ACCESS_TTL", ttl.to_string())
            .env("OIDC_ALG", alg)
            .env("OIDC_REFRESH_TTL", refresh_ttl.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let issuer = loop {
            let line = lines
                .next()
                .expect("the provider stopped before saying where it is")
                .unwrap();
            if let Ok(said) = serde_json::from_str::<Value>(&line)
                && let Some(issuer) = said["issuer"].as_str()
            {
                break issuer.to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Provider { child, issuer }
    }

    async fn rotate(&self) {
        let status = reqwest::Client::new()
            .post(format!("{}/test/rotate", self.issuer))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user's browser: cookies kept, redirects followed one by one, the provider's forms
/// filled in as a user would (login, consent, device confirmation).
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    user: String,
    extra: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[at..].find('"')? + at;
    Some(tag[at..end].replace("&amp;", "&"))
}

impl Browser {
    fn new(user: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            user: user.to_string(),
            extra: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.insert(k.trim().to_string(), v.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (status, location, response.text().await.unwrap_or_default())
    }

    /// Visits `url` and does what the pages ask until a redirect leaves for `stop_at` (its
    /// address returned, not visited) or a page with no form (`None`: the device page that
    /// says it is done).
    async fn play(&mut self, url: &str, stop_at: Option<&str>) -> Option<String> {
        let mut next = self.http.get(url);
        let mut here = reqwest::Url::parse(url).unwrap();
        for _ in 0..20 {
            let (status, location, page) = self.send(next).await;
            if let Some(location) = location.filter(|_| (300..400).contains(&status)) {
                let location = here.join(&location).unwrap().to_string();
                here = reqwest::Url::parse(&location).unwrap();
                if stop_at.is_some_and(|s| location.starts_with(s)) {
                    return Some(location);
                }
                next = self.http.get(&location);
                continue;
            }
            assert_eq!(status, 200, "the provider answered {status}: {page}");
            let form_at = page.find("<form")?;
            let form_tag = &page[form_at..form_at + page[form_at..].find('>').unwrap()];
            let action = here.join(&attr(form_tag, "action").unwrap()).unwrap();
            here = action.clone();
            let mut fields: Vec<(String, String)> = page
                .match_indices("<input")
                .filter_map(|(i, _)| {
                    let tag = &page[i..i + page[i..].find('>')?];
                    (attr(tag, "type").as_deref() == Some("hidden"))
                        .then(|| Some((attr(tag, "name")?, attr(tag, "value")?)))
                        .flatten()
                })
                .collect();
            if fields.iter().any(|(k, v)| k == "prompt" && v == "login") {
                fields.push(("login".into(), self.user.clone()));
                fields.push(("password".into(), "the user's own".into()));
            }
            for (k, v) in &self.extra {
                if !fields.iter().any(|(have, _)| have == k) {
                    fields.push((k.clone(), v.clone()));
                }
            }
            next = self.http.post(action).form(&fields);
        }
        panic!("the sign-in pages went round in circles");
    }
}

async fn smart_client(srv_base: &str, scopes: &str) -> smart::Client {
    let http = reqwest::Client::new();
    let config = smart::discover(&http, srv_base)
        .await
        .unwrap()
        .expect("the server publishes its SMART configuration");
    smart::Client {
        scopes: config.scopes(scopes),
        config,
        client_id: "bedside".into(),
        fhir_base: srv_base.to_string(),
    }
}

/// Signs `user` in the pasted way (the quickest for the provider): returns the tokens.
async fn sign_in_as(client: &smart::Client, user: &str) -> smart::Tokens {
    sign_in_by(client, user, Way::Paste).await.0
}

/// Signs `user` in with `way`, the test's browser doing what the user would; the tokens and
/// how long the sign-in took.
async fn sign_in_by(client: &smart::Client, user: &str, way: Way) -> (smart::Tokens, Duration) {
    let (shown_tx, mut shown_rx) = tokio::sync::mpsc::unbounded_channel();
    let (paste_tx, mut paste_rx) = tokio::sync::mpsc::channel(4);
    let client2 = client.clone();
    let started = Instant::now();
    let signing_in = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut show = move |s: Shown| {
            let _ = shown_tx.send(s);
        };
        smart::sign_in(
            &http,
            &client2,
            way,
            "http://127.0.0.1/callback",
            &mut show,
            &mut paste_rx,
        )
        .await
    });
    let mut browser = Browser::new(user);
    match shown_rx.recv().await.expect("the sign-in shows something") {
        Shown::OpenUrl(url) => {
            assert_eq!(way, Way::Loopback);
            // Followed to the end: the last redirect lands on bedside's loopback listener.
            assert_eq!(browser.play(&url, None).await, None);
        }
        Shown::PasteUrl(url) => {
            assert_eq!(way, Way::Paste);
            assert!(smart::qr_text(&url).is_some());
            // First a stray paste (what a user might copy by mistake), then the real one.
            paste_tx.send("not the address".into()).await.unwrap();
            let landed = browser
                .play(&url, Some("http://127.0.0.1/callback"))
                .await
                .expect("the browser lands on the redirect address");
            paste_tx.send(landed).await.unwrap();
        }
        Shown::DeviceCode {
            uri,
            code,
            complete,
        } => {
            assert_eq!(way, Way::Device);
            assert!(uri.ends_with("/device"), "{uri}");
            browser.extra = vec![("user_code".into(), code.clone())];
            assert_eq!(browser.play(&complete.unwrap(), None).await, None);
        }
        Shown::TryAgain(why) => panic!("{why}"),
    }
    let tokens = signing_in.await.unwrap().expect("signed in");
    let took = started.elapsed();
    if way == Way::Paste {
        assert!(matches!(shown_rx.recv().await, Some(Shown::TryAgain(_))));
    }
    (tokens, took)
}

fn start_config(provider: &Provider, leeway: u64) -> ServerConfig {
    let mut settings = OidcSettings::new(&provider.issuer, AUDIENCE).unwrap();
    settings.leeway = Duration::from_secs(leeway);
    ServerConfig {
        oidc: Some(settings),
        ..ServerConfig::default()
    }
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let body =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    format!("{}.{}.{}", parts[0], body, parts[2])
}

async fn status_of(
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client_with(token).request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
    }
    let (status, body) = common::body(request.send().await.unwrap()).await;
    (status.as_u16(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_ways_to_sign_in_refresh_and_revocation() {
    let provider = Provider::start(300, "RS256");
    let srv = TestServer::start_with(start_config(&provider, 60)).await;
    srv.user("dr.smart", Role::Physician);
    let client = smart_client(&srv.base, smart::DEFAULT_SCOPES).await;
    assert!(client.config.device_authorization_endpoint.is_some());
    assert!(
        client.scopes.contains("offline_access"),
        "{}",
        client.scopes
    );
    let mut figures = Vec::new();
    for way in [Way::Loopback, Way::Paste, Way::Device] {
        let (tokens, took) = sign_in_by(&client, "dr.smart", way).await;
        figures.push(format!("{way:?} {} ms", took.as_millis()));
        assert_eq!(tokens.fhir_user.as_deref(), Some("Practitioner/dr.smart"));
        assert_eq!(tokens.who.as_deref(), Some("dr.smart"));
        let refresh = tokens
            .refresh
            .clone()
            .expect("offline_access gives a refresh token");
        let (status, body) = status_of(
            &tokens.access,
            reqwest::Method::GET,
            &srv.url("Patient?_count=1"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{way:?}: {body}");
        // Refresh: a new access token that works; the refresh token rotates.
        let http = reqwest::Client::new();
        let renewed = client.refresh(&http, &refresh).await.expect("refreshed");
        assert_ne!(renewed.access, tokens.access);
        let (status, _) = status_of(
            &renewed.access,
            reqwest::Method::GET,
            &srv.url("Patient?_count=1"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        // The spent refresh token no longer works (rotation), and a revoked one neither.
        assert!(matches!(
            client.refresh(&http, &refresh).await,
            Err(smart::SmartError::Refused(_))
        ));
        let current = renewed.refresh.clone().unwrap();
        client.revoke(&http, &current).await;
        let refused = client.refresh(&http, &current).await;
        assert!(
            matches!(&refused, Err(smart::SmartError::Refused(e)) if e.contains("invalid_grant")),
            "{refused:?}"
        );
    }
    eprintln!(
        "sign-in time, the browser played by the test: {}",
        figures.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_through_the_providers_token_meets_the_same_gate_and_audit() {
    let provider = Provider::start(300, "ES256");
    let srv = TestServer::start_with(start_config(&provider, 60)).await;
    let client = smart_client(&srv.base, smart::DEFAULT_SCOPES).await;
    // `.well-known/smart-configuration` and the CapabilityStatement say where to sign in.
    let (status, conf) = common::body(
        reqwest::get(srv.url(".well-known/smart-configuration"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(conf["issuer"], provider.issuer.as_str());
    assert!(
        conf["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("launch-standalone"))
    );
    let (_, cs) = common::body(reqwest::get(srv.url("metadata")).await.unwrap()).await;
    assert_eq!(
        cs["rest"][0]["security"]["service"][0]["coding"][0]["code"],
        "SMART-on-FHIR"
    );

    let pid = srv
        .create(patient("Okafor", "Ada", "1970-01-02", "female", "MRN-1"))
        .await;
    let vital = json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{pid}")},
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    let lab = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": format!("Patient/{pid}")},
        "valueQuantity": {"value": 5.4, "unit": "mmol/L"}});
    let obs = srv.create(lab.clone()).await;
    let obs_template = lab.clone();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": lab, "request": {"method": "POST", "url": "Observation"}}]});
    let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, format!("Patient/{pid}"), None),
        (reqwest::Method::GET, format!("Observation/{obs}"), None),
        (
            reqwest::Method::GET,
            format!("Observation?patient={pid}&_include=Observation:subject"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("Patient/{pid}/$everything"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("Observation/{obs}/_history"),
            None,
        ),
        (reqwest::Method::GET, "AuditEvent?_count=1".into(), None),
        (reqwest::Method::POST, "Observation".into(), Some(vital)),
        (reqwest::Method::POST, String::new(), Some(bundle)),
        // A fresh record for each call (the first delete would leave nothing to the second).
        (reqwest::Method::DELETE, "Observation/{new}".into(), None),
    ];
    for (role, user) in [
        (Role::Nurse, "n.smart"),
        (Role::Support, "s.smart"),
        (Role::Admin, "a.smart"),
        (Role::Physician, "p.smart"),
    ] {
        let own = srv.user(user, role);
        let theirs = sign_in_as(&client, user).await.access;
        for (method, path, body) in &requests {
            let url = |srv: &TestServer, path: &str| {
                if path.is_empty() {
                    srv.base.clone()
                } else {
                    srv.url(path)
                }
            };
            let fresh = || async {
                if path.contains("{new}") {
                    let id = srv.create(obs_template.clone()).await;
                    path.replace("{new}", &id)
                } else {
                    path.clone()
                }
            };
            let first = url(&srv, &fresh().await);
            let (a, a_body) = status_of(&own, method.clone(), &first, body.as_ref()).await;
            let second = url(&srv, &fresh().await);
            let (b, b_body) = status_of(&theirs, method.clone(), &second, body.as_ref()).await;
            assert_eq!(
                a, b,
                "{role:?} {method} {path}: own {a_body} / provider's {b_body}"
            );
            if method == reqwest::Method::GET && a == 200 && !path.starts_with("AuditEvent") {
                // The same records, cut the same way (support sees metadata only).
                let ids = |v: &Value| common::ids(v);
                assert_eq!(ids(&a_body), ids(&b_body), "{role:?} {path}");
                if role == Role::Support && path.starts_with("Observation/") {
                    assert!(b_body.get("valueQuantity").is_none(), "{b_body}");
                }
            }
        }
    }
    // The audit names the provider's user as it names its own: every request of each kind.
    let support = srv.user("audit.reader", Role::Support);
    for user in ["n.smart", "p.smart"] {
        let (status, events) = status_of(
            &support,
            reqwest::Method::GET,
            &srv.url(&format!("AuditEvent?patient={pid}&altid={user}&_count=100")),
            None,
        )
        .await;
        assert_eq!(status, 200, "{events}");
        let n = common::ids(&events).len();
        // Each patient-touching request was made twice, once per way of signing in.
        assert!(n >= 2 && n % 2 == 0, "{user}: {n} events");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_the_server_must_refuse() {
    let provider = Provider::start(2, "RS256");
    let srv = TestServer::start_with(start_config(&provider, 0)).await;
    srv.user("dr.smart", Role::Physician);
    srv.user("dr.reader", Role::Physician);
    let client = smart_client(&srv.base, smart::DEFAULT_SCOPES).await;
    let url = srv.url("Patient?_count=1");
    let get = |token: String| {
        let url = url.clone();
        async move { status_of(&token, reqwest::Method::GET, &url, None).await }
    };
    let good = sign_in_as(&client, "dr.smart").await.access;
    let (status, body) = get(good.clone()).await;
    assert_eq!(status, 200, "{body}");

    // A forged signature: the claims changed (another user), the signature kept.
    let mut claims = payload(&good);
    claims["sub"] = json!("dr.reader");
    let (status, body) = get(with_payload(&good, &claims)).await;
    assert_eq!(status, 401, "{body}");
    assert!(common::diagnostics(&body).contains("signature"), "{body}");
    // `alg: none`, and HS256 (the public key as an HMAC secret): refused unread.
    let none = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        good.split('.').nth(1).unwrap()
    );
    assert_eq!(get(none).await.0, 401);
    let hs = format!(
        "{}.{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        good.split('.').nth(1).unwrap(),
        good.split('.').nth(2).unwrap()
    );
    let (status, body) = get(hs).await;
    assert_eq!(status, 401);
    assert!(common::diagnostics(&body).contains("HS256"), "{body}");

    // A token for another server (wrong audience).
    let http = reqwest::Client::new();
    let mut auth = client.authorize("http://127.0.0.1/callback").unwrap();
    auth.url
        .push_str("&resource=https%3A%2F%2Fanother.test%2Ffhir");
    let landed = Browser::new("dr.smart")
        .play(&auth.url, Some("http://127.0.0.1/callback"))
        .await
        .unwrap();
    let code = smart::pasted_code(&landed, &auth).unwrap();
    let other = client.exchange(&http, &auth, &code).await.unwrap().access;
    assert_eq!(payload(&other)["aud"], "https://another.test/fhir");
    let (status, body) = get(other).await;
    assert_eq!(status, 401);
    assert!(common::diagnostics(&body).contains("aud"), "{body}");

    // A user the provider knows and bedside does not: 403, with what to do.
    let stranger = sign_in_as(&client, "mallory").await.access;
    let (status, body) = get(stranger).await;
    assert_eq!(status, 403);
    assert!(
        common::diagnostics(&body).contains("no bedside account"),
        "{body}"
    );

    // Expiry (a 2 s token, no leeway here).
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = get(good.clone()).await;
    assert_eq!(status, 401);
    assert!(common::diagnostics(&body).contains("expired"), "{body}");

    // A rotated key: a token signed by the old key, not yet seen, then a token of the new key
    // (the server fetches the new key set), then the old one: refused.
    let old_key = sign_in_as(&client, "dr.smart").await.access;
    provider.rotate().await;
    let new_key = sign_in_as(&client, "dr.smart").await.access;
    assert_ne!(
        serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(new_key.split('.').next().unwrap())
                .unwrap()
        )
        .unwrap()["kid"],
        serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(old_key.split('.').next().unwrap())
                .unwrap()
        )
        .unwrap()["kid"]
    );
    assert_eq!(get(new_key).await.0, 200);
    let (status, body) = get(old_key).await;
    assert_eq!(status, 401, "{body}");
    // A key id the provider does not publish.
    let header = json!({"alg": "RS256", "kid": "made-up"}).to_string();
    let parts: Vec<&str> = good.split('.').collect();
    let made_up = format!(
        "{}.{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.as_bytes()),
        parts[1],
        parts[2]
    );
    // Refused: 401, or 503 while the keys were fetched a moment ago (a provider that has just
    // rotated is asked again shortly); never let in.
    let (status, body) = get(made_up).await;
    assert!(status == 401 || status == 503, "{status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_scopes_change_nothing_by_any_path() {
    let provider = Provider::start(300, "RS256");
    let srv = TestServer::start_with(start_config(&provider, 60)).await;
    srv.user("dr.reader", Role::Physician);
    let pid = srv
        .create(patient("Okafor", "Ada", "1970-01-02", "female", "MRN-1"))
        .await;
    let client = smart_client(&srv.base, "openid fhirUser user/*.rs").await;
    let token = sign_in_as(&client, "dr.reader").await.access;
    assert_eq!(payload(&token)["scope"], "user/*.rs");
    let read = status_of(
        &token,
        reqwest::Method::GET,
        &srv.url(&format!("Patient/{pid}")),
        None,
    )
    .await;
    assert_eq!(read.0, 200);
    let note = json!({"resourceType": "DocumentReference", "status": "current",
        "subject": {"reference": format!("Patient/{pid}")},
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}]});
    let mut changed = read.1.clone();
    changed["gender"] = json!("male");
    let attempts: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::POST,
            "DocumentReference".into(),
            Some(note.clone()),
        ),
        (
            reqwest::Method::PUT,
            format!("Patient/{pid}"),
            Some(changed.clone()),
        ),
        (
            reqwest::Method::PUT,
            "Patient?identifier=MRN-1".into(),
            Some(changed.clone()),
        ),
        (reqwest::Method::DELETE, format!("Patient/{pid}"), None),
        (
            reqwest::Method::DELETE,
            "Patient?identifier=MRN-1".into(),
            None,
        ),
        (
            reqwest::Method::POST,
            String::new(),
            Some(json!({"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": note, "request": {"method": "POST", "url": "DocumentReference"}}]})),
        ),
        (
            reqwest::Method::POST,
            String::new(),
            Some(json!({"resourceType": "Bundle", "type": "batch",
            "entry": [{"resource": changed, "request": {"method": "PUT", "url": format!("Patient/{pid}")}}]})),
        ),
    ];
    for (method, path, body) in attempts {
        let url = if path.is_empty() {
            srv.base.clone()
        } else {
            srv.url(&path)
        };
        let (status, reply) = status_of(&token, method.clone(), &url, body.as_ref()).await;
        let refused = status == 403
            || reply["entry"][0]["response"]["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("403"));
        assert!(refused, "{method} {path}: {status} {reply}");
    }
    // PATCH too.
    let patch = client_with(&token)
        .patch(srv.url(&format!("Patient/{pid}")))
        .header("content-type", "application/json-patch+json")
        .body(r#"[{"op": "replace", "path": "/gender", "value": "male"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::FORBIDDEN);
    // Nothing changed.
    let (_, now) = status_of(
        &token,
        reqwest::Method::GET,
        &srv.url(&format!("Patient/{pid}")),
        None,
    )
    .await;
    assert_eq!(now["gender"], "female");
    assert_eq!(now["meta"]["versionId"], read.1["meta"]["versionId"]);
    // Nor the support desk's changes.
    srv.user("desk.reader", Role::Support);
    let other = srv
        .create(patient("Okafor", "Adah", "1970-01-02", "female", "MRN-2"))
        .await;
    let desk = sign_in_as(&client, "desk.reader").await.access;
    let p = |list: Value| json!({"resourceType": "Parameters", "parameter": list});
    let reference = |id: &str| json!({"reference": format!("Patient/{id}")});
    let note_id = srv
        .create(json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "subject": {"reference": format!("Patient/{other}")}}))
        .await;
    for (path, body) in [
        (
            "Patient/$merge",
            p(
                json!([{"name": "source-patient", "valueReference": reference(&other)},
            {"name": "target-patient", "valueReference": reference(&pid)},
            {"name": "reason", "valueString": "registered twice"}]),
            ),
        ),
        (
            "Patient/$not-duplicate",
            p(
                json!([{"name": "patient", "valueReference": reference(&other)},
            {"name": "other", "valueReference": reference(&pid)},
            {"name": "reason", "valueString": "two people"}]),
            ),
        ),
        (
            "Patient/$unmerge",
            p(
                json!([{"name": "provenance", "valueReference": {"reference": "Provenance/x"}},
            {"name": "reason", "valueString": "undo that"}]),
            ),
        ),
    ] {
        let (status, reply) =
            status_of(&desk, reqwest::Method::POST, &srv.url(path), Some(&body)).await;
        assert_eq!(status, 403, "{path}: {reply}");
    }
    let body = p(
        json!([{"name": "target-patient", "valueReference": reference(&pid)},
        {"name": "reason", "valueString": "wrong chart"}]),
    );
    let (status, _) = status_of(
        &desk,
        reqwest::Method::POST,
        &srv.url(&format!("Observation/{note_id}/$move")),
        Some(&body),
    )
    .await;
    assert_eq!(status, 403);
    let (_, moved) = status_of(
        &token,
        reqwest::Method::GET,
        &srv.url(&format!("Observation/{note_id}")),
        None,
    )
    .await;
    assert_eq!(moved["subject"]["reference"], format!("Patient/{other}"));
}

/// The workstation itself (the `bedside` binary on a terminal): `--sign-in-way paste` prints
/// the link, the user pastes where the browser landed, the screen names the server and the
/// way in, the server accepts the provider's token. When the provider will not renew it (the
/// refresh token lived 5 s), the screen locks, says why, and signs in again right there: the
/// link drawn on the lock screen, the landing address pasted into it, the passphrase, and
/// work goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workstation_signs_in_by_pasting_and_again_at_the_lock_screen() {
    let provider = Provider::start_with(10, "RS256", 5);
    let srv = TestServer::start_with(start_config(&provider, 0)).await;
    srv.user("dr.smart", Role::Physician);
    srv.create(patient("Okafor", "Ada", "1970-01-02", "female", "MRN-1"))
        .await;
    let base = srv.base.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let (cols, rows) = (120, 60);
        let mut pty = common::pty::Pty::spawn(
            &["--server", &base, "--sign-in-way", "paste"],
            cols,
            rows,
            "xterm-256color",
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let out = String::from_utf8_lossy(&pty.output()).to_string();
            if let Some(at) = out.find("/auth?") {
                let start = out[..at].rfind("http://").unwrap();
                let end = start + out[start..].find(['\r', '\n']).unwrap_or(out.len() - start);
                if out[end..].contains("paste it here") {
                    break out[start..end].to_string();
                }
            }
            assert!(Instant::now() < deadline, "no sign-in link: {out}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = String::from_utf8_lossy(&pty.output()).to_string();
        assert!(out.contains("by a browser anywhere"), "{out}");
        assert!(out.contains('▀') || out.contains('▄'), "no QR code: {out}");
        let landed = handle
            .block_on(Browser::new("dr.smart").play(&url, Some("http://127.0.0.1/callback")))
            .unwrap();
        pty.send(format!("{landed}\r").as_bytes());
        // The offline-data passphrase: the screen names the server and the way in.
        assert!(
            pty.wait_for_text(
                "Signed in with the identity provider",
                cols,
                rows,
                Duration::from_secs(60)
            ),
            "{}",
            pty.screen(cols, rows)
        );
        assert!(pty.screen(cols, rows).contains(&base));
        pty.passphrase(cols, rows);
        assert!(pty.wait_for_text("Find patient", cols, rows, Duration::from_secs(60)));
        pty.send(b"Okafor");
        assert!(
            pty.wait_for_text("MRN-1", cols, rows, Duration::from_secs(30)),
            "{}",
            pty.screen(cols, rows)
        );

        // The renewal (at 8 s) finds the refresh token expired: locked, with why.
        assert!(
            pty.wait_for_text("sign in again", cols, rows, Duration::from_secs(30)),
            "{}",
            pty.screen(cols, rows)
        );
        let screen = pty.screen(cols, rows);
        assert!(screen.contains("identity provider ended"), "{screen}");
        assert!(
            !screen.contains("MRN-1"),
            "the chart stays hidden: {screen}"
        );
        // Enter: the new sign-in's link on the lock screen (wrapped: joined back here).
        pty.send(b"\r");
        assert!(
            pty.wait_for_text("paste the address", cols, rows, Duration::from_secs(30)),
            "{}",
            pty.screen(cols, rows)
        );
        let screen = pty.screen(cols, rows);
        if std::env::var("SHOW_SCREEN").is_ok() {
            eprintln!("{screen}");
        }
        let rows_text: Vec<&str> = screen.lines().collect();
        let asked = rows_text
            .iter()
            .position(|l| l.contains("Open this address"))
            .expect("the lock screen says what to open");
        let first = asked
            + rows_text[asked..]
                .iter()
                .position(|l| l.contains("http://127.0.0.1"))
                .expect("the link is on the lock screen");
        let mut url = String::new();
        for row in &rows_text[first..] {
            let inner = row.trim().trim_matches(['┃', '│']).trim();
            if inner.starts_with("Then paste") {
                break;
            }
            url.push_str(inner);
        }
        assert!(
            url.contains("/auth?") && url.contains("code_challenge="),
            "{url}"
        );
        let landed = handle
            .block_on(Browser::new("dr.smart").play(&url, Some("http://127.0.0.1/callback")))
            .unwrap();
        pty.send(format!("{landed}\r").as_bytes());
        assert!(
            pty.wait_for_text("signed in again", cols, rows, Duration::from_secs(30)),
            "{}",
            pty.screen(cols, rows)
        );
        pty.passphrase(cols, rows);
        assert!(
            pty.wait_for_text("MRN-1", cols, rows, Duration::from_secs(30)),
            "back where the user was: {}",
            pty.screen(cols, rows)
        );
    })
    .await
    .unwrap();
}

/// A server with no identity provider: `--sign-in-way` ends before the screen with why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_an_identity_provider_says_so() {
    let srv = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let run = |base: String, way: &'static str, home: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_bedside"))
                .args(["--server", &base, "--sign-in-way", way])
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env_remove("BEDSIDE_PROFILE")
                .env_remove("BEDSIDE_TOKEN")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        })
    };
    let out = run(srv.base.clone(), "paste", home.path().to_path_buf())
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("publishes no .well-known/smart-configuration"),
        "{err}"
    );
    // A way that does not exist is named.
    let provider = Provider::start(300, "RS256");
    let with = TestServer::start_with(start_config(&provider, 60)).await;
    let out = run(
        with.base.clone(),
        "carrier-pigeon",
        home.path().to_path_buf(),
    )
    .await
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not one of auto, loopback, paste, device"),
        "{err}"
    );
}
