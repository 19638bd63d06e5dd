//! Vital signs, laboratory results and their reports, with reference ranges and flags.

use super::*;

pub(super) const HEMOGLOBIN: &str = "718-7";
pub(super) const HEMATOCRIT: &str = "4544-3";
pub(super) const SODIUM: &str = "2951-2";
pub(super) const CHLORIDE: &str = "2075-0";
pub(super) const BICARBONATE: &str = "2028-9";

/// The interpretation a value earns against its analyte's ranges (as a lab would flag it).
fn interpretation(a: &Analyte, v: f64) -> (&'static str, &'static str) {
    if a.critical_high.is_some_and(|c| v >= c) {
        ("HH", "Critical high")
    } else if a.critical_low.is_some_and(|c| v <= c) {
        ("LL", "Critical low")
    } else if v > a.high {
        ("H", "High")
    } else if v < a.low {
        ("L", "Low")
    } else {
        ("N", "Normal")
    }
}

impl Generator {
    pub(super) fn vitals(&mut self, chart: &mut Chart, enc: &str, when: i64) {
        for v in [&HEART_RATE, &RESP_RATE, &TEMPERATURE, &SPO2] {
            let value = self.rng.random_range(v.low..=v.high);
            let obs = self.observation(chart, enc, when, "vital-signs", v.loinc, v.name);
            let mut obs = obs;
            obs["valueQuantity"] = quantity(value, v.decimals, v.unit);
            chart.out.push(obs);
        }
        if self.chance(0.3) {
            let v = &WEIGHT;
            let mut obs = self.observation(chart, enc, when, "vital-signs", v.loinc, v.name);
            obs["valueQuantity"] =
                quantity(self.rng.random_range(v.low..=v.high), v.decimals, v.unit);
            chart.out.push(obs);
        }
        let systolic = self.rng.random_range(100.0..175.0);
        // A pulse pressure a body has: diastolic a little over half the systolic.
        let diastolic: f64 = systolic * self.rng.random_range(0.55..0.68);
        let mut bp = self.observation(chart, enc, when, "vital-signs", BP_PANEL.0, BP_PANEL.1);
        let flag = |v: f64, high: f64| if v > high { Some(("H", "High")) } else { None };
        bp["component"] = json!([
            component(SYSTOLIC, systolic, flag(systolic, 140.0)),
            component(DIASTOLIC, diastolic, flag(diastolic, 90.0)),
        ]);
        chart.out.push(bp);
    }

    pub(super) fn observation(
        &mut self,
        chart: &Chart,
        enc: &str,
        when: i64,
        category: &str,
        code: &str,
        name: &str,
    ) -> Value {
        json!({
            "resourceType": "Observation", "id": self.id(), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
            "code": {"coding": [{"system": LOINC, "code": code, "display": name}], "text": name},
            "subject": subject(&chart.patient), "encounter": reference("Encounter", enc),
            "effectiveDateTime": datetime(when)
        })
    }

    /// A lab value: mostly normal, sometimes high or low, now and then critical.
    pub(super) fn lab_value(&mut self, a: &Analyte) -> (f64, Option<(&'static str, &'static str)>) {
        let span = a.high - a.low;
        let roll = self.rng.random_range(0..100);
        // About 2% critical high and 2% critical low, each strictly beyond its limit.
        match (roll, a.critical_high, a.critical_low) {
            (0..2, Some(c), _) => {
                return (
                    c * self.rng.random_range(1.02..1.3),
                    Some(("HH", "Critical high")),
                );
            }
            (2..4, _, Some(c)) => {
                return (
                    c * self.rng.random_range(0.8..0.98),
                    Some(("LL", "Critical low")),
                );
            }
            _ => {}
        }
        if roll < 16 {
            return (
                a.high + span * self.rng.random_range(0.05..0.5),
                Some(("H", "High")),
            );
        }
        if roll < 24 && a.low > 0.0 {
            return (
                (a.low - span * self.rng.random_range(0.05..0.3)).max(a.low * 0.3),
                Some(("L", "Low")),
            );
        }
        (self.rng.random_range(a.low..=a.high), Some(("N", "Normal")))
    }

    pub(super) fn lab(
        &mut self,
        chart: &mut Chart,
        enc: &str,
        when: i64,
        a: &Analyte,
        range: Option<(f64, f64)>,
    ) -> String {
        let (value, interp) = match range {
            Some((lo, hi)) => {
                let v = if lo < hi {
                    self.rng.random_range(lo..=hi)
                } else {
                    lo
                };
                (v, Some(interpretation(a, v)))
            }
            None => self.lab_value(a),
        };
        let mut obs = self.observation(chart, enc, when, "laboratory", a.loinc, a.name);
        obs["valueQuantity"] = quantity(value, a.decimals, a.unit);
        if let Some((code, display)) = interp {
            obs["interpretation"] =
                json!([{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]);
        }
        obs["referenceRange"] = json!([{
            "low": quantity(a.low, a.decimals, a.unit), "high": quantity(a.high, a.decimals, a.unit)
        }]);
        let id = obs["id"].as_str().unwrap_or_default().to_string();
        chart.out.push(obs);
        id
    }

    pub(super) fn panel(&mut self, chart: &mut Chart, enc: &str, when: i64, panel: &Panel) {
        let mut values: Vec<f64> = panel.analytes.iter().map(|a| self.lab_value(a).0).collect();
        // Values that go together are drawn together: haematocrit about three times the
        // haemoglobin; chloride leaving a normal anion gap with sodium and bicarbonate.
        let at = |code: &str| panel.analytes.iter().position(|a| a.loinc == code);
        if let (Some(hb), Some(hct)) = (at(HEMOGLOBIN), at(HEMATOCRIT)) {
            values[hct] = values[hb] * 3.0 * self.rng.random_range(0.97..1.03);
        }
        if let (Some(na), Some(cl), Some(co2)) = (at(SODIUM), at(CHLORIDE), at(BICARBONATE)) {
            values[cl] = values[na] - values[co2] - self.rng.random_range(8.0..14.0);
        }
        let results: Vec<String> = panel
            .analytes
            .iter()
            .zip(values)
            .map(|(a, v)| self.lab(chart, enc, when, a, Some((v, v))))
            .collect();
        self.report(chart, enc, when, panel.loinc, panel.name, results);
    }

    pub(super) fn single(
        &mut self,
        chart: &mut Chart,
        enc: &str,
        when: i64,
        a: &Analyte,
        range: Option<(f64, f64)>,
    ) {
        let id = self.lab(chart, enc, when, a, range);
        self.report(chart, enc, when, a.loinc, a.name, vec![id]);
    }

    pub(super) fn report(
        &mut self,
        chart: &mut Chart,
        enc: &str,
        when: i64,
        code: &str,
        name: &str,
        results: Vec<String>,
    ) {
        let result: Vec<Value> = results
            .iter()
            .map(|id| reference("Observation", id))
            .collect();
        chart.out.push(json!({
            "resourceType": "DiagnosticReport", "id": self.id(), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB", "display": "Laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": code, "display": name}], "text": name},
            "subject": subject(&chart.patient), "encounter": reference("Encounter", enc),
            "effectiveDateTime": datetime(when), "issued": instant((when + 2 * HOUR).min(self.now)),
            "result": result
        }));
    }
}
