//! Shared test helpers: a real embedded server on 127.0.0.1 with an ephemeral port and a
//! temporary database.
#![allow(dead_code)]

pub mod pty;
pub mod screen;

use bedside::server::auth::{Auth, Role};
use bedside::server::store::Store;
use bedside::server::{Running, ServerConfig, spawn_local_with};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub server: Option<Running>,
    pub base: String,
    pub http: Client,
    /// A physician's bearer token, sent by `get`, `post`, `put` and `send`.
    pub token: String,
    pub auth: Auth,
    /// An administrator's client: directory resources (Practitioner, Location...) are theirs
    /// to write, so `post` and `put` of those go through it.
    pub admin_http: Client,
}

/// The password of every user the tests add.
pub const TEST_PASSWORD: &str = "correct horse battery";

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("test.db")).expect("open store");
        let mut auth = Auth::new(store.clone());
        auth.settings = config.auth.clone();
        let server = spawn_local_with(store.clone(), config)
            .await
            .expect("start server");
        let base = server.base_url();
        let mut srv = TestServer {
            dir,
            store,
            server: Some(server),
            base,
            http: Client::new(),
            token: String::new(),
            auth,
            admin_http: Client::new(),
        };
        srv.token = srv.user("test.physician", Role::Physician);
        srv.http = client_with(&srv.token);
        srv.admin_http = client_with(&srv.user("test.admin", Role::Admin));
        srv
    }

    /// The Practitioner id the holder of `token` acts as (`/auth/session`).
    #[allow(dead_code)]
    pub async fn practitioner_of(&self, token: &str) -> String {
        let (_, me) = body(
            client_with(token)
                .get(format!("{}/auth/session", self.root()))
                .send()
                .await
                .expect("session"),
        )
        .await;
        me["practitioner"]
            .as_str()
            .expect("a practitioner")
            .to_string()
    }

    /// Adds a user (if new) and returns a token for them.
    pub fn user(&self, username: &str, role: Role) -> String {
        match self.auth.add_user(username, "", role, TEST_PASSWORD) {
            Ok(_) | Err(bedside::server::auth::AuthError::Exists(_)) => {}
            Err(e) => panic!("cannot add {username}: {e}"),
        }
        self.auth.issue_for(username).expect("token").token
    }

    /// The server's root URL (where `/auth` is).
    pub fn root(&self) -> String {
        self.base.trim_end_matches("/fhir").to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, resource: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(resource)).await
    }

    pub async fn put(&self, path: &str, resource: &Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(resource)).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        resource: Option<&Value>,
    ) -> (StatusCode, Value) {
        let rtype = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        let directory = bedside::server::auth::policy::class(rtype)
            == bedside::server::auth::policy::Class::Directory;
        let http = if directory && method != Method::GET {
            &self.admin_http
        } else {
            &self.http
        };
        let mut request = http.request(method, self.url(path));
        if let Some(resource) = resource {
            request = request
                .header("content-type", "application/fhir+json")
                .body(resource.to_string());
        }
        body(request.send().await.expect("request")).await
    }

    /// Creates a resource and returns its id.
    pub async fn create(&self, resource: Value) -> String {
        let rtype = resource["resourceType"].as_str().unwrap().to_string();
        let (status, body) = self.post(&rtype, &resource).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Starts the server again on the port it had, with the same database (a server back
    /// from maintenance).
    pub async fn restart(&mut self) {
        self.stop().await;
        let addr: std::net::SocketAddr = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches("/fhir")
            .parse()
            .expect("server address");
        let mut tries = 0;
        loop {
            match bedside::server::spawn_at(self.store.clone(), addr, ServerConfig::default()).await
            {
                Ok(running) => {
                    self.server = Some(running);
                    return;
                }
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("port not free yet: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot restart the server: {e}"),
            }
        }
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}

/// A client that sends `token` with every request.
pub fn client_with(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

pub async fn body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, value)
}

/// The ids of a searchset's matches, in order.
pub fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Searches `path` and checks that it finds exactly `want`, in any order.
pub async fn expect_ids(srv: &TestServer, path: &str, want: &[&String]) {
    let (status, bundle) = srv.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
    let mut got = ids(&bundle);
    got.sort();
    let mut want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{path}");
}

pub fn diagnostics(outcome: &Value) -> String {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)?["url"]
        .as_str()
        .map(str::to_string)
}

pub fn patient(family: &str, given: &str, birth: &str, gender: &str, mrn: &str) -> Value {
    serde_json::json!({
        "resourceType": "Patient",
        "identifier": [{"system": "http://hospital.example/mrn", "value": mrn}],
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "gender": gender
    })
}

/// `bedside serve` in its own process on an ephemeral port: the child and its base URL.
pub fn serve_process(db: &std::path::Path) -> (std::process::Child, String) {
    serve_process_with(db, &[])
}

/// `serve_process` with environment variables set (a site config, say).
pub fn serve_process_with(
    db: &std::path::Path,
    env: &[(&str, &std::path::Path)],
) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let base = loop {
        let line = lines
            .next()
            .expect("the server stopped before announcing its address")
            .unwrap();
        if let Some(at) = line.find("server at ") {
            let rest = &line[at + "server at ".len()..];
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

/// A database at `db` with one user of `role` (their token) and one stored patient (its id),
/// for a server started on it afterwards in its own process.
pub fn user_and_patient(
    db: &std::path::Path,
    username: &str,
    role: Role,
    patient: Value,
) -> (String, String) {
    user_and_patient_keyed(db, None, username, role, patient)
}

/// `user_and_patient` in a database encrypted with `key`.
pub fn user_and_patient_keyed(
    db: &std::path::Path,
    key: Option<&bedside::server::store::DbKey>,
    username: &str,
    role: Role,
    patient: Value,
) -> (String, String) {
    let store = Store::open_keyed(db, 4, key.cloned()).unwrap();
    let auth = Auth::new(store.clone());
    auth.add_user(username, "", role, TEST_PASSWORD).unwrap();
    let token = auth.issue_for(username).unwrap().token;
    let id = store.write(|tx| tx.create(patient, None)).unwrap().id;
    (token, id)
}
