//! User sessions: one user's tokens at a provider (access token, refresh token, expiry, the
//! answer's fields), renewed through the refresh grant with the guarantees of the app token's
//! cache, persisted in the client's store before a new access token is handed out, and never
//! losing a rotation to a sibling process.

use std::sync::atomic::{AtomicBool, Ordering};

use super::cache::{self, Cached, RenewFuture, Renewer, TokenCell};
use super::*;
use crate::bounded::Bounded;

/// One user's state, shared by every handle of the session in this process. It holds no
/// reference to the client, so the client's registry of sessions makes no reference cycle.
pub(super) struct SessionState {
    key: String,
    /// Where the session lives in the client's store: hashed, so user ids never appear there.
    store_key: String,
    cell: Arc<TokenCell>,
    refresh_token: ArcSwapOption<RefreshToken>,
    /// Fingerprint of the last access token an API rejected, never to be adopted again.
    rejected: Mutex<Option<[u8; 32]>>,
    /// When this process took the session up (on the client's clock).
    since: Instant,
    /// Whether the client's store holds the session's newest state, so memory may let it go.
    persisted: AtomicBool,
    /// The session's own DPoP key and its servers' nonces
    /// ([`Settings::dpop_key_per_session`]); the client's otherwise.
    dpop: Option<crate::dpop::Dpop>,
}

impl SessionState {
    /// Whether memory may let this session go: no handle holds it outside the registry, and
    /// either it has been idle past `session_ttl` (the provider's refresh-token idle lifetime,
    /// after which the store drops it too), or the store holds it and its access token has
    /// expired (memory would save no round trip).
    fn evictable(self: &Arc<Self>, now: Instant, session_ttl: Duration) -> bool {
        if Arc::strong_count(self) > 1 {
            return false;
        }
        let cached = self.cell.current();
        let last = cached
            .as_ref()
            .map_or(self.since, |c| c.token.issued_at().max(self.since));
        let idle = now.saturating_duration_since(last) >= session_ttl;
        let expired = cached.is_none_or(|c| now >= c.token.expires_at());
        idle || (expired && self.persisted.load(Ordering::Acquire))
    }
}

/// The sessions a client holds in memory, by the application's key. Sessions nothing needs are
/// swept out as new ones come in (see [`SessionState::evictable`]; a sweep whenever the map has
/// doubled since the last, O(1) amortized per session), and the map gives memory back when it
/// shrinks to a quarter of its room, so memory follows the sessions in use, not every session
/// ever started.
#[derive(Default)]
pub(super) struct Registry(Bounded<Arc<SessionState>>);

impl Registry {
    fn get(&self, key: &str) -> Option<&Arc<SessionState>> {
        self.0.map.get(key)
    }

    fn len(&self) -> usize {
        self.0.map.len()
    }

    /// The session of `key`, made by `make` if there is none; may sweep first.
    fn get_or_insert_with(
        &mut self,
        key: &str,
        now: Instant,
        session_ttl: Duration,
        make: impl FnOnce() -> Arc<SessionState>,
    ) -> Arc<SessionState> {
        if let Some(state) = self.0.map.get(key) {
            return Arc::clone(state);
        }
        self.0.sweep(|state| !state.evictable(now, session_ttl));
        Arc::clone(self.0.map.entry(key.to_owned()).or_insert_with(make))
    }

    /// Registers `state`, replacing any session of its key; may sweep first.
    fn insert(&mut self, state: Arc<SessionState>, now: Instant, session_ttl: Duration) {
        self.0.sweep(|state| !state.evictable(now, session_ttl));
        self.0.map.insert(state.key.clone(), state);
    }

    /// Forgets `state` if it is still the registered session of its key.
    fn remove(&mut self, state: &Arc<SessionState>) {
        if self.get(&state.key).is_some_and(|s| Arc::ptr_eq(s, state)) {
            self.0.remove(&state.key);
        }
    }
}

/// One user's tokens at the provider, obtained through [`TokenClient::start_session`] (a code
/// exchange), [`TokenClient::restore_session`] (a refresh token kept elsewhere) or
/// [`TokenClient::session`] (one this client, or its store, already holds).
///
/// It works like the app token: [`Session::access_token`] returns the cached token without I/O
/// or a lock while it is fresh, renews it ahead of expiry with one refresh request however many
/// tasks ask, and hands out the old token while the new one is on its way. Each refresh token
/// the provider rotates in is written to the client's store (and given to
/// [`Settings::on_session_refresh_token`]) before the new access token is handed out. When
/// the provider refuses the refresh token, the session ends with [`Error::SessionEnded`],
/// carrying its key, so the application can ask that user to connect again.
///
/// Cheap to clone; clones, and every handle [`TokenClient::session`] returns for the same key,
/// share one cache.
#[derive(Clone)]
pub struct Session {
    client: TokenClient,
    state: Arc<SessionState>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("provider", &self.client.inner.provider.name)
            .field("key", &self.state.key)
            .field("has_token", &self.state.cell.current().is_some())
            .field(
                "refresh_token",
                &self
                    .state
                    .refresh_token
                    .load()
                    .as_ref()
                    .map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// The refresh grant sessions renew with: the flow `renew_with` names, else the spec's first
/// `refresh_token` flow.
fn refresh_flow(provider: &'static Provider) -> Option<&'static Flow> {
    provider
        .renew_with
        .and_then(|i| provider.flows.get(i))
        .or_else(|| {
            provider
                .flows
                .iter()
                .find(|f| matches!(f.grant, Grant::RefreshToken))
        })
}

impl TokenClient {
    /// Exchanges `code` with the authorization-code flow named `flow` (as
    /// [`TokenClient::exchange_code`] does: PKCE verifier, redirect URI and nonce come with the
    /// code) and keeps the answer as the session `key` (the application's id for the user or
    /// connection), replacing any session of that key. With a store, the session is written
    /// there before this returns.
    #[doc(hidden)]
    pub async fn start_session(
        &self,
        flow: &str,
        key: impl Into<String>,
        code: crate::AuthorizationCode,
        values: Vec<Option<ParamValue>>,
    ) -> Result<Session, Error> {
        let key = key.into();
        let (flow, values, extra, nonce) = self.code_request(flow, code, values)?;
        let dpop = self.session_dpop(None)?;
        let (token, fields) = self
            .per_call_raw(
                flow,
                &values,
                &extra,
                nonce.as_deref(),
                dpop.as_ref().or(self.inner.dpop.as_ref()),
            )
            .await?;
        Ok(self.begin_session(&key, token, fields, dpop).await)
    }

    /// The session `key` with the tokens of its first answer: registered in this client, kept
    /// in the store, its refresh token (if any) ready for renewals.
    pub(super) async fn begin_session(
        &self,
        key: &str,
        token: Token,
        fields: Map<String, Value>,
        dpop: Option<crate::dpop::Dpop>,
    ) -> Session {
        let refresh = match fields.get("refresh_token") {
            Some(Value::String(r)) => Some(RefreshToken::from(r.clone())),
            _ => None,
        };
        let session = self.register(key, refresh.clone(), dpop);
        session.keep(&token, &fields, refresh.as_ref(), None).await;
        session
            .state
            .cell
            .set(Arc::new(Cached::new(token, fields, &self.inner.telemetry)));
        session
    }

    /// The session `key` from a refresh token the application kept (in its own database): no
    /// request yet; the first [`Session::access_token`] refreshes. Replaces any session of that
    /// key in this client.
    pub fn restore_session(&self, key: impl Into<String>, refresh_token: RefreshToken) -> Session {
        let dpop = self.session_dpop(None).unwrap_or_else(|e| {
            tracing::warn!(target: "tokenspec", provider = self.inner.provider.name, error = %e, "no DPoP key of its own for the restored session: it uses the client's");
            None
        });
        self.register(&key.into(), Some(refresh_token), dpop)
    }

    /// A session's own DPoP key and nonces, with [`Settings::dpop_key_per_session`]: the one
    /// `stored` with it, else a new one; `None` when sessions use the client's key.
    pub(super) fn session_dpop(
        &self,
        stored: Option<&StoredToken>,
    ) -> Result<Option<crate::dpop::Dpop>, Error> {
        if !self.inner.settings.dpop_key_per_session {
            return Ok(None);
        }
        let key = match stored.and_then(|s| s.dpop_key.as_ref()) {
            Some(kept) => crate::dpop::DpopKey::from_stored(kept.expose_secret())?,
            None => crate::dpop::DpopKey::generate()?,
        };
        Ok(Some(crate::dpop::Dpop::new(key)))
    }

    /// The session `key`: the one this client holds, else the one its store holds (another
    /// process may have started it), else `None` (the user has to connect).
    pub async fn session(&self, key: &str) -> Result<Option<Session>, Error> {
        if let Some(state) = self.sessions().get(key) {
            return Ok(Some(Session {
                client: self.clone(),
                state: Arc::clone(state),
            }));
        }
        let Some(store) = self.inner.settings.store.clone() else {
            return Ok(None);
        };
        let store_key = self.session_store_key(key);
        let stored = match store.load(&store_key).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Ok(None),
            Err(StoreError::Unavailable(why)) => {
                return Err(Error::Store(StoreError::Unavailable(why)));
            }
            Err(e) => return Err(Error::Store(e)),
        };
        let refresh = stored
            .refresh_token
            .as_ref()
            .map(|r| RefreshToken::from(r.expose_secret().to_owned()));
        let now = self.inner.settings.clock.now();
        let dpop = self.session_dpop(Some(&stored))?;
        // Another task may have loaded it meanwhile: keep one state per key.
        let state =
            self.sessions()
                .get_or_insert_with(key, now, self.inner.settings.session_ttl, || {
                    let state = self.new_state(key, refresh, dpop);
                    state.persisted.store(true, Ordering::Release);
                    if let Some((token, fields)) = self.adopt_unless(&stored, &state.rejected) {
                        state
                            .cell
                            .set(Arc::new(Cached::new(token, fields, &self.inner.telemetry)));
                    }
                    Arc::new(state)
                });
        Ok(Some(Session {
            client: self.clone(),
            state,
        }))
    }

    /// How many sessions this client holds in memory. Sessions no handle holds are let go once
    /// idle past [`Settings::session_ttl`], or, with a store, once their access token expired
    /// (the store keeps them, and [`TokenClient::session`] finds them there).
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn new_state(
        &self,
        key: &str,
        refresh: Option<RefreshToken>,
        dpop: Option<crate::dpop::Dpop>,
    ) -> SessionState {
        SessionState {
            dpop,
            key: key.to_owned(),
            store_key: self.session_store_key(key),
            cell: Arc::new(TokenCell::new()),
            refresh_token: ArcSwapOption::new(refresh.map(Arc::new)),
            rejected: Mutex::new(None),
            since: self.inner.settings.clock.now(),
            persisted: AtomicBool::new(false),
        }
    }

    fn register(
        &self,
        key: &str,
        refresh: Option<RefreshToken>,
        dpop: Option<crate::dpop::Dpop>,
    ) -> Session {
        let state = Arc::new(self.new_state(key, refresh, dpop));
        let now = self.inner.settings.clock.now();
        self.sessions()
            .insert(Arc::clone(&state), now, self.inner.settings.session_ttl);
        Session {
            client: self.clone(),
            state,
        }
    }

    /// The store key of session `key`: this client's key and the session's, hashed together.
    fn session_store_key(&self, key: &str) -> String {
        let hex = super::fleet::hex_sha256(
            format!("{}\0session\0{key}", self.inner.store_key).as_bytes(),
        );
        format!("tokenspec:v2:{}:session:{hex}", self.inner.provider.name)
    }
}

impl Session {
    /// The client this session belongs to.
    pub(crate) fn client(&self) -> &TokenClient {
        &self.client
    }

    /// The application's key for this session.
    pub fn key(&self) -> &str {
        &self.state.key
    }

    /// The DPoP key and nonces this session's requests are signed with: its own, or the
    /// client's.
    pub(crate) fn dpop(&self) -> Option<&crate::dpop::Dpop> {
        self.state.dpop.as_ref().or(self.client.inner.dpop.as_ref())
    }

    /// The `DPoP` header a `method` request to `url` carrying this session's `token` needs,
    /// as [`TokenClient::dpop_proof`] makes it for the client's tokens, signed with the
    /// session's key.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &url::Url,
        token: &Token,
    ) -> Result<Option<HeaderValue>, Error> {
        self.client.proof_with(self.dpop(), method, url, token)
    }

    /// Reads an API's answer for what DPoP needs, as [`TokenClient::dpop_answer`] does, for
    /// requests made with this session's tokens.
    pub fn dpop_answer(
        &self,
        url: &url::Url,
        status: u16,
        headers: &reqwest::header::HeaderMap,
    ) -> bool {
        super::answer_with(self.dpop(), url, status, headers)
    }

    /// A valid access token for this user: the cached one while fresh (no I/O, no lock),
    /// otherwise the result of the one refresh in flight.
    pub fn access_token(&self) -> impl crate::TokenFuture + Unpin + '_ {
        cache::access_token(self)
    }

    /// The scope the provider granted, as its latest answer says (RFC 6749 §5.1: an answer
    /// without `scope` granted what was asked, so the earlier answer's stands).
    pub fn scope(&self) -> Option<String> {
        match self.state.cell.current()?.fields.get("scope") {
            Some(Value::String(scope)) => Some(scope.clone()),
            _ => None,
        }
    }

    /// For OpenID providers: the claims of the ID token the code exchange returned, validated
    /// (signature, issuer, audience, expiry, nonce). Refreshes keep them.
    pub fn id_token_claims(&self) -> Option<crate::oidc::IdTokenClaims> {
        let cached = self.state.cell.current()?;
        serde_json::from_value(cached.fields.get("id_token_claims")?.clone()).ok()
    }

    /// The latest refresh token of this session (each rotation replaces it).
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.state.refresh_token.load_full().map(|t| (*t).clone())
    }

    /// The cached token with the typed fields of the answer it came in.
    #[doc(hidden)]
    pub async fn token_response<F: FromFields>(&self) -> Result<TokenResponse<F>, Error> {
        let cached = cache::unexpired(self).await?;
        let mut fields = Fields::new(self.client.inner.provider.title, cached.fields.clone());
        Ok(TokenResponse {
            token: cached.token.clone(),
            fields: F::from_fields(&mut fields)?,
        })
    }

    /// Adds the provider's header with this user's valid token to an API request.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, Error> {
        self.client.authorize_with(self, request).await
    }

    /// Sends an API request with this user's token. On `401 Unauthorized` the token is
    /// invalidated, refreshed and the request retried once, if it can be cloned.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        self.client.send_with(self, request).await
    }

    /// Drops `token` from the session's cache if it is still the current one (an API rejected
    /// it); the next call refreshes.
    pub fn invalidate(&self, token: &Token) {
        if self.state.cell.invalidate(token) {
            self.client.inner.telemetry.unauthorized();
            *self
                .state
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(fingerprint(token.expose_secret()));
        }
    }

    /// Ends the session (the user logged out or disconnected): revokes its refresh token (or,
    /// without one, its access token) where the spec declares a revocation endpoint (RFC 7009),
    /// then this client and its store forget it, whether or not the revocation succeeded; its
    /// failure is returned, as the token may then still be valid at the provider. Handles
    /// still held keep their cached token until it expires, then fail with
    /// [`Error::SessionEnded`].
    pub async fn end(&self) -> Result<(), Error> {
        let revoked = match (self.refresh_token(), self.state.cell.current()) {
            (Some(refresh), _) => {
                self.client
                    .revoke(refresh.expose_secret(), "refresh_token")
                    .await
            }
            (None, Some(cached)) => {
                self.client
                    .revoke(cached.token.expose_secret(), "access_token")
                    .await
            }
            (None, None) => Ok(()),
        };
        self.forget();
        self.state.cell.clear();
        let deleted = match &self.client.inner.settings.store {
            Some(store) => store
                .delete(&self.state.store_key)
                .await
                .map_err(Error::Store),
            None => Ok(()),
        };
        revoked.and(deleted)
    }

    /// Drops this session from the client's memory, if it is still the registered one.
    fn forget(&self) {
        self.client.sessions().remove(&self.state);
        self.state.refresh_token.store(None);
    }

    fn ended(&self, reason: &'static str, cause: Option<Error>) -> Error {
        Error::SessionEnded {
            provider: self.client.inner.provider.title,
            session: self.state.key.clone(),
            reason,
            cause: cause.map(Box::new),
        }
    }

    /// Keeps a new answer's rotation: in the store first (with the refresh token every process
    /// must use next), then in memory, then tells the application's hook; only then is the
    /// access token handed out. `previous` is the refresh token the request used, if any.
    async fn keep(
        &self,
        token: &Token,
        fields: &Map<String, Value>,
        refresh: Option<&RefreshToken>,
        previous: Option<&RefreshToken>,
    ) {
        let settings = &self.client.inner.settings;
        if let Some(store) = &settings.store {
            let stored = self
                .client
                .to_stored(token, fields)
                .with_refresh_token(
                    refresh.map(|r| SecretString::from(r.expose_secret().to_owned())),
                )
                .with_dpop_key(self.state.dpop.as_ref().map(|d| d.key.to_stored()));
            let saved = store
                .save(&self.state.store_key, &stored, settings.session_ttl)
                .await;
            self.state.persisted.store(saved.is_ok(), Ordering::Release);
            if let Err(e) = saved {
                tracing::warn!(provider = self.client.inner.provider.name, error = %e, "could not write the session to the store; this process alone holds its newest refresh token");
            }
        }
        if let Some(refresh) = refresh {
            self.state
                .refresh_token
                .store(Some(Arc::new(refresh.clone())));
            let rotated = previous.is_none_or(|p| p.expose_secret() != refresh.expose_secret());
            if rotated && let Some(hook) = &settings.on_session_refresh_token {
                hook(&self.state.key, refresh);
            }
        }
    }

    /// Takes the refresh token a sibling process stored, if it is another than this one's.
    fn take_stored_refresh_token(&self, stored: &StoredToken) -> bool {
        let Some(theirs) = &stored.refresh_token else {
            return false;
        };
        let ours = self.state.refresh_token.load();
        if ours
            .as_ref()
            .is_some_and(|o| o.expose_secret() == theirs.expose_secret())
        {
            return false;
        }
        self.state
            .refresh_token
            .store(Some(Arc::new(RefreshToken::from(
                theirs.expose_secret().to_owned(),
            ))));
        true
    }

    /// A renewal: adopt what a sibling stored, or refresh under the store's lock for this
    /// session; without a store, refresh.
    async fn renew_session(&self) -> Result<(Token, Map<String, Value>), Error> {
        let client = &self.client;
        let settings = &client.inner.settings;
        let Some(store) = settings.store.clone() else {
            return self.refresh(None).await;
        };
        let key = self.state.store_key.as_str();
        let started = Instant::now();
        loop {
            match store.load(key).await {
                Ok(Some(stored)) => {
                    self.take_stored_refresh_token(&stored);
                    if let Some(adopted) = client.adopt_unless(&stored, &self.state.rejected) {
                        return Ok(adopted);
                    }
                }
                Ok(None) => {}
                Err(StoreError::Unavailable(why)) => return self.without_lock(&*store, why).await,
                Err(e) => return Err(Error::Store(e)),
            }
            let fence = crate::authorization::random_token()?;
            match store.try_lock(key, &fence, settings.lock_ttl).await {
                Ok(true) => {
                    // The holder before us may have saved its rotation just before letting go.
                    if let Ok(Some(stored)) = store.load(key).await {
                        self.take_stored_refresh_token(&stored);
                        if let Some(adopted) = client.adopt_unless(&stored, &self.state.rejected) {
                            let _ = store.unlock(key, &fence).await;
                            return Ok(adopted);
                        }
                    }
                    let result = self.refresh(Some(&*store)).await;
                    if let Err(e) = store.unlock(key, &fence).await {
                        tracing::warn!(provider = client.inner.provider.name, error = %e, "could not release the session's refresh lock; it expires by itself");
                    }
                    return result;
                }
                Ok(false) if started.elapsed() < settings.store_wait => {
                    // Another process refreshes this session; its rotation will appear.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Ok(false) => {
                    let why = format!(
                        "the session was not refreshed within {:?} while another process held its lock",
                        settings.store_wait
                    );
                    return self.without_lock(&*store, why).await;
                }
                Err(StoreError::Unavailable(why)) => return self.without_lock(&*store, why).await,
                Err(e) => return Err(Error::Store(e)),
            }
        }
    }

    /// What to do when the store cannot lock (or answer), as [`Settings::store_fallback`]
    /// says. Refreshing without the lock still writes the rotation to the store and, on a
    /// refusal, looks there for a sibling's rotation, whichever of those the store can do.
    async fn without_lock(
        &self,
        store: &dyn crate::store::TokenStore,
        why: String,
    ) -> Result<(Token, Map<String, Value>), Error> {
        match self.client.inner.settings.store_fallback {
            StoreFallback::FetchLocally => {
                self.client.inner.telemetry.store_fallback("session", &why);
                self.refresh(Some(store)).await
            }
            StoreFallback::Fail => Err(Error::Store(StoreError::Unavailable(why))),
        }
    }

    /// One refresh request with the session's refresh token. A refusal (`invalid_grant`) is
    /// checked against the store first: a sibling process that rotated the token meanwhile
    /// left the new one there, and the session goes on with it. Only then does it end.
    async fn refresh(
        &self,
        store: Option<&dyn crate::store::TokenStore>,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let client = &self.client;
        let Some(flow) = refresh_flow(client.inner.provider) else {
            self.forget();
            return Err(self.ended(
                "its access token expired and the spec has no refresh grant to renew it with",
                None,
            ));
        };
        let mut second_chance = true;
        loop {
            let Some(used) = self.refresh_token() else {
                self.forget();
                return Err(self.ended(
                    "it has no refresh token: the provider issued none, or the session was ended",
                    None,
                ));
            };
            let Some(values) = super::exchange::refresh_values(flow, &used) else {
                return Err(Error::config(format!(
                    "flow `{}` of {} has no per-call `refresh_token` parameter",
                    flow.name, client.inner.provider.title
                )));
            };
            // An ID token in a refresh answer is validated as the code exchange's was (OpenID
            // Connect Core §12.2), without a nonce.
            match client
                .per_call_raw(flow, &values, &[], None, self.dpop())
                .await
            {
                Ok((token, mut fields)) => {
                    if let (Some(before), Some(after)) =
                        (self.id_token_claims(), fields.get("id_token_claims"))
                        && (after.get("sub").and_then(Value::as_str) != Some(before.sub.as_str())
                            || after.get("iss").and_then(Value::as_str)
                                != Some(before.iss.as_str()))
                    {
                        return Err(Error::IdToken(crate::oidc::IdTokenError::Malformed(
                            "the refresh answer's ID token names another user or issuer than the session's (OpenID Connect Core §12.2)".to_owned(),
                        )));
                    }
                    // What a refresh answer leaves out stands from before: the granted scope
                    // (RFC 6749 §5.1) and the user the code exchange's ID token named.
                    if let Some(previous) = self.state.cell.current() {
                        for kept in ["scope", "id_token_claims"] {
                            if !fields.contains_key(kept)
                                && let Some(value) = previous.fields.get(kept)
                            {
                                fields.insert(kept.to_owned(), value.clone());
                            }
                        }
                    }
                    // A server that does not rotate sends no refresh token: keep the one used.
                    let refresh = match fields.get("refresh_token") {
                        Some(Value::String(r)) => RefreshToken::from(r.clone()),
                        _ => used.clone(),
                    };
                    self.keep(&token, &fields, Some(&refresh), Some(&used))
                        .await;
                    return Ok((token, fields));
                }
                Err(e) if e.code() == Some("invalid_grant") => {
                    if let Some(store) = store
                        && let Ok(Some(stored)) = store.load(&self.state.store_key).await
                        && self.take_stored_refresh_token(&stored)
                    {
                        if let Some(adopted) = client.adopt_unless(&stored, &self.state.rejected) {
                            return Ok(adopted);
                        }
                        if second_chance {
                            second_chance = false;
                            continue;
                        }
                    }
                    tracing::warn!(provider = client.inner.provider.name, session = %self.state.key, error = %e.chain(), "the provider refused the session's refresh token; the session has ended");
                    self.forget();
                    if let Some(store) = store
                        && let Err(e) = store.delete(&self.state.store_key).await
                    {
                        tracing::warn!(provider = client.inner.provider.name, error = %e, "could not remove the ended session from the store");
                    }
                    return Err(self.ended("the provider refused its refresh token", Some(e)));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Renewer for Session {
    fn cell(&self) -> &Arc<TokenCell> {
        &self.state.cell
    }

    fn title(&self) -> &'static str {
        self.client.inner.provider.title
    }

    fn clock(&self) -> &dyn crate::clock::Clock {
        &*self.client.inner.settings.clock
    }

    #[inline]
    fn now(&self) -> Instant {
        self.client.inner.now()
    }

    fn can_renew(&self) -> Result<(), Error> {
        Ok(())
    }

    fn renew(&self) -> RenewFuture {
        let session = self.clone();
        Box::pin(async move { session.renew_session().await })
    }

    fn invalidate(&self, token: &Token) {
        Session::invalidate(self, token);
    }

    fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.client.inner.telemetry
    }

    fn is_session(&self) -> bool {
        true
    }

    fn dpop(&self) -> Option<&crate::dpop::Dpop> {
        Session::dpop(self)
    }
}
