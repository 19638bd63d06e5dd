//! The audit trail: one FHIR AuditEvent per access, shaped after the IHE Basic Audit Log
//! Patterns (read, query, create, update, delete; sign-in; emergency access). Rows are
//! append-only: triggers in the schema refuse any update or delete, and the API has no way to
//! write them.

use rusqlite::{OptionalExtension, params_from_iter};
use serde_json::Value;

use shape::Coding;

mod shape;
mod stored;

pub use stored::render;

use crate::server::store::{AuditRow, Result, Store, Tx};

/// What happened, as stored and searched (`subtype`).
/// Stored by its code (`break-glass`...), which is the variant's name in kebab case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subtype {
    Read,
    Vread,
    Search,
    History,
    Create,
    Update,
    /// An update by JSON Patch.
    Patch,
    Delete,
    Operation,
    Transaction,
    Login,
    Logout,
    BreakGlass,
    UserAdmin,
    /// A request refused before it reached the server's data: no token, or one not valid.
    AuthFailure,
    /// A patient's restriction label added, changed or removed.
    SecurityLabel,
    /// A user changed their password (a one-time password replaced at first sign-in).
    PasswordChange,
    /// An electronic signature checked (a note or an order basket), or a signature PIN set.
    Signature,
    /// A backup of the whole database written (by `bedside backup` or on the server's
    /// schedule).
    Backup,
    /// The database restored from a backup.
    Restore,
    /// The database encrypted, given a new key, or decrypted (`bedside rekey`).
    Rekey,
    /// A bulk export (`$export`) finished: what it wrote, for whom.
    Export,
}

impl Subtype {
    pub fn code(self) -> &'static str {
        match self {
            Subtype::Read => "read",
            Subtype::Vread => "vread",
            Subtype::Search => "search",
            Subtype::History => "history",
            Subtype::Create => "create",
            Subtype::Update => "update",
            Subtype::Patch => "patch",
            Subtype::Delete => "delete",
            Subtype::Operation => "operation",
            Subtype::Transaction => "transaction",
            Subtype::Login => "login",
            Subtype::Logout => "logout",
            Subtype::BreakGlass => "break-glass",
            Subtype::UserAdmin => "user-admin",
            Subtype::AuthFailure => "auth-failure",
            Subtype::SecurityLabel => "security-label",
            Subtype::PasswordChange => "password-change",
            Subtype::Signature => "signature",
            Subtype::Backup => "backup",
            Subtype::Restore => "restore",
            Subtype::Rekey => "rekey",
            Subtype::Export => "export",
        }
    }

    /// The DICOM/FHIR action: C, R, U, D or E (execute: queries, sign-in, operations).
    fn action(self) -> &'static str {
        match self {
            Subtype::Read | Subtype::Vread | Subtype::History => "R",
            Subtype::Create => "C",
            Subtype::Update | Subtype::Patch | Subtype::SecurityLabel | Subtype::PasswordChange => {
                "U"
            }
            Subtype::Delete => "D",
            _ => "E",
        }
    }

    /// `type` and `subtype` codings.
    /// The event's type and subtype codings.
    fn codings(self) -> (Coding, Coding) {
        const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
        const REST: &str = "http://hl7.org/fhir/restful-interaction";
        const OURS: &str = "urn:bedside:audit";
        let rest_type = Coding::shown(
            "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "rest",
            "RESTful Operation",
        );
        let rest = |code| Coding::new(REST, code);
        let dcm = |code, display| Coding::shown(DCM, code, display);
        let authentication = dcm("110114", "User Authentication");
        let alert = dcm("110113", "Security Alert");
        match self {
            Subtype::Read => (rest_type, rest("read")),
            Subtype::Vread => (rest_type, rest("vread")),
            Subtype::Search => (rest_type, rest("search-type")),
            Subtype::History => (rest_type, rest("history-instance")),
            Subtype::Create => (rest_type, rest("create")),
            Subtype::Update => (rest_type, rest("update")),
            Subtype::Patch => (rest_type, rest("patch")),
            Subtype::Delete => (rest_type, rest("delete")),
            Subtype::Operation => (rest_type, rest("operation")),
            Subtype::Transaction => (rest_type, rest("transaction")),
            Subtype::Login => (authentication, dcm("110122", "Login")),
            Subtype::Logout => (authentication, dcm("110123", "Logout")),
            Subtype::BreakGlass => (
                alert,
                Coding::shown(OURS, "break-glass", "Emergency access (break-the-glass)"),
            ),
            Subtype::UserAdmin => (
                dcm("110136", "Security Roles Changed"),
                Coding::shown(OURS, "user-admin", "User management"),
            ),
            Subtype::AuthFailure => (
                authentication,
                Coding::shown(OURS, "auth-failure", "Request without a valid sign-in"),
            ),
            Subtype::SecurityLabel => (
                alert,
                Coding::shown(OURS, "security-label", "Restriction label changed"),
            ),
            Subtype::PasswordChange => (
                authentication,
                Coding::shown(OURS, "password-change", "Password changed"),
            ),
            Subtype::Signature => (
                authentication,
                Coding::shown(OURS, "signature", "Electronic signature"),
            ),
            Subtype::Backup => (
                dcm("110106", "Export"),
                Coding::shown(OURS, "backup", "Database backup"),
            ),
            Subtype::Restore => (
                dcm("110107", "Import"),
                Coding::shown(OURS, "restore", "Database restored from a backup"),
            ),
            Subtype::Rekey => (
                alert,
                Coding::shown(OURS, "rekey", "Database encryption key changed"),
            ),
            Subtype::Export => (dcm("110106", "Export"), rest("operation")),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Agent {
    /// The username typed or signed in with (also for failed sign-ins).
    pub username: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// `Practitioner/ID` when the user is one.
    pub reference: Option<String>,
}

/// One audited event.
#[derive(Clone, Debug)]
pub struct Event {
    pub subtype: Subtype,
    /// True when it succeeded.
    pub success: bool,
    /// Why it failed (or what happened), in words; never resource content.
    pub description: Option<String>,
    pub agent: Agent,
    /// The client's network address.
    pub address: Option<String>,
    /// The patients whose data was read or written.
    pub patients: Vec<String>,
    /// Other resources concerned (`Type/id`).
    pub resources: Vec<String>,
    /// A search's query string.
    pub query: Option<String>,
    /// Set for emergency access: the reason given.
    pub emergency_reason: Option<String>,
    /// The reason given for a change (a correction of a patient's details).
    pub reason: Option<String>,
    /// HTTP status answered, if any.
    pub status: Option<u16>,
}

impl Event {
    pub fn new(subtype: Subtype, agent: Agent) -> Event {
        Event {
            subtype,
            success: true,
            description: None,
            agent,
            address: None,
            patients: Vec::new(),
            resources: Vec::new(),
            query: None,
            emergency_reason: None,
            reason: None,
            status: None,
        }
    }

    /// The AuditEvent resource for this event.
    pub fn resource(&self, id: &str, recorded_ms: i64) -> Value {
        serde_json::to_value(self.shape(id, recorded_ms)).unwrap_or(Value::Null)
    }

    /// The AuditEvent resource for this event as JSON text: what the trail stores. Written
    /// from borrowed parts without building a `Value` tree first, since every request makes
    /// one (a search's names each of its patients).
    pub fn json(&self, id: &str, recorded_ms: i64) -> String {
        // Serializing plain structs of strings to a String cannot fail.
        serde_json::to_string(&self.shape(id, recorded_ms)).unwrap_or_default()
    }

    fn shape<'a>(&'a self, id: &'a str, recorded_ms: i64) -> shape::AuditEvent<'a> {
        use shape::*;
        let (kind, sub) = self.subtype.codings();
        let recorded = chrono::DateTime::from_timestamp_millis(recorded_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let who = Who {
            reference: self.agent.reference.as_deref(),
            display: self
                .agent
                .name
                .as_deref()
                .or(self.agent.username.as_deref()),
        };
        let agent = AgentShape {
            kind: CodeableConcept {
                coding: [Coding::shown(
                    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "IRCP",
                    "information recipient",
                )],
                text: None,
            },
            requestor: true,
            alt_id: self.agent.username.as_deref(),
            who: (who.reference.is_some() || who.display.is_some()).then_some(who),
            role: self.agent.role.as_deref().map(|role| {
                [CodeableConcept {
                    coding: [BorrowedCoding {
                        system: "urn:bedside:role",
                        code: role,
                    }],
                    text: None,
                }]
            }),
            network: self
                .address
                .as_deref()
                .map(|address| Network { address, kind: "2" }),
        };
        const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
        const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
        let mut entity = Vec::with_capacity(
            self.patients.len() + self.resources.len() + usize::from(self.query.is_some()),
        );
        for patient in &self.patients {
            entity.push(Entity {
                what: Some(Reference::Patient(patient)),
                kind: Coding::shown(ENTITY_TYPE, "1", "Person"),
                role: Coding::shown(OBJECT_ROLE, "1", "Patient"),
                query: None,
                description: None,
            });
        }
        for resource in &self.resources {
            entity.push(Entity {
                what: Some(Reference::Plain(resource)),
                kind: Coding::shown(ENTITY_TYPE, "2", "System Object"),
                role: Coding::shown(OBJECT_ROLE, "4", "Domain Resource"),
                query: None,
                description: None,
            });
        }
        if let Some(query) = &self.query {
            use base64::Engine;
            entity.push(Entity {
                what: None,
                kind: Coding::shown(ENTITY_TYPE, "2", "System Object"),
                role: Coding::shown(OBJECT_ROLE, "24", "Query"),
                query: Some(base64::engine::general_purpose::STANDARD.encode(query)),
                description: Some(query),
            });
        }
        let mut description = self.description.clone().unwrap_or_default();
        if let Some(status) = self.status {
            if !description.is_empty() {
                description.push_str("; ");
            }
            description.push_str(&format!("HTTP {status}"));
        }
        AuditEvent {
            resource_type: "AuditEvent",
            id,
            kind,
            subtype: [sub],
            action: self.subtype.action(),
            recorded,
            outcome: if self.success { "0" } else { "4" },
            agent: [agent],
            source: Source {
                observer: Display { display: "bedside" },
                kind: [Coding::shown(
                    "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "4",
                    "Application Server",
                )],
            },
            outcome_desc: (!description.is_empty()).then_some(description),
            purpose_of_event: {
                let purposes: Vec<_> = [
                    (&self.emergency_reason, "BTG", "break the glass"),
                    (&self.reason, "PATADMIN", "patient administration"),
                ]
                .into_iter()
                .filter_map(|(text, code, display)| {
                    Some(CodeableConcept {
                        coding: [Coding::shown(
                            "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                            code,
                            display,
                        )],
                        text: Some(text.as_deref()?),
                    })
                })
                .collect();
                (!purposes.is_empty()).then_some(purposes)
            },
            entity,
        }
    }
}

/// The stored form of `events`, each with a new id, recorded now.
pub fn rows(events: &[Event]) -> Vec<AuditRow> {
    let now = super::auth::now_ms();
    events
        .iter()
        .map(|event| {
            // Time-ordered (UUIDv7): each new record's id sorts after the last, so the id
            // index grows at its end instead of dirtying a random page per record.
            let id = uuid::Uuid::now_v7().to_string();
            let json = stored::compact(event);
            let mut patients = event.patients.clone();
            patients.sort();
            patients.dedup();
            AuditRow {
                id,
                recorded: now,
                username: event.agent.username.clone(),
                subtype: event.subtype.code(),
                outcome: if event.success { "0" } else { "4" },
                json,
                patients,
            }
        })
        .collect()
}

/// Appends `events` to the trail (all of them or none), returning once they are durable.
/// Used for every request that writes no resource; the many requests waiting at one moment
/// share one commit.
pub async fn record(store: &Store, events: &[Event]) -> std::result::Result<(), String> {
    match store.record_audit(rows(events)).await {
        Ok(result) => result,
        Err(_) => Err("the audit writer has stopped".to_string()),
    }
}

/// Appends `events` to the trail of the database at `db` from outside a server (a command
/// such as `bedside backup`), waiting for a running server's trail writer if need be.
/// `key` is the database's, if it is encrypted.
pub fn record_beside(
    db: &std::path::Path,
    key: Option<&crate::server::store::DbKey>,
    events: &[Event],
) -> Result<()> {
    crate::server::store::append_to_trail(db, key, &rows(events))
}

/// The agent of a command run on the server's machine: the operating-system user.
pub fn system_agent() -> Agent {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Agent {
        username: Some(format!("os:{user}")),
        name: Some(format!("{user} (operating-system user, on the server)")),
        role: None,
        reference: None,
    }
}

/// Stores `events` inside the write transaction `tx`: the records of a resource write commit
/// with it, so a write is never stored unaudited nor audited unstored.
pub fn record_in(tx: &mut Tx, events: &[Event]) -> Result<()> {
    tx.record_audit(&rows(events))
}

/// Which audit events to list; all conditions must hold. Newest first.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub patient: Option<String>,
    pub username: Option<String>,
    pub subtype: Option<String>,
    pub outcome: Option<String>,
    /// The agent's role (physician, nurse, support, ...).
    pub role: Option<String>,
    /// Only emergency (break-the-glass) access.
    pub emergency: bool,
    /// Only the writes of this record (`Type/id`): who made each version.
    pub resource: Option<String>,
    /// Epoch ms bounds, inclusive.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub offset: i64,
    pub count: i64,
}

/// One stored event: its id, when (epoch ms) and its FHIR AuditEvent JSON.
pub type Stored = (String, i64, String);

/// The matching events and how many match in all.
pub fn search(store: &Store, filter: &Filter) -> Result<(Vec<Stored>, i64)> {
    let mut conds = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    // {db} is `main` (the records of resource writes) or `trail` (all others).
    let mut from = "{db}.audit a".to_string();
    if let Some(patient) = &filter.patient {
        // The trail's newest patient rows wait in `audit_patient_recent` until they are
        // folded in (a row being folded is in both for a moment: UNION shows it once).
        from = "(SELECT patient_id, recorded, seq FROM {db}.audit_patient
                 UNION SELECT patient_id, recorded, seq FROM {db}.audit_patient_recent) p
                 JOIN {db}.audit a ON a.seq = p.seq"
            .into();
        args.push(patient.clone().into());
        conds.push(format!("p.patient_id = ?{}", args.len()));
    }
    let time = if filter.patient.is_some() {
        "p.recorded"
    } else {
        "a.recorded"
    };
    for (column, value) in [
        ("a.username", &filter.username),
        ("a.subtype", &filter.subtype),
        ("a.outcome", &filter.outcome),
    ] {
        if let Some(value) = value {
            args.push(value.clone().into());
            conds.push(format!("{column} = ?{}", args.len()));
        }
    }
    if let Some(role) = &filter.role {
        args.push(role.clone().into());
        conds.push(format!("json_extract(a.json, '$.r') = ?{}", args.len()));
    }
    if let Some(resource) = &filter.resource {
        // Writes are recorded in the resource database with the version they made.
        args.push(format!("\"{resource}/_history/").into());
        conds.push(format!(
            "'{{db}}' = 'main' AND instr(a.json, ?{}) > 0",
            args.len()
        ));
    }
    if filter.emergency {
        conds.push("json_extract(a.json, '$.btg') IS NOT NULL".to_string());
    }
    if let Some(lo) = filter.from_ms {
        args.push(lo.into());
        conds.push(format!("{time} >= ?{}", args.len()));
    }
    if let Some(hi) = filter.to_ms {
        args.push(hi.into());
        conds.push(format!("{time} <= ?{}", args.len()));
    }
    let filter_sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let in_db = |db: &str, select: &str| {
        format!("SELECT {select} FROM {from} {filter_sql}").replace("{db}", db)
    };
    store.read_side(|c| {
        let count = "COUNT(*)";
        let total: i64 = c.query_row(
            &format!(
                "SELECT ({}) + ({})",
                in_db("main", count),
                in_db("trail", count)
            ),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let columns = |source: u8| format!("a.id, {time} AS t, {source} AS source, a.seq, a.json");
        let mut stmt = c.prepare(&format!(
            "SELECT id, t, json FROM ({} UNION ALL {})
             ORDER BY t DESC, source DESC, seq DESC LIMIT {} OFFSET {}",
            in_db("main", &columns(0)),
            in_db("trail", &columns(1)),
            filter.count.max(0),
            filter.offset.max(0)
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            let (id, recorded): (String, i64) = (r.get(0)?, r.get(1)?);
            let json = render(&id, recorded, &r.get::<_, String>(2)?);
            Ok((id, recorded, json))
        })?;
        Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
    })
}

pub fn read(store: &Store, id: &str) -> Result<Option<String>> {
    store.read_side(|c| {
        Ok(c.query_row(
            "SELECT recorded, json FROM main.audit WHERE id = ?1
                 UNION ALL SELECT recorded, json FROM trail.audit WHERE id = ?1",
            [id],
            |r| Ok(render(id, r.get(0)?, &r.get::<_, String>(1)?)),
        )
        .optional()?)
    })
}

#[cfg(test)]
pub(crate) mod tests;
