//! TLS settings and the rustls client configuration built from them (ring provider).
//!
//! Verification is on by default: the server's certificate must chain to the given CA bundle
//! (else the system's roots) and name the host the node is reached by (after address remap),
//! or [`TlsOptions::server_name`] when set.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// TLS settings for every connection of a client: data nodes, sentinels and the nodes they
/// name. `TlsOptions::default()` verifies servers against the system's CA roots.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// PEM file of the CA certificates to trust; `None` trusts the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to servers that ask for one (`tls-auth-clients`).
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file`. Never printed.
    pub client_key_file: Option<PathBuf>,
    /// The name the server's certificate must carry, instead of the host connected to.
    pub server_name: Option<String>,
    /// Accept any certificate from any server. Only for tests: anyone on the path can read
    /// and change the traffic.
    pub insecure_skip_verify: bool,
}

impl TlsOptions {
    /// Sets [`TlsOptions::ca_file`].
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    /// Sets the client certificate chain and its key.
    #[must_use]
    pub fn with_client_cert(
        mut self,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert_file = Some(cert_file.into());
        self.client_key_file = Some(key_file.into());
        self
    }
    /// Sets [`TlsOptions::server_name`].
    #[must_use]
    pub fn with_server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }
    /// Sets [`TlsOptions::insecure_skip_verify`].
    #[must_use]
    pub fn with_insecure_skip_verify(mut self, on: bool) -> Self {
        self.insecure_skip_verify = on;
        self
    }
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_file", &self.ca_file)
            .field("client_cert_file", &self.client_cert_file)
            .field(
                "client_key_file",
                &self.client_key_file.as_ref().map(|_| "<redacted>"),
            )
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// A ready rustls connector plus the server-name override: built once per client, so bad
/// files are reported when the client is created, not on every connect.
#[derive(Clone)]
pub(crate) struct Tls {
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Tls {
    pub fn new(o: &TlsOptions) -> Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::invalid(format!("tls: {e}")))?;
        let builder = if o.insecure_skip_verify {
            tracing::warn!("tls: insecure_skip_verify is on: server certificates are not checked");
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            builder.with_root_certificates(roots(o.ca_file.as_deref())?)
        };
        let config = match (&o.client_cert_file, &o.client_key_file) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certs(cert, "client_cert_file")?, private_key(key)?)
                .map_err(|e| Error::invalid(format!("tls: client certificate and key: {e}")))?,
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(Error::invalid(
                    "tls: client_cert_file and client_key_file go together",
                ))
            }
        };
        let server_name = match &o.server_name {
            Some(n) => Some(ServerName::try_from(n.clone()).map_err(|_| {
                Error::invalid(format!(
                    "tls: server_name {n:?} is not a DNS name or IP address"
                ))
            })?),
            None => None,
        };
        Ok(Tls {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Runs the TLS handshake on `tcp`, checking the certificate against `host` (the address
    /// connected to) unless a server name was configured.
    pub async fn connect(
        &self,
        host: &str,
        tcp: tokio::net::TcpStream,
    ) -> std::result::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_owned())
                .map_err(|_| format!("{host:?} cannot be checked against a certificate"))?,
        };
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))
    }
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for c in certs(path, "ca_file")? {
                store
                    .add(c)
                    .map_err(|e| Error::invalid(format!("tls: ca_file {}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // One unreadable system certificate must not stop the others.
                let _ = store.add(c);
            }
            if store.is_empty() {
                return Err(Error::invalid(
                    "tls: no ca_file given and no system CA certificates found",
                ));
            }
        }
    }
    Ok(store)
}

fn certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |e: String| Error::invalid(format!("tls: {what} {}: {e}", path.display()));
    let out = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if out.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(out)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    // The file's name is fine to show; its content never is (pem errors do not quote it).
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        Error::invalid(format!(
            "tls: client_key_file {}: no usable PEM private key ({e})",
            path.display()
        ))
    })
}

/// The verifier behind `insecure_skip_verify`: signatures are still checked (so the session
/// keys are sound), the certificate's issuer and name are not.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
