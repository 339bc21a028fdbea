//! The JWT-bearer grant (RFC 7523 §2.1): the shipped `google_service_account` client signs its
//! grant with a service account's key file and a local stand-in of Google's token endpoint
//! verifies it; the grant's claims as a spec declares them; and every mistake with a key file, a
//! clear error before any request.

mod support;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use support::seeds::{GOOGLE_ACCOUNT, GOOGLE_KEY_FILE, GOOGLE_SCOPE, Seed, SeedServer};
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::google_service_account as google;
use tokenspec::{ServiceAccountKey, Settings, TokenClient};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn account() -> ServiceAccountKey {
    ServiceAccountKey::from_file(GOOGLE_KEY_FILE).expect("the test key file loads")
}

fn google_client(
    server: &SeedServer,
    configure: impl FnOnce(google::ClientBuilder) -> google::ClientBuilder,
) -> google::Client {
    let account = account();
    let base = server.uri();
    configure(
        google::Client::builder()
            .client_id(account.client_email())
            .client_key(account.client_key())
            .settings(|s| s.base_url(base)),
    )
    .build()
    .expect("a client with its key")
}

/// The claims of a JWT, unverified (the stand-in verified it).
fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test]
async fn a_service_account_key_file_gets_a_token_whose_assertion_google_s_stand_in_verifies() {
    let server = SeedServer::start(Seed::Google { lifetime: 3599 }).await;
    let client = google_client(&server, |b| b.scopes(GOOGLE_SCOPE));
    let token = client
        .access_token()
        .await
        .expect("the stand-in verified the assertion");
    assert_eq!(token.lifetime().as_secs(), 3599);
    for _ in 0..100 {
        client.access_token().await.unwrap();
    }
    assert_eq!(
        server.state().tokens_issued,
        1,
        "one grant per token lifetime"
    );
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let answer = client
        .send(http.get(format!("{}/storage/v1/b", server.uri())))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let requests = server.server.received_requests().await.unwrap();
    let grant = form(&requests[0].body);
    let claims = claims_of(&grant["assertion"]);
    assert_eq!(claims["iss"], GOOGLE_ACCOUNT);
    assert_eq!(
        claims["scope"], GOOGLE_SCOPE,
        "Google takes the scope as a claim"
    );
    assert!(
        claims.get("sub").is_none(),
        "no `sub` unless the application acts for a user: {claims}"
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60,
        "the spec's assertion lifetime"
    );
    assert!(
        !grant.contains_key("scope"),
        "the scope travels inside the JWT only"
    );
}

#[tokio::test]
async fn the_subject_claim_is_sent_when_set_and_a_refused_one_is_a_typed_error() {
    let server = SeedServer::start(Seed::Google { lifetime: 3599 }).await;
    let acting = google_client(&server, |b| {
        b.scopes(GOOGLE_SCOPE)
            .subject("admin@tokenspec-tests.example")
    });
    acting
        .access_token()
        .await
        .expect("delegation to a user the stand-in allows");
    let requests = server.server.received_requests().await.unwrap();
    let claims = claims_of(&form(&requests[0].body)["assertion"]);
    assert_eq!(claims["sub"], "admin@tokenspec-tests.example");

    let refused = google_client(&server, |b| {
        b.scopes(GOOGLE_SCOPE).subject("someone@else.example")
    })
    .access_token()
    .await
    .unwrap_err();
    assert!(
        matches!(refused, google::Error::UnauthorizedClient(_)),
        "{refused:?}"
    );
    let wrong_scope = google_client(&server, |b| {
        b.scopes("https://www.googleapis.com/auth/drive")
    })
    .access_token()
    .await
    .unwrap_err();
    assert!(
        matches!(wrong_scope, google::Error::InvalidScope(_)),
        "{wrong_scope:?}"
    );
}

#[test]
fn a_google_client_without_its_key_or_scopes_fails_when_built() {
    let missing_key = google::Client::builder()
        .client_id(GOOGLE_ACCOUNT)
        .scopes(GOOGLE_SCOPE)
        .build()
        .unwrap_err();
    assert!(
        missing_key.to_string().contains("client_key"),
        "{missing_key}"
    );
    let missing_scope = google::Client::builder()
        .client_id(GOOGLE_ACCOUNT)
        .client_key(account().client_key())
        .build()
        .unwrap_err();
    assert!(
        missing_scope.to_string().contains("scopes"),
        "{missing_scope}"
    );
}

#[test]
fn key_file_mistakes_are_clear_errors_that_never_show_the_key() {
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(GOOGLE_KEY_FILE).unwrap()).unwrap();
    let private_key = good["private_key"].as_str().unwrap().to_owned();
    let key_body = private_key.lines().nth(5).unwrap().to_owned();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut file = good.clone();
        change(&mut file);
        ServiceAccountKey::from_json(file.to_string())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            ServiceAccountKey::from_json(&private_key[..40])
                .map(|_| ())
                .unwrap_err()
                .to_string(),
            "not the JSON Google issues",
        ),
        (
            with(&|f| f["type"] = json!("authorized_user")),
            "not `service_account`",
        ),
        (
            with(&|f| {
                f.as_object_mut()
                    .unwrap()
                    .retain(|k, _| k != "client_email")
            }),
            "no `client_email`",
        ),
        (
            with(&|f| f.as_object_mut().unwrap().retain(|k, _| k != "private_key")),
            "no `private_key`",
        ),
        (
            with(&|f| f["private_key"] = json!(private_key.replace(&key_body, &"A".repeat(64)))),
            "not a PEM private key",
        ),
        (
            ServiceAccountKey::from_file("/nonexistent/service-account.json")
                .map(|_| ())
                .unwrap_err()
                .to_string(),
            "could not read the service-account key file",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.contains(expected),
            "{message:?} should say {expected:?}"
        );
        assert!(
            !message.contains(&key_body) && !message.contains("PRIVATE KEY"),
            "{message}"
        );
    }
    let debug = format!("{:?}", account());
    assert!(
        debug.contains(GOOGLE_ACCOUNT) && !debug.contains(&key_body),
        "{debug}"
    );
    assert_eq!(
        account().token_uri(),
        Some("https://oauth2.googleapis.com/token")
    );
}

/// A JWT-bearer flow as a spec declares it: HS256 with the secret, a fixed claim and a `scope`
/// claim from the builder, no `sub` declared, a five-minute assertion.
fn hs256_grant() -> &'static Provider {
    let mut f = flow(
        auth(None, vec![]),
        Body::Form,
        vec![
            fixed(
                "grant_type",
                Location::Body,
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ),
            fixed("target", Location::Assertion, "reports"),
            Param {
                name: "scope",
                location: Location::Assertion,
                source: Source::Config(0),
            },
        ],
        EXPIRES_IN,
    );
    f.grant = Grant::JwtBearer(Assertion {
        signer: Signer::ClientSecret,
        algorithm: "HS256",
        audience: None,
        lifetime_secs: 300,
    });
    let p = provider(f, vec![]);
    let mut p = p.clone();
    p.config = slice(vec![Slot {
        name: "scope",
        required: true,
    }]);
    leak(p)
}

#[tokio::test]
async fn a_grant_assertion_carries_iss_sub_aud_its_lifetime_and_the_declared_claims() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "granted", "expires_in": 600})),
        )
        .mount(&server)
        .await;
    let secret = "a-shared-secret-of-at-least-32-bytes!";
    let client = TokenClient::new(
        hs256_grant(),
        Settings::default()
            .client_id("reporting-app")
            .client_secret(secret)
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![Some(tokenspec::__private::ParamValue::Text(
            "read write".into(),
        ))],
    )
    .unwrap();
    client.access_token().await.expect("token");
    let requests = server.received_requests().await.unwrap();
    let grant = form(&requests[0].body);
    assert!(
        !grant.contains_key("client_secret") && requests[0].headers.get("authorization").is_none()
    );
    let endpoint = format!("{}/oauth/token", server.uri());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[endpoint.as_str()]);
    validation.set_issuer(&["reporting-app"]);
    let claims = jsonwebtoken::decode::<Value>(
        &grant["assertion"],
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("signed with the client secret")
    .claims;
    assert_eq!(
        claims["sub"], "reporting-app",
        "RFC 7523 §3: sub, the client when no other"
    );
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["target"], "reports");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        300
    );
    assert!(claims.get("jti").is_none() && !grant.contains_key("target"));
}
