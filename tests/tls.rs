//! HTTPS end to end: `serve` with a certificate made here, a client that trusts it through
//! `--ca-cert`, one that does not, and plain HTTP refused off this machine.

mod common;

use bedside::server::{ServerConfig, serve, tls};
use bedside::workstation::client::{
    FetchError, FhirClient, SEARCH_TIMEOUT, Transport, probe_server,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = dir.path().join("cert.pem");
    let key_pem = dir.path().join("key.pem");
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();

    let store = bedside::server::store::Store::open(&dir.path().join("tls.db")).unwrap();
    let auth = bedside::server::auth::Auth::new(store.clone());
    auth.add_user(
        "tls.doc",
        "Dr TLS",
        bedside::server::auth::Role::Physician,
        "a long password",
    )
    .unwrap();
    let token = auth.issue_for("tls.doc").unwrap().token;

    let config = tls::server_config(&cert_pem, &key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = tls::TlsListener::new(listener, config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(store, listener, ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let base = format!("https://localhost:{port}/fhir");

    // Trusting the certificate: the FHIR API and the sign-in both work over TLS.
    let trusted = Transport {
        ca_cert_pem: Some(std::fs::read(&cert_pem).unwrap()),
        allow_insecure: false,
    };
    let client = FhirClient::with_transport(&base, Some(token), &trusted).unwrap();
    let found = client.get("Patient", &[], SEARCH_TIMEOUT).await.unwrap();
    assert_eq!(found["resourceType"], "Bundle");
    let fresh = FhirClient::with_transport(&base, None, &trusted).unwrap();
    let user = fresh
        .login("tls.doc", "a long password", None)
        .await
        .unwrap();
    assert_eq!(user.role, "physician");
    assert!(fresh.get("Patient", &[], SEARCH_TIMEOUT).await.is_ok());

    // Not trusting it: refused, and the message says what to do.
    let untrusted = FhirClient::new(&base, None).unwrap();
    match untrusted.get("metadata", &[], SEARCH_TIMEOUT).await {
        Err(FetchError::Tls(why)) => assert!(why.contains("--ca-cert"), "{why}"),
        other => panic!("an untrusted certificate was accepted: {other:?}"),
    }

    // A bad certificate file is a clear error, not a panic.
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    assert!(tls::server_config(&dir.path().join("junk.pem"), &key_pem).is_err());
    let junk = Transport {
        ca_cert_pem: Some(b"junk".to_vec()),
        allow_insecure: false,
    };
    assert!(FhirClient::with_transport(&base, None, &junk).is_err());

    let _ = stop.send(());
    let _ = server.await;
}

#[test]
fn plain_http_only_on_this_machine() {
    for local in [
        "http://127.0.0.1:8180/fhir",
        "http://localhost/fhir",
        "http://[::1]:8180/fhir",
    ] {
        assert!(FhirClient::new(local, None).is_ok(), "{local}");
    }
    let remote = FhirClient::new("http://fhir.hospital.example/r4", None).unwrap_err();
    assert!(remote.to_string().contains("--allow-insecure"), "{remote}");
    let insecure = Transport {
        ca_cert_pem: None,
        allow_insecure: true,
    };
    assert!(FhirClient::with_transport("http://fhir.hospital.example/r4", None, &insecure).is_ok());
    assert!(FhirClient::new("https://fhir.hospital.example/r4", None).is_ok());
}

/// A TLS server on 127.0.0.1 with `cert` and its key: its port and what stops it.
async fn tls_server(
    dir: &std::path::Path,
    cert: &rcgen::Certificate,
    key: &rcgen::KeyPair,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let name = rand_suffix().to_string();
    let cert_pem = dir.join(format!("{name}.pem"));
    let key_pem = dir.join(format!("{name}.key"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let store = bedside::server::store::Store::open(&dir.join(format!("{name}.db"))).unwrap();
    let config = tls::server_config(&cert_pem, &key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = tls::TlsListener::new(listener, config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(store, listener, ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    (port, stop)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Each way a certificate can be wrong is named as a TLS problem with its fix, not as "the
/// server cannot be reached", and none of them counts as being offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_problems_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let trusting = |cert: &rcgen::Certificate| Transport {
        ca_cert_pem: Some(cert.pem().into_bytes()),
        allow_insecure: false,
    };
    let mut expired = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
    expired.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = expired.self_signed(&key).unwrap();
    // Expired and made as a CA, as `openssl req -x509` makes one: passing it does not excuse
    // its date.
    let mut expired_ca = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    expired_ca.not_before = rcgen::date_time_ymd(2020, 1, 1);
    expired_ca.not_after = rcgen::date_time_ymd(2021, 1, 1);
    expired_ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let expired_ca = expired_ca.self_signed(&key).unwrap();
    let other = rcgen::CertificateParams::new(vec!["fhir.elsewhere.example".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let plain = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    for (cert, trusted, want) in [
        (&expired, true, "has expired"),
        (&expired_ca, true, "has expired"),
        (&other, true, "another name"),
        (&plain, false, "--ca-cert"),
    ] {
        let (port, stop) = tls_server(dir.path(), cert, &key).await;
        let base = format!("https://localhost:{port}/fhir");
        let transport = if trusted {
            trusting(cert)
        } else {
            Transport::default()
        };
        let client = FhirClient::with_transport(&base, None, &transport).unwrap();
        match client.get("metadata", &[], SEARCH_TIMEOUT).await {
            Err(e @ FetchError::Tls(_)) => {
                assert!(e.to_string().contains(want), "{want}: {e}");
                assert!(!e.is_unreachable(), "{e}");
                assert!(!e.to_string().contains("cannot reach"), "{e}");
            }
            other => panic!("{want}: {other:?}"),
        }
        // `bedside doctor` names the same problem and still shows the chain it was offered.
        let report = probe_server(&base, &transport, None).await;
        assert!(report.contains("NOT reachable"), "{report}");
        assert!(report.contains("certificate is REFUSED"), "{report}");
        assert!(report.contains(want), "{want}: {report}");
        assert!(
            report.contains("server \"CN=rcgen self signed cert\""),
            "{report}"
        );
        if want == "has expired" {
            assert!(report.contains("EXPIRED 2021-01-01"), "{report}");
        }
        let _ = stop.send(());
    }
    // A self-signed server certificate made as most tools make one (`openssl req -x509`: it
    // is also a CA) is trusted when passed with --ca-cert.
    let mut ca_style = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    ca_style.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_style = ca_style.self_signed(&key).unwrap();
    let (port, stop) = tls_server(dir.path(), &ca_style, &key).await;
    let base = format!("https://localhost:{port}/fhir");
    let client = FhirClient::with_transport(&base, None, &trusting(&ca_style)).unwrap();
    let metadata = client.get("metadata", &[], SEARCH_TIMEOUT).await;
    assert!(metadata.is_ok(), "{metadata:?}");
    let _ = stop.send(());
}

/// `bedside doctor` on a server whose certificate a hospital CA issued: the protocol, the
/// verdict, and each certificate sent with its subject, names, issuer and end date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_shows_the_certificate_chain() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Hospital Test CA");
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "fhir.ward.example");
    leaf.not_after = rcgen::date_time_ymd(2999, 1, 1);
    let leaf = leaf.signed_by(&key, &issuer).unwrap();

    // The server sends its own certificate and the CA's.
    let cert_pem = dir.path().join("chain.pem");
    let key_pem = dir.path().join("chain.key");
    std::fs::write(&cert_pem, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let store = bedside::server::store::Store::open(&dir.path().join("chain.db")).unwrap();
    let config = tls::server_config(&cert_pem, &key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = tls::TlsListener::new(listener, config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(store, listener, ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let base = format!("https://localhost:{port}/fhir");

    let trusted = Transport {
        ca_cert_pem: Some(ca.pem().into_bytes()),
        allow_insecure: false,
    };
    let report = probe_server(&base, &trusted, None).await;
    assert!(report.contains("reachable in"), "{report}");
    assert!(report.contains("TLS: TLSv1_3 with TLS13_"), "{report}");
    assert!(report.contains("the certificate is trusted"), "{report}");
    assert!(
        report.contains(
            "server \"CN=fhir.ward.example\" for localhost, issued by \"CN=Hospital Test CA\", \
             valid until 2999-01-01"
        ),
        "{report}"
    );
    assert!(
        report.contains("chain  \"CN=Hospital Test CA\", self-signed"),
        "{report}"
    );

    // Without the CA the same chain is refused, and the report says how to fix it.
    let report = probe_server(&base, &Transport::default(), None).await;
    assert!(report.contains("certificate is REFUSED"), "{report}");
    assert!(report.contains("--ca-cert"), "{report}");
    assert!(
        report.contains("issued by \"CN=Hospital Test CA\""),
        "{report}"
    );

    // A port that speaks no TLS: the handshake's failure, not a hang.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok((mut s, _)) = plain.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let report = probe_server(
        &format!("https://localhost:{plain_port}/fhir"),
        &trusted,
        None,
    )
    .await;
    assert!(report.contains("NOT reachable"), "{report}");
    assert!(report.contains("TLS: the TLS handshake failed"), "{report}");
    let _ = stop.send(());
}
