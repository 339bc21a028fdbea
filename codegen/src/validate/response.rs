//! Answers: where the token and each field are read, and where the lifetime comes from.

use super::*;

impl Cx {
    pub(super) fn response(
        &mut self,
        spec: Option<&ResponseSpec>,
        at: &YamlPath,
        openid: bool,
    ) -> ir::Response {
        let access = match spec.and_then(|r| r.access_token.as_ref()) {
            Some(places) => self.places("access_token", places, &at.key("access_token")),
            None => vec![vec!["access_token".to_owned()]],
        };
        let mut fields = Vec::new();
        let mut names = Names::reserved(&["token"], "the token itself");
        // (name, path in the spec, type, runtime secret type, documentation)
        type Standard<'a> = (
            &'a str,
            Option<&'a Paths>,
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
            if let Some(places) = path {
                let paths = self.places(name, places, &at.key(name));
                let _ = names.claim(name, name);
                fields.push(ir::Field {
                    ident: name.into(),
                    key: name.into(),
                    doc: format!("{doc} Read from {}.", shown(&paths)),
                    paths,
                    ty,
                    secret_kind,
                    required: false,
                    derived: false,
                });
            }
        }
        if openid && fields.iter().any(|f| f.key == "id_token") {
            let _ = names.claim("id_token_claims", "id_token_claims");
            fields.push(ir::Field {
                ident: "id_token_claims".into(),
                key: "id_token_claims".into(),
                paths: Vec::new(),
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
                let paths = self.places(name, &field.path, &fat.key("path"));
                let ty = field.ty.unwrap_or(FieldType::String);
                let doc = match &field.doc {
                    Some(d) => format!("{} Read from {}.", d.trim_end(), shown(&paths)),
                    None => format!("Read from {}.", shown(&paths)),
                };
                fields.push(ir::Field {
                    key: ident.trim_start_matches("r#").to_owned(),
                    ident,
                    paths,
                    ty,
                    secret_kind: None,
                    required: field.required,
                    derived: false,
                    doc,
                });
            }
        }
        ir::Response {
            access_token: access,
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
            for path in &f.paths {
                paths.push((path, key.clone()));
            }
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

    /// The places `name` may be read from, each checked, none twice, at least one.
    fn places(&mut self, name: &str, places: &Paths, at: &YamlPath) -> Vec<Vec<String>> {
        let list = places.paths();
        if list.is_empty() {
            self.error(
                at,
                format!("`{name}` lists no path"),
                format!("write where it is in the answer, e.g. `data.{name}`"),
            );
        }
        for (i, path) in list.iter().enumerate() {
            self.check_path(path, at);
            if list[..i].contains(path) {
                self.error(
                    at,
                    format!("`{name}` lists `{path}` twice"),
                    "list each place it may be once",
                );
            }
        }
        list.iter().map(|p| split_path(p)).collect()
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
                    || response.fields.iter().any(|f| f.paths.contains(&p));
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

/// Places as documentation reads them: `` `a` `` or `` `a`, else `b` ``.
pub(crate) fn shown(paths: &[Vec<String>]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.join(".")))
        .collect::<Vec<_>>()
        .join(", else ")
}
