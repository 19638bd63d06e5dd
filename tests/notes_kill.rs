//! Nothing typed is lost: the real binary on a pty, a note typed, the process killed with
//! SIGHUP (an SSH connection dropping) and with SIGKILL, then started again; the draft is
//! offered, names its patient, and holds the text.

mod common;

use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use common::TestServer;
use common::pty::Pty;

const LONG: Duration = Duration::from_secs(20);
const COLS: u16 = 100;
const ROWS: u16 = 30;

fn start(home: &std::path::Path, base: &str, token: &str) -> Pty {
    let mut pty = Pty::spawn_at(
        home,
        &["--server", base, "--token", token],
        COLS,
        ROWS,
        "xterm-256color",
        true,
        &[],
    );
    pty.passphrase(COLS, ROWS);
    assert!(
        pty.wait_for_text("Find patient", COLS, ROWS, LONG),
        "{}",
        pty.screen(COLS, ROWS)
    );
    pty
}

/// The draft files on disk (sealed: their text is checked by reopening them in bedside).
fn drafts(home: &std::path::Path) -> Vec<Vec<u8>> {
    let users = home.join("data/bedside/users");
    std::fs::read_dir(users)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|u| {
            std::fs::read_dir(u.path().join("drafts"))
                .into_iter()
                .flatten()
        })
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "draft"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect()
}

/// One draft on disk, and `words` not in it in the clear.
fn sealed_draft(home: &std::path::Path, words: &str) {
    let saved = drafts(home);
    assert_eq!(saved.len(), 1, "one draft on disk");
    assert!(
        !saved[0].windows(words.len()).any(|w| w == words.as_bytes()),
        "the draft is not sealed"
    );
}

fn write_note(pty: &mut Pty, words: &str) {
    pty.send(b"smith john");
    assert!(pty.wait_for_text("SMITH, John", COLS, ROWS, LONG));
    pty.send(b"\r");
    assert!(pty.wait_for_text("Timeline", COLS, ROWS, LONG));
    pty.settle(Duration::from_millis(300), LONG);
    pty.send(b"n");
    assert!(pty.wait_for_text("pick a template", COLS, ROWS, LONG));
    pty.send(b"\r");
    assert!(pty.wait_for_text("[EDITING]", COLS, ROWS, LONG));
    pty.send(words.as_bytes());
    assert!(
        pty.wait_for_text(words, COLS, ROWS, LONG),
        "{}",
        pty.screen(COLS, ROWS)
    );
}

fn signal(pty: &Pty, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pty.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

/// Starts again in the same home: the draft is offered by patient and reopens with its text.
fn recovered(home: &std::path::Path, base: &str, token: &str, words: &str) {
    let mut pty = start(home, base, token);
    assert!(
        pty.wait_for_text("Unsent drafts", COLS, ROWS, LONG),
        "{}",
        pty.screen(COLS, ROWS)
    );
    assert!(pty.wait_for_text("SMITH, John (MRN", COLS, ROWS, LONG));
    pty.send(b"\r");
    assert!(
        pty.wait_for_text(words, COLS, ROWS, LONG),
        "{}",
        pty.screen(COLS, ROWS)
    );
    assert!(pty.wait_for_text("[EDITING]", COLS, ROWS, LONG));
    signal(&pty, rustix::process::Signal::TERM);
    assert!(pty.wait_exit(LONG).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_survives_sighup_and_sigkill() {
    let server = TestServer::start().await;
    let mut opts = SeedOptions::new(20, Depth::Full);
    opts.large_charts = 0;
    bedside::server::seed::seed(&server.store, &opts, |_| {}).unwrap();
    let base = server.base.clone();
    let token = server.token.clone();
    tokio::task::spawn_blocking(move || {
        // SIGHUP right after typing: saved on the way out, not by the autosave.
        let home = tempfile::tempdir().unwrap();
        let mut pty = start(home.path(), &base, &token);
        write_note(&mut pty, "Chest clear, hangup test");
        signal(&pty, rustix::process::Signal::HUP);
        assert!(pty.wait_exit(LONG).is_some(), "no exit on SIGHUP");
        sealed_draft(home.path(), "Chest clear, hangup test");
        recovered(home.path(), &base, &token, "Chest clear, hangup test");

        // SIGKILL cannot be caught: the autosave (2 s after the last edit) must have run.
        let home = tempfile::tempdir().unwrap();
        let mut pty = start(home.path(), &base, &token);
        write_note(&mut pty, "Abdomen soft, kill test");
        std::thread::sleep(Duration::from_millis(3000));
        signal(&pty, rustix::process::Signal::KILL);
        assert!(pty.wait_exit(LONG).is_some());
        sealed_draft(home.path(), "Abdomen soft, kill test");
        recovered(home.path(), &base, &token, "Abdomen soft, kill test");
    })
    .await
    .unwrap();
}
