//! Patient lists, with no UI code: the lists a user can open (my patients, my teams', my own
//! lists, the site's wards), and one row per patient on a list built from the server's answers (the stays with their patients, beds and clinicians;
//! the patients' allergies, NEWS2 scores, results waiting for review, unsigned notes and
//! orders waiting for a co-signature). A part the server did not answer in full is unknown
//! on every row, never "none".

use chrono::NaiveDate;
use serde_json::Value;

use crate::workstation::chart::read_patient;

pub mod adt;
use crate::workstation::record::vitals::NEWS2_CODE;

/// The review Tasks the server makes for new results (`server/inbox.rs`).
pub const TASK_SYSTEM: &str = "urn:bedside:task";
pub const REVIEW: &str = "review-result";

/// A ward: a Location that is one (physical type `wa`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ward {
    pub id: String,
    pub name: String,
}

fn physical_type(l: &Value) -> Option<&str> {
    l["physicalType"]["coding"]
        .as_array()?
        .iter()
        .find_map(|c| c["code"].as_str())
}

/// The wards among `locations`, by name.
pub fn wards(locations: &[Value]) -> Vec<Ward> {
    let mut out: Vec<Ward> = locations
        .iter()
        .filter(|l| l["resourceType"] == "Location" && physical_type(l) == Some("wa"))
        .filter(|l| l["status"] != "inactive")
        .filter_map(|l| {
            Some(Ward {
                id: l["id"].as_str()?.to_string(),
                name: l["name"].as_str().unwrap_or("(unnamed ward)").to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A list of patients the user can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// My patients: where I am on the care team or a participant of a stay under way.
    Mine,
    /// A team's patients: those whose CareTeam names the team (a CareTeam with no patient).
    Team { id: String, name: String },
    /// One of my own lists (a FHIR `List` on the server, coded personal, its source me).
    Personal { id: String, name: String },
    /// A ward's census: the stays under way at the Location.
    Ward(Ward),
}

impl Source {
    /// What the picker and the title say.
    pub fn title(&self) -> String {
        match self {
            Source::Mine => "My patients".into(),
            Source::Team { name, .. } => format!("Team {name}"),
            Source::Personal { name, .. } => format!("My list: {name}"),
            Source::Ward(w) => w.name.clone(),
        }
    }

    /// The same list, whatever its name became (answers are matched by it).
    pub fn key(&self) -> String {
        match self {
            Source::Mine => "mine".into(),
            Source::Team { id, .. } => format!("team/{id}"),
            Source::Personal { id, .. } => format!("list/{id}"),
            Source::Ward(w) => format!("ward/{}", w.id),
        }
    }

    pub fn is_personal(&self) -> bool {
        matches!(self, Source::Personal { .. })
    }
}

/// The lists a user can open: my patients (with a practitioner to be), my teams (CareTeams
/// with no patient), my own lists by name, then the wards.
pub fn sources(me: bool, locations: &[Value], teams: &[Value], lists: &[Value]) -> Vec<Source> {
    let mut out = Vec::new();
    if me {
        out.push(Source::Mine);
    }
    let mut t: Vec<Source> = teams
        .iter()
        .filter(|c| c["resourceType"] == "CareTeam" && c["subject"].is_null())
        .filter(|c| c["status"].is_null() || c["status"] == "active")
        .filter_map(|c| {
            Some(Source::Team {
                id: c["id"].as_str()?.to_string(),
                name: c["name"].as_str().unwrap_or("(unnamed team)").to_string(),
            })
        })
        .collect();
    t.sort_by_key(Source::title);
    out.extend(t);
    let mut l: Vec<Source> = lists
        .iter()
        .filter(|l| crate::fhir::personal_list_owner("List", l).is_some())
        .filter(|l| l["status"] == "current")
        .filter_map(|l| {
            Some(Source::Personal {
                id: l["id"].as_str()?.to_string(),
                name: l["title"].as_str().unwrap_or("(untitled)").to_string(),
            })
        })
        .collect();
    l.sort_by_key(Source::title);
    out.extend(l);
    out.extend(wards(locations).into_iter().map(Source::Ward));
    out
}

/// At most this many patients on a list that is not a ward (each is asked for by id).
pub const MAX_MEMBERS: usize = 200;

/// The patients on a personal list, in its order (deleted entries left out).
pub fn list_members(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in list["entry"].as_array().into_iter().flatten() {
        if e["deleted"] == true {
            continue;
        }
        if let Some(id) = reference_id(&e["item"], "Patient")
            && !out.iter().any(|x| x == id)
        {
            out.push(id.to_string());
        }
    }
    out
}

/// The patients of the CareTeams (and stays) returned: their subjects, active ones only.
pub fn subjects(resources: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = resources
        .iter()
        .filter(|r| matches!(r["resourceType"].as_str(), Some("CareTeam" | "Encounter")))
        .filter(|r| {
            !matches!(
                r["status"].as_str(),
                Some("inactive" | "entered-in-error" | "finished" | "cancelled")
            )
        })
        .filter_map(|r| reference_id(&r["subject"], "Patient"))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A change to one of my own lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListChange {
    /// A new list, with a first patient when one is given.
    Create {
        title: String,
        owner: String,
        patient: Option<(String, String)>,
    },
    /// Add a patient (id, name for the entry) to the list.
    Add {
        list_id: String,
        patient: (String, String),
    },
    /// Take a patient off the list.
    Remove { list_id: String, patient_id: String },
}

impl ListChange {
    /// What the status line says when it is done.
    pub fn words(&self, list: &str) -> String {
        match self {
            ListChange::Create { title, patient, .. } => match patient {
                Some((_, name)) => format!("New list {title:?} with {name}"),
                None => format!("New list {title:?}"),
            },
            ListChange::Add { patient, .. } => format!("{} added to {list}", patient.1),
            ListChange::Remove { .. } => format!("Taken off {list}"),
        }
    }
}

fn entry(patient: &(String, String), now: &str) -> Value {
    serde_json::json!({
        "item": {"reference": format!("Patient/{}", patient.0), "display": patient.1},
        "date": now
    })
}

/// A new personal list (`owner`: `Practitioner/id`).
pub fn new_list(title: &str, owner: &str, patient: Option<&(String, String)>, now: &str) -> Value {
    let (system, code) = crate::fhir::PERSONAL_LIST;
    let mut list = serde_json::json!({
        "resourceType": "List",
        "status": "current",
        "mode": "working",
        "title": title,
        "code": {"coding": [{"system": system, "code": code, "display": "Personal patient list"}]},
        "source": {"reference": owner},
        "date": now
    });
    if let Some(p) = patient {
        list["entry"] = serde_json::json!([entry(p, now)]);
    }
    list
}

/// `list` with `change` applied (an Add of a patient already on it, or a Remove of one not on
/// it, leaves it as it was: `None`).
pub fn changed_list(list: &Value, change: &ListChange, now: &str) -> Option<Value> {
    let mut out = list.clone();
    let entries = out["entry"].as_array().cloned().unwrap_or_default();
    let on = |e: &Value, id: &str| {
        e["deleted"] != true && reference_id(&e["item"], "Patient") == Some(id)
    };
    match change {
        ListChange::Create { .. } => return None,
        ListChange::Add { patient, .. } => {
            if entries.iter().any(|e| on(e, &patient.0)) {
                return None;
            }
            let mut entries = entries;
            entries.push(entry(patient, now));
            out["entry"] = Value::Array(entries);
        }
        ListChange::Remove { patient_id, .. } => {
            if !entries.iter().any(|e| on(e, patient_id)) {
                return None;
            }
            let kept: Vec<Value> = entries.into_iter().filter(|e| !on(e, patient_id)).collect();
            if kept.is_empty() {
                // An empty working list has no entries (`emptyReason` says why).
                if let Some(o) = out.as_object_mut() {
                    o.remove("entry");
                }
            } else {
                out["entry"] = Value::Array(kept);
            }
        }
    }
    out["date"] = Value::String(now.to_string());
    Some(out)
}

/// One part of the census as the server answered it: `None` when it failed or was cut short.
pub type Part = Option<Vec<Value>>;

/// What the runtime fetched for a ward's census (kept whole as the list's snapshot).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    /// The stays under way on the ward (or of the list's patients), with their patients,
    /// locations and practitioners.
    pub stays: Vec<Value>,
    /// The patients on a list that is not a ward, in its order: each has a row, staying
    /// anywhere or not.
    #[serde(default)]
    pub members: Vec<String>,
    pub allergies: Part,
    pub news2: Part,
    pub reviews: Part,
    pub unsigned: Part,
    pub drafts: Part,
}

/// The allergy column: what the server's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllergyMark {
    /// Active allergies recorded (how many).
    Known(usize),
    /// "No known drug allergies" recorded, nothing else active.
    Nkda,
    /// The answer came and lists nothing: not assessed.
    NotAssessed,
    /// The answer failed or was partial.
    Unknown,
}

/// Results waiting for review: critical, abnormal, the rest. `None`: unknown.
pub type Reviews = Option<(usize, usize, usize)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub patient_id: String,
    pub bed: String,
    pub name: String,
    pub mrn: Option<String>,
    /// `72y F`.
    pub age_sex: String,
    /// Days since admission (0 on the day).
    pub days: Option<i64>,
    pub attending: Option<String>,
    pub allergies: AllergyMark,
    /// The latest NEWS2 and the one before it; `Err(())` when unknown.
    pub news2: Result<(Option<i64>, Option<i64>), ()>,
    pub reviews: Reviews,
    pub unsigned: Option<usize>,
    pub cosign: Option<usize>,
    pub deceased: bool,
    pub restricted: bool,
    /// The stay (Encounter id) the row is for, if the patient is staying.
    pub stay: Option<String>,
}

fn reference_id<'a>(v: &'a Value, rtype: &str) -> Option<&'a str> {
    v["reference"]
        .as_str()?
        .strip_prefix(rtype)?
        .strip_prefix('/')
}

/// The resources of `part` about `patient` (by `subject` or `patient` or `for`).
fn about<'a>(part: &'a [Value], patient: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    part.iter().filter(move |r| {
        ["subject", "patient", "for"]
            .iter()
            .any(|k| reference_id(&r[*k], "Patient") == Some(patient))
    })
}

fn code_in(concept: &Value, code: &str) -> bool {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["code"] == code)
}

fn allergy_mark(part: &Part, patient: &str) -> AllergyMark {
    let Some(all) = part else {
        return AllergyMark::Unknown;
    };
    let active: Vec<&Value> = about(all, patient)
        .filter(|a| !code_in(&a["verificationStatus"], "entered-in-error"))
        .filter(|a| a["clinicalStatus"].is_null() || code_in(&a["clinicalStatus"], "active"))
        .collect();
    let nkda = |a: &&Value| code_in(&a["code"], crate::workstation::record::entries::NKDA_CODE);
    match (
        active.iter().filter(|a| !nkda(a)).count(),
        active.iter().any(nkda),
    ) {
        (0, true) => AllergyMark::Nkda,
        (0, false) => AllergyMark::NotAssessed,
        (n, _) => AllergyMark::Known(n),
    }
}

fn when(r: &Value) -> &str {
    r["effectiveDateTime"]
        .as_str()
        .or_else(|| r["issued"].as_str())
        .unwrap_or_default()
}

fn news2(part: &Part, patient: &str) -> Result<(Option<i64>, Option<i64>), ()> {
    let Some(all) = part else { return Err(()) };
    let mut scores: Vec<(&str, i64)> = about(all, patient)
        .filter(|o| code_in(&o["code"], NEWS2_CODE))
        .filter(|o| !matches!(o["status"].as_str(), Some("entered-in-error" | "cancelled")))
        .filter_map(|o| Some((when(o), o["valueInteger"].as_i64()?)))
        .collect();
    scores.sort_by(|a, b| b.0.cmp(a.0));
    Ok((scores.first().map(|s| s.1), scores.get(1).map(|s| s.1)))
}

fn reviews(part: &Part, patient: &str) -> Reviews {
    let all = part.as_ref()?;
    let mut out = (0, 0, 0);
    for t in about(all, patient).filter(|t| {
        matches!(
            t["status"].as_str(),
            Some("requested" | "received" | "accepted" | "ready" | "in-progress")
        )
    }) {
        match t["priority"].as_str() {
            Some("stat" | "asap") => out.0 += 1,
            Some("urgent") => out.1 += 1,
            _ => out.2 += 1,
        }
    }
    Some(out)
}

fn count(part: &Part, patient: &str) -> Option<usize> {
    Some(about(part.as_ref()?, patient).count())
}

fn sex_letter(sex: &str) -> &'static str {
    match sex {
        "female" => "F",
        "male" => "M",
        "other" => "O",
        _ => "?",
    }
}

/// The display name of a practitioner resource.
fn practitioner_name(p: &Value) -> Option<String> {
    let n = &p["name"][0];
    if let Some(t) = n["text"].as_str() {
        return Some(t.to_string());
    }
    let family = n["family"].as_str()?;
    let prefix = n["prefix"][0]
        .as_str()
        .map(|p| format!("{p} "))
        .unwrap_or_default();
    Some(format!("{prefix}{family}"))
}

fn by_id<'a>(fetched: &'a Fetched, rtype: &str, id: &str) -> Option<&'a Value> {
    fetched
        .stays
        .iter()
        .find(|r| r["resourceType"] == rtype && r["id"] == id)
}

/// The row of patient `pid`, staying in `stay` (or not staying anywhere).
fn row(fetched: &Fetched, pid: &str, stay: Option<&Value>, today: NaiveDate) -> Row {
    let patient = by_id(fetched, "Patient", pid);
    let info = patient.and_then(read_patient);
    let e = stay.unwrap_or(&Value::Null);
    // The bed: the active location that is a bed, by its name.
    let bed = e["location"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["status"].is_null() || l["status"] == "active")
        .filter_map(|l| {
            let id = reference_id(&l["location"], "Location")?;
            let loc = by_id(fetched, "Location", id);
            let is_bed = physical_type(l) == Some("bd")
                || loc.is_some_and(|x| physical_type(x) == Some("bd"));
            is_bed.then(|| {
                loc.and_then(|x| x["name"].as_str())
                    .or_else(|| l["location"]["display"].as_str())
                    .unwrap_or(id)
                    .to_string()
            })
        })
        .next()
        .unwrap_or_else(|| "-".into());
    let admitted = e["period"]["start"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok());
    let attending = e["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["type"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| code_in(t, "ATND"))
        })
        .or_else(|| e["participant"].get(0))
        .and_then(|p| {
            let id = reference_id(&p["individual"], "Practitioner")?;
            by_id(fetched, "Practitioner", id)
                .and_then(practitioner_name)
                .or_else(|| p["individual"]["display"].as_str().map(str::to_string))
        });
    let restricted = patient.is_some_and(|p| {
        p["meta"]["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["code"] == "R")
    });
    Row {
        patient_id: pid.to_string(),
        bed,
        name: info
            .as_ref()
            .map_or_else(|| "(patient not returned)".into(), |i| i.display_name()),
        mrn: info.as_ref().and_then(|i| i.mrn.clone()),
        age_sex: info.as_ref().map_or_else(String::new, |i| {
            format!(
                "{} {}",
                i.age(today).unwrap_or_else(|| "?".into()),
                sex_letter(&i.sex)
            )
        }),
        days: admitted.map(|a| (today - a).num_days().max(0)),
        attending,
        allergies: allergy_mark(&fetched.allergies, pid),
        news2: news2(&fetched.news2, pid),
        reviews: reviews(&fetched.reviews, pid),
        unsigned: count(&fetched.unsigned, pid),
        cosign: count(&fetched.drafts, pid),
        deceased: info.as_ref().is_some_and(|i| i.deceased),
        restricted,
        stay: e["id"].as_str().map(str::to_string),
    }
}

/// The rows of a list: one per patient staying (a ward's, or the list's patients'), then the
/// list's patients not staying anywhere; by bed.
pub fn rows(fetched: &Fetched, today: NaiveDate) -> Vec<Row> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for e in fetched
        .stays
        .iter()
        .filter(|r| r["resourceType"] == "Encounter")
    {
        let Some(pid) = reference_id(&e["subject"], "Patient") else {
            continue;
        };
        if seen.contains(&pid) {
            continue;
        }
        seen.push(pid);
        out.push(row(fetched, pid, Some(e), today));
    }
    // A list's patients who are not staying anywhere: a row each, with no bed.
    for pid in &fetched.members {
        if seen.contains(&pid.as_str()) {
            continue;
        }
        seen.push(pid.as_str());
        out.push(row(fetched, pid, None, today));
    }
    out.sort_by(|a, b| {
        natural(&a.bed)
            .cmp(&natural(&b.bed))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// A key that sorts `A bed 2` before `A bed 10`.
fn natural(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}

/// How the census is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Bed,
    Name,
    /// The highest NEWS2 first.
    News2,
    /// The most results waiting (critical first).
    Results,
    /// The longest stay first.
    Stay,
}

impl Sort {
    pub fn next(self) -> Sort {
        match self {
            Sort::Bed => Sort::Name,
            Sort::Name => Sort::News2,
            Sort::News2 => Sort::Results,
            Sort::Results => Sort::Stay,
            Sort::Stay => Sort::Bed,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Sort::Bed => "bed",
            Sort::Name => "name",
            Sort::News2 => "NEWS2",
            Sort::Results => "results",
            Sort::Stay => "length of stay",
        }
    }
}

/// Which rows a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    /// Results waiting for review (or not known).
    Results,
    /// NEWS2 5 or more (or not known).
    Sick,
    /// Unsigned notes or orders waiting for co-signature (or not known).
    Unsigned,
}

impl Filter {
    pub fn next(self) -> Filter {
        match self {
            Filter::All => Filter::Results,
            Filter::Results => Filter::Sick,
            Filter::Sick => Filter::Unsigned,
            Filter::Unsigned => Filter::All,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Results => "results waiting",
            Filter::Sick => "NEWS2 5+",
            Filter::Unsigned => "unsigned work",
        }
    }

    /// Whether `row` is shown. A value not known is shown: a filter never hides what it
    /// cannot judge.
    pub fn keeps(self, row: &Row) -> bool {
        match self {
            Filter::All => true,
            Filter::Results => row.reviews.is_none_or(|(c, a, n)| c + a + n > 0),
            Filter::Sick => match row.news2 {
                Err(()) => true,
                Ok((score, _)) => score.is_some_and(|n| n >= 5),
            },
            Filter::Unsigned => {
                row.unsigned.is_none_or(|n| n > 0) || row.cosign.is_none_or(|n| n > 0)
            }
        }
    }
}

/// `rows` in the order `sort` asks (the bed order breaks ties); unknown values go last.
pub fn sorted(rows: &[Row], sort: Sort) -> Vec<Row> {
    let mut out = rows.to_vec();
    match sort {
        Sort::Bed => {}
        Sort::Name => out.sort_by(|a, b| a.name.cmp(&b.name)),
        Sort::News2 => {
            out.sort_by_key(|r| std::cmp::Reverse(r.news2.ok().and_then(|n| n.0).unwrap_or(-1)))
        }
        Sort::Results => out
            .sort_by_key(|r| std::cmp::Reverse(r.reviews.map_or((0, 0, 0), |(c, a, n)| (c, a, n)))),
        Sort::Stay => out.sort_by_key(|r| std::cmp::Reverse(r.days.unwrap_or(-1))),
    }
    out
}

#[cfg(test)]
mod tests;
