//! `bedside seed`: a deterministic, clinically plausible synthetic population written through
//! the same store code as the API. The same seed and anchor date give the same data.

mod catalog;
mod chart;
pub(crate) mod names;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::server::store::{Result, Store};

pub use catalog::LOINC;
pub use chart::{MRN_SYSTEM, is_restricted_index};
pub use names::WARDS;

/// How much of a chart each patient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Depth {
    /// Demographics only (for million-patient search benchmarks).
    Minimal,
    /// Encounters, vitals, labs, problems, allergies, medications, immunizations, notes.
    Full,
}

impl SeedOptions {
    /// The usual options: seed 42, today as the anchor, and two very large charts when the
    /// population is big enough to hide them (100+ patients with full charts).
    pub fn new(patients: u64, depth: Depth) -> SeedOptions {
        let large_charts = if patients >= 100 && depth == Depth::Full {
            2
        } else {
            0
        };
        SeedOptions {
            patients,
            seed: 42,
            anchor: chrono::Utc::now().date_naive(),
            depth,
            large_charts,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub patients: u64,
    pub seed: u64,
    /// "Today" for the synthetic charts: admissions are recent relative to it.
    pub anchor: NaiveDate,
    pub depth: Depth,
    /// How many patients get a very large chart (10,000+ resources).
    pub large_charts: u64,
}

#[derive(Debug, Default, Clone)]
pub struct SeedSummary {
    pub patients: u64,
    pub resources: u64,
}

/// Resources per write transaction. A commit writes every page the transaction dirtied, and
/// index inserts land all over the tree, so larger transactions share pages between more
/// inserts; 10,000 resources is still well under a second of writing.
const BATCH_RESOURCES: usize = 10_000;

/// Seeds the population, calling `progress(patients_done)` after every batch.
pub fn seed(
    store: &Store,
    opts: &SeedOptions,
    mut progress: impl FnMut(u64),
) -> Result<SeedSummary> {
    let mut generator =
        chart::Generator::new(ChaCha8Rng::seed_from_u64(opts.seed), opts.seed, opts.anchor);
    let mut summary = SeedSummary::default();
    let _bulk = store.bulk_mode()?;
    summary.resources += write_all(store, generator.facility())?;
    // Charts are generated on one core while the other writes the previous batch.
    let (send, batches) = std::sync::mpsc::sync_channel::<(u64, Vec<Value>)>(2);
    let (patients, depth, large_charts) = (opts.patients, opts.depth, opts.large_charts);
    let producer = std::thread::spawn(move || {
        let mut batch = Vec::new();
        for index in 0..patients {
            batch.extend(generator.patient(index, depth, index < large_charts));
            let last = index + 1 == patients;
            if (batch.len() >= BATCH_RESOURCES || last)
                && send.send((index + 1, std::mem::take(&mut batch))).is_err()
            {
                return; // the writer stopped on an error
            }
        }
    });
    for (done, resources) in batches {
        summary.resources += write_all(store, resources)?;
        summary.patients = done;
        progress(done);
    }
    // A generator that panicked ends the channel early: say so rather than seed fewer patients.
    if producer.join().is_err() || summary.patients < opts.patients {
        return Err(crate::server::store::StoreError::invalid(format!(
            "the synthetic data generator stopped after {} of {} patients",
            summary.patients, opts.patients
        )));
    }
    store.optimize()?;
    Ok(summary)
}

fn write_all(store: &Store, resources: Vec<Value>) -> Result<u64> {
    let n = resources.len() as u64;
    store.write(|tx| {
        for resource in resources {
            let rtype = resource["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let id = resource["id"].as_str().unwrap_or_default().to_string();
            tx.upsert(&rtype, &id, resource)?;
        }
        Ok(())
    })?;
    Ok(n)
}
