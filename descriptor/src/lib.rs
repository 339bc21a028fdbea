//! The declarative description of a provider that generated code hands to the runtime.
//!
//! Generated modules hold it as data: one `static PROVIDER: Embedded`, the provider's facts as
//! JSON, one fact per line, which the runtime reads once per process into a [`Provider`]. Everything
//! the runtime does for that provider (where credentials go, how the answer reads, when the token
//! expires) follows from it. As prost-build hands descriptors over as data rather than as code,
//! the data form lets the descriptor grow within a release series: a field added later is left
//! out of the data of every module that does not use it, so modules generated before it read
//! the same; a module that uses a field this runtime does not know is refused when its client is
//! built, with the field named, never silently read without it (docs/design.md, "Versions and
//! compatibility").
//!
//! Users rarely touch these types; they are public so generated code and tools can build and
//! read them.

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize};

/// A provider, as its spec declares it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Module name.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Human name, used in error messages.
    #[serde(deserialize_with = "read")]
    pub title: &'static str,
    /// Link to the provider's documentation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub docs: Option<&'static str>,
    /// Whether `http://` base URLs are accepted for any host (otherwise only for loopback).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_insecure_http: bool,
    /// Seconds before expiry at which renewal starts (capped at half the lifetime).
    pub refresh_margin_secs: u64,
    /// Retry defaults for failed token requests.
    pub retry: Retry,
    /// ID-token validation, for OpenID Connect providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenId>,
    /// The authorization server users are sent to, when the spec declares it (OpenID
    /// providers have one without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Where tokens are revoked (RFC 7009), when the spec declares it: ending a session revokes
    /// its refresh token there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Where device authorizations start (RFC 8628), when the spec has a `device_code` flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization: Option<DeviceAuthorization>,
    /// The client authentication methods the spec allows, when it allows several: flows that
    /// use the first (their default) use the one the builder chose (by name) instead.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub client_auth_choices: &'static [ClientAuth],
    /// Whether tokens are bound to the client's key with DPoP (RFC 9449): every token request
    /// and API call carries a proof, and a `DPoP` token goes in `Authorization: DPoP …`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dpop: bool,
    /// How the token is sent on API calls.
    pub api_header: ApiHeader,
    /// The other headers every API call carries (an application key): fixed, or builder
    /// settings; always [`Location::Header`].
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub api_headers: &'static [Param],
    /// How error answers read.
    #[serde(default, skip_serializing_if = "ErrorAnswer::is_rfc6749")]
    pub error_answer: ErrorAnswer,
    /// Token requests.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub flows: &'static [Flow],
    /// The flow behind `access_token()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_flow: Option<usize>,
    /// The refresh-token flow the cached token renews through while the client holds a refresh
    /// token (the cached flow again if the provider refuses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_with: Option<usize>,
    /// Builder settings, in the order generated builders pass their values.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub config: &'static [Slot],
    /// Error responses the provider documents.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub errors: &'static [KnownError],
}

/// The authorization server users are sent to (authorization code with PKCE).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Its issuer identifier, `{placeholders}` filled like the base URL; `None`: the OpenID
    /// issuer, else the base URL in use.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub issuer: Option<&'static str>,
    /// Authorization endpoint path under the issuer; from the server's metadata when `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub path: Option<&'static str>,
    /// Pushed authorization requests (RFC 9126), when the spec asks for them: the request is
    /// sent to the server first, and the user's browser carries only its `request_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub par: Option<Par>,
    /// Signed request objects (RFC 9101), when the spec asks for them: the request's
    /// parameters travel as the claims of a JWT the client signs (`request`), its audience
    /// `{issuer}` unless the spec names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Assertion>,
    /// JWT-secured authorization responses (JARM), when the spec asks for them: the request
    /// carries `response_mode=jwt`, and the redirect a `response` JWT the provider signed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub jwt_response: bool,
    /// OpenID Connect hybrid responses, when the spec asks for them: the request carries
    /// `response_type=code id_token`, and the redirect's fragment an ID token issued with the
    /// code and state (`c_hash`, `s_hash`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub hybrid: bool,
}

impl Authorization {
    /// The server at the base URL (or the OpenID issuer), its authorization endpoint from its
    /// metadata, requests sent in the browser's URL. Tools and tests name what differs
    /// (`Authorization { path: Some("/authorize"), ..Authorization::DEFAULT }`).
    pub const DEFAULT: Authorization = Authorization {
        issuer: None,
        path: None,
        par: None,
        request_object: None,
        jwt_response: false,
        hybrid: false,
    };
}

/// Where authorization requests are pushed (RFC 9126).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Par {
    /// Path under the issuer; `None`: the `pushed_authorization_request_endpoint` of the
    /// server's metadata.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub path: Option<&'static str>,
}

/// The token revocation endpoint (RFC 7009).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Path under the base URL; `None`: the `revocation_endpoint` of the server's metadata.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub path: Option<&'static str>,
}

/// The device authorization endpoint (RFC 8628 §3.1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceAuthorization {
    /// Path under the base URL; `None`: the `device_authorization_endpoint` of the server's
    /// metadata.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub path: Option<&'static str>,
}

/// How a provider's ID tokens are validated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenId {
    /// The exact issuer, `{placeholders}` filled like the base URL; `None`: the base URL in use.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub issuer: Option<&'static str>,
    /// Allowed signature algorithms.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub algorithms: &'static [&'static str],
    /// JWKS path under the issuer; discovery when `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub jwks_path: Option<&'static str>,
    /// Authorization endpoint path under the issuer; discovery when `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub authorization_path: Option<&'static str>,
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    pub leeway_secs: u64,
}

impl Provider {
    /// A provider with no flows, holding what a spec that says nothing else gets: renewal 60 s
    /// before expiry, three attempts from 200 ms to 5 s apart, `Authorization: Bearer <token>`,
    /// RFC 6749 error answers. Tools and tests start from it and name what differs
    /// (`Provider { flows, ..Provider::DEFAULT }`), so a field the descriptor gains later does
    /// not break them.
    pub const DEFAULT: Provider = Provider {
        name: "",
        title: "",
        docs: None,
        allow_insecure_http: false,
        refresh_margin_secs: 60,
        retry: Retry {
            attempts: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 5000,
        },
        openid: None,
        authorization: None,
        revocation: None,
        device_authorization: None,
        client_auth_choices: &[],
        dpop: false,
        api_header: ApiHeader {
            name: "Authorization",
            prefix: "Bearer ",
            suffix: "",
        },
        api_headers: &[],
        error_answer: ErrorAnswer::RFC6749,
        flows: &[],
        cached_flow: None,
        renew_with: None,
        config: &[],
        errors: &[],
    };
}

impl OpenId {
    /// Whether the issuer is a URL (or the base URL), whose metadata names the keys and where
    /// users log in; an issuer that is a name (`"iss": "fanbase"`) is only compared with the
    /// claim.
    pub fn issuer_is_url(&self) -> bool {
        self.issuer.is_none_or(|i| i.contains("://"))
    }
}

/// Retry defaults, as the spec declares them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts; also caps `Retry-After`.
    pub max_backoff_ms: u64,
}

/// `name: prefix<token>suffix`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiHeader {
    /// Header name.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Text before the token.
    #[serde(deserialize_with = "read")]
    pub prefix: &'static str,
    /// Text after the token.
    #[serde(deserialize_with = "read")]
    pub suffix: &'static str,
}

/// One token request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Name in the spec.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// What it does.
    pub grant: Grant,
    /// HTTP method.
    pub method: Method,
    /// Path appended to the base URL; `None`: the token endpoint the authorization server's
    /// metadata names (its mutual-TLS alias when the client sends a certificate).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub path: Option<&'static str>,
    /// Body encoding.
    pub body: Body,
    /// Where the client credentials go.
    pub client_auth: ClientAuth,
    /// Parameters.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub params: &'static [Param],
    /// Per-call values, in the order generated methods pass them.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub call_params: &'static [Slot],
    /// Where the access token may be in the answer: paths tried in order, the first present
    /// wins.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub access_token: &'static [&'static [&'static str]],
    /// Other fields read from the answer.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub fields: &'static [Field],
    /// Where the lifetime comes from.
    pub expiry: Expiry,
}

impl Flow {
    /// A client-credentials flow that sends nothing of its own: a form `POST` to the base URL,
    /// no client authentication, the token at `access_token` and its lifetime at `expires_in`.
    /// Tools and tests name what differs (`Flow { path: Some("/token"), ..Flow::DEFAULT }`), so a
    /// field the descriptor gains later does not break them.
    pub const DEFAULT: Flow = Flow {
        name: "",
        grant: Grant::ClientCredentials,
        method: Method::Post,
        path: Some(""),
        body: Body::Form,
        client_auth: ClientAuth::NONE,
        params: &[],
        call_params: &[],
        access_token: &[&["access_token"]],
        fields: &[],
        expiry: Expiry::ExpiresIn {
            path: &["expires_in"],
            when_absent: None,
        },
    };
}

/// What a flow does. New grants may come in a minor release: match with a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(bound(deserialize = "'de: 'static"))]
#[non_exhaustive]
pub enum Grant {
    /// The client's own token.
    ClientCredentials,
    /// Code exchange.
    AuthorizationCode,
    /// Refresh.
    RefreshToken,
    /// The device authorization grant (RFC 8628): the client polls with the `device_code` of
    /// a device authorization the user approves on another device.
    DeviceCode,
    /// The JWT-bearer grant (RFC 7523 §2.1): a JWT the client signs is the grant, sent as
    /// `assertion`. Its claims are `iss` (the client id), `sub` (the client id, unless the flow
    /// declares a `sub` claim), `aud`, `iat`, `exp` and the flow's parameters placed in
    /// [`Location::Assertion`].
    JwtBearer(Assertion),
    /// Anything else.
    Custom,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
}

/// Body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// `application/x-www-form-urlencoded`
    Form,
    /// `application/json`
    Json,
    /// `multipart/form-data`, each parameter a text part.
    Multipart,
    /// No body.
    None,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// Query string.
    Query,
    /// Body.
    Body,
    /// A claim of the JWT the client signs for the JWT-bearer grant ([`Grant::JwtBearer`]).
    Assertion,
    /// An HTTP header of the token request, marked sensitive.
    Header,
}

/// Basic header encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasicEncoding {
    /// `base64(id:secret)`.
    Raw,
    /// `base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1): form-urlencoding, a space
    /// as `+`.
    Rfc6749,
    /// `base64(pct(id):pct(secret))`: every byte outside RFC 3986's unreserved set
    /// percent-encoded, a space as `%20`, non-ASCII as its UTF-8 bytes. The encoding every
    /// server decodes the same way, whether it decodes with form rules or plain percent rules.
    Percent,
}

/// Where the client credentials go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAuth {
    /// The method's name (`client_secret_basic`, `private_key_jwt`, ...): how a builder that
    /// offers several methods names the one it chose.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Basic header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicEncoding>,
    /// Places where id and secret are sent as parameters.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub params: &'static [Location],
    /// Parameter name of the id.
    #[serde(deserialize_with = "read")]
    pub id_param: &'static str,
    /// Parameter name of the secret.
    #[serde(deserialize_with = "read")]
    pub secret_param: &'static str,
    /// A client assertion (RFC 7523 §2.2) instead of the secret on the wire: one the client
    /// signs, or one another identity provider issued ([`Signer::Federated`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<Assertion>,
    /// The client certificate authenticates the client (RFC 8705 §2, `tls_client_auth` and
    /// `self_signed_tls_client_auth`): only the client id is sent, in the body.
    #[serde(default, skip_serializing_if = "is_false")]
    pub certificate: bool,
}

impl ClientAuth {
    /// No client authentication (RFC 7591's `none`): nothing but what the flow's parameters
    /// send. Tools and tests name what differs
    /// (`ClientAuth { basic: Some(BasicEncoding::Percent), ..ClientAuth::NONE }`), so a field
    /// the descriptor gains later does not break them.
    pub const NONE: ClientAuth = ClientAuth {
        name: "none",
        basic: None,
        params: &[],
        id_param: "client_id",
        secret_param: "client_secret",
        assertion: None,
        certificate: false,
    };
}

/// A JWT the client signs: a client assertion (RFC 7523 §2.2, sent as `client_assertion` with
/// its type) or the JWT-bearer grant's assertion (§2.1, sent as `assertion`). Short-lived,
/// signed with the client secret or the client's private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    /// What signs it.
    pub signer: Signer,
    /// JWS algorithm: `HS256` with the secret; `RS256`, `PS256` or `ES256` with a key.
    #[serde(deserialize_with = "read")]
    pub algorithm: &'static str,
    /// The `aud` claim; `None`: the URL of the endpoint it is sent to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub audience: Option<&'static str>,
    /// Seconds from `iat` to `exp`.
    pub lifetime_secs: u64,
}

/// What signs an assertion. New kinds may come in a minor release: match with a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signer {
    /// The client secret (`client_secret_jwt`).
    ClientSecret,
    /// The client's private key, given to the builder (`private_key_jwt`).
    PrivateKey,
    /// Nothing the client holds: another identity provider issued the JWT for this client
    /// (workload identity federation, such as Entra ID's federated credentials), and the
    /// platform writes it to the file given to the builder, read at every request.
    Federated,
}

/// A parameter.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Wire name.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Where it goes.
    pub location: Location,
    /// Where its value comes from.
    pub source: Source,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(bound(deserialize = "'de: 'static"))]
pub enum Source {
    /// Always the same.
    Fixed(Literal),
    /// Builder setting (index into [`Provider::config`]).
    Config(usize),
    /// Method argument (index into [`Flow::call_params`]).
    Call(usize),
}

/// A fixed value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    /// Text.
    Text(#[serde(deserialize_with = "read")] &'static str),
    /// Whole number.
    Integer(i64),
    /// Boolean.
    Boolean(bool),
}

/// A value the caller supplies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Rust name of the setter or argument, for error messages.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Whether it must be supplied.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

/// A response field to read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Key in the runtime's `Fields` (the answer's fields as a generated `<Flow>Fields` reads them).
    #[serde(deserialize_with = "read")]
    pub key: &'static str,
    /// Where it may be in the body: paths tried in order, the first present wins.
    #[serde(
        default,
        skip_serializing_if = "<[_]>::is_empty",
        deserialize_with = "read"
    )]
    pub paths: &'static [&'static [&'static str]],
    /// Expected type.
    pub kind: FieldKind,
    /// Whether an answer without it is an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

/// Expected type of a response field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A string (numbers and booleans are accepted and turned into text).
    Text,
    /// A string that is never printed.
    Secret,
    /// A whole number (or a string holding one).
    Integer,
    /// Any number (or a string holding one).
    Number,
    /// A boolean.
    Boolean,
    /// Any JSON.
    Json,
}

/// Where a token's lifetime comes from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// Seconds from when the request was sent.
    ExpiresIn {
        /// Path.
        #[serde(deserialize_with = "read")]
        path: &'static [&'static str],
        /// Lifetime when the field is absent; `None` makes absence an error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when_absent: Option<u64>,
    },
    /// Absolute time.
    At {
        /// Path.
        #[serde(deserialize_with = "read")]
        path: &'static [&'static str],
        /// Format.
        format: TimeFormat,
    },
    /// The `exp` claim of the JWT at this path (an unverified cache hint).
    JwtExp {
        /// Path.
        #[serde(deserialize_with = "read")]
        path: &'static [&'static str],
    },
    /// Fixed seconds.
    Lifetime(u64),
    /// None: the token is kept until an API refuses it (`401`), then fetched again.
    Never,
}

/// How an absolute time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339.
    Rfc3339,
    /// Seconds since 1970.
    EpochSeconds,
    /// Milliseconds since 1970.
    EpochMillis,
}

/// Where the provider's error answers keep their code and message, and which successful
/// answers are errors all the same.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct ErrorAnswer {
    /// Path of the error code; `None`: RFC 6749's `error`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub code: Option<&'static [&'static str]>,
    /// Path of the message; `None`: `error_description` (or `message`, `error_message`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub message: Option<&'static [&'static str]>,
    /// A 2xx answer with this value at this path is an error (`ok: false`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub failed_when: Option<(&'static [&'static str], Literal)>,
}

impl Default for ErrorAnswer {
    fn default() -> Self {
        ErrorAnswer::RFC6749
    }
}

impl ErrorAnswer {
    /// Whether this is RFC 6749's shape, which a module's data leaves out.
    pub fn is_rfc6749(&self) -> bool {
        self.code.is_none() && self.message.is_none() && self.failed_when.is_none()
    }

    /// RFC 6749 §5.2: `error` and `error_description`, and no 2xx answer is an error unless it
    /// has an `error` member.
    pub const RFC6749: ErrorAnswer = ErrorAnswer {
        code: None,
        message: None,
        failed_when: None,
    };
}

/// An error response the provider documents.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownError {
    /// Variant name in the generated error enum.
    #[serde(deserialize_with = "read")]
    pub name: &'static str,
    /// Exact message.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub message: Option<&'static str>,
    /// RFC 6749 error code.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read"
    )]
    pub code: Option<&'static str>,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A descriptor's value as data holds it: strings and lists it owns, which [`read`] keeps for
/// the rest of the program, as a generated `static` keeps its literals. The runtime reads each
/// module's data once per process ([`Embedded`]), so what is kept is bounded by the modules
/// compiled in.
trait Kept: Sized {
    /// The owned form deserialized from the data.
    type Owned;
    /// Keeps `owned` for the rest of the program.
    fn keep(owned: Self::Owned) -> Self;
}

impl Kept for &'static str {
    type Owned = String;
    fn keep(owned: String) -> Self {
        Box::leak(owned.into_boxed_str())
    }
}

impl<T: Kept> Kept for &'static [T] {
    type Owned = Vec<T::Owned>;
    fn keep(owned: Vec<T::Owned>) -> Self {
        Box::leak(owned.into_iter().map(T::keep).collect())
    }
}

impl<T: Kept> Kept for Option<T> {
    type Owned = Option<T::Owned>;
    fn keep(owned: Self::Owned) -> Self {
        owned.map(T::keep)
    }
}

impl<A: Kept, B: Kept> Kept for (A, B) {
    type Owned = (A::Owned, B::Owned);
    fn keep((a, b): Self::Owned) -> Self {
        (A::keep(a), B::keep(b))
    }
}

/// Descriptor types whose own `Deserialize` already keeps what they borrow.
macro_rules! kept_whole {
    ($($t:ty),* $(,)?) => {
        $(impl Kept for $t {
            type Owned = Self;
            fn keep(owned: Self) -> Self {
                owned
            }
        })*
    };
}

kept_whole!(
    Flow, Param, Field, Slot, KnownError, ClientAuth, Location, Literal
);

/// Deserializes a field that borrows `'static` data: reads the owned form and keeps it.
///
/// Every descriptor type borrows `'static` data, so serde reads them from `'static` input only
/// (the types without a string of their own say so with `bound(deserialize = "'de: 'static")`);
/// a module's data is a `'static` string.
fn read<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Kept,
    T::Owned: Deserialize<'de>,
{
    T::Owned::deserialize(deserializer).map(T::keep)
}

/// A provider's descriptor as a generated module holds it: its data, read into a [`Provider`]
/// the first time a client of the module is built, and kept for the rest of the program.
pub struct Embedded {
    data: &'static str,
    read: OnceLock<Result<&'static Provider, String>>,
}

impl Embedded {
    /// The descriptor whose data is `data` (JSON, as tokenspec-codegen writes it).
    pub const fn new(data: &'static str) -> Self {
        Embedded {
            data,
            read: OnceLock::new(),
        }
    }

    /// The descriptor, read on the first call and kept; every later call answers the same. A
    /// module whose data this crate cannot read (a newer generator's field, a hand edit) is
    /// [`Unreadable`], naming what it could not read.
    pub fn provider(&'static self) -> Result<&'static Provider, Unreadable> {
        self.read
            .get_or_init(|| match serde_json::from_str::<Provider>(self.data) {
                Ok(provider) => Ok(Box::leak(Box::new(provider))),
                Err(e) => Err(e.to_string()),
            })
            .clone()
            .map_err(Unreadable)
    }
}

/// The data of a module's descriptor does not read: it was written by a generator that knows
/// a field this crate does not, or edited by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this provider module's descriptor does not read with tokenspec-descriptor {} ({}): \
             it was generated by a tokenspec-codegen that knows more than this runtime; upgrade \
             tokenspec to the generator's version (the module's `contract!` line names it), or \
             generate the module again with tokenspec-codegen {0}",
            env!("CARGO_PKG_VERSION"),
            self.0
        )
    }
}

impl std::error::Error for Unreadable {}

/// The data a generated module holds for `provider`: JSON, one fact per line, every field that
/// holds its default (no value, an empty list, `false`) left out, so a field added to the
/// descriptor later shows only in the modules of specs that use it.
pub fn to_data(provider: &Provider) -> String {
    // The descriptor holds strings, numbers, booleans, lists and maps with string keys only,
    // which always serialize.
    let pretty = serde_json::to_string_pretty(provider).unwrap_or_default();
    one_fact_per_line(&pretty)
}

/// serde_json's pretty layout with each fact on one line: a list of plain values (a path such
/// as `["data", "token"]`), a list of such lists, and an object of one member whose value fits
/// on one line (`{"config": 0}`) are written on the line that opens them, when it stays within
/// 100 columns; objects of several members keep one member per line.
fn one_fact_per_line(pretty: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    // Each open list or object: its opening line, whether every member so far is on one line,
    // and how many members it has.
    let mut open: Vec<(usize, bool, usize)> = Vec::new();
    for line in pretty.lines() {
        let text = line.trim_start();
        // In pretty JSON only a closing line starts with `]` or `}`, and only an opening line
        // ends with `[` or `{` (a string value ends with its quote, or the comma after it).
        if text.starts_with(']') || text.starts_with('}') {
            let Some((start, flat, members)) = open.pop() else {
                lines.push(line.to_owned());
                continue;
            };
            let mut one_line = None;
            if flat && (text.starts_with(']') || members == 1) {
                let mut joined = lines[start].clone();
                for (i, inner) in lines[start + 1..].iter().enumerate() {
                    if i > 0 {
                        joined.push(' ');
                    }
                    joined.push_str(inner.trim_start());
                }
                joined.push_str(text);
                if joined.len() <= 100 {
                    one_line = Some(joined);
                }
            }
            let collapsed = one_line.is_some();
            match one_line {
                Some(joined) => {
                    lines.truncate(start);
                    lines.push(joined);
                }
                None => lines.push(line.to_owned()),
            }
            if let Some(parent) = open.last_mut() {
                parent.1 &= collapsed;
                parent.2 += 1;
            }
            continue;
        }
        lines.push(line.to_owned());
        if text.ends_with('[') || text.ends_with('{') {
            open.push((lines.len() - 1, true, 0));
        } else if let Some(parent) = open.last_mut() {
            parent.2 += 1;
        }
    }
    lines.join("\n")
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.read.get() {
            Some(Ok(provider)) => f.debug_tuple("Embedded").field(provider).finish(),
            _ => f.debug_tuple("Embedded").field(&self.data).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_single_member_objects_take_one_line_and_records_one_line_per_member() {
        let pretty = serde_json::to_string_pretty(&serde_json::json!({
            "access_token": [["access_token"], ["data", "token"]],
            "source": {"fixed": {"text": "client_credentials"}},
            "field": {"key": "scope", "paths": [["scope"]]},
            "empty": [],
        }))
        .unwrap_or_default();
        assert_eq!(
            one_fact_per_line(&pretty),
            "{\n  \"access_token\": [[\"access_token\"], [\"data\", \"token\"]],\n  \
             \"empty\": [],\n  \"field\": {\n    \"key\": \"scope\",\n    \
             \"paths\": [[\"scope\"]]\n  },\n  \
             \"source\": {\"fixed\": {\"text\": \"client_credentials\"}}\n}"
        );
    }

    #[test]
    fn a_list_too_long_for_one_line_keeps_one_value_per_line() {
        let long = "x".repeat(60);
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "path": [long, long] }))
            .unwrap_or_default();
        assert_eq!(one_fact_per_line(&pretty), pretty);
    }
}
