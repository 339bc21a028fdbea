//! Token revocation (RFC 7009): what ending a session sends, to the endpoint the spec names or
//! the server's metadata gives.

use super::*;
use crate::descriptor::{Expiry, Location, Param, Slot, Source};

/// The revocation request as a flow: `token` and `token_type_hint` in a form body, to the
/// endpoint itself (the base passed to the request builder is the endpoint).
static REVOCATION: Flow = Flow {
    name: "revocation",
    grant: Grant::Custom,
    params: &[
        Param {
            name: "token",
            location: Location::Body,
            source: Source::Call(0),
        },
        Param {
            name: "token_type_hint",
            location: Location::Body,
            source: Source::Call(1),
        },
    ],
    call_params: &[
        Slot {
            name: "token",
            required: true,
        },
        Slot {
            name: "token_type_hint",
            required: false,
        },
    ],
    access_token: &[],
    expiry: Expiry::Lifetime(0),
    ..Flow::DEFAULT
};

impl TokenClient {
    /// Revokes `token` (RFC 7009 §2.1), `hint` saying what it is (`refresh_token` or
    /// `access_token`). The client authenticates as on its refresh (or code) requests. A token
    /// the server does not know counts as revoked (§2.2: it answers 200).
    pub(super) async fn revoke(&self, token: &str, hint: &'static str) -> Result<(), Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let Some(revocation) = provider.revocation else {
            return Ok(());
        };
        let endpoint = match revocation.path {
            Some(path) => self.under_base(path),
            None => {
                let server = self.server_metadata().ok_or_else(|| {
                    Error::config(format!(
                        "{}'s spec gives no revocation path and no server metadata to find one",
                        provider.title
                    ))
                })?;
                self.endpoints(server)
                    .await?
                    .revocation_endpoint
                    .ok_or_else(|| {
                        Error::Discovery("the document names no `revocation_endpoint`".to_owned())
                    })?
            }
        };
        let auth_flow = provider
            .flows
            .iter()
            .find(|f| matches!(f.grant, Grant::RefreshToken))
            .or_else(|| {
                provider
                    .flows
                    .iter()
                    .find(|f| matches!(f.grant, Grant::AuthorizationCode))
            })
            .or(provider.flows.first())
            .ok_or_else(|| Error::config(format!("{} has no flows", provider.title)))?;
        let http = inner.http.client()?;
        let values = [
            Some(ParamValue::Secret(SecretString::from(token.to_owned()))),
            Some(ParamValue::Text(hint.to_owned())),
        ];
        let keys = inner.credentials.load_full();
        let auth = self.client_auth(auth_flow);
        let credentials = keys.credentials.for_request(auth)?;
        let request = request::build(
            &http,
            &endpoint,
            &REVOCATION,
            crate::client_auth::Proof {
                auth,
                credentials: &credentials,
                now: inner.settings.clock.wall(),
                issuer: self.issuer(),
            },
            &[],
            &values,
            &[],
        )?;
        let answer = self.send_to_server(&http, request).await?;
        if (200..300).contains(&answer.status) {
            return Ok(());
        }
        let redactor = keys.redactor.with([token.to_owned()]);
        Err(response::refusal(
            provider,
            answer.status,
            &answer.body,
            &redactor,
        ))
    }
}
