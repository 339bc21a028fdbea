//! The declarative description of a provider that generated code hands to the runtime.
//!
//! Generated modules contain one `static PROVIDER: Provider`; everything the runtime does for that
//! provider (where credentials go, how the answer reads, when the token expires) follows from it.
//! Users rarely touch these types; they are public so generated code and tools can build and read
//! them.

/// A provider, as its spec declares it.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Module name.
    pub name: &'static str,
    /// Human name, used in error messages.
    pub title: &'static str,
    /// Link to the provider's documentation.
    pub docs: Option<&'static str>,
    /// Whether `http://` base URLs are accepted for any host (otherwise only for loopback).
    pub allow_insecure_http: bool,
    /// Seconds before expiry at which renewal starts (capped at half the lifetime).
    pub refresh_margin_secs: u64,
    /// Retry defaults for failed token requests.
    pub retry: Retry,
    /// ID-token validation, for OpenID Connect providers.
    pub openid: Option<OpenId>,
    /// The authorization server users are sent to, when the spec declares it (OpenID
    /// providers have one without).
    pub authorization: Option<Authorization>,
    /// Where tokens are revoked (RFC 7009), when the spec declares it: ending a session revokes
    /// its refresh token there.
    pub revocation: Option<Revocation>,
    /// The client authentication methods the spec allows, when it allows several: flows that
    /// use the first (their default) use the one the builder chose instead.
    pub client_auth_choices: &'static [ClientAuth],
    /// How the token is sent on API calls.
    pub api_header: ApiHeader,
    /// The other headers every API call carries (an application key): fixed, or builder
    /// settings; always [`Location::Header`].
    pub api_headers: &'static [Param],
    /// How error answers read.
    pub error_answer: ErrorAnswer,
    /// Token requests.
    pub flows: &'static [Flow],
    /// The flow behind `access_token()`.
    pub cached_flow: Option<usize>,
    /// The refresh-token flow the cached token renews through while the client holds a refresh
    /// token (the cached flow again if the provider refuses it).
    pub renew_with: Option<usize>,
    /// Builder settings, in the order generated builders pass their values.
    pub config: &'static [Slot],
    /// Error responses the provider documents.
    pub errors: &'static [KnownError],
}

/// The authorization server users are sent to (authorization code with PKCE).
#[derive(Debug, Clone, Copy)]
pub struct Authorization {
    /// Its issuer identifier, `{placeholders}` filled like the base URL; `None`: the OpenID
    /// issuer, else the base URL in use.
    pub issuer: Option<&'static str>,
    /// Authorization endpoint path under the issuer; from the server's metadata when `None`.
    pub path: Option<&'static str>,
}

/// The token revocation endpoint (RFC 7009).
#[derive(Debug, Clone, Copy)]
pub struct Revocation {
    /// Path under the base URL; `None`: the `revocation_endpoint` of the server's metadata.
    pub path: Option<&'static str>,
}

/// How a provider's ID tokens are validated.
#[derive(Debug, Clone, Copy)]
pub struct OpenId {
    /// The exact issuer, `{placeholders}` filled like the base URL; `None`: the base URL in use.
    pub issuer: Option<&'static str>,
    /// Allowed signature algorithms.
    pub algorithms: &'static [&'static str],
    /// JWKS path under the issuer; discovery when `None`.
    pub jwks_path: Option<&'static str>,
    /// Authorization endpoint path under the issuer; discovery when `None`.
    pub authorization_path: Option<&'static str>,
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    pub leeway_secs: u64,
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
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts; also caps `Retry-After`.
    pub max_backoff_ms: u64,
}

/// `name: prefix<token>suffix`.
#[derive(Debug, Clone, Copy)]
pub struct ApiHeader {
    /// Header name.
    pub name: &'static str,
    /// Text before the token.
    pub prefix: &'static str,
    /// Text after the token.
    pub suffix: &'static str,
}

/// One token request.
#[derive(Debug)]
pub struct Flow {
    /// Name in the spec.
    pub name: &'static str,
    /// What it does.
    pub grant: Grant,
    /// HTTP method.
    pub method: Method,
    /// Path appended to the base URL.
    pub path: &'static str,
    /// Body encoding.
    pub body: Body,
    /// Where the client credentials go.
    pub client_auth: ClientAuth,
    /// Parameters.
    pub params: &'static [Param],
    /// Per-call values, in the order generated methods pass them.
    pub call_params: &'static [Slot],
    /// Where the access token may be in the answer: paths tried in order, the first present
    /// wins.
    pub access_token: &'static [&'static [&'static str]],
    /// Other fields read from the answer.
    pub fields: &'static [Field],
    /// Where the lifetime comes from.
    pub expiry: Expiry,
}

/// What a flow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The client's own token.
    ClientCredentials,
    /// Code exchange.
    AuthorizationCode,
    /// Refresh.
    RefreshToken,
    /// The JWT-bearer grant (RFC 7523 §2.1): a JWT the client signs is the grant, sent as
    /// `assertion`. Its claims are `iss` (the client id), `sub` (the client id, unless the flow
    /// declares a `sub` claim), `aud`, `iat`, `exp` and the flow's parameters placed in
    /// [`Location::Assertion`].
    JwtBearer(Assertion),
    /// Anything else.
    Custom,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
}

/// Body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAuth {
    /// Basic header, if any.
    pub basic: Option<BasicEncoding>,
    /// Places where id and secret are sent as parameters.
    pub params: &'static [Location],
    /// Parameter name of the id.
    pub id_param: &'static str,
    /// Parameter name of the secret.
    pub secret_param: &'static str,
    /// A signed client assertion (RFC 7523 §2.2) instead of the secret on the wire.
    pub assertion: Option<Assertion>,
    /// The client certificate authenticates the client (RFC 8705 §2, `tls_client_auth` and
    /// `self_signed_tls_client_auth`): only the client id is sent, in the body.
    pub certificate: bool,
}

/// A JWT the client signs: a client assertion (RFC 7523 §2.2, sent as `client_assertion` with
/// its type) or the JWT-bearer grant's assertion (§2.1, sent as `assertion`). Short-lived,
/// signed with the client secret or the client's private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// What signs it.
    pub signer: Signer,
    /// JWS algorithm: `HS256` with the secret; `RS256`, `PS256` or `ES256` with a key.
    pub algorithm: &'static str,
    /// The `aud` claim; `None`: the URL of the endpoint it is sent to.
    pub audience: Option<&'static str>,
    /// Seconds from `iat` to `exp`.
    pub lifetime_secs: u64,
}

/// What signs an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The client secret (`client_secret_jwt`).
    ClientSecret,
    /// The client's private key, given to the builder (`private_key_jwt`).
    PrivateKey,
}

/// A parameter.
#[derive(Debug)]
pub struct Param {
    /// Wire name.
    pub name: &'static str,
    /// Where it goes.
    pub location: Location,
    /// Where its value comes from.
    pub source: Source,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Always the same.
    Fixed(Literal),
    /// Builder setting (index into [`Provider::config`]).
    Config(usize),
    /// Method argument (index into [`Flow::call_params`]).
    Call(usize),
}

/// A fixed value.
#[derive(Debug, Clone, Copy)]
pub enum Literal {
    /// Text.
    Text(&'static str),
    /// Whole number.
    Integer(i64),
    /// Boolean.
    Boolean(bool),
}

/// A value the caller supplies.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Rust name of the setter or argument, for error messages.
    pub name: &'static str,
    /// Whether it must be supplied.
    pub required: bool,
}

/// A response field to read.
#[derive(Debug)]
pub struct Field {
    /// Key in [`crate::Fields`].
    pub key: &'static str,
    /// Where it may be in the body: paths tried in order, the first present wins.
    pub paths: &'static [&'static [&'static str]],
    /// Expected type.
    pub kind: FieldKind,
    /// Whether an answer without it is an error.
    pub required: bool,
}

/// Expected type of a response field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    /// Seconds from when the request was sent.
    ExpiresIn {
        /// Path.
        path: &'static [&'static str],
        /// Lifetime when the field is absent; `None` makes absence an error.
        when_absent: Option<u64>,
    },
    /// Absolute time.
    At {
        /// Path.
        path: &'static [&'static str],
        /// Format.
        format: TimeFormat,
    },
    /// The `exp` claim of the JWT at this path (an unverified cache hint).
    JwtExp {
        /// Path.
        path: &'static [&'static str],
    },
    /// Fixed seconds.
    Lifetime(u64),
    /// None: the token is kept until an API refuses it (`401`), then fetched again.
    Never,
}

/// How an absolute time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy)]
pub struct ErrorAnswer {
    /// Path of the error code; `None`: RFC 6749's `error`.
    pub code: Option<&'static [&'static str]>,
    /// Path of the message; `None`: `error_description` (or `message`, `error_message`).
    pub message: Option<&'static [&'static str]>,
    /// A 2xx answer with this value at this path is an error (`ok: false`).
    pub failed_when: Option<(&'static [&'static str], Literal)>,
}

impl ErrorAnswer {
    /// RFC 6749 §5.2: `error` and `error_description`, and no 2xx answer is an error unless it
    /// has an `error` member.
    pub const RFC6749: ErrorAnswer = ErrorAnswer {
        code: None,
        message: None,
        failed_when: None,
    };
}

/// An error response the provider documents.
#[derive(Debug)]
pub struct KnownError {
    /// Variant name in the generated error enum.
    pub name: &'static str,
    /// Exact message.
    pub message: Option<&'static str>,
    /// RFC 6749 error code.
    pub code: Option<&'static str>,
    /// HTTP status.
    pub status: Option<u16>,
}
