//! The device authorization grant (RFC 8628): against node-oidc-provider's device flow (pinned
//! in `tests/oidc/package.json`), a public client shows a code, the user approves or refuses it
//! on the provider's own pages, and the client's polling ends in a session or a clear error;
//! against a scripted server on 127.0.0.1, polling honours `interval`, `authorization_pending`,
//! `slow_down` and expiry, timed on a manual clock so no test waits.

mod support;

use std::time::Duration;

use serde_json::json;
use support::node_server::NodeServer;
use support::{fixed, leak, slice, user_flow};
use tokenspec::__private::descriptor::*;
use tokenspec::clock::{Clock, ManualClock};
use tokenspec::{Error, Settings, TokenClient};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "device-client";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client of the device flow as a spec describes it: `device_authorization:` (at
/// `device_path`, or from the metadata), a `device_code` flow and a refresh flow, each sending
/// the client id in the body; OpenID when `openid`.
fn provider(device_path: Option<&'static str>, openid: bool) -> &'static Provider {
    let flow = |name, grant, wire| {
        let client_id = fixed("client_id", Location::Body, ID);
        user_flow(
            name,
            grant,
            wire,
            ClientAuth::NONE,
            Some("/token"),
            vec![client_id],
        )
    };
    leak(Provider {
        name: "local_device",
        title: "Device Flow Provider",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        openid: openid.then_some(OpenId {
            issuer: None,
            algorithms: &["RS256"],
            jwks_path: None,
            authorization_path: None,
            leeway_secs: 30,
        }),
        device_authorization: Some(DeviceAuthorization { path: device_path }),
        flows: slice(vec![
            flow("device", Grant::DeviceCode, (GRANT, "device_code")),
            flow(
                "refresh",
                Grant::RefreshToken,
                ("refresh_token", "refresh_token"),
            ),
        ]),
        ..Provider::DEFAULT
    })
}

fn new_client(provider: &'static Provider, base: &str, settings: Settings) -> TokenClient {
    TokenClient::new(
        provider,
        settings.client_id(ID).base_url(base.to_owned()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

#[tokio::test]
async fn a_user_who_approves_on_another_device_starts_a_session() {
    let op = NodeServer::start_with("oidc", "oidc-provider", &[], &[]);
    let client = new_client(provider(None, true), &op.issuer, Settings::default());
    let device = client
        .device_authorization("openid offline_access")
        .await
        .expect("the endpoint from discovery gives a code");
    assert!(!device.user_code().is_empty());
    assert!(
        device.verification_uri().starts_with(&op.issuer),
        "{device:?}"
    );
    assert_eq!(
        device.interval(),
        Duration::from_secs(5),
        "the provider names no interval: RFC 8628's 5 s"
    );
    assert!(
        !format!("{device:?}").contains("device_code\": \""),
        "the device code is redacted"
    );
    let page = device.verification_uri_complete().unwrap().to_owned();
    let user = tokio::spawn(async move { NodeServer::answer_device(&page, true).await });
    let session = client
        .device_session("tv-1", device)
        .await
        .expect("the poll after the approval gets the tokens");
    assert_eq!(user.await.unwrap(), 200, "the provider's success page");
    assert_eq!(session.id_token_claims().unwrap().sub, "user-1");
    assert!(
        !session
            .access_token()
            .await
            .unwrap()
            .expose_secret()
            .is_empty()
    );
    assert!(
        client.session("tv-1").await.unwrap().is_some(),
        "kept under its key"
    );
}

#[tokio::test]
async fn a_user_who_says_no_ends_the_device_authorization() {
    let op = NodeServer::start_with("oidc", "oidc-provider", &[], &[]);
    let client = new_client(provider(None, true), &op.issuer, Settings::default());
    let device = client.device_authorization("openid").await.unwrap();
    let page = device.verification_uri_complete().unwrap().to_owned();
    let user = tokio::spawn(async move { NodeServer::answer_device(&page, false).await });
    let ended = client.device_session("tv-2", device).await.unwrap_err();
    user.await.unwrap();
    assert!(
        matches!(ended, Error::DeviceAuthorizationEnded { .. }),
        "{ended:?}"
    );
    assert_eq!(ended.code(), Some("access_denied"), "{ended}");
    assert!(ended.to_string().contains("start a new one"), "{ended}");
    assert!(client.session("tv-2").await.unwrap().is_none());
}

/// A scripted server: the device authorization answers with `interval` and `expires_in`; the
/// token endpoint answers each poll with the next of `polls` (an error code, or `None` for the
/// tokens), then keeps answering the last.
async fn scripted(interval: u64, expires_in: u64, polls: &[Option<&'static str>]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .and(body_string_contains("client_id=device-client"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "the-device-code",
            "user_code": "WDJB-MJHT",
            "verification_uri": "https://example.test/device",
            "expires_in": expires_in,
            "interval": interval,
        })))
        .mount(&server)
        .await;
    for (i, poll) in polls.iter().enumerate() {
        let answer = match poll {
            Some(code) => ResponseTemplate::new(400).set_body_json(json!({ "error": code })),
            None => ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "device-access",
                "refresh_token": "device-refresh",
                "expires_in": 600,
            })),
        };
        let mock = Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("device_code=the-device-code"))
            .respond_with(answer);
        let mock = if i + 1 < polls.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&server).await;
    }
    server
}

/// The token requests the server received.
async fn polls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count()
}

#[tokio::test]
async fn polling_waits_the_interval_and_five_seconds_more_after_each_slow_down() {
    let server = scripted(
        1,
        600,
        &[
            Some("authorization_pending"),
            Some("slow_down"),
            Some("authorization_pending"),
            None,
        ],
    )
    .await;
    let clock = ManualClock::new();
    let started = clock.now();
    let client = new_client(
        provider(Some("/device"), false),
        &server.uri(),
        Settings::default().clock(clock.clone()),
    );
    let device = client.device_authorization("tv").await.unwrap();
    assert_eq!(device.user_code(), "WDJB-MJHT");
    let session = client.device_session("tv-3", device).await.unwrap();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "device-access"
    );
    assert_eq!(polls(&server).await, 4);
    assert_eq!(
        clock.now() - started,
        Duration::from_secs(1 + 1 + 6 + 6),
        "1 s before each of the first two polls, 6 s after `slow_down`"
    );
}

#[tokio::test]
async fn codes_that_expire_unapproved_end_the_polling_either_way() {
    // The server says so.
    let server = scripted(
        1,
        600,
        &[Some("authorization_pending"), Some("expired_token")],
    )
    .await;
    let client = new_client(
        provider(Some("/device"), false),
        &server.uri(),
        Settings::default().clock(ManualClock::new()),
    );
    let device = client.device_authorization("tv").await.unwrap();
    let ended = client.device_session("tv-4", device).await.unwrap_err();
    assert_eq!(ended.code(), Some("expired_token"), "{ended:?}");
    // The server never says: the client stops when `expires_in` has passed.
    let server = scripted(2, 7, &[Some("authorization_pending")]).await;
    let patient = new_client(
        provider(Some("/device"), false),
        &server.uri(),
        Settings::default().clock(ManualClock::new()),
    );
    let device = patient.device_authorization("tv").await.unwrap();
    let ended = patient.device_session("tv-5", device).await.unwrap_err();
    assert!(
        matches!(ended, Error::DeviceAuthorizationEnded { cause: None, .. }),
        "{ended:?}"
    );
    assert_eq!(polls(&server).await, 3, "at 2, 4 and 6 s; 8 s is past 7");
}

#[tokio::test]
async fn any_other_refusal_stops_polling_and_comes_back_as_it_came() {
    let server = scripted(1, 600, &[Some("invalid_client")]).await;
    let client = new_client(
        provider(Some("/device"), false),
        &server.uri(),
        Settings::default().clock(ManualClock::new()),
    );
    let device = client.device_authorization("tv").await.unwrap();
    let refused = client.device_session("tv-6", device).await.unwrap_err();
    assert!(matches!(refused, Error::Rejected { .. }), "{refused:?}");
    assert_eq!(refused.code(), Some("invalid_client"));
    assert_eq!(polls(&server).await, 1);
}
