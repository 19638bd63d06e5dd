//! `bedside check-config`: the settings a user would get, and every problem in them.

use anyhow::Result;

use super::Cli;
use super::workstation::settings_inputs;

#[derive(clap::Args)]
pub struct Args {
    /// Also list every action, its description and its keys
    #[arg(long)]
    actions: bool,
    /// Also list every theme scope
    #[arg(long)]
    scopes: bool,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args { actions, scopes } = args;
    let inputs = settings_inputs(cli);
    let settings = crate::workstation::settings::Settings::gather(&inputs);
    if actions {
        println!(
            "{}",
            crate::workstation::settings::actions_report(&settings.keymap)
        );
    }
    if scopes {
        println!("{}", crate::workstation::settings::scopes_report());
    }
    print!(
        "{}",
        crate::workstation::settings::check_report(&inputs, &settings)
    );
    if !settings.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
