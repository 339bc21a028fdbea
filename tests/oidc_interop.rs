//! Interoperability with a certified OpenID provider: node-oidc-provider (pinned in
//! `tests/oidc/package.json`, installed by `scripts/test.sh`) started on 127.0.0.1 for each test.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::node_server::NodeServer;
use support::{leak, slice};
use tokenspec::__private::descriptor::*;
use tokenspec::__private::{Fields, FromFields, ParamValue};
use tokenspec::oidc::{IdTokenClaims, IdTokenError};
use tokenspec::{AuthorizationCode, Error, RefreshToken, Settings, TokenClient};

const BASIC_ID: &str = "basic-client";
const BASIC_SECRET: &str = "basic-secret-0123456789abcdef0123456789abcdef";
const POST_ID: &str = "post client:1/+&=";
const POST_SECRET: &str = "p@ss:w0rd+/=& %-0123456789abcdef0123456789abcdef";
const REDIRECT: &str = "http://127.0.0.1/callback";

fn start() -> NodeServer {
    NodeServer::start("oidc", "oidc-provider")
}

fn call(name: &'static str) -> Param {
    Param {
        name,
        location: Location::Body,
        source: Source::Call(0),
    }
}

fn fixed(name: &'static str, value: &'static str) -> Param {
    Param {
        name,
        location: Location::Body,
        source: Source::Fixed(Literal::Text(value)),
    }
}

const FIELDS: &[Field] = &[
    Field {
        key: "refresh_token",
        paths: &[&["refresh_token"]],
        kind: FieldKind::Secret,
        required: false,
    },
    Field {
        key: "id_token",
        paths: &[&["id_token"]],
        kind: FieldKind::Secret,
        required: false,
    },
    Field {
        key: "scope",
        paths: &[&["scope"]],
        kind: FieldKind::Text,
        required: false,
    },
];

fn flow(
    name: &'static str,
    grant: Grant,
    auth: ClientAuth,
    params: Vec<Param>,
    call_params: Vec<Slot>,
) -> Flow {
    Flow {
        name,
        grant,
        path: Some("/token"),
        client_auth: auth,
        params: slice(params),
        call_params: slice(call_params),
        fields: FIELDS,
        ..Flow::DEFAULT
    }
}

/// The local provider as a spec would describe it: a cached client-credentials flow, the
/// code exchange with PKCE and the refresh grant, and ID tokens signed RS256 or ES256.
fn provider(auth: ClientAuth) -> &'static Provider {
    let code = Slot {
        name: "code",
        required: true,
    };
    let refresh = Slot {
        name: "refresh_token",
        required: true,
    };
    leak(Provider {
        name: "local_oidc",
        title: "node-oidc-provider",
        allow_insecure_http: true,
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        openid: Some(OpenId {
            issuer: None,
            algorithms: &["RS256", "ES256"],
            jwks_path: None,
            authorization_path: None,
            leeway_secs: 30,
        }),
        flows: slice(vec![
            flow(
                "client_credentials",
                Grant::ClientCredentials,
                auth,
                vec![
                    fixed("grant_type", "client_credentials"),
                    fixed("scope", "api:read"),
                ],
                vec![],
            ),
            flow(
                "exchange_code",
                Grant::AuthorizationCode,
                auth,
                // The redirect URI and the PKCE verifier come from the pending authorization.
                vec![fixed("grant_type", "authorization_code"), call("code")],
                vec![code],
            ),
            flow(
                "refresh",
                Grant::RefreshToken,
                auth,
                vec![fixed("grant_type", "refresh_token"), call("refresh_token")],
                vec![refresh],
            ),
        ]),
        cached_flow: Some(0),
        ..Provider::DEFAULT
    })
}

const BASIC: ClientAuth = ClientAuth {
    name: "client_secret_basic",
    basic: Some(BasicEncoding::Rfc6749),
    ..ClientAuth::NONE
};
const POST: ClientAuth = ClientAuth {
    name: "client_secret_post",
    params: &[Location::Body],
    ..ClientAuth::NONE
};

fn client(
    op: &NodeServer,
    auth: ClientAuth,
    id: &str,
    secret: &str,
    settings: Settings,
) -> TokenClient {
    let settings = settings
        .client_id(id)
        .client_secret(secret)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(
        provider(auth),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

#[derive(Debug)]
struct Tokens {
    refresh_token: Option<RefreshToken>,
    claims: Option<IdTokenClaims>,
}

impl FromFields for Tokens {
    fn from_fields(fields: &mut Fields) -> Result<Self, Error> {
        Ok(Tokens {
            refresh_token: fields.take("refresh_token"),
            claims: fields.take("id_token_claims"),
        })
    }
}

#[tokio::test]
async fn client_credentials_with_client_secret_basic() {
    let op = start();
    let token = client(&op, BASIC, BASIC_ID, BASIC_SECRET, Settings::default())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(600));
}

#[tokio::test]
async fn client_credentials_with_client_secret_basic_encodes_special_characters_per_rfc6749() {
    let op = start();
    let (id, secret) = (
        "basic client:2/+&=",
        "b@sic:s3cret+/=& %-0123456789abcdef0123456789abcdef",
    );
    let token = client(&op, BASIC, id, secret, Settings::default())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(600));
}

#[tokio::test]
async fn client_credentials_with_client_secret_basic_percent_encoded_is_accepted_too() {
    let op = start();
    let (id, secret) = (
        "basic client:2/+&=",
        "b@sic:s3cret+/=& %-0123456789abcdef0123456789abcdef",
    );
    let percent = ClientAuth {
        basic: Some(BasicEncoding::Percent),
        ..BASIC
    };
    let token = client(&op, percent, id, secret, Settings::default())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(600));
}

#[tokio::test]
async fn client_credentials_with_client_secret_post_and_an_id_and_secret_that_need_encoding() {
    let op = start();
    let token = client(&op, POST, POST_ID, POST_SECRET, Settings::default())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(600));
    let before = grants(&op, "client_credentials").await;
    let wrong = client(&op, POST, POST_ID, "wrong", Settings::default())
        .access_token()
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("invalid_client"));
    assert_eq!(
        grants(&op, "client_credentials").await - before,
        1,
        "refused credentials are not retried"
    );
}

/// Follows the authorization request through the provider's (automatic) login and consent
/// and returns the code it redirected back with, checked against the request's `state`.
async fn authorize(client: &TokenClient) -> (AuthorizationCode, Option<String>) {
    let pending = client
        .authorization_request("openid offline_access")
        .await
        .unwrap()
        .with_parameter("prompt", "consent")
        .unwrap();
    let nonce = pending.nonce().map(str::to_owned);
    let back = follow(pending.url().as_str())
        .await
        .expect("the provider redirects back");
    let code = pending
        .callback(&back["state"], back["code"].clone())
        .expect("state comes back unchanged");
    (code, nonce)
}

/// Follows `url` through the provider's login and consent back to [`REDIRECT`].
async fn follow(url: &str) -> Result<std::collections::HashMap<String, String>, u16> {
    NodeServer::follow(url, REDIRECT).await
}

#[tokio::test]
async fn authorization_code_with_pkce_returns_a_validated_rs256_id_token_and_refresh_rotates() {
    let op = start();
    let persisted: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = persisted.clone();
    let settings = Settings::default()
        .on_refresh_token(move |t| sink.lock().unwrap().push(t.expose_secret().to_owned()));
    let client = client(&op, BASIC, BASIC_ID, BASIC_SECRET, settings);
    let (code, nonce) = authorize(&client).await;
    let tokens = client
        .exchange_code::<Tokens>("exchange_code", code, vec![None])
        .await
        .unwrap();
    let claims = tokens.fields.claims.expect("validated claims");
    assert_eq!(
        (claims.sub.as_str(), claims.iss.as_str()),
        ("user-1", op.issuer.as_str())
    );
    assert_eq!(claims.nonce, nonce);
    let first = tokens
        .fields
        .refresh_token
        .expect("a refresh token (offline_access)");

    // Refresh: the provider rotates the refresh token; the client keeps the new one and tells the hook.
    let refreshed = client
        .request::<Tokens>(
            "refresh",
            vec![Some(ParamValue::Secret(first.expose_secret().into()))],
        )
        .await
        .unwrap();
    let second = refreshed
        .fields
        .refresh_token
        .expect("a rotated refresh token");
    assert_ne!(second.expose_secret(), first.expose_secret());
    assert_eq!(
        client
            .refresh_token()
            .map(|t| t.expose_secret().to_owned())
            .as_deref(),
        Some(second.expose_secret())
    );
    assert_eq!(
        *persisted.lock().unwrap(),
        [
            first.expose_secret().to_owned(),
            second.expose_secret().to_owned()
        ]
    );
    // The rotated-out token no longer works.
    let reused = client
        .request::<Tokens>(
            "refresh",
            vec![Some(ParamValue::Secret(first.expose_secret().into()))],
        )
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Some("invalid_grant"));
}

fn refused(e: Error) -> IdTokenError {
    match e {
        Error::IdToken(e) => e,
        other => panic!("expected an ID-token error, got {other}"),
    }
}

#[tokio::test]
async fn forged_and_invalid_id_tokens_are_refused_each_for_its_reason() {
    let op = start();
    let client = client(&op, BASIC, BASIC_ID, BASIC_SECRET, Settings::default());
    let validate = |token: String| {
        let client = client.clone();
        async move {
            client
                .validate_id_token(&token.into(), Some("expected-nonce"))
                .await
        }
    };
    assert_eq!(
        validate(op.text("/test/forge/valid").await)
            .await
            .unwrap()
            .sub,
        "user-1"
    );
    assert_eq!(
        validate(op.text("/test/forge/valid-es256").await)
            .await
            .unwrap()
            .sub,
        "user-1"
    );
    type Check = fn(&IdTokenError) -> bool;
    let cases: [(&str, Check); 9] = [
        ("tampered", |e| matches!(e, IdTokenError::BadSignature)),
        ("other-key", |e| matches!(e, IdTokenError::BadSignature)),
        ("embedded-jwk", |e| matches!(e, IdTokenError::UnknownKey(_))),
        ("wrong-aud", |e| matches!(e, IdTokenError::WrongAudience(_))),
        ("multi-aud-no-azp", |e| {
            matches!(e, IdTokenError::WrongAudience(_))
        }),
        ("wrong-iss", |e| {
            matches!(e, IdTokenError::WrongIssuer { .. })
        }),
        ("expired", |e| matches!(e, IdTokenError::Expired)),
        ("wrong-nonce", |e| matches!(e, IdTokenError::WrongNonce)),
        (
            "alg-none",
            |e| matches!(e, IdTokenError::AlgorithmNotAllowed(a) if a == "none"),
        ),
    ];
    for (case, expected) in cases {
        let error = refused(
            validate(op.text(&format!("/test/forge/{case}")).await)
                .await
                .unwrap_err(),
        );
        assert!(expected(&error), "{case}: {error}");
    }
}

#[tokio::test]
async fn id_token_times_are_checked_on_the_clients_clock() {
    let op = start();
    let on_the_system_clock = client(&op, BASIC, BASIC_ID, BASIC_SECRET, Settings::default());
    let ahead = tokenspec::clock::ManualClock::new();
    ahead.advance(std::time::Duration::from_secs(2 * 3600));
    let two_hours_ahead = client(
        &op,
        BASIC,
        BASIC_ID,
        BASIC_SECRET,
        Settings::default().clock(ahead),
    );
    let validate = |client: &TokenClient, token: String| {
        let client = client.clone();
        async move {
            client
                .validate_id_token(&token.into(), Some("expected-nonce"))
                .await
        }
    };
    // Issued an hour from now: not yet issued for the system clock, issued an hour ago for a
    // clock two hours ahead.
    let later = op.text("/test/forge/issued-in-an-hour").await;
    assert!(matches!(
        refused(
            validate(&on_the_system_clock, later.clone())
                .await
                .unwrap_err()
        ),
        IdTokenError::BadIssueTime
    ));
    validate(&two_hours_ahead, later)
        .await
        .expect("iat is checked on the client's clock");
    // Valid for ten minutes from now: expired for a clock two hours ahead.
    let valid = op.text("/test/forge/valid").await;
    validate(&on_the_system_clock, valid.clone())
        .await
        .expect("valid now");
    assert!(matches!(
        refused(validate(&two_hours_ahead, valid).await.unwrap_err()),
        IdTokenError::Expired
    ));
}

#[tokio::test]
async fn an_unknown_key_id_refreshes_the_jwks_once_per_interval() {
    let op = start();
    let client = client(&op, BASIC, BASIC_ID, BASIC_SECRET, Settings::default());
    client
        .validate_id_token(&op.text("/test/forge/valid").await.into(), None)
        .await
        .unwrap();
    assert_eq!(op.text("/test/jwks-count").await, "1");
    for _ in 0..3 {
        let forged = op.text("/test/forge/embedded-jwk").await;
        assert!(matches!(
            refused(
                client
                    .validate_id_token(&forged.into(), None)
                    .await
                    .unwrap_err()
            ),
            IdTokenError::UnknownKey(_)
        ));
    }
    assert_eq!(
        op.text("/test/jwks-count").await,
        "1",
        "unknown kids do not refetch within the interval"
    );
}

/// How many token requests of `grant` reached the provider.
async fn grants(op: &NodeServer, grant: &str) -> u64 {
    let counts: serde_json::Value = serde_json::from_str(&op.text("/test/counts").await).unwrap();
    counts[grant].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn sessions_rotate_and_two_processes_refreshing_at_once_send_one_refresh() {
    let op = start();
    let clock = tokenspec::clock::ManualClock::new();
    let store = Arc::new(tokenspec::store::MemoryStore::new());
    let process = || {
        let settings = Settings::default()
            .clock(clock.clone())
            .store(store.clone());
        client(&op, BASIC, BASIC_ID, BASIC_SECRET, settings)
    };
    let (first, second) = (process(), process());
    let (code, _) = authorize(&first).await;
    let session = first
        .start_session("exchange_code", "user-1", code, vec![None])
        .await
        .unwrap();
    let issued = session
        .refresh_token()
        .expect("offline_access gives a refresh token");
    let claims = session
        .id_token_claims()
        .expect("the validated ID token's claims");
    assert_eq!(claims.sub, "user-1");
    let theirs = second
        .session("user-1")
        .await
        .unwrap()
        .expect("shared through the store");

    clock.advance(Duration::from_secs(601));
    let (a, b) = tokio::join!(session.access_token(), theirs.access_token());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.expose_secret(),
        b.expose_secret(),
        "both hold the new token"
    );
    assert_eq!(
        grants(&op, "refresh_token").await,
        1,
        "one refresh reached the provider"
    );
    let rotated = theirs.refresh_token().unwrap();
    assert_ne!(
        rotated.expose_secret(),
        issued.expose_secret(),
        "the provider rotated it"
    );
    assert_eq!(
        session.refresh_token().unwrap().expose_secret(),
        rotated.expose_secret()
    );
    assert_eq!(
        theirs.id_token_claims().map(|c| c.sub).as_deref(),
        Some("user-1"),
        "the user's claims outlive refreshes and travel through the store"
    );
}

#[tokio::test]
async fn a_refresh_token_revoked_at_the_provider_ends_the_session_with_its_key() {
    let op = start();
    let clock = tokenspec::clock::ManualClock::new();
    let client = client(
        &op,
        BASIC,
        BASIC_ID,
        BASIC_SECRET,
        Settings::default().clock(clock.clone()),
    );
    let (code, _) = authorize(&client).await;
    let session = client
        .start_session("exchange_code", "user-2", code, vec![None])
        .await
        .unwrap();
    let refresh = session.refresh_token().unwrap();
    let revoked = NodeServer::http()
        .post(format!("{}/token/revocation", op.issuer))
        .basic_auth(BASIC_ID, Some(BASIC_SECRET))
        .form(&[
            ("token", refresh.expose_secret()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    clock.advance(Duration::from_secs(601));
    let error = session.access_token().await.unwrap_err();
    assert_eq!(error.ended_session(), Some("user-2"), "{error}");
    assert!(client.session("user-2").await.unwrap().is_none());
}

/// A signed assertion instead of a secret on the wire (RFC 7523).
fn assertion(signer: Signer, algorithm: &'static str) -> ClientAuth {
    ClientAuth {
        assertion: Some(Assertion {
            signer,
            algorithm,
            audience: None,
            lifetime_secs: 60,
        }),
        ..POST
    }
}

#[tokio::test]
async fn private_key_jwt_with_an_rs256_client_key_gets_a_token() {
    let op = start();
    let key: serde_json::Value =
        serde_json::from_str(&op.text("/test/client-key.pem").await).unwrap();
    let client_key = tokenspec::ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap());
    let settings = Settings::default().client_key(client_key);
    let token = client(
        &op,
        assertion(Signer::PrivateKey, "RS256"),
        "pkjwt-client",
        "unused",
        settings,
    )
    .access_token()
    .await
    .expect("the provider verified the assertion with the client's registered key");
    assert_eq!(token.lifetime(), Duration::from_secs(600));
    // Another key (the right type, not registered) is refused as `invalid_client`.
    let other = tokenspec::ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid("not-registered");
    let refused = client(
        &op,
        assertion(Signer::PrivateKey, "RS256"),
        "pkjwt-client",
        "unused",
        Settings::default().client_key(other),
    )
    .access_token()
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"), "{refused}");
    assert!(
        refused.to_string().contains("clock") && refused.to_string().contains("`kid`"),
        "a refused assertion says what to check: {refused}"
    );
}

#[tokio::test]
async fn client_secret_jwt_gets_a_token_and_a_wrong_secret_is_invalid_client() {
    let op = start();
    let secret = "secret-jwt-0123456789abcdef0123456789abcdef";
    let auth = assertion(Signer::ClientSecret, "HS256");
    let token = client(&op, auth, "secretjwt-client", secret, Settings::default())
        .access_token()
        .await
        .expect("the provider verified the HS256 assertion");
    assert_eq!(token.lifetime(), Duration::from_secs(600));
    let refused = client(
        &op,
        auth,
        "secretjwt-client",
        "wrong-secret-0123456789abcdef012345",
        Settings::default(),
    )
    .access_token()
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"), "{refused}");
}

// ------------------------------------------------------------------ pushed requests (RFC 9126)

const PAR_ID: &str = "par-client";
const PAR_SECRET: &str = "par-secret-0123456789abcdef0123456789abcdef";

/// The local provider with `authorization: { par: true }`: requests are pushed to the
/// endpoint its metadata names.
fn pushing_provider() -> &'static Provider {
    let mut p = provider(BASIC).clone();
    p.authorization = Some(Authorization {
        par: Some(Par { path: None }),
        ..Authorization::DEFAULT
    });
    leak(p)
}

fn pushing_client(op: &NodeServer, p: &'static Provider) -> TokenClient {
    let settings = Settings::default()
        .client_id(PAR_ID)
        .client_secret(PAR_SECRET)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(p, settings, "https://unused.invalid", &[], vec![]).expect("valid client")
}

/// node-oidc-provider with a client that must push its requests: the browser's URL carries the
/// client id and the `request_uri` only, the user logs in and consents, and the code exchange
/// takes the pushed request's PKCE verifier and nonce.
#[tokio::test]
async fn a_pushed_authorization_request_puts_only_its_request_uri_in_the_browser() {
    let op = start();
    let client = pushing_client(&op, pushing_provider());
    let pending = client
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
        .expect("the push is accepted");
    let query: std::collections::HashMap<String, String> =
        pending.url().query_pairs().into_owned().collect();
    let mut names: Vec<&str> = query.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["client_id", "request_uri"], "{}", pending.url());
    assert_eq!(query["client_id"], PAR_ID);
    assert!(
        query["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"),
        "{}",
        query["request_uri"]
    );
    // Parameters cannot be added to the URL of a pushed request.
    let e = pending
        .with_parameter("login_hint", "user-1")
        .expect_err("a pushed request takes no URL parameters");
    assert!(e.to_string().contains("RFC 9126"), "{e}");

    let pending = client
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
        .unwrap();
    let nonce = pending.nonce().map(str::to_owned);
    let back = follow(pending.url().as_str())
        .await
        .expect("the provider redirects back");
    assert!(back.contains_key("code"), "{back:?}");
    let code = pending
        .callback(&back["state"], back["code"].clone())
        .unwrap();
    let tokens = client
        .exchange_code::<Tokens>("exchange_code", code, vec![None])
        .await
        .expect("the code of a pushed request is exchanged");
    let claims = tokens.fields.claims.expect("validated claims");
    assert_eq!(claims.nonce, nonce, "the pushed nonce comes back");
    assert!(
        tokens.fields.refresh_token.is_some(),
        "`prompt=consent` was pushed with the request"
    );
}

/// The same client without `par` sends its request in the browser's URL, which the provider
/// refuses for a client that must push: what `par` changes is what makes the login work.
#[tokio::test]
async fn a_client_that_must_push_is_refused_when_its_spec_does_not_push() {
    let op = start();
    let client = pushing_client(&op, provider(BASIC));
    let pending = client.authorization_request("openid").await.unwrap();
    assert!(
        pending
            .url()
            .query_pairs()
            .any(|(k, _)| k == "code_challenge")
    );
    match follow(pending.url().as_str()).await {
        Ok(back) => {
            assert!(!back.contains_key("code"), "{back:?}");
            assert_eq!(
                back.get("error").map(String::as_str),
                Some("invalid_request"),
                "{back:?}"
            );
        }
        Err(status) => assert_eq!(status, 400),
    }
}

/// A push the server refuses (a client it does not know) is the provider's refusal, with its
/// code, never a URL to send the user to.
#[tokio::test]
async fn a_refused_push_is_the_providers_refusal() {
    let op = start();
    let settings = Settings::default()
        .client_id("unknown-client")
        .client_secret("unknown-secret")
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    let client = TokenClient::new(
        pushing_provider(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap();
    let e = client.authorization_request("openid").await.unwrap_err();
    assert_eq!(e.code(), Some("invalid_client"), "{e}");
    assert!(!e.to_string().contains("unknown-secret"), "{e}");
}

// ------------------------------------------------------------------ Signed request objects (RFC 9101)

const JAR_ID: &str = "jar-client";

/// A PS256 JWT signed with the client's key, its audience the issuer.
const SIGNED_BY_KEY: Assertion = Assertion {
    signer: Signer::PrivateKey,
    algorithm: "PS256",
    audience: Some("{issuer}"),
    lifetime_secs: 60,
};

/// The local provider with private_key_jwt and, with `sign`, signed request objects, pushed
/// with `par`.
fn signing_provider(sign: bool, par: bool) -> &'static Provider {
    let auth = ClientAuth {
        name: "private_key_jwt",
        assertion: Some(SIGNED_BY_KEY),
        ..ClientAuth::NONE
    };
    let mut p = provider(auth).clone();
    p.authorization = Some(Authorization {
        par: par.then_some(Par { path: None }),
        request_object: sign.then_some(SIGNED_BY_KEY),
        ..Authorization::DEFAULT
    });
    leak(p)
}

async fn signing_client(op: &NodeServer, p: &'static Provider) -> TokenClient {
    let key: serde_json::Value =
        serde_json::from_str(&op.text("/test/client-key.pem").await).unwrap();
    let client_key = tokenspec::ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap());
    let settings = Settings::default()
        .client_id(JAR_ID)
        .client_key(client_key)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(p, settings, "https://unused.invalid", &[], vec![]).expect("valid client")
}

/// node-oidc-provider with a client that must sign its requests: by value in the browser's URL
/// (`client_id` and `request` only, every parameter a claim), or pushed; either way the login
/// goes through and the code exchange takes the request's PKCE verifier and nonce.
#[tokio::test]
async fn a_signed_request_object_carries_every_parameter_by_value_or_pushed() {
    let op = start();
    for par in [false, true] {
        let client = signing_client(&op, signing_provider(true, par)).await;
        let pending = client
            .authorization_request_with("openid offline_access", &[("prompt", "consent")])
            .await
            .expect("the request is signed (and pushed)");
        let sent: Vec<(String, String)> = pending.url().query_pairs().into_owned().collect();
        let names: Vec<&str> = sent.iter().map(|(k, _)| k.as_str()).collect();
        if par {
            assert_eq!(names, ["client_id", "request_uri"]);
        } else {
            assert_eq!(names, ["client_id", "request"]);
            let parts: Vec<&str> = sent[1].1.split('.').collect();
            let decode = |part: &str| -> serde_json::Value {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap();
                serde_json::from_slice(&bytes).unwrap()
            };
            let (header, claims) = (decode(parts[0]), decode(parts[1]));
            assert_eq!(header["typ"], "oauth-authz-req+jwt");
            assert_eq!(header["alg"], "PS256");
            assert_eq!(claims["iss"], JAR_ID);
            assert_eq!(claims["aud"], op.issuer.as_str());
            assert_eq!(claims["prompt"], "consent");
            assert_eq!(claims["state"], pending.state());
            assert_eq!(claims["code_challenge_method"], "S256");
            assert!(claims["exp"].as_u64() > claims["nbf"].as_u64());
        }
        let back = follow(pending.url().as_str())
            .await
            .expect("the provider redirects back");
        let code = pending
            .callback(&back["state"], back["code"].clone())
            .expect("a code, not an error");
        client
            .exchange_code::<Tokens>("exchange_code", code, vec![None])
            .await
            .expect("the code exchange takes the signed request's verifier and nonce");
    }
}

#[tokio::test]
async fn a_client_that_must_sign_is_refused_when_its_spec_does_not_sign() {
    let op = start();
    let client = signing_client(&op, signing_provider(false, false)).await;
    let pending = client.authorization_request("openid").await.unwrap();
    let back = follow(pending.url().as_str())
        .await
        .expect("the provider redirects back with its refusal");
    assert_eq!(
        back.get("error").map(String::as_str),
        Some("invalid_request")
    );
}

// ------------------------------------------------------------------ JWT-secured responses (JARM)

fn jarm_client(op: &NodeServer) -> TokenClient {
    let mut p = provider(BASIC).clone();
    p.authorization = Some(Authorization {
        jwt_response: true,
        ..Authorization::DEFAULT
    });
    let settings = Settings::default()
        .client_id(BASIC_ID)
        .client_secret(BASIC_SECRET)
        .base_url(op.issuer.clone())
        .redirect_uri(REDIRECT);
    TokenClient::new(leak(p), settings, "https://unused.invalid", &[], vec![]).unwrap()
}

/// node-oidc-provider answers `response_mode=jwt` with a `response` JWT it signed: the client
/// verifies it with the provider's keys and takes its code; a plain `callback` is refused, and
/// so is a response changed on the way.
#[tokio::test]
async fn a_jwt_secured_response_is_verified_before_its_code_is_used() {
    let op = start();
    let client = jarm_client(&op);
    let login = || async {
        let pending = client
            .authorization_request_with("openid offline_access", &[("prompt", "consent")])
            .await
            .unwrap();
        assert!(
            pending
                .url()
                .query_pairs()
                .any(|(k, v)| k == "response_mode" && v == "jwt")
        );
        let back = follow(pending.url().as_str())
            .await
            .expect("the provider redirects back");
        assert!(!back.contains_key("code"), "the code is inside the JWT");
        (pending, back["response"].clone())
    };

    let (pending, response) = login().await;
    // Kept in the user's session between the redirect out and back, as an application does.
    let kept: tokenspec::PendingAuthorization =
        serde_json::from_str(&serde_json::to_string(&pending).unwrap()).unwrap();
    let refused = kept
        .callback("any", "any")
        .expect_err("a JWT-secured request takes no plain code");
    assert!(refused.to_string().contains("callback_jwt"), "{refused}");
    let code = client
        .callback_jwt(pending, &response)
        .await
        .expect("the response verifies");
    client
        .exchange_code::<Tokens>("exchange_code", code, vec![None])
        .await
        .expect("its code is exchanged");

    // One character of the claims changed: the signature no longer verifies.
    let (pending, response) = login().await;
    let mut parts: Vec<String> = response.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let tampered = client
        .callback_jwt(pending, &parts.join("."))
        .await
        .unwrap_err();
    assert!(
        matches!(tampered, Error::AuthorizationResponse(_)),
        "{tampered:?}"
    );

    // A genuine response for another request: its state is not this request's.
    let (_, other) = login().await;
    let (pending, _) = login().await;
    let crossed = client.callback_jwt(pending, &other).await.unwrap_err();
    assert!(matches!(crossed, Error::StateMismatch), "{crossed:?}");
}

// ------------------------------------------------------------------ `iss` in the redirect (RFC 9207)

/// node-oidc-provider says in its metadata that its redirects carry `iss`: the callback takes
/// its own issuer, and refuses another server's, or a redirect without one, as a mix-up.
#[tokio::test]
async fn the_redirects_iss_must_name_the_server_the_request_went_to() {
    let op = start();
    let client = client(&op, BASIC, BASIC_ID, BASIC_SECRET, Settings::default());
    let login = || async {
        let pending = client.authorization_request("openid").await.unwrap();
        let back = follow(pending.url().as_str())
            .await
            .expect("the provider redirects back");
        (pending, back)
    };

    let (pending, back) = login().await;
    assert_eq!(back.get("iss"), Some(&op.issuer), "{back:?}");
    let code = pending
        .callback_with_issuer(&back["state"], back["code"].clone(), Some(&back["iss"]))
        .expect("its own issuer");
    client
        .exchange_code::<Tokens>("exchange_code", code, vec![None])
        .await
        .expect("the code is exchanged");

    let (pending, back) = login().await;
    let e = pending
        .callback_with_issuer(
            &back["state"],
            back["code"].clone(),
            Some("https://other-server.example"),
        )
        .unwrap_err();
    assert!(
        matches!(&e, Error::IssuerMismatch { expected, received: Some(r) }
            if *expected == op.issuer && r == "https://other-server.example"),
        "{e:?}"
    );

    let (pending, back) = login().await;
    let e = pending
        .callback_with_issuer(&back["state"], back["code"].clone(), None)
        .unwrap_err();
    assert!(
        matches!(&e, Error::IssuerMismatch { received: None, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("RFC 9207"), "{e}");

    // A forged redirect is named as such, whatever its `iss`.
    let (pending, back) = login().await;
    let e = pending
        .callback_with_issuer("forged-state", back["code"].clone(), None)
        .unwrap_err();
    assert!(matches!(e, Error::StateMismatch), "{e:?}");
}
