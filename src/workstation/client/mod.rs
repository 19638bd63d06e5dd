//! The workstation's only way to the backend: FHIR R4 REST over HTTP (reqwest), so it works the
//! same against the embedded server and any other FHIR server. Errors are worded for the user
//! and never carry patient data into logs.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::Value;

mod auth;
pub mod smart;
mod tls;

pub use auth::{LoginError, SignedIn};

/// How long a search may take before the user is told the server is slow.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one page of a chart may take.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum FetchError {
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The connection was made but the server's certificate was refused (expired, for another
    /// name, not trusted): a TLS problem with its fix, not an outage.
    #[error("{0}")]
    Tls(String),
    #[error("the server did not accept the sign-in or token (HTTP {0})")]
    Unauthorized(u16),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("not found on the server")]
    NotFound,
    #[error("the server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("someone else changed this record on the server (HTTP {0}); nothing was overwritten")]
    Conflict(u16),
    #[error("the server sent a reply bedside cannot read: {0}")]
    Malformed(String),
    #[error("{0}")]
    BadUrl(String),
    /// An electronic signature the server did not accept (wrong, or the account locked).
    #[error("{0}")]
    SignatureRefused(String),
    /// The server said it is too busy now (503 or 429), and when to try again.
    #[error("the server is busy (HTTP {status}); try again in {retry_after} s")]
    Busy { status: u16, retry_after: u64 },
}

impl FetchError {
    /// True when the server could not be reached or did not answer in time: the request may
    /// not have arrived (offline work decides from this).
    /// A certificate problem is not: it is shown as it is, with its fix, and nothing falls
    /// back to working offline behind it.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Unreachable(_) | FetchError::Timeout(_))
    }

    /// True when the server refused because the patient's record is restricted and needs
    /// break-the-glass.
    pub fn is_restricted(&self) -> bool {
        matches!(self, FetchError::Forbidden(m) if m.contains("restricted record"))
    }

    /// True when the server says it does not support what was asked (for example `$everything`).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, FetchError::NotFound)
            || matches!(self, FetchError::Status { status, .. }
                if matches!(status, 400 | 405 | 422 | 501))
    }
}

/// How the client may reach the server.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    /// A PEM CA certificate trusted besides the system's roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Allow plain `http://` to a host that is not this machine.
    pub allow_insecure: bool,
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Clone)]
pub struct FhirClient {
    http: reqwest::Client,
    base: Url,
    token: std::sync::Arc<std::sync::RwLock<Option<String>>>,
}

// The bearer token is never printed.
impl std::fmt::Debug for FhirClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl FhirClient {
    /// A client for the FHIR base URL `base` (`http(s)://host[:port]/path`).
    pub fn new(base: &str, token: Option<String>) -> Result<FhirClient, FetchError> {
        FhirClient::with_transport(base, token, &Transport::default())
    }

    pub fn with_transport(
        base: &str,
        token: Option<String>,
        transport: &Transport,
    ) -> Result<FhirClient, FetchError> {
        let trimmed = base.trim().trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/")).map_err(|e| {
            FetchError::BadUrl(format!(
                "the server URL {trimmed:?} is not a valid URL ({e})"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(FetchError::BadUrl(format!(
                "the server URL {trimmed:?} must start with http:// or https:// and name a host"
            )));
        }
        if base.scheme() == "http" && !is_loopback(&base) && !transport.allow_insecure {
            return Err(FetchError::BadUrl(format!(
                "refusing plain http:// to {}: patient data would cross the network unencrypted; use https:// (or --allow-insecure on a network you trust)",
                base.host_str().unwrap_or_default()
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("bedside/", env!("CARGO_PKG_VERSION")));
        if base.scheme() == "http" {
            // No TLS to verify: skip reading the system's certificate store (about 10 ms at
            // start, before the first frame).
            builder = builder.tls_built_in_root_certs(false);
        }
        if let Some(pem) = &transport.ca_cert_pem {
            let certs = tls::certificates(pem).map_err(FetchError::BadUrl)?;
            if base.scheme() == "https" {
                let config = tls::client_config(certs).map_err(FetchError::BadUrl)?;
                builder = builder.use_preconfigured_tls(config);
            }
        }
        let http = builder
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(FhirClient {
            http,
            base,
            token: std::sync::Arc::new(std::sync::RwLock::new(
                token.filter(|t| !t.trim().is_empty()),
            )),
        })
    }

    /// Sets (or clears) the bearer token every clone of this client sends.
    pub fn set_token(&self, token: Option<String>) {
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = token;
    }

    pub fn has_token(&self) -> bool {
        self.token
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn current_token(&self) -> Option<String> {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The token held now (to revoke it once a new one replaces it).
    pub fn token(&self) -> Option<String> {
        self.current_token()
    }

    /// The HTTP client (its CA and timeouts), for the identity provider's endpoints.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The base URL without its trailing slash, as users write it.
    pub fn base(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// `GET base/path?params`.
    pub async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        if !params.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        }
        self.get_url(url, timeout).await
    }

    /// Follows a `Bundle.link` URL. Only links on the same server are followed: the sign-in
    /// token must never be sent to a host the user did not choose.
    pub async fn follow(&self, link: &str, timeout: Duration) -> Result<Value, FetchError> {
        let url = paging_url(&self.base, link)?;
        self.get_url(url, timeout).await
    }

    /// Creates (`POST base/Type`, with `If-None-Exist` when given, so a retried create files
    /// once) or updates (`PUT base/Type/id`, with `If-Match` when given) a resource, and
    /// returns what the server stored.
    pub async fn write(
        &self,
        resource: &Value,
        if_none_exist: Option<&str>,
        if_match: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let rtype = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .ok_or_else(|| FetchError::BadUrl("a resource without a type".into()))?;
        let id = resource.get("id").and_then(Value::as_str);
        let path = match id {
            Some(id) => format!("{rtype}/{id}"),
            None => rtype.to_string(),
        };
        let url = self
            .base
            .join(&path)
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let mut request = match id {
            Some(_) => self.http.put(url),
            None => self.http.post(url),
        }
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=representation")
        .body(resource.to_string());
        if let Some(query) = if_none_exist {
            request = request.header("if-none-exist", query);
        }
        if let Some(version) = if_match {
            request = request.header("if-match", format!("W/\"{version}\""));
        }
        self.send(request, timeout).await
    }

    /// Updates `resource` (`PUT base/Type/id`) only if the server still holds `version`
    /// (`If-Match`), saying why when `reason` is given (FHIR's `X-Provenance` header: a
    /// Provenance with that reason, which the server keeps and audits).
    pub async fn update_with_reason(
        &self,
        resource: &Value,
        version: &str,
        reason: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let (Some(rtype), Some(id)) = (
            resource.get("resourceType").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) else {
            return Err(FetchError::BadUrl(
                "an update needs the resource's type and id".into(),
            ));
        };
        let url = self
            .base
            .join(&format!("{rtype}/{id}"))
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let mut request = self
            .http
            .put(url)
            .header("content-type", "application/fhir+json")
            .header("prefer", "return=representation")
            .header("if-match", format!("W/\"{version}\""))
            .body(resource.to_string());
        if let Some(reason) = reason {
            let provenance =
                serde_json::json!({"resourceType": "Provenance", "reason": [{"text": reason}]});
            request = request.header("x-provenance", ascii_json(&provenance.to_string()));
        }
        self.send(request, timeout).await
    }

    /// `POST base/path` with a Parameters body (an operation such as `Patient/$merge`); returns
    /// the server's answer.
    pub async fn operation(
        &self,
        path: &str,
        parameters: &Value,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let request = self
            .http
            .post(url)
            .header("content-type", "application/fhir+json")
            .body(parameters.to_string());
        self.send(request, timeout).await
    }

    /// Posts a batch or transaction Bundle to the base URL; returns the response Bundle.
    pub async fn post_bundle(
        &self,
        bundle: &Value,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let request = self
            .http
            .post(self.base.clone())
            .header("content-type", "application/fhir+json")
            .body(bundle.to_string());
        self.send(request, timeout).await
    }

    async fn get_url(&self, url: Url, timeout: Duration) -> Result<Value, FetchError> {
        let request = self.http.get(url);
        self.send(request, timeout).await
    }

    /// Sends `request`; a server that answers busy with `Retry-After` is asked again after the
    /// time it gave, as long as that fits in `timeout`. Every request bedside sends may be
    /// repeated: reads, conditional creates (If-None-Exist) and updates (If-Match), and
    /// transactions, which a busy server did not apply.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let started = std::time::Instant::now();
        let mut attempt = request;
        loop {
            let again = attempt.try_clone();
            let left = timeout.saturating_sub(started.elapsed());
            match self
                .send_once(attempt, left.max(Duration::from_millis(1)))
                .await
            {
                Err(FetchError::Busy {
                    status,
                    retry_after,
                }) => {
                    let wait = Duration::from_secs(retry_after.max(1));
                    let fits = started.elapsed() + wait < timeout;
                    match again {
                        Some(next) if fits => {
                            tracing::debug!(status, retry_after, "server busy; asking again");
                            tokio::time::sleep(wait).await;
                            attempt = next;
                        }
                        _ => {
                            return Err(FetchError::Busy {
                                status,
                                retry_after,
                            });
                        }
                    }
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Value, FetchError> {
        let mut request = request
            .timeout(timeout)
            .header("accept", "application/fhir+json, application/json;q=0.9");
        if let Some(token) = self.current_token() {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| transport(e, timeout))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| transport(e, timeout))?;
        if let (StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS, Some(secs)) =
            (status, retry_after)
        {
            return Err(FetchError::Busy {
                status: status.as_u16(),
                retry_after: secs,
            });
        }
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "fhir reply");
        if status == StatusCode::UNAUTHORIZED {
            return Err(FetchError::Unauthorized(status.as_u16()));
        }
        if status == StatusCode::FORBIDDEN {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| {
                    outcome_message(&v)
                        .or_else(|| v["error_description"].as_str().map(str::to_string))
                })
                .unwrap_or_else(|| "the server refused (HTTP 403)".into());
            return Err(FetchError::Forbidden(message));
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(FetchError::NotFound);
        }
        if status == StatusCode::CONFLICT || status == StatusCode::PRECONDITION_FAILED {
            return Err(FetchError::Conflict(status.as_u16()));
        }
        let parsed: Result<Value, _> = serde_json::from_slice(&body);
        if !status.is_success() {
            let message = parsed
                .ok()
                .and_then(|v| outcome_message(&v))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(FetchError::Status {
                status: status.as_u16(),
                message,
            });
        }
        let value = parsed.map_err(|e| FetchError::Malformed(format!("not JSON ({e})")))?;
        if !value.is_object() {
            return Err(FetchError::Malformed("not a FHIR resource".into()));
        }
        Ok(value)
    }
}

/// Where a `Bundle.link` of the server at `base` leads, if it may be followed: on the same
/// origin only, so the sign-in token never goes to a host the user did not choose. A server
/// behind a TLS-terminating proxy writes its links as `http://` on its own host: such a link
/// is followed over https, as the user connected. Any other origin is refused, naming it (not
/// the link's path and query, which can name a patient).
pub(crate) fn paging_url(base: &Url, link: &str) -> Result<Url, FetchError> {
    let mut url = base
        .join(link)
        .map_err(|_| FetchError::Malformed("a paging link is not a URL".into()))?;
    let behind_proxy = base.scheme() == "https"
        && url.scheme() == "http"
        && url.host_str() == base.host_str()
        && url.port().is_none_or(|p| Some(p) == base.port());
    if behind_proxy && url.set_scheme("https").is_ok() && url.set_port(base.port()).is_ok() {
        return Ok(url);
    }
    if url.origin() != base.origin() {
        return Err(FetchError::Malformed(format!(
            "the server's paging link leads to {} instead of {}, so it was not followed and \
             the list may be incomplete (check the server's base URL setting)",
            url.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

/// A `Retry-After` in seconds (the HTTP-date form is read as "a little while"), capped at a
/// minute: a server cannot park the workstation for longer.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    Some(value.parse::<u64>().unwrap_or(5).min(60))
}

fn transport(e: reqwest::Error, timeout: Duration) -> FetchError {
    let chain = {
        let mut text = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = source {
            text.push_str(&err.to_string());
            text.push(' ');
            source = err.source();
        }
        text.to_lowercase()
    };
    if e.is_timeout() {
        FetchError::Timeout(timeout.as_secs())
    } else if let Some(why) = certificate_problem(&chain) {
        FetchError::Tls(why)
    } else if e.is_connect() {
        FetchError::Unreachable("connection refused or host unreachable".into())
    } else {
        FetchError::Unreachable("the connection dropped".into())
    }
}

/// What is wrong with the server's certificate, named as a TLS problem with its fix, from the
/// text of a connection error (lower case); `None` when the error is not about a certificate.
pub(crate) fn certificate_problem(chain: &str) -> Option<String> {
    let why = if chain.contains("certificate expired") {
        "the server's certificate has expired: the server must renew it (or this terminal's clock \
         is wrong)"
    } else if chain.contains("certificate not valid yet") {
        "the server's certificate is not valid yet: check this terminal's clock"
    } else if chain.contains("not valid for name") || chain.contains("notvalidforname") {
        "the server's certificate is for another name than the one in the server URL: use the \
         name the certificate was issued for"
    } else if chain.contains("unknownissuer")
        || chain.contains("unknown issuer")
        || chain.contains("caUsedAsEndEntity".to_lowercase().as_str())
    {
        "the server's certificate is not trusted: pass its CA (or, for a self-signed server, \
         the server's own certificate) with --ca-cert"
    } else if chain.contains("revoked") {
        "the server's certificate has been revoked"
    } else if chain.contains("invalid peer certificate") || chain.contains("certificate") {
        "the server's certificate was refused (check it with `bedside doctor`)"
    } else {
        return None;
    };
    Some(why.to_string())
}

/// The first issue's text of an OperationOutcome.
fn outcome_message(outcome: &Value) -> Option<String> {
    let issue = outcome.get("issue")?.get(0)?;
    issue
        .get("diagnostics")
        .and_then(Value::as_str)
        .or_else(|| issue.pointer("/details/text").and_then(Value::as_str))
        .or_else(|| issue.get("code").and_then(Value::as_str))
        .map(|s| s.chars().take(200).collect())
}

/// The resources of a Bundle's entries (entries without one are skipped) and its `next` link.
pub fn bundle_page(bundle: Value) -> Result<(Vec<Value>, Option<String>), FetchError> {
    let Value::Object(mut bundle) = bundle else {
        return Err(FetchError::Malformed("not a FHIR resource".into()));
    };
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FetchError::Malformed("expected a Bundle".into()));
    }
    let next = bundle
        .get("link")
        .and_then(Value::as_array)
        .and_then(|links| {
            links
                .iter()
                .find(|l| l.get("relation").and_then(Value::as_str) == Some("next"))
        })
        .and_then(|l| l.get("url"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let entries = match bundle.remove("entry") {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(FetchError::Malformed("Bundle.entry is not a list".into())),
    };
    let resources = entries
        .into_iter()
        .filter_map(|mut e| e.get_mut("resource").map(Value::take))
        .filter(Value::is_object)
        .collect();
    Ok((resources, next))
}

/// `bedside doctor`'s check of a server: does it answer `GET metadata` (which needs no
/// sign-in), how fast, and what it says it is, then a line each for what the workstation
/// relies on: the CapabilityStatement, `$everything`, reference search, the TLS connection,
/// and the ways to sign in. With a token it also tries `$everything` and reference search on
/// the first patient the server finds (no patient data is printed). Never an error.
pub async fn probe_server(base: &str, transport: &Transport, token: Option<String>) -> String {
    let client = match FhirClient::with_transport(base, None, transport) {
        Ok(c) => c,
        Err(e) => return format!("not usable: {e}"),
    };
    let tls = if client.base.scheme() == "https" {
        tls_report(&client.base, transport).await
    } else {
        vec!["TLS: none (plain http)".to_string()]
    };
    let started = std::time::Instant::now();
    let cs = match client.get("metadata", &[], Duration::from_secs(5)).await {
        Ok(cs) => cs,
        Err(e) => {
            let mut lines = vec![format!("NOT reachable: {e}")];
            lines.extend(tls);
            return lines.join("\n          ");
        }
    };
    let ms = started.elapsed().as_millis();
    let mut lines = vec![format!("reachable in {ms} ms: {}", identity(&cs))];
    lines.extend(capability_report(&cs));
    if let Some(token) = token {
        lines.extend(try_chart_requests(&client, token).await);
    }
    lines.extend(tls);
    let smart = client
        .get(
            ".well-known/smart-configuration",
            &[],
            Duration::from_secs(5),
        )
        .await;
    lines.push(match smart {
        Ok(conf) => smart_report(&conf),
        Err(FetchError::NotFound) => {
            "SMART sign-in: not offered (no .well-known/smart-configuration)".into()
        }
        // SMART's discovery document is public by definition.
        Err(FetchError::Unauthorized(status)) => format!(
            "SMART sign-in: not offered (.well-known/smart-configuration answers HTTP {status})"
        ),
        Err(e) => format!("SMART sign-in: unknown ({e})"),
    });
    lines.join("\n          ")
}

/// What the server does, with the user's token, with the requests a chart is opened by.
async fn try_chart_requests(client: &FhirClient, token: String) -> Vec<String> {
    client.set_token(Some(token));
    let limit = Duration::from_secs(10);
    let one = [("_count", "1".to_string())];
    let found = match client.get("Patient", &one, limit).await {
        Ok(found) => bundle_page(found),
        Err(e) => Err(e),
    };
    let id = match found {
        Ok((patients, _)) => patients
            .first()
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(e) => return vec![format!("with the token: patient search FAILS ({e})")],
    };
    let Some(id) = id.filter(|id| crate::fhir::valid_id(id)) else {
        return vec![
            "with the token: patient search works; no patient to try $everything on".into(),
        ];
    };
    let verdict = |answer: Result<Value, FetchError>| match answer.map(bundle_page) {
        Ok(Ok(_)) => "works".to_string(),
        Ok(Err(e)) | Err(e) => format!("FAILS ({e})"),
    };
    let everything = client
        .get(&format!("Patient/{id}/$everything"), &one, limit)
        .await;
    let by_patient = client
        .get(
            "Observation",
            &[
                ("patient", format!("Patient/{id}")),
                ("_count", "1".to_string()),
            ],
            limit,
        )
        .await;
    vec![
        "with the token: patient search works".into(),
        format!(
            "with the token: Patient/$everything {}",
            verdict(everything)
        ),
        format!(
            "with the token: Observation?patient=Patient/id {}",
            verdict(by_patient)
        ),
    ]
}

/// What a TLS handshake with the server shows: protocol and cipher, the workstation's
/// verdict on the certificate, and the chain the server sent.
async fn tls_report(base: &Url, transport: &Transport) -> Vec<String> {
    let host = base.host_str().unwrap_or_default().to_string();
    let port = base.port_or_known_default().unwrap_or(443);
    let passed = match transport.ca_cert_pem.as_deref().map(tls::certificates) {
        None => Vec::new(),
        Some(Ok(certs)) => certs,
        Some(Err(e)) => return vec![format!("TLS: not checked ({e})")],
    };
    let shaken = tokio::task::spawn_blocking(move || {
        tls::handshake(&host, port, passed, Duration::from_secs(5))
    })
    .await;
    let shaken = match shaken {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return vec![format!("TLS: {e}")],
        Err(_) => return vec!["TLS: not checked (the check stopped)".into()],
    };
    let mut lines = vec![match &shaken.refused {
        None => format!("TLS: {}; the certificate is trusted", shaken.protocol),
        Some(why) => format!(
            "TLS: {}; the certificate is REFUSED: {why}",
            shaken.protocol
        ),
    }];
    for (n, cert) in shaken.chain.iter().enumerate() {
        let role = if n == 0 { "server" } else { "chain " };
        lines.push(format!("  {role} {cert}"));
    }
    lines
}

/// The software and FHIR version a CapabilityStatement names.
fn identity(cs: &Value) -> String {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let software = match (
        cs.pointer("/software/name").and_then(text),
        cs.pointer("/software/version").and_then(text),
    ) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n,
        _ => "software not named".into(),
    };
    let fhir = cs
        .get("fhirVersion")
        .and_then(text)
        .unwrap_or_else(|| "version not given".into());
    let warning = if fhir.starts_with("4.0") {
        ""
    } else {
        " (bedside speaks FHIR R4, 4.0.x)"
    };
    format!("{software}, FHIR {fhir}{warning}")
}

/// What a server's `metadata` says about what the workstation needs: one line each.
pub(crate) fn capability_report(cs: &Value) -> Vec<String> {
    if cs.get("resourceType").and_then(Value::as_str) != Some("CapabilityStatement") {
        return vec![format!(
            "metadata: NOT a CapabilityStatement ({}): the server's abilities are unknown",
            cs.get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("no resourceType")
        )];
    }
    let rest = cs.pointer("/rest/0").cloned().unwrap_or(Value::Null);
    let resource = |rtype: &str| {
        rest.get("resource")
            .and_then(Value::as_array)
            .and_then(|all| all.iter().find(|r| r["type"] == rtype))
    };
    let named = |list: Option<&Value>, name: &str| {
        list.and_then(Value::as_array)
            .is_some_and(|all| all.iter().any(|o| o["name"] == name))
    };
    let everything = named(
        resource("Patient").and_then(|p| p.get("operation")),
        "everything",
    ) || named(rest.get("operation"), "everything");
    let by_patient = named(
        resource("Observation").and_then(|o| o.get("searchParam")),
        "patient",
    ) || named(
        resource("Observation").and_then(|o| o.get("searchParam")),
        "subject",
    );
    let security = rest
        .pointer("/security/description")
        .and_then(Value::as_str);
    let smart_declared = rest
        .pointer("/security/service")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|c| c.to_string().contains("SMART-on-FHIR")));
    let mut ways = Vec::new();
    if security.is_some_and(|d| d.contains("/auth/login")) {
        ways.push("bedside's own sign-in (username and password)");
    }
    if smart_declared {
        ways.push("SMART on FHIR (declared)");
    }
    vec![
        "metadata: a CapabilityStatement".to_string(),
        if everything {
            "Patient/$everything: declared (a chart opens in one request)".to_string()
        } else {
            "Patient/$everything: NOT declared (a chart opens type by type)".to_string()
        },
        if by_patient {
            "Observation?patient= (reference search): declared".to_string()
        } else {
            "Observation?patient= (reference search): NOT declared (charts may be incomplete)"
                .to_string()
        },
        if ways.is_empty() {
            "sign-in: none declared (a token with --token)".to_string()
        } else {
            format!("sign-in: {}", ways.join("; "))
        },
    ]
}

/// One line from a `.well-known/smart-configuration`.
pub(crate) fn smart_report(conf: &Value) -> String {
    let has = |k: &str| conf.get(k).and_then(Value::as_str).is_some();
    let list = |k: &str| -> Vec<&str> {
        conf.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    if !has("authorization_endpoint") || !has("token_endpoint") {
        return "SMART sign-in: the configuration lacks an authorization or token endpoint".into();
    }
    let grants = list("grant_types_supported");
    let device = grants.iter().any(|g| g.ends_with("device_code"));
    let pkce = list("code_challenge_methods_supported").contains(&"S256");
    format!(
        "SMART sign-in: offered (authorization code{}; PKCE S256 {})",
        if device { ", device code" } else { "" },
        if pkce { "yes" } else { "NOT offered" }
    )
}

/// JSON text with every character outside printable ASCII written as `\uXXXX`, so that it
/// can travel in an HTTP header (a reason with accents, in another script).
fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
