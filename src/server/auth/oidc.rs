//! The embedded server as an OAuth 2 resource server behind a hospital's OpenID Connect
//! provider (`serve --oidc-issuer URL --oidc-audience AUD`): JWT access tokens signed with
//! RS256 or ES256 by a key in the provider's JWKS, with `iss`, `aud`, `exp` and `nbf` checked
//! (clock skew bounded), a configured claim naming the bedside user, and SMART scopes bounding
//! what the token may do. The user's role is the bedside account's: a provider's user with no
//! account is refused. Verified tokens are kept (by hash) until they expire, so a request pays
//! for the signature once per token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};

/// How a deployment trusts its provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The provider's issuer URL, exactly as its tokens' `iss` says.
    pub issuer: String,
    /// What the tokens' `aud` must include: this server's identifier at the provider.
    pub audience: String,
    /// The claim that names the bedside user (`sub` unless configured: `preferred_username`,
    /// `email`, `upn`...).
    pub user_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

impl OidcSettings {
    /// The most clock skew a site may allow.
    pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

    pub fn new(issuer: &str, audience: &str) -> Result<OidcSettings, String> {
        let issuer = issuer.trim().trim_end_matches('/').to_string();
        secure_url(&issuer, "--oidc-issuer")?;
        if audience.trim().is_empty() {
            return Err("--oidc-audience is empty: give the identifier the provider puts in its tokens' aud for this server".into());
        }
        Ok(OidcSettings {
            issuer,
            audience: audience.trim().to_string(),
            user_claim: "sub".into(),
            leeway: Duration::from_secs(60),
        })
    }
}

/// Keys and endpoints are fetched over HTTPS only (plain HTTP on the loopback interface, for
/// a provider on the same machine): a key fetched in clear could be anyone's.
fn secure_url(url: &str, what: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{what} is not a URL: {e}"))?;
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
            "{what} must be an https URL (plain http only on this machine's loopback interface): {url}"
        )),
    }
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token is not good: 401 with the reason.
    Invalid(String),
    /// The token is good but grants nothing bedside can honour: 403.
    Forbidden(String),
    /// The provider could not be asked (its keys): 503, not the user's fault.
    Unavailable(String),
}

/// What a verified token says.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The bedside username (the configured claim).
    pub user: String,
    pub expires_ms: i64,
    /// The scopes allow changes (create, update, delete), not only reads.
    pub writes: bool,
}

/// What the provider publishes about itself (OpenID Connect discovery).
#[derive(Clone, Debug, Default)]
struct Discovery {
    document: Value,
}

struct Keys {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    /// When the key set was last fetched, and last fetched for a `kid` not held.
    fetched: Option<Instant>,
    tried: Option<Instant>,
    /// `fetched` as epoch milliseconds.
    fetched_ms: i64,
}

pub struct Provider {
    settings: OidcSettings,
    http: reqwest::Client,
    discovery: Mutex<Option<Discovery>>,
    keys: std::sync::RwLock<Keys>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    /// Tokens already verified (by SHA-256), until they expire.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

/// Keys older than this are fetched again before use (a provider drops a rotated-out key).
const KEYS_MAX_AGE: Duration = Duration::from_secs(600);
/// An unknown `kid` fetches the keys again at most this often (a flood of forged tokens must
/// not become a flood of requests to the provider).
const REFETCH_AT_MOST: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A discovery document or key set larger than this is refused.
const MAX_DOCUMENT: usize = 256 * 1024;
const MAX_KEYS: usize = 64;
/// A token longer than this is refused unread.
const MAX_TOKEN: usize = 16 * 1024;
/// Verified tokens remembered at once; past it the table starts over.
const MAX_VERIFIED: usize = 10_000;

impl Provider {
    pub fn new(settings: OidcSettings) -> Result<Provider, String> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up HTTPS for the identity provider: {e}"))?;
        Ok(Provider {
            settings,
            http,
            discovery: Mutex::new(None),
            keys: std::sync::RwLock::new(Keys {
                keys: HashMap::new(),
                fetched: None,
                tried: None,
                fetched_ms: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// A provider whose keys are `jwks` (a JWK Set), as if just fetched: for benchmarks and
    /// tests that sign their own tokens.
    pub fn with_keys(settings: OidcSettings, jwks: &Value) -> Result<Provider, String> {
        let set: JwkSet =
            serde_json::from_value(jwks.clone()).map_err(|e| format!("not a JWK Set: {e}"))?;
        let provider = Provider::new(settings)?;
        {
            let mut keys = provider.keys.write().unwrap_or_else(|p| p.into_inner());
            keys.keys = usable_keys(&set);
            keys.fetched = Some(Instant::now());
            keys.fetched_ms = super::now_ms();
        }
        Ok(provider)
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Checks `token`: a JWT from the provider, for this server, in date, signed by one of the
    /// provider's keys, naming a user, with scopes bedside honours.
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        if token.len() > MAX_TOKEN {
            return Err(TokenError::Invalid("the token is too long".into()));
        }
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = super::now_ms();
        if let Some(known) = self.remembered(&digest, now) {
            return Ok(known);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| TokenError::Invalid("the token is not a JWT".into()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::Invalid(format!(
                "the token is signed with {:?}; only RS256 and ES256 are accepted",
                header.alg
            )));
        }
        let stale = self
            .keys_read()
            .fetched
            .is_none_or(|t| t.elapsed() > KEYS_MAX_AGE);
        if stale {
            self.fetch_keys(false).await?;
        }
        let key = match self.key(header.kid.as_deref(), header.alg) {
            Some(key) => key,
            None => {
                let fetched = self.fetch_keys(true).await?;
                match self.key(header.kid.as_deref(), header.alg) {
                    Some(key) => key,
                    // The keys were fetched a moment ago for another unknown key: a provider
                    // that has just rotated is asked again shortly, so not a refusal yet.
                    None if !fetched && !self.fetched_since(token) => {
                        return Err(TokenError::Unavailable(
                            "the token is signed by a key not seen before; the identity provider's keys are fetched again in a few seconds: try again".into(),
                        ));
                    }
                    None => {
                        return Err(TokenError::Invalid(
                            "the token is signed by a key the identity provider does not publish"
                                .into(),
                        ));
                    }
                }
            }
        };
        let verified = self.check(token, &key, header.alg)?;
        self.remember(digest, &verified, now);
        Ok(verified)
    }

    fn check(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: Algorithm,
    ) -> Result<Verified, TokenError> {
        let mut validation = Validation::new(alg);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Value>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            TokenError::Invalid(
                match e.kind() {
                    K::ExpiredSignature => "the token has expired; sign in again",
                    K::ImmatureSignature => "the token is not valid yet (check the clocks)",
                    K::InvalidAudience => "the token is not meant for this server (aud)",
                    K::InvalidIssuer => {
                        "the token is not from this server's identity provider (iss)"
                    }
                    K::InvalidSignature => "the token's signature is not valid",
                    K::MissingRequiredClaim(_) => "the token lacks exp, iss or aud",
                    _ => "the token is not valid",
                }
                .into(),
            )
        })?;
        let claims = data.claims;
        let user = claims[&self.settings.user_claim]
            .as_str()
            .map(str::trim)
            .filter(|u| !u.is_empty() && u.len() <= 256)
            .ok_or_else(|| {
                TokenError::Invalid(format!(
                    "the token has no {} claim naming the user",
                    self.settings.user_claim
                ))
            })?;
        let scopes = scopes_of(&claims);
        let reach = Reach::of(&scopes);
        if !reach.reads {
            return Err(TokenError::Forbidden(format!(
                "the token's scopes grant no access bedside honours: ask for user/*.rs (read) or user/*.cruds (read and write){}",
                if scopes.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; it has {}",
                        scopes.join(" ").chars().take(200).collect::<String>()
                    )
                }
            )));
        }
        let exp = claims["exp"].as_i64().unwrap_or_default();
        Ok(Verified {
            user: user.to_string(),
            expires_ms: exp.saturating_mul(1000),
            writes: reach.writes,
        })
    }

    fn remembered(&self, digest: &[u8; 32], now: i64) -> Option<Verified> {
        let known = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let verified = known.get(digest)?;
        // A remembered token is good until its expiry (no leeway the second time round).
        (verified.expires_ms > now).then(|| verified.clone())
    }

    fn remember(&self, digest: [u8; 32], verified: &Verified, now: i64) {
        let mut known = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_VERIFIED {
            known.retain(|_, v| v.expires_ms > now);
            if known.len() >= MAX_VERIFIED {
                known.clear();
            }
        }
        known.insert(digest, verified.clone());
    }

    /// Whether the keys held were fetched after `token` was issued (its unverified `iat`):
    /// then a key it names and they lack is not the provider's.
    fn fetched_since(&self, token: &str) -> bool {
        let iat = token
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|c| c["iat"].as_i64());
        let fetched_ms = self.keys_read().fetched_ms;
        iat.is_some_and(|iat| fetched_ms > iat.saturating_mul(1000))
    }

    fn keys_read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn key(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let keys = self.keys_read();
        let found = match kid {
            Some(kid) => keys.keys.get(kid),
            // Without a kid, the one key of that algorithm (never a guess among several).
            None => {
                let mut of_alg = keys.keys.values().filter(|(_, a)| *a == alg);
                match (of_alg.next(), of_alg.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            }
        }?;
        (found.1 == alg).then(|| found.0.clone())
    }

    /// Fetches the provider's keys; `unknown_kid`: because a token named a key not held, which
    /// refetches at most every `REFETCH_AT_MOST`. Whether they were fetched (else they were
    /// fresh enough, or fetched too recently for another unknown key).
    async fn fetch_keys(&self, unknown_kid: bool) -> Result<bool, TokenError> {
        let _one = self.fetching.lock().await;
        {
            let keys = self.keys_read();
            let recent =
                |t: Option<Instant>, within: Duration| t.is_some_and(|t| t.elapsed() < within);
            if unknown_kid && recent(keys.tried, REFETCH_AT_MOST) {
                return Ok(false);
            }
            if !unknown_kid && recent(keys.fetched, KEYS_MAX_AGE) {
                return Ok(false);
            }
        }
        if unknown_kid {
            self.keys.write().unwrap_or_else(|p| p.into_inner()).tried = Some(Instant::now());
        }
        let fetched = async {
            let discovery = self.discovery().await?;
            let jwks_uri = discovery.document["jwks_uri"]
                .as_str()
                .ok_or("the provider's discovery document has no jwks_uri")?
                .to_string();
            secure_url(&jwks_uri, "the provider's jwks_uri")?;
            let set: JwkSet = serde_json::from_value(self.get_json(&jwks_uri).await?)
                .map_err(|e| format!("the provider's key set is not a JWKS: {e}"))?;
            Ok::<_, String>(usable_keys(&set))
        }
        .await;
        match fetched {
            Ok(found) => {
                let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
                keys.keys = found;
                keys.fetched = Some(Instant::now());
                keys.fetched_ms = super::now_ms();
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch the identity provider's keys");
                // Keys fetched earlier stay good until the provider answers again.
                if self.keys_read().keys.is_empty() || unknown_kid {
                    Err(TokenError::Unavailable(format!(
                        "the identity provider's keys cannot be fetched, so the token cannot be checked: {e}"
                    )))
                } else {
                    Ok(false)
                }
            }
        }
    }

    /// The provider's discovery document, fetched once (and again after a failure).
    async fn discovery(&self) -> Result<Discovery, String> {
        if let Some(found) = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(found);
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let document = self.get_json(&url).await?;
        if document["issuer"].as_str().map(|i| i.trim_end_matches('/'))
            != Some(self.settings.issuer.as_str())
        {
            return Err(format!(
                "the provider's discovery document names another issuer than {}",
                self.settings.issuer
            ));
        }
        let found = Discovery { document };
        *self.discovery.lock().unwrap_or_else(|p| p.into_inner()) = Some(found.clone());
        Ok(found)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let mut response = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {}", causes(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{url}: {}", causes(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT {
                return Err(format!("{url} sent more than {} KiB", MAX_DOCUMENT / 1024));
            }
        }
        serde_json::from_slice(&body).map_err(|_| format!("{url} did not send JSON"))
    }

    /// `.well-known/smart-configuration` for this server: the provider's endpoints, and what
    /// bedside honours. `None` until the provider's discovery document has been read.
    pub async fn smart_configuration(&self) -> Result<Value, String> {
        let discovery = self.discovery().await?;
        let d = &discovery.document;
        let mut out = json!({
            "issuer": self.settings.issuer,
            "jwks_uri": d["jwks_uri"],
            "authorization_endpoint": d["authorization_endpoint"],
            "token_endpoint": d["token_endpoint"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt", "client_secret_basic"],
            "scopes_supported": ["openid", "fhirUser", "offline_access", "user/*.rs", "user/*.cruds", "user/*.read", "user/*.write"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-standalone", "client-public", "permission-offline", "permission-user", "sso-openid-connect", "permission-v1", "permission-v2"],
        });
        for extra in [
            "device_authorization_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
            "userinfo_endpoint",
        ] {
            if d[extra].is_string() {
                out[extra] = d[extra].clone();
            }
        }
        if d["device_authorization_endpoint"].is_string() {
            if let Some(grants) = out["grant_types_supported"].as_array_mut() {
                grants.push(json!("urn:ietf:params:oauth:grant-type:device_code"));
            }
        }
        Ok(out)
    }
}

use sha2::Digest;

/// An error and its causes on one line (reqwest's own message is only the outermost).
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The RS256 and ES256 (P-256) signing keys of a set, by `kid`.
fn usable_keys(set: &JwkSet) -> HashMap<String, (DecodingKey, Algorithm)> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};
    let mut out = HashMap::new();
    for (i, jwk) in set.keys.iter().take(MAX_KEYS).enumerate() {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        if let Some(stated) = jwk.common.key_algorithm {
            if format!("{stated:?}") != format!("{alg:?}") {
                continue;
            }
        }
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        let kid = jwk.common.key_id.clone().unwrap_or_else(|| format!("#{i}"));
        out.insert(kid, (key, alg));
    }
    out
}

/// The token's scopes: `scope` (a space-separated string) or `scp` (an array, Azure).
fn scopes_of(claims: &Value) -> Vec<String> {
    match (&claims["scope"], &claims["scp"]) {
        (Value::String(s), _) | (_, Value::String(s)) => {
            s.split_whitespace().take(100).map(str::to_string).collect()
        }
        (_, Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .take(100)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// What SMART scopes allow, as bedside honours them: user-level (or system-level) scopes on
/// every type (`user/*.rs`, `user/*.cruds`, v1 `user/*.read`, `user/*.write`, `user/*.*`).
/// Scopes on one type or in a patient's context are not honoured (bedside's gate has no
/// per-type grant), so they give nothing: the closed side.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reach {
    pub reads: bool,
    pub writes: bool,
}

impl Reach {
    pub fn of(scopes: &[String]) -> Reach {
        let mut reach = Reach::default();
        for scope in scopes {
            let Some((context, rest)) = scope.split_once('/') else {
                continue;
            };
            if !matches!(context, "user" | "system") {
                continue;
            }
            let Some(("*", permissions)) = rest.split_once('.') else {
                continue;
            };
            // v2 permissions may carry a query (`?category=...`): a narrowed grant, not honoured.
            if permissions.contains('?') {
                continue;
            }
            match permissions {
                "read" => reach.reads = true,
                "write" => reach.writes = true,
                "*" => {
                    reach.reads = true;
                    reach.writes = true;
                }
                v2 if !v2.is_empty() && v2.chars().all(|c| "cruds".contains(c)) => {
                    if v2.contains('r') || v2.contains('s') {
                        reach.reads = true;
                    }
                    if v2.contains('c') || v2.contains('u') || v2.contains('d') {
                        reach.writes = true;
                    }
                }
                _ => {}
            }
        }
        // Writing without reading is not a way bedside works: a write is checked against the
        // version it replaces, which it must read.
        reach.writes &= reach.reads;
        reach
    }
}

/// Whether a token looks like a JWT (three base64url parts), not one of bedside's own.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(s: &str) -> Reach {
        Reach::of(&s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn scopes_bedside_honours() {
        assert_eq!(
            reach("user/*.rs"),
            Reach {
                reads: true,
                writes: false
            }
        );
        assert_eq!(
            reach("openid fhirUser user/*.cruds"),
            Reach {
                reads: true,
                writes: true
            }
        );
        assert_eq!(
            reach("user/*.read user/*.write"),
            Reach {
                reads: true,
                writes: true
            }
        );
        assert_eq!(
            reach("system/*.*"),
            Reach {
                reads: true,
                writes: true
            }
        );
        // Narrower grants are not honoured: nothing, not everything.
        assert_eq!(reach("user/Observation.rs"), Reach::default());
        assert_eq!(reach("patient/*.rs"), Reach::default());
        assert_eq!(reach("user/*.rs?category=laboratory"), Reach::default());
        assert_eq!(reach("user/*.write"), Reach::default());
        assert_eq!(reach("user/*.xyz user/*."), Reach::default());
    }

    #[test]
    fn only_secure_issuers() {
        assert!(OidcSettings::new("https://login.example.org/realms/h", "bedside").is_ok());
        assert!(OidcSettings::new("http://127.0.0.1:8080", "bedside").is_ok());
        assert!(OidcSettings::new("http://login.example.org", "bedside").is_err());
        assert!(OidcSettings::new("https://login.example.org", " ").is_err());
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.c2ln"));
        assert!(!looks_like_jwt("k3j4h5k3j4h5"));
    }
}
