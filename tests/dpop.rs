//! DPoP (RFC 9449) end to end: tokens from node-oidc-provider (pinned in
//! `tests/oidc/package.json`) bound to the client's key, with and without server nonces, a
//! user's session calling the provider's userinfo endpoint with proofs, a public client's
//! refresh token bound to its key, and API calls through `send`, the reqwest middleware and the
//! tower layer to a resource server on 127.0.0.1 that checks every proof and demands nonces.

mod support;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use support::node_server::NodeServer;
use support::{leak, slice};
use tokenspec::__private::ParamValue;
use tokenspec::__private::descriptor::*;
use tokenspec::{DpopKey, Error, Settings, TokenClient};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

const ID: &str = "dpop-client";
const SECRET: &str = "dpop-secret-0123456789abcdef0123456789abcdef";
const PUBLIC_ID: &str = "dpop-public";
const REDIRECT: &str = "http://127.0.0.1/callback";

/// node-oidc-provider; with `nonces`, every DPoP proof must carry its nonce.
fn start(nonces: bool) -> NodeServer {
    let envs: &[(&str, &str)] = if nonces { &[("DPOP_NONCE", "1")] } else { &[] };
    NodeServer::start_with("oidc", "oidc-provider", &[], envs)
}

fn fixed(name: &'static str, value: &'static str) -> Param {
    Param {
        name,
        location: Location::Body,
        source: Source::Fixed(Literal::Text(value)),
    }
}

fn call(name: &'static str) -> Param {
    Param {
        name,
        location: Location::Body,
        source: Source::Call(0),
    }
}

const FIELDS: &[Field] = &[Field {
    key: "refresh_token",
    paths: &[&["refresh_token"]],
    kind: FieldKind::Secret,
    required: false,
}];

/// The local provider as a spec with `dpop: true` (or without it) describes it; `public`
/// clients send their id in the body and no secret.
fn provider(dpop: bool, public: bool) -> &'static Provider {
    let auth = if public {
        ClientAuth::NONE
    } else {
        ClientAuth {
            name: "client_secret_basic",
            basic: Some(BasicEncoding::Rfc6749),
            ..ClientAuth::NONE
        }
    };
    let flow = |name, grant, mut params: Vec<Param>, slot: Option<&'static str>| {
        if public {
            params.push(fixed("client_id", PUBLIC_ID));
        }
        Flow {
            name,
            grant,
            path: Some("/token"),
            client_auth: auth,
            params: slice(params),
            call_params: slice(
                slot.map(|name| Slot {
                    name,
                    required: true,
                })
                .into_iter()
                .collect(),
            ),
            fields: FIELDS,
            ..Flow::DEFAULT
        }
    };
    leak(Provider {
        name: "local_dpop",
        title: "node-oidc-provider",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        dpop,
        authorization: Some(Authorization::DEFAULT),
        flows: slice(vec![
            flow(
                "client_credentials",
                Grant::ClientCredentials,
                vec![
                    fixed("grant_type", "client_credentials"),
                    fixed("scope", "api:read"),
                ],
                None,
            ),
            flow(
                "exchange_code",
                Grant::AuthorizationCode,
                vec![fixed("grant_type", "authorization_code"), call("code")],
                Some("code"),
            ),
            flow(
                "refresh",
                Grant::RefreshToken,
                vec![fixed("grant_type", "refresh_token"), call("refresh_token")],
                Some("refresh_token"),
            ),
        ]),
        cached_flow: (!public).then_some(0),
        ..Provider::DEFAULT
    })
}

fn client(op: &NodeServer, provider: &'static Provider, settings: Settings) -> TokenClient {
    let public = provider.cached_flow.is_none();
    let settings = settings
        .client_id(if public { PUBLIC_ID } else { ID })
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    let settings = if public {
        settings
    } else {
        settings.client_secret(SECRET)
    };
    TokenClient::new(provider, settings, "https://unused.invalid", &[], vec![])
        .expect("valid client")
}

/// What the provider's introspection endpoint says of `token` (asked by a Basic client).
async fn introspect(op: &NodeServer, token: &str) -> Value {
    NodeServer::http()
        .post(format!("{}/token/introspection", op.issuer))
        .basic_auth(ID, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Logs `user-1` in through the provider's automatic interactions and returns the code.
async fn log_in(client: &TokenClient) -> tokenspec::AuthorizationCode {
    let pending = client
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
        .unwrap();
    let back = NodeServer::follow(pending.url().as_str(), REDIRECT)
        .await
        .expect("the provider redirects back");
    pending
        .callback(&back["state"], back["code"].clone())
        .unwrap()
}

#[tokio::test]
async fn a_dpop_clients_tokens_are_bound_to_its_key_as_the_provider_records_it() {
    let op = start(false);
    let key = DpopKey::generate().unwrap();
    let client = client(
        &op,
        provider(true, false),
        Settings::default().dpop_key(key.clone()),
    );
    let token = client.access_token().await.unwrap();
    assert!(token.is_dpop_bound());
    let seen = introspect(&op, token.expose_secret()).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["token_type"], "DPoP", "{seen}");
    assert_eq!(seen["cnf"]["jkt"], key.thumbprint(), "{seen}");
}

#[tokio::test]
async fn a_client_that_must_bind_its_tokens_is_refused_without_dpop_in_its_spec() {
    let op = start(false);
    let error = client(&op, provider(false, false), Settings::default())
        .access_token()
        .await
        .unwrap_err();
    // node-oidc-provider refuses the grant itself (its description: "grant request is
    // invalid"); the same client with `dpop: true` gets a token (the test above).
    assert!(matches!(error, Error::Rejected { .. }), "{error:?}");
    assert_eq!(error.code(), Some("invalid_grant"), "{error}");
}

#[tokio::test]
async fn a_server_that_requires_nonces_gets_the_request_again_with_its_nonce() {
    let op = start(true);
    let key = DpopKey::generate().unwrap();
    let client = client(
        &op,
        provider(true, false),
        Settings::default().dpop_key(key.clone()),
    );
    let token = client
        .access_token()
        .await
        .expect("the second proof carries the nonce");
    assert!(token.is_dpop_bound());
    assert_eq!(
        introspect(&op, token.expose_secret()).await["cnf"]["jkt"],
        key.thumbprint()
    );
    // The nonce is kept: the next token request needs no second try.
    let again = client.request::<()>("client_credentials", vec![]).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn a_users_session_reads_userinfo_with_proofs_and_refreshes_under_nonces() {
    let op = start(true);
    let client = client(&op, provider(true, false), Settings::default());
    let code = log_in(&client).await;
    let session = client
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .unwrap();
    let token = session.access_token().await.unwrap();
    assert!(token.is_dpop_bound());
    // userinfo checks the proof's ath, htu and nonce.
    assert_eq!(op.userinfo(&session).await["sub"], "user-1");
    let refreshed = NodeServer::refresh(&client, &session).await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test]
async fn a_public_clients_refresh_token_works_only_with_the_key_it_is_bound_to() {
    let op = start(false);
    let p = provider(true, true);
    let key = DpopKey::generate().unwrap();
    let first = client(&op, p, Settings::default().dpop_key(key.clone()));
    let code = log_in(&first).await;
    let session = first
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .unwrap();
    let refresh = session.refresh_token().expect("offline_access");
    let refresh_with = |client: TokenClient| {
        let value = refresh.expose_secret().to_owned();
        async move {
            client
                .request::<()>("refresh", vec![Some(ParamValue::Secret(value.into()))])
                .await
        }
    };
    let stolen = refresh_with(client(&op, p, Settings::default())).await;
    assert_eq!(
        stolen.as_ref().unwrap_err().code(),
        Some("invalid_grant"),
        "another key cannot use it: {stolen:?}"
    );
    // The same key in another client (another process, after a restart) can.
    let restarted = refresh_with(client(&op, p, Settings::default().dpop_key(key))).await;
    assert!(restarted.is_ok(), "{restarted:?}");
}

/// A resource server that checks every DPoP proof as RFC 9449 §7 and §9 say, and wants its
/// current nonce in each: a proof without it gets `401` with a `use_dpop_nonce` challenge.
#[derive(Clone, Default)]
struct ResourceServer {
    state: Arc<Mutex<Rs>>,
}

#[derive(Default)]
struct Rs {
    /// The server's own URL (wiremock shows requests' URLs under another host).
    origin: String,
    /// The nonce proofs must carry, changed by `rotate`.
    nonce: u32,
    /// A new nonce to hand out on the next successful answer.
    rotate: bool,
    /// Each request: its status and what was wrong with it, if anything.
    seen: Vec<(u16, String)>,
    jtis: Vec<String>,
}

impl ResourceServer {
    fn seen(&self) -> Vec<(u16, String)> {
        self.state.lock().unwrap().seen.clone()
    }

    fn rotate_after_next(&self) {
        self.state.lock().unwrap().rotate = true;
    }

    /// What is wrong with `request`'s proof, if anything.
    fn check(request: &Request, rs: &mut Rs) -> Result<(), String> {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or(format!("no {name} header"))
        };
        let token = header("authorization")?
            .strip_prefix("DPoP ")
            .ok_or("not the DPoP scheme")?
            .to_owned();
        let proof = header("dpop")?;
        let parts: Vec<&str> = proof.split('.').collect();
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let (head, claims) = (decode(parts[0]), decode(parts[1]));
        if head["typ"] != "dpop+jwt" || head["alg"] != "ES256" {
            return Err(format!("header {head}"));
        }
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            point.extend(
                URL_SAFE_NO_PAD
                    .decode(head["jwk"][c].as_str().unwrap())
                    .unwrap(),
            );
        }
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .map_err(|_| "bad signature")?;
        let htu = format!("{}{}", rs.origin, request.url.path());
        if claims["htm"] != request.method.as_str() || claims["htu"] != htu.as_str() {
            return Err(format!("htm/htu {claims}"));
        }
        let ath = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            token.as_bytes(),
        ));
        if claims["ath"] != ath.as_str() {
            return Err("ath".into());
        }
        let jti = claims["jti"].as_str().unwrap().to_owned();
        if rs.jtis.contains(&jti) {
            return Err("replayed jti".into());
        }
        rs.jtis.push(jti);
        if claims["nonce"] != format!("n-{}", rs.nonce).as_str() {
            return Err("nonce".into());
        }
        Ok(())
    }
}

impl Respond for ResourceServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut rs = self.state.lock().unwrap();
        let checked = Self::check(request, &mut rs);
        let (status, why) = match &checked {
            Ok(()) => (200, String::new()),
            Err(why) => (401, why.clone()),
        };
        rs.seen.push((status, why.clone()));
        match checked {
            Ok(()) => {
                let mut answer = ResponseTemplate::new(200).set_body_string("ok");
                if std::mem::take(&mut rs.rotate) {
                    rs.nonce += 1;
                    answer = answer.insert_header("DPoP-Nonce", format!("n-{}", rs.nonce));
                }
                answer
            }
            Err(why) if why == "nonce" => ResponseTemplate::new(401)
                .insert_header(
                    "WWW-Authenticate",
                    r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
                )
                .insert_header("DPoP-Nonce", format!("n-{}", rs.nonce)),
            Err(why) => ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", format!(r#"DPoP error="invalid_token", error_description="{why}""#)),
        }
    }
}

async fn resource_server() -> (MockServer, ResourceServer) {
    let server = MockServer::start().await;
    let rs = ResourceServer::default();
    rs.state.lock().unwrap().origin = server.uri();
    Mock::given(matchers::path_regex("^/api/.*"))
        .respond_with(rs.clone())
        .mount(&server)
        .await;
    (server, rs)
}

/// Each way an API call goes out, through one resource server that wants nonces: the first
/// call meets the challenge and goes again with the same token; the next carries the nonce at
/// once; a nonce the server hands out on a successful answer is used from the next call on.
async fn calls_meet_the_nonce_challenge_once(
    send: impl AsyncFn(&str) -> u16,
    api: &MockServer,
    rs: &ResourceServer,
) {
    let first = send(&format!("{}/api/items?page=1", api.uri())).await;
    assert_eq!(first, 200, "{:?}", rs.seen());
    assert_eq!(send(&format!("{}/api/items", api.uri())).await, 200);
    rs.rotate_after_next();
    assert_eq!(send(&format!("{}/api/items", api.uri())).await, 200);
    assert_eq!(send(&format!("{}/api/items", api.uri())).await, 200);
    let seen = rs.seen();
    assert_eq!(
        seen,
        vec![
            (401, "nonce".to_owned()),
            (200, String::new()),
            (200, String::new()),
            (200, String::new()),
            (200, String::new()),
        ],
        "one challenge, then every proof carries the newest nonce"
    );
}

#[tokio::test]
async fn api_calls_through_send_carry_proofs_and_meet_a_nonce_challenge_once() {
    let op = start(false);
    let client = client(&op, provider(true, false), Settings::default());
    let (api, rs) = resource_server().await;
    let http = NodeServer::http();
    calls_meet_the_nonce_challenge_once(
        async |url| client.send(http.get(url)).await.unwrap().status().as_u16(),
        &api,
        &rs,
    )
    .await;
}

#[tokio::test]
async fn api_calls_through_the_middleware_carry_proofs_and_meet_a_nonce_challenge_once() {
    let op = start(false);
    let client = client(&op, provider(true, false), Settings::default());
    let (api, rs) = resource_server().await;
    let stack = reqwest_middleware::ClientBuilder::new(NodeServer::http())
        .with(tokenspec::middleware::TokenMiddleware::new(&client))
        .build();
    calls_meet_the_nonce_challenge_once(
        async |url| stack.get(url).send().await.unwrap().status().as_u16(),
        &api,
        &rs,
    )
    .await;
}

#[tokio::test]
async fn api_calls_through_the_tower_layer_carry_proofs_and_meet_a_nonce_challenge_once() {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let op = start(false);
    let client = client(&op, provider(true, false), Settings::default());
    let (api, rs) = resource_server().await;
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let service = tokenspec::tower::TokenLayer::new(&client).layer(hyper);
    calls_meet_the_nonce_challenge_once(
        async |url| {
            let mut service = service.clone();
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .unwrap();
            let request = http::Request::get(url).body(Empty::new()).unwrap();
            service.call(request).await.unwrap().status().as_u16()
        },
        &api,
        &rs,
    )
    .await;
}

#[tokio::test]
async fn a_token_the_provider_issued_as_bearer_goes_out_as_bearer_without_a_proof() {
    // RFC 9449 §5: a server may issue a plain Bearer token to a DPoP request.
    let server = MockServer::start().await;
    Mock::given(matchers::path("/token"))
        .and(matchers::header_exists("dpop"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "plain", "token_type": "Bearer", "expires_in": 600
        })))
        .mount(&server)
        .await;
    Mock::given(matchers::path("/api"))
        .and(matchers::header("authorization", "Bearer plain"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = TokenClient::new(
        provider(true, false),
        Settings::default()
            .client_id(ID)
            .client_secret(SECRET)
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap();
    let token = client.access_token().await.unwrap();
    assert!(!token.is_dpop_bound());
    let http = NodeServer::http();
    let answer = client
        .send(http.get(format!("{}/api", server.uri())))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let api_requests: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/api")
        .collect();
    assert!(api_requests.iter().all(|r| !r.headers.contains_key("dpop")));
}

#[test]
fn a_dpop_key_given_to_a_provider_without_dpop_is_a_configuration_error() {
    let error = TokenClient::new(
        provider(false, false),
        Settings::default()
            .client_id(ID)
            .client_secret(SECRET)
            .base_url("http://127.0.0.1:1")
            .dpop_key(DpopKey::generate().unwrap()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains("dpop: true"), "{error}");
}

#[tokio::test]
async fn each_session_gets_its_own_key_which_the_store_keeps_for_the_next_process() {
    let op = start(false);
    let p = provider(true, true);
    let store: Arc<dyn tokenspec::store::TokenStore> =
        Arc::new(tokenspec::store::MemoryStore::new());
    let client_key = DpopKey::generate().unwrap();
    let settings = || {
        Settings::default()
            .dpop_key(client_key.clone())
            .dpop_key_per_session()
            .store(store.clone())
    };
    let web = client(&op, p, settings());
    let mut bound_to = Vec::new();
    for user in ["alice", "bob"] {
        let code = log_in(&web).await;
        let session = web
            .start_session("exchange_code", user, code, vec![None])
            .await
            .unwrap();
        let token = session.access_token().await.unwrap();
        bound_to.push(introspect(&op, token.expose_secret()).await["cnf"]["jkt"].clone());
    }
    assert_ne!(
        bound_to[0], bound_to[1],
        "each session has a key of its own"
    );
    assert!(bound_to.iter().all(|jkt| jkt != client_key.thumbprint()));

    // Another process (another client on the same store) takes alice's session up and
    // refreshes it: the public client's refresh token works only with alice's key, which the
    // store kept with the session.
    let worker = client(&op, p, settings());
    let session = worker
        .session("alice")
        .await
        .unwrap()
        .expect("in the store");
    let stored = session.access_token().await.unwrap();
    session.invalidate(&stored);
    let renewed = session
        .access_token()
        .await
        .expect("refreshed with the session's own key");
    assert_ne!(renewed.expose_secret(), stored.expose_secret());
    assert_eq!(
        introspect(&op, renewed.expose_secret()).await["cnf"]["jkt"],
        bound_to[0]
    );
    // API calls through the session are signed with its key too: userinfo checks the proof's
    // key against the token's binding.
    assert_eq!(op.userinfo(&session).await["sub"], "user-1");
}

#[test]
fn dpop_keys_per_session_need_a_spec_with_dpop() {
    let error = TokenClient::new(
        provider(false, false),
        Settings::default()
            .client_id(ID)
            .client_secret(SECRET)
            .base_url("http://127.0.0.1:1")
            .dpop_key_per_session(),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap_err();
    assert!(error.to_string().contains("dpop: true"), "{error}");
}

/// `tokenspec-codegen try` sends one request of a flow as the client would: for a DPoP
/// provider, with a proof, and once more with the server's nonce when it asks.
#[tokio::test]
async fn a_trial_request_carries_a_proof_and_meets_the_nonce_challenge() {
    let op = start(true);
    let client = client(&op, provider(true, false), Settings::default());
    let trial = client.trial("client_credentials", vec![], vec![]).await;
    let sent = trial.request.as_ref().expect("sent");
    assert!(sent.headers.contains_key("dpop"));
    assert!(trial.outcome.is_ok(), "{:?}", trial.outcome);
}
