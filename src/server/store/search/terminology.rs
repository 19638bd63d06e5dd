//! The token modifiers that need a terminology: `:in` and `:not-in` (a value set's codes) and
//! `:above` and `:below` (a code system's hierarchy), answered from the ValueSet and CodeSystem
//! resources on this server (and the spec's required value sets), as a list of codes.

use serde_json::Value;

use super::*;
use crate::fhir::terminology::{Definitions, Direction, Member, TermError, expand, subsumed};

/// Looks canonical resources up by `url` in the store a search runs on.
pub(crate) struct Stored<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) pids: &'a ParamIds,
}

impl Stored<'_> {
    fn canonical(&self, rtype: &str, url: &str) -> Option<Value> {
        let param = find(rtype, "url")?;
        let sql = format!(
            "SELECT v.json FROM idx_token t JOIN resource r ON r.rid = t.rid
             JOIN version v ON v.rid = r.rid AND v.version = r.version
             WHERE {} AND t.code = ?1 AND r.type = ?2 AND r.deleted = 0
             ORDER BY r.updated DESC LIMIT 1",
            self.pids.of(param).test("t.pid")
        );
        let json: String = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row((url, rtype), |r| r.get(0)))
            .ok()?;
        serde_json::from_str(&json).ok()
    }
}

impl Definitions for Stored<'_> {
    fn value_set(&self, url: &str) -> Option<Value> {
        self.canonical("ValueSet", url)
    }
    fn code_system(&self, url: &str) -> Option<Value> {
        self.canonical("CodeSystem", url)
    }
}

fn term_error(name: &str, e: TermError) -> StoreError {
    match e {
        TermError::Invalid(why) => StoreError::invalid(format!("{name}: {why}")),
        TermError::TooMany(why) => too_costly(format!("{name}: {why}")),
    }
}

/// The condition over `code`/`system` columns for a terminology modifier of one value:
/// `:in`/`:not-in` take a value set's URL, `:above`/`:below` a `system|code`.
pub(super) fn terminology_condition(
    name: &str,
    modifier: &str,
    value: &str,
    defs: &dyn Definitions,
    args: &mut Vec<Sql>,
) -> Result<String> {
    let members = match modifier {
        "in" | "not-in" => expand(value, defs).map_err(|e| term_error(name, e))?,
        _ => {
            let Some((system, code)) = value
                .split_once('|')
                .filter(|(s, c)| !s.is_empty() && !c.is_empty())
            else {
                return Err(StoreError::invalid(format!(
                    "{name}:{modifier} needs a system and a code, as system|code"
                )));
            };
            let direction = if modifier == "below" {
                Direction::Below
            } else {
                Direction::Above
            };
            subsumed(system, code, direction, defs)
                .map_err(|e| term_error(name, e))?
                .into_iter()
                .map(|code| Member::Code {
                    system: system.to_string(),
                    code,
                })
                .collect()
        }
    };
    if members.is_empty() {
        return Ok("0".to_string());
    }
    // Codes grouped by system: `(system = ? AND code IN (...))`.
    let mut ors = Vec::new();
    let mut at = 0;
    while at < members.len() {
        match &members[at] {
            Member::System(system) => {
                ors.push("system = ?".to_string());
                args.push(Sql::Text(system.clone()));
                at += 1;
            }
            Member::Code { system, .. } => {
                let codes: Vec<&str> = members[at..]
                    .iter()
                    .map_while(|m| match m {
                        Member::Code { system: s, code } if s == system => Some(code.as_str()),
                        _ => None,
                    })
                    .collect();
                at += codes.len();
                ors.push(format!(
                    "(system = ? AND code IN ({}))",
                    vec!["?"; codes.len()].join(",")
                ));
                args.push(Sql::Text(system.clone()));
                args.extend(codes.into_iter().map(|c| Sql::Text(c.to_string())));
            }
        }
    }
    Ok(format!("({})", ors.join(" OR ")))
}
