//! Signing in and what follows: password and code checks with lockout, tokens issued and
//! looked up by their hash, signing out, electronic signature checks and PINs, and
//! break-the-glass grants.

use super::*;

impl Auth {
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
    pub(super) fn verify(
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

    pub(super) fn verify_password(
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
    pub(super) fn verify_code(
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

    pub(super) fn record_failure(&self, user: &UserRow, now: i64) -> Result<(), AuthError> {
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

    pub(super) fn issue(&self, user: &UserRow, role: Role, now: i64) -> Result<Issued, AuthError> {
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
                may_write: true,
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
