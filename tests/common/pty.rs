//! A pseudo-terminal harness: runs the real `bedside` binary on a pty, counts every byte it
//! writes, and keeps a vt100 emulator's view of the screen for assertions.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Pty {
    pub child: Child,
    closed: Arc<std::sync::atomic::AtomicBool>,
    /// The reader has read everything the process wrote (the pty's other end closed).
    drained: Arc<std::sync::atomic::AtomicBool>,
    master: Option<std::fs::File>,
    output: Arc<Mutex<Vec<u8>>>,
    pub started: Instant,
    pub first_output: Arc<Mutex<Option<Instant>>>,
    /// When each read ended, and the output length then.
    pub arrivals: Arc<Mutex<Vec<(Instant, usize)>>>,
    /// HOME (and the XDG folders under it) of the process.
    pub home: std::path::PathBuf,
    _own_home: Option<tempfile::TempDir>,
}

impl Pty {
    /// Starts `bedside ARGS` on a `cols`x`rows` pty with `TERM=term` and a private home.
    pub fn spawn(args: &[&str], cols: u16, rows: u16, term: &str) -> Pty {
        Pty::spawn_with(args, cols, rows, term, true)
    }

    /// As `spawn`; without `controlling` the pty is not the process's controlling terminal,
    /// so a hang-up sends no SIGHUP (as under `nohup` or some terminal hosts).
    pub fn spawn_with(args: &[&str], cols: u16, rows: u16, term: &str, controlling: bool) -> Pty {
        Pty::spawn_env(args, cols, rows, term, controlling, &[])
    }

    /// As `spawn_with`, with extra environment variables.
    pub fn spawn_env(
        args: &[&str],
        cols: u16,
        rows: u16,
        term: &str,
        controlling: bool,
        env: &[(&str, &str)],
    ) -> Pty {
        let own = tempfile::tempdir().expect("home");
        let mut pty = Pty::spawn_at(own.path(), args, cols, rows, term, controlling, env);
        pty._own_home = Some(own);
        pty
    }

    /// As `spawn_env` with HOME at `home`, so a second run finds what the first left.
    pub fn spawn_at(
        home: &std::path::Path,
        args: &[&str],
        cols: u16,
        rows: u16,
        term: &str,
        controlling: bool,
        env: &[(&str, &str)],
    ) -> Pty {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        rustix::termios::tcsetwinsize(
            &master,
            rustix::termios::Winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .expect("window size");
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().expect("pty name"))
            .expect("open the pty's terminal side");
        let slave: OwnedFd = slave.into();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedside"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", term)
            .env("LANG", "C.UTF-8")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("TZ", "UTC")
            .envs(std::env::vars().filter(|(k, _)| k.starts_with("MIMALLOC_")))
            .envs(env.iter().copied())
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        // A session of its own with the pty as its controlling terminal, as a login shell has.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                rustix::process::setsid()?;
                if controlling {
                    rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?;
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let child = cmd.spawn().expect("start bedside");
        let master: std::fs::File = master.into();
        let output = Arc::new(Mutex::new(Vec::new()));
        let first_output = Arc::new(Mutex::new(None));
        let mut reader = master.try_clone().expect("dup master");
        let (out, first) = (output.clone(), first_output.clone());
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let arrived = arrivals.clone();
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = closed.clone();
        let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let all_read = drained.clone();
        std::thread::spawn(move || {
            use rustix::event::{PollFd, PollFlags, Timespec, poll};
            let mut buf = [0u8; 65536];
            loop {
                // Poll with a timeout so a hang-up can drop this copy of the master too.
                let ready = {
                    let mut fds = [PollFd::new(&reader, PollFlags::IN)];
                    let wait = Timespec {
                        tv_sec: 0,
                        tv_nsec: 20_000_000,
                    };
                    poll(&mut fds, Some(&wait)).unwrap_or(0) > 0
                };
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                if !ready {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        all_read.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                    Ok(n) => {
                        let mut first = first.lock().unwrap();
                        if first.is_none() {
                            *first = Some(Instant::now());
                        }
                        let mut out = out.lock().unwrap();
                        out.extend_from_slice(&buf[..n]);
                        arrived.lock().unwrap().push((Instant::now(), out.len()));
                    }
                }
            }
        });
        Pty {
            child,
            closed,
            drained,
            master: Some(master),
            output,
            started,
            first_output,
            arrivals,
            home: home.to_path_buf(),
            _own_home: None,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        if let Some(m) = &mut self.master {
            m.write_all(bytes).expect("write to pty");
            m.flush().expect("flush pty");
        }
    }

    /// Answers the offline-data passphrase prompt of a `--token` start (asked once per
    /// session on servers where the user has no sign-in).
    pub fn passphrase(&mut self, cols: u16, rows: u16) {
        assert!(
            self.wait_for_text("Passphrase", cols, rows, Duration::from_secs(60)),
            "no passphrase prompt: {}",
            self.screen(cols, rows)
        );
        self.send(b"test passphrase\r");
    }

    /// When the bytes `needle` had all arrived, if they have.
    pub fn arrived(&self, needle: &[u8]) -> Option<Instant> {
        let out = self.output();
        let end = out.windows(needle.len()).position(|w| w == needle)? + needle.len();
        let arrivals = self.arrivals.lock().unwrap();
        arrivals
            .iter()
            .find(|(_, len)| *len >= end)
            .map(|(t, _)| *t)
    }

    /// Every byte the app has written so far.
    pub fn bytes(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    pub fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    /// The screen as a vt100 terminal shows it after everything written so far.
    pub fn screen(&self, cols: u16, rows: u16) -> String {
        let mut parser = vt100::Parser::new(rows, cols, 0);
        parser.process(&self.output());
        parser.screen().contents()
    }

    /// Waits until the screen contains `text`.
    pub fn wait_for_text(&self, text: &str, cols: u16, rows: u16, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.screen(cols, rows).contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits until more than `from` bytes have been written, then until it goes quiet.
    pub fn after_change(&self, from: usize, quiet: Duration, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        while self.bytes() <= from && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.settle(quiet, timeout)
    }

    /// Waits until nothing has been written for `quiet`, and returns the byte count.
    pub fn settle(&self, quiet: Duration, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut last = self.bytes();
        let mut since = Instant::now();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            let now = self.bytes();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                break;
            }
        }
        last
    }

    /// Changes the window size (the kernel tells the app with SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if let Some(m) = &self.master {
            rustix::termios::tcsetwinsize(
                m,
                rustix::termios::Winsize {
                    ws_row: rows,
                    ws_col: cols,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                },
            )
            .expect("resize");
        }
    }

    /// Closes our side of the pty: to the app, the terminal hung up.
    pub fn hang_up(&mut self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.master.take();
    }

    /// Waits for the process to end; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // What it wrote last may still be on its way through the pty: read it all
                // (the other end closes with the process) before anyone looks.
                let until = Instant::now() + Duration::from_secs(2);
                while !self.drained.load(std::sync::atomic::Ordering::SeqCst)
                    && Instant::now() < until
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
