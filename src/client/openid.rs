//! OpenID Connect glue: the ID-token validator a spec describes, authorization requests and
//! validation on demand. The validation itself is `crate::oidc`.

use super::*;

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
    let issuer = match openid.issuer {
        Some(template) => {
            let mut issuer = template.to_owned();
            for (name, value) in values {
                issuer = issuer.replace(&format!("{{{name}}}"), value);
            }
            issuer
        }
        None => base.as_str().trim_end_matches('/').to_owned(),
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
    check_url(&issuer, "the issuer", rule).map_err(Error::Config)?;
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

    /// A new authorization request (fresh `state`, `nonce` and PKCE verifier) for the user to
    /// follow; the endpoint comes from the spec or from the provider's discovery document. The
    /// exchange of its code takes what its `callback` returns.
    pub async fn authorization_request(
        &self,
        redirect_uri: &str,
        scope: &str,
    ) -> Result<crate::PendingAuthorization, Error> {
        let (Some(validator), Some(openid)) = (&self.inner.validator, &self.inner.provider.openid)
        else {
            return Err(Error::config(format!(
                "{}'s spec declares no `openid:` section",
                self.inner.provider.title
            )));
        };
        let endpoint = match openid.authorization_path {
            Some(path) => format!("{}{path}", validator.config().issuer.trim_end_matches('/')),
            None => validator
                .discover()
                .await?
                .authorization_endpoint
                .ok_or_else(|| {
                    Error::Discovery("the document names no `authorization_endpoint`".to_owned())
                })?
                .to_string(),
        };
        crate::PendingAuthorization::new(
            &endpoint,
            &self.inner.credentials.id,
            redirect_uri,
            scope,
            true,
        )
    }
}
