//! The client's own private key, for `private_key_jwt` client assertions (RFC 7523 §2.2) and
//! the JWT-bearer grant (§2.1).
//!
//! Loaded from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or EC P-256), PKCS#1
//! (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`), or from a Google
//! service-account key file. A key is tried once
//! when loaded, so one that cannot sign fails there rather than at the first token request. Its
//! bytes never appear in `Debug`, logs or errors, and the files read here are wiped from memory
//! once parsed (the signing library keeps its own copy of the key).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::zeroize::Zeroizing;

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
    /// The key as loaded, to check a certificate against it.
    der: Arc<KeyDer>,
    family: KeyFamily,
    kid: Option<String>,
    /// The SHA-256 thumbprint of the key's certificate, when it was given one.
    x5t_s256: Option<String>,
}

/// Private key bytes, wiped from memory when the last clone of the key is dropped.
pub(crate) struct KeyDer(pub(crate) rustls::pki_types::PrivateKeyDer<'static>);

impl KeyDer {
    pub(crate) fn clone_key(&self) -> rustls::pki_types::PrivateKeyDer<'static> {
        self.0.clone_key()
    }
}

impl Drop for KeyDer {
    fn drop(&mut self) {
        use secrecy::zeroize::Zeroize as _;
        self.0.zeroize();
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("family", &self.family)
            .field("kid", &self.kid)
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A key from PEM text: PKCS#8 (RSA or EC P-256), PKCS#1 (RSA) or SEC1 (EC P-256,
    /// `BEGIN EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it).
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let pem = pem.as_ref();
        let text = String::from_utf8_lossy(pem);
        if text.contains("BEGIN EC PRIVATE KEY") {
            use rustls::pki_types::pem::PemObject as _;
            let sec1 = rustls::pki_types::PrivateSec1KeyDer::from_pem_slice(pem).map_err(|_| {
                Error::config("the client key (`BEGIN EC PRIVATE KEY`) is not valid PEM")
            })?;
            let pkcs8 = Zeroizing::new(sec1_p256_as_pkcs8(sec1.secret_sec1_der()));
            let key = EncodingKey::from_ec_der(&pkcs8);
            return Self::checked(key, KeyFamily::Ec, Algorithm::ES256, sec1.into());
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
        use rustls::pki_types::pem::PemObject as _;
        let der = rustls::pki_types::PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| Error::config("the client key is not valid PEM"))?;
        Self::checked(key, family, probe, der)
    }

    /// Signs once now, so a damaged key or an unsupported curve fails here.
    fn checked(
        key: EncodingKey,
        family: KeyFamily,
        probe: Algorithm,
        der: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        jsonwebtoken::encode(&Header::new(probe), &serde_json::json!({}), &key).map_err(|_| {
            Error::config(
                "the client key cannot sign: it is damaged, or an EC key on a curve other than P-256",
            )
        })?;
        Ok(ClientKey {
            key,
            der: Arc::new(KeyDer(der)),
            family,
            kid: None,
            x5t_s256: None,
        })
    }

    /// Names the key by its certificate (PEM), as Microsoft Entra ID wants a certificate
    /// credential named: each assertion's header carries the certificate's SHA-256 thumbprint
    /// (`x5t#S256`, RFC 7515 §4.1.8). The certificate must be this key's.
    pub fn with_certificate(mut self, certificate_pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        use rustls::pki_types::pem::PemObject as _;
        let certificate = rustls::pki_types::CertificateDer::from_pem_slice(
            certificate_pem.as_ref(),
        )
        .map_err(|_| {
            Error::config("no certificate in the PEM given to `ClientKey::with_certificate`")
        })?;
        // The certificate's public key must be this key's.
        rustls::sign::CertifiedKey::from_der(
            vec![certificate.clone()],
            self.der.clone_key(),
            &crate::tls::crypto_provider(),
        )
        .map_err(|_| {
            Error::config(
                "the certificate given to `ClientKey::with_certificate` is not this key's: give the certificate issued for this key",
            )
        })?;
        self.x5t_s256 = Some(crate::identity::thumbprint(&certificate));
        Ok(self)
    }

    /// A key from a PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = crate::identity::read(path.as_ref(), "client key")?;
        Self::from_pem(&*pem)
    }

    /// A key from the PEM text in the environment variable `var`, as container platforms
    /// inject secrets. Fails, naming the variable and never its value, when it is unset, empty
    /// or holds no key.
    pub fn from_pem_env(var: &str) -> Result<Self, Error> {
        let pem = crate::secret::secret_from_env(var)?;
        Self::from_pem(secrecy::ExposeSecret::expose_secret(&pem))
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

    /// The thumbprint of the key's certificate (`x5t#S256`), if it was given one.
    pub(crate) fn x5t_s256(&self) -> Option<&str> {
        self.x5t_s256.as_deref()
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.key
    }
}

/// A Google service-account key file (the JSON a Google Cloud console hands out): the account's
/// email, which is the client id of its JWT-bearer assertions, and its RSA private key, known to
/// Google by `private_key_id`.
///
/// ```no_run
/// # fn main() -> Result<(), tokenspec::Error> {
/// let account = tokenspec::ServiceAccountKey::from_file("service-account.json")?;
/// let id = account.client_email(); // the builder's `client_id`
/// let key = account.client_key(); // the builder's `client_key`, its `kid` set
/// # let _ = (id, key);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ServiceAccountKey {
    client_email: String,
    token_uri: Option<String>,
    key: ClientKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("key", &self.key)
            .finish()
    }
}

/// The fields of a key file tokenspec reads (others, such as `project_id`, are ignored).
#[derive(serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// A key from the key file's JSON text.
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<Self, Error> {
        let file: KeyFile = serde_json::from_slice(json.as_ref()).map_err(|e| {
            // serde_json's message names the line and column; it quotes a value only when the
            // value's type is wrong, and every field read here is text, so never the key.
            Error::config(format!(
                "the service-account key file is not the JSON Google issues ({e}): download a new key (IAM, Service accounts, Keys, Add key, JSON)"
            ))
        })?;
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(Error::config(format!(
                "the key file is of type `{kind}`, not `service_account`: give the key of a service account (user credentials and external accounts sign nothing)"
            )));
        }
        let missing = |field: &str| {
            Error::config(format!(
                "the service-account key file has no `{field}`: download a new JSON key for the account"
            ))
        };
        let client_email = file.client_email.ok_or_else(|| missing("client_email"))?;
        let pem = Zeroizing::new(file.private_key.ok_or_else(|| missing("private_key"))?);
        let key = ClientKey::from_pem(pem.as_bytes()).map_err(|_| {
            Error::config(
                "the `private_key` of the service-account key file is not a PEM private key tokenspec can sign with: download a new JSON key for the account",
            )
        })?;
        let key = match file.private_key_id {
            Some(id) if !id.is_empty() => key.with_kid(id),
            _ => key,
        };
        Ok(ServiceAccountKey {
            client_email,
            token_uri: file.token_uri,
            key,
        })
    }

    /// A key from a key file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let json = crate::identity::read(path, "service-account key")?;
        Self::from_json(&*json)
    }

    /// The service account's email: the `iss` of its assertions, the builder's `client_id`.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The token endpoint the key file names (`token_uri`), if it names one.
    pub fn token_uri(&self) -> Option<&str> {
        self.token_uri.as_deref()
    }

    /// The private key, with the key file's `private_key_id` as its `kid`.
    pub fn client_key(&self) -> ClientKey {
        self.key.clone()
    }
}

/// A SEC1 EC private key (RFC 5915) wrapped as the PKCS#8 `PrivateKeyInfo` (RFC 5958) of a
/// P-256 key, the form the signing library reads: `SEQUENCE { INTEGER 0, SEQUENCE {
/// id-ecPublicKey, prime256v1 }, OCTET STRING sec1 }`. A key on another curve then fails the
/// probe signature with a message that says so.
pub(crate) fn sec1_p256_as_pkcs8(sec1: &[u8]) -> Vec<u8> {
    /// `SEQUENCE { OID 1.2.840.10045.2.1, OID 1.2.840.10045.3.1.7 }`
    const P256_ALGORITHM: &[u8] = &[
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    fn tlv(tag: u8, value: &[u8], out: &mut Vec<u8>) {
        out.push(tag);
        let len = value.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(value);
    }
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(P256_ALGORITHM);
    tlv(0x04, sec1, &mut body);
    let mut out = Vec::with_capacity(body.len() + 4);
    tlv(0x30, &body, &mut out);
    out
}
