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
//!
//! HTTP stacks take tokens from a [`TokenSource`]: any client's, through an [`Authorizer`], or
//! one of your own. The integrations are a reqwest-middleware `TokenMiddleware` (feature
//! `reqwest-middleware`) and a tower `TokenLayer` for hyper, tonic and other `http::Request`
//! services (feature `tower`). Token traffic is traced under the
//! `tokenspec` target, and counted through the `metrics` facade with feature `metrics`
//! (docs/observability.md).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Generated modules name the runtime `::tokenspec`, as they do in any other crate (unused in a
// build without providers).
#[allow(unused_extern_crates)]
extern crate self as tokenspec;

mod assertion;
mod authorization;
mod authorizer;
mod bounded;
mod client;
mod client_auth;
pub mod clock;
mod dpop;
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
mod sealed;
/// The provider descriptor, from the crate generated modules and this runtime share.
#[doc(hidden)]
pub use tokenspec_descriptor as descriptor;
mod error;
mod generated;
mod identity;
mod keys;
mod metadata;
#[cfg(feature = "reqwest-middleware")]
pub mod middleware;
pub mod oidc;
mod outbound;
#[cfg(feature = "postgres")]
pub mod postgres_store;
#[cfg(feature = "redis")]
pub mod redis_store;
mod request;
mod response;
mod secret;
mod settings;
mod source;
#[cfg(feature = "sqlite")]
pub mod sqlite_store;
pub mod store;
mod telemetry;
mod tls;
#[cfg(feature = "tower")]
pub mod tower;

pub use authorization::{AuthorizationCode, PendingAuthorization};
pub use authorizer::Authorizer;
pub use client::{DeviceAuthorization, Session, TokenClient};
pub use dpop::DpopKey;
pub use error::{Cause, Chain, Error, Rejection, TransportKind, chain};
pub use identity::ClientIdentity;
pub use keys::{ClientKey, ServiceAccountKey};
pub use response::jwt_exp;
pub use secret::{
    ExposeSecret, IdToken, RefreshToken, SecretString, Token, TokenFuture, secret_from_env,
    secret_from_file,
};
pub use settings::{
    DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSION_TTL, DEFAULT_TIMEOUT, RefreshHook,
    RetryPolicy, SessionHook, Settings,
};
pub use source::{ApiRequest, BoxTokenFuture, TokenSource};

/// The HTTP client crate tokenspec uses, so your requests and ours are the same types.
pub use reqwest;

/// The contract between generated code and this runtime: what generated modules hand the
/// runtime (a provider's descriptor, parameter values, response fields). It is not public API:
/// it changes with the generator, in step with [`__private::CONTRACT`], and only code that
/// tokenspec-codegen wrote may use it.
#[doc(hidden)]
pub mod __private {
    /// The `Authorization: Basic …` value the runtime sends for an id and secret in an
    /// encoding, for tools that compare encodings (`tokenspec-codegen try --probe`).
    pub use crate::client_auth::basic_header;
    pub use crate::descriptor;
    pub use crate::request::ParamValue;

    /// The descriptor a generated module holds as data, read once per process; a module whose
    /// data this runtime cannot read is a configuration error that says how to align the crates.
    pub fn read(
        descriptor: &'static crate::descriptor::Embedded,
    ) -> Result<&'static crate::descriptor::Provider, crate::Error> {
        descriptor
            .provider()
            .map_err(|e| crate::Error::config(e.to_string()))
    }
    /// How the runtime finds tokens in text nobody parsed, for tools that mask them the same
    /// way (`tokenspec-codegen try`).
    pub use crate::response::replace_token_like;
    pub use crate::{FieldValue, Fields, FromFields};

    /// One request of a flow kept whole, for `tokenspec-codegen try`
    /// ([`crate::TokenClient::trial`]).
    pub mod trial {
        pub use crate::client::{RawAnswer, SentRequest, Trial, TrialParsed as Parsed};
    }

    /// The release series this runtime belongs to (`0.2` for every 0.2.x): the contract with
    /// generated code. Generated modules start with
    /// `contract!("<series>", "<generator version>")`; one written by a generator of another
    /// series fails to compile with a message that says which crates to align. Within a series
    /// this module may only grow (docs/design.md, "Versions and compatibility").
    ///
    /// ```compile_fail
    /// // A module from a generator of another series: "this module was generated by a
    /// // tokenspec-codegen of another release series (its `contract!` line names it) than the
    /// // tokenspec crate it is compiled with, 0.2.0: use tokenspec and tokenspec-codegen of
    /// // one release series (0.2.x), then regenerate"
    /// tokenspec::__private::contract!("0.0", "0.0.1");
    /// ```
    pub const CONTRACT: &str = include_str!(concat!(env!("OUT_DIR"), "/contract.txt"));

    /// What a module of another series fails to compile with.
    const MISMATCH: &str = include_str!(concat!(env!("OUT_DIR"), "/contract_mismatch.txt"));

    /// Fails the constant evaluation `contract!` asks for unless `series` is [`CONTRACT`].
    pub const fn check_contract(series: &str) {
        let (theirs, ours) = (series.as_bytes(), CONTRACT.as_bytes());
        let mut same = theirs.len() == ours.len();
        let mut i = 0;
        while same && i < theirs.len() {
            same = theirs[i] == ours[i];
            i += 1;
        }
        if !same {
            panic!("{}", MISMATCH);
        }
    }

    pub use crate::secret::ErrInto;

    pub use crate::__tokenspec_builder_basics as builder_basics;
    pub use crate::__tokenspec_client_basics as client_basics;
    pub use crate::__tokenspec_contract as contract;
    pub use crate::__tokenspec_provider_error as provider_error;
}

/// Checks, where a generated module starts, that the generator that wrote it is of this
/// runtime's release series ([`__private::CONTRACT`]); a module of another fails to compile
/// with a message saying which crates to align.
#[doc(hidden)]
#[macro_export]
macro_rules! __tokenspec_contract {
    ($series:literal, $generator:literal) => {
        const _: () = $crate::__private::check_contract($series);
    };
}

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
            let token = crate::Token::with_margin(
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
#[non_exhaustive]
pub struct TokenResponse<F> {
    /// The access token and its lifetime.
    pub token: Token,
    /// Everything else the provider's answer carried, as the spec declares it.
    pub fields: F,
}

/// The response fields the runtime read, by key, already checked against their declared types.
#[doc(hidden)]
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
#[doc(hidden)]
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
#[doc(hidden)]
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
