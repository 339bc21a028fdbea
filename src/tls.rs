//! TLS for every HTTP client tokenspec builds, chosen without touching process-wide state.
//!
//! reqwest, built without a default crypto provider, would otherwise need one installed as the
//! process default, a decision that belongs to the application. tokenspec uses the provider the
//! application installed (`rustls::crypto::CryptoProvider::install_default`), or *ring* when it
//! installed none, and checks certificates with the platform's verifier (the operating system's
//! trust store).

use std::sync::{Arc, Mutex, PoisonError};

use rustls::crypto::CryptoProvider;
use rustls_platform_verifier::BuilderVerifierExt as _;

use crate::error::Error;

/// The rustls configuration for `provider`, made once per provider: loading the platform's
/// trust store costs milliseconds, and the configuration never changes.
fn config_for(provider: Arc<CryptoProvider>) -> Result<rustls::ClientConfig, Error> {
    static MADE: Mutex<Option<rustls::ClientConfig>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(config) = made.as_ref()
        && Arc::ptr_eq(config.crypto_provider(), &provider)
    {
        return Ok(config.clone());
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| Error::config(format!("could not set up TLS: {e}")))?
        .with_no_client_auth();
    *made = Some(config.clone());
    Ok(config)
}

/// The crypto provider TLS uses: the application's process default, else *ring*.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    static RING: std::sync::OnceLock<Arc<CryptoProvider>> = std::sync::OnceLock::new();
    match CryptoProvider::get_default() {
        Some(installed) => Arc::clone(installed),
        None => Arc::clone(RING.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))),
    }
}

/// The rustls configuration a new HTTP client uses.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, Error> {
    config_for(crypto_provider())
}

/// The rustls configuration of a client that presents `identity` in its handshakes and, beyond
/// the platform's trust store, trusts `extra_roots` (a private PKI's or a test CA's). Made for
/// each token client that has either: the identity is that client's own.
pub(crate) fn client_config_with(
    identity: Option<&crate::identity::ClientIdentity>,
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<rustls::ClientConfig, Error> {
    if identity.is_none() && extra_roots.is_empty() {
        return client_config();
    }
    let provider = crypto_provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("could not set up TLS: {e}")))?;
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots.iter().cloned(),
        provider,
    )
    .map_err(|e| Error::config(format!("could not set up TLS with the extra roots: {e}")))?;
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    match identity {
        Some(identity) => identity.configure(builder),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The certificates of the PEM texts given to [`crate::Settings::root_certificates`].
pub(crate) fn root_certificates(
    pems: &[Vec<u8>],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = Vec::new();
    for pem in pems {
        let before = roots.len();
        for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            roots.push(certificate.map_err(|_| {
                Error::config("the extra root certificates are not PEM certificates")
            })?);
        }
        if roots.len() == before {
            return Err(Error::config(
                "no certificate in the extra root certificates PEM (`-----BEGIN CERTIFICATE-----`)",
            ));
        }
    }
    Ok(roots)
}
