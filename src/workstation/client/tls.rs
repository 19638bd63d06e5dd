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

/// The verifier the workstation uses: the system's CAs and `passed`.
fn verifier(passed: Vec<CertificateDer<'static>>) -> Result<Passed, String> {
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
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("no certificate to trust: {e}"))?;
    Ok(Passed { webpki, passed })
}

/// A TLS client setup trusting the system's CAs and `passed`.
pub(crate) fn client_config(
    passed: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, String> {
    config_with(Arc::new(verifier(passed)?))
}

fn config_with(verifier: Arc<dyn ServerCertVerifier>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// What `bedside doctor` learns from one TLS handshake with a server.
#[derive(Debug)]
pub(crate) struct Handshake {
    /// "TLSv1_3 with TLS13_AES_256_GCM_SHA384"
    pub(crate) protocol: String,
    /// Why the workstation would refuse the server's certificate; `None` when it trusts it.
    pub(crate) refused: Option<String>,
    /// The certificates the server sent, its own first: one line each.
    pub(crate) chain: Vec<String>,
}

/// The workstation's own verdict on a server's certificates, recorded, while the handshake
/// goes on whatever it is so the chain can be shown. Nothing but the handshake is sent.
#[derive(Debug)]
struct Recording {
    inner: Passed,
    seen: std::sync::Mutex<Option<(Vec<CertificateDer<'static>>, Option<String>)>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .err()
            .map(|e| {
                let text = format!("invalid peer certificate: {e}").to_lowercase();
                super::certificate_problem(&text).unwrap_or(text)
            });
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, verdict));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Shake hands with `host:port` as the workstation would (the system's CAs and `passed`) and
/// say what was offered: protocol, cipher, each certificate, and the verdict. Blocking, with
/// `timeout` on connecting and on each read.
pub(crate) fn handshake(
    host: &str,
    port: u16,
    passed: Vec<CertificateDer<'static>>,
    timeout: std::time::Duration,
) -> Result<Handshake, String> {
    use std::net::ToSocketAddrs;
    let recording = Arc::new(Recording {
        inner: verifier(passed)?,
        seen: std::sync::Mutex::new(None),
    });
    let config = config_with(recording.clone())?;
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
        .map_err(|_| format!("{host} is not a server name"))?
        .to_owned();
    let address = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| format!("{host} cannot be resolved ({e})"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut socket = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("cannot connect ({e})"))?;
    socket
        .set_read_timeout(Some(timeout))
        .and_then(|()| socket.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot connect ({e})"))?;
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("TLS setup: {e}"))?;
    while connection.is_handshaking() {
        connection
            .complete_io(&mut socket)
            .map_err(|e| format!("the TLS handshake failed ({e})"))?;
    }
    let protocol = format!(
        "{} with {}",
        connection
            .protocol_version()
            .map_or("an unknown version".into(), |v| format!("{v:?}")),
        connection
            .negotiated_cipher_suite()
            .map_or("an unknown cipher".into(), |c| format!("{:?}", c.suite()))
    );
    connection.send_close_notify();
    let _ = connection.complete_io(&mut socket);
    let (certs, refused) = recording
        .seen
        .lock()
        .ok()
        .and_then(|mut seen| seen.take())
        .ok_or("the server sent no certificate")?;
    Ok(Handshake {
        protocol,
        refused,
        chain: certs.iter().map(|c| describe(c)).collect(),
    })
}

/// One certificate in a line: whom it names, who issued it, until when.
fn describe(cert: &CertificateDer<'_>) -> String {
    use x509_cert::der::Decode;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let Ok(cert) = x509_cert::Certificate::from_der(cert.as_ref()) else {
        return "a certificate that cannot be read".into();
    };
    let tbs = cert.tbs_certificate();
    let until = tbs.validity().not_after.to_unix_duration().as_secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = i64::try_from(until)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or("an unreadable date".into(), |d| {
            d.format("%Y-%m-%d").to_string()
        });
    let left = if until < now {
        format!("EXPIRED {date}")
    } else {
        format!("valid until {date} ({} days)", (until - now) / 86_400)
    };
    let names: Vec<String> = tbs
        .get_extension::<SubjectAltName>()
        .ok()
        .flatten()
        .map(|(_, san)| {
            san.0
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DnsName(d) => Some(d.to_string()),
                    GeneralName::IpAddress(ip) => match ip.as_bytes() {
                        [a, b, c, d] => Some(std::net::Ipv4Addr::new(*a, *b, *c, *d).to_string()),
                        bytes => <[u8; 16]>::try_from(bytes)
                            .ok()
                            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                    },
                    _ => None,
                })
                .take(5)
                .collect()
        })
        .unwrap_or_default();
    let names = if names.is_empty() {
        String::new()
    } else {
        format!(" for {}", names.join(", "))
    };
    let issuer = if tbs.issuer() == tbs.subject() {
        "self-signed".to_string()
    } else {
        format!("issued by \"{}\"", tbs.issuer())
    };
    format!("\"{}\"{names}, {issuer}, {left}", tbs.subject())
}
