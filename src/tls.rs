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

/// The rustls configuration a new HTTP client uses.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, Error> {
    static RING: std::sync::OnceLock<Arc<CryptoProvider>> = std::sync::OnceLock::new();
    let provider = match CryptoProvider::get_default() {
        Some(installed) => Arc::clone(installed),
        None => Arc::clone(RING.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))),
    };
    config_for(provider)
}
