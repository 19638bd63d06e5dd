//! One patient's chart as the workstation shows it: the banner facts, the timeline (every
//! dated item, newest first), details, trends and the summary, built from FHIR resources as
//! pages of them arrive. Nothing here does I/O.

mod allergies;
pub use allergies::AllergyAlert;
mod model;
mod parse;
pub mod summary;
pub mod value;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

pub use model::*;
pub use value::{Precision, When};

#[derive(Debug, Default)]
pub struct Chart {
    pub patient: Option<PatientInfo>,
    pub allergies: Vec<Allergy>,
    pub allergy_load: Option<AllergyLoad>,
    pub obs: Vec<Obs>,
    pub reports: Vec<Report>,
    pub entries: Vec<Entry>,
    /// Resources that arrived but could not be read (shown as a count, never silently lost).
    pub unreadable: usize,
    pub resources: usize,
    pub timeline: Vec<Item>,
    /// Observation indexes by code, oldest first: trends and previous values.
    pub by_code: HashMap<String, Vec<u32>>,
    encounters: Vec<EncounterInfo>,
    names: HashMap<String, String>,
    seen: HashSet<String>,
    obs_ids: HashMap<String, u32>,
    /// The patient this chart is for: resources about anyone else are refused.
    owner: Option<String>,
    /// Resources refused because they were about another patient.
    pub foreign: usize,
    pages: u32,
    /// Pages arrived since the timeline was last rebuilt.
    stale: bool,
    /// `Type/id` of the resource each entry came from (same order as `entries`).
    entry_sources: Vec<String>,
    /// The searches behind this chart and what the server answered to each.
    pub answers: Vec<Answer>,
    /// Vital signs taken at the same moment, one timeline line each (observation indexes).
    pub vital_sets: Vec<Vec<u32>>,
    /// The allergy answer held resources about other patients (the server ignored the
    /// patient parameter): it cannot be trusted.
    allergy_foreign: bool,
    /// Every search for this chart has ended (with or without errors).
    ended: bool,
}

impl Chart {
    pub fn new() -> Chart {
        Chart {
            allergy_load: Some(AllergyLoad::Loading),
            ..Chart::default()
        }
    }

    /// An empty chart that only accepts resources about patient `id`.
    pub fn for_patient(id: &str) -> Chart {
        Chart {
            owner: Some(id.to_string()),
            ..Chart::new()
        }
    }

    /// The patient this chart is for.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Adds a page of resources (any order, duplicates ignored) and rebuilds the timeline.
    ///
    /// A large chart arrives in dozens of pages; rebuilding the timeline after each would cost
    /// more than the pages themselves. It is rebuilt after pages 1, 2, 4, 8... (so the first
    /// screen is there at once) and when the chart is complete (`finish` or `flush`).
    pub fn add_page(&mut self, resources: Vec<Value>) {
        for r in resources {
            self.add(r);
        }
        self.pages += 1;
        if self.pages.is_power_of_two() {
            self.rebuild();
        } else {
            self.stale = true;
        }
    }

    /// Rebuilds the timeline if pages arrived since the last rebuild.
    pub fn flush(&mut self) {
        if self.stale {
            self.rebuild();
        }
    }

    fn add(&mut self, r: Value) {
        let rtype = value::text(&r, "resourceType").unwrap_or("").to_string();
        let id = value::text(&r, "id").unwrap_or("").to_string();
        if let Some(owner) = &self.owner {
            if !about(owner, &rtype, &id, &r) {
                self.foreign += 1;
                return;
            }
        }
        if !id.is_empty() && !self.seen.insert(format!("{rtype}/{id}")) {
            return;
        }
        self.resources += 1;
        let before = self.entries.len();
        if !parse::add(self, &rtype, &id, &r) {
            self.unreadable += 1;
        }
        let source = format!("{rtype}/{id}");
        self.entry_sources
            .extend(std::iter::repeat_n(source, self.entries.len() - before));
    }

    /// Puts a newer version of a resource in place of the one the chart holds (a note that
    /// was saved unsigned and is now signed), and rebuilds the timeline.
    pub fn replace(&mut self, resource: Value) {
        let rtype = value::text(&resource, "resourceType").unwrap_or("");
        let id = value::text(&resource, "id").unwrap_or("");
        let source = format!("{rtype}/{id}");
        self.seen.remove(&source);
        let keep: Vec<bool> = self.entry_sources.iter().map(|s| *s != source).collect();
        let mut keep = keep.into_iter();
        self.entries.retain(|_| keep.next().unwrap_or(true));
        self.entry_sources.retain(|s| *s != source);
        if self.resources > 0 {
            self.resources -= 1;
        }
        self.add(resource);
        self.rebuild();
    }

    /// `Type/id` of the resource a timeline item comes from: what stays the same when the
    /// chart is rebuilt with newer data.
    pub fn source_of(&self, target: Target) -> Option<String> {
        match target {
            Target::Obs(i) => Some(format!("Observation/{}", self.obs.get(i as usize)?.id)),
            Target::Report(i) => Some(format!(
                "DiagnosticReport/{}",
                self.reports.get(i as usize)?.id
            )),
            Target::Entry(i) => self.entry_sources.get(i as usize).cloned(),
            Target::Vitals(i) => {
                let first = *self.vital_sets.get(i as usize)?.first()?;
                Some(format!("Observation/{}", self.obs.get(first as usize)?.id))
            }
        }
    }

    /// The whole chart has arrived: whatever allergies it holds are the list.
    pub fn finish(&mut self) {
        self.end();
        if matches!(self.allergy_load, Some(AllergyLoad::Loading)) {
            self.allergy_load = Some(AllergyLoad::Loaded);
        }
    }

    /// Every search for the chart has ended, some perhaps with an error.
    pub fn end(&mut self) {
        self.ended = true;
        self.flush();
    }

    /// What the server answered to one of the chart's searches.
    pub fn add_answer(&mut self, answer: Answer) {
        self.answers.retain(|a| a.what != answer.what);
        self.answers.push(answer);
    }

    fn without_everything(&self) -> bool {
        self.answers
            .iter()
            .any(|a| a.what == "$everything" && a.outcome == AnswerOutcome::Unsupported)
    }

    /// The chart came back empty: what the server answered, in words, for the timeline.
    pub fn empty_answer(&self) -> Option<String> {
        if !self.ended || self.answers.is_empty() || !self.timeline.is_empty() {
            return None;
        }
        let answers: Vec<String> = self.answers.iter().map(Answer::describe).collect();
        Some(format!(
            "The server returned nothing dated for this patient. Its answers: {}.",
            answers.join("; ")
        ))
    }

    /// Items whose date could not be read (listed last, as "undated").
    pub fn undated(&self) -> usize {
        self.timeline.iter().filter(|i| i.when.is_undated()).count()
    }

    /// The encounter a note written now belongs to: the one in progress (`Encounter/id`).
    pub fn current_encounter(&self) -> Option<String> {
        self.encounters
            .iter()
            .find(|e| e.current && !e.id.is_empty())
            .map(|e| format!("Encounter/{}", e.id))
    }

    /// The resource (`Type/id`) a timeline entry came from.
    pub fn entry_source(&self, entry: u32) -> Option<&str> {
        self.entry_sources.get(entry as usize).map(String::as_str)
    }

    /// `Ward 4A, Bed 4A-01` while admitted, else `last visit 2026-03-01`.
    pub fn location(&self, zone: chrono::FixedOffset) -> Option<String> {
        if let Some(e) = self.encounters.iter().find(|e| e.current) {
            let places: Vec<String> = e
                .locations
                .iter()
                .map(|l| self.names.get(l).cloned().unwrap_or_else(|| short_ref(l)))
                .collect();
            return Some(if places.is_empty() {
                "admitted".into()
            } else {
                places.join(", ")
            });
        }
        let last = self.encounters.iter().filter_map(|e| e.start).max()?;
        let day = last.day(zone)?;
        Some(format!("last visit {day}"))
    }

    /// The name of a referenced Practitioner, Location, Organization or Medication when the
    /// chart holds it, else the reference as written.
    pub fn resolve<'a>(&'a self, reference: &'a str) -> &'a str {
        self.names
            .get(reference)
            .map(String::as_str)
            .unwrap_or(reference)
    }

    pub fn obs_at(&self, i: u32) -> Option<&Obs> {
        self.obs.get(i as usize)
    }

    /// Earlier values of the same code than `obs`, newest first.
    pub fn previous(&self, obs: &Obs) -> Vec<&Obs> {
        let Some(key) = &obs.key else {
            return Vec::new();
        };
        let Some(list) = self.by_code.get(key) else {
            return Vec::new();
        };
        list.iter()
            .rev()
            .filter_map(|&i| self.obs.get(i as usize))
            .filter(|o| o.id != obs.id && o.when < obs.when)
            .filter(|o| o.when.is_some_and(|w| !w.is_undated()))
            .collect()
    }

    /// The observations a timeline line stands for when it stands for several (a report's
    /// results, a set of vital signs), in their order.
    pub fn members(&self, target: Target) -> Vec<&Obs> {
        match target {
            Target::Report(i) => self
                .reports
                .get(i as usize)
                .map(|r| self.report_results(r))
                .unwrap_or_default(),
            Target::Vitals(i) => self
                .vital_sets
                .get(i as usize)
                .map(|m| m.iter().filter_map(|&o| self.obs.get(o as usize)).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The report's results that have arrived, in the report's order.
    pub fn report_results(&self, report: &Report) -> Vec<&Obs> {
        report
            .results
            .iter()
            .filter_map(|id| self.obs_ids.get(id))
            .filter_map(|&i| self.obs.get(i as usize))
            .collect()
    }

    fn rebuild(&mut self) {
        self.stale = false;
        let mut in_report: HashSet<&str> = HashSet::new();
        let mut items = Vec::with_capacity(self.entries.len() + self.obs.len());
        for (i, report) in self.reports.iter().enumerate() {
            let Some(when) = report.when else { continue };
            let results = self.report_results(report);
            in_report.extend(report.results.iter().map(String::as_str));
            let flag = results.iter().map(|o| o.flag).max().unwrap_or_default();
            items.push(Item {
                when,
                kind: Kind::Result,
                flag,
                target: Target::Report(i as u32),
                summary: parse::report_summary(report, &results),
            });
        }
        // Vital signs taken at the same moment make one line ("BP 149/79 HR 88 T 37.0").
        let mut sets: HashMap<When, Vec<u32>> = HashMap::new();
        for (i, obs) in self.obs.iter().enumerate() {
            let Some(when) = obs.when else { continue };
            if in_report.contains(obs.id.as_str()) {
                continue;
            }
            if obs.vital && !when.is_undated() && state_mark(&obs.status).is_none() {
                sets.entry(when).or_default().push(i as u32);
                continue;
            }
            items.push(Item {
                when,
                kind: if obs.vital { Kind::Vital } else { Kind::Result },
                flag: obs.flag,
                target: Target::Obs(i as u32),
                summary: parse::obs_summary(obs),
            });
        }
        let mut sets: Vec<(When, Vec<u32>)> = sets.into_iter().collect();
        sets.sort_by_key(|(when, members)| (*when, members.first().copied()));
        self.vital_sets.clear();
        for (when, mut members) in sets {
            if let [only] = members[..] {
                let obs = &self.obs[only as usize];
                items.push(Item {
                    when,
                    kind: Kind::Vital,
                    flag: obs.flag,
                    target: Target::Obs(only),
                    summary: parse::obs_summary(obs),
                });
                continue;
            }
            members.sort_by_key(|&i| parse::vital_order(&self.obs[i as usize]));
            let list: Vec<&Obs> = members.iter().map(|&i| &self.obs[i as usize]).collect();
            let flag = list.iter().map(|o| o.flag).max().unwrap_or_default();
            let summary = parse::vital_set_summary(&list);
            items.push(Item {
                when,
                kind: Kind::Vital,
                flag,
                target: Target::Vitals(self.vital_sets.len() as u32),
                summary,
            });
            self.vital_sets.push(members);
        }
        for (i, e) in self.entries.iter().enumerate() {
            let summary = if e.refs.is_empty() {
                e.summary.clone()
            } else {
                let names: Vec<&str> = e.refs.iter().map(|r| self.resolve(r)).collect();
                format!("{} - {}", e.summary, names.join(", "))
            };
            items.push(Item {
                when: e.when,
                kind: e.kind,
                flag: Flag::Normal,
                target: Target::Entry(i as u32),
                summary,
            });
        }
        items.sort_by(|a, b| {
            b.when
                .ms
                .cmp(&a.when.ms)
                .then(a.kind.cmp(&b.kind))
                .then(a.target.cmp(&b.target))
        });
        self.timeline = items;
        self.by_code.clear();
        for (i, obs) in self.obs.iter().enumerate() {
            if let (Some(key), Some(_)) = (&obs.key, obs.when) {
                self.by_code.entry(key.clone()).or_default().push(i as u32);
            }
        }
        let obs = &self.obs;
        for list in self.by_code.values_mut() {
            list.sort_by_key(|&i| obs[i as usize].when);
        }
    }

    /// Points of `key` over time for a trend: one series per component (e.g. systolic and
    /// diastolic) or one for the value itself.
    pub fn series(&self, key: &str) -> Vec<Series> {
        let mut out: Vec<Series> = Vec::new();
        let Some(list) = self.by_code.get(key) else {
            return out;
        };
        for obs in list.iter().filter_map(|&i| self.obs.get(i as usize)) {
            let Some(when) = obs.when.filter(|w| !w.is_undated()) else {
                continue;
            };
            let mut push = |name: &str, unit: &str, range: &Option<Range>, x: Option<f64>| {
                let Some(x) = x else { return };
                let pos = match out.iter().position(|s| s.name == name) {
                    Some(p) => p,
                    None => {
                        out.push(Series {
                            name: name.to_string(),
                            unit: unit.to_string(),
                            range: range.clone(),
                            points: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                out[pos].points.push((when.ms, x));
            };
            push(&obs.name, &obs.unit, &obs.range, obs.number);
            for c in &obs.components {
                push(&c.name, &c.unit, &c.range, c.number);
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub range: Option<Range>,
    pub points: Vec<(i64, f64)>,
}

/// False when `r` is, or is about, a patient other than `owner`.
fn about(owner: &str, rtype: &str, id: &str, r: &Value) -> bool {
    if rtype == "Patient" {
        return id == owner;
    }
    for key in ["subject", "patient"] {
        let reference = r.get(key).and_then(|s| value::text(s, "reference"));
        if let Some((_, rest)) = reference.and_then(|x| x.rsplit_once("Patient/")) {
            let target = rest.split('/').next().unwrap_or(rest);
            return target == owner;
        }
    }
    true
}

fn short_ref(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

/// The facts of a Patient resource as the banner and search rows show them.
pub fn read_patient(resource: &Value) -> Option<PatientInfo> {
    (value::text(resource, "resourceType") == Some("Patient"))
        .then(|| parse::patient(value::text(resource, "id").unwrap_or(""), resource))
}

/// An Observation resource read as the chart reads it (value, unit, flag, range).
pub fn read_observation(resource: &Value) -> Option<Obs> {
    (value::text(resource, "resourceType") == Some("Observation"))
        .then(|| parse::observation(value::text(resource, "id").unwrap_or(""), resource))
}

/// How many patients in `found` (a name search) other than `patient` share the family name
/// and the first given name: the wrong-patient risk CPRS warns of at patient selection.
pub fn namesakes(patient: &PatientInfo, found: &[Value]) -> usize {
    let first = |given: &str| {
        given
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    let (family, given) = (patient.family.to_lowercase(), first(&patient.given));
    if family.is_empty() || given.is_empty() {
        return 0;
    }
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(read_patient)
        .filter(|p| p.id != patient.id)
        .filter(|p| p.family.to_lowercase() == family && first(&p.given) == given)
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// Where a patient is (or last was) from some of their Encounters and the Locations they name.
pub fn location_of(resources: Vec<Value>, zone: chrono::FixedOffset) -> Option<String> {
    let mut chart = Chart::new();
    chart.add_page(resources);
    chart.location(zone)
}

/// A LOINC long name up to its first bracket.
pub fn short_name_of(name: &str) -> &str {
    match name.find(" [") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// A short name for lists (`Chloride`, `Blood pressure`).
pub fn short_name(o: &Obs) -> &str {
    parse::short_name(o)
}

/// An observation's value with its unit (`6.9 mmol/L`, `142/88 mmHg`).
pub fn value_text(o: &Obs) -> String {
    parse::obs_value(o)
}

#[cfg(test)]
mod tests;
