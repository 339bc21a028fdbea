//! A reqwest-middleware stack with tokenspec's `TokenMiddleware`, beside reqwest-retry and
//! reqwest-tracing, against a local stand-in of Bs2 (its token endpoint and Pix API on
//! 127.0.0.1). The stand-in then revokes every token: the next call is refused with `401`,
//! and the middleware renews the token and sends the call again.
//!
//! Run with `cargo run --example middleware --features reqwest-middleware`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::bs2;
use tokenspec::middleware::TokenMiddleware;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let base = server.uri();
    let client = bs2::Client::builder()
        .environment(bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .scopes([bs2::Scope::CobRead])
        .settings(|s| s.base_url(base.clone()))
        .build()?;

    let http = reqwest_middleware::ClientBuilder::new(client.runtime().http_client()?)
        .with(reqwest_tracing::TracingMiddleware::default())
        .with(RetryTransientMiddleware::new_with_policy(
            ExponentialBackoff::builder().build_with_max_retries(2),
        ))
        .with(TokenMiddleware::new(&client))
        .build();
    let cob = format!("{base}/pix/direto/forintegration/v1/pix/cob");

    for _ in 0..3 {
        let answer = http.get(&cob).send().await?;
        println!("GET /pix/cob -> {}", answer.status());
    }
    println!("token requests: {}", server.state().tokens_issued);

    server.revoke_all();
    let answer = http.get(&cob).send().await?;
    let state = server.state();
    println!(
        "after the stand-in revoked every token: GET /pix/cob -> {} (refused {} time, token requests: {})",
        answer.status(),
        state.api_unauthorized,
        state.tokens_issued
    );
    assert!(answer.status().is_success() && state.tokens_issued == 2);
    Ok(())
}
