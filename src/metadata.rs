//! The authorization server's metadata: OpenID Connect discovery or RFC 8414, whichever the
//! server publishes, fetched once, with its issuer and every endpoint checked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::Error;
use crate::outbound::{Http, UrlRule, check_url};

/// The provider's discovery document, as far as tokenspec reads it. Every endpoint in it has
/// passed the same rule as the spec's own URLs (`https://`, or loopback for local tests).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Discovery {
    /// Issuer; equal to the configured one, exactly (OpenID Connect Discovery §4.3).
    pub issuer: String,
    /// JWKS location.
    pub jwks_uri: Option<Url>,
    /// Authorization endpoint.
    pub authorization_endpoint: Option<Url>,
    /// Token endpoint.
    pub token_endpoint: Option<Url>,
    /// Token revocation endpoint (RFC 7009).
    pub revocation_endpoint: Option<Url>,
    /// Pushed authorization request endpoint (RFC 9126).
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// Whether the server puts `iss` in its authorization responses, which clients must then
    /// check (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// UserInfo endpoint.
    pub userinfo_endpoint: Option<Url>,
    /// Device authorization endpoint (RFC 8628 §4).
    pub device_authorization_endpoint: Option<Url>,
    /// The endpoints a client that sends a certificate uses instead (RFC 8705 §5).
    pub mtls_endpoint_aliases: MtlsEndpointAliases,
}

/// The endpoints of `mtls_endpoint_aliases` (RFC 8705 §5) tokenspec reads: where a client
/// that authenticates with its certificate, or whose tokens are bound to it, sends its
/// requests. A server that serves mutual TLS on other hosts than its plain endpoints names
/// them here.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MtlsEndpointAliases {
    /// Token endpoint.
    pub token_endpoint: Option<Url>,
    /// Token revocation endpoint (RFC 7009).
    pub revocation_endpoint: Option<Url>,
    /// Pushed authorization request endpoint (RFC 9126).
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// UserInfo endpoint.
    pub userinfo_endpoint: Option<Url>,
}

impl Discovery {
    /// The document as a client that sends a certificate sees it: each endpoint that has a
    /// mutual-TLS alias replaced by that alias (RFC 8705 §5), the others as they are.
    #[must_use]
    pub fn with_mutual_tls_aliases(mut self) -> Discovery {
        let aliases = std::mem::take(&mut self.mtls_endpoint_aliases);
        let pairs = [
            (&mut self.token_endpoint, aliases.token_endpoint),
            (&mut self.revocation_endpoint, aliases.revocation_endpoint),
            (
                &mut self.pushed_authorization_request_endpoint,
                aliases.pushed_authorization_request_endpoint,
            ),
            (&mut self.userinfo_endpoint, aliases.userinfo_endpoint),
        ];
        for (plain, alias) in pairs {
            if alias.is_some() {
                *plain = alias;
            }
        }
        self
    }
}

/// `mtls_endpoint_aliases` as it arrives.
#[derive(Deserialize, Default)]
struct RawAliases {
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

/// A discovery document as it arrives.
#[derive(Deserialize)]
struct RawDiscovery {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    mtls_endpoint_aliases: RawAliases,
}

impl RawDiscovery {
    /// Checks the issuer and every endpoint; one unusable endpoint refuses the whole document,
    /// since it says the document is misconfigured or was tampered with.
    fn check(self, issuer: &str, rule: UrlRule) -> Result<Discovery, Error> {
        if self.issuer != issuer {
            return Err(Error::Discovery(format!(
                "the document names issuer {:?}, not {issuer:?} (OpenID Connect Discovery §4.3, RFC 8414 §3.3: they must be identical)",
                self.issuer
            )));
        }
        let endpoint = |value: Option<String>, name: &str| -> Result<Option<Url>, Error> {
            value
                .map(|text| check_url(&text, &format!("its `{name}`"), rule))
                .transpose()
                .map_err(Error::Discovery)
        };
        Ok(Discovery {
            jwks_uri: endpoint(self.jwks_uri, "jwks_uri")?,
            authorization_endpoint: endpoint(
                self.authorization_endpoint,
                "authorization_endpoint",
            )?,
            token_endpoint: endpoint(self.token_endpoint, "token_endpoint")?,
            revocation_endpoint: endpoint(self.revocation_endpoint, "revocation_endpoint")?,
            pushed_authorization_request_endpoint: endpoint(
                self.pushed_authorization_request_endpoint,
                "pushed_authorization_request_endpoint",
            )?,
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported,
            userinfo_endpoint: endpoint(self.userinfo_endpoint, "userinfo_endpoint")?,
            device_authorization_endpoint: endpoint(
                self.device_authorization_endpoint,
                "device_authorization_endpoint",
            )?,
            mtls_endpoint_aliases: {
                let raw = self.mtls_endpoint_aliases;
                let alias =
                    |value, name: &str| endpoint(value, &format!("mtls_endpoint_aliases.{name}"));
                MtlsEndpointAliases {
                    token_endpoint: alias(raw.token_endpoint, "token_endpoint")?,
                    revocation_endpoint: alias(raw.revocation_endpoint, "revocation_endpoint")?,
                    pushed_authorization_request_endpoint: alias(
                        raw.pushed_authorization_request_endpoint,
                        "pushed_authorization_request_endpoint",
                    )?,
                    userinfo_endpoint: alias(raw.userinfo_endpoint, "userinfo_endpoint")?,
                }
            },
            issuer: self.issuer,
        })
    }
}

/// One server's metadata, fetched on first use and kept.
pub(crate) struct Metadata {
    issuer: String,
    rule: UrlRule,
    http: Arc<Http>,
    fetch_timeout: Duration,
    max_bytes: usize,
    discovered: Mutex<Option<Discovery>>,
}

impl Metadata {
    /// The metadata of the server whose issuer identifier is `issuer`.
    pub(crate) fn new(
        issuer: String,
        rule: UrlRule,
        http: Arc<Http>,
        fetch_timeout: Duration,
        max_bytes: usize,
    ) -> Self {
        Metadata {
            issuer,
            rule,
            http,
            fetch_timeout,
            max_bytes,
            discovered: Mutex::new(None),
        }
    }

    /// The issuer identifier.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The server's metadata, if it was fetched already (never fetches).
    pub(crate) fn known(&self) -> Option<Discovery> {
        self.discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Fetches the server's metadata (once): OpenID Connect discovery
    /// (`<issuer>/.well-known/openid-configuration`), or else RFC 8414 authorization-server
    /// metadata (`/.well-known/oauth-authorization-server<issuer path>`). Checks that its issuer
    /// is the configured one and that every endpoint it names passes the URL rule.
    pub(crate) async fn discover(&self) -> Result<Discovery, Error> {
        if let Some(d) = self
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(d);
        }
        // OpenID Connect Discovery §4 appends its path to the issuer; RFC 8414 §3.1 inserts
        // its own between the host and the issuer's path. Servers publish one or both.
        let issuer = self.issuer.trim_end_matches('/');
        let openid = format!("{issuer}/.well-known/openid-configuration");
        let rfc8414 = Url::parse(issuer)
            .map(|mut url| {
                let path = url.path().trim_end_matches('/').to_owned();
                url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
                url.to_string()
            })
            .map_err(|e| Error::Discovery(format!("the issuer is not a URL: {e}")))?;
        let mut reasons = Vec::new();
        for (text, what) in [(openid, "OpenID discovery"), (rfc8414, "RFC 8414 metadata")] {
            let url = check_url(&text, "the discovery URL", self.rule).map_err(Error::Discovery)?;
            match self.get_json::<RawDiscovery>(url).await {
                Ok(raw) => {
                    let document = raw.check(&self.issuer, self.rule)?;
                    *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(document.clone());
                    return Ok(document);
                }
                Err(why) => reasons.push(format!("{what}: {why}")),
            }
        }
        Err(Error::Discovery(format!(
            "could not read it ({})",
            reasons.join("; ")
        )))
    }

    /// GETs a JSON document within the fetch deadline and size limit.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<T, String> {
        let http = self.http.client().map_err(|e| e.to_string())?;
        let request = http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .build()
            .map_err(|e| crate::outbound::detail(&e))?;
        let answer = crate::outbound::exchange(&http, request, self.max_bytes, self.fetch_timeout)
            .await
            .map_err(|fault| fault.to_string())?;
        if !(200..300).contains(&answer.status) {
            return Err(format!("HTTP {}", answer.status));
        }
        serde_json::from_slice(&answer.body).map_err(|e| format!("not the expected JSON: {e}"))
    }
}
