//! Sharing tokens beyond one client: a store every client of a fleet reads before asking the
//! provider, and a renewal lock so one of them asks per token lifetime.
//!
//! Without a store (the default) each [`crate::TokenClient`] caches in its own memory.
//! [`MemoryStore`] shares tokens between clients of one process; [`crate::redis_store::RedisStore`]
//! (cargo feature `redis`), `postgres_store::PostgresStore` (cargo feature `postgres`) and
//! `sqlite_store::SqliteStore` (cargo feature `sqlite`, one machine) between processes; the last
//! two keep every acknowledged rotation through a crash.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bounded::Bounded;
use crate::clock::{Clock, SystemClock};

use secrecy::SecretString;

/// A boxed future, so stores can be used as trait objects.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A token as stores keep it: wall-clock times, so other processes can use it.
#[derive(Clone)]
#[non_exhaustive]
pub struct StoredToken {
    /// The access token.
    pub access_token: SecretString,
    /// When it was issued, Unix milliseconds.
    pub issued_at_ms: u64,
    /// When it expires, Unix milliseconds.
    pub expires_at_ms: u64,
    /// The response fields the spec declares.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// A user session's refresh token (app tokens have none here): the newest rotation, which
    /// every process of a fleet must use next.
    pub refresh_token: Option<SecretString>,
    /// Whether the access token is bound to the client's DPoP key (RFC 9449); every process
    /// that uses it needs that key.
    pub dpop_bound: bool,
    /// A user session's own DPoP key ([`crate::Settings::dpop_key_per_session`]), which every
    /// process refreshing the session needs: as secret as the refresh token beside it.
    pub dpop_key: Option<SecretString>,
}

impl StoredToken {
    /// A token issued and expiring at these Unix milliseconds, with its response fields.
    pub fn new(
        access_token: SecretString,
        issued_at_ms: u64,
        expires_at_ms: u64,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        StoredToken {
            access_token,
            issued_at_ms,
            expires_at_ms,
            fields,
            refresh_token: None,
            dpop_bound: false,
            dpop_key: None,
        }
    }

    /// The same token, bound (or not) to the client's DPoP key.
    pub fn with_dpop_bound(mut self, bound: bool) -> Self {
        self.dpop_bound = bound;
        self
    }

    /// The same token with a session's own DPoP key.
    pub fn with_dpop_key(mut self, key: Option<SecretString>) -> Self {
        self.dpop_key = key;
        self
    }

    /// The same token with a session's refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Option<SecretString>) -> Self {
        self.refresh_token = refresh_token;
        self
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"[REDACTED]")
            .field("issued_at_ms", &self.issued_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("dpop_key", &self.dpop_key.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// Why a store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable or did not answer in time; the client falls back as configured.
    #[error("the token store is unavailable: {0}")]
    Unavailable(String),
    /// A stored token cannot be decrypted: the processes do not share one key.
    #[error(
        "a stored token cannot be decrypted with this key, or was moved from another store key: give every process of the fleet the same store key, and let only the fleet write to the store"
    )]
    WrongKey,
    /// A stored value is not a token this version wrote.
    #[error("a stored value is not a tokenspec token: {0}")]
    Corrupt(String),
    /// The store cannot do what was asked (a store written before the operation existed).
    #[error("the token store cannot {0}")]
    Unsupported(&'static str),
}

#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
impl StoreError {
    /// The store could not be reached or did not answer: `why`, in its client's words.
    pub(crate) fn unavailable(why: impl fmt::Display) -> Self {
        StoreError::Unavailable(why.to_string())
    }
}

/// Where a fleet's clients share tokens, and the lock that makes one of them renew.
pub trait TokenStore: Send + Sync + 'static {
    /// The token saved under `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>>;
    /// Saves `token` under `key` until it expires.
    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Takes the renewal lock for `key` for at most `ttl`, with `fence` as the holder's proof;
    /// `false` if another holds it.
    fn try_lock<'a>(&'a self, key: &'a str, fence: &'a str, ttl: Duration)
    -> StoreFuture<'a, bool>;
    /// Releases the lock, only if `fence` still holds it (an expired lock taken over by another
    /// process is left alone).
    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> StoreFuture<'a, ()>;
    /// Forgets the token saved under `key` (a session that ended). Stores written before
    /// sessions existed answer [`StoreError::Unsupported`]; their entries expire by themselves.
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let _ = key;
        Box::pin(async { Err(StoreError::Unsupported("delete a token")) })
    }
}

/// What a client does when its store is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreFallback {
    /// Fetch a token itself, logging a warning (the fleet may ask the provider more than once).
    #[default]
    FetchLocally,
    /// Fail the call.
    Fail,
}

/// Tokens shared between the clients of one process.
///
/// Its memory follows what it holds: expired tokens and locks are swept out as new ones come
/// in (a sweep whenever the map has doubled since the last, so each write costs O(1) amortized),
/// and the maps give memory back when they shrink to a quarter of what they once held. A TTL
/// too long to represent (`Duration::MAX`) means "until deleted".
pub struct MemoryStore {
    entries: Mutex<Swept<StoredToken>>,
    locks: Mutex<Swept<String>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &lock(&self.entries).map.len())
            .field("locks", &lock(&self.locks).map.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_clock(Arc::new(SystemClock))
    }
}

/// Values that expire: each with the instant it stops being valid (`None`: never).
type Swept<T> = Bounded<(T, Option<Instant>)>;

impl<T> Bounded<(T, Option<Instant>)> {
    fn get(&self, key: &str, now: Instant) -> Option<&T> {
        self.map
            .get(key)
            .filter(|(_, until)| until.is_none_or(|u| now < u))
            .map(|(value, _)| value)
    }

    fn insert(&mut self, key: &str, value: T, now: Instant, ttl: Duration) {
        self.sweep(|(_, until)| until.is_none_or(|u| now < u));
        self.map
            .insert(key.to_owned(), (value, now.checked_add(ttl)));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store whose entries expire by `clock` (the clock given to the clients that
    /// use it, such as a [`crate::clock::ManualClock`] in tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            entries: Mutex::new(Swept::default()),
            locks: Mutex::new(Swept::default()),
            clock,
        }
    }

    /// How many tokens it holds, expired ones not yet swept out included.
    pub fn len(&self) -> usize {
        lock(&self.entries).map.len()
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            let now = self.clock.now();
            Ok(lock(&self.entries).get(key, now).cloned())
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let now = self.clock.now();
            lock(&self.entries).insert(key, token.clone(), now, ttl);
            Ok(())
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        fence: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let now = self.clock.now();
            let mut locks = lock(&self.locks);
            let free = locks.get(key, now).is_none();
            if free {
                locks.insert(key, fence.to_owned(), now, ttl);
            }
            Ok(free)
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut locks = lock(&self.locks);
            if locks
                .map
                .get(key)
                .is_some_and(|(holder, _)| holder == fence)
            {
                locks.remove(key);
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            lock(&self.entries).remove(key);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn token() -> StoredToken {
        StoredToken::new(SecretString::from("t"), 0, 1, serde_json::Map::new())
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn a_ttl_too_long_to_represent_keeps_the_token_and_the_lock_until_deleted() {
        let store = MemoryStore::new();
        block_on(async {
            store.save("k", &token(), Duration::MAX).await.unwrap();
            assert!(store.load("k").await.unwrap().is_some());
            assert!(store.try_lock("k", "f", Duration::MAX).await.unwrap());
            assert!(!store.try_lock("k", "g", Duration::MAX).await.unwrap());
            store.unlock("k", "f").await.unwrap();
            assert!(store.try_lock("k", "g", Duration::MAX).await.unwrap());
        });
    }

    #[test]
    fn expired_tokens_are_swept_out_and_the_map_gives_memory_back() {
        let clock = ManualClock::new();
        let store = MemoryStore::with_clock(Arc::new(clock.clone()));
        block_on(async {
            for round in 0..10 {
                for i in 0..1000 {
                    let key = format!("{round}-{i}");
                    store
                        .save(&key, &token(), Duration::from_secs(60))
                        .await
                        .unwrap();
                }
                clock.advance(Duration::from_secs(61));
            }
            assert!(
                store.len() <= 2 * 1000 + crate::bounded::SWEEP_FLOOR,
                "10,000 tokens saved, 1,000 alive at a time, {} kept",
                store.len()
            );
            assert!(
                store.load("9-0").await.unwrap().is_none(),
                "expired by the clock"
            );
            for i in 0..1000 {
                store.delete(&format!("9-{i}")).await.unwrap();
            }
            let capacity = lock(&store.entries).map.capacity();
            assert!(
                capacity <= 4 * 1000,
                "capacity {capacity} after deleting all but a few"
            );
        });
    }
}
