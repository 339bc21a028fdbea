//! The five seed providers, each through its generated client against a strict local stand-in
//! that accepts only what the provider's document describes (`tests/support/seeds.rs`).

mod support;

use std::time::Duration;

use support::seeds::*;
use tokenspec::clock::ManualClock;
use tokenspec::{AuthorizationCode, bfluence, bs2, faciconnect, fanbase};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http() -> tokenspec::reqwest::Client {
    tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("HTTP client")
}

/// Waits for background renewals to reach the stand-in.
async fn until_issued(server: &SeedServer, count: usize) {
    for _ in 0..500 {
        if server.state().tokens_issued >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the stand-in never issued token number {count}");
}

// ---------------------------------------------------------------- FaciConnect (000)

fn faci(server: &SeedServer, clock: &ManualClock) -> faciconnect::ClientBuilder {
    let (uri, clock) = (server.uri(), clock.clone());
    faciconnect::Client::builder()
        .environment(faciconnect::Environment::Production {
            host: "partner.faciconnect.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(move |s| s.base_url(uri).clock(clock))
}

#[test]
fn faciconnect_sandbox_is_the_host_of_the_api_reference_example() {
    // docs.faciconnect.com/api-reference/authentication/obter-access-token:
    // "curl --request POST --url https://sandbox.api.faciconnect.com/token".
    let (template, placeholders) = faciconnect::Environment::Sandbox.url_template();
    assert_eq!(template, "https://sandbox.api.faciconnect.com");
    assert!(placeholders.is_empty());
}

#[tokio::test]
async fn faciconnect_gets_a_token_with_basic_auth_and_validity_period_3600() {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let client = faci(&server, &ManualClock::new()).build().unwrap();
    let response = client.token_response().await.unwrap();
    assert_eq!(
        response.token.lifetime(),
        Duration::from_secs(3600),
        "validity_period defaults to 3600"
    );
    assert_eq!(response.fields.token_type.as_deref(), Some("Bearer"));
    let state = server.state();
    assert_eq!(
        (state.tokens_issued, state.refused.len()),
        (1, 0),
        "{:?}",
        state.refused
    );
}

#[tokio::test]
async fn faciconnect_validity_period_is_typed_and_sent() {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let client = faci(&server, &ManualClock::new())
        .validity_period(600)
        .build()
        .unwrap();
    assert_eq!(
        client.access_token().await.unwrap().lifetime(),
        Duration::from_secs(600)
    );
}

#[tokio::test]
async fn faciconnect_renews_about_60_seconds_before_expiry_not_on_every_call() {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let clock = ManualClock::new();
    let client = faci(&server, &clock).build().unwrap();
    let first = client.access_token().await.unwrap();
    assert_eq!(
        first.expires_at() - first.refresh_at(),
        Duration::from_secs(60)
    );
    clock.advance(Duration::from_secs(3539));
    for _ in 0..50 {
        assert!(client.access_token().await.unwrap().same_as(&first));
    }
    assert_eq!(server.state().tokens_issued, 1);
    clock.advance(Duration::from_secs(2));
    client.access_token().await.unwrap();
    until_issued(&server, 2).await;
}

#[tokio::test]
async fn faciconnect_api_call_carries_bearer_and_a_401_causes_one_refetch() {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let client = faci(&server, &ManualClock::new()).build().unwrap();
    let url = format!("{}/facipaypartner/createPaymentOrder", server.uri());
    let order = || {
        http()
            .post(&url)
            .header("Accept-Language", "pt")
            .json(&serde_json::json!({"amount": 100}))
    };
    assert_eq!(client.send(order()).await.unwrap().status(), 200);
    server.revoke_all();
    assert_eq!(client.send(order()).await.unwrap().status(), 200);
    let state = server.state();
    assert_eq!(
        (state.tokens_issued, state.api_unauthorized, state.api_ok),
        (2, 1, 2)
    );
}

#[tokio::test]
async fn faciconnect_wrong_secret_is_a_typed_invalid_client_error() {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let client = faci(&server, &ManualClock::new())
        .client_secret("wrong")
        .build()
        .unwrap();
    let error = client.access_token().await.unwrap_err();
    assert!(
        matches!(error, faciconnect::Error::InvalidClient(_)),
        "RFC 6749 codes are typed for every provider: {error}"
    );
    assert_eq!(
        (error.runtime().status(), error.runtime().code()),
        (Some(401), Some("invalid_client"))
    );
}

// ---------------------------------------------------------------- Fanbase (001, 002)

fn fan(server: &SeedServer, clock: &ManualClock) -> fanbase::ClientBuilder {
    let (uri, clock) = (server.uri(), clock.clone());
    fanbase::Client::builder()
        .environment(fanbase::Environment::Homologation)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(move |s| s.base_url(uri).clock(clock))
}

#[tokio::test]
async fn fanbase_sends_credentials_in_the_query_string_and_types_the_answer() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let client = fan(&server, &ManualClock::new()).build().unwrap();
    let response = client.token_response().await.unwrap();
    assert_eq!(response.token.lifetime(), Duration::from_secs(3600));
    assert_eq!(
        response
            .fields
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret()),
        Some("refresh_token_aqui")
    );
    assert!(
        response
            .fields
            .scope
            .as_deref()
            .is_some_and(|s| s.contains("fanaccount"))
    );
    assert_eq!(server.state().refused, Vec::<String>::new());
}

#[tokio::test]
async fn fanbase_api_calls_use_the_accesstoken_header_and_a_401_causes_one_refetch() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let client = fan(&server, &ManualClock::new()).build().unwrap();
    let url = format!("{}/api/connect/fans/me", server.uri());
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    let request = client
        .authorize(http().get(&url))
        .await
        .unwrap()
        .build()
        .unwrap();
    assert!(
        request.headers().get("authorization").is_none(),
        "no Authorization header"
    );
    assert!(
        request
            .headers()
            .get("accesstoken")
            .is_some_and(|v| !v.to_str().unwrap().starts_with("Bearer"))
    );
    server.revoke_all();
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    assert_eq!(server.state().tokens_issued, 2);
}

#[tokio::test]
async fn fanbase_v2_exchanges_a_code_for_an_id_token_once() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let client = fan(&server, &ManualClock::new()).build().unwrap();
    let answer = client
        .exchange_code(AuthorizationCode::external(GOOD_CODE))
        .await
        .unwrap();
    assert!(
        answer
            .fields
            .id_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().split('.').count() == 3)
    );
    let claims = answer
        .fields
        .id_token_claims
        .as_ref()
        .expect("the id_token was validated");
    assert_eq!(
        (claims.sub.as_str(), claims.iss.as_str()),
        ("fan-1", "fanbase"),
        "Fanbase's issuer is the name `fanbase`"
    );
    assert_eq!(claims.aud, [CLIENT_ID]);
    assert_eq!(answer.fields.scope.as_deref(), Some("profile"));
    assert_eq!(answer.fields.token_type.as_deref(), Some("Bearer"));
    assert_eq!(answer.token.lifetime(), Duration::from_secs(3600));
    let again = client
        .exchange_code(AuthorizationCode::external(GOOD_CODE))
        .await
        .unwrap_err();
    assert!(
        matches!(again, fanbase::Error::InvalidAuthorizationCode(_)),
        "{again}"
    );
}

#[tokio::test]
async fn a_fanbase_user_session_holds_the_exchanged_token_and_ends_when_it_expires() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let clock = ManualClock::new();
    let client = fan(&server, &clock).build().unwrap();
    let session = client
        .start_session("fan-1", AuthorizationCode::external(GOOD_CODE))
        .await
        .expect("the code was exchanged");
    let token = session.access_token().await.unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(3600));
    let same = client.session("fan-1").await.unwrap().expect("held");
    assert!(same.access_token().await.unwrap().same_as(&token));
    // Fanbase documents no refresh grant: past expiry the user connects again.
    clock.advance(Duration::from_secs(3601));
    let ended = session.access_token().await.unwrap_err();
    assert_eq!(ended.ended_session(), Some("fan-1"), "{ended}");
    assert!(client.session("fan-1").await.unwrap().is_none());
}

#[tokio::test]
async fn fanbase_v2_documented_errors_become_their_own_variants() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let wrong_id = fan(&server, &ManualClock::new())
        .client_id("nobody")
        .build()
        .unwrap();
    assert!(matches!(
        wrong_id
            .exchange_code(AuthorizationCode::external(GOOD_CODE))
            .await,
        Err(fanbase::Error::InvalidClientId(_))
    ));
    let wrong_secret = fan(&server, &ManualClock::new())
        .client_secret("wrong")
        .build()
        .unwrap();
    assert!(matches!(
        wrong_secret
            .exchange_code(AuthorizationCode::external(GOOD_CODE))
            .await,
        Err(fanbase::Error::ClientSecretMismatch(_))
    ));
    let client = fan(&server, &ManualClock::new()).build().unwrap();
    assert!(matches!(
        client
            .exchange_code(AuthorizationCode::external("not-a-code"))
            .await,
        Err(fanbase::Error::InvalidAuthorizationCode(_))
    ));

    // The generated client always sends every parameter and the right grant type, so the last two
    // messages come from a server answering them as Fanbase does.
    for (message, expect_missing) in [
        ("The request is missing a parameter", true),
        (
            "The informed Grant Type is invalid or not implemented",
            false,
        ),
    ] {
        let other = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": message})),
            )
            .mount(&other)
            .await;
        let uri = other.uri();
        let client = fan(&server, &ManualClock::new())
            .settings(move |s| s.base_url(uri))
            .build()
            .unwrap();
        let error = client
            .exchange_code(AuthorizationCode::external(GOOD_CODE))
            .await
            .unwrap_err();
        if expect_missing {
            assert!(
                matches!(error, fanbase::Error::MissingParameter(_)),
                "{error}"
            );
        } else {
            assert!(
                matches!(error, fanbase::Error::InvalidGrantType(_)),
                "{error}"
            );
        }
        assert!(error.to_string().contains(message), "{error}");
    }
}

// ---------------------------------------------------------------- Bs2 (003)

fn bs2_client(
    server: &SeedServer,
    clock: &ManualClock,
    environment: bs2::Environment,
) -> bs2::Client {
    let (uri, clock) = (server.uri(), clock.clone());
    bs2::Client::builder()
        .environment(environment)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .scopes([
            bs2::Scope::CobWrite,
            bs2::Scope::CobRead,
            bs2::Scope::PixRead,
        ])
        .settings(move |s| s.base_url(uri).clock(clock))
        .build()
        .unwrap()
}

#[tokio::test]
async fn bs2_sends_scopes_space_separated_with_basic_auth() {
    let server = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let client = bs2_client(
        &server,
        &ManualClock::new(),
        bs2::Environment::Production {
            host: "api.bs2.example".into(),
        },
    );
    let response = client.token_response().await.unwrap();
    assert_eq!(
        response.fields.scope.as_deref(),
        Some("cob.write cob.read pix.read")
    );
    assert_eq!(server.state().refused, Vec::<String>::new());
    assert_eq!(bs2::Scope::ALL.len(), 8);
    assert_eq!(bs2::Scope::WebhookWrite.as_str(), "webhook.write");
}

#[tokio::test]
async fn bs2_scopes_are_required() {
    let error = bs2::Client::builder()
        .environment(bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("`scopes` is required"),
        "{error}"
    );
}

#[tokio::test]
async fn bs2_300_and_420_second_tokens_are_renewed_after_240_and_360_seconds_not_on_every_call() {
    for (lifetime, renew_after) in [(300, 240), (420, 360)] {
        let server = SeedServer::start(Seed::Bs2 { lifetime }).await;
        let clock = ManualClock::new();
        let client = bs2_client(
            &server,
            &clock,
            bs2::Environment::Homologation {
                host: "apihmz.bs2.example".into(),
            },
        );
        let first = client.access_token().await.unwrap();
        assert_eq!(
            first.refresh_at() - first.issued_at(),
            Duration::from_secs(renew_after)
        );
        for _ in 0..renew_after - 1 {
            clock.advance(Duration::from_secs(1));
            client.access_token().await.unwrap();
        }
        assert_eq!(
            server.state().tokens_issued,
            1,
            "one token for {renew_after} s of calls"
        );
        clock.advance(Duration::from_secs(2));
        client.access_token().await.unwrap();
        until_issued(&server, 2).await;
    }
}

#[tokio::test]
async fn bs2_api_call_carries_bearer_and_a_401_causes_one_refetch() {
    let server = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let client = bs2_client(
        &server,
        &ManualClock::new(),
        bs2::Environment::Production {
            host: "api.bs2.example".into(),
        },
    );
    let url = format!("{}/pix/direto/forintegration/v1/pix/cob", server.uri());
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    server.revoke_all();
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    assert_eq!(server.state().tokens_issued, 2);
}

// ---------------------------------------------------------------- Bfluence (004)

fn bfl(server: &SeedServer, clock: &ManualClock) -> bfluence::Client {
    let (uri, clock) = (server.uri(), clock.clone());
    bfluence::Client::builder()
        .environment(bfluence::Environment::Production {
            host: "api.bfluence.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(move |s| s.base_url(uri).clock(clock))
        .build()
        .unwrap()
}

#[tokio::test]
async fn bfluence_sends_json_credentials_and_reads_expiry_from_the_jwt_exp() {
    let server = SeedServer::start(Seed::Bfluence { lifetime: 86_400 }).await;
    let clock = ManualClock::new();
    let client = bfl(&server, &clock);
    let token = client.access_token().await.unwrap();
    let lifetime = token.lifetime().as_secs();
    assert!(
        (86_390..=86_400).contains(&lifetime),
        "24 h from the JWT's exp, got {lifetime} s"
    );
    assert_eq!(server.state().refused, Vec::<String>::new());
    // The JWT carries whole seconds and the stand-in may read its clock a moment later: 1 s slack.
    clock.advance(Duration::from_secs(86_401));
    assert!(
        !client.access_token().await.unwrap().same_as(&token),
        "an expired JWT is replaced"
    );
    assert_eq!(server.state().tokens_issued, 2);
}

#[tokio::test]
async fn bfluence_expired_token_401_on_use_causes_one_refetch() {
    let server = SeedServer::start(Seed::Bfluence { lifetime: 86_400 }).await;
    let client = bfl(&server, &ManualClock::new());
    let url = format!("{}/communities/hub/client/123/get-bflus", server.uri());
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    server.revoke_all();
    assert_eq!(client.send(http().get(&url)).await.unwrap().status(), 200);
    let state = server.state();
    assert_eq!((state.tokens_issued, state.api_unauthorized), (2, 1));
}

// ---------------------------------------------------------------- the stand-ins are strict

async fn status(request: tokenspec::reqwest::RequestBuilder) -> u16 {
    request
        .send()
        .await
        .expect("stand-in answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn stand_ins_reject_every_deviation_from_their_documents() {
    let basic = (CLIENT_ID, Some(CLIENT_SECRET));
    let faci = SeedServer::start(Seed::FaciConnect).await;
    let url = format!("{}/token", faci.uri());
    let form = "grant_type=client_credentials&validity_period=3600";
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    assert_eq!(
        status(
            http()
                .post(&url)
                .basic_auth(basic.0, basic.1)
                .header(form_type.0, form_type.1)
                .body(form)
        )
        .await,
        200
    );
    assert_eq!(
        status(
            http()
                .post(&url)
                .header(form_type.0, form_type.1)
                .body(format!("{form}&client_id={CLIENT_ID}&client_secret=x"))
        )
        .await,
        401,
        "credentials in the body"
    );
    assert_eq!(
        status(
            http()
                .post(&url)
                .basic_auth(basic.0, basic.1)
                .header(form_type.0, form_type.1)
                .body("validity_period=3600")
        )
        .await,
        400,
        "missing grant_type"
    );
    assert_eq!(
        status(
            http()
                .post(&url)
                .basic_auth(basic.0, basic.1)
                .header("content-type", "application/json")
                .body(form)
        )
        .await,
        400,
        "wrong content type"
    );
    let api = format!("{}/facipaypartner/createPaymentOrder", faci.uri());
    assert_eq!(
        status(http().post(&api).header("AccessToken", "faci-1")).await,
        401,
        "token in the wrong header"
    );

    let fan = SeedServer::start(Seed::Fanbase).await;
    let url = format!("{}/api/token/v2", fan.uri());
    let sample = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("code", GOOD_CODE),
    ];
    assert_eq!(
        status(http().post(&url).form(&sample)).await,
        400,
        "the JS sample's form body contradicts the prose"
    );
    let token_url = format!("{}/api/token", fan.uri());
    assert_eq!(
        status(
            http()
                .post(&token_url)
                .basic_auth(basic.0, basic.1)
                .query(&[("grant_type", "client_credentials")])
        )
        .await,
        400,
        "Basic instead of query"
    );
    let ok = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    assert_eq!(status(http().post(&token_url).query(&ok)).await, 200);
    let api = format!("{}/api/connect/fans/me", fan.uri());
    assert_eq!(
        status(http().get(&api).bearer_auth("fanbase-1")).await,
        401,
        "Bearer instead of AccessToken"
    );

    let bs2 = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let url = format!("{}/auth/oauth/v2/token", bs2.uri());
    assert_eq!(
        status(http().post(&url).basic_auth(basic.0, basic.1).form(&[
            ("grant_type", "client_credentials"),
            ("scope", "cob.read,pix.read")
        ]))
        .await,
        400,
        "comma-separated scopes"
    );
    assert_eq!(
        status(
            http()
                .post(&url)
                .basic_auth(basic.0, basic.1)
                .form(&[("scope", "cob.read")])
        )
        .await,
        400,
        "missing grant_type"
    );

    let bfl = SeedServer::start(Seed::Bfluence { lifetime: 60 }).await;
    let url = format!("{}/auth/token", bfl.uri());
    assert_eq!(
        status(
            http()
                .post(&url)
                .form(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
        )
        .await,
        415,
        "form instead of JSON"
    );
    assert_eq!(
        status(
            http()
                .post(&url)
                .basic_auth(basic.0, basic.1)
                .json(&serde_json::json!({}))
        )
        .await,
        400,
        "Basic instead of JSON body"
    );
}

#[tokio::test]
async fn an_authorization_code_never_appears_in_errors_even_when_the_server_echoes_it() {
    const CODE: &str = "CODE-SENTINEL-9f8e7d";
    let echo = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"message": format!("bad code {CODE}")})),
        )
        .mount(&echo)
        .await;
    let uri = echo.uri();
    let client = fanbase::Client::builder()
        .environment(fanbase::Environment::Production)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(move |s| s.base_url(uri))
        .build()
        .unwrap();
    let error = client
        .exchange_code(AuthorizationCode::external(CODE))
        .await
        .unwrap_err();
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(CODE), "the code leaked: {text}");
        assert!(
            text.contains("[REDACTED]"),
            "the echo is shown, scrubbed: {text}"
        );
    }
}

#[tokio::test]
async fn fanbase_v2_refuses_an_id_token_that_fails_validation() {
    let server = SeedServer::start(Seed::Fanbase).await;
    let client = fan(&server, &ManualClock::new()).build().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |aud: &str, iss: &str| serde_json::json!({"iss": iss, "sub": "fan-1", "aud": aud, "iat": now, "exp": now + 600});
    let good = fanbase_id_token(&claims(CLIENT_ID, "fanbase"));
    let ok = client
        .validate_id_token(&good.clone().into(), None)
        .await
        .unwrap();
    assert_eq!(ok.sub, "fan-1");
    let wrong_aud = fanbase_id_token(&claims("someone-else", "fanbase"));
    let wrong_iss = fanbase_id_token(&claims(CLIENT_ID, "https://evil.example"));
    // Signed without the client secret: with another secret, or with a key of another
    // algorithm than the HS256 the documentation names.
    let other_secret = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(CLIENT_ID, "fanbase"),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-client-secret"),
    )
    .unwrap();
    let other_algorithm = Signer::with_kid("forged").sign(&claims(CLIENT_ID, "fanbase"));
    let mut tampered: Vec<&str> = good.split('.').collect();
    let forged_payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims("x", "y").to_string(),
    );
    tampered[1] = &forged_payload;
    for (token, what) in [
        (wrong_aud, "not meant for this client"),
        (wrong_iss, "was issued by"),
        (tampered.join("."), "signature"),
        (other_secret, "signature"),
        (other_algorithm, "does not allow"),
    ] {
        let error = client
            .validate_id_token(&token.into(), None)
            .await
            .unwrap_err();
        let text = error.runtime().chain().to_string();
        assert!(text.contains(what), "{text}");
    }
}
