//! The only stage that judges a spec: [`Spec`] in, [`ir::Provider`] or every problem out.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity, YamlPath};
use crate::ir::{self, Body, FieldType, Grant, Literal, Location, Method, ParamSource, ParamType};
use crate::naming::{Names, camel_ident, snake_ident};
use crate::spec::*;

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
            self.error(
                &at,
                format!("provider name `{name}` is not a plain snake_case Rust module name"),
                format!(
                    "name the file (or set `name:`) `{}`",
                    module.trim_start_matches("r#").trim_end_matches('_')
                ),
            );
        }
        if spec.title.trim().is_empty() {
            self.error(
                &root().key("title"),
                "`title` is empty",
                "write the provider's name as users know it",
            );
        }
        if let Some(docs) = &spec.docs
            && !docs.starts_with("https://")
            && !docs.starts_with("http://")
        {
            self.error(
                &root().key("docs"),
                "`docs` is not a link",
                "give the URL of the provider's token documentation",
            );
        }

        let environments = self.environments(spec);
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
        let openid = spec.openid.as_ref().map(|o| self.openid(o));
        let refresh_margin = spec.refresh_margin.unwrap_or(60);
        if refresh_margin > 86_400 {
            self.error(
                &root().key("refresh_margin"),
                format!("refresh margin of {refresh_margin} s is over a day"),
                "the margin is in seconds; providers' own advice is usually 30 to 300",
            );
        }
        let api_header = self.api_header(spec.api_header.as_ref());

        let mut enums = Vec::new();
        let mut config_params: Vec<ir::ConfigParam> = Vec::new();
        let mut type_names =
            Names::reserved(RESERVED_TYPES, "a type every generated module defines");
        let mut methods = Names::reserved(
            &[
                "builder",
                "access_token",
                "authorize",
                "invalidate",
                "send",
                "token_response",
                "provider",
                "runtime",
            ],
            "a method every generated client has",
        );
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
                self.error(&at, format!("flow `{flow_name}` would generate method `{}`, which clashes with {previous}", built.method_ident), "rename the flow");
            }
            flows.push(built);
        }
        let cached: Vec<usize> = flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.cached)
            .map(|(i, _)| i)
            .collect();
        if cached.len() > 1 {
            let names: Vec<&str> = cached.iter().map(|i| flows[*i].name.as_str()).collect();
            self.error(
                &root().key("flows"),
                format!(
                    "flows {} all fetch the client's own token; only one can back `access_token()`",
                    names.join(", ")
                ),
                "keep one client_credentials flow, or give the others a `from: call` parameter",
            );
        }

        let errors = self.errors(spec, &mut type_names);
        ir::Provider {
            file: file.to_owned(),
            module,
            title: spec.title.trim().to_owned(),
            docs: spec.docs.clone(),
            description: spec.description.clone(),
            environments,
            default_environment,
            allow_insecure_http: spec.allow_insecure_http,
            refresh_margin,
            retry,
            openid,
            api_header,
            cached_flow: cached.first().copied(),
            flows,
            config_params,
            enums,
            errors,
        }
    }

    fn openid(&mut self, spec: &OpenIdSpec) -> ir::OpenId {
        let at = root().key("openid");
        const KNOWN: &[&str] = &[
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "HS256",
            "HS384", "HS512", "EdDSA",
        ];
        if spec.algorithms.is_empty() {
            self.error(
                &at.key("algorithms"),
                "no signature algorithm is allowed",
                "list what the provider signs with, e.g. `[RS256]`",
            );
        }
        for (i, alg) in spec.algorithms.iter().enumerate() {
            if alg.eq_ignore_ascii_case("none") {
                self.error(
                    &at.key("algorithms").index(i),
                    "`none` means unsigned tokens, which anyone can forge",
                    "remove it",
                );
            } else if !KNOWN.contains(&alg.as_str()) {
                let hint = match crate::diagnostics::closest(alg, KNOWN.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("use one of: {}", KNOWN.join(", ")),
                };
                self.error(
                    &at.key("algorithms").index(i),
                    format!("unknown signature algorithm `{alg}`"),
                    hint,
                );
            }
        }
        for (key, path) in [
            ("jwks_path", &spec.jwks_path),
            ("authorization_path", &spec.authorization_path),
        ] {
            if path.as_ref().is_some_and(|p| !p.starts_with('/')) {
                self.error(
                    &at.key(key),
                    "the path must start with `/`",
                    "it is appended to the issuer",
                );
            }
        }
        if let Some(issuer) = &spec.issuer {
            self.url_template(issuer, &at.key("issuer"), false);
        }
        ir::OpenId {
            issuer: spec.issuer.clone(),
            algorithms: spec.algorithms.clone(),
            jwks_path: spec.jwks_path.clone(),
            authorization_path: spec.authorization_path.clone(),
            leeway_secs: spec.leeway_secs.unwrap_or(60),
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

    fn environments(&mut self, spec: &Spec) -> Vec<ir::Environment> {
        let mut out = Vec::new();
        let mut variants = Names::default();
        if spec.environments.is_empty() {
            self.error(
                &root().key("environments"),
                "the spec has no environments",
                "add one, e.g. `production: https://api.example.com`",
            );
        }
        for (name, env) in &spec.environments {
            let at = root().key("environments").key(name);
            let variant = camel_ident(name);
            if let Err(previous) = variants.claim(&variant, name) {
                self.error(
                    &at,
                    format!(
                        "environments `{previous}` and `{name}` both become variant `{variant}`"
                    ),
                    "rename one of them",
                );
            }
            let url = env.url();
            let placeholders = self.url_template(url, &at, spec.allow_insecure_http);
            out.push(ir::Environment {
                name: name.clone(),
                variant,
                url: url.to_owned(),
                doc: env.doc().map(str::to_owned),
                placeholders,
            });
        }
        out
    }

    /// Checks a base URL template and returns its placeholders.
    fn url_template(&mut self, url: &str, at: &YamlPath, insecure: bool) -> Vec<(String, String)> {
        let scheme_ok = url.starts_with("https://") || (insecure && url.starts_with("http://"));
        if url.starts_with("http://") && !insecure {
            self.error(
                at,
                format!("`{url}` is plain http: credentials would cross the network unencrypted"),
                "use https://, or set `allow_insecure_http: true` for a local test server",
            );
        } else if !scheme_ok {
            self.error(
                at,
                format!("`{url}` is not an absolute https:// URL"),
                "write the full base URL, e.g. https://api.example.com",
            );
        }
        if url.contains('?') || url.contains('#') {
            self.error(
                at,
                "a base URL cannot carry a query or fragment",
                "put query parameters under the flow's `params:` with `in: query`",
            );
        }
        let mut placeholders = Vec::new();
        let mut names = Names::default();
        let mut rest = url;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                self.error(
                    at,
                    format!("`{url}` has a `}}` without a matching `{{`"),
                    "placeholders look like `{tenant}`",
                );
                break;
            }
            let Some(close) = rest[open..].find('}') else {
                self.error(
                    at,
                    format!("`{url}` has a `{{` without a matching `}}`"),
                    "placeholders look like `{tenant}`",
                );
                break;
            };
            let name = &rest[open + 1..open + close];
            let ident = snake_ident(name);
            if name.is_empty() || ident.trim_start_matches("r#") != name {
                self.error(
                    at,
                    format!("placeholder `{{{name}}}` is not a snake_case name"),
                    format!(
                        "call it `{{{}}}`",
                        ident.trim_start_matches("r#").trim_end_matches('_')
                    ),
                );
            } else if names.claim(&ident, name).is_ok() {
                placeholders.push((name.to_owned(), ident));
            }
            rest = &rest[open + close + 1..];
        }
        placeholders
    }

    fn api_header(&mut self, header: Option<&ApiHeaderSpec>) -> ir::ApiHeader {
        let at = root().key("api_header");
        let name = header
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| "Authorization".to_owned());
        let value = header
            .and_then(|h| h.value.clone())
            .unwrap_or_else(|| "Bearer {token}".to_owned());
        let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token_char) {
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

    #[allow(clippy::too_many_arguments)]
    fn flow(
        &mut self,
        spec: &Spec,
        name: &str,
        flow: &FlowSpec,
        at: &YamlPath,
        enums: &mut Vec<ir::EnumType>,
        config_params: &mut Vec<ir::ConfigParam>,
        type_names: &mut Names,
    ) -> ir::Flow {
        let method_ident = snake_ident(name);
        if method_ident != name {
            self.error(
                at,
                format!("flow name `{name}` is not a snake_case Rust name"),
                format!(
                    "call it `{}`",
                    method_ident.trim_start_matches("r#").trim_end_matches('_')
                ),
            );
        }
        if !flow.path.starts_with('/') || flow.path.contains(['?', '#', '{', '}']) {
            self.error(
                &at.key("path"),
                format!(
                    "path `{}` must start with `/` and carry no query, fragment or placeholder",
                    flow.path
                ),
                "e.g. `/oauth/token`; put query parameters under `params:` with `in: query`",
            );
        }
        let body = flow.body.unwrap_or(Body::Form);
        let method = flow.method.unwrap_or(Method::Post);
        if method == Method::Get && body != Body::None {
            self.error(
                &at.key("body"),
                "a GET request cannot carry a body",
                "set `body: none` and send parameters `in: query`",
            );
        }
        let default_location = if body == Body::None {
            Location::Query
        } else {
            Location::Body
        };

        // Point at the `client_auth` the flow really uses: its own, or the spec-wide one.
        let auth_at = if flow.client_auth.is_some() {
            at.key("client_auth")
        } else {
            root().key("client_auth")
        };
        let client_auth = self.client_auth(
            flow.client_auth.as_ref().or(spec.client_auth.as_ref()),
            at,
            &auth_at,
            body,
        );
        let mut params = Vec::new();
        let mut call_params = Vec::new();
        let mut wire_names: BTreeMap<String, String> = BTreeMap::new();
        for location in &client_auth.params {
            wire_names.insert(
                format!("{location:?}:{}", client_auth.id_param),
                "the client id".into(),
            );
            wire_names.insert(
                format!("{location:?}:{}", client_auth.secret_param),
                "the client secret".into(),
            );
        }
        let mut arg_names = Names::reserved(&["self"], "the receiver");
        for (wire, param) in &spec_params(flow) {
            let pat = at.key("params").key(wire);
            let location = param.location.unwrap_or(default_location);
            if location == Location::Body && body == Body::None {
                self.error(
                    &pat.key("in"),
                    format!("parameter `{wire}` goes in the body, but the flow sends none"),
                    "set the flow's `body:` to `form` or `json`, or send it `in: query`",
                );
            }
            if let Some(what) = wire_names.insert(format!("{location:?}:{wire}"), wire.clone()) {
                self.error(
                    &pat,
                    format!("parameter `{wire}` is already sent there as {what}"),
                    "remove one of them",
                );
            }
            let source = self.param(
                wire,
                param,
                &pat,
                flow,
                enums,
                config_params,
                &mut call_params,
                &mut arg_names,
                type_names,
            );
            if flow.grant == Grant::AuthorizationCode {
                let from_call = matches!(source, ParamSource::Call(_));
                if wire == "code" && !from_call {
                    self.error(
                        &pat,
                        "the `code` of an authorization_code flow comes with each exchange",
                        "write `code: { from: call, type: secret }`",
                    );
                }
                if from_call && ["code_verifier", "redirect_uri", "nonce"].contains(&wire.as_str())
                {
                    self.error(
                        &pat,
                        format!("`{wire}` of a code exchange comes from the authorization request, not from a call argument"),
                        "remove it: the generated exchange takes the `AuthorizationCode` that `PendingAuthorization::callback` returns, which carries the PKCE verifier, the redirect URI and the nonce",
                    );
                }
            }
            if let ParamSource::Fixed(Literal::Str(v)) = &source
                && wire == "grant_type"
                && v == "password"
            {
                self.error(&pat.key("value"), "the resource-owner password grant is refused", "it hands users' passwords to your backend and is removed by OAuth 2.1; use authorization_code or client_credentials");
            }
            params.push(ir::Param {
                wire: wire.clone(),
                location,
                source,
            });
        }
        let has_call = !call_params.is_empty();
        let cached = matches!(flow.grant, Grant::ClientCredentials | Grant::Custom) && !has_call;
        match flow.grant {
            Grant::ClientCredentials if has_call => self.error(
                at,
                "a client_credentials flow cannot take per-call parameters",
                "use `grant: custom` for a per-call token request",
            ),
            Grant::AuthorizationCode if !params.iter().any(|p| p.wire == "code") => self.error(
                &at.key("params"),
                "an authorization_code flow must send the `code`",
                "add `code: { from: call, type: secret }`",
            ),
            Grant::RefreshToken if !params.iter().any(|p| p.wire == "refresh_token") => self.error(
                &at.key("params"),
                "a refresh_token flow must send the `refresh_token`",
                "add `refresh_token: { from: call, type: secret }`",
            ),
            _ => {}
        }
        let type_prefix = camel_ident(name);
        for suffix in ["Fields", "Response"] {
            if let Err(previous) = type_names.claim(&format!("{type_prefix}{suffix}"), name) {
                self.error(at, format!("flow `{name}` would generate `{type_prefix}{suffix}`, which clashes with {previous}"), "rename the flow or the parameter's `type_name`");
            }
        }
        let response = self.response(
            flow.response.as_ref(),
            &at.key("response"),
            spec.openid.is_some(),
        );
        let expiry = self.expiry(&flow.expiry, &at.key("expiry"), &response);
        self.response_paths(&response, &expiry, at);
        ir::Flow {
            name: name.to_owned(),
            method_ident,
            type_prefix,
            grant: flow.grant,
            doc: flow.doc.clone(),
            method,
            path: flow.path.clone(),
            body,
            client_auth,
            params,
            call_params,
            response,
            expiry,
            cached,
        }
    }

    fn client_auth(
        &mut self,
        spec: Option<&ClientAuthSpec>,
        at: &YamlPath,
        cat: &YamlPath,
        body: Body,
    ) -> ir::ClientAuth {
        let Some(spec) = spec else {
            self.error(at, "the flow says nowhere how the client authenticates", "add `client_auth:` (to the flow or the whole spec), e.g. `client_auth: { basic: raw }`");
            return ir::ClientAuth {
                basic: None,
                params: vec![],
                id_param: "client_id".into(),
                secret_param: "client_secret".into(),
            };
        };
        if spec.basic.is_none() && spec.params.is_empty() {
            self.error(
                cat,
                "`client_auth` sends the credentials nowhere",
                "set `basic: raw` (or `rfc6749`) and/or `params: [query]` / `[body]`",
            );
        }
        let mut params = spec.params.clone();
        params.sort();
        params.dedup();
        if params.contains(&Location::Body) && body == Body::None {
            self.error(
                &cat.key("params"),
                "credentials go in the body, but the flow sends none",
                "set the flow's `body:` to `form` or `json`",
            );
        }
        if params.contains(&Location::Query) {
            self.warn(
                &cat.key("params"),
                "the client secret travels in the URL's query string",
                "URLs end up in proxy and server logs; do this only because the provider demands it. tokenspec never prints such URLs",
            );
        }
        let id_param = spec.id_param.clone().unwrap_or_else(|| "client_id".into());
        let secret_param = spec
            .secret_param
            .clone()
            .unwrap_or_else(|| "client_secret".into());
        if id_param.is_empty() || secret_param.is_empty() || id_param == secret_param {
            self.error(
                cat,
                "the client id and secret need two different, non-empty parameter names",
                "the defaults are `client_id` and `client_secret`",
            );
        }
        ir::ClientAuth {
            basic: spec.basic,
            params,
            id_param,
            secret_param,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn param(
        &mut self,
        wire: &str,
        param: &ParamSpec,
        at: &YamlPath,
        flow: &FlowSpec,
        enums: &mut Vec<ir::EnumType>,
        config_params: &mut Vec<ir::ConfigParam>,
        call_params: &mut Vec<ir::CallParam>,
        arg_names: &mut Names,
        type_names: &mut Names,
    ) -> ParamSource {
        let _ = flow;
        if let Some(value) = &param.value {
            for (key, set) in [
                ("from", param.from.is_some()),
                ("default", param.default.is_some()),
                ("type", param.ty.is_some()),
                ("required", param.required.is_some()),
            ] {
                if set {
                    self.error(
                        &at.key(key),
                        format!("`{key}` means nothing for a parameter with a fixed `value`"),
                        "remove it, or remove `value` to let the caller supply the parameter",
                    );
                }
            }
            return match literal(value) {
                Some(l) => ParamSource::Fixed(l),
                None => {
                    self.error(
                        &at.key("value"),
                        format!(
                            "fixed value of `{wire}` must be text, a whole number or a boolean"
                        ),
                        "quote it if it is text",
                    );
                    ParamSource::Fixed(Literal::Str(String::new()))
                }
            };
        }
        let ident = snake_ident(param.rust_name.as_deref().unwrap_or(wire));
        let ty = self.param_type(wire, param, at, enums, type_names);
        if param.separator.is_some() && !matches!(ty, ParamType::Set(..)) {
            self.error(
                &at.key("separator"),
                "`separator` only applies to `set` types",
                "remove it",
            );
        }
        let from = param.from.unwrap_or(SourceSpec::Config);
        let default = param
            .default
            .as_ref()
            .and_then(|d| self.default_value(d, &ty, enums, &at.key("default")));
        let required = param.required.unwrap_or(default.is_none());
        match from {
            SourceSpec::Call => {
                if default.is_some() {
                    self.error(
                        &at.key("default"),
                        "a per-call parameter cannot have a default",
                        "make it `from: config`, or drop the default",
                    );
                }
                if let Err(previous) = arg_names.claim(&ident, wire) {
                    self.error(
                        at,
                        format!("argument `{ident}` clashes with {previous}"),
                        "set `rust_name:` to tell them apart",
                    );
                }
                call_params.push(ir::CallParam {
                    wire: wire.to_owned(),
                    ident,
                    ty,
                    required,
                    doc: param.doc.clone(),
                });
                ParamSource::Call(call_params.len() - 1)
            }
            SourceSpec::Config => {
                if matches!(ty, ParamType::Secret) && default.is_some() {
                    self.error(
                        &at.key("default"),
                        "a secret parameter cannot have a default in the spec",
                        "specs are checked in; supply secrets at run time",
                    );
                }
                if let Some(i) = config_params.iter().position(|c| c.ident == ident) {
                    // Two flows may share one builder setting, if they agree on what it is.
                    if config_params[i].ty != ty || config_params[i].default != default {
                        self.error(at, format!("builder setting `{ident}` is declared twice with different types or defaults"), "make the declarations agree, or set `rust_name:` on one of them");
                    }
                    return ParamSource::Config(i);
                }
                const BUILTIN: &[&str] = &[
                    "environment",
                    "client_id",
                    "client_secret",
                    "http_client",
                    "base_url",
                    "timeout",
                    "refresh_margin",
                    "clock",
                    "build",
                    "max_body_bytes",
                ];
                if BUILTIN.contains(&ident.as_str()) {
                    self.error(at, format!("builder setting `{ident}` clashes with a setter every client builder has"), "set `rust_name:` to another name");
                }
                config_params.push(ir::ConfigParam {
                    wire: wire.to_owned(),
                    ident,
                    ty,
                    default,
                    required,
                    doc: param.doc.clone(),
                });
                ParamSource::Config(config_params.len() - 1)
            }
        }
    }

    fn param_type(
        &mut self,
        wire: &str,
        param: &ParamSpec,
        at: &YamlPath,
        enums: &mut Vec<ir::EnumType>,
        type_names: &mut Names,
    ) -> ParamType {
        let (values, set) = match &param.ty {
            None | Some(ParamTypeSpec::Scalar(ScalarTypeSpec::String)) => return ParamType::String,
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Integer)) => return ParamType::Integer,
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Boolean)) => return ParamType::Boolean,
            Some(ParamTypeSpec::Scalar(ScalarTypeSpec::Secret)) => return ParamType::Secret,
            Some(ParamTypeSpec::Enum { values }) => (values, false),
            Some(ParamTypeSpec::Set { set }) => (set, true),
        };
        let tat = at.key("type");
        let ident = camel_ident(param.type_name.as_deref().unwrap_or(wire));
        if values.is_empty() {
            self.error(
                &tat,
                format!("`{wire}` lists no values"),
                "list the values the provider accepts",
            );
        }
        let mut variants = Names::default();
        let mut out = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let variant = camel_ident(value);
            if let Err(previous) = variants.claim(&variant, value) {
                self.error(
                    &tat.key(if set { "set" } else { "enum" }).index(i),
                    format!("values `{previous}` and `{value}` both become variant `{variant}`"),
                    "remove the duplicate",
                );
            } else {
                out.push((value.clone(), variant));
            }
        }
        if let Some(existing) = enums.iter().position(|e| e.ident == ident) {
            if enums[existing].values != out {
                self.error(
                    &tat,
                    format!("type `{ident}` is already defined with other values"),
                    "set `type_name:` to another name, or list the same values",
                );
            }
        } else {
            if let Err(previous) = type_names.claim(&ident, wire) {
                self.error(
                    &tat,
                    format!("type `{ident}` clashes with {previous}"),
                    "set `type_name:` to another name",
                );
            }
            enums.push(ir::EnumType {
                ident: ident.clone(),
                param: wire.to_owned(),
                values: out,
                doc: param.doc.clone(),
            });
        }
        let index = enums.iter().position(|e| e.ident == ident).unwrap_or(0);
        if set {
            ParamType::Set(index, param.separator.clone().unwrap_or_else(|| " ".into()))
        } else {
            ParamType::Enum(index)
        }
    }

    fn default_value(
        &mut self,
        value: &serde_yaml::Value,
        ty: &ParamType,
        enums: &[ir::EnumType],
        at: &YamlPath,
    ) -> Option<ir::Default> {
        let lookup = |v: &serde_yaml::Value, e: usize| {
            v.as_str()
                .and_then(|s| enums.get(e)?.values.iter().position(|(w, _)| w == s))
        };
        let ok = match (ty, literal(value)) {
            (ParamType::String, Some(l @ Literal::Str(_)))
            | (ParamType::Integer, Some(l @ Literal::Int(_)))
            | (ParamType::Boolean, Some(l @ Literal::Bool(_))) => {
                return Some(ir::Default::Literal(l));
            }
            (ParamType::Enum(e), _) => lookup(value, *e).map(ir::Default::Enum),
            (ParamType::Set(e, _), _) => match value {
                serde_yaml::Value::String(s) if s == "all" => Some(ir::Default::Set(
                    (0..enums.get(*e).map_or(0, |t| t.values.len())).collect(),
                )),
                serde_yaml::Value::Sequence(items) => items
                    .iter()
                    .map(|v| lookup(v, *e))
                    .collect::<Option<Vec<_>>>()
                    .map(ir::Default::Set),
                _ => None,
            },
            _ => None,
        };
        if ok.is_none() {
            let expected = match ty {
                ParamType::String => "text".to_owned(),
                ParamType::Integer => "a whole number".to_owned(),
                ParamType::Boolean => "`true` or `false`".to_owned(),
                ParamType::Secret => "nothing (secrets have no default)".to_owned(),
                ParamType::Enum(e) => format!(
                    "one of: {}",
                    enums
                        .get(*e)
                        .map(|t| t
                            .values
                            .iter()
                            .map(|v| v.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                ),
                ParamType::Set(..) => "a list of the declared values, or `all`".to_owned(),
            };
            self.error(
                at,
                "default does not match the parameter's type",
                format!("expected {expected}"),
            );
        }
        ok
    }

    fn response(
        &mut self,
        spec: Option<&ResponseSpec>,
        at: &YamlPath,
        openid: bool,
    ) -> ir::Response {
        let access = spec
            .and_then(|r| r.access_token.clone())
            .unwrap_or_else(|| "access_token".into());
        self.check_path(&access, &at.key("access_token"));
        let mut fields = Vec::new();
        let mut names = Names::reserved(&["token"], "the token itself");
        // (name, path in the spec, type, runtime secret type, documentation)
        type Standard<'a> = (
            &'a str,
            Option<&'a String>,
            FieldType,
            Option<&'static str>,
            &'a str,
        );
        let standard: [Standard<'_>; 4] = [
            (
                "token_type",
                spec.and_then(|r| r.token_type.as_ref()),
                FieldType::String,
                None,
                "Token type the provider reported (any case).",
            ),
            (
                "refresh_token",
                spec.and_then(|r| r.refresh_token.as_ref()),
                FieldType::Secret,
                Some("RefreshToken"),
                "Refresh token, if the provider issued one.",
            ),
            (
                "id_token",
                spec.and_then(|r| r.id_token.as_ref()),
                FieldType::Secret,
                Some("IdToken"),
                "OpenID Connect ID token, if the provider issued one.",
            ),
            (
                "scope",
                spec.and_then(|r| r.scope.as_ref()),
                FieldType::String,
                None,
                "Scope the provider granted.",
            ),
        ];
        for (name, path, ty, secret_kind, doc) in standard {
            if let Some(path) = path {
                self.check_path(path, &at.key(name));
                let _ = names.claim(name, name);
                fields.push(ir::Field {
                    ident: name.into(),
                    key: name.into(),
                    path: split_path(path),
                    ty,
                    secret_kind,
                    required: false,
                    derived: false,
                    doc: format!("{doc} Read from `{path}`."),
                });
            }
        }
        if openid && fields.iter().any(|f| f.key == "id_token") {
            let _ = names.claim("id_token_claims", "id_token_claims");
            fields.push(ir::Field {
                ident: "id_token_claims".into(),
                key: "id_token_claims".into(),
                path: Vec::new(),
                ty: FieldType::Json,
                secret_kind: Some("oidc::IdTokenClaims"),
                required: false,
                derived: true,
                doc: "The ID token's claims, validated (signature, issuer, audience, expiry, nonce) as the spec's `openid:` section says.".into(),
            });
        }
        if let Some(spec) = spec {
            for (name, field) in &spec.fields {
                let fat = at.key("fields").key(name);
                let ident = snake_ident(name);
                if let Err(previous) = names.claim(&ident, name) {
                    self.error(&fat, format!("response field `{name}` becomes `{ident}`, which clashes with {previous}"), "rename it");
                }
                self.check_path(&field.path, &fat.key("path"));
                let ty = field.ty.unwrap_or(FieldType::String);
                let doc = match &field.doc {
                    Some(d) => format!("{} Read from `{}`.", d.trim_end(), field.path),
                    None => format!("Read from `{}`.", field.path),
                };
                fields.push(ir::Field {
                    key: ident.trim_start_matches("r#").to_owned(),
                    ident,
                    path: split_path(&field.path),
                    ty,
                    secret_kind: None,
                    required: field.required,
                    derived: false,
                    doc,
                });
            }
        }
        ir::Response {
            access_token: split_path(&access),
            fields,
        }
    }

    /// Paths that no single answer can satisfy: one read as a value and also as an object, or an
    /// expiry read from the token itself.
    fn response_paths(&mut self, response: &ir::Response, expiry: &ir::Expiry, at: &YamlPath) {
        let mut paths: Vec<(&[String], YamlPath)> = vec![(
            &response.access_token,
            at.key("response").key("access_token"),
        )];
        for f in response.fields.iter().filter(|f| !f.derived) {
            let key = match f.secret_kind {
                None if !["token_type", "scope"].contains(&f.key.as_str()) => {
                    at.key("response").key("fields").key(&f.key)
                }
                _ => at.key("response").key(&f.key),
            };
            paths.push((&f.path, key));
        }
        let expiry_path = match expiry {
            ir::Expiry::ExpiresIn { path, .. } | ir::Expiry::At { path, .. } => Some(path),
            _ => None,
        };
        if let Some(path) = expiry_path {
            let where_ = at.key("expiry");
            if path == &response.access_token {
                self.error(
                    &where_,
                    format!(
                        "the expiry is read from `{}`, which is the access token itself",
                        path.join(".")
                    ),
                    "point the expiry at the field holding the lifetime or the expiry time",
                );
            } else if let Some((_, field)) = paths.iter().find(|(p, _)| *p == path.as_slice()) {
                let field = field.to_string();
                self.error(
                    &where_,
                    format!(
                        "the expiry is read from `{}`, which `{field}` also reads",
                        path.join(".")
                    ),
                    "one field cannot be both; check the provider's documentation",
                );
            }
            paths.push((path, where_));
        }
        for (i, (a, a_at)) in paths.iter().enumerate() {
            for (b, _) in paths.iter().skip(i + 1).chain(paths.iter().take(i)) {
                if b.len() > a.len() && b.starts_with(a) {
                    self.error(
                        a_at,
                        format!(
                            "`{}` is read as a value, but `{}` needs it to be an object",
                            a.join("."),
                            b.join(".")
                        ),
                        "no answer can satisfy both paths; fix one of them",
                    );
                }
            }
        }
    }

    fn check_path(&mut self, path: &str, at: &YamlPath) {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            self.error(
                at,
                format!("`{path}` is not a field path"),
                "write field names separated by dots, e.g. `data.access_token`",
            );
        }
    }

    fn expiry(&mut self, spec: &ExpirySpec, at: &YamlPath, response: &ir::Response) -> ir::Expiry {
        match spec {
            ExpirySpec::ExpiresIn(e) => {
                let (path, when_absent) = match e {
                    ExpiresInSpec::Path(p) => (p.clone(), None),
                    ExpiresInSpec::Detailed(d) => (d.path.clone(), d.when_absent),
                };
                self.check_path(&path, &at.key("expires_in"));
                if when_absent == Some(0) {
                    self.error(
                        &at.key("expires_in").key("when_absent"),
                        "`when_absent: 0` would refetch on every call",
                        "give the lifetime the provider documents, in seconds",
                    );
                }
                ir::Expiry::ExpiresIn {
                    path: split_path(&path),
                    when_absent,
                }
            }
            ExpirySpec::At(a) => {
                self.check_path(&a.path, &at.key("at").key("path"));
                ir::Expiry::At {
                    path: split_path(&a.path),
                    format: a.format,
                }
            }
            ExpirySpec::JwtExp(path) => {
                self.check_path(path, &at.key("jwt_exp"));
                let p = split_path(path);
                let known =
                    p == response.access_token || response.fields.iter().any(|f| f.path == p);
                if !known {
                    self.error(&at.key("jwt_exp"), format!("no response field is read from `{path}`, so no JWT is there to read `exp` from"), "point it at the access token's path (usually `access_token`) or the id token's");
                }
                ir::Expiry::JwtExp { path: p }
            }
            ExpirySpec::Lifetime(seconds) => {
                if *seconds == 0 {
                    self.error(
                        &at.key("lifetime"),
                        "a lifetime of 0 s would refetch on every call",
                        "give the lifetime the provider documents, in seconds",
                    );
                }
                ir::Expiry::Lifetime(*seconds)
            }
        }
    }

    fn errors(&mut self, spec: &Spec, type_names: &mut Names) -> Vec<ir::KnownError> {
        let _ = type_names;
        let mut variants = Names::reserved(&["Other"], "the catch-all variant");
        let mut out = Vec::new();
        for (i, e) in spec.errors.iter().enumerate() {
            let at = root().key("errors").index(i);
            let variant = camel_ident(&e.name);
            if variant != e.name {
                self.error(
                    &at.key("name"),
                    format!("error name `{}` is not an UpperCamelCase Rust name", e.name),
                    format!("call it `{}`", variant.trim_start_matches("r#")),
                );
            }
            if let Err(previous) = variants.claim(&variant, &e.name) {
                self.error(
                    &at.key("name"),
                    format!("error variant `{variant}` clashes with {previous}"),
                    "give each documented error its own name",
                );
            }
            if e.message.is_none() && e.code.is_none() {
                self.error(
                    &at,
                    format!("error `{}` matches nothing", e.name),
                    "give the exact `message:` the provider sends, or its RFC 6749 `code:`",
                );
            }
            if let Some(status) = e.status
                && !(400..=599).contains(&status)
            {
                self.error(
                    &at.key("status"),
                    format!("status {status} is not an error status"),
                    "use the 4xx or 5xx code the provider answers with",
                );
            }
            out.push(ir::KnownError {
                variant,
                message: e.message.clone(),
                code: e.code.clone(),
                status: e.status,
                doc: e.doc.clone(),
            });
        }
        out
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
