//! The declarative description of the provider that the runtime executes.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{self, Provider};

fn path(segments: &[String]) -> TokenStream {
    quote!(&[#(#segments),*])
}

fn opt_str(s: Option<&String>) -> TokenStream {
    match s {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    }
}

fn location(l: ir::Location) -> TokenStream {
    match l {
        ir::Location::Query => quote!(Location::Query),
        ir::Location::Body => quote!(Location::Body),
        ir::Location::Assertion => quote!(Location::Assertion),
    }
}

/// How long a client assertion is valid: short, as RFC 7523 §3 advises, with room for the
/// request's retries.
const CLIENT_ASSERTION_LIFETIME: u64 = 60;

fn assertion(
    signer: TokenStream,
    algorithm: &str,
    audience: Option<&String>,
    lifetime: u64,
) -> TokenStream {
    let audience = opt_str(audience);
    quote!(Assertion { signer: Signer::#signer, algorithm: #algorithm, audience: #audience, lifetime_secs: #lifetime })
}

fn flow(p: &Provider, f: &ir::Flow) -> TokenStream {
    let _ = p;
    let name = &f.name;
    let path_lit = &f.path;
    let grant = match f.grant {
        ir::Grant::ClientCredentials => quote!(ClientCredentials),
        ir::Grant::AuthorizationCode => quote!(AuthorizationCode),
        ir::Grant::RefreshToken => quote!(RefreshToken),
        ir::Grant::Custom => quote!(Custom),
        ir::Grant::JwtBearer => {
            let a = f
                .assertion
                .as_ref()
                .expect("validation gives every jwt_bearer flow its assertion");
            let signer = if a.signs_with_key() {
                quote!(PrivateKey)
            } else {
                quote!(ClientSecret)
            };
            let assertion = assertion(signer, &a.algorithm, a.audience.as_ref(), a.lifetime);
            quote!(JwtBearer(#assertion))
        }
    };
    let method = match f.method {
        ir::Method::Get => quote!(Get),
        ir::Method::Post => quote!(Post),
        ir::Method::Put => quote!(Put),
    };
    let body = match f.body {
        ir::Body::Form => quote!(Form),
        ir::Body::Json => quote!(Json),
        ir::Body::None => quote!(None),
    };
    let client_auth = client_auth(&f.client_auth);
    let params = f.params.iter().map(|q| {
        let wire = &q.wire;
        let loc = location(q.location);
        let source = match &q.source {
            ir::ParamSource::Fixed(ir::Literal::Str(s)) => quote!(Fixed(Literal::Text(#s))),
            ir::ParamSource::Fixed(ir::Literal::Int(i)) => quote!(Fixed(Literal::Integer(#i))),
            ir::ParamSource::Fixed(ir::Literal::Bool(b)) => quote!(Fixed(Literal::Boolean(#b))),
            ir::ParamSource::Config(i) => quote!(Config(#i)),
            ir::ParamSource::Call(i) => quote!(Call(#i)),
        };
        quote!(Param { name: #wire, location: #loc, source: Source::#source },)
    });
    let call_params = f.call_params.iter().map(|c| {
        let name = &c.ident.trim_start_matches("r#");
        let required = c.required;
        quote!(Slot { name: #name, required: #required },)
    });
    let access = path(&f.response.access_token);
    let fields = f
        .response
        .fields
        .iter()
        .filter(|field| !field.derived)
        .map(|field| {
            let key = &field.key;
            let p = path(&field.path);
            let ty = match field.ty {
                ir::FieldType::String => quote!(Text),
                ir::FieldType::Secret => quote!(Secret),
                ir::FieldType::Integer => quote!(Integer),
                ir::FieldType::Number => quote!(Number),
                ir::FieldType::Boolean => quote!(Boolean),
                ir::FieldType::Json => quote!(Json),
            };
            let required = field.required;
            quote!(Field { key: #key, path: #p, kind: FieldKind::#ty, required: #required },)
        });
    let expiry = match &f.expiry {
        ir::Expiry::ExpiresIn {
            path: p,
            when_absent,
        } => {
            let p = path(p);
            let w = match when_absent {
                Some(s) => quote!(Some(#s)),
                None => quote!(None),
            };
            quote!(ExpiresIn { path: #p, when_absent: #w })
        }
        ir::Expiry::At { path: p, format } => {
            let p = path(p);
            let format = match format {
                ir::TimeFormat::Rfc3339 => quote!(Rfc3339),
                ir::TimeFormat::EpochSeconds => quote!(EpochSeconds),
                ir::TimeFormat::EpochMillis => quote!(EpochMillis),
            };
            quote!(At { path: #p, format: TimeFormat::#format })
        }
        ir::Expiry::JwtExp { path: p } => {
            let p = path(p);
            quote!(JwtExp { path: #p })
        }
        ir::Expiry::Lifetime(s) => quote!(Lifetime(#s)),
        ir::Expiry::Never => quote!(Never),
    };
    quote! {
        Flow {
            name: #name,
            grant: Grant::#grant,
            method: Method::#method,
            path: #path_lit,
            body: Body::#body,
            client_auth: #client_auth,
            params: &[#(#params)*],
            call_params: &[#(#call_params)*],
            access_token: #access,
            fields: &[#(#fields)*],
            expiry: Expiry::#expiry,
        },
    }
}

pub(super) fn provider(p: &Provider) -> TokenStream {
    let name = &p.module;
    let title = &p.title;
    let docs = opt_str(p.docs.as_ref());
    let allow_http = p.allow_insecure_http;
    let margin = p.refresh_margin;
    let (attempts, initial, max) = p.retry;
    let openid = match &p.openid {
        None => quote!(None),
        Some(o) => {
            let issuer = opt_str(o.issuer.as_ref());
            let algorithms = &o.algorithms;
            let jwks = opt_str(o.jwks_path.as_ref());
            let authorization = opt_str(o.authorization_path.as_ref());
            let leeway = o.leeway_secs;
            quote!(Some(OpenId {
                issuer: #issuer,
                algorithms: &[#(#algorithms),*],
                jwks_path: #jwks,
                authorization_path: #authorization,
                leeway_secs: #leeway,
            }))
        }
    };
    let authorization = match &p.authorization {
        None => quote!(None),
        Some(a) => {
            let issuer = opt_str(a.issuer.as_ref());
            let path = opt_str(a.path.as_ref());
            quote!(Some(Authorization { issuer: #issuer, path: #path }))
        }
    };
    let choices = p.client_auth_choices.iter().map(client_auth);
    let revocation = match &p.revocation {
        None => quote!(None),
        Some(path) => {
            let path = opt_str(path.as_ref());
            quote!(Some(Revocation { path: #path }))
        }
    };
    let header_name = &p.api_header.name;
    let prefix = &p.api_header.prefix;
    let suffix = &p.api_header.suffix;
    let flows = p.flows.iter().map(|f| flow(p, f));
    let cached = match p.cached_flow {
        Some(i) => quote!(Some(#i)),
        None => quote!(None),
    };
    let renew_with = match p.renew_with {
        Some(i) => quote!(Some(#i)),
        None => quote!(None),
    };
    let config = p.config_params.iter().map(|c| {
        let name = c.ident.trim_start_matches("r#");
        let required = c.required;
        quote!(Slot { name: #name, required: #required },)
    });
    let errors = p.errors.iter().map(|e| {
        let variant = &e.variant;
        let message = opt_str(e.message.as_ref());
        let code = opt_str(e.code.as_ref());
        let status = match e.status {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        quote!(KnownError { name: #variant, message: #message, code: #code, status: #status },)
    });
    quote! {
        /// What the runtime needs to know about this provider, as declared in its spec.
        pub static PROVIDER: ::tokenspec::__private::descriptor::Provider = {
            use ::tokenspec::__private::descriptor::*;
            Provider {
            name: #name,
            title: #title,
            docs: #docs,
            allow_insecure_http: #allow_http,
            refresh_margin_secs: #margin,
            openid: #openid,
            authorization: #authorization,
            revocation: #revocation,
            client_auth_choices: &[#(#choices),*],
            retry: Retry { attempts: #attempts, initial_backoff_ms: #initial, max_backoff_ms: #max },
            api_header: ApiHeader { name: #header_name, prefix: #prefix, suffix: #suffix },
            flows: &[#(#flows)*],
            cached_flow: #cached,
            renew_with: #renew_with,
            config: &[#(#config)*],
            errors: &[#(#errors)*],
            }
        };
    }
}

/// A `ClientAuth` literal.
fn client_auth(auth: &ir::ClientAuth) -> TokenStream {
    let basic = match auth.basic {
        Some(ir::BasicEncoding::Raw) => quote!(Some(BasicEncoding::Raw)),
        Some(ir::BasicEncoding::Rfc6749) => quote!(Some(BasicEncoding::Rfc6749)),
        Some(ir::BasicEncoding::Percent) => quote!(Some(BasicEncoding::Percent)),
        None => quote!(None),
    };
    let locations = auth.params.iter().map(|l| location(*l));
    let id_param = &auth.id_param;
    let secret_param = &auth.secret_param;
    let assertion = match &auth.assertion {
        None => quote!(None),
        Some((kind, algorithm, audience)) => {
            let signer = match kind {
                crate::spec::AssertionSpec::ClientSecretJwt => quote!(ClientSecret),
                crate::spec::AssertionSpec::PrivateKeyJwt => quote!(PrivateKey),
            };
            let assertion = assertion(
                signer,
                algorithm,
                audience.as_ref(),
                CLIENT_ASSERTION_LIFETIME,
            );
            quote!(Some(#assertion))
        }
    };
    let certificate = auth.certificate.is_some();
    quote! {
        ClientAuth {
            basic: #basic,
            params: &[#(#locations),*],
            id_param: #id_param,
            secret_param: #secret_param,
            assertion: #assertion,
            certificate: #certificate,
        }
    }
}
