//! Interoperability over mutual TLS with node-oidc-provider (an OpenID Certified
//! implementation) serving HTTPS with a test CA made at run time: RFC 8705 `tls_client_auth`
//! and `self_signed_tls_client_auth` clients get certificate-bound access tokens, checked by
//! introspection (`cnf.x5t#S256`); `private_key_jwt` and `client_secret_jwt` work over the
//! same TLS; certificates the provider does not know are refused as `invalid_client`.

mod support;

#[path = "support/tls_server.rs"]
mod tls_server;

use serde_json::Value;
use support::node_server::NodeServer;
use support::*;
use tls_server::{Issued, Pki};
use tokenspec::__private::descriptor::*;
use tokenspec::{ClientIdentity, Settings, TokenClient};

/// node-oidc-provider over HTTPS, and the CA its server certificate and the `tls-client`
/// certificates come from.
struct Op {
    server: NodeServer,
    pki: Pki,
    self_signed: Issued,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start() -> Op {
    let pki = Pki::new("OP test CA");
    let server_cert = pki.server();
    let self_signed = Pki::self_signed("self-signed-client");
    let dir = std::env::temp_dir().join(format!(
        "tokenspec-oidc-mtls-{}-{}",
        std::process::id(),
        unix_now_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [
        ("server.pem", server_cert.cert_pem.as_str()),
        ("server.key", server_cert.key_pem.as_str()),
        ("ca.pem", &pki.ca_pem()),
        ("self-signed.pem", self_signed.cert_pem.as_str()),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let server = NodeServer::start_with(
        "oidc",
        "oidc-provider",
        &[],
        &[("TLS_DIR", dir.to_str().unwrap())],
    );
    assert!(
        server.issuer.starts_with("https://127.0.0.1:"),
        "{}",
        server.issuer
    );
    Op {
        server,
        pki,
        self_signed,
        _dir: TempDir(dir),
    }
}

fn unix_now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn identity(issued: &Issued) -> ClientIdentity {
    ClientIdentity::from_pem(&issued.cert_pem, &issued.key_pem).unwrap()
}

fn provider_with(client_auth: ClientAuth) -> &'static Provider {
    let mut f = client_credentials_flow();
    f.path = Some("/token");
    f.client_auth = client_auth;
    f.params = slice(vec![
        fixed("grant_type", Location::Body, "client_credentials"),
        fixed("scope", Location::Body, "api:read"),
    ]);
    provider(f, vec![])
}

const CERTIFICATE: ClientAuth = ClientAuth {
    name: "tls_client_auth",
    certificate: true,
    ..ClientAuth::NONE
};

fn client(op: &Op, auth: ClientAuth, id: &str, settings: Settings) -> TokenClient {
    TokenClient::new(
        provider_with(auth),
        settings
            .client_id(id)
            .base_url(op.server.issuer.clone())
            .root_certificates(op.pki.ca_pem()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("client")
}

/// What the provider's introspection endpoint says of `token` (asked by a Basic client).
async fn introspect(op: &Op, http: &reqwest::Client, token: &str) -> Value {
    http.post(format!("{}/token/introspection", op.server.issuer))
        .basic_auth(
            "basic-client",
            Some("basic-secret-0123456789abcdef0123456789abcdef"),
        )
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn tls_client_auth_gets_a_token_bound_to_the_client_certificate() {
    let op = start();
    let cert = op.pki.client("tls-client");
    let client = client(
        &op,
        CERTIFICATE,
        "tls-client",
        Settings::default().client_identity(identity(&cert)),
    );
    let token = client
        .access_token()
        .await
        .expect("authenticated by its certificate");
    let http = client.http_client().unwrap();
    let introspected = introspect(&op, &http, token.expose_secret()).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["client_id"], "tls-client");
    assert_eq!(
        introspected["cnf"]["x5t#S256"],
        cert.thumbprint(),
        "RFC 8705 §3: the token is bound to the certificate the client presented"
    );
}

#[tokio::test]
async fn self_signed_tls_client_auth_gets_a_token_bound_to_the_registered_certificate() {
    let op = start();
    let client = client(
        &op,
        CERTIFICATE,
        "self-signed-client",
        Settings::default().client_identity(identity(&op.self_signed)),
    );
    let token = client
        .access_token()
        .await
        .expect("authenticated by its registered certificate");
    let http = client.http_client().unwrap();
    let introspected = introspect(&op, &http, token.expose_secret()).await;
    assert_eq!(introspected["cnf"]["x5t#S256"], op.self_signed.thumbprint());
}

#[tokio::test]
async fn certificates_the_provider_does_not_know_are_refused_as_invalid_client() {
    let op = start();
    // The right CA, another subject.
    let wrong_subject = op.pki.client("someone-else");
    let refused = client(
        &op,
        CERTIFICATE,
        "tls-client",
        Settings::default().client_identity(identity(&wrong_subject)),
    )
    .access_token()
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"), "{refused}");
    // A self-signed certificate, but not the registered one.
    let other = Pki::self_signed("self-signed-client");
    let refused = client(
        &op,
        CERTIFICATE,
        "self-signed-client",
        Settings::default().client_identity(identity(&other)),
    )
    .access_token()
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("invalid_client"), "{refused}");
}

#[tokio::test]
async fn signed_client_assertions_work_over_the_same_tls() {
    let op = start();
    let secret_jwt = ClientAuth {
        name: "client_secret_jwt",
        assertion: Some(Assertion {
            signer: Signer::ClientSecret,
            algorithm: "HS256",
            audience: None,
            lifetime_secs: 60,
        }),
        ..ClientAuth::NONE
    };
    let token = client(
        &op,
        secret_jwt,
        "secretjwt-client",
        Settings::default().client_secret("secret-jwt-0123456789abcdef0123456789abcdef"),
    )
    .access_token()
    .await
    .expect("client_secret_jwt over TLS");
    assert!(!token.expose_secret().is_empty());

    // The private_key_jwt client's key, fetched over the provider's HTTPS.
    let fetcher = client(
        &op,
        secret_jwt,
        "secretjwt-client",
        Settings::default().client_secret("x"),
    );
    let key: Value = fetcher
        .http_client()
        .unwrap()
        .get(format!("{}/test/client-key.pem", op.server.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_key = tokenspec::ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap());
    let private_key_jwt = ClientAuth {
        name: "private_key_jwt",
        assertion: Some(Assertion {
            signer: Signer::PrivateKey,
            algorithm: "RS256",
            audience: None,
            lifetime_secs: 60,
        }),
        ..ClientAuth::NONE
    };
    client(
        &op,
        private_key_jwt,
        "pkjwt-client",
        Settings::default().client_key(client_key),
    )
    .access_token()
    .await
    .expect("private_key_jwt over TLS");
}
