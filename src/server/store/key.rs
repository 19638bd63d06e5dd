//! Encryption at rest. With a key, the server's database, its audit trail (and their WAL files)
//! and every backup are SQLCipher files: each page is encrypted with AES-256 and carries an
//! HMAC, and nothing of the file, its header included, is readable without the key.
//!
//! A key is 256 random bits, written as 64 hexadecimal digits, given to SQLCipher as a raw key
//! (no passphrase stretching, so opening a connection costs nothing extra). It comes from a
//! file of mode 0600 (`--key-file`, or `BEDSIDE_DB_KEY_FILE`) or from `BEDSIDE_DB_KEY`; make
//! one with `bedside keygen`. `rekey` writes a database under another key (or encrypts a plain
//! one, or decrypts) through `sqlcipher_export`, checks the copy and only then puts it in
//! place.

use std::fmt;
use std::io::Write;
use std::path::Path;

use rusqlite::Connection;
use zeroize::Zeroizing;

/// Environment variable holding a key (64 hexadecimal digits).
pub const KEY_ENV: &str = "BEDSIDE_DB_KEY";
/// Environment variable naming a key file.
pub const KEY_FILE_ENV: &str = "BEDSIDE_DB_KEY_FILE";

/// A database key. Never printed: `Debug` shows only that there is one.
#[derive(Clone)]
pub struct DbKey {
    hex: Zeroizing<String>,
}

impl fmt::Debug for DbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbKey(..)")
    }
}

impl PartialEq for DbKey {
    fn eq(&self, other: &Self) -> bool {
        *self.hex == *other.hex
    }
}

impl DbKey {
    /// A new random key, or why the operating system gave no random bytes.
    pub fn generate() -> Result<DbKey, String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|e| {
            format!("the operating system's random source failed ({e}); no key was made")
        })?;
        let mut hex = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            hex.push_str(&format!("{b:02x}"));
        }
        Ok(DbKey { hex })
    }

    /// A key written as 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<DbKey, String> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(
                "a database key is 64 hexadecimal digits (256 bits); make one with `bedside keygen`"
                    .into(),
            );
        }
        Ok(DbKey {
            hex: Zeroizing::new(text.to_ascii_lowercase()),
        })
    }

    /// Reads a key file. Refused if others than its owner may read it: a key anyone can read
    /// protects nothing.
    pub fn read_file(path: &Path) -> Result<DbKey, String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "the key file {} can be read by others (mode {mode:03o}); make it private with `chmod 600 {}`",
                    path.display(),
                    path.display()
                ));
            }
        }
        if meta.len() > 4096 {
            return Err(format!("{} is not a key file (too large)", path.display()));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?,
        );
        DbKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The key this process was given: `--key-file` if set, else `BEDSIDE_DB_KEY_FILE`, else
    /// `BEDSIDE_DB_KEY`; none if none is set.
    pub fn configured(key_file: Option<&Path>) -> Result<Option<DbKey>, String> {
        let key = DbKey::given(key_file)?;
        if key.is_some() && !cfg!(feature = "encryption") {
            return Err(NO_ENCRYPTION.into());
        }
        Ok(key)
    }

    fn given(key_file: Option<&Path>) -> Result<Option<DbKey>, String> {
        if let Some(path) = key_file {
            return DbKey::read_file(path).map(Some);
        }
        if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
            return DbKey::read_file(Path::new(&path)).map(Some);
        }
        match std::env::var(KEY_ENV) {
            Ok(text) if !text.is_empty() => DbKey::from_hex(&text)
                .map(Some)
                .map_err(|e| format!("{KEY_ENV}: {e}")),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                "{KEY_ENV}: a database key is 64 hexadecimal digits"
            )),
        }
    }

    /// Writes the key to a new file of mode 0600 (refusing to replace one).
    pub fn write_new_file(&self, path: &Path) -> Result<(), String> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "{} already exists; a key file is never replaced",
                    path.display()
                )
            } else {
                format!("cannot create {}: {e}", path.display())
            }
        })?;
        file.write_all(format!("{}\n", &*self.hex).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The key as SQLCipher's raw-key literal, `x'…'`.
    fn literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", &*self.hex))
    }

    /// Unlocks `conn`: the first statement on a connection to an encrypted database. A wrong
    /// key shows only at the first read (SQLITE_NOTADB).
    pub(crate) fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        if !cfg!(feature = "encryption") {
            // Plain SQLite ignores `PRAGMA key`: the data would be written in the clear.
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                Some(NO_ENCRYPTION.into()),
            ));
        }
        codec_defaults(conn)?;
        let sql = Zeroizing::new(format!("PRAGMA key = \"{}\";", &*self.literal()));
        conn.execute_batch(&sql)
    }

    /// Attaches `path` as `alias` under this key (`None`: a plain file).
    pub(crate) fn attach(
        conn: &Connection,
        path: &Path,
        alias: &str,
        key: Option<&DbKey>,
    ) -> rusqlite::Result<()> {
        let literal = key.map(|k| k.literal());
        conn.execute(
            &format!("ATTACH DATABASE ?1 AS {alias} KEY ?2"),
            rusqlite::params![
                path.to_string_lossy(),
                literal.as_ref().map_or("", |l| l.as_str())
            ],
        )?;
        Ok(())
    }
}

/// Whether the file at `path` starts with SQLite's plain header (an encrypted file does not:
/// its first page is encrypted like the rest).
pub fn is_plain_sqlite(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    let n = file.read(&mut head)?;
    Ok(n == 16 && &head == b"SQLite format 3\0")
}

/// Whether the file at `path` looks like an encrypted database: no plain header, and whole
/// pages (a text file, or a truncated one, is not taken for one).
pub fn looks_encrypted(path: &Path) -> bool {
    let whole_pages = std::fs::metadata(path).is_ok_and(|m| m.len() >= 1024 && m.len() % 512 == 0);
    whole_pages && is_plain_sqlite(path).ok() == Some(false)
}

const NO_ENCRYPTION: &str =
    "this build of bedside has no encryption at rest (built without the `encryption` feature)";

/// SQLCipher's settings for every bedside database, before any is opened or attached: 8 KiB
/// pages (as the plain databases have; an encrypted file does not record its page size, so
/// every connection must agree), and no log lines of its own on standard error.
fn codec_defaults(conn: &Connection) -> rusqlite::Result<()> {
    if cfg!(feature = "encryption") {
        conn.execute_batch(
            "PRAGMA cipher_log_level = NONE; PRAGMA cipher_default_page_size = 8192;",
        )?;
    }
    Ok(())
}

/// Unlocks `conn` with `key` if there is one, and checks that it opens the file: the error
/// of a wrong key (or of a missing one) comes here, not at some later read.
pub(crate) fn unlock(conn: &Connection, key: Option<&DbKey>) -> rusqlite::Result<()> {
    match key {
        Some(key) => key.apply(conn)?,
        None => codec_defaults(conn)?,
    }
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
}

/// Whether `key` (or no key) opens the database file at `path`.
fn opens(path: &Path, key: Option<&DbKey>) -> bool {
    Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map(|c| unlock(&c, key).is_ok())
        .unwrap_or(false)
}

/// Rows in every table of `conn`'s main database: what a rewritten copy must hold too.
fn table_counts(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let tables: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tables
        .into_iter()
        .map(|t| {
            let n = conn.query_row(
                &format!(
                    "SELECT count(*) FROM {schema}.\"{}\"",
                    t.replace('"', "\"\"")
                ),
                [],
                |r| r.get(0),
            )?;
            Ok((t, n))
        })
        .collect()
}

/// What `rekey` did.
#[derive(Debug)]
pub struct Rekeyed {
    /// The files rewritten (the database, and its audit trail if it has one).
    pub rewritten: Vec<std::path::PathBuf>,
    /// Files already under the new key (a rekey run again after it was interrupted).
    pub already: Vec<std::path::PathBuf>,
}

/// Rewrites the database at `db` and its audit trail from key `from` to key `to` (`None`:
/// plain): encrypts a plain database in place, changes the key, or decrypts. Each file is
/// exported to a copy beside it, the copy is checked (integrity, the same rows in every
/// table) and only then put in the original's place; nothing plain is left behind when
/// encrypting. Refused while a server holds the database; run again after an interruption, it
/// finishes what was left.
pub fn rekey(db: &Path, from: Option<&DbKey>, to: Option<&DbKey>) -> super::Result<Rekeyed> {
    use super::StoreError;
    if from == to {
        return Err(StoreError::invalid(match to {
            Some(_) => "the new key is the key the database has; nothing to do",
            None => {
                "give the new key (--new-key-file), or --decrypt to write the database in the clear"
            }
        }));
    }
    if !db.exists() {
        return Err(StoreError::invalid(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    if super::lock::ServeLock::held(db) {
        return Err(StoreError::Conflict(format!(
            "a bedside server is running on {}; stop it before changing its key",
            db.display()
        )));
    }
    // Held throughout: no server starts on the files meanwhile.
    let _lock = super::lock::ServeLock::acquire(db)?;
    let mut done = Rekeyed {
        rewritten: Vec::new(),
        already: Vec::new(),
    };
    for file in [db.to_path_buf(), super::trail_path(db)] {
        if !file.exists() {
            continue;
        }
        if !opens(&file, from) && opens(&file, to) {
            done.already.push(file);
            continue;
        }
        rewrite(&file, from, to)?;
        done.rewritten.push(file);
    }
    Ok(done)
}

fn rewrite(file: &Path, from: Option<&DbKey>, to: Option<&DbKey>) -> super::Result<()> {
    use super::StoreError;
    let source = Connection::open(file)?;
    source.busy_timeout(std::time::Duration::from_secs(5))?;
    unlock(&source, from).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::invalid(match from {
            Some(_) => format!("the current key does not open {}", file.display()),
            None => format!(
                "{} is encrypted: give its current key (--key-file, {KEY_FILE_ENV} or {KEY_ENV})",
                file.display()
            ),
        }),
        _ => e.into(),
    })?;
    // Hold the file alone from here until the copy is in its place: a program writing to it
    // meanwhile (an import) would write to the file being replaced.
    source.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    source
        .execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) => StoreError::Conflict(format!(
                "{} is in use by another program (an import?); run again when it has finished",
                file.display()
            )),
            _ => e.into(),
        })?;
    let _: (i64, i64, i64) = source.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    let before = table_counts(&source, "main")?;
    let mut partial = file.as_os_str().to_owned();
    partial.push(".rekeying");
    let partial = std::path::PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    crate::files::private_file(&partial)
        .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", partial.display())))?;
    let copied = (|| -> super::Result<()> {
        DbKey::attach(&source, &partial, "rekeyed", to)?;
        if to.is_none() {
            source.pragma_update(Some("rekeyed"), "page_size", 8192)?;
        }
        source.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))?;
        let after = table_counts(&source, "rekeyed")?;
        source.execute_batch("DETACH DATABASE rekeyed")?;
        if after != before {
            return Err(StoreError::invalid(format!(
                "the rewritten copy of {} does not hold the same rows; nothing was changed",
                file.display()
            )));
        }
        let copy = Connection::open(&partial)?;
        unlock(&copy, to)?;
        copy.pragma_update(None, "journal_mode", "WAL")?;
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::invalid(format!(
                "the rewritten copy of {} failed the integrity check; nothing was changed",
                file.display()
            )));
        }
        drop(copy);
        super::lock::sync_file(&partial)
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, file)
        .map_err(|e| StoreError::invalid(format!("cannot replace {}: {e}", file.display())))?;
    super::lock::sync_parent(file);
    // The old file's connection goes last; its write-ahead log was emptied above and is of
    // the old file, so it must not be applied to the new one.
    drop(source);
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        if side.exists()
            && (suffix == "-shm" || std::fs::metadata(&side).is_ok_and(|m| m.len() == 0))
        {
            let _ = std::fs::remove_file(&side);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits_and_never_printed() {
        let key = DbKey::generate().unwrap();
        assert_eq!(key.hex.len(), 64);
        assert_ne!(key, DbKey::generate().unwrap());
        assert_eq!(format!("{key:?}"), "DbKey(..)");
        assert!(DbKey::from_hex("correct horse battery staple").is_err());
        assert!(DbKey::from_hex(&"g".repeat(64)).is_err());
        assert_eq!(
            DbKey::from_hex(&format!(" {}\n", "AB".repeat(32))).unwrap(),
            DbKey::from_hex(&"ab".repeat(32)).unwrap()
        );
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");
        let key = DbKey::generate().unwrap();
        key.write_new_file(&path).unwrap();
        assert_eq!(DbKey::read_file(&path).unwrap(), key);
        assert!(
            key.write_new_file(&path)
                .unwrap_err()
                .contains("never replaced")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = DbKey::read_file(&path).unwrap_err();
            assert!(err.contains("chmod 600"), "{err}");
        }
    }
}
