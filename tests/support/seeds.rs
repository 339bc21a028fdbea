//! Strict local stand-ins for the five seed providers' token endpoints and one protected API
//! endpoint each, on 127.0.0.1. Each accepts exactly the request its document describes and
//! answers anything else the way a strict server would: wrong credentials placement, a missing
//! `grant_type`, a wrong content type or the token in the wrong header all fail.
//!
//! Shared by the integration tests (`tests/providers.rs`) and the runnable examples.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Which document a server follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// 000: Basic header, form body with `validity_period`, Bearer on API calls.
    FaciConnect,
    /// 001 + 002: query-string credentials on `/api/token` and `/api/token/v2`, `AccessToken`.
    Fanbase,
    /// 003: Basic header, form body with `scope`; `lifetime` 300 (production) or 420.
    Bs2 { lifetime: u64 },
    /// 004: JSON body, an HS256 JWT whose `exp` is the only expiry.
    Bfluence { lifetime: u64 },
    /// Google's token endpoint for service accounts: the JWT-bearer grant, the assertion
    /// verified against the service account's public key; tokens live `lifetime` seconds.
    Google { lifetime: u64 },
}

pub const CLIENT_ID: &str = "partner-client";
pub const CLIENT_SECRET: &str = "partner-secret+/=";
/// The one authorization code Fanbase's stand-in accepts, once.
pub const GOOD_CODE: &str = "50b98752-ac5e-4bf3-a59b-7456f9f58685";
pub const BS2_SCOPES: [&str; 8] = [
    "cob.write",
    "cob.read",
    "dict.write",
    "dict.read",
    "webhook.read",
    "webhook.write",
    "pix.read",
    "pix.write",
];
/// The service-account key file the Google stand-in knows (a test key; see tests/fixtures).
pub const GOOGLE_KEY_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/service-account.json"
);
/// Its public key, which the stand-in verifies assertions with.
const GOOGLE_PUBLIC_KEY: &str = include_str!("../fixtures/service-account-public.pem");
/// The service account of that key file.
pub const GOOGLE_ACCOUNT: &str = "token-tests@tokenspec-tests.iam.gserviceaccount.com";
/// The scope the stand-in grants.
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";
/// The key Bfluence's stand-in signs its JWTs with.
const HS256_KEY: &[u8] = b"bfluence-signing-key";

/// What a stand-in has seen and issued.
#[derive(Debug, Default)]
pub struct State {
    /// Token requests accepted.
    pub tokens_issued: usize,
    /// Token requests refused, with the reason.
    pub refused: Vec<String>,
    /// API calls answered 200.
    pub api_ok: usize,
    /// API calls answered 401.
    pub api_unauthorized: usize,
    /// Tokens the API accepts.
    valid: BTreeSet<String>,
    /// Codes already exchanged.
    used_codes: BTreeSet<String>,
}

/// A running stand-in.
pub struct SeedServer {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
    seed: Seed,
}

impl SeedServer {
    pub async fn start(seed: Seed) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(Handler {
                seed,
                state: state.clone(),
            })
            .mount(&server)
            .await;
        SeedServer {
            server,
            state,
            seed,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every token issued so far invalid, as when a provider rotates keys or tokens expire
    /// on its side: the API answers `401` to them.
    pub fn revoke_all(&self) {
        self.state().valid.clear();
    }

    /// The protected API endpoint of this provider (method, path).
    pub fn api(&self) -> (&'static str, &'static str) {
        match self.seed {
            Seed::FaciConnect => ("POST", "/facipaypartner/createPaymentOrder"),
            Seed::Fanbase => ("GET", "/api/connect/fans/me"),
            Seed::Bs2 { .. } => ("GET", "/pix/direto/forintegration/v1/pix/cob"),
            Seed::Bfluence { .. } => ("GET", "/communities/hub/client/123/get-bflus"),
            Seed::Google { .. } => ("GET", "/storage/v1/b"),
        }
    }
}

struct Handler {
    seed: Seed,
    state: Arc<Mutex<State>>,
}

/// An ID token as Fanbase signs them: HS256 with the client's secret
/// (fb-apidocs.pages.dev/en/authentication/validation.html: "The signature must be checked
/// using the client_secret", `algorithms: ['HS256']`).
pub fn fanbase_id_token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
    )
    .expect("signs")
}

/// Signs ID tokens with ES256 and publishes the key as a JWK, as OpenID providers with a
/// JWKS do.
pub struct Signer {
    pkcs8: Vec<u8>,
    jwk: Value,
    kid: String,
}

impl Signer {
    /// A fresh P-256 key published under key id `kid`.
    pub fn with_kid(kid: &str) -> Self {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("key")
            .as_ref()
            .to_vec();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng).expect("key");
        let point = pair.public_key().as_ref(); // 0x04 || X || Y
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Signer {
            pkcs8,
            jwk,
            kid: kid.to_owned(),
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// An ES256 JWT over `claims`, with this signer's key id.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .expect("signs")
    }
}

fn refuse(state: &mut State, status: u16, body: Value) -> ResponseTemplate {
    state.refused.push(body.to_string());
    ResponseTemplate::new(status).set_body_json(body)
}

fn oauth_error(state: &mut State, status: u16, code: &str, why: &str) -> ResponseTemplate {
    refuse(
        state,
        status,
        json!({"error": code, "error_description": why}),
    )
}

fn header(r: &Request, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn query(r: &Request) -> BTreeMap<String, String> {
    r.url.query_pairs().into_owned().collect()
}

fn form(r: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An HS256-signed JWT, as Bfluence issues.
pub fn hs256_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS256_KEY);
    let signature = ring::hmac::sign(&key, format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

impl Respond for Handler {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        let path = r.url.path();
        let method = r.method.as_str();
        match (self.seed, method, path) {
            (Seed::FaciConnect, "POST", "/token") => faciconnect_token(state, r),
            (Seed::Fanbase, "POST", "/api/token") => fanbase_token(state, r),
            (Seed::Fanbase, "POST", "/api/token/v2") => fanbase_token_v2(state, r),
            (Seed::Bs2 { lifetime }, "POST", "/auth/oauth/v2/token") => {
                bs2_token(state, r, lifetime)
            }
            (Seed::Bfluence { lifetime }, "POST", "/auth/token") => {
                bfluence_token(state, r, lifetime)
            }
            (Seed::Google { lifetime }, "POST", "/token") => google_token(state, r, lifetime),
            (Seed::FaciConnect, "POST", "/facipaypartner/createPaymentOrder")
            | (Seed::Bs2 { .. }, "GET", "/pix/direto/forintegration/v1/pix/cob")
            | (Seed::Bfluence { .. }, "GET", "/communities/hub/client/123/get-bflus")
            | (Seed::Google { .. }, "GET", "/storage/v1/b") => {
                let token = header(r, "authorization")
                    .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned));
                api(state, token)
            }
            (Seed::Fanbase, "GET", "/api/connect/fans/me") => {
                if header(r, "authorization").is_some() {
                    state.api_unauthorized += 1;
                    return ResponseTemplate::new(401)
                        .set_body_string("the token goes in the AccessToken header");
                }
                api(state, header(r, "accesstoken"))
            }
            _ => refuse(
                state,
                404,
                json!({"error": "not_found", "error_description": format!("no {method} {path} here")}),
            ),
        }
    }
}

fn api(state: &mut State, token: Option<String>) -> ResponseTemplate {
    match token {
        Some(t) if state.valid.contains(&t) => {
            state.api_ok += 1;
            ResponseTemplate::new(200).set_body_json(json!({"ok": true}))
        }
        _ => {
            state.api_unauthorized += 1;
            ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"}))
        }
    }
}

fn issue(state: &mut State, prefix: &str) -> String {
    state.tokens_issued += 1;
    let token = format!("{prefix}-{}", state.tokens_issued);
    state.valid.insert(token.clone());
    token
}

/// Both FaciConnect and Bs2 want `Authorization: Basic base64(id:secret)` and a form body.
fn basic_and_form(state: &mut State, r: &Request) -> Result<(), Box<ResponseTemplate>> {
    if header(r, "authorization") != Some(basic(CLIENT_ID, CLIENT_SECRET)) {
        let why = "Basic credentials missing or wrong";
        return Err(Box::new(oauth_error(state, 401, "invalid_client", why)));
    }
    if header(r, "content-type").as_deref() != Some("application/x-www-form-urlencoded") {
        let why = "Content-Type must be application/x-www-form-urlencoded";
        return Err(Box::new(oauth_error(state, 400, "invalid_request", why)));
    }
    Ok(())
}

/// 000: `POST /token`, `Authorization: Basic base64(id:secret)`, form body
/// `grant_type=client_credentials&validity_period=3600`.
fn faciconnect_token(state: &mut State, r: &Request) -> ResponseTemplate {
    if let Err(refused) = basic_and_form(state, r) {
        return *refused;
    }
    if r.url.query().is_some() {
        return oauth_error(
            state,
            400,
            "invalid_request",
            "no query parameters are accepted",
        );
    }
    let body = form(r);
    let keys: BTreeSet<&str> = body.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["grant_type", "validity_period"]) {
        return oauth_error(
            state,
            400,
            "invalid_request",
            "the body must hold grant_type and validity_period only",
        );
    }
    if body["grant_type"] != "client_credentials" {
        return oauth_error(
            state,
            400,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    let Ok(validity) = body["validity_period"].parse::<u64>() else {
        return oauth_error(
            state,
            400,
            "invalid_request",
            "validity_period must be a number of seconds",
        );
    };
    let token = issue(state, "faci");
    ResponseTemplate::new(200).set_body_json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": validity}),
    )
}

/// Fanbase credentials and parameters go in the query string only; no body, no content type,
/// no Authorization header. The refusal is boxed: it is the rare path.
fn fanbase_checks(
    state: &mut State,
    r: &Request,
    expected: &[&str],
    missing_message: &str,
) -> Result<BTreeMap<String, String>, Box<ResponseTemplate>> {
    if !r.body.is_empty()
        || header(r, "content-type").is_some()
        || header(r, "authorization").is_some()
    {
        return Err(Box::new(refuse(
            state,
            400,
            json!({"message": missing_message}),
        )));
    }
    let q = query(r);
    let keys: BTreeSet<&str> = q.keys().map(String::as_str).collect();
    if !expected.iter().all(|k| keys.contains(k)) {
        return Err(Box::new(refuse(
            state,
            400,
            json!({"message": missing_message}),
        )));
    }
    Ok(q)
}

/// 001: `POST /api/token?grant_type=client_credentials&client_id=…&client_secret=…`.
fn fanbase_token(state: &mut State, r: &Request) -> ResponseTemplate {
    let q = match fanbase_checks(
        state,
        r,
        &["grant_type", "client_id", "client_secret"],
        "invalid_request",
    ) {
        Ok(q) => q,
        Err(refused) => return *refused,
    };
    if q["grant_type"] != "client_credentials" {
        return refuse(state, 400, json!({"error": "unsupported_grant_type"}));
    }
    if q["client_id"] != CLIENT_ID || q["client_secret"] != CLIENT_SECRET {
        return refuse(state, 401, json!({"error": "invalid_client"}));
    }
    let token = issue(state, "fanbase");
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "refresh_token_aqui",
        "scope": "fbserver openid profile ownersecret fanaccount accountdeletion fanbaseaccountpermission fullaccountcheck setpwd"
    }))
}

/// The stand-in's own base URL, which it uses as its issuer.
pub fn issuer_of(r: &Request) -> String {
    format!("http://{}", header(r, "host").unwrap_or_default())
}

/// 002: `POST /api/token/v2?grant_type=authorization_code&client_id=…&client_secret=…&code=…`,
/// with its five documented error messages; the ID token as Fanbase documents it (`iss`
/// "fanbase", HS256 with the client secret).
fn fanbase_token_v2(state: &mut State, r: &Request) -> ResponseTemplate {
    const MISSING: &str = "The request is missing a parameter";
    let q = match fanbase_checks(
        state,
        r,
        &["grant_type", "client_id", "client_secret", "code"],
        MISSING,
    ) {
        Ok(q) => q,
        Err(refused) => return *refused,
    };
    if q["client_id"] != CLIENT_ID {
        return refuse(
            state,
            400,
            json!({"message": "The informed Client ID is invalid"}),
        );
    }
    if q["client_secret"] != CLIENT_SECRET {
        return refuse(
            state,
            400,
            json!({"message": "The informed Client Secret does not match the correct secret"}),
        );
    }
    if q["grant_type"] != "authorization_code" {
        return refuse(
            state,
            400,
            json!({"message": "The informed Grant Type is invalid or not implemented"}),
        );
    }
    if q["code"] != GOOD_CODE || !state.used_codes.insert(q["code"].clone()) {
        return refuse(
            state,
            400,
            json!({"message": "The informed authorization code is invalid"}),
        );
    }
    let token = issue(state, "fanbase-v2");
    let now = unix_now();
    let claims =
        json!({"iss": "fanbase", "sub": "fan-1", "aud": CLIENT_ID, "iat": now, "exp": now + 3600});
    let id_token = fanbase_id_token(&claims);
    ResponseTemplate::new(200).set_body_json(json!({
        "id_token": id_token,
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "12c270b0-5512-40e8-ci0c-f67d50489486",
        "scope": "profile"
    }))
}

/// 003: `POST /auth/oauth/v2/token`, Basic header, form body `grant_type` + space-separated
/// `scope` from the fixed list.
fn bs2_token(state: &mut State, r: &Request, lifetime: u64) -> ResponseTemplate {
    if let Err(refused) = basic_and_form(state, r) {
        return *refused;
    }
    let body = form(r);
    let keys: BTreeSet<&str> = body.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["grant_type", "scope"]) || r.url.query().is_some() {
        return oauth_error(
            state,
            400,
            "invalid_request",
            "the body must hold grant_type and scope only",
        );
    }
    if body["grant_type"] != "client_credentials" {
        return oauth_error(
            state,
            400,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    let scopes: Vec<&str> = body["scope"].split(' ').collect();
    if scopes.is_empty() || scopes.iter().any(|s| !BS2_SCOPES.contains(s)) {
        return oauth_error(
            state,
            400,
            "invalid_scope",
            "scopes are space-separated values of the documented list",
        );
    }
    let token = issue(state, "bs2");
    ResponseTemplate::new(200).set_body_json(json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": body["scope"]}))
}

/// 004: `POST /auth/token`, `Content-Type: application/json`, `{client_id, client_secret}`.
fn bfluence_token(state: &mut State, r: &Request, lifetime: u64) -> ResponseTemplate {
    if header(r, "content-type").as_deref() != Some("application/json") {
        return refuse(
            state,
            415,
            json!({"message": "Content-Type must be application/json"}),
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&r.body) else {
        return refuse(state, 400, json!({"message": "body must be a JSON object"}));
    };
    let keys: BTreeSet<&str> = body.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["client_id", "client_secret"])
        || header(r, "authorization").is_some()
    {
        return refuse(
            state,
            400,
            json!({"message": "send client_id and client_secret in the JSON body only"}),
        );
    }
    if body["client_id"] != CLIENT_ID || body["client_secret"] != CLIENT_SECRET {
        return refuse(state, 401, json!({"message": "invalid credentials"}));
    }
    state.tokens_issued += 1;
    let jwt = hs256_jwt(
        &json!({"community": "comunidade-1", "permissions": ["bflus:read"], "n": state.tokens_issued, "exp": unix_now() + lifetime}),
    );
    state.valid.insert(jwt.clone());
    ResponseTemplate::new(200).set_body_json(json!({"access_token": jwt}))
}

/// The first characters of a secret and its length, for printing.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    let shown: String = secret.chars().take((count / 3).min(6)).collect();
    format!("{shown}… ({count} chars)")
}

/// Google service accounts: `POST /token`, form body `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
/// and `assertion`, no client authentication. The assertion must be an RS256 JWT signed by the
/// service account's key (`kid` its key id), `iss` the account, `aud` Google's token endpoint,
/// a `scope` the stand-in grants, and `exp` at most an hour after `iat`.
fn google_token(state: &mut State, r: &Request, lifetime: u64) -> ResponseTemplate {
    if header(r, "content-type").as_deref() != Some("application/x-www-form-urlencoded") {
        let why = "Content-Type must be application/x-www-form-urlencoded";
        return oauth_error(state, 400, "invalid_request", why);
    }
    if header(r, "authorization").is_some() {
        let why = "no client authentication with the JWT-bearer grant";
        return oauth_error(state, 400, "invalid_request", why);
    }
    let body = form(r);
    let keys: BTreeSet<&str> = body.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["assertion", "grant_type"]) {
        let why = "the body must hold grant_type and assertion only";
        return oauth_error(state, 400, "invalid_request", why);
    }
    if body["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error(state, 400, "unsupported_grant_type", "only jwt-bearer");
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(GOOGLE_PUBLIC_KEY.as_bytes()).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["https://oauth2.googleapis.com/token"]);
    validation.set_issuer(&[GOOGLE_ACCOUNT]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims = match jsonwebtoken::decode::<Value>(&body["assertion"], &key, &validation) {
        Ok(data) if data.header.kid.as_deref() == Some("tokenspec-test-key-1") => data.claims,
        Ok(_) => return oauth_error(state, 400, "invalid_grant", "unknown key id"),
        Err(e) => return oauth_error(state, 400, "invalid_grant", &format!("invalid JWT: {e}")),
    };
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    if !matches!((iat, exp), (Some(iat), Some(exp)) if exp > iat && exp - iat <= 3600) {
        return oauth_error(
            state,
            400,
            "invalid_grant",
            "exp must be within an hour of iat",
        );
    }
    if claims["scope"].as_str() != Some(GOOGLE_SCOPE) {
        return oauth_error(
            state,
            400,
            "invalid_scope",
            "the scope claim is missing or not granted",
        );
    }
    if claims
        .get("sub")
        .is_some_and(|sub| sub != "admin@tokenspec-tests.example")
    {
        return oauth_error(
            state,
            401,
            "unauthorized_client",
            "not authorized to act for that user",
        );
    }
    let token = issue(state, "ya29.test");
    ResponseTemplate::new(200).set_body_json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime}),
    )
}
