//! Secretless clients: a token the platform writes and rotates on disk (a Kubernetes projected
//! service-account token, a CI job's OIDC token) sent as a token-exchange `subject_token`
//! (`type: secret_file`, as Google's Security Token Service takes it) or as a federated client
//! assertion (`assertion: federated`, as Entra ID's federated credentials take it), read again at
//! every renewal and never printed, against a local server on 127.0.0.1.

mod support;

use serde_json::json;
use support::{leak, slice};
use tokenspec::__private::ParamValue;
use tokenspec::__private::descriptor::*;
use tokenspec::{Settings, TokenClient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn body(name: &'static str, source: Source) -> Param {
    Param {
        name,
        location: Location::Body,
        source,
    }
}

/// A token exchange (RFC 8693) whose subject token is the builder's `subject_token` setting.
fn provider() -> &'static Provider {
    let text = |value| Source::Fixed(Literal::Text(value));
    leak(Provider {
        name: "local_sts",
        title: "Local STS",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        flows: slice(vec![Flow {
            name: "exchange",
            grant: Grant::Custom,
            path: Some("/v1/token"),
            params: slice(vec![
                body("grant_type", text(TOKEN_EXCHANGE)),
                body(
                    "subject_token_type",
                    text("urn:ietf:params:oauth:token-type:jwt"),
                ),
                body("subject_token", Source::Config(0)),
            ]),
            ..Flow::DEFAULT
        }]),
        cached_flow: Some(0),
        config: slice(vec![Slot {
            name: "subject_token",
            required: true,
        }]),
        ..Provider::DEFAULT
    })
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "federated-access",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3600,
        })))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, file: &std::path::Path) -> TokenClient {
    TokenClient::new(
        provider(),
        Settings::default().base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![Some(ParamValue::File(file.to_owned()))],
    )
    .expect("valid client")
}

/// The `subject_token` of each token request the server received.
async fn subject_tokens(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "subject_token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

fn token_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenspec-secretless-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[tokio::test]
async fn a_token_file_is_read_again_at_every_renewal() {
    let server = server().await;
    let file = token_file("rotated");
    // Kubernetes writes the token with no line end; editors and `echo` add one.
    std::fs::write(&file, "first.projected.token\n").unwrap();
    let client = client(&server, &file);
    let token = client.access_token().await.unwrap();
    assert_eq!(token.expose_secret(), "federated-access");
    // The kubelet rotates the token in place; the next renewal sends the new one.
    std::fs::write(&file, "second.projected.token").unwrap();
    client.invalidate(&token);
    client.access_token().await.unwrap();
    assert_eq!(
        subject_tokens(&server).await,
        ["first.projected.token", "second.projected.token"]
    );
}

#[tokio::test]
async fn a_missing_or_empty_token_file_is_a_clear_error_that_names_the_path() {
    let server = server().await;
    let file = token_file("missing");
    let _ = std::fs::remove_file(&file);
    let client = client(&server, &file);
    let missing = client.access_token().await.unwrap_err();
    let text = missing.to_string();
    assert!(
        text.contains("could not read the token file") && text.contains(&*file.to_string_lossy()),
        "{text}"
    );
    std::fs::write(&file, "  \n").unwrap();
    let empty = client.access_token().await.unwrap_err();
    assert!(empty.to_string().contains("is empty"), "{empty}");
    assert!(subject_tokens(&server).await.is_empty(), "nothing was sent");
    let _ = std::fs::remove_file(&file);
}

/// A client credentials grant authenticated with a client assertion another identity provider
/// issued (`client_auth: { assertion: federated }`), as Entra ID's federated credentials take it.
fn federated() -> &'static Provider {
    let auth = ClientAuth {
        name: "federated_assertion",
        assertion: Some(Assertion {
            signer: Signer::Federated,
            algorithm: "",
            audience: None,
            lifetime_secs: 0,
        }),
        ..ClientAuth::NONE
    };
    leak(Provider {
        name: "local_federated",
        title: "Local Federated",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        flows: slice(vec![Flow {
            name: "client_credentials",
            path: Some("/oauth2/v2.0/token"),
            client_auth: auth,
            params: slice(vec![body(
                "grant_type",
                Source::Fixed(Literal::Text("client_credentials")),
            )]),
            ..Flow::DEFAULT
        }]),
        cached_flow: Some(0),
        ..Provider::DEFAULT
    })
}

fn federated_client(
    server: &MockServer,
    file: Option<&std::path::Path>,
) -> Result<TokenClient, tokenspec::Error> {
    let mut settings = Settings::default()
        .client_id("97e0a5b7-d745-40b6-94fe-5f77d35c6e05")
        .base_url(server.uri());
    if let Some(file) = file {
        settings = settings.client_assertion_file(file);
    }
    TokenClient::new(federated(), settings, "https://unused.invalid", &[], vec![])
}

/// The form of each token request the server received.
async fn forms(server: &MockServer) -> Vec<Vec<(String, String)>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect())
        .collect()
}

#[tokio::test]
async fn a_federated_client_assertion_is_read_from_its_file_at_every_renewal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "entra", "expires_in": 3599})),
        )
        .mount(&server)
        .await;
    let file = token_file("azure-identity-token");
    std::fs::write(&file, "first.federated.jwt").unwrap();
    let client = federated_client(&server, Some(&file)).unwrap();
    let token = client.access_token().await.unwrap();
    std::fs::write(&file, "second.federated.jwt").unwrap();
    client.invalidate(&token);
    client.access_token().await.unwrap();
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let sent = forms(&server).await;
    assert_eq!(
        sent[0],
        [
            pair("client_id", "97e0a5b7-d745-40b6-94fe-5f77d35c6e05"),
            pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ),
            pair("client_assertion", "first.federated.jwt"),
            pair("grant_type", "client_credentials"),
        ]
    );
    assert_eq!(sent[1][2], pair("client_assertion", "second.federated.jwt"));
}

#[tokio::test]
async fn a_federated_client_needs_its_file_and_never_prints_the_assertion() {
    let server = MockServer::start().await;
    // Entra quotes a refused assertion back ("AADSTS700024: Client assertion is not within its
    // valid time range"); a server that echoes it must not put it in the error.
    let file = token_file("expired-federated");
    std::fs::write(&file, "expired.federated.jwt").unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS700024: Client assertion expired.federated.jwt is not within its valid time range.",
        })))
        .mount(&server)
        .await;
    let missing = federated_client(&server, None).unwrap_err();
    assert!(
        missing.to_string().contains("client_assertion_file"),
        "{missing}"
    );
    let refused = federated_client(&server, Some(&file))
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"));
    let shown = format!("{refused} {refused:?}");
    assert!(shown.contains("AADSTS700024"), "{shown}");
    assert!(!shown.contains("expired.federated.jwt"), "{shown}");
}
