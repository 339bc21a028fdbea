//! The runtime against real local HTTP servers on 127.0.0.1: every credential placement with
//! exact request assertions, every expiry source, the cache and its single-flight renewal,
//! errors, and secrets that never leak.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::clock::ManualClock;
use tokenspec::{Error, Settings, TokenClient, TransportKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ID: &str = "id with spaces+plus/slash:colon=eq&amp-ç";
const SECRET: &str = "s3cr3t+/:=& é-SENTINEL";

fn settings(server: &MockServer, clock: &ManualClock) -> Settings {
    Settings::default()
        .client_id(ID)
        .client_secret(SECRET)
        .base_url(server.uri())
        .clock(clock.clone())
}

fn client(p: &'static Provider, server: &MockServer, clock: &ManualClock) -> TokenClient {
    TokenClient::new(
        p,
        settings(server, clock),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

fn token_json(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}),
    )
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "exactly one token request");
    requests.remove(0)
}

fn header(r: &Request, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

fn form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn query(r: &Request) -> Vec<(String, String)> {
    r.url.query_pairs().into_owned().collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

/// The one token request a client of a provider with `flow` sends to get a token.
async fn sent_request(flow: Flow) -> Request {
    let server = MockServer::start().await;
    serve_token(&server, "tok", 3600).await;
    client(provider(flow, vec![]), &server, &ManualClock::new())
        .access_token()
        .await
        .expect("token");
    only_request(&server).await
}

async fn serve_token(server: &MockServer, token: &str, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token_json(token, expires_in))
        .mount(server)
        .await;
}

#[tokio::test]
async fn raw_basic_header_and_form_body_are_sent_exactly() {
    let server = MockServer::start().await;
    serve_token(&server, "tok-1", 3600).await;
    let p = provider(
        flow(
            auth(Some(BasicEncoding::Raw), vec![]),
            Body::Form,
            vec![
                fixed("grant_type", Location::Body, "client_credentials"),
                fixed("scope", Location::Body, "a b"),
            ],
            EXPIRES_IN,
        ),
        vec![],
    );
    let token = client(p, &server, &ManualClock::new())
        .access_token()
        .await
        .expect("token");
    assert_eq!(token.expose_secret(), "tok-1");
    let r = only_request(&server).await;
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(
        header(&r, "authorization"),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{ID}:{SECRET}"))
        ))
    );
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form(&r.body),
        vec![
            pair("grant_type", "client_credentials"),
            pair("scope", "a b")
        ]
    );
    assert_eq!(r.url.query(), None);
}

/// A token server that decodes Basic credentials with plain percent rules (`+` stays `+`), as
/// servers that `unquote` do, and accepts only `id` / `secret`.
struct PlainPercentServer {
    id: &'static str,
    secret: &'static str,
}

impl wiremock::Respond for PlainPercentServer {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let decoded = header(r, "authorization")
            .and_then(|h| STANDARD.decode(h.trim_start_matches("Basic ")).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let plain = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .unwrap_or_default()
        };
        match decoded.split_once(':') {
            Some((id, secret)) if plain(id) == self.id && plain(secret) == self.secret => {
                token_json("ok", 3600)
            }
            _ => ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
        }
    }
}

#[tokio::test]
async fn percent_basic_credentials_reach_a_server_that_decodes_with_plain_percent_rules() {
    for (id, secret) in [("cli:ent+id", "s3cr&t=/+ é"), ("id", "has %41 and a space")] {
        let attempt = |encoding: BasicEncoding| async move {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(PlainPercentServer { id, secret })
                .mount(&server)
                .await;
            let settings = settings(&server, &ManualClock::new())
                .client_id(id)
                .client_secret(secret);
            let p = provider(
                flow(
                    auth(Some(encoding), vec![]),
                    Body::Form,
                    vec![fixed("grant_type", Location::Body, "client_credentials")],
                    EXPIRES_IN,
                ),
                vec![],
            );
            TokenClient::new(p, settings, "https://unused.invalid", &[], vec![])
                .expect("valid client")
                .access_token()
                .await
        };
        assert!(
            attempt(BasicEncoding::Percent).await.is_ok(),
            "{id} / {secret}: percent-encoded credentials are accepted"
        );
        let e = attempt(BasicEncoding::Rfc6749).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some("invalid_client"),
            "{id} / {secret}: form-encoded credentials are not (a space became `+`)"
        );
    }
}

#[tokio::test]
async fn rfc6749_basic_header_form_encodes_id_and_secret_before_base64() {
    let r = sent_request(flow(
        auth(Some(BasicEncoding::Rfc6749), vec![]),
        Body::Form,
        vec![fixed("grant_type", Location::Body, "client_credentials")],
        EXPIRES_IN,
    ))
    .await;
    let encoded = header(&r, "authorization").expect("basic header");
    let decoded = String::from_utf8(
        STANDARD
            .decode(encoded.trim_start_matches("Basic "))
            .expect("base64"),
    )
    .expect("utf8");
    let (id, secret) = decoded
        .split_once(':')
        .expect("one unencoded colon separates id and secret");
    let unform = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .expect("pair")
            .1
            .into_owned()
    };
    assert_eq!(
        (unform(id), unform(secret)),
        (ID.to_owned(), SECRET.to_owned())
    );
    assert!(
        !id.contains(' ') && !secret.contains('&'),
        "special characters are percent-encoded"
    );
}

#[tokio::test]
async fn query_string_credentials_are_percent_encoded_and_body_is_empty() {
    let r = sent_request(flow(
        auth(None, vec![Location::Query]),
        Body::None,
        vec![fixed("grant_type", Location::Query, "client_credentials")],
        EXPIRES_IN,
    ))
    .await;
    assert_eq!(
        query(&r),
        vec![
            pair("client_id", ID),
            pair("client_secret", SECRET),
            pair("grant_type", "client_credentials")
        ]
    );
    assert!(r.body.is_empty());
    assert_eq!(header(&r, "authorization"), None);
    assert_eq!(header(&r, "content-type"), None);
}

#[tokio::test]
async fn form_body_credentials_travel_with_the_other_parameters() {
    let r = sent_request(flow(
        auth(None, vec![Location::Body]),
        Body::Form,
        vec![fixed("grant_type", Location::Body, "client_credentials")],
        EXPIRES_IN,
    ))
    .await;
    assert_eq!(
        form(&r.body),
        vec![
            pair("client_id", ID),
            pair("client_secret", SECRET),
            pair("grant_type", "client_credentials")
        ]
    );
    assert_eq!(header(&r, "authorization"), None);
}

#[tokio::test]
async fn json_body_carries_credentials_and_typed_parameters() {
    let server = MockServer::start().await;
    serve_token(&server, "tok", 3600).await;
    let params = vec![
        Param {
            name: "validity",
            location: Location::Body,
            source: Source::Fixed(Literal::Integer(3600)),
        },
        Param {
            name: "offline",
            location: Location::Body,
            source: Source::Fixed(Literal::Boolean(true)),
        },
    ];
    let p = provider(
        flow(
            auth(Some(BasicEncoding::Raw), vec![Location::Body]),
            Body::Json,
            params,
            EXPIRES_IN,
        ),
        vec![],
    );
    client(p, &server, &ManualClock::new())
        .access_token()
        .await
        .expect("token");
    let r = only_request(&server).await;
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"client_id": ID, "client_secret": SECRET, "validity": 3600, "offline": true})
    );
    assert!(
        header(&r, "authorization").is_some_and(|h| h.starts_with("Basic ")),
        "Basic header + JSON body combine"
    );
}

#[tokio::test]
async fn query_parameters_combine_with_a_basic_header_and_custom_grant_on_put() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/oauth/token"))
        .respond_with(token_json("tok", 3600))
        .mount(&server)
        .await;
    let mut f = flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::None,
        vec![
            fixed(
                "grant_type",
                Location::Query,
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ),
            fixed("audience", Location::Query, "https://api/"),
        ],
        EXPIRES_IN,
    );
    f.method = Method::Put;
    f.grant = Grant::Custom;
    client(provider(f, vec![]), &server, &ManualClock::new())
        .access_token()
        .await
        .expect("token");
    let r = only_request(&server).await;
    assert_eq!(r.method.as_str(), "PUT");
    assert_eq!(
        query(&r),
        vec![
            pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            pair("audience", "https://api/")
        ]
    );
    assert!(header(&r, "authorization").is_some());
}

/// A provider whose token lives `lifetime` and whose answer states it through `expiry`.
async fn lifetime_of(expiry: Expiry, body: serde_json::Value) -> Result<Duration, Error> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let p = provider(
        flow(
            auth(Some(BasicEncoding::Raw), vec![]),
            Body::Form,
            vec![],
            expiry,
        ),
        vec![],
    );
    client(p, &server, &ManualClock::new())
        .access_token()
        .await
        .map(|t| t.lifetime())
}

fn near(d: Duration, secs: u64) -> bool {
    d.as_secs_f64() > secs as f64 - 5.0 && d.as_secs_f64() <= secs as f64 + 1.0
}

#[tokio::test]
async fn expiry_comes_from_expires_in_as_number_or_numeric_string() {
    assert_eq!(
        lifetime_of(EXPIRES_IN, json!({"access_token": "t", "expires_in": 300}))
            .await
            .unwrap(),
        Duration::from_secs(300)
    );
    assert_eq!(
        lifetime_of(
            EXPIRES_IN,
            json!({"access_token": "t", "expires_in": "420"})
        )
        .await
        .unwrap(),
        Duration::from_secs(420)
    );
    let missing = lifetime_of(EXPIRES_IN, json!({"access_token": "t"}))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no `expires_in`"), "{missing}");
    let fallback = Expiry::ExpiresIn {
        path: &["expires_in"],
        when_absent: Some(900),
    };
    assert_eq!(
        lifetime_of(fallback, json!({"access_token": "t"}))
            .await
            .unwrap(),
        Duration::from_secs(900)
    );
}

#[tokio::test]
async fn expiry_comes_from_absolute_times_in_every_format() {
    let at = |format| Expiry::At {
        path: &["data", "expires_at"],
        format,
    };
    let in_an_hour = unix_now() + 3600;
    let rfc3339 = time::OffsetDateTime::from_unix_timestamp(in_an_hour as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = |v: serde_json::Value| json!({"access_token": "t", "data": {"expires_at": v}});
    assert!(near(
        lifetime_of(at(TimeFormat::Rfc3339), body(json!(rfc3339)))
            .await
            .unwrap(),
        3600
    ));
    assert!(near(
        lifetime_of(at(TimeFormat::EpochSeconds), body(json!(in_an_hour)))
            .await
            .unwrap(),
        3600
    ));
    assert!(near(
        lifetime_of(at(TimeFormat::EpochMillis), body(json!(in_an_hour * 1000)))
            .await
            .unwrap(),
        3600
    ));
    let bad = lifetime_of(at(TimeFormat::Rfc3339), body(json!("next tuesday")))
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("not an RFC 3339 date-time"),
        "{bad}"
    );
}

#[tokio::test]
async fn expiry_comes_from_the_jwt_exp_claim_or_a_fixed_lifetime() {
    let jwt_exp = Expiry::JwtExp {
        path: &["access_token"],
    };
    let token = jwt(json!({"sub": "community-1", "exp": unix_now() + 86_400}));
    assert!(near(
        lifetime_of(jwt_exp, json!({"access_token": token}))
            .await
            .unwrap(),
        86_400
    ));
    let malformed = lifetime_of(jwt_exp, json!({"access_token": "not-a-jwt"}))
        .await
        .unwrap_err();
    assert!(
        malformed.to_string().contains("it is not a JWT"),
        "{malformed}"
    );
    let no_exp = lifetime_of(jwt_exp, json!({"access_token": jwt(json!({"sub": "x"}))}))
        .await
        .unwrap_err();
    assert!(no_exp.to_string().contains("no `exp` claim"), "{no_exp}");
    assert_eq!(
        lifetime_of(Expiry::Lifetime(600), json!({"access_token": "t"}))
            .await
            .unwrap(),
        Duration::from_secs(600)
    );
}

#[tokio::test]
async fn an_absolute_expirys_lifetime_is_the_time_left_when_the_request_was_sent() {
    let jwt_exp = Expiry::JwtExp {
        path: &["access_token"],
    };
    // Issued an hour ago for an hour and ten minutes: ten minutes are left, and that is the
    // lifetime (not the seventy minutes it was issued for).
    let half_used = jwt(json!({"sub": "s", "iat": unix_now() - 3600, "exp": unix_now() + 600}));
    assert!(near(
        lifetime_of(jwt_exp, json!({"access_token": half_used}))
            .await
            .unwrap(),
        600
    ));
    let gone = jwt(json!({"sub": "s", "exp": unix_now() - 60}));
    assert_eq!(
        lifetime_of(jwt_exp, json!({"access_token": gone}))
            .await
            .unwrap(),
        Duration::ZERO,
        "an expiry already past is no time left"
    );
}

#[tokio::test]
async fn a_token_that_never_expires_is_kept_until_an_api_refuses_it() {
    let server = MockServer::start().await;
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            // No expiry in the answer, and none documented.
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": format!("forever-{n}")}))
        })
        .mount(&server)
        .await;
    let p = provider(
        flow(
            auth(Some(BasicEncoding::Raw), vec![]),
            Body::Form,
            vec![],
            Expiry::Never,
        ),
        vec![],
    );
    let clock = ManualClock::new();
    let client = client(p, &server, &clock);
    let token = client
        .access_token()
        .await
        .expect("a token without an expiry");
    // A year later it is still the cached one.
    clock.advance(Duration::from_secs(365 * 24 * 3600));
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "forever-1"
    );
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    // An API refused it: the next call fetches another.
    client.invalidate(&token);
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "forever-2"
    );
}

#[tokio::test]
async fn cached_token_is_reused_until_the_margin_then_renewed_in_the_background() {
    let server = MockServer::start().await;
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            token_json(&format!("tok-{n}"), 3600)
        })
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &clock);
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "tok-1"
    );
    clock.advance(Duration::from_secs(3539));
    for _ in 0..100 {
        assert_eq!(
            client.access_token().await.unwrap().expose_secret(),
            "tok-1"
        );
    }
    assert_eq!(
        counter.load(Ordering::SeqCst),
        1,
        "no request while the token is fresh"
    );
    clock.advance(Duration::from_secs(2)); // 59 s before expiry: inside the 60 s margin
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "tok-1",
        "still valid: served at once"
    );
    wait_until(|| counter.load(Ordering::SeqCst) == 2).await;
    wait_until_token(&client, "tok-2").await;
    clock.advance(Duration::from_secs(7200)); // both expired: the caller waits for a new one
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "tok-3"
    );
}

async fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 5 s");
}

async fn wait_until_token(client: &TokenClient, expected: &str) {
    for _ in 0..500 {
        if client.access_token().await.unwrap().expose_secret() == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("token {expected} never arrived");
}

#[tokio::test]
async fn margin_never_exceeds_half_the_lifetime_so_short_tokens_are_not_refetched_on_every_call() {
    let server = MockServer::start().await;
    serve_token(&server, "short", 100).await;
    let clock = ManualClock::new();
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &clock);
    let token = client.access_token().await.unwrap();
    assert_eq!(
        token.refresh_at() - token.issued_at(),
        Duration::from_secs(50),
        "60 s margin capped at 50 s"
    );
    clock.advance(Duration::from_secs(49));
    for _ in 0..10 {
        client.access_token().await.unwrap();
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// Answers after a pause, counting requests.
struct Slow {
    count: Arc<AtomicUsize>,
    status: u16,
}

impl Respond for Slow {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let template = if self.status == 200 {
            token_json(&format!("tok-{n}"), 3600)
        } else {
            ResponseTemplate::new(self.status)
                .set_body_json(json!({"error": "temporarily_unavailable"}))
        };
        template.set_delay(Duration::from_millis(200))
    }
}

/// A token server answering every request after 200 ms with `status`, counting requests.
async fn slow_server(status: u16) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(Slow {
            count: count.clone(),
            status,
        })
        .mount(&server)
        .await;
    (server, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_at_expiry_cause_exactly_one_token_request() {
    let (server, count) = slow_server(200).await;
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &ManualClock::new());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(
                async move { c.access_token().await.map(|t| t.expose_secret().to_owned()) },
            )
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "tok-1");
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_reaches_every_waiter_and_the_next_call_tries_again() {
    let server = MockServer::start().await;
    let failures = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(Slow {
            count: failures.clone(),
            status: 503,
        })
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve_token(&server, "after-recovery", 3600).await;
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &ManualClock::new());
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.access_token().await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.code(), Some("temporarily_unavailable"));
    }
    assert_eq!(
        failures.load(Ordering::SeqCst),
        1,
        "one request for all 200 waiters"
    );
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "after-recovery",
        "the failure did not poison the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_leading_caller_leaves_the_others_a_token() {
    let (server, count) = slow_server(200).await;
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &ManualClock::new());
    let leader = {
        let c = client.clone();
        tokio::spawn(async move { c.access_token().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let followers: Vec<_> = (0..50)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.access_token().await })
        })
        .collect();
    leader.abort();
    for f in followers {
        assert_eq!(f.await.unwrap().unwrap().expose_secret(), "tok-1");
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalidate_drops_only_the_current_token() {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            token_json(
                &format!("tok-{}", c.fetch_add(1, Ordering::SeqCst) + 1),
                3600,
            )
        })
        .mount(&server)
        .await;
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &ManualClock::new());
    let first = client.access_token().await.unwrap();
    client.invalidate(&first);
    let second = client.access_token().await.unwrap();
    assert_eq!(second.expose_secret(), "tok-2");
    client.invalidate(&first); // a late 401 for the old token must not drop the new one
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "tok-2"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

/// Mounts a token endpoint answering `tok-1`, `tok-2`, …; returns how many it issued.
async fn numbered_tokens(server: &MockServer) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |_: &Request| {
            token_json(
                &format!("tok-{}", c.fetch_add(1, Ordering::SeqCst) + 1),
                3600,
            )
        })
        .mount(server)
        .await;
    count
}

#[tokio::test]
async fn send_applies_the_header_and_retries_once_after_a_401_with_a_new_token() {
    let server = MockServer::start().await;
    let count = numbered_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(wiremock::matchers::header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(wiremock::matchers::header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let p = provider(basic_form(), vec![]);
    let client = client(p, &server, &ManualClock::new());
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let answer = client
        .send(http.get(format!("{}/api", server.uri())))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(count.load(Ordering::SeqCst), 2, "one refetch after the 401");
}

#[tokio::test]
async fn api_calls_carry_the_spec_s_other_headers_on_the_first_try_and_the_retry() {
    // `api_headers: { X-Channel: { value: partner }, X-App-Key: { type: secret } }`.
    let server = MockServer::start().await;
    numbered_tokens(&server).await;
    for (token, status) in [("Bearer tok-1", 401), ("Bearer tok-2", 200)] {
        Mock::given(method("GET"))
            .and(path("/api"))
            .and(wiremock::matchers::header("authorization", token))
            .and(wiremock::matchers::header("x-channel", "partner"))
            .and(wiremock::matchers::header("x-app-key", "app-key-1"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    let mut p = provider(basic_form(), vec![]).clone();
    p.api_headers = slice(vec![
        fixed("X-Channel", Location::Header, "partner"),
        Param {
            name: "X-App-Key",
            location: Location::Header,
            source: Source::Config(0),
        },
    ]);
    p.config = slice(vec![Slot {
        name: "x_app_key",
        required: true,
    }]);
    let client = TokenClient::new(
        leak(p),
        settings(&server, &ManualClock::new()),
        "https://unused.invalid",
        &[],
        vec![Some(tokenspec::__private::ParamValue::Secret(
            "app-key-1".to_owned().into(),
        ))],
    )
    .expect("valid client");
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let answer = client
        .send(http.get(format!("{}/api", server.uri())))
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "the retry after the 401 carried every header too"
    );
    let authorized = client
        .authorize(http.get(format!("{}/api", server.uri())))
        .await
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(authorized.headers()["x-channel"], "partner");
    assert_eq!(authorized.headers()["x-app-key"], "app-key-1");
    assert!(
        authorized.headers()["x-app-key"].is_sensitive(),
        "kept out of HTTP logs"
    );
}

#[tokio::test]
async fn a_secret_setting_echoed_by_the_token_server_is_scrubbed_from_the_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "unknown app key app-key-secret-42",
        })))
        .mount(&server)
        .await;
    let mut p = provider(basic_form(), vec![]).clone();
    p.config = slice(vec![Slot {
        name: "x_app_key",
        required: true,
    }]);
    let e = TokenClient::new(
        leak(p),
        settings(&server, &ManualClock::new()),
        "https://unused.invalid",
        &[],
        vec![Some(tokenspec::__private::ParamValue::Secret(
            "app-key-secret-42".to_owned().into(),
        ))],
    )
    .expect("valid client")
    .access_token()
    .await
    .unwrap_err();
    let shown = format!("{}\n{e:?}", e.chain());
    assert!(shown.contains("unknown app key"), "{shown}");
    assert!(!shown.contains("app-key-secret-42"), "{shown}");
}

/// A client of a provider whose `error_answer` is `answer`, asking a server that answers `body`
/// with `status`; returns what `access_token()` gave.
async fn with_error_answer(
    answer: ErrorAnswer,
    errors: Vec<KnownError>,
    status: u16,
    body: serde_json::Value,
) -> Result<tokenspec::Token, Error> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    let mut p = provider(basic_form(), errors).clone();
    p.error_answer = answer;
    client(leak(p), &server, &ManualClock::new())
        .access_token()
        .await
}

#[tokio::test]
async fn error_answers_not_shaped_like_rfc_6749_keep_their_code_and_message() {
    // `error_answer: { code: error.code, message: error.message }` and a documented `E42`.
    let nested = ErrorAnswer {
        code: Some(&["error", "code"]),
        message: Some(&["error", "message"]),
        failed_when: None,
    };
    let documented = vec![KnownError {
        name: "BadAppKey",
        message: None,
        code: Some("E42"),
        status: None,
    }];
    let e = with_error_answer(
        nested,
        documented,
        400,
        json!({"error": {"code": "E42", "message": "unknown application key"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("E42"));
    assert_eq!(
        e.known_error(),
        Some("BadAppKey"),
        "the documented error by its code"
    );
    assert!(e.to_string().contains("unknown application key"), "{e}");

    // `errors.0.code` / `errors.0.message`: a list of errors, a numeric code.
    let listed = ErrorAnswer {
        code: Some(&["errors", "0", "code"]),
        message: Some(&["errors", "0", "message"]),
        failed_when: None,
    };
    let e = with_error_answer(
        listed,
        vec![],
        422,
        json!({"errors": [{"code": 1001, "message": "scope not allowed"}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("1001"));
    assert!(e.to_string().contains("scope not allowed"), "{e}");

    // Without `error_answer` the same nested answer has no RFC 6749 code to report.
    let e = with_error_answer(
        ErrorAnswer::RFC6749,
        vec![],
        400,
        json!({"error": {"code": "E42", "message": "unknown application key"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), None);
}

#[tokio::test]
async fn an_error_answer_with_only_a_code_path_keeps_the_message_where_servers_put_it() {
    // `error_answer: { code: code }`: the message stays where the runtime looks by default.
    let code_only = ErrorAnswer {
        code: Some(&["code"]),
        message: None,
        failed_when: None,
    };
    let e = with_error_answer(
        code_only,
        vec![],
        401,
        json!({"code": 124, "message": "Invalid access token."}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("124"));
    assert!(e.to_string().contains("Invalid access token."), "{e}");
}

#[tokio::test]
async fn a_successful_answer_that_says_it_failed_is_an_error() {
    // `error_answer: { message: reason, failed_when: { path: ok, equals: false } }`.
    let flagged = ErrorAnswer {
        code: None,
        message: Some(&["reason"]),
        failed_when: Some((&["ok"], Literal::Boolean(false))),
    };
    let e = with_error_answer(
        flagged,
        vec![],
        200,
        json!({"ok": false, "reason": "account suspended"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Rejected { status: 200, .. }), "{e:?}");
    assert!(e.to_string().contains("account suspended"), "{e}");
    let token = with_error_answer(
        flagged,
        vec![],
        200,
        json!({"ok": true, "access_token": "t", "expires_in": 60}),
    )
    .await
    .unwrap();
    assert_eq!(token.expose_secret(), "t");
}

async fn answer(template: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    let errors = vec![KnownError {
        name: "InvalidClientId",
        message: Some("The informed Client ID is invalid"),
        code: None,
        status: None,
    }];
    let p = provider(
        flow(
            auth(Some(BasicEncoding::Raw), vec![]),
            Body::Form,
            vec![],
            EXPIRES_IN,
        ),
        errors,
    );
    let settings = settings(&server, &ManualClock::new())
        .timeout(Duration::from_millis(300))
        .max_body_bytes(64 * 1024);
    TokenClient::new(p, settings, "https://unused.invalid", &[], vec![])
        .unwrap()
        .access_token()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn rfc6749_error_bodies_become_typed_rejections_with_advice() {
    let e = answer(ResponseTemplate::new(401).set_body_json(
        json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
    ))
    .await;
    assert!(matches!(e, Error::Rejected { status: 401, .. }));
    assert_eq!(e.code(), Some("invalid_client"));
    let text = e.to_string();
    assert!(
        text.contains("Client authentication failed")
            && text.contains("check the client id and secret"),
        "{text}"
    );
}

#[tokio::test]
async fn an_error_member_in_a_200_is_an_error() {
    let e = answer(
        ResponseTemplate::new(200)
            .set_body_json(json!({"error": "invalid_scope", "access_token": "x"})),
    )
    .await;
    assert_eq!(e.code(), Some("invalid_scope"));
    assert_eq!(e.status(), Some(200));
}

#[tokio::test]
async fn documented_messages_match_their_known_error() {
    let e = answer(
        ResponseTemplate::new(400)
            .set_body_json(json!({"message": "The informed Client ID is invalid"})),
    )
    .await;
    assert_eq!(e.known_error(), Some("InvalidClientId"));
    let plain =
        answer(ResponseTemplate::new(400).set_body_string("The informed Client ID is invalid"))
            .await;
    assert_eq!(
        plain.known_error(),
        Some("InvalidClientId"),
        "plain-text bodies match too"
    );
}

#[tokio::test]
async fn an_html_error_page_becomes_a_short_excerpt() {
    let page = format!(
        "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>{}</body></html>",
        "<p>padding</p>".repeat(200)
    );
    let e = answer(ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    let text = e.to_string();
    assert!(
        text.contains("502 Bad Gateway") && text.contains("try again later"),
        "{text}"
    );
    assert!(text.len() < 600, "excerpt is bounded: {} bytes", text.len());
    let ok_html =
        answer(ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"))
            .await;
    let text = ok_html.to_string();
    assert!(
        text.contains("not JSON but an HTML or XML document") && !text.contains("maintenance"),
        "a 2xx body is described, never quoted: {text}"
    );
}

#[tokio::test]
async fn redirects_are_refused_not_followed() {
    let e = answer(
        ResponseTemplate::new(302).insert_header("location", "https://elsewhere.invalid/steal"),
    )
    .await;
    assert!(matches!(e, Error::Redirect { status: 302, .. }), "{e}");
}

#[tokio::test]
async fn any_2xx_is_success_and_token_type_may_be_absent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"access_token": "created", "expires_in": 60})),
        )
        .mount(&server)
        .await;
    let p = provider(basic_form(), vec![]);
    let token = client(p, &server, &ManualClock::new())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "created");
}

#[tokio::test]
async fn authorize_puts_the_provider_header_on_a_request() {
    let server = MockServer::start().await;
    serve_token(&server, "tok-xyz", 3600).await;
    let header = ApiHeader {
        name: "X-Access",
        prefix: "Token ",
        suffix: ";v1",
    };
    let p = provider_with_header(basic_form(), vec![], header);
    let client = client(p, &server, &ManualClock::new());
    let api = tokenspec::http_client()
        .unwrap()
        .build()
        .unwrap()
        .get("http://127.0.0.1:9/api");
    let request = client.authorize(api).await.unwrap().build().unwrap();
    let value = request.headers().get("x-access").expect("header set");
    assert_eq!(value.to_str().unwrap(), "Token tok-xyz;v1");
    assert!(
        value.is_sensitive(),
        "marked sensitive so HTTP logging hides it"
    );
}

fn basic_form() -> Flow {
    flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![],
        EXPIRES_IN,
    )
}

#[tokio::test]
async fn oversized_bodies_are_cut_off_at_the_cap() {
    let e =
        answer(ResponseTemplate::new(200).set_body_raw(vec![b' '; 100 * 1024], "application/json"))
            .await;
    assert!(
        matches!(e, Error::BodyTooLarge { limit: 65_536, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_deadline() {
    let e = answer(token_json("late", 3600).set_delay(Duration::from_secs(30))).await;
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_a_connect_error() {
    let port = dead_port();
    let p = provider(basic_form(), vec![]);
    let settings = Settings::default()
        .client_id(ID)
        .client_secret(SECRET)
        .base_url(format!("http://127.0.0.1:{port}"));
    let e = TokenClient::new(p, settings, "https://unused.invalid", &[], vec![])
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn plain_http_is_refused_except_for_loopback() {
    let p = provider(basic_form(), vec![]);
    let build = |url: &str| {
        TokenClient::new(
            p,
            Settings::default()
                .client_id("i")
                .client_secret("s")
                .base_url(url),
            "https://x",
            &[],
            vec![],
        )
    };
    assert!(build("http://127.0.0.1:8080").is_ok());
    assert!(build("http://localhost:8080").is_ok());
    let e = build("http://auth.example.com").unwrap_err();
    assert!(e.to_string().contains("must use https://"), "{e}");
    let injected = TokenClient::new(
        p,
        Settings::default().client_id("i").client_secret("s"),
        "https://{tenant}.example.com",
        &[("tenant", "evil.com/x?")],
        vec![],
    );
    assert!(
        injected
            .unwrap_err()
            .to_string()
            .contains("cannot go in the base URL")
    );
}

#[tokio::test]
async fn nested_paths_and_typed_fields_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"token": {"value": "nested"}, "ttl": "120", "tenant": 42}}),
        ))
        .mount(&server)
        .await;
    let mut f = flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![],
        Expiry::ExpiresIn {
            path: &["data", "ttl"],
            when_absent: None,
        },
    );
    f.access_token = &[&["data", "token", "value"]];
    f.fields = slice(vec![Field {
        key: "tenant",
        paths: &[&["data", "tenant"]],
        kind: FieldKind::Text,
        required: true,
    }]);
    let client = client(provider(f, vec![]), &server, &ManualClock::new());
    struct Tenant(String);
    impl tokenspec::__private::FromFields for Tenant {
        fn from_fields(fields: &mut tokenspec::__private::Fields) -> Result<Self, Error> {
            fields.require("tenant").map(Tenant)
        }
    }
    let response = client.cached_response::<Tenant>().await.unwrap();
    assert_eq!(response.token.expose_secret(), "nested");
    assert_eq!(response.token.lifetime(), Duration::from_secs(120));
    assert_eq!(
        response.fields.0, "42",
        "a number where text is declared is read as its text"
    );
}

/// An unsigned JWT whose `exp` is `secs` from now.
fn jwt_expiring_in(secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    support::jwt(json!({ "exp": now + secs }))
}

#[tokio::test]
async fn the_token_is_read_from_the_first_of_its_places_the_answer_has() {
    // A spec unsure of the answer's field name (Bfluence's document never shows it) lists
    // `[access_token, token]`; `jwt_exp: access_token` then reads the JWT wherever it was.
    let jwt = jwt_expiring_in(3600);
    for (answer, expected) in [
        (json!({ "token": jwt }), Ok(jwt.as_str())),
        (
            json!({ "access_token": jwt, "token": "other" }),
            Ok(jwt.as_str()),
        ),
        (
            json!({ "jwt": jwt }),
            Err("no access token at `access_token` or `token`"),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
        let mut f = flow(
            auth(Some(BasicEncoding::Raw), vec![]),
            Body::Json,
            vec![],
            Expiry::JwtExp {
                path: &["access_token"],
            },
        );
        f.access_token = &[&["access_token"], &["token"]];
        let client = client(provider(f, vec![]), &server, &ManualClock::new());
        match (client.access_token().await, expected) {
            (Ok(token), Ok(expected)) => {
                assert_eq!(token.expose_secret(), expected);
                let lifetime = token.lifetime().as_secs();
                assert!(
                    (3590..=3600).contains(&lifetime),
                    "the lifetime comes from the JWT found under `token`: {lifetime}"
                );
            }
            (Err(e), Err(expected)) => {
                assert!(e.to_string().contains(expected), "{e}")
            }
            (got, expected) => panic!("expected {expected:?}, got {:?}", got.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn a_field_is_read_from_the_first_of_its_places_and_jwt_exp_follows_it() {
    // `id_token: [id_token, idToken]` and `jwt_exp: id_token`, for a provider whose answer
    // may spell it either way.
    let jwt = jwt_expiring_in(600);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "t", "idToken": jwt})),
        )
        .mount(&server)
        .await;
    let mut f = flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![],
        Expiry::JwtExp {
            path: &["id_token"],
        },
    );
    f.fields = slice(vec![Field {
        key: "id_token",
        paths: &[&["id_token"], &["idToken"]],
        kind: FieldKind::Secret,
        required: true,
    }]);
    let client = client(provider(f, vec![]), &server, &ManualClock::new());
    struct IdToken(String);
    impl tokenspec::__private::FromFields for IdToken {
        fn from_fields(fields: &mut tokenspec::__private::Fields) -> Result<Self, Error> {
            fields
                .require::<tokenspec::SecretString>("id_token")
                .map(|s| IdToken(secrecy::ExposeSecret::expose_secret(&s).to_owned()))
        }
    }
    let response = client.cached_response::<IdToken>().await.unwrap();
    assert_eq!(
        response.fields.0, jwt,
        "read from `idToken`, the second place"
    );
    let lifetime = response.token.lifetime().as_secs();
    assert!(
        (590..=600).contains(&lifetime),
        "the expiry came from the JWT where it was found: {lifetime}"
    );
}

#[tokio::test]
async fn parameters_in_headers_go_on_the_token_request_as_headers() {
    // A gateway that wants the credentials and an application key as headers, and a fixed
    // channel header: `client_auth: { params: [header] }` and params `in: header`.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_json("t", 3600))
        .mount(&server)
        .await;
    let mut f = flow(
        auth(None, vec![Location::Header]),
        Body::Form,
        vec![
            fixed("grant_type", Location::Body, "client_credentials"),
            fixed("X-Channel", Location::Header, "partner"),
            Param {
                name: "X-Api-Key",
                location: Location::Header,
                source: Source::Config(0),
            },
        ],
        EXPIRES_IN,
    );
    f.client_auth.id_param = "client_id";
    let mut p = provider(f, vec![]).clone();
    p.config = slice(vec![Slot {
        name: "api_key",
        required: true,
    }]);
    let p = leak(p);
    let with_key = |key: &str| {
        TokenClient::new(
            p,
            settings(&server, &ManualClock::new()),
            "https://unused.invalid",
            &[],
            vec![Some(tokenspec::__private::ParamValue::Secret(
                key.to_owned().into(),
            ))],
        )
        .expect("valid client")
    };
    with_key("app-key-1").access_token().await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    assert_eq!(header("x-channel").as_deref(), Some("partner"));
    assert_eq!(header("x-api-key").as_deref(), Some("app-key-1"));
    assert_eq!(header("client_id").as_deref(), Some(ID));
    assert_eq!(header("client_secret").as_deref(), Some(SECRET));
    let body = String::from_utf8_lossy(&request.body);
    assert!(
        !body.contains("partner") && !body.contains(SECRET),
        "header parameters stay out of the body: {body}"
    );

    // A setting that cannot be a header value is refused before anything is sent, without
    // printing it.
    let e = with_key("key\r\nInjected: yes")
        .access_token()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("header `X-Api-Key`"), "{e}");
    assert!(!e.contains("Injected"), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_multipart_body_sends_each_parameter_as_a_text_part() {
    // `body: multipart` (Airalo's token request, for one, takes `multipart/form-data`).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_json("t", 3600))
        .mount(&server)
        .await;
    let f = flow(
        auth(None, vec![Location::Body]),
        Body::Multipart,
        vec![fixed("grant_type", Location::Body, "client_credentials")],
        EXPIRES_IN,
    );
    client(provider(f, vec![]), &server, &ManualClock::new())
        .access_token()
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    let content_type = request.headers["content-type"].to_str().unwrap().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let body = String::from_utf8_lossy(&request.body);
    for (name, value) in [
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
    ] {
        let part = format!(
            "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n--{boundary}"
        );
        assert!(body.contains(&part), "no text part {name}: {body}");
    }
}

#[tokio::test]
async fn the_client_secret_never_appears_in_errors_debug_or_logs() {
    let (captured, _guard) = capture_tracing();
    let mut seen = Vec::new();
    // A hostile server echoing the secret back in every kind of answer.
    let echo = format!("bad credentials {SECRET} for {ID}");
    for template in [
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": "invalid_client", "error_description": echo})),
        ResponseTemplate::new(500).set_body_raw(format!("<html>{echo}</html>"), "text/html"),
        ResponseTemplate::new(200).set_body_raw(echo.clone(), "text/plain"),
        ResponseTemplate::new(200).set_body_json(json!({"error": echo})),
        ResponseTemplate::new(302)
            .insert_header("location", format!("https://x.invalid/?s={SECRET}")),
        token_json("late", 1).set_delay(Duration::from_secs(30)),
    ] {
        let e = answer(template).await;
        seen.push(format!("{}\n{e:?}", e.chain()));
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            seen.push(s.to_string());
            source = s.source();
        }
    }
    let server = MockServer::start().await;
    let p = provider(
        flow(
            auth(None, vec![Location::Query]),
            Body::None,
            vec![],
            EXPIRES_IN,
        ),
        vec![],
    );
    let client = client(p, &server, &ManualClock::new());
    seen.push(format!("{client:?}"));
    seen.push(format!("{:?}", settings(&server, &ManualClock::new())));
    seen.push(captured.text());
    let encoded_secret: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for text in &seen {
        assert!(
            !text.contains(SECRET) && !text.contains(&encoded_secret) && !text.contains("SENTINEL"),
            "secret leaked in: {text}"
        );
        assert!(
            !text.contains("client_secret="),
            "a URL with credentials leaked in: {text}"
        );
    }
}

#[tokio::test]
async fn hs256_id_tokens_are_checked_with_the_client_secret() {
    let server = MockServer::start().await;
    let mut p = provider(basic_form(), vec![]).clone();
    p.openid = Some(OpenId {
        issuer: Some("https://issuer.example"),
        algorithms: &["HS256"],
        jwks_path: None,
        authorization_path: None,
        leeway_secs: 30,
    });
    let client = client(leak(p), &server, &ManualClock::new());
    let now = unix_now();
    let claims = json!({"iss": "https://issuer.example", "sub": "u", "aud": ID, "iat": now, "exp": now + 60});
    let sign = |key: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let ok = client
        .validate_id_token(&sign(SECRET).into(), None)
        .await
        .unwrap();
    assert_eq!(ok.sub, "u");
    let forged = client
        .validate_id_token(&sign("guessed").into(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            forged,
            Error::IdToken(tokenspec::oidc::IdTokenError::BadSignature)
        ),
        "{forged}"
    );
}

#[test]
fn a_base_url_with_credentials_is_refused_without_printing_them() {
    let p = provider(basic_form(), vec![]);
    let settings = Settings::default()
        .client_id("i")
        .client_secret("s")
        .base_url("https://user:hunter2@auth.example/?key=hunter3");
    let e = TokenClient::new(p, settings, "https://x", &[], vec![]).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("must not carry user info"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("hunter3"),
        "{text}"
    );
}

/// Answers each token request with `token-N`, living `lifetime` seconds.
struct Counting {
    seen: std::sync::atomic::AtomicUsize,
    lifetime: u64,
}

impl wiremock::Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        token_json(&format!("token-{n}"), self.lifetime)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_system_clock_the_cached_token_is_renewed_at_the_refresh_point_and_after_invalidate()
 {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Counting {
            seen: Default::default(),
            lifetime: 2,
        })
        .mount(&server)
        .await;
    // The real clock: tokens live 2 s and are renewed after 1 s (half the lifetime).
    let settings = Settings::default()
        .client_id(ID)
        .client_secret(SECRET)
        .base_url(server.uri())
        .refresh_margin(Duration::from_secs(1));
    let client = TokenClient::new(
        provider(basic_form(), vec![]),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client");
    let first = client.access_token().await.unwrap();
    assert_eq!(first.expose_secret(), "token-1");
    for _ in 0..1000 {
        // Served from the cache: no request.
        assert!(client.access_token().await.unwrap().same_as(&first));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // An API refused it: no thread may hand it out again.
    client.invalidate(&first);
    let second = client.access_token().await.unwrap();
    assert_eq!(second.expose_secret(), "token-2");
    let other_thread = {
        let client = client.clone();
        tokio::task::spawn_blocking(move || {
            tokio::runtime::Handle::current().block_on(client.access_token())
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert_eq!(other_thread.expose_secret(), "token-2");

    // Past the refresh point (1 s of 2), the next call starts a renewal.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    wait_until_token(&client, "token-3").await;
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A server issuing refresh tokens with client-credentials tokens, renewing through the
/// refresh grant, and refusing refresh tokens once `refuse` is set.
struct RefreshingServer {
    seen: std::sync::Mutex<Vec<String>>,
    refuse: std::sync::atomic::AtomicBool,
}

impl wiremock::Respond for RefreshingServer {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let body: std::collections::HashMap<String, String> = form(&r.body).into_iter().collect();
        let grant = body.get("grant_type").cloned().unwrap_or_default();
        let mut seen = self.seen.lock().unwrap();
        seen.push(grant.clone());
        let n = seen.len();
        match grant.as_str() {
            "refresh_token" if self.refuse.load(std::sync::atomic::Ordering::SeqCst) => {
                ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}))
            }
            "refresh_token" => ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("refreshed-{n}"),
                "refresh_token": format!("rt-{n}"),
                "expires_in": 3600,
            })),
            _ => ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("cc-{n}"),
                "refresh_token": format!("rt-{n}"),
                "expires_in": 3600,
            })),
        }
    }
}

#[tokio::test]
async fn an_app_token_with_a_refresh_token_renews_through_the_refresh_grant_and_falls_back() {
    let server = MockServer::start().await;
    let responder = Arc::new(RefreshingServer {
        seen: Default::default(),
        refuse: Default::default(),
    });
    struct Shared(Arc<RefreshingServer>);
    impl wiremock::Respond for Shared {
        fn respond(&self, r: &Request) -> ResponseTemplate {
            self.0.respond(r)
        }
    }
    Mock::given(method("POST"))
        .respond_with(Shared(Arc::clone(&responder)))
        .mount(&server)
        .await;
    let refresh_field = Field {
        key: "refresh_token",
        paths: &[&["refresh_token"]],
        kind: FieldKind::Secret,
        required: false,
    };
    let mut cached = flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![fixed("grant_type", Location::Body, "client_credentials")],
        EXPIRES_IN,
    );
    cached.fields = slice(vec![Field { ..refresh_field }]);
    let mut refresh = flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![
            fixed("grant_type", Location::Body, "refresh_token"),
            Param {
                name: "refresh_token",
                location: Location::Body,
                source: Source::Call(0),
            },
        ],
        EXPIRES_IN,
    );
    refresh.name = "refresh";
    refresh.grant = Grant::RefreshToken;
    refresh.call_params = slice(vec![Slot {
        name: "refresh_token",
        required: true,
    }]);
    refresh.fields = slice(vec![Field { ..refresh_field }]);
    let mut p = provider(cached, vec![]).clone();
    p.flows = slice(vec![Flow { ..p.flows[0] }, refresh]);
    p.renew_with = Some(1);
    let clock = ManualClock::new();
    let client = client(leak(p), &server, &clock);

    assert_eq!(client.access_token().await.unwrap().expose_secret(), "cc-1");
    clock.advance(Duration::from_secs(3601));
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "refreshed-2",
        "renewed with the refresh token the first answer carried"
    );
    assert_eq!(
        client
            .refresh_token()
            .map(|t| t.expose_secret().to_owned())
            .as_deref(),
        Some("rt-2"),
        "the rotated refresh token replaced the first"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        form(&requests[1].body).contains(&pair("refresh_token", "rt-1")),
        "renewed with the refresh token the first answer carried"
    );

    // The provider refuses refresh tokens now: one refused refresh, then the original flow.
    responder
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::from_secs(3601));
    assert_eq!(client.access_token().await.unwrap().expose_secret(), "cc-4");
    assert_eq!(
        *responder.seen.lock().unwrap(),
        [
            "client_credentials",
            "refresh_token",
            "refresh_token",
            "client_credentials"
        ]
    );
}

// ------------------------------------------------------------------ the seam, by name

/// A module whose descriptor data this runtime cannot read (written by a newer generator) is
/// a configuration error when its client is built: typed, naming the field, never a panic.
#[test]
fn a_modules_data_from_a_newer_generator_is_a_configuration_error_naming_the_field() {
    static NEWER: Embedded = Embedded::new(
        r#"{"name": "newer", "title": "Newer", "refresh_margin_secs": 60,
            "retry": {"attempts": 1, "initial_backoff_ms": 1, "max_backoff_ms": 1},
            "api_header": {"name": "Authorization", "prefix": "Bearer ", "suffix": ""},
            "pushed_authorization": true}"#,
    );
    let e = tokenspec::__private::read(&NEWER).unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("`pushed_authorization`"), "{message}");
    assert!(message.contains("upgrade tokenspec"), "{message}");
    // Every later build answers the same.
    assert_eq!(
        tokenspec::__private::read(&NEWER).unwrap_err().to_string(),
        message
    );
}

/// Generated code names flows and client authentication methods; a name the descriptor lacks
/// (a module and a descriptor out of step) is a configuration error, not another flow.
#[tokio::test]
async fn a_flow_or_a_client_auth_method_the_descriptor_lacks_is_named_in_the_error() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    let p = provider(client_credentials_flow(), vec![]);
    let e = client(p, &server, &clock)
        .request::<()>("refresh", vec![])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("no flow named `refresh`"), "{e}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let mut listed = p.clone();
    listed.client_auth_choices = slice(vec![
        p.flows[0].client_auth,
        ClientAuth {
            name: "client_secret_post",
            params: &[Location::Body],
            ..ClientAuth::NONE
        },
    ]);
    let listed: &'static Provider = leak(listed);
    let e = TokenClient::new(
        listed,
        settings(&server, &clock).client_auth_choice("private_key_jwt"),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("no client authentication method named `private_key_jwt`")
            && message.contains("client_secret, client_secret_post"),
        "{message}"
    );
}
