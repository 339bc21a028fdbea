//! Serves the application on 127.0.0.1 against a running provider and Redis:
//!
//! ```text
//! npm ci --prefix tests/oidc && node tests/oidc/server.mjs 4000 --interactive &
//! redis-server --port 6380 --save "" &
//! ISSUER=http://127.0.0.1:4000 REDIS_URL=redis://127.0.0.1:6380/ \
//!   cargo run -p tokenspec-web-sessions-example
//! ```
//!
//! then open the printed address, connect as alice, log in with any login and password, and
//! consent. `examples/web-sessions/tests/journey.rs` runs the same journey in a headless browser.

use std::sync::Arc;

use tokenspec::redis_store::RedisStore;
use tokenspec_web_sessions_example::{App, local_openid};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| format!("set {name} (see the top of src/main.rs)"))
    };
    let issuer = var("ISSUER")?;
    let port = issuer
        .rsplit(':')
        .next()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        .ok_or("ISSUER must be http://127.0.0.1:<port>")?
        .to_owned();
    // The key that seals sessions in Redis: in production, 32 random bytes from a secret store
    // (tokenspec::redis_store::key_from_base64), the same for every process.
    let store = RedisStore::new(&var("REDIS_URL")?, *b"example-only-key-0123456789abcde")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    let address = listener.local_addr()?;
    let client = local_openid::Client::builder()
        .environment(local_openid::Environment::Local { port })
        .client_id("basic-client")
        .client_secret("basic-secret-0123456789abcdef0123456789abcdef")
        .redirect_uri(format!("http://{address}/callback"))
        .settings(|s| s.store(Arc::new(store)))
        .build()?;
    println!("open http://{address}/ in a browser");
    axum::serve(listener, App::new(client).router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
