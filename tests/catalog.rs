//! Every provider of the catalog against the example its documentation shows: for each fixture
//! in `specs/fixtures/`, the generated client (its `PROVIDER` static, built as its builder
//! builds it) sends its token request to a capture server on 127.0.0.1, which checks it is the
//! documented request (method, path, each documented header, each parameter, encoding, body
//! type) and answers with the documented answer, which must read as the documented token,
//! lifetime and fields. A mismatch prints every difference at once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::Value;

/// A fixture: the documented request and answer of one flow, as facts.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    docs: String,
    flow: String,
    environment: String,
    #[serde(default)]
    values: BTreeMap<String, Value>,
    credentials: Credentials,
    request: DocumentedRequest,
    answer: DocumentedAnswer,
    #[serde(default)]
    expect: Expect,
    /// The discovery document of a server the spec serves, as it publishes it: where a flow
    /// without `path` finds its token endpoint. The capture server serves it with every URL's
    /// origin replaced by its own.
    #[serde(default)]
    discovery: Option<Value>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    /// The documented client id; none for a provider whose requests name no client.
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    /// A client assertion another identity provider issued, as documented: it goes in the
    /// client's assertion file.
    #[serde(default)]
    client_assertion: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentedRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body_type: String,
    #[serde(default)]
    body: BTreeMap<String, Value>,
    #[serde(default)]
    query: BTreeMap<String, Value>,
    /// Parameters the client sends that the example omits, each justified in a comment of the
    /// fixture (the only difference the test tolerates).
    #[serde(default)]
    also_sent: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentedAnswer {
    status: u16,
    body: Value,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    lifetime_secs: Option<u64>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

/// What the capture server received.
#[derive(Debug, Default, Clone)]
struct Captured {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// `document` with the origin of every `https://` URL in it replaced by `origin`, the rest of
/// each URL kept as written.
fn moved_to(document: &Value, origin: &str) -> Value {
    match document {
        Value::String(text) => match url::Url::parse(text) {
            Ok(url) if url.scheme() == "https" => {
                let from = format!("https://{}", url.host_str().unwrap_or_default());
                Value::String(text.replacen(&from, origin, 1))
            }
            _ => document.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| moved_to(v, origin)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), moved_to(v, origin)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A server on 127.0.0.1 that records the last token request and answers it with `status` and
/// `body`; with a `discovery` document, it serves that (moved to its own origin) to requests
/// under `/.well-known/`.
fn capture(
    status: u16,
    body: String,
    discovery: Option<&Value>,
) -> (String, Arc<Mutex<Option<Captured>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let discovery = discovery.map(|d| moved_to(d, &origin).to_string());
    let seen = Arc::new(Mutex::new(None));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let mut captured = Captured {
                method: parts.next().unwrap_or_default().to_owned(),
                target: parts.next().unwrap_or_default().to_owned(),
                ..Captured::default()
            };
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    captured
                        .headers
                        .push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let length: usize = captured
                .headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            captured.body = vec![0; length];
            let _ = reader.read_exact(&mut captured.body);
            let (status, body) = match &discovery {
                Some(document) if captured.target.starts_with("/.well-known/") => (200, document),
                _ => {
                    *keep.lock().expect("capture") = Some(captured);
                    (status, &body)
                }
            };
            let answer = format!(
                "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (origin, seen)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The documented value with the fixture's credentials in place of `$CLIENT_ID`,
/// `$CLIENT_SECRET`, `$CLIENT_ASSERTION` and `$BASIC`.
fn substitute(value: &str, c: &Credentials) -> String {
    let secret = c.client_secret.as_deref().unwrap_or_default();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", c.client_id));
    value
        .replace(
            "$CLIENT_ASSERTION",
            c.client_assertion.as_deref().unwrap_or_default(),
        )
        .replace("$CLIENT_ID", &c.client_id)
        .replace("$CLIENT_SECRET", secret)
        .replace("$BASIC", &basic)
}

/// Whether `value` is a signed JWT (three dot-separated parts, a JSON header naming `alg`).
fn is_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .ok()
            .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
            .is_some_and(|h| h.get("alg").is_some())
}

/// Compares documented parameters with sent ones; every difference is a line in `problems`.
fn compare_params(
    what: &str,
    documented: &BTreeMap<String, Value>,
    sent: &[(String, String)],
    (c, also_sent): (&Credentials, &[String]),
    problems: &mut Vec<String>,
) {
    for (name, value) in documented {
        let wanted = substitute(&text(value), c);
        match sent.iter().find(|(k, _)| k == name) {
            None => problems.push(format!("{what} parameter `{name}`: documented, not sent")),
            Some((_, got)) if wanted == "$ASSERTION" => {
                if !is_jwt(got) {
                    problems.push(format!("{what} parameter `{name}`: not a signed JWT"));
                }
            }
            Some((_, got)) if *got != wanted => problems.push(format!(
                "{what} parameter `{name}`: documented {wanted:?}, sent {got:?}"
            )),
            Some(_) => {}
        }
    }
    for (name, _) in sent {
        if !documented.contains_key(name) && !also_sent.contains(name) {
            problems.push(format!("{what} parameter `{name}`: sent, not documented"));
        }
    }
}

/// A test key and certificate for providers that want them, written once.
fn key_material() -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("catalog-keys");
    std::fs::create_dir_all(&dir).expect("key folder");
    let rsa = dir.join("rsa.pem");
    let account: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/service-account.json").expect("test key"),
    )
    .expect("JSON");
    std::fs::write(&rsa, account["private_key"].as_str().expect("private_key")).expect("write");
    let certified =
        rcgen::generate_simple_self_signed(vec!["client.example".to_owned()]).expect("certificate");
    let (cert, cert_key, ec) = (
        dir.join("cert.pem"),
        dir.join("cert-key.pem"),
        dir.join("ec.pem"),
    );
    std::fs::write(&cert, certified.cert.pem()).expect("write");
    std::fs::write(&cert_key, certified.signing_key.serialize_pem()).expect("write");
    std::fs::write(&ec, certified.signing_key.serialize_pem()).expect("write");
    (rsa, ec, cert, cert_key)
}

/// Every difference between what the generated client of `module` does and its fixture.
fn check(module: &str, fixture: &Fixture) -> Vec<String> {
    let mut problems = Vec::new();
    let spec = PathBuf::from(format!("specs/{module}.yaml"));
    let checked = tokenspec_codegen::check_file(&spec, &format!("specs/{module}.yaml"))
        .expect("spec readable");
    let Some(ir) = checked.provider else {
        return vec![format!("specs/{module}.yaml does not pass check")];
    };
    let Some(generated) = tokenspec::__PROVIDERS
        .iter()
        .filter_map(|p| p.provider().ok())
        .find(|p| p.name == module)
    else {
        return vec![format!(
            "the `{module}` feature is not enabled, or its module's data does not read"
        )];
    };
    let Some(environment) = ir
        .environments
        .iter()
        .find(|e| e.name == fixture.environment)
    else {
        return vec![format!("no environment `{}`", fixture.environment)];
    };
    let Some(flow) = ir.flows.iter().find(|f| f.name == fixture.flow) else {
        return vec![format!("no flow `{}`", fixture.flow)];
    };
    // The documented URL is the environment's URL and the flow's path.
    let mut base = environment.url.clone();
    for (name, _) in &environment.placeholders {
        if let Some(v) = fixture.values.get(name) {
            base = base.replace(&format!("{{{name}}}"), &text(v));
        }
    }
    let documented = url::Url::parse(&fixture.request.url).expect("documented URL");
    let mut documented_no_query = documented.clone();
    documented_no_query.set_query(None);
    match &flow.path {
        Some(path) => {
            // Parsed as the client parses it, so a host's letter case (DNS ignores it) is no
            // difference.
            let spec_url = format!("{}{path}", base.trim_end_matches('/'));
            let spec_url = url::Url::parse(&spec_url).map_or(spec_url, String::from);
            if documented_no_query.as_str().trim_end_matches('/') != spec_url.trim_end_matches('/')
            {
                problems.push(format!(
                    "URL: documented {documented_no_query}, the spec sends to {spec_url}"
                ));
            }
        }
        // The token endpoint is the discovery document's; the path it names is compared with
        // the documented one below.
        None if fixture.discovery.is_none() => problems.push(
            "the flow has no `path`: the fixture needs the `discovery` document its token endpoint comes from"
                .to_owned(),
        ),
        None => {}
    }
    let base_url = url::Url::parse(&base).expect("environment URL");
    // Documentation often elides its sample token ("eyJ… … …", "Your access token"): such a
    // placeholder could never come in a real answer (a token goes in a header), so a stand-in
    // takes its place and must be what the client reads.
    let mut answer = fixture.answer.body.clone();
    let mut stand_in = None;
    if let Some(flow) = generated.flows.iter().find(|f| f.name == fixture.flow) {
        for path in flow.access_token {
            let place = path.iter().try_fold(&mut answer, |v, k| v.get_mut(*k));
            if let Some(Value::String(token)) = place {
                if !token.bytes().all(|b| (0x21..0x7f).contains(&b)) {
                    *token = "documented-token-placeholder".to_owned();
                    stand_in = Some(token.clone());
                }
                break;
            }
        }
    }
    let (origin, seen) = capture(
        fixture.answer.status,
        answer.to_string(),
        fixture.discovery.as_ref(),
    );
    let (rsa, ec, cert, cert_key) = key_material();
    let signs_with_key = generated.flows.iter().any(|f| {
        f.client_auth.assertion.is_some_and(|a| a.algorithm != "HS256")
            || matches!(f.grant, tokenspec::__private::descriptor::Grant::JwtBearer(a) if a.algorithm != "HS256")
    });
    let algorithm = generated
        .flows
        .iter()
        .find_map(|f| f.client_auth.assertion.map(|a| a.algorithm))
        .unwrap_or("RS256");
    let needs_certificate = ir.environments.iter().any(|e| e.client_certificate)
        || ir.flows.iter().any(|f| f.client_auth.certificate.is_some());
    let options = tokenspec_codegen::live::Options {
        spec: spec.clone(),
        environment: Some(fixture.environment.clone()),
        flow: Some(fixture.flow.clone()),
        params: fixture
            .values
            .iter()
            .map(|(k, v)| {
                // A `secret_file` setting takes a path: the documented value goes in a file.
                let file = ir.config_params.iter().any(|c| {
                    (c.ident == *k || c.wire == *k)
                        && c.ty == tokenspec_codegen::ir::ParamType::SecretFile
                });
                if !file {
                    return (k.clone(), text(v));
                }
                let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("catalog-{module}-{k}"));
                std::fs::write(&path, text(v)).expect("token file");
                (k.clone(), path.display().to_string())
            })
            .collect(),
        base_url: Some(format!("{origin}{}", base_url.path())),
        client_id: Some(fixture.credentials.client_id.clone()),
        client_secret: fixture.credentials.client_secret.clone(),
        key_file: signs_with_key.then(|| {
            if algorithm.starts_with("ES") {
                ec.clone()
            } else {
                rsa.clone()
            }
        }),
        assertion_file: fixture
            .credentials
            .client_assertion
            .as_ref()
            .map(|assertion| {
                let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("catalog-{module}-client-assertion"));
                std::fs::write(&path, assertion).expect("assertion file");
                path
            }),
        cert_file: needs_certificate.then(|| cert.clone()),
        cert_key_file: needs_certificate.then(|| cert_key.clone()),
        ..Default::default()
    };
    let prepared = match tokenspec_codegen::live::prepare(&ir, &options, Some(generated)) {
        Ok(p) => p,
        Err(e) => return vec![format!("the client cannot be built: {e}")],
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let trial = runtime.block_on(prepared.client.trial(
        &ir.flows[prepared.flow].name,
        prepared.call.clone(),
        prepared.extra.clone(),
    ));
    let Some(sent) = seen.lock().expect("capture").clone() else {
        return vec![format!(
            "nothing reached the capture server: {:?}",
            trial.outcome.err()
        )];
    };
    let c = &fixture.credentials;
    let r = &fixture.request;
    if sent.method != r.method {
        problems.push(format!(
            "method: documented {}, sent {}",
            r.method, sent.method
        ));
    }
    let sent_url = url::Url::parse(&format!("{origin}{}", sent.target)).expect("target");
    if sent_url.path() != documented.path() {
        problems.push(format!(
            "path: documented {}, sent {}",
            documented.path(),
            sent_url.path()
        ));
    }
    let mut documented_query = r.query.clone();
    for (k, v) in documented.query_pairs() {
        documented_query.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let sent_query: Vec<(String, String)> = sent_url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    compare_params(
        "query",
        &documented_query,
        &sent_query,
        (c, &r.also_sent),
        &mut problems,
    );
    let header = |name: &str| {
        sent.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    for (name, value) in &r.headers {
        let wanted = substitute(value, c);
        let media = |v: &str| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        match header(name) {
            None => problems.push(format!("header {name}: documented, not sent")),
            Some(got) if name.eq_ignore_ascii_case("content-type") => {
                if media(&got) != media(&wanted) {
                    problems.push(format!(
                        "header {name}: documented {wanted:?}, sent {got:?}"
                    ));
                }
            }
            Some(got) if got != wanted => problems.push(format!(
                "header {name}: documented {wanted:?}, sent {got:?}"
            )),
            Some(_) => {}
        }
    }
    let content_type = header("content-type").unwrap_or_default();
    match r.body_type.as_str() {
        "form" => {
            if !content_type.starts_with("application/x-www-form-urlencoded") {
                problems.push(format!("body: documented form, sent {content_type:?}"));
            }
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&sent.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            compare_params("body", &r.body, &pairs, (c, &r.also_sent), &mut problems);
        }
        "json" => {
            if !content_type.starts_with("application/json") {
                problems.push(format!("body: documented JSON, sent {content_type:?}"));
            }
            match serde_json::from_slice::<Value>(&sent.body) {
                Ok(Value::Object(map)) => {
                    let pairs: Vec<(String, String)> =
                        map.iter().map(|(k, v)| (k.clone(), text(v))).collect();
                    compare_params("body", &r.body, &pairs, (c, &r.also_sent), &mut problems);
                }
                _ => problems.push("body: documented a JSON object, sent none".to_owned()),
            }
        }
        "multipart" => {
            if !content_type.starts_with("multipart/form-data") {
                problems.push(format!("body: documented multipart, sent {content_type:?}"));
            }
            let body = String::from_utf8_lossy(&sent.body);
            for (name, value) in &r.body {
                let wanted = substitute(&text(value), c);
                let part = format!("name=\"{name}\"");
                if !body.contains(&part) || !body.contains(&wanted) {
                    problems.push(format!(
                        "body part `{name}`: documented {wanted:?}, not sent"
                    ));
                }
            }
        }
        "none" => {
            if !sent.body.is_empty() {
                problems.push(format!(
                    "body: documented none, sent {} bytes",
                    sent.body.len()
                ));
            }
        }
        other => problems.push(format!(
            "body_type {other:?} is not form, json, multipart or none"
        )),
    }
    match &trial.outcome {
        Err(e) => problems.push(format!(
            "the documented answer does not read: {}",
            e.chain()
        )),
        Ok(parsed) => {
            use tokenspec::ExposeSecret;
            if let Some(token) = &stand_in
                && parsed.token.expose_secret() != token
            {
                problems.push("the token read is not the one in the answer".to_owned());
            }
            if let Some(wanted) = fixture.expect.lifetime_secs
                && parsed.lifetime.as_secs().abs_diff(wanted) > 2
            {
                problems.push(format!(
                    "lifetime: documented {wanted} s, read {} s",
                    parsed.lifetime.as_secs()
                ));
            }
            for (key, wanted) in &fixture.expect.fields {
                match parsed.fields.get(key) {
                    None => problems.push(format!("field `{key}`: documented {wanted}, not read")),
                    Some(got) if text(got) != text(wanted) => {
                        problems.push(format!("field `{key}`: documented {wanted}, read {got}"))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    problems
}

#[test]
fn every_provider_sends_its_documented_request_and_reads_its_documented_answer() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir("specs/fixtures")
        .expect("specs/fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty());
    let mut report = Vec::new();
    for path in &fixtures {
        let module = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let fixture: Fixture =
            match serde_yaml::from_str(&std::fs::read_to_string(path).expect("fixture")) {
                Ok(f) => f,
                Err(e) => {
                    report.push(format!("{}: not a fixture: {e}", path.display()));
                    continue;
                }
            };
        // A provider's public page, or for the first providers the document they sent us.
        assert!(
            fixture.docs.starts_with("https://") || fixture.docs.starts_with("shared/seeds/"),
            "{module}: `docs` must name the page the example comes from"
        );
        for problem in check(module, &fixture) {
            report.push(format!("{module}: {problem}"));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {} providers differ from their documentation:\n{}",
        report
            .iter()
            .map(|l| l.split(':').next().unwrap_or_default())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        fixtures.len(),
        report.join("\n")
    );
}

/// Every spec in the catalog comes with its fixture, and every fixture with its spec.
#[test]
fn every_catalog_spec_has_a_fixture() {
    let stems = |dir: &Path| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir)
            .expect("folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
            .collect()
    };
    let specs = stems(Path::new("specs"));
    let fixtures = stems(Path::new("specs/fixtures"));
    let orphans: Vec<&String> = fixtures.difference(&specs).collect();
    assert!(orphans.is_empty(), "fixtures without a spec: {orphans:?}");
    let missing: Vec<&String> = specs.difference(&fixtures).collect();
    assert!(
        missing.is_empty(),
        "specs without a fixture in specs/fixtures/: {missing:?}"
    );
}

/// Every spec of tokenspec's own catalog names the document its facts were checked against, and
/// the day: `check` only warns when a spec leaves `checked:` out (a user's older spec must still
/// build), so the catalog's rule lives here.
#[test]
fn every_catalog_spec_says_which_document_it_was_checked_against() {
    let mut unchecked = Vec::new();
    for entry in std::fs::read_dir("specs").expect("specs").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let shown = format!(
            "specs/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let checked = tokenspec_codegen::check_file(&path, &shown).expect("spec readable");
        let Some(provider) = checked.provider else {
            unchecked.push(format!("{shown} does not pass check"));
            continue;
        };
        if provider.catalog.is_some() && provider.checked.is_none() {
            unchecked.push(shown);
        }
    }
    unchecked.sort();
    assert!(
        unchecked.is_empty(),
        "catalog specs without `checked: {{ against, on }}`: {unchecked:?}"
    );
}
