//! Secrets sealed at rest: TOTP secrets are stored encrypted (XChaCha20-Poly1305, bound to the
//! username), so a copy of the database alone does not give anyone the second factor. The key
//! is `BEDSIDE_SECRET_KEY` (64 hex digits) when set, so it can live outside the data folder
//! (a systemd credential, a vault), or else a random key in `<database>.key`, created 0600.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::AuthError;

const PREFIX: &str = "sealed1:";

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

fn failed(what: &str) -> AuthError {
    AuthError::Invalid(format!("the sealed secrets cannot be {what}"))
}

pub fn seal(key: &[u8; 32], username: &str, secret: &str) -> Result<String, AuthError> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|_| failed("sealed: no random source"))?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret.as_bytes(),
                aad: username.as_bytes(),
            },
        )
        .map_err(|_| failed("sealed"))?;
    let mut bytes = nonce.to_vec();
    bytes.extend(sealed);
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The secret in `stored`; `None` when it is not sealed (stored before sealing existed).
pub fn open(key: &[u8; 32], username: &str, stored: &str) -> Result<Option<String>, AuthError> {
    let Some(text) = stored.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| failed("read"))?;
    if bytes.len() < 24 {
        return Err(failed("read"));
    }
    let (nonce, sealed) = bytes.split_at(24);
    let cipher = XChaCha20Poly1305::new(key.into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: username.as_bytes(),
            },
        )
        .map_err(|_| {
            AuthError::Invalid(
                "a sealed secret could not be opened: the key (BEDSIDE_SECRET_KEY or the database's .key file) is not the one it was sealed with".into(),
            )
        })?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| failed("read"))
}

/// The sealing key of the database at `db`.
pub fn key_for(db: &Path) -> Result<[u8; 32], AuthError> {
    if let Ok(hex) = std::env::var("BEDSIDE_SECRET_KEY") {
        return parse_hex(hex.trim()).ok_or_else(|| {
            AuthError::Invalid("BEDSIDE_SECRET_KEY must be 64 hexadecimal digits".into())
        });
    }
    static KEYS: Mutex<Option<HashMap<PathBuf, [u8; 32]>>> = Mutex::new(None);
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    let keys = keys.get_or_insert_with(HashMap::new);
    if let Some(key) = keys.get(db) {
        return Ok(*key);
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    let path = PathBuf::from(path);
    let key = match std::fs::read_to_string(&path) {
        Ok(text) => parse_hex(text.trim()).ok_or_else(|| {
            AuthError::Invalid(format!("{} is not a bedside key file", path.display()))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|_| failed("sealed: no random source"))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            crate::files::write_private_file(&path, format!("{hex}\n").as_bytes())
                .map_err(|e| AuthError::Invalid(format!("cannot write {}: {e}", path.display())))?;
            key
        }
        Err(e) => {
            return Err(AuthError::Invalid(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    keys.insert(db.to_path_buf(), key);
    Ok(key)
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let key = [7u8; 32];
        let sealed = seal(&key, "jdoe", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DP"));
        assert_eq!(
            open(&key, "jdoe", &sealed).unwrap().as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert!(open(&key, "other", &sealed).is_err());
        assert!(open(&[8u8; 32], "jdoe", &sealed).is_err());
        assert_eq!(open(&key, "jdoe", "JBSWY3DPEHPK3PXP").unwrap(), None);
    }
}
