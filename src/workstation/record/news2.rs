//! NEWS2, the National Early Warning Score 2 (Royal College of Physicians, *National Early
//! Warning Score (NEWS) 2: Standardising the assessment of acute-illness severity in the NHS*,
//! London: RCP, December 2017; chart 1, "The NEWS2 scoring system", and table 2, the clinical
//! response). Scored only from a complete set of the seven parameters: a missing one is never
//! taken as normal. Validated for adults (16 and over); SpO2 scale 2 is for patients with
//! hypercapnic respiratory failure whose target saturation is 88-92%.

/// The level of consciousness, ACVPU: alert, new confusion, responds to voice, to pain, or
/// unresponsive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acvpu {
    Alert,
    Confusion,
    Voice,
    Pain,
    Unresponsive,
}

impl Acvpu {
    pub fn letter(self) -> &'static str {
        match self {
            Acvpu::Alert => "A",
            Acvpu::Confusion => "C",
            Acvpu::Voice => "V",
            Acvpu::Pain => "P",
            Acvpu::Unresponsive => "U",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Acvpu::Alert => "alert",
            Acvpu::Confusion => "new confusion",
            Acvpu::Voice => "responds to voice",
            Acvpu::Pain => "responds to pain",
            Acvpu::Unresponsive => "unresponsive",
        }
    }

    pub fn parse(s: &str) -> Option<Acvpu> {
        Some(match s.to_ascii_lowercase().as_str() {
            "a" | "alert" => Acvpu::Alert,
            "c" | "confused" | "confusion" | "new confusion" => Acvpu::Confusion,
            "v" | "voice" => Acvpu::Voice,
            "p" | "pain" => Acvpu::Pain,
            "u" | "unresponsive" => Acvpu::Unresponsive,
            _ => return None,
        })
    }
}

/// Which SpO2 scale: 1 for most patients, 2 for hypercapnic respiratory failure (target 88-92%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    One,
    Two,
}

/// The seven parameters of one set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    pub respiration_rate: u32,
    pub spo2: u32,
    pub scale: Scale,
    pub on_oxygen: bool,
    pub systolic: u32,
    pub pulse: u32,
    pub consciousness: Acvpu,
    /// °C; scored to one decimal place, as charted.
    pub temperature: f64,
}

/// The clinical risk, from the aggregate score and the single-parameter rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    Low,
    /// A score of 3 in any single parameter, with an aggregate under 5.
    LowMedium,
    Medium,
    High,
}

impl Risk {
    pub fn word(self) -> &'static str {
        match self {
            Risk::Low => "LOW",
            Risk::LowMedium => "LOW-MEDIUM",
            Risk::Medium => "MEDIUM",
            Risk::High => "HIGH",
        }
    }

    /// The response table 2 asks for, in a few words.
    pub fn response(self) -> &'static str {
        match self {
            Risk::Low => "ward-based response",
            Risk::LowMedium => "urgent ward-based response",
            Risk::Medium => "key threshold for urgent response",
            Risk::High => "urgent or emergency response",
        }
    }
}

/// One parameter's score, named for the breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub score: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub total: u8,
    pub risk: Risk,
    pub parts: [Part; 7],
    pub scale: Scale,
}

impl Score {
    /// "NEWS2 7 HIGH: urgent or emergency response".
    pub fn headline(&self) -> String {
        format!(
            "NEWS2 {} {}: {}",
            self.total,
            self.risk.word(),
            self.risk.response()
        )
    }

    /// "RR 2, SpO2 2, O2 2, SBP 2, HR 2, ACVPU 0, T 0".
    pub fn breakdown(&self) -> String {
        self.parts
            .iter()
            .map(|p| format!("{} {}", p.name, p.score))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn respiration_rate(rr: u32) -> u8 {
    match rr {
        0..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        _ => 3,
    }
}

pub fn spo2_scale1(spo2: u32) -> u8 {
    match spo2 {
        0..=91 => 3,
        92..=93 => 2,
        94..=95 => 1,
        _ => 0,
    }
}

/// Scale 2: 88-92% scores 0, as does 93% or more on air; on oxygen a saturation above the
/// target scores again.
pub fn spo2_scale2(spo2: u32, on_oxygen: bool) -> u8 {
    match (spo2, on_oxygen) {
        (0..=83, _) => 3,
        (84..=85, _) => 2,
        (86..=87, _) => 1,
        (88..=92, _) | (_, false) => 0,
        (93..=94, true) => 1,
        (95..=96, true) => 2,
        (_, true) => 3,
    }
}

pub fn air_or_oxygen(on_oxygen: bool) -> u8 {
    if on_oxygen { 2 } else { 0 }
}

pub fn systolic(sbp: u32) -> u8 {
    match sbp {
        0..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        _ => 3,
    }
}

pub fn pulse(hr: u32) -> u8 {
    match hr {
        0..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        _ => 3,
    }
}

pub fn consciousness(level: Acvpu) -> u8 {
    if level == Acvpu::Alert { 0 } else { 3 }
}

/// Scored in tenths of a degree, as the chart's bands are written (35.0, 35.1-36.0, ...).
pub fn temperature(celsius: f64) -> u8 {
    let tenths = (celsius * 10.0).round() as i64;
    match tenths {
        i64::MIN..=350 => 3,
        351..=360 => 1,
        361..=380 => 0,
        381..=390 => 1,
        _ => 2,
    }
}

pub fn risk(total: u8, any_three: bool) -> Risk {
    match total {
        7.. => Risk::High,
        5..=6 => Risk::Medium,
        _ if any_three => Risk::LowMedium,
        _ => Risk::Low,
    }
}

pub fn score(i: &Inputs) -> Score {
    let spo2 = match i.scale {
        Scale::One => spo2_scale1(i.spo2),
        Scale::Two => spo2_scale2(i.spo2, i.on_oxygen),
    };
    let parts = [
        Part {
            name: "RR",
            score: respiration_rate(i.respiration_rate),
        },
        Part {
            name: "SpO2",
            score: spo2,
        },
        Part {
            name: "O2",
            score: air_or_oxygen(i.on_oxygen),
        },
        Part {
            name: "SBP",
            score: systolic(i.systolic),
        },
        Part {
            name: "HR",
            score: pulse(i.pulse),
        },
        Part {
            name: "ACVPU",
            score: consciousness(i.consciousness),
        },
        Part {
            name: "T",
            score: temperature(i.temperature),
        },
    ];
    let total = parts.iter().map(|p| p.score).sum();
    let any_three = parts.iter().any(|p| p.score == 3);
    Score {
        total,
        risk: risk(total, any_three),
        parts,
        scale: i.scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each band of chart 1, every value at and across its edges.
    #[test]
    fn the_published_chart_cell_by_cell() {
        let rr = [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2)];
        let rr_hi = [(24, 2), (25, 3), (60, 3)];
        for (v, s) in rr.iter().chain(&rr_hi) {
            assert_eq!(respiration_rate(*v), *s, "RR {v}");
        }
        for (v, s) in [
            (50, 3),
            (91, 3),
            (92, 2),
            (93, 2),
            (94, 1),
            (95, 1),
            (96, 0),
            (100, 0),
        ] {
            assert_eq!(spo2_scale1(v), s, "SpO2 scale 1 {v}");
        }
        // Scale 2: the same on air and oxygen up to 92%.
        for o2 in [false, true] {
            for (v, s) in [
                (70, 3),
                (83, 3),
                (84, 2),
                (85, 2),
                (86, 1),
                (87, 1),
                (88, 0),
                (92, 0),
            ] {
                assert_eq!(spo2_scale2(v, o2), s, "SpO2 scale 2 {v} oxygen {o2}");
            }
        }
        // 93% or more: 0 on air; on oxygen 93-94 scores 1, 95-96 2, 97 or more 3.
        for v in [93, 95, 97, 100] {
            assert_eq!(spo2_scale2(v, false), 0, "SpO2 scale 2 {v} on air");
        }
        for (v, s) in [(93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3)] {
            assert_eq!(spo2_scale2(v, true), s, "SpO2 scale 2 {v} on oxygen");
        }
        assert_eq!(air_or_oxygen(true), 2);
        assert_eq!(air_or_oxygen(false), 0);
        for (v, s) in [
            (40, 3),
            (90, 3),
            (91, 2),
            (100, 2),
            (101, 1),
            (110, 1),
            (111, 0),
            (219, 0),
            (220, 3),
            (280, 3),
        ] {
            assert_eq!(systolic(v), s, "SBP {v}");
        }
        for (v, s) in [
            (20, 3),
            (40, 3),
            (41, 1),
            (50, 1),
            (51, 0),
            (90, 0),
            (91, 1),
            (110, 1),
            (111, 2),
            (130, 2),
            (131, 3),
            (200, 3),
        ] {
            assert_eq!(pulse(v), s, "HR {v}");
        }
        assert_eq!(consciousness(Acvpu::Alert), 0);
        for level in [
            Acvpu::Confusion,
            Acvpu::Voice,
            Acvpu::Pain,
            Acvpu::Unresponsive,
        ] {
            assert_eq!(consciousness(level), 3, "{level:?}");
        }
        for (v, s) in [
            (33.0, 3),
            (35.0, 3),
            (35.1, 1),
            (36.0, 1),
            (36.1, 0),
            (38.0, 0),
            (38.1, 1),
            (39.0, 1),
            (39.1, 2),
            (41.0, 2),
        ] {
            assert_eq!(temperature(v), s, "T {v}");
        }
        // A value typed with more decimals is scored as charted, to one decimal place.
        assert_eq!(temperature(36.04), 1);
        assert_eq!(temperature(36.05), 0);
    }

    fn normal() -> Inputs {
        Inputs {
            respiration_rate: 16,
            spo2: 97,
            scale: Scale::One,
            on_oxygen: false,
            systolic: 125,
            pulse: 72,
            consciousness: Acvpu::Alert,
            temperature: 36.8,
        }
    }

    #[test]
    fn aggregate_and_risk_bands() {
        let s = score(&normal());
        assert_eq!((s.total, s.risk), (0, Risk::Low));
        // 1-4: low.
        let s = score(&Inputs {
            pulse: 95,
            temperature: 38.5,
            ..normal()
        });
        assert_eq!((s.total, s.risk), (2, Risk::Low));
        // A single parameter scoring 3 with an aggregate of 3: low-medium.
        let s = score(&Inputs {
            consciousness: Acvpu::Confusion,
            ..normal()
        });
        assert_eq!((s.total, s.risk), (3, Risk::LowMedium));
        assert_eq!(
            s.headline(),
            "NEWS2 3 LOW-MEDIUM: urgent ward-based response"
        );
        // 5-6: medium, whether or not a single 3 is among them.
        let s = score(&Inputs {
            on_oxygen: true,
            systolic: 95,
            pulse: 95,
            ..normal()
        });
        assert_eq!((s.total, s.risk), (5, Risk::Medium));
        let s = score(&Inputs {
            respiration_rate: 26,
            spo2: 94,
            temperature: 39.5,
            ..normal()
        });
        assert_eq!((s.total, s.risk), (6, Risk::Medium));
        // 7 or more: high. The example line.
        let s = score(&Inputs {
            temperature: 37.9,
            pulse: 112,
            respiration_rate: 22,
            systolic: 92,
            spo2: 93,
            on_oxygen: true,
            ..normal()
        });
        assert_eq!((s.total, s.risk), (10, Risk::High));
        assert_eq!(
            s.breakdown(),
            "RR 2, SpO2 2, O2 2, SBP 2, HR 2, ACVPU 0, T 0"
        );
        // The highest possible.
        let s = score(&Inputs {
            respiration_rate: 30,
            spo2: 80,
            scale: Scale::One,
            on_oxygen: true,
            systolic: 80,
            pulse: 140,
            consciousness: Acvpu::Unresponsive,
            temperature: 34.0,
        });
        assert_eq!((s.total, s.risk), (20, Risk::High));
    }

    #[test]
    fn the_single_parameter_rule_only_below_five() {
        for total_from_others in 0..=1u8 {
            assert_eq!(risk(3 + total_from_others, true), Risk::LowMedium);
        }
        assert_eq!(risk(4, false), Risk::Low);
        assert_eq!(risk(5, true), Risk::Medium);
        assert_eq!(risk(7, true), Risk::High);
    }

    #[test]
    fn scale_two_changes_only_the_saturation_score() {
        let copd = Inputs {
            spo2: 89,
            on_oxygen: true,
            scale: Scale::Two,
            ..normal()
        };
        let s = score(&copd);
        assert_eq!(s.parts[1].score, 0);
        assert_eq!(s.total, 2);
        // The same saturation on scale 1 scores 3.
        let s = score(&Inputs {
            scale: Scale::One,
            ..copd
        });
        assert_eq!(s.parts[1].score, 3);
        // Over-oxygenated on scale 2.
        let s = score(&Inputs { spo2: 98, ..copd });
        assert_eq!(s.parts[1].score, 3);
        assert_eq!((s.total, s.risk), (5, Risk::Medium));
    }
}
