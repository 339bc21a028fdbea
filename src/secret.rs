//! Secret values: tokens, refresh tokens and ID tokens whose `Debug` never shows them.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// `text` without the line ending(s) an editor, `echo` or a secret manager leaves at its end.
fn without_trailing_newline(mut text: String) -> String {
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    text
}

/// Reads a secret (a client secret, an API key) from the environment variable `var`, without
/// its trailing newline. Fails, naming the variable and never its value, when it is unset,
/// empty or not UTF-8.
///
/// ```
/// // SAFETY: no other thread reads the environment in this example.
/// unsafe { std::env::set_var("DOC_CLIENT_SECRET", "s3cr3t\n") };
/// let secret = tokenspec::secret_from_env("DOC_CLIENT_SECRET")?;
/// # use tokenspec::ExposeSecret;
/// assert_eq!(secret.expose_secret(), "s3cr3t");
/// # Ok::<(), tokenspec::Error>(())
/// ```
pub fn secret_from_env(var: &str) -> Result<SecretString, Error> {
    let text = match std::env::var(var) {
        Ok(text) => text,
        Err(std::env::VarError::NotPresent) => {
            return Err(Error::config(format!(
                "the environment variable `{var}` is not set: set it to the secret"
            )));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Error::config(format!(
                "the environment variable `{var}` is not valid UTF-8"
            )));
        }
    };
    let text = without_trailing_newline(text);
    if text.is_empty() {
        return Err(Error::config(format!(
            "the environment variable `{var}` is empty: set it to the secret"
        )));
    }
    Ok(SecretString::from(text))
}

/// Reads a secret from the file at `path`, without its trailing newline: the format of Docker
/// secrets (`/run/secrets/<name>`) and of Kubernetes secrets mounted as files. Fails, naming
/// the file and never its content, when it cannot be read, is not UTF-8 or is empty.
///
/// Read it again to pick up a rotation; [`crate::TokenClient::replace_client_secret`] hands the
/// new secret to a live client.
pub fn secret_from_file(path: impl AsRef<Path>) -> Result<SecretString, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "cannot read the secret file `{}`: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // The bytes are the secret: wipe them rather than leave them to the allocator.
        secrecy::zeroize::Zeroize::zeroize(&mut e.into_bytes());
        Error::config(format!(
            "the secret file `{}` is not valid UTF-8",
            path.display()
        ))
    })?;
    let text = without_trailing_newline(text);
    if text.is_empty() {
        return Err(Error::config(format!(
            "the secret file `{}` is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(text))
}

/// An access token with its lifetime. Cheap to clone (one reference count); `Debug` shows only
/// when it expires.
#[derive(Clone)]
pub struct Token {
    inner: Arc<TokenInner>,
}

struct TokenInner {
    /// Which fetch this token came from; copies share it.
    id: u64,
    secret: SecretString,
    issued_at: Instant,
    expires_at: Instant,
    refresh_at: Instant,
    /// Whether the token is bound to the client's DPoP key (RFC 9449), so it goes in
    /// `Authorization: DPoP …` with a proof.
    dpop: bool,
}

impl Token {
    /// A token of your own, for a [`crate::TokenSource`] you write (a token from a sidecar, a
    /// secret manager, another library, a fixed token in tests): `value` is the token text,
    /// valid for `lifetime` from `issued_at` (`Instant::now()` when you just got it).
    ///
    /// Nothing renews it ahead of time, so [`Token::refresh_at`] is its expiry. Lifetimes longer
    /// than ten years are cut to ten years. Like every token, its `Debug` never shows the text.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let token = tokenspec::Token::new("from-the-sidecar", Instant::now(), Duration::from_secs(300));
    /// assert_eq!(token.expose_secret(), "from-the-sidecar");
    /// assert_eq!(token.lifetime(), Duration::from_secs(300));
    /// assert!(!format!("{token:?}").contains("from-the-sidecar"));
    /// ```
    pub fn new(value: impl Into<SecretString>, issued_at: Instant, lifetime: Duration) -> Self {
        let lifetime = lifetime.min(crate::response::MAX_LIFETIME);
        Token::with_margin(value.into(), issued_at, lifetime, Duration::ZERO)
    }

    /// A token from a token request sent at `issued_at`, renewed `margin` before it expires.
    pub(crate) fn with_margin(
        secret: SecretString,
        issued_at: Instant,
        lifetime: Duration,
        margin: Duration,
    ) -> Self {
        let expires_at = issued_at
            .checked_add(lifetime)
            .unwrap_or(issued_at + crate::response::MAX_LIFETIME);
        // Renew `margin` ahead, but never more than half the lifetime ahead, so a 300 s token with
        // a 60 s margin is renewed after 240 s and a 60 s token after 30 s.
        let ahead = margin.min(lifetime / 2);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Token {
            inner: Arc::new(TokenInner {
                id,
                secret,
                issued_at,
                expires_at,
                refresh_at: expires_at - ahead,
                dpop: false,
            }),
        }
    }

    /// The same token in memory of its own, so clones made from it on one thread never touch
    /// the reference count other threads' clones use (the cached hot path scales across cores).
    pub(crate) fn private_copy(&self) -> Token {
        let i = &self.inner;
        Token {
            inner: Arc::new(TokenInner {
                id: i.id,
                secret: i.secret.clone(),
                issued_at: i.issued_at,
                expires_at: i.expires_at,
                refresh_at: i.refresh_at,
                dpop: i.dpop,
            }),
        }
    }

    /// The token text, for putting it on a request yourself.
    pub fn expose_secret(&self) -> &str {
        self.inner.secret.expose_secret()
    }

    /// When the request that produced it was sent (monotonic clock of the client).
    pub fn issued_at(&self) -> Instant {
        self.inner.issued_at
    }

    /// When it stops being valid (monotonic clock of the client).
    pub fn expires_at(&self) -> Instant {
        self.inner.expires_at
    }

    /// When the client starts renewing it.
    pub fn refresh_at(&self) -> Instant {
        self.inner.refresh_at
    }

    /// How long it is valid, counted from when the request that produced it was sent
    /// ([`Token::issued_at`]) to when it expires ([`Token::expires_at`]):
    ///
    /// - `expires_in` (or a lifetime the spec states): that many seconds, as the provider told
    ///   it;
    /// - an absolute expiry time or a JWT `exp`: the time left until then on the client's wall
    ///   clock when the request was sent, so a token the provider issued a minute before it
    ///   answered (or that a cache handed out half-used) shows what was left, not its original
    ///   lifetime; an expiry already past is zero;
    /// - a provider that tells none (`expiry: never`): ten years, the longest believed;
    ///   such a token lives until an API refuses it.
    ///
    /// Lifetimes longer than ten years are cut to ten years.
    pub fn lifetime(&self) -> Duration {
        self.inner.expires_at - self.inner.issued_at
    }

    /// Whether `other` is this very token (the same fetch, possibly another copy of it), not
    /// merely an equal string.
    pub fn same_as(&self, other: &Token) -> bool {
        self.inner.id == other.inner.id
    }

    /// Which fetch this token came from; copies share it.
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// The token, marked bound to the client's DPoP key (or not). Only for a token just made,
    /// before any copy of it exists.
    pub(crate) fn dpop_bound(mut self, bound: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.dpop = bound;
        }
        self
    }

    /// Whether the token is bound to the client's DPoP key (RFC 9449): it is sent as
    /// `Authorization: DPoP <token>`, each request with a proof signed by that key
    /// ([`crate::TokenClient::dpop_proof`]). Tokens of providers without DPoP, and those a DPoP
    /// provider chose to issue as `Bearer`, are not.
    pub fn is_dpop_bound(&self) -> bool {
        self.inner.dpop
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"[REDACTED]")
            .field("lifetime", &self.lifetime())
            .finish()
    }
}

/// A future of an access token: what `access_token()` returns, on a generated client (with the
/// provider's `Error`), a [`crate::TokenClient`] or a [`crate::Session`]. Await it; any future
/// with that output is one.
pub trait TokenFuture<E = Error>: std::future::Future<Output = Result<Token, E>> + Send {}

impl<F, E> TokenFuture<E> for F where F: std::future::Future<Output = Result<Token, E>> + Send {}

/// A runtime future whose error becomes the provider's `Error`: what a generated
/// `access_token()` returns, so a cached call is one poll of the runtime's future with no state
/// machine of the generated module's own around it.
#[must_use = "futures do nothing unless awaited"]
pub struct ErrInto<F, E> {
    inner: F,
    error: std::marker::PhantomData<fn() -> E>,
}

impl<F, E> ErrInto<F, E> {
    /// Wraps `inner`, whose errors become `E`.
    pub fn new(inner: F) -> Self {
        ErrInto {
            inner,
            error: std::marker::PhantomData,
        }
    }
}

impl<F, T, E> std::future::Future for ErrInto<F, E>
where
    F: std::future::Future<Output = Result<T, crate::Error>> + Unpin,
    E: From<crate::Error>,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.get_mut().inner)
            .poll(cx)
            .map(|result| result.map_err(E::from))
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// The secret text.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(SecretString::from(value))
            }
        }

        impl From<$name> for SecretString {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([REDACTED])"))
            }
        }
    };
}

secret_type!(
    /// A refresh token. Store it as carefully as the client secret.
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token, as received (not validated by this type).
    IdToken
);
