//! `bedside user`: the embedded server's accounts, on the database file directly.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

use super::open_store;
use crate::server::auth::{Auth, Role};
use crate::server::store::DbKey;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user: prints a one-time password they replace at first sign-in (or, with
    /// --password-stdin, sets the password read from standard input)
    Add {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Full name as shown on notes and orders, e.g. "Dr Jane Doe"
        #[arg(long, default_value = "")]
        name: String,
        /// Set this password, read from the first line of standard input (for scripts), instead
        /// of a one-time password
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users, their roles and state
    List {
        #[arg(long)]
        db: PathBuf,
    },
    /// Disable an account (its tokens stop working at once)
    Disable {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account
    Enable {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Issue a one-time password (or set the one on --password-stdin), clear a lockout and
    /// sign the user out everywhere
    ResetPassword {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Enrol a TOTP second factor: prints the otpauth URI and a QR code to scan
    Totp {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Require (or, with --off, stop requiring) a second factor for every user of a role
    RequireMfa {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        off: bool,
    },
}

/// A password from the first line of standard input (`--password-stdin`, for scripts).
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run(action: UserCommand, key: Option<&DbKey>) -> Result<()> {
    let auth = |db: &Path| -> Result<Auth> { Ok(Auth::new(open_store(db, key)?)) };
    match action {
        UserCommand::Add {
            db,
            username,
            role,
            name,
            password_stdin,
        } => {
            let auth = auth(&db)?;
            if password_stdin {
                let password = read_password()?;
                Auth::check_policy(&username, &password)?;
                let user = auth.add_user(&username, &name, role, &password)?;
                println!(
                    "added {} ({}) as {}",
                    user.username,
                    user.name,
                    user.role.as_str()
                );
            } else {
                let (user, one_time) = auth.add_user_one_time(&username, &name, role)?;
                println!(
                    "added {} ({}) as {}",
                    user.username,
                    user.name,
                    user.role.as_str()
                );
                println!("one-time password: {one_time}");
                println!("give it to {username} in person; they choose their own at first sign-in");
            }
        }
        UserCommand::List { db } => {
            let auth = auth(&db)?;
            let mfa = auth.mfa_roles()?;
            println!(
                "{:<20} {:<10} {:<6} {:<9} NAME",
                "USERNAME", "ROLE", "TOTP", "STATE"
            );
            for u in auth.list_users()? {
                let state = if u.disabled {
                    "disabled"
                } else if u.locked {
                    "locked"
                } else {
                    "active"
                };
                let totp = match (u.totp, mfa.contains(&u.role)) {
                    (true, _) => "yes",
                    (false, true) => "NEEDED",
                    (false, false) => "no",
                };
                println!(
                    "{:<20} {:<10} {:<6} {:<9} {}",
                    u.username,
                    u.role.as_str(),
                    totp,
                    state,
                    u.name
                );
            }
            if !mfa.is_empty() {
                let roles: Vec<&str> = mfa.iter().map(|r| r.as_str()).collect();
                println!("second factor required for: {}", roles.join(", "));
            }
        }
        UserCommand::Disable { db, username } => {
            auth(&db)?.set_disabled(&username, true)?;
            println!("{username} is disabled and signed out");
        }
        UserCommand::Enable { db, username } => {
            auth(&db)?.set_disabled(&username, false)?;
            println!("{username} is enabled");
        }
        UserCommand::ResetPassword {
            db,
            username,
            password_stdin,
        } => {
            let auth = auth(&db)?;
            auth.user(&username)?;
            if password_stdin {
                let password = read_password()?;
                Auth::check_policy(&username, &password)?;
                auth.reset_password(&username, &password)?;
                println!("{username}: new password set; lockout cleared; signed out everywhere");
            } else {
                let one_time = auth.reset_one_time(&username)?;
                println!("{username}: lockout cleared; signed out everywhere");
                println!("one-time password: {one_time}");
                println!("they choose their own at their next sign-in");
            }
        }
        UserCommand::Totp { db, username } => {
            let (secret, uri) = auth(&db)?.enrol_totp(&username)?;
            let qr = qrcode::QrCode::new(uri.as_bytes()).context("cannot draw the QR code")?;
            let drawn = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            println!("{drawn}");
            println!("Scan this with an authenticator app, or enter the key by hand.");
            println!("key: {secret}");
            println!("uri: {uri}");
            println!("{username} will be asked for a 6-digit code at every sign-in.");
        }
        UserCommand::RequireMfa { db, role, off } => {
            auth(&db)?.require_mfa(role, !off)?;
            if off {
                println!(
                    "the {} role no longer requires a second factor",
                    role.as_str()
                );
            } else {
                println!(
                    "every {} must now sign in with a TOTP code (enrol each with `bedside user totp`)",
                    role.as_str()
                );
            }
        }
    }
    Ok(())
}
