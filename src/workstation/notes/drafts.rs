//! Drafts on disk: one file per draft in the user's folder, sealed with their data key
//! (`crate::workstation::vault`), written atomically (write a temporary file, fsync, rename, fsync the
//! folder) and readable only by the user (0600). A draft names its server and patient, so it
//! can only ever be filed to that chart.

use std::path::{Path, PathBuf};

use crate::workstation::vault::Vault;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    /// The FHIR base URL the note belongs to.
    pub server: String,
    pub patient_id: String,
    /// `SMITH, John`, for the list of drafts on the next start.
    pub patient_name: String,
    pub mrn: Option<String>,
    pub encounter: Option<String>,
    pub template: String,
    pub title: String,
    pub loinc: String,
    pub loinc_display: String,
    pub text: String,
    /// RFC 3339.
    pub created: String,
    pub saved: String,
    /// The signed note this one appends to (an addendum).
    #[serde(default)]
    pub appends: Option<String>,
    /// Once saved to the server unsigned: its id and version, so signing updates it.
    #[serde(default)]
    pub server_id: Option<String>,
    #[serde(default)]
    pub server_version: Option<String>,
    /// The username of whoever wrote it: the next start (or the next user at a shared
    /// terminal) lists only their own drafts.
    #[serde(default)]
    pub owner: Option<String>,
}

// Note text and whom it is about are patient data: never printed.
impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("id", &self.id)
            .field("template", &self.template)
            .field(
                "text",
                &format_args!("<{} characters>", self.text.chars().count()),
            )
            .field("server_id", &self.server_id)
            .field("saved", &self.saved)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
    vault: Vault,
}

fn aad(id: &str) -> Vec<u8> {
    format!("bedside-draft-v1|{id}").into_bytes()
}

fn safe_id(id: &str) -> String {
    // Ids are generated here (UUIDs); anything else cannot name a file outside the folder.
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

impl DraftStore {
    /// Drafts in `dir`, sealed with `vault`'s key.
    pub fn new(dir: PathBuf, vault: Vault) -> DraftStore {
        DraftStore { dir, vault }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Wipes the key from memory (the lock screen, sign-out).
    pub fn close(&self) {
        self.vault.close();
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.draft", safe_id(id)))
    }

    /// Writes the draft, sealed, so that a crash at any moment leaves the old or the new copy
    /// whole.
    pub fn save(&self, draft: &Draft) -> std::io::Result<()> {
        let mut plain = serde_json::to_vec(draft)?;
        let sealed = self.vault.seal(&aad(&draft.id), &plain);
        zeroize::Zeroize::zeroize(&mut plain);
        let sealed = sealed.map_err(|e| std::io::Error::other(e.to_string()))?;
        crate::files::write_private(&self.path(&draft.id), &sealed)
    }

    pub fn delete(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every readable draft (for `server`, when given), newest first, and how many files
    /// could not be read (damaged, or changed on disk). The store is one user's on one
    /// server already, so the workstation asks for all.
    pub fn load(&self, server: Option<&str>) -> (Vec<Draft>, usize) {
        let mut drafts = Vec::new();
        let mut unreadable = 0;
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "draft") {
                continue;
            }
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let draft = std::fs::read(&path)
                .ok()
                .and_then(|b| self.vault.open_sealed(&aad(&id), &b).ok())
                .and_then(|b| serde_json::from_slice::<Draft>(&b).ok());
            match draft {
                Some(d) if server.is_none_or(|s| d.server == s) => drafts.push(d),
                Some(_) => {}
                None => unreadable += 1,
            }
        }
        drafts.sort_by(|a, b| b.saved.cmp(&a.saved));
        (drafts, unreadable)
    }

    /// Moves drafts written in the clear by an earlier bedside (`legacy`, one JSON file per
    /// draft) into this store, sealed, when they are `owner`'s (or name nobody); the clear
    /// copies are removed. Returns how many moved.
    pub fn adopt_plain(&self, legacy: &Path, owner: Option<&str>) -> usize {
        let mut moved = 0;
        for entry in std::fs::read_dir(legacy).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Some(draft) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Draft>(&b).ok())
            else {
                continue;
            };
            if draft.owner.is_some() && draft.owner.as_deref() != owner {
                continue;
            }
            if self.save(&draft).is_ok() && std::fs::remove_file(&path).is_ok() {
                moved += 1;
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn draft(id: &str) -> Draft {
        Draft {
            id: id.into(),
            server: "http://s/fhir".into(),
            patient_id: "p".into(),
            patient_name: "SMITH, John".into(),
            mrn: Some("0012345".into()),
            encounter: None,
            template: "progress".into(),
            title: "Progress note (SOAP)".into(),
            loinc: "11506-3".into(),
            loinc_display: "Progress note".into(),
            text: "S: well\nÜ ünïcødé".into(),
            created: "2026-11-20T10:00:00Z".into(),
            saved: "2026-11-20T10:01:00Z".into(),
            appends: None,
            server_id: None,
            server_version: None,
            owner: None,
        }
    }

    fn vault(dir: &Path) -> Vault {
        let kdf = crate::workstation::vault::Kdf {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        Vault::open_with(dir, "s", "alice", "pw", kdf).unwrap()
    }

    #[test]
    fn saves_sealed_atomically_privately_and_per_server() {
        let dir = tempfile::tempdir().unwrap();
        let store = DraftStore::new(dir.path().join("drafts"), vault(dir.path()));
        let d = draft("a1");
        store.save(&d).unwrap();
        store.save(&d).unwrap();
        let (loaded, bad) = store.load(Some("http://s/fhir"));
        assert_eq!((loaded, bad), (vec![d.clone()], 0));
        assert!(store.load(Some("http://other/fhir")).0.is_empty());
        let file = store.dir().join("a1.draft");
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"SMITH"), "sealed on disk");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(store.dir().join("junk.draft"), "{").unwrap();
        assert_eq!(store.load(Some("http://s/fhir")).1, 1);
        // A draft copied over another's file does not open as that draft.
        std::fs::write(store.dir().join("b2.draft"), &bytes).unwrap();
        assert_eq!(store.load(Some("http://s/fhir")).1, 2);
        store.delete("a1").unwrap();
        store.delete("a1").unwrap();
        assert_eq!(store.load(Some("http://s/fhir")).0.len(), 0);
        assert_eq!(store.path("../../etc/x"), store.dir().join("etcx.draft"));
    }

    #[test]
    fn plain_drafts_of_an_earlier_version_are_sealed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("old");
        std::fs::create_dir_all(&legacy).unwrap();
        let mine = draft("m1");
        let mut theirs = draft("t1");
        theirs.owner = Some("bob".into());
        std::fs::write(legacy.join("m1.json"), serde_json::to_vec(&mine).unwrap()).unwrap();
        std::fs::write(legacy.join("t1.json"), serde_json::to_vec(&theirs).unwrap()).unwrap();
        let store = DraftStore::new(dir.path().join("drafts"), vault(dir.path()));
        assert_eq!(store.adopt_plain(&legacy, Some("alice")), 1);
        assert!(!legacy.join("m1.json").exists());
        assert!(
            legacy.join("t1.json").exists(),
            "bob's draft is left for bob"
        );
        assert_eq!(store.load(Some("http://s/fhir")).0, vec![mine]);
    }
}
