//! A hyper client behind tokenspec's tower `TokenLayer`, against a local stand-in of Bs2 (its
//! token endpoint and Pix API on 127.0.0.1). Any tower service of `http::Request`s takes the
//! layer the same way: a tonic `Channel`, a `tower::ServiceBuilder` stack. The stand-in then
//! revokes every token: the next call is refused with `401`, and the layer renews the token
//! and sends the call again (its body is empty, so it can be).
//!
//! Run with `cargo run --example tower --features tower`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::rt::TokioExecutor;
use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::bs2;
use tokenspec::tower::TokenLayer;
use tower_layer::Layer;
use tower_service::Service;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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

    let hyper = Hyper::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut api = TokenLayer::new(&client).layer(hyper);
    let cob = format!("{base}/pix/direto/forintegration/v1/pix/cob");

    for round in ["first call", "after the stand-in revoked every token"] {
        std::future::poll_fn(|cx| api.poll_ready(cx)).await?;
        let answer = api
            .call(http::Request::get(&cob).body(Empty::new())?)
            .await?;
        let status = answer.status();
        let body = answer.into_body().collect().await?.to_bytes();
        println!(
            "{round}: GET /pix/cob -> {status} {} (token requests: {})",
            String::from_utf8_lossy(&body),
            server.state().tokens_issued
        );
        assert!(status.is_success());
        server.revoke_all();
    }
    Ok(())
}
