//! `tokenspec-codegen try` against local stand-ins of providers: for each way a spec can
//! differ from what a provider really does, a spec written that wrong gets the right suggested
//! change, `--fix` writes it, and `try` then passes. Every stand-in listens on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

/// A request as the stand-in received it.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn form(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The client credentials of the Basic header.
    fn basic(&self) -> Option<(String, String)> {
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }
}

/// An answer: status, headers, body.
struct Answer(u16, Vec<(&'static str, String)>, String);

fn json(status: u16, body: serde_json::Value) -> Answer {
    Answer(
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

/// A token server on 127.0.0.1 that answers each request with `handler`, one connection per
/// request, until the test ends.
fn stand_in(handler: impl Fn(&Request, &str) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let handler = Arc::new(handler);
    let own = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request = Request {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let Answer(status, headers, body) = handler(&request, &own);
            let mut out = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
            let _ = reader.get_mut().write_all(out.as_bytes());
        }
    });
    base
}

const ID: &str = "acme-client";
const SECRET: &str = "s3cr3t-value-never-printed";
const TOKEN: &str = "tok_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";

/// Whether the request carries the right credentials in the Basic header.
fn basic_ok(r: &Request) -> bool {
    r.basic() == Some((ID.into(), SECRET.into()))
}

/// Whether the request carries the right credentials in the form body.
fn body_ok(r: &Request) -> bool {
    r.form("client_id").as_deref() == Some(ID) && r.form("client_secret").as_deref() == Some(SECRET)
}

/// A spec for a stand-in: `client_auth` and the flow's lines (indented four spaces) vary.
fn spec(client_auth: &str, flow: &str) -> String {
    format!(
        "# yaml-language-server: $schema=../docs/tokenspec.schema.json\n# Acme, as its documentation says.\ntitle: Acme\nenvironments:\n  production: https://acme.example\n{client_auth}\nflows:\n  client_credentials:\n    grant: client_credentials\n    # \"POST /token\"\n{flow}\n"
    )
}

const BASIC: &str = "client_auth:\n  basic: raw";
const STANDARD_FLOW: &str = "    path: /token\n    params:\n      grant_type:\n        value: client_credentials\n    expiry:\n      expires_in: expires_in";

struct Run {
    exit: i32,
    out: String,
}

fn try_spec(file: &PathBuf, base: &str, secret: &str, extra: &[&str]) -> Run {
    let output = assert_cmd::Command::cargo_bin("tokenspec-codegen")
        .expect("binary")
        .arg("try")
        .arg(file)
        .args(["--base-url", base])
        .args(extra)
        .env("CLIENT_ID", ID)
        .env("CLIENT_SECRET", secret)
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!out.contains(secret), "the secret was printed:\n{out}");
    assert!(!out.contains(TOKEN), "a whole token was printed:\n{out}");
    Run {
        exit: output.status.code().unwrap_or(-1),
        out,
    }
}

fn write_spec(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("try");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, text).expect("write spec");
    file
}

/// The heart of every case: the wrong spec gets `exit` and a suggestion containing `change`;
/// `--fix` writes it, keeping the spec's comments; then `try` passes with the right secret.
fn wrong_then_fixed(
    name: &str,
    text: &str,
    base: &str,
    first_secret: &str,
    exit: i32,
    change: &str,
) -> String {
    let file = write_spec(name, text);
    let first = try_spec(&file, base, first_secret, &[]);
    assert_eq!(first.exit, exit, "{name}: exit code\n{}", first.out);
    assert!(
        first.out.contains(change),
        "{name}: expected the change\n{change}\nin\n{}",
        first.out
    );
    let fixed = try_spec(&file, base, first_secret, &["--fix"]);
    assert!(
        fixed.out.contains("`check` passes"),
        "{name}: the fix was not written\n{}",
        fixed.out
    );
    let written = std::fs::read_to_string(&file).expect("spec");
    assert!(
        written.contains("# Acme, as its documentation says.")
            && written.contains("# \"POST /token\""),
        "{name}: comments lost\n{written}"
    );
    let after = try_spec(&file, base, SECRET, &[]);
    assert_eq!(
        after.exit, 0,
        "{name}: still failing after --fix\n{written}\n{}",
        after.out
    );
    assert!(
        after.out.contains("works: the answer fits the spec"),
        "{}",
        after.out
    );
    written
}

/// A refusal `try` cannot tell apart from wrong credentials: it exits 2 and prints the placement
/// `change` as a candidate, `--fix` leaves the spec as it is, and the spec with the candidate
/// applied by hand (`applied`) works.
fn refused_with_a_candidate(name: &str, text: &str, base: &str, change: &str, applied: &str) {
    let file = write_spec(name, text);
    let first = try_spec(&file, base, SECRET, &[]);
    assert_eq!(first.exit, 2, "{name}: exit code\n{}", first.out);
    assert!(
        first
            .out
            .contains("candidate change (not written by --fix)")
            && first.out.contains(change),
        "{name}: expected the candidate\n{change}\nin\n{}",
        first.out
    );
    let before = std::fs::read_to_string(&file).expect("spec");
    let fixed = try_spec(&file, base, SECRET, &["--fix"]);
    assert_eq!(fixed.exit, 2, "{name}: exit code with --fix\n{}", fixed.out);
    assert_eq!(
        std::fs::read_to_string(&file).expect("spec"),
        before,
        "{name}: --fix wrote a candidate"
    );
    let by_hand = write_spec(&format!("{name}_applied"), applied);
    let after = try_spec(&by_hand, base, SECRET, &[]);
    assert_eq!(
        after.exit, 0,
        "{name}: the candidate does not work\n{}",
        after.out
    );
}

fn token_answer(extra: serde_json::Value) -> serde_json::Value {
    let mut answer = serde_json::json!({"token_type": "Bearer"});
    if let (Some(a), Some(b)) = (answer.as_object_mut(), extra.as_object()) {
        a.extend(b.clone());
    }
    answer
}

#[test]
fn a_spec_that_fits_works_and_prints_nothing_secret() {
    let base = stand_in(|r, _| {
        if basic_ok(r) && r.form("grant_type").as_deref() == Some("client_credentials") {
            json(
                200,
                token_answer(serde_json::json!({"access_token": TOKEN, "expires_in": 3600})),
            )
        } else {
            json(401, serde_json::json!({"error": "invalid_client"}))
        }
    });
    let file = write_spec("fits", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &[]);
    assert_eq!(run.exit, 0, "{}", run.out);
    for shown in [
        "POST http://127.0.0.1",
        "authorization: Basic ****",
        "grant_type=client_credentials",
        "HTTP 200",
        "access token: tok_4f… (36 characters)",
        "expires in: 3600 s (at 20",
        "\"token_type\": \"Bearer\"",
    ] {
        assert!(run.out.contains(shown), "missing {shown:?} in\n{}", run.out);
    }
}

#[test]
fn a_token_nested_under_data_gets_its_path_and_its_expiry_in_one_fix() {
    let base = stand_in(|r, _| {
        assert!(basic_ok(r));
        json(
            200,
            serde_json::json!({"data": {"access_token": TOKEN, "expires_in": 3600}}),
        )
    });
    let written = wrong_then_fixed(
        "token_nested",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "flows:\n  client_credentials:\n    response:\n      access_token: data.access_token\n",
    );
    assert!(
        written.contains("      access_token: data.access_token\n"),
        "{written}"
    );
    assert!(
        written.contains("      expires_in: data.expires_in\n"),
        "{written}"
    );
}

#[test]
fn a_token_under_another_name_gets_that_name() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"accessToken": TOKEN, "expires_in": 60}),
        )
    });
    wrong_then_fixed(
        "token_renamed",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "access_token: accessToken",
    );
}

#[test]
fn an_expiry_under_another_name_gets_that_name() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"access_token": TOKEN, "expiresIn": "3600"}),
        )
    });
    wrong_then_fixed(
        "expiry_renamed",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "    expiry:\n      expires_in: expiresIn\n",
    );
}

#[test]
fn an_absolute_time_where_seconds_were_expected_becomes_an_at_expiry() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": "2031-05-01T12:00:00Z"}),
        )
    });
    wrong_then_fixed(
        "expiry_rfc3339",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "    expiry:\n      at:\n        path: expires_in\n        format: rfc3339\n",
    );
}

#[test]
fn epoch_seconds_where_seconds_were_expected_are_a_mismatch_though_they_parse() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 1_950_000_000}),
        )
    });
    wrong_then_fixed(
        "expiry_epoch",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "format: epoch_seconds",
    );
}

#[test]
fn a_jwt_without_expires_in_gets_a_jwt_exp_expiry() {
    fn jwt() -> String {
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 3600;
        format!(
            "{}.{}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
            b64(serde_json::json!({"alg": "HS256", "typ": "JWT"})),
            b64(serde_json::json!({"sub": "acme", "exp": exp}))
        )
    }
    let base = stand_in(|_, _| json(200, serde_json::json!({"access_token": jwt()})));
    wrong_then_fixed(
        "expiry_jwt",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "jwt_exp: access_token",
    );
}

#[test]
fn basic_credentials_refused_suggest_the_form_body_and_never_retry_by_themselves() {
    let requests = Arc::new(std::sync::Mutex::new(0));
    let counted = requests.clone();
    let base = stand_in(move |r, _| {
        *counted.lock().expect("count") += 1;
        if body_ok(r) {
            json(
                200,
                serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
            )
        } else {
            json(
                401,
                serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
            )
        }
    });
    let file = write_spec("basic_refused", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &[]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert_eq!(
        *requests.lock().expect("count"),
        1,
        "try sent the secret twice"
    );
    refused_with_a_candidate(
        "basic_refused",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "```yaml\nclient_auth:\n  params: [body]\n```",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
    );
}

#[test]
fn body_credentials_refused_suggest_the_basic_header() {
    let base = stand_in(|r, _| {
        if basic_ok(r) {
            json(
                200,
                serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
            )
        } else {
            json(401, serde_json::json!({"error": "invalid_client"}))
        }
    });
    refused_with_a_candidate(
        "body_refused",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
        &base,
        "```yaml\nclient_auth:\n  basic: raw\n```",
        &spec(BASIC, STANDARD_FLOW),
    );
}

/// A server that issues a token when `accepts` the request, and answers `status` / `answer`
/// otherwise.
fn accepting(accepts: fn(&Request) -> bool, status: u16, answer: serde_json::Value) -> String {
    stand_in(move |r, _| {
        if accepts(r) {
            json(
                200,
                serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
            )
        } else {
            json(status, answer.clone())
        }
    })
}

/// A server that reads the client's credentials from the form body only.
fn body_only(status: u16, answer: serde_json::Value) -> String {
    accepting(body_ok, status, answer)
}

/// A server that reads the client's credentials from the Basic header only.
fn basic_only(status: u16, answer: serde_json::Value) -> String {
    accepting(basic_ok, status, answer)
}

#[test]
fn entras_wording_for_credentials_outside_the_body_is_a_sure_placement_change() {
    let base = body_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.\r\nTrace ID: 0\r\nCorrelation ID: 0", "error_codes": [7000218]}),
    );
    let written = wrong_then_fixed(
        "entra_body",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "```yaml\nclient_auth:\n  params: [body]\n```",
    );
    assert!(written.contains("params: [body]"), "{written}");
}

#[test]
fn keycloaks_400_secret_not_provided_is_read_as_a_placement_problem() {
    let base = body_only(
        400,
        serde_json::json!({"error": "unauthorized_client", "error_description": "Client secret not provided in request"}),
    );
    wrong_then_fixed(
        "keycloak_not_provided",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "```yaml\nclient_auth:\n  params: [body]\n```",
    );
}

#[test]
fn an_invalid_request_saying_the_auth_mechanism_does_not_match_moves_credentials_to_basic() {
    let base = basic_only(
        400,
        serde_json::json!({"error": "invalid_request", "error_description": "client authentication failed (the registered client token_endpoint_auth_method does not match the provided auth mechanism)"}),
    );
    wrong_then_fixed(
        "oidc_provider_mechanism",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "```yaml\nclient_auth:\n  basic: raw\n```",
    );
}

#[test]
fn spring_authorization_servers_authentication_method_refusal_moves_credentials_to_basic() {
    // ClientSecretAuthenticationProvider: the client is not registered for the method used.
    let base = basic_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "Client authentication failed: authentication_method", "error_uri": "https://datatracker.ietf.org/doc/html/rfc6749#section-3.2.1"}),
    );
    wrong_then_fixed(
        "spring_method",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "```yaml\nclient_auth:\n  basic: raw\n```",
    );
}

#[test]
fn spring_authorization_servers_wrong_secret_refusal_stays_a_candidate() {
    // "…: client_secret" is Spring's answer to a secret that does not match: no placement.
    let base = basic_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "Client authentication failed: client_secret"}),
    );
    let file = write_spec("spring_secret", &spec(BASIC, STANDARD_FLOW));
    let before = std::fs::read_to_string(&file).unwrap();
    let run = try_spec(&file, &base, "wrong-secret", &["--fix"]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert!(run.out.contains("--fix wrote nothing"), "{}", run.out);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn authlibs_bare_invalid_client_is_a_placement_candidate_never_written() {
    // Authlib's ClientAuthentication raises InvalidClientError with no description (401 when
    // it takes client_secret_basic): nothing tells a wrong secret from a wrong placement.
    let base = body_only(401, serde_json::json!({"error": "invalid_client"}));
    refused_with_a_candidate(
        "authlib_bare",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "```yaml\nclient_auth:\n  params: [body]\n```",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
    );
}

#[test]
fn oktas_generic_refusal_is_a_placement_candidate_never_written() {
    let base = basic_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "Client authentication failed. Either the client or the client credentials are invalid."}),
    );
    refused_with_a_candidate(
        "okta_generic",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
        &base,
        "```yaml\nclient_auth:\n  basic: raw\n```",
        &spec(BASIC, STANDARD_FLOW),
    );
}

#[test]
fn oktas_private_key_jwt_requirement_becomes_an_assertion_and_asks_for_the_key() {
    // Okta's org authorization server refuses every client secret for this grant.
    let base = stand_in(|_, _| {
        json(
            400,
            serde_json::json!({"error": "invalid_client", "error_description": "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method."}),
        )
    });
    let file = write_spec("okta_private_key_jwt", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &["--fix"]);
    assert_eq!(run.exit, 1, "{}", run.out);
    assert!(
        run.out
            .contains("```yaml\nclient_auth:\n  assertion: private_key_jwt\n```")
            && run.out.contains("pass `--key FILE`")
            && run.out.contains("`check` passes"),
        "{}",
        run.out
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("assertion: private_key_jwt"), "{written}");
    let next = try_spec(&file, &base, SECRET, &[]);
    assert_eq!(next.exit, 3, "{}", next.out);
    assert!(
        next.out.contains("pass --key FILE"),
        "the next step names the key\n{}",
        next.out
    );
}

#[test]
fn words_naming_several_methods_tell_nothing_and_stay_a_candidate() {
    // A server listing what it supports names no single placement.
    let base = body_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "supported: client_secret_basic, client_secret_post"}),
    );
    refused_with_a_candidate(
        "several_methods",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "```yaml\nclient_auth:\n  params: [body]\n```",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
    );
}

#[test]
fn words_naming_where_the_credentials_already_are_stay_a_candidate() {
    // The server says it wants the body, and the spec already sends the body: a wrong secret.
    let base = body_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "Use client_secret_post"}),
    );
    let file = write_spec(
        "already_body",
        &spec("client_auth:\n  params: [body]", STANDARD_FLOW),
    );
    let run = try_spec(&file, &base, "wrong-secret", &["--fix"]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert!(run.out.contains("--fix wrote nothing"), "{}", run.out);
}

/// A secret the Basic encodings write three ways: `+` and a space.
const PLUS_SECRET: &str = "s3cr3t+value never printed";

/// What a stand-in saw of one request: its path, its Basic credentials as sent (before any
/// decoding) and whether the form body carried a secret.
type Seen = Arc<Mutex<Vec<(String, Option<(String, String)>, bool)>>>;

/// A stand-in answering with `handler` that records every request it gets.
fn recording(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let base = stand_in(move |r, _| {
        record
            .lock()
            .unwrap()
            .push((r.path.clone(), r.basic(), r.form("client_secret").is_some()));
        handler(r)
    });
    (base, seen)
}

fn issued() -> Answer {
    json(
        200,
        serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
    )
}

/// A server that decodes Basic credentials with form rules, as RFC 6749 §2.3.1 says (a `+`
/// sent raw reads as a space, so the raw encoding of [`PLUS_SECRET`] is refused), and reads
/// nothing from the body.
fn form_decoding_basic() -> (String, Seen) {
    let form_decoded = |part: &str| -> String {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    recording(move |r| match r.basic() {
        Some((id, secret)) if form_decoded(&id) == ID && form_decoded(&secret) == PLUS_SECRET => {
            issued()
        }
        _ => json(401, serde_json::json!({"error": "invalid_client"})),
    })
}

#[test]
fn a_secret_whose_basic_encodings_differ_gets_another_encoding_before_another_placement() {
    let (base, seen) = form_decoding_basic();
    let file = write_spec("encoding_first", &spec(BASIC, STANDARD_FLOW));
    let before = std::fs::read_to_string(&file).unwrap();
    let run = try_spec(&file, &base, PLUS_SECRET, &["--fix"]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert!(
        run.out.contains("candidate change (not written by --fix)")
            && run
                .out
                .contains("```yaml\nclient_auth:\n  basic: percent\n```"),
        "the encoding is the candidate, not the placement\n{}",
        run.out
    );
    assert!(!run.out.contains("params: [body]"), "{}", run.out);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "without --probe, one request"
    );
    let by_hand = write_spec(
        "encoding_first_applied",
        &spec("client_auth:\n  basic: percent", STANDARD_FLOW),
    );
    assert_eq!(
        try_spec(&by_hand, &base, PLUS_SECRET, &[]).exit,
        0,
        "the candidate encoding works"
    );
}

#[test]
fn probe_sends_the_other_encodings_to_the_same_endpoint_and_fix_writes_the_one_accepted() {
    let (base, seen) = form_decoding_basic();
    let file = write_spec("probe_finds", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, PLUS_SECRET, &["--probe", "--fix"]);
    assert_eq!(run.exit, 1, "the spec's encoding is wrong\n{}", run.out);
    assert!(
        run.out
            .contains(&format!("- `basic: percent`: POST {base}/token → HTTP 200")),
        "each attempt is shown\n{}",
        run.out
    );
    assert!(
        run.out
            .contains("accepted them when `--probe` sent them encoded `percent`"),
        "{}",
        run.out
    );
    assert!(run.out.contains("`check` passes"), "{}", run.out);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("basic: percent"), "{written}");
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        2,
        "it stops at the first encoding accepted: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|(path, basic, in_body)| path == "/token" && basic.is_some() && !in_body),
        "only the encoding changed, never the endpoint or the placement: {requests:?}"
    );
    assert_eq!(try_spec(&file, &base, PLUS_SECRET, &[]).exit, 0);
}

#[test]
fn probe_that_no_encoding_satisfies_leaves_the_placement_a_candidate_and_the_spec_unchanged() {
    // The server reads the body only: no Basic encoding can satisfy it.
    let (base, seen) = recording(|r| {
        if r.form("client_id").as_deref() == Some(ID)
            && r.form("client_secret").as_deref() == Some(PLUS_SECRET)
        {
            issued()
        } else {
            json(401, serde_json::json!({"error": "invalid_client"}))
        }
    });
    let file = write_spec("probe_refused", &spec(BASIC, STANDARD_FLOW));
    let before = std::fs::read_to_string(&file).unwrap();
    let run = try_spec(&file, &base, PLUS_SECRET, &["--probe", "--fix"]);
    assert_eq!(run.exit, 2, "{}", run.out);
    for encoding in ["percent", "rfc6749"] {
        assert!(
            run.out.contains(&format!(
                "- `basic: {encoding}`: POST {base}/token → HTTP 401"
            )),
            "the {encoding} attempt is shown\n{}",
            run.out
        );
    }
    assert!(
        run.out
            .contains("each was refused: the encoding is not the cause")
            && run.out.contains("candidate change (not written by --fix)")
            && run.out.contains("params: [body]"),
        "{}",
        run.out
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|(_, basic, in_body)| basic.is_some() && !in_body),
        "--probe never moved the secret to the body: {requests:?}"
    );
}

#[test]
fn probe_with_credentials_every_encoding_writes_alike_sends_nothing_more() {
    let (base, seen) = recording(|_| json(401, serde_json::json!({"error": "invalid_client"})));
    let file = write_spec("probe_alike", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &["--probe"]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert!(
        run.out.contains(
            "nothing to probe: every Basic encoding writes these credentials the same way"
        ),
        "{}",
        run.out
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn fix_with_a_mistyped_secret_leaves_a_correct_spec_unchanged() {
    // The spec is right (Basic); the user typed the secret wrong.
    let base = basic_only(
        401,
        serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
    );
    let file = write_spec("mistyped_secret", &spec(BASIC, STANDARD_FLOW));
    let before = std::fs::read_to_string(&file).unwrap();
    let run = try_spec(&file, &base, "s3cr3t-value-mistyped", &["--fix"]);
    assert_eq!(run.exit, 2, "refused: the spec may be right\n{}", run.out);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "--fix rewrote a correct spec after a refusal\n{}",
        run.out
    );
    assert!(run.out.contains("--fix wrote nothing"), "{}", run.out);
    assert_eq!(
        try_spec(&file, &base, SECRET, &[]).exit,
        0,
        "the untouched spec works with the right secret"
    );
}

#[test]
fn a_redirect_to_the_same_server_names_the_path_to_use() {
    let base = stand_in(|r, _| match r.path.as_str() {
        "/token" => Answer(308, vec![("location", "/token/".into())], String::new()),
        _ => json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
        ),
    });
    let written = wrong_then_fixed(
        "redirect",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "    path: /token/\n",
    );
    assert!(written.contains("    path: /token/\n"), "{written}");
}

#[test]
fn a_redirect_to_a_login_page_is_named_as_one() {
    let base = stand_in(|_, _| {
        Answer(
            302,
            vec![(
                "location",
                "https://login.acme.example/signin?next=%2Ftoken".into(),
            )],
            String::new(),
        )
    });
    let file = write_spec("redirect_login", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &[]);
    assert_eq!(run.exit, 1, "{}", run.out);
    assert!(
        run.out
            .contains("redirected (HTTP 302) to https://login.acme.example/signin?…"),
        "{}",
        run.out
    );
}

#[test]
fn a_redirect_to_another_port_names_the_port_and_writes_no_fix() {
    let base = stand_in(|_, _| {
        Answer(
            307,
            vec![("location", "https://127.0.0.1:8443/token".into())],
            String::new(),
        )
    });
    let file = write_spec("redirect_port", &spec(BASIC, STANDARD_FLOW));
    let before = std::fs::read_to_string(&file).unwrap();
    let run = try_spec(&file, &base, SECRET, &["--fix"]);
    assert!(
        run.out
            .contains("redirected (HTTP 307) to https://127.0.0.1:8443/token"),
        "{}",
        run.out
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "no environment URL is rewritten to a port the server did not name"
    );
}

#[test]
fn an_html_page_with_published_metadata_gets_the_token_endpoint_path() {
    let base = stand_in(|r, own| match r.path.as_str() {
        "/.well-known/oauth-authorization-server" => json(
            200,
            serde_json::json!({"issuer": own, "token_endpoint": format!("{own}/oauth2/v1/token")}),
        ),
        "/oauth2/v1/token" => json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
        ),
        _ => Answer(
            404,
            vec![("content-type", "text/html".into())],
            "<html><head><title>Page not found</title></head><body>nope</body></html>".into(),
        ),
    });
    let first = wrong_then_fixed(
        "html",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        SECRET,
        1,
        "path: /oauth2/v1/token",
    );
    assert!(first.contains("    path: /oauth2/v1/token\n"), "{first}");
    let file = write_spec("html_title", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &base, SECRET, &[]);
    assert!(
        run.out
            .contains("an HTML page (HTTP 404, title \"Page not found\")"),
        "{}",
        run.out
    );
}

#[test]
fn an_error_answer_shaped_otherwise_gets_error_answer_paths() {
    let base = basic_only(
        400,
        serde_json::json!({"error": {"code": "AUTH_FAILED", "message": "bad credentials"}}),
    );
    let written = wrong_then_fixed(
        "error_shape",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "wrong-secret",
        1,
        "```yaml\nerror_answer:\n  code: error.code\n  message: error.message\n```",
    );
    assert!(
        written.contains("error_answer:\n  code: error.code\n  message: error.message\n"),
        "{written}"
    );
}

#[test]
fn a_message_under_reason_as_zoom_words_it_gets_error_answer_message() {
    let base = basic_only(
        400,
        serde_json::json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
    );
    let written = wrong_then_fixed(
        "error_reason",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "wrong-secret",
        1,
        "```yaml\nerror_answer:\n  message: reason\n```",
    );
    assert!(
        written.contains("error_answer:\n  message: reason\n"),
        "{written}"
    );
}

#[test]
fn a_successful_status_that_says_it_failed_gets_failed_when() {
    let base = stand_in(|r, _| {
        if basic_ok(r) {
            json(
                200,
                serde_json::json!({"success": true, "access_token": TOKEN, "expires_in": 3600}),
            )
        } else {
            json(
                200,
                serde_json::json!({"success": false, "message": "invalid credentials"}),
            )
        }
    });
    let written = wrong_then_fixed(
        "failed_when",
        &spec(BASIC, STANDARD_FLOW),
        &base,
        "wrong-secret",
        1,
        "```yaml\nerror_answer:\n  failed_when:\n    path: success\n    equals: false\n```",
    );
    // `message` is where the runtime looks by default: nothing to add for it.
    assert!(!written.contains("  message:"), "{written}");
    // With the spec fixed, the same refusal is the provider's: exit 2, nothing more to change.
    let file = write_spec("failed_when_fixed", &written);
    let again = try_spec(&file, &base, "wrong-secret", &[]);
    assert_eq!(again.exit, 2, "{}", again.out);
    assert!(again.out.contains("invalid credentials"), "{}", again.out);
}

#[test]
fn a_method_the_endpoint_refuses_gets_the_one_it_allows() {
    let base = stand_in(|r, _| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
        ),
        _ => Answer(405, vec![("allow", "POST, OPTIONS".into())], String::new()),
    });
    wrong_then_fixed(
        "method",
        &spec(BASIC, &format!("    method: PUT\n{STANDARD_FLOW}")),
        &base,
        SECRET,
        1,
        "    method: POST\n",
    );
}

#[test]
fn a_body_encoding_the_endpoint_refuses_gets_the_other() {
    let base = stand_in(|r, _| {
        if r.header("content-type") == Some("application/x-www-form-urlencoded") {
            json(
                200,
                serde_json::json!({"access_token": TOKEN, "expires_in": 3600}),
            )
        } else {
            Answer(415, vec![], String::new())
        }
    });
    wrong_then_fixed(
        "body",
        &spec(BASIC, &format!("    body: json\n{STANDARD_FLOW}")),
        &base,
        SECRET,
        1,
        "    body: form\n",
    );
}

#[test]
fn a_field_under_another_name_gets_its_path() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 3600, "accountId": "acc-1"}),
        )
    });
    let flow = format!(
        "{STANDARD_FLOW}\n    response:\n      fields:\n        account_id:\n          path: account_id\n          type: string"
    );
    let written = wrong_then_fixed(
        "field_path",
        &spec(BASIC, &flow),
        &base,
        SECRET,
        1,
        "path: accountId",
    );
    assert!(
        written.contains("          path: accountId\n          type: string"),
        "{written}"
    );
}

#[test]
fn a_field_of_another_type_gets_that_type() {
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"access_token": TOKEN, "expires_in": 3600, "tier": "gold"}),
        )
    });
    let flow = format!(
        "{STANDARD_FLOW}\n    response:\n      fields:\n        tier:\n          path: tier\n          type: integer"
    );
    wrong_then_fixed(
        "field_type",
        &spec(BASIC, &flow),
        &base,
        SECRET,
        1,
        "type: string",
    );
}

#[test]
fn usage_errors_exit_3_and_name_what_is_missing() {
    let file = write_spec("usage", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, "http://127.0.0.1:9", SECRET, &["--flow", "nope"]);
    assert_eq!(run.exit, 3, "{}", run.out);
    assert!(
        run.out
            .contains("no flow `nope`; the spec has client_credentials"),
        "{}",
        run.out
    );
    let run = try_spec(
        &file,
        "http://127.0.0.1:9",
        SECRET,
        &["--param", "nothing=1"],
    );
    assert_eq!(run.exit, 3, "{}", run.out);
    let run = try_spec(&file, "http://acme.example", SECRET, &[]);
    assert_eq!(
        run.exit, 3,
        "plain http to a remote host must be refused: {}",
        run.out
    );
    assert!(run.out.contains("https://"), "{}", run.out);
}

#[test]
fn an_unreachable_provider_exits_2() {
    // A port nothing listens on, held bound (never listening) so that no test running beside
    // this one can take it and answer: every connection is refused.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    let file = write_spec("unreachable", &spec(BASIC, STANDARD_FLOW));
    let run = try_spec(&file, &format!("http://127.0.0.1:{port}"), SECRET, &[]);
    assert_eq!(run.exit, 2, "{}", run.out);
    assert!(run.out.contains("no answer"), "{}", run.out);
}

/// `try` drives the runtime with the descriptor the generator makes from the spec; for every
/// shipped spec, the data its generated module holds reads back as that very descriptor.
#[test]
fn the_descriptor_try_runs_is_what_every_shipped_modules_data_reads_as() {
    let specs = tokenspec_codegen::spec_files(std::path::Path::new("../specs")).expect("specs/");
    assert!(!specs.is_empty());
    for file in specs {
        let checked =
            tokenspec_codegen::check_file(&file, &file.to_string_lossy()).expect("readable");
        let provider = checked.provider.expect("shipped specs pass check");
        let made = format!(
            "{:#?}",
            tokenspec_codegen::descriptor::descriptor(&provider)
        );
        let generated = tokenspec::__PROVIDERS
            .iter()
            .filter_map(|p| p.provider().ok())
            .find(|p| p.name == provider.module)
            .unwrap_or_else(|| {
                panic!(
                    "the `{}` module is not compiled in, or does not read",
                    provider.module
                )
            });
        assert_eq!(made, format!("{generated:#?}"), "{}", provider.module);
    }
}

#[test]
fn a_code_exchange_sends_the_code_the_verifier_and_the_redirect_uri_and_prints_neither_secret() {
    const CODE: &str = "code-8f7e6d5c4b3a2910";
    const VERIFIER: &str = "verifier-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    let base = stand_in(|r, _| {
        let ok = basic_ok(r)
            && r.form("grant_type").as_deref() == Some("authorization_code")
            && r.form("code").as_deref() == Some(CODE)
            && r.form("code_verifier").as_deref() == Some(VERIFIER)
            && r.form("redirect_uri").as_deref() == Some("https://app.example/callback");
        if ok {
            json(
                200,
                serde_json::json!({"access_token": TOKEN, "expires_in": 3600, "refresh_token": "rt-ffeeddccbbaa99887766"}),
            )
        } else {
            json(400, serde_json::json!({"error": "invalid_grant"}))
        }
    });
    let flow = "    path: /token\n    params:\n      grant_type:\n        value: authorization_code\n      code:\n        from: call\n        type: secret\n    response:\n      refresh_token: refresh_token\n    expiry:\n      expires_in: expires_in";
    let text = spec(BASIC, flow).replace(
        "  client_credentials:\n    grant: client_credentials",
        "  exchange_code:\n    grant: authorization_code",
    );
    let file = write_spec("code_exchange", &text);
    let run = try_spec(
        &file,
        &base,
        SECRET,
        &[
            "--param",
            &format!("code={CODE}"),
            "--param",
            &format!("code_verifier={VERIFIER}"),
            "--param",
            "redirect_uri=https://app.example/callback",
        ],
    );
    assert_eq!(run.exit, 0, "{}", run.out);
    assert!(
        !run.out.contains(CODE) && !run.out.contains(VERIFIER),
        "{}",
        run.out
    );
    assert!(!run.out.contains("rt-ffeeddccbbaa99887766"), "{}", run.out);
    assert!(
        run.out.contains("code=****") && run.out.contains("redirect_uri=https"),
        "{}",
        run.out
    );
    assert!(run.out.contains("refresh_token: rt-f"), "{}", run.out);
}

#[test]
fn a_short_token_under_a_key_that_does_not_say_token_is_still_masked() {
    const SHORT: &str = "abc123XYZ";
    let base = stand_in(|_, _| {
        json(
            200,
            serde_json::json!({"result": {"value": SHORT}, "expires_in": 60}),
        )
    });
    let flow = "    path: /token\n    response:\n      access_token: result.value\n    expiry:\n      expires_in: expires_in";
    let file = write_spec("short_token", &spec(BASIC, flow));
    let run = try_spec(&file, &base, SECRET, &[]);
    assert_eq!(run.exit, 0, "{}", run.out);
    assert!(!run.out.contains(SHORT), "{}", run.out);
    assert!(run.out.contains("\"value\": \"****\""), "{}", run.out);
}
