//! Errors keep their causes: `source()` chains reach the underlying failure, each message is
//! printed once by reporters that walk the chain, and each failure is named for what failed.

mod support;

use std::error::Error as _;

use serde_json::json;
use support::*;
use tokenspec::{Error, Settings, TokenClient, TransportKind, fanbase};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every message of an error's chain, outermost first.
fn messages(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        out.push(cause.to_string());
        next = cause.source();
    }
    out
}

/// No message of the chain repeats a message below it.
fn each_printed_once(chain: &[String]) {
    for (i, outer) in chain.iter().enumerate() {
        for inner in &chain[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats its cause {inner:?}: {chain:#?}"
            );
        }
    }
}

/// A port on 127.0.0.1 where nothing listens.
fn client(base: &str) -> TokenClient {
    let settings = Settings::default()
        .client_id("errors-client")
        .client_secret("errors-secret")
        .base_url(base)
        .retry(tokenspec::RetryPolicy::NONE);
    TokenClient::new(
        provider(client_credentials_flow(), vec![]),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

#[tokio::test]
async fn a_transport_error_chains_to_the_io_error_underneath_and_prints_each_message_once() {
    let e = client(&dead_port_url()).access_token().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e}"
    );
    let chain = messages(&e);
    assert!(
        chain.len() >= 3,
        "the HTTP stack's causes are kept: {chain:#?}"
    );
    assert!(
        chain.iter().any(|m| m.to_lowercase().contains("refused")),
        "the operating system's reason is in the chain: {chain:#?}"
    );
    each_printed_once(&chain);
    assert!(
        chain.iter().all(|m| !m.contains("127.0.0.1")),
        "no URL in any message: {chain:#?}"
    );
    assert_eq!(e.chain().to_string(), chain.join(": "));
}

/// A generated Fanbase client whose token requests go to `base`, without retries.
fn fanbase_at(base: &str) -> fanbase::Client {
    fanbase::Client::builder()
        .environment(fanbase::Environment::Homologation)
        .client_id("id")
        .client_secret("secret")
        .settings(|s| s.base_url(base).retry(tokenspec::RetryPolicy::NONE))
        .build()
        .expect("valid client")
}

#[tokio::test]
async fn a_generated_error_is_transparent_over_the_runtime_error() {
    let client = fanbase_at(&dead_port_url());
    let e = client.access_token().await.unwrap_err();
    let chain = messages(&e);
    each_printed_once(&chain);
    assert_eq!(chain, messages(e.runtime()), "the same chain, once");
}

#[test]
fn a_generated_error_converts_back_to_the_runtime_error_for_mixed_code() {
    fn mixed() -> Result<(), Error> {
        // `?` on the module's error and on the runtime's in one function.
        fanbase::Client::builder().build()?;
        Ok(())
    }
    assert!(matches!(mixed(), Err(Error::Config(_))));
}

#[test]
fn a_generated_builder_fails_with_the_modules_own_error() {
    // The annotation is the test: `build()` returns `fanbase::Error`, like every other method.
    let e: fanbase::Error = fanbase::Client::builder().build().unwrap_err();
    assert!(matches!(e, fanbase::Error::Other(Error::Config(_))), "{e}");
    assert!(e.to_string().contains("no environment chosen"), "{e}");
}

#[tokio::test]
async fn a_failed_api_call_is_an_api_error_not_a_token_request_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": 60})),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let e = client
        .send(http.get(format!("{}/api", dead_port_url())))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Api {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("the API request failed"), "{e}");
    assert!(e.source().is_some(), "the cause is kept");
    each_printed_once(&messages(&e));
}

async fn fanbase_answering(body: serde_json::Value) -> fanbase::Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .mount(&server)
        .await;
    let client = fanbase_at(&server.uri());
    client.access_token().await.unwrap_err()
}

#[tokio::test]
async fn rfc6749_error_codes_are_typed_for_every_provider_and_documented_errors_come_first() {
    for (code, typed) in [
        ("invalid_request", "InvalidRequest"),
        ("invalid_client", "InvalidClient"),
        ("invalid_grant", "InvalidGrant"),
        ("unauthorized_client", "UnauthorizedClient"),
        ("unsupported_grant_type", "UnsupportedGrantType"),
        ("invalid_scope", "InvalidScope"),
    ] {
        let e = fanbase_answering(json!({"error": code})).await;
        assert!(
            format!("{e:?}").starts_with(typed),
            "`{code}` is fanbase::Error::{typed}: {e:?}"
        );
    }
    // Fanbase documents this message; its own variant wins over the standard code.
    let e = fanbase_answering(json!({
        "error": "invalid_request",
        "error_description": "The request is missing a parameter"
    }))
    .await;
    assert!(matches!(e, fanbase::Error::MissingParameter(_)), "{e:?}");
    let e = fanbase_answering(json!({"error": "slow_down"})).await;
    assert!(matches!(e, fanbase::Error::Other(_)), "{e:?}");
}
