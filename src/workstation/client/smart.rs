//! Signing in with a hospital's identity provider: the workstation as a SMART App Launch 2
//! standalone public client. Discovery from `.well-known/smart-configuration`, the
//! authorization code grant with PKCE (S256), and three ways to finish the browser step:
//!
//! - **loopback**: a redirect to an ephemeral 127.0.0.1 port, for a browser on this machine;
//! - **paste**: the authorization URL printed (and drawn as a QR code for a phone), and the
//!   redirect URL (or the bare code) pasted back, for SSH or a ward terminal;
//! - **device**: the OAuth device authorization grant (RFC 8628), where the provider has it.
//!
//! Tokens live in memory only; `refresh` renews them. Nothing here prints a token.

use std::time::Duration;

use base64::Engine;
use reqwest::Url;
use serde_json::Value;
use sha2::Digest;

use super::{FetchError, transport};

/// How long one call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest reply read from the provider.
const MAX_REPLY: usize = 256 * 1024;
/// The scopes asked for when the server advertises them (else what it advertises).
pub const DEFAULT_SCOPES: &str = "openid fhirUser offline_access user/*.cruds";

/// Where and how to sign in, from the server's `.well-known/smart-configuration`.
#[derive(Clone, Debug, PartialEq)]
pub struct SmartConfig {
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods: Vec<String>,
}

impl SmartConfig {
    /// Reads a smart-configuration document; endpoints must be https (or http on loopback).
    pub fn from_json(doc: &Value) -> Result<SmartConfig, String> {
        let endpoint = |name: &str| -> Result<Option<String>, String> {
            match doc[name].as_str() {
                None => Ok(None),
                Some(url) => secure(url, name).map(|_| Some(url.to_string())),
            }
        };
        let strings = |name: &str| -> Vec<String> {
            doc[name]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .take(200)
                .map(str::to_string)
                .collect()
        };
        let config = SmartConfig {
            issuer: doc["issuer"].as_str().map(str::to_string),
            authorization_endpoint: endpoint("authorization_endpoint")?
                .ok_or("the server's SMART configuration has no authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?
                .ok_or("the server's SMART configuration has no token_endpoint")?,
            device_authorization_endpoint: endpoint("device_authorization_endpoint")?,
            revocation_endpoint: endpoint("revocation_endpoint")?,
            scopes_supported: strings("scopes_supported"),
            code_challenge_methods: strings("code_challenge_methods_supported"),
        };
        if !config.code_challenge_methods.is_empty()
            && !config.code_challenge_methods.iter().any(|m| m == "S256")
        {
            return Err(
                "the server's identity provider does not offer PKCE with S256, which bedside requires"
                    .into(),
            );
        }
        Ok(config)
    }

    /// The scopes to ask for: `wanted` less what the server says it does not support (when
    /// it lists what it supports).
    pub fn scopes(&self, wanted: &str) -> String {
        if self.scopes_supported.is_empty() {
            return wanted.to_string();
        }
        let kept: Vec<&str> = wanted
            .split_whitespace()
            .filter(|s| self.scopes_supported.iter().any(|t| t == s))
            .collect();
        if kept.is_empty() {
            wanted.to_string()
        } else {
            kept.join(" ")
        }
    }
}

/// Endpoints a password or token goes to are https, or http on this machine.
fn secure(url: &str, what: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|_| format!("{what} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!(
            "the identity provider's {what} is not https ({}): bedside will not send a sign-in over it",
            parsed.origin().ascii_serialization()
        )),
    }
}

/// Which way the browser step is finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Loopback,
    Paste,
    Device,
}

impl Way {
    pub fn parse(s: &str) -> Option<Way> {
        match s {
            "loopback" | "browser" => Some(Way::Loopback),
            "paste" | "qr" => Some(Way::Paste),
            "device" => Some(Way::Device),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Way::Loopback => "the browser on this machine (loopback redirect)",
            Way::Paste => "a browser anywhere (the link or QR code, then paste where it lands)",
            Way::Device => "a code entered on any device (device authorization)",
        }
    }

    /// The way to use when none is chosen: a browser on this machine when there is a desktop
    /// and no SSH; otherwise the device grant where the provider has it, else paste.
    pub fn automatic(config: &SmartConfig, env: &dyn Fn(&str) -> Option<String>) -> Way {
        let remote = env("SSH_CONNECTION").is_some() || env("SSH_TTY").is_some();
        let desktop = cfg!(any(target_os = "macos", windows))
            || env("DISPLAY").is_some()
            || env("WAYLAND_DISPLAY").is_some();
        if desktop && !remote {
            Way::Loopback
        } else if config.device_authorization_endpoint.is_some() {
            Way::Device
        } else {
            Way::Paste
        }
    }
}

/// A PKCE pair: the verifier stays here; its S256 challenge goes in the authorization URL.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

fn random_text(bytes: usize) -> Result<String, String> {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).map_err(|e| format!("the system random source failed: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

impl Pkce {
    pub fn new() -> Result<Pkce, String> {
        let verifier = random_text(32)?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        Ok(Pkce {
            verifier,
            challenge,
        })
    }
}

/// One authorization request in flight: the URL for the browser, and what checks its answer.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub redirect_uri: String,
    pkce: Pkce,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Who signs in where: the client's id at the provider, its scopes, the FHIR server (`aud`).
#[derive(Clone, Debug)]
pub struct Client {
    pub config: SmartConfig,
    pub client_id: String,
    pub scopes: String,
    pub fhir_base: String,
}

/// Tokens from the provider, in memory only.
#[derive(Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_in: Option<u64>,
    /// The user's FHIR resource (`Practitioner/123`), from the ID token's `fhirUser`: the
    /// author and requester of what they sign.
    pub fhir_user: Option<String>,
    /// Who signed in (the ID token's `preferred_username`, `name` or `sub`), for the screen.
    pub who: Option<String>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("fhir_user", &self.fhir_user)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in with the provider failed, worded for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmartError {
    /// The provider refused (`error`, `error_description`).
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// The device code or the browser step ran out of time.
    #[error("the sign-in was not finished in time; start it again")]
    TimedOut,
    /// The pasted text or the redirect is not this sign-in's answer.
    #[error("{0}")]
    BadAnswer(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// Reads the server's SMART configuration: `None` when the server has none (404, 401).
pub async fn discover(
    http: &reqwest::Client,
    fhir_base: &str,
) -> Result<Option<SmartConfig>, FetchError> {
    let url = format!(
        "{}/.well-known/smart-configuration",
        fhir_base.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .header("Accept", "application/json")
        .timeout(CALL_TIMEOUT)
        .send()
        .await
        .map_err(|e| transport(e, CALL_TIMEOUT))?;
    let status = response.status().as_u16();
    if matches!(status, 401 | 403 | 404 | 405) {
        return Ok(None);
    }
    let doc = json_reply(response).await?;
    if !(200..300).contains(&status) {
        return Err(FetchError::Status {
            status,
            message: "the SMART configuration could not be read".into(),
        });
    }
    SmartConfig::from_json(&doc)
        .map(Some)
        .map_err(FetchError::Malformed)
}

async fn json_reply(mut response: reqwest::Response) -> Result<Value, FetchError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(e, CALL_TIMEOUT))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_REPLY {
            return Err(FetchError::Malformed(
                "the identity provider's reply is too large".into(),
            ));
        }
    }
    serde_json::from_slice(&body)
        .map_err(|_| FetchError::Malformed("the identity provider's reply is not JSON".into()))
}

impl Client {
    /// The authorization URL for a redirect to `redirect_uri`.
    pub fn authorize(&self, redirect_uri: &str) -> Result<Authorization, SmartError> {
        let pkce = Pkce::new().map_err(SmartError::BadAnswer)?;
        let state = random_text(16).map_err(SmartError::BadAnswer)?;
        let mut url = Url::parse(&self.config.authorization_endpoint)
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", &state)
            .append_pair("aud", &self.fhir_base)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        if self
            .scopes
            .split_whitespace()
            .any(|s| s == "offline_access")
        {
            // OpenID Connect: a refresh token for offline access is granted after consent.
            url.query_pairs_mut().append_pair("prompt", "consent");
        }
        Ok(Authorization {
            url: url.to_string(),
            state,
            redirect_uri: redirect_uri.to_string(),
            pkce,
        })
    }

    /// Trades the code from the browser step for tokens.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        auth: &Authorization,
        code: &str,
    ) -> Result<Tokens, SmartError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", auth.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", auth.pkce.verifier.as_str()),
        ];
        self.token_call(http, &form).await
    }

    /// New tokens for a refresh token (silently, when the access token is about to expire).
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &str,
    ) -> Result<Tokens, SmartError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.client_id.as_str()),
        ];
        let mut tokens = self.token_call(http, &form).await?;
        // A provider that does not rotate refresh tokens sends none back: the old one stays.
        if tokens.refresh.is_none() {
            tokens.refresh = Some(refresh_token.to_string());
        }
        Ok(tokens)
    }

    async fn token_call(
        &self,
        http: &reqwest::Client,
        form: &[(&str, &str)],
    ) -> Result<Tokens, SmartError> {
        tokens_of(&post_form(http, &self.config.token_endpoint, form).await?)
    }

    /// Starts the device grant: what to show the user, and what to poll with.
    pub async fn device_start(&self, http: &reqwest::Client) -> Result<DeviceCode, SmartError> {
        let Some(endpoint) = &self.config.device_authorization_endpoint else {
            return Err(SmartError::Refused(
                "this identity provider does not offer sign-in with a device code".into(),
            ));
        };
        let form = [
            ("client_id", self.client_id.as_str()),
            ("scope", self.scopes.as_str()),
        ];
        let reply = post_form(http, endpoint, &form).await?;
        let text = |k: &str| reply[k].as_str().map(str::to_string);
        let (Some(device_code), Some(user_code), Some(verification_uri)) = (
            text("device_code"),
            text("user_code"),
            text("verification_uri"),
        ) else {
            return Err(SmartError::Fetch(FetchError::Malformed(
                "the device authorization reply lacks device_code, user_code or verification_uri"
                    .into(),
            )));
        };
        Ok(DeviceCode {
            device_code,
            user_code,
            verification_uri,
            verification_uri_complete: text("verification_uri_complete"),
            expires_in: reply["expires_in"].as_u64().unwrap_or(600).min(3600),
            interval: reply["interval"].as_u64().unwrap_or(5).clamp(1, 60),
        })
    }

    /// Polls the token endpoint until the user has approved the device code (or refused, or it
    /// expired). `pause` waits between polls (a test passes a short one).
    pub async fn device_finish(
        &self,
        http: &reqwest::Client,
        device: &DeviceCode,
        pause: impl Fn(Duration) -> tokio::time::Sleep,
    ) -> Result<Tokens, SmartError> {
        let started = std::time::Instant::now();
        let mut interval = Duration::from_secs(device.interval);
        loop {
            if started.elapsed() > Duration::from_secs(device.expires_in) {
                return Err(SmartError::TimedOut);
            }
            pause(interval).await;
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device.device_code.as_str()),
                ("client_id", self.client_id.as_str()),
            ];
            match self.token_call(http, &form).await {
                Ok(tokens) => return Ok(tokens),
                Err(SmartError::Refused(e)) if e.starts_with("authorization_pending") => {}
                Err(SmartError::Refused(e)) if e.starts_with("slow_down") => {
                    interval += Duration::from_secs(5);
                }
                Err(SmartError::Refused(e)) if e.starts_with("expired_token") => {
                    return Err(SmartError::TimedOut);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Revokes a refresh token at sign-out (best effort).
    pub async fn revoke(&self, http: &reqwest::Client, token: &str) {
        if let Some(endpoint) = &self.config.revocation_endpoint {
            let _ = http
                .post(endpoint)
                .form(&[
                    ("token", token),
                    ("token_type_hint", "refresh_token"),
                    ("client_id", self.client_id.as_str()),
                ])
                .timeout(Duration::from_secs(5))
                .send()
                .await;
        }
    }
}

/// What the device grant shows the user.
#[derive(Clone)]
pub struct DeviceCode {
    device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    pub interval: u64,
}

/// POSTs a form to one of the provider's endpoints; its JSON reply, or its refusal.
async fn post_form(
    http: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Result<Value, SmartError> {
    let response = http
        .post(endpoint)
        .header("Accept", "application/json")
        .form(form)
        .timeout(CALL_TIMEOUT)
        .send()
        .await
        .map_err(|e| transport(e, CALL_TIMEOUT))?;
    let status = response.status();
    let reply = json_reply(response).await?;
    if !status.is_success() {
        return Err(refusal(&reply, status.as_u16()));
    }
    Ok(reply)
}

fn refusal(reply: &Value, status: u16) -> SmartError {
    let code = reply["error"].as_str().unwrap_or("error");
    let words: String = reply["error_description"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    if code == "error" && words.is_empty() {
        return SmartError::Fetch(FetchError::Status {
            status,
            message: "the identity provider refused the request".into(),
        });
    }
    SmartError::Refused(if words.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {words}")
    })
}

fn tokens_of(reply: &Value) -> Result<Tokens, SmartError> {
    let access = reply["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| FetchError::Malformed("the token reply has no access_token".into()))?;
    // The ID token is read for the user's name and FHIR resource only (the server checks the
    // access token; nothing here is trusted for access).
    let id = reply["id_token"]
        .as_str()
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    let fhir_user = reply["fhirUser"]
        .as_str()
        .or(id["fhirUser"].as_str())
        .and_then(relative_reference);
    let who = ["preferred_username", "name", "sub"]
        .iter()
        .find_map(|k| id[*k].as_str())
        .map(|w| w.chars().take(100).collect());
    Ok(Tokens {
        access: access.to_string(),
        refresh: reply["refresh_token"].as_str().map(str::to_string),
        expires_in: reply["expires_in"].as_u64(),
        fhir_user,
        who,
        scope: reply["scope"].as_str().map(str::to_string),
    })
}

/// `Practitioner/123` of an absolute or relative `fhirUser`; other types are not authors.
fn relative_reference(url: &str) -> Option<String> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let id = parts.next()?;
    let rtype = parts.next()?;
    let ok_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    (matches!(rtype, "Practitioner" | "PractitionerRole") && ok_id).then(|| format!("{rtype}/{id}"))
}

/// The code in what the user pasted: the whole redirect URL (its `state` must be this
/// sign-in's) or the bare code.
pub fn pasted_code(pasted: &str, auth: &Authorization) -> Result<String, SmartError> {
    let pasted = pasted.trim();
    if pasted.is_empty() {
        return Err(SmartError::BadAnswer("nothing was pasted".into()));
    }
    if pasted.contains("://") || pasted.contains('?') {
        let url = Url::parse(pasted)
            .or_else(|_| Url::parse(&format!("http://x/{}", pasted.trim_start_matches('/'))))
            .map_err(|_| SmartError::BadAnswer("the pasted text is not a URL or a code".into()))?;
        return code_of_query(url.query().unwrap_or_default(), auth);
    }
    if pasted.len() > 2048 || pasted.chars().any(char::is_whitespace) {
        return Err(SmartError::BadAnswer(
            "the pasted text is not a code: paste the whole address the browser landed on".into(),
        ));
    }
    Ok(pasted.to_string())
}

/// The code of a redirect's query, checked against this sign-in's `state`.
fn code_of_query(query: &str, auth: &Authorization) -> Result<String, SmartError> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(error) = error {
        let words: String = description.unwrap_or_default().chars().take(200).collect();
        return Err(SmartError::Refused(
            format!("{error} {words}").trim().to_string(),
        ));
    }
    if state.as_deref() != Some(auth.state.as_str()) {
        return Err(SmartError::BadAnswer(
            "this answer is not from this sign-in (its state differs): start the sign-in again"
                .into(),
        ));
    }
    code.ok_or_else(|| SmartError::BadAnswer("the answer has no code".into()))
}

/// A listener on an ephemeral 127.0.0.1 port for the loopback redirect.
pub struct Loopback {
    listener: tokio::net::TcpListener,
    pub redirect_uri: String,
}

impl Loopback {
    pub async fn bind() -> std::io::Result<Loopback> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Loopback {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits for the browser's redirect and answers it with a page telling the user to go
    /// back to the terminal. Requests that are not this sign-in's answer are turned away and
    /// waited past.
    pub async fn code(self, auth: &Authorization, within: Duration) -> Result<String, SmartError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let accepted = tokio::time::timeout_at(deadline, self.listener.accept()).await;
            let Ok(Ok((mut stream, _))) = accepted else {
                return Err(SmartError::TimedOut);
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await;
            if read.is_err() {
                continue;
            }
            let text = String::from_utf8_lossy(&head);
            let target = text
                .lines()
                .next()
                .and_then(|line| line.strip_prefix("GET "))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_default();
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let answer = if path == "/callback" {
                Some(code_of_query(query, auth))
            } else {
                None
            };
            let (status, page) = match &answer {
                Some(Ok(_)) => (
                    "200 OK",
                    "Signed in. You can close this page and go back to bedside.",
                ),
                Some(Err(_)) => (
                    "400 Bad Request",
                    "The sign-in did not finish. Go back to bedside: it says why.",
                ),
                None => ("404 Not Found", "Not found."),
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
            match answer {
                Some(Ok(code)) => return Ok(code),
                // A stray request with another state (a stale tab) is not the end of it.
                Some(Err(SmartError::BadAnswer(_))) | None => continue,
                Some(Err(e)) => return Err(e),
            }
        }
    }
}

/// What the sign-in shows the user as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// Loopback: this URL is opened in the browser here (shown too, in case it does not open).
    OpenUrl(String),
    /// Paste: visit this URL anywhere (a QR code for a phone), then paste where it lands.
    PasteUrl(String),
    /// Device: enter `code` at `uri` on any device (`complete` has the code in it).
    DeviceCode {
        uri: String,
        code: String,
        complete: Option<String>,
    },
    /// What was pasted was not this sign-in's answer: why; paste again.
    TryAgain(String),
}

/// How long the user has to finish the browser step (loopback, paste).
pub const BROWSER_STEP: Duration = Duration::from_secs(600);

/// Signs in with the provider, finishing the browser step `way`: `show` tells the user what
/// to do, `pasted` brings what they paste (paste only). `paste_redirect` is the redirect
/// address registered for pasting.
pub async fn sign_in(
    http: &reqwest::Client,
    client: &Client,
    way: Way,
    paste_redirect: &str,
    show: &mut (dyn FnMut(Shown) + Send),
    pasted: &mut tokio::sync::mpsc::Receiver<String>,
) -> Result<Tokens, SmartError> {
    match way {
        Way::Loopback => {
            let listener = Loopback::bind().await.map_err(|e| {
                SmartError::BadAnswer(format!("cannot listen on 127.0.0.1 for the browser: {e}"))
            })?;
            let auth = client.authorize(&listener.redirect_uri)?;
            show(Shown::OpenUrl(auth.url.clone()));
            let code = listener.code(&auth, BROWSER_STEP).await?;
            client.exchange(http, &auth, &code).await
        }
        Way::Paste => {
            let auth = client.authorize(paste_redirect)?;
            show(Shown::PasteUrl(auth.url.clone()));
            let deadline = tokio::time::Instant::now() + BROWSER_STEP;
            loop {
                let line = tokio::time::timeout_at(deadline, pasted.recv())
                    .await
                    .map_err(|_| SmartError::TimedOut)?
                    .ok_or(SmartError::TimedOut)?;
                match pasted_code(&line, &auth) {
                    Ok(code) => return client.exchange(http, &auth, &code).await,
                    Err(SmartError::BadAnswer(why)) => show(Shown::TryAgain(why)),
                    Err(e) => return Err(e),
                }
            }
        }
        Way::Device => {
            let device = client.device_start(http).await?;
            show(Shown::DeviceCode {
                uri: device.verification_uri.clone(),
                code: device.user_code.clone(),
                complete: device.verification_uri_complete.clone(),
            });
            client
                .device_finish(http, &device, tokio::time::sleep)
                .await
        }
    }
}

/// Opens `url` in the desktop's browser; false when there is no way to.
pub fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// The authorization URL as a QR code in text (two rows per line, half blocks), for a phone.
pub fn qr_text(url: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: isize, y: isize| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && colors[y as usize * width + x as usize] == qrcode::Color::Dark
    };
    let quiet = 2isize;
    let mut out = String::new();
    let mut y = -quiet;
    while y < width as isize + quiet {
        for x in -quiet..width as isize + quiet {
            // Light on dark terminals: a dark module is a space, a light one a block.
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        out.push('\n');
        y += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SmartConfig {
        SmartConfig::from_json(&json!({
            "authorization_endpoint": "https://idp.example.org/auth",
            "token_endpoint": "https://idp.example.org/token",
            "scopes_supported": ["openid", "fhirUser", "user/*.cruds"],
            "code_challenge_methods_supported": ["S256"]
        }))
        .unwrap()
    }

    #[test]
    fn discovery_is_checked() {
        let plain = json!({"authorization_endpoint": "http://idp.example.org/auth",
                           "token_endpoint": "https://idp.example.org/token"});
        assert!(
            SmartConfig::from_json(&plain)
                .unwrap_err()
                .contains("not https")
        );
        let no_s256 = json!({"authorization_endpoint": "https://i/auth", "token_endpoint": "https://i/t",
                             "code_challenge_methods_supported": ["plain"]});
        assert!(
            SmartConfig::from_json(&no_s256)
                .unwrap_err()
                .contains("S256")
        );
        assert_eq!(
            config().scopes(DEFAULT_SCOPES),
            "openid fhirUser user/*.cruds",
            "offline_access is not advertised, so not asked for"
        );
    }

    #[test]
    fn the_authorization_url_and_pasted_answers() {
        let client = Client {
            config: config(),
            client_id: "bedside".into(),
            scopes: "openid user/*.cruds".into(),
            fhir_base: "https://ehr.example.org/fhir".into(),
        };
        let auth = client.authorize("http://127.0.0.1/callback").unwrap();
        let url = Url::parse(&auth.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["aud"], "https://ehr.example.org/fhir");
        assert_eq!(q["code_challenge"].len(), 43);
        assert!(!auth.url.contains(&auth.pkce.verifier));
        let landed = format!("http://127.0.0.1/callback?code=abc&state={}", auth.state);
        assert_eq!(pasted_code(&landed, &auth).unwrap(), "abc");
        assert_eq!(pasted_code("  abc  ", &auth).unwrap(), "abc");
        let other = "http://127.0.0.1/callback?code=abc&state=someone-else";
        assert!(matches!(
            pasted_code(other, &auth),
            Err(SmartError::BadAnswer(_))
        ));
        let refused = format!(
            "http://127.0.0.1/callback?error=access_denied&state={}",
            auth.state
        );
        assert!(matches!(
            pasted_code(&refused, &auth),
            Err(SmartError::Refused(_))
        ));
        assert!(pasted_code("two words", &auth).is_err());
        assert!(qr_text(&auth.url).is_some_and(|q| q.lines().count() > 10));
    }

    #[test]
    fn the_fhir_user_is_a_practitioner_reference() {
        assert_eq!(
            relative_reference("https://ehr.example.org/fhir/Practitioner/p-1").as_deref(),
            Some("Practitioner/p-1")
        );
        assert_eq!(
            relative_reference("Practitioner/p-1").as_deref(),
            Some("Practitioner/p-1")
        );
        assert_eq!(relative_reference("https://ehr/fhir/Patient/1"), None);
        assert_eq!(relative_reference("Practitioner/a b"), None);
    }

    #[test]
    fn the_way_is_chosen_by_where_the_user_is() {
        let mut with_device = config();
        with_device.device_authorization_endpoint = Some("https://idp/device".into());
        let ssh = |k: &str| (k == "SSH_CONNECTION").then(|| "1.2.3.4 5 6.7.8.9 22".to_string());
        let desktop = |k: &str| (k == "DISPLAY").then(|| ":0".to_string());
        let none = |_: &str| None;
        assert_eq!(Way::automatic(&with_device, &ssh), Way::Device);
        assert_eq!(Way::automatic(&config(), &ssh), Way::Paste);
        if cfg!(target_os = "linux") {
            assert_eq!(Way::automatic(&config(), &desktop), Way::Loopback);
            assert_eq!(Way::automatic(&config(), &none), Way::Paste);
        }
    }
}
