//! Reads a token endpoint's answer: status, body, fields, error and lifetime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::descriptor::{Expiry, FieldKind, Flow, Literal, Provider, TimeFormat};
use crate::error::{Error, Rejection};

/// Longest lifetime believed: ten years. Larger values (`1e12`) are clamped to it.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Longest excerpt of a provider's text kept in an error.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// A successful answer.
pub(crate) struct Parsed {
    pub token: SecretString,
    pub lifetime: Duration,
    pub fields: Map<String, Value>,
}

/// Removes every known secret from text that came from the server.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<SecretString>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor {
            secrets: secrets.into_iter().map(SecretString::from).collect(),
        }
    }

    /// A redactor that also removes `more`.
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Self {
        use secrecy::ExposeSecret;
        Redactor::new(
            self.secrets
                .iter()
                .map(|s| s.expose_secret().to_owned())
                .chain(more),
        )
    }

    pub fn redact(&self, text: &str) -> String {
        use secrecy::ExposeSecret;
        let mut out = text.to_owned();
        for s in &self.secrets {
            out = out.replace(s.expose_secret(), "[REDACTED]");
        }
        out
    }

    /// A short, single-line, scrubbed excerpt of an error body. URLs are dropped whole (a
    /// server echoing the request URL would otherwise show where credentials travel), and so is
    /// every token-like word (see [`mask_token_like`]): an error page may quote what the server
    /// issued.
    pub fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let flat = strip_urls(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        let scrubbed = mask_token_like(&self.redact(&flat));
        let mut out: String = scrubbed.chars().take(EXCERPT_CHARS).collect();
        if scrubbed.chars().count() > EXCERPT_CHARS {
            out.push('…');
        }
        out
    }
}

/// Whether a run of token alphabet characters (`A-Z a-z 0-9 - _ . ~ + / =`) looks like a token
/// rather than a word: 20 or more characters mixing upper case, lower case and digits (base64,
/// base62, JWTs), or 32 or more hexadecimal digits. Words, snake_case codes and hyphenated UUIDs
/// stay readable.
fn token_like(run: &str) -> bool {
    let hex = run
        .split(|c: char| !c.is_ascii_hexdigit())
        .any(|part| part.len() >= 32);
    let mixed = run.len() >= 20
        && run.bytes().any(|b| b.is_ascii_uppercase())
        && run.bytes().any(|b| b.is_ascii_lowercase())
        && run.bytes().any(|b| b.is_ascii_digit());
    hex || mixed
}

/// Replaces every token-like run (see [`token_like`]) by `[REDACTED]`.
pub(crate) fn mask_token_like(text: &str) -> String {
    replace_token_like(text, |_| "[REDACTED]".to_owned())
}

/// Replaces every run of text that looks like a token (long, with the mixed letters and digits
/// or hex of random values) by what `replace` makes of it.
pub fn replace_token_like(text: &str, replace: impl Fn(&str) -> String) -> String {
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if token_like(run) {
            out.push_str(&replace(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if alphabet(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// What an unusable 2xx body is, told by its structure alone. Such a body may hold a live token
/// (a truncated or wrapped token response), so not one byte of it is quoted.
fn unusable_body(body: &[u8], parsed: Result<&Value, &serde_json::Error>) -> String {
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        return "an empty body instead of a token response".to_owned();
    }
    let e = match parsed {
        Ok(value) => {
            return format!(
                "JSON that is not an object ({}) instead of a token response",
                match value {
                    Value::Array(items) => format!("an array of {} items", items.len()),
                    Value::String(_) => "a string".to_owned(),
                    Value::Number(_) => "a number".to_owned(),
                    Value::Bool(_) => "a boolean".to_owned(),
                    Value::Null => "null".to_owned(),
                    Value::Object(_) => "an object".to_owned(),
                }
            );
        }
        Err(e) => e,
    };
    let size = body.len();
    if trimmed.starts_with(b"<") {
        return format!(
            "a body that is not JSON but an HTML or XML document ({size} bytes, not quoted); is the base URL the token endpoint?"
        );
    }
    // serde_json's syntax messages name what was expected, never the input.
    if e.is_eof() {
        format!(
            "a body that is not JSON: it ends early, at line {} column {} ({size} bytes, not quoted): the answer was cut off",
            e.line(),
            e.column()
        )
    } else {
        format!("a body that is not JSON: {e} ({size} bytes, not quoted)")
    }
}

/// A response key as it may be shown: token-like or overlong keys are not.
fn shown_key(key: &str) -> String {
    if key.chars().count() > 64 || token_like(key) {
        "[a token-like key]".to_owned()
    } else {
        key.to_owned()
    }
}

/// Replaces every word that contains a URL by `<url>`.
pub(crate) fn strip_urls(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value at `path` (`null` counts as absent); a number picks that element of a list
/// (`errors.0.message`).
fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| match v {
            Value::Object(o) => o.get(*key),
            Value::Array(a) => a.get(key.parse::<usize>().ok()?),
            _ => None,
        })
        .filter(|v| !v.is_null())
}

/// The first of `places` the answer has, and its value.
fn first_of<'a>(
    json: &'a Value,
    places: &'static [&'static [&'static str]],
) -> Option<(&'static [&'static str], &'a Value)> {
    places
        .iter()
        .find_map(|path| at(json, path).map(|value| (*path, value)))
}

/// Places as messages name them: `` `a` `` or `` `a` or `b` ``.
fn places_of(places: &[&[&str]]) -> String {
    places
        .iter()
        .map(|p| format!("`{}`", p.join(".")))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether `value` is the literal `expected`.
fn equals(value: &Value, expected: Literal) -> bool {
    match expected {
        Literal::Text(t) => value.as_str() == Some(t),
        Literal::Integer(i) => value.as_i64() == Some(i),
        Literal::Boolean(b) => value.as_bool() == Some(b),
    }
}

/// Interprets an answer. `wall_sent` is the wall-clock time the request was sent.
/// The error a non-2xx answer of `provider`'s server stands for (its RFC 6749 §5.2 body read
/// when it has one).
pub(crate) fn refusal(
    provider: &'static Provider,
    status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> Error {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    rejection(provider, status, parsed.as_ref(), body, redactor)
}

pub(crate) fn interpret(
    provider: &'static Provider,
    flow: &Flow,
    status: u16,
    body: &[u8],
    wall_sent: SystemTime,
    redactor: &Redactor,
) -> Result<Parsed, Error> {
    let title = provider.title;
    // RFC 8259 §8.1: a parser may ignore a byte order mark, and some servers send one.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let parsed: Result<Value, serde_json::Error> = serde_json::from_slice(body);
    let invalid = |reason: String| Error::InvalidResponse {
        provider: title,
        status,
        reason,
    };
    if !(200..300).contains(&status) {
        return Err(rejection(
            provider,
            status,
            parsed.as_ref().ok(),
            body,
            redactor,
        ));
    }
    let (json, object) = match &parsed {
        Ok(json) => match json.as_object() {
            Some(object) => (json, object),
            None => return Err(invalid(unusable_body(body, Ok(json)))),
        },
        Err(e) => return Err(invalid(unusable_body(body, Err(e)))),
    };
    let failed = provider
        .error_answer
        .failed_when
        .is_some_and(|(path, expected)| at(json, path).is_some_and(|v| equals(v, expected)));
    if failed || object.get("error").is_some_and(|e| !e.is_null()) {
        // Some providers answer 200 with an error body (RFC 6749-shaped, or what the spec's
        // `failed_when` names); it is still an error.
        return Err(rejection(provider, status, Some(json), body, redactor));
    }
    let (token_path, token) = match first_of(json, flow.access_token) {
        Some((path, Value::String(s))) if !s.is_empty() => (path, s),
        Some((path, _)) => {
            return Err(invalid(format!(
                "an access token at `{}` that is not a non-empty string",
                path.join(".")
            )));
        }
        None => {
            let keys: Vec<String> = object.keys().take(20).map(|k| shown_key(k)).collect();
            return Err(invalid(format!(
                "no access token at {} (the answer has: {}); fix `response.access_token` in the spec",
                places_of(flow.access_token),
                if keys.is_empty() {
                    "no fields".to_owned()
                } else {
                    keys.join(", ")
                }
            )));
        }
    };
    if !token.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(invalid(
            "an access token with characters that cannot go in an HTTP header".to_owned(),
        ));
    }
    let mut fields = Map::new();
    // Where each field was found, for a `jwt_exp` that names one of its places.
    let mut found_at: Vec<(&[&str], &[&str])> = vec![(token_path, token_path)];
    for field in flow.fields {
        let Some((path, value)) = first_of(json, field.paths) else {
            if field.required {
                return Err(invalid(format!(
                    "no {} field, which the spec says is always there",
                    places_of(field.paths)
                )));
            }
            continue;
        };
        let Some(value) = coerce(field.kind, value) else {
            return Err(invalid(format!(
                "a `{}` field that is not {}",
                path.join("."),
                kind_name(field.kind)
            )));
        };
        found_at.extend(field.paths.iter().map(|p| (*p, path)));
        fields.insert(field.key.to_owned(), value);
    }
    // `jwt_exp` naming a place of the access token or of a field reads the JWT wherever the
    // answer had it.
    let expiry = match flow.expiry {
        Expiry::JwtExp { path } => {
            let token_place = flow.access_token.contains(&path).then_some(token_path);
            let field_place = found_at.iter().find(|(p, _)| *p == path).map(|(_, at)| *at);
            Expiry::JwtExp {
                path: token_place.or(field_place).unwrap_or(path),
            }
        }
        other => other,
    };
    let lifetime = lifetime(&expiry, json, wall_sent).map_err(invalid)?;
    Ok(Parsed {
        token: SecretString::from(token.clone()),
        lifetime,
        fields,
    })
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::Secret => "text",
        FieldKind::Integer => "a whole number",
        FieldKind::Number => "a number",
        FieldKind::Boolean => "a boolean",
        FieldKind::Json => "JSON",
    }
}

/// Accepts what sloppy providers send for a type (numbers as strings and the like).
fn coerce(kind: FieldKind, value: &Value) -> Option<Value> {
    match (kind, value) {
        (FieldKind::Json, v) => Some(v.clone()),
        (FieldKind::Text, Value::String(_)) | (FieldKind::Secret, Value::String(_)) => {
            Some(value.clone())
        }
        (FieldKind::Text, Value::Number(n)) => Some(Value::String(n.to_string())),
        (FieldKind::Text, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (FieldKind::Integer, Value::Number(n)) => n.as_i64().map(Value::from),
        (FieldKind::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (FieldKind::Number, Value::Number(_)) => Some(value.clone()),
        (FieldKind::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from),
        (FieldKind::Boolean, Value::Bool(_)) => Some(value.clone()),
        (FieldKind::Boolean, Value::String(s)) => match s.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

/// A `Retry-After` value: delay seconds or an HTTP date. Garbage gives `None`; the caller caps it.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(MAX_LIFETIME.as_secs())));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds as a number or numeric string, clamped to `0..=MAX_LIFETIME`.
pub(crate) fn seconds(value: &Value) -> Option<Duration> {
    let secs = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if secs.is_nan() {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.clamp(0.0, MAX_LIFETIME.as_secs_f64()),
    ))
}

fn until(wall_sent: SystemTime, unix_secs: f64) -> Duration {
    let now = wall_sent
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    Duration::from_secs_f64((unix_secs - now).clamp(0.0, MAX_LIFETIME.as_secs_f64()))
}

fn lifetime(expiry: &Expiry, json: &Value, wall_sent: SystemTime) -> Result<Duration, String> {
    match *expiry {
        Expiry::Lifetime(secs) => Ok(Duration::from_secs(secs).min(MAX_LIFETIME)),
        // The longest lifetime a token is given: in practice, until `invalidate` (a 401).
        Expiry::Never => Ok(MAX_LIFETIME),
        Expiry::ExpiresIn { path, when_absent } => match at(json, path) {
            Some(v) => seconds(v).ok_or_else(|| format!("a `{}` that is not a number of seconds", path.join("."))),
            None => when_absent
                .map(Duration::from_secs)
                .ok_or_else(|| format!("no `{}`, so the token's lifetime is unknown; if the provider documents one, add `when_absent:` to the spec's expiry", path.join("."))),
        },
        Expiry::At { path, format } => {
            let value = at(json, path).ok_or_else(|| format!("no `{}` expiry time", path.join(".")))?;
            let unix = match format {
                TimeFormat::Rfc3339 => value
                    .as_str()
                    .and_then(|s| time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok())
                    .map(|t| t.unix_timestamp_nanos() as f64 / 1e9),
                TimeFormat::EpochSeconds => number(value),
                TimeFormat::EpochMillis => number(value).map(|ms| ms / 1000.0),
            };
            let unix = unix.ok_or_else(|| format!("an expiry time at `{}` that is not {}", path.join("."), match format {
                TimeFormat::Rfc3339 => "an RFC 3339 date-time",
                TimeFormat::EpochSeconds => "epoch seconds",
                TimeFormat::EpochMillis => "epoch milliseconds",
            }))?;
            Ok(until(wall_sent, unix))
        }
        Expiry::JwtExp { path } => {
            let jwt = at(json, path).and_then(Value::as_str).ok_or_else(|| format!("no JWT at `{}` to read `exp` from", path.join(".")))?;
            let exp = jwt_exp(jwt).map_err(|why| format!("a token at `{}` whose expiry cannot be read: {why}", path.join(".")))?;
            Ok(until(wall_sent, exp))
        }
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

/// The `exp` claim of a JWT, in Unix seconds. The signature is not checked: the value is only a
/// hint for when to renew, and a wrong hint costs one early or late renewal, never access.
pub fn jwt_exp(jwt: &str) -> Result<f64, &'static str> {
    let mut parts = jwt.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not a JWT (three dot-separated parts)");
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "its payload is not base64url")?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| "its payload is not JSON")?;
    match claims.get("exp") {
        None | Some(Value::Null) => Err("it has no `exp` claim"),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or("its `exp` claim is not a number"),
    }
}

/// An error answer (or an `error` member in a 2xx).
fn rejection(
    provider: &'static Provider,
    status: u16,
    json: Option<&Value>,
    body: &[u8],
    redactor: &Redactor,
) -> Error {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(|s| redactor.excerpt(s.as_bytes()))
    };
    let mut rejection = Rejection::default();
    let shape = provider.error_answer;
    match json {
        Some(json @ Value::Object(o)) if shape.code.is_some() || shape.message.is_some() => {
            // The spec says where this provider keeps them; a number is a code too.
            let code = match shape.code {
                Some(path) => at(json, path).and_then(|v| match v {
                    Value::Number(n) => Some(n.to_string()),
                    other => text(Some(other)),
                }),
                None => text(o.get("error")),
            };
            rejection.code = code.filter(|c| c.len() <= 64 && !c.contains(' '));
            // Without a message path, the places RFC 6749 and common servers use, as for an
            // answer with no `error_answer` at all: a spec that moves only the code keeps the
            // message.
            rejection.description = match shape.message {
                Some(path) => text(at(json, path)),
                None => text(o.get("error_description"))
                    .or_else(|| text(o.get("message")))
                    .or_else(|| text(o.get("error_message"))),
            };
        }
        Some(Value::Object(o)) => {
            rejection.code = text(o.get("error")).filter(|c| c.len() <= 64 && !c.contains(' '));
            rejection.description = text(o.get("error_description"))
                .or_else(|| text(o.get("message")))
                .or_else(|| text(o.get("error_message")))
                .or_else(|| {
                    if rejection.code.is_none() {
                        text(o.get("error"))
                    } else {
                        None
                    }
                });
        }
        Some(Value::String(s)) => rejection.description = Some(redactor.excerpt(s.as_bytes())),
        _ if !body.iter().all(u8::is_ascii_whitespace) => {
            rejection.description = Some(redactor.excerpt(body))
        }
        _ => {}
    }
    let raw = String::from_utf8_lossy(body);
    rejection.known = provider.errors.iter().find_map(|known| {
        let status_ok = known.status.is_none_or(|s| s == status);
        let code_ok = known
            .code
            .is_none_or(|c| rejection.code.as_deref() == Some(c));
        let message_ok = known.message.is_none_or(|m| match json {
            Some(v) => contains_string(v, m, 0),
            None => raw.contains(m),
        });
        (status_ok && code_ok && message_ok).then_some(known.name)
    });
    Error::Rejected {
        provider: provider.title,
        status,
        rejection,
    }
}

/// Whether any string in `value` (searched a few levels deep) is `message`.
fn contains_string(value: &Value, message: &str, depth: usize) -> bool {
    match value {
        Value::String(s) => s.trim() == message,
        Value::Object(o) if depth < 4 => o.values().any(|v| contains_string(v, message, depth + 1)),
        Value::Array(a) if depth < 4 => a.iter().any(|v| contains_string(v, message, depth + 1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_accepts_numbers_and_numeric_strings_and_clamps() {
        assert_eq!(
            seconds(&serde_json::json!(3600)),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            seconds(&serde_json::json!("3600")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(seconds(&serde_json::json!(-5)), Some(Duration::ZERO));
        assert_eq!(seconds(&serde_json::json!(1e12)), Some(MAX_LIFETIME));
        assert_eq!(seconds(&serde_json::json!("soon")), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_ignores_garbage() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn jwt_exp_reads_the_claim_and_names_what_is_wrong() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        assert_eq!(jwt_exp(&format!("e30.{payload}.sig")), Ok(1_700_000_000.0));
        let no_exp = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        assert_eq!(
            jwt_exp(&format!("e30.{no_exp}.sig")),
            Err("it has no `exp` claim")
        );
        let text_exp = URL_SAFE_NO_PAD.encode(br#"{"exp":"tomorrow"}"#);
        assert_eq!(
            jwt_exp(&format!("e30.{text_exp}.sig")),
            Err("its `exp` claim is not a number")
        );
        assert_eq!(
            jwt_exp("opaque-token"),
            Err("it is not a JWT (three dot-separated parts)")
        );
    }

    #[test]
    fn excerpts_are_short_single_line_and_scrubbed() {
        let r = Redactor::new(["hunter2".to_owned()]);
        let body = format!(
            "<html>\n<body>bad secret hunter2 {}</body>",
            "x".repeat(500)
        );
        let e = r.excerpt(body.as_bytes());
        assert!(!e.contains("hunter2") && !e.contains('\n'));
        assert!(e.chars().count() <= EXCERPT_CHARS + 1);
    }
}

#[cfg(test)]
mod properties {
    use std::time::Instant;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn expires_in_is_total_and_clamped(n in any::<f64>(), i in any::<i64>(), s in ".*") {
            for value in [serde_json::json!(n), serde_json::json!(i), serde_json::json!(s), serde_json::json!(format!("{n}"))] {
                if let Some(d) = seconds(&value) {
                    prop_assert!(d <= MAX_LIFETIME);
                }
            }
        }

        #[test]
        fn absolute_expiry_arithmetic_never_panics(at in any::<f64>(), now in any::<u64>()) {
            let wall = UNIX_EPOCH.checked_add(Duration::from_secs(now % (1 << 40))).unwrap_or(UNIX_EPOCH);
            for format in [TimeFormat::EpochSeconds, TimeFormat::EpochMillis] {
                let expiry = Expiry::At { path: &["at"], format };
                if let Ok(d) = lifetime(&expiry, &serde_json::json!({"at": at}), wall) {
                    prop_assert!(d <= MAX_LIFETIME);
                }
            }
        }

        #[test]
        fn token_timing_is_ordered_for_any_lifetime_and_margin(secs in any::<u64>(), nanos in 0u32..1_000_000_000, margin in any::<u64>()) {
            let lifetime = Duration::new(secs, nanos).min(MAX_LIFETIME);
            let now = Instant::now();
            let token = crate::Token::with_margin(SecretString::from("t"), now, lifetime, Duration::from_secs(margin));
            prop_assert!(token.issued_at() <= token.refresh_at() && token.refresh_at() <= token.expires_at());
            prop_assert!(token.refresh_at() - token.issued_at() >= lifetime / 2, "never renews before half the lifetime");
        }

        #[test]
        fn retry_after_and_jwt_exp_are_total(text in ".*") {
            let _ = retry_after(&text, UNIX_EPOCH);
            if let Ok(exp) = jwt_exp(&text) {
                prop_assert!(exp.is_finite());
            }
        }
    }
}
