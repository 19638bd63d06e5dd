//! Who may use the embedded server: users with roles, Argon2id passwords, an optional TOTP
//! second factor, bearer tokens kept server-side (only a hash of each) so they can be revoked,
//! lockout after repeated failures, and break-the-glass grants. The audit trail is in `audit`,
//! and what each role may do is in `policy`.

pub mod password;
pub mod policy;
mod sealed;

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

    /// Adds a user. Clinical users (physician, nurse) get a Practitioner resource, which is
    /// what their notes and orders name as author.
    pub fn add_user(
        &self,
        username: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, AuthError> {
        check_username(username)?;
        if self.find(username)?.is_some() {
            return Err(AuthError::Exists(username.to_string()));
        }
        let name = if name.trim().is_empty() {
            username
        } else {
            name.trim()
        };
        let hash = hash_password(password)?;
        let practitioner = if role.is_clinical() {
            let resource = practitioner_resource(username, name);
            let written = self.store.write(|tx| {
                let condition = vec![(
                    "identifier".to_string(),
                    format!("{USER_SYSTEM}|{username}"),
                )];
                match tx.matching_ids("Practitioner", &condition)?.first() {
                    Some(id) => Ok(id.clone()),
                    None => Ok(tx.create(resource, None)?.id),
                }
            })?;
            Some(written)
        } else {
            None
        };
        let now = now_ms();
        self.store.write_side(|tx| {
            tx.execute(
                "INSERT INTO auth_user (username, name, role, password, practitioner, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![username, name, role.as_str(), hash, practitioner, now],
            )?;
            Ok(())
        })?;
        self.user(username)
    }

    /// Adds a user with a one-time password, which is returned: the user must choose their own
    /// at first sign-in. This is how an administrator creates accounts, so an administrator
    /// never knows a password that stays in use.
    pub fn add_user_one_time(
        &self,
        username: &str,
        name: &str,
        role: Role,
    ) -> Result<(User, String), AuthError> {
        let one_time = one_time_password()?;
        self.add_user(username, name, role, &one_time)?;
        self.mark_one_time(username)?;
        Ok((self.user(username)?, one_time))
    }

    /// Replaces `username`'s password with a new one-time password (returned), clears any
    /// lockout and signs the user out everywhere.
    pub fn reset_one_time(&self, username: &str) -> Result<String, AuthError> {
        let one_time = one_time_password()?;
        self.reset_password(username, &one_time)?;
        self.mark_one_time(username)?;
        Ok(one_time)
    }

    /// Marks the user's password as one to replace at the next sign-in.
    fn mark_one_time(&self, username: &str) -> Result<(), AuthError> {
        self.update_user(
            username,
            "UPDATE auth_user SET must_change = 1 WHERE username = ?1",
        )
    }

    /// Checks `new` against the password policy for `username`.
    pub fn check_policy(username: &str, new: &str) -> Result<(), AuthError> {
        match password::weakness(new, username) {
            Some(why) => Err(AuthError::Weak(why)),
            None => Ok(()),
        }
    }

    /// The user's own password change (a one-time password at first sign-in, or any time):
    /// the current password (and TOTP code, if enrolled) are checked as at sign-in, the new one
    /// against the policy; every earlier token is revoked and a new one issued.
    pub fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        code: Option<&str>,
    ) -> Result<Issued, AuthError> {
        let now = now_ms();
        let (user, role) = self.verify(username, current, code, now)?;
        Self::check_policy(username, new)?;
        if new == current {
            return Err(AuthError::Weak(
                "the new password must differ from the current one".into(),
            ));
        }
        // The new password, with earlier tokens revoked (a one-time flag cleared).
        self.reset_password(username, new)?;
        self.issue(&user, role, now)
    }

    pub fn user(&self, username: &str) -> Result<User, AuthError> {
        self.find(username)?
            .map(|u| u.user(now_ms()))
            .ok_or_else(|| AuthError::UnknownUser(username.to_string()))
    }

    pub fn list_users(&self) -> Result<Vec<User>, AuthError> {
        let now = now_ms();
        Ok(self.store.read_side(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM auth_user ORDER BY username"
            ))?;
            let rows = stmt.query_map([], user_row)?;
            Ok(rows
                .collect::<rusqlite::Result<Vec<_>>>()?
                .iter()
                .map(|u| u.user(now))
                .collect())
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

    /// Disables (or enables) an account; disabling revokes its tokens at once.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), AuthError> {
        let flag = i32::from(disabled);
        self.update_user(
            username,
            &format!("UPDATE auth_user SET disabled = {flag} WHERE username = ?1"),
        )?;
        if disabled {
            self.revoke_all(username)?;
        }
        Ok(())
    }

    /// Sets a new password, clears any lockout and revokes the user's tokens.
    pub fn reset_password(&self, username: &str, password: &str) -> Result<(), AuthError> {
        let hash = hash_password(password)?;
        let changed = self.store.write_side(|tx| {
            Ok(tx.execute(
                "UPDATE auth_user SET password = ?2, failures = 0, locked_until = NULL,
                 must_change = 0 WHERE username = ?1",
                params![username, hash],
            )?)
        })?;
        if changed == 0 {
            return Err(AuthError::UnknownUser(username.to_string()));
        }
        self.revoke_all(username)
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

    /// Enrols a new TOTP secret (replacing any earlier one). Returns the base32 secret and
    /// the `otpauth://` URI authenticator apps read.
    pub fn enrol_totp(&self, username: &str) -> Result<(String, String), AuthError> {
        let secret = Secret::Raw(random_bytes::<20>()?.to_vec()).to_encoded();
        let Secret::Encoded(b32) = secret else {
            return Err(AuthError::Invalid("cannot encode the secret".into()));
        };
        let stored = sealed::seal(&self.secret_key()?, username, &b32)?;
        let changed = self.store.write_side(|tx| {
            Ok(tx.execute(
                "UPDATE auth_user SET totp_secret = ?2, totp_last_step = NULL WHERE username = ?1",
                params![username, stored],
            )?)
        })?;
        if changed == 0 {
            return Err(AuthError::UnknownUser(username.to_string()));
        }
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let uri = format!(
            "otpauth://totp/bedside:{}?secret={b32}&issuer=bedside&algorithm=SHA1&digits=6&period={TOTP_STEP}",
            enc(username)
        );
        Ok((b32, uri))
    }

    /// The key that seals TOTP secrets at rest (see `sealed`).
    fn secret_key(&self) -> Result<[u8; 32], AuthError> {
        sealed::key_for(self.store.path())
    }

    /// A stored TOTP secret, opened (a secret stored before sealing existed is sealed now).
    fn open_secret(&self, username: &str, stored: &str) -> Result<String, AuthError> {
        let key = self.secret_key()?;
        if let Some(secret) = sealed::open(&key, username, stored)? {
            return Ok(secret);
        }
        let resealed = sealed::seal(&key, username, stored)?;
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_user SET totp_secret = ?2 WHERE username = ?1",
                params![username, resealed],
            )?;
            Ok(())
        })?;
        Ok(stored.to_string())
    }

    /// Seals every TOTP secret still stored in plain text (a database from before sealing).
    pub fn seal_plain_secrets(&self) -> Result<usize, AuthError> {
        let plain: Vec<(String, String)> = self.store.read_side(|c| {
            let mut stmt = c.prepare(
                "SELECT username, totp_secret FROM auth_user WHERE totp_secret IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut sealed_now = 0;
        for (username, stored) in plain.iter().filter(|(_, s)| !sealed::is_sealed(s)) {
            self.open_secret(username, stored)?;
            sealed_now += 1;
        }
        Ok(sealed_now)
    }

    /// Marks whether every user of `role` must use a second factor.
    pub fn require_mfa(&self, role: Role, required: bool) -> Result<(), AuthError> {
        self.store.write_side(|tx| {
            if required {
                tx.execute(
                    "INSERT OR IGNORE INTO auth_mfa_role (role) VALUES (?1)",
                    [role.as_str()],
                )?;
            } else {
                tx.execute("DELETE FROM auth_mfa_role WHERE role = ?1", [role.as_str()])?;
            }
            Ok(())
        })?;
        Ok(())
    }

    pub fn mfa_roles(&self) -> Result<Vec<Role>, AuthError> {
        Ok(self.store.read_side(|c| {
            let mut stmt = c.prepare("SELECT role FROM auth_mfa_role ORDER BY role")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows
                .filter_map(|r| r.ok().and_then(|r| Role::parse(&r)))
                .collect())
        })?)
    }

    /// Checks a username and password (and TOTP code when the user has one or the role
    /// requires one) and issues a token. Failures count towards a lockout.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<Issued, AuthError> {
        let now = now_ms();
        let (user, role) = self.verify_password(username, password, now)?;
        // Asked before the code, which would otherwise be spent on a sign-in that cannot
        // succeed (a code is accepted once).
        if user.must_change {
            return Err(AuthError::PasswordChangeRequired);
        }
        self.verify_code(&user, role, code, now)?;
        self.issue(&user, role, now)
    }

    /// An electronic signature: the signed-in user's password, or their signature PIN where
    /// the site allows PINs. Failures count towards the same lockout as sign-in failures.
    pub fn verify_signature(&self, username: &str, secret: &str) -> Result<(), AuthError> {
        let now = now_ms();
        let Some(user) = self.find(username)? else {
            return Err(AuthError::WrongCredentials);
        };
        if let Some(until) = user.locked_until.filter(|t| *t > now) {
            let minutes = ((until - now) as u64).div_ceil(60_000);
            return Err(AuthError::Locked { minutes });
        }
        if user.disabled {
            return Err(AuthError::Disabled);
        }
        let fits = secret.chars().count() <= password::MAX_CHARS;
        let by_password = fits && verify_password(secret, &user.password);
        let by_pin = fits
            && !by_password
            && self.settings.signature_pins
            && user
                .signature_pin
                .as_deref()
                .is_some_and(|pin| verify_password(secret, pin));
        if !(by_password || by_pin) {
            self.record_failure(&user, now)?;
            return Err(AuthError::WrongCredentials);
        }
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_user SET failures = 0 WHERE username = ?1",
                [&user.username],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Sets the user's signature PIN (6 to 12 digits, not a run or a repeat), proving the
    /// password first. Only where the site allows PINs.
    pub fn set_signature_pin(
        &self,
        username: &str,
        password: &str,
        pin: &str,
    ) -> Result<(), AuthError> {
        if !self.settings.signature_pins {
            return Err(AuthError::Invalid(
                "this site does not allow signature PINs: sign with your password".into(),
            ));
        }
        let (user, _) = self.verify_password(username, password, now_ms())?;
        check_pin(pin)?;
        let hash = hash_password(pin)?;
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_user SET signature_pin = ?2 WHERE username = ?1",
                params![user.username, hash],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Checks a username, password and TOTP code as sign-in does (failures count towards a
    /// lockout); the user and their role when they are right.
    fn verify(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        now: i64,
    ) -> Result<(UserRow, Role), AuthError> {
        let (user, role) = self.verify_password(username, password, now)?;
        self.verify_code(&user, role, code, now)?;
        Ok((user, role))
    }

    fn verify_password(
        &self,
        username: &str,
        password: &str,
        now: i64,
    ) -> Result<(UserRow, Role), AuthError> {
        if password.chars().count() > password::MAX_CHARS {
            return Err(AuthError::WrongCredentials);
        }
        let Some(user) = self.find(username)? else {
            // Same work as a real check, so timing does not tell which usernames exist.
            verify_password(password, dummy_hash());
            return Err(AuthError::WrongCredentials);
        };
        if let Some(until) = user.locked_until.filter(|t| *t > now) {
            let minutes = ((until - now) as u64).div_ceil(60_000);
            return Err(AuthError::Locked { minutes });
        }
        if !verify_password(password, &user.password) {
            self.record_failure(&user, now)?;
            return Err(AuthError::WrongCredentials);
        }
        if user.disabled {
            return Err(AuthError::Disabled);
        }
        let role = Role::parse(&user.role).ok_or(AuthError::Disabled)?;
        Ok((user, role))
    }

    /// The second factor: required when enrolled or when the role demands it.
    fn verify_code(
        &self,
        user: &UserRow,
        role: Role,
        code: Option<&str>,
        now: i64,
    ) -> Result<(), AuthError> {
        let username = user.username.as_str();
        let mfa_required = self.mfa_roles()?.contains(&role);
        let secret = match &user.totp_secret {
            Some(stored) => Some(self.open_secret(username, stored)?),
            None => None,
        };
        match (&secret, code.map(str::trim).filter(|c| !c.is_empty())) {
            (None, _) if mfa_required => {
                return Err(AuthError::Invalid(format!(
                    "the {} role requires a second factor, and this account has none enrolled; ask an administrator to run `bedside user totp`",
                    role.as_str()
                )));
            }
            (None, _) => {}
            (Some(_), None) => return Err(AuthError::TotpRequired),
            (Some(secret), Some(code)) => {
                let step = self.check_totp(secret, code, user.totp_last_step, now);
                match step {
                    Some(step) => {
                        self.store.write_side(|tx| {
                            tx.execute(
                                "UPDATE auth_user SET totp_last_step = ?2 WHERE username = ?1",
                                params![username, step],
                            )?;
                            Ok(())
                        })?;
                    }
                    None => {
                        self.record_failure(user, now)?;
                        return Err(AuthError::TotpWrong);
                    }
                }
            }
        }
        Ok(())
    }

    /// The time step `code` matches (the current one, or one either side for clock drift),
    /// if it is later than the last one used.
    fn check_totp(&self, secret: &str, code: &str, last: Option<i64>, now: i64) -> Option<i64> {
        let totp = totp(secret)?;
        let secs = (now / 1000) as u64;
        let current = secs / TOTP_STEP;
        [current.saturating_sub(1), current, current + 1]
            .into_iter()
            .filter(|step| last.is_none_or(|l| *step as i64 > l))
            .find(|step| {
                let expected = totp.generate(step * TOTP_STEP);
                constant_eq(expected.as_bytes(), code.as_bytes())
            })
            .map(|s| s as i64)
    }

    fn record_failure(&self, user: &UserRow, now: i64) -> Result<(), AuthError> {
        let failures = user.failures + 1;
        let lock = (failures >= i64::from(self.settings.max_failures))
            .then(|| now + self.settings.lockout.as_millis() as i64);
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_user SET failures = ?2, locked_until = ?3 WHERE username = ?1",
                params![
                    user.username,
                    if lock.is_some() { 0 } else { failures },
                    lock
                ],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    fn issue(&self, user: &UserRow, role: Role, now: i64) -> Result<Issued, AuthError> {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        let hash = hash_token(&token);
        let ttl = self.settings.token_ttl;
        let expires = now + ttl.as_millis() as i64;
        self.store.write_side(|tx| {
            tx.execute(
                "INSERT INTO auth_token (hash, username, issued, expires) VALUES (?1, ?2, ?3, ?4)",
                params![hash, user.username, now, expires],
            )?;
            tx.execute(
                "UPDATE auth_user SET failures = 0, locked_until = NULL WHERE username = ?1",
                [&user.username],
            )?;
            // Expired tokens are of no further use; keep the table small.
            tx.execute(
                "DELETE FROM auth_token WHERE expires < ?1",
                [now - 7 * 86_400_000],
            )?;
            Ok(())
        })?;
        Ok(Issued {
            token,
            expires_in: ttl.as_secs(),
            session: Session {
                username: user.username.clone(),
                name: user.name.clone(),
                role,
                practitioner: user.practitioner.clone(),
                token_hash: hash,
                expires_ms: expires,
            },
        })
    }

    /// Issues a token without a password: for `bedside demo`, which signs in as its seeded
    /// physician, and for tests.
    pub fn issue_for(&self, username: &str) -> Result<Issued, AuthError> {
        let user = self
            .find(username)?
            .ok_or_else(|| AuthError::UnknownUser(username.to_string()))?;
        let role = Role::parse(&user.role).ok_or(AuthError::Disabled)?;
        if user.disabled {
            return Err(AuthError::Disabled);
        }
        self.issue(&user, role, now_ms())
    }

    /// The session a bearer token stands for.
    pub fn session(&self, token: &str) -> Result<Session, AuthError> {
        let hash = hash_token(token);
        let found = self.store.read_side(|c| lookup_token(c, &hash))?;
        session_of(found, hash, now_ms())
    }

    /// `session`, if a database connection is free this moment; `None` otherwise. One indexed
    /// lookup: cheap enough for the server to run without handing it to a blocking thread.
    pub fn try_session(&self, token: &str) -> Option<Result<Session, AuthError>> {
        let hash = hash_token(token);
        let found = self.store.try_read_side(|c| lookup_token(c, &hash))?;
        Some(
            found
                .map_err(AuthError::from)
                .and_then(|f| session_of(f, hash, now_ms())),
        )
    }

    /// Revokes the token of `session` (sign-out).
    pub fn logout(&self, session: &Session) -> Result<(), AuthError> {
        self.store.write_side(|tx| {
            tx.execute(
                "UPDATE auth_token SET revoked = 1 WHERE hash = ?1",
                [&session.token_hash],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Grants `session`'s user emergency access to `patient` for the configured time.
    /// Returns when the grant ends (epoch ms).
    pub fn break_glass(
        &self,
        session: &Session,
        patient: &str,
        reason: &str,
    ) -> Result<i64, AuthError> {
        let reason = reason.trim();
        if reason.chars().count() < 4 {
            return Err(AuthError::Invalid(
                "give a reason for the emergency access (at least a few words)".into(),
            ));
        }
        let now = now_ms();
        let expires = now + self.settings.break_glass.as_millis() as i64;
        self.store.write_side(|tx| {
            tx.execute(
                "INSERT INTO auth_btg (username, patient_id, reason, granted, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session.username, patient, reason, now, expires],
            )?;
            Ok(())
        })?;
        Ok(expires)
    }

    /// The patients `username` holds an active break-the-glass grant on.
    pub fn glass_grants(&self, username: &str) -> Result<Vec<String>, AuthError> {
        let now = now_ms();
        Ok(self.store.read_side(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT patient_id FROM auth_btg WHERE username = ?1 AND expires > ?2",
            )?;
            let rows = stmt.query_map(params![username, now], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })?)
    }

    /// The active break-the-glass grant of `username` on `patient`: when it ends, and the
    /// reason given.
    pub fn glass_broken(
        &self,
        username: &str,
        patient: &str,
    ) -> Result<Option<(i64, String)>, AuthError> {
        let now = now_ms();
        Ok(self.store.read_side(|c| {
            Ok(c.query_row(
                "SELECT expires, reason FROM auth_btg WHERE username = ?1 AND patient_id = ?2
                 AND expires > ?3 ORDER BY expires DESC LIMIT 1",
                params![username, patient, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })?)
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_sha1_vector() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 s -> 94287082
        // (8 digits); the 6-digit code is its last six digits.
        let b32 = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        assert_eq!(totp_code(&b32, 59).as_deref(), Some("287082"));
    }

    #[test]
    fn a_token_and_its_hash_never_print_by_debug() {
        let session = Session {
            username: "doc".into(),
            name: "Doc".into(),
            role: Role::Physician,
            practitioner: None,
            token_hash: "hash-of-the-token".into(),
            expires_ms: 0,
        };
        let issued = Issued {
            token: "the-bearer-token".into(),
            expires_in: 60,
            session,
        };
        let printed = format!("{issued:?}");
        assert!(!printed.contains("the-bearer-token") && !printed.contains("hash-of"));
        assert!(printed.contains("doc"));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(check_username("jdoe").is_ok());
        assert!(check_username("j.doe-2").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("J Doe").is_err());
    }
}
