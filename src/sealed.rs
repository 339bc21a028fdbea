//! Tokens sealed for a shared store: ChaCha20-Poly1305 under a 32-byte key every process of a
//! fleet is given, each bound to the key it is stored under, so a dump of the store, a curious
//! operator or a value copied under another tenant's key yields nothing usable.

use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::store::{StoreError, StoredToken};

/// Seals and opens tokens with one store key.
pub(crate) struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// A sealer with this 32-byte key.
    pub(crate) fn new(key: [u8; 32]) -> Result<Self, crate::Error> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, &key)
            .map_err(|_| crate::Error::config("the store key must be 32 bytes"))?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    /// The associated data of a sealed token: the format version and the key it is stored
    /// under, so a value copied under another key (another tenant's, another provider's) fails
    /// to open instead of being adopted there.
    fn bound_to(key: &str) -> Vec<u8> {
        let mut aad = b"tokenspec-v2\0".to_vec();
        aad.extend_from_slice(key.as_bytes());
        aad
    }

    /// `token` encrypted under `key`: a random nonce, then the ciphertext and its tag.
    pub(crate) fn seal(&self, key: &str, token: &StoredToken) -> Result<Vec<u8>, StoreError> {
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

    /// The token `sealed` under `key`; [`StoreError::WrongKey`] when this store key did not
    /// seal it there.
    pub(crate) fn open(&self, key: &str, sealed: &[u8]) -> Result<StoredToken, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_the_same_key() {
        let store = Sealer::new([1u8; 32]).unwrap();
        let other = Sealer::new([2u8; 32]).unwrap();
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
        let store = Sealer::new([1u8; 32]).unwrap();
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
            "anyone who can write to the store cannot move tenant A's token to tenant B"
        );
    }
}
