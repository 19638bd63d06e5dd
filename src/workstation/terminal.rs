//! The real terminal: raw mode and the alternate screen on the way in, restored on the way out,
//! on panic and on SIGTERM/SIGHUP; key events from a reader thread; and a watchdog that notices
//! a terminal that went away (crossterm's reader can spin forever on a closed pty).

use std::io::{IsTerminal, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use crossterm::event::{self, Event};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedSender;

use super::state::Msg;

pub type Term = Terminal<super::backend::QuietBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Raw mode, alternate screen, hidden cursor; the panic hook restores them before reporting.
/// Nothing here asks the terminal a question and waits for the answer.
pub fn enter() -> Result<Term> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("the workstation needs a terminal (stdin and stdout must be a tty)");
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    let terminal = Terminal::new(super::backend::QuietBackend::new(
        std::io::stdout(),
        Some(false),
    ))?;
    Ok(terminal)
}

/// Puts the terminal back as it was. Safe to call twice, and on a terminal that is gone.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

/// Reads terminal events on a thread of its own and forwards keys and resizes.
pub fn spawn_input(tx: UnboundedSender<Msg>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("bedside-input".into())
        .spawn(move || {
            loop {
                let msg = match event::read() {
                    Ok(Event::Key(key)) => Msg::Key(key),
                    Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => Msg::Shutdown("the terminal closed"),
                };
                let stop = matches!(msg, Msg::Shutdown(_));
                if tx.send(msg).is_err() || stop {
                    return;
                }
            }
        })
        .map(|_| ())
}

/// Checks four times a second whether the terminal hung up (POLLHUP/POLLERR/POLLNVAL on
/// stdin), without reading from it. If the app has not exited a second after being told,
/// the process exits on its own: it must never spin on a dead terminal.
pub fn spawn_watchdog(tx: UnboundedSender<Msg>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("bedside-watchdog".into())
        .spawn(move || {
            use rustix::event::{PollFd, PollFlags, poll};
            let stdin = rustix::stdio::stdin();
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let mut fds = [PollFd::new(&stdin, PollFlags::empty())];
                let zero = rustix::event::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                let gone = match poll(&mut fds, Some(&zero)) {
                    Ok(_) => fds[0]
                        .revents()
                        .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
                    Err(_) => true,
                };
                if gone {
                    tracing::info!("the terminal hung up; exiting");
                    let _ = tx.send(Msg::Shutdown("the terminal hung up"));
                    std::thread::sleep(Duration::from_millis(800));
                    restore();
                    std::process::exit(1);
                }
            }
        })
        .map(|_| ())
}

/// SIGTERM, SIGHUP (an SSH connection dropped), SIGINT and SIGQUIT end the session cleanly.
pub fn spawn_signals(tx: UnboundedSender<Msg>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::quit(), "SIGQUIT"),
        ];
        let mut streams = Vec::new();
        for (kind, name) in kinds {
            if let Ok(s) = signal(kind) {
                streams.push((s, name));
            }
        }
        let mut set = tokio::task::JoinSet::new();
        for (mut s, name) in streams {
            set.spawn(async move {
                s.recv().await;
                name
            });
        }
        if let Some(Ok(name)) = set.join_next().await {
            tracing::info!("{name} received; exiting");
            let _ = tx.send(Msg::Shutdown(name));
        }
    });
}
