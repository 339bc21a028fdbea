//! Starts a token server on 127.0.0.1, then gets a token from it through the client generated
//! from `specs/acme.yaml`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use tokenspec_own_specs_example::acme;

/// Answers every request with an Acme-shaped token response and prints what it received.
fn serve(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if !line.to_ascii_lowercase().starts_with("authorization") {
                head.push_str(&line);
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        println!(
            "server received:\n{}\n\n{}\n",
            head.trim_end(),
            String::from_utf8_lossy(&body)
        );
        let answer = r#"{"result":{"token":"acme-token-1","type":"Bearer","tenant":{"id":42},"expires_at":"2999-01-01T00:00:00Z"}}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        let _ = reader.into_inner().write_all(response.as_bytes());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port().to_string();
    std::thread::spawn(move || serve(listener));

    let client = acme::Client::builder()
        .environment(acme::Environment::Local { port })
        .client_id("example client")
        .client_secret("s3cret/with+symbols".to_owned())
        .scopes([acme::Scope::OrdersRead])
        .build()?;
    let response = client.token_response().await?;
    println!(
        "client got: {:?} for tenant {}",
        response.token, response.fields.tenant_id
    );
    println!("the client debug-prints as {client:?}");
    Ok(())
}
