//! What every generated client builder shares: credentials, transport and timing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::secret::SecretString;

/// Default deadline for one token request, connect and answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default cap on a token endpoint's answer.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings common to every provider's client. Generated builders expose the credentials
/// directly and the rest through `.settings(|s| s.timeout(...))`.
#[derive(Clone)]
pub struct Settings {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) base_url: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) refresh_margin: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            client_id: None,
            client_secret: None,
            http: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            refresh_margin: None,
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
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
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
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

    /// Uses your own `reqwest::Client` (proxies, connection pool, root certificates). Build it
    /// with `redirect(reqwest::redirect::Policy::none())`: a token request that gets redirected
    /// anyway is refused.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sends token requests to this base URL instead of the environment's (a proxy, a local
    /// test server). `http://` is accepted only for loopback hosts unless the spec allows it.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Deadline for one token request, from sending it to reading the whole answer
    /// (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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

    /// Largest answer accepted from the token endpoint (default 1 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }
}
