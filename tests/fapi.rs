//! The FAPI 2.0 Security Profile end to end, against node-oidc-provider (pinned in
//! `tests/oidc/package.json`) started with its FAPI 2.0 profile enforced (`FAPI=2.0`) and
//! DPoP nonces required: a client that pushes its authorization requests, authenticates with
//! `private_key_jwt` (PS256, `aud` the issuer), gets DPoP-bound tokens, checks the redirect's
//! `iss` and calls the provider's userinfo endpoint with proofs.

mod support;

use serde_json::Value;
use support::node_server::NodeServer;
use support::{leak, login_flows};
use tokenspec::__private::descriptor::*;
use tokenspec::{ClientKey, Settings, TokenClient};

const ID: &str = "fapi-client";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn start() -> NodeServer {
    NodeServer::start_with(
        "oidc",
        "oidc-provider",
        &[],
        &[("FAPI", "2.0"), ("DPOP_NONCE", "1")],
    )
}

/// The FAPI 2.0 provider as a spec describes it: `dpop: true`, `authorization: { par: true }`,
/// flows without a `path` (the token endpoint is the metadata's),
/// OpenID with ES256 ID tokens, every request authenticated with `private_key_jwt` whose
/// audience is `audience` (`{issuer}` as FAPI 2.0 wants); `dpop` and `audience` vary for the
/// refusals.
fn provider(dpop: bool, audience: Option<&'static str>) -> &'static Provider {
    let auth = ClientAuth {
        name: "private_key_jwt",
        assertion: Some(Assertion {
            signer: Signer::PrivateKey,
            algorithm: "PS256",
            audience,
            lifetime_secs: 60,
        }),
        ..ClientAuth::NONE
    };
    leak(Provider {
        name: "local_fapi",
        title: "node-oidc-provider (FAPI 2.0)",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        dpop,
        openid: Some(OpenId {
            issuer: None,
            algorithms: &["ES256"],
            jwks_path: None,
            authorization_path: None,
            leeway_secs: 30,
        }),
        authorization: Some(Authorization {
            par: Some(Par { path: None }),
            ..Authorization::DEFAULT
        }),
        flows: login_flows(auth, None),
        ..Provider::DEFAULT
    })
}

/// The client key the provider registered for `fapi-client`.
async fn client_key(op: &NodeServer) -> ClientKey {
    let key: Value = serde_json::from_str(&op.text("/test/client-key.pem").await).unwrap();
    ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap())
}

async fn client(op: &NodeServer, provider: &'static Provider) -> TokenClient {
    client_with(op, provider, Settings::default()).await
}

async fn client_with(
    op: &NodeServer,
    provider: &'static Provider,
    settings: Settings,
) -> TokenClient {
    let settings = settings
        .client_id(ID)
        .client_key(client_key(op).await)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(provider, settings, "https://unused.invalid", &[], vec![])
        .expect("valid client")
}

#[tokio::test]
async fn a_fapi_2_login_is_pushed_signed_sender_constrained_and_checked_for_its_issuer() {
    let op = start();
    let client = client(&op, provider(true, Some("{issuer}"))).await;
    let pending = client
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
        .expect("the push (private_key_jwt, a DPoP proof under the server's nonce) is accepted");
    let url = pending.url().clone();
    let sent: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(sent, ["client_id", "request_uri"], "{url}");
    let back = NodeServer::follow(url.as_str(), REDIRECT)
        .await
        .expect("the provider redirects back");
    let code = pending
        .callback_with_issuer(
            &back["state"],
            back["code"].clone(),
            back.get("iss").map(String::as_str),
        )
        .expect("the redirect names the issuer the request went to (RFC 9207)");
    let session = client
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .expect("the code exchange (private_key_jwt, DPoP) is accepted");
    let claims = session
        .id_token_claims()
        .expect("a validated ES256 ID token");
    assert_eq!(claims.sub, "user-1");
    assert!(session.access_token().await.unwrap().is_dpop_bound());
    assert_eq!(op.userinfo(&session).await["sub"], "user-1");
    let refreshed = NodeServer::refresh(&client, &session).await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test]
async fn a_fapi_2_server_refuses_an_assertion_whose_audience_is_the_endpoint() {
    let op = start();
    // tokenspec's default `aud` is the endpoint's URL (RFC 7523); FAPI 2.0 wants the issuer.
    // (Without DPoP, so the push is refused for its assertion alone.)
    let client = client(&op, provider(false, None)).await;
    let refused = client
        .authorization_request_with("openid", &[])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"), "{refused}");
}

#[tokio::test]
async fn a_fapi_2_client_without_dpop_gets_no_token() {
    let op = start();
    let client = client(&op, provider(false, Some("{issuer}"))).await;
    let pending = client
        .authorization_request_with("openid", &[])
        .await
        .expect("the push itself needs no proof");
    let back = NodeServer::follow(pending.url().as_str(), REDIRECT)
        .await
        .expect("the provider redirects back");
    let code = pending
        .callback_with_issuer(
            &back["state"],
            back["code"].clone(),
            back.get("iss").map(String::as_str),
        )
        .unwrap();
    let refused = client
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, tokenspec::Error::Rejected { .. }),
        "{refused:?}"
    );
}

/// With a DPoP key per session, the session's key does not exist when the request is pushed,
/// so the push carries no proof (RFC 9449 §10.1 makes it optional) and does not bind the code
/// to the client's key: the code exchange, signed with the new session's key, goes through.
#[tokio::test]
async fn a_pushed_login_works_with_a_dpop_key_per_session() {
    let op = start();
    let settings = Settings::default().dpop_key_per_session();
    let client = client_with(&op, provider(true, Some("{issuer}")), settings).await;
    let pending = client
        .authorization_request_with("openid", &[])
        .await
        .expect("the push is accepted");
    let back = NodeServer::follow(pending.url().as_str(), REDIRECT)
        .await
        .expect("the provider redirects back");
    let code = pending
        .callback_with_issuer(
            &back["state"],
            back["code"].clone(),
            back.get("iss").map(String::as_str),
        )
        .unwrap();
    let session = client
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .expect("the code is not bound to the client's key");
    assert_eq!(op.userinfo(&session).await["sub"], "user-1");
}
