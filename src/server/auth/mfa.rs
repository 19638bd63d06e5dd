//! The second factor: TOTP enrolment (the secret sealed at rest), the roles that must use it,
//! and checking a code once per time step.

use super::*;

impl Auth {
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
    pub(super) fn secret_key(&self) -> Result<[u8; 32], AuthError> {
        sealed::key_for(self.store.path())
    }

    /// A stored TOTP secret, opened (a secret stored before sealing existed is sealed now).
    pub(super) fn open_secret(&self, username: &str, stored: &str) -> Result<String, AuthError> {
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

    /// The time step `code` matches (the current one, or one either side for clock drift),
    /// if it is later than the last one used.
    pub(super) fn check_totp(
        &self,
        secret: &str,
        code: &str,
        last: Option<i64>,
        now: i64,
    ) -> Option<i64> {
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
}
