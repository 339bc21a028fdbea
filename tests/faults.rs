//! Faults and hostile answers from a token endpoint on 127.0.0.1, each with its defined outcome
//! (docs/reliability.md lists them all), and a sentinel sweep proving no secret leaks on any
//! of these paths.

mod support;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::*;
use tokenspec::__private::ParamValue;
use tokenspec::__private::descriptor::*;
use tokenspec::clock::ManualClock;
use tokenspec::{Error, RetryPolicy, Settings, TokenClient, TransportKind};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ID: &str = "fault-client";
const SECRET: &str = "SENTINEL-client-secret-7c1f";
const CODE: &str = "SENTINEL-code-2b9e";
const REFRESH: &str = "SENTINEL-refresh-5d3a";

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        attempts,
        Duration::from_millis(5),
        Duration::from_millis(20),
    )
}

/// A provider sending credentials in the query string (the leakiest placement), with a cached
/// flow, an authorization-code flow and a refresh-token flow.
fn query_provider() -> &'static Provider {
    let cached = flow(
        auth(None, vec![Location::Query]),
        Body::None,
        vec![fixed("grant_type", Location::Query, "client_credentials")],
        EXPIRES_IN,
    );
    let per_call = |name, grant, param: &'static str| Flow {
        name,
        grant,
        params: slice(vec![
            fixed("grant_type", Location::Body, name),
            Param {
                name: param,
                location: Location::Body,
                source: Source::Call(0),
            },
        ]),
        call_params: slice(vec![Slot {
            name: param,
            required: true,
        }]),
        body: Body::Form,
        ..flow(
            auth(None, vec![Location::Query]),
            Body::Form,
            vec![],
            EXPIRES_IN,
        )
    };
    leak(Provider {
        flows: slice(vec![
            cached,
            per_call("authorization_code", Grant::AuthorizationCode, "code"),
            per_call("refresh_token", Grant::RefreshToken, "refresh_token"),
        ]),
        ..query_base()
    })
}

fn query_base() -> Provider {
    let p = provider(
        flow(
            auth(None, vec![Location::Query]),
            Body::None,
            vec![],
            EXPIRES_IN,
        ),
        vec![],
    );
    Provider {
        name: p.name,
        title: p.title,
        retry: p.retry,
        flows: p.flows,
        cached_flow: Some(0),
        ..Provider::DEFAULT
    }
}

fn client_at(base: &str, settings: Settings) -> TokenClient {
    let settings = settings.client_id(ID).client_secret(SECRET).base_url(base);
    TokenClient::new(
        query_provider(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

fn quick() -> Settings {
    Settings::default()
        .retry(RetryPolicy::NONE)
        .timeout(Duration::from_millis(400))
        .deadline(Duration::from_secs(5))
}

async fn token_with(template: ResponseTemplate) -> Result<tokenspec::Token, Error> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    client_at(&server.uri(), quick()).access_token().await
}

fn ok_json(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Answers with the given statuses in turn, then a token; counts requests.
struct Sequence {
    statuses: Vec<(u16, Option<&'static str>)>,
    seen: Arc<AtomicUsize>,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match self.statuses.get(n) {
            Some((status, retry_after)) => {
                let t = ResponseTemplate::new(*status)
                    .set_body_json(json!({"error": "temporarily_unavailable"}));
                match retry_after {
                    Some(v) => t.insert_header("retry-after", *v),
                    None => t,
                }
            }
            None => ok_json(json!({"access_token": format!("tok-{n}"), "expires_in": 3600})),
        }
    }
}

async fn sequence(statuses: Vec<(u16, Option<&'static str>)>) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(Sequence {
            statuses,
            seen: seen.clone(),
        })
        .mount(&server)
        .await;
    (server, seen)
}

#[tokio::test]
async fn a_500_storm_is_retried_then_reported() {
    let (server, seen) = sequence(vec![(500, None); 10]).await;
    let e = client_at(&server.uri(), quick().retry(fast_retries(3)))
        .access_token()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(seen.load(Ordering::SeqCst), 3, "three attempts, no more");
}

#[tokio::test]
async fn a_503_then_recovery_succeeds_on_retry() {
    let (server, seen) = sequence(vec![(503, None), (503, None)]).await;
    let token = client_at(&server.uri(), quick().retry(fast_retries(3)))
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "tok-2");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_429_with_retry_after_seconds_waits_that_long() {
    let (server, seen) = sequence(vec![(429, Some("1"))]).await;
    let policy = RetryPolicy::new(2, Duration::from_millis(1), Duration::from_secs(5));
    let started = std::time::Instant::now();
    client_at(&server.uri(), quick().retry(policy))
        .access_token()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After: {:?}",
        started.elapsed()
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_and_capped_and_garbage_is_ignored() {
    // An hour away, capped at max_backoff (20 ms): the deadline of 5 s would fail otherwise.
    let in_an_hour: &'static str = Box::leak(
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600))
            .into_boxed_str(),
    );
    let (server, _) = sequence(vec![
        (503, Some(in_an_hour)),
        (429, Some("soon, maybe")),
        (429, Some("3600")),
    ])
    .await;
    let token = client_at(&server.uri(), quick().retry(fast_retries(4)))
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "tok-3");
}

#[tokio::test]
async fn rejections_of_the_credentials_or_grant_are_never_retried() {
    for (status, code) in [
        (401, "invalid_client"),
        (400, "invalid_grant"),
        (400, "unauthorized_client"),
        (400, "invalid_request"),
        (403, "whatever"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": code})))
            .mount(&server)
            .await;
        let e = client_at(&server.uri(), quick().retry(fast_retries(5)))
            .access_token()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(code));
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "{code} must not be retried"
        );
    }
}

#[tokio::test]
async fn temporarily_unavailable_in_a_400_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "temporarily_unavailable"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_json(json!({"access_token": "after", "expires_in": 60})))
        .mount(&server)
        .await;
    let token = client_at(&server.uri(), quick().retry(fast_retries(2)))
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "after");
}

#[tokio::test]
async fn a_single_use_code_is_not_resent_after_a_5xx_but_is_after_a_429() {
    let (server, seen) = sequence(vec![(502, None)]).await;
    let client = client_at(&server.uri(), quick().retry(fast_retries(3)));
    let e = client
        .request::<()>(
            "authorization_code",
            vec![Some(ParamValue::Secret(CODE.into()))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), seen.load(Ordering::SeqCst)),
        (Some(502), 1),
        "the code may have been consumed"
    );
    let (server, seen) = sequence(vec![(429, Some("0"))]).await;
    let client = client_at(&server.uri(), quick().retry(fast_retries(3)));
    client
        .request::<()>(
            "authorization_code",
            vec![Some(ParamValue::Secret(CODE.into()))],
        )
        .await
        .unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "a 429 was not processed: safe to resend"
    );
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_hits_the_deadline() {
    let base = raw_server(8, |mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let settings = quick()
        .retry(fast_retries(5))
        .timeout(Duration::from_millis(200))
        .deadline(Duration::from_millis(700));
    let e = client_at(&base, settings).access_token().await.unwrap_err();
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
async fn a_connection_reset_mid_body_is_a_transient_transport_error() {
    let base = raw_server(8, |mut s| async move {
        read_request(&mut s).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"access_token\": \"par";
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.flush().await;
        #[allow(deprecated)] // tokio's replacement, set_zero_linger, is not in every 1.x
        let _ = s.set_linger(Some(Duration::ZERO)); // close with RST, not FIN
        drop(s);
    })
    .await;
    let e = client_at(&base, quick()).access_token().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Body,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_transient());
}

#[tokio::test]
async fn truncated_json_is_an_invalid_response() {
    let e = token_with(ResponseTemplate::new(200).set_body_raw(
        r#"{"access_token": "abc", "expires_in""#,
        "application/json",
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::InvalidResponse { .. }) && e.to_string().contains("not JSON"),
        "{e}"
    );
}

#[tokio::test]
async fn an_empty_body_is_an_invalid_response() {
    let e = token_with(ResponseTemplate::new(200)).await.unwrap_err();
    assert!(e.to_string().contains("an empty body"), "{e}");
}

#[tokio::test]
async fn a_json_null_is_an_invalid_response() {
    let e = token_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("JSON that is not an object"), "{e}");
}

#[tokio::test]
async fn a_20_mib_body_is_cut_off_at_the_default_1_mib_cap() {
    let huge = format!("{{\"access_token\": \"{}\"}}", "x".repeat(20 * 1024 * 1024));
    let e = token_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::BodyTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_compressed_body_is_never_inflated() {
    // 50 MiB of JSON whitespace gzipped to a few kilobytes: a decompression bomb.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..50 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 100 * 1024);
    let template = ResponseTemplate::new(200)
        .insert_header("content-encoding", "gzip")
        .set_body_raw(bomb, "application/json");
    let e = token_with(template).await.unwrap_err();
    assert!(
        e.to_string().contains("not JSON"),
        "read as the compressed bytes it is: {e}"
    );
}

#[tokio::test]
async fn expires_in_edge_values_are_clamped_or_reported() {
    let lifetime = |v: serde_json::Value| async move {
        token_with(ok_json(json!({"access_token": "t", "expires_in": v})))
            .await
            .map(|t| t.lifetime())
    };
    assert_eq!(
        lifetime(json!("3600")).await.unwrap(),
        Duration::from_secs(3600)
    );
    assert_eq!(lifetime(json!(0)).await.unwrap(), Duration::ZERO);
    assert_eq!(lifetime(json!(-5)).await.unwrap(), Duration::ZERO);
    assert_eq!(
        lifetime(json!(1e12)).await.unwrap(),
        Duration::from_secs(10 * 365 * 24 * 3600)
    );
    assert!(
        lifetime(json!("soon"))
            .await
            .unwrap_err()
            .to_string()
            .contains("not a number of seconds")
    );
    let absent = token_with(ok_json(json!({"access_token": "t"})))
        .await
        .unwrap_err();
    assert!(absent.to_string().contains("no `expires_in`"), "{absent}");
}

#[tokio::test]
async fn a_token_that_expires_at_once_is_handed_out_but_never_served_from_cache() {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| ok_json(json!({"access_token": format!("zero-{}", s.fetch_add(1, Ordering::SeqCst)), "expires_in": 0})))
        .mount(&server)
        .await;
    let client = client_at(&server.uri(), quick());
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "zero-0"
    );
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "zero-1"
    );
}

#[tokio::test]
async fn a_json_answer_with_the_wrong_content_type_is_still_read() {
    let token = token_with(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"access_token":"t","expires_in":60}"#, "text/plain"),
    )
    .await
    .unwrap();
    assert_eq!(token.expose_secret(), "t");
}

#[tokio::test]
async fn a_failed_renewal_ahead_of_expiry_keeps_serving_the_valid_token_and_retries_later() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(json!({"access_token": "first", "expires_in": 600})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_json(
            json!({"access_token": "second", "expires_in": 600}),
        ))
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let client = client_at(&server.uri(), quick().clock(clock.clone()));
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "first"
    );
    clock.advance(Duration::from_secs(550)); // inside the 60 s margin
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "first"
    );
    // The background renewal fails (503); the still-valid token keeps being served.
    wait_for_requests(&server, 2).await;
    for _ in 0..20 {
        assert_eq!(
            client.access_token().await.unwrap().expose_secret(),
            "first"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "no hammering after a failure"
    );
    clock.advance(Duration::from_secs(6)); // past the 5 s pause: the next call tries again
    client.access_token().await.unwrap();
    wait_for_requests(&server, 3).await;
    for _ in 0..500 {
        if client.access_token().await.unwrap().expose_secret() == "second" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the renewal was never retried");
}

#[tokio::test]
async fn only_an_expired_token_turns_a_failing_renewal_into_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(json!({"access_token": "only", "expires_in": 600})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let client = client_at(&server.uri(), quick().clock(clock.clone()));
    client.access_token().await.unwrap();
    clock.advance(Duration::from_secs(599));
    assert_eq!(client.access_token().await.unwrap().expose_secret(), "only");
    clock.advance(Duration::from_secs(2));
    assert_eq!(client.access_token().await.unwrap_err().status(), Some(503));
}

async fn wait_for_requests(server: &MockServer, n: usize) {
    for _ in 0..500 {
        if server.received_requests().await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("request {n} never arrived");
}

/// Answers built from what the request carried: a hostile server echoing it back.
struct Echo(fn(String) -> ResponseTemplate);

impl Respond for Echo {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let echo = format!("{} {}", r.url, String::from_utf8_lossy(&r.body));
        (self.0)(echo)
    }
}

/// Every fault above, as a server to point a client at.
async fn every_fault() -> Vec<(String, &'static str)> {
    let mut bases = Vec::new();
    type Answer = fn(String) -> ResponseTemplate;
    let faults: [(&'static str, Answer); 11] = [
        ("500 echoing the request", |echo| {
            ResponseTemplate::new(500).set_body_raw(format!("<html>{echo}</html>"), "text/html")
        }),
        ("401 echoing the request", |echo| {
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid_client", "error_description": echo}))
        }),
        ("429", |_| {
            ResponseTemplate::new(429).insert_header("retry-after", "0")
        }),
        ("error in 200", |echo| ok_json(json!({"error": echo}))),
        ("truncated JSON", |echo| {
            ResponseTemplate::new(200)
                .set_body_raw(format!("{{\"access_token\": \"{echo}"), "application/json")
        }),
        ("empty", |_| ResponseTemplate::new(200)),
        ("null", |_| {
            ResponseTemplate::new(200).set_body_raw("null", "application/json")
        }),
        ("redirect", |echo| {
            ResponseTemplate::new(302).insert_header(
                "location",
                format!("https://x.invalid/?{}", echo.replace(' ', "+")),
            )
        }),
        ("huge", |_| {
            ResponseTemplate::new(200).set_body_raw(vec![b' '; 2 * 1024 * 1024], "application/json")
        }),
        ("bad expiry", |echo| {
            ok_json(json!({"access_token": "t", "expires_in": echo}))
        }),
        ("slow", |_| {
            ok_json(json!({"access_token": "t"})).set_delay(Duration::from_secs(5))
        }),
    ];
    for (name, answer) in faults {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(Echo(answer))
            .mount(&server)
            .await;
        bases.push((server.uri(), name));
        std::mem::forget(server); // keep it running for the sweep
    }
    let reset = raw_server(64, |mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n{")
            .await;
    })
    .await;
    bases.push((reset, "reset mid-body"));
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    bases.push((
        format!("http://127.0.0.1:{dead_port}"),
        "connection refused",
    ));
    bases
}

// Current-thread runtime: the tracing capture is per thread, and renewals run as tasks.
#[tokio::test]
async fn no_secret_or_credential_url_appears_anywhere_on_any_failure_path() {
    let (captured, _guard) = capture_tracing();
    let panics = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        sink.lock().unwrap().push(info.to_string())
    }));
    let mut seen = Vec::new();
    for (base, name) in every_fault().await {
        let client = client_at(
            &base,
            quick()
                .retry(fast_retries(2))
                .timeout(Duration::from_millis(300)),
        );
        seen.push(format!("{name}: {client:?}"));
        let results = [
            client.access_token().await.map(|_| ()),
            client
                .request::<()>(
                    "authorization_code",
                    vec![Some(ParamValue::Secret(CODE.into()))],
                )
                .await
                .map(|_| ()),
            client
                .request::<()>(
                    "refresh_token",
                    vec![Some(ParamValue::Secret(REFRESH.into()))],
                )
                .await
                .map(|_| ()),
        ];
        for result in results {
            let e = result.expect_err(name);
            seen.push(format!("{name}: {}\n{e:?}", e.chain()));
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                seen.push(s.to_string());
                source = s.source();
            }
        }
    }
    let _ = std::panic::take_hook();
    seen.push(captured.text());
    seen.extend(panics.lock().unwrap().iter().cloned());
    assert!(
        captured.text().contains("retrying"),
        "the sweep did go through the logged retry path"
    );
    for text in &seen {
        for secret in [SECRET, CODE, REFRESH, "client_secret="] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
}
