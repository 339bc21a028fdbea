//! Turns a flow's description and the caller's values into one HTTP request.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use url::form_urlencoded;

use crate::descriptor::{BasicEncoding, Body, Flow, Literal, Location, Method, Source};
use crate::error::Error;

/// A parameter value supplied by a builder setting or a method argument.
#[derive(Clone)]
pub enum ParamValue {
    /// Text.
    Text(String),
    /// Text that is never printed.
    Secret(SecretString),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// One value of a fixed set.
    Word(&'static str),
    /// Several values of a fixed set and the separator that joins them.
    Words(Vec<&'static str>, &'static str),
}

impl std::fmt::Debug for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Secret(_) => f.write_str("Secret([REDACTED])"),
            ParamValue::Text(t) => f.debug_tuple("Text").field(t).finish(),
            ParamValue::Integer(i) => f.debug_tuple("Integer").field(i).finish(),
            ParamValue::Boolean(b) => f.debug_tuple("Boolean").field(b).finish(),
            ParamValue::Word(w) => f.debug_tuple("Word").field(w).finish(),
            ParamValue::Words(w, s) => f.debug_tuple("Words").field(w).field(s).finish(),
        }
    }
}

/// A value about to go on the wire.
enum Wire<'a> {
    Text(std::borrow::Cow<'a, str>),
    Integer(i64),
    Boolean(bool),
}

impl Wire<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Wire::Text(t) => std::borrow::Cow::Borrowed(t.as_ref()),
            Wire::Integer(i) => i.to_string().into(),
            Wire::Boolean(b) => b.to_string().into(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Wire::Text(t) => serde_json::Value::String(t.to_string()),
            Wire::Integer(i) => serde_json::Value::from(*i),
            Wire::Boolean(b) => serde_json::Value::Bool(*b),
        }
    }
}

fn wire(value: &ParamValue) -> Wire<'_> {
    match value {
        ParamValue::Text(t) => Wire::Text(t.as_str().into()),
        ParamValue::Secret(s) => Wire::Text(s.expose_secret().into()),
        ParamValue::Integer(i) => Wire::Integer(*i),
        ParamValue::Boolean(b) => Wire::Boolean(*b),
        ParamValue::Word(w) => Wire::Text((*w).into()),
        ParamValue::Words(words, sep) => Wire::Text(words.join(sep).into()),
    }
}

/// A non-secret value as text (secrets give an empty string).
pub(crate) fn plain_text(value: &ParamValue) -> String {
    match value {
        ParamValue::Secret(_) => String::new(),
        other => wire(other).text().into_owned(),
    }
}

/// A parameter the runtime adds to a request from what the caller handed it (the PKCE verifier
/// and redirect URI of a code exchange).
pub(crate) struct Extra {
    pub name: &'static str,
    pub location: Location,
    pub value: ParamValue,
}

/// The client's identity.
pub(crate) struct Credentials {
    pub id: String,
    pub secret: SecretString,
}

/// `Authorization: Basic …` for the given encoding.
pub(crate) fn basic_header(encoding: BasicEncoding, id: &str, secret: &str) -> String {
    let pair = match encoding {
        BasicEncoding::Raw => format!("{id}:{secret}"),
        BasicEncoding::Rfc6749 => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            format!("{}:{}", enc(id), enc(secret))
        }
    };
    format!("Basic {}", STANDARD.encode(pair))
}

/// Builds the token request of `flow`.
pub(crate) fn build(
    http: &reqwest::Client,
    base: &Url,
    flow: &Flow,
    credentials: &Credentials,
    config: &[Option<ParamValue>],
    call: &[Option<ParamValue>],
    extra: &[Extra],
) -> Result<reqwest::RequestBuilder, Error> {
    let mut url = base.clone();
    url.set_path(&format!(
        "{}{}",
        base.path().trim_end_matches('/'),
        flow.path
    ));
    let mut query: Vec<(&str, Wire<'_>)> = Vec::new();
    let mut body: Vec<(&str, Wire<'_>)> = Vec::new();
    for location in flow.client_auth.params {
        let target = if *location == Location::Query {
            &mut query
        } else {
            &mut body
        };
        target.push((
            flow.client_auth.id_param,
            Wire::Text(credentials.id.as_str().into()),
        ));
        target.push((
            flow.client_auth.secret_param,
            Wire::Text(credentials.secret.expose_secret().into()),
        ));
    }
    for param in flow.params {
        let value = match param.source {
            Source::Fixed(Literal::Text(t)) => Some(Wire::Text(t.into())),
            Source::Fixed(Literal::Integer(i)) => Some(Wire::Integer(i)),
            Source::Fixed(Literal::Boolean(b)) => Some(Wire::Boolean(b)),
            Source::Config(i) => config.get(i).and_then(Option::as_ref).map(wire),
            Source::Call(i) => call.get(i).and_then(Option::as_ref).map(wire),
        };
        let Some(value) = value else {
            let slot = match param.source {
                Source::Call(i) => flow.call_params.get(i),
                _ => None,
            };
            if slot.is_some_and(|s| s.required) {
                return Err(Error::config(format!(
                    "parameter `{}` of flow `{}` needs a value",
                    param.name, flow.name
                )));
            }
            continue;
        };
        match param.location {
            Location::Query => query.push((param.name, value)),
            Location::Body => body.push((param.name, value)),
        }
    }
    for e in extra {
        match e.location {
            Location::Query => query.push((e.name, wire(&e.value))),
            Location::Body => body.push((e.name, wire(&e.value))),
        }
    }
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &query {
            pairs.append_pair(name, &value.text());
        }
    }
    let method = match flow.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
    };
    let mut request = http.request(method, url).header(ACCEPT, "application/json");
    if let Some(encoding) = flow.client_auth.basic {
        let mut value = HeaderValue::from_str(&basic_header(
            encoding,
            &credentials.id,
            credentials.secret.expose_secret(),
        ))
        .map_err(|_| {
            Error::config(
                "the client id or secret contains characters that cannot go in an HTTP header",
            )
        })?;
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    match flow.body {
        Body::None => {}
        Body::Form => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &body {
                form.append_pair(name, &value.text());
            }
            request = request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.finish());
        }
        Body::Json => {
            let object: serde_json::Map<String, serde_json::Value> = body
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.json()))
                .collect();
            let bytes = serde_json::to_vec(&object)
                .map_err(|e| Error::config(format!("could not encode the JSON body: {e}")))?;
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_basic_header_encodes_id_colon_secret() {
        assert_eq!(
            basic_header(BasicEncoding::Raw, "id", "s:e+cret"),
            format!("Basic {}", STANDARD.encode("id:s:e+cret"))
        );
    }

    #[test]
    fn rfc6749_basic_header_form_encodes_before_base64() {
        // RFC 6749 §2.3.1 + Appendix B: space → '+', ':' '+' '/' '=' '&' and non-ASCII percent-encoded.
        let header = basic_header(BasicEncoding::Rfc6749, "my id:ç", "a+b/c=d&e f");
        let decoded = String::from_utf8(
            STANDARD
                .decode(header.trim_start_matches("Basic "))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded, "my+id%3A%C3%A7:a%2Bb%2Fc%3Dd%26e+f");
    }
}

#[cfg(test)]
mod properties {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    use super::*;

    fn decode(header: &str) -> String {
        let bytes = STANDARD
            .decode(header.strip_prefix("Basic ").expect("Basic prefix"))
            .expect("base64");
        String::from_utf8(bytes).expect("UTF-8")
    }

    fn form_decode(part: &str) -> String {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    proptest! {
        #[test]
        fn rfc6749_basic_credentials_round_trip_for_any_id_and_secret(id in ".*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Rfc6749, &id, &secret));
            let (a, b) = decoded.split_once(':').expect("one separator");
            prop_assert!(!b.contains(':'), "colons inside the secret are encoded");
            prop_assert_eq!(form_decode(a), id);
            prop_assert_eq!(form_decode(b), secret);
        }

        #[test]
        fn raw_basic_credentials_round_trip_when_the_id_has_no_colon(id in "[^:]*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Raw, &id, &secret));
            prop_assert_eq!(decoded.split_once(':'), Some((id.as_str(), secret.as_str())));
        }
    }
}
