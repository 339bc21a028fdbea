//! The token client every generated client wraps, in four rooms:
//!
//! - `cache`: the cached token and its single-flight renewal, the state machine behind
//!   `access_token()`; it asks for a new token and never sees how one is obtained;
//! - `exchange`: token requests: building, sending with retries within the deadline, reading
//!   the answer, per-call flows and the code exchange;
//! - `fleet`: renewal through a shared store (adopt, or fetch under the store's lock);
//! - `openid`: the ID-token validator a spec describes, authorization requests;
//! - `session`: users' sessions, each a cache of its own renewed through the refresh grant;
//! - `revocation`: RFC 7009 token revocation, which ending a session sends;
//! - `trial`: one request kept whole for `tokenspec-codegen try` to show and diagnose.
//!
//! How a request proves which client sends it is `crate::client_auth`; URLs, HTTP clients and
//! bounded reading are `crate::outbound`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::watch;
use url::Url;

use crate::client_auth::{self, Credentials};
use crate::descriptor::{Flow, Grant, Provider};
use crate::error::{Error, TransportKind};
use crate::oidc::{IdTokenClaims, IdTokenValidator, OpenIdConfig};
use crate::outbound::{Fault, Http, UrlRule, check_url};
use crate::request::{self, Extra, ParamValue};
use crate::response::{self, Redactor};
use crate::secret::{IdToken, RefreshToken, Token};
use crate::settings::{RetryPolicy, Settings};
use crate::store::{StoreError, StoreFallback, StoredToken};
use crate::{Fields, FromFields, TokenResponse};

mod cache;
mod device;
mod exchange;
mod fleet;
mod openid;
mod pushed;
mod revocation;
mod session;
mod trial;

pub use device::DeviceAuthorization;
pub use session::Session;
pub use trial::{Parsed as TrialParsed, RawAnswer, SentRequest, Trial};

use cache::{RenewFuture, Renewer, TokenCell};
use fleet::{fingerprint, store_key};
use openid::id_token_validator;

fn unix_ms(wall: std::time::SystemTime) -> u64 {
    wall.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A provider's token client: returns cached tokens, renews them ahead of expiry with one request
/// however many tasks ask, and runs the provider's other token requests. Cheap to clone; clones
/// share the cache.
#[derive(Clone)]
pub struct TokenClient {
    inner: Arc<Inner>,
}

struct Inner {
    provider: &'static Provider,
    /// The spec's name of the environment the builder chose.
    environment: &'static str,
    telemetry: crate::telemetry::Telemetry,
    http: Arc<Http>,
    base: Url,
    /// The credentials and the redactor that scrubs them, replaced together when the
    /// application replaces the secret; each token request takes them once, so every attempt
    /// of it sends the secret its redactor knows.
    credentials: ArcSwap<Keys>,
    config: Vec<Option<ParamValue>>,
    /// The method of the spec's `client_auth` list the builder chose, if it chose one.
    client_auth: Option<&'static crate::descriptor::ClientAuth>,
    /// The headers API calls carry besides the token's, made once from the spec and settings.
    api_headers: reqwest::header::HeaderMap,
    /// The token header last made, by the id of its token: API calls reuse it (a reference
    /// count) instead of formatting and checking the header again for each request.
    header: ArcSwapOption<(u64, HeaderValue)>,
    settings: Settings,
    margin: Duration,
    retry: RetryPolicy,
    /// The secret settings (API keys in headers or parameters), scrubbed whatever the client
    /// secret is.
    fixed_secrets: Redactor,
    /// Serializes replacements of the client secret.
    replacing: Mutex<()>,
    /// The client's own token.
    cell: Arc<TokenCell>,
    /// Whether `settings.clock` is the system's monotonic clock, which the cached path then
    /// reads without an indirect call.
    system_clock: bool,
    validator: Option<IdTokenValidator>,
    /// The authorization server of a spec with `authorization:` and no `openid:`.
    authorization_server: Option<crate::metadata::Metadata>,
    refresh_token: ArcSwapOption<RefreshToken>,
    /// Where this client's token lives in a shared store.
    store_key: String,
    /// Fingerprint of the last token an API rejected, never to be adopted from the store again.
    rejected: Mutex<Option<[u8; 32]>>,
    /// The users' sessions this client holds, by the application's key.
    sessions: Mutex<session::Registry>,
    /// The key tokens are bound to and the servers' nonces, for a DPoP provider.
    dpop: Option<crate::dpop::Dpop>,
}

impl Inner {
    /// Now on the client's monotonic clock.
    #[inline]
    fn now(&self) -> Instant {
        if self.system_clock {
            Instant::now()
        } else {
            self.settings.clock.now()
        }
    }
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClient")
            .field("provider", &self.inner.provider.name)
            .field("base_url", &self.inner.base.as_str())
            .field("client_id", &self.inner.credentials.load().credentials.id)
            .field("client_secret", &"[REDACTED]")
            .field("has_token", &self.inner.cell.current().is_some())
            .finish()
    }
}

/// How `flow` authenticates the client: `chosen`, the method of the spec's list the builder
/// chose, for flows that use the list's first (default) method; otherwise the flow's own.
fn effective_client_auth(
    provider: &'static Provider,
    chosen: Option<&'static crate::descriptor::ClientAuth>,
    flow: &'static Flow,
) -> &'static crate::descriptor::ClientAuth {
    match (chosen, provider.client_auth_choices.first()) {
        (Some(chosen), Some(first)) if flow.client_auth == *first => chosen,
        _ => &flow.client_auth,
    }
}

/// The client's own DPoP key and nonces, for a DPoP provider.
pub(crate) fn client_dpop(client: &TokenClient) -> Option<&crate::dpop::Dpop> {
    client.inner.dpop.as_ref()
}

/// Reads an API's answer to a request from `url` signed by `dpop`: keeps the server's new
/// nonce, and says whether the answer is a nonce challenge (a `401` with
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce`).
pub(crate) fn answer_with(
    dpop: Option<&crate::dpop::Dpop>,
    url: &Url,
    status: u16,
    headers: &reqwest::header::HeaderMap,
) -> bool {
    let Some(dpop) = dpop else {
        return false;
    };
    // Another request may have kept the same nonce first: the challenge stands anyway.
    let _new = dpop.remember(url, headers);
    status == 401
        && headers.contains_key(crate::dpop::DPOP_NONCE)
        && crate::dpop::resource_wants_nonce(headers)
}

/// The method of the spec's `client_auth` list the builder chose by name, if it chose one.
fn chosen_client_auth(
    provider: &'static Provider,
    name: Option<&str>,
) -> Result<Option<&'static crate::descriptor::ClientAuth>, Error> {
    let Some(name) = name else {
        return Ok(None);
    };
    match provider.client_auth_choices.iter().find(|m| m.name == name) {
        Some(method) => Ok(Some(method)),
        None => {
            let offered: Vec<&str> = provider
                .client_auth_choices
                .iter()
                .map(|m| m.name)
                .collect();
            Err(Error::config(format!(
                "{} offers no client authentication method named `{name}` (it offers: {}); \
                 the module and its descriptor disagree: generate the module again",
                provider.title,
                if offered.is_empty() {
                    "only its spec's own".to_owned()
                } else {
                    offered.join(", ")
                }
            )))
        }
    }
}

/// Every form a client secret can take on the wire or in an answer echoing it: as is,
/// form-encoded, and inside each encoding of Basic credentials.
/// The client's credentials and what scrubs them from servers' answers: the secret settings,
/// this secret, and the one it replaced (answers to requests sent with that one are still
/// scrubbed of it). Two client secrets at most, however often the secret is replaced.
pub(crate) struct Keys {
    pub(crate) credentials: Credentials,
    pub(crate) redactor: Redactor,
}

fn secret_forms(id: &str, secret: &SecretString) -> Vec<String> {
    let mut forms = vec![secret.expose_secret().to_owned()];
    forms.push(url::form_urlencoded::byte_serialize(secret.expose_secret().as_bytes()).collect());
    for encoding in [
        crate::descriptor::BasicEncoding::Raw,
        crate::descriptor::BasicEncoding::Rfc6749,
        crate::descriptor::BasicEncoding::Percent,
    ] {
        let header = client_auth::basic_header(encoding, id, secret.expose_secret());
        forms.push(header.trim_start_matches("Basic ").to_owned());
    }
    forms
}

/// Fills `{placeholder}`s of a base URL template and checks the result.
fn base_url(
    provider: &Provider,
    template: &str,
    values: &[(&str, &str)],
    over: Option<&str>,
) -> Result<Url, Error> {
    let text = match over {
        Some(url) => url.to_owned(),
        None => {
            let mut text = template.to_owned();
            for (name, value) in values {
                if value.is_empty()
                    || value
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "/?#@\\{}".contains(c))
                {
                    return Err(Error::config(format!(
                        "`{name}` = {value:?} cannot go in the base URL: it must be non-empty, without spaces or any of / ? # @ \\ {{ }}"
                    )));
                }
                text = text.replace(&format!("{{{name}}}"), value);
            }
            text
        }
    };
    crate::outbound::check_url(
        &text,
        "the base URL",
        UrlRule {
            allow_insecure_http: provider.allow_insecure_http,
            allow_query: false,
        },
    )
    .map_err(Error::Config)
}

impl TokenClient {
    /// Makes a client for `provider`. Generated builders call this; `template` and `values` are
    /// the chosen environment's base URL and placeholder values, `config` the builder settings in
    /// the order of `provider.config`.
    #[doc(hidden)]
    pub fn new(
        provider: &'static Provider,
        settings: Settings,
        template: &str,
        values: &[(&str, &str)],
        config: Vec<Option<ParamValue>>,
    ) -> Result<Self, Error> {
        Self::new_in_environment(provider, settings, "custom", template, values, config)
    }

    /// Makes a client for `provider` in the spec's environment `environment` (the name tracing
    /// fields and metrics labels carry). Generated builders call this; `template` and `values`
    /// are that environment's base URL and placeholder values, `config` the builder settings in
    /// the order of `provider.config`.
    #[doc(hidden)]
    pub fn new_in_environment(
        provider: &'static Provider,
        settings: Settings,
        environment: &'static str,
        template: &str,
        values: &[(&str, &str)],
        config: Vec<Option<ParamValue>>,
    ) -> Result<Self, Error> {
        if let Some(error) = &settings.failed {
            return Err(error.clone());
        }
        let base = base_url(provider, template, values, settings.base_url.as_deref())?;
        let settings_refresh = settings.refresh_token.clone();
        let store_key = store_key(
            provider,
            &base,
            settings.client_id.as_deref().unwrap_or_default(),
            &config,
        );
        // A spec whose requests never name the client (a token exchange of a platform's token,
        // as Google's Security Token Service takes it) needs no id.
        let names_client = provider.flows.iter().any(|f| {
            let auth = &f.client_auth;
            auth.basic.is_some()
                || !auth.params.is_empty()
                || auth.assertion.is_some()
                || auth.certificate
        }) || !provider.client_auth_choices.is_empty()
            || provider.openid.is_some()
            || provider.authorization.is_some()
            || provider.device_authorization.is_some();
        let id = match settings.client_id.clone() {
            Some(id) => id,
            None if !names_client => String::new(),
            None => {
                return Err(Error::config(
                    "no client id: call `.client_id(...)` on the builder",
                ));
            }
        };
        let chosen = chosen_client_auth(provider, settings.client_auth_choice)?;
        // How each flow will authenticate, the builder's choice applied.
        let used: Vec<&crate::descriptor::ClientAuth> = provider
            .flows
            .iter()
            .map(|f| effective_client_auth(provider, chosen, f))
            .collect();
        // Only flows that send the secret, or sign with it, need one: a client whose flows all
        // sign with its key, or send no client credentials at all (a JWT-bearer grant is its
        // own proof), never sends a secret.
        let signs_requests_with_secret = provider
            .authorization
            .and_then(|a| a.request_object)
            .is_some_and(|o| o.signer == crate::descriptor::Signer::ClientSecret);
        let needs_secret = signs_requests_with_secret
            || provider.flows.iter().zip(&used).any(|(flow, auth)| {
            let signs_with_secret = |a: &crate::descriptor::Assertion| {
                a.signer == crate::descriptor::Signer::ClientSecret
            };
            auth.basic.is_some()
                || !auth.params.is_empty()
                || auth.assertion.as_ref().is_some_and(signs_with_secret)
                || matches!(&flow.grant, crate::descriptor::Grant::JwtBearer(a) if signs_with_secret(a))
        });
        let secret: SecretString = match (settings.client_secret.clone(), needs_secret) {
            (Some(secret), _) => secret,
            (None, false) => SecretString::from(String::new()),
            (None, true) => {
                return Err(Error::config(
                    "no client secret: call `.client_secret(...)` on the builder",
                ));
            }
        };
        for (slot, value) in provider
            .config
            .iter()
            .zip(config.iter().chain(std::iter::repeat(&None)))
        {
            if slot.required && value.is_none() {
                return Err(Error::config(format!(
                    "`{}` is required: call `.{}(...)` on the builder",
                    slot.name, slot.name
                )));
            }
        }
        if settings.timeout.is_zero() {
            return Err(Error::config(
                "the token request timeout must be longer than zero",
            ));
        }
        if let Some(identity) = &settings.client_identity {
            identity.check_valid_at(settings.clock.wall())?;
        } else if used.iter().any(|auth| auth.certificate) {
            return Err(Error::config(format!(
                "{} authenticates this client by its TLS certificate (RFC 8705): give the builder `.client_identity(ClientIdentity::from_pem_files(..)?)`",
                provider.title
            )));
        } else if settings.client_identity_required {
            return Err(Error::config(format!(
                "{} wants a client certificate (mutual TLS) in this environment: give the builder `.client_identity(ClientIdentity::from_pem_files(..)?)`",
                provider.title
            )));
        }
        let http = Arc::new(Http::new(crate::outbound::HttpConfig {
            setup: settings.http.clone(),
            identity: settings.client_identity.clone(),
            roots: crate::tls::root_certificates(&settings.root_certificates)?,
        })?);
        let api_headers = crate::request::api_headers(provider, &config)?;
        let mut fixed = Vec::new();
        // Secret settings (an API key sent in a header or a parameter) are scrubbed from what
        // servers answer too.
        for value in config.iter().flatten() {
            if let ParamValue::Secret(s) = value {
                fixed.push(s.expose_secret().to_owned());
                fixed.push(
                    url::form_urlencoded::byte_serialize(s.expose_secret().as_bytes()).collect(),
                );
            }
        }
        let credentials = Credentials {
            id,
            secret,
            key: settings.client_key.clone(),
            assertion_file: settings.client_assertion_file.clone(),
            assertion: None,
        };
        // A flow that signs assertions with a key it does not have fails now, not at its first
        // request.
        for (flow, auth) in provider.flows.iter().zip(&used) {
            let grant = match &flow.grant {
                crate::descriptor::Grant::JwtBearer(assertion) => Some(assertion),
                _ => None,
            };
            for assertion in auth.assertion.iter().chain(grant) {
                if assertion.signer == crate::descriptor::Signer::Federated {
                    if credentials.assertion_file.is_none() {
                        return Err(Error::config(crate::assertion::FEDERATED_WITHOUT_FILE));
                    }
                    continue;
                }
                crate::assertion::algorithm(assertion, credentials.key.as_ref())?;
            }
        }
        if let Some(object) = provider.authorization.and_then(|a| a.request_object) {
            crate::assertion::algorithm(&object, credentials.key.as_ref())?;
        }
        let validator = match &provider.openid {
            None => None,
            Some(openid) => Some(id_token_validator(
                provider,
                openid,
                &base,
                values,
                &credentials,
                &http,
                &settings,
            )?),
        };
        let authorization_server =
            openid::authorization_server(provider, &base, values, &http, &settings)?;
        let retry = settings
            .retry
            .unwrap_or_else(|| RetryPolicy::from_spec(&provider.retry));
        let margin = settings
            .refresh_margin
            .unwrap_or(Duration::from_secs(provider.refresh_margin_secs));
        let dpop = match (provider.dpop, &settings.dpop_key) {
            (true, Some(key)) => Some(crate::dpop::Dpop::new(key.clone())),
            (true, None) => Some(crate::dpop::Dpop::new(crate::dpop::DpopKey::generate()?)),
            (false, _) if settings.dpop_key_per_session => {
                return Err(Error::config(format!(
                    "DPoP keys per session were asked for, but the spec of {} does not say its tokens are DPoP-bound: \
                     add `dpop: true` to the spec if the provider binds them (RFC 9449), or drop `dpop_key_per_session`",
                    provider.title
                )));
            }
            (false, Some(_)) => {
                return Err(Error::config(format!(
                    "a DPoP key was given, but the spec of {} does not say its tokens are DPoP-bound: \
                     add `dpop: true` to the spec if the provider binds them (RFC 9449), or drop the key",
                    provider.title
                )));
            }
            (false, None) => None,
        };
        let fixed_secrets = Redactor::new(fixed);
        let system_clock = settings.clock.is_system_clock();
        Ok(TokenClient {
            inner: Arc::new(Inner {
                provider,
                environment,
                telemetry: crate::telemetry::Telemetry::new(provider.name, environment),
                http,
                base,
                credentials: ArcSwap::from_pointee(Keys {
                    redactor: fixed_secrets
                        .with(secret_forms(&credentials.id, &credentials.secret)),
                    credentials,
                }),
                config,
                client_auth: chosen,
                api_headers,
                header: ArcSwapOption::empty(),
                settings,
                margin,
                retry,
                fixed_secrets,
                replacing: Mutex::new(()),
                cell: Arc::new(TokenCell::new()),
                system_clock,
                validator,
                authorization_server,
                refresh_token: ArcSwapOption::new(settings_refresh.map(Arc::new)),
                store_key,
                rejected: Mutex::new(None),
                sessions: Mutex::default(),
                dpop,
            }),
        })
    }

    /// The authorization server's issuer (the OpenID or `authorization:` issuer, else the base
    /// URL): the `aud` of assertions whose spec says `audience: "{issuer}"`.
    pub(super) fn issuer(&self) -> &str {
        self.server_metadata().map_or_else(
            || self.inner.base.as_str().trim_end_matches('/'),
            crate::metadata::Metadata::issuer,
        )
    }

    /// How `flow` authenticates the client: the method the builder chose, for flows that use
    /// the spec's first (default) method; otherwise the flow's own.
    pub(super) fn client_auth(
        &self,
        flow: &'static Flow,
    ) -> &'static crate::descriptor::ClientAuth {
        effective_client_auth(self.inner.provider, self.inner.client_auth, flow)
    }

    /// Replaces the client secret of this live client and its clones, as when an operator
    /// rotates it: the next token request (a renewal, a per-call flow, a code exchange, a
    /// session's refresh) uses the new secret; requests already in flight finish with the old
    /// one; cached tokens, the app's and its sessions', stay valid and are not renewed early.
    /// Errors and logs keep scrubbing the old secret as well as the new.
    ///
    /// A client whose flows send no secret (they sign with a key or a certificate) keeps it
    /// unused.
    pub fn replace_client_secret(&self, secret: impl Into<SecretString>) {
        let secret: SecretString = secret.into();
        let _one_at_a_time = self
            .inner
            .replacing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.inner.credentials.load_full();
        let id = &current.credentials.id;
        let redactor = self.inner.fixed_secrets.with(
            secret_forms(id, &current.credentials.secret)
                .into_iter()
                .chain(secret_forms(id, &secret)),
        );
        if let Some(validator) = &self.inner.validator {
            validator.replace_client_secret(secret.clone());
        }
        self.inner.credentials.store(Arc::new(Keys {
            credentials: Credentials {
                id: id.clone(),
                secret,
                key: current.credentials.key.clone(),
                assertion_file: current.credentials.assertion_file.clone(),
                assertion: None,
            },
            redactor,
        }));
        tracing::info!(
            target: "tokenspec",
            provider = self.inner.provider.name,
            environment = self.inner.environment,
            "tokenspec.secret_replaced: the next token request uses the new client secret"
        );
    }

    /// The provider this client talks to.
    #[doc(hidden)]
    pub fn provider(&self) -> &'static Provider {
        self.inner.provider
    }

    /// The name in the spec of the environment this client was built for (`production`), or
    /// `custom` for a client made without one; tracing fields and metrics labels carry it.
    pub fn environment(&self) -> &'static str {
        self.inner.environment
    }

    /// The base URL token requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The latest refresh token the provider issued (or the one given to
    /// [`Settings::refresh_token`]); each answer carrying a new one replaces it atomically.
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.inner.refresh_token.load_full().map(|t| (*t).clone())
    }

    /// The API header value for `token`, marked sensitive so HTTP logging hides it.
    pub fn header_value(&self, token: &Token) -> Result<HeaderValue, Error> {
        if let Some(made) = &*self.inner.header.load()
            && made.0 == token.id()
        {
            return Ok(made.1.clone());
        }
        let h = &self.inner.provider.api_header;
        // A DPoP-bound token goes in `Authorization: DPoP …` (RFC 9449 §7.1); the spec check
        // keeps DPoP providers on the `Authorization` header.
        let (prefix, suffix) = if token.is_dpop_bound() {
            ("DPoP ", "")
        } else {
            (h.prefix, h.suffix)
        };
        let mut value =
            HeaderValue::from_str(&format!("{prefix}{}{suffix}", token.expose_secret(),))
                .map_err(|_| Error::config("the token cannot go in an HTTP header"))?;
        value.set_sensitive(true);
        self.inner
            .header
            .store(Some(Arc::new((token.id(), value.clone()))));
        Ok(value)
    }

    /// Sets the provider's header carrying `token`, and the other headers its spec gives API
    /// calls, in `headers`, replacing any of the same names.
    pub(crate) fn apply_headers(
        &self,
        token: &Token,
        headers: &mut reqwest::header::HeaderMap,
    ) -> Result<(), Error> {
        for (name, value) in &self.inner.api_headers {
            headers.insert(name, value.clone());
        }
        headers.insert(
            self.inner.provider.api_header.name,
            self.header_value(token)?,
        );
        Ok(())
    }

    /// [`Self::apply_headers`] for a `method` request to `url`, with a DPoP proof signed by
    /// `dpop` (the owner's: the client's, or a session's) when `token` is bound.
    pub(crate) fn apply_headers_for(
        &self,
        dpop: Option<&crate::dpop::Dpop>,
        token: &Token,
        method: &str,
        url: &Url,
        headers: &mut reqwest::header::HeaderMap,
    ) -> Result<(), Error> {
        self.apply_headers(token, headers)?;
        if let Some(proof) = self.proof_with(dpop, method, url, token)? {
            headers.insert(crate::dpop::DPOP, proof);
        }
        Ok(())
    }

    /// A proof signed by `dpop` for a `method` request to `url` carrying `token`, if it is bound.
    pub(crate) fn proof_with(
        &self,
        dpop: Option<&crate::dpop::Dpop>,
        method: &str,
        url: &Url,
        token: &Token,
    ) -> Result<Option<HeaderValue>, Error> {
        match dpop {
            Some(dpop) if token.is_dpop_bound() => dpop
                .proof_for(
                    method,
                    url,
                    Some(token.expose_secret()),
                    self.inner.settings.clock.wall(),
                )
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The `DPoP` header (RFC 9449 §7) a `method` request to `url` carrying `token` needs, for
    /// API calls made with an HTTP client of your own: a proof signed with the client's key,
    /// with the token's hash (`ath`) and the API server's latest nonce. `None` when `token` is
    /// not DPoP-bound ([`Token::is_dpop_bound`]). [`Self::authorize`], [`Self::send`] and the
    /// HTTP stack integrations add it themselves.
    ///
    /// A server that wants a nonce answers `401` with `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"` and a `DPoP-Nonce` header: hand such answers (and any answer with
    /// a `DPoP-Nonce`) to [`Self::dpop_answer`], then ask for a proof again.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &Url,
        token: &Token,
    ) -> Result<Option<HeaderValue>, Error> {
        self.proof_with(self.inner.dpop.as_ref(), method, url, token)
    }

    /// Reads an API's answer to a request from `url` for what DPoP needs: keeps the server's
    /// new nonce (`DPoP-Nonce`), and says whether the answer is a nonce challenge (`401` with
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"`), after which the request should be
    /// sent again, once, with a new proof and the same token.
    pub fn dpop_answer(
        &self,
        url: &Url,
        status: u16,
        headers: &reqwest::header::HeaderMap,
    ) -> bool {
        answer_with(self.inner.dpop.as_ref(), url, status, headers)
    }

    /// `request` with the provider's headers carrying `token`, and its DPoP proof (signed by
    /// `dpop`, the owner's) when the token is bound.
    fn authorized(
        &self,
        dpop: Option<&crate::dpop::Dpop>,
        request: reqwest::RequestBuilder,
        token: &Token,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let request = request.headers(self.inner.api_headers.clone()).header(
            self.inner.provider.api_header.name,
            self.header_value(token)?,
        );
        if !token.is_dpop_bound() {
            return Ok(request);
        }
        let (http, built) = request.build_split();
        let mut built = built.map_err(|e| self.api_error(e))?;
        if let Some(proof) = self.proof_with(dpop, built.method().as_str(), built.url(), token)? {
            built.headers_mut().insert(crate::dpop::DPOP, proof);
        }
        Ok(reqwest::RequestBuilder::from_parts(http, built))
    }

    /// A failed API call, its URL left out (it may carry secrets in its query).
    fn api_error(&self, e: reqwest::Error) -> Error {
        Error::Api {
            provider: self.inner.provider.title,
            kind: crate::outbound::kind(&e),
            cause: crate::error::Cause::new(e.without_url()),
        }
    }

    /// Adds the provider's header with a valid token to an API request.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, Error> {
        self.authorize_with(self, request).await
    }

    /// Drops `token` from the cache if it is still the current one; a token that was already
    /// replaced is left alone, so a late `401` never throws away a newer token.
    pub fn invalidate(&self, token: &Token) {
        if self.inner.cell.invalidate(token) {
            self.inner.telemetry.unauthorized();
            // A shared store may still hold it: never adopt it again.
            *self
                .inner
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(fingerprint(token.expose_secret()));
        }
    }

    /// An HTTP client for the provider's API with this client's TLS setup: its client
    /// certificate (mutual TLS, as Pix APIs require on every call), extra trust roots and
    /// [`crate::Settings::http_client`] adjustments. One per Tokio runtime, shared with the
    /// token requests, so connections are reused. Redirects are not followed.
    pub fn http_client(&self) -> Result<reqwest::Client, Error> {
        self.inner.http.client()
    }

    /// Sends an API request with the provider's header. On `401 Unauthorized` the token is
    /// invalidated and the request retried once with a new one, if it can be cloned (streaming
    /// bodies cannot: their `401` is returned as is, and the next request gets a new token).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        self.send_with(self, request).await
    }

    /// `request` with the provider's header carrying a valid token of `owner` (this client,
    /// or one of its sessions).
    pub(super) async fn authorize_with<R: Renewer>(
        &self,
        owner: &R,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let token = cache::access_token(owner).await?;
        self.authorized(owner.dpop(), request, &token)
    }

    /// Sends `request` with a token of `owner`; on `401` renews once and retries.
    pub(super) async fn send_with<R: Renewer>(
        &self,
        owner: &R,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let retry = request.try_clone();
        let token = cache::access_token(owner).await?;
        let dpop = owner.dpop();
        let send = |request: reqwest::RequestBuilder, token: &Token| {
            let request = self.authorized(dpop, request, token);
            async move {
                let response = request?.send().await.map_err(|e| self.api_error(e))?;
                let challenged = answer_with(
                    dpop,
                    response.url(),
                    response.status().as_u16(),
                    response.headers(),
                );
                Ok::<_, Error>((response, challenged))
            }
        };
        let (response, challenged) = send(request, &token).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        // A DPoP nonce challenge refuses the proof, not the token: the same token goes again
        // with a proof carrying the nonce.
        if !challenged {
            owner.invalidate(&token);
        }
        match retry {
            Some(again) => {
                let token = if challenged {
                    token
                } else {
                    cache::access_token(owner).await?
                };
                Ok(send(again, &token).await?.0)
            }
            None => Ok(response),
        }
    }
}

impl Renewer for TokenClient {
    fn cell(&self) -> &Arc<TokenCell> {
        &self.inner.cell
    }

    fn title(&self) -> &'static str {
        self.inner.provider.title
    }

    fn clock(&self) -> &dyn crate::clock::Clock {
        &*self.inner.settings.clock
    }

    #[inline]
    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn can_renew(&self) -> Result<(), Error> {
        self.cached_flow().map(|_| ())
    }

    fn renew(&self) -> RenewFuture {
        let client = self.clone();
        Box::pin(async move { client.renew(client.cached_flow()?).await })
    }

    fn invalidate(&self, token: &Token) {
        TokenClient::invalidate(self, token);
    }

    fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.inner.telemetry
    }

    fn dpop(&self) -> Option<&crate::dpop::Dpop> {
        self.inner.dpop.as_ref()
    }
}
