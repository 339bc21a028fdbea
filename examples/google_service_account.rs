//! A Google service account end to end: reads the account's JSON key file, starts a local
//! stand-in of Google's token endpoint on 127.0.0.1 (it verifies each assertion with the
//! account's public key), gets a token through the JWT-bearer grant and calls an API with it.
//!
//! Run with `cargo run --example google_service_account`. The key file is a test key that
//! belongs to no Google account (tests/fixtures/README.md).

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{GOOGLE_KEY_FILE, GOOGLE_SCOPE, Seed, SeedServer};
use tokenspec::{ServiceAccountKey, google_service_account as google};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::Google { lifetime: 3599 }).await;
    let base = server.uri();
    println!("Google token endpoint stand-in listening on {base}");

    let account = ServiceAccountKey::from_file(GOOGLE_KEY_FILE)?;
    println!("service account: {}", account.client_email());
    let client = google::Client::builder()
        .client_id(account.client_email())
        .client_key(account.client_key())
        .scopes(GOOGLE_SCOPE)
        .settings(|s| s.base_url(base.clone()))
        .build()?;

    let token = client.access_token().await?;
    println!(
        "token: {} (valid {} s, renewed after {} s)",
        seeds::mask(token.expose_secret()),
        token.lifetime().as_secs(),
        (token.refresh_at() - token.issued_at()).as_secs(),
    );
    for _ in 0..100 {
        client.access_token().await?;
    }
    println!(
        "100 more access_token() calls, token requests so far: {}",
        server.state().tokens_issued
    );

    let http = tokenspec::http_client()?.build()?;
    let answer = client
        .send(http.get(format!("{base}/storage/v1/b")))
        .await?;
    println!(
        "GET /storage/v1/b with Authorization: Bearer … -> {}",
        answer.status()
    );
    Ok(())
}
