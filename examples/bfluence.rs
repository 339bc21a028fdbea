//! Bfluence end to end: starts a local stand-in of its auth endpoint on 127.0.0.1 issuing HS256
//! JWTs valid 24 h, gets one with JSON-body credentials, reads its expiry from the JWT's `exp`,
//! and shows a `401` on use leading to one new token.
//!
//! Run with `cargo run --example bfluence`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::bfluence;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::Bfluence {
        lifetime: 24 * 3600,
    })
    .await;
    let base = server.uri();
    println!("Bfluence stand-in listening on {base}");

    let client = bfluence::Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .environment(bfluence::Environment::Production {
            host: "api.bfluence.example".into(),
        })
        .settings(|s| s.base_url(base.clone()))
        .build()?;

    let token = client.access_token().await?;
    println!(
        "JWT: {} (valid {} s according to its exp claim)",
        seeds::mask(token.expose_secret()),
        token.lifetime().as_secs()
    );

    let http = tokenspec::http_client()?.build()?;
    let url = format!("{base}/communities/hub/client/123/get-bflus");
    println!(
        "GET /communities/hub/client/123/get-bflus -> {}",
        client.send(http.get(&url)).await?.status()
    );
    server.revoke_all();
    println!(
        "after the stand-in expired every token: -> {} (the client renewed once)",
        client.send(http.get(&url)).await?.status()
    );
    println!(
        "token requests the stand-in served: {}",
        server.state().tokens_issued
    );
    Ok(())
}
