//! The coded terms offered when an allergy or a problem is recorded: the shipped lists
//! (`record/allergens.toml`, `record/conditions.toml`, sources in each file) or a site's own
//! copies in the config folder, and for allergies every medication the order checks know, with
//! their classes. Searched as the clinician types; what matches nothing is recorded as text,
//! marked uncoded.

use std::path::Path;

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use serde::Deserialize;

use crate::workstation::orders::knowledge::Knowledge;

const ALLERGENS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/record/allergens.toml"
));
const CONDITIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/record/conditions.toml"
));

pub const SNOMED: &str = "http://snomed.info/sct";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
/// A drug class, recorded by name: the order checks match allergies to classes by name.
pub const DRUG_CLASS: &str = "urn:bedside:drug-class";

/// One coded term.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub name: String,
    /// (system, code) pairs, the preferred first.
    pub codes: Vec<(String, String)>,
    /// For allergens: food, environment, medication, biologic.
    pub category: String,
    pub also: Vec<String>,
}

impl Term {
    /// "peanut (SNOMED CT 256349002)".
    pub fn label(&self) -> String {
        let codes: Vec<String> = self
            .codes
            .iter()
            .map(|(s, c)| format!("{} {c}", system_name(s)))
            .collect();
        if codes.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, codes.join(", "))
        }
    }
}

pub fn system_name(system: &str) -> &str {
    match system {
        SNOMED => "SNOMED CT",
        RXNORM => "RxNorm",
        ICD10CM => "ICD-10-CM",
        DRUG_CLASS => "class",
        other => other,
    }
}

/// A searchable list of terms.
#[derive(Debug, Clone, Default)]
pub struct TermList {
    pub terms: Vec<Term>,
}

impl TermList {
    /// The best `limit` terms for `query` (names and other names, fuzzily; whole-word starts
    /// first).
    pub fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let matcher = SkimMatcherV2::default().ignore_case();
        let mut scored: Vec<(i64, usize)> = self
            .terms
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let best = std::iter::once(&t.name)
                    .chain(&t.also)
                    .filter_map(|n| {
                        let lower = n.to_lowercase();
                        let bonus = if lower.starts_with(&q) {
                            2_000
                        } else if lower.split_whitespace().any(|w| w.starts_with(&q)) {
                            1_000
                        } else {
                            0
                        };
                        matcher.fuzzy_match(&lower, &q).map(|s| s + bonus)
                    })
                    .max()?;
                // A code typed as is finds its term too.
                Some((best, i))
            })
            .chain(
                self.terms
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.codes.iter().any(|(_, c)| c.to_lowercase() == q))
                    .map(|(i, _)| (10_000, i)),
            )
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out = Vec::new();
        for (_, i) in scored {
            if !out.contains(&i) {
                out.push(i);
            }
            if out.len() == limit {
                break;
            }
        }
        out
    }
}

/// Allergens, reactions and conditions.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub allergens: TermList,
    pub reactions: TermList,
    pub conditions: TermList,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllergenFile {
    #[serde(default)]
    allergen: Vec<RawTerm>,
    #[serde(default)]
    reaction: Vec<RawTerm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    #[serde(default)]
    condition: Vec<RawTerm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerm {
    name: String,
    #[serde(default)]
    snomed: Option<String>,
    #[serde(default)]
    icd10: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    also: Vec<String>,
}

impl RawTerm {
    fn term(self, default_category: &str) -> Term {
        let mut codes = Vec::new();
        if let Some(c) = self.snomed {
            codes.push((SNOMED.to_string(), c));
        }
        if let Some(c) = self.icd10 {
            codes.push((ICD10CM.to_string(), c));
        }
        Term {
            name: self.name,
            codes,
            category: self.category.unwrap_or_else(|| default_category.into()),
            also: self.also,
        }
    }
}

impl Terms {
    /// The shipped lists, or a site's copies in `user_dir`; medications and their classes
    /// from `knowledge`. Problems are returned, not fatal (the shipped list is used).
    pub fn load(knowledge: &Knowledge, user_dir: Option<&Path>) -> (Terms, Vec<String>) {
        let mut problems = Vec::new();
        let mut read = |name: &str, shipped: &'static str| -> (String, bool) {
            match user_dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => match std::fs::read_to_string(&path) {
                    Ok(text) => (text, true),
                    Err(e) => {
                        problems.push(format!("{}: cannot read it ({e})", path.display()));
                        (shipped.to_string(), false)
                    }
                },
                None => (shipped.to_string(), false),
            }
        };
        let (text, _) = read("allergens.toml", ALLERGENS);
        let (text2, _) = read("conditions.toml", CONDITIONS);
        let allergen_file = toml::from_str::<AllergenFile>(&text).unwrap_or_else(|e| {
            problems.push(format!(
                "record/allergens.toml: {} (shipped list used)",
                e.message().trim()
            ));
            toml::from_str::<AllergenFile>(ALLERGENS).unwrap_or(AllergenFile {
                allergen: Vec::new(),
                reaction: Vec::new(),
            })
        });
        let condition_file = toml::from_str::<ConditionFile>(&text2).unwrap_or_else(|e| {
            problems.push(format!(
                "record/conditions.toml: {} (shipped list used)",
                e.message().trim()
            ));
            toml::from_str::<ConditionFile>(CONDITIONS).unwrap_or(ConditionFile {
                condition: Vec::new(),
            })
        });
        let mut allergens: Vec<Term> = allergen_file
            .allergen
            .into_iter()
            .map(|t| t.term("food"))
            .collect();
        let mut classes: Vec<String> = Vec::new();
        for m in &knowledge.medications {
            allergens.push(Term {
                name: m.name.clone(),
                codes: vec![(RXNORM.to_string(), m.rxnorm.clone())],
                category: "medication".into(),
                also: Vec::new(),
            });
            // The drug's own class (the first listed) is what an allergy to it stands for.
            if let Some(c) = m.classes.first()
                && !classes.contains(c)
            {
                classes.push(c.clone());
            }
        }
        for class in classes {
            let plural = format!("{class}s");
            allergens.push(Term {
                name: plural.clone(),
                codes: vec![(DRUG_CLASS.to_string(), class.clone())],
                category: "medication".into(),
                also: vec![class, "drug class".into()],
            });
        }
        let terms = Terms {
            allergens: TermList { terms: allergens },
            reactions: TermList {
                terms: allergen_file
                    .reaction
                    .into_iter()
                    .map(|t| t.term("reaction"))
                    .collect(),
            },
            conditions: TermList {
                terms: condition_file
                    .condition
                    .into_iter()
                    .map(|t| t.term("condition"))
                    .collect(),
            },
        };
        (terms, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lists_load_and_search() {
        let (knowledge, _) = Knowledge::load(None);
        let (terms, problems) = Terms::load(&knowledge, None);
        assert!(problems.is_empty(), "{problems:?}");
        let first = |list: &TermList, q: &str| list.terms[list.search(q, 5)[0]].name.clone();
        assert_eq!(first(&terms.allergens, "pean"), "peanut");
        assert_eq!(first(&terms.allergens, "amoxi"), "amoxicillin");
        assert_eq!(first(&terms.allergens, "penicillins"), "penicillins");
        assert_eq!(first(&terms.reactions, "hives"), "urticaria");
        assert_eq!(
            first(&terms.conditions, "copd"),
            "Chronic obstructive lung disease"
        );
        assert_eq!(first(&terms.conditions, "I10"), "Essential hypertension");
        let htn = &terms.conditions.terms[terms.conditions.search("htn", 1)[0]];
        assert_eq!(
            htn.codes,
            [
                (SNOMED.to_string(), "59621000".to_string()),
                (ICD10CM.to_string(), "I10".to_string())
            ]
        );
        assert!(terms.allergens.search("", 5).is_empty());
        assert!(terms.conditions.search("zzzzqqq", 5).is_empty());
    }

    #[test]
    fn a_site_list_replaces_the_shipped_one_and_a_bad_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("conditions.toml"),
            "[[condition]]\nname = \"Local thing\"\nicd10 = \"R69\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("allergens.toml"), "[[allergen]]\nnom = 1\n").unwrap();
        let (knowledge, _) = Knowledge::load(None);
        let (terms, problems) = Terms::load(&knowledge, Some(dir.path()));
        assert_eq!(terms.conditions.terms.len(), 1);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("allergens.toml"), "{problems:?}");
        // The shipped allergens are used instead.
        assert!(!terms.allergens.search("peanut", 1).is_empty());
    }
}
