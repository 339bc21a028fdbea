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
use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::store::{StoreError, StoreFuture, StoredToken, TokenStore};

/// Deletes the lock only if this holder's fence is still in it.
const UNLOCK: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Tokens shared through Redis.
pub struct RedisStore {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    key: LessSafeKey,
    timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// A store at `url` (`redis://127.0.0.1:6379/0`), encrypting tokens with `key`. Connects on
    /// first use, and again after Redis restarts.
    pub fn new(url: &str, key: [u8; 32]) -> Result<Self, crate::Error> {
        let client = redis::Client::open(url)
            .map_err(|e| crate::Error::config(format!("Redis URL: {e}")))?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &key)
            .map_err(|_| crate::Error::config("the store key must be 32 bytes"))?;
        Ok(RedisStore {
            client,
            connection: tokio::sync::Mutex::new(None),
            key: LessSafeKey::new(key),
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
        .map_err(|_| unavailable("no connection within the deadline"))?
        .map_err(unavailable)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(self.timeout, cmd.query_async(&mut connection))
            .await
            .map_err(|_| unavailable("no answer within the deadline"))?
            .map_err(unavailable)
    }

    /// The associated data of a sealed token: the format version and the Redis key it is stored
    /// under, so a value copied under another key (another tenant's, another provider's) fails
    /// to open instead of being adopted there.
    fn bound_to(key: &str) -> Vec<u8> {
        let mut aad = b"tokenspec-v2\0".to_vec();
        aad.extend_from_slice(key.as_bytes());
        aad
    }

    fn seal(&self, key: &str, token: &StoredToken) -> Result<Vec<u8>, StoreError> {
        let mut plain = serde_json::json!({
            "t": token.access_token.expose_secret(),
            "i": token.issued_at_ms,
            "e": token.expires_at_ms,
            "f": token.fields,
            "r": token.refresh_token.as_ref().map(|r| r.expose_secret()),
        });
        if token.dpop_bound {
            plain["d"] = serde_json::Value::Bool(true);
        }
        if let Some(key) = &token.dpop_key {
            plain["k"] = serde_json::Value::from(key.expose_secret());
        }
        let mut data =
            serde_json::to_vec(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| StoreError::Corrupt("no randomness".into()))?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::bound_to(key)),
                &mut data,
            )
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    fn open(&self, key: &str, sealed: &[u8]) -> Result<StoredToken, StoreError> {
        if sealed.len() < 12 + aead::CHACHA20_POLY1305.tag_len() {
            return Err(StoreError::Corrupt("too short".into()));
        }
        let (nonce, rest) = sealed.split_at(12);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| StoreError::Corrupt("bad nonce".into()))?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(Self::bound_to(key)), &mut data)
            .map_err(|_| StoreError::WrongKey)?;
        let value: serde_json::Value =
            serde_json::from_slice(plain).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let text = |k: &str| {
            value
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let number = |k: &str| value.get(k).and_then(serde_json::Value::as_u64);
        match (text("t"), number("i"), number("e")) {
            (Some(t), Some(i), Some(e)) => Ok(StoredToken {
                access_token: SecretString::from(t),
                issued_at_ms: i,
                expires_at_ms: e,
                fields: value
                    .get("f")
                    .and_then(serde_json::Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                refresh_token: text("r").map(SecretString::from),
                dpop_bound: value.get("d").and_then(serde_json::Value::as_bool) == Some(true),
                dpop_key: text("k").map(SecretString::from),
            }),
            _ => Err(StoreError::Corrupt("missing members".into())),
        }
    }
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            let value: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(key).clone()).await?;
            value.map(|v| self.open(key, &v)).transpose()
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let sealed = self.seal(key, token)?;
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

    #[test]
    fn sealed_tokens_open_only_with_the_same_key() {
        let store = RedisStore::new("redis://127.0.0.1:1/", [1u8; 32]).unwrap();
        let other = RedisStore::new("redis://127.0.0.1:1/", [2u8; 32]).unwrap();
        let token = StoredToken {
            access_token: "tok".into(),
            issued_at_ms: 1,
            expires_at_ms: 2,
            fields: Default::default(),
            refresh_token: None,
            dpop_bound: false,
            dpop_key: None,
        };
        let token = token.with_dpop_key(Some("session-key-pkcs8".into()));
        let sealed = store.seal("k", &token).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("tok"));
        assert!(!String::from_utf8_lossy(&sealed).contains("session-key"));
        let opened = store.open("k", &sealed).unwrap();
        assert_eq!(
            opened
                .dpop_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned()),
            Some("session-key-pkcs8".to_owned())
        );
        assert_eq!(
            store
                .open("k", &sealed)
                .unwrap()
                .access_token
                .expose_secret(),
            "tok"
        );
        assert_eq!(other.open("k", &sealed).unwrap_err(), StoreError::WrongKey);
    }

    #[test]
    fn a_sealed_token_moved_under_another_key_is_refused() {
        let store = RedisStore::new("redis://127.0.0.1:1/", [1u8; 32]).unwrap();
        let token = StoredToken {
            access_token: "tenant-a-token".into(),
            issued_at_ms: 1,
            expires_at_ms: 2,
            fields: Default::default(),
            refresh_token: None,
            dpop_bound: false,
            dpop_key: None,
        };
        let sealed = store.seal("tokenspec:v2:p:tenant-a", &token).unwrap();
        assert_eq!(
            store.open("tokenspec:v2:p:tenant-b", &sealed).unwrap_err(),
            StoreError::WrongKey,
            "anyone who can write to Redis cannot move tenant A's token to tenant B"
        );
    }
}
