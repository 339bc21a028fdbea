//! What operators set up around a client, against a local stand-in of Bs2 on 127.0.0.1: the
//! client secret read from a file as Docker and Kubernetes mount it, token traffic in tracing
//! (printed) and in metrics (read from a recorder), and the secret
//! replaced in the live client after the platform rotated the file.
//!
//! Run with `cargo run --example operations --features metrics`.

#[path = "../tests/support/seeds.rs"]
mod seeds;

use seeds::{CLIENT_ID, CLIENT_SECRET, Seed, SeedServer};
use tokenspec::bs2;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans and events under the `tokenspec` target; never a secret or a token.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .init();
    // Any `metrics` recorder: a Prometheus exporter in production; here one that can be read.
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install()?;

    let server = SeedServer::start(Seed::Bs2 { lifetime: 300 }).await;
    let secrets = std::env::temp_dir().join(format!("tokenspec-operations-{}", std::process::id()));
    std::fs::create_dir_all(&secrets)?;
    let secret_file = secrets.join("bs2_client_secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n"))?; // as `kubectl create secret` leaves it

    let client = bs2::Client::builder()
        .environment(bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id(CLIENT_ID)
        .client_secret_from_file(&secret_file)
        .scopes([bs2::Scope::CobRead])
        .settings(|s| s.base_url(server.uri()))
        .build()?;
    for _ in 0..3 {
        client.access_token().await?;
    }

    // The platform rotated the mounted file: hand the new secret to the live client. The
    // cached token stays; the next renewal sends the new secret.
    client.replace_client_secret(tokenspec::secret_from_file(&secret_file)?);
    client.access_token().await?;
    std::fs::remove_dir_all(&secrets)?;

    println!("metrics:");
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        println!("  {}{{{}}} {value:?}", key.name(), labels.join(","));
    }
    Ok(())
}
