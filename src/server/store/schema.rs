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

-- `text`: the text that goes with the code (display, CodeableConcept.text), normalised, for
-- `:text`; NULL when there is none.
CREATE TABLE IF NOT EXISTS idx_token (
    pid INTEGER NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL, rid INTEGER NOT NULL,
    text TEXT,
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

-- Numbers and quantities: the range a value covers (a Range's low to high) and its unit; for
-- a UCUM unit, also the range in canonical base units (clo..chi) and its dimension (cunit).
CREATE TABLE IF NOT EXISTS idx_quantity (
    pid INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL, system TEXT NOT NULL,
    code TEXT NOT NULL, rid INTEGER NOT NULL, clo REAL, chi REAL, cunit TEXT,
    PRIMARY KEY (pid, lo, hi, system, code, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_quantity_rid ON idx_quantity (rid, pid);

-- Composites of two parts (an Observation's code with its value): the first a token, the
-- second a token or string (code2, system2) or a range (lo2..hi2) with a quantity's unit.
CREATE TABLE IF NOT EXISTS idx_composite (
    pid INTEGER NOT NULL, code1 TEXT NOT NULL, system1 TEXT NOT NULL, code2 TEXT NOT NULL,
    system2 TEXT NOT NULL, lo2 REAL NOT NULL, hi2 REAL NOT NULL, rid INTEGER NOT NULL,
    clo2 REAL, chi2 REAL, cunit2 TEXT,
    PRIMARY KEY (pid, code1, system1, code2, system2, lo2, hi2, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_composite_rid ON idx_composite (rid, pid);

-- Patient compartments: which resources belong to which patient's chart.
CREATE TABLE IF NOT EXISTS compartment (
    patient_id TEXT NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (patient_id, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS compartment_rid ON compartment (rid);

-- Patients marked restricted (meta.security R or V), kept with the indexes: a search that
-- tests clinical content leaves their compartments out for users without a grant.
CREATE TABLE IF NOT EXISTS restricted_patient (
    patient_id TEXT PRIMARY KEY, rid INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS restricted_patient_rid ON restricted_patient (rid);


-- Sign-in (see src/server/auth): users, their bearer tokens (only a SHA-256 of each is kept), the
-- roles that must use a second factor, and break-the-glass grants.
CREATE TABLE IF NOT EXISTS auth_user (
    username       TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    password       TEXT NOT NULL,      -- Argon2id PHC string
    disabled       INTEGER NOT NULL DEFAULT 0,
    totp_secret    TEXT,               -- sealed (see src/server/auth/sealed.rs); NULL until enrolled
    totp_last_step INTEGER,            -- the last time step accepted (no replay)
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER,            -- epoch ms
    practitioner   TEXT,               -- Practitioner id the user acts as
    created        INTEGER NOT NULL,
    must_change    INTEGER NOT NULL DEFAULT 0  -- a one-time password, to be replaced
);
CREATE TABLE IF NOT EXISTS auth_token (
    hash     TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    issued   INTEGER NOT NULL,
    expires  INTEGER NOT NULL,
    revoked  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS auth_token_user ON auth_token (username);
CREATE TABLE IF NOT EXISTS auth_mfa_role (role TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS auth_btg (
    username   TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    granted    INTEGER NOT NULL,
    expires    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_btg_user ON auth_btg (username, patient_id, expires);

-- HL7 v2 messages received (see src/server/hl7/log.rs): stored, with their dedupe key, before
-- they are acknowledged; what each did and the acknowledgement sent.
CREATE TABLE IF NOT EXISTS hl7_message (
    seq        INTEGER PRIMARY KEY,
    received   INTEGER NOT NULL,      -- epoch ms
    sender     TEXT NOT NULL,         -- MSH-3 and MSH-4
    control_id TEXT NOT NULL,         -- MSH-10 ('' when it could not be read)
    kind       TEXT NOT NULL,         -- MSH-9: ADT^A01
    status     TEXT NOT NULL,         -- received, applied, rejected, error, waiting
    raw        TEXT NOT NULL,
    ack        TEXT,
    error      TEXT,
    resources  TEXT                   -- JSON: the versions it wrote, Type/id/_history/n
);
CREATE UNIQUE INDEX IF NOT EXISTS hl7_message_key ON hl7_message (sender, control_id)
    WHERE control_id != '';
CREATE INDEX IF NOT EXISTS hl7_message_received ON hl7_message (received);

-- Pairs of patient records support staff judged to be two people (see src/server/support):
-- never proposed as duplicates again. `a` sorts before `b`.
CREATE TABLE IF NOT EXISTS dedupe_distinct (
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    username TEXT NOT NULL,
    reason   TEXT NOT NULL,
    recorded INTEGER NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
";

/// The audit tables. They are in the resource database (the records of resource writes, made
/// in the write's own transaction) and in the trail file beside it (every other record,
/// written by the trail's group commit; see `trail.rs`).
pub const AUDIT_SCHEMA: &str = "
-- The audit trail: one FHIR AuditEvent per row, append-only (the triggers refuse any change).
CREATE TABLE IF NOT EXISTS audit (
    seq      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    recorded INTEGER NOT NULL,         -- epoch ms
    username TEXT,
    subtype  TEXT NOT NULL,            -- read, search, create, login, break-glass...
    outcome  TEXT NOT NULL,            -- 0 success, 4 minor failure, 8 serious failure
    json     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_recorded ON audit (recorded);
CREATE INDEX IF NOT EXISTS audit_user ON audit (username, recorded);
-- Which patients each event concerns (a search can return many).
CREATE TABLE IF NOT EXISTS audit_patient (
    patient_id TEXT NOT NULL, recorded INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (patient_id, recorded, seq)
) WITHOUT ROWID;
-- The trail's patient rows as they come, in arrival order: appending touches a page or two
-- per commit, where audit_patient (ordered by patient) would touch one page per patient. They
-- are folded into audit_patient in sorted passes (trail.rs); searches read both. Empty in the
-- resource database.
CREATE TABLE IF NOT EXISTS audit_patient_recent (
    patient_id TEXT NOT NULL, recorded INTEGER NOT NULL, seq INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
CREATE TRIGGER IF NOT EXISTS audit_patient_no_update BEFORE UPDATE ON audit_patient
    BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_patient_no_delete BEFORE DELETE ON audit_patient
    BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
";
