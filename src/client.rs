//! The token client every generated client wraps: cache, single-flight renewal, transport.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::watch;
use url::Url;

use crate::descriptor::{Flow, Grant, Provider};
use crate::error::{Error, TransportKind};
use crate::oidc::{IdTokenClaims, IdTokenValidator, OpenIdConfig};
use crate::outbound::{Fault, Http, UrlRule, check_url};
use crate::request::{self, Credentials, Extra, ParamValue};
use crate::response::{self, Redactor};
use crate::secret::{IdToken, RefreshToken, Token};
use crate::settings::{RetryPolicy, Settings};
use crate::store::{StoreError, StoreFallback, StoredToken};
use crate::{Fields, FromFields, TokenResponse};

fn unix_ms(wall: std::time::SystemTime) -> u64 {
    wall.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How long a failed renewal ahead of expiry waits before the next attempt, while the cached
/// token is still valid and keeps being served.
const BACKGROUND_RETRY: Duration = Duration::from_secs(5);

/// A provider's token client: returns cached tokens, renews them ahead of expiry with one request
/// however many tasks ask, and runs the provider's other token requests. Cheap to clone; clones
/// share the cache.
#[derive(Clone)]
pub struct TokenClient {
    inner: Arc<Inner>,
}

struct Cached {
    token: Token,
    fields: Map<String, Value>,
}

type Outcome = Option<Result<Arc<Cached>, Error>>;

#[derive(Default)]
struct Renewal {
    /// The renewal in flight, if any, by number; every caller that needs a token waits on it.
    running: Option<(u64, watch::Receiver<Outcome>)>,
    /// Number of the next renewal.
    next: u64,
    /// No background renewal before this instant (after a failed one).
    not_before: Option<Instant>,
}

/// Owned by a renewal's task: however the task ends (it finishes, panics, or is dropped with
/// its runtime, even before it first runs), dropping this frees the renewal slot if it is
/// still this renewal's, so the next call starts a new renewal instead of waiting on a dead one.
struct SlotGuard {
    inner: Arc<Inner>,
    renewal: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut renewal = self
            .inner
            .renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if renewal
            .running
            .as_ref()
            .is_some_and(|(n, _)| *n == self.renewal)
        {
            renewal.running = None;
        }
    }
}

struct Inner {
    provider: &'static Provider,
    http: Arc<Http>,
    base: Url,
    credentials: Credentials,
    config: Vec<Option<ParamValue>>,
    settings: Settings,
    margin: Duration,
    retry: RetryPolicy,
    redactor: Redactor,
    current: ArcSwapOption<Cached>,
    renewal: Mutex<Renewal>,
    validator: Option<IdTokenValidator>,
    refresh_token: ArcSwapOption<RefreshToken>,
    /// Where this client's token lives in a shared store.
    store_key: String,
    /// Fingerprint of the last token an API rejected, never to be adopted from the store again.
    rejected: Mutex<Option<[u8; 32]>>,
}

thread_local! {
    /// This thread's copies of cached tokens, keyed by the cache entry they came from.
    static COPIES: std::cell::RefCell<Vec<(std::sync::Weak<Cached>, Token)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The cached token, as a copy private to this thread: handing it out touches no memory that
/// other threads write, so `access_token()` scales with cores. The `Weak` keeps the entry's
/// address from being reused while the copy is listed.
fn thread_copy(cached: &Arc<Cached>) -> Token {
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        if let Some((_, token)) = copies
            .iter()
            .find(|(entry, _)| std::ptr::eq(entry.as_ptr(), Arc::as_ptr(cached)))
        {
            return token.clone();
        }
        copies.retain(|(entry, _)| entry.strong_count() > 0);
        if copies.len() >= 32 {
            copies.remove(0);
        }
        let token = cached.token.private_copy();
        copies.push((Arc::downgrade(cached), token.clone()));
        token
    })
}

/// SHA-256 of a token, to recognise it without keeping it.
fn fingerprint(secret: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The store key of a client: provider, base URL, client id, the cached flow and its builder
/// settings (sorted), hashed. Secrets never take part.
fn store_key(
    provider: &Provider,
    base: &Url,
    client_id: &str,
    config: &[Option<ParamValue>],
) -> String {
    let mut parts: Vec<String> = vec![base.as_str().to_owned(), client_id.to_owned()];
    if let Some(flow) = provider.cached_flow.and_then(|i| provider.flows.get(i)) {
        parts.push(flow.name.to_owned());
        let mut settings: Vec<String> = flow
            .params
            .iter()
            .filter_map(|p| match p.source {
                crate::descriptor::Source::Config(i) => {
                    match config.get(i).and_then(Option::as_ref) {
                        Some(ParamValue::Secret(_)) | None => None,
                        Some(ParamValue::Words(words, sep)) => {
                            let mut sorted = words.clone();
                            sorted.sort_unstable();
                            Some(format!("{}={}", p.name, sorted.join(sep)))
                        }
                        Some(value) => {
                            Some(format!("{}={}", p.name, crate::request::plain_text(value)))
                        }
                    }
                }
                _ => None,
            })
            .collect();
        settings.sort();
        parts.extend(settings);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, parts.join("\0").as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    // v2: sealed values are bound to their key. Processes of the previous version use other
    // keys, so a rolling upgrade costs one extra token request, never an error.
    format!("tokenspec:v2:{}:{hex}", provider.name)
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClient")
            .field("provider", &self.inner.provider.name)
            .field("base_url", &self.inner.base.as_str())
            .field("client_id", &self.inner.credentials.id)
            .field("client_secret", &"[REDACTED]")
            .field("has_token", &self.inner.current.load().is_some())
            .finish()
    }
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

/// The ID-token validator a spec's `openid:` section describes.
fn id_token_validator(
    provider: &'static Provider,
    openid: &crate::descriptor::OpenId,
    base: &Url,
    values: &[(&str, &str)],
    credentials: &Credentials,
    http: &Arc<Http>,
    settings: &Settings,
) -> Result<IdTokenValidator, Error> {
    let issuer = match openid.issuer {
        Some(template) => {
            let mut issuer = template.to_owned();
            for (name, value) in values {
                issuer = issuer.replace(&format!("{{{name}}}"), value);
            }
            issuer
        }
        None => base.as_str().trim_end_matches('/').to_owned(),
    };
    let mut algorithms = Vec::new();
    for name in openid.algorithms {
        algorithms.push(crate::oidc::algorithm(name).ok_or_else(|| {
            Error::config(format!("{}: unknown algorithm {name:?}", provider.title))
        })?);
    }
    let rule = UrlRule {
        allow_insecure_http: provider.allow_insecure_http,
        allow_query: false,
    };
    check_url(&issuer, "the issuer", rule).map_err(Error::Config)?;
    let jwks_uri = match openid.jwks_path {
        Some(path) => Some(
            check_url(
                &format!("{}{path}", issuer.trim_end_matches('/')),
                "the JWKS URL",
                rule,
            )
            .map_err(Error::Config)?,
        ),
        None => None,
    };
    let mut config = OpenIdConfig::new(issuer, credentials.id.as_str());
    config.algorithms = algorithms;
    config.jwks_uri = jwks_uri;
    config.client_secret = Some(credentials.secret.clone());
    config.leeway = Duration::from_secs(openid.leeway_secs);
    config.allow_insecure_http = provider.allow_insecure_http;
    config.fetch_timeout = settings.timeout;
    config.max_document_bytes = settings.max_body_bytes;
    Ok(IdTokenValidator::sharing(
        config,
        Arc::clone(http),
        Arc::clone(&settings.clock),
    ))
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
        let base = base_url(provider, template, values, settings.base_url.as_deref())?;
        let settings_refresh = settings.refresh_token.clone();
        let store_key = store_key(
            provider,
            &base,
            settings.client_id.as_deref().unwrap_or_default(),
            &config,
        );
        let id = settings
            .client_id
            .clone()
            .ok_or_else(|| Error::config("no client id: call `.client_id(...)` on the builder"))?;
        let secret: SecretString = settings.client_secret.clone().ok_or_else(|| {
            Error::config("no client secret: call `.client_secret(...)` on the builder")
        })?;
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
        let http = Arc::new(Http::new(settings.http.clone())?);
        let mut secrets = vec![secret.expose_secret().to_owned()];
        secrets.push(
            url::form_urlencoded::byte_serialize(secret.expose_secret().as_bytes()).collect(),
        );
        for encoding in [
            crate::descriptor::BasicEncoding::Raw,
            crate::descriptor::BasicEncoding::Rfc6749,
        ] {
            let header = request::basic_header(encoding, &id, secret.expose_secret());
            secrets.push(header.trim_start_matches("Basic ").to_owned());
        }
        let credentials = Credentials { id, secret };
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
        let retry = settings
            .retry
            .unwrap_or_else(|| RetryPolicy::from_spec(&provider.retry));
        let margin = settings
            .refresh_margin
            .unwrap_or(Duration::from_secs(provider.refresh_margin_secs));
        Ok(TokenClient {
            inner: Arc::new(Inner {
                provider,
                http,
                base,
                credentials,
                config,
                settings,
                margin,
                retry,
                redactor: Redactor::new(secrets),
                current: ArcSwapOption::empty(),
                renewal: Mutex::new(Renewal::default()),
                validator,
                refresh_token: ArcSwapOption::new(settings_refresh.map(Arc::new)),
                store_key,
                rejected: Mutex::new(None),
            }),
        })
    }

    /// The provider this client talks to.
    #[doc(hidden)]
    pub fn provider(&self) -> &'static Provider {
        self.inner.provider
    }

    /// The base URL token requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result
    /// of the one renewal in flight. Between the refresh point and expiry the cached token is
    /// returned at once and renewal runs in the background.
    pub async fn access_token(&self) -> Result<Token, Error> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        Ok(self.renewed().await?.token.clone())
    }

    /// The cached token with the typed fields of the answer it came in.
    #[doc(hidden)]
    pub async fn cached_response<F: FromFields>(&self) -> Result<TokenResponse<F>, Error> {
        let cached = match self.inner.current.load_full() {
            Some(c) if self.inner.settings.clock.now() < c.token.expires_at() => c,
            _ => self.renewed().await?,
        };
        let mut fields = Fields::new(self.inner.provider.title, cached.fields.clone());
        Ok(TokenResponse {
            token: cached.token.clone(),
            fields: F::from_fields(&mut fields)?,
        })
    }

    fn fresh(&self) -> Option<Token> {
        let guard = self.inner.current.load();
        let cached = guard.as_ref()?;
        let now = self.inner.settings.clock.now();
        if now < cached.token.refresh_at() {
            return Some(thread_copy(cached));
        }
        if now < cached.token.expires_at() {
            self.renew_in_background(now);
            return Some(thread_copy(cached));
        }
        None
    }

    fn renew_in_background(&self, now: Instant) {
        let Ok(mut renewal) = self.inner.renewal.try_lock() else {
            return; // someone else is deciding right now
        };
        if renewal.running.is_some() || renewal.not_before.is_some_and(|t| now < t) {
            return;
        }
        if let Ok(rx) = self.start(&mut renewal) {
            drop(rx);
        }
    }

    /// Waits for the renewal in flight, starting one if there is none.
    async fn renewed(&self) -> Result<Arc<Cached>, Error> {
        let mut rx = {
            let mut renewal = self
                .inner
                .renewal
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A renewal may have finished between the caller's look at the cache and this lock.
            if let Some(c) = self.inner.current.load_full()
                && self.inner.settings.clock.now() < c.token.expires_at()
            {
                return Ok(c);
            }
            match &renewal.running {
                // A renewal whose task is gone without an outcome is dead: start anew.
                Some((_, rx)) if rx.has_changed().is_ok() || rx.borrow().is_some() => rx.clone(),
                _ => self.start(&mut renewal)?,
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Err(Error::Interrupted {
                provider: self.inner.provider.title,
            })),
            Err(_) => Err(Error::Interrupted {
                provider: self.inner.provider.title,
            }),
        }
    }

    /// Starts the one renewal, in its own task so that callers giving up never stop it.
    fn start(&self, renewal: &mut Renewal) -> Result<watch::Receiver<Outcome>, Error> {
        let Some(flow_index) = self.inner.provider.cached_flow else {
            return Err(Error::config(format!(
                "{} has no flow that fetches the client's own token",
                self.inner.provider.title
            )));
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("tokenspec clients must be used inside a Tokio runtime"))?;
        let (tx, rx) = watch::channel(None);
        let number = renewal.next;
        renewal.next = renewal.next.wrapping_add(1);
        renewal.running = Some((number, rx.clone()));
        let client = self.clone();
        // Made here, not inside the task, so that a task dropped before it first runs frees the
        // slot too.
        let guard = SlotGuard {
            inner: Arc::clone(&self.inner),
            renewal: number,
        };
        runtime.spawn(async move {
            let inner = &client.inner;
            let flow = &inner.provider.flows[flow_index];
            let result = client.renew(flow).await.map(|(token, fields)| Arc::new(Cached { token, fields }));
            if let Ok(cached) = &result {
                inner.current.store(Some(Arc::clone(cached)));
            }
            inner.renewal.lock().unwrap_or_else(PoisonError::into_inner).not_before =
                result.is_err().then(|| inner.settings.clock.now() + BACKGROUND_RETRY);
            drop(guard);
            match &result {
                Ok(c) => tracing::debug!(provider = inner.provider.name, lifetime_secs = c.token.lifetime().as_secs(), "token renewed"),
                Err(e) => tracing::warn!(provider = inner.provider.name, error = %e.chain(), "token renewal failed"),
            }
            let _ = tx.send(Some(result));
        });
        Ok(rx)
    }

    /// Sends one token request of `flow` and reads the answer.
    async fn fetch(
        &self,
        flow: &'static Flow,
        call: &[Option<ParamValue>],
        extra: &[Extra],
    ) -> Result<(Token, Map<String, Value>), Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let redactor = {
            let extra: Vec<String> = call
                .iter()
                .flatten()
                .chain(extra.iter().map(|e| &e.value))
                .filter_map(|v| match v {
                    ParamValue::Secret(s) => Some(s.expose_secret().to_owned()),
                    _ => None,
                })
                .collect();
            if extra.is_empty() {
                inner.redactor.clone()
            } else {
                inner.redactor.with(extra)
            }
        };
        let policy = inner.retry;
        // Codes and refresh tokens are single use: repeat such a request only when the provider
        // cannot have processed it.
        let single_use = matches!(flow.grant, Grant::AuthorizationCode | Grant::RefreshToken);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_max_times(policy.attempts.saturating_sub(1) as usize)
            .with_jitter();
        let attempts = (|| self.attempt(flow, call, extra, &redactor))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &Error| if single_use { e.is_safe_to_repeat() } else { e.is_transient() })
            .adjust(|e: &Error, wait: Option<Duration>| {
                // Honour Retry-After (capped at the longest backoff) when the provider sends it.
                wait.map(|w| e.retry_after().map_or(w, |asked| asked.min(policy.max_backoff)))
            })
            .notify(|e: &Error, wait: Duration| {
                tracing::warn!(provider = provider.name, error = %e.chain(), wait_ms = wait.as_millis() as u64, "token request failed; retrying");
            });
        match tokio::time::timeout(inner.settings.deadline, attempts).await {
            Ok(result) => {
                if let Ok((_, fields)) = &result {
                    self.rotate_refresh_token(fields);
                }
                result
            }
            Err(_) => Err(Error::Transport {
                provider: provider.title,
                kind: TransportKind::Timeout,
                detail: format!(
                    "no token within the {:?} deadline, retries included",
                    inner.settings.deadline
                ),
                cause: None,
            }),
        }
    }

    /// Renews the cached token: from the shared store when another client already did, else
    /// with one request under the store's renewal lock; without a store, one request.
    async fn renew(&self, flow: &'static Flow) -> Result<(Token, Map<String, Value>), Error> {
        let Some(store) = self.inner.settings.store.clone() else {
            return self.fetch(flow, &[], &[]).await;
        };
        let key = self.inner.store_key.as_str();
        let started = Instant::now();
        loop {
            match store.load(key).await {
                Ok(Some(stored)) => {
                    if let Some(adopted) = self.adopt(&stored) {
                        return Ok(adopted);
                    }
                }
                Ok(None) => {}
                Err(StoreError::Unavailable(why)) => return self.without_store(flow, why).await,
                Err(e) => return Err(Error::Store(e)),
            }
            let fence = crate::authorization::random_token()?;
            match store
                .try_lock(key, &fence, self.inner.settings.lock_ttl)
                .await
            {
                Ok(true) => {
                    // The holder before us may have saved its token just before letting go.
                    if let Ok(Some(stored)) = store.load(key).await
                        && let Some(adopted) = self.adopt(&stored)
                    {
                        let _ = store.unlock(key, &fence).await;
                        return Ok(adopted);
                    }
                    let result = self.fetch(flow, &[], &[]).await;
                    if let Ok((token, fields)) = &result {
                        let stored = self.to_stored(token, fields);
                        let ttl = Duration::from_millis(
                            stored
                                .expires_at_ms
                                .saturating_sub(unix_ms(self.inner.settings.clock.wall())),
                        );
                        if let Err(e) = store
                            .save(key, &stored, ttl.max(Duration::from_millis(1)))
                            .await
                        {
                            tracing::warn!(provider = self.inner.provider.name, error = %e, "could not share the new token");
                        }
                    }
                    if let Err(e) = store.unlock(key, &fence).await {
                        tracing::warn!(provider = self.inner.provider.name, error = %e, "could not release the renewal lock; it expires by itself");
                    }
                    return result;
                }
                Ok(false) if started.elapsed() < self.inner.settings.store_wait => {
                    // Another process renews; its token will appear in the store.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Ok(false) => {
                    let why = format!(
                        "no shared token within {:?} while another process held the renewal lock",
                        self.inner.settings.store_wait
                    );
                    return self.without_store(flow, why).await;
                }
                Err(StoreError::Unavailable(why)) => return self.without_store(flow, why).await,
                Err(e) => return Err(Error::Store(e)),
            }
        }
    }

    /// What to do when the store cannot help, as [`Settings::store_fallback`] says.
    async fn without_store(
        &self,
        flow: &'static Flow,
        why: String,
    ) -> Result<(Token, Map<String, Value>), Error> {
        match self.inner.settings.store_fallback {
            StoreFallback::FetchLocally => {
                tracing::warn!(provider = self.inner.provider.name, reason = %why, "token store unavailable; fetching a token without it");
                self.fetch(flow, &[], &[]).await
            }
            StoreFallback::Fail => Err(Error::Store(StoreError::Unavailable(why))),
        }
    }

    /// A stored token as this client's own, if it is fresh and no API rejected it here.
    fn adopt(&self, stored: &StoredToken) -> Option<(Token, Map<String, Value>)> {
        let secret = stored.access_token.expose_secret();
        if self
            .inner
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            == Some(&fingerprint(secret))
        {
            return None;
        }
        let clock = &self.inner.settings.clock;
        let (now, wall) = (clock.now(), unix_ms(clock.wall()));
        let age = Duration::from_millis(wall.saturating_sub(stored.issued_at_ms));
        let lifetime =
            Duration::from_millis(stored.expires_at_ms.saturating_sub(stored.issued_at_ms));
        let issued = now.checked_sub(age).unwrap_or(now);
        let token = Token::new(
            stored.access_token.clone(),
            issued,
            lifetime,
            self.inner.margin,
        );
        (now < token.refresh_at()).then(|| (token, stored.fields.clone()))
    }

    fn to_stored(&self, token: &Token, fields: &Map<String, Value>) -> StoredToken {
        let clock = &self.inner.settings.clock;
        let age = clock.now().saturating_duration_since(token.issued_at());
        let issued_at_ms = unix_ms(clock.wall()).saturating_sub(age.as_millis() as u64);
        StoredToken {
            access_token: SecretString::from(token.expose_secret().to_owned()),
            issued_at_ms,
            expires_at_ms: issued_at_ms.saturating_add(token.lifetime().as_millis() as u64),
            fields: fields.clone(),
        }
    }

    /// Keeps the refresh token an answer carries, replacing the previous one atomically, and
    /// tells the application's hook so it can persist it.
    fn rotate_refresh_token(&self, fields: &Map<String, Value>) {
        let Some(Value::String(new)) = fields.get("refresh_token") else {
            return;
        };
        let token = RefreshToken::from(new.clone());
        let previous = self.inner.refresh_token.swap(Some(Arc::new(token.clone())));
        if previous.as_ref().is_some_and(|p| p.expose_secret() == new) {
            return;
        }
        if let Some(hook) = &self.inner.settings.on_refresh_token {
            hook(&token);
        }
    }

    /// One token request and its answer.
    async fn attempt(
        &self,
        flow: &'static Flow,
        call: &[Option<ParamValue>],
        extra: &[Extra],
        redactor: &Redactor,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let http = inner.http.client()?;
        let request = request::build(
            &http,
            &inner.base,
            flow,
            &inner.credentials,
            &inner.config,
            call,
            extra,
        )?;
        let sent = inner.settings.clock.now();
        let wall_sent = inner.settings.clock.wall();
        let request = request
            .build()
            .map_err(|e| Fault::from_reqwest(e).for_token_request(provider.title))?;
        let answer = crate::outbound::exchange(
            &http,
            request,
            inner.settings.max_body_bytes,
            inner.settings.timeout,
        )
        .await
        .map_err(|fault| fault.for_token_request(provider.title))?;
        let (status, body) = (answer.status, answer.body);
        let retry_after = answer
            .headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| response::retry_after(v, wall_sent));
        let parsed = match response::interpret(provider, flow, status, &body, wall_sent, redactor) {
            Ok(parsed) => parsed,
            Err(Error::Rejected {
                provider,
                status,
                mut rejection,
            }) => {
                rejection.retry_after = retry_after;
                return Err(Error::Rejected {
                    provider,
                    status,
                    rejection,
                });
            }
            Err(e) => return Err(e),
        };
        let token = Token::new(parsed.token, sent, parsed.lifetime, inner.margin);
        Ok((token, parsed.fields))
    }

    /// The flow at `flow_index`.
    fn flow(&self, flow_index: usize) -> Result<&'static Flow, Error> {
        self.inner.provider.flows.get(flow_index).ok_or_else(|| {
            Error::config(format!(
                "{} has no flow number {flow_index}",
                self.inner.provider.title
            ))
        })
    }

    /// Runs the per-call flow at `flow_index` with the caller's values (in the order of the
    /// flow's `call_params`). Not cached: each call is one request. An `id_token` in the answer
    /// is validated and its claims come back as the `id_token_claims` field.
    #[doc(hidden)]
    pub async fn request<F: FromFields>(
        &self,
        flow_index: usize,
        values: Vec<Option<ParamValue>>,
    ) -> Result<TokenResponse<F>, Error> {
        let flow = self.flow(flow_index)?;
        self.per_call(flow, &values, &[], None).await
    }

    /// Exchanges `code` with the authorization-code flow at `flow_index`: the code goes where
    /// the flow's `code` parameter goes, with the PKCE `code_verifier` and the `redirect_uri` of
    /// its authorization request beside it (unless the spec sets them itself); the ID token of
    /// the answer must carry the request's nonce, if it had one. `values` are the flow's other
    /// per-call values (the code's own slot is ignored).
    #[doc(hidden)]
    pub async fn exchange_code<F: FromFields>(
        &self,
        flow_index: usize,
        code: crate::AuthorizationCode,
        mut values: Vec<Option<ParamValue>>,
    ) -> Result<TokenResponse<F>, Error> {
        let flow = self.flow(flow_index)?;
        let Some((slot, location)) = flow.params.iter().find_map(|p| match p.source {
            crate::descriptor::Source::Call(i) if p.name == "code" => Some((i, p.location)),
            _ => None,
        }) else {
            return Err(Error::config(format!(
                "flow `{}` of {} has no per-call `code` parameter",
                flow.name, self.inner.provider.title
            )));
        };
        if values.len() <= slot {
            values.resize(slot + 1, None);
        }
        values[slot] = Some(ParamValue::Secret(code.code));
        let declared = |name: &str| flow.params.iter().any(|p| p.name == name);
        let mut extra = Vec::new();
        if let Some(verifier) = code.code_verifier.filter(|_| !declared("code_verifier")) {
            extra.push(Extra {
                name: "code_verifier",
                location,
                value: ParamValue::Secret(verifier),
            });
        }
        if let Some(uri) = code.redirect_uri.filter(|_| !declared("redirect_uri")) {
            extra.push(Extra {
                name: "redirect_uri",
                location,
                value: ParamValue::Text(uri),
            });
        }
        self.per_call(flow, &values, &extra, code.nonce.as_deref())
            .await
    }

    /// One per-call request, its ID token validated (with `nonce` when the authorization
    /// request had one) within the same deadline.
    async fn per_call<F: FromFields>(
        &self,
        flow: &'static Flow,
        values: &[Option<ParamValue>],
        extra: &[Extra],
        nonce: Option<&str>,
    ) -> Result<TokenResponse<F>, Error> {
        let started = Instant::now();
        let (token, mut fields) = self.fetch(flow, values, extra).await?;
        if let (Some(validator), Some(Value::String(id_token))) =
            (&self.inner.validator, fields.get("id_token"))
        {
            // Key fetches count against the same deadline as the token request.
            let deadline = self.inner.settings.deadline;
            let left = deadline.saturating_sub(started.elapsed());
            let claims = tokio::time::timeout(left, validator.validate(id_token, nonce))
                .await
                .map_err(|_| Error::Transport {
                    provider: self.inner.provider.title,
                    kind: TransportKind::Timeout,
                    detail: format!(
                        "the ID token could not be validated within the {deadline:?} deadline (the provider's keys did not arrive)"
                    ),
                    cause: None,
                })??;
            let claims = serde_json::to_value(claims)
                .map_err(|e| Error::config(format!("ID token claims: {e}")))?;
            fields.insert("id_token_claims".to_owned(), claims);
        } else if nonce.is_some() && self.inner.validator.is_some() {
            // The authorization request sent a nonce; only an ID token can carry it back.
            return Err(Error::IdToken(crate::oidc::IdTokenError::Malformed(
                "the answer to a code exchange with a nonce carries no `id_token`".to_owned(),
            )));
        }
        let mut fields = Fields::new(self.inner.provider.title, fields);
        Ok(TokenResponse {
            token,
            fields: F::from_fields(&mut fields)?,
        })
    }

    /// Validates an ID token from this provider (OpenID Connect Core §3.1.3.7); `nonce` is the
    /// one sent in the authorization request, if any.
    pub async fn validate_id_token(
        &self,
        id_token: &IdToken,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        match &self.inner.validator {
            Some(v) => v.validate(id_token.expose_secret(), nonce).await,
            None => Err(Error::config(format!(
                "{}'s spec declares no `openid:` section",
                self.inner.provider.title
            ))),
        }
    }

    /// A new authorization request (fresh `state`, `nonce` and PKCE verifier) for the user to
    /// follow; the endpoint comes from the spec or from the provider's discovery document. The
    /// exchange of its code takes what its `callback` returns.
    pub async fn authorization_request(
        &self,
        redirect_uri: &str,
        scope: &str,
    ) -> Result<crate::PendingAuthorization, Error> {
        let (Some(validator), Some(openid)) = (&self.inner.validator, &self.inner.provider.openid)
        else {
            return Err(Error::config(format!(
                "{}'s spec declares no `openid:` section",
                self.inner.provider.title
            )));
        };
        let endpoint = match openid.authorization_path {
            Some(path) => format!("{}{path}", validator.config().issuer.trim_end_matches('/')),
            None => validator
                .discover()
                .await?
                .authorization_endpoint
                .ok_or_else(|| {
                    Error::Discovery("the document names no `authorization_endpoint`".to_owned())
                })?
                .to_string(),
        };
        crate::PendingAuthorization::new(
            &endpoint,
            &self.inner.credentials.id,
            redirect_uri,
            scope,
            true,
        )
    }

    /// The latest refresh token the provider issued (or the one given to
    /// [`Settings::refresh_token`]); each answer carrying a new one replaces it atomically.
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.inner.refresh_token.load_full().map(|t| (*t).clone())
    }

    /// The API header value for `token`, marked sensitive so HTTP logging hides it.
    pub fn header_value(&self, token: &Token) -> Result<HeaderValue, Error> {
        let h = &self.inner.provider.api_header;
        let mut value = HeaderValue::from_str(&format!(
            "{}{}{}",
            h.prefix,
            token.expose_secret(),
            h.suffix
        ))
        .map_err(|_| Error::config("the token cannot go in an HTTP header"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Adds the provider's header with a valid token to an API request.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let token = self.access_token().await?;
        Ok(request.header(
            self.inner.provider.api_header.name,
            self.header_value(&token)?,
        ))
    }

    /// Drops `token` from the cache if it is still the current one; a token that was already
    /// replaced is left alone, so a late `401` never throws away a newer token.
    pub fn invalidate(&self, token: &Token) {
        let current = self.inner.current.load();
        if current.as_ref().is_some_and(|c| c.token.same_as(token)) {
            let _ = self.inner.current.compare_and_swap(&*current, None);
            // A shared store may still hold it: never adopt it again.
            *self
                .inner
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(fingerprint(token.expose_secret()));
        }
    }

    /// Sends an API request with the provider's header. On `401 Unauthorized` the token is
    /// invalidated and the request retried once with a new one, if it can be cloned (streaming
    /// bodies cannot; their `401` is returned as is).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let retry = request.try_clone();
        let token = self.access_token().await?;
        let name = self.inner.provider.api_header.name;
        let api_error = |e: reqwest::Error| Error::Api {
            provider: self.inner.provider.title,
            kind: crate::outbound::kind(&e),
            cause: crate::error::Cause::new(e.without_url()),
        };
        let response = request
            .header(name, self.header_value(&token)?)
            .send()
            .await
            .map_err(api_error)?;
        match retry {
            Some(again) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
                tracing::debug!(
                    provider = self.inner.provider.name,
                    "API answered 401; renewing the token and retrying once"
                );
                self.invalidate(&token);
                let token = self.access_token().await?;
                again
                    .header(name, self.header_value(&token)?)
                    .send()
                    .await
                    .map_err(api_error)
            }
            _ => Ok(response),
        }
    }
}
