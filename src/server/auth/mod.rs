//! Who may use the embedded server: users with roles, Argon2id passwords, an optional TOTP
//! second factor, bearer tokens kept server-side (only a hash of each) so they can be revoked,
//! lockout after repeated failures, and break-the-glass grants. The audit trail is in `audit`,
//! and what each role may do is in `policy`.

mod mfa;
pub mod oidc;
pub mod password;
pub mod policy;
mod sealed;
mod sign_in;
mod users;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm as ArgonAlgorithm, Argon2, Params, Version};
use base64::Engine;
use rusqlite::{OptionalExtension, params};
use serde_json::json;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::server::store::{Store, StoreError};

pub use policy::Role;

/// How a deployment tunes sign-in.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a token lives (a shift).
    pub token_ttl: Duration,
    /// Consecutive failures before the account is locked.
    pub max_failures: u32,
    /// How long a locked account stays locked.
    pub lockout: Duration,
    /// How long a break-the-glass grant lasts.
    pub break_glass: Duration,
    /// Users may sign with a signature PIN of their own instead of their password.
    pub signature_pins: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            token_ttl: Duration::from_secs(8 * 3600),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
            break_glass: Duration::from_secs(60 * 60),
            signature_pins: false,
        }
    }
}

/// Why a sign-in or a token was refused. The messages are shown to the user as they are, so a
/// wrong username and a wrong password read the same.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong username or password")]
    WrongCredentials,
    #[error(
        "this account is locked after repeated failed sign-ins; try again in {minutes} min or ask an administrator to reset it"
    )]
    Locked { minutes: u64 },
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("a one-time code from your authenticator app is required")]
    TotpRequired,
    #[error("the one-time code is wrong or was already used")]
    TotpWrong,
    #[error("the sign-in token is not valid; sign in again")]
    InvalidToken,
    #[error("the sign-in token has expired; sign in again")]
    Expired,
    #[error("the sign-in token was revoked (signed out); sign in again")]
    Revoked,
    #[error("there is no user {0:?}")]
    UnknownUser(String),
    #[error("a user {0:?} already exists")]
    Exists(String),
    #[error(
        "this account has a one-time password: choose your own now (POST /auth/password with username, password and new_password)"
    )]
    PasswordChangeRequired,
    #[error("{0}")]
    Weak(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Store(StoreError::Db(e))
    }
}

/// A user as listed by `bedside user list` (no secrets).
#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub totp: bool,
    pub locked: bool,
    pub practitioner: Option<String>,
    /// Signs in with a one-time password that must be replaced first.
    pub must_change: bool,
}

/// Who is making a request: resolved from a valid bearer token.
#[derive(Clone)]
pub struct Session {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub practitioner: Option<String>,
    pub token_hash: String,
    pub expires_ms: i64,
    /// The token allows changes: always for bedside's own; for a provider's token, when its
    /// scopes say so (`oidc::Reach`).
    pub may_write: bool,
}

impl Session {
    /// The FHIR reference the user acts as (`Practitioner/ID`), if any.
    pub fn reference(&self) -> Option<String> {
        self.practitioner
            .as_ref()
            .map(|p| format!("Practitioner/{p}"))
    }
}

/// A token handed out at sign-in. The token itself exists only here and with the client.
#[derive(Clone)]
pub struct Issued {
    pub token: String,
    pub expires_in: u64,
    pub session: Session,
}

// The token, and the hash it is looked up by, are never printed.
impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("expires_in", &self.expires_in)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Invalid(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

/// Argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.is_empty() {
        return Err(AuthError::Invalid("the password is empty".into()));
    }
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| AuthError::Invalid(format!("cannot make a salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(format!("cannot hash the password: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so both cases take as long.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

const TOTP_STEP: u64 = 30;

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, TOTP_STEP, bytes).ok()
}

/// The code an authenticator shows for `secret_b32` at `unix_secs` (tests, and `user totp`
/// to confirm enrolment).
pub fn totp_code(secret_b32: &str, unix_secs: u64) -> Option<String> {
    totp(secret_b32).map(|t| t.generate(unix_secs))
}

/// The sign-in service over the store's side tables.
#[derive(Clone)]
pub struct Auth {
    pub store: Store,
    pub settings: Settings,
}

struct UserRow {
    username: String,
    name: String,
    role: String,
    password: String,
    disabled: bool,
    totp_secret: Option<String>,
    totp_last_step: Option<i64>,
    failures: i64,
    locked_until: Option<i64>,
    practitioner: Option<String>,
    must_change: bool,
    /// The signature PIN's hash, when the user set one.
    signature_pin: Option<String>,
}

const USER_COLUMNS: &str = "username, name, role, password, disabled, totp_secret, \
     totp_last_step, failures, locked_until, practitioner, must_change, signature_pin";

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        username: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        password: r.get(3)?,
        disabled: r.get(4)?,
        totp_secret: r.get(5)?,
        totp_last_step: r.get(6)?,
        failures: r.get(7)?,
        locked_until: r.get(8)?,
        practitioner: r.get(9)?,
        must_change: r.get(10)?,
        signature_pin: r.get(11)?,
    })
}

impl UserRow {
    fn user(&self, now: i64) -> User {
        User {
            username: self.username.clone(),
            name: self.name.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Support),
            disabled: self.disabled,
            totp: self.totp_secret.is_some(),
            locked: self.locked_until.is_some_and(|t| t > now),
            practitioner: self.practitioner.clone(),
            must_change: self.must_change,
        }
    }
}

/// A signature PIN: 6 to 12 digits, neither one digit repeated nor a run (123456, 987654).
fn check_pin(pin: &str) -> Result<(), AuthError> {
    let digits: Vec<u32> = pin.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != pin.chars().count() || !(6..=12).contains(&digits.len()) {
        return Err(AuthError::Weak("a signature PIN is 6 to 12 digits".into()));
    }
    let steps: Vec<i64> = digits
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    if steps.iter().all(|d| *d == steps[0]) && steps[0].abs() <= 1 {
        return Err(AuthError::Weak(
            "a signature PIN may not be one digit repeated or a run like 123456".into(),
        ));
    }
    Ok(())
}

/// A username is short, lower-case letters, digits and `._-` (it appears in audit records).
fn check_username(username: &str) -> Result<(), AuthError> {
    let ok = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "username {username:?}: use 1-64 lower-case letters, digits, '.', '_' or '-'"
        )))
    }
}

impl Auth {
    pub fn new(store: Store) -> Auth {
        Auth {
            store,
            settings: Settings::default(),
        }
    }

    /// The session of a token the site's identity provider issued (checked by
    /// `oidc::Provider::verify`): the bedside account its claim names, with that account's
    /// role. A provider's user with no account, or a disabled one, is refused.
    pub fn provider_session(
        &self,
        token: &str,
        verified: &oidc::Verified,
    ) -> Result<Session, AuthError> {
        let Some(user) = self.find(&verified.user)? else {
            return Err(AuthError::UnknownUser(verified.user.clone()));
        };
        if user.disabled {
            return Err(AuthError::Disabled);
        }
        Ok(Session {
            role: Role::parse(&user.role).ok_or(AuthError::InvalidToken)?,
            username: user.username,
            name: user.name,
            practitioner: user.practitioner,
            token_hash: hash_token(token),
            expires_ms: verified.expires_ms,
            may_write: verified.writes,
        })
    }

    fn find(&self, username: &str) -> Result<Option<UserRow>, AuthError> {
        Ok(self.store.read_side(|c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM auth_user WHERE username = ?1"),
                [username],
                user_row,
            )
            .optional()?)
        })?)
    }

    fn update_user(&self, username: &str, sql: &str) -> Result<(), AuthError> {
        let changed = self
            .store
            .write_side(|tx| Ok(tx.execute(sql, [username])?))?;
        if changed == 0 {
            return Err(AuthError::UnknownUser(username.to_string()));
        }
        Ok(())
    }

    fn revoke_all(&self, username: &str) -> Result<(), AuthError> {
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_token SET revoked = 1 WHERE username = ?1",
                [username],
            )?;
            Ok(())
        })?;
        Ok(())
    }
}

fn one_time_password() -> Result<String, AuthError> {
    password::one_time()
        .map_err(|e| AuthError::Invalid(format!("the system random source failed: {e}")))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The password of the demo database's users (`bedside demo` only; never on a real site).
pub const DEMO_PASSWORD: &str = "bedside-demo";
/// The user `bedside demo` signs in as.
pub const DEMO_PHYSICIAN: &str = "demo.physician";

/// The demo's users, one per role, added if missing.
pub fn ensure_demo_users(auth: &Auth) -> Result<(), AuthError> {
    let users = [
        (DEMO_PHYSICIAN, "Dr Ada Park", Role::Physician),
        ("demo.nurse", "Nurse Sam Okafor", Role::Nurse),
        ("demo.support", "Lee Novak (IT support)", Role::Support),
        ("demo.admin", "Kim Adler (administrator)", Role::Admin),
    ];
    for (username, name, role) in users {
        match auth.add_user(username, name, role, DEMO_PASSWORD) {
            Ok(_) | Err(AuthError::Exists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The identifier system tying a Practitioner to a bedside user.
pub const USER_SYSTEM: &str = "urn:bedside:user";

fn practitioner_resource(username: &str, name: &str) -> serde_json::Value {
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| !matches!(w.to_ascii_lowercase().trim_end_matches('.'), "dr" | "nurse"))
        .collect();
    let (given, family) = match words.split_last() {
        Some((family, given)) => (given.to_vec(), *family),
        None => (Vec::new(), username),
    };
    json!({
        "resourceType": "Practitioner",
        "active": true,
        "identifier": [{"system": USER_SYSTEM, "value": username}],
        "name": [{"text": name, "family": family, "given": given}]
    })
}

/// What the token table says of one token: expires, revoked (or its user disabled), username,
/// name, role, practitioner.
type TokenRow = (i64, bool, String, String, String, Option<String>);

/// Every request comes through here: one cached statement, only the columns needed.
fn lookup_token(
    c: &rusqlite::Connection,
    hash: &str,
) -> crate::server::store::Result<Option<TokenRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT t.expires, t.revoked, u.disabled, u.username, u.name, u.role, u.practitioner
         FROM auth_token t JOIN auth_user u ON u.username = t.username
         WHERE t.hash = ?1",
    )?;
    Ok(stmt
        .query_row([hash], |r| {
            let revoked = r.get::<_, bool>(1)? || r.get::<_, bool>(2)?;
            Ok((
                r.get::<_, i64>(0)?,
                revoked,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?)
}

fn session_of(found: Option<TokenRow>, hash: String, now: i64) -> Result<Session, AuthError> {
    let Some((expires, revoked, username, name, role, practitioner)) = found else {
        return Err(AuthError::InvalidToken);
    };
    if revoked {
        return Err(AuthError::Revoked);
    }
    if expires <= now {
        return Err(AuthError::Expired);
    }
    Ok(Session {
        username,
        name,
        role: Role::parse(&role).ok_or(AuthError::InvalidToken)?,
        practitioner,
        token_hash: hash,
        expires_ms: expires,
        may_write: true,
    })
}

#[cfg(test)]
mod tests;
