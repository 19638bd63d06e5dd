//! The allergy line of the banner: what the server said, and what it could not say. "NKDA"
//! only when the server really recorded no known allergies; a failed or doubtful answer is
//! shown as unknown.

use serde_json::Value;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllergyAlert {
    /// Real allergies: the banner's alert style.
    Allergic,
    /// Not assessed or not known yet: a warning.
    Unknown,
    /// Assessed, none known.
    None,
}

impl Chart {
    /// The answer of the dedicated allergy search: authoritative for the banner.
    pub fn set_allergies(&mut self, result: Result<Vec<Value>, String>) {
        match result {
            Ok(resources) => {
                self.allergy_load = Some(AllergyLoad::Loaded);
                let foreign = self.foreign;
                self.add_page(resources);
                self.allergy_foreign |= self.foreign > foreign;
            }
            Err(message) => {
                if self.allergy_load != Some(AllergyLoad::Loaded) {
                    self.allergy_load = Some(AllergyLoad::Failed(message));
                }
            }
        }
    }

    /// Why the allergy answer cannot be trusted, if it cannot: cut short, about other
    /// patients, or every search empty on a server that has no `$everything` (a server that
    /// did not understand the searches looks exactly like that).
    pub fn allergy_doubt(&self) -> Option<String> {
        let allergy = self.answers.iter().find(|a| a.what == "AllergyIntolerance");
        if let Some(Answer {
            outcome: AnswerOutcome::Received { cut: true, .. },
            ..
        }) = allergy
        {
            return Some("the server sent only part of the allergy list".into());
        }
        if self.allergy_foreign {
            return Some("the server's allergy answer held other patients' records".into());
        }
        let all_empty = self.answers.iter().all(|a| a.received() == 0);
        if self.ended && self.without_everything() && all_empty && self.allergies.is_empty() {
            return Some("every search came back empty on a server without $everything".into());
        }
        None
    }

    /// The banner's allergy text, and whether it must stand out.
    pub fn allergy_text(&self) -> (String, AllergyAlert) {
        self.allergy_line(usize::MAX)
    }

    /// The allergy text cut to `width` without hiding an allergy: reactions are dropped
    /// first (severe ones last), then the tail becomes "+N more".
    pub fn allergy_line(&self, width: usize) -> (String, AllergyAlert) {
        let real: Vec<&Allergy> = self
            .allergies
            .iter()
            .filter(|a| a.no_known.is_none())
            .collect();
        if real.is_empty() {
            return self.no_allergy_text();
        }
        // Real allergies are shown whatever else; a doubtful list says it may hold more.
        let label = if self.allergy_doubt().is_some() {
            "Allergies (list may be INCOMPLETE)"
        } else {
            "Allergies"
        };
        let severe = |a: &Allergy| a.high_criticality || a.severity.as_deref() == Some("severe");
        let describe = |a: &Allergy, reactions: bool| {
            let mut s = a.substance.to_lowercase();
            if reactions && !a.reactions.is_empty() {
                s.push_str(&format!(" ({})", a.reactions.join(", ").to_lowercase()));
            }
            s
        };
        let candidates = [
            real.iter().map(|a| describe(a, true)).collect::<Vec<_>>(),
            real.iter().map(|a| describe(a, severe(a))).collect(),
            real.iter().map(|a| describe(a, false)).collect(),
        ];
        for list in &candidates {
            let text = format!("{label}: {}", list.join(", "));
            if crate::workstation::text::width(&text) <= width {
                return (text, AllergyAlert::Allergic);
            }
        }
        let names = &candidates[2];
        for shown in (1..names.len()).rev() {
            let text = format!(
                "{label}: {} +{} more",
                names[..shown].join(", "),
                names.len() - shown
            );
            if crate::workstation::text::width(&text) <= width {
                return (text, AllergyAlert::Allergic);
            }
        }
        (
            format!("{label} ({}): {}", names.len(), names.join(", ")),
            AllergyAlert::Allergic,
        )
    }

    pub(super) fn no_allergy_text(&self) -> (String, AllergyAlert) {
        if let Some(why) = self.allergy_doubt() {
            return (
                format!("Allergies UNKNOWN: {why} - check before prescribing"),
                AllergyAlert::Unknown,
            );
        }
        // Without `$everything` the per-type searches decide whether the answer is
        // believable: until they end, the list is still loading.
        let pending = self.without_everything() && !self.ended;
        match &self.allergy_load {
            _ if pending && self.allergies.is_empty() => {
                ("Allergies: loading...".into(), AllergyAlert::Unknown)
            }
            Some(AllergyLoad::Loading) | None if self.allergies.is_empty() => {
                ("Allergies: loading...".into(), AllergyAlert::Unknown)
            }
            Some(AllergyLoad::Withheld { restricted: true }) if self.allergies.is_empty() => (
                "Allergies: WITHHELD (restricted record) - break the glass to see them".into(),
                AllergyAlert::Unknown,
            ),
            Some(AllergyLoad::Withheld { restricted: false }) if self.allergies.is_empty() => (
                "Allergies: WITHHELD for your role (demographics only) - break the glass to see them"
                    .into(),
                AllergyAlert::Unknown,
            ),
            Some(AllergyLoad::Failed(_)) if self.allergies.is_empty() => (
                "Allergies UNKNOWN: the list could not be loaded - check before prescribing".into(),
                AllergyAlert::Unknown,
            ),
            _ => {
                let kinds: Vec<NoKnown> =
                    self.allergies.iter().filter_map(|a| a.no_known).collect();
                if kinds.contains(&NoKnown::Any) {
                    ("NKDA (no known allergies)".into(), AllergyAlert::None)
                } else if kinds.contains(&NoKnown::Drug) {
                    ("NKDA (no known drug allergies)".into(), AllergyAlert::None)
                } else if !kinds.is_empty() {
                    (
                        "No known food/environmental allergies; drug allergies not assessed".into(),
                        AllergyAlert::Unknown,
                    )
                } else {
                    ("Allergies not assessed".into(), AllergyAlert::Unknown)
                }
            }
        }
    }
}
