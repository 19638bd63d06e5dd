//! The SQLite schema: current resources, every version's JSON, and the search indexes.

/// Bumped when the tables change shape; an older database is refused with a clear message.
pub const SCHEMA_VERSION: i64 = 1;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- One row per logical resource: where its current version is.
CREATE TABLE IF NOT EXISTS resource (
    rid     INTEGER PRIMARY KEY,
    type    TEXT NOT NULL,
    id      TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated INTEGER NOT NULL,          -- epoch ms of the current version
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);

-- Every version, current included, as the exact JSON served (NULL for a delete).
CREATE TABLE IF NOT EXISTS version (
    vid     INTEGER PRIMARY KEY,
    rid     INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    method  TEXT NOT NULL,
    json    TEXT,
    UNIQUE (rid, version)
);
CREATE INDEX IF NOT EXISTS version_updated ON version (updated);

CREATE TABLE IF NOT EXISTS search_param (
    pid  INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (type, name)
);

-- Each index table has an index by rid: searches test a candidate's other conditions with
-- it (EXISTS ... WHERE rid = r.rid), and updates delete the old version's rows with it.
CREATE TABLE IF NOT EXISTS idx_string (
    pid INTEGER NOT NULL, value TEXT NOT NULL, rid INTEGER NOT NULL, raw TEXT NOT NULL,
    PRIMARY KEY (pid, value, rid, raw)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_string_rid ON idx_string (rid, pid);

CREATE TABLE IF NOT EXISTS idx_token (
    pid INTEGER NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (pid, code, system, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_token_rid ON idx_token (rid, pid);

CREATE TABLE IF NOT EXISTS idx_date (
    pid INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (pid, lo, hi, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_date_rid ON idx_date (rid, pid, lo, hi);

CREATE TABLE IF NOT EXISTS idx_ref (
    pid INTEGER NOT NULL, target_id TEXT NOT NULL, target_type TEXT NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (pid, target_id, target_type, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_ref_rid ON idx_ref (rid, pid);

-- Patient compartments: which resources belong to which patient's chart.
CREATE TABLE IF NOT EXISTS compartment (
    patient_id TEXT NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (patient_id, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS compartment_rid ON compartment (rid);
";
