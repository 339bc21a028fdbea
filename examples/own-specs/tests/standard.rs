//! The client generated from `specs/standard.yaml` against a local RFC 6749 server: the
//! builder's client authentication method, the redirect URI given once, and a user's session
//! started from the authorization request and renewed through the refresh grant.

use std::collections::HashMap;

use serde_json::json;
use tokenspec_own_specs_example::standard::{self, ClientAuthMethod};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const REDIRECT: &str = "https://app.example/callback";

/// Issues `at-N`/`rt-N` for a code or a refresh token, and remembers each request.
struct Server;

impl Respond for Server {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let n = match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => 1,
            Some("refresh_token") => 2,
            _ => {
                return ResponseTemplate::new(400)
                    .set_body_json(json!({"error": "unsupported_grant_type"}));
            }
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("at-{n}"), "refresh_token": format!("rt-{n}"),
            "token_type": "Bearer", "expires_in": 1, "scope": "read",
        }))
    }
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Server)
        .mount(&server)
        .await;
    server
}

fn builder(server: &MockServer) -> standard::ClientBuilder {
    standard::Client::builder()
        .environment(standard::Environment::Local {
            port: server.address().port().to_string(),
        })
        .client_id("app id")
        .client_secret("s3cr3t with space")
        .redirect_uri(REDIRECT)
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn the_first_listed_method_is_the_default_and_the_builder_picks_another() {
    let server = server().await;
    let basic = builder(&server).build().unwrap();
    basic
        .exchange_code(tokenspec::AuthorizationCode::external("c1"))
        .await
        .unwrap();
    let post = builder(&server)
        .client_auth_method(ClientAuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    post.exchange_code(tokenspec::AuthorizationCode::external("c2"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        "Basic YXBwJTIwaWQ6czNjcjN0JTIwd2l0aCUyMHNwYWNl",
        "percent-encoded Basic: base64(app%20id:s3cr3t%20with%20space)"
    );
    assert!(!form(&requests[0]).contains_key("client_secret"));
    assert!(requests[1].headers.get("authorization").is_none());
    let body = form(&requests[1]);
    assert_eq!(body["client_id"], "app id");
    assert_eq!(body["client_secret"], "s3cr3t with space");
    assert_eq!(
        body["redirect_uri"], REDIRECT,
        "declared once, on the builder"
    );
}

#[tokio::test]
async fn a_user_logs_in_and_the_session_renews_through_the_refresh_grant() {
    let server = server().await;
    let client = builder(&server).build().unwrap();
    let pending = client.authorization_request("read").await.unwrap();
    assert_eq!(pending.url().path(), "/authorize");
    assert!(pending.nonce().is_none(), "no OpenID, no nonce");
    let state = pending.state().to_owned();
    let code = pending.callback(&state, "the-code").unwrap();
    let session = client.start_session("user-1", code).await.unwrap();
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "at-1"
    );
    // The token lives one second, so it is renewed at once (half its lifetime).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let mut renewed = session.access_token().await.unwrap();
    for _ in 0..50 {
        if renewed.expose_secret() == "at-2" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        renewed = session.access_token().await.unwrap();
    }
    assert_eq!(renewed.expose_secret(), "at-2");
    assert_eq!(
        session.refresh_token().unwrap().expose_secret(),
        "rt-2",
        "rotated"
    );
    let restored =
        client.restore_session("user-2", tokenspec::RefreshToken::from("rt-1".to_owned()));
    assert_eq!(
        restored.access_token().await.unwrap().expose_secret(),
        "at-2"
    );
}
