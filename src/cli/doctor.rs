//! `bedside doctor`: what bedside sees of the terminal, the settings and the server.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use super::Cli;
use super::workstation::{settings_inputs, transport};

pub fn run(cli: &Cli) -> Result<()> {
    let inputs = settings_inputs(cli);
    let settings = crate::workstation::settings::Settings::gather(&inputs);
    let size = std::io::stdout()
        .is_terminal()
        .then(crossterm::terminal::size)
        .and_then(Result::ok);
    println!("bedside {}", env!("CARGO_PKG_VERSION"));
    print!(
        "{}",
        crate::workstation::settings::terminal_report(&inputs.env, size, &settings)
    );
    print!(
        "{}",
        crate::workstation::settings::paths_report(
            &inputs,
            crate::paths::vault_root().ok().as_deref(),
            crate::paths::cache_root().ok().as_deref(),
        )
    );
    match settings.problems.len() {
        0 => println!("settings  no problems"),
        n => println!("settings  {n} problem(s): run `bedside check-config`"),
    }
    let Some(target) = super::workstation::target(cli, &settings.config)? else {
        println!(
            "server    none set (--server, BEDSIDE_SERVER, --profile or server in config.toml)"
        );
        return Ok(());
    };
    let server = target.url.clone();
    if let Some(name) = &target.profile {
        println!(
            "profile   {name}: {server}, signing in with {}",
            target.sign_in.as_str()
        );
    }
    let transport = transport(cli, &settings.config, target.ca_cert.as_ref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let line = runtime.block_on(crate::workstation::client::probe_server(
        &server,
        &transport,
        cli.token.clone(),
    ));
    println!("server    {server}: {line}");
    Ok(())
}
