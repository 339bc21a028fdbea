//! The authorization-code flow with PKCE against a plain OAuth 2 server (no OpenID): the
//! endpoint from the spec or from RFC 8414 metadata, the redirect URI given once on the
//! builder, no `nonce`, and the code coming back into a user's session.

mod support;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::{AuthorizationCode, Error, Settings, TokenClient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REDIRECT: &str = "https://app.example/callback";

/// A plain OAuth provider: an `authorization:` section (`path` as given), a code flow at
/// `/token` and no `openid:`.
fn plain_oauth(path: Option<&'static str>) -> &'static Provider {
    let mut exchange = flow(
        auth(Some(BasicEncoding::Percent), vec![]),
        Body::Form,
        vec![
            fixed("grant_type", Location::Body, "authorization_code"),
            Param {
                name: "code",
                location: Location::Body,
                source: Source::Call(0),
            },
        ],
        EXPIRES_IN,
    );
    exchange.name = "exchange_code";
    exchange.path = Some("/token");
    exchange.grant = Grant::AuthorizationCode;
    exchange.call_params = slice(vec![Slot {
        name: "code",
        required: true,
    }]);
    let mut p = provider(exchange, vec![]).clone();
    p.cached_flow = None;
    p.authorization = Some(Authorization {
        path,
        ..Authorization::DEFAULT
    });
    leak(p)
}

fn client(p: &'static Provider, server: &MockServer, settings: Settings) -> TokenClient {
    TokenClient::new(
        p,
        settings
            .client_id("plain-client")
            .client_secret("plain secret")
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A server whose `/token` answers `answer`.
async fn token_endpoint(answer: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    server
}

/// The form of the first request `server` received.
async fn first_form(server: &MockServer) -> HashMap<String, String> {
    let requests = server.received_requests().await.unwrap();
    url::form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_plain_oauth_server_is_found_through_rfc8414_metadata_and_gets_no_nonce() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "authorization_endpoint": format!("{}/oauth2/authorize", server.uri()),
            "token_endpoint": format!("{}/token", server.uri()),
        })))
        .mount(&server)
        .await;
    let client = client(
        plain_oauth(None),
        &server,
        Settings::default().redirect_uri(REDIRECT),
    );
    let pending = client.authorization_request("read write").await.unwrap();
    assert_eq!(pending.url().path(), "/oauth2/authorize");
    let q = query(pending.url());
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "plain-client");
    assert_eq!(q["redirect_uri"], REDIRECT, "the builder's redirect URI");
    assert_eq!(q["scope"], "read write");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        !q.contains_key("nonce"),
        "a nonce is OpenID's, not plain OAuth's"
    );
    assert!(pending.nonce().is_none());
}

#[tokio::test]
async fn an_authorization_path_in_the_spec_needs_no_metadata() {
    let server = MockServer::start().await;
    let client = client(
        plain_oauth(Some("/oauth/authorize")),
        &server,
        Settings::default().redirect_uri(REDIRECT),
    );
    let pending = client.authorization_request("read").await.unwrap();
    assert_eq!(
        pending.url().as_str().split('?').next(),
        Some(format!("{}/oauth/authorize", server.uri()).as_str())
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no metadata fetched"
    );
}

#[tokio::test]
async fn without_a_redirect_uri_an_authorization_request_says_how_to_give_one() {
    let server = MockServer::start().await;
    let client = client(
        plain_oauth(Some("/oauth/authorize")),
        &server,
        Settings::default(),
    );
    let e = client.authorization_request("read").await.unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.to_string().contains(".redirect_uri("), "{e}");
}

#[tokio::test]
async fn the_code_comes_back_into_a_session_with_its_verifier_and_the_redirect_uri() {
    let server = token_endpoint(json!({
        "access_token": "user-token", "refresh_token": "user-refresh", "expires_in": 600,
    }))
    .await;
    let client = client(
        plain_oauth(Some("/oauth/authorize")),
        &server,
        Settings::default().redirect_uri(REDIRECT),
    );
    let pending = client.authorization_request("read").await.unwrap();
    let challenge = query(pending.url())["code_challenge"].clone();
    let state = pending.state().to_owned();
    let code = pending.callback(&state, "the-code").unwrap();
    let session = client
        .start_session("exchange_code", "user-1", code, vec![])
        .await
        .unwrap();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "user-token"
    );
    let form = first_form(&server).await;
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], REDIRECT);
    let verifier = &form["code_verifier"];
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    assert_eq!(
        URL_SAFE_NO_PAD.encode(digest),
        challenge,
        "S256(verifier) is the challenge"
    );
}

#[tokio::test]
async fn an_external_code_is_exchanged_with_the_builders_redirect_uri() {
    let server = token_endpoint(json!({
        "access_token": "user-token", "expires_in": 600,
    }))
    .await;
    let client = client(
        plain_oauth(None),
        &server,
        Settings::default().redirect_uri(REDIRECT),
    );
    client
        .start_session(
            "exchange_code",
            "user-2",
            AuthorizationCode::external("code-2"),
            vec![],
        )
        .await
        .unwrap();
    let form = first_form(&server).await;
    assert_eq!(form["redirect_uri"], REDIRECT);
    assert!(!form.contains_key("code_verifier"));
}

#[tokio::test]
async fn an_openid_issuer_that_is_a_name_sends_users_to_the_authorization_section_s_server() {
    // `openid: { issuer: fanbase, algorithms: [HS256] }` names no server; `authorization:`
    // says where users log in, and the request still carries a nonce for the ID token.
    let server = MockServer::start().await;
    let mut p = plain_oauth(Some("/authorize")).clone();
    p.openid = Some(OpenId {
        issuer: Some("fanbase"),
        algorithms: &["HS256"],
        jwks_path: None,
        authorization_path: None,
        leeway_secs: 60,
    });
    let login = format!("{}/login", server.uri());
    p.authorization = Some(Authorization {
        issuer: Some(leak(login.clone()).as_str()),
        path: Some("/authorize"),
        ..Authorization::DEFAULT
    });
    let client = client(leak(p), &server, Settings::default().redirect_uri(REDIRECT));
    let pending = client
        .authorization_request("openid profile")
        .await
        .unwrap();
    assert!(
        pending
            .url()
            .as_str()
            .starts_with(&format!("{login}/authorize?")),
        "{}",
        pending.url()
    );
    let q = query(pending.url());
    assert!(
        q.contains_key("nonce"),
        "an OpenID request carries a nonce: {q:?}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing to discover: the endpoint is the spec's"
    );
}
