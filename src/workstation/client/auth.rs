//! Signing in and out against bedside's own `/auth` routes: passwords, one-time passwords,
//! TOTP codes, break-the-glass and electronic signatures.

use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::*;

/// Who the server says the token belongs to (bedside's own server; others have no such call).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SignedIn {
    pub username: String,
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub practitioner: Option<String>,
}

/// What a sign-in attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum LoginError {
    /// The server wants a TOTP code (and none, or a wrong one, was given).
    NeedsCode(String),
    /// Refused, with the server's words.
    Refused(String),
    /// The account has a one-time password: the user must choose their own (server's words).
    MustChange(String),
    /// The server has no bedside sign-in.
    NoSignIn,
    Fetch(FetchError),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::NeedsCode(m) | LoginError::Refused(m) | LoginError::MustChange(m) => {
                f.write_str(m)
            }
            LoginError::NoSignIn => f.write_str(
                "this server has no bedside sign-in (/auth/login); start bedside with --token",
            ),
            LoginError::Fetch(e) => write!(f, "{e}"),
        }
    }
}

impl FhirClient {
    /// Revokes `token` on the server (best effort: it expires anyway).
    pub async fn revoke(&self, token: String) {
        if let Ok(url) = self.auth_url("auth/logout") {
            let _ = self
                .http
                .post(url)
                .bearer_auth(token)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
        }
    }

    /// The server's root (the FHIR base without a final `fhir/`), where `/auth` lives.
    fn auth_url(&self, path: &str) -> Result<Url, FetchError> {
        let base = self.base.as_str();
        let root = base.strip_suffix("fhir/").unwrap_or(base);
        Url::parse(root)
            .and_then(|r| r.join(path))
            .map_err(|e| FetchError::BadUrl(e.to_string()))
    }

    /// Signs in; on success the token is kept (in memory only) and sent from then on.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<SignedIn, LoginError> {
        let body = serde_json::json!({"username": username, "password": password});
        self.sign_in("auth/login", body, username, code).await
    }

    /// Replaces the user's password (a one-time password at first sign-in) and signs in with
    /// the new one.
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        code: Option<&str>,
    ) -> Result<SignedIn, LoginError> {
        let body = serde_json::json!({"username": username, "password": current,
            "new_password": new});
        self.sign_in("auth/password", body, username, code).await
    }

    async fn sign_in(
        &self,
        path: &str,
        mut body: Value,
        username: &str,
        code: Option<&str>,
    ) -> Result<SignedIn, LoginError> {
        let url = self.auth_url(path).map_err(LoginError::Fetch)?;
        if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
            body["totp"] = Value::String(code.trim().to_string());
        }
        let timeout = SEARCH_TIMEOUT;
        let response = self
            .http
            .post(url)
            .timeout(timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| LoginError::Fetch(transport(e, timeout)))?;
        let status = response.status();
        let reply: Value = response.json().await.map_err(|_| {
            if status == StatusCode::NOT_FOUND {
                LoginError::NoSignIn
            } else {
                LoginError::Fetch(FetchError::Malformed(
                    "the sign-in reply is not JSON".into(),
                ))
            }
        })?;
        if status.is_success() {
            let token = reply["access_token"].as_str().unwrap_or_default();
            if token.is_empty() {
                return Err(LoginError::Fetch(FetchError::Malformed(
                    "the sign-in reply has no access_token".into(),
                )));
            }
            let user =
                serde_json::from_value::<SignedIn>(reply["user"].clone()).unwrap_or(SignedIn {
                    username: username.to_string(),
                    name: username.to_string(),
                    role: String::new(),
                    practitioner: None,
                });
            self.set_token(Some(token.to_string()));
            return Ok(user);
        }
        if status == StatusCode::NOT_FOUND {
            return Err(LoginError::NoSignIn);
        }
        let message = reply["error_description"]
            .as_str()
            .unwrap_or("the server refused the sign-in")
            .chars()
            .take(200)
            .collect::<String>();
        match reply["error"].as_str() {
            Some("totp_required" | "totp_invalid") => Err(LoginError::NeedsCode(message)),
            Some("password_change_required") => Err(LoginError::MustChange(message)),
            _ => Err(LoginError::Refused(message)),
        }
    }

    /// Signs out: the server revokes the token; it is forgotten here either way.
    pub async fn logout(&self) {
        if let Some(token) = self.current_token() {
            self.revoke(token).await;
        }
        self.set_token(None);
    }

    /// Asks for emergency access to `patient`, giving `reason`.
    /// Asks for emergency access to `patient`, giving `reason`; when the grant ends (epoch ms),
    /// if the server says.
    pub async fn break_glass(
        &self,
        patient: &str,
        reason: &str,
    ) -> Result<Option<i64>, FetchError> {
        let url = self.auth_url("auth/break-glass")?;
        let body = serde_json::json!({"patient": patient, "reason": reason});
        let request = self.http.post(url).json(&body);
        let reply = self.send(request, SEARCH_TIMEOUT).await?;
        Ok(reply["expires_at"].as_i64())
    }

    /// Checks the signed-in user's electronic signature (password or PIN) before `what`
    /// ("note" or "orders") is signed. A wrong one is `SignatureRefused` (the sign-in stays
    /// good); a server without the check is `NotFound`.
    pub async fn check_signature(&self, secret: &str, what: &str) -> Result<(), FetchError> {
        let url = self.auth_url("auth/signature")?;
        let body = serde_json::json!({"secret": secret, "what": what});
        let mut request = self.http.post(url).timeout(SEARCH_TIMEOUT).json(&body);
        if let Some(token) = self.current_token() {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport(e, SEARCH_TIMEOUT))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reply: Value = response.json().await.unwrap_or_default();
        let message = reply["error_description"]
            .as_str()
            .unwrap_or("the server refused the signature")
            .chars()
            .take(200)
            .collect::<String>();
        match status {
            StatusCode::UNAUTHORIZED => Err(FetchError::Unauthorized(401)),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Err(FetchError::NotFound),
            StatusCode::FORBIDDEN | StatusCode::LOCKED => {
                Err(FetchError::SignatureRefused(message))
            }
            _ => Err(FetchError::Status {
                status: status.as_u16(),
                message,
            }),
        }
    }
}
