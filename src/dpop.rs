//! DPoP (RFC 9449): tokens bound to a key the client holds, so a token that leaks (a log, a
//! proxy, a compromised API) is useless without the key.
//!
//! Every token request and every API call carries a `DPoP` header: a JWT signed with the key
//! (ES256), naming the request's method (`htm`) and URL without query (`htu`), with a unique
//! `jti` and the time (`iat`); on API calls also the token's hash (`ath`), and the server's
//! nonce when it gave one. A server that wants a nonce answers `use_dpop_nonce` with a
//! `DPoP-Nonce` header; the request is signed again with it and sent once more, and the nonce
//! is kept for that server (by origin) until it gives another.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use secrecy::zeroize::Zeroizing;
use serde::Serialize;
use url::Url;

use crate::error::Error;

/// The request header that carries a proof.
pub(crate) const DPOP: &str = "dpop";
/// The answer header that carries a server's nonce.
pub(crate) const DPOP_NONCE: &str = "dpop-nonce";
/// The error code a server answers when a proof lacks its current nonce (RFC 9449 §8, §9).
const USE_DPOP_NONCE: &str = "use_dpop_nonce";
/// Servers whose nonce is kept at once; past it the oldest are forgotten (a server whose nonce
/// was forgotten asks for it again, costing one round trip).
const NONCES_KEPT: usize = 64;

/// The key a client proves possession of with DPoP (RFC 9449): an ECDSA P-256 key, signing
/// ES256.
///
/// A client whose spec says `dpop: true` makes one of its own when it is built unless given
/// one with [`crate::Settings::dpop_key`]. Give one when tokens must outlive the process: a
/// public client's refresh tokens are bound to the key, so every process that refreshes a
/// session (a fleet sharing a store, a restart) needs the same key. Cheap to clone; the private
/// key never appears in `Debug`, logs or errors.
#[derive(Clone)]
pub struct DpopKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    pair: EcdsaKeyPair,
    /// The key as PKCS#8, for a session's key kept in the client's store; wiped when dropped.
    pkcs8: Zeroizing<Vec<u8>>,
    /// The proof's header, base64url: `typ`, `alg` and the public key (`jwk`), the same on
    /// every proof.
    header: String,
    /// RFC 7638 thumbprint of the public key, base64url (what servers bind tokens to, `jkt`).
    thumbprint: String,
    random: SystemRandom,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &"ES256")
            .field("jkt", &self.inner.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A new random key, which lives as long as this value and its clones.
    pub fn generate() -> Result<Self, Error> {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
            .map_err(|_| Error::config("the system random generator failed"))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A P-256 key from PEM text: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE
    /// KEY`, as `openssl ecparam -name prime256v1 -genkey` writes it).
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject as _;
        let wrong = || {
            Error::config(
                "the DPoP key is not a PEM EC P-256 private key: give PKCS#8 (`BEGIN PRIVATE KEY`) \
                 or SEC1 (`BEGIN EC PRIVATE KEY`), e.g. from `openssl ecparam -name prime256v1 -genkey -noout`",
            )
        };
        match PrivateKeyDer::from_pem_slice(pem.as_ref()).map_err(|_| wrong())? {
            PrivateKeyDer::Pkcs8(der) => Self::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(der) => Self::from_pkcs8(&Zeroizing::new(
                crate::keys::sec1_p256_as_pkcs8(der.secret_sec1_der()),
            )),
            _ => Err(wrong()),
        }
        .map_err(|_| wrong())
    }

    /// [`DpopKey::from_pem`] of a file's text; the bytes read are wiped once parsed.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = crate::identity::read(path.as_ref(), "DPoP key")?;
        Self::from_pem(&*pem)
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, Error> {
        let random = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &random)
            .map_err(|_| Error::config("the DPoP key is not an EC P-256 key"))?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..65]),
        );
        // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let thumbprint = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ));
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{canonical}}}"#
        ));
        Ok(DpopKey {
            inner: Arc::new(KeyInner {
                pair,
                pkcs8: Zeroizing::new(pkcs8.to_vec()),
                header,
                thumbprint,
                random,
            }),
        })
    }

    /// The key as a session's state keeps it in the client's store (which seals it, as it
    /// does refresh tokens): PKCS#8, base64url.
    pub(crate) fn to_stored(&self) -> secrecy::SecretString {
        secrecy::SecretString::from(URL_SAFE_NO_PAD.encode(&*self.inner.pkcs8))
    }

    /// A key [`DpopKey::to_stored`] wrote.
    pub(crate) fn from_stored(text: &str) -> Result<Self, Error> {
        let pkcs8 = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| Error::config("a session's DPoP key in the store is damaged"))?,
        );
        Self::from_pkcs8(&pkcs8)
    }

    /// The key's JWK SHA-256 thumbprint (RFC 7638), base64url: the `jkt` a server binds tokens
    /// to (`cnf.jkt` in introspection), and the `dpop_jkt` of an authorization request.
    pub fn thumbprint(&self) -> &str {
        &self.inner.thumbprint
    }

    /// A proof for a `method` request to `url`, at `now`; `token` (for `ath`) on API calls,
    /// `nonce` when the server gave one.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &Url,
        token: Option<&str>,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<HeaderValue, Error> {
        #[derive(Serialize)]
        struct Claims<'a> {
            jti: &'a str,
            htm: &'a str,
            htu: &'a str,
            iat: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            ath: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            nonce: Option<&'a str>,
        }
        let inner = &*self.inner;
        let failed = || Error::config("the DPoP key could not sign a proof");
        let mut jti = [0u8; 16];
        inner.random.fill(&mut jti).map_err(|_| failed())?;
        let jti = URL_SAFE_NO_PAD.encode(jti);
        // RFC 9449 §4.2: `htu` is the target URI without query and fragment.
        let htu = match url.query().or(url.fragment()) {
            None => std::borrow::Cow::Borrowed(url.as_str()),
            Some(_) => {
                let mut bare = url.clone();
                bare.set_query(None);
                bare.set_fragment(None);
                std::borrow::Cow::Owned(bare.to_string())
            }
        };
        let ath = token.map(|t| {
            URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, t.as_bytes()))
        });
        let claims = serde_json::to_vec(&Claims {
            jti: &jti,
            htm: method,
            htu: &htu,
            iat: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            ath: ath.as_deref(),
            nonce,
        })
        .map_err(|_| failed())?;
        let mut jwt = String::with_capacity(inner.header.len() + claims.len() * 4 / 3 + 92);
        jwt.push_str(&inner.header);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut jwt);
        let signature = inner
            .pair
            .sign(&inner.random, jwt.as_bytes())
            .map_err(|_| failed())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jwt);
        HeaderValue::try_from(jwt).map_err(|_| failed())
    }
}

/// A client's DPoP state: its key and the nonces servers gave it.
#[derive(Debug)]
pub(crate) struct Dpop {
    pub(crate) key: DpopKey,
    nonces: Mutex<HashMap<String, Arc<str>>>,
}

impl Dpop {
    pub(crate) fn new(key: DpopKey) -> Self {
        Dpop {
            key,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Puts a proof for `request` in its headers: for the token endpoint (`token: None`), or
    /// an API call with `token`, with the nonce the server gave last, if any.
    pub(crate) fn sign(
        &self,
        request: &mut reqwest::Request,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<(), Error> {
        let proof = self.proof_for(request.method().as_str(), request.url(), token, now)?;
        request.headers_mut().insert(DPOP, proof);
        Ok(())
    }

    /// A proof for a `method` request to `url`, with the nonce its server gave last.
    pub(crate) fn proof_for(
        &self,
        method: &str,
        url: &Url,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<HeaderValue, Error> {
        let nonce = self.nonce(url);
        self.key.proof(method, url, token, nonce.as_deref(), now)
    }

    fn nonce(&self, url: &Url) -> Option<Arc<str>> {
        let nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        if nonces.is_empty() {
            return None;
        }
        nonces.get(&origin(url)).cloned()
    }

    /// Keeps the nonce an answer from `url`'s server carries, if any (a server may send a new
    /// one on any answer); says whether it was new.
    pub(crate) fn remember(&self, url: &Url, answer: &HeaderMap) -> bool {
        let Some(nonce) = answer.get(DPOP_NONCE).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        // RFC 9449 §8.1: a nonce is 1*NQCHAR; anything else is not one.
        if nonce.is_empty()
            || !nonce
                .bytes()
                .all(|b| b == b'!' || (0x23..=0x7e).contains(&b))
        {
            return false;
        }
        let mut nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        let origin = origin(url);
        if nonces.get(&origin).is_some_and(|n| &**n == nonce) {
            return false;
        }
        if nonces.len() >= NONCES_KEPT && !nonces.contains_key(&origin) {
            nonces.clear();
        }
        nonces.insert(origin, Arc::from(nonce));
        true
    }
}

/// Whether a DPoP provider chose to issue the token in `answer` as a plain `Bearer` token
/// (RFC 9449 §5: "signaled to the client with a value of `Bearer` in the `token_type`
/// parameter"): it then goes on API calls as one, without a proof. An answer without
/// `token_type` is taken as bound, as the proof asked.
pub(crate) fn issued_as_bearer(answer: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct TokenType<'a> {
        #[serde(borrow)]
        token_type: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<TokenType<'_>>(answer).is_ok_and(|t| {
        t.token_type
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    })
}

/// Whether a token endpoint's refusal asks for a (new) nonce: `use_dpop_nonce` in the body
/// (RFC 9449 §8).
pub(crate) fn token_endpoint_wants_nonce(status: u16, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Code<'a> {
        #[serde(borrow)]
        error: Option<std::borrow::Cow<'a, str>>,
    }
    (400..500).contains(&status)
        && serde_json::from_slice::<Code<'_>>(body)
            .is_ok_and(|c| c.error.as_deref() == Some(USE_DPOP_NONCE))
}

/// Whether an API's `401` asks for a (new) nonce: `error="use_dpop_nonce"` in its
/// `WWW-Authenticate: DPoP` challenge (RFC 9449 §9).
pub(crate) fn resource_wants_nonce(answer: &HeaderMap) -> bool {
    answer
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.trim_start()
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("dpop "))
                && v.contains(USE_DPOP_NONCE)
        })
}

/// A server's origin, which its nonce is kept by.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_names_the_request_without_its_query_and_verifies_with_its_own_jwk() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://api.example.test/v1/items?page=2#top").unwrap();
        let proof = key
            .proof(
                "GET",
                &url,
                Some("the-token"),
                Some("n-1"),
                UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            )
            .unwrap();
        let proof = proof.to_str().unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        let header = decode(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(
            header["jwk"].get("d").is_none(),
            "the private key stays private"
        );
        let claims = decode(parts[1]);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example.test/v1/items");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nonce"], "n-1");
        // RFC 9449 §4.2: ath is base64url(SHA-256(token)).
        let hash = ring::digest::digest(&ring::digest::SHA256, b"the-token");
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(hash));
        let jwk = &header["jwk"];
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signed = format!("{}.{}", parts[0], parts[1]);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .expect("the signature verifies with the header's key");
    }

    #[test]
    fn every_proof_has_its_own_jti() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://as.example.test/token").unwrap();
        let jti =
            |p: HeaderValue| decode(p.to_str().unwrap().split('.').nth(1).unwrap())["jti"].clone();
        let a = jti(key
            .proof("POST", &url, None, None, SystemTime::now())
            .unwrap());
        let b = jti(key
            .proof("POST", &url, None, None, SystemTime::now())
            .unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s_of_the_public_key() {
        // RFC 7638 §3.1's method on a P-256 key from PEM: the thumbprint is the SHA-256 of
        // the canonical JWK, which the proof's header carries.
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://as.example.test/token").unwrap();
        let proof = key
            .proof("POST", &url, None, None, SystemTime::now())
            .unwrap();
        let jwk = decode(proof.to_str().unwrap().split('.').next().unwrap())["jwk"].clone();
        let canonical = format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["kty"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ));
        assert_eq!(key.thumbprint(), expected);
        assert!(format!("{key:?}").contains(key.thumbprint()));
    }

    #[test]
    fn a_key_kept_in_a_store_reads_back_as_the_same_key() {
        let key = DpopKey::generate().unwrap();
        let stored = key.to_stored();
        let back = DpopKey::from_stored(secrecy::ExposeSecret::expose_secret(&stored)).unwrap();
        assert_eq!(back.thumbprint(), key.thumbprint());
        assert!(DpopKey::from_stored("not base64url!").is_err());
    }

    #[test]
    fn a_key_that_is_not_p256_pem_is_refused_without_echoing_it() {
        let error =
            DpopKey::from_pem("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
                .unwrap_err()
                .to_string();
        assert!(error.contains("EC P-256"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
    }

    #[test]
    fn nonces_are_kept_per_server_and_only_when_well_formed() {
        let dpop = Dpop::new(DpopKey::generate().unwrap());
        let a = Url::parse("https://as.example.test/token").unwrap();
        let b = Url::parse("https://api.example.test/v1").unwrap();
        let mut answer = HeaderMap::new();
        answer.insert(
            DPOP_NONCE,
            HeaderValue::from_static("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        );
        assert!(dpop.remember(&a, &answer));
        assert!(!dpop.remember(&a, &answer), "the same nonce is not news");
        assert_eq!(dpop.nonce(&a).as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        assert_eq!(dpop.nonce(&b), None);
        answer.insert(DPOP_NONCE, HeaderValue::from_static("has \"quotes\""));
        assert!(!dpop.remember(&b, &answer));
        assert_eq!(dpop.nonce(&b), None);
    }

    #[test]
    fn nonce_challenges_are_recognised_from_the_token_endpoint_and_from_apis() {
        assert!(token_endpoint_wants_nonce(
            400,
            br#"{"error":"use_dpop_nonce","error_description":"x"}"#
        ));
        assert!(!token_endpoint_wants_nonce(
            400,
            br#"{"error":"invalid_grant"}"#
        ));
        assert!(!token_endpoint_wants_nonce(
            200,
            br#"{"error":"use_dpop_nonce"}"#
        ));
        let mut answer = HeaderMap::new();
        answer.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#),
        );
        assert!(resource_wants_nonce(&answer));
        answer.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"DPoP error="invalid_token""#),
        );
        assert!(!resource_wants_nonce(&answer));
    }
}
