//! Real HL7 peers: messages built with hl7apy and sent by `mllp_send` (python-hl7), both
//! from PyPI (installed by `.ci/run`, or here into `target/hl7-venv` when missing), to
//! `bedside serve --mllp`: an admission and a lab result are applied and acknowledged AA
//! (malformed messages are tested over TCP in `hl7_interface.rs`).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `target/hl7-venv`, with hl7 and hl7apy installed once.
fn venv() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/hl7-venv");
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if venv.join("bin/mllp_send").exists() {
            return;
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the HL7 peers of this test")
            .success();
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "hl7==0.4.5", "hl7apy==1.3.5"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install hl7 hl7apy failed");
    });
    venv
}

#[test]
fn messages_from_hl7apy_over_mllp_send_are_applied_and_acknowledged() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mllp",
            "127.0.0.1:0",
            "--mllp-authority",
            "GENHOSP",
            "--db",
        ])
        .arg(dir.path().join("peers.db"))
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.strip_prefix("HL7 v2 (MLLP) on ") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the MLLP address");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let file = dir.path().join("peer.hl7");
    let built = Command::new(venv.join("bin/python"))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hl7/peer.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let sent = Command::new(venv.join("bin/mllp_send"))
        .args(["--loose", "--file"])
        .arg(&file)
        .args(["--port", port, host])
        .output()
        .unwrap();
    let acks = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(
        sent.status.success(),
        "{acks} {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(acks.contains("MSA|AA|PEER-ADT-1"), "{acks}");
    assert!(
        acks.contains("MSA|AA|PEER-ORU-1"),
        "the result found the patient the admission registered: {acks}"
    );
    let _ = server.kill();
    let _ = server.wait();
}
