//! What the user typed in patient search, read as name words, an MRN or a date of birth,
//! turned into a FHIR Patient search, and the server's answers ranked locally with
//! fuzzy-matcher.

use chrono::NaiveDate;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use crate::workstation::chart::PatientInfo;

/// How many patients one search asks for.
pub const SEARCH_COUNT: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientQuery {
    pub names: Vec<String>,
    pub birthdate: Option<String>,
    pub identifier: Option<String>,
}

/// The query, or why there is nothing to search yet.
pub fn parse(input: &str) -> Result<PatientQuery, &'static str> {
    let mut q = PatientQuery::default();
    let mut incomplete = false;
    for token in input
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
    {
        if let Some(date) = date_token(token) {
            q.birthdate = Some(date);
        } else if token.chars().any(|c| c.is_ascii_digit()) {
            if token.contains('/') || token.contains('-') && !token.chars().any(char::is_alphabetic)
            {
                incomplete = true;
            } else {
                let id = token
                    .strip_prefix("MRN")
                    .or_else(|| token.strip_prefix("mrn"))
                    .unwrap_or(token)
                    .trim_start_matches([':', '#']);
                if !id.is_empty() {
                    q.identifier = Some(id.to_string());
                }
            }
        } else {
            let word: String = token
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
                .to_string();
            if !word.is_empty() {
                q.names.push(word);
            }
        }
    }
    if q.names.is_empty() && q.birthdate.is_none() && q.identifier.is_none() {
        return Err(if incomplete {
            "keep typing: a date of birth as YYYY-MM-DD, DD/MM/YYYY or YYYY"
        } else {
            "type a name, an MRN or a date of birth"
        });
    }
    Ok(q)
}

/// `1956-03-14`, `1956-03`, `14/03/1956` (day first) or a year `1956`, as a FHIR date.
fn date_token(t: &str) -> Option<String> {
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(d.format("%Y-%m-%d").to_string());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%d/%m/%Y") {
        if t.rsplit('/').next().is_some_and(|y| y.len() == 4) {
            return Some(d.format("%Y-%m-%d").to_string());
        }
    }
    if t.len() == 7 && NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").is_ok() {
        return Some(t.to_string());
    }
    if t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()) {
        let year: i32 = t.parse().ok()?;
        return (1850..=2200).contains(&year).then(|| t.to_string());
    }
    None
}

impl PatientQuery {
    /// FHIR search parameters: every name word must match some part of a name.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> =
            self.names.iter().map(|n| ("name", n.clone())).collect();
        if let Some(d) = &self.birthdate {
            p.push(("birthdate", d.clone()));
        }
        if let Some(id) = &self.identifier {
            p.push(("identifier", id.clone()));
        }
        p.push(("_count", SEARCH_COUNT.to_string()));
        p
    }
}

/// A ranked row: the patient and which characters of `display_name()` matched.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub patient: PatientInfo,
    pub matched: Vec<usize>,
    pub score: i64,
}

/// Ranks the server's answers: name words fuzzily (any order), exact MRN and DOB first.
pub fn rank(patients: Vec<PatientInfo>, query: &PatientQuery) -> Vec<Ranked> {
    let matcher = SkimMatcherV2::default().ignore_case();
    let mut rows: Vec<Ranked> = patients
        .into_iter()
        .map(|patient| {
            let name = patient.display_name();
            let mut score = 0;
            let mut matched = Vec::new();
            for word in &query.names {
                if let Some((s, idx)) = matcher.fuzzy_indices(&name, word) {
                    score += s;
                    matched.extend(idx);
                }
            }
            if query.identifier.is_some() && patient.mrn == query.identifier {
                score += 1000;
            }
            if let (Some(d), Some(b)) = (&query.birthdate, &patient.birth_text) {
                if b == d {
                    score += 500;
                }
            }
            matched.sort_unstable();
            matched.dedup();
            Ranked {
                patient,
                matched,
                score,
            }
        })
        .collect();
    // Stable: equal scores keep the server's order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.score));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_order_and_with_commas() {
        assert_eq!(parse("smith john").unwrap().names, ["smith", "john"]);
        assert_eq!(parse("Smith, J").unwrap().names, ["Smith", "J"]);
        assert_eq!(parse("O'Brien").unwrap().names, ["O'Brien"]);
    }

    #[test]
    fn dates_of_birth_in_three_forms() {
        assert_eq!(
            parse("1956-03-14").unwrap().birthdate.as_deref(),
            Some("1956-03-14")
        );
        assert_eq!(
            parse("14/03/1956").unwrap().birthdate.as_deref(),
            Some("1956-03-14")
        );
        assert_eq!(parse("1956").unwrap().birthdate.as_deref(), Some("1956"));
        let q = parse("smith 1956").unwrap();
        assert_eq!((q.names.len(), q.birthdate.as_deref()), (1, Some("1956")));
        assert!(parse("14/03").is_err());
        assert!(parse("  ").is_err());
    }

    #[test]
    fn mrns() {
        assert_eq!(
            parse("0012345").unwrap().identifier.as_deref(),
            Some("0012345")
        );
        assert_eq!(
            parse("MRN0012345").unwrap().identifier.as_deref(),
            Some("0012345")
        );
        assert_eq!(parse("mrn:42").unwrap().identifier.as_deref(), Some("42"));
    }

    #[test]
    fn ranking_prefers_the_closer_name() {
        let p = |family: &str, given: &str| PatientInfo {
            family: family.into(),
            given: given.into(),
            ..PatientInfo::default()
        };
        let q = parse("john smith").unwrap();
        let ranked = rank(vec![p("Smithers", "Johanna"), p("Smith", "John")], &q);
        assert_eq!(ranked[0].patient.family, "Smith");
        assert!(!ranked[0].matched.is_empty());
    }
}
