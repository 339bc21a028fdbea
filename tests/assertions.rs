//! Signed client assertions (RFC 7523 §2.2): `private_key_jwt` with the client's key and
//! `client_secret_jwt` with its secret, checked by a local token server that verifies each JWT,
//! and the mistakes a user can make with keys, each a clear error before any request.

mod support;

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::{ClientKey, Error, Settings, TokenClient};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A fresh EC P-256 key: its PKCS#8 PEM and its public key (uncompressed point).
fn ec_key() -> (String, Vec<u8>) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let body = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    (
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        pair.public_key().as_ref().to_vec(),
    )
}

fn signed_by(signer: Signer, algorithm: &'static str) -> &'static Provider {
    let mut cc = client_credentials_flow();
    cc.client_auth = ClientAuth {
        name: match signer {
            Signer::ClientSecret => "client_secret_jwt",
            Signer::PrivateKey => "private_key_jwt",
            _ => "federated_assertion",
        },
        assertion: Some(Assertion {
            signer,
            algorithm,
            audience: None,
            lifetime_secs: 60,
        }),
        ..ClientAuth::NONE
    };
    provider(cc, vec![])
}

async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "signed-in", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    server
}

fn client(
    p: &'static Provider,
    server: &MockServer,
    settings: Settings,
) -> Result<TokenClient, Error> {
    TokenClient::new(
        p,
        settings
            .client_id("jwt-client")
            .client_secret("a-shared-secret-of-at-least-32-bytes!")
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![],
    )
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The assertion's header and claims, once its signature checks out with `key`.
fn verified(
    assertion: &str,
    key: &jsonwebtoken::DecodingKey,
    algorithm: jsonwebtoken::Algorithm,
    audience: &str,
) -> (jsonwebtoken::Header, serde_json::Value) {
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["jwt-client"]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(assertion, key, &validation)
        .expect("the signature and claims verify");
    (data.header, data.claims)
}

#[tokio::test]
async fn private_key_jwt_sends_an_es256_assertion_the_server_verifies_with_the_public_key() {
    let server = token_server().await;
    let (pem, public) = ec_key();
    let key = ClientKey::from_pem(&pem).unwrap().with_kid("key-2026");
    let client = client(
        signed_by(Signer::PrivateKey, "ES256"),
        &server,
        Settings::default().client_key(key),
    )
    .unwrap();
    client.access_token().await.expect("token");
    let token = client.access_token().await.unwrap();
    client.invalidate(&token);
    client.access_token().await.expect("second token");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let endpoint = format!("{}/oauth/token", server.uri());
    let mut ids = HashSet::new();
    for request in &requests {
        let form = form(request);
        assert_eq!(form["client_id"], "jwt-client");
        assert_eq!(
            form["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert!(
            !form.contains_key("client_secret"),
            "the secret never travels"
        );
        assert!(request.headers.get("authorization").is_none());
        let (header, claims) = verified(
            &form["client_assertion"],
            &jsonwebtoken::DecodingKey::from_ec_der(&public),
            jsonwebtoken::Algorithm::ES256,
            &endpoint,
        );
        assert_eq!(header.kid.as_deref(), Some("key-2026"));
        assert_eq!(claims["sub"], "jwt-client");
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 60, "short-lived");
        assert!(
            ids.insert(claims["jti"].as_str().unwrap().to_owned()),
            "a unique jti per assertion"
        );
    }
}

#[tokio::test]
async fn client_secret_jwt_signs_hs256_with_the_secret() {
    let server = token_server().await;
    let client = client(
        signed_by(Signer::ClientSecret, "HS256"),
        &server,
        Settings::default(),
    )
    .unwrap();
    client.access_token().await.expect("token");
    let requests = server.received_requests().await.unwrap();
    let form = form(&requests[0]);
    verified(
        &form["client_assertion"],
        &jsonwebtoken::DecodingKey::from_secret(b"a-shared-secret-of-at-least-32-bytes!"),
        jsonwebtoken::Algorithm::HS256,
        &format!("{}/oauth/token", server.uri()),
    );
}

#[tokio::test]
async fn a_provider_that_needs_a_key_refuses_to_build_without_one() {
    let server = token_server().await;
    let e = client(
        signed_by(Signer::PrivateKey, "RS256"),
        &server,
        Settings::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains(".client_key("), "{e}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_key_of_the_wrong_type_for_the_algorithm_is_refused_at_build_time() {
    let server = token_server().await;
    let (pem, _) = ec_key();
    let e = client(
        signed_by(Signer::PrivateKey, "RS256"),
        &server,
        Settings::default().client_key(ClientKey::from_pem(pem).unwrap()),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("RS256") && e.to_string().contains("EC key"),
        "{e}"
    );
}

#[test]
fn keys_that_cannot_sign_are_refused_when_loaded_with_what_to_do() {
    let damaged_sec1 =
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
    let e = ClientKey::from_pem(damaged_sec1).unwrap_err();
    assert!(e.to_string().contains("cannot sign"), "{e}");
    let e = ClientKey::from_pem("not a key").unwrap_err();
    assert!(e.to_string().contains("PEM private key"), "{e}");
    let e = ClientKey::from_pem_file("/nonexistent/client.key").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/client.key"), "{e}");
    let (pem, _) = ec_key();
    let shown = format!("{:?}", ClientKey::from_pem(&pem).unwrap().with_kid("k1"));
    assert!(
        shown.contains("k1") && !shown.contains("PRIVATE"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_client_that_signs_with_its_key_needs_no_secret() {
    let server = token_server().await;
    let (pem, _) = ec_key();
    let client = TokenClient::new(
        signed_by(Signer::PrivateKey, "ES256"),
        Settings::default()
            .client_id("jwt-client")
            .client_key(ClientKey::from_pem(pem).unwrap())
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("no secret needed");
    client.access_token().await.expect("token");
}

#[tokio::test]
async fn only_the_method_the_builder_chose_needs_its_key_or_secret() {
    let server = token_server().await;
    let basic = ClientAuth {
        name: "client_secret_basic",
        basic: Some(BasicEncoding::Raw),
        ..ClientAuth::NONE
    };
    let mut listed = signed_by(Signer::PrivateKey, "ES256").clone();
    listed.flows = slice(vec![Flow {
        client_auth: basic,
        ..client_credentials_flow()
    }]);
    listed.client_auth_choices = slice(vec![
        basic,
        signed_by(Signer::PrivateKey, "ES256").flows[0].client_auth,
    ]);
    let listed: &'static Provider = leak(listed);
    // The default method is Basic: no key needed.
    client(listed, &server, Settings::default()).expect("Basic needs no key");
    // Choosing the signed method without a key fails at build time, with or without a secret.
    let e = client(
        listed,
        &server,
        Settings::default().client_auth_choice("private_key_jwt"),
    )
    .unwrap_err();
    assert!(e.to_string().contains(".client_key("), "{e}");
    // With the key, the signed method needs no secret.
    let (pem, _) = ec_key();
    let signing = TokenClient::new(
        listed,
        Settings::default()
            .client_id("jwt-client")
            .client_key(ClientKey::from_pem(pem).unwrap())
            .client_auth_choice("private_key_jwt")
            .base_url(server.uri()),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("the chosen method signs with the key");
    signing.access_token().await.expect("token");
    let requests = server.received_requests().await.unwrap();
    assert!(form(&requests[0]).contains_key("client_assertion"));
}

#[tokio::test]
async fn a_key_named_by_its_certificate_sends_the_certificate_thumbprint_as_x5t_s256() {
    // Microsoft Entra ID names a certificate credential by the `x5t#S256` of its certificate.
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA256, cert.der()));
    let key = ClientKey::from_pem(key_pair.serialize_pem())
        .unwrap()
        .with_certificate(cert.pem())
        .expect("the certificate is the key's");
    assert!(format!("{key:?}").contains(&thumbprint));
    let server = token_server().await;
    let client = client(
        signed_by(Signer::PrivateKey, "ES256"),
        &server,
        Settings::default().client_key(key),
    )
    .unwrap();
    client.access_token().await.expect("token");
    let requests = server.received_requests().await.unwrap();
    let assertion = form(&requests[0])["client_assertion"].clone();
    let header = jsonwebtoken::decode_header(&assertion).unwrap();
    assert_eq!(header.x5t_s256.as_deref(), Some(thumbprint.as_str()));

    let other = rcgen::KeyPair::generate().unwrap();
    let refused = ClientKey::from_pem(other.serialize_pem())
        .unwrap()
        .with_certificate(cert.pem())
        .unwrap_err();
    assert!(refused.to_string().contains("not this key's"), "{refused}");
}

#[tokio::test]
async fn a_sec1_ec_key_signs_as_its_pkcs8_form_does() {
    let (pem, public) = ec_key();
    // The SEC1 `ECPrivateKey` a PKCS#8 P-256 key wraps (`openssl ecparam -genkey` writes it
    // alone, as `BEGIN EC PRIVATE KEY`).
    let pkcs8 = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let start = pkcs8
        .windows(2)
        .position(|w| w == [0x04, 0x6d])
        .expect("the OCTET STRING holding the SEC1 key")
        + 2;
    let sec1 = &pkcs8[start..];
    assert_eq!(sec1[0], 0x30, "a SEC1 ECPrivateKey is a SEQUENCE");
    let sec1_pem = format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
        STANDARD.encode(sec1)
    );
    let key = ClientKey::from_pem(&sec1_pem).expect("SEC1 P-256 loads");
    let server = token_server().await;
    let client = client(
        signed_by(Signer::PrivateKey, "ES256"),
        &server,
        Settings::default().client_key(key),
    )
    .unwrap();
    client.access_token().await.expect("token");
    let requests = server.received_requests().await.unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&public[1..33]),
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&public[33..65]),
    )
    .unwrap();
    let endpoint = format!("{}/oauth/token", server.uri());
    verified(
        &form(&requests[0])["client_assertion"],
        &decoding,
        jsonwebtoken::Algorithm::ES256,
        &endpoint,
    );
}
