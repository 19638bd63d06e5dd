//! Drafts on disk: one JSON file per draft in the data directory, written atomically (write a
//! temporary file, fsync, rename, fsync the folder) and readable only by the user (0600).
//! A draft names its server and patient, so it can only ever be filed to that chart.
//! (Encryption at rest arrives with the cache issue.)

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
}

impl DraftStore {
    pub fn new(dir: PathBuf) -> DraftStore {
        DraftStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        // Ids are generated here (UUIDs); anything else cannot name a file outside the folder.
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// Writes the draft so that a crash at any moment leaves the old or the new copy whole.
    pub fn save(&self, draft: &Draft) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = self.path(&draft.id);
        let tmp = path.with_extension("json.tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(&serde_json::to_vec(draft)?)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    pub fn delete(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every readable draft for `server`, newest first, and how many files could not be read.
    pub fn load(&self, server: &str) -> (Vec<Draft>, usize) {
        let mut drafts = Vec::new();
        let mut unreadable = 0;
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Draft>(&b).ok())
            {
                Some(d) if d.server == server => drafts.push(d),
                Some(_) => {}
                None => unreadable += 1,
            }
        }
        drafts.sort_by(|a, b| b.saved.cmp(&a.saved));
        (drafts, unreadable)
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

    #[test]
    fn saves_atomically_privately_and_per_server() {
        let dir = tempfile::tempdir().unwrap();
        let store = DraftStore::new(dir.path().join("drafts"));
        let d = draft("a1");
        store.save(&d).unwrap();
        store.save(&d).unwrap();
        let (loaded, bad) = store.load("http://s/fhir");
        assert_eq!((loaded, bad), (vec![d.clone()], 0));
        assert!(store.load("http://other/fhir").0.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.dir().join("a1.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(store.dir().join("junk.json"), "{").unwrap();
        assert_eq!(store.load("http://s/fhir").1, 1);
        store.delete("a1").unwrap();
        store.delete("a1").unwrap();
        assert!(store.load("http://s/fhir").0.is_empty());
        assert_eq!(store.path("../../etc/x"), store.dir().join("etcx.json"));
    }
}
