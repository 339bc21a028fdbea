//! Interoperability with a second, independent server implementation: @node-oauth/oauth2-server
//! (pinned in `tests/oauth2-server/package.json`, installed by `scripts/test.sh`), a plain
//! OAuth 2 server without OpenID, started on 127.0.0.1 for each test. Code + PKCE found through
//! RFC 8414 metadata, sessions refreshed with rotation, the two-process rotation race, a revoked
//! refresh token, a wrong secret, and revocation when a session ends.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::node_server::NodeServer;
use support::{leak, slice};
use tokenspec::__private::descriptor::*;
use tokenspec::clock::ManualClock;
use tokenspec::store::MemoryStore;
use tokenspec::{Error, Session, Settings, TokenClient};

const ID: &str = "std-client";
const SECRET: &str = "std-secret-0123456789";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn server() -> NodeServer {
    NodeServer::start("oauth2-server", "@node-oauth/oauth2-server")
}

/// A flow to `/token` with `grant_type` and one per-call parameter.
fn per_call(name: &'static str, grant: Grant, param: &'static str) -> Flow {
    Flow {
        name,
        grant,
        path: Some("/token"),
        client_auth: BASIC,
        params: slice(vec![
            Param {
                name: "grant_type",
                location: Location::Body,
                source: Source::Fixed(Literal::Text(name)),
            },
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
        fields: slice(vec![Field {
            key: "refresh_token",
            paths: &[&["refresh_token"]],
            kind: FieldKind::Secret,
            required: false,
        }]),
        ..Flow::DEFAULT
    }
}

const BASIC: ClientAuth = ClientAuth {
    name: "client_secret_basic",
    basic: Some(BasicEncoding::Raw),
    ..ClientAuth::NONE
};

const POST: ClientAuth = ClientAuth {
    name: "client_secret_post",
    params: &[Location::Body],
    ..ClientAuth::NONE
};

/// A standard OAuth 2 server as a spec would describe it: `authorization:` and `revocation:`
/// found in its RFC 8414 metadata, a code exchange and the refresh grant, Basic or post.
fn provider() -> &'static Provider {
    let mut p = support::provider(
        per_call("authorization_code", Grant::AuthorizationCode, "code"),
        vec![],
    )
    .clone();
    p.allow_insecure_http = true;
    p.authorization = Some(Authorization::DEFAULT);
    p.revocation = Some(Revocation { path: None });
    p.client_auth_choices = slice(vec![BASIC, POST]);
    p.flows = slice(vec![
        Flow { ..p.flows[0] },
        per_call("refresh_token", Grant::RefreshToken, "refresh_token"),
    ]);
    p.cached_flow = None;
    leak(p)
}

fn client(server: &NodeServer, settings: Settings) -> TokenClient {
    client_as(server, provider(), ID, SECRET, settings)
}

fn client_as(
    server: &NodeServer,
    provider: &'static Provider,
    id: &str,
    secret: &str,
    settings: Settings,
) -> TokenClient {
    TokenClient::new(
        provider,
        settings
            .client_id(id)
            .client_secret(secret)
            .base_url(server.issuer.clone())
            .redirect_uri(REDIRECT),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

/// Sends the user through the server's authorization endpoint and starts the session `key`.
async fn connect(client: &TokenClient, key: &str) -> Session {
    let pending = client.authorization_request("read").await.unwrap();
    assert!(pending.nonce().is_none());
    let (state, code) = NodeServer::redirect_back(pending.url().as_str()).await;
    let code = pending.callback(&state, code).unwrap();
    client
        .start_session("authorization_code", key, code, vec![])
        .await
        .unwrap()
}

/// How many token requests of `grant` reached the server.
async fn count(server: &NodeServer, grant: &str) -> u64 {
    let counts: serde_json::Value =
        serde_json::from_str(&server.text("/test/counts").await).unwrap();
    counts[grant].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn code_with_pkce_through_rfc8414_metadata_starts_a_session_that_refreshes_with_rotation() {
    let server = server();
    let clock = ManualClock::new();
    let client = client(&server, Settings::default().clock(clock.clone()));
    let session = connect(&client, "user-1").await;
    let first = session.access_token().await.unwrap();
    let first_refresh = session.refresh_token().unwrap();
    clock.advance(Duration::from_secs(601));
    let second = session.access_token().await.unwrap();
    assert_ne!(second.expose_secret(), first.expose_secret());
    let rotated = session.refresh_token().unwrap();
    assert_ne!(
        rotated.expose_secret(),
        first_refresh.expose_secret(),
        "the server rotated it"
    );
    assert_eq!(count(&server, "refresh_token").await, 1);
    // The rotated one works; the spent one does not.
    clock.advance(Duration::from_secs(601));
    session
        .access_token()
        .await
        .expect("refreshed with the rotated token");
}

#[tokio::test]
async fn two_processes_refreshing_at_once_send_one_refresh_and_both_end_with_the_new_token() {
    let server = server();
    let clock = ManualClock::new();
    let store = Arc::new(MemoryStore::new());
    let process = || {
        client(
            &server,
            Settings::default()
                .clock(clock.clone())
                .store(store.clone()),
        )
    };
    let (first, second) = (process(), process());
    connect(&first, "user-2").await;
    let ours = first.session("user-2").await.unwrap().unwrap();
    let theirs = second.session("user-2").await.unwrap().expect("shared");
    clock.advance(Duration::from_secs(601));
    let (a, b) = tokio::join!(ours.access_token(), theirs.access_token());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.expose_secret(),
        b.expose_secret(),
        "both hold the new token"
    );
    assert_eq!(
        count(&server, "refresh_token").await,
        1,
        "one refresh reached the server"
    );
    assert_eq!(
        ours.refresh_token().unwrap().expose_secret(),
        theirs.refresh_token().unwrap().expose_secret()
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_the_session_with_its_key() {
    let server = server();
    let clock = ManualClock::new();
    let client = client(&server, Settings::default().clock(clock.clone()));
    let session = connect(&client, "user-3").await;
    NodeServer::http()
        .post(format!("{}/test/revoke-all", server.issuer))
        .send()
        .await
        .unwrap();
    clock.advance(Duration::from_secs(601));
    let error = session.access_token().await.unwrap_err();
    assert_eq!(error.ended_session(), Some("user-3"), "{error}");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_after_exactly_one_request() {
    let server = server();
    let client = client_as(&server, provider(), ID, "wrong", Settings::default());
    let pending = client.authorization_request("read").await.unwrap();
    let (state, code) = NodeServer::redirect_back(pending.url().as_str()).await;
    let code = pending.callback(&state, code).unwrap();
    let error = client
        .start_session("authorization_code", "user-4", code, vec![])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("invalid_client"), "{error}");
    assert!(matches!(error, Error::Rejected { .. }));
    assert_eq!(count(&server, "authorization_code").await, 1);
}

#[tokio::test]
async fn the_builder_can_send_the_credentials_in_the_body_instead() {
    let server = server();
    let clock = ManualClock::new();
    let client = client(
        &server,
        Settings::default()
            .clock(clock.clone())
            .client_auth_choice("client_secret_post"),
    );
    let session = connect(&client, "user-5").await;
    clock.advance(Duration::from_secs(601));
    session
        .access_token()
        .await
        .expect("client_secret_post accepted");
}

#[tokio::test]
async fn ending_a_session_revokes_its_refresh_token_at_the_discovered_endpoint() {
    let server = server();
    let clock = ManualClock::new();
    let client = client(&server, Settings::default().clock(clock.clone()));
    let session = connect(&client, "user-6").await;
    let kept = session.refresh_token().unwrap();
    session.end().await.expect("revoked");
    // Restored from the refresh token it had, the session cannot refresh any more.
    let restored = client.restore_session("user-6", kept);
    let error = restored.access_token().await.unwrap_err();
    assert_eq!(error.ended_session(), Some("user-6"), "{error}");
}

#[tokio::test]
async fn a_server_that_does_not_decode_basic_credentials_takes_them_raw() {
    // @node-oauth/oauth2-server reads the Basic header as it comes: `raw` reaches it, and the
    // percent-encoded form of a secret with spaces does not (docs/spec-format.md, "Basic
    // encodings").
    let server = server();
    let mut percent = provider().clone();
    percent.client_auth_choices = slice(vec![
        BASIC,
        ClientAuth {
            name: "client_secret_basic_percent",
            basic: Some(BasicEncoding::Percent),
            ..BASIC
        },
    ]);
    let percent: &'static Provider = leak(percent);
    let (id, secret) = ("spaced client", "s3cr3t with spaces");
    let raw = client_as(&server, percent, id, secret, Settings::default());
    connect(&raw, "user-7").await;
    let encoded = client_as(
        &server,
        percent,
        id,
        secret,
        Settings::default().client_auth_choice("client_secret_basic_percent"),
    );
    let pending = encoded.authorization_request("read").await.unwrap();
    let (state, code) = NodeServer::redirect_back(pending.url().as_str()).await;
    let code = pending.callback(&state, code).unwrap();
    let error = encoded
        .start_session("authorization_code", "user-8", code, vec![])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("invalid_client"), "{error}");
}
