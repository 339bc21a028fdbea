//! The declarative description of the provider that the runtime executes: one `static`, a
//! struct literal of the runtime's `__private::descriptor` types, one field per line so a spec
//! change shows in review as the facts it changes.

use super::text::{Source, option_string, string, strings};
use crate::ir::{self, Provider};

fn location(l: ir::Location) -> &'static str {
    match l {
        ir::Location::Query => "Location::Query",
        ir::Location::Body => "Location::Body",
        ir::Location::Assertion => "Location::Assertion",
        ir::Location::Header => "Location::Header",
    }
}

fn option_number(n: Option<impl std::fmt::Display>, suffix: &str) -> String {
    match n {
        Some(n) => format!("Some({n}{suffix})"),
        None => "None".into(),
    }
}

/// How long a client assertion is valid: short, as RFC 7523 §3 advises, with room for the
/// request's retries.
const CLIENT_ASSERTION_LIFETIME: u64 = 60;

/// An `Assertion { .. }` literal, opened by `head` (`Some(Assertion {`, `Grant::JwtBearer(..`)
/// and closed by `tail`.
fn assertion(
    s: &mut Source,
    (head, tail): (&str, &str),
    signs_with_key: bool,
    algorithm: &str,
    audience: Option<&String>,
    lifetime: u64,
) {
    s.open(format_args!("{head}Assertion {{"));
    let signer = if signs_with_key {
        "PrivateKey"
    } else {
        "ClientSecret"
    };
    s.line(format_args!("signer: Signer::{signer},"));
    s.line(format_args!("algorithm: {},", string(algorithm)));
    s.line(format_args!("audience: {},", option_string(audience)));
    s.line(format_args!("lifetime_secs: {lifetime}u64,"));
    s.close(format_args!("}}{tail}"));
}

fn flow(s: &mut Source, f: &ir::Flow) {
    s.open("Flow {");
    s.line(format_args!("name: {},", string(&f.name)));
    match f.grant {
        ir::Grant::ClientCredentials => s.line("grant: Grant::ClientCredentials,"),
        ir::Grant::AuthorizationCode => s.line("grant: Grant::AuthorizationCode,"),
        ir::Grant::RefreshToken => s.line("grant: Grant::RefreshToken,"),
        ir::Grant::Custom => s.line("grant: Grant::Custom,"),
        ir::Grant::JwtBearer => {
            let a = f
                .assertion
                .as_ref()
                .expect("validation gives every jwt_bearer flow its assertion");
            assertion(
                s,
                ("grant: Grant::JwtBearer(", "),"),
                a.signs_with_key(),
                &a.algorithm,
                a.audience.as_ref(),
                a.lifetime,
            );
        }
    }
    let method = match f.method {
        ir::Method::Get => "Get",
        ir::Method::Post => "Post",
        ir::Method::Put => "Put",
    };
    s.line(format_args!("method: Method::{method},"));
    s.line(format_args!("path: {},", string(&f.path)));
    let body = match f.body {
        ir::Body::Form => "Form",
        ir::Body::Json => "Json",
        ir::Body::Multipart => "Multipart",
        ir::Body::None => "None",
    };
    s.line(format_args!("body: Body::{body},"));
    client_auth(s, &f.client_auth, "client_auth: ", ",");
    block(s, "params: &[", "],", &f.params, param);
    block(s, "call_params: &[", "],", &f.call_params, |s, c| {
        slot(s, &c.ident, c.required)
    });
    let places: Vec<String> = f.response.access_token.iter().map(|p| strings(p)).collect();
    s.line(format_args!("access_token: &[{}],", places.join(", ")));
    let fields: Vec<&ir::Field> = f.response.fields.iter().filter(|x| !x.derived).collect();
    block(s, "fields: &[", "],", &fields, |s, field| {
        let kind = match field.ty {
            ir::FieldType::String => "Text",
            ir::FieldType::Secret => "Secret",
            ir::FieldType::Integer => "Integer",
            ir::FieldType::Number => "Number",
            ir::FieldType::Boolean => "Boolean",
            ir::FieldType::Json => "Json",
        };
        s.open("Field {");
        s.line(format_args!("key: {},", string(&field.key)));
        let places: Vec<String> = field.paths.iter().map(|p| strings(p)).collect();
        s.line(format_args!("paths: &[{}],", places.join(", ")));
        s.line(format_args!("kind: FieldKind::{kind},"));
        s.line(format_args!("required: {},", field.required));
        s.close("},");
    });
    match &f.expiry {
        ir::Expiry::ExpiresIn { path, when_absent } => {
            s.open("expiry: Expiry::ExpiresIn {");
            s.line(format_args!("path: {},", strings(path)));
            s.line(format_args!(
                "when_absent: {},",
                option_number(*when_absent, "u64")
            ));
            s.close("},");
        }
        ir::Expiry::At { path, format } => {
            let format = match format {
                ir::TimeFormat::Rfc3339 => "Rfc3339",
                ir::TimeFormat::EpochSeconds => "EpochSeconds",
                ir::TimeFormat::EpochMillis => "EpochMillis",
            };
            s.open("expiry: Expiry::At {");
            s.line(format_args!("path: {},", strings(path)));
            s.line(format_args!("format: TimeFormat::{format},"));
            s.close("},");
        }
        ir::Expiry::JwtExp { path } => {
            s.open("expiry: Expiry::JwtExp {");
            s.line(format_args!("path: {},", strings(path)));
            s.close("},");
        }
        ir::Expiry::Lifetime(secs) => s.line(format_args!("expiry: Expiry::Lifetime({secs}u64),")),
        ir::Expiry::Never => s.line("expiry: Expiry::Never,"),
    }
    s.close("},");
}

/// The `error_answer` field: RFC 6749's shape by name, or where this provider keeps things.
fn error_answer(s: &mut Source, e: &ir::ErrorAnswer) {
    if e.code.is_none() && e.message.is_none() && e.failed_when.is_none() {
        s.line("error_answer: ErrorAnswer::RFC6749,");
        return;
    }
    let path = |p: &Option<Vec<String>>| match p {
        Some(p) => format!("Some({})", strings(p)),
        None => "None".to_owned(),
    };
    s.open("error_answer: ErrorAnswer {");
    s.line(format_args!("code: {},", path(&e.code)));
    s.line(format_args!("message: {},", path(&e.message)));
    match &e.failed_when {
        Some((p, value)) => s.line(format_args!(
            "failed_when: Some(({}, {})),",
            strings(p),
            literal(value)
        )),
        None => s.line("failed_when: None,"),
    }
    s.close("},");
}

/// A `Literal::..` expression.
fn literal(l: &ir::Literal) -> String {
    match l {
        ir::Literal::Str(text) => format!("Literal::Text({})", string(text)),
        ir::Literal::Int(i) => format!("Literal::Integer({i}i64)"),
        ir::Literal::Bool(b) => format!("Literal::Boolean({b})"),
    }
}

/// A `Param { .. }` literal.
fn param(s: &mut Source, q: &ir::Param) {
    let source = match &q.source {
        ir::ParamSource::Fixed(l) => format!("Fixed({})", literal(l)),
        ir::ParamSource::Config(i) => format!("Config({i}usize)"),
        ir::ParamSource::Call(i) => format!("Call({i}usize)"),
    };
    s.open("Param {");
    s.line(format_args!("name: {},", string(&q.wire)));
    s.line(format_args!("location: {},", location(q.location)));
    s.line(format_args!("source: Source::{source},"));
    s.close("},");
}

/// `head`, one item per line, `tail`; `head` and `tail` joined (`&[]`) when there is none.
fn block<T>(
    s: &mut Source,
    head: &str,
    tail: &str,
    items: &[T],
    mut item: impl FnMut(&mut Source, &T),
) {
    if items.is_empty() {
        s.line(format_args!("{head}{tail}"));
        return;
    }
    s.open(head);
    for i in items {
        item(s, i);
    }
    s.close(tail);
}

fn slot(s: &mut Source, ident: &str, required: bool) {
    s.open("Slot {");
    s.line(format_args!(
        "name: {},",
        string(ident.trim_start_matches("r#"))
    ));
    s.line(format_args!("required: {required},"));
    s.close("},");
}

pub(super) fn provider(p: &Provider, s: &mut Source) {
    s.doc("What the runtime needs to know about this provider, as declared in its spec.");
    s.open("pub static PROVIDER: ::tokenspec::__private::descriptor::Provider = {");
    s.line("use ::tokenspec::__private::descriptor::*;");
    s.open("Provider {");
    s.line(format_args!("name: {},", string(&p.module)));
    s.line(format_args!("title: {},", string(&p.title)));
    s.line(format_args!("docs: {},", option_string(p.docs.as_ref())));
    s.line(format_args!(
        "allow_insecure_http: {},",
        p.allow_insecure_http
    ));
    s.line(format_args!(
        "refresh_margin_secs: {}u64,",
        p.refresh_margin
    ));
    match &p.openid {
        None => s.line("openid: None,"),
        Some(o) => {
            s.open("openid: Some(OpenId {");
            s.line(format_args!(
                "issuer: {},",
                option_string(o.issuer.as_ref())
            ));
            s.line(format_args!("algorithms: {},", strings(&o.algorithms)));
            s.line(format_args!(
                "jwks_path: {},",
                option_string(o.jwks_path.as_ref())
            ));
            s.line(format_args!(
                "authorization_path: {},",
                option_string(o.authorization_path.as_ref())
            ));
            s.line(format_args!("leeway_secs: {}u64,", o.leeway_secs));
            s.close("}),");
        }
    }
    match &p.authorization {
        None => s.line("authorization: None,"),
        Some(a) => {
            s.open("authorization: Some(Authorization {");
            s.line(format_args!(
                "issuer: {},",
                option_string(a.issuer.as_ref())
            ));
            s.line(format_args!("path: {},", option_string(a.path.as_ref())));
            s.close("}),");
        }
    }
    match &p.revocation {
        None => s.line("revocation: None,"),
        Some(path) => s.line(format_args!(
            "revocation: Some(Revocation {{ path: {} }}),",
            option_string(path.as_ref())
        )),
    }
    block(
        s,
        "client_auth_choices: &[",
        "],",
        &p.client_auth_choices,
        |s, auth| client_auth(s, auth, "", ","),
    );
    let (attempts, initial, max) = p.retry;
    s.open("retry: Retry {");
    s.line(format_args!("attempts: {attempts}u32,"));
    s.line(format_args!("initial_backoff_ms: {initial}u64,"));
    s.line(format_args!("max_backoff_ms: {max}u64,"));
    s.close("},");
    s.open("api_header: ApiHeader {");
    s.line(format_args!("name: {},", string(&p.api_header.name)));
    s.line(format_args!("prefix: {},", string(&p.api_header.prefix)));
    s.line(format_args!("suffix: {},", string(&p.api_header.suffix)));
    s.close("},");
    block(s, "api_headers: &[", "],", &p.api_headers, param);
    error_answer(s, &p.error_answer);
    block(s, "flows: &[", "],", &p.flows, flow);
    s.line(format_args!(
        "cached_flow: {},",
        option_number(p.cached_flow, "usize")
    ));
    s.line(format_args!(
        "renew_with: {},",
        option_number(p.renew_with, "usize")
    ));
    block(s, "config: &[", "],", &p.config_params, |s, c| {
        slot(s, &c.ident, c.required)
    });
    block(s, "errors: &[", "],", &p.errors, |s, e| {
        s.open("KnownError {");
        s.line(format_args!("name: {},", string(&e.variant)));
        s.line(format_args!(
            "message: {},",
            option_string(e.message.as_ref())
        ));
        s.line(format_args!("code: {},", option_string(e.code.as_ref())));
        s.line(format_args!("status: {},", option_number(e.status, "u16")));
        s.close("},");
    });
    s.close("}");
    s.close("};");
}

/// A `ClientAuth { .. }` literal, after `head` and followed by `tail`.
fn client_auth(s: &mut Source, auth: &ir::ClientAuth, head: &str, tail: &str) {
    s.open(format_args!("{head}ClientAuth {{"));
    let basic = match auth.basic {
        Some(ir::BasicEncoding::Raw) => "Some(BasicEncoding::Raw)",
        Some(ir::BasicEncoding::Rfc6749) => "Some(BasicEncoding::Rfc6749)",
        Some(ir::BasicEncoding::Percent) => "Some(BasicEncoding::Percent)",
        None => "None",
    };
    s.line(format_args!("basic: {basic},"));
    let locations: Vec<&str> = auth.params.iter().map(|l| location(*l)).collect();
    s.line(format_args!("params: &[{}],", locations.join(", ")));
    s.line(format_args!("id_param: {},", string(&auth.id_param)));
    s.line(format_args!(
        "secret_param: {},",
        string(&auth.secret_param)
    ));
    match &auth.assertion {
        None => s.line("assertion: None,"),
        Some((kind, algorithm, audience)) => assertion(
            s,
            ("assertion: Some(", "),"),
            matches!(kind, crate::spec::AssertionSpec::PrivateKeyJwt),
            algorithm,
            audience.as_ref(),
            CLIENT_ASSERTION_LIFETIME,
        ),
    }
    s.line(format_args!("certificate: {},", auth.certificate.is_some()));
    s.close(format_args!("}}{tail}"));
}
