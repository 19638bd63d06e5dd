//! `bedside demo`: the workstation on a seeded demo database served in-process.

use std::io::IsTerminal;
use std::net::SocketAddr;

use anyhow::{Context, Result};

use super::seed::seed_with_progress;
use super::serve::serve_until_signal;
use super::workstation::{config_file, idle_lock, signing, storage, workstation_options};
use super::{Cli, db_key, open_store};
use crate::server::ServerConfig;
use crate::server::auth::Auth;
use crate::server::seed::{Depth, SeedOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Patients to seed on first run
    #[arg(long, default_value_t = 1000)]
    patients: u64,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args { patients } = args;
    if std::io::stdout().is_terminal() {
        super::logging::workstation();
    } else {
        super::logging::server();
    }
    let store = open_store(&crate::paths::demo_db(patients)?, db_key(cli)?.as_ref())?;
    // The marker is written last, so a first run that was interrupted seeds again.
    if store.info("demo-seeded")?.is_none() {
        eprintln!("first run: seeding {patients} synthetic patients");
        seed_with_progress(&store, &SeedOptions::new(patients, Depth::Full))?;
        store.set_info("demo-seeded", &patients.to_string())?;
    }
    let auth = Auth::new(store.clone());
    crate::server::auth::ensure_demo_users(&auth).context("cannot add the demo users")?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        // No terminal (a script, CI): serve the demo database for other clients.
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let config = ServerConfig::default();
        return serve_until_signal(store, loopback, config, None, |base| {
            println!("bedside demo: no terminal, so no workstation");
            println!("FHIR R4 server at {base}; Ctrl-C stops it");
            println!(
                "sign in with POST /auth/login as {} (or demo.nurse, demo.support, demo.admin), password {}",
                crate::server::auth::DEMO_PHYSICIAN,
                crate::server::auth::DEMO_PASSWORD
            );
        });
    }
    // The demo signs in as its physician, so the first command just works.
    let issued = auth
        .issue_for(crate::server::auth::DEMO_PHYSICIAN)
        .context("cannot sign in the demo physician")?;
    let (config, mut warnings) = config_file();
    let idle = idle_lock(cli, &config, &mut warnings);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = crate::server::spawn_local(store)
            .await
            .context("cannot start the embedded server")?;
        let mut opts = workstation_options(server.base_url(), Some(issued.token), cli);
        opts.user = Some(crate::workstation::client::SignedIn {
            username: issued.session.username.clone(),
            name: issued.session.name.clone(),
            role: issued.session.role.as_str().to_string(),
            practitioner: issued.session.practitioner.clone(),
        });
        opts.demo_password = Some(crate::server::auth::DEMO_PASSWORD.to_string());
        opts.idle_lock = Some(idle);
        opts.signing = signing(&config);
        // The demo's port changes every run; its offline data belongs to the database.
        opts.storage = storage(&format!("demo-{patients}"), &config, &mut warnings);
        opts.vault_secret = Some(crate::server::auth::DEMO_PASSWORD.to_string());
        opts.warnings.append(&mut warnings);
        let result = crate::workstation::run_terminal(opts).await;
        server.stop().await;
        result
    })
}
