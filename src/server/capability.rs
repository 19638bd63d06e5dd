//! The CapabilityStatement at `/fhir/metadata`, generated from what the server really does:
//! the resource types, interactions and search parameters come from the same tables the
//! store uses.

use serde_json::{Value, json};

use crate::fhir::RESOURCE_TYPES;
use crate::fhir::params::{Kind, params};

/// The statement's resources, the same for every request: built once.
fn resources() -> &'static Vec<Value> {
    static RESOURCES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    RESOURCES.get_or_init(|| RESOURCE_TYPES.iter().map(|t| resource(t)).collect())
}

/// The statement as JSON text, built once per base URL (a few, behind proxies) and then
/// served from memory: it is 700 KB and anyone may ask for it.
pub fn capability_json(base: &str, cors: bool, smart: bool) -> std::sync::Arc<String> {
    type Cache = std::sync::Mutex<Vec<(String, (bool, bool), std::sync::Arc<String>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, json)) = entries
        .iter()
        .find(|(b, c, _)| b == base && *c == (cors, smart))
    {
        return json.clone();
    }
    let mut statement = capability_statement(base, cors);
    if smart {
        statement["rest"][0]["security"]["service"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
            "code": "SMART-on-FHIR"}]}]);
        statement["rest"][0]["security"]["description"] = json!(format!(
            "Sign in with the site's identity provider (SMART App Launch, standalone): its endpoints are at {base}/.well-known/smart-configuration. Its access tokens (JWT, RS256 or ES256) name a bedside account, whose role applies; scopes user/*.rs (read) or user/*.cruds (read and write). Bedside's own sign-in works too. {}",
            statement["rest"][0]["security"]["description"]
                .as_str()
                .unwrap_or_default()
        ));
    }
    let json = std::sync::Arc::new(statement.to_string());
    // A Host header is the client's to choose: keep a few, not one per name sent.
    if entries.len() >= 8 {
        entries.remove(0);
    }
    entries.push((base.to_string(), (cors, smart), json.clone()));
    json
}

pub fn capability_statement(base: &str, cors: bool) -> Value {
    let resources = resources();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-21",
        "publisher": "bedside",
        "kind": "instance",
        "software": { "name": "bedside", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "bedside embedded FHIR R4 server (SQLite)", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": cors,
                "description": "Every request but GET /metadata needs Authorization: Bearer <token> from POST /auth/login ({username, password, totp}). Roles: physician, nurse, support, admin; a refusal is 403 with an OperationOutcome naming the missing permission. Restricted records need POST /auth/break-glass with a reason. Every access is recorded as an AuditEvent (GET /AuditEvent, support and admin only; admin without patients). Accounts created or reset by an administrator get a one-time password, replaced at first sign-in with POST /auth/password. Request bodies: 16 MiB (FHIR), 64 KiB (/auth); headers must arrive within 10 s, bodies within 30 s."
            },
            "documentation": "Every R4 resource type and every search parameter of the \
                specification (generated from its SearchParameter definitions; the two composites \
                of three parts excepted). Search: parameters AND, comma-separated values OR. \
                String search is a case- and accent-insensitive prefix match on each word \
                (modifiers :exact, :contains). Token modifiers: :not, :missing, :text, :in and \
                :not-in (a ValueSet on this server or a required value set of the spec), :above \
                and :below (by a CodeSystem on this server), :of-type on identifiers. Uri: \
                :below, :above. Reference: :[type], :identifier, :missing, chains of up to two links \
                (subject:Patient.name=x) and _has (two links). Dates, numbers and quantities take \
                eq, ne, gt, lt, ge, le, sa, eb, ap; a quantity's unit is matched by its code \
                (value|system|code) and, for a UCUM unit, by any unit of the same dimension \
                (70|http://unitsofmeasure.org|kg finds 70000 g). _include/_revinclude with :iterate (three levels), _summary \
                (true, text, data, count), _elements, _tag, _security, _profile. Unknown \
                parameters are ignored and reported unless Prefer: handling=strict. _count \
                defaults to 20, at most 1000. Bundle.total is exact up to 1000 matches; above \
                that it is given only with _total=accurate or _summary=count. Writes are validated \
                against the R4 definitions (unknown elements refused). Limits (400 too-costly \
                beyond them): 32 search parameters, 100 values in one OR-list, 1024 characters in \
                one value, 4 _sort keys, 8 _include/_revinclude, 5000 Bundle entries, 100 \
                resources per conditional delete, 1000 JSON Patch operations, 1000 codes in a \
                value set or hierarchy, 10 s of running time per search. A role that sees \
                metadata only may not search by clinical content (chains and _has included); \
                searches by content leave out restricted charts without a break-the-glass grant.",
            "resource": resources,
            "interaction": [
                { "code": "transaction" },
                { "code": "batch" },
                { "code": "history-system" }
            ],
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                "documentation": "Bulk Data export (Prefer: respond-async): _type, _since, NDJSON \
                    files of 10,000 resources; one job per user; files kept one hour. Every \
                    resource as the requester may read it."
            }],
            "searchParam": [
                { "name": "_id", "type": "token" },
                { "name": "_lastUpdated", "type": "date" }
            ]
        }]
    })
}

fn resource(rtype: &str) -> Value {
    let ps = params(rtype);
    let mut search_params = vec![
        json!({ "name": "_id", "type": "token", "documentation": "the resource id" }),
        json!({ "name": "_lastUpdated", "type": "date", "documentation": "meta.lastUpdated" }),
    ];
    search_params.extend(ps.iter().map(|p| {
        json!({
            "name": p.name,
            "type": p.kind.as_str(),
            "documentation": p.expression,
        })
    }));
    let reference_params = ps.iter().filter(|p| p.kind == Kind::Reference);
    let includes: Vec<String> = reference_params
        .map(|p| format!("{rtype}:{}", p.name))
        .collect();
    let revincludes: Vec<String> = RESOURCE_TYPES
        .iter()
        .flat_map(|source| {
            params(source)
                .iter()
                .filter(|p| {
                    p.kind == Kind::Reference
                        && (p.targets.is_empty() || p.targets.contains(&rtype))
                })
                .map(move |p| format!("{source}:{}", p.name))
        })
        .collect();
    let mut sorts = vec!["_id".to_string(), "_lastUpdated".to_string()];
    sorts.extend(ps.iter().map(|p| p.name.to_string()));
    let mut out = json!({
        "type": rtype,
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalRead": "full-support",
        "conditionalUpdate": true,
        "conditionalDelete": "multiple",
        "interaction": [
            { "code": "read" }, { "code": "vread" }, { "code": "update" }, { "code": "patch" },
            { "code": "delete" }, { "code": "history-instance" }, { "code": "history-type" },
            { "code": "create" }, { "code": "search-type" }
        ],
        "searchInclude": includes,
        "searchRevInclude": revincludes,
        "searchParam": search_params,
        "extension": [{
            "url": "http://bedside.invalid/fhir/StructureDefinition/sort-parameters",
            "valueString": sorts.join(",")
        }]
    });
    let mut operations = Vec::new();
    match rtype {
        "Patient" => {
            operations.push(json!({
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                "documentation": "Paged (_count default 100, at most 5000); _since and _type \
                    are supported. AuditEvents are included only when _type names them."
            }));
            operations.push(json!({
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                "documentation": "Bulk Data export of every patient's compartment."
            }));
        }
        "Group" => operations.push(json!({
            "name": "export",
            "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
            "documentation": "Bulk Data export of the compartments of the group's patients."
        })),
        "Observation" => operations.push(json!({
            "name": "lastn",
            "definition": "http://hl7.org/fhir/OperationDefinition/Observation-lastn",
            "documentation": "The newest max (1 to 100, default 1) Observations per code of a \
                patient's search (patient is required)."
        })),
        _ => {}
    }
    operations.push(json!({
        "name": "validate",
        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
        "documentation": "POST the resource (or Parameters with a 'resource'): the verdict a \
            create or update would give, as an OperationOutcome; nothing is stored."
    }));
    out["operation"] = Value::Array(operations);
    out
}
