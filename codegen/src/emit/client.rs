//! The builder and the client: typed setters and methods that hand values to the runtime.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc, ident, request_summary};
use crate::ir::{self, ParamType, Provider};

/// The Rust type of a parameter value as a caller passes it.
fn arg_type(p: &Provider, ty: &ParamType) -> TokenStream {
    match ty {
        ParamType::String => quote!(impl ::std::convert::Into<::std::string::String>),
        ParamType::Integer => quote!(i64),
        ParamType::Boolean => quote!(bool),
        ParamType::Secret => quote!(impl ::std::convert::Into<::tokenspec::SecretString>),
        ParamType::Enum(e) => {
            let t = ident(&p.enums[*e].ident);
            quote!(#t)
        }
        ParamType::Set(e, _) => {
            let t = ident(&p.enums[*e].ident);
            quote!(impl ::std::iter::IntoIterator<Item = #t>)
        }
    }
}

/// The type a builder stores a parameter as.
fn stored_type(p: &Provider, ty: &ParamType) -> TokenStream {
    match ty {
        ParamType::String => quote!(::std::string::String),
        ParamType::Integer => quote!(i64),
        ParamType::Boolean => quote!(bool),
        ParamType::Secret => quote!(::tokenspec::SecretString),
        ParamType::Enum(e) => {
            let t = ident(&p.enums[*e].ident);
            quote!(#t)
        }
        ParamType::Set(e, _) => {
            let t = ident(&p.enums[*e].ident);
            quote!(::std::vec::Vec<#t>)
        }
    }
}

/// Converts what the caller passed (`value`) into what is stored.
fn store(ty: &ParamType, value: &TokenStream) -> TokenStream {
    match ty {
        ParamType::String | ParamType::Secret => quote!(#value.into()),
        ParamType::Set(..) => quote!(#value.into_iter().collect()),
        _ => quote!(#value),
    }
}

/// Converts a stored value into a `::tokenspec::__private::ParamValue`.
fn to_param_value(ty: &ParamType, value: &TokenStream) -> TokenStream {
    match ty {
        ParamType::String => quote!(::tokenspec::__private::ParamValue::Text(#value)),
        ParamType::Secret => quote!(::tokenspec::__private::ParamValue::Secret(#value)),
        ParamType::Integer => quote!(::tokenspec::__private::ParamValue::Integer(#value)),
        ParamType::Boolean => quote!(::tokenspec::__private::ParamValue::Boolean(#value)),
        ParamType::Enum(_) => quote!(::tokenspec::__private::ParamValue::Word(#value.as_str())),
        ParamType::Set(_, sep) => {
            quote!(::tokenspec::__private::ParamValue::Words(#value.iter().map(|v| v.as_str()).collect(), #sep))
        }
    }
}

/// `ParamValue`'s constructor for an optional value of this type, when the stored value needs
/// no conversion (so `option.map(constructor)` reads without a closure).
fn param_value_ctor(ty: &ParamType) -> Option<TokenStream> {
    match ty {
        ParamType::String => Some(quote!(::tokenspec::__private::ParamValue::Text)),
        ParamType::Secret => Some(quote!(::tokenspec::__private::ParamValue::Secret)),
        ParamType::Integer => Some(quote!(::tokenspec::__private::ParamValue::Integer)),
        ParamType::Boolean => Some(quote!(::tokenspec::__private::ParamValue::Boolean)),
        ParamType::Enum(_) | ParamType::Set(..) => None,
    }
}

/// An optional stored value (`value`, an `Option`) as an optional `ParamValue`.
fn optional_param_value(ty: &ParamType, value: TokenStream) -> TokenStream {
    match param_value_ctor(ty) {
        Some(ctor) => quote!(#value.map(#ctor)),
        None => {
            let convert = to_param_value(ty, &quote!(v));
            quote!(#value.map(|v| #convert))
        }
    }
}

fn default_value(p: &Provider, ty: &ParamType, d: &ir::Default) -> TokenStream {
    match (ty, d) {
        (_, ir::Default::Literal(ir::Literal::Str(s))) => quote!(::std::string::String::from(#s)),
        (_, ir::Default::Literal(ir::Literal::Int(i))) => quote!(#i),
        (_, ir::Default::Literal(ir::Literal::Bool(b))) => quote!(#b),
        (ParamType::Enum(e), ir::Default::Enum(v))
        | (ParamType::Set(e, _), ir::Default::Enum(v)) => {
            let t = ident(&p.enums[*e].ident);
            let v = ident(&p.enums[*e].values[*v].1);
            quote!(#t::#v)
        }
        (ParamType::Set(e, _), ir::Default::Set(values)) => {
            let t = ident(&p.enums[*e].ident);
            let vs = values.iter().map(|v| ident(&p.enums[*e].values[*v].1));
            quote!(::std::vec![#(#t::#vs),*])
        }
        _ => quote!(::std::default::Default::default()),
    }
}

pub(super) fn builder(p: &Provider) -> TokenStream {
    let fields = p.config_params.iter().map(|c| {
        let id = ident(&c.ident);
        let ty = stored_type(p, &c.ty);
        quote!(#id: ::std::option::Option<#ty>,)
    });
    let setters = p.config_params.iter().map(|c| {
        let id = ident(&c.ident);
        let ty = arg_type(p, &c.ty);
        let value = store(&c.ty, &quote!(value));
        let mut text = format!("Sets `{}`", c.wire);
        if let Some(d) = &c.doc {
            text = format!(
                "{} (`{}`)",
                super::types::escape(d.trim_end_matches('.')),
                c.wire
            );
        }
        text.push('.');
        match &c.default {
            Some(d) => text.push_str(&format!(" Default: {}.", default_text(p, &c.ty, d))),
            None if c.required => text.push_str(" Required."),
            None => text.push_str(" Not sent unless set."),
        }
        let d = doc(&text);
        quote! {
            #d
            pub fn #id(mut self, value: #ty) -> Self {
                self.#id = ::std::option::Option::Some(#value);
                self
            }
        }
    });
    let values = p.config_params.iter().map(|c| {
        let id = ident(&c.ident);
        let convert = to_param_value(&c.ty, &quote!(v));
        match &c.default {
            Some(d) => {
                let dv = default_value(p, &c.ty, d);
                let fallback = match (&c.ty, d) {
                    (ParamType::String | ParamType::Set(..), _) => quote!(unwrap_or_else(|| #dv)),
                    _ => quote!(unwrap_or(#dv)),
                };
                quote!(::std::option::Option::Some({ let v = self.#id.#fallback; #convert }),)
            }
            None => {
                let value = optional_param_value(&c.ty, quote!(self.#id));
                quote!(#value,)
            }
        }
    });
    let environment = match p.default_environment {
        Some(_) => quote!(self.environment.unwrap_or_default()),
        None if p.environments.len() == 1 => {
            let v = ident(&p.environments[0].variant);
            if p.environments[0].placeholders.is_empty() {
                quote!(self.environment.unwrap_or(Environment::#v))
            } else {
                quote!(self.environment.ok_or_else(|| ::tokenspec::Error::config(
                    "no environment chosen: call `.environment(...)` on the builder"
                ))?)
            }
        }
        None => quote!(self.environment.ok_or_else(|| ::tokenspec::Error::config(
            "no environment chosen: call `.environment(...)` on the builder"
        ))?),
    };
    let redirect = sends_users(p).then(|| {
        quote! {
            /// Where the provider sends users back after they log in and consent: this
            /// application's callback URL, as registered with the provider. Authorization
            /// requests and code exchanges use it.
            pub fn redirect_uri(mut self, uri: impl ::std::convert::Into<::std::string::String>) -> Self {
                self.settings = self.settings.redirect_uri(uri);
                self
            }
        }
    });
    let (auth_enum, auth_setter) = client_auth_methods(p);
    let auths = || {
        p.flows
            .iter()
            .map(|f| &f.client_auth)
            .chain(&p.client_auth_choices)
    };
    let signs_with_key = auths().any(|a| {
        matches!(
            a.assertion,
            Some((crate::spec::AssertionSpec::PrivateKeyJwt, ..))
        )
    }) || p
        .flows
        .iter()
        .filter_map(|f| f.assertion.as_ref())
        .any(ir::GrantAssertion::signs_with_key);
    // Whether some method sends the secret or signs with it (a JWT-bearer grant without
    // `client_auth` sends no client credentials).
    let needs_secret = auths().any(|a| {
        a.basic.is_some()
            || !a.params.is_empty()
            || matches!(
                a.assertion,
                Some((crate::spec::AssertionSpec::ClientSecretJwt, ..))
            )
    }) || p
        .flows
        .iter()
        .filter_map(|f| f.assertion.as_ref())
        .any(|a| !a.signs_with_key());
    let certificate = wants_certificate(p);
    let identity_setter = certificate.then(|| {
        quote! {
            /// The client certificate and key presented in every TLS handshake (mutual TLS): the
            /// token requests and the API calls of [`Client::http_client`].
            /// `::tokenspec::ClientIdentity::from_pem_files("cert.pem", "key.pem")?` (or, with the
            /// `pkcs12` feature, `from_pkcs12_file`). Checked when the client is built.
            pub fn client_identity(mut self, identity: ::tokenspec::ClientIdentity) -> Self {
                self.settings = self.settings.client_identity(identity);
                self
            }
        }
    });
    // Patterns of the environments that want a certificate (unit variants have no fields).
    let needing: Vec<_> = p
        .environments
        .iter()
        .filter(|e| e.client_certificate)
        .map(|e| {
            let v = ident(&e.variant);
            if e.placeholders.is_empty() {
                quote!(Environment::#v)
            } else {
                quote!(Environment::#v { .. })
            }
        })
        .collect();
    let settings = if needing.is_empty() {
        quote!(self.settings)
    } else if needing.len() == p.environments.len() {
        quote!(self.settings.client_identity_required())
    } else {
        quote! {
            if ::std::matches!(environment, #(#needing)|*) {
                self.settings.client_identity_required()
            } else {
                self.settings
            }
        }
    };
    let secret_doc = if needs_secret {
        doc("Sets the client secret the provider issued. Required; never printed.")
    } else {
        doc("Not needed: this provider authenticates the client by its key ([`Self::client_key`]).")
    };
    let key_setter = signs_with_key.then(|| {
        quote! {
            /// The client's private key, which signs its assertions (a `private_key_jwt` client
            /// assertion, the JWT-bearer grant): `::tokenspec::ClientKey::from_pem_file("client.key")?`,
            /// with `.with_kid(..)` when the provider knows it by a key id, or the key of a
            /// [`::tokenspec::ServiceAccountKey`]. Required by the flows that sign with it.
            pub fn client_key(mut self, key: ::tokenspec::ClientKey) -> Self {
                self.settings = self.settings.client_key(key);
                self
            }
        }
    });
    quote! {
        #auth_enum

        /// Configures a [`Client`]; [`Client::builder`] makes one.
        #[derive(Debug, Default)]
        #[must_use]
        pub struct ClientBuilder {
            settings: ::tokenspec::Settings,
            environment: ::std::option::Option<Environment>,
            #(#fields)*
        }

        ::tokenspec::__private::builder_basics!(ClientBuilder, Environment);

        impl ClientBuilder {
            #secret_doc
            pub fn client_secret(mut self, client_secret: impl ::std::convert::Into<::tokenspec::SecretString>) -> Self {
                self.settings = self.settings.client_secret(client_secret);
                self
            }

            #redirect

            #auth_setter

            #key_setter

            #identity_setter

            #(#setters)*

            /// Checks the configuration and makes the client. No request is sent yet.
            pub fn build(self) -> ::std::result::Result<Client, Error> {
                let environment = #environment;
                let (template, placeholders) = environment.url_template();
                let config = ::std::vec![#(#values)*];
                let settings = #settings;
                let runtime = ::tokenspec::TokenClient::new(&PROVIDER, settings, template, &placeholders, config)?;
                ::std::result::Result::Ok(Client { runtime })
            }
        }
    }
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

pub(super) fn client(p: &Provider) -> TokenStream {
    let title = &p.title;
    let cached = p.cached_flow.map(|i| {
        let f = &p.flows[i];
        let header = format!("`{}: {}<token>{}`", p.api_header.name, p.api_header.prefix, p.api_header.suffix);
        let access_doc = doc(&format!(
            "Returns a valid access token: the cached one while it is fresh, otherwise a new one from\nthis request, sent once however many tasks ask at the same time:\n\n{}",
            request_summary(p, f).join("\n")
        ));
        let authorize_doc = doc(&format!("Adds {header} with a valid token to an API request."));
        let send_doc = doc(&format!(
            "Sends an API request with {header}; if the API answers `401 Unauthorized`, drops that\ntoken and retries once with a new one (when the request can be cloned)."
        ));
        quote! {
            #access_doc
            pub async fn access_token(&self) -> ::std::result::Result<::tokenspec::Token, Error> {
                ::std::result::Result::Ok(self.runtime.access_token().await?)
            }

            #authorize_doc
            pub async fn authorize(&self, request: ::tokenspec::reqwest::RequestBuilder) -> ::std::result::Result<::tokenspec::reqwest::RequestBuilder, Error> {
                ::std::result::Result::Ok(self.runtime.authorize(request).await?)
            }

            #send_doc
            pub async fn send(&self, request: ::tokenspec::reqwest::RequestBuilder) -> ::std::result::Result<::tokenspec::reqwest::Response, Error> {
                ::std::result::Result::Ok(self.runtime.send(request).await?)
            }
        }
    });
    let per_call = p
        .flows
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.cached)
        .map(|(index, f)| {
            let method = ident(&f.method_ident);
            let response = format_ident!("{}Response", f.type_prefix);
            let code_arg = code_slot(f);
            let args = call_args(p, f);
            let values = call_values(p, f);
            let validates = f.response.fields.iter().any(|field| field.derived);
            let mut text = match &f.doc {
                Some(d) => format!("{}\n\n", super::types::escape(d)),
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
            let d = doc(&text);
            let call = match code_arg {
                Some(i) => {
                    let code = ident(&f.call_params[i].ident);
                    quote!(self.runtime.exchange_code(#index, #code, values).await?)
                }
                None => quote!(self.runtime.request(#index, values).await?),
            };
            quote! {
                #d
                pub async fn #method(&self, #(#args),*) -> ::std::result::Result<#response, Error> {
                    let values = ::std::vec![#(#values)*];
                    ::std::result::Result::Ok(#call)
                }
            }
        });
    let authorization = (p.openid.is_some() || p.authorization.is_some()).then(|| {
        let nonce = if p.openid.is_some() { ", a `nonce`" } else { "" };
        let d = doc(&format!(
            "A new authorization request for a user to follow (fresh `state`{nonce} and PKCE\n\
             challenge, the builder's `redirect_uri`): send the user to its `url()`, keep it (in the\n\
             user's session) until the provider redirects back, then hand the redirect's `state`\n\
             and `code` to its `callback` for the code exchange."
        ));
        quote! {
            #d
            pub async fn authorization_request(&self, scope: &str) -> ::std::result::Result<::tokenspec::PendingAuthorization, Error> {
                ::std::result::Result::Ok(self.runtime.authorization_request(scope).await?)
            }
        }
    });
    let openid = p.openid.as_ref().map(|_| {
        quote! {
            /// Validates an ID token from this provider (OpenID Connect Core §3.1.3.7); `nonce` is
            /// the authorization request's, when one was sent.
            pub async fn validate_id_token(&self, id_token: &::tokenspec::IdToken, nonce: ::std::option::Option<&str>) -> ::std::result::Result<::tokenspec::oidc::IdTokenClaims, Error> {
                ::std::result::Result::Ok(self.runtime.validate_id_token(id_token, nonce).await?)
            }
        }
    });
    let basics = match p.cached_flow.map(|i| &p.flows[i]) {
        Some(f) => {
            let response = format_ident!("{}Response", f.type_prefix);
            quote!(::tokenspec::__private::client_basics!(Client, ClientBuilder, Error, cached #response);)
        }
        None => quote!(::tokenspec::__private::client_basics!(Client, ClientBuilder);),
    };
    let http_client = wants_certificate(p).then(|| {
        quote! {
            /// An HTTP client for the provider's API that presents the client certificate (mutual
            /// TLS), shared with the token requests (one per Tokio runtime, connections reused):
            /// build API requests with it, then [`Client::send`] them.
            pub fn http_client(&self) -> ::std::result::Result<::tokenspec::reqwest::Client, Error> {
                ::std::result::Result::Ok(self.runtime.http_client()?)
            }
        }
    });
    let sessions = sessions(p);
    let d = doc(&format!(
        "A {title} client. Cheap to clone; clones share one token cache."
    ));
    quote! {
        #d
        #[derive(Clone, Debug)]
        pub struct Client {
            runtime: ::tokenspec::TokenClient,
        }

        #basics

        impl Client {
            #cached

            #(#per_call)*

            #authorization

            #openid

            #sessions

            #http_client
        }
    }
}

/// The per-call slot of an authorization-code flow's `code`: the exchange takes it as an
/// `AuthorizationCode`, which carries the PKCE verifier, redirect URI and nonce of its
/// authorization request to the runtime.
fn code_slot(f: &ir::Flow) -> Option<usize> {
    (f.grant == ir::Grant::AuthorizationCode)
        .then(|| {
            f.params.iter().find_map(|param| match param.source {
                ir::ParamSource::Call(i) if param.wire == "code" => Some(i),
                _ => None,
            })
        })
        .flatten()
}

/// The arguments of a per-call flow's method.
fn call_args(p: &Provider, f: &ir::Flow) -> Vec<TokenStream> {
    let code_arg = code_slot(f);
    f.call_params
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = ident(&c.ident);
            if Some(i) == code_arg {
                return quote!(#id: ::tokenspec::AuthorizationCode);
            }
            let ty = arg_type(p, &c.ty);
            if c.required {
                quote!(#id: #ty)
            } else {
                let stored = stored_type(p, &c.ty);
                quote!(#id: ::std::option::Option<#stored>)
            }
        })
        .collect()
}

/// The runtime values of a per-call flow's arguments, in slot order (the code's slot empty:
/// the runtime fills it from the `AuthorizationCode`).
fn call_values(p: &Provider, f: &ir::Flow) -> Vec<TokenStream> {
    let code_arg = code_slot(f);
    f.call_params
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = ident(&c.ident);
            if Some(i) == code_arg {
                quote!(::std::option::Option::None,)
            } else if c.required {
                let stored = store(&c.ty, &quote!(#id));
                let stored_ty = stored_type(p, &c.ty);
                let convert = to_param_value(&c.ty, &quote!(v));
                quote!(::std::option::Option::Some({ let v: #stored_ty = #stored; #convert }),)
            } else {
                let value = optional_param_value(&c.ty, quote!(#id));
                quote!(#value,)
            }
        })
        .collect()
}

/// Users' sessions, for a spec with a code exchange: start one from a code, find one by key,
/// restore one from a kept refresh token. They renew through the spec's refresh grant, if it
/// has one.
fn sessions(p: &Provider) -> Option<TokenStream> {
    let refresh = p.renew_with.or_else(|| {
        p.flows
            .iter()
            .position(|f| f.grant == ir::Grant::RefreshToken)
    });
    let (index, f) = p
        .flows
        .iter()
        .enumerate()
        .find(|(_, f)| !f.cached && code_slot(f).is_some())?;
    let args = call_args(p, f);
    let values = call_values(p, f);
    let code = ident(&f.call_params[code_slot(f)?].ident);
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
    let start_doc = doc(&format!(
        "Exchanges `{code}` with the `{}` flow and keeps the answer as the session `key`: the\n\
         application's id for the user or connection (it replaces any session of that key).\n\
         {renewal}",
        f.name
    ));
    let restore = refresh.map(|_| {
        quote! {
            /// The session `key` from a refresh token the application kept in its own database;
            /// the first `access_token()` refreshes.
            pub fn restore_session(&self, key: impl ::std::convert::Into<::std::string::String>, refresh_token: ::tokenspec::RefreshToken) -> ::tokenspec::Session {
                self.runtime.restore_session(key, refresh_token)
            }
        }
    });
    Some(quote! {
        #start_doc
        pub async fn start_session(&self, key: impl ::std::convert::Into<::std::string::String>, #(#args),*) -> ::std::result::Result<::tokenspec::Session, Error> {
            let values = ::std::vec![#(#values)*];
            ::std::result::Result::Ok(self.runtime.start_session(#index, key, #code, values).await?)
        }

        /// The session `key`: the one this client holds, else the one its store holds (another
        /// process may have started it), else `None`: the user has to connect.
        pub async fn session(&self, key: &str) -> ::std::result::Result<::std::option::Option<::tokenspec::Session>, Error> {
            ::std::result::Result::Ok(self.runtime.session(key).await?)
        }

        #restore
    })
}

/// Whether the client needs a certificate: an environment wants mutual TLS, or a method
/// authenticates the client by its certificate (RFC 8705).
pub(crate) fn wants_certificate(p: &Provider) -> bool {
    p.environments.iter().any(|e| e.client_certificate)
        || p.flows
            .iter()
            .map(|f| &f.client_auth)
            .chain(&p.client_auth_choices)
            .any(|a| a.certificate.is_some())
}

/// Whether the spec sends users to the provider (an authorization endpoint, or a code
/// exchange), so the builder takes the redirect URI they come back to.
fn sends_users(p: &Provider) -> bool {
    p.openid.is_some()
        || p.authorization.is_some()
        || p.flows.iter().any(|f| code_slot(f).is_some())
}

/// For a spec listing several client authentication methods: the enum of them and the
/// builder's setter choosing one.
fn client_auth_methods(p: &Provider) -> (Option<TokenStream>, Option<TokenStream>) {
    let Some(first) = p.client_auth_choices.first() else {
        return (None, None);
    };
    let variants = p.client_auth_choices.iter().enumerate().map(|(i, method)| {
        let name = format_ident!("{}", method.method_name());
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
            };
            places.push(format!(
                "`{}` and `{}` in {place}",
                method.id_param, method.secret_param
            ));
        }
        let default = if i == 0 { " The default." } else { "" };
        let how = match &method.assertion {
            Some((crate::spec::AssertionSpec::ClientSecretJwt, algorithm, _)) => format!(
                "Signs a client assertion ({algorithm}) with the client secret, which never travels."
            ),
            Some((crate::spec::AssertionSpec::PrivateKeyJwt, algorithm, _)) => format!(
                "Signs a client assertion ({algorithm}) with the client's key (the builder's `client_key`)."
            ),
            None if method.certificate.is_some() => format!(
                "The client certificate authenticates the client (RFC 8705); only `{}` is sent.",
                method.id_param
            ),
            None => format!("Sends the credentials in {}.", places.join(" and ")),
        };
        let d = doc(&format!("{how}{default}"));
        let default_attr = (i == 0).then(|| quote!(#[default]));
        quote!(#d #default_attr #name,)
    });
    let first_name = first.method_name();
    let enum_doc = doc(&format!(
        "The ways {} accepts the client's credentials, in the order its spec lists them; the\n\
         builder's `client_auth_method` picks one (default `{first_name}`).",
        p.title
    ));
    let setter_doc = doc(&format!(
        "Chooses how the client authenticates (default [`ClientAuthMethod::{first_name}`]):\n\
         every flow without its own `client_auth` uses it."
    ));
    (
        Some(quote! {
            #enum_doc
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum ClientAuthMethod {
                #(#variants)*
            }
        }),
        Some(quote! {
            #setter_doc
            pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
                self.settings = self.settings.client_auth_choice(method as usize);
                self
            }
        }),
    )
}
