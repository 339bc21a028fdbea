//! Turns a flow's description and the caller's values into one HTTP request.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use url::form_urlencoded;

use crate::descriptor::{Body, Flow, Grant, Literal, Location, Method, Provider, Source};
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
    /// A secret read from this file each time a request sends it: a token the platform
    /// rotates on disk (a Kubernetes projected service-account token, a CI job's OIDC token).
    File(std::path::PathBuf),
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
            ParamValue::File(path) => f.debug_tuple("File").field(path).finish(),
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
        // `build` replaced every file with its contents before placing any value; the path
        // itself is no value to send.
        ParamValue::File(_) => Wire::Text("".into()),
    }
}

/// `config` with each file setting ([`ParamValue::File`]) replaced by the file's contents,
/// read now, as a secret: the platform may have rotated the token since the last request.
pub(crate) fn read_files(
    config: &[Option<ParamValue>],
) -> Result<std::borrow::Cow<'_, [Option<ParamValue>]>, Error> {
    if !config
        .iter()
        .flatten()
        .any(|v| matches!(v, ParamValue::File(_)))
    {
        return Ok(std::borrow::Cow::Borrowed(config));
    }
    config
        .iter()
        .map(|value| match value {
            Some(ParamValue::File(path)) => {
                read_secret_file(path).map(ParamValue::Secret).map(Some)
            }
            other => Ok(other.clone()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(std::borrow::Cow::Owned)
}

/// The token in the file at `path`, without the line end editors and platforms add.
pub(crate) fn read_secret_file(path: &std::path::Path) -> Result<SecretString, Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "could not read the token file {shown}: {e}; the platform writes it (a Kubernetes \
             projected service-account token, a CI job's OIDC token): check the mount and the path"
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::config(format!(
            "the token file {shown} is empty: the platform has not written its token yet"
        )));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// A non-secret value as text (secrets give an empty string).
pub(crate) fn plain_text(value: &ParamValue) -> String {
    match value {
        ParamValue::Secret(_) => String::new(),
        ParamValue::File(path) => path.display().to_string(),
        other => wire(other).text().into_owned(),
    }
}

/// A parameter the runtime adds to a request from what the caller handed it (the PKCE verifier
/// and redirect URI of a code exchange, the application's own parameters of a pushed
/// authorization request).
pub(crate) struct Extra<'n> {
    pub name: &'n str,
    pub location: Location,
    pub value: ParamValue,
}

/// A token request being assembled: its query and body parameters, the claims of a JWT-bearer
/// grant's assertion, and its extra headers, in the order they were added.
pub(crate) struct Outgoing<'a> {
    query: Vec<(&'a str, Wire<'a>)>,
    body: Vec<(&'a str, Wire<'a>)>,
    claims: Vec<(&'a str, Wire<'a>)>,
    /// Parameters sent as headers, checked when the request is built.
    header_params: Vec<(&'a str, Wire<'a>)>,
    headers: reqwest::header::HeaderMap,
}

impl<'a> Outgoing<'a> {
    /// Adds a text parameter where `location` says.
    pub(crate) fn text(&mut self, location: Location, name: &'a str, value: &'a str) {
        self.push(location, name, Wire::Text(value.into()));
    }

    /// Adds a secret parameter made for this request (a signed client assertion).
    pub(crate) fn secret(&mut self, location: Location, name: &'a str, value: SecretString) {
        self.push(
            location,
            name,
            Wire::Text(value.expose_secret().to_owned().into()),
        );
    }

    /// Adds a header, marked sensitive so HTTP logging hides it.
    pub(crate) fn sensitive_header(
        &mut self,
        name: reqwest::header::HeaderName,
        mut value: HeaderValue,
    ) {
        value.set_sensitive(true);
        self.headers.insert(name, value);
    }

    fn push(&mut self, location: Location, name: &'a str, value: Wire<'a>) {
        match location {
            Location::Query => self.query.push((name, value)),
            Location::Body => self.body.push((name, value)),
            Location::Assertion => self.claims.push((name, value)),
            Location::Header => self.header_params.push((name, value)),
        }
    }
}

/// A parameter's value: fixed, one of the builder's settings or one of the call's arguments
/// (`None` when that setting or argument was not given).
fn value<'a>(
    source: Source,
    config: &'a [Option<ParamValue>],
    call: &'a [Option<ParamValue>],
) -> Option<Wire<'a>> {
    match source {
        Source::Fixed(Literal::Text(t)) => Some(Wire::Text(t.into())),
        Source::Fixed(Literal::Integer(i)) => Some(Wire::Integer(i)),
        Source::Fixed(Literal::Boolean(b)) => Some(Wire::Boolean(b)),
        Source::Config(i) => config.get(i).and_then(Option::as_ref).map(wire),
        Source::Call(i) => call.get(i).and_then(Option::as_ref).map(wire),
    }
}

/// A parameter as a header, marked sensitive. The spec's check refuses names that cannot be
/// headers; a value from a setting or an argument may still hold a line break. Neither the
/// value nor its kind is printed; `of` says whose header it is.
fn header(name: &str, value: &str, of: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::config(format!("`{name}` of {of} cannot be an HTTP header name")))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::config(format!(
            "the value of header `{name}` of {of} has characters an HTTP header cannot carry (a line break or a control character)"
        ))
    })?;
    value.set_sensitive(true);
    Ok((header, value))
}

/// The headers every API call carries besides the token's (`api_headers:` in the spec), from
/// their fixed values and the builder's settings; a setting left unset sends nothing.
pub(crate) fn api_headers(
    provider: &Provider,
    config: &[Option<ParamValue>],
) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    for param in provider.api_headers {
        // Validation gives API headers no per-call values.
        if let Some(value) = value(param.source, config, &[]) {
            let (name, value) = header(param.name, &value.text(), "the API calls")?;
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

/// Builds the token request of `flow` to `endpoint`, the client authenticating with `client`:
/// the method and the credentials.
pub(crate) fn build(
    http: &reqwest::Client,
    endpoint: &Url,
    flow: &Flow,
    client: crate::client_auth::Proof<'_>,
    config: &[Option<ParamValue>],
    call: &[Option<ParamValue>],
    extra: &[Extra<'_>],
) -> Result<reqwest::RequestBuilder, Error> {
    // A no-op when the caller read the files already (a token request does, for its redactor).
    let config = read_files(config)?;
    let config = &*config;
    let call = read_files(call)?;
    let call = &*call;
    let mut url = endpoint.clone();
    let mut out = Outgoing {
        query: Vec::new(),
        body: Vec::new(),
        claims: Vec::new(),
        header_params: Vec::new(),
        headers: reqwest::header::HeaderMap::new(),
    };
    crate::client_auth::apply(&client, &url, &mut out)?;
    for param in flow.params {
        let Some(value) = value(param.source, config, call) else {
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
        out.push(param.location, param.name, value);
    }
    for e in extra {
        out.push(e.location, e.name, wire(&e.value));
    }
    if let Grant::JwtBearer(assertion) = &flow.grant {
        // RFC 7523 §2.1: the signed JWT is the grant. A flow that declares a `sub` claim sends
        // it only when it has a value; otherwise `sub` is the client id.
        let declares_sub = flow
            .params
            .iter()
            .any(|p| p.location == Location::Assertion && p.name == "sub");
        let claims = std::mem::take(&mut out.claims)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.json()));
        let jwt = crate::assertion::grant_assertion(
            assertion,
            client.credentials,
            crate::assertion::Audience {
                endpoint: Some(&url),
                issuer: client.issuer,
            },
            client.now,
            declares_sub,
            claims,
        )?;
        out.secret(Location::Body, "assertion", jwt);
    }
    for (name, value) in std::mem::take(&mut out.header_params) {
        let (name, value) = header(name, &value.text(), &format!("flow `{}`", flow.name))?;
        out.sensitive_header(name, value);
    }
    if !out.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &out.query {
            pairs.append_pair(name, &value.text());
        }
    }
    let method = match flow.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
    };
    let mut request = http.request(method, url).header(ACCEPT, "application/json");
    request = request.headers(out.headers);
    match flow.body {
        Body::None => {}
        Body::Form => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &out.body {
                form.append_pair(name, &value.text());
            }
            request = request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.finish());
        }
        Body::Multipart => {
            // reqwest writes the boundary and the Content-Type that names it.
            let form = out
                .body
                .iter()
                .fold(reqwest::multipart::Form::new(), |form, (name, value)| {
                    form.text((*name).to_owned(), value.text().into_owned())
                });
            request = request.multipart(form);
        }
        Body::Json => {
            let object: serde_json::Map<String, serde_json::Value> = out
                .body
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
