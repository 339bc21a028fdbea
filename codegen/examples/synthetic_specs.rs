//! Writes N synthetic provider specs that vary over every credential placement and expiry
//! source, for the generator and compile-cost benchmarks.
//!
//!     cargo run -p tokenspec-codegen --example synthetic_specs -- 200 /tmp/specs

/// The `i`th synthetic spec: a valid provider whose shape cycles through the format's options.
pub fn synthetic_spec(i: usize) -> String {
    let (auth, body) = match i % 6 {
        0 => ("client_auth: { basic: raw }", "form"),
        1 => ("client_auth: { basic: rfc6749 }", "form"),
        2 => ("client_auth: { params: [query] }", "none"),
        3 => ("client_auth: { params: [body] }", "form"),
        4 => ("client_auth: { params: [body] }", "json"),
        _ => ("client_auth: { basic: raw, params: [query] }", "json"),
    };
    let expiry = match i % 5 {
        0 => "expires_in: expires_in".to_owned(),
        1 => "at: { path: data.expires_at, format: rfc3339 }".to_owned(),
        2 => "at: { path: data.expires_at, format: epoch_seconds }".to_owned(),
        3 => "jwt_exp: access_token".to_owned(),
        _ => format!("lifetime: {}", 300 + i),
    };
    let location = if body == "none" { "query" } else { "body" };
    format!(
        "title: Synthetic Provider {i}
environments:
  production: https://{{tenant}}.synthetic{i}.example
  sandbox: https://sandbox.synthetic{i}.example
{auth}
refresh_margin: {margin}
flows:
  client_credentials:
    grant: client_credentials
    path: /oauth/{i}/token
    body: {body}
    params:
      grant_type: {{ value: client_credentials, in: {location} }}
      audience: {{ value: https://api{i}.example, in: {location} }}
      validity: {{ type: integer, default: {validity}, in: {location} }}
      scope:
        in: {location}
        type: {{ set: [read, write, admin, audit.read] }}
        default: [read]
        rust_name: scopes
        type_name: Scope
    response:
      token_type: token_type
      scope: scope
      fields:
        tenant_id: {{ path: data.tenant.id, type: integer }}
    expiry:
      {expiry}
  exchange_code:
    grant: authorization_code
    path: /oauth/{i}/token
    body: {body}
    params:
      grant_type: {{ value: authorization_code, in: {location} }}
      code: {{ from: call, type: secret, in: {location} }}
    response:
      refresh_token: refresh_token
      id_token: id_token
    expiry:
      expires_in: {{ path: expires_in, when_absent: 600 }}
errors:
  - name: InvalidClient
    code: invalid_client
  - name: Suspended
    message: Account {i} suspended
    status: 403
",
        margin = 30 + i % 60,
        validity = 600 + i,
    )
}

#[allow(dead_code)]
fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "synthetic-specs".into()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    for i in 0..count {
        let path = dir.join(format!("synthetic_{i:04}.yaml"));
        if let Err(e) = std::fs::write(&path, synthetic_spec(i)) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    println!("wrote {count} specs to {}", dir.display());
}
