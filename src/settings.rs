//! What every generated client builder shares: credentials, transport and timing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::clock::{Clock, SystemClock};
use crate::secret::SecretString;

/// Default deadline for one token request, connect and answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default deadline for getting a token, all retries included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// How failed token requests are retried: only transient failures (connection errors,
/// timeouts, 5xx, 429, `temporarily_unavailable`), with capped exponential backoff and jitter,
/// waiting as long as `Retry-After` asks when the provider sends it (capped at `max_backoff`).
/// Rejections such as `invalid_client` or `invalid_grant` are never retried. Single-use requests
/// (authorization-code and refresh-token flows) are retried only when the provider cannot have
/// processed them: connection failures and 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub attempts: u32,
    /// Wait before the first retry; it doubles with each retry, plus jitter.
    pub initial_backoff: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// `attempts` in all (the first included), waiting `initial_backoff` before the first
    /// retry, doubling up to `max_backoff`.
    pub const fn new(attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        RetryPolicy {
            attempts,
            initial_backoff,
            max_backoff,
        }
    }

    /// No retries: one attempt.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// The policy a spec declares.
    pub fn from_spec(retry: &crate::descriptor::Retry) -> Self {
        RetryPolicy {
            attempts: retry.attempts.max(1),
            initial_backoff: Duration::from_millis(retry.initial_backoff_ms),
            max_backoff: Duration::from_millis(retry.max_backoff_ms),
        }
    }
}

/// Default cap on a token endpoint's answer.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings common to every provider's client. Generated builders expose the credentials
/// directly and the rest through `.settings(|s| s.timeout(...))`.
#[derive(Clone)]
pub struct Settings {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) http: Option<crate::outbound::HttpSetup>,
    pub(crate) base_url: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) client_auth_choice: Option<&'static str>,
    pub(crate) client_key: Option<crate::keys::ClientKey>,
    pub(crate) client_assertion_file: Option<std::path::PathBuf>,
    pub(crate) dpop_key: Option<crate::dpop::DpopKey>,
    pub(crate) dpop_key_per_session: bool,
    pub(crate) client_identity: Option<crate::identity::ClientIdentity>,
    pub(crate) client_identity_required: bool,
    pub(crate) root_certificates: Vec<Vec<u8>>,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) refresh_margin: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    /// The first error of a setter that reads something (a secret file), which building fails
    /// with.
    pub(crate) failed: Option<Error>,
    pub(crate) refresh_token: Option<crate::secret::RefreshToken>,
    pub(crate) on_refresh_token: Option<RefreshHook>,
    pub(crate) on_session_refresh_token: Option<SessionHook>,
    pub(crate) session_ttl: Duration,
    pub(crate) store: Option<Arc<dyn crate::store::TokenStore>>,
    pub(crate) store_fallback: crate::store::StoreFallback,
    pub(crate) store_wait: Duration,
    pub(crate) lock_ttl: Duration,
}

/// Called with each new refresh token the provider issues, to persist it.
pub type RefreshHook = Arc<dyn Fn(&crate::secret::RefreshToken) + Send + Sync>;

/// Called with a session's key and each new refresh token the provider issues for it.
pub type SessionHook = Arc<dyn Fn(&str, &crate::secret::RefreshToken) + Send + Sync>;

/// How long a store keeps a session nobody renewed (each renewal starts it again).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            client_id: None,
            client_secret: None,
            http: None,
            base_url: None,
            redirect_uri: None,
            client_auth_choice: None,
            client_key: None,
            client_assertion_file: None,
            dpop_key: None,
            dpop_key_per_session: false,
            client_identity: None,
            client_identity_required: false,
            root_certificates: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            retry: None,
            refresh_margin: None,
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            failed: None,
            refresh_token: None,
            on_refresh_token: None,
            on_session_refresh_token: None,
            session_ttl: DEFAULT_SESSION_TTL,
            store: None,
            store_fallback: crate::store::StoreFallback::default(),
            store_wait: Duration::from_secs(10),
            lock_ttl: DEFAULT_DEADLINE,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("custom_http_client", &self.http.is_some())
            .field("client_identity", &self.client_identity)
            .field("client_assertion_file", &self.client_assertion_file)
            .field("dpop_key", &self.dpop_key)
            .field("dpop_key_per_session", &self.dpop_key_per_session)
            .field("extra_root_certificates", &self.root_certificates.len())
            .field("base_url_override", &self.base_url.is_some())
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("refresh_margin", &self.refresh_margin)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The client secret; never printed.
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The client secret, read from the environment variable `var` (see
    /// [`crate::secret_from_env`]). If it cannot be read, building the client fails with
    /// that error, which names the variable.
    pub fn client_secret_from_env(self, var: &str) -> Self {
        match crate::secret::secret_from_env(var) {
            Ok(secret) => self.client_secret(secret),
            Err(e) => self.failed(e),
        }
    }

    /// The client secret, read from the file at `path` (see [`crate::secret_from_file`]),
    /// as Docker and Kubernetes mount secrets. If it cannot be read, building the client fails
    /// with that error, which names the file.
    pub fn client_secret_from_file(self, path: impl AsRef<std::path::Path>) -> Self {
        match crate::secret::secret_from_file(path) {
            Ok(secret) => self.client_secret(secret),
            Err(e) => self.failed(e),
        }
    }

    /// Keeps the first error of a setter, for `build()` to return.
    fn failed(mut self, error: Error) -> Self {
        self.failed.get_or_insert(error);
        self
    }

    /// Adjusts the HTTP client this token client builds for its token, discovery and key
    /// requests: `configure` gets the `reqwest::ClientBuilder` tokenspec starts from and returns
    /// it with your changes (proxies, root certificates, local address, connection pool, DNS
    /// overrides).
    ///
    /// Without adjustments, token clients share one connection pool per Tokio runtime; a client
    /// with adjustments builds its own (per runtime it is used from).
    ///
    /// Whatever `configure` sets, redirects stay off: a redirected token request would be
    /// replayed, credentials included, to the redirect target before tokenspec saw the answer
    /// (RFC 9700 §4.11), so tokenspec takes an adjustment rather than a finished client.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let settings = tokenspec::Settings::default()
    ///     .http_client(|builder| builder.connect_timeout(Duration::from_secs(2)));
    /// # let _ = settings;
    /// ```
    pub fn http_client(
        mut self,
        configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.http = Some(Arc::new(configure));
        self
    }

    /// Sends token requests to this base URL instead of the environment's (a proxy, a local
    /// test server). `http://` is accepted only for loopback hosts unless the spec allows it.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Deadline for one token request, from sending it to reading the whole answer
    /// (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deadline for getting a token, retries and their waits included (default 30 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Retries token requests this way instead of as the spec says.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Renews tokens this long before they expire, instead of the spec's margin. Whatever the
    /// margin, renewal never starts earlier than half-way through a token's life.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = Some(margin);
        self
    }

    /// Reads time from `clock` (tests use [`crate::clock::ManualClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Shares tokens through `store` (a fleet of processes through
    /// [`crate::redis_store::RedisStore`], clients of one process through
    /// [`crate::store::MemoryStore`]): one token request per lifetime for all of them.
    pub fn store(mut self, store: Arc<dyn crate::store::TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// What to do when the store is unavailable (default: fetch locally, with a warning).
    pub fn store_fallback(mut self, fallback: crate::store::StoreFallback) -> Self {
        self.store_fallback = fallback;
        self
    }

    /// How long to wait for another process's renewal before fetching without the store
    /// (default 10 s), and how long a renewal lock lives if its holder dies (default: the deadline).
    pub fn store_timing(mut self, wait: Duration, lock_ttl: Duration) -> Self {
        self.store_wait = wait;
        self.lock_ttl = lock_ttl;
        self
    }

    /// Where the provider sends users back after they log in and consent: this application's
    /// callback URL, registered with the provider. Authorization requests and code exchanges
    /// use it (a code whose authorization request named one carries that one).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The client's private key, for providers that authenticate clients by a signed assertion
    /// (`private_key_jwt`, RFC 7523).
    pub fn client_key(mut self, key: crate::keys::ClientKey) -> Self {
        self.client_key = Some(key);
        self
    }

    /// The file the platform writes this client's assertion to, for a provider that takes a
    /// JWT another identity provider issued for the client (`client_auth: { assertion:
    /// federated }`: workload identity federation, as Entra ID's federated credentials take a
    /// Kubernetes projected service-account token at `AZURE_FEDERATED_TOKEN_FILE`). It is read
    /// at every token request, so the platform's rotations are picked up.
    pub fn client_assertion_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.client_assertion_file = Some(path.into());
        self
    }

    /// The key this client's tokens are bound to, for a provider whose spec says `dpop: true`
    /// (RFC 9449): it signs a proof for every token request and API call, and its sessions'
    /// refresh too. Without it the client makes a key of its own when it is built, which lives
    /// as long as the client. Give one (`DpopKey::from_pem_file("dpop.key")?`) when a token or
    /// a public client's refresh token must outlive the process, or be refreshed by other
    /// processes of a fleet. A provider without `dpop: true` refuses it when the client is built.
    pub fn dpop_key(mut self, key: crate::dpop::DpopKey) -> Self {
        self.dpop_key = Some(key);
        self
    }

    /// Gives each user's session a DPoP key of its own (RFC 9449), made when the session
    /// starts, instead of the client's: its code exchange, refreshes and API calls are signed
    /// with it, so a session's tokens prove nothing about another's. The key is kept with the
    /// session in the client's store (sealed by [`crate::redis_store::RedisStore`] as refresh
    /// tokens are), so every process of a fleet refreshes with it; a public client's refresh
    /// token, which the provider binds to the key, keeps working there. A session restored from
    /// a refresh token kept elsewhere ([`crate::TokenClient::restore_session`]) gets a new key.
    /// The client's own tokens keep the client's key; pushed authorization requests then carry
    /// no proof, since a proof there would bind the code to a key the session does not have
    /// (RFC 9449 §10.1). Needs a spec with `dpop: true`.
    pub fn dpop_key_per_session(mut self) -> Self {
        self.dpop_key_per_session = true;
        self
    }

    /// The client certificate and key presented in every TLS handshake of this client: its
    /// token requests and the API calls of [`crate::TokenClient::http_client`] (mutual TLS, as
    /// Pix APIs require). Checked when the client is built: a certificate that is expired or
    /// not yet valid on the client's clock fails there.
    pub fn client_identity(mut self, identity: crate::identity::ClientIdentity) -> Self {
        self.client_identity = Some(identity);
        self
    }

    /// Also trusts the certificate authorities in `pem` (beyond the operating system's trust
    /// store) for this client's connections: a private PKI's root, a sandbox's or a test CA.
    /// Checked when the client is built.
    pub fn root_certificates(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref().to_vec());
        self
    }

    /// Marks the chosen environment as one that wants a client certificate: building the
    /// client without [`Settings::client_identity`] then fails. Generated builders call this.
    #[doc(hidden)]
    pub fn client_identity_required(mut self) -> Self {
        self.client_identity_required = true;
        self
    }

    /// Uses the client authentication method the spec's `client_auth` list names `name`
    /// (`client_secret_basic`, ...) instead of its first. Generated builders offer this as
    /// `client_auth_method(..)`.
    #[doc(hidden)]
    pub fn client_auth_choice(mut self, name: &'static str) -> Self {
        self.client_auth_choice = Some(name);
        self
    }

    /// Starts with this refresh token (one persisted earlier).
    pub fn refresh_token(mut self, token: crate::secret::RefreshToken) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// Calls `hook` with every new refresh token the provider issues (rotation), after it has
    /// replaced the previous one in the client, so the application can persist it.
    pub fn on_refresh_token(
        mut self,
        hook: impl Fn(&crate::secret::RefreshToken) + Send + Sync + 'static,
    ) -> Self {
        self.on_refresh_token = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with a session's key and every new refresh token the provider issues for
    /// it, before the new access token is handed out, so the application can persist the
    /// rotation in its own database. With a [`Settings::store`], the store has it already.
    pub fn on_session_refresh_token(
        mut self,
        hook: impl Fn(&str, &crate::secret::RefreshToken) + Send + Sync + 'static,
    ) -> Self {
        self.on_session_refresh_token = Some(Arc::new(hook));
        self
    }

    /// How long the store keeps a session that is not renewed (default 90 days); every
    /// renewal keeps it that much longer. Set it to what the provider documents as its refresh
    /// tokens' idle lifetime.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// Largest answer accepted from the token endpoint (default 1 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }
}
