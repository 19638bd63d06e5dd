//! The shipped medication table and interaction table (`orders/*.toml`, compiled in; a file of
//! the same name in the config directory's `orders/` replaces each).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

const MEDICATIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/orders/medications.toml"
));
const INTERACTIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/orders/interactions.toml"
));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Medication {
    /// The RxNorm ingredient RXCUI (the first ingredient of a combination).
    pub rxnorm: String,
    pub name: String,
    /// Every ingredient, for combinations; defaults to `rxnorm`.
    #[serde(default)]
    pub ingredients: Vec<String>,
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub strengths: Vec<String>,
    #[serde(default)]
    pub dose: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub frequency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Moderate,
    High,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Moderate => "moderate",
            Severity::High => "HIGH",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// `rxnorm:CODE` or `class:NAME`.
    pub a: String,
    pub b: String,
    pub severity: Severity,
    pub effect: String,
    pub instead: String,
    pub source: String,
}

#[derive(Deserialize)]
struct MedicationFile {
    medication: Vec<Medication>,
}

#[derive(Deserialize)]
struct InteractionFile {
    interaction: Vec<Interaction>,
}

/// What the checks know about drugs.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    pub medications: Vec<Medication>,
    pub interactions: Vec<Interaction>,
    by_code: HashMap<String, usize>,
}

impl Knowledge {
    /// The shipped tables, replaced by `user_dir/medications.toml` or
    /// `user_dir/interactions.toml` when present. Problems are returned, not fatal.
    pub fn load(user_dir: Option<&Path>) -> (Knowledge, Vec<String>) {
        let mut problems = Vec::new();
        let read = |name: &str, shipped: &'static str, problems: &mut Vec<String>| {
            if let Some(path) = user_dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                match std::fs::read_to_string(&path) {
                    Ok(text) => return (text, path.display().to_string()),
                    Err(e) => problems.push(format!("{}: cannot read it ({e})", path.display())),
                }
            }
            (shipped.to_string(), format!("orders/{name}"))
        };
        let (meds, meds_source) = read("medications.toml", MEDICATIONS, &mut problems);
        let (pairs, pairs_source) = read("interactions.toml", INTERACTIONS, &mut problems);
        let medications = match toml::from_str::<MedicationFile>(&meds) {
            Ok(f) => f.medication,
            Err(e) => {
                problems.push(format!(
                    "{meds_source}: {} (shipped table used)",
                    e.message().trim()
                ));
                toml::from_str::<MedicationFile>(MEDICATIONS)
                    .map(|f| f.medication)
                    .unwrap_or_default()
            }
        };
        let interactions = match toml::from_str::<InteractionFile>(&pairs) {
            Ok(f) => f.interaction,
            Err(e) => {
                problems.push(format!(
                    "{pairs_source}: {} (shipped table used)",
                    e.message().trim()
                ));
                toml::from_str::<InteractionFile>(INTERACTIONS)
                    .map(|f| f.interaction)
                    .unwrap_or_default()
            }
        };
        (Knowledge::new(medications, interactions), problems)
    }

    pub fn new(mut medications: Vec<Medication>, interactions: Vec<Interaction>) -> Knowledge {
        for m in &mut medications {
            if m.ingredients.is_empty() {
                m.ingredients = vec![m.rxnorm.clone()];
            }
            for c in &mut m.classes {
                *c = c.to_lowercase();
            }
        }
        let mut by_code = HashMap::new();
        for (i, m) in medications.iter().enumerate() {
            by_code.entry(m.rxnorm.clone()).or_insert(i);
        }
        Knowledge {
            medications,
            interactions,
            by_code,
        }
    }

    pub fn medication(&self, rxnorm: &str) -> Option<&Medication> {
        self.by_code.get(rxnorm).map(|&i| &self.medications[i])
    }

    /// A medication named like `text` (an allergy recorded as "Penicillin" with no code).
    pub fn medication_named(&self, text: &str) -> Option<&Medication> {
        let t = text.trim().to_lowercase();
        self.medications.iter().find(|m| m.name.to_lowercase() == t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_load_and_every_interaction_names_something_known() {
        let (k, problems) = Knowledge::load(None);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(k.medications.len() >= 40);
        let classes: std::collections::HashSet<&str> = k
            .medications
            .iter()
            .flat_map(|m| m.classes.iter().map(String::as_str))
            .collect();
        for i in &k.interactions {
            for side in [&i.a, &i.b] {
                match side.split_once(':') {
                    Some(("rxnorm", code)) => assert!(k.medication(code).is_some(), "{side}"),
                    Some(("class", class)) => assert!(classes.contains(class), "{side}"),
                    _ => panic!("{side} is neither rxnorm: nor class:"),
                }
            }
            assert!(!i.source.is_empty());
        }
    }

    #[test]
    fn a_broken_user_table_falls_back_to_the_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("medications.toml"),
            "[[medication]]\nname = 3",
        )
        .unwrap();
        let (k, problems) = Knowledge::load(Some(dir.path()));
        assert_eq!(problems.len(), 1);
        assert!(k.medication("11289").is_some());
    }
}
