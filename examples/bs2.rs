//! Bs2 Pix Direto end to end: starts a local stand-in of its token endpoint on 127.0.0.1 issuing
//! 300 s tokens (production), gets one with typed scopes, calls the Pix API with it.
//!
//! Run with `cargo run --example bs2`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::bs2;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let base = server.uri();
    println!("Bs2 stand-in listening on {base}");

    let client = bs2::Client::builder()
        .environment(bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .scopes([
            bs2::Scope::CobRead,
            bs2::Scope::CobWrite,
            bs2::Scope::PixRead,
        ])
        .settings(|s| s.base_url(base.clone()))
        .build()?;

    let response = client.token_response().await?;
    let token = &response.token;
    println!(
        "token: {} (scope {:?}, valid {} s, renewed after {} s)",
        seeds::mask(token.expose_secret()),
        response.fields.scope,
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
        .send(http.get(format!("{base}/pix/direto/forintegration/v1/pix/cob")))
        .await?;
    println!(
        "GET /pix/direto/forintegration/v1/pix/cob with Authorization: Bearer … -> {}",
        answer.status()
    );
    Ok(())
}
