//! Recently opened patients, per server, so search can offer them before any typing. Only
//! resource ids are kept (no names), in a file only the user can read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct RecentStore {
    path: PathBuf,
    server: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RecentFile {
    #[serde(default)]
    servers: BTreeMap<String, Vec<String>>,
}

impl RecentStore {
    pub fn new(path: PathBuf, server: &str) -> RecentStore {
        RecentStore {
            path,
            server: server.to_string(),
        }
    }

    /// The ids for this server, most recent first; a missing or damaged file is an empty list.
    pub fn load(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        match serde_json::from_str::<RecentFile>(&text) {
            Ok(mut f) => f.servers.remove(&self.server).unwrap_or_default(),
            Err(e) => {
                tracing::warn!("ignoring a damaged recent-patients file: {e}");
                Vec::new()
            }
        }
    }

    /// Saves atomically (write, fsync, rename) with mode 0600.
    pub fn save(&self, ids: &[String]) -> std::io::Result<()> {
        let mut file: RecentFile = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        file.servers.insert(self.server.clone(), ids.to_vec());
        let dir = self.path.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&dir)?;
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(serde_json::to_string(&file)?.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_per_server_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recent.json");
        let a = RecentStore::new(path.clone(), "http://a/fhir");
        let b = RecentStore::new(path.clone(), "http://b/fhir");
        a.save(&["1".into(), "2".into()]).unwrap();
        b.save(&["9".into()]).unwrap();
        assert_eq!(a.load(), ["1", "2"]);
        assert_eq!(b.load(), ["9"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "{not json").unwrap();
        assert!(a.load().is_empty());
    }
}
