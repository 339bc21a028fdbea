//! A [`TokenStore`] in Redis, so a fleet of processes shares one token per lifetime.
//!
//! Tokens are stored encrypted (ChaCha20-Poly1305 with a 32-byte key every process is given), so
//! a Redis dump or a curious operator sees nothing usable; each expires in Redis when the token
//! does. The renewal lock is `SET key fence NX PX ttl`, released by a script that deletes it only
//! if it still holds this process's fence. Every Redis call has a deadline: an unreachable Redis
//! is an error the client handles with its [`crate::store::StoreFallback`], never a hang.

use std::fmt;
use std::time::Duration;

/// The longest TTL sent to Redis: a century. Redis refuses an expiry past its clock's range
/// (`invalid expire time`), so a longer TTL (`Duration::MAX` for "until deleted") is sent as
/// this one.
const MAX_TTL_MS: u128 = 100 * 365 * 24 * 3600 * 1000;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::sealed::Sealer;
use crate::store::{StoreError, StoreFuture, StoredToken, TokenStore};

/// Deletes the lock only if this holder's fence is still in it.
const UNLOCK: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Tokens shared through Redis.
pub struct RedisStore {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    sealer: Sealer,
    timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store at `url` (`redis://127.0.0.1:6379/0`), encrypting tokens with `key`. Connects on
    /// first use, and again after Redis restarts.
    pub fn new(url: &str, key: [u8; 32]) -> Result<Self, crate::Error> {
        let client = redis::Client::open(url)
            .map_err(|e| crate::Error::config(format!("Redis URL: {e}")))?;
        Ok(RedisStore {
            client,
            connection: tokio::sync::Mutex::new(None),
            sealer: Sealer::new(key)?,
            timeout: Duration::from_secs(2),
        })
    }

    /// Deadline for each Redis call, connecting included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(self.timeout);
        let manager = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::unavailable("no connection within the deadline"))?
        .map_err(StoreError::unavailable)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(self.timeout, cmd.query_async(&mut connection))
            .await
            .map_err(|_| StoreError::unavailable("no answer within the deadline"))?
            .map_err(StoreError::unavailable)
    }
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            let value: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(key).clone()).await?;
            value.map(|v| self.sealer.open(key, &v)).transpose()
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let sealed = self.sealer.seal(key, token)?;
            let ms = ttl.as_millis().clamp(1, MAX_TTL_MS) as u64;
            self.run::<()>(
                redis::cmd("SET")
                    .arg(key)
                    .arg(sealed)
                    .arg("PX")
                    .arg(ms)
                    .clone(),
            )
            .await
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        fence: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let ms = ttl.as_millis().clamp(1, MAX_TTL_MS) as u64;
            let set: Option<String> = self
                .run(
                    redis::cmd("SET")
                        .arg(format!("{key}:lock"))
                        .arg(fence)
                        .arg("NX")
                        .arg("PX")
                        .arg(ms)
                        .clone(),
                )
                .await?;
            Ok(set.is_some())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self.run(redis::cmd("DEL").arg(key).clone()).await?;
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self
                .run(
                    redis::cmd("EVAL")
                        .arg(UNLOCK)
                        .arg(1)
                        .arg(format!("{key}:lock"))
                        .arg(fence)
                        .clone(),
                )
                .await?;
            Ok(())
        })
    }
}

/// A store key from 32 bytes written as base64 (as kept in a secret manager).
pub fn key_from_base64(text: &str) -> Result<[u8; 32], crate::Error> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| crate::Error::config("the store key is not base64"))?;
    bytes
        .try_into()
        .map_err(|_| crate::Error::config("the store key must be 32 bytes (44 base64 characters)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_are_32_bytes_of_base64() {
        let key = [7u8; 32];
        assert_eq!(key_from_base64(&STANDARD.encode(key)).unwrap(), key);
        assert!(key_from_base64("not base64!").is_err());
        assert!(
            key_from_base64(&STANDARD.encode([1u8; 16]))
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
    }
}
