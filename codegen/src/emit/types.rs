//! The typed surface: environments, parameter enums, response fields and the error enum.

use super::text::{Source, string};
use crate::ir::{self, FieldType, Provider};

/// Escapes spec-provided text so rustdoc shows it literally.
pub(crate) fn escape(text: &str) -> String {
    escape_with(text, true)
}

/// Markdown a spec author wrote (a description): only its bare URLs go in code, which rustdoc
/// would warn about; its links and emphasis stay.
pub(crate) fn code_bare_urls(text: &str) -> String {
    escape_with(text, false)
}

/// Text for rustdoc: bare URLs in code and, with `brackets`, brackets and angle brackets outside
/// code escaped. Code blocks are left as written (and marked `text`): rustdoc shows them
/// verbatim, so an escape there would show.
fn escape_with(text: &str, brackets: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut prose: Vec<String> = Vec::new();
    for (line, in_block) in super::text::code_blocks(text) {
        if in_block {
            if !prose.is_empty() {
                out.push(escape_prose(&prose.join("\n"), brackets));
                prose.clear();
            }
            out.push(line);
        } else {
            prose.push(line);
        }
    }
    if !prose.is_empty() {
        out.push(escape_prose(&prose.join("\n"), brackets));
    }
    out.join("\n")
}

/// [`escape_with`] for text outside code blocks; inline code spans are left as written.
fn escape_prose(text: &str, brackets: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        // A bare URL outside code would warn (rustdoc's bare_urls): it goes in code.
        let starts_url = !in_code
            && (rest.starts_with("https://") || rest.starts_with("http://"))
            && !out.ends_with(|p: char| p.is_alphanumeric());
        if starts_url {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
            out.push('`');
            out.push_str(url);
            out.push('`');
            rest = &rest[url.len()..];
            continue;
        }
        if c == '`' {
            in_code = !in_code;
        }
        // Brackets would become intra-doc links and angle brackets HTML tags; both warn.
        if brackets && !in_code && matches!(c, '\\' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

pub(super) fn environment(p: &Provider, s: &mut Source) {
    s.doc("Where token requests go.");
    let copy = if p.environments.iter().all(|e| e.placeholders.is_empty()) {
        "Copy, "
    } else {
        ""
    };
    // A default environment without placeholders is derived (`#[default]` on its variant).
    let derived_default = p
        .default_environment
        .is_some_and(|i| p.environments[i].placeholders.is_empty());
    let default = if derived_default { "Default, " } else { "" };
    s.line(format_args!(
        "#[derive(Clone, {copy}{default}Debug, PartialEq, Eq, Hash)]"
    ));
    s.line("#[non_exhaustive]");
    s.open("pub enum Environment {");
    for (i, e) in p.environments.iter().enumerate() {
        let mut text = format!("`{}`: `{}`", e.name, e.url);
        if let Some(d) = &e.doc {
            text.push_str(&format!("\n\n{}", escape(d)));
        }
        if p.default_environment == Some(i) {
            text.push_str("\n\nThe default.");
        }
        s.doc(&text);
        if derived_default && p.default_environment == Some(i) {
            s.line("#[default]");
        }
        if e.placeholders.is_empty() {
            s.line(format_args!("{},", e.variant));
        } else {
            s.open(format_args!("{} {{", e.variant));
            for (name, field) in &e.placeholders {
                s.doc(&format!("Fills `{{{name}}}` in the URL."));
                s.line(format_args!("{field}: ::std::string::String,"));
            }
            s.close("},");
        }
    }
    s.close("}");
    s.open("impl Environment {");
    s.doc("The base URL template and the value of each `{placeholder}` in it.");
    s.open("pub fn url_template(&self) -> (&'static str, ::std::vec::Vec<(&'static str, &str)>) {");
    s.open("match self {");
    for e in &p.environments {
        let url = string(&e.url);
        if e.placeholders.is_empty() {
            s.line(format_args!(
                "Self::{} => ({url}, ::std::vec::Vec::new()),",
                e.variant
            ));
        } else {
            let fields: Vec<&str> = e.placeholders.iter().map(|(_, f)| f.as_str()).collect();
            let values: Vec<String> = e
                .placeholders
                .iter()
                .map(|(name, field)| format!("({}, {field}.as_str())", string(name)))
                .collect();
            s.open(format_args!(
                "Self::{} {{ {} }} => (",
                e.variant,
                fields.join(", ")
            ));
            s.line(format_args!("{url},"));
            s.line(format_args!("::std::vec![{}],", values.join(", ")));
            s.close("),");
        }
    }
    s.close("}");
    s.close("}");
    s.doc("The environment's name in the spec, as tracing fields and metrics labels name it.");
    s.open("pub fn name(&self) -> &'static str {");
    s.open("match self {");
    for e in &p.environments {
        let pattern = if e.placeholders.is_empty() {
            ""
        } else {
            " { .. }"
        };
        s.line(format_args!(
            "Self::{}{pattern} => {},",
            e.variant,
            string(&e.name)
        ));
    }
    s.close("}");
    s.close("}");
    s.close("}");
    if let Some(i) = p.default_environment.filter(|_| !derived_default) {
        s.open("impl ::std::default::Default for Environment {");
        s.open("fn default() -> Self {");
        s.line(format_args!("Self::{}", p.environments[i].variant));
        s.close("}");
        s.close("}");
    }
}

pub(super) fn enumeration(e: &ir::EnumType, s: &mut Source) {
    let name = &e.ident;
    let mut text = format!("A value of the `{}` parameter.", e.param);
    if let Some(d) = &e.doc {
        text.push_str(&format!("\n\n{}", escape(d)));
    }
    s.doc(&text);
    s.line("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]");
    s.line("#[non_exhaustive]");
    s.open(format_args!("pub enum {name} {{"));
    for (wire, variant) in &e.values {
        s.doc(&format!("`{wire}`"));
        s.line(format_args!("{variant},"));
    }
    s.close("}");
    s.open(format_args!("impl {name} {{"));
    s.doc("Every value, in the order the spec lists them.");
    s.open("pub const ALL: &'static [Self] = &[");
    for (_, variant) in &e.values {
        s.line(format_args!("Self::{variant},"));
    }
    s.close("];");
    s.doc("The value as sent on the wire.");
    s.open("pub const fn as_str(self) -> &'static str {");
    s.open("match self {");
    for (wire, variant) in &e.values {
        s.line(format_args!("Self::{variant} => {},", string(wire)));
    }
    s.close("}");
    s.close("}");
    s.close("}");
    s.open(format_args!("impl ::std::fmt::Display for {name} {{"));
    s.open("fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {");
    s.line("f.write_str(self.as_str())");
    s.close("}");
    s.close("}");
}

fn field_type(f: &ir::Field) -> String {
    let base = match (f.ty, f.secret_kind) {
        (_, Some(kind)) => format!("::tokenspec::{kind}"),
        (FieldType::String, _) => "::std::string::String".into(),
        (FieldType::Secret, _) => "::tokenspec::SecretString".into(),
        (FieldType::Integer, _) => "i64".into(),
        (FieldType::Number, _) => "f64".into(),
        (FieldType::Boolean, _) => "bool".into(),
        (FieldType::Json, _) => "::tokenspec::JsonValue".into(),
    };
    if f.required {
        base
    } else {
        format!("::std::option::Option<{base}>")
    }
}

pub(super) fn fields(f: &ir::Flow, s: &mut Source) {
    let name = format!("{}Fields", f.type_prefix);
    let method = format!("{:?}", f.method).to_uppercase();
    s.doc(&format!(
        "What `{method} {}` ({} flow `{}`) returns besides the token itself.",
        f.shown_path(),
        grant_text(f.grant),
        f.name
    ));
    s.line("#[derive(Clone, Debug)]");
    s.line("#[non_exhaustive]");
    if f.response.fields.is_empty() {
        s.line(format_args!("pub struct {name} {{}}"));
    } else {
        s.open(format_args!("pub struct {name} {{"));
        // Secret fields are secrecy or tokenspec secret types, whose Debug is redacted.
        for field in &f.response.fields {
            s.doc(&escape(&field.doc));
            s.line(format_args!("pub {}: {},", field.ident, field_type(field)));
        }
        s.close("}");
    }
    s.open(format_args!(
        "impl ::tokenspec::__private::FromFields for {name} {{"
    ));
    s.open("fn from_fields(");
    if f.response.fields.is_empty() {
        s.line("_fields: &mut ::tokenspec::__private::Fields,");
        s.reopen(") -> ::std::result::Result<Self, ::tokenspec::Error> {");
        s.line("::std::result::Result::Ok(Self {})");
    } else {
        s.line("fields: &mut ::tokenspec::__private::Fields,");
        s.reopen(") -> ::std::result::Result<Self, ::tokenspec::Error> {");
        s.open("::std::result::Result::Ok(Self {");
        for field in &f.response.fields {
            let (take, question) = if field.required {
                ("require", "?")
            } else {
                ("take", "")
            };
            s.line(format_args!(
                "{}: fields.{take}({}){question},",
                field.ident,
                string(&field.key)
            ));
        }
        s.close("})");
    }
    s.close("}");
    s.close("}");
    s.doc(&format!(
        "The answer to the `{}` flow: the token and [`{name}`].",
        f.name
    ));
    s.line(format_args!(
        "pub type {}Response = ::tokenspec::TokenResponse<{name}>;",
        f.type_prefix
    ));
}

fn grant_text(g: ir::Grant) -> &'static str {
    match g {
        ir::Grant::ClientCredentials => "client_credentials",
        ir::Grant::AuthorizationCode => "authorization_code",
        ir::Grant::RefreshToken => "refresh_token",
        ir::Grant::DeviceCode => "device_code",
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

pub(super) fn error(p: &Provider, s: &mut Source) {
    let documented = |name: &str| p.errors.iter().any(|e| e.variant == name);
    // A documented error of the same name takes the standard code's place.
    let standard: Vec<_> = STANDARD_ERRORS
        .iter()
        .filter(|(_, name, _)| !documented(name))
        .collect();
    s.doc(&format!(
        "Everything that can go wrong getting a {} token: each error the provider documents, then each RFC 6749 §5.2 error code, as its own variant.",
        p.title
    ));
    s.line("#[derive(Clone, Debug)]");
    s.line("#[non_exhaustive]");
    s.open("pub enum Error {");
    for e in &p.errors {
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
        s.doc(&text);
        s.line(format_args!("{}(::tokenspec::Error),", e.variant));
    }
    for (code, name, meaning) in &standard {
        s.doc(&format!(
            "The provider answered with the RFC 6749 error code `{code}`.\n\n{meaning}"
        ));
        s.line(format_args!("{name}(::tokenspec::Error),"));
    }
    s.doc("Any other failure: network, an unexpected answer, or the client's configuration.");
    s.line("Other(::tokenspec::Error),");
    s.close("}");
    // The macro writes the impls every provider's `Error` shares; it takes every variant but
    // `Other`, then the documented errors in spec order.
    s.open("::tokenspec::__private::provider_error!(");
    s.line("Error,");
    let documented: Vec<&str> = p.errors.iter().map(|e| e.variant.as_str()).collect();
    let every: Vec<&str> = documented
        .iter()
        .copied()
        .chain(standard.iter().map(|(_, name, _)| *name))
        .collect();
    s.list(&every, ",");
    s.list(&documented, "");
    s.close(");");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_are_shown_as_written_and_the_prose_around_them_escaped() {
        let doc = "See [x] at https://a.example.\n\n~~~~\nlet a = [1]; // <b>\n~~~~\n\n    indented [y]\n\nAfter <z>.";
        assert_eq!(
            escape(doc),
            "See \\[x\\] at `https://a.example`.\n\n~~~~text\nlet a = [1]; // <b>\n~~~~\n\n```text\n    indented [y]\n\n```\nAfter \\<z\\>."
        );
    }
}
