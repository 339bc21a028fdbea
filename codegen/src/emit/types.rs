//! The typed surface: environments, parameter enums, response fields and the error enum.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc, ident};
use crate::ir::{self, FieldType, Provider};

/// Escapes spec-provided text so rustdoc shows it literally.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Brackets would become intra-doc links and angle brackets HTML tags; both warn.
        if matches!(c, '\\' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn environment(p: &Provider) -> TokenStream {
    let variants = p.environments.iter().map(|e| {
        let variant = ident(&e.variant);
        let mut text = format!("`{}`: `{}`", e.name, e.url);
        if let Some(d) = &e.doc {
            text.push_str(&format!("\n\n{}", escape(d)));
        }
        if Some(e.name.as_str())
            == p.default_environment
                .map(|i| p.environments[i].name.as_str())
        {
            text.push_str("\n\nThe default.");
        }
        let docs = doc(&text);
        if e.placeholders.is_empty() {
            quote!(#docs #variant,)
        } else {
            let fields = e.placeholders.iter().map(|(name, field)| {
                let field = ident(field);
                let d = doc(&format!("Fills `{{{name}}}` in the URL."));
                quote!(#d #field: ::std::string::String,)
            });
            quote!(#docs #variant { #(#fields)* },)
        }
    });
    let arms = p.environments.iter().map(|e| {
        let variant = ident(&e.variant);
        let url = &e.url;
        if e.placeholders.is_empty() {
            quote!(Self::#variant => (#url, ::std::vec::Vec::new()),)
        } else {
            let names = e.placeholders.iter().map(|(n, _)| n);
            let fields: Vec<_> = e.placeholders.iter().map(|(_, f)| ident(f)).collect();
            quote!(Self::#variant { #(#fields),* } => (#url, ::std::vec![#((#names, #fields.as_str())),*]),)
        }
    });
    let default_impl = p.default_environment.map(|i| {
        let variant = ident(&p.environments[i].variant);
        quote! {
            impl ::std::default::Default for Environment {
                fn default() -> Self { Self::#variant }
            }
        }
    });
    let copy = if p.environments.iter().all(|e| e.placeholders.is_empty()) {
        quote!(Copy,)
    } else {
        quote!()
    };
    quote! {
        /// Where token requests go.
        #[derive(Clone, #copy Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Environment {
            #(#variants)*
        }

        impl Environment {
            /// The base URL template and the value of each `{placeholder}` in it.
            pub fn url_template(&self) -> (&'static str, ::std::vec::Vec<(&'static str, &str)>) {
                match self {
                    #(#arms)*
                }
            }
        }

        #default_impl
    }
}

pub(super) fn enumeration(e: &ir::EnumType) -> TokenStream {
    let name = ident(&e.ident);
    let variants = e.values.iter().map(|(wire, variant)| {
        let v = ident(variant);
        let d = doc(&format!("`{wire}`"));
        quote!(#d #v,)
    });
    let all = e.values.iter().map(|(_, variant)| ident(variant));
    let arms = e.values.iter().map(|(wire, variant)| {
        let v = ident(variant);
        quote!(Self::#v => #wire,)
    });
    let mut text = format!("A value of the `{}` parameter.", e.param);
    if let Some(d) = &e.doc {
        text.push_str(&format!("\n\n{}", escape(d)));
    }
    let docs = doc(&text);
    quote! {
        #docs
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// Every value, in the order the spec lists them.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

            /// The value as sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(#arms)*
                }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

fn field_type(f: &ir::Field) -> TokenStream {
    let base = match (f.ty, f.secret_kind) {
        (_, Some(kind)) => {
            let path: TokenStream = kind.parse().unwrap_or_default();
            quote!(::tokenspec::#path)
        }
        (FieldType::String, _) => quote!(::std::string::String),
        (FieldType::Secret, _) => quote!(::tokenspec::SecretString),
        (FieldType::Integer, _) => quote!(i64),
        (FieldType::Number, _) => quote!(f64),
        (FieldType::Boolean, _) => quote!(bool),
        (FieldType::Json, _) => quote!(::tokenspec::JsonValue),
    };
    if f.required {
        base
    } else {
        quote!(::std::option::Option<#base>)
    }
}

pub(super) fn fields(p: &Provider, f: &ir::Flow) -> TokenStream {
    let name = format_ident!("{}Fields", f.type_prefix);
    let response = format_ident!("{}Response", f.type_prefix);
    let decls = f.response.fields.iter().map(|field| {
        let id = ident(&field.ident);
        let ty = field_type(field);
        let d = doc(&escape(&field.doc));
        quote!(#d pub #id: #ty,)
    });
    let takes = f.response.fields.iter().map(|field| {
        let id = ident(&field.ident);
        let key = &field.key;
        if field.required {
            quote!(#id: fields.require(#key)?,)
        } else {
            quote!(#id: fields.take(#key),)
        }
    });
    let method = format!("{:?}", f.method).to_uppercase();
    let fields_doc = doc(&format!(
        "What `{method} {}` ({} flow `{}`) returns besides the token itself.",
        f.path,
        grant_text(f.grant),
        f.name
    ));
    let response_doc = doc(&format!(
        "The answer to the `{}` flow: the token and [`{name}`].",
        f.name
    ));
    let _ = p;
    let fields_arg = if f.response.fields.is_empty() {
        quote!(_fields)
    } else {
        quote!(fields)
    };
    quote! {
        #fields_doc
        // Secret fields are secrecy or tokenspec secret types, whose Debug is redacted.
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub struct #name {
            #(#decls)*
        }

        impl ::tokenspec::__private::FromFields for #name {
            fn from_fields(#fields_arg: &mut ::tokenspec::__private::Fields) -> ::std::result::Result<Self, ::tokenspec::Error> {
                ::std::result::Result::Ok(Self { #(#takes)* })
            }
        }

        #response_doc
        pub type #response = ::tokenspec::TokenResponse<#name>;
    }
}

fn grant_text(g: ir::Grant) -> &'static str {
    match g {
        ir::Grant::ClientCredentials => "client_credentials",
        ir::Grant::AuthorizationCode => "authorization_code",
        ir::Grant::RefreshToken => "refresh_token",
        ir::Grant::Custom => "custom",
        ir::Grant::JwtBearer => "jwt_bearer",
    }
}

/// The error codes of RFC 6749 §5.2 every token endpoint may answer with, as variants of every
/// generated `Error`, with what each means for the caller.
const STANDARD_ERRORS: [(&str, &str, &str); 6] = [
    (
        "invalid_request",
        "InvalidRequest",
        "The request is missing a parameter or has a malformed one: compare the spec with the provider's documentation.",
    ),
    (
        "invalid_client",
        "InvalidClient",
        "The client could not be authenticated: check the client id and secret, and where the spec sends them.",
    ),
    (
        "invalid_grant",
        "InvalidGrant",
        "The authorization code or refresh token is invalid, expired, revoked or already used: start the authorization again.",
    ),
    (
        "unauthorized_client",
        "UnauthorizedClient",
        "The provider has not enabled this grant type for this client.",
    ),
    (
        "unsupported_grant_type",
        "UnsupportedGrantType",
        "The provider does not support this grant type at this endpoint.",
    ),
    (
        "invalid_scope",
        "InvalidScope",
        "A requested scope is invalid, unknown, or more than this client may ask for.",
    ),
];

pub(super) fn error(p: &Provider) -> TokenStream {
    let documented = |name: &str| p.errors.iter().any(|e| e.variant == name);
    // A documented error of the same name takes the standard code's place.
    let standard: Vec<_> = STANDARD_ERRORS
        .iter()
        .filter(|(_, name, _)| !documented(name))
        .collect();
    let standard_variants = standard.iter().map(|(code, name, meaning)| {
        let v = ident(name);
        let d = doc(&format!(
            "The provider answered with the RFC 6749 error code `{code}`.\n\n{meaning}"
        ));
        quote!(#d #v(::tokenspec::Error),)
    });
    let variants = p.errors.iter().map(|e| {
        let v = ident(&e.variant);
        let mut text = match (&e.message, &e.code) {
            (Some(m), _) => format!("The provider answered \"{}\".", escape(m)),
            (None, Some(c)) => format!("The provider answered with error code `{c}`."),
            (None, None) => String::new(),
        };
        if let Some(status) = e.status {
            text.push_str(&format!(" (HTTP {status})"));
        }
        if let Some(d) = &e.doc {
            text.push_str(&format!("\n\n{}", escape(d)));
        }
        let d = doc(&text);
        quote!(#d #v(::tokenspec::Error),)
    });
    let all = p
        .errors
        .iter()
        .map(|e| ident(&e.variant))
        .chain(standard.iter().map(|(_, name, _)| ident(name)));
    let documented_variants = p.errors.iter().map(|e| ident(&e.variant));
    let title = &p.title;
    let d = doc(&format!(
        "Everything that can go wrong getting a {title} token: each error the provider documents, then each RFC 6749 §5.2 error code, as its own variant."
    ));
    quote! {
        #d
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum Error {
            #(#variants)*
            #(#standard_variants)*
            /// Any other failure: network, an unexpected answer, or the client's configuration.
            Other(::tokenspec::Error),
        }

        ::tokenspec::__private::provider_error!(Error, [#(#all),*], [#(#documented_variants),*]);
    }
}
