//! The client's TLS certificate and key (mutual TLS): for providers that want a client
//! certificate on every connection (Brazil's Pix APIs, Open Finance), and for the RFC 8705
//! methods where the certificate alone authenticates the client.
//!
//! Loaded from PEM (the certificate chain, then a PKCS#8, SEC1 or PKCS#1 key) or, with the
//! `pkcs12` feature, from a password-protected PKCS#12 file. A certificate is checked when it
//! is loaded: the key must be the certificate's, and the certificate must be valid now, so a
//! mismatch or an expired certificate is told before any server refuses the handshake. Key
//! bytes never appear in `Debug`, logs or errors; the files read here are wiped from memory
//! once parsed.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use secrecy::zeroize::Zeroizing;

use crate::error::Error;

/// A client certificate chain and its private key, presented in TLS handshakes with token
/// endpoints and, through [`crate::TokenClient::http_client`], with the provider's API.
#[derive(Clone)]
pub struct ClientIdentity {
    chain: Arc<[CertificateDer<'static>]>,
    key: Arc<crate::keys::KeyDer>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .field("sha256", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// An identity from PEM text: the certificate (then any intermediates) and the private key,
    /// in one text or two.
    pub fn from_pem(certificates: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(certificates.as_ref())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::config("the client certificate is not PEM (`-----BEGIN CERTIFICATE-----`)")
            })?;
        if chain.is_empty() {
            return Err(Error::config(
                "no certificate in the client certificate PEM: give the `-----BEGIN CERTIFICATE-----` block the provider issued",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key.as_ref()).map_err(|_| {
            Error::config(
                "no private key in the client key PEM: give the unencrypted key (`BEGIN PRIVATE KEY`, `BEGIN EC PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`)",
            )
        })?;
        Self::new(chain, key)
    }

    /// An identity from PEM files: the certificate chain and the private key (the same file
    /// when it holds both).
    pub fn from_pem_files(
        certificates: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let certificates = read(certificates.as_ref(), "client certificate")?;
        let key = read(key.as_ref(), "client key")?;
        Self::from_pem(&*certificates, &*key)
    }

    /// An identity from PEM text in environment variables, as container platforms inject
    /// secrets: `certificates_var` holds the certificate chain, `key_var` the private key (the
    /// same variable when it holds both). Fails, naming the variable and never its value, when
    /// one is unset or empty.
    pub fn from_pem_env(certificates_var: &str, key_var: &str) -> Result<Self, Error> {
        use secrecy::ExposeSecret;
        let certificates = crate::secret::secret_from_env(certificates_var)?;
        let key = crate::secret::secret_from_env(key_var)?;
        Self::from_pem(
            certificates.expose_secret().as_bytes(),
            key.expose_secret().as_bytes(),
        )
    }

    /// An identity from a PKCS#12 (`.p12` / `.pfx`) file's bytes and its password (`""` for
    /// none), as Efí and other Pix providers hand them out.
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12(der: impl AsRef<[u8]>, password: &str) -> Result<Self, Error> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der.as_ref(),
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| match e {
            // The integrity MAC is keyed by the password: a wrong one fails here first.
            p12_keystore::error::Error::MacError(_) | p12_keystore::error::Error::UnpadError => {
                Error::config(
                    "the PKCS#12 file could not be opened with this password: check the password the provider gave with the certificate (Efí's is empty)",
                )
            }
            other => Error::config(format!(
                "the file is not a PKCS#12 certificate tokenspec can read ({other}): convert it to PEM with `openssl pkcs12 -in cert.p12 -out cert.pem -nodes` and use `ClientIdentity::from_pem_files`"
            )),
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            Error::config("the PKCS#12 file holds no private key with its certificate")
        })?;
        let certificates = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(chain.key().as_der().to_vec().into());
        Self::new(certificates, key)
    }

    /// An identity from a PKCS#12 file and its password.
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &str) -> Result<Self, Error> {
        let der = read(path.as_ref(), "PKCS#12 certificate")?;
        Self::from_pkcs12(&*der, password)
    }

    /// Checks the pair now: the key must be the certificate's, of a type TLS can sign with,
    /// and the certificate valid at this moment.
    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        let provider = crate::tls::crypto_provider();
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider).map_err(
            |e| match e {
                rustls::Error::InconsistentKeys(_) => Error::config(
                    "the client key does not belong to the client certificate: give the key that was generated with this certificate",
                ),
                _ => Error::config(
                    "the client key cannot sign TLS handshakes: give an RSA, EC (P-256 or P-384) or Ed25519 private key",
                ),
            },
        )?;
        check_validity(&chain[0], UnixTime::now())?;
        Ok(ClientIdentity {
            chain: chain.into(),
            key: Arc::new(crate::keys::KeyDer(key)),
        })
    }

    /// The certificate's SHA-256 thumbprint, base64url (RFC 8705 §3.1's `x5t#S256`): what a
    /// certificate-bound access token's `cnf` claim holds.
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.chain[0])
    }

    /// Checks that the certificate is valid at `now` (the client's clock).
    pub(crate) fn check_valid_at(&self, now: std::time::SystemTime) -> Result<(), Error> {
        let seconds = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        check_validity(
            &self.chain[0],
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
        )
    }

    /// The rustls client configuration `base` with this identity presented.
    pub(crate) fn configure(
        &self,
        base: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    ) -> Result<rustls::ClientConfig, Error> {
        base.with_client_auth_cert(self.chain.to_vec(), self.key.clone_key())
            .map_err(|e| Error::config(format!("could not set up the client certificate: {e}")))
    }
}

/// A certificate's SHA-256 thumbprint, base64url: RFC 8705 §3.1's and RFC 7515 §4.1.8's
/// `x5t#S256`.
pub(crate) fn thumbprint(certificate: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate.as_ref());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Reads a key or certificate file (`what` names it in the error), to be wiped from memory
/// when dropped.
pub(crate) fn read(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    std::fs::read(path).map(Zeroizing::new).map_err(|e| {
        Error::config(format!(
            "could not read the {what} file {}: {e}",
            path.display()
        ))
    })
}

/// Whether `certificate` is within its validity period at `time`. rustls-webpki checks an
/// end-entity certificate's own properties, validity first, before it looks for an issuer, so
/// a chain that merely has no trust anchor here says nothing about the dates.
fn check_validity(certificate: &CertificateDer<'_>, time: UnixTime) -> Result<(), Error> {
    let parsed = webpki::EndEntityCert::try_from(certificate)
        .map_err(|_| Error::config("the client certificate is not a valid X.509 certificate"))?;
    let outcome = parsed.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[],
        &[],
        time,
        webpki::KeyUsage::client_auth(),
        None,
        None,
    );
    let date = |t: UnixTime| {
        let seconds = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .map(|d| d.date().to_string())
            .unwrap_or_else(|_| format!("{seconds} s after 1970"))
    };
    match outcome {
        Err(webpki::Error::CertExpired { not_after, .. }) => Err(Error::config(format!(
            "the client certificate expired on {}: ask the provider for a new one",
            date(not_after)
        ))),
        Err(webpki::Error::CertNotValidYet { not_before, .. }) => Err(Error::config(format!(
            "the client certificate is not valid before {}: check this machine's clock, or wait",
            date(not_before)
        ))),
        _ => Ok(()),
    }
}
