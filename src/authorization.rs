//! The authorization-code flow, carried by types: the request a user follows, and the code that
//! comes back with everything its exchange needs.
//!
//! [`PendingAuthorization`] holds the `state`, the `nonce` and the PKCE verifier of one
//! authorization request. Its [`callback`](PendingAuthorization::callback) consumes it, checks
//! the `state` the provider sent back, and returns the [`AuthorizationCode`] a generated
//! `exchange_code` takes, so the verifier is always sent and the nonce always checked: a code
//! exchange without them does not compile unless the caller says why
//! ([`AuthorizationCode::external`]).
//!
//! With the client of a spec that sends users to log in (generated clients have the same
//! `authorization_request`, and an `exchange_code(code)` of their own):
//!
//! ```no_run
//! # async fn callback(client: tokenspec::TokenClient, session: String, state: &str, code: String)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! // When the user is sent away:
//! // The builder was given `.redirect_uri("https://app.example/callback")`.
//! let pending = client.authorization_request("openid").await?;
//! let session = serde_json::to_string(&pending)?; // kept server-side
//! // When the provider redirects back with `state` and `code`:
//! let pending: tokenspec::PendingAuthorization = serde_json::from_str(&session)?;
//! let code = pending.callback(state, code)?; // refuses a forged `state`
//! // The spec's code-exchange flow, by its name, with no other per-call values:
//! let tokens = client.exchange_code::<()>("exchange_code", code, vec![]).await?; // verifier sent, nonce checked
//! # let _ = tokens; Ok(())
//! # }
//! ```
//!
//! A bare code does not compile where an exchange expects one:
//!
//! ```compile_fail
//! # async fn exchange(client: tokenspec::TokenClient) {
//! let _ = client.exchange_code::<()>("exchange_code", "the-code", vec![]).await;
//! # }
//! ```
//!
//! and a pending authorization is used once:
//!
//! ```compile_fail
//! # fn twice(pending: tokenspec::PendingAuthorization) {
//! let first = pending.callback("state", "code");
//! let second = pending.callback("state", "code");
//! # }
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;
use url::Url;

use crate::error::Error;

/// 32 random bytes, base64url: state, nonce and PKCE verifier values (RFC 7636 §4.1 asks for at
/// least 256 bits of entropy in the verifier).
pub(crate) fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::config("the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The parameters of an authorization request that tokenspec sets, in the order it sets them.
pub(crate) const REQUEST_PARAMETERS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// An authorization request waiting for the user to come back.
///
/// Send the user to [`url`](Self::url); keep this (in the user's session: it serializes with
/// serde, and holds a secret, so keep it server-side) until the provider redirects to the
/// redirect URI; then pass the redirect's `state` and `code` to
/// [`callback`](Self::callback).
#[must_use = "the code exchange needs it: keep it until the provider redirects back"]
pub struct PendingAuthorization {
    url: Url,
    state: String,
    nonce: Option<String>,
    code_verifier: SecretString,
    redirect_uri: String,
    /// Whether the request was pushed (RFC 9126): the URL holds only its `request_uri`.
    pushed: bool,
    /// The issuer of the authorization server the request goes to, which the redirect's `iss`
    /// must name (RFC 9207), and whether that server says it always sends `iss`.
    issuer: Option<(String, bool)>,
    /// Whether the response comes back as a signed JWT (JARM, `response_mode=jwt`), which only
    /// [`crate::TokenClient::callback_jwt`] opens.
    jwt_response: bool,
    /// Whether the response carries an ID token beside the code (`response_type=code
    /// id_token`), which only [`crate::TokenClient::callback_hybrid`] verifies.
    hybrid: bool,
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("url", &self.url.as_str())
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("code_verifier", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .field("pushed", &self.pushed)
            .field("issuer", &self.issuer)
            .field("jwt_response", &self.jwt_response)
            .field("hybrid", &self.hybrid)
            .finish()
    }
}

impl PendingAuthorization {
    /// Builds `endpoint?response_type=code&client_id=…&redirect_uri=…&scope=…&state=…
    /// [&nonce=…]&code_challenge=…&code_challenge_method=S256` with fresh random values; a
    /// nonce is sent when `with_nonce` (OpenID Connect).
    pub(crate) fn new(
        endpoint: &str,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        with_nonce: bool,
    ) -> Result<Self, Error> {
        let mut url = Url::parse(endpoint)
            .map_err(|e| Error::config(format!("authorization endpoint: {e}")))?;
        let state = random_token()?;
        let nonce = with_nonce.then(random_token).transpose()?;
        let verifier = random_token()?;
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", scope)
                .append_pair("state", &state);
            if let Some(nonce) = &nonce {
                query.append_pair("nonce", nonce);
            }
            query
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
        }
        Ok(PendingAuthorization {
            url,
            state,
            nonce,
            code_verifier: SecretString::from(verifier),
            redirect_uri: redirect_uri.to_owned(),
            pushed: false,
            issuer: None,
            jwt_response: false,
            hybrid: false,
        })
    }

    /// This request, going to the authorization server whose issuer is `issuer`; `sends_iss`:
    /// its metadata says every response carries `iss` (RFC 9207 §3).
    pub(crate) fn at_issuer(mut self, issuer: &str, sends_iss: bool) -> Self {
        self.issuer = Some((issuer.to_owned(), sends_iss));
        self
    }

    /// This request, asking for its response as a signed JWT (JARM, `response_mode=jwt`).
    pub(crate) fn with_jwt_response(mut self) -> Self {
        self.url
            .query_pairs_mut()
            .append_pair("response_mode", "jwt");
        self.jwt_response = true;
        self
    }

    /// This request, asking for an ID token beside the code (`response_type=code id_token`,
    /// OpenID Connect Core §3.3), which the server sends in the redirect's fragment.
    pub(crate) fn with_hybrid_response(mut self) -> Self {
        let pairs: Vec<(String, String)> = self.url.query_pairs().into_owned().collect();
        self.url
            .query_pairs_mut()
            .clear()
            .extend_pairs(pairs.iter().map(|(name, value)| {
                if name == "response_type" {
                    (name.as_str(), "code id_token")
                } else {
                    (name.as_str(), value.as_str())
                }
            }));
        self.hybrid = true;
        self
    }

    /// This request after the server took it as a pushed request (RFC 9126 §4): the browser
    /// goes to `endpoint` with `client_id` and `request_uri` only.
    pub(crate) fn into_pushed(
        self,
        endpoint: &str,
        client_id: &str,
        request_uri: &str,
    ) -> Result<Self, Error> {
        self.carried_by(endpoint, client_id, ("request_uri", request_uri))
    }

    /// This request signed (RFC 9101 §5.1, by value): the browser goes to `endpoint` with
    /// `client_id` and the `request` object that holds every parameter.
    pub(crate) fn into_signed(
        self,
        endpoint: &str,
        client_id: &str,
        request: &str,
    ) -> Result<Self, Error> {
        self.carried_by(endpoint, client_id, ("request", request))
    }

    /// The browser goes to `endpoint` with `client_id` and `reference` only, which carries the
    /// whole request; no parameter can be added to the URL afterwards.
    fn carried_by(
        mut self,
        endpoint: &str,
        client_id: &str,
        (name, value): (&str, &str),
    ) -> Result<Self, Error> {
        let mut url = Url::parse(endpoint)
            .map_err(|e| Error::config(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair(name, value);
        self.url = url;
        self.pushed = true;
        Ok(self)
    }

    /// Where to send the user.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `state` sent (the provider returns it unchanged).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The `nonce` sent, for OpenID Connect providers.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// Adds a query parameter to the authorization URL (`prompt`, `login_hint`, `acr_values`,
    /// …). The parameters tokenspec sets cannot be replaced this way, and a pushed request
    /// (RFC 9126) takes none: the server reads the request it was pushed, not the URL.
    pub fn with_parameter(mut self, name: &str, value: &str) -> Result<Self, Error> {
        if self.pushed {
            return Err(Error::config(format!(
                "`{name}` cannot be added to a pushed or signed authorization request: the \
                 server reads the request it was pushed (RFC 9126) or the signed request object \
                 (RFC 9101), not the browser's URL; give it to `authorization_request_with`"
            )));
        }
        if REQUEST_PARAMETERS.contains(&name) {
            return Err(Error::config(format!(
                "`{name}` of an authorization request is set by tokenspec"
            )));
        }
        self.url.query_pairs_mut().append_pair(name, value);
        Ok(self)
    }

    /// The provider redirected back with `state` and `code`: checks that `state` is this
    /// request's (else the redirect was not caused by it: a cross-site request forgery, or a
    /// stale session) and returns the code with this request's PKCE verifier, redirect URI and
    /// nonce, for the exchange. When the redirect carries `iss` (RFC 9207), hand it over with
    /// [`callback_with_issuer`](Self::callback_with_issuer) instead, which also defeats
    /// mix-up attacks between the servers an application uses.
    pub fn callback(
        self,
        state: &str,
        code: impl Into<SecretString>,
    ) -> Result<AuthorizationCode, Error> {
        self.plain_response()?;
        self.check_state(state)?;
        Ok(self.into_code(code))
    }

    /// Whether this request's response comes back in the redirect's query, not as a JWT.
    fn plain_response(&self) -> Result<(), Error> {
        if self.jwt_response {
            return Err(Error::config(
                "this authorization request asked for a JWT-secured response (JARM): the redirect carries `response`, which `callback_jwt` verifies; a plain `code` is not accepted",
            ));
        }
        if self.hybrid {
            return Err(Error::config(
                "this authorization request asked for `code id_token`: the redirect's fragment carries the code with an ID token, which `callback_hybrid` verifies; a plain `code` is not accepted",
            ));
        }
        Ok(())
    }

    /// [`callback`](Self::callback) with the redirect's `iss` parameter (RFC 9207), `None` when
    /// it had none: `iss` must be the issuer of the server this request went to, and it must be
    /// there when that server's metadata says it always sends it
    /// (`authorization_response_iss_parameter_supported`); otherwise
    /// [`Error::IssuerMismatch`]. The state is checked first: a forged redirect is named as
    /// such.
    pub fn callback_with_issuer(
        self,
        state: &str,
        code: impl Into<SecretString>,
        iss: Option<&str>,
    ) -> Result<AuthorizationCode, Error> {
        self.plain_response()?;
        self.verified_callback(state, code, iss)
    }

    /// [`callback_with_issuer`](Self::callback_with_issuer) for a response whose values were
    /// read from a verified JWT (JARM) or the redirect's query.
    pub(crate) fn verified_callback(
        self,
        state: &str,
        code: impl Into<SecretString>,
        iss: Option<&str>,
    ) -> Result<AuthorizationCode, Error> {
        self.check_state(state)?;
        if let Some((expected, sends_iss)) = &self.issuer {
            let matches = match iss {
                Some(iss) => iss == expected,
                None => !sends_iss,
            };
            if !matches {
                return Err(Error::IssuerMismatch {
                    expected: expected.clone(),
                    received: iss.map(str::to_owned),
                });
            }
        }
        Ok(self.into_code(code))
    }

    /// `state` is this request's, compared in constant time.
    pub(crate) fn check_state(&self, state: &str) -> Result<(), Error> {
        let same: bool = self.state.as_bytes().ct_eq(state.as_bytes()).into();
        if same {
            Ok(())
        } else {
            Err(Error::StateMismatch)
        }
    }

    /// The code, with this request's PKCE verifier, redirect URI and nonce.
    fn into_code(self, code: impl Into<SecretString>) -> AuthorizationCode {
        AuthorizationCode {
            code: code.into(),
            code_verifier: Some(self.code_verifier),
            redirect_uri: Some(self.redirect_uri),
            nonce: self.nonce,
        }
    }
}

/// The pending authorization as it is stored in a session.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    url: String,
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    code_verifier: String,
    redirect_uri: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pushed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sends_iss: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    jwt_response: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    hybrid: bool,
}

impl serde::Serialize for PendingAuthorization {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            url: self.url.to_string(),
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            code_verifier: self.code_verifier.expose_secret().to_owned(),
            redirect_uri: self.redirect_uri.clone(),
            pushed: self.pushed,
            issuer: self.issuer.as_ref().map(|(issuer, _)| issuer.clone()),
            sends_iss: self.issuer.as_ref().is_some_and(|(_, sends)| *sends),
            jwt_response: self.jwt_response,
            hybrid: self.hybrid,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for PendingAuthorization {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Ok(PendingAuthorization {
            url: Url::parse(&stored.url).map_err(serde::de::Error::custom)?,
            state: stored.state,
            nonce: stored.nonce,
            code_verifier: SecretString::from(stored.code_verifier),
            redirect_uri: stored.redirect_uri,
            pushed: stored.pushed,
            issuer: stored.issuer.map(|issuer| (issuer, stored.sends_iss)),
            jwt_response: stored.jwt_response,
            hybrid: stored.hybrid,
        })
    }
}

/// An authorization code ready for its exchange, with what its authorization request sent:
/// from [`PendingAuthorization::callback`], or [`AuthorizationCode::external`].
pub struct AuthorizationCode {
    pub(crate) code: SecretString,
    pub(crate) code_verifier: Option<SecretString>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) nonce: Option<String>,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("code", &"[REDACTED]")
            .field("has_code_verifier", &self.code_verifier.is_some())
            .field("redirect_uri", &self.redirect_uri)
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl AuthorizationCode {
    /// A code from an authorization this client did not start (the provider's own login page
    /// or widget sent the user): no PKCE verifier is sent and no nonce is checked, unless given
    /// with the methods below.
    pub fn external(code: impl Into<SecretString>) -> Self {
        AuthorizationCode {
            code: code.into(),
            code_verifier: None,
            redirect_uri: None,
            nonce: None,
        }
    }

    /// Sends this PKCE verifier (RFC 7636) with the exchange.
    pub fn with_code_verifier(mut self, verifier: impl Into<SecretString>) -> Self {
        self.code_verifier = Some(verifier.into());
        self
    }

    /// Sends this `redirect_uri` with the exchange (RFC 6749 §4.1.3: required when the
    /// authorization request carried one).
    pub fn with_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// Requires the ID token of the answer to carry this nonce.
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingAuthorization {
        PendingAuthorization::new(
            "https://op.example/auth",
            "c",
            "http://127.0.0.1/cb",
            "openid",
            true,
        )
        .unwrap()
    }

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier_and_values_are_fresh() {
        let (a, b) = (pending(), pending());
        assert_ne!((a.state(), a.nonce()), (b.state(), b.nonce()));
        let pairs: std::collections::HashMap<_, _> = a.url().query_pairs().into_owned().collect();
        let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            a.code_verifier.expose_secret().as_bytes(),
        ));
        assert_eq!(pairs["code_challenge"], expected);
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["state"], a.state());
        assert_eq!(pairs.get("nonce").map(String::as_str), a.nonce());
        assert!(!format!("{a:?}").contains(a.code_verifier.expose_secret()));
    }

    #[test]
    fn the_callback_carries_verifier_redirect_uri_and_nonce_only_for_the_right_state() {
        let a = pending();
        let state = a.state().to_owned();
        let nonce = a.nonce().map(str::to_owned);
        let verifier = a.code_verifier.expose_secret().to_owned();
        let code = a.callback(&state, "the-code").unwrap();
        assert_eq!(
            code.code_verifier.as_ref().map(|v| v.expose_secret()),
            Some(verifier.as_str())
        );
        assert_eq!(code.redirect_uri.as_deref(), Some("http://127.0.0.1/cb"));
        assert_eq!(code.nonce, nonce);
        let e = pending().callback("forged", "the-code").unwrap_err();
        assert!(matches!(e, Error::StateMismatch), "{e}");
    }

    #[test]
    fn a_pending_authorization_survives_a_session_round_trip() {
        let a = pending();
        let text = serde_json::to_string(&a).unwrap();
        let back: PendingAuthorization = serde_json::from_str(&text).unwrap();
        assert_eq!(back.url(), a.url());
        assert_eq!(back.state(), a.state());
        assert_eq!(back.nonce(), a.nonce());
        assert_eq!(
            back.code_verifier.expose_secret(),
            a.code_verifier.expose_secret()
        );
    }

    /// What a pushed request and its server's `iss` promise become survives the session too, and
    /// a request stored before they existed reads without them.
    #[test]
    fn a_pushed_request_and_its_issuer_survive_a_session_round_trip() {
        let a = pending()
            .at_issuer("https://op.example", true)
            .into_pushed("https://op.example/auth", "c", "urn:example:1")
            .unwrap();
        let text = serde_json::to_string(&a).unwrap();
        let back: PendingAuthorization = serde_json::from_str(&text).unwrap();
        assert!(back.pushed);
        assert_eq!(back.issuer, Some(("https://op.example".to_owned(), true)));
        let state = back.state().to_owned();
        let e = back.callback_with_issuer(&state, "code", None).unwrap_err();
        assert!(matches!(e, Error::IssuerMismatch { .. }), "{e}");

        let mut old: serde_json::Value = serde_json::to_value(pending()).unwrap();
        if let Some(fields) = old.as_object_mut() {
            fields.retain(|k, _| k != "pushed" && k != "issuer");
        }
        let old: PendingAuthorization = serde_json::from_value(old).unwrap();
        assert!(!old.pushed && old.issuer.is_none());
    }

    #[test]
    fn own_parameters_cannot_be_replaced() {
        assert!(pending().with_parameter("prompt", "consent").is_ok());
        assert!(pending().with_parameter("state", "x").is_err());
    }
}
