//! Renewal through a shared store: adopt what another process stored, or fetch under the
//! store's renewal lock and share the result.

use super::*;

/// SHA-256 of a token, to recognise it without keeping it.
pub(super) fn fingerprint(secret: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256 of `bytes` in lowercase hex, for store keys that name a thing without showing it.
pub(super) fn hex_sha256(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The store key of a client: provider, base URL, client id, the cached flow and its builder
/// settings (sorted), hashed. Secrets never take part.
pub(super) fn store_key(
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
    let hex = hex_sha256(parts.join("\0").as_bytes());
    // v2: sealed values are bound to their key. Processes of the previous version use other
    // keys, so a rolling upgrade costs one extra token request, never an error.
    format!("tokenspec:v2:{}:{hex}", provider.name)
}

impl TokenClient {
    /// Renews the cached token: from the shared store when another client already did, else
    /// with one request under the store's renewal lock; without a store, one request.
    pub(super) async fn renew(
        &self,
        flow: &'static Flow,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let Some(store) = self.inner.settings.store.clone() else {
            return self.fetch_own(flow).await;
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
                    let result = self.fetch_own(flow).await;
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
    pub(super) async fn without_store(
        &self,
        flow: &'static Flow,
        why: String,
    ) -> Result<(Token, Map<String, Value>), Error> {
        match self.inner.settings.store_fallback {
            StoreFallback::FetchLocally => {
                self.inner.telemetry.store_fallback("token", &why);
                self.fetch_own(flow).await
            }
            StoreFallback::Fail => Err(Error::Store(StoreError::Unavailable(why))),
        }
    }

    /// A stored token as this client's own, if it is fresh and no API rejected it here.
    pub(super) fn adopt(&self, stored: &StoredToken) -> Option<(Token, Map<String, Value>)> {
        self.adopt_unless(stored, &self.inner.rejected)
    }

    /// A stored token, if it is fresh and is not the one an API rejected here (`rejected`).
    pub(super) fn adopt_unless(
        &self,
        stored: &StoredToken,
        rejected: &Mutex<Option<[u8; 32]>>,
    ) -> Option<(Token, Map<String, Value>)> {
        let secret = stored.access_token.expose_secret();
        if rejected
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
        let token = Token::with_margin(
            stored.access_token.clone(),
            issued,
            lifetime,
            self.inner.margin,
        )
        .dpop_bound(stored.dpop_bound && self.inner.dpop.is_some());
        (now < token.refresh_at()).then(|| (token, stored.fields.clone()))
    }

    pub(super) fn to_stored(&self, token: &Token, fields: &Map<String, Value>) -> StoredToken {
        let clock = &self.inner.settings.clock;
        let age = clock.now().saturating_duration_since(token.issued_at());
        let issued_at_ms = unix_ms(clock.wall()).saturating_sub(age.as_millis() as u64);
        StoredToken {
            access_token: SecretString::from(token.expose_secret().to_owned()),
            issued_at_ms,
            expires_at_ms: issued_at_ms.saturating_add(token.lifetime().as_millis() as u64),
            fields: fields.clone(),
            refresh_token: None,
            dpop_bound: token.is_dpop_bound(),
            dpop_key: None,
        }
    }
}
