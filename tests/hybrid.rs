//! OpenID Connect hybrid responses (`response_type=code id_token`) as Open Finance Brasil's
//! banks answer them, against node-oidc-provider (pinned in `tests/oidc/package.json`) started
//! with its FAPI 1.0 Advanced profile enforced (`FAPI=1.0`), the profile Open Finance Brasil's
//! builds on: a client that pushes signed requests, authenticates with `private_key_jwt`
//! (PS256), sends to the token endpoint its discovery names, and verifies the front-channel ID
//! token (PS256) against the code and state it came with before the code is used.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use support::node_server::NodeServer;
use support::{leak, login_flows};
use tokenspec::__private::descriptor::*;
use tokenspec::oidc::IdTokenError;
use tokenspec::{ClientKey, Error, PendingAuthorization, Settings, TokenClient};

const ID: &str = "hybrid-client";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn start() -> NodeServer {
    NodeServer::start_with("oidc", "oidc-provider", &[], &[("FAPI", "1.0")])
}

/// The provider as an Open Finance Brasil participant's spec describes it: flows without a
/// `path` (the token endpoint is the discovery document's), `private_key_jwt` PS256, pushed
/// requests signed PS256, `response_type: code id_token`, PS256 ID tokens.
fn provider() -> &'static Provider {
    let auth = ClientAuth {
        name: "private_key_jwt",
        assertion: Some(Assertion {
            signer: Signer::PrivateKey,
            algorithm: "PS256",
            audience: None,
            lifetime_secs: 60,
        }),
        ..ClientAuth::NONE
    };
    leak(Provider {
        name: "local_hybrid",
        title: "node-oidc-provider (FAPI 1.0 Advanced)",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        openid: Some(OpenId {
            issuer: None,
            algorithms: &["PS256"],
            jwks_path: None,
            authorization_path: None,
            leeway_secs: 30,
        }),
        authorization: Some(Authorization {
            par: Some(Par { path: None }),
            request_object: Some(Assertion {
                signer: Signer::PrivateKey,
                algorithm: "PS256",
                audience: None,
                lifetime_secs: 300,
            }),
            hybrid: true,
            ..Authorization::DEFAULT
        }),
        flows: login_flows(auth, None),
        ..Provider::DEFAULT
    })
}

async fn client(op: &NodeServer) -> TokenClient {
    let key: Value = serde_json::from_str(&op.text("/test/client-key.pem").await).unwrap();
    let key = ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap());
    let settings = Settings::default()
        .client_id(ID)
        .client_key(key)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(provider(), settings, "https://unused.invalid", &[], vec![])
        .expect("valid client")
}

/// A pushed login through the provider: the request, and the fragment it redirected back with.
async fn login(client: &TokenClient) -> (PendingAuthorization, String) {
    let pending = client
        // The provider grants `offline_access` (a refresh token) only with consent asked for.
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
        .expect("the push (private_key_jwt, a signed request object) is accepted");
    let back = NodeServer::follow_to(pending.url().as_str(), REDIRECT)
        .await
        .expect("the provider redirects back");
    let fragment = back
        .fragment()
        .unwrap_or_else(|| panic!("a hybrid response comes in the fragment: {back}"))
        .to_owned();
    (pending, fragment)
}

/// The value of `name` in a fragment.
fn value(fragment: &str, name: &str) -> String {
    url::form_urlencoded::parse(fragment.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no `{name}` in the response"))
}

/// `fragment` with `name` set to `replacement`.
fn with(fragment: &str, name: &str, replacement: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            url::form_urlencoded::parse(fragment.as_bytes()).map(|(n, v)| {
                if n == name {
                    (n.into_owned(), replacement.to_owned())
                } else {
                    (n.into_owned(), v.into_owned())
                }
            }),
        )
        .finish()
}

#[tokio::test]
async fn a_hybrid_login_checks_the_front_channel_id_token_against_its_code_and_state() {
    let op = start();
    let client = client(&op).await;
    let (pending, fragment) = login(&client).await;
    assert_eq!(
        pending.url().query_pairs().count(),
        2,
        "only `client_id` and `request_uri` travel: {}",
        pending.url()
    );
    // The FAPI 1.0 profile makes the provider bind its ID token to the state too; the client
    // checks both hashes against what came with it.
    let id_token = value(&fragment, "id_token");
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(
        claims["c_hash"].is_string() && claims["s_hash"].is_string(),
        "{claims}"
    );
    let code = client
        .callback_hybrid(pending, &format!("#{fragment}"))
        .await
        .expect("the ID token names this code and state");
    let session = client
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .expect("the exchange at the discovered token endpoint is accepted");
    assert_eq!(session.id_token_claims().unwrap().sub, "user-1");
    let refreshed = NodeServer::refresh(&client, &session).await;
    assert!(refreshed.is_ok(), "{refreshed:?}");
}

#[tokio::test]
async fn a_code_spliced_in_from_another_response_is_refused_before_it_is_used() {
    let op = start();
    let client = client(&op).await;
    let (pending, fragment) = login(&client).await;
    let (_, other) = login(&client).await;
    // A valid code of another login, beside this login's ID token and state: what an attacker
    // who injects a stolen code would send.
    let spliced = with(&fragment, "code", &value(&other, "code"));
    let refused = client.callback_hybrid(pending, &spliced).await.unwrap_err();
    assert!(
        matches!(refused, Error::IdToken(IdTokenError::WrongHash("c_hash"))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_hybrid_request_refuses_a_plain_callback_and_names_the_providers_error() {
    let op = start();
    let client = client(&op).await;
    let (pending, fragment) = login(&client).await;
    let state = value(&fragment, "state");
    let plain = client
        .authorization_request("openid")
        .await
        .unwrap()
        .callback(&state, value(&fragment, "code"))
        .unwrap_err();
    assert!(plain.to_string().contains("callback_hybrid"), "{plain}");
    let denied = client
        .callback_hybrid(
            pending,
            &format!("error=access_denied&error_description=the+user+said+no&state={state}"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&denied, Error::AuthorizationResponse(why) if why.contains("access_denied")),
        "{denied:?}"
    );
}
