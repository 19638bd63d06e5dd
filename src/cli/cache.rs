//! `bedside cache`: the workstation's encrypted chart cache and outbox on this machine.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum CacheCommand {
    /// Per user: cached charts, their size and age, and notes still in the outbox (no key needed)
    Stats {
        /// Only this username
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete cached charts (all users, or one); the outbox and drafts are kept
    Purge {
        /// Only this username
        #[arg(long)]
        user: Option<String>,
        /// Also delete the key, outbox and drafts (a forgotten passphrase; refused while notes are unsent, unless --force)
        #[arg(long)]
        everything: bool,
        /// Delete even when notes in the outbox have not reached the server
        #[arg(long)]
        force: bool,
    },
}

/// One user's offline data on this machine, found from the folders' own records.
struct LocalUser {
    username: String,
    server: String,
    vault_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
}

fn local_users(vault_root: &Path, cache_root: &Path) -> Vec<LocalUser> {
    let mut users: Vec<LocalUser> = crate::workstation::vault::owners(vault_root)
        .into_iter()
        .map(|(dir, server, username)| LocalUser {
            cache_dir: Some(cache_root.join(crate::workstation::vault::slug(&server, &username)))
                .filter(|d| d.exists()),
            vault_dir: Some(dir),
            username,
            server,
        })
        .collect();
    // A cache whose key folder is gone (it can no longer be read, but it is still listed).
    for entry in std::fs::read_dir(cache_root)
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = entry.path();
        if users.iter().any(|u| u.cache_dir.as_ref() == Some(&dir))
            || entry
                .file_name()
                .to_string_lossy()
                .contains(crate::workstation::runtime::offline::WIPING)
        {
            continue;
        }
        let owner = rusqlite::Connection::open_with_flags(
            dir.join("charts.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row("SELECT username, server FROM owner", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
        });
        let (username, server) = owner.unwrap_or_else(|_| ("(unknown)".into(), String::new()));
        users.push(LocalUser {
            username,
            server,
            vault_dir: None,
            cache_dir: Some(dir),
        });
    }
    users
}

pub fn run(action: CacheCommand) -> Result<()> {
    use crate::workstation::vault::cache::ChartCache;
    use crate::workstation::vault::outbox::Outbox;
    let vault_root = crate::paths::vault_root()?;
    let cache_root = crate::paths::cache_root()?;
    let wanted =
        |u: &LocalUser, only: &Option<String>| only.as_ref().is_none_or(|w| *w == u.username);
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into())
    };
    match action {
        CacheCommand::Stats { user } => {
            println!("charts in {}", cache_root.display());
            println!("keys, outboxes and drafts in {}", vault_root.display());
            println!(
                "{:<18} {:>6} {:>9} {:>9} {:<16} {:<16} {:>6} {:>6}  SERVER",
                "USER", "CHARTS", "RESOURCES", "SIZE", "OLDEST", "NEWEST", "OUTBOX", "DRAFTS"
            );
            let mut shown = 0;
            for u in local_users(&vault_root, &cache_root)
                .iter()
                .filter(|u| wanted(u, &user))
            {
                let stats = u
                    .cache_dir
                    .as_ref()
                    .map(|d| ChartCache::stats(&d.join("charts.db")))
                    .transpose()
                    .unwrap_or_else(|e| {
                        eprintln!("{}: cannot read the cache ({e})", u.username);
                        None
                    })
                    .unwrap_or_default();
                let unsent = u
                    .vault_dir
                    .as_ref()
                    .map(|d| Outbox::unsent_at(&d.join("outbox.db")).unwrap_or(0))
                    .unwrap_or(0);
                let drafts = u
                    .vault_dir
                    .as_ref()
                    .and_then(|d| std::fs::read_dir(d.join("drafts")).ok())
                    .map(|r| {
                        r.flatten()
                            .filter(|e| e.path().extension().is_some_and(|x| x == "draft"))
                            .count()
                    })
                    .unwrap_or(0);
                println!(
                    "{:<18} {:>6} {:>9} {:>8.1}M {:<16} {:<16} {:>6} {:>6}  {}",
                    u.username,
                    stats.charts,
                    stats.resources,
                    stats.bytes as f64 / 1_048_576.0,
                    when(stats.oldest_ms),
                    when(stats.newest_ms),
                    unsent,
                    drafts,
                    u.server
                );
                shown += 1;
            }
            if shown == 0 {
                println!(
                    "(nothing cached{})",
                    user.map(|u| format!(" for {u}")).unwrap_or_default()
                );
            }
            for entry in std::fs::read_dir(&vault_root)
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.contains(".set-aside-") {
                    println!(
                        "set aside (sealed with an earlier password): {}",
                        entry.path().display()
                    );
                }
            }
            Ok(())
        }
        CacheCommand::Purge {
            user,
            everything,
            force,
        } => {
            let users: Vec<LocalUser> = local_users(&vault_root, &cache_root)
                .into_iter()
                .filter(|u| wanted(u, &user))
                .collect();
            if users.is_empty() {
                println!(
                    "nothing to purge{}",
                    user.map(|u| format!(" for {u}")).unwrap_or_default()
                );
                return Ok(());
            }
            if everything && !force {
                let unsent: Vec<String> = users
                    .iter()
                    .filter_map(|u| {
                        let n = Outbox::unsent_at(&u.vault_dir.as_ref()?.join("outbox.db")).ok()?;
                        (n > 0).then(|| format!("{} ({n})", u.username))
                    })
                    .collect();
                if !unsent.is_empty() {
                    anyhow::bail!(
                        "notes in the outbox have not reached the server for: {}. Sign in and let them send, or add --force to delete them",
                        unsent.join(", ")
                    );
                }
            }
            let mut charts = 0;
            for u in &users {
                if let Some(dir) = &u.cache_dir {
                    charts += ChartCache::stats(&dir.join("charts.db"))
                        .map(|s| s.charts)
                        .unwrap_or(0);
                    std::fs::remove_dir_all(dir)
                        .with_context(|| format!("cannot delete {}", dir.display()))?;
                }
                if everything && let Some(dir) = &u.vault_dir {
                    std::fs::remove_dir_all(dir)
                        .with_context(|| format!("cannot delete {}", dir.display()))?;
                }
            }
            println!(
                "purged {charts} cached charts of {} user(s){}",
                users.len(),
                if everything {
                    ", with their keys, outboxes and drafts"
                } else {
                    "; outboxes and drafts kept"
                }
            );
            Ok(())
        }
    }
}
