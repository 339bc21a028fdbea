//! Fanbase end to end: starts a local stand-in of its security service on 127.0.0.1, gets an API
//! Connect token (credentials in the query string), calls an API with the `AccessToken` header,
//! then exchanges an authorization code for an ID token (token v2), and shows a documented error.
//!
//! Run with `cargo run --example fanbase`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{CLIENT_ID, CLIENT_SECRET, GOOD_CODE, Seed, SeedServer};
use tokenspec::{AuthorizationCode, fanbase};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = SeedServer::start(Seed::Fanbase).await;
    let base = server.uri();
    println!("Fanbase stand-in listening on {base}");

    let client = fanbase::Client::builder()
        .environment(fanbase::Environment::Homologation)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .settings(|s| s.base_url(base.clone()))
        .build()?;

    let response = client.token_response().await?;
    println!(
        "API Connect token: {} (valid {} s, scope {:?}, refresh token {:?})",
        seeds::mask(response.token.expose_secret()),
        response.token.lifetime().as_secs(),
        response.fields.scope,
        response.fields.refresh_token,
    );

    let http = tokenspec::http_client()?.build()?;
    let answer = client
        .send(http.get(format!("{base}/api/connect/fans/me")))
        .await?;
    println!(
        "GET /api/connect/fans/me with AccessToken: … -> {}",
        answer.status()
    );

    let exchanged = client
        .exchange_code(AuthorizationCode::external(GOOD_CODE))
        .await?;
    println!(
        "token v2: id_token {:?}, scope {:?}, valid {} s",
        exchanged.fields.id_token,
        exchanged.fields.scope,
        exchanged.token.lifetime().as_secs()
    );
    if let Some(claims) = &exchanged.fields.id_token_claims {
        println!(
            "  validated ID token (HS256 with the client secret, iss \"fanbase\"): sub {:?}, iss {:?}, aud {:?}",
            claims.sub, claims.iss, claims.aud
        );
    }
    match client
        .exchange_code(AuthorizationCode::external(GOOD_CODE))
        .await
    {
        Err(fanbase::Error::InvalidAuthorizationCode(e)) => {
            println!("reusing the code: InvalidAuthorizationCode: {e}")
        }
        other => println!("reusing the code: unexpected {other:?}"),
    }
    Ok(())
}
