//! Typed clients that get, cache and renew access tokens, generated from one YAML spec per API
//! provider.
//!
//! Each provider spec in `specs/` becomes a module here (behind a cargo feature of the same
//! name) with a `Client`, its builder, typed parameters, response fields and errors. This crate's
//! own code is the runtime those modules share: requests, response parsing, the token cache with
//! single-flight renewal, secrets and errors.
//!
//! ```no_run
//! # #[cfg(feature = "bs2")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tokenspec::bs2;
//!
//! let client = bs2::Client::builder()
//!     .environment(bs2::Environment::Production { host: "api.bs2.example".into() })
//!     .client_id("my-client")
//!     .client_secret("my-secret".to_owned())
//!     .scopes([bs2::Scope::CobRead, bs2::Scope::PixWrite])
//!     .build()?;
//! let token = client.access_token().await?; // cached; renewed before expiry
//! let http = tokenspec::http_client()?.build()?;
//! let answer = client.send(http.get("https://api.example.com/pix")).await?; // retried once on 401
//! # let _ = (token, answer);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

// Generated modules name the runtime `::tokenspec`, as they do in any other crate.
extern crate self as tokenspec;

mod authorization;
mod client;
pub mod clock;
pub mod descriptor;
mod error;
pub mod oidc;
mod outbound;
#[cfg(feature = "redis")]
pub mod redis_store;
mod request;
mod response;
mod secret;
mod settings;
pub mod store;
mod tls;

pub use authorization::{AuthorizationCode, PendingAuthorization};
pub use client::TokenClient;
pub use error::{Error, Rejection, TransportKind};
pub use request::ParamValue;
pub use response::jwt_exp;
pub use secret::{ExposeSecret, IdToken, RefreshToken, SecretString, Token};
pub use settings::{
    DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, RefreshHook, RetryPolicy, Settings,
};

/// The HTTP client crate tokenspec uses, so your requests and ours are the same types.
pub use reqwest;

/// Entry points for the fuzz targets (`fuzz/`); not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz {
    use std::time::{Duration, UNIX_EPOCH};

    /// Reads a token endpoint's answer exactly as a client does: the `Retry-After` header, then
    /// status and body through the flow's response mapping and expiry. Never panics.
    pub fn token_response(
        provider: &'static crate::descriptor::Provider,
        flow: usize,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> Result<Duration, crate::Error> {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let _ = retry_after.and_then(|v| crate::response::retry_after(v, now));
        let redactor = crate::response::Redactor::new(["fuzz-secret".to_owned()]);
        let flow = &provider.flows[flow % provider.flows.len()];
        crate::response::interpret(provider, flow, status, body, now, &redactor).map(|parsed| {
            let start = std::time::Instant::now();
            let token = crate::Token::new(
                parsed.token,
                start,
                parsed.lifetime,
                Duration::from_secs(60),
            );
            token.refresh_at() - token.issued_at()
        })
    }
}

/// A `reqwest::ClientBuilder` ready for TLS, for your API calls: rustls with the crypto provider
/// your application installed as the process default
/// (`rustls::crypto::CryptoProvider::install_default`), or *ring* if it installed none, and the
/// platform's certificate verifier. tokenspec never installs a process-wide provider. Token
/// clients build their own HTTP clients (adjust them with [`Settings::http_client`]).
pub fn http_client() -> Result<reqwest::ClientBuilder, Error> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls::client_config()?))
}

/// Any JSON value, for response fields of type `json`.
pub type JsonValue = serde_json::Value;

/// A token with the typed fields of the answer it came in.
#[derive(Debug, Clone)]
pub struct TokenResponse<F> {
    /// The access token and its lifetime.
    pub token: Token,
    /// Everything else the provider's answer carried, as the spec declares it.
    pub fields: F,
}

/// The response fields the runtime read, by key, already checked against their declared types.
#[derive(Debug)]
pub struct Fields {
    provider: &'static str,
    map: serde_json::Map<String, serde_json::Value>,
}

impl Fields {
    pub(crate) fn new(
        provider: &'static str,
        map: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Fields { provider, map }
    }

    /// Takes an optional field.
    pub fn take<T: FieldValue>(&mut self, key: &str) -> Option<T> {
        self.map.remove(key).and_then(T::from_json)
    }

    /// Takes a field the spec declares required.
    pub fn require<T: FieldValue>(&mut self, key: &str) -> Result<T, Error> {
        self.take(key).ok_or_else(|| Error::MissingField {
            provider: self.provider,
            field: key.to_owned(),
        })
    }
}

/// Built by generated code from the fields of a token response.
pub trait FromFields: Sized {
    /// Takes this type's fields out of `fields`.
    fn from_fields(fields: &mut Fields) -> Result<Self, Error>;
}

impl FromFields for () {
    fn from_fields(_: &mut Fields) -> Result<Self, Error> {
        Ok(())
    }
}

/// A Rust type a response field can become.
pub trait FieldValue: Sized {
    /// Converts a value the runtime already checked against the field's declared kind.
    fn from_json(value: serde_json::Value) -> Option<Self>;
}

impl FieldValue for String {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl FieldValue for SecretString {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        String::from_json(value).map(SecretString::from)
    }
}

impl FieldValue for RefreshToken {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        String::from_json(value).map(RefreshToken::from)
    }
}

impl FieldValue for IdToken {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        String::from_json(value).map(IdToken::from)
    }
}

impl FieldValue for i64 {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        value.as_i64()
    }
}

impl FieldValue for f64 {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FieldValue for bool {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FieldValue for oidc::IdTokenClaims {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        serde_json::from_value(value).ok()
    }
}

impl FieldValue for serde_json::Value {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        Some(value)
    }
}

include!(concat!(env!("OUT_DIR"), "/tokenspec_providers.rs"));
