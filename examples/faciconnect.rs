//! FaciConnect end to end: starts a local stand-in of its token endpoint on 127.0.0.1, gets a
//! token through the generated client, creates a payment order with it.
//!
//! Run with `cargo run --example faciconnect`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::faciconnect;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::FaciConnect).await;
    let base = server.uri();
    println!("FaciConnect stand-in listening on {base}");

    let client = faciconnect::Client::builder()
        .environment(faciconnect::Environment::Production {
            host: "partner.faciconnect.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(|s| s.base_url(base.clone()))
        .build()?;
    println!("client: {client:?}");

    let response = client.token_response().await?;
    println!(
        "token: {} (type {:?}, valid {} s, renewed {} s before expiry)",
        seeds::mask(response.token.expose_secret()),
        response.fields.token_type,
        response.token.lifetime().as_secs(),
        (response.token.expires_at() - response.token.refresh_at()).as_secs(),
    );

    let http = tokenspec::http_client()?.build()?;
    let order = http
        .post(format!("{base}/facipaypartner/createPaymentOrder"))
        .header("Accept-Language", "pt")
        .json(&serde_json::json!({"amount": 1990, "currency": "BRL"}));
    let answer = client.send(order).await?;
    println!(
        "POST /facipaypartner/createPaymentOrder with Authorization: Bearer … -> {}",
        answer.status()
    );
    println!(
        "token requests the stand-in served: {}",
        server.state().tokens_issued
    );
    Ok(())
}
