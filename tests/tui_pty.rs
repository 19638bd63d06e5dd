//! The real binary on a pseudo-terminal: what it writes (bytes per cursor move, a full repaint,
//! nothing while idle), that it restores the terminal on quit and on SIGTERM, that it exits
//! promptly when the terminal hangs up, and that a VT100 gets ASCII only.

mod common;

use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use common::TestServer;
use common::pty::Pty;

const LONG: Duration = Duration::from_secs(20);
/// Leave the alternate screen: the terminal was restored.
const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";

async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    let mut opts = SeedOptions::new(30, Depth::Full);
    opts.large_charts = 0;
    bedside::server::seed::seed(&server.store, &opts, |_| {}).expect("seed");
    server
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Search, open a chart, and measure what a cursor move, a full repaint and idling cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_written_and_a_clean_quit() {
    let server = seeded().await;
    let base = server.base.clone();
    let token = server.token.clone();
    tokio::task::spawn_blocking(move || {
        let (cols, rows) = (80, 24);
        let mut pty = Pty::spawn(
            &["--server", &base, "--token", &token],
            cols,
            rows,
            "xterm-256color",
        );
        pty.passphrase(cols, rows);
        assert!(
            pty.wait_for_text("Find patient", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(b"smith john");
        assert!(
            pty.wait_for_text("SMITH, John", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(b"\r");
        assert!(pty.wait_for_text("Timeline", cols, rows, LONG));
        pty.settle(Duration::from_millis(400), LONG);

        let before = pty.settle(Duration::from_millis(200), LONG);
        pty.send(b"j");
        let after = pty.after_change(before, Duration::from_millis(300), LONG);
        let cursor_move = after - before;
        eprintln!("cursor move: {cursor_move} bytes");
        assert!(
            cursor_move > 0 && cursor_move < 300,
            "{cursor_move} bytes for one line"
        );

        pty.send(b"\x1b[15~"); // F5: redraw everything
        let repaint = pty.after_change(after, Duration::from_millis(300), LONG) - after;
        eprintln!("full repaint: {repaint} bytes");
        if let Ok(path) = std::env::var("BEDSIDE_DUMP_REPAINT") {
            std::fs::write(path, &pty.output()[after..]).unwrap();
        }
        assert!(
            repaint > 500 && repaint < 4096,
            "{repaint} bytes for a full 80x24 repaint"
        );

        let idle_start = pty.bytes();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(pty.bytes(), idle_start, "wrote while idle");

        pty.send(b"q"); // close the chart: back to the search, query kept
        assert!(
            pty.wait_for_text("4 patients", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(b"\x03"); // Ctrl-C asks first
        assert!(pty.wait_for_text("Quit bedside?", cols, rows, LONG));
        pty.send(b"y");
        let status = pty.wait_exit(LONG).expect("bedside did not exit");
        assert!(status.success(), "{status:?}");
        assert!(
            contains(&pty.output(), LEAVE_ALT_SCREEN),
            "terminal not restored"
        );
        let recent = pty.home.join("data/bedside/recent-patients.json");
        assert!(recent.exists(), "recent patients not kept");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_hangup_end_the_session() {
    let server = seeded().await;
    let base = server.base.clone();
    let token = server.token.clone();
    tokio::task::spawn_blocking(move || {
        let (cols, rows) = (100, 30);
        let mut pty = Pty::spawn(
            &["--server", &base, "--token", &token],
            cols,
            rows,
            "screen",
        );
        pty.passphrase(cols, rows);
        assert!(pty.wait_for_text("Find patient", cols, rows, LONG));
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(pty.child.id() as i32).unwrap(),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        pty.wait_exit(LONG).expect("no exit on SIGTERM");
        assert!(
            contains(&pty.output(), LEAVE_ALT_SCREEN),
            "terminal not restored"
        );

        // A panic restores the terminal before the report.
        let mut pty = Pty::spawn_env(
            &["--server", &base, "--token", &token],
            cols,
            rows,
            "xterm-256color",
            true,
            &[("BEDSIDE_TEST_PANIC", "1")],
        );
        let status = pty.wait_exit(LONG).expect("no exit after a panic");
        assert!(!status.success());
        let out = pty.output();
        let restored = out
            .windows(LEAVE_ALT_SCREEN.len())
            .position(|w| w == LEAVE_ALT_SCREEN)
            .expect("terminal not restored after a panic");
        let report = out
            .windows(9)
            .position(|w| w == b"panicked ")
            .expect("no panic report");
        assert!(
            restored < report,
            "the report must come after the terminal is restored"
        );

        // The pty closes under it (an SSH connection drops): out within a couple of seconds.
        let mut pty = Pty::spawn(
            &["--server", &base, "--token", &token],
            cols,
            rows,
            "xterm-256color",
        );
        pty.passphrase(cols, rows);
        assert!(pty.wait_for_text("Find patient", cols, rows, LONG));
        pty.hang_up();
        let started = std::time::Instant::now();
        let status = pty.wait_exit(Duration::from_secs(5));
        assert!(
            status.is_some(),
            "still running 5 s after the terminal hung up"
        );
        eprintln!("exited {:?} after hang-up", started.elapsed());

        // No SIGHUP at all: the watchdog sees the hang-up on its own.
        let mut pty = Pty::spawn_with(
            &["--server", &base, "--token", &token],
            cols,
            rows,
            "xterm-256color",
            false,
        );
        pty.passphrase(cols, rows);
        assert!(pty.wait_for_text("Find patient", cols, rows, LONG));
        pty.hang_up();
        let started = std::time::Instant::now();
        let status = pty.wait_exit(Duration::from_secs(5));
        assert!(
            status.is_some(),
            "no SIGHUP: still running 5 s after the hang-up"
        );
        eprintln!(
            "exited {:?} after hang-up without SIGHUP",
            started.elapsed()
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vt100_gets_ascii_and_linux_console_works() {
    let server = seeded().await;
    let base = server.base.clone();
    let token = server.token.clone();
    tokio::task::spawn_blocking(move || {
        let (cols, rows) = (80, 24);
        for term in ["vt100", "linux"] {
            let mut pty = Pty::spawn(&["--server", &base, "--token", &token], cols, rows, term);
            pty.passphrase(cols, rows);
            assert!(
                pty.wait_for_text("Find patient", cols, rows, LONG),
                "{term}"
            );
            pty.send(b"smith john");
            assert!(pty.wait_for_text("SMITH, John", cols, rows, LONG), "{term}");
            pty.send(b"\r");
            assert!(pty.wait_for_text("Timeline", cols, rows, LONG), "{term}");
            pty.settle(Duration::from_millis(300), LONG);
            if term == "vt100" {
                assert!(pty.output().is_ascii(), "non-ASCII bytes sent to a VT100");
            }
            pty.send(b"q\x03y");
            assert!(pty.wait_exit(LONG).is_some(), "{term}: no exit");
        }
    })
    .await
    .unwrap();
}

#[test]
fn no_server_is_a_clear_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .env_remove("BEDSIDE_SERVER")
        .env("XDG_CONFIG_HOME", "/nonexistent-bedside-test")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no FHIR server given"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["--server", "ftp://nope"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["--server", "http://127.0.0.1:9/fhir"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("bedside "));
}

/// `bedside demo` on a fresh home: seeds, serves in-process, opens the workstation; a resize
/// redraws at the new size.
#[test]
fn demo_on_a_fresh_home() {
    let (cols, rows) = (80, 24);
    let mut pty = Pty::spawn(&["demo", "--patients", "20"], cols, rows, "xterm-256color");
    assert!(
        pty.wait_for_text("Find patient", cols, rows, Duration::from_secs(120)),
        "{}",
        pty.screen(cols, rows)
    );
    pty.send(b"smith");
    assert!(pty.wait_for_text("SMITH, John", cols, rows, LONG));
    pty.send(b"\r");
    assert!(pty.wait_for_text("Timeline", cols, rows, LONG));
    // Wider: the detail pane moves beside the timeline.
    pty.resize(140, 40);
    assert!(
        pty.wait_for_text("Notes -", 140, 40, LONG) || pty.wait_for_text("Detail", 140, 40, LONG),
        "{}",
        pty.screen(140, 40)
    );
    pty.send(b"q\x03y");
    let status = pty.wait_exit(LONG).expect("demo did not exit");
    assert!(status.success(), "{status:?}");
    assert!(pty.home.join("data/bedside/demo-20.db").exists());
}

/// Sign in on the sign-in screen, open a chart, leave the terminal alone: after the idle time
/// the screen holds no patient data, only the lock screen; the same user's password unlocks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_and_locks_when_idle() {
    let server = seeded().await;
    let (_, found) = server.get("Patient?_count=1&_sort=family").await;
    let family = found["entry"][0]["resource"]["name"][0]["family"]
        .as_str()
        .unwrap()
        .to_string();
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || {
        let (cols, rows) = (100, 30);
        let mut pty = Pty::spawn(
            &["--server", &base, "--idle-lock", "2"],
            cols,
            rows,
            "xterm-256color",
        );
        assert!(
            pty.wait_for_text("Sign in to see patient records", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        // A wrong password first: the message, and still no patient data.
        pty.send(b"test.physician\tnot it\r");
        assert!(
            pty.wait_for_text("wrong username or password", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(common::TEST_PASSWORD.as_bytes());
        pty.send(b"\r");
        assert!(
            pty.wait_for_text("Find patient", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(family.as_bytes());
        let has_patient = |pty: &Pty| {
            pty.screen(cols, rows)
                .to_lowercase()
                .contains(&family.to_lowercase())
        };
        let started = std::time::Instant::now();
        while !has_patient(&pty) && started.elapsed() < LONG {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Open the chart: Tab to the list, Enter.
        pty.send(b"\t\r");
        assert!(
            pty.wait_for_text("MRN", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        assert!(has_patient(&pty));
        // Idle: locked within the idle time (2 s) and a little.
        assert!(
            pty.wait_for_text("This terminal is locked", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        let locked = pty.screen(cols, rows);
        assert!(
            !locked.to_lowercase().contains(&family.to_lowercase()),
            "patient data on the lock screen:\n{locked}"
        );
        assert!(!locked.contains("MRN"), "{locked}");
        // The same user's password unlocks it, back where they were.
        pty.send(common::TEST_PASSWORD.as_bytes());
        pty.send(b"\r");
        assert!(
            pty.wait_for_text("MRN", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        assert!(has_patient(&pty));
        // Ctrl-L locks at once.
        pty.send(b"\x0c");
        assert!(
            pty.wait_for_text("This terminal is locked", cols, rows, LONG),
            "{}",
            pty.screen(cols, rows)
        );
        pty.send(b"\x03");
        assert!(pty.wait_exit(LONG).is_some());
    })
    .await
    .unwrap();
}
