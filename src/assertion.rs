//! JWTs the client signs (RFC 7523): client assertions, which authenticate the client (§2.2),
//! and the assertion of the JWT-bearer grant, which is the grant itself (§2.1). Both are
//! short-lived and signed with the client secret (HS256) or the client's key.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client_auth::Credentials;
use crate::descriptor::{Assertion, Signer};
use crate::error::Error;
use crate::keys::{ClientKey, KeyFamily};

/// What a client whose assertion another identity provider issues must be given.
pub(crate) const FEDERATED_WITHOUT_FILE: &str = "this provider takes a client assertion another identity provider issued (workload identity federation): give the builder the file the platform writes it to, `.client_assertion_file(..)` (with Azure Workload Identity, the path in AZURE_FEDERATED_TOKEN_FILE)";

/// The algorithm `assertion` names, checked against what signs it.
pub(crate) fn algorithm(
    assertion: &Assertion,
    key: Option<&ClientKey>,
) -> Result<jsonwebtoken::Algorithm, Error> {
    use jsonwebtoken::Algorithm::{ES256, HS256, PS256, RS256};
    let algorithm = match assertion.algorithm {
        "HS256" => HS256,
        "RS256" => RS256,
        "PS256" => PS256,
        "ES256" => ES256,
        other => {
            return Err(Error::config(format!(
                "assertions signed with {other} are not supported: use HS256 (with the client secret), or RS256, PS256 or ES256 (with the client's key)"
            )));
        }
    };
    match (assertion.signer, algorithm, key.map(ClientKey::family)) {
        (Signer::ClientSecret, HS256, _) => Ok(algorithm),
        (Signer::ClientSecret, _, _) => Err(Error::config(
            "assertions signed with the client secret use HS256",
        )),
        (Signer::PrivateKey, _, None) => Err(Error::config(
            "this provider wants a JWT signed with the client's key (a private_key_jwt client assertion or the JWT-bearer grant): give the builder the key with `.client_key(ClientKey::from_pem_file(..)?)`",
        )),
        (Signer::PrivateKey, RS256 | PS256, Some(KeyFamily::Rsa))
        | (Signer::PrivateKey, ES256, Some(KeyFamily::Ec)) => Ok(algorithm),
        (Signer::PrivateKey, _, Some(family)) => Err(Error::config(format!(
            "the spec signs assertions with {}, which a {} key cannot do: give a key of the right type",
            assertion.algorithm,
            match family {
                KeyFamily::Rsa => "RSA",
                KeyFamily::Ec => "EC",
            }
        ))),
        // Another identity provider signs a federated assertion, and kinds a newer descriptor
        // names are not this runtime's to sign.
        _ => Err(Error::config(
            "a client assertion another identity provider issued is signed there, not here",
        )),
    }
}

/// A `client_secret_jwt` / `private_key_jwt` client assertion (RFC 7523 §2.2, claims per §3):
/// `iss` and `sub` the client id, `aud` the endpoint (or the spec's audience), a unique `jti`,
/// `iat` now and a short `exp`.
pub(crate) fn client_assertion(
    assertion: &Assertion,
    credentials: &Credentials,
    audience: Audience<'_>,
    now: std::time::SystemTime,
) -> Result<SecretString, Error> {
    if assertion.signer == Signer::Federated {
        // Another identity provider issued it; the platform keeps the file current.
        return match (&credentials.assertion, &credentials.assertion_file) {
            (Some(read), _) => Ok(read.clone()),
            (None, Some(path)) => crate::request::read_secret_file(path),
            (None, None) => Err(Error::config(FEDERATED_WITHOUT_FILE)),
        };
    }
    let mut claims = registered(assertion, credentials, audience, now);
    claims.insert("sub".into(), Value::from(credentials.id.as_str()));
    claims.insert(
        "jti".into(),
        Value::from(crate::authorization::random_token()?),
    );
    sign(assertion, credentials, claims)
}

/// The JWT-bearer grant's assertion (RFC 7523 §2.1, claims per §3): `iss` the client id, `aud`
/// the endpoint (or the spec's audience), `iat` now, a short `exp`, then the flow's own claims
/// (`scope`, a `sub`, fixed claims). `sub` is the client id unless the flow declares one
/// (`declares_sub`), which it then sends only when it has a value: Google, for one, takes a
/// `sub` only to act for a user of the domain.
pub(crate) fn grant_assertion(
    assertion: &Assertion,
    credentials: &Credentials,
    audience: Audience<'_>,
    now: std::time::SystemTime,
    declares_sub: bool,
    claims: impl IntoIterator<Item = (String, Value)>,
) -> Result<SecretString, Error> {
    let mut all = registered(assertion, credentials, audience, now);
    if !declares_sub {
        all.insert("sub".into(), Value::from(credentials.id.as_str()));
    }
    all.extend(claims);
    sign(assertion, credentials, all)
}

/// A signed request object (RFC 9101 §4): the authorization request's `parameters` as
/// claims, with `iss` the client id, `aud` the issuer (or the spec's audience), `iat` and `nbf`
/// now, `exp` the spec's lifetime later and a unique `jti`; typed `oauth-authz-req+jwt`
/// (§10.8).
pub(crate) fn request_object(
    assertion: &Assertion,
    credentials: &Credentials,
    issuer: &str,
    parameters: &[(String, String)],
    now: std::time::SystemTime,
) -> Result<SecretString, Error> {
    let mut claims: Map<String, Value> = parameters
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    // No endpoint: a request object's audience is the issuer unless the spec names another.
    let to = Audience {
        endpoint: None,
        issuer,
    };
    claims.extend(registered(assertion, credentials, to, now));
    if let Some(iat) = claims.get("iat").cloned() {
        claims.insert("nbf".into(), iat);
    }
    claims.insert(
        "jti".into(),
        Value::from(crate::authorization::random_token()?),
    );
    sign_typed(assertion, credentials, claims, Some("oauth-authz-req+jwt"))
}

/// What an assertion's `aud` can be: the endpoint it goes to (RFC 7523's default; the issuer
/// for a JWT sent to no endpoint, a request object), the authorization server's issuer
/// (`{issuer}`, as FAPI 2.0 wants), or the spec's own text.
#[derive(Clone, Copy)]
pub(crate) struct Audience<'a> {
    pub endpoint: Option<&'a url::Url>,
    pub issuer: &'a str,
}

/// The spec's `audience` that stands for the authorization server's issuer.
pub(crate) const ISSUER_AUDIENCE: &str = "{issuer}";

/// `iss`, `aud`, `iat` and `exp`.
fn registered(
    assertion: &Assertion,
    credentials: &Credentials,
    to: Audience<'_>,
    now: std::time::SystemTime,
) -> Map<String, Value> {
    let iat = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let audience = match assertion.audience {
        Some(ISSUER_AUDIENCE) => to.issuer.to_owned(),
        Some(audience) => audience.to_owned(),
        None => match to.endpoint {
            Some(endpoint) => {
                let mut url = endpoint.clone();
                url.set_query(None);
                url.to_string()
            }
            None => to.issuer.to_owned(),
        },
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(credentials.id.as_str()));
    claims.insert("aud".into(), Value::from(audience));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert(
        "exp".into(),
        Value::from(iat.saturating_add(assertion.lifetime_secs)),
    );
    claims
}

/// `claims` signed as `assertion` says, with the key's `kid` in the header.
fn sign(
    assertion: &Assertion,
    credentials: &Credentials,
    claims: Map<String, Value>,
) -> Result<SecretString, Error> {
    sign_typed(assertion, credentials, claims, None)
}

/// [`sign`] with a `typ` header other than `JWT`.
fn sign_typed(
    assertion: &Assertion,
    credentials: &Credentials,
    claims: Map<String, Value>,
    typ: Option<&str>,
) -> Result<SecretString, Error> {
    let algorithm = algorithm(assertion, credentials.key.as_ref())?;
    let mut header = jsonwebtoken::Header::new(algorithm);
    if let Some(typ) = typ {
        header.typ = Some(typ.to_owned());
    }
    let signed = match (assertion.signer, &credentials.key) {
        (Signer::PrivateKey, Some(key)) => {
            header.kid = key.kid().map(str::to_owned);
            header.x5t_s256 = key.x5t_s256().map(str::to_owned);
            jsonwebtoken::encode(&header, &claims, key.encoding())
        }
        _ => jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(credentials.secret.expose_secret().as_bytes()),
        ),
    };
    signed
        .map(SecretString::from)
        .map_err(|_| Error::config("the assertion could not be signed with the client's key"))
}
