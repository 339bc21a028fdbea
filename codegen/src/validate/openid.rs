//! The `openid:` and `authorization:` sections: issuer, algorithms, key and authorization
//! endpoints, leeway.

use super::*;

impl Cx {
    pub(super) fn openid(
        &mut self,
        spec: &OpenIdSpec,
        environments: &[ir::Environment],
    ) -> ir::OpenId {
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
            if let Some(path) = path {
                self.url_path(path, &at.key(key), "the issuer");
            }
        }
        match &spec.issuer {
            Some(name) if is_name(name) => self.issuer_name(spec, name, &at),
            Some(issuer) => self.issuer(issuer, &at.key("issuer"), environments),
            None => {}
        }
        ir::OpenId {
            issuer: spec.issuer.clone(),
            algorithms: spec.algorithms.clone(),
            jwks_path: spec.jwks_path.clone(),
            authorization_path: spec.authorization_path.clone(),
            leeway_secs: spec.leeway_secs.unwrap_or(60),
        }
    }

    /// The `revocation:` section: a path, or the endpoint the server's metadata names.
    pub(super) fn revocation(&mut self, spec: &Spec) -> Option<Option<String>> {
        let section = spec.revocation.as_ref()?;
        let at = root().key("revocation");
        match &section.path {
            Some(path) => self.url_path(path, &at.key("path"), "the base URL"),
            None if spec.authorization.is_none() && spec.openid.is_none() => self.error(
                &at,
                "no revocation path, and no server metadata to find the endpoint in",
                "give `path:`, or add an `authorization:` section whose server publishes RFC 8414 metadata",
            ),
            _ => {}
        }
        Some(section.path.clone())
    }

    /// The `device_authorization:` section: a path, or the endpoint the server's metadata
    /// names; it serves the spec's `device_code` flow.
    pub(super) fn device_authorization(&mut self, spec: &Spec) -> Option<Option<String>> {
        let section = spec.device_authorization.as_ref()?;
        let at = root().key("device_authorization");
        match &section.path {
            Some(path) => self.url_path(path, &at.key("path"), "the base URL"),
            None if spec.authorization.is_none() && spec.openid.is_none() => self.error(
                &at,
                "no device authorization path, and no server metadata to find the endpoint in",
                "give `path:`, or add an `openid:` or `authorization:` section whose server publishes its metadata",
            ),
            _ => {}
        }
        let polled = spec
            .flows
            .values()
            .filter(|f| f.grant == crate::spec::GrantSpec::DeviceCode)
            .count();
        if polled != 1 {
            self.error(
                &at,
                format!("a device authorization is polled by one `device_code` flow, and the spec has {polled}"),
                "keep one flow with `grant: device_code` (its `device_code` parameter from the call)",
            );
        }
        Some(section.path.clone())
    }

    /// The `authorization:` section: the server users are sent to, with or without OpenID.
    pub(super) fn authorization(
        &mut self,
        spec: &Spec,
        environments: &[ir::Environment],
    ) -> Option<ir::Authorization> {
        let section = spec.authorization.as_ref()?;
        let at = root().key("authorization");
        if let Some(path) = &section.path {
            self.url_path(path, &at.key("path"), "the issuer");
        }
        if let Some(path) = &section.par_path {
            self.url_path(path, &at.key("par_path"), "the issuer");
            if !section.par {
                self.error(
                    &at.key("par_path"),
                    "`par_path` says where authorization requests are pushed, but `par` is not set",
                    "add `par: true` to push them (RFC 9126), or remove `par_path`",
                );
            }
        }
        if let Some(openid) = &spec.openid {
            // An issuer that is a name says nothing about where users log in: then this
            // section's issuer does.
            let named = openid.issuer.as_deref().is_some_and(is_name);
            if section.issuer.is_some() && !named {
                self.error(
                    &at.key("issuer"),
                    "with `openid:`, the authorization server is the OpenID issuer",
                    "remove it, and set `openid.issuer` if the base URL is not the issuer",
                );
            }
            if section.path.is_some() && openid.authorization_path.is_some() {
                self.error(
                    &at.key("path"),
                    "the authorization endpoint is given twice, here and as `openid.authorization_path`",
                    "keep this one and remove `openid.authorization_path`",
                );
            }
        }
        if let Some(issuer) = &section.issuer {
            self.issuer(issuer, &at.key("issuer"), environments);
        }
        let request_object = section
            .request_object
            .clone()
            .map(|spec| self.signed_jwt(spec, &at.key("request_object")));
        let jwt_response = section.response_mode == Some(crate::spec::ResponseModeSpec::Jwt);
        if jwt_response && spec.openid.is_none() {
            self.error(
                &at.key("response_mode"),
                "a JWT-secured response is verified with the OpenID provider's keys, and this spec has no `openid:`",
                "add `openid:` (the provider's issuer and algorithms), or remove `response_mode`",
            );
        }
        let hybrid = section.response_type == Some(crate::spec::ResponseTypeSpec::CodeIdToken);
        if hybrid && spec.openid.is_none() {
            self.error(
                &at.key("response_type"),
                "the ID token of a `code id_token` response is verified with the OpenID provider's keys, and this spec has no `openid:`",
                "add `openid:` (the provider's issuer and algorithms), or remove `response_type`",
            );
        } else if hybrid && jwt_response {
            self.error(
                &at.key("response_type"),
                "`code id_token` and `response_mode: jwt` are two ways to protect the same response; the runtime verifies one",
                "keep the one the provider documents: FAPI 1.0 Advanced servers support `code id_token`, and may support `code` with `response_mode: jwt`",
            );
        }
        Some(ir::Authorization {
            issuer: section.issuer.clone(),
            path: section.path.clone(),
            par: section.par.then(|| section.par_path.clone()),
            request_object,
            jwt_response,
            hybrid,
        })
    }

    /// An OpenID issuer that is a name (`iss: "fanbase"`), not a URL: nothing can be
    /// discovered from it, so its ID tokens can only be checked with the client secret.
    fn issuer_name(&mut self, spec: &OpenIdSpec, name: &str, at: &YamlPath) {
        if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
            self.error(
                &at.key("issuer"),
                format!("issuer `{name}` is empty or has spaces"),
                "write the exact `iss` value the provider documents",
            );
        }
        for (i, alg) in spec.algorithms.iter().enumerate() {
            if !alg.starts_with("HS") {
                self.error(
                    &at.key("algorithms").index(i),
                    format!("the issuer `{name}` is a name, not a URL, so no `{alg}` keys can be found for it"),
                    "list only HS256, HS384 or HS512 (checked with the client secret), or give the issuer's URL",
                );
            }
        }
        for (key, path) in [
            ("jwks_path", &spec.jwks_path),
            ("authorization_path", &spec.authorization_path),
        ] {
            if path.is_some() {
                self.error(
                    &at.key(key),
                    format!("`{key}` is appended to the issuer, which is the name `{name}` here"),
                    "remove it; say where users log in with `authorization: { issuer: …, path: … }`",
                );
            }
        }
    }

    /// Checks an issuer URL template. Its placeholders take the chosen environment's values,
    /// so every environment must define them.
    fn issuer(&mut self, issuer: &str, at: &YamlPath, environments: &[ir::Environment]) {
        for (name, _) in self.url_template(issuer, at, false) {
            for env in environments
                .iter()
                .filter(|e| !e.placeholders.iter().any(|(n, _)| *n == name))
            {
                self.error(
                    at,
                    format!(
                        "the issuer uses `{{{name}}}`, which environment `{}` does not define",
                        env.name
                    ),
                    format!(
                        "an issuer's placeholders take the chosen environment's values: use only placeholders every environment's URL has, or write the issuer out (`{}`)",
                        env.url
                    ),
                );
            }
        }
    }
}

/// Whether an issuer is a name (`fanbase`) rather than a URL.
pub(super) fn is_name(issuer: &str) -> bool {
    !issuer.contains("://")
}
