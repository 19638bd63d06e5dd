//! The workstation's TLS when `--ca-cert` is given: the system's CA certificates plus those
//! passed, and a server certificate passed itself trusted even where the usual rules refuse it
//! as a trust anchor. A self-signed server certificate made by `openssl req -x509` is also a
//! CA, and WebPKI refuses a CA certificate as a server's own ("CaUsedAsEndEntity"). An
//! expired certificate, or one for another name, is refused as ever, passed or not.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

#[derive(Debug)]
struct Passed {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates given with `--ca-cert`, as they are.
    passed: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Passed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        // Only "not a usable anchor" is set aside, and only for a certificate passed itself.
        let anchor_refused = match &verdict {
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => true,
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e))) => {
                format!("{e:?}").contains("CaUsedAsEndEntity")
            }
            _ => false,
        };
        if anchor_refused
            && self
                .passed
                .iter()
                .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The certificates of a PEM file; an error says what is wrong with it.
pub(crate) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA certificate is not PEM ({e})"))?;
    if certs.is_empty() {
        return Err("the CA certificate file holds no certificate".into());
    }
    Ok(certs)
}

/// A TLS client setup trusting the system's CAs and `passed`.
pub(crate) fn client_config(
    passed: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // A system store that cannot be read leaves the certificates passed, which is what the
    // user asked to trust.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let (added, _) = roots.add_parsable_certificates(passed.iter().cloned());
    if added == 0 && !passed.is_empty() && roots.is_empty() {
        return Err("the CA certificate cannot be used as one".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("no certificate to trust: {e}"))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Passed { webpki, passed }))
        .with_no_client_auth())
}
