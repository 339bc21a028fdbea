//! `explain`: what a generated client will send and how it reads the answer, as curl commands
//! with the credentials left in shell variables, for reviewers and for debugging a provider.

use std::fmt::Write as _;

use crate::emit::{expiry_text, literal_text};
use crate::ir::{self, Provider};

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A value in a curl command: spelled out, or a shell variable holding a credential.
enum Value {
    Literal(String),
    Variable(&'static str),
}

/// `name=value` as one shell word: single-quoted, or double-quoted around a variable.
fn pair(name: &str, value: &Value) -> String {
    joined(name, "=", value)
}

/// `name<between>value` as one shell word.
fn joined(name: &str, between: &str, value: &Value) -> String {
    match value {
        Value::Literal(v) => shell_quote(&format!("{name}{between}{v}")),
        Value::Variable(var) => {
            let escaped: String = name
                .chars()
                .flat_map(|c| {
                    if "\\\"$`".contains(c) {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            format!("\"{escaped}{between}${var}\"")
        }
    }
}

/// `"name": value` inside a single-quoted JSON body.
fn json_member(name: &str, value: &Value, typed: bool) -> String {
    let key = serde_json_string(name);
    match value {
        Value::Variable(var) => format!("{key}: \"'\"${var}\"'\""),
        Value::Literal(v) if typed => format!("{key}: {v}"),
        Value::Literal(v) => format!("{key}: {}", serde_json_string(v)),
    }
}

/// A JSON string literal, safe inside single quotes.
fn serde_json_string(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            '\'' => "'\\''".chars().collect(),
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

fn value_of(p: &Provider, f: &ir::Flow, param: &ir::Param) -> String {
    match &param.source {
        ir::ParamSource::Fixed(l) => literal_text(l),
        ir::ParamSource::Config(i) => match &p.config_params[*i].default {
            Some(ir::Default::Literal(l)) => literal_text(l),
            Some(ir::Default::Enum(v)) => match &p.config_params[*i].ty {
                ir::ParamType::Enum(e) | ir::ParamType::Set(e, _) => {
                    p.enums[*e].values[*v].0.clone()
                }
                _ => String::new(),
            },
            Some(ir::Default::Set(values)) => match &p.config_params[*i].ty {
                ir::ParamType::Set(e, sep) => values
                    .iter()
                    .map(|v| p.enums[*e].values[*v].0.as_str())
                    .collect::<Vec<_>>()
                    .join(sep),
                _ => String::new(),
            },
            // Read at every request; curl reads a file into a parameter with `name@path`.
            None if p.config_params[*i].ty == ir::ParamType::SecretFile => format!(
                "<contents of the {} file>",
                p.config_params[*i].ident.trim_start_matches("r#")
            ),
            None => format!("<{}>", p.config_params[*i].ident.trim_start_matches("r#")),
        },
        ir::ParamSource::Call(i) => {
            format!("<{}>", f.call_params[*i].ident.trim_start_matches("r#"))
        }
    }
}

/// Whether a parameter goes into JSON as a number or boolean rather than a string.
fn sent_as_json_scalar(p: &Provider, param: &ir::Param) -> bool {
    match &param.source {
        ir::ParamSource::Fixed(l) => !matches!(l, ir::Literal::Str(_)),
        ir::ParamSource::Config(i) => matches!(
            p.config_params[*i].ty,
            ir::ParamType::Integer | ir::ParamType::Boolean
        ),
        ir::ParamSource::Call(_) => false,
    }
}

/// The explanation of every flow of a provider.
pub fn explain(p: &Provider) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} ({}), from {}", p.title, p.module, p.file);
    let _ = writeln!(
        out,
        "# Set CLIENT_ID and CLIENT_SECRET in your shell to run these; tokenspec never prints them."
    );
    let env = p
        .default_environment
        .map_or(&p.environments[0], |i| &p.environments[i]);
    if !env.placeholders.is_empty() || p.environments.len() > 1 {
        let others: Vec<&str> = p.environments.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(
            out,
            "# Base URL: the `{}` environment ({}); environments: {}",
            env.name,
            env.url,
            others.join(", ")
        );
    }
    for f in &p.flows {
        let _ = writeln!(out);
        let what = if f.cached {
            format!(
                "the client's own token, behind access_token(): cached, renewed {} s before expiry (at most half its lifetime), one request for all concurrent callers",
                p.refresh_margin
            )
        } else {
            let args: Vec<&str> = f
                .call_params
                .iter()
                .map(|c| c.ident.trim_start_matches("r#"))
                .collect();
            format!(
                "{}({}): one request per call, not cached",
                f.method_ident,
                args.join(", ")
            )
        };
        let _ = writeln!(out, "# flow `{}`: {what}", f.name);
        // A flow without a path sends to the token endpoint the server's metadata names,
        // known only when the client runs: the command reads it from a shell variable.
        let url = match &f.path {
            Some(path) => format!("{}{path}", env.url.trim_end_matches('/')),
            None => {
                let _ = writeln!(
                    out,
                    "# TOKEN_ENDPOINT: `token_endpoint` of the authorization server's metadata (`mtls_endpoint_aliases.token_endpoint` with a client certificate)"
                );
                "$TOKEN_ENDPOINT".to_owned()
            }
        };
        let mut query = Vec::new();
        let mut body = Vec::new();
        let mut headers = Vec::new();
        for location in &f.client_auth.params {
            let target = match location {
                ir::Location::Query => &mut query,
                ir::Location::Header => &mut headers,
                _ => &mut body,
            };
            target.push((f.client_auth.id_param.clone(), Value::Variable("CLIENT_ID")));
            target.push((
                f.client_auth.secret_param.clone(),
                Value::Variable("CLIENT_SECRET"),
            ));
        }
        let mut claims = Vec::new();
        for param in &f.params {
            let target = match param.location {
                ir::Location::Query => &mut query,
                ir::Location::Body => &mut body,
                ir::Location::Header => &mut headers,
                ir::Location::Assertion => {
                    claims.push(format!("{}={}", param.wire, value_of(p, f, param)));
                    continue;
                }
            };
            target.push((param.wire.clone(), Value::Literal(value_of(p, f, param))));
        }
        if let Some(a) = &f.assertion {
            let signer = if a.signs_with_key() {
                "with the client's private key"
            } else {
                "with CLIENT_SECRET"
            };
            let audience = a.audience.clone().unwrap_or_else(|| url.clone());
            if !f
                .params
                .iter()
                .any(|q| q.location == ir::Location::Assertion && q.wire == "sub")
            {
                claims.insert(0, "sub=CLIENT_ID".into());
            }
            let _ = writeln!(
                out,
                "# ASSERTION: a JWT signed {} {signer}: iss=CLIENT_ID, aud={audience}, iat=now, exp=iat+{}{}",
                a.algorithm,
                a.lifetime,
                if claims.is_empty() {
                    String::new()
                } else {
                    format!(", {}", claims.join(", "))
                }
            );
            body.push(("assertion".into(), Value::Variable("ASSERTION")));
        }
        if let Some((kind, algorithm, _)) = &f.client_auth.assertion {
            let signer = match kind {
                crate::spec::AssertionSpec::ClientSecretJwt => "with CLIENT_SECRET",
                crate::spec::AssertionSpec::PrivateKeyJwt => "with the client's private key",
                crate::spec::AssertionSpec::Federated => "",
            };
            let _ = if signer.is_empty() {
                writeln!(
                    out,
                    "# CLIENT_ASSERTION: the contents of the client assertion file (a JWT another identity provider issued, e.g. \"$(cat \"$AZURE_FEDERATED_TOKEN_FILE\")\")"
                )
            } else {
                writeln!(
                    out,
                    "# CLIENT_ASSERTION: a JWT signed {algorithm} {signer} (RFC 7523 §3 claims)"
                )
            };
            body.push((f.client_auth.id_param.clone(), Value::Variable("CLIENT_ID")));
            body.push((
                "client_assertion_type".into(),
                Value::Literal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
            ));
            body.push((
                "client_assertion".into(),
                Value::Variable("CLIENT_ASSERTION"),
            ));
        }
        let method = format!("{:?}", f.method).to_uppercase();
        if f.client_auth.basic == Some(ir::BasicEncoding::Rfc6749) {
            let _ = writeln!(
                out,
                "# Basic credentials per RFC 6749 §2.3.1: form-urlencode id and secret first"
            );
        }
        if f.client_auth.basic == Some(ir::BasicEncoding::Percent) {
            let _ = writeln!(
                out,
                "# Basic credentials percent-encoded first: everything but A-Z a-z 0-9 - . _ ~ as %XX (a space as %20)"
            );
        }
        let mut lines = vec![format!("curl -X {method}")];
        if crate::surface::When::Certificate.holds(p) {
            lines.push("--cert client.pem --key client.key".into());
        }
        if let Some(kind) = f.client_auth.certificate {
            let _ = writeln!(
                out,
                "# the client certificate authenticates the client ({}, RFC 8705): only {} is sent",
                kind.name(),
                f.client_auth.id_param
            );
            body.push((f.client_auth.id_param.clone(), Value::Variable("CLIENT_ID")));
        }
        for (k, v) in &query {
            // --url-query (curl 7.87+) URL-encodes like --data-urlencode, into the query string.
            lines.push(format!("--url-query {}", pair(k, v)));
        }
        lines.push("-H 'Accept: application/json'".into());
        if p.dpop {
            let _ = writeln!(
                out,
                "# DPOP_PROOF: a JWT signed ES256 with the client's DPoP key, naming this request (RFC 9449 §4)"
            );
            lines.push("-H \"DPoP: $DPOP_PROOF\"".into());
        }
        for (k, v) in &headers {
            lines.push(format!("-H {}", joined(k, ": ", v)));
        }
        match f.client_auth.basic {
            Some(ir::BasicEncoding::Raw) => lines.push("-u \"$CLIENT_ID:$CLIENT_SECRET\"".into()),
            Some(ir::BasicEncoding::Rfc6749) => lines
                .push("-u \"$CLIENT_ID_FORM_URLENCODED:$CLIENT_SECRET_FORM_URLENCODED\"".into()),
            Some(ir::BasicEncoding::Percent) => lines
                .push("-u \"$CLIENT_ID_PERCENT_ENCODED:$CLIENT_SECRET_PERCENT_ENCODED\"".into()),
            None => {}
        }
        match f.body {
            ir::Body::Form => {
                lines.push("-H 'Content-Type: application/x-www-form-urlencoded'".into());
                for (k, v) in &body {
                    lines.push(format!("--data-urlencode {}", pair(k, v)));
                }
            }
            ir::Body::Multipart => {
                // curl -F writes multipart/form-data; `name=value` is a text part.
                for (k, v) in &body {
                    lines.push(format!("-F {}", pair(k, v)));
                }
            }
            ir::Body::Json => {
                lines.push("-H 'Content-Type: application/json'".into());
                let members: Vec<String> = body
                    .iter()
                    .map(|(k, v)| {
                        json_member(
                            k,
                            v,
                            f.params
                                .iter()
                                .any(|q| &q.wire == k && sent_as_json_scalar(p, q)),
                        )
                    })
                    .collect();
                lines.push(format!("--data-raw '{{{}}}'", members.join(", ")));
            }
            ir::Body::None => {}
        }
        lines.push(if f.path.is_some() {
            shell_quote(&url)
        } else {
            format!("\"{url}\"")
        });
        let _ = writeln!(out, "{}", lines.join(" \\\n  "));
        let failed = match &p.error_answer.failed_when {
            Some((path, value)) => format!(", `{}` = {}", path.join("."), literal_text(value)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "# answer: any 2xx with a JSON object; an `error` member{failed}, 4xx or 5xx is an error"
        );
        let (code, message) = (&p.error_answer.code, &p.error_answer.message);
        if code.is_some() || message.is_some() {
            let shown = |p: &Option<Vec<String>>, default: &str| {
                p.as_ref().map_or(default.to_owned(), |p| p.join("."))
            };
            let _ = writeln!(
                out,
                "#   errors read: code <- `{}`, message <- `{}`",
                shown(code, "error"),
                shown(message, "error_description")
            );
        }
        let _ = writeln!(
            out,
            "#   access token  <- {}",
            crate::validate::shown(&f.response.access_token)
        );
        for field in &f.response.fields {
            let from = if field.derived {
                "the validated ID token".to_owned()
            } else {
                crate::validate::shown(&field.paths)
            };
            let _ = writeln!(
                out,
                "#   {:<13} <- {from}{}",
                field.key,
                if field.required { " (required)" } else { "" }
            );
        }
        let _ = writeln!(out, "#   lifetime      <- {}", expiry_text(&f.expiry));
    }
    if p.cached_flow.is_some() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "# API calls carry: {}",
            crate::emit::api_headers(p).join(", ")
        );
    }
    for e in &p.errors {
        let mut matches = Vec::new();
        if let Some(m) = &e.message {
            matches.push(format!("message \"{m}\""));
        }
        if let Some(c) = &e.code {
            matches.push(format!("error code `{c}`"));
        }
        if let Some(s) = e.status {
            matches.push(format!("HTTP {s}"));
        }
        let _ = writeln!(
            out,
            "# Error::{} when the answer has {}",
            e.variant,
            matches.join(" and ")
        );
    }
    out
}
