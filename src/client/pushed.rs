//! Pushed authorization requests (RFC 9126): the authorization request goes to the server
//! first, authenticated as the client's token requests are, and the user's browser carries only
//! the `request_uri` the server answers with. Nothing of the request (scope, redirect URI, PKCE
//! challenge, nonce) travels through the browser, and the server knows the request came from
//! this client.

use super::*;
use crate::authorization::REQUEST_PARAMETERS;
use crate::descriptor::{Location, Param, Slot, Source};

/// Parameter `i` of [`REQUEST_PARAMETERS`] takes call value `i`.
macro_rules! pushed_params {
    ($($i:literal),*) => {
        &[$(Param {
            name: REQUEST_PARAMETERS[$i],
            location: Location::Body,
            source: Source::Call($i),
        }),*]
    };
}

/// The push as a flow: every parameter of the authorization request in a form body, to the
/// endpoint itself (the base passed to the request builder is the endpoint). A value left out
/// (`nonce` without OpenID, `client_id` where the client authentication sends it) is not sent.
static PUSHED: Flow = Flow {
    name: "pushed_authorization_request",
    grant: Grant::Custom,
    params: pushed_params!(0, 1, 2, 3, 4, 5, 6, 7),
    call_params: &[Slot {
        name: "authorization request parameter",
        required: false,
    }; 8],
    access_token: &[],
    expiry: crate::descriptor::Expiry::Lifetime(0),
    ..Flow::DEFAULT
};

/// The server's answer to a push (RFC 9126 §2.2).
#[derive(serde::Deserialize)]
struct Pushed {
    request_uri: String,
}

impl TokenClient {
    /// The key a push is signed with: the client's, unless sessions have keys of their own.
    fn push_dpop(&self) -> Option<&crate::dpop::Dpop> {
        let inner = &self.inner;
        inner
            .dpop
            .as_ref()
            .filter(|_| !inner.settings.dpop_key_per_session)
    }

    /// Pushes `pending`'s request to the server and returns it with the URL the browser
    /// follows: the authorization endpoint with `client_id` and the `request_uri` only.
    pub(super) async fn push(
        &self,
        pending: crate::PendingAuthorization,
        par: crate::descriptor::Par,
        server: &crate::metadata::Metadata,
        authorization_endpoint: &str,
        signed: Option<SecretString>,
    ) -> Result<crate::PendingAuthorization, Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let endpoint = match par.path {
            Some(path) => {
                let url = format!("{}{path}", server.issuer().trim_end_matches('/'));
                Url::parse(&url).map_err(|e| Error::config(format!("{url}: {e}")))?
            }
            None => self
                .endpoints(server)
                .await?
                .pushed_authorization_request_endpoint
                .ok_or_else(|| {
                    Error::Discovery(
                        "the document names no `pushed_authorization_request_endpoint`, which the \
                         spec's `authorization.par` needs: give `par_path`, or ask the provider"
                            .to_owned(),
                    )
                })?,
        };
        // The client authenticates as on its code exchange.
        let auth_flow = provider
            .flows
            .iter()
            .find(|f| matches!(f.grant, Grant::AuthorizationCode))
            .or(provider.flows.first())
            .ok_or_else(|| Error::config(format!("{} has no flows", provider.title)))?;
        let auth = self.client_auth(auth_flow);
        // `client_id` goes once: where the client authentication puts it, else as the
        // authorization request's own parameter.
        let authentication_sends_id = client_auth::sends_client_id(auth);
        let request: Vec<(String, String)> = pending.url().query_pairs().into_owned().collect();
        // A signed request object holds every parameter (RFC 9126 §3): only it goes, with
        // `client_id`. Otherwise the application's own parameters (`prompt`, `login_hint`, ...)
        // go with the rest.
        let own: Vec<Extra<'_>> = match &signed {
            Some(object) => vec![Extra {
                name: "request",
                location: Location::Body,
                value: ParamValue::Secret(object.clone()),
            }],
            None => request
                .iter()
                .filter(|(name, _)| !REQUEST_PARAMETERS.contains(&name.as_str()))
                .map(|(name, value)| Extra {
                    name,
                    location: Location::Body,
                    value: ParamValue::Text(value.clone()),
                })
                .collect(),
        };
        let values: Vec<Option<ParamValue>> = REQUEST_PARAMETERS
            .iter()
            .map(|name| {
                let sent = match *name {
                    "client_id" => !authentication_sends_id,
                    _ => signed.is_none(),
                };
                if !sent {
                    return None;
                }
                request
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| ParamValue::Text(v.clone()))
            })
            .collect();
        // A push with a proof binds the code to that key (RFC 9449 §10.1). With a key per
        // session, the session's does not exist yet and its exchange would be refused, so such
        // a push carries none (the proof is optional there).
        let pushed: Pushed = self
            .ask_server(
                &endpoint,
                &PUSHED,
                auth,
                &values,
                &own,
                self.push_dpop(),
                "`request_uri` from the pushed authorization request endpoint (RFC 9126 §2.2)",
            )
            .await?;
        let keys = inner.credentials.load();
        pending.into_pushed(
            authorization_endpoint,
            &keys.credentials.id,
            &pushed.request_uri,
        )
    }
}
