//! Answers: where the token and each field are read, and where the lifetime comes from.

use super::*;

impl Cx {
    pub(super) fn response(
        &mut self,
        spec: Option<&ResponseSpec>,
        at: &YamlPath,
        openid: bool,
    ) -> ir::Response {
        let access = spec
            .and_then(|r| r.access_token.as_ref())
            .map_or_else(|| vec!["access_token".to_owned()], TokenPaths::paths);
        let access_at = at.key("access_token");
        if access.is_empty() {
            self.error(
                &access_at,
                "`access_token` lists no path",
                "write the field holding the token, e.g. `access_token: access_token`",
            );
        }
        for (i, path) in access.iter().enumerate() {
            self.check_path(path, &access_at);
            if access[..i].contains(path) {
                self.error(
                    &access_at,
                    format!("`access_token` lists `{path}` twice"),
                    "list each place the token may be once",
                );
            }
        }
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
            access_token: access.iter().map(|p| split_path(p)).collect(),
            fields,
        }
    }

    /// Paths that no single answer can satisfy: one read as a value and also as an object, or an
    /// expiry read from the token itself.
    pub(super) fn response_paths(
        &mut self,
        response: &ir::Response,
        expiry: &ir::Expiry,
        at: &YamlPath,
    ) {
        let mut paths: Vec<(&[String], YamlPath)> = response
            .access_token
            .iter()
            .map(|p| (p.as_slice(), at.key("response").key("access_token")))
            .collect();
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
            if response.access_token.contains(path) {
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

    pub(super) fn check_path(&mut self, path: &str, at: &YamlPath) {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            self.error(
                at,
                format!("`{path}` is not a field path"),
                "write field names separated by dots, e.g. `data.access_token`",
            );
        }
    }

    pub(super) fn expiry(
        &mut self,
        spec: &ExpirySpec,
        at: &YamlPath,
        response: &ir::Response,
    ) -> ir::Expiry {
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
                let known = response.access_token.contains(&p)
                    || response.fields.iter().any(|f| f.path == p);
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
            ExpirySpec::Never => ir::Expiry::Never,
        }
    }
}
