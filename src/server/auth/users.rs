//! Accounts: adding users (with a one-time password or one of their own), passwords and
//! their policy, disabling, and the list administrators see.

use super::*;

impl Auth {
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
    pub(super) fn mark_one_time(&self, username: &str) -> Result<(), AuthError> {
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
}
