//! The one way a checked spec becomes the runtime's descriptor. `generate` writes the value as
//! data into the module (`emit`), and `try` drives the runtime with the value itself (`live`), so
//! the two cannot disagree; a new descriptor field is written here once.
//!
//! The runtime's descriptor borrows `'static` data, as the runtime's own reading of a module's
//! data does; a generator run makes one per spec, and a command-line run one per invocation, so
//! leaking it is the honest lifetime.

use tokenspec_descriptor as d;

use crate::ir;

/// How long a client assertion is valid: short, as RFC 7523 §3 advises, with room for the
/// request's retries.
const CLIENT_ASSERTION_LIFETIME: u64 = 60;

fn text(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn option_text(s: Option<&String>) -> Option<&'static str> {
    s.map(|s| text(s))
}

fn slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn path(p: &[String]) -> &'static [&'static str] {
    slice(p.iter().map(|s| text(s)).collect())
}

fn paths(ps: &[Vec<String>]) -> &'static [&'static [&'static str]] {
    slice(ps.iter().map(|p| path(p)).collect())
}

fn location(l: ir::Location) -> d::Location {
    match l {
        ir::Location::Query => d::Location::Query,
        ir::Location::Body => d::Location::Body,
        ir::Location::Assertion => d::Location::Assertion,
        ir::Location::Header => d::Location::Header,
    }
}

fn literal(l: &ir::Literal) -> d::Literal {
    match l {
        ir::Literal::Str(s) => d::Literal::Text(text(s)),
        ir::Literal::Int(i) => d::Literal::Integer(*i),
        ir::Literal::Bool(b) => d::Literal::Boolean(*b),
    }
}

fn param(p: &ir::Param) -> d::Param {
    d::Param {
        name: text(&p.wire),
        location: location(p.location),
        source: match &p.source {
            ir::ParamSource::Fixed(l) => d::Source::Fixed(literal(l)),
            ir::ParamSource::Config(i) => d::Source::Config(*i),
            ir::ParamSource::Call(i) => d::Source::Call(*i),
        },
    }
}

fn slot(ident: &str, required: bool) -> d::Slot {
    d::Slot {
        name: text(ident.trim_start_matches("r#")),
        required,
    }
}

/// The audience that stands for the authorization server's issuer.
const ISSUER: &str = "{issuer}";

/// What signs a JWT the client makes itself: its key, or its secret.
fn signer(a: &ir::GrantAssertion) -> d::Signer {
    if a.signs_with_key() {
        d::Signer::PrivateKey
    } else {
        d::Signer::ClientSecret
    }
}

fn assertion(
    signer: d::Signer,
    algorithm: &str,
    audience: Option<&String>,
    lifetime: u64,
) -> d::Assertion {
    d::Assertion {
        signer,
        algorithm: text(algorithm),
        audience: option_text(audience),
        lifetime_secs: lifetime,
    }
}

/// The runtime's name for a Basic encoding.
pub fn basic_encoding(b: ir::BasicEncoding) -> d::BasicEncoding {
    match b {
        ir::BasicEncoding::Raw => d::BasicEncoding::Raw,
        ir::BasicEncoding::Rfc6749 => d::BasicEncoding::Rfc6749,
        ir::BasicEncoding::Percent => d::BasicEncoding::Percent,
    }
}

fn client_auth(a: &ir::ClientAuth) -> d::ClientAuth {
    d::ClientAuth {
        name: text(&a.wire_name()),
        basic: a.basic.map(basic_encoding),
        params: slice(a.params.iter().map(|l| location(*l)).collect()),
        id_param: text(&a.id_param),
        secret_param: text(&a.secret_param),
        assertion: a.assertion.as_ref().map(|(kind, algorithm, audience)| {
            assertion(
                match kind {
                    crate::spec::AssertionSpec::ClientSecretJwt => d::Signer::ClientSecret,
                    crate::spec::AssertionSpec::PrivateKeyJwt => d::Signer::PrivateKey,
                    crate::spec::AssertionSpec::Federated => d::Signer::Federated,
                },
                algorithm,
                audience.as_ref(),
                CLIENT_ASSERTION_LIFETIME,
            )
        }),
        certificate: a.certificate.is_some(),
    }
}

fn flow(f: &ir::Flow) -> d::Flow {
    let grant = match f.grant {
        ir::Grant::ClientCredentials => d::Grant::ClientCredentials,
        ir::Grant::AuthorizationCode => d::Grant::AuthorizationCode,
        ir::Grant::RefreshToken => d::Grant::RefreshToken,
        ir::Grant::DeviceCode => d::Grant::DeviceCode,
        ir::Grant::Custom => d::Grant::Custom,
        ir::Grant::JwtBearer => match &f.assertion {
            Some(a) => d::Grant::JwtBearer(assertion(
                signer(a),
                &a.algorithm,
                a.audience.as_ref(),
                a.lifetime,
            )),
            // Validation gives every JWT-bearer flow its assertion; a flow without one sends
            // what a custom grant would.
            None => d::Grant::Custom,
        },
    };
    d::Flow {
        name: text(&f.name),
        grant,
        method: match f.method {
            ir::Method::Get => d::Method::Get,
            ir::Method::Post => d::Method::Post,
            ir::Method::Put => d::Method::Put,
        },
        path: option_text(f.path.as_ref()),
        body: match f.body {
            ir::Body::Form => d::Body::Form,
            ir::Body::Json => d::Body::Json,
            ir::Body::Multipart => d::Body::Multipart,
            ir::Body::None => d::Body::None,
        },
        client_auth: client_auth(&f.client_auth),
        params: slice(f.params.iter().map(param).collect()),
        call_params: slice(
            f.call_params
                .iter()
                .map(|c| slot(&c.ident, c.required))
                .collect(),
        ),
        access_token: paths(&f.response.access_token),
        fields: slice(
            f.response
                .fields
                .iter()
                .filter(|x| !x.derived)
                .map(|x| d::Field {
                    key: text(&x.key),
                    paths: paths(&x.paths),
                    kind: match x.ty {
                        ir::FieldType::String => d::FieldKind::Text,
                        ir::FieldType::Secret => d::FieldKind::Secret,
                        ir::FieldType::Integer => d::FieldKind::Integer,
                        ir::FieldType::Number => d::FieldKind::Number,
                        ir::FieldType::Boolean => d::FieldKind::Boolean,
                        ir::FieldType::Json => d::FieldKind::Json,
                    },
                    required: x.required,
                })
                .collect(),
        ),
        expiry: match &f.expiry {
            ir::Expiry::ExpiresIn {
                path: p,
                when_absent,
            } => d::Expiry::ExpiresIn {
                path: path(p),
                when_absent: *when_absent,
            },
            ir::Expiry::At { path: p, format } => d::Expiry::At {
                path: path(p),
                format: match format {
                    ir::TimeFormat::Rfc3339 => d::TimeFormat::Rfc3339,
                    ir::TimeFormat::EpochSeconds => d::TimeFormat::EpochSeconds,
                    ir::TimeFormat::EpochMillis => d::TimeFormat::EpochMillis,
                },
            },
            ir::Expiry::JwtExp { path: p } => d::Expiry::JwtExp { path: path(p) },
            ir::Expiry::Lifetime(secs) => d::Expiry::Lifetime(*secs),
            ir::Expiry::Never => d::Expiry::Never,
        },
    }
}

/// The runtime descriptor of `p`: what its generated module holds as data, and what `try` runs.
pub fn descriptor(p: &ir::Provider) -> &'static d::Provider {
    let (attempts, initial, max) = p.retry;
    let e = &p.error_answer;
    Box::leak(Box::new(d::Provider {
        name: text(&p.module),
        title: text(&p.title),
        docs: option_text(p.docs.as_ref()),
        allow_insecure_http: p.allow_insecure_http,
        refresh_margin_secs: p.refresh_margin,
        retry: d::Retry {
            attempts,
            initial_backoff_ms: initial,
            max_backoff_ms: max,
        },
        openid: p.openid.as_ref().map(|o| d::OpenId {
            issuer: option_text(o.issuer.as_ref()),
            algorithms: slice(o.algorithms.iter().map(|a| text(a)).collect()),
            jwks_path: option_text(o.jwks_path.as_ref()),
            authorization_path: option_text(o.authorization_path.as_ref()),
            leeway_secs: o.leeway_secs,
        }),
        authorization: p.authorization.as_ref().map(|a| d::Authorization {
            issuer: option_text(a.issuer.as_ref()),
            path: option_text(a.path.as_ref()),
            par: a.par.as_ref().map(|path| d::Par {
                path: option_text(path.as_ref()),
            }),
            // A request object's audience is the issuer unless the spec says otherwise
            // (RFC 9101 §4).
            request_object: a.request_object.as_ref().map(|r| {
                assertion(
                    signer(r),
                    &r.algorithm,
                    Some(r.audience.as_ref().unwrap_or(&ISSUER.to_owned())),
                    r.lifetime,
                )
            }),
            jwt_response: a.jwt_response,
            hybrid: a.hybrid,
        }),
        device_authorization: p
            .device_authorization
            .as_ref()
            .map(|d| d::DeviceAuthorization {
                path: option_text(d.as_ref()),
            }),
        revocation: p.revocation.as_ref().map(|r| d::Revocation {
            path: option_text(r.as_ref()),
        }),
        client_auth_choices: slice(p.client_auth_choices.iter().map(client_auth).collect()),
        dpop: p.dpop,
        api_header: d::ApiHeader {
            name: text(&p.api_header.name),
            prefix: text(&p.api_header.prefix),
            suffix: text(&p.api_header.suffix),
        },
        api_headers: slice(p.api_headers.iter().map(param).collect()),
        error_answer: d::ErrorAnswer {
            code: e.code.as_deref().map(path),
            message: e.message.as_deref().map(path),
            failed_when: e.failed_when.as_ref().map(|(p, l)| (path(p), literal(l))),
        },
        flows: slice(p.flows.iter().map(flow).collect()),
        cached_flow: p.cached_flow,
        renew_with: p.renew_with,
        config: slice(
            p.config_params
                .iter()
                .map(|c| slot(&c.ident, c.required))
                .collect(),
        ),
        errors: slice(
            p.errors
                .iter()
                .map(|e| d::KnownError {
                    name: text(&e.variant),
                    message: option_text(e.message.as_ref()),
                    code: option_text(e.code.as_ref()),
                    status: e.status,
                })
                .collect(),
        ),
    }))
}
