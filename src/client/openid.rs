//! OpenID Connect glue: the ID-token validator a spec describes, authorization requests and
//! validation on demand. The validation itself is `crate::oidc`.

use super::*;

/// The issuer of `template` (a spec's issuer, `{placeholders}` filled with `values`), or the
/// base URL when the spec names none, checked against the URL rule.
fn issuer(
    provider: &Provider,
    template: Option<&str>,
    base: &Url,
    values: &[(&str, &str)],
) -> Result<String, Error> {
    let issuer = match template {
        Some(template) => {
            let mut issuer = template.to_owned();
            for (name, value) in values {
                issuer = issuer.replace(&format!("{{{name}}}"), value);
            }
            issuer
        }
        None => base.as_str().trim_end_matches('/').to_owned(),
    };
    let rule = UrlRule {
        allow_insecure_http: provider.allow_insecure_http,
        allow_query: false,
    };
    check_url(&issuer, "the issuer", rule).map_err(Error::Config)?;
    Ok(issuer)
}

/// The authorization server of a spec with an `authorization:` section and no `openid:` one,
/// or one whose OpenID issuer is a name (otherwise the OpenID issuer's metadata is it).
pub(super) fn authorization_server(
    provider: &'static Provider,
    base: &Url,
    values: &[(&str, &str)],
    http: &Arc<Http>,
    settings: &Settings,
) -> Result<Option<crate::metadata::Metadata>, Error> {
    // An OpenID issuer that is a URL is the authorization server; one that is a name leaves
    // that to the `authorization:` section.
    let Some(authorization) = provider.authorization else {
        return Ok(None);
    };
    if provider
        .openid
        .is_some_and(|o| crate::descriptor::OpenId::issuer_is_url(&o))
    {
        return Ok(None);
    }
    let issuer = issuer(provider, authorization.issuer, base, values)?;
    Ok(Some(crate::metadata::Metadata::new(
        issuer,
        UrlRule {
            allow_insecure_http: provider.allow_insecure_http,
            allow_query: true,
        },
        Arc::clone(http),
        settings.timeout,
        settings.max_body_bytes,
    )))
}

/// The ID-token validator a spec's `openid:` section describes.
pub(super) fn id_token_validator(
    provider: &'static Provider,
    openid: &crate::descriptor::OpenId,
    base: &Url,
    values: &[(&str, &str)],
    credentials: &Credentials,
    http: &Arc<Http>,
    settings: &Settings,
) -> Result<IdTokenValidator, Error> {
    // An issuer that is a name is only compared with the `iss` claim.
    let issuer = match openid.issuer {
        Some(name) if !openid.issuer_is_url() => name.to_owned(),
        template => issuer(provider, template, base, values)?,
    };
    let mut algorithms = Vec::new();
    for name in openid.algorithms {
        algorithms.push(crate::oidc::algorithm(name).ok_or_else(|| {
            Error::config(format!("{}: unknown algorithm {name:?}", provider.title))
        })?);
    }
    let rule = UrlRule {
        allow_insecure_http: provider.allow_insecure_http,
        allow_query: false,
    };
    let jwks_uri = match openid.jwks_path {
        Some(path) => Some(
            check_url(
                &format!("{}{path}", issuer.trim_end_matches('/')),
                "the JWKS URL",
                rule,
            )
            .map_err(Error::Config)?,
        ),
        None => None,
    };
    let mut config = OpenIdConfig::new(issuer, credentials.id.as_str());
    config.algorithms = algorithms;
    config.jwks_uri = jwks_uri;
    config.client_secret = Some(credentials.secret.clone());
    config.leeway = Duration::from_secs(openid.leeway_secs);
    config.allow_insecure_http = provider.allow_insecure_http;
    config.fetch_timeout = settings.timeout;
    config.max_document_bytes = settings.max_body_bytes;
    Ok(IdTokenValidator::sharing(
        config,
        Arc::clone(http),
        Arc::clone(&settings.clock),
    ))
}

impl TokenClient {
    /// The authorization server's metadata: the OpenID issuer's, or that of the spec's
    /// `authorization:` server.
    pub(super) fn server_metadata(&self) -> Option<&crate::metadata::Metadata> {
        match (&self.inner.authorization_server, &self.inner.validator) {
            (Some(server), _) => Some(server),
            (None, validator) => validator.as_ref().map(IdTokenValidator::metadata),
        }
    }

    /// The provider redirected back with `response`, a JWT-secured authorization response
    /// (JARM), for the request `pending`: verifies its signature with the provider's keys, its
    /// issuer, audience and expiry, then checks its `state` and `iss` as
    /// [`crate::PendingAuthorization::callback_with_issuer`] does, and returns the code for the
    /// exchange. A response that carries the provider's error (`access_denied` when the user
    /// said no) is [`Error::AuthorizationResponse`] naming it.
    pub async fn callback_jwt(
        &self,
        pending: crate::PendingAuthorization,
        response: &str,
    ) -> Result<crate::AuthorizationCode, Error> {
        let Some(validator) = &self.inner.validator else {
            return Err(Error::config(format!(
                "{} verifies JWT-secured responses with its OpenID provider's keys, and its spec has no `openid:`",
                self.inner.provider.title
            )));
        };
        let claims = validator.verify_response(response).await?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if let Some(error) = text("error") {
            let description = text("error_description").map_or(String::new(), |d| format!(": {d}"));
            return Err(Error::AuthorizationResponse(format!(
                "the provider answered `{error}`{description}"
            )));
        }
        let (Some(state), Some(code)) = (text("state"), text("code")) else {
            return Err(Error::AuthorizationResponse(
                "it carries no `code` and `state`".to_owned(),
            ));
        };
        pending.verified_callback(state, code.to_owned(), text("iss"))
    }

    /// The provider redirected back to `pending`'s redirect URI with a hybrid response
    /// (`response_type=code id_token`, OpenID Connect Core §3.3): `parameters` are the
    /// redirect's fragment as the browser handed it to the application
    /// (`code=…&id_token=…&state=…[&iss=…]`, a leading `#` allowed). Checks the `state`, then
    /// validates the ID token as the exchange's would be (signature, issuer, audience, expiry,
    /// this request's nonce), then that it was issued with this code (`c_hash`, required) and
    /// this state (`s_hash`, when present, as FAPI 1.0 Advanced servers send it), then the
    /// response's issuer as [`crate::PendingAuthorization::callback_with_issuer`] does (the
    /// `iss` parameter, or else the ID token's, RFC 9207 §2.4), and returns the code for the
    /// exchange. A response that carries the provider's error (`access_denied` when the
    /// user said no) is [`Error::AuthorizationResponse`] naming it.
    pub async fn callback_hybrid(
        &self,
        pending: crate::PendingAuthorization,
        parameters: &str,
    ) -> Result<crate::AuthorizationCode, Error> {
        let Some(validator) = &self.inner.validator else {
            return Err(Error::config(format!(
                "{} verifies hybrid responses with its OpenID provider's keys, and its spec has no `openid:`",
                self.inner.provider.title
            )));
        };
        let parameters: Vec<(String, String)> =
            url::form_urlencoded::parse(parameters.trim_start_matches('#').as_bytes())
                .into_owned()
                .collect();
        let text = |name: &str| {
            parameters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(error) = text("error") {
            let description = text("error_description").map_or(String::new(), |d| format!(": {d}"));
            return Err(Error::AuthorizationResponse(format!(
                "the provider answered `{error}`{description}"
            )));
        }
        let (Some(state), Some(code), Some(id_token)) =
            (text("state"), text("code"), text("id_token"))
        else {
            return Err(Error::AuthorizationResponse(
                "it carries no `code`, `id_token` and `state`: pass the whole fragment of the redirect".to_owned(),
            ));
        };
        pending.check_state(state)?;
        let claims = validator
            .validate_detached(id_token, pending.nonce(), code, state)
            .await?;
        // A response with an ID token names its issuer there (RFC 9207 §2.4), and servers
        // leave `iss` out of such responses; one that does send it must agree.
        let iss = text("iss").unwrap_or(&claims.iss);
        pending.verified_callback(state, code.to_owned(), Some(iss))
    }

    /// Validates an ID token from this provider (OpenID Connect Core §3.1.3.7); `nonce` is the
    /// one sent in the authorization request, if any.
    pub async fn validate_id_token(
        &self,
        id_token: &IdToken,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        match &self.inner.validator {
            Some(v) => v.validate(id_token.expose_secret(), nonce).await,
            None => Err(Error::config(format!(
                "{}'s spec declares no `openid:` section",
                self.inner.provider.title
            ))),
        }
    }

    /// A new authorization request for the user to follow, to the redirect URI the builder
    /// was given ([`Settings::redirect_uri`]): fresh `state` and PKCE verifier, and a `nonce`
    /// for OpenID providers. The endpoint comes from the spec or from the server's metadata
    /// (OpenID discovery or RFC 8414). The exchange of its code takes what its `callback`
    /// returns. With the spec's `authorization.par`, the request is pushed to the server first
    /// (RFC 9126) and the URL carries only its `request_uri`.
    pub async fn authorization_request(
        &self,
        scope: &str,
    ) -> Result<crate::PendingAuthorization, Error> {
        self.authorization_request_with(scope, &[]).await
    }

    /// [`authorization_request`](Self::authorization_request) with parameters of the
    /// application's own (`prompt`, `login_hint`, `acr_values`, ...), sent with the rest:
    /// in the URL, or in the pushed request. The parameters tokenspec sets cannot be given.
    pub async fn authorization_request_with(
        &self,
        scope: &str,
        parameters: &[(&str, &str)],
    ) -> Result<crate::PendingAuthorization, Error> {
        let provider = self.inner.provider;
        let Some(redirect_uri) = self.inner.settings.redirect_uri.as_deref() else {
            return Err(Error::config(
                "no redirect URI: call `.redirect_uri(...)` on the builder with this application's callback URL",
            ));
        };
        let path = provider
            .authorization
            .and_then(|a| a.path)
            .or(provider.openid.and_then(|o| o.authorization_path));
        let server = self.server_metadata().ok_or_else(|| {
            Error::config(format!(
                "{}'s spec declares no `authorization:` (or `openid:`) section",
                provider.title
            ))
        })?;
        let endpoint = match path {
            Some(path) => format!("{}{path}", server.issuer().trim_end_matches('/')),
            None => server
                .discover()
                .await?
                .authorization_endpoint
                .ok_or_else(|| {
                    Error::Discovery("the document names no `authorization_endpoint`".to_owned())
                })?
                .to_string(),
        };
        let mut pending = crate::PendingAuthorization::new(
            &endpoint,
            &self.inner.credentials.load().credentials.id,
            redirect_uri,
            scope,
            provider.openid.is_some(),
        )?;
        if provider.authorization.is_some_and(|a| a.jwt_response) {
            pending = pending.with_jwt_response();
        }
        if provider.authorization.is_some_and(|a| a.hybrid) {
            pending = pending.with_hybrid_response();
        }
        for (name, value) in parameters {
            pending = pending.with_parameter(name, value)?;
        }
        // RFC 9207: the redirect's `iss` must name this server; whether it always sends one
        // is in its metadata, when the client has read it (it did if the endpoint came from
        // there).
        let sends_iss = server
            .known()
            .is_some_and(|d| d.authorization_response_iss_parameter_supported);
        pending = pending.at_issuer(server.issuer(), sends_iss);
        // RFC 9101: every parameter goes in a request object the client signs.
        let signed = match provider.authorization.and_then(|a| a.request_object) {
            Some(assertion) => {
                let parameters: Vec<(String, String)> =
                    pending.url().query_pairs().into_owned().collect();
                let keys = self.inner.credentials.load();
                Some(crate::assertion::request_object(
                    &assertion,
                    &keys.credentials,
                    server.issuer(),
                    &parameters,
                    self.inner.settings.clock.wall(),
                )?)
            }
            None => None,
        };
        match (provider.authorization.and_then(|a| a.par), signed) {
            (Some(par), signed) => self.push(pending, par, server, &endpoint, signed).await,
            (None, Some(signed)) => {
                let id = self.inner.credentials.load().credentials.id.clone();
                pending.into_signed(&endpoint, &id, signed.expose_secret())
            }
            (None, None) => Ok(pending),
        }
    }
}
