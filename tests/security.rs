//! What a hostile token server, key endpoint or network can and cannot do to a client, each
//! attack run against local servers on 127.0.0.1 (docs/security.md is the threat model these
//! tests prove). Host names such as `keys.attacker.test` are resolved to 127.0.0.1 by the test's
//! own HTTP client setup, so "another host" never leaves this machine.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::seeds::Signer;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::clock::ManualClock;
use tokenspec::{Error, IdToken, Settings, TokenClient, TransportKind};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ID: &str = "security-client";
const SECRET: &str = "security-secret-0b5e";

/// An OpenID Connect provider whose cached flow's answer carries an `id_token`, validated with
/// ES256 keys from its JWKS (at `jwks_path` under the issuer, or found through discovery).
fn oidc_provider(jwks_path: Option<&'static str>) -> &'static Provider {
    let mut cached = client_credentials_flow();
    cached.fields = slice(vec![Field {
        key: "id_token",
        paths: &[&["id_token"]],
        kind: FieldKind::Secret,
        required: false,
    }]);
    let mut p = provider(cached, vec![]).clone();
    p.openid = Some(OpenId {
        issuer: None,
        algorithms: &["ES256"],
        jwks_path,
        authorization_path: None,
        leeway_secs: 60,
    });
    leak(p)
}

fn settings(base: &str) -> Settings {
    Settings::default()
        .client_id(ID)
        .client_secret(SECRET)
        .base_url(base)
        .redirect_uri("http://127.0.0.1/callback")
        .retry(tokenspec::RetryPolicy::NONE)
}

fn client(p: &'static Provider, settings: Settings) -> TokenClient {
    TokenClient::new(p, settings, "https://unused.invalid", &[], vec![]).expect("valid client")
}

/// Settings whose HTTP client resolves `host` to the local server at `to`.
fn resolving(settings: Settings, host: &'static str, to: SocketAddr) -> Settings {
    settings.http_client(move |builder| builder.resolve(host, to))
}

/// Valid ID-token claims for an issuer (the base URL without its trailing slash).
fn claims(issuer: &str) -> Value {
    let now = unix_now();
    json!({"iss": issuer, "sub": "user-1", "aud": ID, "iat": now, "exp": now + 300})
}

async fn discovery(op: &MockServer, document: Value) {
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(document))
        .mount(op)
        .await;
}

// ------------------------------------------------------------------ URLs from discovery

#[tokio::test]
async fn keys_a_discovery_document_names_on_plain_http_at_another_host_are_never_fetched() {
    let forger = Signer::with_kid("forged");
    let attacker = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [forger.jwk()]})))
        .mount(&attacker)
        .await;
    let op = MockServer::start().await;
    let jwks = format!(
        "http://keys.attacker.test:{}/jwks",
        attacker.address().port()
    );
    discovery(&op, json!({"issuer": op.uri(), "jwks_uri": jwks})).await;
    let settings = resolving(
        settings(&op.uri()),
        "keys.attacker.test",
        *attacker.address(),
    );
    let client = client(oidc_provider(None), settings);

    let forged = IdToken::from(forger.sign(&claims(&op.uri())));
    let e = client.validate_id_token(&forged, None).await.unwrap_err();
    assert!(matches!(e, Error::Discovery(_)), "{e}");
    assert!(
        e.to_string()
            .contains("`jwks_uri` http://keys.attacker.test must use https://"),
        "{e}"
    );
    let fetched = attacker.received_requests().await.unwrap_or_default();
    assert!(
        fetched.is_empty(),
        "no request reached the plain-http key host"
    );
}

#[tokio::test]
async fn every_endpoint_of_a_discovery_document_meets_the_url_rule() {
    for endpoint in [
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
    ] {
        for unsafe_url in [
            "http://login.attacker.test/x",
            "https://user:pass@login.attacker.test/x",
            "https://login.attacker.test/x#fragment",
            "javascript:alert(1)",
        ] {
            let op = MockServer::start().await;
            let mut document = json!({
                "issuer": op.uri(),
                "jwks_uri": format!("{}/jwks", op.uri()),
                "authorization_endpoint": format!("{}/authorize", op.uri()),
            });
            document[endpoint] = json!(unsafe_url);
            discovery(&op, document).await;
            let client = client(oidc_provider(None), settings(&op.uri()));
            let e = client.authorization_request("openid").await.unwrap_err();
            assert!(
                matches!(e, Error::Discovery(_)),
                "{endpoint} {unsafe_url}: {e}"
            );
            assert!(e.to_string().contains(endpoint), "{endpoint}: {e}");
            assert!(!e.to_string().contains("pass@"), "no user info echoed: {e}");
        }
    }
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let op = MockServer::start().await;
    discovery(
        &op,
        json!({
            "issuer": "https://op.attacker.test",
            "jwks_uri": format!("{}/jwks", op.uri()),
            "authorization_endpoint": format!("{}/authorize", op.uri()),
        }),
    )
    .await;
    let client = client(oidc_provider(None), settings(&op.uri()));
    let e = client.authorization_request("openid").await.unwrap_err();
    assert!(
        matches!(e, Error::Discovery(_)) && e.to_string().contains("op.attacker.test"),
        "{e}"
    );
}

#[tokio::test]
async fn an_issuer_on_plain_http_at_another_host_is_a_configuration_error() {
    let mut p = oidc_provider(Some("/jwks")).clone();
    let openid = p.openid.as_mut().expect("openid");
    openid.issuer = Some("http://op.attacker.test");
    let e = TokenClient::new(
        leak(p),
        settings("http://127.0.0.1:9"),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Config(_)) && e.to_string().contains("the issuer"),
        "{e}"
    );
}

// ------------------------------------------------------------------ bounded key fetches

#[tokio::test]
async fn an_endless_key_set_is_cut_off_at_the_size_limit() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let base = raw_server(4, move |mut s| {
        let written = Arc::clone(&counter);
        async move {
            read_request(&mut s).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = s.write_all(head.as_bytes()).await;
            let chunk = format!("2000\r\n{}\r\n", " ".repeat(0x2000));
            // Stops by itself at 256 MiB, so a client that never stops reading fails the test
            // instead of hanging it.
            while written.load(Ordering::SeqCst) < 256 << 20 {
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
                written.fetch_add(0x2000, Ordering::SeqCst);
            }
        }
    })
    .await;
    let settings = settings(&base).max_body_bytes(64 * 1024);
    let client = client(oidc_provider(Some("/jwks")), settings);
    let token = IdToken::from(Signer::with_kid("k").sign(&claims(&base)));
    let e = client.validate_id_token(&token, None).await.unwrap_err();
    assert!(
        matches!(&e, Error::IdToken(_))
            && e.chain().to_string().contains("larger than 65536 bytes"),
        "{}",
        e.chain()
    );
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < 32 << 20,
        "the client stopped reading near the limit ({sent} bytes sent, socket buffers included)"
    );
}

/// A server whose token endpoint answers at once with an ID token signed by `signer`, and whose
/// JWKS trickles out one byte a second.
async fn trickling_keys(signer: Arc<Signer>) -> String {
    let issuer = Arc::new(std::sync::OnceLock::<String>::new());
    let for_server = Arc::clone(&issuer);
    let base = raw_server(16, move |mut s| {
        let (signer, issuer) = (Arc::clone(&signer), Arc::clone(&for_server));
        async move {
            let request = read_request(&mut s).await;
            if request.starts_with("POST") {
                let id_token = signer.sign(&claims(issuer.get().expect("issuer set")));
                let body = json!({"access_token": "at", "expires_in": 300, "id_token": id_token})
                    .to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
                return;
            }
            let keys = json!({"keys": [signer.jwk()]}).to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                keys.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            for byte in keys.bytes().take(60) {
                if s.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
    .await;
    issuer.set(base.clone()).expect("set once");
    base
}

#[tokio::test]
async fn a_key_set_trickling_one_byte_a_second_cannot_hold_a_token_request_past_its_deadline() {
    let base = trickling_keys(Arc::new(Signer::with_kid("slow"))).await;
    let settings = settings(&base)
        .timeout(Duration::from_secs(30))
        .deadline(Duration::from_secs(2));
    let client = client(oidc_provider(Some("/jwks")), settings);
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        client.request::<()>("client_credentials", vec![]),
    )
    .await;
    let e = outcome.expect("returned, not hung").unwrap_err();
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
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended at the 2 s deadline, not when the keys finished: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_key_fetch_has_its_own_timeout() {
    let base = trickling_keys(Arc::new(Signer::with_kid("slow"))).await;
    let settings = settings(&base).timeout(Duration::from_secs(1));
    let client = client(oidc_provider(Some("/jwks")), settings);
    let token = IdToken::from(Signer::with_kid("slow").sign(&claims(&base)));
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client.validate_id_token(&token, None),
    )
    .await
    .expect("returned, not hung")
    .unwrap_err();
    assert!(
        matches!(&e, Error::IdToken(_))
            && e.chain().to_string().contains("no complete answer within"),
        "{}",
        e.chain()
    );
}

/// The first JWKS request gets `first` at once; later ones get `later` after 30 s.
struct SlowAfterFirst {
    seen: AtomicUsize,
    first: Value,
    later: Value,
}

impl Respond for SlowAfterFirst {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.seen.fetch_add(1, Ordering::SeqCst) == 0 {
            ResponseTemplate::new(200).set_body_json(&self.first)
        } else {
            ResponseTemplate::new(200)
                .set_body_json(&self.later)
                .set_delay(Duration::from_secs(30))
        }
    }
}

#[tokio::test]
async fn validations_with_cached_keys_never_wait_for_a_key_refresh() {
    let (known, rotated) = (Signer::with_kid("known"), Signer::with_kid("rotated"));
    let op = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(SlowAfterFirst {
            seen: AtomicUsize::new(0),
            first: json!({"keys": [known.jwk()]}),
            later: json!({"keys": [known.jwk(), rotated.jwk()]}),
        })
        .mount(&op)
        .await;
    let clock = ManualClock::new();
    let settings = settings(&op.uri())
        .clock(clock.clone())
        .timeout(Duration::from_secs(60));
    let client = client(oidc_provider(Some("/jwks")), settings);
    let known_token = IdToken::from(known.sign(&claims(&op.uri())));
    client
        .validate_id_token(&known_token, None)
        .await
        .expect("first validation fetches the set");

    // Past the refresh interval, a token with an unknown key id starts a slow refresh...
    clock.advance(Duration::from_secs(61));
    let rotated_token = IdToken::from(rotated.sign(&claims(&op.uri())));
    let refreshing = {
        let client = client.clone();
        tokio::spawn(async move { client.validate_id_token(&rotated_token, None).await })
    };
    for _ in 0..100 {
        if op.received_requests().await.unwrap_or_default().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(op.received_requests().await.unwrap_or_default().len(), 2);

    // ...and a token whose key is cached is validated meanwhile, without waiting for it.
    let meanwhile = tokio::time::timeout(
        Duration::from_secs(5),
        client.validate_id_token(&known_token, None),
    )
    .await;
    assert!(
        matches!(meanwhile, Ok(Ok(_))),
        "validated from the cached keys while the refresh was in flight: {meanwhile:?}"
    );
    assert!(!refreshing.is_finished(), "the refresh is still in flight");
    refreshing.abort();
}

// ------------------------------------------------------------------ live tokens in errors

/// A provider without OpenID, for token-answer tests.
fn plain_provider() -> &'static Provider {
    provider(client_credentials_flow(), vec![])
}

async fn answering(status: u16, body: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn unusable_token_answers_are_described_by_structure_never_by_the_tokens_they_carry() {
    let cases: [(&str, &str); 7] = [
        (
            r#"{"access_token": "at-live-sentinel", "refresh_token": "rt-live-sentinel", "expires_in""#,
            "ends early",
        ),
        (
            r#"[{"access_token": "at-live-sentinel", "refresh_token": "rt-live-sentinel"}]"#,
            "an array of 1 items",
        ),
        (
            r#"<html><body><pre>{"access_token": "at-live-sentinel", "refresh_token": "rt-live-sentinel"}</pre></body></html>"#,
            "HTML or XML document",
        ),
        (
            r#"{"access_token": "at-live-sentinel", "refresh_token": "rt-live-sentinel"} and more"#,
            "trailing characters",
        ),
        (r#""at-live-sentinel rt-live-sentinel""#, "a string"),
        (
            "access_token=at-live-sentinel&refresh_token=rt-live-sentinel",
            "not JSON",
        ),
        (
            r#"{"token": {"value": "at-live-sentinel"}, "refresh_token": "rt-live-sentinel"}"#,
            "the answer has: refresh_token, token",
        ),
    ];
    for (body, says) in cases {
        let server = answering(200, body).await;
        let (captured, _guard) = capture_tracing();
        let e = client(plain_provider(), settings(&server.uri()))
            .access_token()
            .await
            .unwrap_err();
        let shown = format!("{e} {e:?} {}", captured.text());
        assert!(matches!(e, Error::InvalidResponse { .. }), "{body}: {e}");
        assert!(e.to_string().contains(says), "{body}: {e}");
        assert!(
            !shown.contains("sentinel"),
            "{body}: a live token reached the error or the log: {shown}"
        );
    }
}

#[tokio::test]
async fn a_byte_order_mark_before_the_json_is_ignored() {
    let server = answering(
        200,
        "\u{feff}{\"access_token\": \"bom-token\", \"expires_in\": 60}",
    )
    .await;
    let token = client(plain_provider(), settings(&server.uri()))
        .access_token()
        .await
        .expect("RFC 8259 §8.1 lets a parser ignore the mark");
    assert_eq!(token.expose_secret(), "bom-token");
}

#[tokio::test]
async fn token_like_values_in_error_pages_are_masked_and_the_words_kept() {
    let body = "Bad gateway: upstream issued eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlMTIz \
                and 8f14e45fceea167a5a36dedd4bea2543aa11 for request 3f2c1a9e-1b2d-4c3e-8f40-5a6b7c8d9e0f";
    let server = answering(502, body).await;
    let e = client(plain_provider(), settings(&server.uri()))
        .access_token()
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        !text.contains("eyJhbGciOiJFUzI1NiJ9")
            && !text.contains("8f14e45fceea167a5a36dedd4bea2543aa11"),
        "{text}"
    );
    assert!(
        text.contains("Bad gateway: upstream issued [REDACTED]")
            && text.contains("3f2c1a9e-1b2d-4c3e-8f40-5a6b7c8d9e0f"),
        "words and request ids stay readable: {text}"
    );
}

#[tokio::test]
async fn a_token_that_would_inject_a_header_is_refused() {
    for token in ["abc\r\nX-Injected: 1", "abc def", "abç"] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": token, "expires_in": 60})),
            )
            .mount(&server)
            .await;
        let e = client(plain_provider(), settings(&server.uri()))
            .access_token()
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("an access token with characters that cannot go in an HTTP header"),
            "{token:?}: {e}"
        );
    }
}

// ------------------------------------------------------------------ redirects

#[tokio::test]
async fn a_redirect_is_never_followed_whatever_http_client_setup_the_application_gives() {
    for status in [301u16, 302, 303, 307, 308] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).insert_header("location", "/elsewhere"))
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "stolen", "expires_in": 60})),
            )
            .mount(&server)
            .await;
        let following = settings(&server.uri()).http_client(|builder| {
            builder.redirect(tokenspec::reqwest::redirect::Policy::limited(5))
        });
        let e = client(plain_provider(), following)
            .access_token()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Redirect { .. }), "{status}: {e}");
        let replayed: Vec<_> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == "/elsewhere")
            .collect();
        assert!(
            replayed.is_empty(),
            "{status}: the credentials were replayed to the redirect target"
        );
    }
}

#[tokio::test]
async fn a_broken_key_endpoint_is_not_hammered_by_every_token_that_arrives() {
    let op = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&op)
        .await;
    let client = client(oidc_provider(Some("/jwks")), settings(&op.uri()));
    let token = IdToken::from(Signer::with_kid("k").sign(&claims(&op.uri())));
    for _ in 0..20 {
        let e = client.validate_id_token(&token, None).await.unwrap_err();
        assert!(matches!(e, Error::IdToken(_)), "{e}");
    }
    let fetched = op.received_requests().await.unwrap_or_default().len();
    assert_eq!(
        fetched, 1,
        "one fetch, then a pause, however many tokens arrive"
    );
}

#[tokio::test]
async fn rfc8414_metadata_is_read_when_a_server_publishes_no_openid_discovery() {
    let op = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": op.uri(),
            "authorization_endpoint": format!("{}/authorize", op.uri()),
            "token_endpoint": format!("{}/token", op.uri()),
        })))
        .mount(&op)
        .await;
    let pending = client(oidc_provider(None), settings(&op.uri()))
        .authorization_request("profile")
        .await
        .expect("metadata from RFC 8414's well-known path");
    assert_eq!(pending.url().path(), "/authorize");
    // The same rules hold for it: another issuer is refused.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": "https://as.attacker.test",
            "authorization_endpoint": format!("{}/authorize", other.uri()),
        })))
        .mount(&other)
        .await;
    let e = client(oidc_provider(None), settings(&other.uri()))
        .authorization_request("profile")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Discovery(_)), "{e}");
}
