//! The HTTP stack integrations against a token endpoint and an API on 127.0.0.1: the
//! reqwest-middleware `TokenMiddleware` inside real middleware stacks (reqwest-retry,
//! reqwest-tracing), the tower `TokenLayer` around a hyper client and a tonic gRPC channel
//! calling a tonic server, and secrets read from files and the environment and replaced in a
//! live client.
#![cfg(all(feature = "reqwest-middleware", feature = "tower", feature = "bs2"))]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::stack::{Api, BS2_TOKEN_PATH, Issuer, bs2_client};
use tokenspec::middleware::TokenMiddleware;
use tokenspec::tower::TokenLayer;
use tokenspec::{Authorizer, BoxTokenFuture, Error, Token, TokenSource};
use tower_layer::Layer;
use wiremock::MockServer;

/// A token endpoint issuing 300 s tokens and an API, on one local server.
async fn servers() -> (MockServer, Issuer, Api) {
    let server = MockServer::start().await;
    let issuer = Issuer::new(300);
    issuer.mount(&server, BS2_TOKEN_PATH).await;
    let api = Api::default();
    api.mount(&server).await;
    (server, issuer, api)
}

/// [`servers`] whose API refuses `tok-1`, and a Bs2 client of their token endpoint.
async fn first_token_refused() -> (MockServer, Issuer, Api, tokenspec::bs2::Client) {
    let (server, issuer, api) = servers().await;
    api.refuse("tok-1");
    let client = bs2_client(&server, "secret-1");
    (server, issuer, api, client)
}

fn stack(client: &tokenspec::bs2::Client) -> reqwest_middleware::ClientWithMiddleware {
    stack_with(TokenMiddleware::new(client))
}

/// A middleware stack of `middleware` alone.
fn stack_with(middleware: TokenMiddleware) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(plain_http())
        .with(middleware)
        .build()
}

fn pairs(seen: &[(&str, &str)]) -> Vec<(String, String)> {
    seen.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_middleware_authorizes_every_request_with_one_cached_token() {
    let (server, issuer, api) = servers().await;
    let client = bs2_client(&server, "secret-1");
    let http = stack(&client);
    for _ in 0..3 {
        let answer = http
            .get(format!("{}/api/pix", server.uri()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(issuer.count(), 1, "one token for three requests");
    assert_eq!(
        api.seen(),
        pairs(&[
            ("Bearer tok-1", ""),
            ("Bearer tok-1", ""),
            ("Bearer tok-1", "")
        ])
    );
}

#[tokio::test]
async fn the_middleware_renews_and_retries_once_when_the_api_refuses_the_token() {
    let (server, issuer, api, client) = first_token_refused().await;
    let answer = stack(&client)
        .post(format!("{}/api/cob", server.uri()))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(issuer.count(), 2);
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", "payload"), ("Bearer tok-2", "payload")]),
        "the same body again, with the new token"
    );
}

#[tokio::test]
async fn the_middleware_returns_a_second_401_as_it_is() {
    let (server, issuer, api) = servers().await;
    api.refuse("tok-1");
    api.refuse("tok-2");
    let client = bs2_client(&server, "secret-1");
    let answer = stack(&client)
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(issuer.count(), 2, "one renewal, not a loop");
    assert_eq!(api.seen().len(), 2);
}

#[tokio::test]
async fn the_middleware_does_not_replay_a_streaming_body_but_drops_its_refused_token() {
    let (server, issuer, api, client) = first_token_refused().await;
    let http = stack(&client);
    let stream = reqwest::Body::wrap(http_body_util::Full::new(bytes::Bytes::from_static(
        b"streamed",
    )));
    let answer = http
        .post(format!("{}/api/cob", server.uri()))
        .body(stream)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401, "a stream cannot be sent twice");
    assert_eq!(issuer.count(), 1);
    let next = http
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    assert_eq!(issuer.count(), 2, "the refused token was dropped");
    assert_eq!(api.seen().last().unwrap().0, "Bearer tok-2");
}

#[tokio::test]
async fn the_middleware_composes_with_reqwest_retry_and_reqwest_tracing() {
    use reqwest_retry::RetryTransientMiddleware;
    use reqwest_retry::policies::ExponentialBackoff;
    let (server, issuer, api) = servers().await;
    api.unavailable
        .store(2, std::sync::atomic::Ordering::SeqCst);
    api.refuse("tok-1");
    let client = bs2_client(&server, "secret-1");
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(3);
    let http = reqwest_middleware::ClientBuilder::new(plain_http())
        .with(reqwest_tracing::TracingMiddleware::default())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .with(TokenMiddleware::new(&client))
        .build();
    let answer = http
        .put(format!("{}/api/cob/1", server.uri()))
        .body("charge")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[
            ("Bearer tok-1", "charge"), // 503, retried by reqwest-retry
            ("Bearer tok-1", "charge"), // 503, retried by reqwest-retry
            ("Bearer tok-1", "charge"), // 401: renewed and sent again by tokenspec
            ("Bearer tok-2", "charge"),
        ])
    );
    assert_eq!(issuer.count(), 2);
}

#[tokio::test]
async fn a_token_error_comes_back_as_the_middleware_error_with_the_runtime_error_inside() {
    let (server, issuer, api) = servers().await;
    issuer
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let client = bs2_client(&server, "secret-1");
    let error = stack(&client)
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = &error else {
        panic!("a middleware error, got {error:?}");
    };
    let runtime = inner
        .downcast_ref::<tokenspec::Error>()
        .expect("a tokenspec error inside");
    assert_eq!(runtime.code(), Some("invalid_client"));
    assert!(
        api.seen().is_empty(),
        "no API request goes out without a token"
    );
    assert!(!format!("{error:?} {error}").contains("secret-1"));
}

/// Where the sidecar of [`Sidecar`] hands out tokens on the test server.
const SIDECAR_PATH: &str = "/sidecar/token";

/// A token source of the application's own, as a user writes one: a sidecar (the `Issuer` at
/// [`SIDECAR_PATH`]) hands out tokens, kept until they expire or an API refuses one. It records
/// the tokens it was told were refused.
#[derive(Debug)]
struct Sidecar {
    http: reqwest::Client,
    url: String,
    cached: Mutex<Option<Token>>,
    refused: Mutex<Vec<Token>>,
}

impl Sidecar {
    fn at(server: &MockServer, path: &str) -> Arc<Sidecar> {
        Arc::new(Sidecar {
            http: plain_http(),
            url: format!("{}{path}", server.uri()),
            cached: Mutex::default(),
            refused: Mutex::default(),
        })
    }

    fn refused(&self) -> Vec<String> {
        let refused = self.refused.lock().unwrap();
        refused
            .iter()
            .map(|t| t.expose_secret().to_owned())
            .collect()
    }
}

impl TokenSource for Sidecar {
    fn access_token(&self) -> BoxTokenFuture<'_> {
        Box::pin(async move {
            let cached = self.cached.lock().unwrap().clone();
            if let Some(token) = cached.filter(|t| Instant::now() < t.expires_at()) {
                return Ok(token);
            }
            let asked = Instant::now();
            let answer = async {
                let answer = self.http.post(&self.url).send().await?;
                answer.error_for_status()?.json::<serde_json::Value>().await
            };
            let answer = answer
                .await
                .map_err(|e| Error::token_source_caused_by("the sidecar gave no token", e))?;
            let (Some(value), Some(lifetime)) = (
                answer["access_token"].as_str(),
                answer["expires_in"].as_u64(),
            ) else {
                return Err(Error::token_source("the sidecar's answer has no token"));
            };
            let token = Token::new(value.to_owned(), asked, Duration::from_secs(lifetime));
            *self.cached.lock().unwrap() = Some(token.clone());
            Ok(token)
        })
    }

    fn refused(&self, token: &Token) {
        self.refused.lock().unwrap().push(token.clone());
        let mut cached = self.cached.lock().unwrap();
        if cached.as_ref().is_some_and(|c| c.same_as(token)) {
            *cached = None;
        }
    }
}

/// A token server whose sidecar path issues `tok-N`, the API, and a [`Sidecar`] source on it.
async fn sidecar_servers() -> (MockServer, Issuer, Api, Arc<Sidecar>) {
    let server = MockServer::start().await;
    let issuer = Issuer::new(300);
    issuer.mount(&server, SIDECAR_PATH).await;
    let api = Api::default();
    api.mount(&server).await;
    let sidecar = Sidecar::at(&server, SIDECAR_PATH);
    (server, issuer, api, sidecar)
}

#[tokio::test]
async fn the_middleware_takes_a_users_own_token_source_and_tells_it_of_a_401() {
    let (server, issuer, api, sidecar) = sidecar_servers().await;
    api.refuse("tok-1");
    let middleware = TokenMiddleware::from_source(sidecar.clone());
    let http = stack_with(middleware.clone());
    let cob = format!("{}/api/cob", server.uri());
    let refused_then_sent_again = http.post(&cob).body("payload").send().await.unwrap();
    assert_eq!(refused_then_sent_again.status(), 200);
    let pix = http.get(format!("{}/api/pix", server.uri())).send();
    assert_eq!(pix.await.unwrap().status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[
            ("Bearer tok-1", "payload"),
            ("Bearer tok-2", "payload"),
            ("Bearer tok-2", "")
        ]),
        "the source's token as a Bearer header; refused, the request sent once more with the next"
    );
    assert_eq!(sidecar.refused(), vec!["tok-1".to_owned()]);
    assert_eq!(issuer.count(), 2, "the source's own cache served the third");
    let shown = format!("{middleware:?}");
    assert!(
        shown.contains("Sidecar") && !shown.contains("tok-"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_tower_layer_takes_a_users_own_token_source_and_tells_it_of_a_401() {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let (server, issuer, api, sidecar) = sidecar_servers().await;
    api.refuse("tok-1");
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut service = TokenLayer::from_source(sidecar.clone()).layer(hyper);
    let request = post_cob(&server, Full::new(bytes::Bytes::from_static(b"payload")));
    let answer = call(&mut service, request).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", "payload"), ("Bearer tok-2", "payload")])
    );
    assert_eq!(sidecar.refused(), vec!["tok-1".to_owned()]);
    assert_eq!(issuer.count(), 2);
    assert!(!format!("{service:?}").contains("tok-"));
}

/// A source that puts its token in a header of its own (`X-Api-Key`), not `Authorization`.
#[derive(Debug)]
struct ApiKey(Arc<Sidecar>);

impl TokenSource for ApiKey {
    fn access_token(&self) -> BoxTokenFuture<'_> {
        self.0.access_token()
    }

    fn apply(&self, token: &Token, headers: &mut http::HeaderMap) -> Result<(), Error> {
        let value = http::HeaderValue::try_from(token.expose_secret())
            .map_err(|_| Error::token_source("the token cannot go in a header"))?;
        headers.insert("x-api-key", value);
        Ok(())
    }
}

#[tokio::test]
async fn a_token_source_puts_its_token_in_its_own_header_instead_of_a_bearer_one() {
    use wiremock::matchers::{header, path};
    use wiremock::{Mock, ResponseTemplate};
    let (server, _issuer, _api, sidecar) = sidecar_servers().await;
    Mock::given(path("/keyed"))
        .and(header("x-api-key", "tok-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let http = stack_with(TokenMiddleware::from_source(Arc::new(ApiKey(sidecar))));
    let request = http.get(format!("{}/keyed", server.uri())).send();
    assert_eq!(request.await.unwrap().status(), 200);
    let sent = server.received_requests().await.unwrap();
    let keyed = sent.iter().find(|r| r.url.path() == "/keyed").unwrap();
    assert!(!keyed.headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_token_sources_failure_reaches_the_caller_as_a_tokenspec_error_and_sends_nothing() {
    let (server, _issuer, api, _sidecar) = sidecar_servers().await;
    let broken = Sidecar::at(&server, "/sidecar/missing");
    let http = stack_with(TokenMiddleware::from_source(broken));
    let pix = http.get(format!("{}/api/pix", server.uri())).send();
    let error = pix.await.unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = &error else {
        panic!("a middleware error, got {error:?}");
    };
    let runtime = inner.downcast_ref::<Error>().expect("a tokenspec error");
    assert!(matches!(runtime, Error::TokenSource { .. }), "{runtime:?}");
    let chain = runtime.chain().to_string();
    assert!(
        chain.starts_with("the token source failed: the sidecar gave no token: ")
            && chain.contains("404"),
        "{chain}"
    );
    assert!(api.seen().is_empty(), "no API request without a token");
}

/// A Discord client with `secret` against `server`, whose token endpoint `issuer` serves, and a
/// user's session restored from the refresh token `rt-0`.
#[cfg(feature = "discord")]
async fn discord_session(
    server: &MockServer,
    secret: &str,
) -> (Issuer, tokenspec::discord::Client, tokenspec::Session) {
    let issuer = Issuer::new(300);
    issuer.mount(server, "/oauth2/token").await;
    let client = tokenspec::discord::Client::builder()
        .client_id("app")
        .client_secret(secret.to_owned())
        .settings(|s| s.base_url(server.uri()))
        .build()
        .unwrap();
    let session = client
        .runtime()
        .restore_session("user-7", tokenspec::RefreshToken::from("rt-0".to_owned()));
    (issuer, client, session)
}

#[cfg(feature = "discord")]
#[tokio::test]
async fn the_middleware_authorizes_with_a_users_session_and_refreshes_it_on_401() {
    let server = MockServer::start().await;
    let (_issuer, _client, session) = discord_session(&server, "app-secret").await;
    let api = Api::default();
    api.mount(&server).await;
    api.refuse("tok-1");
    let http = reqwest_middleware::ClientBuilder::new(plain_http())
        .with(TokenMiddleware::new(&session))
        .build();
    let answer = http
        .get(format!("{}/api/users/@me", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", ""), ("Bearer tok-2", "")])
    );
    assert_eq!(
        session.refresh_token().unwrap().expose_secret(),
        "rt-2",
        "the session refreshed with its rotated refresh token"
    );
}

/// Walmart Marketplace takes the bare token in `WM_SEC.ACCESS_TOKEN` and a service name in
/// `WM_SVC.NAME` (specs/walmart_marketplace.yaml): the middleware sends the provider's own
/// headers, not a Bearer `Authorization`, and its 401 rule holds for them too.
#[cfg(feature = "walmart_marketplace")]
#[tokio::test]
async fn the_middleware_sends_a_providers_own_token_header_and_its_declared_api_headers() {
    use wiremock::matchers::{header, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = MockServer::start().await;
    let issuer = Issuer::new(900);
    issuer.mount(&server, "/v3/token").await;
    Mock::given(path("/v3/orders"))
        .and(header("WM_SEC.ACCESS_TOKEN", "tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path("/v3/orders"))
        .and(header("WM_SEC.ACCESS_TOKEN", "tok-2"))
        .and(header("WM_SVC.NAME", "Walmart Marketplace"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = tokenspec::walmart_marketplace::Client::builder()
        .environment(tokenspec::walmart_marketplace::Environment::Production)
        .client_id("seller")
        .client_secret("seller-secret")
        .wm_svc_name("Walmart Marketplace")
        .settings(|s| s.base_url(server.uri()))
        .build()
        .unwrap();
    let http = reqwest_middleware::ClientBuilder::new(plain_http())
        .with(TokenMiddleware::new(&client))
        .build();
    let answer = http
        .get(format!("{}/v3/orders", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "tok-1 refused, tok-2 accepted");
    assert_eq!(issuer.count(), 2);
    let api_calls: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/v3/orders")
        .collect();
    assert_eq!(api_calls.len(), 2);
    for call in &api_calls {
        assert!(
            !call.headers.contains_key("authorization"),
            "no Bearer header beside the provider's own"
        );
    }
}

#[tokio::test]
async fn the_tower_layer_authorizes_a_hyper_client_and_retries_once_on_401() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let (server, issuer, api, client) = first_token_refused().await;
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut service = TokenLayer::new(&client).layer(hyper);
    let request = post_cob(&server, Full::new(bytes::Bytes::from_static(b"payload")));
    let answer = call(&mut service, request).await;
    assert_eq!(answer.status(), 200);
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", "payload"), ("Bearer tok-2", "payload")])
    );
    assert_eq!(issuer.count(), 2);
}

/// A body type of the application's own: bytes it holds, or chunks it streams (which nothing
/// can copy without consuming them). Empty by default.
#[derive(Debug)]
enum Payload {
    Held(bytes::Bytes),
    Chunks(std::collections::VecDeque<bytes::Bytes>),
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Held(bytes::Bytes::new())
    }
}

impl http_body::Body for Payload {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let next = match self.get_mut() {
            Payload::Held(bytes) => (!bytes.is_empty()).then(|| std::mem::take(bytes)),
            Payload::Chunks(chunks) => chunks.pop_front(),
        };
        std::task::Poll::Ready(next.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Payload::Held(bytes) => http_body::SizeHint::with_exact(bytes.len() as u64),
            Payload::Chunks(_) => http_body::SizeHint::default(),
        }
    }
}

/// The application's replay hook: what it holds is copied, a stream never is.
fn replay_payload(body: &Payload) -> Option<Payload> {
    match body {
        Payload::Held(bytes) => Some(Payload::Held(bytes.clone())),
        Payload::Chunks(_) => None,
    }
}

/// A hyper client of [`Payload`]s behind a token layer replaying with [`replay_payload`], its
/// type named as an application's struct field would name it.
type PayloadService = tokenspec::tower::TokenService<
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Payload>,
    fn(&Payload) -> Option<Payload>,
>;

fn payload_service(client: &tokenspec::bs2::Client) -> PayloadService {
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Payload>();
    let replay: fn(&Payload) -> Option<Payload> = replay_payload;
    TokenLayer::new(client).replay(replay).layer(hyper)
}

#[tokio::test]
async fn the_tower_layer_replays_an_applications_own_body_type_through_its_hook() {
    let (server, issuer, api, client) = first_token_refused().await;
    let mut service = payload_service(&client);
    let held = Payload::Held(bytes::Bytes::from_static(b"payload"));
    let request = post_cob(&server, held);
    let answer = call(&mut service, request).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", "payload"), ("Bearer tok-2", "payload")]),
        "the hook's copy sent again with the new token"
    );
    assert_eq!(issuer.count(), 2);
    assert!(
        format!("{service:?}").contains("fn(&"),
        "the hook shows by type"
    );
}

#[tokio::test]
async fn the_tower_layer_returns_a_stream_bodys_401_without_replaying_it_and_drops_the_token() {
    let (server, issuer, api, client) = first_token_refused().await;
    let mut service = payload_service(&client);
    let chunks = [b"str".as_slice(), b"eamed"].map(bytes::Bytes::from_static);
    let request = post_cob(&server, Payload::Chunks(chunks.into()));
    let answer = call(&mut service, request).await;
    assert_eq!(answer.status(), 401, "a stream cannot be sent twice");
    assert_eq!(issuer.count(), 1);
    let next = http::Request::get(format!("{}/api/pix", server.uri()))
        .body(Payload::default())
        .unwrap();
    assert_eq!(call(&mut service, next).await.status(), 200);
    assert_eq!(
        api.seen(),
        pairs(&[("Bearer tok-1", "streamed"), ("Bearer tok-2", "")]),
        "the stream went out once, whole; the refused token was dropped"
    );
    assert_eq!(issuer.count(), 2);
}

/// A tonic gRPC service without generated code: one unary method whose messages are UTF-8
/// text, answering `hello <name>` to requests carrying `authorization: Bearer <accepted>`.
mod greeter {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};

    use bytes::{Buf, BufMut};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
    use tonic::{Request, Response, Status};

    #[derive(Default, Clone)]
    pub struct Text;

    impl Codec for Text {
        type Encode = String;
        type Decode = String;
        type Encoder = Text;
        type Decoder = Text;
        fn encoder(&mut self) -> Text {
            Text
        }
        fn decoder(&mut self) -> Text {
            Text
        }
    }

    impl Encoder for Text {
        type Item = String;
        type Error = Status;
        fn encode(&mut self, item: String, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(item.as_bytes());
            Ok(())
        }
    }

    impl Decoder for Text {
        type Item = String;
        type Error = Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<String>, Status> {
            let bytes = src.copy_to_bytes(src.remaining());
            String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| Status::invalid_argument("not UTF-8"))
        }
    }

    pub const PATH: &str = "/greeter.Greeter/Hello";

    /// The server's check: which token it accepts, and every `authorization` it saw.
    #[derive(Clone, Default)]
    pub struct Check {
        pub accepted: Arc<Mutex<String>>,
        pub seen: Arc<Mutex<Vec<String>>>,
    }

    impl tonic::server::UnaryService<String> for Check {
        type Response = String;
        type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Status>> + Send>>;

        fn call(&mut self, request: Request<String>) -> Self::Future {
            let authorization = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            self.seen.lock().unwrap().push(authorization.clone());
            let expected = format!("Bearer {}", self.accepted.lock().unwrap());
            Box::pin(async move {
                if authorization != expected {
                    return Err(Status::unauthenticated("token refused"));
                }
                Ok(Response::new(format!("hello {}", request.into_inner())))
            })
        }
    }

    /// Serves the service over HTTP/2 on 127.0.0.1; returns its URL.
    pub async fn serve(check: Check) -> String {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let check = check.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let check = check.clone();
                            async move {
                                let mut grpc = tonic::server::Grpc::new(Text);
                                let answer = if request.uri().path() == PATH {
                                    grpc.unary(check, request).await
                                } else {
                                    Status::unimplemented("no such method").into_http()
                                };
                                Ok::<_, std::convert::Infallible>(answer)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        format!("http://{address}")
    }
}

#[tokio::test]
async fn the_tower_layer_authorizes_a_tonic_client_calling_a_tonic_server() {
    let (server, issuer, _api) = servers().await;
    let check = greeter::Check::default();
    *check.accepted.lock().unwrap() = "tok-2".into();
    let url = greeter::serve(check.clone()).await;
    let client = bs2_client(&server, "secret-1");

    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(TokenLayer::new(&client).layer(channel));
    let path = http::uri::PathAndQuery::from_static(greeter::PATH);

    grpc.ready().await.unwrap();
    let refused = grpc
        .unary(
            tonic::Request::new("ana".to_owned()),
            path.clone(),
            greeter::Text,
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::Unauthenticated,
        "a gRPC message is a stream: its refusal comes back as it is"
    );
    assert_eq!(issuer.count(), 1);

    grpc.ready().await.unwrap();
    let answer = grpc
        .unary(tonic::Request::new("bia".to_owned()), path, greeter::Text)
        .await
        .unwrap();
    assert_eq!(answer.into_inner(), "hello bia");
    assert_eq!(
        issuer.count(),
        2,
        "the refused token was dropped and renewed"
    );
    assert_eq!(
        *check.seen.lock().unwrap(),
        vec!["Bearer tok-1".to_owned(), "Bearer tok-2".to_owned()]
    );
}

#[tokio::test]
async fn an_authorizer_sets_the_providers_header_marked_sensitive() {
    let (server, _issuer, _api) = servers().await;
    let client = bs2_client(&server, "secret-1");
    let authorizer = Authorizer::from(&client);
    assert_eq!(authorizer.provider(), "bs2");
    let token = authorizer.access_token().await.unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        http::HeaderValue::from_static("Bearer stale"),
    );
    authorizer.apply(&token, &mut headers).unwrap();
    let value = &headers["authorization"];
    assert_eq!(value, "Bearer tok-1", "replaced, not added");
    assert!(value.is_sensitive());
    assert!(!format!("{authorizer:?}").contains("secret-1"));
}

#[tokio::test]
async fn the_client_secret_is_read_from_a_docker_secret_file_without_its_trailing_newline() {
    let (server, issuer, _api) = servers().await;
    let dir = std::env::temp_dir().join(format!("tokenspec-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bs2_client_secret");
    std::fs::write(&file, "from-file\n").unwrap();
    let client = tokenspec::bs2::Client::builder()
        .environment(tokenspec::bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id("stack-client")
        .client_secret_from_file(&file)
        .scopes([tokenspec::bs2::Scope::PixRead])
        .settings(|s| s.base_url(server.uri()))
        .build()
        .unwrap();
    client.access_token().await.unwrap();
    assert_eq!(issuer.secrets(), vec!["from-file".to_owned()]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
#[allow(unsafe_code)] // `std::env::set_var` is unsafe since edition 2024
async fn the_client_secret_is_read_from_an_environment_variable() {
    let (server, issuer, _api) = servers().await;
    // SAFETY: this test alone reads or writes this variable.
    unsafe { std::env::set_var("TOKENSPEC_TEST_BS2_SECRET", "from-env\r\n") };
    let client = tokenspec::bs2::Client::builder()
        .environment(tokenspec::bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id("stack-client")
        .client_secret_from_env("TOKENSPEC_TEST_BS2_SECRET")
        .scopes([tokenspec::bs2::Scope::PixRead])
        .settings(|s| s.base_url(server.uri()))
        .build()
        .unwrap();
    client.access_token().await.unwrap();
    assert_eq!(issuer.secrets(), vec!["from-env".to_owned()]);
}

#[test]
fn a_secret_that_cannot_be_read_fails_the_build_naming_where_it_was_looked_for() {
    let build = |configure: fn(tokenspec::bs2::ClientBuilder) -> tokenspec::bs2::ClientBuilder| {
        configure(
            tokenspec::bs2::Client::builder()
                .environment(tokenspec::bs2::Environment::Production {
                    host: "api.bs2.example".into(),
                })
                .client_id("stack-client")
                .scopes([tokenspec::bs2::Scope::PixRead]),
        )
        .build()
        .unwrap_err()
        .to_string()
    };
    let missing = build(|b| b.client_secret_from_file("/nonexistent/tokenspec/secret"));
    assert!(
        missing.contains("cannot read the secret file `/nonexistent/tokenspec/secret`"),
        "{missing}"
    );
    let unset = build(|b| b.client_secret_from_env("TOKENSPEC_TEST_UNSET_VARIABLE"));
    assert!(
        unset.contains("the environment variable `TOKENSPEC_TEST_UNSET_VARIABLE` is not set"),
        "{unset}"
    );
    let file = std::env::temp_dir().join(format!("tokenspec-empty-{}", std::process::id()));
    std::fs::write(&file, "\n").unwrap();
    let empty = tokenspec::secret_from_file(&file).unwrap_err().to_string();
    assert!(empty.contains("is empty"), "{empty}");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn a_replaced_secret_is_used_by_the_next_renewal_while_renewals_in_flight_finish_and_cached_tokens_stay()
 {
    let (server, issuer, api) = servers().await;
    issuer
        .delays
        .lock()
        .unwrap()
        .push((1, Duration::from_millis(400)));
    let client = bs2_client(&server, "old-secret");

    // A renewal in flight when the secret is replaced finishes with the secret it was sent with.
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.access_token().await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(issuer.secrets(), vec!["old-secret".to_owned()], "in flight");
    client
        .runtime()
        .replace_client_secret("new-secret".to_owned());
    let token = first.await.unwrap().unwrap();
    assert_eq!(token.expose_secret(), "tok-1");

    // The cached token stays valid: no request.
    let again = client.access_token().await.unwrap();
    assert_eq!(again.expose_secret(), "tok-1");
    assert_eq!(issuer.count(), 1);

    // The next renewal (here, after the API refused the token) uses the new secret.
    api.refuse("tok-1");
    let answer = stack(&client)
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        issuer.secrets(),
        vec!["old-secret".to_owned(), "new-secret".to_owned()]
    );
    let shown = format!("{client:?}");
    assert!(!shown.contains("old-secret") && !shown.contains("new-secret"));
}

/// Sessions renew with their client's credentials: a secret replaced on the client is the one
/// the next refresh of every session sends.
#[cfg(feature = "discord")]
#[tokio::test]
async fn a_users_session_refreshes_with_the_secret_replaced_on_its_client() {
    let server = MockServer::start().await;
    let (issuer, client, session) = discord_session(&server, "old-secret").await;
    session.access_token().await.unwrap();
    client.replace_client_secret("new-secret".to_owned());
    let cached = session.access_token().await.unwrap();
    assert_eq!(
        cached.expose_secret(),
        "tok-1",
        "the session's token stays valid"
    );
    session.invalidate(&cached);
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "tok-2"
    );
    assert_eq!(
        issuer.secrets(),
        vec!["old-secret".to_owned(), "new-secret".to_owned()]
    );
}

#[tokio::test]
async fn errors_after_a_secret_replacement_scrub_the_old_secret_and_the_new() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = MockServer::start().await;
    // A broken server that echoes what it was sent, both secrets included.
    Mock::given(method("POST"))
        .and(path(BS2_TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_request",
            "error_description": "got old-secret then new-secret"
        })))
        .mount(&server)
        .await;
    let client = bs2_client(&server, "old-secret");
    client
        .runtime()
        .replace_client_secret("new-secret".to_owned());
    let error = client.access_token().await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("old-secret"), "{text}");
    assert!(!text.contains("new-secret"), "{text}");
}

/// A POST of `body` to the API's `/api/cob` on `server`, for a tower service.
fn post_cob<B>(server: &MockServer, body: B) -> http::Request<B> {
    http::Request::post(format!("{}/api/cob", server.uri()))
        .body(body)
        .unwrap()
}

/// Sends `request` through `service` once it is ready, as a tower caller does.
async fn call<S, B>(service: &mut S, request: http::Request<B>) -> S::Response
where
    S: tower_service::Service<http::Request<B>>,
    S::Error: std::fmt::Debug,
{
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
    service.call(request).await.unwrap()
}

/// The HTTP client applications get from tokenspec (rustls with its crypto provider).
fn plain_http() -> reqwest::Client {
    tokenspec::http_client().unwrap().build().unwrap()
}

#[test]
#[allow(unsafe_code)] // `std::env::set_var` is unsafe since edition 2024
fn keys_and_certificates_load_from_pem_in_environment_variables() {
    let certified = rcgen::generate_simple_self_signed(vec!["client.example".to_owned()]).unwrap();
    let key = certified.signing_key.serialize_pem();
    // SAFETY: this test alone reads or writes these variables.
    unsafe {
        std::env::set_var("TOKENSPEC_TEST_CLIENT_KEY", &key);
        std::env::set_var("TOKENSPEC_TEST_CLIENT_CERT", certified.cert.pem());
    }
    tokenspec::ClientKey::from_pem_env("TOKENSPEC_TEST_CLIENT_KEY").expect("a key");
    let identity = tokenspec::ClientIdentity::from_pem_env(
        "TOKENSPEC_TEST_CLIENT_CERT",
        "TOKENSPEC_TEST_CLIENT_KEY",
    )
    .expect("an identity");
    assert!(!format!("{identity:?}").contains("PRIVATE KEY"));
    let unset = tokenspec::ClientKey::from_pem_env("TOKENSPEC_TEST_NO_KEY")
        .unwrap_err()
        .to_string();
    assert!(
        unset.contains("`TOKENSPEC_TEST_NO_KEY` is not set"),
        "{unset}"
    );
    // SAFETY: as above.
    unsafe { std::env::set_var("TOKENSPEC_TEST_NOT_A_KEY", "not a key") };
    let garbage = tokenspec::ClientKey::from_pem_env("TOKENSPEC_TEST_NOT_A_KEY")
        .unwrap_err()
        .to_string();
    assert!(!garbage.contains("not a key"), "never the value: {garbage}");
}

#[tokio::test]
async fn a_token_error_reaches_a_tonic_caller_as_a_status_with_the_runtime_message() {
    let (server, issuer, _api) = servers().await;
    issuer
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let check = greeter::Check::default();
    let url = greeter::serve(check.clone()).await;
    let client = bs2_client(&server, "secret-1");
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(TokenLayer::new(&client).layer(channel));
    grpc.ready().await.unwrap();
    let status = grpc
        .unary(
            tonic::Request::new("ana".to_owned()),
            http::uri::PathAndQuery::from_static(greeter::PATH),
            greeter::Text,
        )
        .await
        .unwrap_err();
    assert!(status.message().contains("invalid_client"), "{status:?}");
    assert!(!format!("{status:?}").contains("secret-1"));
    assert!(
        check.seen.lock().unwrap().is_empty(),
        "no call goes out without a token"
    );
}
