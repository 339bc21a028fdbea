//! Client certificates (mutual TLS): a Pix-style provider that refuses connections without the
//! client's certificate on its token endpoint and its API, RFC 8705 `tls_client_auth` where the
//! certificate is the only credential, one TLS connection across renewals, and every mistake
//! with certificates a clear error before a server has to refuse it.

mod support;

#[path = "support/tls_server.rs"]
mod tls_server;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::*;
use tls_server::{Issued, Pki, Seen, TlsServer};
use tokenspec::__private::descriptor::*;
use tokenspec::efi;
use tokenspec::{ClientIdentity, Settings, TokenClient};

const ID: &str = "Client_Id_efi_test";
const SECRET: &str = "Client_Secret_efi_test";

fn identity(issued: &Issued) -> ClientIdentity {
    ClientIdentity::from_pem(&issued.cert_pem, &issued.key_pem).expect("a valid pair")
}

/// Efí's token endpoint and one Pix API route, as its documentation describes them: Basic
/// credentials, a JSON body `{"grant_type": "client_credentials"}`, a Bearer token on API calls;
/// the TLS layer already refused any connection without a client certificate.
fn efi_stand_in(expected_client: String) -> impl Fn(&Seen) -> (u16, String) + Send + Sync {
    let issued = std::sync::atomic::AtomicUsize::new(0);
    move |r: &Seen| {
        if r.client_certificate.as_deref() != Some(expected_client.as_str()) {
            return (
                401,
                json!({"error": "certificate not registered"}).to_string(),
            );
        }
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/oauth/token") => {
                let basic = format!("Basic {}", STANDARD.encode(format!("{ID}:{SECRET}")));
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                if r.headers.get("authorization") != Some(&basic)
                    || r.headers.get("content-type").map(String::as_str) != Some("application/json")
                    || body != json!({"grant_type": "client_credentials"})
                {
                    return (401, json!({"error": "invalid_client"}).to_string());
                }
                let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let answer = json!({
                    "access_token": format!("efi-token-{n}"),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "cob.read cob.write pix.read pix.write",
                });
                (200, answer.to_string())
            }
            ("GET", "/v2/cob") => match r.headers.get("authorization") {
                Some(h) if h.starts_with("Bearer efi-token-") => {
                    (200, json!({"cobs": []}).to_string())
                }
                _ => (401, json!({"error": "unauthorized"}).to_string()),
            },
            _ => (404, "{}".into()),
        }
    }
}

/// A builder for Efí's homologation environment, pointed at `server` and trusting its CA.
fn efi_builder(
    server: &TlsServer,
    pki: &Pki,
    identity: Option<ClientIdentity>,
) -> efi::ClientBuilder {
    let (url, ca) = (server.url.clone(), pki.ca_pem());
    let builder = efi::Client::builder()
        .environment(efi::Environment::Homologation)
        .client_id(ID)
        .client_secret(SECRET)
        .settings(move |s| s.base_url(url).root_certificates(ca));
    match identity {
        Some(identity) => builder.client_identity(identity),
        None => builder,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_efi_client_presents_its_certificate_on_token_requests_and_api_calls() {
    let pki = Pki::new("Efí test CA");
    let client_cert = pki.client("efi-application");
    let server = TlsServer::start(&pki, true, efi_stand_in(client_cert.thumbprint())).await;
    let client = efi_builder(&server, &pki, Some(identity(&client_cert)))
        .build()
        .unwrap();

    let response = client
        .token_response()
        .await
        .expect("token over mutual TLS");
    assert_eq!(response.token.lifetime().as_secs(), 3600);
    assert_eq!(
        response.fields.scope.as_deref(),
        Some("cob.read cob.write pix.read pix.write")
    );
    let http = client.http_client().unwrap();
    let answer = client
        .send(http.get(format!("{}/v2/cob", server.url)))
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "the API call carried the same certificate"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.client_certificate == Some(client_cert.thumbprint()))
    );
    assert_eq!(server.refused(), 0);

    // Another client's HTTP stack (no certificate) cannot even connect.
    let plain = tokenspec::http_client().unwrap().build().unwrap();
    assert!(
        plain
            .get(format!("{}/v2/cob", server.url))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_hundred_renewals_reuse_one_tls_connection() {
    let pki = Pki::new("Efí test CA");
    let client_cert = pki.client("efi-application");
    let server = TlsServer::start(&pki, true, efi_stand_in(client_cert.thumbprint())).await;
    let client = efi_builder(&server, &pki, Some(identity(&client_cert)))
        .build()
        .unwrap();
    for _ in 0..100 {
        let token = client.access_token().await.unwrap();
        client.invalidate(&token);
    }
    let tokens = server
        .seen()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(tokens, 100);
    assert_eq!(server.handshakes(), 1, "one handshake for 100 renewals");
}

#[tokio::test]
async fn a_certificate_the_server_refuses_is_a_rejected_credential_and_never_retried() {
    let pki = Pki::new("Efí test CA");
    let server = TlsServer::start(&pki, true, |_: &Seen| (200, "{}".into())).await;
    // Issued by a CA the provider does not trust, as a certificate registered elsewhere is.
    let stranger = Pki::new("Another CA").client("efi-application");
    // Efí's spec retries transient failures (three attempts).
    let client = efi_builder(&server, &pki, Some(identity(&stranger)))
        .build()
        .unwrap();
    let error = client.access_token().await.unwrap_err();
    match error.runtime() {
        tokenspec::Error::Transport { kind, .. } => {
            assert_eq!(
                *kind,
                tokenspec::TransportKind::CertificateRefused,
                "{error}"
            );
        }
        other => panic!("expected a refused certificate, got {other}"),
    }
    assert!(!error.runtime().is_transient());
    assert!(
        error.to_string().contains("refused the client certificate"),
        "{error}"
    );
    assert_eq!(
        server.refused(),
        1,
        "one handshake: the same certificate is not sent again"
    );
    assert_eq!(server.handshakes(), 0);
}

#[tokio::test]
async fn a_provider_that_wants_a_certificate_refuses_to_build_without_one() {
    let pki = Pki::new("Efí test CA");
    let server = TlsServer::start(&pki, true, |_: &Seen| (200, "{}".into())).await;
    let error = efi_builder(&server, &pki, None).build().unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("client certificate") && text.contains("client_identity"),
        "{text}"
    );
    assert_eq!(
        server.handshakes() + server.refused(),
        0,
        "nothing was sent"
    );
}

/// A spec whose client is authenticated by its certificate alone (RFC 8705 §2).
fn tls_client_auth() -> &'static Provider {
    let mut f = client_credentials_flow();
    f.client_auth = ClientAuth {
        name: "tls_client_auth",
        certificate: true,
        ..ClientAuth::NONE
    };
    provider(f, vec![])
}

#[tokio::test]
async fn tls_client_auth_sends_only_the_client_id_and_needs_no_secret() {
    let pki = Pki::new("OP test CA");
    let client_cert = pki.client("cert-client");
    let expected = client_cert.thumbprint();
    let server = TlsServer::start(&pki, true, move |r: &Seen| {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&r.body).into_owned().collect();
        let only_id = form.get("client_id").map(String::as_str) == Some("cert-client")
            && !form.contains_key("client_secret")
            && !r.headers.contains_key("authorization");
        if only_id && r.client_certificate.as_deref() == Some(expected.as_str()) {
            (
                200,
                json!({"access_token": "bound", "expires_in": 600}).to_string(),
            )
        } else {
            (401, json!({"error": "invalid_client"}).to_string())
        }
    })
    .await;
    let settings = Settings::default()
        .client_id("cert-client")
        .base_url(server.url.clone())
        .root_certificates(pki.ca_pem());
    let new = |settings: Settings| {
        TokenClient::new(
            tls_client_auth(),
            settings,
            "https://unused.invalid",
            &[],
            vec![],
        )
    };
    let missing = new(settings.clone()).unwrap_err();
    assert!(missing.to_string().contains("TLS certificate"), "{missing}");
    let client = new(settings.client_identity(identity(&client_cert))).unwrap();
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "bound"
    );
}

#[test]
fn certificate_mistakes_are_clear_errors_that_never_show_the_key() {
    let pki = Pki::new("test CA");
    let good = pki.client("app");
    let other = pki.client("other");
    let key_line = good.key_pem.lines().nth(1).unwrap().to_owned();
    let cases = [
        (
            ClientIdentity::from_pem(&good.cert_pem, &other.key_pem),
            "does not belong to the client certificate",
        ),
        (
            {
                let expired = pki.client_valid("app", -30, -1);
                ClientIdentity::from_pem(&expired.cert_pem, &expired.key_pem)
            },
            "expired on",
        ),
        (
            {
                let early = pki.client_valid("app", 2, 30);
                ClientIdentity::from_pem(&early.cert_pem, &early.key_pem)
            },
            "not valid before",
        ),
        (
            ClientIdentity::from_pem("", &good.key_pem),
            "no certificate",
        ),
        (
            ClientIdentity::from_pem(&good.cert_pem, &good.cert_pem),
            "no private key",
        ),
        (
            ClientIdentity::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem"),
            "could not read the client certificate file",
        ),
    ];
    for (result, expected) in cases {
        let message = result.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.contains(expected),
            "{message:?} should say {expected:?}"
        );
        assert!(!message.contains(&key_line), "{message}");
    }
    let debug = format!("{:?}", identity(&good));
    assert!(
        debug.contains(&good.thumbprint()) && !debug.contains(&key_line),
        "{debug}"
    );
}

#[test]
fn a_pkcs12_file_loads_with_its_password_and_a_wrong_password_is_named() {
    use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKeyChain};
    let pki = Pki::new("Efí test CA");
    let issued = pki.client("efi-application");
    let chain = PrivateKeyChain::new(
        b"efi".to_vec(),
        p12_keystore::PrivateKey::from_der(&issued.key_der).unwrap(),
        [p12_keystore::Certificate::from_der(&issued.cert_der).unwrap()],
    );
    let mut store = KeyStore::new();
    store.add_entry("efi", KeyStoreEntry::PrivateKeyChain(chain));
    for password in ["", "s3nha"] {
        let p12 = store.writer(password).write().unwrap();
        let loaded = ClientIdentity::from_pkcs12(&p12, password).expect("opens with its password");
        assert_eq!(loaded.thumbprint(), issued.thumbprint());
        let wrong = ClientIdentity::from_pkcs12(&p12, "wrong")
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("password"), "{wrong}");
    }
    let garbage = ClientIdentity::from_pkcs12(b"not a p12 file", "")
        .unwrap_err()
        .to_string();
    assert!(garbage.contains("openssl pkcs12"), "{garbage}");
}

/// A spec whose flow has no `path`: its token endpoint comes from the OpenID discovery of the
/// issuer at the base URL.
fn discovered_token_endpoint() -> &'static Provider {
    let mut flow = client_credentials_flow();
    flow.path = None;
    let provider = provider(flow, vec![]);
    leak(Provider {
        openid: Some(OpenId {
            issuer: None,
            algorithms: &["RS256"],
            jwks_path: None,
            authorization_path: None,
            leeway_secs: 30,
        }),
        ..Provider { ..*provider }
    })
}

#[tokio::test]
async fn a_flow_without_a_path_uses_the_discovered_endpoint_and_its_mutual_tls_alias() {
    let pki = Pki::new("OP test CA");
    let client_cert = pki.client("cert-client");
    let expected = client_cert.thumbprint();
    // One server as an Open Finance Brasil bank publishes it: plain endpoints, and
    // `mtls_endpoint_aliases` where certificate-bound tokens are issued (RFC 8705 §5).
    let origin = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let at = origin.clone();
    let server = TlsServer::start(&pki, false, move |r: &Seen| {
        let origin = at.get().cloned().unwrap_or_default();
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/.well-known/openid-configuration") => (
                200,
                json!({
                    "issuer": origin,
                    "token_endpoint": format!("{origin}/token"),
                    "mtls_endpoint_aliases": {"token_endpoint": format!("{origin}/mtls/token")},
                })
                .to_string(),
            ),
            ("POST", "/token") => (
                200,
                json!({"access_token": "plain", "expires_in": 600}).to_string(),
            ),
            ("POST", "/mtls/token") if r.client_certificate.as_deref() == Some(&expected) => (
                200,
                json!({"access_token": "bound", "expires_in": 600}).to_string(),
            ),
            _ => (400, json!({"error": "invalid_request"}).to_string()),
        }
    })
    .await;
    origin.set(server.url.clone()).unwrap();
    let settings = Settings::default()
        .client_id(ID)
        .client_secret(SECRET)
        .base_url(server.url.clone())
        .root_certificates(pki.ca_pem());
    let new = |settings: Settings| {
        TokenClient::new(
            discovered_token_endpoint(),
            settings,
            "https://unused.invalid",
            &[],
            vec![],
        )
        .unwrap()
    };
    let plain = new(settings.clone());
    assert_eq!(
        plain.access_token().await.unwrap().expose_secret(),
        "plain",
        "without a certificate the client uses the document's `token_endpoint`"
    );
    let bound = new(settings.client_identity(identity(&client_cert)));
    assert_eq!(
        bound.access_token().await.unwrap().expose_secret(),
        "bound",
        "with a certificate it uses the mutual-TLS alias"
    );
    let paths: Vec<String> = server.seen().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/.well-known/openid-configuration",
            "/token",
            "/.well-known/openid-configuration",
            "/mtls/token"
        ],
        "each client reads the document once, then sends to the endpoint it names"
    );
}
