//! The client's own private key, for `private_key_jwt` client assertions (RFC 7523 §2.2).
//!
//! Loaded from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or EC P-256) or PKCS#1
//! (`BEGIN RSA PRIVATE KEY`). A key is tried once when loaded, so one that cannot sign fails
//! there rather than at the first token request. Its bytes never appear in `Debug`, logs or
//! errors.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::error::Error;

/// What kind of key, which decides the algorithms it signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    /// RSA: RS256, PS256.
    Rsa,
    /// ECDSA P-256: ES256.
    Ec,
}

/// A private key the client signs its assertions with, and the key id (`kid`) the provider
/// knows it by.
#[derive(Clone)]
pub struct ClientKey {
    key: EncodingKey,
    family: KeyFamily,
    kid: Option<String>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("family", &self.family)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A key from PEM text: PKCS#8 (RSA or EC P-256) or PKCS#1 (RSA).
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let pem = pem.as_ref();
        let text = String::from_utf8_lossy(pem);
        if text.contains("BEGIN EC PRIVATE KEY") {
            return Err(Error::config(
                "the client key is a SEC1 EC key (`BEGIN EC PRIVATE KEY`): convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key8.pem`",
            ));
        }
        if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            return Err(Error::config(
                "the client key is encrypted: decrypt it to PKCS#8 (`openssl pkcs8 -in key.pem -out key8.pem`) and keep that file secret",
            ));
        }
        let (key, family, probe) = match EncodingKey::from_rsa_pem(pem) {
            Ok(key) => (key, KeyFamily::Rsa, Algorithm::RS256),
            Err(_) => match EncodingKey::from_ec_pem(pem) {
                Ok(key) => (key, KeyFamily::Ec, Algorithm::ES256),
                Err(_) => {
                    return Err(Error::config(
                        "the client key is not a PEM private key tokenspec can sign with: give an RSA key (PKCS#8 or PKCS#1) or an EC P-256 key (PKCS#8)",
                    ));
                }
            },
        };
        // Sign once now, so a damaged key or an unsupported curve fails here.
        jsonwebtoken::encode(&Header::new(probe), &serde_json::json!({}), &key).map_err(|_| {
            Error::config(
                "the client key cannot sign: it is damaged, or an EC key on a curve other than P-256",
            )
        })?;
        Ok(ClientKey {
            key,
            family,
            kid: None,
        })
    }

    /// A key from a PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| {
            Error::config(format!(
                "could not read the client key file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_pem(pem)
    }

    /// The key id (`kid`) the provider registered this key under, sent in each assertion's
    /// header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    pub(crate) fn family(&self) -> KeyFamily {
        self.family
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.key
    }
}
