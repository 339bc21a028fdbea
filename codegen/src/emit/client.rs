//! The builder and the client: typed setters and methods that hand values to the runtime.

use super::request_summary;
use super::text::{Source, string};
use super::types::escape;
use crate::ir::{self, ParamType, Provider};
use crate::spec::AssertionSpec;
use crate::surface::{When, code_slot, refresh_flow, session_flow};

const OK: &str = "::std::result::Result::Ok";
const SOME: &str = "::std::option::Option::Some";
const VALUE: &str = "::tokenspec::__private::ParamValue";

/// The Rust type of a parameter value as a caller passes it.
fn arg_type(p: &Provider, ty: &ParamType) -> String {
    match ty {
        ParamType::String => "impl ::std::convert::Into<::std::string::String>".into(),
        ParamType::Integer => "i64".into(),
        ParamType::Boolean => "bool".into(),
        ParamType::Secret => "impl ::std::convert::Into<::tokenspec::SecretString>".into(),
        ParamType::SecretFile => "impl ::std::convert::Into<::std::path::PathBuf>".into(),
        ParamType::Enum(e) => p.enums[*e].ident.clone(),
        ParamType::Set(e, _) => format!(
            "impl ::std::iter::IntoIterator<Item = {}>",
            p.enums[*e].ident
        ),
    }
}

/// The type a builder stores a parameter as.
fn stored_type(p: &Provider, ty: &ParamType) -> String {
    match ty {
        ParamType::String => "::std::string::String".into(),
        ParamType::Integer => "i64".into(),
        ParamType::Boolean => "bool".into(),
        ParamType::Secret => "::tokenspec::SecretString".into(),
        ParamType::SecretFile => "::std::path::PathBuf".into(),
        ParamType::Enum(e) => p.enums[*e].ident.clone(),
        ParamType::Set(e, _) => format!("::std::vec::Vec<{}>", p.enums[*e].ident),
    }
}

/// Converts what the caller passed (`value`) into what is stored.
fn store(ty: &ParamType, value: &str) -> String {
    match ty {
        ParamType::String | ParamType::Secret | ParamType::SecretFile => format!("{value}.into()"),
        ParamType::Set(..) => format!("{value}.into_iter().collect()"),
        _ => value.to_owned(),
    }
}

/// Converts a stored value into a `::tokenspec::__private::ParamValue`.
fn to_param_value(ty: &ParamType, value: &str) -> String {
    match ty {
        ParamType::String => format!("{VALUE}::Text({value})"),
        ParamType::Secret => format!("{VALUE}::Secret({value})"),
        ParamType::SecretFile => format!("{VALUE}::File({value})"),
        ParamType::Integer => format!("{VALUE}::Integer({value})"),
        ParamType::Boolean => format!("{VALUE}::Boolean({value})"),
        ParamType::Enum(_) => format!("{VALUE}::Word({value}.as_str())"),
        ParamType::Set(_, sep) => format!(
            "{VALUE}::Words({value}.iter().map(|v| v.as_str()).collect(), {})",
            string(sep)
        ),
    }
}

/// An optional stored value (`value`, an `Option`) as an optional `ParamValue`: the
/// constructor alone when the stored value needs no conversion, so it reads without a closure.
fn optional_param_value(ty: &ParamType, value: &str) -> String {
    let constructor = match ty {
        ParamType::String => "Text",
        ParamType::Secret => "Secret",
        ParamType::SecretFile => "File",
        ParamType::Integer => "Integer",
        ParamType::Boolean => "Boolean",
        ParamType::Enum(_) | ParamType::Set(..) => {
            return format!("{value}.map(|v| {})", to_param_value(ty, "v"));
        }
    };
    format!("{value}.map({VALUE}::{constructor})")
}

/// `Some({ let v[: ty] = value; conversion })`, one statement per line.
fn some_value(s: &mut Source, binding: &str, ty: &ParamType) {
    s.open(format_args!("{SOME}({{"));
    s.line(format_args!("let v{binding};"));
    s.line(to_param_value(ty, "v"));
    s.close("}),");
}

fn default_value(p: &Provider, ty: &ParamType, d: &ir::Default) -> String {
    match (ty, d) {
        (_, ir::Default::Literal(ir::Literal::Str(text))) => {
            format!("::std::string::String::from({})", string(text))
        }
        (_, ir::Default::Literal(ir::Literal::Int(i))) => format!("{i}i64"),
        (_, ir::Default::Literal(ir::Literal::Bool(b))) => b.to_string(),
        (ParamType::Enum(e), ir::Default::Enum(v))
        | (ParamType::Set(e, _), ir::Default::Enum(v)) => {
            format!("{}::{}", p.enums[*e].ident, p.enums[*e].values[*v].1)
        }
        (ParamType::Set(e, _), ir::Default::Set(values)) => {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("{}::{}", p.enums[*e].ident, p.enums[*e].values[*v].1))
                .collect();
            format!("::std::vec![{}]", values.join(", "))
        }
        _ => "::std::default::Default::default()".into(),
    }
}

/// A builder method that hands `value` to the runtime's settings: `pub fn name(mut self,
/// param) -> Self { self.settings = self.settings.call; self }`.
fn settings_setter(s: &mut Source, doc: &str, name: &str, param: &str, call: &str) {
    s.doc(doc);
    s.signature(
        &format!("pub fn {name}"),
        &["mut self".into(), param.into()],
        "-> Self",
    );
    s.line(format_args!("self.settings = self.settings.{call};"));
    s.line("self");
    s.close("}");
}

const NO_ENVIRONMENT: &str = "::tokenspec::Error::config(\"no environment chosen: call `.environment(...)` on the builder\")";

pub(super) fn builder(p: &Provider, s: &mut Source) {
    client_auth_enum(p, s);
    s.doc("Configures a [`Client`]; [`Client::builder`] makes one.");
    s.line("#[derive(Debug, Default)]");
    s.line("#[must_use]");
    s.open("pub struct ClientBuilder {");
    s.line("settings: ::tokenspec::Settings,");
    s.line("environment: ::std::option::Option<Environment>,");
    for c in &p.config_params {
        s.line(format_args!(
            "{}: ::std::option::Option<{}>,",
            c.ident,
            stored_type(p, &c.ty)
        ));
    }
    s.close("}");

    let needs_secret = When::SendsSecret.holds(p);
    let signs_with_key = When::SignsWithKey.holds(p);
    if needs_secret {
        // With the setters that read the secret from the environment or a file.
        s.line("::tokenspec::__private::builder_basics!(ClientBuilder, Environment, secret);");
    } else {
        s.line("::tokenspec::__private::builder_basics!(ClientBuilder, Environment);");
    }
    s.open("impl ClientBuilder {");
    settings_setter(
        s,
        if needs_secret {
            "Sets the client secret the provider issued. Required; never printed."
        } else if signs_with_key {
            "Not needed: this provider authenticates the client by its key ([`Self::client_key`])."
        } else if When::Certificate.holds(p) {
            "Not needed: this provider authenticates the client by its certificate\n\
             ([`Self::client_identity`])."
        } else {
            "Not needed: this provider's token requests carry no client secret."
        },
        "client_secret",
        "client_secret: impl ::std::convert::Into<::tokenspec::SecretString>",
        "client_secret(client_secret)",
    );
    if When::SendsUsers.holds(p) {
        settings_setter(
            s,
            "Where the provider sends users back after they log in and consent: this\n\
             application's callback URL, as registered with the provider. Authorization\n\
             requests and code exchanges use it.",
            "redirect_uri",
            "uri: impl ::std::convert::Into<::std::string::String>",
            "redirect_uri(uri)",
        );
    }
    if let Some(first) = p.client_auth_choices.first() {
        settings_setter(
            s,
            &format!(
                "Chooses how the client authenticates (default [`ClientAuthMethod::{}`]):\n\
                 every flow without its own `client_auth` uses it.",
                first.method_name()
            ),
            "client_auth_method",
            "method: ClientAuthMethod",
            "client_auth_choice(method.name())",
        );
    }
    if signs_with_key {
        settings_setter(
            s,
            "The client's private key, which signs its assertions (a `private_key_jwt` client\n\
             assertion, the JWT-bearer grant): `::tokenspec::ClientKey::from_pem_file(\"client.key\")?`,\n\
             with `.with_kid(..)` when the provider knows it by a key id, or the key of a\n\
             [`::tokenspec::ServiceAccountKey`]. Required by the flows that sign with it.",
            "client_key",
            "key: ::tokenspec::ClientKey",
            "client_key(key)",
        );
    }
    if When::FederatedAssertion.holds(p) {
        settings_setter(
            s,
            "The file the platform writes this client's assertion to (workload identity federation:\n\
             a Kubernetes projected service-account token, with Azure Workload Identity the path in\n\
             `AZURE_FEDERATED_TOKEN_FILE`). Read at every token request, so the platform's rotations\n\
             are picked up. Required by the methods that send it.",
            "client_assertion_file",
            "path: impl ::std::convert::Into<::std::path::PathBuf>",
            "client_assertion_file(path)",
        );
    }
    if When::Certificate.holds(p) {
        settings_setter(
            s,
            "The client certificate and key presented in every TLS handshake (mutual TLS): the\n\
             token requests and the API calls of [`Client::http_client`].\n\
             `::tokenspec::ClientIdentity::from_pem_files(\"cert.pem\", \"key.pem\")?` (or, with the\n\
             `pkcs12` feature, `from_pkcs12_file`). Checked when the client is built.",
            "client_identity",
            "identity: ::tokenspec::ClientIdentity",
            "client_identity(identity)",
        );
    }
    if When::Dpop.holds(p) {
        settings_setter(
            s,
            "The key this client's tokens are bound to (DPoP, RFC 9449), which signs a proof for\n\
             every token request and API call. Without it the client makes a key of its own when\n\
             built, which lives as long as the client: give one\n\
             (`::tokenspec::DpopKey::from_pem_file(\"dpop.key\")?`) when refresh tokens must\n\
             outlive the process or be shared by a fleet.",
            "dpop_key",
            "key: ::tokenspec::DpopKey",
            "dpop_key(key)",
        );
    }
    for c in &p.config_params {
        let mut text = format!("Sets `{}`", c.wire);
        if let Some(d) = &c.doc {
            text = format!("{} (`{}`)", escape(d.trim_end_matches('.')), c.wire);
        }
        text.push('.');
        match &c.default {
            Some(d) => text.push_str(&format!(" Default: {}.", default_text(p, &c.ty, d))),
            None if c.required => text.push_str(" Required."),
            None => text.push_str(" Not sent unless set."),
        }
        s.doc(&text);
        let param = format!("value: {}", arg_type(p, &c.ty));
        s.signature(
            &format!("pub fn {}", c.ident),
            &["mut self".into(), param],
            "-> Self",
        );
        s.line(format_args!(
            "self.{} = {SOME}({});",
            c.ident,
            store(&c.ty, "value")
        ));
        s.line("self");
        s.close("}");
    }

    s.doc("Checks the configuration and makes the client. No request is sent yet.");
    s.open("pub fn build(self) -> ::std::result::Result<Client, Error> {");
    match p.default_environment {
        Some(_) => s.line("let environment = self.environment.unwrap_or_default();"),
        None if p.environments.len() == 1 && p.environments[0].placeholders.is_empty() => {
            s.line(format_args!(
                "let environment = self.environment.unwrap_or(Environment::{});",
                p.environments[0].variant
            ))
        }
        None => {
            s.open("let environment = self.environment.ok_or_else(|| {");
            s.line(NO_ENVIRONMENT);
            s.close("})?;");
        }
    }
    s.line("let (template, placeholders) = environment.url_template();");
    if p.config_params.is_empty() {
        s.line("let config = ::std::vec![];");
    } else {
        s.open("let config = ::std::vec![");
        for c in &p.config_params {
            match &c.default {
                Some(d) => {
                    let value = default_value(p, &c.ty, d);
                    let fallback = match &c.ty {
                        ParamType::String | ParamType::Set(..) => {
                            format!("unwrap_or_else(|| {value})")
                        }
                        _ => format!("unwrap_or({value})"),
                    };
                    some_value(s, &format!(" = self.{}.{fallback}", c.ident), &c.ty);
                }
                None => s.line(format_args!(
                    "{},",
                    optional_param_value(&c.ty, &format!("self.{}", c.ident))
                )),
            }
        }
        s.close("];");
    }
    // Patterns of the environments that want a certificate (unit variants have no fields).
    let needing: Vec<String> = p
        .environments
        .iter()
        .filter(|e| e.client_certificate)
        .map(|e| {
            if e.placeholders.is_empty() {
                format!("Environment::{}", e.variant)
            } else {
                format!("Environment::{} {{ .. }}", e.variant)
            }
        })
        .collect();
    if needing.is_empty() {
        s.line("let settings = self.settings;");
    } else if needing.len() == p.environments.len() {
        s.line("let settings = self.settings.client_identity_required();");
    } else {
        s.open(format_args!(
            "let settings = if ::std::matches!(environment, {}) {{",
            needing.join(" | ")
        ));
        s.line("self.settings.client_identity_required()");
        s.reopen("} else {");
        s.line("self.settings");
        s.close("};");
    }
    s.open("let runtime = ::tokenspec::TokenClient::new_in_environment(");
    for arg in [
        "::tokenspec::__private::read(&PROVIDER)?",
        "settings",
        "environment.name()",
        "template",
        "&placeholders",
        "config",
    ] {
        s.line(format_args!("{arg},"));
    }
    s.close(")?;");
    s.line(format_args!("{OK}(Client {{ runtime }})"));
    s.close("}");
    s.close("}");
}

fn default_text(p: &Provider, ty: &ParamType, d: &ir::Default) -> String {
    match (ty, d) {
        (_, ir::Default::Literal(l)) => format!("`{}`", super::literal_text(l)),
        (ParamType::Enum(e) | ParamType::Set(e, _), ir::Default::Enum(v)) => {
            format!("`{}`", p.enums[*e].values[*v].0)
        }
        (ParamType::Set(e, _), ir::Default::Set(values))
            if values.len() == p.enums[*e].values.len() =>
        {
            "all values".into()
        }
        (ParamType::Set(e, _), ir::Default::Set(values)) => values
            .iter()
            .map(|v| format!("`{}`", p.enums[*e].values[*v].0))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// A client method that returns what the runtime's method of the same call returns:
/// `pub [async] fn name(&self, params) -> Result<ret, Error> { Ok(self.runtime.call[.await]?) }`.
fn runtime_method(s: &mut Source, doc: &str, head: &str, params: &[&str], ret: &str, call: &str) {
    s.doc(doc);
    let mut all = vec!["&self".to_owned()];
    all.extend(params.iter().map(|p| (*p).to_owned()));
    s.signature(
        head,
        &all,
        &format!("-> ::std::result::Result<{ret}, Error>"),
    );
    let wait = if head.starts_with("pub async fn ") {
        ".await"
    } else {
        ""
    };
    s.line(format_args!("{OK}(self.runtime.{call}{wait}?)"));
    s.close("}");
}

pub(super) fn client(p: &Provider, s: &mut Source) {
    s.doc(&format!(
        "A {} client. Cheap to clone; clones share one token cache.",
        p.title
    ));
    s.line("#[derive(Clone, Debug)]");
    s.open("pub struct Client {");
    s.line("runtime: ::tokenspec::TokenClient,");
    s.close("}");
    match p.cached_flow.map(|i| &p.flows[i]) {
        Some(f) => s.line(format_args!(
            "::tokenspec::__private::client_basics!(Client, ClientBuilder, Error, cached {}Response);",
            f.type_prefix
        )),
        None => s.line("::tokenspec::__private::client_basics!(Client, ClientBuilder);"),
    }
    s.open("impl Client {");
    if let Some(f) = p.cached_flow.map(|i| &p.flows[i]) {
        let header = super::quoted_api_headers(p);
        s.doc(&format!(
            "Returns a valid access token: the cached one while it is fresh, otherwise a new one from\n\
             this request, sent once however many tasks ask at the same time:\n\n{}",
            request_summary(p, f).join("\n")
        ));
        // The runtime's future itself, its error made this module's: a cached call is one poll.
        s.signature(
            "pub fn access_token",
            &["&self".to_owned()],
            "-> impl ::tokenspec::TokenFuture<Error> + '_",
        );
        s.line("::tokenspec::__private::ErrInto::new(self.runtime.access_token())");
        s.close("}");
        runtime_method(
            s,
            &format!("Adds {header} with a valid token to an API request."),
            "pub async fn authorize",
            &["request: ::tokenspec::reqwest::RequestBuilder"],
            "::tokenspec::reqwest::RequestBuilder",
            "authorize(request)",
        );
        runtime_method(
            s,
            &format!(
                "Sends an API request with {header}; if the API answers `401 Unauthorized`, drops that\n\
                 token and retries once with a new one (when the request can be cloned)."
            ),
            "pub async fn send",
            &["request: ::tokenspec::reqwest::RequestBuilder"],
            "::tokenspec::reqwest::Response",
            "send(request)",
        );
    }
    for f in p.flows.iter().filter(|f| !f.cached) {
        let code_arg = code_slot(f);
        let validates = f.response.fields.iter().any(|field| field.derived);
        let mut text = match &f.doc {
            Some(d) => format!("{}\n\n", escape(d)),
            None => String::new(),
        };
        text.push_str("Sends this request (not cached; each call is one request):\n\n");
        text.push_str(&request_summary(p, f).join("\n"));
        if code_arg.is_some() {
            text.push_str("\n\n`code` comes from [`::tokenspec::PendingAuthorization::callback`], which checks the\nredirect's `state` and carries the PKCE verifier, redirect URI and nonce of the\nauthorization request into this exchange; a code from an authorization this client did\nnot start is [`::tokenspec::AuthorizationCode::external`].");
        }
        if validates {
            text.push_str("\n\nAn `id_token` in the answer is validated (signature, issuer, audience, expiry and the\nnonce of the authorization request, when there was one) before its claims come back in\n`id_token_claims`; a token that fails is an error.");
        }
        s.doc(&text);
        let mut params = vec!["&self".to_owned()];
        params.extend(call_args(p, f));
        s.signature(
            &format!("pub async fn {}", f.method_ident),
            &params,
            &format!("-> ::std::result::Result<{}Response, Error>", f.type_prefix),
        );
        call_values(s, p, f);
        match code_arg {
            Some(i) => s.line(format_args!(
                "{OK}(self.runtime.exchange_code({}, {}, values).await?)",
                string(&f.name),
                f.call_params[i].ident
            )),
            None => s.line(format_args!(
                "{OK}(self.runtime.request({}, values).await?)",
                string(&f.name)
            )),
        }
        s.close("}");
    }
    if When::AuthorizationRequest.holds(p) {
        let nonce = if p.openid.is_some() {
            ", a `nonce`"
        } else {
            ""
        };
        let pushed = if p.authorization.as_ref().is_some_and(|a| a.par.is_some()) {
            "\n\nThe request is pushed to the provider first (RFC 9126, the spec's `authorization.par`),\n\
             authenticated as the code exchange is; the URL carries only its `request_uri`."
        } else {
            ""
        };
        runtime_method(
            s,
            &format!(
                "A new authorization request for a user to follow (fresh `state`{nonce} and PKCE\n\
                 challenge, the builder's `redirect_uri`): send the user to its `url()`, keep it (in the\n\
                 user's session) until the provider redirects back, then hand the redirect's `state`\n\
                 and `code` to its `callback` for the code exchange.{pushed}"
            ),
            "pub async fn authorization_request",
            &["scope: &str"],
            "::tokenspec::PendingAuthorization",
            "authorization_request(scope)",
        );
        runtime_method(
            s,
            "[`Self::authorization_request`] with parameters of the application's own (`prompt`,\n\
             `login_hint`, `acr_values`, ...), sent with the rest of the request; the parameters\n\
             tokenspec sets cannot be given.",
            "pub async fn authorization_request_with",
            &["scope: &str", "parameters: &[(&str, &str)]"],
            "::tokenspec::PendingAuthorization",
            "authorization_request_with(scope, parameters)",
        );
    }
    if When::JwtResponse.holds(p) {
        runtime_method(
            s,
            "The provider redirected back with `response`, a JWT-secured authorization response\n\
             (JARM), for `pending`: verifies it with the provider's keys, checks its `state` and\n\
             `iss`, and returns the code for the exchange.",
            "pub async fn callback_jwt",
            &[
                "pending: ::tokenspec::PendingAuthorization",
                "response: &str",
            ],
            "::tokenspec::AuthorizationCode",
            "callback_jwt(pending, response)",
        );
    }
    if When::HybridResponse.holds(p) {
        runtime_method(
            s,
            "The provider redirected back to `pending`'s redirect URI with `code`, `id_token` and\n\
             `state` in the URL's fragment, which the browser handed to the application as\n\
             `parameters` (`code=…&id_token=…&state=…`): verifies the ID token, that it was issued\n\
             with this code and state, and the `state` and `iss`, and returns the code for the\n\
             exchange.",
            "pub async fn callback_hybrid",
            &[
                "pending: ::tokenspec::PendingAuthorization",
                "parameters: &str",
            ],
            "::tokenspec::AuthorizationCode",
            "callback_hybrid(pending, parameters)",
        );
    }
    if When::OpenId.holds(p) {
        runtime_method(
            s,
            "Validates an ID token from this provider (OpenID Connect Core §3.1.3.7); `nonce` is\n\
             the authorization request's, when one was sent.",
            "pub async fn validate_id_token",
            &[
                "id_token: &::tokenspec::IdToken",
                "nonce: ::std::option::Option<&str>",
            ],
            "::tokenspec::oidc::IdTokenClaims",
            "validate_id_token(id_token, nonce)",
        );
    }
    sessions(p, s);
    if When::Certificate.holds(p) {
        runtime_method(
            s,
            "An HTTP client for the provider's API that presents the client certificate (mutual\n\
             TLS), shared with the token requests (one per Tokio runtime, connections reused):\n\
             build API requests with it, then [`Client::send`] them.",
            "pub fn http_client",
            &[],
            "::tokenspec::reqwest::Client",
            "http_client()",
        );
    }
    s.close("}");
}

/// The arguments of a per-call flow's method.
fn call_args(p: &Provider, f: &ir::Flow) -> Vec<String> {
    let code_arg = code_slot(f);
    f.call_params
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if Some(i) == code_arg {
                format!("{}: ::tokenspec::AuthorizationCode", c.ident)
            } else if c.required {
                format!("{}: {}", c.ident, arg_type(p, &c.ty))
            } else {
                format!(
                    "{}: ::std::option::Option<{}>",
                    c.ident,
                    stored_type(p, &c.ty)
                )
            }
        })
        .collect()
}

/// `let values = vec![..];`: the runtime values of a per-call flow's arguments, in slot order
/// (the code's slot empty: the runtime fills it from the `AuthorizationCode`).
fn call_values(s: &mut Source, p: &Provider, f: &ir::Flow) {
    if f.call_params.is_empty() {
        s.line("let values = ::std::vec![];");
        return;
    }
    let code_arg = code_slot(f);
    s.open("let values = ::std::vec![");
    for (i, c) in f.call_params.iter().enumerate() {
        if Some(i) == code_arg {
            s.line("::std::option::Option::None,");
        } else if c.required {
            let binding = format!(": {} = {}", stored_type(p, &c.ty), store(&c.ty, &c.ident));
            some_value(s, &binding, &c.ty);
        } else {
            s.line(format_args!("{},", optional_param_value(&c.ty, &c.ident)));
        }
    }
    s.close("];");
}

/// Users' sessions, for a spec with a code exchange: start one from a code, find one by key,
/// restore one from a kept refresh token. They renew through the spec's refresh grant, if it
/// has one.
fn sessions(p: &Provider, s: &mut Source) {
    let refresh = refresh_flow(p);
    let renewal = match refresh {
        Some(r) => format!(
            "The session renews itself through the `{}` flow; with a store\n\
             ([`::tokenspec::Settings::store`]), it is written there before this returns, and every\n\
             rotated refresh token before the access token it came with is handed out.",
            p.flows[r].name
        ),
        None => "The spec has no refresh grant: the session ends when its access token expires\n\
                 ([`::tokenspec::Error::SessionEnded`]), and the user connects again."
            .to_owned(),
    };
    if let Some((_, f, code)) = session_flow(p) {
        start_session(p, s, f, code, &renewal);
    }
    if When::DeviceFlow.holds(p) {
        device_flow(s, &renewal);
    }
    if When::SessionLookup.holds(p) {
        runtime_method(
            s,
            "The session `key`: the one this client holds, else the one its store holds (another\n\
             process may have started it), else `None`: the user has to connect.",
            "pub async fn session",
            &["key: &str"],
            "::std::option::Option<::tokenspec::Session>",
            "session(key)",
        );
    }
    if When::RestoreSession.holds(p) {
        s.doc(
            "The session `key` from a refresh token the application kept in its own database;\n\
             the first `access_token()` refreshes.",
        );
        s.signature(
            "pub fn restore_session",
            &[
                "&self".into(),
                "key: impl ::std::convert::Into<::std::string::String>".into(),
                "refresh_token: ::tokenspec::RefreshToken".into(),
            ],
            "-> ::tokenspec::Session",
        );
        s.line("self.runtime.restore_session(key, refresh_token)");
        s.close("}");
    }
}

/// The device authorization grant (RFC 8628): start one, then poll it into a session.
fn device_flow(s: &mut Source, renewal: &str) {
    runtime_method(
        s,
        "Starts a device authorization (RFC 8628) for `scope`: show the user its `user_code()`\n\
         and `verification_uri()` (or `verification_uri_complete()` as a link or QR code), then\n\
         pass it to `device_session`.",
        "pub async fn device_authorization",
        &["scope: &str"],
        "::tokenspec::DeviceAuthorization",
        "device_authorization(scope)",
    );
    s.doc(&format!(
        "Polls until the user approves `device` and keeps the answer as the session `key` (it\n\
         replaces any session of that key), honouring the server's interval and `slow_down`;\n\
         [`::tokenspec::Error::DeviceAuthorizationEnded`] when the user says no or the codes\n\
         expire. {renewal}"
    ));
    s.signature(
        "pub async fn device_session",
        &[
            "&self".into(),
            "key: impl ::std::convert::Into<::std::string::String>".into(),
            "device: ::tokenspec::DeviceAuthorization".into(),
        ],
        "-> ::std::result::Result<::tokenspec::Session, Error>",
    );
    s.line(format_args!(
        "{OK}(self.runtime.device_session(key, device).await?)"
    ));
    s.close("}");
}

/// `start_session`: the code exchange `f` (its code in call slot `code`) kept as a session.
fn start_session(p: &Provider, s: &mut Source, f: &ir::Flow, code: usize, renewal: &str) {
    let code = &f.call_params[code].ident;
    s.doc(&format!(
        "Exchanges `{code}` with the `{}` flow and keeps the answer as the session `key`: the\n\
         application's id for the user or connection (it replaces any session of that key).\n\
         {renewal}",
        f.name
    ));
    let mut params = vec![
        "&self".to_owned(),
        "key: impl ::std::convert::Into<::std::string::String>".to_owned(),
    ];
    params.extend(call_args(p, f));
    s.signature(
        "pub async fn start_session",
        &params,
        "-> ::std::result::Result<::tokenspec::Session, Error>",
    );
    call_values(s, p, f);
    s.line(format_args!(
        "{OK}(self.runtime.start_session({}, key, {code}, values).await?)",
        string(&f.name)
    ));
    s.close("}");
}

/// For a spec listing several client authentication methods: the enum of them, which the
/// builder's `client_auth_method` takes.
fn client_auth_enum(p: &Provider, s: &mut Source) {
    let Some(first) = p.client_auth_choices.first() else {
        return;
    };
    s.doc(&format!(
        "The ways {} accepts the client's credentials, in the order its spec lists them; the\n\
         builder's `client_auth_method` picks one (default `{}`).",
        p.title,
        first.method_name()
    ));
    s.line("#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]");
    s.line("#[non_exhaustive]");
    s.open("pub enum ClientAuthMethod {");
    for (i, method) in p.client_auth_choices.iter().enumerate() {
        let mut places = Vec::new();
        match method.basic {
            Some(ir::BasicEncoding::Raw) => {
                places.push("the `Authorization: Basic` header (id and secret as given)".to_owned())
            }
            Some(ir::BasicEncoding::Percent) => places.push(
                "the `Authorization: Basic` header (id and secret percent-encoded)".to_owned(),
            ),
            Some(ir::BasicEncoding::Rfc6749) => places.push(
                "the `Authorization: Basic` header (id and secret form-urlencoded)".to_owned(),
            ),
            None => {}
        }
        for location in &method.params {
            let place = match location {
                ir::Location::Body => "the body",
                ir::Location::Query => "the query string",
                ir::Location::Assertion => "an assertion",
                ir::Location::Header => "headers",
            };
            places.push(format!(
                "`{}` and `{}` in {place}",
                method.id_param, method.secret_param
            ));
        }
        let how = match &method.assertion {
            Some((AssertionSpec::ClientSecretJwt, algorithm, _)) => format!(
                "Signs a client assertion ({algorithm}) with the client secret, which never travels."
            ),
            Some((AssertionSpec::PrivateKeyJwt, algorithm, _)) => format!(
                "Signs a client assertion ({algorithm}) with the client's key (the builder's `client_key`)."
            ),
            Some((AssertionSpec::Federated, ..)) => {
                "Sends the client assertion another identity provider issued, read from the builder's `client_assertion_file`.".to_owned()
            }
            None if method.certificate.is_some() => format!(
                "The client certificate authenticates the client (RFC 8705); only `{}` is sent.",
                method.id_param
            ),
            None => format!("Sends the credentials in {}.", places.join(" and ")),
        };
        if i == 0 {
            s.doc(&format!("{how} The default."));
            s.line("#[default]");
        } else {
            s.doc(&how);
        }
        s.line(format_args!("{},", method.method_name()));
    }
    s.close("}");
    s.open("impl ClientAuthMethod {");
    s.doc(
        "The method's name (RFC 7591's where it has one, such as `client_secret_basic`): how\n\
         the runtime finds it in the provider's descriptor.",
    );
    s.open("pub fn name(&self) -> &'static str {");
    s.open("match self {");
    for method in &p.client_auth_choices {
        s.line(format_args!(
            "Self::{} => {},",
            method.method_name(),
            string(&method.wire_name())
        ));
    }
    s.close("}");
    s.close("}");
    s.close("}");
}
