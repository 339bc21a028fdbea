//! Users' sessions against a rotating token server on 127.0.0.1: a code exchange starts one,
//! the refresh grant renews it single-flight with rotation, a store shares it between
//! processes without ever losing a rotation, and a refused refresh token ends it with a typed
//! error carrying its key.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::clock::ManualClock;
use tokenspec::store::{MemoryStore, StoreError, StoreFuture, StoredToken, TokenStore};
use tokenspec::{AuthorizationCode, Error, RefreshToken, Session, Settings, TokenClient};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A token server that rotates refresh tokens: a code (`good-code`) or a live refresh token
/// buys a new access token and a new refresh token, and the refresh token used dies. A dead,
/// unknown or revoked refresh token gets `invalid_grant`.
#[derive(Default)]
struct Rotating {
    live: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    refreshes: AtomicUsize,
    /// The tokens revoked (RFC 7009), with their hints.
    revoked: Mutex<Vec<(String, String)>>,
    /// The status the revocation endpoint answers (200 when unset).
    revocation_status: Option<u16>,
    /// Whether refresh answers carry a new refresh token.
    keeps_refresh_tokens: bool,
    /// How long the answer to the n-th refresh request (from 1) waits.
    delays: Mutex<HashMap<usize, Duration>>,
}

impl Rotating {
    /// A server whose answers to the given refresh requests (numbered from 1) wait so many
    /// milliseconds.
    fn delaying(delays: &[(usize, u64)]) -> Self {
        let server = Rotating::default();
        server
            .delays
            .lock()
            .unwrap()
            .extend(delays.iter().map(|&(n, ms)| (n, Duration::from_millis(ms))));
        server
    }

    fn issue(&self) -> (String, String) {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let refresh = format!("rt-{n}");
        self.live.lock().unwrap().insert(refresh.clone());
        (format!("at-{n}"), refresh)
    }

    fn revoke_all(&self) {
        self.live.lock().unwrap().clear();
    }
}

struct Shared(Arc<Rotating>);

impl Respond for Shared {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let server = &self.0;
        let body: HashMap<String, String> =
            url::form_urlencoded::parse(&r.body).into_owned().collect();
        let refused = ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}));
        if r.url.path() == "/revoke" {
            let token = body.get("token").cloned().unwrap_or_default();
            let hint = body.get("token_type_hint").cloned().unwrap_or_default();
            let status = server.revocation_status.unwrap_or(200);
            if status == 200 {
                server.live.lock().unwrap().remove(&token);
                server.revoked.lock().unwrap().push((token, hint));
            }
            return ResponseTemplate::new(status);
        }
        match body.get("grant_type").map(String::as_str) {
            Some("authorization_code")
                if body.get("code").map(String::as_str) == Some("good-code") =>
            {
                let (access, refresh) = server.issue();
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": access, "refresh_token": refresh,
                    "expires_in": 3600, "scope": "read write",
                }))
            }
            Some("refresh_token") => {
                let n = server.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                let delay = server
                    .delays
                    .lock()
                    .unwrap()
                    .get(&n)
                    .copied()
                    .unwrap_or_default();
                let used = body.get("refresh_token").cloned().unwrap_or_default();
                let answer = if server.keeps_refresh_tokens {
                    if server.live.lock().unwrap().contains(&used) {
                        let (access, _) = server.issue();
                        ResponseTemplate::new(200)
                            .set_body_json(json!({"access_token": access, "expires_in": 3600}))
                    } else {
                        refused
                    }
                } else if server.live.lock().unwrap().remove(&used) {
                    let (access, refresh) = server.issue();
                    ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": access, "refresh_token": refresh, "expires_in": 3600,
                    }))
                } else {
                    refused
                };
                answer.set_delay(delay)
            }
            _ => refused,
        }
    }
}

/// A rotating token server, the clock every client of a test shares, and its clients.
struct Fixture {
    server: MockServer,
    state: Arc<Rotating>,
    clock: ManualClock,
}

impl Fixture {
    async fn new(server: Rotating) -> Self {
        let mock = MockServer::start().await;
        let state = Arc::new(server);
        Mock::given(method("POST"))
            .respond_with(Shared(Arc::clone(&state)))
            .mount(&mock)
            .await;
        Fixture {
            server: mock,
            state,
            clock: ManualClock::new(),
        }
    }

    /// A client (a process, when clients share a store) of this server.
    fn client(&self, settings: Settings) -> TokenClient {
        self.client_of(provider_with_sessions(), settings)
    }

    /// A client of `provider` (a process, when clients share a store) of this server.
    fn client_of(&self, provider: &'static Provider, settings: Settings) -> TokenClient {
        TokenClient::new(
            provider,
            settings
                .client_id("session-client")
                .client_secret("session-secret")
                .base_url(self.server.uri())
                .clock(self.clock.clone()),
            "https://unused.invalid",
            &[],
            vec![],
        )
        .expect("valid client")
    }

    /// The session `key` of `client`, started by exchanging a good code.
    async fn connect(&self, client: &TokenClient, key: &str) -> Session {
        client
            .start_session(
                "authorization_code",
                key,
                AuthorizationCode::external("good-code"),
                vec![],
            )
            .await
            .expect("code exchanged")
    }

    fn refreshes(&self) -> usize {
        self.state.refreshes.load(Ordering::SeqCst)
    }

    fn expire(&self) {
        self.clock.advance(Duration::from_secs(3601));
    }
}

/// A provider with a code flow (flow 0) and the refresh grant (flow 1), both per call.
fn provider_with_sessions() -> &'static Provider {
    let per_call =
        |name: &'static str, grant: Grant, grant_type: &'static str, param: &'static str| {
            let mut f = flow(
                auth(Some(BasicEncoding::Raw), vec![]),
                Body::Form,
                vec![
                    fixed("grant_type", Location::Body, grant_type),
                    Param {
                        name: param,
                        location: Location::Body,
                        source: Source::Call(0),
                    },
                ],
                EXPIRES_IN,
            );
            f.name = name;
            f.grant = grant;
            f.call_params = slice(vec![Slot {
                name: param,
                required: true,
            }]);
            f.fields = slice(vec![
                Field {
                    key: "refresh_token",
                    paths: &[&["refresh_token"]],
                    kind: FieldKind::Secret,
                    required: false,
                },
                Field {
                    key: "scope",
                    paths: &[&["scope"]],
                    kind: FieldKind::Text,
                    required: false,
                },
            ]);
            f
        };
    let mut p = provider(client_credentials_flow(), vec![]).clone();
    p.flows = slice(vec![
        per_call(
            "authorization_code",
            Grant::AuthorizationCode,
            "authorization_code",
            "code",
        ),
        per_call(
            "refresh",
            Grant::RefreshToken,
            "refresh_token",
            "refresh_token",
        ),
    ]);
    p.cached_flow = None;
    leak(p)
}

/// The same provider, with a token revocation endpoint at `/revoke`.
fn provider_revoking() -> &'static Provider {
    let mut p = provider_with_sessions().clone();
    p.revocation = Some(Revocation {
        path: Some("/revoke"),
    });
    leak(p)
}

fn secret(token: Option<RefreshToken>) -> Option<String> {
    token.map(|t| t.expose_secret().to_owned())
}

#[tokio::test]
async fn a_session_from_a_code_exchange_renews_itself_through_the_refresh_grant_with_rotation() {
    let f = Fixture::new(Rotating::default()).await;
    let rotations = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&rotations);
    let client = f.client(
        Settings::default().on_session_refresh_token(move |key, token| {
            seen.lock()
                .unwrap()
                .push((key.to_owned(), token.expose_secret().to_owned()));
        }),
    );
    let session = f.connect(&client, "user-42").await;
    assert_eq!(session.key(), "user-42");
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-1"
    );
    assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-1"));
    assert_eq!(session.scope().as_deref(), Some("read write"));

    f.expire();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-2",
        "renewed through the refresh grant"
    );
    assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-2"));
    assert_eq!(
        session.scope().as_deref(),
        Some("read write"),
        "a refresh answer without `scope` keeps the granted one"
    );
    assert_eq!(f.refreshes(), 1);
    let again = client.session("user-42").await.unwrap().expect("held");
    assert_eq!(again.access_token().await.unwrap().expose_secret(), "at-2");
    assert_eq!(
        *rotations.lock().unwrap(),
        vec![
            ("user-42".to_owned(), "rt-1".to_owned()),
            ("user-42".to_owned(), "rt-2".to_owned())
        ],
        "the hook saw every refresh token, the code exchange's and the rotation"
    );
}

#[tokio::test]
async fn a_thousand_callers_on_one_expired_session_cause_one_refresh_request() {
    let f = Fixture::new(Rotating::delaying(&[(1, 100)])).await;
    let client = f.client(Settings::default());
    let session = f.connect(&client, "user-1").await;
    f.expire();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.access_token().await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().expose_secret(), "at-2");
    }
    assert_eq!(f.refreshes(), 1);
}

#[tokio::test]
async fn two_processes_refreshing_one_session_send_one_refresh_and_both_end_with_the_new_token() {
    let f = Fixture::new(Rotating::delaying(&[(1, 100)])).await;
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
    let process = || f.client(Settings::default().store(store.clone()));
    let (first, second) = (process(), process());
    f.connect(&first, "user-7").await;
    let theirs = second
        .session("user-7")
        .await
        .unwrap()
        .expect("the second process finds the session in the store");
    assert_eq!(theirs.access_token().await.unwrap().expose_secret(), "at-1");

    f.expire();
    let ours = first.session("user-7").await.unwrap().unwrap();
    let (a, b) = tokio::join!(ours.access_token(), theirs.access_token());
    assert_eq!(a.unwrap().expose_secret(), "at-2");
    assert_eq!(b.unwrap().expose_secret(), "at-2");
    assert_eq!(f.refreshes(), 1, "one refresh reached the server");
    assert_eq!(secret(ours.refresh_token()).as_deref(), Some("rt-2"));
    assert_eq!(secret(theirs.refresh_token()).as_deref(), Some("rt-2"));
}

/// A store whose lock is always unavailable (its reads and writes work): processes refresh
/// without a lock, so two can spend the same refresh token.
struct NoLocks(MemoryStore);

impl TokenStore for NoLocks {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        self.0.load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.0.save(key, token, ttl)
    }
    fn try_lock<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(StoreError::Unavailable("locks are down".into())) })
    }
    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.0.delete(key)
    }
}

#[tokio::test]
async fn a_rotation_spent_by_a_sibling_is_adopted_from_the_store_instead_of_ending_the_session() {
    // Both send rt-1 before either answer arrives; the loser's refusal arrives after the
    // winner saved its rotation.
    let f = Fixture::new(Rotating::delaying(&[(1, 100), (2, 300)])).await;
    let store = Arc::new(NoLocks(MemoryStore::new()));
    let process = || f.client(Settings::default().store(store.clone()));
    let (first, second) = (process(), process());
    f.connect(&first, "user-9").await;
    let ours = first.session("user-9").await.unwrap().unwrap();
    let theirs = second.session("user-9").await.unwrap().unwrap();

    f.expire();
    let (a, b) = tokio::join!(ours.access_token(), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        theirs.access_token().await
    });
    assert_eq!(a.unwrap().expose_secret(), "at-2");
    assert_eq!(
        b.expect("the loser adopts the winner's rotation")
            .expose_secret(),
        "at-2"
    );
    assert_eq!(f.refreshes(), 2, "both spent rt-1; one was refused");
    assert_eq!(secret(theirs.refresh_token()).as_deref(), Some("rt-2"));
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_the_session_with_a_typed_error_carrying_its_key() {
    let f = Fixture::new(Rotating::default()).await;
    let store = Arc::new(MemoryStore::new());
    let client = f.client(Settings::default().store(store.clone()));
    let session = f.connect(&client, "user-13").await;
    f.state.revoke_all();
    f.expire();

    let error = session.access_token().await.expect_err("the session ended");
    assert!(matches!(error, Error::SessionEnded { .. }), "{error:?}");
    assert_eq!(error.ended_session(), Some("user-13"));
    assert!(
        error.to_string().contains("ask the user to connect again"),
        "{error}"
    );
    let cause = std::error::Error::source(&error).expect("the provider's refusal");
    assert!(cause.to_string().contains("invalid_grant"), "{cause}");
    assert!(
        client.session("user-13").await.unwrap().is_none(),
        "forgotten here and in the store"
    );
    assert_eq!(f.refreshes(), 1);
}

#[tokio::test]
async fn a_server_that_does_not_rotate_keeps_the_session_on_its_refresh_token() {
    let f = Fixture::new(Rotating {
        keeps_refresh_tokens: true,
        ..Rotating::default()
    })
    .await;
    let client = f.client(Settings::default());
    let session = f.connect(&client, "user-3").await;
    for round in 2..=3 {
        f.expire();
        assert_eq!(
            session.access_token().await.unwrap().expose_secret(),
            format!("at-{round}")
        );
        assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-1"));
    }
}

#[tokio::test]
async fn a_session_restored_from_a_kept_refresh_token_refreshes_on_first_use() {
    let f = Fixture::new(Rotating::default()).await;
    let (_, kept) = f.state.issue();
    let client = f.client(Settings::default());
    let session = client.restore_session("user-5", RefreshToken::from(kept));
    assert_eq!(f.refreshes(), 0, "no request before first use");
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-2"
    );
    assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-2"));
}

#[tokio::test]
async fn ending_a_session_forgets_it_in_the_client_and_the_store() {
    let f = Fixture::new(Rotating::default()).await;
    let store = Arc::new(MemoryStore::new());
    let client = f.client(Settings::default().store(store.clone()));
    let session = f.connect(&client, "user-8").await;
    assert_eq!(client.session_count(), 1);
    session.end().await.unwrap();
    assert_eq!(client.session_count(), 0);
    let elsewhere = f.client(Settings::default().store(store.clone()));
    assert!(elsewhere.session("user-8").await.unwrap().is_none());
    f.expire();
    let error = session.access_token().await.expect_err("ended");
    assert_eq!(error.ended_session(), Some("user-8"));
}

#[tokio::test]
async fn without_a_store_memory_lets_go_of_sessions_no_handle_holds_once_idle_past_their_ttl() {
    let f = Fixture::new(Rotating::default()).await;
    let client = f.client(Settings::default().session_ttl(Duration::from_secs(3600)));
    let held = client.restore_session("held", RefreshToken::from("rt-held".to_owned()));
    for i in 0..200 {
        drop(client.restore_session(format!("user-{i}"), RefreshToken::from(format!("rt-{i}"))));
    }
    // Within the TTL every session stays: memory is the only place they live.
    assert_eq!(client.session_count(), 201);
    assert!(client.session("user-0").await.unwrap().is_some());
    f.clock.advance(Duration::from_secs(3601));
    for i in 0..300 {
        drop(client.restore_session(format!("later-{i}"), RefreshToken::from(format!("rt-l{i}"))));
    }
    assert!(
        client.session_count() <= 301,
        "the 200 idle sessions were let go, {} held",
        client.session_count()
    );
    assert!(client.session("user-0").await.unwrap().is_none());
    assert!(
        client.session("held").await.unwrap().is_some(),
        "a session a handle holds is never let go"
    );
    drop(held);
}

#[tokio::test]
async fn with_a_store_memory_lets_go_of_expired_sessions_and_finds_them_again_in_the_store() {
    let f = Fixture::new(Rotating::default()).await;
    let store = Arc::new(MemoryStore::with_clock(Arc::new(f.clock.clone())));
    let client = f.client(Settings::default().store(store.clone()));
    for i in 0..100 {
        f.connect(&client, &format!("user-{i}")).await;
    }
    assert_eq!(client.session_count(), 100);
    f.expire(); // every access token expired; the store keeps the sessions for 90 days
    for i in 0..100 {
        drop(client.restore_session(format!("later-{i}"), RefreshToken::from(format!("rt-l{i}"))));
    }
    assert!(
        client.session_count() <= 100,
        "the expired, stored sessions were let go: {} held",
        client.session_count()
    );
    let back = client
        .session("user-7")
        .await
        .unwrap()
        .expect("found again in the store");
    assert!(back.access_token().await.is_ok(), "and refreshes from it");
}

/// A store that holds something no version of tokenspec wrote.
struct Corrupted;

impl TokenStore for Corrupted {
    fn load<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async { Err(StoreError::Corrupt("not a sealed token".into())) })
    }
    fn save<'a>(&'a self, _: &'a str, _: &'a StoredToken, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn try_lock<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_corrupted_stored_session_is_a_typed_store_error() {
    let f = Fixture::new(Rotating::default()).await;
    let client = f.client(Settings::default().store(Arc::new(Corrupted)));
    let error = client.session("user-1").await.expect_err("unreadable");
    assert!(
        matches!(error, Error::Store(StoreError::Corrupt(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn sessions_never_show_their_tokens() {
    let f = Fixture::new(Rotating::default()).await;
    let client = f.client(Settings::default());
    let session = f.connect(&client, "user-2").await;
    let shown = format!("{session:?} {client:?}");
    assert!(
        shown.contains("user-2") && shown.contains("[REDACTED]"),
        "{shown}"
    );
    assert!(
        !shown.contains("at-1") && !shown.contains("rt-1"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_session_sends_api_requests_and_refreshes_once_on_401() {
    let f = Fixture::new(Rotating::default()).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
        .mount(&api)
        .await;
    let client = f.client(Settings::default());
    let session = f.connect(&client, "user-4").await;
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let answer = session
        .send(http.get(format!("{}/me", api.uri())))
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
    assert_eq!(f.refreshes(), 1);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn processes_sharing_a_session_through_redis_refresh_once_and_keep_it_sealed() {
    use tokenspec::redis_store::RedisStore;
    let redis = support::redis_server::Redis::start();
    let f = Fixture::new(Rotating::delaying(&[(1, 100)])).await;
    let process = || {
        let store = RedisStore::new(&redis.url(), *b"session-test-key-0123456789abcd!").unwrap();
        f.client(Settings::default().store(Arc::new(store)))
    };
    let (first, second) = (process(), process());
    f.connect(&first, "user@example.com").await;
    let raw = redis::Client::open(redis.url()).unwrap();
    let mut connection = raw.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        !keys[0].contains("user@example.com"),
        "user ids stay out of key names: {keys:?}"
    );
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut connection)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&sealed);
    assert!(
        !text.contains("rt-1") && !text.contains("at-1"),
        "sealed at rest"
    );
    refresh_together(&f, &first, &second).await;
}

#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
/// `first` and `second` (two processes sharing a store) find the session `user@example.com`
/// that `first` started, and refresh it at once after it expired: one refresh for both, and
/// both see its rotation.
async fn refresh_together(f: &Fixture, first: &TokenClient, second: &TokenClient) {
    let theirs = second
        .session("user@example.com")
        .await
        .unwrap()
        .expect("in the store");
    let ours = first.session("user@example.com").await.unwrap().unwrap();
    f.expire();
    let (a, b) = tokio::join!(ours.access_token(), theirs.access_token());
    assert_eq!(a.unwrap().expose_secret(), "at-2");
    assert_eq!(b.unwrap().expose_secret(), "at-2");
    assert_eq!(
        f.refreshes(),
        1,
        "the store's renewal lock let one process refresh"
    );
    assert_eq!(secret(theirs.refresh_token()).as_deref(), Some("rt-2"));
}

#[tokio::test]
async fn ending_a_session_revokes_its_refresh_token_where_the_spec_says() {
    let f = Fixture::new(Rotating::default()).await;
    let store = Arc::new(MemoryStore::new());
    let client = f.client_of(
        provider_revoking(),
        Settings::default().store(store.clone()),
    );
    let session = f.connect(&client, "user-21").await;
    session.end().await.expect("revoked");
    assert_eq!(
        *f.state.revoked.lock().unwrap(),
        vec![("rt-1".to_owned(), "refresh_token".to_owned())]
    );
    let requests = f.server.received_requests().await.unwrap();
    let revocation = requests.last().unwrap();
    assert!(
        revocation
            .headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Basic ")),
        "the client authenticates as on its token requests"
    );
    assert!(client.session("user-21").await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_revocation_is_reported_and_the_session_is_forgotten_anyway() {
    let f = Fixture::new(Rotating {
        revocation_status: Some(503),
        ..Rotating::default()
    })
    .await;
    let store = Arc::new(MemoryStore::new());
    let client = f.client_of(
        provider_revoking(),
        Settings::default().store(store.clone()),
    );
    let session = f.connect(&client, "user-22").await;
    let error = session
        .end()
        .await
        .expect_err("the server could not revoke");
    assert!(error.is_transient(), "{error}");
    assert!(client.session("user-22").await.unwrap().is_none());
    assert_eq!(client.session_count(), 0);
}

/// A store that is down: every operation fails as unreachable.
struct Down;

impl TokenStore for Down {
    fn load<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
    fn save<'a>(&'a self, _: &'a str, _: &'a StoredToken, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
    fn try_lock<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
}

#[tokio::test]
async fn with_its_store_down_a_session_refreshes_without_it_and_says_so() {
    let f = Fixture::new(Rotating::default()).await;
    let client = f.client(Settings::default().store(Arc::new(Down)));
    let session = f.connect(&client, "user-31").await;
    let (logs, _guard) = capture_tracing();
    f.expire();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-2"
    );
    let logs = logs.text();
    assert!(logs.contains("tokenspec.store_fallback"), "{logs}");
    assert!(logs.contains(r#"what="session""#), "{logs}");
    assert!(
        !logs.contains("rt-1") && !logs.contains("at-2"),
        "no token in logs: {logs}"
    );
}

#[tokio::test]
async fn with_its_store_down_and_fallback_off_a_session_refresh_fails_with_a_store_error() {
    let f = Fixture::new(Rotating::default()).await;
    let client = f.client(
        Settings::default()
            .store(Arc::new(Down))
            .store_fallback(tokenspec::store::StoreFallback::Fail),
    );
    let session = f.connect(&client, "user-32").await;
    f.expire();
    let error = session.access_token().await.unwrap_err();
    assert!(
        matches!(error, Error::Store(StoreError::Unavailable(_))),
        "{error:?}"
    );
    assert_eq!(f.refreshes(), 0);
}

/// An OpenID provider whose refresh answers carry an ID token for `refresh_sub`.
async fn openid_server(refresh_sub: &'static str) -> (MockServer, &'static Provider) {
    let signer = Arc::new(support::seeds::Signer::with_kid("session-key"));
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(wiremock::matchers::path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [signer.jwk()]})))
        .mount(&server)
        .await;
    let id_token = move |sub: &str| {
        let now = unix_now();
        signer.sign(&json!({
            "iss": issuer, "sub": sub, "aud": "session-client", "iat": now, "exp": now + 7200,
        }))
    };
    let (first, refreshed) = (id_token("user-1"), id_token(refresh_sub));
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600, "id_token": first,
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600, "id_token": refreshed,
        })))
        .mount(&server)
        .await;
    let mut p = provider_with_sessions().clone();
    let id_token_field = Field {
        key: "id_token",
        paths: &[&["id_token"]],
        kind: FieldKind::Secret,
        required: false,
    };
    let with_id_token = |flow: &Flow| {
        let mut fields: Vec<Field> = flow.fields.iter().map(|f| Field { ..*f }).collect();
        fields.push(Field { ..id_token_field });
        Flow {
            fields: slice(fields),
            ..*flow
        }
    };
    p.flows = slice(vec![with_id_token(&p.flows[0]), with_id_token(&p.flows[1])]);
    p.openid = Some(OpenId {
        issuer: None,
        algorithms: &["ES256"],
        jwks_path: Some("/jwks"),
        authorization_path: None,
        leeway_secs: 60,
    });
    (server, leak(p))
}

#[tokio::test]
async fn a_refresh_answer_with_an_id_token_for_another_user_is_refused() {
    for (refresh_sub, accepted) in [("user-1", true), ("user-2", false)] {
        let (server, provider) = openid_server(refresh_sub).await;
        let clock = ManualClock::new();
        let client = TokenClient::new(
            provider,
            Settings::default()
                .client_id("session-client")
                .client_secret("session-secret")
                .base_url(server.uri())
                .clock(clock.clone()),
            "https://unused.invalid",
            &[],
            vec![],
        )
        .unwrap();
        let session = client
            .start_session(
                "authorization_code",
                "user-1",
                AuthorizationCode::external("good-code"),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(session.id_token_claims().unwrap().sub, "user-1");
        clock.advance(Duration::from_secs(3601));
        let renewed = session.access_token().await;
        if accepted {
            assert_eq!(renewed.unwrap().expose_secret(), "at-2");
        } else {
            let error = renewed.unwrap_err();
            assert!(matches!(error, Error::IdToken(_)), "{error:?}");
            assert!(
                error.chain().to_string().contains("another user"),
                "{}",
                error.chain()
            );
        }
    }
}

/// A process of the fleet: a client whose store is the PostgreSQL database at `url`.
#[cfg(feature = "postgres")]
fn postgres_process(f: &Fixture, url: &str) -> TokenClient {
    let store =
        tokenspec::postgres_store::PostgresStore::new(url, *b"session-test-key-0123456789abcd!")
            .unwrap()
            .timeout(Duration::from_secs(5));
    f.client(Settings::default().store(Arc::new(store)))
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn processes_sharing_a_session_through_postgres_refresh_once_and_keep_it_sealed() {
    let postgres = support::postgres_server::Postgres::start();
    let f = Fixture::new(Rotating::delaying(&[(1, 100)])).await;
    let (first, second) = (
        postgres_process(&f, &postgres.url()),
        postgres_process(&f, &postgres.url()),
    );
    f.connect(&first, "user@example.com").await;
    let mut raw = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres.url())
        .await
        .unwrap();
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT key, sealed FROM tokenspec_tokens")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one row for the session");
    assert!(
        !rows[0].0.contains("user@example.com"),
        "user ids stay out of keys: {}",
        rows[0].0
    );
    let text = String::from_utf8_lossy(&rows[0].1);
    assert!(
        !text.contains("rt-1") && !text.contains("at-1"),
        "sealed at rest"
    );
    refresh_together(&f, &first, &second).await;
}

/// A rotation is committed before the client uses the new refresh token: the database killed
/// with SIGKILL right after it and started again still has it, so a process that starts then
/// refreshes the session with it (the spent one would be refused, ending the session).
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_rotation_survives_the_database_killed_right_after_it() {
    let mut postgres = support::postgres_server::Postgres::start();
    let f = Fixture::new(Rotating::default()).await;
    let before = postgres_process(&f, &postgres.url());
    let session = f.connect(&before, "user-31").await;
    f.expire();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-2"
    );
    assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-2"));
    postgres.kill();
    postgres.spawn();
    // A process started after the crash finds the rotated session and refreshes it.
    let after = postgres_process(&f, &postgres.url());
    let found = after
        .session("user-31")
        .await
        .unwrap()
        .expect("the session survived the crash");
    f.expire();
    assert_eq!(found.access_token().await.unwrap().expose_secret(), "at-3");
    assert_eq!(f.refreshes(), 2, "no refresh was refused");
    // The process that lived through the crash reconnects on its own.
    assert!(before.session("user-31").await.unwrap().is_some());
}

/// The key every process's SQLite store seals with.
#[cfg(feature = "sqlite")]
const SQLITE_KEY: [u8; 32] = *b"session-test-key-0123456789abcd!";

/// A process of the machine: a client whose store is the SQLite file at `path`.
#[cfg(feature = "sqlite")]
fn sqlite_process(f: &Fixture, path: &std::path::Path) -> TokenClient {
    let store = tokenspec::sqlite_store::SqliteStore::open(path, SQLITE_KEY)
        .unwrap()
        .timeout(Duration::from_secs(5));
    f.client(Settings::default().store(Arc::new(store)))
}

/// A process that refreshes the session `user-41` kept in the SQLite file `SQLITE_FILE`
/// (against the token server at `TOKEN_SERVER`), says so, and waits to be killed.
#[cfg(feature = "sqlite")]
#[test]
#[ignore = "a process of the SQLite crash test, started by it"]
fn sqlite_rotating_process() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let (server, file) = (var("TOKEN_SERVER"), var("SQLITE_FILE"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = tokenspec::sqlite_store::SqliteStore::open(&file, SQLITE_KEY).unwrap();
        let client = TokenClient::new(
            provider_with_sessions(),
            Settings::default()
                .client_id("session-client")
                .client_secret("session-secret")
                .base_url(server)
                .store(Arc::new(store)),
            "https://unused.invalid",
            &[],
            vec![],
        )
        .unwrap();
        let session = client.session("user-41").await.unwrap().expect("stored");
        let first = session.access_token().await.unwrap();
        session.invalidate(&first);
        let rotated = session.access_token().await.unwrap();
        println!("rotated {}", rotated.expose_secret());
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

/// A process killed with SIGKILL right after a rotation leaves it in the SQLite file: the next
/// process refreshes the session with it (the spent refresh token would end the session).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_survives_its_process_killed_right_after_it_with_sqlite() {
    use std::io::BufRead as _;
    let f = Fixture::new(Rotating::default()).await;
    let dir = std::env::temp_dir().join(format!("tokenspec-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sessions.db");
    let _ = std::fs::remove_file(&file);
    let first = sqlite_process(&f, &file);
    f.connect(&first, "user-41").await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "sqlite_rotating_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TOKEN_SERVER", f.server.uri())
        .env("SQLITE_FILE", &file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let said = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            // libtest writes `test <name> ... ` before the test's own output, on the same line.
            .find_map(|line| {
                line.split_once("rotated ")
                    .map(|(_, token)| token.to_owned())
            })
    })
    .await
    .unwrap();
    assert_eq!(
        said.as_deref(),
        Some("at-2"),
        "the process rotated the session"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let after = sqlite_process(&f, &file);
    let session = after
        .session("user-41")
        .await
        .unwrap()
        .expect("in the file");
    assert_eq!(secret(session.refresh_token()).as_deref(), Some("rt-2"));
    f.expire();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-3"
    );
    assert_eq!(f.refreshes(), 2, "no refresh was refused");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn processes_sharing_a_session_through_sqlite_refresh_once_and_keep_it_sealed() {
    let f = Fixture::new(Rotating::delaying(&[(1, 100)])).await;
    let dir = std::env::temp_dir().join(format!("tokenspec-sqlite-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sessions.db");
    let _ = std::fs::remove_file(&file);
    let (first, second) = (sqlite_process(&f, &file), sqlite_process(&f, &file));
    f.connect(&first, "user@example.com").await;
    refresh_together(&f, &first, &second).await;
    let bytes = std::fs::read(&file).unwrap_or_default();
    let wal = std::fs::read(file.with_extension("db-wal")).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes) + String::from_utf8_lossy(&wal);
    assert!(
        !text.contains("rt-2") && !text.contains("at-2") && !text.contains("user@example.com"),
        "sealed at rest"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
