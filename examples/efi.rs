//! Efí Pix end to end over mutual TLS: makes a test CA, a server certificate and the
//! application's client certificate, packs the latter as a password-less `.p12` as Efí hands
//! them out, starts a local stand-in of Efí's homologation API on 127.0.0.1 that refuses any
//! connection without that certificate, then gets a token and calls the Pix API with the same
//! certificate, and counts the TLS handshakes.
//!
//! Run with `cargo run --example efi --features pkcs12`.

#[path = "../tests/support/tls_server.rs"]
mod tls_server;

use base64::Engine as _;
use serde_json::json;
use tls_server::{Pki, Seen, TlsServer};
use tokenspec::{ClientIdentity, efi};

const CLIENT_ID: &str = "Client_Id_homologacao";
const CLIENT_SECRET: &str = "Client_Secret_homologacao";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pki = Pki::new("Efí stand-in CA");
    let issued = pki.client("minha-aplicacao");
    let p12 = {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let chain = PrivateKeyChain::new(
            b"efi".to_vec(),
            PrivateKey::from_der(&issued.key_der)?,
            [Certificate::from_der(&issued.cert_der)?],
        );
        let mut store = KeyStore::new();
        store.add_entry("efi", KeyStoreEntry::PrivateKeyChain(chain));
        store.writer("").write()?
    };
    let dir = std::env::temp_dir().join(format!("tokenspec-efi-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let p12_path = dir.join("homologacao.p12");
    std::fs::write(&p12_path, p12)?;

    let expected = issued.thumbprint();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let server = TlsServer::start(&pki, true, move |r: &Seen| {
        if r.client_certificate.as_deref() != Some(expected.as_str()) {
            return (401, json!({"error": "certificate"}).to_string());
        }
        match r.path.as_str() {
            "/oauth/token" if r.headers.get("authorization") == Some(&basic) => (
                200,
                json!({"access_token": "efi-token", "token_type": "Bearer", "expires_in": 3600,
                       "scope": "cob.read cob.write pix.read pix.write"})
                .to_string(),
            ),
            "/v2/cob"
                if r.headers.get("authorization").map(String::as_str)
                    == Some("Bearer efi-token") =>
            {
                (200, json!({"cobs": []}).to_string())
            }
            _ => (401, json!({"error": "unauthorized"}).to_string()),
        }
    })
    .await;
    println!(
        "Efí homologation stand-in listening on {} (mutual TLS)",
        server.url
    );

    let identity = ClientIdentity::from_pkcs12_file(&p12_path, "")?;
    println!(
        "client certificate {} loaded from {}",
        identity.thumbprint(),
        p12_path.display()
    );
    let (url, ca) = (server.url.clone(), pki.ca_pem());
    let client = efi::Client::builder()
        .environment(efi::Environment::Homologation)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .client_identity(identity)
        .settings(move |s| s.base_url(url).root_certificates(ca))
        .build()?;

    let response = client.token_response().await?;
    println!(
        "token: valid {} s, scope {:?}",
        response.token.lifetime().as_secs(),
        response.fields.scope
    );
    let http = client.http_client()?;
    let answer = client
        .send(http.get(format!("{}/v2/cob", server.url)))
        .await?;
    println!(
        "GET /v2/cob with the client certificate and Authorization: Bearer … -> {}",
        answer.status()
    );
    println!(
        "TLS handshakes: {} (token request and API call share one connection)",
        server.handshakes()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
