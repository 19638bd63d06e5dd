//! `bedside support ...`: the support desk's lists from the command line, for tickets and
//! scripts, as a table, CSV or NDJSON. Works against a server (`--server`, with `--token` or
//! `--user`, whose password is read from the first line of standard input).

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::Cli;
use crate::workstation::client::FhirClient;
use crate::workstation::support::{self, Table};

const TIMEOUT: Duration = Duration::from_secs(120);
/// The most access-log records one run writes.
const MAX_ACCESSES: usize = 100_000;

#[derive(Args)]
pub struct SupportArgs {
    #[command(subcommand)]
    what: SupportCommand,
    /// Sign in as this user (the password is read from the first line of standard input)
    /// instead of --token
    #[arg(long, global = true)]
    user: Option<String>,
    /// Write CSV (with a header line)
    #[arg(long, global = true, conflicts_with = "ndjson")]
    csv: bool,
    /// Write NDJSON (one JSON object a line)
    #[arg(long, global = true)]
    ndjson: bool,
}

#[derive(Subcommand)]
enum SupportCommand {
    /// Pairs of patient records that may be one person, best first, with why
    Duplicates {
        /// Only the sure matches
        #[arg(long)]
        sure: bool,
        /// At most this many pairs
        #[arg(long, default_value_t = 500)]
        limit: usize,
    },
    /// The data-quality scan: missing references, records with no patient, future dates,
    /// shared identifiers, stays never ended
    Quality,
    /// The server's state: counts, sizes, audit volume, sign-in failures, slow requests
    Status,
    /// A record's versions: when, how, by whom, and which fields changed from the one before
    History {
        /// The record, Type/id (Observation/123)
        reference: String,
    },
    /// A patient's chart as it was at a moment, rebuilt from history
    AsOf {
        /// The patient (id)
        patient: String,
        /// The moment (2026-12-01T03:00:00Z, or a date)
        at: String,
    },
    /// The HL7 interface's message log: each message, its status, its ACK, what it wrote
    Messages {
        /// Only those of this status: received, applied, rejected, error, waiting
        #[arg(long)]
        status: Option<String>,
        /// At most this many, newest first
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The access log of a patient, or of a user across patients
    AccessLog {
        /// The patient (id)
        #[arg(long)]
        patient: Option<String>,
        /// The user (username)
        #[arg(long = "by")]
        by: Option<String>,
        /// physician, nurse, support, admin or clerk
        #[arg(long)]
        role: Option<String>,
        /// read, search-type, create, update, login, break-glass...
        #[arg(long)]
        action: Option<String>,
        /// From this date (YYYY-MM-DD or an instant)
        #[arg(long)]
        since: Option<String>,
        /// Up to this date
        #[arg(long)]
        until: Option<String>,
        /// Only emergency (break-the-glass) access
        #[arg(long)]
        emergency: bool,
    },
}

fn write(table: &Table, args: &SupportArgs) {
    if args.csv {
        print!("{}", table.csv());
    } else if args.ndjson {
        print!("{}", table.ndjson());
    } else {
        let widths: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                table
                    .rows
                    .iter()
                    .map(|r| r[i].chars().count().min(60))
                    .max()
                    .unwrap_or(0)
                    .max(c.len())
            })
            .collect();
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let c: String = c.chars().take(60).collect();
                    format!("{c:<w$}")
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        println!(
            "{}",
            line(table.columns.iter().map(|c| c.to_string()).collect())
        );
        for r in &table.rows {
            println!("{}", line(r.clone()));
        }
    }
}

async fn client(cli: &Cli, args: &SupportArgs) -> Result<FhirClient> {
    let settings =
        crate::workstation::settings::Settings::gather(&super::workstation::settings_inputs(cli));
    let Some(target) = super::workstation::target(cli, &settings.config)? else {
        bail!("no server: give --server URL (or BEDSIDE_SERVER, or server in config.toml)");
    };
    let transport = super::workstation::transport(cli, &settings.config, target.ca_cert.as_ref())?;
    let client = FhirClient::with_transport(&target.url, cli.token.clone(), &transport)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(user) = &args.user {
        let mut password = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut password)
            .context("cannot read the password from standard input")?;
        let password =
            crate::secret::Secret::new(password.trim_end_matches(['\r', '\n']).to_string());
        client
            .login(user, password.expose(), None)
            .await
            .map_err(|e| anyhow::anyhow!("cannot sign in as {user}: {e}"))?;
    } else if !client.has_token() {
        bail!(
            "not signed in: give --token (or BEDSIDE_TOKEN), or --user NAME with the password on standard input"
        );
    }
    Ok(client)
}

fn failed(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub fn run(cli: &Cli, args: SupportArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = client(cli, &args).await?;
        let table = match &args.what {
            SupportCommand::Duplicates { sure, limit } => {
                let mut pairs = Vec::new();
                loop {
                    let mut params = vec![
                        ("_count", "500".to_string()),
                        ("_offset", pairs.len().to_string()),
                    ];
                    if *sure {
                        params.push(("sure", "true".into()));
                    }
                    let answer = client
                        .get("Patient/$duplicates", &params, TIMEOUT)
                        .await
                        .map_err(failed)?;
                    let (total, page) = support::duplicates(&answer).map_err(failed)?;
                    let empty = page.is_empty();
                    pairs.extend(page);
                    if empty || pairs.len() >= total.min(*limit) {
                        break;
                    }
                }
                pairs.truncate(*limit);
                support::duplicates_table(&pairs)
            }
            SupportCommand::Quality => {
                let answer = client.get("$data-quality", &[], TIMEOUT).await.map_err(failed)?;
                support::quality_table(&support::quality(&answer).map_err(failed)?)
            }
            SupportCommand::History { reference } => {
                let reference = reference.trim_start_matches('/').to_string();
                let valid = reference.split('/').count() == 2
                    && reference.split('/').all(|s| {
                        !s.is_empty()
                            && s.chars()
                                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
                    });
                if !valid {
                    bail!("{reference:?} is not Type/id (Observation/123)");
                }
                let history = client
                    .get(
                        &format!("{reference}/_history"),
                        &[("_count", "1000".into())],
                        TIMEOUT,
                    )
                    .await
                    .map_err(failed)?;
                let versions = support::raw::versions(&history).map_err(failed)?;
                let audit = client
                    .get(
                        "AuditEvent",
                        &[("entity", reference.clone()), ("_count", "500".into())],
                        TIMEOUT,
                    )
                    .await;
                let writers = match &audit {
                    Ok(a) => support::writers(&reference, a).unwrap_or_default(),
                    Err(e) => {
                        eprintln!("who wrote each version is not known: {e}");
                        Vec::new()
                    }
                };
                support::history_table(&versions, &writers)
            }
            SupportCommand::AsOf { patient, at } => {
                let answer = client
                    .get(
                        &format!("Patient/{}/$as-of", patient.trim_start_matches("Patient/")),
                        &[("at", at.clone())],
                        TIMEOUT,
                    )
                    .await
                    .map_err(failed)?;
                let utc = chrono::Offset::fix(&chrono::Utc);
                let patient = patient.trim_start_matches("Patient/");
                support::as_of_table(&support::as_of(&answer, patient, utc).map_err(failed)?)
            }
            SupportCommand::Messages { status, limit } => {
                let mut params = vec![("_count", limit.clamp(&1, &1000).to_string())];
                if let Some(s) = status {
                    params.push(("status", s.clone()));
                }
                let answer = client
                    .get("$hl7-messages", &params, TIMEOUT)
                    .await
                    .map_err(failed)?;
                support::messages_table(&answer).map_err(failed)?
            }
            SupportCommand::Status => {
                let answer = client.get("$server-status", &[], TIMEOUT).await.map_err(failed)?;
                support::status_table(&support::status(&answer).map_err(failed)?)
            }
            SupportCommand::AccessLog {
                patient,
                by,
                role,
                action,
                since,
                until,
                emergency,
            } => {
                if patient.is_none() && by.is_none() {
                    bail!("name the patient (--patient ID) or the user (--by USERNAME) whose log you want");
                }
                let mut params: Vec<(&str, String)> = vec![("_count", "500".into())];
                for (k, v) in [
                    ("patient", patient),
                    ("altid", by),
                    ("role", role),
                    ("subtype", action),
                ] {
                    if let Some(v) = v {
                        params.push((k, v.clone()));
                    }
                }
                if let Some(s) = since {
                    params.push(("date", format!("ge{s}")));
                }
                if let Some(u) = until {
                    params.push(("date", format!("le{u}")));
                }
                if *emergency {
                    params.push(("emergency", "true".into()));
                }
                let mut rows = Vec::new();
                let mut page = client.get("AuditEvent", &params, TIMEOUT).await.map_err(failed)?;
                loop {
                    rows.extend(support::accesses(&page).map_err(failed)?);
                    let next = page["link"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|l| l["relation"] == "next")
                        .and_then(|l| l["url"].as_str())
                        .map(str::to_string);
                    match next {
                        Some(url) if rows.len() < MAX_ACCESSES => {
                            page = client.follow(&url, TIMEOUT).await.map_err(failed)?;
                        }
                        Some(_) => {
                            eprintln!("stopped at {MAX_ACCESSES} records: narrow the dates");
                            break;
                        }
                        None => break,
                    }
                }
                support::access_table(&rows)
            }
        };
        write(&table, &args);
        Ok(())
    })
}
