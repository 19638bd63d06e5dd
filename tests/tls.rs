//! HTTPS end to end: `serve` with a certificate made here, a client that trusts it through
//! `--ca-cert`, one that does not, and plain HTTP refused off this machine.

mod common;

use bedside::server::{ServerConfig, serve, tls};
use bedside::workstation::client::{FetchError, FhirClient, SEARCH_TIMEOUT, Transport};

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
        Err(FetchError::Unreachable(why)) => assert!(why.contains("--ca-cert"), "{why}"),
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
