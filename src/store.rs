//! Sharing tokens beyond one client: a store every client of a fleet reads before asking the
//! provider, and a renewal lock so one of them asks per token lifetime.
//!
//! Without a store (the default) each [`crate::TokenClient`] caches in its own memory.
//! [`MemoryStore`] shares tokens between clients of one process; [`crate::redis_store::RedisStore`]
//! (cargo feature `redis`) between processes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        }
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
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (StoredToken, Instant)>>,
    locks: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            Ok(entries
                .get(key)
                .filter(|(_, until)| Instant::now() < *until)
                .map(|(t, _)| t.clone()))
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.insert(key.to_owned(), (token.clone(), Instant::now() + ttl));
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
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            let free = locks
                .get(key)
                .is_none_or(|(_, until)| Instant::now() >= *until);
            if free {
                locks.insert(key.to_owned(), (fence.to_owned(), Instant::now() + ttl));
            }
            Ok(free)
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            if locks.get(key).is_some_and(|(holder, _)| holder == fence) {
                locks.remove(key);
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.remove(key);
            Ok(())
        })
    }
}
