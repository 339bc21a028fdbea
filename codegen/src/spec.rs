//! The serde model of a provider spec, exactly as written in YAML.
//!
//! Nothing here judges the input beyond its shape: unknown keys are rejected by serde, and every
//! rule that needs more than one field lives in [`crate::validate`].

use std::collections::BTreeMap;

use serde::Deserialize;

/// One provider spec file (`specs/<name>.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Rust module name; defaults to the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Human name of the provider, used in docs.
    pub title: String,
    /// Link to the provider's own token documentation.
    #[serde(default)]
    pub docs: Option<String>,
    /// One paragraph for the generated module's documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the provider goes in the catalog (`generated/PROVIDERS.md`).
    #[serde(default)]
    pub catalog: Option<CatalogSpec>,
    /// The document the spec's facts were last compared with, and when; a catalog spec without
    /// it gets a warning.
    #[serde(default)]
    pub checked: Option<CheckedSpec>,
    /// Named base URLs; `{placeholder}`s become typed fields of the environment.
    pub environments: BTreeMap<String, EnvironmentSpec>,
    /// Environment used when the caller picks none.
    #[serde(default)]
    pub default_environment: Option<String>,
    /// Accept `http://` base URLs (local development only).
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Renew this many seconds before expiry (default 60, never more than half the lifetime).
    #[serde(default)]
    pub refresh_margin: Option<u64>,
    /// OpenID Connect: ID-token validation and the authorization endpoint.
    #[serde(default)]
    pub openid: Option<OpenIdSpec>,
    /// Where users are sent to log in and consent (authorization code with PKCE), with or
    /// without OpenID Connect.
    #[serde(default)]
    pub authorization: Option<AuthorizationSpec>,
    /// Where tokens are revoked (RFC 7009): ending a user's session revokes its refresh token.
    #[serde(default)]
    pub revocation: Option<RevocationSpec>,
    /// Where device authorizations start (RFC 8628), for a `device_code` flow.
    #[serde(default)]
    pub device_authorization: Option<DeviceAuthorizationSpec>,
    /// How failed token requests are retried.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// How the token is sent on API calls.
    #[serde(default)]
    pub api_header: Option<ApiHeaderSpec>,
    /// Other headers every API call carries (an application key), keyed by header name: a
    /// fixed `value`, or a builder setting, as in a flow's `params`.
    #[serde(default)]
    pub api_headers: BTreeMap<String, ParamSpec>,
    /// Whether every environment wants a client certificate (mutual TLS) on token requests and
    /// API calls; an environment may also say so itself.
    #[serde(default)]
    pub client_certificate: bool,
    /// Whether the provider binds tokens to a key the client holds with DPoP (RFC 9449): every
    /// token request and API call carries a signed proof, and tokens go in
    /// `Authorization: DPoP …`. Default: false.
    #[serde(default)]
    pub dpop: bool,
    /// Client authentication used by every flow that does not set its own: one method, or a
    /// list of the methods the provider accepts (the builder picks one; the first by default).
    #[serde(default)]
    pub client_auth: Option<ClientAuthChoice>,
    /// Token requests, keyed by flow name (which names the generated method).
    pub flows: BTreeMap<String, FlowSpec>,
    /// Error responses the provider documents.
    #[serde(default)]
    pub errors: Vec<KnownErrorSpec>,
    /// Where error answers keep their code and message, when not where RFC 6749 puts them,
    /// and which successful answers are errors.
    #[serde(default)]
    pub error_answer: Option<ErrorAnswerSpec>,
}

/// Where a provider goes in the catalog.
#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    /// What the provider is.
    pub kind: KindSpec,
    /// Where its users mostly are.
    pub region: RegionSpec,
}

/// The document a spec was checked against, fact by fact, and the day it was.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckedSpec {
    /// The document read: its `https://` URL (for a file of a repository, its URL at the commit
    /// read), or a path under `shared/seeds/` for a document a provider sent.
    pub against: String,
    /// The day it was read, `YYYY-MM-DD`.
    pub on: String,
    /// Who published the document, when not the provider (a copy kept by someone else, a
    /// community SDK): the catalog says plainly that the spec quotes a third party.
    #[serde(default)]
    pub third_party: Option<String>,
}

/// What a provider is, for grouping the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum KindSpec {
    /// Identity platforms and authorization servers.
    Identity,
    /// Banks and their APIs (Pix included).
    Banking,
    /// Open Finance and open banking ecosystems.
    OpenFinance,
    /// Payment gateways, processors and wallets.
    Payments,
    /// Commerce and marketplaces.
    Commerce,
    /// Shipping, freight and delivery.
    Logistics,
    /// ERP, accounting and invoicing.
    Erp,
    /// CRM, marketing and customer support.
    Crm,
    /// Messaging, voice and video.
    Communications,
    /// HR and payroll.
    Hr,
    /// Cloud platforms and developer tools.
    Cloud,
    /// Productivity, collaboration and business software.
    Productivity,
    /// Social networks and media.
    Social,
    /// Data, credit and analytics services.
    Data,
}

impl KindSpec {
    /// The heading the catalog groups it under.
    pub fn heading(self) -> &'static str {
        match self {
            KindSpec::Identity => "Identity platforms",
            KindSpec::Banking => "Banking",
            KindSpec::OpenFinance => "Open Finance",
            KindSpec::Payments => "Payments",
            KindSpec::Commerce => "Commerce",
            KindSpec::Logistics => "Logistics",
            KindSpec::Erp => "ERP and accounting",
            KindSpec::Crm => "CRM, marketing and support",
            KindSpec::Communications => "Communications",
            KindSpec::Hr => "HR and payroll",
            KindSpec::Cloud => "Cloud and developer platforms",
            KindSpec::Productivity => "Productivity",
            KindSpec::Social => "Social and media",
            KindSpec::Data => "Data and credit",
        }
    }
}

/// Where a provider's users mostly are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegionSpec {
    /// Brazil.
    Brazil,
    /// Worldwide.
    Global,
}

/// A base URL, written either as a plain string or with documentation.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum EnvironmentSpec {
    /// `production: https://api.example.com`
    Url(String),
    /// `production: { url: …, doc: … }`
    Detailed(EnvironmentDetail),
}

/// The long form of an environment.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EnvironmentDetail {
    /// Base URL, may contain `{placeholder}`s.
    pub url: String,
    /// What this environment is.
    #[serde(default)]
    pub doc: Option<String>,
    /// Whether this environment wants a client certificate (mutual TLS) on token requests and
    /// API calls.
    #[serde(default)]
    pub client_certificate: bool,
}

impl EnvironmentSpec {
    /// The base URL template.
    pub fn url(&self) -> &str {
        match self {
            EnvironmentSpec::Url(url) => url,
            EnvironmentSpec::Detailed(d) => &d.url,
        }
    }

    /// Whether the environment itself says it wants a client certificate.
    pub fn client_certificate(&self) -> bool {
        matches!(self, EnvironmentSpec::Detailed(d) if d.client_certificate)
    }

    /// The documentation line, if any.
    pub fn doc(&self) -> Option<&str> {
        match self {
            EnvironmentSpec::Url(_) => None,
            EnvironmentSpec::Detailed(d) => d.doc.as_deref(),
        }
    }
}

/// Retries of transient failures (connection errors, timeouts, 5xx, 429,
/// `temporarily_unavailable`), with capped exponential backoff and jitter.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included (default 3; 1 disables retries).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Wait before the first retry, in milliseconds (default 200).
    #[serde(default)]
    pub initial_backoff_ms: Option<u64>,
    /// Longest wait between attempts, in milliseconds (default 5000); also caps `Retry-After`.
    #[serde(default)]
    pub max_backoff_ms: Option<u64>,
}

/// How the provider's ID tokens are validated (OpenID Connect Core §3.1.3.7).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenIdSpec {
    /// The exact `iss` of its tokens; `{placeholders}` are filled like the environment's. Default:
    /// the base URL in use.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Signature algorithms accepted (`RS256`, `ES256`, `HS256` with the client secret, …).
    pub algorithms: Vec<String>,
    /// JWKS path under the issuer; found through discovery when absent.
    #[serde(default)]
    pub jwks_path: Option<String>,
    /// Authorization endpoint path under the issuer; found through discovery when absent.
    #[serde(default)]
    pub authorization_path: Option<String>,
    /// Clock skew tolerated on `exp` and `iat`, in seconds (default 60).
    #[serde(default)]
    pub leeway_secs: Option<u64>,
}

/// The authorization server users are sent to.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizationSpec {
    /// The authorization server's issuer identifier, whose metadata (RFC 8414, or OpenID
    /// discovery) names the endpoint; `{placeholders}` are filled like the environment's.
    /// Default: the base URL in use. With `openid:`, its issuer is this one.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Authorization endpoint path under the issuer; found in the server's metadata when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Push every authorization request first (RFC 9126, pushed authorization requests): the
    /// server receives the request from the client, authenticated as on the code exchange, and
    /// the user's browser carries only the `request_uri` it answers with. Default: false.
    #[serde(default)]
    pub par: bool,
    /// The pushed authorization request endpoint's path under the issuer; found in the
    /// server's metadata (`pushed_authorization_request_endpoint`) when absent. Needs `par`.
    #[serde(default)]
    pub par_path: Option<String>,
    /// Sign every authorization request (RFC 9101, JAR): its parameters travel as the claims
    /// of a JWT (`request`) signed with the client's key (or, with `HS256`, the client secret),
    /// `aud` the issuer unless `audience` says otherwise, pushed with `par` or else in the
    /// browser's URL.
    #[serde(default)]
    pub request_object: Option<GrantAssertionSpec>,
    /// How the provider answers: `jwt` for JWT-secured authorization responses (JARM), which
    /// the runtime verifies with the OpenID provider's keys (so it needs `openid:`). Default:
    /// the redirect's query.
    #[serde(default)]
    pub response_mode: Option<ResponseModeSpec>,
    /// What the redirect carries: `code` (the default), or `code id_token`, the OpenID Connect
    /// hybrid flow, whose ID token the runtime verifies against the code and state it comes
    /// with (`c_hash`, `s_hash`) before the code is used. Needs `openid:`.
    #[serde(default)]
    pub response_type: Option<ResponseTypeSpec>,
}

/// What an authorization response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ResponseTypeSpec {
    /// The code alone (`response_type=code`).
    #[serde(rename = "code")]
    Code,
    /// The code and an ID token (`response_type=code id_token`, OpenID Connect Core §3.3), in
    /// the redirect's fragment.
    #[serde(rename = "code id_token")]
    CodeIdToken,
}

/// How an authorization response comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResponseModeSpec {
    /// A JWT the provider signs (JARM, `response_mode=jwt`), with `code` and `state` inside.
    Jwt,
}

/// The token revocation endpoint (RFC 7009).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RevocationSpec {
    /// Path under the base URL; the `revocation_endpoint` of the server's metadata (RFC 8414,
    /// or OpenID discovery) when absent, which needs an `authorization:` or `openid:` section.
    #[serde(default)]
    pub path: Option<String>,
}

/// The device authorization endpoint (RFC 8628 §3.1).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceAuthorizationSpec {
    /// Path under the base URL; the `device_authorization_endpoint` of the server's metadata
    /// (RFC 8414, or OpenID discovery) when absent, which needs an `authorization:` or
    /// `openid:` section.
    #[serde(default)]
    pub path: Option<String>,
}

/// The header that carries the token on API calls.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiHeaderSpec {
    /// Header name (default `Authorization`).
    #[serde(default)]
    pub name: Option<String>,
    /// Header value with exactly one `{token}` (default `Bearer {token}`).
    #[serde(default)]
    pub value: Option<String>,
}

/// Where the client id and secret go.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientAuthSpec {
    /// Send `Authorization: Basic …`.
    #[serde(default)]
    pub basic: Option<BasicEncodingSpec>,
    /// Also (or instead) send the id and secret as parameters in these places.
    #[serde(default)]
    pub params: Vec<LocationSpec>,
    /// Parameter name of the client id (default `client_id`).
    #[serde(default)]
    pub id_param: Option<String>,
    /// Parameter name of the client secret (default `client_secret`).
    #[serde(default)]
    pub secret_param: Option<String>,
    /// Authenticate with a signed client assertion (RFC 7523) instead of sending the secret:
    /// `client_secret_jwt` (signed with the secret) or `private_key_jwt` (the client's key).
    #[serde(default)]
    pub assertion: Option<AssertionSpec>,
    /// The assertion's JWS algorithm: `HS256` for `client_secret_jwt` (the default);
    /// `RS256` (the default), `PS256` or `ES256` for `private_key_jwt`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The assertion's `aud` claim (default: the URL of the token endpoint), for providers
    /// that want another; `{issuer}` is the authorization server's issuer (the OpenID or
    /// `authorization:` issuer, else the base URL), as FAPI 2.0 wants.
    #[serde(default)]
    pub audience: Option<String>,
    /// The client certificate authenticates the client (RFC 8705 §2) and only its id is sent:
    /// `tls_client_auth` (a certificate from a CA the provider trusts) or
    /// `self_signed_tls_client_auth` (one registered with the provider).
    #[serde(default)]
    pub certificate: Option<CertificateAuthSpec>,
}

/// How a client certificate authenticates the client (RFC 8705 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CertificateAuthSpec {
    /// PKI: the provider checks the certificate's subject (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed certificate registered with the provider (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl CertificateAuthSpec {
    /// The method's name, as specs and RFC 8705 write it.
    pub fn name(self) -> &'static str {
        match self {
            CertificateAuthSpec::TlsClientAuth => "tls_client_auth",
            CertificateAuthSpec::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }
}

/// A signed client assertion (RFC 7523 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssertionSpec {
    /// Signed with the client secret (HS256).
    ClientSecretJwt,
    /// Signed with the client's private key, given to the builder at run time.
    PrivateKeyJwt,
    /// Issued by another identity provider for this client (workload identity federation:
    /// Entra ID's federated credentials take a Kubernetes projected service-account token or
    /// a CI job's OIDC token): the platform writes it to a file, which the builder's
    /// `client_assertion_file` names and every request reads. Nothing is signed here.
    Federated,
}

/// One client authentication method, or several the builder chooses from.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ClientAuthChoice {
    /// `client_auth: { basic: percent }`
    One(ClientAuthSpec),
    /// `client_auth: [ { basic: percent }, { params: [body] } ]`
    Several(Vec<ClientAuthSpec>),
}

impl ClientAuthChoice {
    /// The methods, in spec order.
    pub fn methods(&self) -> &[ClientAuthSpec] {
        match self {
            ClientAuthChoice::One(one) => std::slice::from_ref(one),
            ClientAuthChoice::Several(several) => several,
        }
    }
}

/// How the Basic header encodes the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BasicEncodingSpec {
    /// `base64(id:secret)`, as most providers expect.
    Raw,
    /// `base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1 says (form-urlencoding:
    /// a space becomes `+`).
    Rfc6749,
    /// `base64(pct(id):pct(secret))`: everything outside RFC 3986's unreserved set
    /// percent-encoded, a space as `%20`. Every server decodes it the same way; the choice for
    /// standard OAuth servers.
    Percent,
}

impl BasicEncodingSpec {
    /// Every encoding, in the order `try --probe` sends them.
    pub const ALL: [Self; 3] = [Self::Percent, Self::Rfc6749, Self::Raw];

    /// The name a spec writes (`basic: percent`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Rfc6749 => "rfc6749",
            Self::Percent => "percent",
        }
    }
}

/// Where a parameter goes in the token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LocationSpec {
    /// The URL's query string.
    Query,
    /// The request body, encoded as the flow's `body` says.
    Body,
    /// A claim of the JWT the client signs for a `jwt_bearer` flow (its `scope`, a `sub`, a
    /// fixed claim), not a parameter of the request.
    Assertion,
    /// An HTTP header of the token request, named as the parameter (an API key header, a
    /// gateway's `client_id` header). Kept out of HTTP logs like every credential.
    Header,
}

/// What a flow does, which decides the generated method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantSpec {
    /// The client's own token: cached, renewed, behind `access_token()`.
    ClientCredentials,
    /// Exchanges an authorization code for tokens, per call.
    AuthorizationCode,
    /// Exchanges a refresh token for new tokens, per call.
    RefreshToken,
    /// The device authorization grant (RFC 8628): polls with the `device_code` of a device
    /// authorization until the user approves it on another device; its answer starts a
    /// session. Needs `device_authorization:`.
    DeviceCode,
    /// The JWT-bearer grant (RFC 7523 §2.1): a JWT the client signs with its key (or secret)
    /// is the grant, sent as `assertion`; cached like `client_credentials` when it takes no
    /// per-call parameters. See the flow's `assertion:`.
    JwtBearer,
    /// Anything else; cached when it takes no per-call parameters.
    Custom,
}

/// How the request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodySpec {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json`.
    Json,
    /// `multipart/form-data`: each parameter a text part.
    Multipart,
    /// No body.
    None,
}

/// HTTP method of a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum MethodSpec {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
}

/// One token request.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// What the flow does.
    pub grant: GrantSpec,
    /// One line for the generated method's documentation.
    #[serde(default)]
    pub doc: Option<String>,
    /// HTTP method (default POST).
    #[serde(default)]
    pub method: Option<MethodSpec>,
    /// Path appended to the environment's base URL; absent: the token endpoint the
    /// authorization server's metadata names (its mutual-TLS alias for a client that sends a
    /// certificate, RFC 8705 §5), which needs `openid:` or `authorization:`.
    #[serde(default)]
    pub path: Option<String>,
    /// Body encoding (default `form`).
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// Overrides the provider-wide `client_auth`.
    #[serde(default)]
    pub client_auth: Option<ClientAuthSpec>,
    /// Parameters sent with the request, keyed by their name on the wire.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Where the answer's fields are.
    #[serde(default)]
    pub response: Option<ResponseSpec>,
    /// Where the token's lifetime comes from.
    #[serde(with = "serde_yaml::with::singleton_map")]
    #[cfg_attr(feature = "schema", schemars(with = "ExpirySpec"))]
    pub expiry: ExpirySpec,
    /// For `grant: jwt_bearer`: how the JWT that is the grant is signed, its audience and lifetime
    /// (its claims beyond `iss`, `sub`, `aud`, `iat` and `exp` are the parameters placed
    /// `in: assertion`).
    #[serde(default)]
    pub assertion: Option<GrantAssertionSpec>,
    /// On the cached flow: the `refresh_token` flow that renews the token while the client holds
    /// a refresh token from an earlier answer; if the provider refuses it, this flow runs again.
    #[serde(default)]
    pub renew_with: Option<String>,
}

/// The JWT of a `jwt_bearer` flow (RFC 7523 §2.1, claims per §3).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GrantAssertionSpec {
    /// The JWS algorithm: `RS256` (the default), `PS256` or `ES256`, signed with the builder's
    /// `client_key`; or `HS256`, signed with the client secret.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The `aud` claim (default: the URL of the token endpoint; `{issuer}`: the authorization
    /// server's issuer).
    #[serde(default)]
    pub audience: Option<String>,
    /// Seconds from `iat` to `exp` (default 60; many providers refuse more than 3600).
    #[serde(default)]
    pub lifetime: Option<u64>,
}

/// A parameter of a token request.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Where it goes (default: the body, or the query when the flow has no body).
    #[serde(rename = "in", default)]
    pub location: Option<LocationSpec>,
    /// A fixed value sent on every request; the caller never supplies it.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<ScalarSchema>"))]
    pub value: Option<serde_yaml::Value>,
    /// Who supplies it: the builder (`config`, default) or each call (`call`).
    #[serde(default)]
    pub from: Option<SourceSpec>,
    /// Its type (default `string`).
    #[serde(rename = "type", default)]
    pub ty: Option<ParamTypeSpec>,
    /// Value used when the caller supplies none (for a `set`: a list of values, or `all`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DefaultSchema>"))]
    pub default: Option<serde_yaml::Value>,
    /// Whether it must be present (default: yes, unless it has a default).
    #[serde(default)]
    pub required: Option<bool>,
    /// Separator that joins the values of a `set` (default one space).
    #[serde(default)]
    pub separator: Option<String>,
    /// Name of the Rust setter or argument, when the wire name reads badly in Rust.
    #[serde(default)]
    pub rust_name: Option<String>,
    /// Name of the generated enum for `enum` and `set` types.
    #[serde(default)]
    pub type_name: Option<String>,
    /// One line for the generated documentation.
    #[serde(default)]
    pub doc: Option<String>,
}

/// Who supplies a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceSpec {
    /// Set once on the client builder.
    Config,
    /// An argument of every call to the flow's method.
    Call,
}

/// The type of a parameter.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ParamTypeSpec {
    /// `string`, `integer`, `boolean` or `secret`.
    Scalar(ScalarTypeSpec),
    /// `{ enum: [a, b] }`: exactly one of the listed values.
    Enum {
        /// The allowed values.
        #[serde(rename = "enum")]
        values: Vec<String>,
    },
    /// `{ set: [a, b] }`: any subset, joined by `separator`.
    Set {
        /// The allowed values.
        set: Vec<String>,
    },
}

/// The scalar parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScalarTypeSpec {
    /// Any text.
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Text that is never printed (codes, refresh tokens, assertions).
    Secret,
    /// A secret the builder takes as a file's path and reads at every token request that
    /// sends it: a token the platform rotates on disk (a Kubernetes projected service-account
    /// token, a CI job's OIDC token). Builder settings only.
    SecretFile,
}

/// Where the fields of a token response are. Each value is a dot-separated path.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// Path of the access token (default `access_token`), or a list of paths tried in order
    /// (the first the answer has is the token) for a provider whose documentation does not
    /// settle the name.
    #[serde(default)]
    pub access_token: Option<Paths>,
    /// Path of the token type.
    #[serde(default)]
    pub token_type: Option<Paths>,
    /// Path of the refresh token.
    #[serde(default)]
    pub refresh_token: Option<Paths>,
    /// Path of the OpenID Connect ID token.
    #[serde(default)]
    pub id_token: Option<Paths>,
    /// Path of the granted scope.
    #[serde(default)]
    pub scope: Option<Paths>,
    /// Provider-specific fields, keyed by their Rust field name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
}

/// Where a value of the answer may be: one path, or several tried in order (the first the
/// answer has wins), for a provider whose documentation does not settle the name.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Paths {
    /// The one path (`data.token`).
    One(String),
    /// Paths tried in order (`[access_token, token]`).
    Several(Vec<String>),
}

impl Paths {
    /// The paths, in the order they are tried.
    pub fn paths(&self) -> Vec<String> {
        match self {
            Paths::One(p) => vec![p.clone()],
            Paths::Several(ps) => ps.clone(),
        }
    }
}

/// How a provider's error answers read.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorAnswerSpec {
    /// Path of the error code (default `error`), e.g. `error.code` or `errors.0.code`.
    #[serde(default)]
    pub code: Option<String>,
    /// Path of the message (default `error_description`), e.g. `error.message`.
    #[serde(default)]
    pub message: Option<String>,
    /// A successful (2xx) answer with this value at this path is an error, e.g.
    /// `{ path: ok, equals: false }`.
    #[serde(default)]
    pub failed_when: Option<FailedWhenSpec>,
}

/// A value that marks a successful answer as an error.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FailedWhenSpec {
    /// Path of the field.
    pub path: String,
    /// The value that means failure: text, a whole number or a boolean.
    #[cfg_attr(feature = "schema", schemars(with = "ScalarSchema"))]
    pub equals: serde_yaml::Value,
}

/// A provider-specific response field.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Dot-separated path in the response body, or a list of paths tried in order.
    pub path: Paths,
    /// Its type (default `string`).
    #[serde(rename = "type", default)]
    pub ty: Option<FieldTypeSpec>,
    /// Whether a response without it is an error (default false).
    #[serde(default)]
    pub required: bool,
    /// One line for the generated documentation.
    #[serde(default)]
    pub doc: Option<String>,
}

/// Types of provider-specific response fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldTypeSpec {
    /// Text.
    String,
    /// Text that is never printed.
    Secret,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value, kept as is.
    Json,
}

/// Where a token's lifetime comes from. Exactly one key.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpirySpec {
    /// Seconds from now, as a number or a numeric string.
    ExpiresIn(ExpiresInSpec),
    /// An absolute time.
    At(AtSpec),
    /// The `exp` claim of a JWT found at this path.
    JwtExp(String),
    /// A fixed number of seconds, for providers that say nothing.
    Lifetime(u64),
    /// The token does not expire (`expiry: never`): it is kept until an API refuses it
    /// (`401`), then fetched again. For providers that send no expiry and document none.
    Never,
}

/// `expires_in` in its short (`expires_in: path`) or long form.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ExpiresInSpec {
    /// Just the path.
    Path(String),
    /// Path and what to assume when it is absent.
    Detailed(ExpiresInDetail),
}

/// The long form of `expires_in`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExpiresInDetail {
    /// Dot-separated path of the field.
    pub path: String,
    /// Lifetime in seconds to assume when the field is absent (default: absent is an error).
    #[serde(default)]
    pub when_absent: Option<u64>,
}

/// An absolute expiry time.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AtSpec {
    /// Dot-separated path of the field.
    pub path: String,
    /// How the time is written.
    pub format: TimeFormatSpec,
}

/// How an absolute time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeFormatSpec {
    /// `2026-11-23T17:00:00Z`.
    Rfc3339,
    /// Seconds since 1970.
    EpochSeconds,
    /// Milliseconds since 1970.
    EpochMillis,
}

/// An error response the provider documents.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct KnownErrorSpec {
    /// Variant name in the generated error enum (UpperCamelCase).
    pub name: String,
    /// Matches when the body carries this exact message (in any JSON string, or as its text).
    #[serde(default)]
    pub message: Option<String>,
    /// Matches the RFC 6749 `error` code.
    #[serde(default)]
    pub code: Option<String>,
    /// Only matches responses with this HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// What the error means and what to do, for the generated docs.
    #[serde(default)]
    pub doc: Option<String>,
}

/// What a fixed parameter value may be (for the JSON Schema only).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ScalarSchema {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
}

/// What a parameter default may be (for the JSON Schema only).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum DefaultSchema {
    /// A scalar.
    Scalar(ScalarSchema),
    /// Values of a set.
    List(Vec<String>),
}
