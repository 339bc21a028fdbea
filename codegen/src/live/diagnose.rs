//! Why an answer does not fit a spec, and the YAML change that makes it fit.
//!
//! Every rule looks at what the provider really sent (status, headers, body) next to what the
//! spec declares, and either says what it saw or gives the exact change. A change that moves
//! the client secret is only suggested: `try` never sends the secret anywhere its spec does not
//! say, and the author decides.

use serde_json::Value;
use serde_yaml::Value as Yaml;
use tokenspec::__private::trial::{RawAnswer, Trial};

use crate::edit::Edit;
use crate::ir;

/// How a finding weighs on the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// Worth knowing; the spec works.
    Note,
    /// The provider refused the request (or could not be reached); the spec may be right.
    Refused,
    /// The answer does not fit the spec.
    Mismatch,
}

/// One thing `try` saw, and the change it suggests.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How it weighs on the verdict.
    pub weight: Weight,
    /// What was seen, in a sentence or two.
    pub message: String,
    /// The change to the spec, when one is known.
    pub edits: Vec<Edit>,
    /// Whether the change is only a candidate: what was seen has another explanation too (a
    /// refusal that a wrong secret explains as well as a wrong placement). `--fix` never writes
    /// a candidate; it is printed with its evidence for the user to apply.
    pub candidate: bool,
}

impl Finding {
    fn new(weight: Weight, message: impl Into<String>) -> Self {
        Finding {
            weight,
            message: message.into(),
            edits: Vec::new(),
            candidate: false,
        }
    }

    /// A change `try` is sure of: `--fix` writes it.
    fn fix(mut self, edit: Edit) -> Self {
        self.edits.push(edit);
        self
    }

    /// A change that may be the right one, or not: printed, never written.
    fn candidate(mut self, edit: Edit) -> Self {
        self.edits.push(edit);
        self.candidate = true;
        self
    }
}

/// What the diagnosis looks at.
pub struct Context<'a> {
    /// The checked spec.
    pub provider: &'a ir::Provider,
    /// The flow tried.
    pub flow: &'a ir::Flow,
    /// The spec as written (to know where a key lives).
    pub spec: &'a Yaml,
    /// The environment used, by its spec name.
    pub environment: &'a str,
    /// The trial.
    pub trial: &'a Trial,
    /// The token endpoint the server's metadata names, when it publishes any.
    pub discovered_token_endpoint: Option<String>,
    /// Whether the client id or secret has characters the three Basic encodings write
    /// differently (the values themselves never reach the diagnosis).
    pub basic_encodings_differ: bool,
    /// What `--probe` saw, when it ran: the other Basic encodings sent to the same endpoint.
    pub probed: Option<Probed>,
}

/// The other Basic encodings `try --probe` sent to the same endpoint, in order, and whether
/// the provider issued a token for each (it stops at the first that works).
#[derive(Debug, Clone, Default)]
pub struct Probed {
    /// Each encoding sent, and whether it was answered with a token.
    pub attempts: Vec<(ir::BasicEncoding, bool)>,
}

/// Whether `raw`, `rfc6749` and `percent` Basic credentials differ for `text`: anything but
/// ASCII letters, digits and `- . _` is written differently by at least one of them.
pub fn basic_encodings_differ(text: &str) -> bool {
    text.chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
}

/// Lower case without `_` and `-`: `expiresIn`, `expires_in` and `Expires-In` are one name.
fn norm(key: &str) -> String {
    key.to_ascii_lowercase().replace(['_', '-'], "")
}

/// Every scalar of a JSON value with its path, breadth first (shallow places first), up to
/// four levels deep and the first three items of each list.
fn leaves(json: &Value) -> Vec<(Vec<String>, &Value)> {
    let mut out = Vec::new();
    let mut level: Vec<(Vec<String>, &Value)> = vec![(Vec::new(), json)];
    for _ in 0..5 {
        let mut next = Vec::new();
        for (path, value) in level {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        let mut p = path.clone();
                        p.push(k.clone());
                        next.push((p, v));
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().take(3).enumerate() {
                        let mut p = path.clone();
                        p.push(i.to_string());
                        next.push((p, v));
                    }
                }
                _ if !path.is_empty() => out.push((path, value)),
                _ => {}
            }
        }
        level = next;
    }
    out
}

fn at<'v>(json: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(json, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn dotted(path: &[String]) -> String {
    path.join(".")
}

fn yaml_str(s: &str) -> Yaml {
    Yaml::String(s.to_owned())
}

fn yaml_map(pairs: Vec<(&str, Yaml)>) -> Yaml {
    let mut m = serde_yaml::Mapping::new();
    for (k, v) in pairs {
        m.insert(yaml_str(k), v);
    }
    Yaml::Mapping(m)
}

/// A number of seconds, or a time: how an expiry value reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeValue {
    Seconds(f64),
    EpochSeconds,
    EpochMillis,
    Rfc3339,
}

fn time_value(value: &Value) -> Option<TimeValue> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let Some(n) = number.filter(|n| n.is_finite() && *n >= 0.0) {
        return Some(if n >= 1e11 {
            TimeValue::EpochMillis
        } else if n >= 1e8 {
            TimeValue::EpochSeconds
        } else {
            TimeValue::Seconds(n)
        });
    }
    let s = value.as_str()?.trim();
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let rfc3339 = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && (s.ends_with(['Z', 'z']) || b[b.len() - 3] == b':');
    rfc3339.then_some(TimeValue::Rfc3339)
}

fn format_name(t: TimeValue) -> &'static str {
    match t {
        TimeValue::EpochMillis => "epoch_millis",
        TimeValue::EpochSeconds => "epoch_seconds",
        _ => "rfc3339",
    }
}

/// The `exp` of a JWT, if `value` is one.
fn jwt_exp(value: &Value) -> Option<f64> {
    tokenspec::jwt_exp(value.as_str()?).ok()
}

/// Names providers give the access token.
const TOKEN_NAMES: &[&str] = &[
    "accesstoken",
    "token",
    "jwt",
    "authtoken",
    "bearertoken",
    "bearer",
];
/// Names providers give an expiry, relative or absolute.
const EXPIRY_NAMES: &[&str] = &[
    "expiresin",
    "expiresinseconds",
    "expirein",
    "expires",
    "ttl",
    "lifetime",
    "validity",
    "expiresat",
    "expiration",
    "expirationtime",
    "expirationdate",
    "expiry",
    "exp",
    "validuntil",
];
/// Where error codes and messages are kept.
const CODE_NAMES: &[&str] = &["error", "code", "errorcode", "errortype", "type"];
const MESSAGE_NAMES: &[&str] = &[
    "errordescription",
    "message",
    "errormessage",
    "description",
    "detail",
    "msg",
    "errormsg",
    // Zoom's token endpoint: `{"reason": "Invalid client_id or client_secret", "error": ...}`.
    "reason",
];

impl Context<'_> {
    fn flow_path(&self, rest: &[&str]) -> Vec<String> {
        let mut p = vec!["flows".to_owned(), self.flow.name.clone()];
        p.extend(rest.iter().map(|s| (*s).to_owned()));
        p
    }

    fn flow_edit(&self, rest: &[&str], value: Yaml) -> Edit {
        Edit {
            path: self.flow_path(rest),
            value,
        }
    }

    fn spec_at(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self.spec, |v, k| v.get(*k))
    }

    fn answer(&self) -> Option<&RawAnswer> {
        self.trial.answer.as_ref()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.answer()?
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    fn json(&self) -> Option<Value> {
        let body = &self.answer()?.body;
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        serde_json::from_slice(body).ok()
    }

    /// Where the flow's `path` goes, and a change of it.
    fn path_edit(&self, path: &str) -> Edit {
        self.flow_edit(&["path"], yaml_str(path))
    }

    /// The environment URL's key in the spec (short or long form).
    fn environment_url_edit(&self, url: &str) -> Edit {
        let long = self
            .spec_at(&["environments", self.environment])
            .is_some_and(Yaml::is_mapping);
        let mut path = vec!["environments", self.environment];
        if long {
            path.push("url");
        }
        Edit::new(&path, yaml_str(url))
    }
}

/// Everything `try` has to say about a trial, most important first.
pub fn diagnose(cx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(answer) = cx.answer() else {
        if let Err(e) = &cx.trial.outcome {
            let weight = if cx.trial.request.is_some() {
                Weight::Refused
            } else {
                Weight::Mismatch
            };
            findings.push(Finding::new(weight, format!("no answer: {}", e.chain())));
        }
        return findings;
    };
    let status = answer.status;
    let content_type = cx
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = String::from_utf8_lossy(&answer.body);
    if (300..400).contains(&status) {
        findings.push(redirect(cx, status));
        return findings;
    }
    let html = content_type.contains("html") || body.trim_start().starts_with('<');
    if html || status == 404 {
        findings.push(not_an_endpoint(cx, status, html, &body));
        return findings;
    }
    if status == 405 {
        findings.push(method_not_allowed(cx));
        return findings;
    }
    if status == 415 {
        findings.push(unsupported_body(cx));
        return findings;
    }
    let Some(json) = cx.json() else {
        let shown: String = body.chars().take(120).collect();
        findings.push(Finding::new(
            Weight::Mismatch,
            format!(
                "the answer (HTTP {status}, {}) is not JSON: {shown:?}",
                if content_type.is_empty() {
                    "no Content-Type"
                } else {
                    &content_type
                }
            ),
        ));
        return findings;
    };
    // A 2xx the spec reads as a failure (its `error_answer.failed_when` matched) is a refusal
    // like any error status: the spec already says how the provider refuses.
    let failure_read = matches!(cx.trial.outcome, Err(tokenspec::Error::Rejected { .. }))
        && cx.provider.error_answer.failed_when.is_some();
    if !(200..300).contains(&status) || failure_read {
        findings.extend(error_shape(cx, &json));
        findings.push(refusal(cx, status, &json));
        return findings;
    }
    if let Some(failure) = failed_success(cx, &json) {
        findings.push(failure);
        return findings;
    }
    // A token found elsewhere is a finding, and the rest is diagnosed against it, so one
    // `--fix` makes every change the answer calls for.
    let token = match token_place(cx, &json) {
        Ok(token) => token,
        Err((finding, found)) => {
            findings.push(finding);
            match found {
                Some(token) => token,
                None => return findings,
            }
        }
    };
    findings.extend(expiry(cx, &json, token));
    findings.extend(fields(cx, &json));
    if findings.is_empty()
        && let Err(e) = &cx.trial.outcome
    {
        findings.push(Finding::new(Weight::Mismatch, e.chain().to_string()));
    }
    findings
}

fn redirect(cx: &Context<'_>, status: u16) -> Finding {
    let location = cx.header("location").unwrap_or_default();
    let asked = cx.trial.request.as_ref().map(|r| r.url.clone());
    let target = asked.as_ref().and_then(|a| a.join(&location).ok());
    let (Some(asked), Some(target)) = (asked, target) else {
        return Finding::new(
            Weight::Mismatch,
            format!(
                "the server redirected (HTTP {status}) without a usable Location; redirects are never followed"
            ),
        );
    };
    // The port too: a redirect to another port of the same host is another server.
    let shown = format!(
        "{}://{}{}{}",
        target.scheme(),
        target.host_str().unwrap_or(""),
        target.port().map(|p| format!(":{p}")).unwrap_or_default(),
        target.path()
    );
    let message = format!(
        "the server redirected (HTTP {status}) to {shown}{}; token clients never follow redirects",
        if target.query().is_some() { "?…" } else { "" }
    );
    let same_host = target.host_str() == asked.host_str()
        && target.port_or_known_default() == asked.port_or_known_default();
    let base_path = asked
        .path()
        .strip_suffix(cx.flow.path.as_deref().unwrap_or_default())
        .unwrap_or("");
    if target.host_str() == asked.host_str()
        && asked.scheme() == "http"
        && target.scheme() == "https"
        // Only the scheme changes in the fix below: offered when the port stays the same.
        && target.port() == asked.port()
    {
        // Plain http to https: the environment URL is the one to change.
        let url = cx
            .provider
            .environments
            .iter()
            .find(|e| e.name == cx.environment)
            .map(|e| e.url.replacen("http://", "https://", 1));
        if let Some(url) = url {
            return Finding::new(
                Weight::Mismatch,
                format!("{message}: the server wants https"),
            )
            .fix(cx.environment_url_edit(&url));
        }
    }
    if same_host && target.scheme() == asked.scheme() && target.query().is_none() {
        let login = ["login", "signin", "sign-in", "authorize", "auth/realms"]
            .iter()
            .any(|w| target.path().to_ascii_lowercase().contains(w));
        if !login && let Some(path) = target.path().strip_prefix(base_path) {
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            return Finding::new(
                Weight::Mismatch,
                format!("{message}: the token endpoint is at `{path}`"),
            )
            .fix(cx.path_edit(&path));
        }
        if login {
            return Finding::new(
                Weight::Mismatch,
                format!(
                    "{message}, a login page: this path is where users sign in in a browser, not the token endpoint; find the token endpoint in the provider's documentation"
                ),
            );
        }
    }
    Finding::new(
        Weight::Mismatch,
        format!(
            "{message}; check the environment URL and `path` against the provider's documentation"
        ),
    )
}

fn not_an_endpoint(cx: &Context<'_>, status: u16, html: bool, body: &str) -> Finding {
    let what = if html {
        let title = body
            .split_once("<title>")
            .or_else(|| body.split_once("<TITLE>"))
            .and_then(|(_, rest)| rest.split_once('<'))
            .map(|(t, _)| t.trim().chars().take(80).collect::<String>())
            .filter(|t| !t.is_empty());
        match title {
            Some(t) => format!("an HTML page (HTTP {status}, title {t:?}), not a token answer"),
            None => format!("an HTML page (HTTP {status}), not a token answer"),
        }
    } else {
        format!("HTTP {status} (nothing at this path)")
    };
    let asked = cx.trial.request.as_ref().map(|r| r.url.clone());
    if let (Some(endpoint), Some(asked)) = (&cx.discovered_token_endpoint, asked)
        && let Ok(endpoint) = asked.join(endpoint)
        && endpoint.host_str() == asked.host_str()
        && endpoint.path() != asked.path()
    {
        let base_path = asked
            .path()
            .strip_suffix(cx.flow.path.as_deref().unwrap_or_default())
            .unwrap_or("");
        if let Some(path) = endpoint.path().strip_prefix(base_path) {
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            return Finding::new(
                Weight::Mismatch,
                format!("the server answered {what}; its metadata names the token endpoint `{}`, so `path` should be `{path}`", endpoint.path()),
            )
            .fix(cx.path_edit(&path));
        }
    }
    Finding::new(
        Weight::Mismatch,
        format!(
            "the server answered {what}: `path` ({}) or the environment URL is likely wrong; the server publishes no metadata naming its token endpoint",
            cx.flow.path.as_deref().unwrap_or("the metadata's token endpoint")
        ),
    )
}

fn method_not_allowed(cx: &Context<'_>) -> Finding {
    let method = match cx.flow.method {
        ir::Method::Get => "GET",
        ir::Method::Post => "POST",
        ir::Method::Put => "PUT",
    };
    let allow = cx.header("allow").unwrap_or_default().to_ascii_uppercase();
    let other = ["POST", "GET", "PUT"]
        .into_iter()
        .find(|m| *m != method && allow.split(',').any(|a| a.trim() == *m));
    let message = format!("the endpoint does not take {method} (HTTP 405 Method Not Allowed)");
    match other {
        Some(m) => Finding::new(Weight::Mismatch, format!("{message}; it allows {m}"))
            .fix(cx.flow_edit(&["method"], yaml_str(m))),
        None => Finding::new(
            Weight::Mismatch,
            format!("{message}; it names no method it takes"),
        ),
    }
}

fn unsupported_body(cx: &Context<'_>) -> Finding {
    let (now, other, other_name) = match cx.flow.body {
        ir::Body::Json => (
            "a JSON body",
            "form",
            "a form body (application/x-www-form-urlencoded)",
        ),
        ir::Body::Form => ("a form body", "json", "a JSON body"),
        ir::Body::Multipart => ("a multipart body", "form", "a form body"),
        ir::Body::None => ("no body", "form", "a form body"),
    };
    let accepted = cx
        .header("accept-post")
        .or_else(|| cx.header("accept"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let other = if accepted.contains("json") {
        "json"
    } else if accepted.contains("x-www-form-urlencoded") {
        "form"
    } else {
        other
    };
    Finding::new(
        Weight::Mismatch,
        format!("the endpoint refuses {now} (HTTP 415 Unsupported Media Type); try {other_name}"),
    )
    .fix(cx.flow_edit(&["body"], yaml_str(other)))
}

/// The spec's places for error codes and messages against where this answer keeps them.
fn error_shape(cx: &Context<'_>, json: &Value) -> Option<Finding> {
    let spec = &cx.provider.error_answer;
    let code_path = spec
        .code
        .clone()
        .unwrap_or_else(|| vec!["error".to_owned()]);
    let readable = |v: Option<&Value>| matches!(v, Some(Value::String(_) | Value::Number(_)));
    let code_ok = readable(at(json, &code_path));
    let message_ok = match &spec.message {
        Some(p) => readable(at(json, p)),
        None => ["error_description", "message", "error_message"]
            .iter()
            .any(|k| readable(json.get(k))),
    };
    if code_ok && message_ok {
        return None;
    }
    let all = leaves(json);
    let find = |names: &[&str], avoid: &[String]| {
        names.iter().find_map(|name| {
            all.iter()
                .find(|(p, v)| {
                    p.last().is_some_and(|k| norm(k) == *name)
                        && matches!(v, Value::String(_) | Value::Number(_))
                        && p.as_slice() != avoid
                })
                .map(|(p, _)| p.clone())
        })
    };
    let code = (!code_ok).then(|| find(CODE_NAMES, &[])).flatten();
    let message = (!message_ok)
        .then(|| find(MESSAGE_NAMES, code.as_deref().unwrap_or(&[])))
        .flatten();
    if code.is_none() && message.is_none() {
        return None;
    }
    let mut finding = Finding::new(
        Weight::Mismatch,
        format!(
            "the error answer keeps its {} where the spec does not look ({}), so the client cannot tell errors apart",
            match (&code, &message) {
                (Some(c), Some(m)) =>
                    format!("code at `{}` and message at `{}`", dotted(c), dotted(m)),
                (Some(c), None) => format!("code at `{}`", dotted(c)),
                (None, Some(m)) => format!("message at `{}`", dotted(m)),
                (None, None) => unreachable!("one of them was found"),
            },
            match &spec.code {
                Some(p) => format!("`error_answer.code` is `{}`", dotted(p)),
                None => "RFC 6749's `error` and `error_description`".to_owned(),
            }
        ),
    );
    if let Some(c) = code {
        finding = finding.fix(Edit::new(&["error_answer", "code"], yaml_str(&dotted(&c))));
    }
    if let Some(m) = message {
        finding = finding.fix(Edit::new(
            &["error_answer", "message"],
            yaml_str(&dotted(&m)),
        ));
    }
    Some(finding)
}

fn refusal(cx: &Context<'_>, status: u16, json: &Value) -> Finding {
    let error = cx.trial.outcome.as_ref().err();
    let said = error.map(|e| e.chain().to_string()).unwrap_or_default();
    let code = error.and_then(|e| e.code()).unwrap_or_default().to_owned();
    let code = if code.is_empty() {
        json.get("error")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    } else {
        code
    };
    let told = told_placement(json);
    let credentials = status == 401 || code == "invalid_client" || told.is_some();
    let auth = &cx.flow.client_auth;
    let plain_secret = auth.assertion.is_none() && auth.certificate.is_none();
    if !(credentials && plain_secret) {
        return Finding::new(
            Weight::Refused,
            format!("the provider refused the request: {said}"),
        );
    }
    let own = cx
        .spec_at(&["flows", &cx.flow.name, "client_auth"])
        .is_some();
    let top = cx.spec_at(&["client_auth"]);
    let path: Vec<&str> = if own {
        vec!["flows", &cx.flow.name, "client_auth"]
    } else if top.is_none_or(Yaml::is_mapping) {
        vec!["client_auth"]
    } else {
        return Finding::new(
            Weight::Refused,
            format!(
                "the provider refused the client's credentials: {said}. The spec lists several client authentication methods: try another with the builder's `client_auth_choice`"
            ),
        );
    };
    let names = |mut pairs: Vec<(&str, Yaml)>| {
        if auth.id_param != "client_id" {
            pairs.push(("id_param", yaml_str(&auth.id_param)));
        }
        if auth.secret_param != "client_secret" {
            pairs.push(("secret_param", yaml_str(&auth.secret_param)));
        }
        yaml_map(pairs)
    };
    if let Some((Told::Assertion(kind), words)) = &told {
        return Finding::new(
            Weight::Mismatch,
            format!(
                "the provider says it wants a signed client assertion, not the secret: \"{words}\". With `assertion: {kind}` the client signs one for each request{}",
                if *kind == "private_key_jwt" {
                    "; then pass `--key FILE`, the PEM private key whose public key is registered at the provider"
                } else {
                    " with the secret"
                }
            ),
        )
        .fix(Edit {
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            value: yaml_map(vec![("assertion", yaml_str(kind))]),
        });
    }
    let (value, now, suggestion) = if auth.basic.is_some() && auth.params.is_empty() {
        (
            names(vec![("params", Yaml::Sequence(vec![yaml_str("body")]))]),
            "in the Basic header",
            "in the form body (`client_secret_post`)",
        )
    } else if auth.basic.is_none() && !auth.params.is_empty() {
        (
            yaml_map(vec![("basic", yaml_str("raw"))]),
            "as parameters",
            "in the Basic header (`client_secret_basic`), the placement RFC 6749 §2.3.1 asks every server to take",
        )
    } else {
        return Finding::new(
            Weight::Refused,
            format!(
                "the provider refused the client's credentials: {said}. Check $CLIENT_ID and $CLIENT_SECRET"
            ),
        );
    };
    let edit = Edit {
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        value,
    };
    let sending_basic = auth.basic.is_some();
    // The server's own words name where it looks: that is evidence a wrong secret cannot give,
    // so the change is sure (exit 1, `--fix` writes it), unless they name where the credentials
    // already are.
    if let Some((placement, words)) = told
        && match placement {
            Told::Body => sending_basic,
            Told::Basic => !sending_basic,
            Told::NotWhereRead => true,
            Told::Assertion(_) => false,
        }
    {
        return Finding::new(
            Weight::Mismatch,
            format!(
                "the provider says it did not find the client's credentials where they were sent ({now}): \"{words}\". It wants them {suggestion}"
            ),
        )
        .fix(edit);
    }
    // Credentials whose Basic encodings differ: another encoding is the likelier cause than
    // another placement, and is tried first.
    let mut probed_note = String::new();
    if let Some(encoding) = auth.basic
        && cx.basic_encodings_differ
    {
        let now = encoding.name();
        // (Reached only for credentials in the Basic header alone: see the placement above.)
        let with_encoding = |e: ir::BasicEncoding| Edit {
            path: edit.path.clone(),
            value: yaml_map(vec![("basic", yaml_str(e.name()))]),
        };
        match &cx.probed {
            None => {
                let other = match encoding {
                    ir::BasicEncoding::Raw | ir::BasicEncoding::Rfc6749 => {
                        ir::BasicEncoding::Percent
                    }
                    ir::BasicEncoding::Percent => ir::BasicEncoding::Raw,
                };
                return Finding::new(
                    Weight::Refused,
                    format!(
                        "the provider refused the client's credentials, sent in the Basic header encoded `{now}`: {said}. The id or secret has characters the Basic encodings (`raw`, `percent`, `rfc6749`) write differently, and servers decode them differently: if $CLIENT_ID and $CLIENT_SECRET are right, try another encoding before another placement (`--probe` sends the other encodings to this endpoint and shows each answer). `--fix` does not write this candidate: apply it yourself and try again"
                    ),
                )
                .candidate(with_encoding(other));
            }
            Some(probed) => {
                let tried: Vec<String> = probed
                    .attempts
                    .iter()
                    .map(|(e, _)| format!("`{}`", e.name()))
                    .collect();
                if let Some((worked, _)) = probed.attempts.iter().find(|(_, ok)| *ok) {
                    // The same credentials, the same endpoint, only the encoding changed: the
                    // provider's token settles it.
                    return Finding::new(
                        Weight::Mismatch,
                        format!(
                            "the provider refused the client's credentials in the Basic header encoded `{now}` ({said}), and accepted them when `--probe` sent them encoded `{}`: the spec names the wrong encoding",
                            worked.name()
                        ),
                    )
                    .fix(with_encoding(*worked));
                }
                probed_note = if tried.is_empty() {
                    String::new()
                } else {
                    format!(
                        " `--probe` sent them encoded {} too, and each was refused: the encoding is not the cause.",
                        tried.join(" and ")
                    )
                };
            }
        }
    }
    Finding::new(
        Weight::Refused,
        format!(
            "the provider refused the client's credentials, sent {now}: {said}.{probed_note} A wrong $CLIENT_ID or $CLIENT_SECRET is answered the same way; if they are right, the provider may want them {suggestion}. `try` never resends the secret elsewhere by itself, and `--fix` does not write this candidate: apply it yourself and try again"
        ),
    )
    .candidate(edit)
}

/// Where an error answer's own words say the server looks for the client's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    /// In the request body (`client_secret_post`).
    Body,
    /// In the Basic header (`client_secret_basic`).
    Basic,
    /// Not where they were sent: the server found no credentials, or another method than the
    /// one it has registered for the client.
    NotWhereRead,
    /// Not as a secret at all: a signed client assertion of this kind (RFC 7523), named as
    /// the spec writes it (`private_key_jwt`, `client_secret_jwt`).
    Assertion(&'static str),
}

/// What real token servers say when credentials are not where they look, lower-cased (each
/// tested in codegen/tests/try.rs against a stand-in using its wording):
/// - Microsoft Entra: "AADSTS7000218: The request body must contain the following parameter:
///   'client_assertion' or 'client_secret'";
/// - Keycloak: "Client secret not provided in request" (`unauthorized_client`, HTTP 400);
/// - node-oidc-provider: "no client authentication mechanism provided" and "the registered
///   client token_endpoint_auth_method does not match the provided auth mechanism";
/// - Spring Authorization Server: "Client authentication failed: authentication_method"
///   (`ClientSecretAuthenticationProvider`, when the client is not registered for the method
///   used; "…: client_secret" is a wrong secret and names no placement);
/// - Okta: "Client Credentials requests to the Org Authorization Server must use the
///   private_key_jwt token_endpoint_auth_method" (Okta's support article of that title);
/// - any server naming the RFC 7591 method it wants (`client_secret_post`,
///   `client_secret_basic`, `private_key_jwt`, `client_secret_jwt`) or the Authorization
///   header.
///
/// Authlib answers a bare `invalid_client` and Okta's other refusals ("Client authentication
/// failed. Either the client or the client credentials are invalid.", "The client secret
/// supplied for a confidential client is invalid.") say nothing of where: a wrong secret
/// reads the same, so those stay candidates.
const TOLD: &[(&str, Told)] = &[
    ("request body must contain", Told::Body),
    ("client_secret_post", Told::Body),
    ("client_secret_basic", Told::Basic),
    ("authorization header", Told::Basic),
    ("http basic", Told::Basic),
    ("private_key_jwt", Told::Assertion("private_key_jwt")),
    ("client_secret_jwt", Told::Assertion("client_secret_jwt")),
    ("client secret not provided", Told::NotWhereRead),
    (
        "no client authentication mechanism provided",
        Told::NotWhereRead,
    ),
    (
        "does not match the provided auth mechanism",
        Told::NotWhereRead,
    ),
    (
        "client authentication failed: authentication_method",
        Told::NotWhereRead,
    ),
];

/// The placement an error answer's description names, with the words that name it. Words
/// that name several (a list of the methods a server supports) tell nothing.
fn told_placement(json: &Value) -> Option<(Told, String)> {
    let text = [
        "error_description",
        "message",
        "error_message",
        "errorSummary",
        "detail",
        "reason",
    ]
    .iter()
    .find_map(|k| json.get(k).and_then(Value::as_str))?;
    let lower = text.to_ascii_lowercase();
    let mut named = TOLD
        .iter()
        .filter(|(words, _)| lower.contains(words))
        .map(|(_, told)| *told);
    let told = named.next()?;
    if named.any(|other| other != told) {
        return None;
    }
    let shown: String = text
        .lines()
        .next()
        .unwrap_or(text)
        .chars()
        .take(160)
        .collect();
    Some((told, shown))
}

/// A 2xx answer that says it failed (`"success": false`), which the spec does not read as one.
fn failed_success(cx: &Context<'_>, json: &Value) -> Option<Finding> {
    if cx.trial.outcome.is_ok() || cx.provider.error_answer.failed_when.is_some() {
        return None;
    }
    if json.get("error").is_some_and(|e| !e.is_null()) {
        return None;
    }
    let found = leaves(json).into_iter().find(|(p, v)| {
        p.len() <= 2
            && match (norm(p.last().map_or("", String::as_str)).as_str(), v) {
                ("success" | "ok" | "succeeded", Value::Bool(false)) => true,
                ("status" | "result", Value::String(s)) => {
                    matches!(
                        s.to_ascii_lowercase().as_str(),
                        "error" | "fail" | "failed" | "failure"
                    )
                }
                _ => false,
            }
    })?;
    let (path, value) = found;
    let equals = match value {
        Value::Bool(b) => Yaml::Bool(*b),
        Value::String(s) => yaml_str(s),
        _ => return None,
    };
    let mut finding = Finding::new(
        Weight::Mismatch,
        format!(
            "the provider answered HTTP {} with `{}: {}` and no token: a failure the spec does not read as one",
            cx.answer().map_or(0, |a| a.status),
            dotted(&path),
            value
        ),
    )
    .fix(Edit::new(
        &["error_answer", "failed_when"],
        yaml_map(vec![("path", yaml_str(&dotted(&path))), ("equals", equals)]),
    ));
    if let Some(shape) = error_shape(cx, json) {
        finding.edits.extend(shape.edits);
    }
    Some(finding)
}

/// Where the token is: the spec's place, or the change to where it really is.
#[allow(clippy::result_large_err)]
fn token_place<'j>(
    cx: &Context<'_>,
    json: &'j Value,
) -> Result<&'j Value, (Finding, Option<&'j Value>)> {
    let places = &cx.flow.response.access_token;
    if let Some(v) = places.iter().find_map(|p| at(json, p)) {
        return Ok(v);
    }
    let all = leaves(json);
    let found = TOKEN_NAMES.iter().find_map(|name| {
        all.iter().find(|(p, v)| {
            p.last().is_some_and(|k| norm(k) == *name) && v.as_str().is_some_and(|s| !s.is_empty())
        })
    });
    let spec_places: Vec<String> = places.iter().map(|p| format!("`{}`", dotted(p))).collect();
    match found {
        Some((path, value)) => Err((
            Finding::new(
                Weight::Mismatch,
                format!(
                    "no access token at {}; the answer has one at `{}`",
                    spec_places.join(" or "),
                    dotted(path)
                ),
            )
            .fix(cx.flow_edit(&["response", "access_token"], yaml_str(&dotted(path)))),
            Some(*value),
        )),
        None => {
            let keys: Vec<String> = all
                .iter()
                .take(12)
                .map(|(p, _)| format!("`{}`", dotted(p)))
                .collect();
            Err((
                Finding::new(
                    Weight::Mismatch,
                    format!(
                        "no access token at {} nor under any name tokens go by; the answer has {}",
                        spec_places.join(" or "),
                        if keys.is_empty() {
                            "no fields".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ),
                ),
                None,
            ))
        }
    }
}

fn expiry(cx: &Context<'_>, json: &Value, token: &Value) -> Option<Finding> {
    let all = leaves(json);
    let candidates = || {
        EXPIRY_NAMES.iter().find_map(|name| {
            all.iter().find_map(|(p, v)| {
                let kind = time_value(v)?;
                p.last()
                    .is_some_and(|k| norm(k) == *name)
                    .then(|| (p.clone(), kind))
            })
        })
    };
    let to_edit = |path: &[String], kind: TimeValue| match kind {
        TimeValue::Seconds(_) => yaml_map(vec![("expires_in", yaml_str(&dotted(path)))]),
        other => yaml_map(vec![(
            "at",
            yaml_map(vec![
                ("path", yaml_str(&dotted(path))),
                ("format", yaml_str(format_name(other))),
            ]),
        )]),
    };
    match &cx.flow.expiry {
        ir::Expiry::ExpiresIn { path, when_absent } => {
            match at(json, path).map(|v| (v, time_value(v))) {
                Some((_, Some(TimeValue::Seconds(_)))) => {
                    let raw = at(json, path)?;
                    raw.is_string().then(|| {
                    Finding::new(
                        Weight::Note,
                        format!("`{}` came as a string ({raw}); the client reads numbers sent as strings", dotted(path)),
                    )
                })
                }
                Some((raw, Some(kind))) => Some(
                    Finding::new(
                        Weight::Mismatch,
                        format!(
                            "`{}` is {raw}, an absolute time ({}), not a number of seconds",
                            dotted(path),
                            format_name(kind)
                        ),
                    )
                    .fix(cx.flow_edit(&["expiry"], to_edit(path, kind))),
                ),
                Some((raw, None)) => Some(Finding::new(
                    Weight::Mismatch,
                    format!("`{}` is {raw}: neither seconds nor a time", dotted(path)),
                )),
                None if when_absent.is_some() => None,
                None => Some(missing_expiry(cx, path, token, candidates(), &to_edit)),
            }
        }
        ir::Expiry::At { path, format } => {
            let value = at(json, path);
            let kind = value.and_then(time_value);
            let wanted = match format {
                ir::TimeFormat::Rfc3339 => TimeValue::Rfc3339,
                ir::TimeFormat::EpochSeconds => TimeValue::EpochSeconds,
                ir::TimeFormat::EpochMillis => TimeValue::EpochMillis,
            };
            match kind {
                Some(k) if k == wanted => None,
                Some(k) => Some(
                    Finding::new(
                        Weight::Mismatch,
                        format!(
                            "`{}` is {}, written as {}, not {}",
                            dotted(path),
                            value.map(Value::to_string).unwrap_or_default(),
                            match k {
                                TimeValue::Seconds(_) => "a number of seconds from now",
                                other => format_name(other),
                            },
                            format_name(wanted)
                        ),
                    )
                    .fix(cx.flow_edit(&["expiry"], to_edit(path, k))),
                ),
                None => Some(missing_expiry(cx, path, token, candidates(), &to_edit)),
            }
        }
        ir::Expiry::JwtExp { .. } => match &cx.trial.outcome {
            Err(e) if jwt_exp(token).is_none() => {
                let found = candidates();
                let mut f = Finding::new(
                    Weight::Mismatch,
                    format!("the token is not a JWT with `exp`: {}", e.chain()),
                );
                if let Some((p, kind)) = found {
                    f = f.fix(cx.flow_edit(&["expiry"], to_edit(&p, kind)));
                }
                Some(f)
            }
            _ => None,
        },
        ir::Expiry::Lifetime(_) | ir::Expiry::Never => {
            let (p, kind) = candidates()?;
            Some(
                Finding::new(
                    Weight::Note,
                    format!(
                        "the answer says when the token expires (`{}`), which the spec ignores",
                        dotted(&p)
                    ),
                )
                .fix(cx.flow_edit(&["expiry"], to_edit(&p, kind))),
            )
        }
    }
}

fn missing_expiry(
    cx: &Context<'_>,
    path: &[String],
    token: &Value,
    found: Option<(Vec<String>, TimeValue)>,
    to_edit: &dyn Fn(&[String], TimeValue) -> Yaml,
) -> Finding {
    let message = format!("no `{}` in the answer", dotted(path));
    if let Some((p, kind)) = found {
        let what = match kind {
            TimeValue::Seconds(_) => "a number of seconds".to_owned(),
            other => format!("an absolute time ({})", format_name(other)),
        };
        return Finding::new(
            Weight::Mismatch,
            format!("{message}; the expiry is at `{}`, {what}", dotted(&p)),
        )
        .fix(cx.flow_edit(&["expiry"], to_edit(&p, kind)));
    }
    if jwt_exp(token).is_some() {
        // Where the token is: the spec's place, or where the answer really has it.
        let place = cx
            .answer()
            .and_then(|_| cx.json())
            .and_then(|json| {
                leaves(&json)
                    .into_iter()
                    .find(|(_, v)| *v == token)
                    .map(|(p, _)| dotted(&p))
            })
            .unwrap_or_else(|| "access_token".into());
        return Finding::new(
            Weight::Mismatch,
            format!("{message}; the token is a JWT whose `exp` claim says when it expires"),
        )
        .fix(cx.flow_edit(&["expiry"], yaml_map(vec![("jwt_exp", yaml_str(&place))])));
    }
    Finding::new(
        Weight::Mismatch,
        format!(
            "{message}, nor any other expiry: if the provider documents a lifetime, say `expiry: {{ lifetime: SECONDS }}`; if tokens never expire, `expiry: never`"
        ),
    )
}

/// Declared fields the answer keeps elsewhere, or in another type.
fn fields(cx: &Context<'_>, json: &Value) -> Vec<Finding> {
    const STANDARD: &[&str] = &["token_type", "refresh_token", "id_token", "scope"];
    let all = leaves(json);
    let mut out = Vec::new();
    for field in cx.flow.response.fields.iter().filter(|f| !f.derived) {
        let found = field.paths.iter().find_map(|p| at(json, p).map(|v| (p, v)));
        let standard = STANDARD.contains(&field.key.as_str());
        // The key the field has under `response.fields` in the spec.
        let spec_key = cx
            .spec_at(&["flows", &cx.flow.name, "response", "fields"])
            .and_then(Yaml::as_mapping)
            .and_then(|m| {
                m.keys()
                    .filter_map(Yaml::as_str)
                    .find(|k| crate::naming::snake_ident(k).trim_start_matches("r#") == field.key)
            })
            .unwrap_or(&field.key)
            .to_owned();
        match found {
            None => {
                let wanted: Vec<String> = field
                    .paths
                    .iter()
                    .filter_map(|p| p.last())
                    .map(|k| norm(k))
                    .chain([norm(&field.key)])
                    .collect();
                let elsewhere = all
                    .iter()
                    .find(|(p, _)| p.last().is_some_and(|k| wanted.contains(&norm(k))));
                if let Some((p, _)) = elsewhere {
                    let edit = if standard {
                        cx.flow_edit(&["response", &field.key], yaml_str(&dotted(p)))
                    } else {
                        cx.flow_edit(
                            &["response", "fields", &spec_key, "path"],
                            yaml_str(&dotted(p)),
                        )
                    };
                    out.push(
                        Finding::new(
                            Weight::Mismatch,
                            format!(
                                "the `{}` field is not at `{}`; the answer has it at `{}`",
                                field.key,
                                field.paths.first().map(|p| dotted(p)).unwrap_or_default(),
                                dotted(p)
                            ),
                        )
                        .fix(edit),
                    );
                }
            }
            Some((path, value)) if !standard => {
                let fits = match (field.ty, value) {
                    (ir::FieldType::Json, _) => true,
                    (ir::FieldType::String | ir::FieldType::Secret, v) => {
                        !v.is_object() && !v.is_array() && !v.is_null()
                    }
                    (ir::FieldType::Integer, Value::Number(n)) => n.as_i64().is_some(),
                    (ir::FieldType::Integer, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
                    (ir::FieldType::Number, Value::Number(_)) => true,
                    (ir::FieldType::Number, Value::String(s)) => {
                        s.trim().parse::<f64>().is_ok_and(f64::is_finite)
                    }
                    (ir::FieldType::Boolean, Value::Bool(_)) => true,
                    (ir::FieldType::Boolean, Value::String(s)) => {
                        matches!(s.trim(), "true" | "false")
                    }
                    _ => false,
                };
                if !fits {
                    let ty = match value {
                        Value::Object(_) | Value::Array(_) => "json",
                        Value::Bool(_) => "boolean",
                        Value::Number(n) if n.as_i64().is_some() => "integer",
                        Value::Number(_) => "number",
                        _ => "string",
                    };
                    out.push(
                        Finding::new(
                            Weight::Mismatch,
                            format!(
                                "the `{}` field at `{}` is {value}, which is not the spec's `{:?}`",
                                field.key,
                                dotted(path),
                                field.ty
                            ),
                        )
                        .fix(
                            cx.flow_edit(&["response", "fields", &spec_key, "type"], yaml_str(ty)),
                        ),
                    );
                }
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_values_are_told_apart_by_size_and_shape() {
        assert_eq!(
            time_value(&serde_json::json!(3600)),
            Some(TimeValue::Seconds(3600.0))
        );
        assert_eq!(
            time_value(&serde_json::json!("3600")),
            Some(TimeValue::Seconds(3600.0))
        );
        assert_eq!(
            time_value(&serde_json::json!(1_795_000_000)),
            Some(TimeValue::EpochSeconds)
        );
        assert_eq!(
            time_value(&serde_json::json!(1_795_000_000_000u64)),
            Some(TimeValue::EpochMillis)
        );
        assert_eq!(
            time_value(&serde_json::json!("2026-11-26T13:00:00Z")),
            Some(TimeValue::Rfc3339)
        );
        assert_eq!(
            time_value(&serde_json::json!("2026-11-26T13:00:00-03:00")),
            Some(TimeValue::Rfc3339)
        );
        assert_eq!(time_value(&serde_json::json!("soon")), None);
    }

    #[test]
    fn leaves_come_shallow_first_with_their_paths() {
        let json = serde_json::json!({"data": {"token": "a"}, "token": "b", "list": [{"x": 1}]});
        let found: Vec<String> = leaves(&json).iter().map(|(p, _)| dotted(p)).collect();
        assert_eq!(found, ["token", "data.token", "list.0.x"]);
    }
}
