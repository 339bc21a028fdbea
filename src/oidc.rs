//! OpenID Connect: authorization requests with `state`, `nonce` and PKCE, and ID-token validation
//! as OpenID Connect Core §3.1.3.7 describes it.
//!
//! Validation trusts only keys from the provider's JWKS (or, for HS256, the client secret), for
//! algorithms the spec allows; `alg: none` is refused, and keys a token names about itself
//! (`jwk`, `jku`, `x5u`, `x5c`) are never used. A token signed with a key id the cached JWKS does
//! not know causes one JWKS refresh, at most once per [`OpenIdConfig::jwks_refresh_interval`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::metadata::Metadata;
pub use crate::metadata::{Discovery, MtlsEndpointAliases};
use crate::outbound::{Http, UrlRule};

pub use crate::error::IdTokenError;

/// The claims of a validated ID token.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user at the provider.
    pub sub: String,
    /// Audiences (a single string in the token becomes one entry).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// The nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(a) => vec![a],
        OneOrMany::Many(a) => a,
    })
}

/// Declares [`Algorithm`] from one list, so its names, its variants and their mapping to the
/// signing library cannot drift apart.
macro_rules! algorithms {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// A JWS signature algorithm an ID token may be signed with (RFC 7518 §3.1), by its
        /// `alg` name. `none` is not one: unsigned tokens are always refused.
        ///
        /// tokenspec's own type, so the signing library behind it can change without changing
        /// this API; new algorithms may be added in minor releases.
        ///
        /// ```
        /// use tokenspec::oidc::Algorithm;
        ///
        /// assert_eq!("ES256".parse::<Algorithm>(), Ok(Algorithm::ES256));
        /// assert_eq!(Algorithm::EdDSA.to_string(), "EdDSA");
        /// assert!("none".parse::<Algorithm>().is_err());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Algorithm {
            $($(#[$doc])* $name,)*
        }

        impl Algorithm {
            /// Every algorithm this version knows.
            const ALL: &[Algorithm] = &[$(Algorithm::$name),*];

            /// Its `alg` name (`RS256`, `EdDSA`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Algorithm::$name => stringify!($name),)*
                }
            }

            /// The signing library's name for it.
            fn jwt(self) -> jsonwebtoken::Algorithm {
                match self {
                    $(Algorithm::$name => jsonwebtoken::Algorithm::$name,)*
                }
            }
        }
    };
}

algorithms! {
    /// HMAC with SHA-256, keyed by the client secret.
    HS256,
    /// HMAC with SHA-384, keyed by the client secret.
    HS384,
    /// HMAC with SHA-512, keyed by the client secret.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// EdDSA (Ed25519).
    EdDSA,
}

impl Algorithm {
    /// Ours for the signing library's, if this version knows it.
    fn from_jwt(alg: jsonwebtoken::Algorithm) -> Option<Algorithm> {
        Algorithm::ALL.iter().copied().find(|a| a.jwt() == alg)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `alg` name that is not an algorithm tokenspec validates with (`none` never is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a signature algorithm tokenspec accepts")]
pub struct UnknownAlgorithm(String);

impl std::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses an `alg` name exactly as RFC 7518 writes it (`RS256`, `EdDSA`).
    fn from_str(name: &str) -> Result<Self, UnknownAlgorithm> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// Where and how to validate a provider's ID tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct OpenIdConfig {
    /// The exact `iss` expected.
    pub issuer: String,
    /// The client id, which `aud` must contain.
    pub client_id: String,
    /// Allowed signature algorithms (`RS256`, `ES256`, `HS256`, …).
    pub algorithms: Vec<Algorithm>,
    /// Where the provider publishes its keys; found through discovery when `None`.
    pub jwks_uri: Option<Url>,
    /// The client secret, for HS256-signed tokens.
    pub client_secret: Option<SecretString>,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway: Duration,
    /// Least time between two JWKS fetches caused by unknown key ids.
    pub jwks_refresh_interval: Duration,
    /// Whether endpoints on plain `http://` at hosts other than loopback are accepted (the
    /// spec's `allow_insecure_http`). Otherwise discovery and key URLs must use `https://`.
    pub allow_insecure_http: bool,
    /// Deadline for fetching a discovery document or key set, answer included.
    pub fetch_timeout: Duration,
    /// Largest discovery document or key set read.
    pub max_document_bytes: usize,
}

impl OpenIdConfig {
    /// A configuration for `issuer` and `client_id`, allowing RS256 and ES256, with a 60 s
    /// leeway and JWKS refresh interval, a 10 s fetch deadline and a 1 MiB document limit.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        OpenIdConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            jwks_uri: None,
            client_secret: None,
            leeway: Duration::from_secs(60),
            jwks_refresh_interval: Duration::from_secs(60),
            allow_insecure_http: false,
            fetch_timeout: crate::DEFAULT_TIMEOUT,
            max_document_bytes: crate::DEFAULT_MAX_BODY_BYTES,
        }
    }

    fn url_rule(&self) -> UrlRule {
        UrlRule {
            allow_insecure_http: self.allow_insecure_http,
            allow_query: true,
        }
    }
}

impl fmt::Debug for OpenIdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("algorithms", &self.algorithms)
            .field("jwks_uri", &self.jwks_uri.as_ref().map(Url::as_str))
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// Who fetches the key set next, and from where.
struct Refresh {
    fetched_at: Option<Instant>,
    /// When the last fetch failed, and why: a broken key endpoint is asked again only after
    /// [`FAILED_FETCH_PAUSE`], however many tokens arrive meanwhile.
    failed: Option<(Instant, String)>,
    jwks_uri: Option<Url>,
}

/// How long after a failed key fetch validations fail at once instead of fetching again.
const FAILED_FETCH_PAUSE: Duration = Duration::from_secs(5);

/// Validates ID tokens for one client, caching the provider's JWKS.
///
/// A validation whose key is in the cached set never waits: the set is read without a lock.
/// Only a key id the set does not know makes one task refresh it (the others with unknown keys
/// wait for that refresh, at most the fetch deadline), at most once per refresh interval.
pub struct IdTokenValidator {
    config: OpenIdConfig,
    clock: Arc<dyn Clock>,
    keys: ArcSwapOption<JwkSet>,
    refresh: tokio::sync::Mutex<Refresh>,
    metadata: Metadata,
    /// The client secret that replaced `config.client_secret` in a live client.
    replaced_secret: ArcSwapOption<SecretString>,
}

impl fmt::Debug for IdTokenValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenValidator")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn keys_error(e: impl fmt::Display) -> Error {
    Error::IdToken(IdTokenError::Keys(crate::response::strip_urls(
        &e.to_string(),
    )))
}

impl IdTokenValidator {
    /// Checks ID tokens signed with the client secret (HS256) with `secret` from now on: the
    /// client's secret was replaced.
    pub(crate) fn replace_client_secret(&self, secret: SecretString) {
        self.replaced_secret.store(Some(Arc::new(secret)));
    }

    /// A validator using `http` to fetch discovery and JWKS documents. A redirect, or an answer
    /// from another URL than the one asked, is refused whatever `http` is set to do.
    pub fn new(config: OpenIdConfig, http: reqwest::Client) -> Self {
        Self::sharing(config, Arc::new(Http::fixed(http)), Arc::new(SystemClock))
    }

    /// A validator fetching through a token client's HTTP clients, reading time (for the JWKS
    /// refresh interval) from `clock`.
    pub(crate) fn sharing(config: OpenIdConfig, http: Arc<Http>, clock: Arc<dyn Clock>) -> Self {
        let jwks_uri = config.jwks_uri.clone();
        let metadata = Metadata::new(
            config.issuer.clone(),
            config.url_rule(),
            Arc::clone(&http),
            config.fetch_timeout,
            config.max_document_bytes,
        );
        IdTokenValidator {
            config,
            clock,
            keys: ArcSwapOption::empty(),
            refresh: tokio::sync::Mutex::new(Refresh {
                fetched_at: None,
                failed: None,
                jwks_uri,
            }),
            metadata,
            replaced_secret: ArcSwapOption::empty(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OpenIdConfig {
        &self.config
    }

    /// The provider's metadata (its issuer's).
    pub(crate) fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Fetches the provider's metadata (once): OpenID Connect discovery
    /// (`<issuer>/.well-known/openid-configuration`), or else RFC 8414 authorization-server
    /// metadata (`/.well-known/oauth-authorization-server<issuer path>`). Checks that its issuer
    /// is the configured one and that every endpoint it names passes the URL rule.
    pub async fn discover(&self) -> Result<Discovery, Error> {
        self.metadata.discover().await
    }

    /// The key for `kid`: from the cached set without waiting, else after a refresh of the set
    /// (one at a time, at most once per refresh interval once a set is cached).
    async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, Error> {
        let find = |set: &JwkSet| match kid {
            Some(kid) => set.find(kid).cloned(),
            // Without a kid, a set with exactly one key of this algorithm's family is unambiguous.
            None => {
                let family: Vec<_> = set.keys.iter().filter(|k| key_fits(k, alg)).collect();
                (family.len() == 1).then(|| family[0].clone())
            }
        };
        let decode = |jwk: &Jwk| {
            DecodingKey::from_jwk(jwk).map_err(|e| keys_error(format!("unusable key: {e}")))
        };
        if let Some(jwk) = self.keys.load().as_deref().and_then(find) {
            return decode(&jwk);
        }
        let mut refresh = tokio::time::timeout(self.config.fetch_timeout, self.refresh.lock())
            .await
            .map_err(|_| {
                keys_error(format!(
                    "another refresh of the provider's keys did not finish within {:?}",
                    self.config.fetch_timeout
                ))
            })?;
        // The refresh this task waited for may have brought the key.
        if let Some(jwk) = self.keys.load().as_deref().and_then(find) {
            return decode(&jwk);
        }
        let now = self.clock.now();
        let recently = refresh
            .fetched_at
            .is_some_and(|t| now.saturating_duration_since(t) < self.config.jwks_refresh_interval);
        if recently && self.keys.load().is_some() {
            return Err(Error::IdToken(IdTokenError::UnknownKey(
                kid.map(str::to_owned),
            )));
        }
        let uri = match refresh.jwks_uri.clone() {
            Some(uri) => uri,
            None => {
                let uri = self.discover().await?.jwks_uri.ok_or_else(|| {
                    Error::Discovery("the document names no `jwks_uri`".to_owned())
                })?;
                refresh.jwks_uri = Some(uri.clone());
                uri
            }
        };
        if let Some((at, why)) = &refresh.failed
            && now.saturating_duration_since(*at) < FAILED_FETCH_PAUSE
        {
            return Err(keys_error(format!(
                "the last fetch failed moments ago ({why}); the keys are fetched again after {FAILED_FETCH_PAUSE:?}"
            )));
        }
        refresh.fetched_at = Some(now);
        let set: JwkSet = match self.metadata.get_json(uri).await {
            Ok(set) => {
                refresh.failed = None;
                set
            }
            Err(why) => {
                refresh.failed = Some((now, why.clone()));
                return Err(keys_error(why));
            }
        };
        tracing::debug!(keys = set.keys.len(), "fetched the provider's JWKS");
        let jwk = find(&set);
        self.keys.store(Some(Arc::new(set)));
        match jwk {
            Some(jwk) => decode(&jwk),
            None => Err(Error::IdToken(IdTokenError::UnknownKey(
                kid.map(str::to_owned),
            ))),
        }
    }
    /// A JWT from this provider whose signature verifies with its keys (an algorithm the spec
    /// allows, the key from its JWKS or, for HS*, the client secret), `iss` its issuer, `aud`
    /// this client, with the `required` claims; `exp` is checked by the caller, on the client's
    /// clock.
    async fn verified<T: serde::de::DeserializeOwned>(
        &self,
        jwt: &str,
        required: &[&str],
    ) -> Result<jsonwebtoken::TokenData<T>, Error> {
        let fail = |e: IdTokenError| Error::IdToken(e);
        let header = jsonwebtoken::decode_header(jwt).map_err(|e| {
            let text = e.to_string();
            if jwt
                .split('.')
                .next()
                .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
                .is_some_and(|h| String::from_utf8_lossy(&h).contains("\"none\""))
            {
                fail(IdTokenError::AlgorithmNotAllowed("none".into()))
            } else {
                fail(IdTokenError::Malformed(text))
            }
        })?;
        let allowed = Algorithm::from_jwt(header.alg);
        let Some(alg) = allowed.filter(|a| self.config.algorithms.contains(a)) else {
            return Err(fail(IdTokenError::AlgorithmNotAllowed(format!(
                "{:?}",
                header.alg
            ))));
        };
        let key = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let replaced = self.replaced_secret.load_full();
                match replaced.as_deref().or(self.config.client_secret.as_ref()) {
                    Some(secret) => DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                    None => {
                        return Err(fail(IdTokenError::AlgorithmNotAllowed(format!(
                            "{alg} without a client secret"
                        ))));
                    }
                }
            }
            // Only the JWKS is trusted: header.jwk, jku, x5u and x5c are never looked at.
            alg => self.key(header.kid.as_deref(), alg).await?,
        };
        let mut validation = Validation::new(alg.jwt());
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(required);
        // `exp` and `iat` are checked below against the client's clock, not the system's.
        validation.validate_exp = false;
        validation.leeway = self.config.leeway.as_secs();
        jsonwebtoken::decode::<T>(jwt, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            fail(match e.kind() {
                ErrorKind::InvalidSignature => IdTokenError::BadSignature,
                ErrorKind::ExpiredSignature => IdTokenError::Expired,
                ErrorKind::InvalidIssuer => IdTokenError::WrongIssuer {
                    expected: self.config.issuer.clone(),
                    found: peek_claim(jwt, "iss").unwrap_or_default(),
                },
                ErrorKind::InvalidAudience => IdTokenError::WrongAudience(format!(
                    "`aud` does not contain {:?}",
                    self.config.client_id
                )),
                ErrorKind::InvalidAlgorithm => {
                    IdTokenError::AlgorithmNotAllowed(format!("{:?}", header.alg))
                }
                _ => IdTokenError::Malformed(e.to_string()),
            })
        })
    }

    /// Verifies a JWT-secured authorization response (JARM §4.4): signed by the provider (as ID
    /// tokens are), `iss` its issuer, `aud` this client, not expired on the client's clock.
    /// Returns its claims (`code` and `state`, or `error`).
    pub(crate) async fn verify_response(
        &self,
        response: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let refused = |why: String| Error::AuthorizationResponse(why);
        let data = self
            .verified::<serde_json::Map<String, serde_json::Value>>(
                response,
                &["exp", "iss", "aud"],
            )
            .await
            .map_err(|e| match e {
                // The ID-token wording of the shared checks, said of the response.
                Error::IdToken(e) => refused(e.to_string().replace("the ID token", "the response")),
                other => other,
            })?;
        let now = self
            .clock
            .wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let exp = data.claims.get("exp").and_then(serde_json::Value::as_u64);
        if exp.is_none_or(|exp| exp.saturating_add(self.config.leeway.as_secs()) < now) {
            return Err(refused("the response has expired".into()));
        }
        Ok(data.claims)
    }

    /// Validates the ID token of a hybrid response (OpenID Connect Core §3.3.2.12) and that it
    /// was issued with `code` (`c_hash`, which `code id_token` responses must carry) and
    /// `state` (`s_hash`, checked when present: FAPI 1.0 Advanced servers send it). The nonce
    /// is required: a hybrid request always sends one.
    pub(crate) async fn validate_detached(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        code: &str,
        state: &str,
    ) -> Result<IdTokenClaims, Error> {
        let Some(nonce) = nonce else {
            return Err(Error::IdToken(IdTokenError::WrongNonce));
        };
        let claims = self.validate(id_token, Some(nonce)).await?;
        // The signature was checked with this header's algorithm; its hash halves the values
        // (Core §3.3.2.11).
        let alg = jsonwebtoken::decode_header(id_token)
            .map_err(|e| Error::IdToken(IdTokenError::Malformed(e.to_string())))?
            .alg;
        let matches = |claim: &str, value: &str| {
            claims
                .extra
                .get(claim)
                .and_then(serde_json::Value::as_str)
                .map(|said| said == left_half_hash(alg, value))
        };
        if matches("c_hash", code) != Some(true) {
            return Err(Error::IdToken(IdTokenError::WrongHash("c_hash")));
        }
        if matches("s_hash", state) == Some(false) {
            return Err(Error::IdToken(IdTokenError::WrongHash("s_hash")));
        }
        Ok(claims)
    }

    /// Validates `id_token` (OpenID Connect Core §3.1.3.7) and returns its claims. `nonce` is the
    /// nonce sent in the authorization request, if one was.
    pub async fn validate(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        let fail = |e: IdTokenError| Error::IdToken(e);
        let data = self
            .verified::<IdTokenClaims>(id_token, &["exp", "iss", "aud", "sub"])
            .await?;
        let claims = data.claims;
        // Both times on the client's clock (the one its tokens are timed with), with the same
        // leeway either way.
        let now = self
            .clock
            .wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        if claims.exp.saturating_add(leeway) < now {
            return Err(fail(IdTokenError::Expired));
        }
        if claims.iat > now.saturating_add(leeway) {
            return Err(fail(IdTokenError::BadIssueTime));
        }
        if claims.aud.len() > 1 && claims.azp.as_deref() != Some(self.config.client_id.as_str()) {
            return Err(fail(IdTokenError::WrongAudience(
                "several audiences and no `azp` naming this client".into(),
            )));
        }
        if claims
            .azp
            .as_deref()
            .is_some_and(|azp| azp != self.config.client_id)
        {
            return Err(fail(IdTokenError::WrongAudience(
                "`azp` names another client".into(),
            )));
        }
        if let Some(expected) = nonce
            && claims.nonce.as_deref() != Some(expected)
        {
            return Err(fail(IdTokenError::WrongNonce));
        }
        Ok(claims)
    }
}

fn key_fits(key: &jsonwebtoken::jwk::Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    matches!(
        (&key.algorithm, alg),
        (
            P::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (P::EllipticCurve(_), Algorithm::ES256 | Algorithm::ES384)
            | (P::OctetKeyPair(_), Algorithm::EdDSA)
    )
}

/// A claim read without verification, only to word an error message.
fn peek_claim(token: &str, name: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}

/// Parses an algorithm name from a spec (`RS256`, `ES256`, `HS256`, …); `none` is not one.
/// The same as `name.parse::<Algorithm>().ok()`.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    name.parse().ok()
}

/// `at_hash`-style hash of `value` (OpenID Connect Core §3.3.2.11): the left half of its
/// digest with the hash of the JWS algorithm `alg`, base64url without padding. EdDSA's is
/// SHA-512 (OpenID Connect Core errata for Ed25519).
fn left_half_hash(alg: jsonwebtoken::Algorithm, value: &str) -> String {
    use jsonwebtoken::Algorithm as A;
    let digest = match alg {
        A::HS384 | A::RS384 | A::PS384 | A::ES384 => &ring::digest::SHA384,
        A::HS512 | A::RS512 | A::PS512 | A::EdDSA => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    let hash = ring::digest::digest(digest, value.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_not_an_algorithm() {
        assert_eq!(algorithm("RS256"), Some(Algorithm::RS256));
        assert_eq!(algorithm("none"), None);
        assert_eq!(
            algorithm("rs256"),
            None,
            "names are case-sensitive, as RFC 7518 writes them"
        );
    }

    #[test]
    fn every_algorithm_is_the_signing_librarys_of_the_same_name_and_back() {
        assert_eq!(Algorithm::ALL.len(), 12);
        for &alg in Algorithm::ALL {
            let theirs: jsonwebtoken::Algorithm = alg.as_str().parse().unwrap();
            assert_eq!(alg.jwt(), theirs, "{alg}");
            assert_eq!(Algorithm::from_jwt(theirs), Some(alg));
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
    }
}
