//! The checked model of a provider that emitters work from.
//!
//! Everything here has passed validation: names are valid Rust identifiers that do not collide,
//! references resolve, and every value has the type its parameter declares. Each item keeps the
//! name the spec used next to its Rust name, so generated docs can quote the wire format.

pub use crate::spec::{BasicEncodingSpec as BasicEncoding, BodySpec as Body, GrantSpec as Grant};
pub use crate::spec::{FieldTypeSpec as FieldType, TimeFormatSpec as TimeFormat};
pub use crate::spec::{LocationSpec as Location, MethodSpec as Method};

/// The document a spec was checked against.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its URL, or its `shared/seeds/` path.
    pub against: String,
    /// The day it was read, `YYYY-MM-DD`.
    pub on: String,
    /// Who published it, when not the provider.
    pub third_party: Option<String>,
}

/// One provider, ready to emit.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Spec file as shown to users, relative to the crate (`specs/bs2.yaml`).
    pub file: String,
    /// Module name (a Rust identifier).
    pub module: String,
    /// Human name.
    pub title: String,
    /// Link to the provider's documentation.
    pub docs: Option<String>,
    /// Module documentation.
    pub description: Option<String>,
    /// Where the provider goes in the catalog.
    pub catalog: Option<crate::spec::CatalogSpec>,
    /// The document the spec was checked against, and when.
    pub checked: Option<Checked>,
    /// Base URLs.
    pub environments: Vec<Environment>,
    /// Index into `environments` used when the caller picks none.
    pub default_environment: Option<usize>,
    /// Whether `http://` base URLs are accepted.
    pub allow_insecure_http: bool,
    /// Seconds before expiry at which renewal starts.
    pub refresh_margin: u64,
    /// ID-token validation, if the provider uses OpenID Connect.
    pub openid: Option<OpenId>,
    /// The authorization server users are sent to, if the spec declares one.
    pub authorization: Option<Authorization>,
    /// The token revocation endpoint: `Some(None)` when the server's metadata names it.
    pub revocation: Option<Option<String>>,
    /// The device authorization endpoint (RFC 8628): `Some(None)` when the server's metadata
    /// names it.
    pub device_authorization: Option<Option<String>>,
    /// The client authentication methods the builder chooses from, when the spec lists several
    /// (flows without their own `client_auth` use the first unless the builder says otherwise).
    pub client_auth_choices: Vec<ClientAuth>,
    /// Retry defaults: (attempts, initial backoff ms, max backoff ms).
    pub retry: (u32, u64, u64),
    /// Whether tokens are DPoP-bound (RFC 9449).
    pub dpop: bool,
    /// Header used on API calls.
    pub api_header: ApiHeader,
    /// Other headers every API call carries: fixed, or builder settings (`location` is
    /// always `Header`).
    pub api_headers: Vec<Param>,
    /// Token requests.
    pub flows: Vec<Flow>,
    /// Index of the flow behind `access_token()`.
    pub cached_flow: Option<usize>,
    /// The refresh-token flow the cached token renews through, if the spec says so.
    pub renew_with: Option<usize>,
    /// Parameters set once on the builder.
    pub config_params: Vec<ConfigParam>,
    /// Enums generated for `enum` and `set` parameters.
    pub enums: Vec<EnumType>,
    /// Documented error responses.
    pub errors: Vec<KnownError>,
    /// How error answers read.
    pub error_answer: ErrorAnswer,
}

/// OpenID Connect settings.
#[derive(Debug, Clone)]
pub struct OpenId {
    /// Issuer template; `None` means the base URL in use.
    pub issuer: Option<String>,
    /// Allowed algorithms.
    pub algorithms: Vec<String>,
    /// JWKS path under the issuer.
    pub jwks_path: Option<String>,
    /// Authorization endpoint path under the issuer.
    pub authorization_path: Option<String>,
    /// Leeway in seconds.
    pub leeway_secs: u64,
}

impl OpenId {
    /// Whether the issuer is a URL (or the base URL), whose metadata says where users log in;
    /// an issuer that is a name (`fanbase`) says nothing.
    pub fn issuer_is_url(&self) -> bool {
        self.issuer.as_deref().is_none_or(|i| i.contains("://"))
    }
}

/// The authorization server users are sent to.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// Issuer template; `None` means the OpenID issuer, else the base URL in use.
    pub issuer: Option<String>,
    /// Authorization endpoint path under the issuer; from the server's metadata when `None`.
    pub path: Option<String>,
    /// Pushed authorization requests (RFC 9126): `Some` with the endpoint's path under the
    /// issuer, or `Some(None)` to find it in the server's metadata.
    pub par: Option<Option<String>>,
    /// Signed request objects (RFC 9101): how each authorization request is signed.
    pub request_object: Option<GrantAssertion>,
    /// JWT-secured authorization responses (JARM).
    pub jwt_response: bool,
    /// Hybrid responses (`response_type=code id_token`).
    pub hybrid: bool,
}

impl ClientAuth {
    /// No client authentication: a JWT-bearer grant whose assertion is the only proof.
    pub fn none() -> Self {
        ClientAuth {
            basic: None,
            params: Vec::new(),
            id_param: "client_id".into(),
            secret_param: "client_secret".into(),
            assertion: None,
            certificate: None,
        }
    }

    /// Whether the method sends no credentials at all.
    pub fn is_none(&self) -> bool {
        self.basic.is_none()
            && self.params.is_empty()
            && self.assertion.is_none()
            && self.certificate.is_none()
    }

    /// The method a spec's `client_auth` mapping describes (the spec's defaults filled in).
    pub fn from_spec(spec: &crate::spec::ClientAuthSpec) -> Self {
        let mut params = spec.params.clone();
        params.sort();
        params.dedup();
        ClientAuth {
            basic: spec.basic,
            params,
            id_param: spec.id_param.clone().unwrap_or_else(|| "client_id".into()),
            secret_param: spec
                .secret_param
                .clone()
                .unwrap_or_else(|| "client_secret".into()),
            assertion: spec.assertion.map(|kind| {
                let default = match kind {
                    crate::spec::AssertionSpec::ClientSecretJwt => "HS256",
                    crate::spec::AssertionSpec::PrivateKeyJwt => "RS256",
                    // Its issuer signs it; the descriptor names no algorithm.
                    crate::spec::AssertionSpec::Federated => "",
                };
                (
                    kind,
                    spec.algorithm.clone().unwrap_or_else(|| default.into()),
                    spec.audience.clone(),
                )
            }),
            certificate: spec.certificate,
        }
    }

    /// The name of the method, after OAuth's `token_endpoint_auth_method` values:
    /// `ClientSecretBasic` (the Basic header), `ClientSecretPost` (the form body),
    /// `ClientSecretQuery`, or the places joined (`ClientSecretBasicAndPost`).
    pub fn method_name(&self) -> String {
        match &self.assertion {
            Some((crate::spec::AssertionSpec::ClientSecretJwt, ..)) => {
                return "ClientSecretJwt".into();
            }
            Some((crate::spec::AssertionSpec::PrivateKeyJwt, ..)) => return "PrivateKeyJwt".into(),
            Some((crate::spec::AssertionSpec::Federated, ..)) => {
                return "FederatedAssertion".into();
            }
            None => {}
        }
        match self.certificate {
            Some(crate::spec::CertificateAuthSpec::TlsClientAuth) => {
                return "TlsClientAuth".into();
            }
            Some(crate::spec::CertificateAuthSpec::SelfSignedTlsClientAuth) => {
                return "SelfSignedTlsClientAuth".into();
            }
            None => {}
        }
        let mut places = Vec::new();
        if self.basic.is_some() {
            places.push("Basic");
        }
        if self.params.contains(&Location::Body) {
            places.push("Post");
        }
        if self.params.contains(&Location::Query) {
            places.push("Query");
        }
        format!("ClientSecret{}", places.join("And"))
    }

    /// The method's name in the descriptor, by which a builder chooses it: RFC 7591's name where
    /// it has one (`client_secret_basic`, `private_key_jwt`, `tls_client_auth`, `none`), else
    /// [`ClientAuth::method_name`] in snake case (`client_secret_basic_and_post`).
    pub fn wire_name(&self) -> String {
        let name = self.method_name();
        if name == "ClientSecret" {
            return "none".to_owned();
        }
        heck::ToSnakeCase::to_snake_case(name.as_str())
    }
}

/// A named base URL.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Name in the spec.
    pub name: String,
    /// Enum variant.
    pub variant: String,
    /// URL template.
    pub url: String,
    /// Documentation line.
    pub doc: Option<String>,
    /// `{placeholder}`s in order of appearance, as (spec name, field ident).
    pub placeholders: Vec<(String, String)>,
    /// Whether it wants a client certificate (mutual TLS).
    pub client_certificate: bool,
}

/// `name: prefix{token}suffix`.
#[derive(Debug, Clone)]
pub struct ApiHeader {
    /// Header name.
    pub name: String,
    /// Text before the token.
    pub prefix: String,
    /// Text after the token.
    pub suffix: String,
}

/// One token request.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Name in the spec.
    pub name: String,
    /// Method name for per-call flows (snake_case).
    pub method_ident: String,
    /// Prefix of the flow's types (UpperCamelCase).
    pub type_prefix: String,
    /// What it does.
    pub grant: Grant,
    /// Documentation line.
    pub doc: Option<String>,
    /// HTTP method.
    pub method: Method,
    /// Path after the base URL; `None`: the token endpoint in the server's metadata.
    pub path: Option<String>,
    /// Body encoding.
    pub body: Body,
    /// Where the client credentials go.
    pub client_auth: ClientAuth,
    /// Parameters, in wire-name order.
    pub params: Vec<Param>,
    /// Per-call arguments of the generated method, in spec order.
    pub call_params: Vec<CallParam>,
    /// Where the answer's fields are.
    pub response: Response,
    /// Where the lifetime comes from.
    pub expiry: Expiry,
    /// Whether this is the client's own cached token.
    pub cached: bool,
    /// For a JWT-bearer grant: the JWT the client signs.
    pub assertion: Option<GrantAssertion>,
}

impl Flow {
    /// Where its requests go, as docs show it: the path, or where the runtime finds the
    /// endpoint.
    pub fn shown_path(&self) -> &str {
        self.path
            .as_deref()
            .unwrap_or("<token endpoint from the server's metadata>")
    }
}

/// The JWT a JWT-bearer flow signs (RFC 7523 §2.1).
#[derive(Debug, Clone)]
pub struct GrantAssertion {
    /// JWS algorithm; `HS256` signs with the client secret, the others with the client's key.
    pub algorithm: String,
    /// The `aud` claim; `None`: the token endpoint's URL.
    pub audience: Option<String>,
    /// Seconds from `iat` to `exp`.
    pub lifetime: u64,
}

impl GrantAssertion {
    /// Whether the client's key signs it (else the client secret).
    pub fn signs_with_key(&self) -> bool {
        self.algorithm != "HS256"
    }
}

/// Client authentication of one flow.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// Basic header, if any.
    pub basic: Option<BasicEncoding>,
    /// Places where id and secret are also sent as parameters.
    pub params: Vec<Location>,
    /// Wire name of the client id parameter.
    pub id_param: String,
    /// Wire name of the client secret parameter.
    pub secret_param: String,
    /// A signed client assertion instead: what signs it, its algorithm and audience.
    pub assertion: Option<(crate::spec::AssertionSpec, String, Option<String>)>,
    /// The client certificate authenticates instead (RFC 8705): only the id is sent.
    pub certificate: Option<crate::spec::CertificateAuthSpec>,
}

/// A parameter on the wire.
#[derive(Debug, Clone)]
pub struct Param {
    /// Wire name.
    pub wire: String,
    /// Where it goes.
    pub location: Location,
    /// Where its value comes from.
    pub source: ParamSource,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone)]
pub enum ParamSource {
    /// Always the same.
    Fixed(Literal),
    /// A builder field: index into `Provider::config_params`.
    Config(usize),
    /// A method argument: index into `Flow::call_params`.
    Call(usize),
}

/// A literal value from the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text.
    Str(String),
    /// Whole number.
    Int(i64),
    /// Boolean.
    Bool(bool),
}

/// The type of a parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    /// Text.
    String,
    /// Whole number.
    Integer,
    /// Boolean.
    Boolean,
    /// Secret text.
    Secret,
    /// A secret read from a file (the builder takes its path) at every request.
    SecretFile,
    /// One value of `Provider::enums[i]`.
    Enum(usize),
    /// Several values of `Provider::enums[i]`, joined by the separator.
    Set(usize, String),
}

/// A default value of a builder parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Default {
    /// A scalar.
    Literal(Literal),
    /// One enum value (index into its values).
    Enum(usize),
    /// Several enum values.
    Set(Vec<usize>),
}

/// A parameter set once on the builder.
#[derive(Debug, Clone)]
pub struct ConfigParam {
    /// Wire name (for docs).
    pub wire: String,
    /// Setter name.
    pub ident: String,
    /// Its type.
    pub ty: ParamType,
    /// Value when the caller sets none.
    pub default: Option<Default>,
    /// Whether `build()` fails without it.
    pub required: bool,
    /// Documentation line.
    pub doc: Option<String>,
}

/// A per-call argument.
#[derive(Debug, Clone)]
pub struct CallParam {
    /// Wire name (for docs).
    pub wire: String,
    /// Argument name.
    pub ident: String,
    /// Its type.
    pub ty: ParamType,
    /// Whether the argument is an `Option`.
    pub required: bool,
    /// Documentation line.
    pub doc: Option<String>,
}

/// A generated enum.
#[derive(Debug, Clone)]
pub struct EnumType {
    /// Type name.
    pub ident: String,
    /// Wire name of the parameter it types.
    pub param: String,
    /// (wire value, variant).
    pub values: Vec<(String, String)>,
    /// Documentation line.
    pub doc: Option<String>,
}

/// Where the answer's fields are.
#[derive(Debug, Clone)]
pub struct Response {
    /// Where the access token may be: each path split on dots, tried in order.
    pub access_token: Vec<Vec<String>>,
    /// Every other field read, standard ones first.
    pub fields: Vec<Field>,
}

/// A response field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Rust field name.
    pub ident: String,
    /// Key in the flattened map the runtime builds (the ident without `r#`).
    pub key: String,
    /// Where it may be in the body: paths tried in order (empty for derived fields).
    pub paths: Vec<Vec<String>>,
    /// Its type.
    pub ty: FieldType,
    /// The runtime type standard fields get, as a path under `::tokenspec` (`RefreshToken`,
    /// `IdToken`, `oidc::IdTokenClaims`).
    pub secret_kind: Option<&'static str>,
    /// Filled by the runtime (validated ID-token claims), not read from the body.
    pub derived: bool,
    /// Whether a response without it is an error.
    pub required: bool,
    /// Documentation line.
    pub doc: String,
}

/// Where the lifetime comes from.
#[derive(Debug, Clone)]
pub enum Expiry {
    /// Seconds, at a path.
    ExpiresIn {
        /// Path.
        path: Vec<String>,
        /// Lifetime when absent.
        when_absent: Option<u64>,
    },
    /// Absolute time at a path.
    At {
        /// Path.
        path: Vec<String>,
        /// Format.
        format: TimeFormat,
    },
    /// JWT `exp` of the token at a path.
    JwtExp {
        /// Path.
        path: Vec<String>,
    },
    /// No expiry: kept until an API refuses it.
    Never,
    /// Fixed seconds.
    Lifetime(u64),
}

/// A documented error response.
#[derive(Debug, Clone)]
pub struct KnownError {
    /// Variant name.
    pub variant: String,
    /// Exact message to match.
    pub message: Option<String>,
    /// RFC 6749 code to match.
    pub code: Option<String>,
    /// Status to match.
    pub status: Option<u16>,
    /// Documentation.
    pub doc: Option<String>,
}

/// Where error answers keep their code and message (`None`: where RFC 6749 puts them), and the
/// value that makes a successful answer an error.
#[derive(Debug, Clone, Default)]
pub struct ErrorAnswer {
    /// Path of the error code.
    pub code: Option<Vec<String>>,
    /// Path of the message.
    pub message: Option<Vec<String>>,
    /// Path and value of a failure inside a 2xx answer.
    pub failed_when: Option<(Vec<String>, Literal)>,
}
