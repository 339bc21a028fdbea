//! Flows: grant rules, method, body, where client credentials go, per-call arguments.

use super::*;

/// The `grant_type` of the JWT-bearer grant (RFC 7523 §2.1).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The `grant_type` of the device authorization grant (RFC 8628 §3.4).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl Cx {
    /// An assertion's `audience`: text without user info, or `{issuer}` (the authorization
    /// server's issuer, as FAPI 2.0 wants), never empty or another placeholder.
    fn audience(&mut self, audience: &str, at: &YamlPath) {
        self.without_user_info(audience, at);
        if audience.trim().is_empty() {
            self.error(
                at,
                "the audience is empty",
                "remove it to use the token endpoint's URL",
            );
        } else if audience != "{issuer}" && audience.contains(['{', '}']) {
            self.error(
                at,
                format!("`{audience}` holds a placeholder an audience cannot have"),
                "the only one is the whole value `{issuer}` (the authorization server's issuer); otherwise write the audience out",
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn flow(
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
            let plain = method_ident.trim_start_matches("r#").trim_end_matches('_');
            if plain == name {
                self.error(
                    at,
                    format!("flow name `{name}` is a Rust keyword, so it cannot name a method"),
                    format!("call it something else, e.g. `{name}_token`"),
                );
            } else {
                self.error(
                    at,
                    format!("flow name `{name}` is not a snake_case Rust name"),
                    format!("call it `{plain}`"),
                );
            }
        }
        match &flow.path {
            Some(path) => self.url_path(path, &at.key("path"), "the environment's base URL"),
            // The runtime reads the token endpoint from the metadata of the server `openid:` or
            // `authorization:` names; without one there is nowhere to read it from.
            None if spec.openid.is_none() && spec.authorization.is_none() => self.error(
                at,
                format!("flow `{name}` has no `path`, and the spec names no authorization server whose metadata gives its token endpoint"),
                "write the endpoint's `path: /token` under the base URL, or add `openid:` or `authorization:` so the token endpoint comes from the server's discovery document",
            ),
            None => {}
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

        // Point at the `client_auth` the flow really uses: its own, or the spec-wide one (the
        // first of a list, and each of the others checked against this flow too).
        let spec_wide = spec
            .client_auth
            .as_ref()
            .map(|c| c.methods())
            .unwrap_or(&[]);
        let listed = matches!(spec.client_auth, Some(ClientAuthChoice::Several(_)));
        let method_at = |i: usize| {
            if listed {
                root().key("client_auth").index(i)
            } else {
                root().key("client_auth")
            }
        };
        let (auth_spec, auth_at) = match &flow.client_auth {
            Some(own) => (Some(own), at.key("client_auth")),
            None => (spec_wide.first(), method_at(0)),
        };
        let jwt_bearer = flow.grant == Grant::JwtBearer;
        // A token the platform issued (a `secret_file` setting, such as a token exchange's
        // `subject_token`, RFC 8693) proves who asks, as Google's Security Token Service takes
        // it.
        let platform_token = flow.params.values().any(|p| {
            matches!(
                p.ty,
                Some(ParamTypeSpec::Scalar(ScalarTypeSpec::SecretFile))
            )
        });
        // A JWT-bearer grant is its own proof of who asks (RFC 7523 §2.1): without a
        // `client_auth`, the client sends no other credentials. So is a platform's token.
        let client_auth = match auth_spec {
            None if jwt_bearer || platform_token => ir::ClientAuth::none(),
            _ => self.client_auth(auth_spec, at, &auth_at, body),
        };
        let assertion = self.grant_assertion(flow, at, body);
        if flow.client_auth.is_none() {
            for (i, other) in spec_wide.iter().enumerate().skip(1) {
                self.client_auth(Some(other), at, &method_at(i), body);
            }
        }
        let mut params = Vec::new();
        let mut call_params = Vec::new();
        let mut wire_names: BTreeMap<String, String> = BTreeMap::new();
        for location in &client_auth.params {
            wire_names.insert(
                wire_key(*location, &client_auth.id_param),
                "the client id".into(),
            );
            wire_names.insert(
                wire_key(*location, &client_auth.secret_param),
                "the client secret".into(),
            );
        }
        let mut arg_names = Names::reserved(&["self"], "the receiver");
        if flow.grant == Grant::AuthorizationCode {
            // A code exchange also becomes `start_session(key, ..its arguments)`.
            let _ = arg_names.claim("key", "the session key argument of `start_session`");
        }
        for (wire, param) in &spec_params(flow) {
            let pat = at.key("params").key(wire);
            let location = param.location.unwrap_or(default_location);
            if location == Location::Assertion {
                if !jwt_bearer {
                    self.error(
                        &pat.key("in"),
                        format!("parameter `{wire}` is a claim of an assertion, but this flow signs none"),
                        "`in: assertion` belongs to `grant: jwt_bearer` flows; send it `in: body` or `in: query`",
                    );
                } else if ["iss", "aud", "iat", "exp"].contains(&wire.as_str()) {
                    self.error(
                        &pat,
                        format!("the `{wire}` claim is set by tokenspec"),
                        "remove it: `iss` is the client id, `aud` the flow's `assertion.audience` (default: the token endpoint), `iat` and `exp` the time of signing and `assertion.lifetime` later",
                    );
                }
            }
            if jwt_bearer && location == Location::Body && wire == "assertion" {
                self.error(
                    &pat,
                    "`assertion` is the signed JWT tokenspec sends",
                    "remove it; put the claims the provider wants `in: assertion`",
                );
            }
            if location == Location::Body && body == Body::None {
                self.error(
                    &pat.key("in"),
                    format!("parameter `{wire}` goes in the body, but the flow sends none"),
                    "set the flow's `body:` to `form` or `json`, or send it `in: query`",
                );
            }
            if location == Location::Header {
                self.header_param(wire, param, &pat, client_auth.basic.is_some());
            }
            if let Some(what) = wire_names.insert(wire_key(location, wire), wire.clone()) {
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
            } else if let ParamSource::Fixed(Literal::Str(v)) = &source
                && wire == "grant_type"
            {
                self.grant_type(flow.grant, v, &pat.key("value"));
            }
            if flow.grant == Grant::RefreshToken
                && wire == "refresh_token"
                && matches!(source, ParamSource::Fixed(_))
            {
                self.error(
                    &pat.key("value"),
                    "a refresh_token flow sends the refresh token it is given, not a fixed value",
                    "write `refresh_token: { from: call, type: secret }`; a refresh token written in a spec would be a secret in the generated code",
                );
            }
            params.push(ir::Param {
                wire: wire.clone(),
                location,
                source,
            });
        }
        if jwt_bearer {
            let grant_type = params.iter().find(|p| p.wire == "grant_type");
            let right = matches!(
                grant_type.map(|p| &p.source),
                Some(ParamSource::Fixed(Literal::Str(v))) if v == JWT_BEARER_GRANT
            );
            if !right {
                self.error(
                    &at.key("params"),
                    format!("a jwt_bearer flow sends `grant_type={JWT_BEARER_GRANT}`"),
                    format!(
                        "add `grant_type: {{ value: \"{JWT_BEARER_GRANT}\" }}` under `params:`"
                    ),
                );
            }
        }
        let has_call = !call_params.is_empty();
        let cached = matches!(
            flow.grant,
            Grant::ClientCredentials | Grant::Custom | Grant::JwtBearer
        ) && !has_call;
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
            Grant::DeviceCode if !params.iter().any(|p| p.wire == "device_code") => self.error(
                &at.key("params"),
                "a device_code flow must send the `device_code`",
                "add `device_code: { from: call, type: secret }`",
            ),
            Grant::DeviceCode if spec.device_authorization.is_none() => self.error(
                at,
                "a device_code flow polls with the code of a device authorization, and the spec has no `device_authorization:`",
                "add `device_authorization:` (with its `path`, or leave it empty to read the endpoint from the server's metadata)",
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
            assertion,
        }
    }

    /// A fixed `grant_type` that names another grant than the flow's `grant:` would be sent
    /// with the wrong handling (no code exchange, no refresh-token rotation, a cached token
    /// that is no client's own). A provider's own grant type (Zoom's `account_credentials`)
    /// names none.
    fn grant_type(&mut self, grant: Grant, value: &str, at: &YamlPath) {
        const GRANTS: [(Grant, &str, &str); 5] = [
            (
                Grant::ClientCredentials,
                "client_credentials",
                "client_credentials",
            ),
            (
                Grant::AuthorizationCode,
                "authorization_code",
                "authorization_code",
            ),
            (Grant::RefreshToken, "refresh_token", "refresh_token"),
            (Grant::JwtBearer, "jwt_bearer", JWT_BEARER_GRANT),
            (Grant::DeviceCode, "device_code", DEVICE_CODE_GRANT),
        ];
        let Some((said, said_name, _)) = GRANTS.iter().find(|(.., wire)| *wire == value) else {
            return;
        };
        // The JWT-bearer grant type is checked with the flow's other JWT rules, and a custom
        // flow may send client_credentials (with a per-call scope, say).
        let fine = *said == grant
            || grant == Grant::JwtBearer
            || (grant == Grant::Custom && *said == Grant::ClientCredentials);
        if !fine {
            let own = GRANTS.iter().find(|(g, ..)| *g == grant);
            let help = match own {
                Some((_, _, wire)) => format!(
                    "send `grant_type: {{ value: {wire} }}`, or set `grant: {said_name}` if the flow is that grant"
                ),
                None => format!(
                    "set `grant: {said_name}`: tokenspec then handles the flow as that grant"
                ),
            };
            self.error(
                at,
                format!(
                    "`grant_type: {value}` names the {said_name} grant, but the flow says `grant: {}`",
                    own.map_or("custom", |(_, name, _)| name)
                ),
                help,
            );
        }
    }

    /// The signed JWT of a `jwt_bearer` flow; an `assertion:` anywhere else is a mistake.
    fn grant_assertion(
        &mut self,
        flow: &FlowSpec,
        at: &YamlPath,
        body: Body,
    ) -> Option<ir::GrantAssertion> {
        let aat = at.key("assertion");
        if flow.grant != Grant::JwtBearer {
            if flow.assertion.is_some() {
                self.error(
                    &aat,
                    "`assertion:` describes the JWT of a `grant: jwt_bearer` flow",
                    "remove it, or set `grant: jwt_bearer`; a signed client assertion goes under `client_auth: { assertion: private_key_jwt }`",
                );
            }
            return None;
        }
        if body != Body::Form {
            self.error(
                &at.key("body"),
                "the JWT-bearer grant is a form request (RFC 7523 §2.1)",
                "remove `body:` (the default is `form`)",
            );
        }
        let spec = flow.assertion.clone().unwrap_or_default();
        Some(self.signed_jwt(spec, &aat))
    }

    /// A JWT the client signs (the JWT-bearer grant's assertion, a request object): its
    /// algorithm, audience and lifetime checked.
    pub(super) fn signed_jwt(
        &mut self,
        spec: crate::spec::GrantAssertionSpec,
        aat: &YamlPath,
    ) -> ir::GrantAssertion {
        let algorithm = spec.algorithm.unwrap_or_else(|| "RS256".into());
        const ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "HS256"];
        if !ALGORITHMS.contains(&algorithm.as_str()) {
            let hint = match ALGORITHMS
                .iter()
                .find(|a| a.eq_ignore_ascii_case(&algorithm))
            {
                Some(a) => format!("write `{a}`"),
                None => format!(
                    "use {} (the client's key) or HS256 (the client secret)",
                    ALGORITHMS[..3].join(", ")
                ),
            };
            self.error(
                &aat.key("algorithm"),
                format!("`{algorithm}` is not an algorithm tokenspec signs with"),
                hint,
            );
        }
        let lifetime = spec.lifetime.unwrap_or(60);
        if !(1..=86_400).contains(&lifetime) {
            self.error(
                &aat.key("lifetime"),
                format!("an assertion valid for {lifetime} s"),
                "give the seconds from `iat` to `exp`: more than 0, at most a day (most providers take at most 3600)",
            );
        }
        if let Some(audience) = &spec.audience {
            self.audience(audience, &aat.key("audience"));
        }
        ir::GrantAssertion {
            algorithm,
            audience: spec.audience,
            lifetime,
        }
    }

    pub(super) fn client_auth(
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
                assertion: None,
                certificate: None,
            };
        };
        if let Some(kind) = spec.certificate {
            if !self.certificate_wanted {
                self.error(
                    &cat.key("certificate"),
                    format!(
                        "`{}` authenticates the client by its certificate, but no environment asks for one",
                        kind.name()
                    ),
                    "set `client_certificate: true` (on the spec, or on the environments that take the certificate) so the builder takes `.client_identity(..)`",
                );
            }
            if spec.assertion.is_some() || spec.basic.is_some() || !spec.params.is_empty() {
                self.error(
                    cat,
                    "a client that authenticates with its certificate sends no secret or assertion",
                    "remove `basic:`, `params:` and `assertion:` here, or list the methods separately",
                );
            }
            if body == Body::None {
                self.error(
                    &cat.key("certificate"),
                    "the client id goes in the body, but the flow sends none",
                    "set the flow's `body:` to `form`",
                );
            }
            return ir::ClientAuth::from_spec(spec);
        }
        if let Some(kind) = spec.assertion {
            if spec.basic.is_some() || !spec.params.is_empty() {
                self.error(
                    cat,
                    "a client that signs an assertion does not also send its secret",
                    "remove `basic:` and `params:` here, or list the methods separately",
                );
            }
            if body == Body::None {
                self.error(
                    &cat.key("assertion"),
                    "the assertion goes in the body, but the flow sends none",
                    "set the flow's `body:` to `form`",
                );
            }
            let allowed: &[&str] = match kind {
                AssertionSpec::ClientSecretJwt => &["HS256"],
                AssertionSpec::PrivateKeyJwt => &["RS256", "PS256", "ES256"],
                AssertionSpec::Federated => {
                    if spec.algorithm.is_some() || spec.audience.is_some() {
                        self.error(
                            cat,
                            "a federated assertion is made by the identity provider that issues it: its algorithm and audience are set there",
                            "remove `algorithm` and `audience` (configure the audience in the federated credential, e.g. `api://AzureADTokenExchange`)",
                        );
                    }
                    return ir::ClientAuth::from_spec(spec);
                }
            };
            if let Some(algorithm) = &spec.algorithm
                && !allowed.contains(&algorithm.as_str())
            {
                self.error(
                    &cat.key("algorithm"),
                    format!("`{algorithm}` cannot sign this kind of assertion"),
                    format!("use {}", allowed.join(", ")),
                );
            }
            if let Some(audience) = &spec.audience {
                self.audience(audience, &cat.key("audience"));
            }
            return ir::ClientAuth::from_spec(spec);
        }
        if spec.algorithm.is_some() || spec.audience.is_some() {
            self.error(
                cat,
                "`algorithm` and `audience` belong to a signed assertion",
                "add `assertion: client_secret_jwt` or `private_key_jwt`, or remove them",
            );
        }
        if spec.basic.is_none() && spec.params.is_empty() {
            self.error(
                cat,
                "`client_auth` sends the credentials nowhere",
                "set `basic: raw` (or `percent` / `rfc6749`) and/or `params: [query]` / `[body]`",
            );
        }
        if spec.params.contains(&Location::Assertion) {
            self.error(
                &cat.key("params"),
                "client credentials cannot go in an assertion",
                "use `params: [body]` or `[query]`, or `assertion: private_key_jwt` to sign a client assertion",
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
        if params.contains(&Location::Header) {
            for (key, name) in [("id_param", &id_param), ("secret_param", &secret_param)] {
                let named = spec.id_param.is_some() && key == "id_param"
                    || spec.secret_param.is_some() && key == "secret_param";
                let kat = if named {
                    cat.key(key)
                } else {
                    cat.key("params")
                };
                if let Some(why) = header_name_problem(name) {
                    self.error(
                        &kat,
                        format!("the credentials go in headers, but `{name}` cannot name one: {why}"),
                        "set `id_param` and `secret_param` to the header names the provider documents",
                    );
                } else if let Some(why) = header_set_by_request(name, spec.basic.is_some()) {
                    self.error(
                        &kat,
                        format!("the credentials go in headers, but the `{name}` header {why}"),
                        "set `id_param` and `secret_param` to the header names the provider documents, e.g. `X-Client-Id`",
                    );
                }
            }
        }
        if id_param.is_empty() || secret_param.is_empty() || id_param == secret_param {
            self.error(
                cat,
                "the client id and secret need two different, non-empty parameter names",
                "the defaults are `client_id` and `client_secret`",
            );
        }
        ir::ClientAuth::from_spec(spec)
    }

    /// The methods of a spec-wide `client_auth` list the builder chooses from: each sends the
    /// credentials its own way.
    pub(super) fn client_auth_choices(&mut self, spec: &Spec) -> Vec<ir::ClientAuth> {
        let Some(ClientAuthChoice::Several(methods)) = &spec.client_auth else {
            return Vec::new();
        };
        if methods.is_empty() {
            self.error(
                &root().key("client_auth"),
                "the list names no client authentication method",
                "list at least one, e.g. `- { basic: percent }`",
            );
        }
        let choices: Vec<ir::ClientAuth> = methods.iter().map(ir::ClientAuth::from_spec).collect();
        for (i, method) in choices.iter().enumerate() {
            if let Some(first) = choices[..i]
                .iter()
                .position(|m| m.method_name() == method.method_name())
            {
                self.error(
                    &root().key("client_auth").index(i),
                    format!(
                        "this method sends the credentials the same way as method {} (`{}`)",
                        first + 1,
                        method.method_name()
                    ),
                    "list each way the provider accepts once",
                );
            }
        }
        if choices.len() > 1 {
            choices
        } else {
            Vec::new()
        }
    }

    /// The `renew_with:` of the cached flow: a refresh-token flow that can renew the cached token
    /// with nothing but the refresh token, and reads every field the cached token needs.
    pub(super) fn renew_with(
        &mut self,
        spec: &Spec,
        flows: &[ir::Flow],
        cached: Option<usize>,
    ) -> Option<usize> {
        let mut found = None;
        for (name, flow) in &spec.flows {
            let Some(target) = &flow.renew_with else {
                continue;
            };
            let at = root().key("flows").key(name).key("renew_with");
            let Some(cached) = cached.filter(|i| &flows[*i].name == name) else {
                self.error(
                    &at,
                    format!("`renew_with` on flow `{name}`, which is not the flow behind `access_token()`"),
                    "put it on the cached client_credentials flow, or remove it",
                );
                continue;
            };
            let Some(index) = flows.iter().position(|f| &f.name == target) else {
                let names = flows.iter().map(|f| f.name.as_str());
                let hint = match crate::diagnostics::closest(target, names) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "name a flow of this spec with `grant: refresh_token`".to_owned(),
                };
                self.error(&at, format!("no flow is called `{target}`"), hint);
                continue;
            };
            let refresh = &flows[index];
            if refresh.grant != Grant::RefreshToken {
                self.error(
                    &at,
                    format!("flow `{target}` is not a refresh_token flow"),
                    "renew through a flow with `grant: refresh_token`",
                );
                continue;
            }
            let slot = refresh.params.iter().find_map(|p| match p.source {
                ParamSource::Call(i) if p.wire == "refresh_token" => Some(i),
                _ => None,
            });
            if slot.is_none() {
                self.error(
                    &at,
                    format!("flow `{target}` does not take its `refresh_token` per call"),
                    "write `refresh_token: { from: call, type: secret }` in its params",
                );
            }
            if refresh
                .call_params
                .iter()
                .enumerate()
                .any(|(i, c)| Some(i) != slot && c.required)
            {
                self.error(
                    &at,
                    format!("flow `{target}` needs per-call values a renewal cannot supply"),
                    "give its other parameters fixed values or builder settings",
                );
            }
            let own = &flows[cached].response.fields;
            if !own.iter().any(|f| f.key == "refresh_token") {
                self.error(
                    &at,
                    format!("flow `{name}` never reads a refresh token from its answer"),
                    "add `refresh_token: refresh_token` to its `response:`",
                );
            }
            for field in own.iter().filter(|f| f.required && !f.derived) {
                if !refresh.response.fields.iter().any(|g| g.key == field.key) {
                    self.error(
                        &at,
                        format!(
                            "the cached token's `{}` would be missing after a renewal through `{target}`",
                            field.key
                        ),
                        "read it in that flow's `response:` too, or make it optional",
                    );
                }
            }
            found = Some(index);
        }
        found
    }
}

/// How a parameter's place and name are compared with the others': header names ignore case.
fn wire_key(location: Location, name: &str) -> String {
    match location {
        Location::Header => format!("{location:?}:{}", name.to_ascii_lowercase()),
        _ => format!("{location:?}:{name}"),
    }
}

/// Why `name` cannot be an HTTP header name (RFC 9110 §5.1: a token), if it cannot.
pub(super) fn header_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    (!name.chars().all(token))
        .then_some("a header name is letters, digits and the symbols ! # $ % & ' * + - . ^ _ | ~ and backtick, with no space")
}

/// Why a token request cannot carry its own `name` header, if it cannot: the body sets
/// `Content-Type` and `Content-Length`, the URL `Host`, the HTTP client the framing, and
/// Basic authentication (`basic`) `Authorization`.
fn header_set_by_request(name: &str, basic: bool) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if ["content-type", "content-length"].contains(&lower.as_str()) {
        Some("is set from the request's body")
    } else if lower == "host" {
        Some("is set from the URL")
    } else if ["transfer-encoding", "connection"].contains(&lower.as_str()) {
        Some("is set by the HTTP client")
    } else if basic && lower == "authorization" {
        Some("carries the Basic credentials (`basic:`)")
    } else {
        None
    }
}

impl Cx {
    /// A parameter sent as a header of the token request: a valid name, not one the request
    /// sets itself, and a fixed value a header can carry.
    pub(super) fn header_param(
        &mut self,
        wire: &str,
        param: &ParamSpec,
        at: &YamlPath,
        basic: bool,
    ) {
        if let Some(why) = header_name_problem(wire) {
            self.error(
                at,
                format!("parameter `{wire}` goes in a header, but `{wire}` cannot name one: {why}"),
                "write the header's name as the provider documents it, e.g. `X-Api-Key`",
            );
        }
        if header_set_by_request(wire, basic).is_some() {
            self.error(
                at,
                format!("the `{wire}` header is set by tokenspec or the HTTP client"),
                "remove it: the body sets Content-Type and Content-Length, the URL sets Host, and `client_auth: { basic: … }` sets Authorization",
            );
        }
        if let Some(value) = &param.value
            && let Some(text) = value.as_str()
            && text.chars().any(|c| c.is_control() && c != '\t')
        {
            self.error(
                &at.key("value"),
                format!("the value of header `{wire}` holds a line break or a control character"),
                "a header value is one line of text",
            );
        }
    }
}
