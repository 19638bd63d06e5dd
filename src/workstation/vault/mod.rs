//! Patient data the workstation keeps on disk (the chart cache, the outbox of notes waiting
//! for the server, drafts) is encrypted with one data key per user and server.
//!
//! - Cipher: XChaCha20-Poly1305 (AEAD): a random 24-byte nonce per record, and associated data
//!   naming what the record is (a chart, a draft, its id), so a record moved to another row or
//!   file fails to open rather than showing one patient's data as another's.
//! - The data key is random. On disk it exists only wrapped (encrypted) by a key derived with
//!   Argon2id from the user's sign-in password (or, against servers where the user has only a
//!   token, a passphrase asked once per session). The unwrapped key lives in memory only while
//!   the user is signed in and unlocked; `close` wipes it (the lock screen, sign-out).
//! - Files are 0600 in 0700 folders. No desktop keyring is needed: it works the same over SSH.

pub mod cache;
pub mod outbox;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The key file's format version.
const KEY_FILE_VERSION: u32 = 1;
const NONCE: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the password or passphrase does not open this user's offline data")]
    WrongSecret,
    #[error("the offline data is locked (sign in or unlock first)")]
    Locked,
    #[error("an encrypted record failed its integrity check (changed on disk, or not this user's)")]
    Tampered,
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Corrupt(String),
}

impl From<std::io::Error> for VaultError {
    fn from(e: std::io::Error) -> VaultError {
        VaultError::Io(e.to_string())
    }
}

impl From<rusqlite::Error> for VaultError {
    fn from(e: rusqlite::Error) -> VaultError {
        VaultError::Io(format!("offline store: {e}"))
    }
}

/// Argon2id cost. The default follows OWASP's minimum for Argon2id (19 MiB, 2 passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Default for Kdf {
    fn default() -> Kdf {
        Kdf {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    /// Whose key this is (not secret: it names the folder's owner for `bedside cache`).
    server: String,
    username: String,
    kdf: Kdf,
    salt: String,
    /// The data key, sealed with the derived key.
    wrapped: String,
    /// The user's name and role as the server last said (sealed), for an unlock while the
    /// server cannot be reached.
    #[serde(default)]
    profile: Option<String>,
}

/// The folder (under the data or cache directory) of one user of one server: a hash, so a
/// username cannot name a path, and folder names say nothing about who.
pub fn slug(server_id: &str, username: &str) -> String {
    let digest = Sha256::digest(format!("{server_id}\n{username}").as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Who the user folders under `root` belong to: (folder, server, username).
pub fn owners(root: &Path) -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        let key = path.join("key.json");
        if let Some(kf) = std::fs::read(&key)
            .ok()
            .and_then(|b| serde_json::from_slice::<KeyFile>(&b).ok())
        {
            out.push((path, kf.server, kf.username));
        }
    }
    out.sort_by(|a, b| (&a.2, &a.1).cmp(&(&b.2, &b.1)));
    out
}

/// One user's data key, shared by every part that encrypts (cache, outbox, drafts): closing
/// it closes them all.
#[derive(Clone)]
pub struct Vault {
    dir: PathBuf,
    pub server_id: String,
    pub username: String,
    key: Arc<RwLock<Option<Zeroizing<[u8; 32]>>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("open", &self.is_open())
            .finish()
    }
}

fn derive(secret: &str, salt: &[u8], kdf: Kdf) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| VaultError::Corrupt(format!("key file: bad Argon2 parameters ({e})")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(secret.as_bytes(), salt, out.as_mut())
        .map_err(|e| VaultError::Corrupt(format!("cannot derive the key ({e})")))?;
    Ok(out)
}

fn random<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| VaultError::Io(format!("no random numbers: {e}")))?;
    Ok(b)
}

/// `nonce || ciphertext` of `plain` under `key`, bound to `aad`.
pub fn seal_with(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, VaultError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce: [u8; NONCE] = random()?;
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| VaultError::Io("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext of `seal_with`'s output, if it was sealed with `key` and `aad` and not changed.
pub fn open_with(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE + 16 {
        return Err(VaultError::Tampered);
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let (nonce, body) = sealed.split_at(NONCE);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Tampered)
}

impl Vault {
    /// The folder of `username` on `server_id` under `root`.
    pub fn dir_for(root: &Path, server_id: &str, username: &str) -> PathBuf {
        root.join(slug(server_id, username))
    }

    /// True when the user has a key here already (so a passphrase is checked, not chosen).
    pub fn exists(root: &Path, server_id: &str, username: &str) -> bool {
        Vault::dir_for(root, server_id, username)
            .join("key.json")
            .exists()
    }

    /// Unwraps the user's data key with `secret`, or makes a new key the first time.
    pub fn open(
        root: &Path,
        server_id: &str,
        username: &str,
        secret: &str,
    ) -> Result<Vault, VaultError> {
        Vault::open_with(root, server_id, username, secret, Kdf::default())
    }

    /// `open`, with the Argon2 cost used when a new key is made (tests use a cheap one).
    pub fn open_with(
        root: &Path,
        server_id: &str,
        username: &str,
        secret: &str,
        kdf: Kdf,
    ) -> Result<Vault, VaultError> {
        let dir = Vault::dir_for(root, server_id, username);
        let path = dir.join("key.json");
        let key = match std::fs::read(&path) {
            Ok(bytes) => unwrap_key(&path, &bytes, secret)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Zeroizing::new(random::<32>()?);
                let salt: [u8; 16] = random()?;
                let kek = derive(secret, &salt, kdf)?;
                let wrapped = seal_with(&kek, b"bedside-key-v1", key.as_ref())?;
                let kf = KeyFile {
                    version: KEY_FILE_VERSION,
                    server: server_id.to_string(),
                    username: username.to_string(),
                    kdf,
                    salt: B64.encode(salt),
                    wrapped: B64.encode(wrapped),
                    profile: None,
                };
                let text = serde_json::to_vec_pretty(&kf)
                    .map_err(|e| VaultError::Io(format!("cannot write the key file: {e}")))?;
                crate::files::write_private(&path, &text)?;
                key
            }
            Err(e) => return Err(VaultError::Io(format!("{}: {e}", path.display()))),
        };
        Ok(Vault {
            dir,
            server_id: server_id.to_string(),
            username: username.to_string(),
            key: Arc::new(RwLock::new(Some(key))),
        })
    }

    /// Does `secret` open this vault's key file? (An electronic signature checked on this
    /// terminal while the server cannot be reached.)
    pub fn check_secret(&self, secret: &str) -> Result<(), VaultError> {
        let path = self.dir.join("key.json");
        let bytes =
            std::fs::read(&path).map_err(|e| VaultError::Io(format!("{}: {e}", path.display())))?;
        unwrap_key(&path, &bytes, secret).map(|_| ())
    }

    /// The user's folder (key file, outbox, drafts).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Wipes the data key from memory: every clone of this vault is locked.
    pub fn close(&self) {
        // Dropping the Zeroizing array overwrites it.
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn is_open(&self) -> bool {
        self.key.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn with_key<T>(&self, f: impl FnOnce(&[u8; 32]) -> T) -> Result<T, VaultError> {
        let guard = self.key.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(k) => Ok(f(k)),
            None => Err(VaultError::Locked),
        }
    }

    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.with_key(|k| seal_with(k, aad, plain))?
    }

    pub fn open_sealed(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.with_key(|k| open_with(k, aad, sealed))?
    }

    /// A keyed hash of `id` (a patient id), for looking records up without storing the id
    /// in the clear.
    pub fn lookup(&self, id: &str) -> Result<String, VaultError> {
        self.with_key(|k| {
            let mut h = Sha256::new();
            h.update(b"bedside-lookup-v1");
            h.update(k);
            h.update(id.as_bytes());
            h.finalize()
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// Remembers who the user is (sealed in the key file), for an unlock while offline.
    pub fn save_profile(&self, profile: &serde_json::Value) -> Result<(), VaultError> {
        let path = self.dir.join("key.json");
        let bytes = std::fs::read(&path)?;
        let mut kf: KeyFile = serde_json::from_slice(&bytes)
            .map_err(|e| VaultError::Corrupt(format!("{}: {e}", path.display())))?;
        let sealed = self.seal(b"bedside-profile-v1", profile.to_string().as_bytes())?;
        kf.profile = Some(B64.encode(sealed));
        let text = serde_json::to_vec_pretty(&kf)
            .map_err(|e| VaultError::Io(format!("cannot write the key file: {e}")))?;
        crate::files::write_private(&path, &text)?;
        Ok(())
    }

    /// The profile `save_profile` kept, if any.
    pub fn profile(&self) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.dir.join("key.json")).ok()?;
        let kf: KeyFile = serde_json::from_slice(&bytes).ok()?;
        let sealed = B64.decode(kf.profile?).ok()?;
        let plain = self.open_sealed(b"bedside-profile-v1", &sealed).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

/// The data key in key file `path` (its `bytes`), unwrapped with `secret`.
fn unwrap_key(path: &Path, bytes: &[u8], secret: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let kf: KeyFile = serde_json::from_slice(bytes).map_err(|e| {
        VaultError::Corrupt(format!("{}: not a bedside key file ({e})", path.display()))
    })?;
    if kf.version != KEY_FILE_VERSION {
        return Err(VaultError::Corrupt(format!(
            "{}: key file version {} is not one this bedside reads",
            path.display(),
            kf.version
        )));
    }
    let salt = B64
        .decode(&kf.salt)
        .map_err(|_| VaultError::Corrupt(format!("{}: bad salt", path.display())))?;
    let wrapped = B64
        .decode(&kf.wrapped)
        .map_err(|_| VaultError::Corrupt(format!("{}: bad wrapped key", path.display())))?;
    let kek = derive(secret, &salt, kf.kdf)?;
    let plain =
        open_with(&kek, b"bedside-key-v1", &wrapped).map_err(|_| VaultError::WrongSecret)?;
    let plain = Zeroizing::new(plain);
    let mut key = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(VaultError::Corrupt(format!(
            "{}: the wrapped key has the wrong length",
            path.display()
        )));
    }
    key.copy_from_slice(&plain);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cheap() -> Kdf {
        Kdf {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    #[test]
    fn the_right_secret_opens_and_a_wrong_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open_with(dir.path(), "s", "alice", "pw one", cheap()).unwrap();
        let sealed = v.seal(b"x", b"hello").unwrap();
        let again = Vault::open_with(dir.path(), "s", "alice", "pw one", cheap()).unwrap();
        assert_eq!(again.open_sealed(b"x", &sealed).unwrap(), b"hello");
        assert_eq!(
            Vault::open_with(dir.path(), "s", "alice", "pw two", cheap()).unwrap_err(),
            VaultError::WrongSecret
        );
        // Another user (or server) has another key.
        let bob = Vault::open_with(dir.path(), "s", "bob", "pw one", cheap()).unwrap();
        assert_eq!(
            bob.open_sealed(b"x", &sealed).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn tampering_and_moved_records_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open_with(dir.path(), "s", "alice", "pw", cheap()).unwrap();
        let mut sealed = v.seal(b"chart|1", b"SMITH").unwrap();
        assert_eq!(
            v.open_sealed(b"chart|2", &sealed).unwrap_err(),
            VaultError::Tampered
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            v.open_sealed(b"chart|1", &sealed).unwrap_err(),
            VaultError::Tampered
        );
        assert_eq!(
            v.open_sealed(b"chart|1", &[1, 2]).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn close_locks_every_clone() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open_with(dir.path(), "s", "alice", "pw", cheap()).unwrap();
        let clone = v.clone();
        v.close();
        assert_eq!(clone.seal(b"", b"x").unwrap_err(), VaultError::Locked);
        assert!(!clone.is_open());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_and_holds_no_key_in_the_clear() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open_with(dir.path(), "s", "alice", "pw", cheap()).unwrap();
        let path = v.dir().join("key.json");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(v.dir()).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700);
        v.save_profile(&serde_json::json!({"name": "Alice"}))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("Alice"));
        assert_eq!(v.profile().unwrap()["name"], "Alice");
        assert_eq!(owners(dir.path())[0].2, "alice");
    }
}
