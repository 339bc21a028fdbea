//! The only stage that judges a spec: [`Spec`] in, [`ir::Provider`] or every problem out.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity, YamlPath};
use crate::ir::{self, Body, FieldType, Grant, Literal, Location, Method, ParamSource, ParamType};
use crate::naming::{Names, camel_ident, snake_ident};
use crate::spec::*;
use crate::surface::{Owner, generated_methods};

mod environments;
pub(crate) use environments::carries_user_info;
mod errors;
mod flows;
mod openid;
mod params;
mod response;
pub(crate) use response::shown;

/// Identifiers every generated module defines itself.
const RESERVED_TYPES: &[&str] = &[
    "Client",
    "ClientBuilder",
    "Environment",
    "Error",
    "PROVIDER",
];

/// Checks a spec and builds its IR. Warnings come back with the IR; any error means no IR.
pub fn validate(
    spec: &Spec,
    stem: &str,
    file: &str,
) -> Result<(ir::Provider, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut cx = Cx::default();
    let provider = cx.provider(spec, stem, file);
    if cx.diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Err(cx.diagnostics)
    } else {
        Ok((provider, cx.diagnostics))
    }
}

#[derive(Default)]
struct Cx {
    diagnostics: Vec<Diagnostic>,
    /// Each builder setting's identifier and where the spec names it.
    settings_at: Vec<(String, YamlPath)>,
    /// Whether some environment wants the client certificate (mutual TLS).
    certificate_wanted: bool,
}

fn root() -> YamlPath {
    YamlPath::root()
}

fn split_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

impl Cx {
    fn error(&mut self, path: &YamlPath, message: impl Into<String>, help: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(path, message).help(help));
    }

    fn warn(&mut self, path: &YamlPath, message: impl Into<String>, help: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(path, message).help(help));
    }

    fn provider(&mut self, spec: &Spec, stem: &str, file: &str) -> ir::Provider {
        let name = spec.name.clone().unwrap_or_else(|| stem.to_owned());
        let module = snake_ident(&name);
        if module.starts_with("r#") || module.ends_with('_') || module != name {
            let at = if spec.name.is_some() {
                root().key("name")
            } else {
                root()
            };
            let plain = module.trim_start_matches("r#").trim_end_matches('_');
            if plain == name {
                self.error(
                    &at,
                    format!("provider name `{name}` is a Rust keyword, so it cannot name a module"),
                    format!("name the file (or set `name:`) something else, e.g. `{name}_api`"),
                );
            } else {
                self.error(
                    &at,
                    format!("provider name `{name}` is not a plain snake_case Rust module name"),
                    format!("name the file (or set `name:`) `{plain}`"),
                );
            }
        }
        if spec.title.trim().is_empty() {
            self.error(
                &root().key("title"),
                "`title` is empty",
                "write the provider's name as users know it",
            );
        }
        if let Some(docs) = &spec.docs
            && self.without_user_info(docs, &root().key("docs"))
            && !docs.starts_with("https://")
            && !docs.starts_with("http://")
        {
            self.error(
                &root().key("docs"),
                "`docs` is not a link",
                "give the URL of the provider's token documentation",
            );
        }

        let checked = self.checked(spec);

        let environments = self.environments(spec);
        self.certificate_wanted = environments.iter().any(|e| e.client_certificate);
        let default_environment = match &spec.default_environment {
            None => None,
            Some(wanted) => {
                let found = environments.iter().position(|e| &e.name == wanted);
                if found.is_none() {
                    let names: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
                    let hint = match crate::diagnostics::closest(wanted, names.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("use one of: {}", names.join(", ")),
                    };
                    self.error(
                        &root().key("default_environment"),
                        format!("no environment is called `{wanted}`"),
                        hint,
                    );
                }
                if let Some(env) = found.map(|i| &environments[i])
                    && !env.placeholders.is_empty()
                {
                    self.error(
                            &root().key("default_environment"),
                            format!("environment `{wanted}` has placeholders, so it cannot be chosen by default"),
                            "remove `default_environment`; callers then pick the environment and fill its placeholders",
                        );
                }
                found
            }
        };

        let retry = self.retry(spec.retry.as_ref());
        let openid = spec.openid.as_ref().map(|o| self.openid(o, &environments));
        let authorization = self.authorization(spec, &environments);
        let revocation = self.revocation(spec);
        let device_authorization = self.device_authorization(spec);
        let client_auth_choices = self.client_auth_choices(spec);
        let refresh_margin = spec.refresh_margin.unwrap_or(60);
        if refresh_margin > 86_400 {
            self.error(
                &root().key("refresh_margin"),
                format!("refresh margin of {refresh_margin} s is over a day"),
                "the margin is in seconds; providers' own advice is usually 30 to 300",
            );
        }
        let api_header = self.api_header(spec.api_header.as_ref());
        if spec.dpop && spec.api_header.is_some() {
            self.error(
                &root().key("api_header"),
                "DPoP-bound tokens go in `Authorization: DPoP <token>` (RFC 9449 §7.1), not in another header",
                "remove `api_header`, or `dpop` if the provider does not bind tokens",
            );
        }

        let mut enums = Vec::new();
        let mut config_params: Vec<ir::ConfigParam> = Vec::new();
        let mut type_names =
            Names::reserved(RESERVED_TYPES, "a type every generated module defines");
        if !client_auth_choices.is_empty() {
            // The enum the builder's `client_auth_method` takes, for a list of methods only.
            let _ = type_names.claim(
                "ClientAuthMethod",
                "the enum of this spec's client authentication methods",
            );
        }
        let mut methods = Names::default();
        let mut flows = Vec::new();
        if spec.flows.is_empty() {
            self.error(
                &root().key("flows"),
                "the spec has no flows",
                "add at least one token request under `flows:`",
            );
        }
        for (flow_name, flow) in &spec.flows {
            let at = root().key("flows").key(flow_name);
            let built = self.flow(
                spec,
                flow_name,
                flow,
                &at,
                &mut enums,
                &mut config_params,
                &mut type_names,
            );
            if !built.cached
                && let Err(previous) = methods.claim(&built.method_ident, flow_name)
            {
                self.error(
                    &at,
                    format!(
                        "flows `{previous}` and `{flow_name}` would both generate method `{}`",
                        built.method_ident
                    ),
                    "rename one of them",
                );
            }
            flows.push(built);
        }
        let cached: Vec<usize> = flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.cached)
            .map(|(i, _)| i)
            .collect();
        if let Some((first, others)) = cached.split_first() {
            for other in others {
                self.error(
                    &root().key("flows").key(&flows[*other].name),
                    format!(
                        "flow `{}` fetches the client's own token too, as `{}` does; only one can back `access_token()`",
                        flows[*other].name, flows[*first].name
                    ),
                    "keep one cached flow, or give this one a `from: call` parameter",
                );
            }
        }

        let api_headers = self.api_headers(
            spec,
            &api_header,
            &mut enums,
            &mut config_params,
            &mut type_names,
        );
        let renew_with = self.renew_with(spec, &flows, cached.first().copied());
        let errors = self.errors(spec, &mut type_names);
        let error_answer = self.error_answer(spec.error_answer.as_ref());
        let provider = ir::Provider {
            file: file.to_owned(),
            module,
            title: spec.title.trim().to_owned(),
            docs: spec.docs.clone(),
            catalog: spec.catalog,
            checked,
            description: spec.description.clone(),
            environments,
            default_environment,
            allow_insecure_http: spec.allow_insecure_http,
            refresh_margin,
            retry,
            openid,
            authorization,
            revocation,
            device_authorization,
            client_auth_choices,
            dpop: spec.dpop,
            api_header,
            api_headers,
            cached_flow: cached.first().copied(),
            renew_with,
            flows,
            config_params,
            enums,
            errors,
            error_answer,
        };
        self.generated_name_clashes(&provider);
        provider
    }

    /// Refuses a per-call flow or a builder setting named like a method the module generated
    /// from this spec defines on the same type (`surface::GENERATED_NAMES`): two inherent
    /// methods of one name do not compile. A name that clashes only with a method this spec
    /// does not generate is fine.
    fn generated_name_clashes(&mut self, provider: &ir::Provider) {
        let client: Vec<&str> = generated_methods(provider, Owner::Client).collect();
        for flow in provider.flows.iter().filter(|f| !f.cached) {
            if client.contains(&flow.method_ident.as_str()) {
                let at = root().key("flows").key(&flow.name);
                self.error(
                    &at,
                    format!(
                        "flow `{}` would generate method `Client::{}`, which this spec's client already has",
                        flow.name, flow.method_ident
                    ),
                    format!("rename the flow, e.g. `{}_token`", flow.method_ident),
                );
            }
        }
        let builder: Vec<&str> = generated_methods(provider, Owner::Builder).collect();
        let settings = std::mem::take(&mut self.settings_at);
        let mut seen = Vec::new();
        for (ident, at) in settings {
            if builder.contains(&ident.as_str()) && !seen.contains(&ident) {
                self.error(
                    &at,
                    format!(
                        "builder setting `{ident}` would generate `ClientBuilder::{ident}`, which this spec's builder already has"
                    ),
                    format!("set `rust_name:` to another name, e.g. `{ident}_param`"),
                );
                seen.push(ident);
            }
        }
    }

    fn retry(&mut self, spec: Option<&RetrySpec>) -> (u32, u64, u64) {
        let at = root().key("retry");
        let attempts = spec.and_then(|r| r.attempts).unwrap_or(3);
        let initial = spec.and_then(|r| r.initial_backoff_ms).unwrap_or(200);
        let max = spec.and_then(|r| r.max_backoff_ms).unwrap_or(5_000);
        if !(1..=10).contains(&attempts) {
            self.error(
                &at.key("attempts"),
                format!("{attempts} attempts is outside 1 to 10"),
                "1 disables retries; 3 is usual",
            );
        }
        if max > 60_000 {
            self.error(
                &at.key("max_backoff_ms"),
                format!("a {max} ms backoff is over a minute"),
                "callers wait for these retries; keep it at a few seconds",
            );
        }
        if initial == 0 || initial > max {
            self.error(&at.key("initial_backoff_ms"), format!("initial backoff {initial} ms must be above 0 and at most max_backoff_ms ({max})"), "e.g. 200");
        }
        (attempts, initial, max)
    }

    fn api_header(&mut self, header: Option<&ApiHeaderSpec>) -> ir::ApiHeader {
        let at = root().key("api_header");
        let name = header
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| "Authorization".to_owned());
        let value = header
            .and_then(|h| h.value.clone())
            .unwrap_or_else(|| "Bearer {token}".to_owned());
        if flows::header_name_problem(&name).is_some() {
            self.error(
                &at.key("name"),
                format!("`{name}` is not a valid HTTP header name"),
                "use letters, digits and `-`, e.g. `AccessToken`",
            );
        }
        let pieces: Vec<&str> = value.split("{token}").collect();
        for piece in &pieces {
            if let Some(open) = piece.find('{') {
                let name = piece[open + 1..].split('}').next().unwrap_or("");
                let hint = match crate::diagnostics::closest(name, ["token"]) {
                    Some(_) => "did you mean `{token}`?".to_owned(),
                    None => "the only placeholder a header value knows is `{token}`".to_owned(),
                };
                self.error(
                    &at.key("value"),
                    format!("unknown placeholder `{{{name}}}` in the header value"),
                    hint,
                );
            }
        }
        if pieces.len() != 2 {
            self.error(
                &at.key("value"),
                format!("header value `{value}` must contain `{{token}}` exactly once"),
                "e.g. `Bearer {token}` or `{token}`",
            );
        }
        if value.chars().any(|c| c.is_control()) {
            self.error(
                &at.key("value"),
                "header value contains control characters",
                "remove line breaks and tabs",
            );
        }
        ir::ApiHeader {
            name,
            prefix: pieces.first().copied().unwrap_or("").to_owned(),
            suffix: pieces.get(1).copied().unwrap_or("").to_owned(),
        }
    }
}

impl Cx {
    /// `error_answer:`: paths checked, the failure value a literal.
    fn error_answer(&mut self, spec: Option<&ErrorAnswerSpec>) -> ir::ErrorAnswer {
        let Some(spec) = spec else {
            return ir::ErrorAnswer::default();
        };
        let at = root().key("error_answer");
        let mut path = |p: &Option<String>, key: &str| {
            p.as_ref().map(|p| {
                self.check_path(p, &at.key(key));
                split_path(p)
            })
        };
        let code = path(&spec.code, "code");
        let message = path(&spec.message, "message");
        let failed_when = spec.failed_when.as_ref().map(|f| {
            let fat = at.key("failed_when");
            self.check_path(&f.path, &fat.key("path"));
            let value = literal(&f.equals).unwrap_or_else(|| {
                self.error(
                    &fat.key("equals"),
                    "`equals` is the value that means failure: text, a whole number or a boolean",
                    "e.g. `equals: false` for `{\"ok\": false}`",
                );
                Literal::Bool(false)
            });
            (split_path(&f.path), value)
        });
        if code.is_none() && message.is_none() && failed_when.is_none() {
            self.error(
                &at,
                "`error_answer` says nothing",
                "give `code`, `message` and/or `failed_when`, or remove it",
            );
        }
        ir::ErrorAnswer {
            code,
            message,
            failed_when,
        }
    }

    /// `api_headers:`: headers every API call carries besides the token's, each fixed or a
    /// builder setting (shared with a flow's parameter of the same name and declaration).
    fn api_headers(
        &mut self,
        spec: &Spec,
        api_header: &ir::ApiHeader,
        enums: &mut Vec<ir::EnumType>,
        config_params: &mut Vec<ir::ConfigParam>,
        type_names: &mut Names,
    ) -> Vec<ir::Param> {
        let mut seen = vec![api_header.name.to_ascii_lowercase()];
        let mut headers = Vec::new();
        for (name, param) in &spec.api_headers {
            let at = root().key("api_headers").key(name);
            if param.location.is_some() {
                self.error(
                    &at.key("in"),
                    format!("`in:` means nothing for `{name}`: every API header goes in a header"),
                    "remove it",
                );
            }
            self.header_param(name, param, &at, false);
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                self.error(
                    &at,
                    format!("header `{name}` is already sent on API calls"),
                    if lower == seen[0] {
                        "the token goes in it (`api_header`); remove this one"
                    } else {
                        "header names compare without case; keep one"
                    },
                );
            }
            seen.push(lower);
            let source = self.param(
                name,
                param,
                &at,
                enums,
                config_params,
                &mut Vec::new(),
                &mut Names::default(),
                type_names,
            );
            if matches!(source, ParamSource::Call(_)) {
                self.error(
                    &at.key("from"),
                    format!("header `{name}` of the API calls cannot come from a call"),
                    "make it a builder setting (remove `from: call`) or a fixed `value`",
                );
            }
            if matches!(param.ty, Some(crate::spec::ParamTypeSpec::Scalar(crate::spec::ScalarTypeSpec::SecretFile))) {
                self.error(
                    &at.key("type"),
                    format!("header `{name}` of the API calls cannot be a `secret_file`"),
                    "API headers are set once when the client is built; read the file in the application and pass the value as `type: secret`",
                );
            }
            headers.push(ir::Param {
                wire: name.clone(),
                location: Location::Header,
                source,
            });
        }
        headers
    }
}

fn spec_params(flow: &FlowSpec) -> Vec<(String, ParamSpec)> {
    flow.params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn literal(value: &serde_yaml::Value) -> Option<Literal> {
    match value {
        serde_yaml::Value::String(s) => Some(Literal::Str(s.clone())),
        serde_yaml::Value::Bool(b) => Some(Literal::Bool(*b)),
        serde_yaml::Value::Number(n) => n.as_i64().map(Literal::Int),
        _ => None,
    }
}

impl Cx {
    /// `checked:`: a readable document and a real day, asked of catalog specs so that
    /// `generated/PROVIDERS.md` can say what each provider was compared with, and when. Its
    /// absence is a warning, not an error: a spec written before the key existed still builds
    /// (tokenspec's own catalog requires it in `tests/catalog.rs`).
    fn checked(&mut self, spec: &Spec) -> Option<ir::Checked> {
        let Some(checked) = &spec.checked else {
            if spec.catalog.is_some() {
                self.warn(
                    &root().key("catalog"),
                    "a catalog spec does not say which document its facts were checked against",
                    "add `checked: { against: <the page read>, on: <YYYY-MM-DD> }`; the catalog shows `—` until then",
                );
            }
            return None;
        };
        let at = root().key("checked");
        let against = checked.against.trim();
        if !self.without_user_info(against, &at.key("against")) {
            return None;
        }
        let readable = (against.starts_with("https://") && against.len() > "https://".len())
            || (against.starts_with("shared/seeds/") && !against.contains(".."));
        if !readable {
            self.error(
                &at.key("against"),
                "`against` names no document",
                "give the https:// URL of the page read (a repository file at its commit), or its `shared/seeds/` path",
            );
        }
        if !is_calendar_day(checked.on.trim()) {
            self.error(
                &at.key("on"),
                format!("`{}` is not a date (YYYY-MM-DD) that exists", checked.on.escape_debug()),
                "write the day the document was read, e.g. `2026-12-07`",
            );
        }
        let third_party = checked.third_party.as_deref().map(str::trim);
        if third_party.is_some_and(str::is_empty) {
            self.error(
                &at.key("third_party"),
                "`third_party` names nobody",
                "say who published the document (`a community Ruby gem, ruby-banco-brasil/bb-oauth`), or leave the key out when the provider did",
            );
        }
        readable.then(|| ir::Checked {
            against: against.to_owned(),
            on: checked.on.trim().to_owned(),
            third_party: third_party.filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }
}

/// `YYYY-MM-DD` naming a day that exists (leap years included).
fn is_calendar_day(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1970 && (1..=days).contains(&d)
}

#[cfg(test)]
mod calendar_tests {
    use super::is_calendar_day;

    #[test]
    fn only_days_that_exist_written_yyyy_mm_dd_are_days() {
        assert!(is_calendar_day("2026-12-07"));
        assert!(is_calendar_day("2024-02-29"));
        assert!(!is_calendar_day("2026-02-29"));
        assert!(!is_calendar_day("2026-13-01"));
        assert!(!is_calendar_day("2026-12-7"));
        assert!(!is_calendar_day("07/12/2026"));
        assert!(!is_calendar_day("2026-12-07T00:00"));
    }
}
