//! What can go wrong getting a token, each case saying what happened and what to do.
//!
//! Errors are cheap to clone (every waiter of a shared renewal gets the same one) and never
//! contain a secret: server-supplied text is cut short and scrubbed of the client's credentials,
//! and transport errors never carry the request URL, which may hold credentials in its query.

use std::fmt;
use std::sync::Arc;

/// A token request or the client's configuration failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The builder was given something unusable.
    #[error("invalid token client configuration: {0}")]
    Config(String),
    /// The token endpoint could not be reached or did not answer in time.
    #[error("{provider}: token request failed: {kind}{}", colon(.detail))]
    Transport {
        /// Provider title.
        provider: &'static str,
        /// What kind of failure.
        kind: TransportKind,
        /// What tokenspec saw (a deadline passing), when no underlying error says it.
        detail: String,
        /// The HTTP stack's error, without the URL its own message would carry.
        #[source]
        cause: Option<Cause>,
    },
    /// An API request sent with [`crate::TokenClient::send`] failed on the way (the token was
    /// obtained; the API could not be reached or did not answer).
    #[error("{provider}: the API request failed: {kind}")]
    Api {
        /// Provider title.
        provider: &'static str,
        /// What kind of failure.
        kind: TransportKind,
        /// The HTTP stack's error, without the URL its own message would carry.
        #[source]
        cause: Cause,
    },
    /// The provider answered with an error.
    #[error("{provider} refused the token request (HTTP {status}){}", rejection.describe(*status))]
    Rejected {
        /// Provider title.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// What the provider said.
        rejection: Rejection,
    },
    /// The provider answered something that is not what the request asks for: a token
    /// response, or a pushed authorization request's `request_uri`.
    #[error("{provider}: the authorization server answered HTTP {status} with {reason}")]
    InvalidResponse {
        /// Provider title.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// What is wrong with it, with a short excerpt when it helps.
        reason: String,
    },
    /// A token answer lacks a field the spec says is always there (or holds it with another
    /// type).
    #[error(
        "{provider}: the token answer has no usable `{field}` field, which the spec says is always there; fix the spec or mark the field optional"
    )]
    MissingField {
        /// Provider title.
        provider: &'static str,
        /// The field's key.
        field: String,
    },
    /// The token endpoint answered with a redirect, which is never followed.
    #[error(
        "{provider}: the token endpoint redirected (HTTP {status}); token requests are not redirected, so credentials never go to another host: fix the base URL"
    )]
    Redirect {
        /// Provider title.
        provider: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// The answer exceeded the body size limit.
    #[error(
        "{provider}: the token endpoint's answer is larger than {limit} bytes; raise `Settings::max_body_bytes` if this provider really sends that much"
    )]
    BodyTooLarge {
        /// Provider title.
        provider: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The shared token store failed (and the fallback is to fail), or holds tokens this
    /// process cannot read.
    #[error("the shared token store failed")]
    Store(#[from] crate::store::StoreError),
    /// An ID token failed validation.
    #[error("the ID token was refused")]
    IdToken(#[from] IdTokenError),
    /// The provider's discovery document cannot be used: its issuer is not the configured one,
    /// or an endpoint in it breaks the URL rule (plain `http://` to a host other than loopback,
    /// user info, a fragment), or it could not be fetched or read.
    #[error("the provider's discovery document cannot be used: {0}")]
    Discovery(String),
    /// A JWT-secured authorization response (JARM) was refused: its signature, issuer, audience
    /// or expiry is wrong, or it carries the provider's own error (`access_denied` when the user
    /// said no), or no code.
    #[error("the authorization response was refused: {0}")]
    AuthorizationResponse(String),
    /// The `state` the provider redirected back with is not the authorization request's: the
    /// redirect was not caused by this request (cross-site request forgery, or a stale session).
    #[error(
        "the redirect's `state` does not match the authorization request's; the redirect may be forged: start the authorization again"
    )]
    StateMismatch,
    /// The redirect's `iss` (RFC 9207) is not the authorization server this request went to, or
    /// is missing though that server says it always sends one: the response may come from
    /// another server the application also uses (a mix-up attack).
    #[error(
        "the redirect's `iss` is {}, but this authorization request went to {expected}, which sends its own (RFC 9207); the response may come from another server: start the authorization again",
        received.as_deref().map_or("missing".to_owned(), |r| format!("{r:?}"))
    )]
    IssuerMismatch {
        /// The issuer of the server the request went to.
        expected: String,
        /// The `iss` the redirect carried, if any.
        received: Option<String>,
    },
    /// A user's session cannot be renewed any more: the provider refused its refresh token
    /// (revoked, expired, or spent by a rotation this process never saw), or it has none. The
    /// session is gone from this client and its store; ask the user to connect again.
    #[error(
        "{provider}: the session `{session}` has ended ({reason}); ask the user to connect again"
    )]
    SessionEnded {
        /// Provider title.
        provider: &'static str,
        /// The session's key, as the application named it.
        session: String,
        /// Why, in a few words.
        reason: &'static str,
        /// The provider's refusal, when there was one.
        #[source]
        cause: Option<Box<Error>>,
    },
    /// A device authorization (RFC 8628) ended without a token: the user said no
    /// (`access_denied`), or it expired before they approved it (`expired_token`, or its
    /// `expires_in` passed). Start a new one and show the user its new code.
    #[error(
        "{provider}: the device authorization ended without a token ({reason}); start a new one"
    )]
    DeviceAuthorizationEnded {
        /// Provider title.
        provider: &'static str,
        /// Why, in a few words.
        reason: &'static str,
        /// The provider's refusal, when there was one.
        #[source]
        cause: Option<Box<Error>>,
    },
    /// The renewal this call waited for ended without a result (its runtime shut down).
    #[error("{provider}: the token renewal was interrupted before it finished; call again")]
    Interrupted {
        /// Provider title.
        provider: &'static str,
    },
    /// A [`crate::TokenSource`] of the application's own could not give a token (made with
    /// [`Error::token_source`] or [`Error::token_source_caused_by`]).
    #[error("the token source failed: {message}")]
    #[non_exhaustive]
    TokenSource {
        /// What failed, in the source's words.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
}

fn colon(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// The underlying error of a failure, shared by every caller that waited for it (errors are
/// `Clone`). Displays and chains as the error it holds.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(error))
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An error and its causes on one line, `error: cause: cause` (see [`Error::chain`]).
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            write!(f, ": {cause}")?;
            next = cause.source();
        }
        Ok(())
    }
}

/// Any error with its causes on one line, `error: cause: cause`: for logs and messages that
/// show a single line (a `tracing` field, an HTTP error body).
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Chain<'a> {
    Chain(error)
}

impl Error {
    /// This error with its causes on one line, `error: cause: cause`. `Display` shows this
    /// error alone and `source()` its cause, as the Rust API guidelines ask, so each message is
    /// printed once by error reporters that walk the chain.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// The failure of a [`crate::TokenSource`] of your own, saying what failed. Never put a
    /// token or secret in `message`: errors are logged.
    ///
    /// ```
    /// let error = tokenspec::Error::token_source("the sidecar is not running");
    /// assert_eq!(error.to_string(), "the token source failed: the sidecar is not running");
    /// ```
    pub fn token_source(message: impl Into<String>) -> Self {
        Error::TokenSource {
            message: message.into(),
            cause: None,
        }
    }

    /// The failure of a [`crate::TokenSource`] of your own, saying what failed, with the error
    /// that caused it (its `source()`). Neither may hold a token or secret: errors are logged.
    pub fn token_source_caused_by(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::TokenSource {
            message: message.into(),
            cause: Some(Cause::new(cause)),
        }
    }

    /// The key of the session this error ended, if it is [`Error::SessionEnded`]: the user to
    /// ask to connect again.
    pub fn ended_session(&self) -> Option<&str> {
        match self {
            Error::SessionEnded { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The name of the documented provider error this is (the variant of the provider
    /// module's error enum), if any.
    pub fn known_error(&self) -> Option<&'static str> {
        match self {
            Error::Rejected { rejection, .. } => rejection.known,
            _ => None,
        }
    }

    /// Whether trying again later may succeed: connection failures, timeouts, 5xx, 429 and
    /// `temporarily_unavailable`, but never a rejection of the credentials or the grant.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport {
                kind: TransportKind::CertificateRefused,
                ..
            } => false,
            Error::Transport { .. } | Error::Interrupted { .. } => true,
            Error::Rejected {
                status, rejection, ..
            } => {
                let refused = matches!(
                    rejection.code.as_deref(),
                    Some(
                        "invalid_client"
                            | "invalid_grant"
                            | "unauthorized_client"
                            | "invalid_request"
                            | "invalid_scope"
                            | "unsupported_grant_type"
                            | "access_denied"
                    )
                );
                !refused
                    && (*status >= 500
                        || *status == 429
                        || rejection.code.as_deref() == Some("temporarily_unavailable"))
            }
            _ => false,
        }
    }

    /// Whether the provider surely did not process the request (it could not be sent, or was
    /// refused with 429), so even a single-use request may be sent again.
    pub fn is_safe_to_repeat(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            } | Error::Rejected { status: 429, .. }
        )
    }

    /// How long the provider asked to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Rejected { rejection, .. } => rejection.retry_after,
            _ => None,
        }
    }

    /// The HTTP status the token endpoint answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Rejected { status, .. }
            | Error::InvalidResponse { status, .. }
            | Error::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The provider's RFC 6749 error code (`invalid_client`, …), if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Rejected { rejection, .. } => rejection.code.as_deref(),
            Error::DeviceAuthorizationEnded {
                cause: Some(cause), ..
            } => cause.code(),
            _ => None,
        }
    }
}

/// Kinds of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made.
    Connect,
    /// The deadline passed.
    Timeout,
    /// The connection broke while the answer was read.
    Body,
    /// Anything else in the HTTP stack.
    Other,
    /// The server refused the client certificate during the TLS handshake (an alert such as
    /// `bad_certificate`, `unknown_ca`, `certificate_expired` or `certificate_required`): a
    /// rejected credential, never retried.
    CertificateRefused,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect (is the base URL right and the host reachable?)",
            TransportKind::Timeout => "no complete answer within the deadline (raise `Settings::timeout` if the provider is slow)",
            TransportKind::Body => "the connection broke while the answer was read",
            TransportKind::Other => "HTTP error",
            TransportKind::CertificateRefused => "the server refused the client certificate in the TLS handshake (is it the certificate the provider registered for this client, issued by a CA it trusts, and unexpired?)",
        })
    }
}

/// What a provider said when it refused a token request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// RFC 6749 `error` code.
    pub code: Option<String>,
    /// `error_description` or the provider's message, shortened and scrubbed of credentials.
    pub description: Option<String>,
    /// The documented error it matched: its variant name in the provider module's error enum.
    pub known: Option<&'static str>,
    /// How long the provider asked to wait (`Retry-After`), if it said.
    pub retry_after: Option<std::time::Duration>,
    /// Whether the client authenticated with a signed assertion, which changes what a refusal
    /// of the client most likely means.
    pub(crate) by_assertion: bool,
}

impl Rejection {
    fn advice(&self, status: u16) -> Option<&'static str> {
        Some(match self.code.as_deref() {
            Some("invalid_client") if self.by_assertion => {
                "the provider refused the client's signed assertion: check this machine's clock (the assertion's `iat` and `exp`), that its `aud` is what the provider expects (`audience:` in the spec), and that the key and its `kid` are the ones registered with the provider"
            }
            Some("invalid_client") => {
                "check the client id and secret, and where the spec sends them"
            }
            Some("invalid_grant") => {
                "the code or refresh token is invalid, expired or already used: start the flow again"
            }
            Some("invalid_scope") => "ask only for scopes this client is allowed",
            Some("unauthorized_client") => {
                "the provider has not enabled this grant type for this client"
            }
            Some("unsupported_grant_type") => {
                "the provider does not accept this grant_type: check the spec"
            }
            Some("invalid_request") => {
                "a parameter is missing or malformed: compare the spec with the provider's documentation"
            }
            Some("temporarily_unavailable") => "the provider is overloaded: try again later",
            _ if status == 401 || status == 403 => {
                "check the client id and secret, and where the spec sends them"
            }
            _ if status >= 500 => "the provider failed: try again later",
            _ => return None,
        })
    }
}

/// Renders as a suffix of [`Error::Rejected`]: `: code: description [documented as Name]; advice`.
impl fmt::Display for RejectionDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if let Some(code) = &r.code {
            write!(f, ": {code}")?;
        }
        if let Some(d) = &r.description {
            write!(f, ": {d}")?;
        }
        if let Some(name) = r.known {
            write!(f, " [documented error {name}]")?;
        }
        if let Some(advice) = r.advice(self.1) {
            write!(f, "; {advice}")?;
        }
        Ok(())
    }
}

struct RejectionDisplay<'a>(&'a Rejection, u16);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The status is not known here; advice that depends on it comes from the code alone.
        RejectionDisplay(self, 0).fmt(f)
    }
}

impl Rejection {
    /// Renders with advice that takes the HTTP status into account.
    pub fn describe(&self, status: u16) -> String {
        RejectionDisplay(self, status).to_string()
    }
}

/// Why an ID token was refused. Each says which check failed; none prints the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a JWS, or its header or claims cannot be read.
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    /// The header names an algorithm the spec does not allow (`none` never is).
    #[error("the ID token is signed with {0}, which this provider's spec does not allow")]
    AlgorithmNotAllowed(String),
    /// No key in the provider's JWKS has the token's key id, even after a refresh.
    #[error("no key in the provider's JWKS matches the ID token's key id {0:?}")]
    UnknownKey(Option<String>),
    /// The signature does not verify with the provider's key.
    #[error("the ID token's signature does not verify with the provider's key")]
    BadSignature,
    /// `iss` is not exactly the provider's issuer.
    #[error("the ID token was issued by {found:?}, not {expected:?}")]
    WrongIssuer {
        /// The issuer the spec expects.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the client id, or `azp` names another party.
    #[error("the ID token is not meant for this client: {0}")]
    WrongAudience(String),
    /// `exp` has passed (beyond the leeway).
    #[error("the ID token has expired")]
    Expired,
    /// `iat` is in the future (beyond the leeway) or missing.
    #[error("the ID token's issue time is missing or in the future")]
    BadIssueTime,
    /// `nonce` differs from the one sent in the authorization request.
    #[error("the ID token's nonce does not match the authorization request's")]
    WrongNonce,
    /// A hybrid response's ID token was not issued with the code or the state beside it: its
    /// `c_hash` or `s_hash` (named) is missing or does not match (OpenID Connect Core
    /// §3.3.2.11, FAPI 1.0 Advanced §5.2.2.1). The response was put together from parts of
    /// different responses.
    #[error("the ID token's `{0}` does not match the value it came with in the response")]
    WrongHash(&'static str),
    /// The JWKS or discovery document could not be fetched or read.
    #[error("could not get the provider's keys: {0}")]
    Keys(String),
}
