//! The device authorization grant (RFC 8628): for devices without a browser or a keyboard (a
//! TV, a CLI on a server, a kiosk). The client asks for a device authorization, the user
//! enters its `user_code` at `verification_uri` on another device, and the client polls the
//! token endpoint with its `device_code` until the user approves, says no, or the code expires.

use std::fmt;
use std::time::SystemTime;

use super::*;
use crate::descriptor::{Location, Param, Slot, Source};

/// The device authorization request as a flow: `client_id` (unless the client authentication
/// sends it) and `scope`, in a form body, to the endpoint itself.
static DEVICE_AUTHORIZATION: Flow = Flow {
    name: "device_authorization",
    grant: Grant::Custom,
    params: &[
        Param {
            name: "client_id",
            location: Location::Body,
            source: Source::Call(0),
        },
        Param {
            name: "scope",
            location: Location::Body,
            source: Source::Call(1),
        },
    ],
    call_params: &[Slot {
        name: "device authorization parameter",
        required: false,
    }; 2],
    access_token: &[],
    expiry: crate::descriptor::Expiry::Lifetime(0),
    ..Flow::DEFAULT
};

/// How long to wait between polls when the server names no interval (RFC 8628 §3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN: Duration = Duration::from_secs(5);

/// The server's answer to a device authorization request (RFC 8628 §3.2).
#[derive(serde::Deserialize)]
struct Answer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// A device authorization waiting for the user (RFC 8628): show them [`user_code`](Self::user_code)
/// and [`verification_uri`](Self::verification_uri) (or a QR code of
/// [`verification_uri_complete`](Self::verification_uri_complete)), then hand it to
/// `device_session`, which polls until they approve.
#[must_use = "the user's approval is collected by polling with it: pass it to `device_session`"]
pub struct DeviceAuthorization {
    device_code: SecretString,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_at: SystemTime,
    interval: Duration,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[REDACTED]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("verification_uri_complete", &self.verification_uri_complete)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .finish()
    }
}

impl DeviceAuthorization {
    /// The code the user enters at [`verification_uri`](Self::verification_uri).
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user goes, on a phone or a computer, to enter the code.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The verification URI with the code in it, when the server gives one: for a link or a
    /// QR code, so the user need not type the code.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the codes expire (the server's `expires_in` from the request, on the client's wall
    /// clock).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// How long the client waits between polls: the server's `interval`, or 5 s.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl TokenClient {
    /// Starts a device authorization (RFC 8628 §3.1) for `scope`: the client, authenticated
    /// as on its `device_code` flow, asks the server's device authorization endpoint (the
    /// spec's `device_authorization.path`, or its metadata's) for a code to show the user.
    pub async fn device_authorization(&self, scope: &str) -> Result<DeviceAuthorization, Error> {
        let inner = &self.inner;
        let endpoint = self.device_endpoint().await?;
        let flow = self.device_flow()?;
        let auth = self.client_auth(flow);
        let id = inner.credentials.load().credentials.id.clone();
        let values = [
            (!client_auth::sends_client_id(auth)).then_some(ParamValue::Text(id)),
            Some(ParamValue::Text(scope.to_owned())),
        ];
        let requested = inner.settings.clock.wall();
        let read: Answer = self
            .ask_server(
                &endpoint,
                &DEVICE_AUTHORIZATION,
                auth,
                &values,
                &[],
                // A proof goes with the polls, which are token requests (RFC 9449 §5); this
                // endpoint issues no token to bind.
                None,
                "device authorization (RFC 8628 §3.2: `device_code`, `user_code`, \
                 `verification_uri`, `expires_in`)",
            )
            .await?;
        Ok(DeviceAuthorization {
            device_code: SecretString::from(read.device_code),
            user_code: read.user_code,
            verification_uri: read.verification_uri,
            verification_uri_complete: read.verification_uri_complete,
            expires_at: requested + Duration::from_secs(read.expires_in),
            interval: read
                .interval
                .filter(|s| *s > 0)
                .map_or(DEFAULT_INTERVAL, Duration::from_secs),
        })
    }

    /// Polls the token endpoint with `device`'s code (RFC 8628 §3.4) until the user approves,
    /// and returns their session `key`. It waits the server's interval before each poll, keeps
    /// waiting while the answer is `authorization_pending`, waits 5 s longer after each
    /// `slow_down`, and stops with [`Error::DeviceAuthorizationEnded`] when the user said no
    /// (`access_denied`) or the codes expired (`expired_token`, or their `expires_in` passed).
    /// Any other refusal is returned as it came. Cancel the future to stop polling.
    pub async fn device_session(
        &self,
        key: impl Into<String>,
        device: DeviceAuthorization,
    ) -> Result<Session, Error> {
        let key = key.into();
        let inner = &self.inner;
        let title = inner.provider.title;
        let flow = self.device_flow()?;
        let slot = flow
            .params
            .iter()
            .find_map(|p| match p.source {
                Source::Call(i) if p.name == "device_code" => Some(i),
                _ => None,
            })
            .ok_or_else(|| {
                Error::config(format!(
                    "flow `{}` of {title} takes no `device_code`: the module and its descriptor disagree; generate the module again",
                    flow.name
                ))
            })?;
        let mut values = vec![None; slot + 1];
        values[slot] = Some(ParamValue::Secret(device.device_code.clone()));
        let dpop = self.session_dpop(None)?;
        let clock = &inner.settings.clock;
        let mut interval = device.interval;
        let ended = |reason, cause: Option<Error>| Error::DeviceAuthorizationEnded {
            provider: title,
            reason,
            cause: cause.map(Box::new),
        };
        loop {
            if clock.wall() + interval > device.expires_at {
                return Err(ended("its codes expired before the user approved", None));
            }
            clock.sleep(interval).await;
            let polled = self
                .per_call_raw(
                    flow,
                    &values,
                    &[],
                    None,
                    dpop.as_ref().or(inner.dpop.as_ref()),
                )
                .await;
            match polled {
                Ok((token, fields)) => {
                    return Ok(self.begin_session(&key, token, fields, dpop).await);
                }
                Err(e) => match e.code() {
                    Some("authorization_pending") => {}
                    Some("slow_down") => interval += SLOW_DOWN,
                    Some("access_denied") => return Err(ended("the user said no", Some(e))),
                    Some("expired_token") => {
                        return Err(ended("its codes expired before the user approved", Some(e)));
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    /// The spec's `device_code` flow.
    fn device_flow(&self) -> Result<&'static Flow, Error> {
        let provider = self.inner.provider;
        provider
            .flows
            .iter()
            .find(|f| matches!(f.grant, Grant::DeviceCode))
            .ok_or_else(|| {
                Error::config(format!(
                    "{}'s spec has no `device_code` flow, so it offers no device authorization",
                    provider.title
                ))
            })
    }

    /// Where device authorizations start: the spec's path under the base URL, or the
    /// metadata's `device_authorization_endpoint` (its mutual-TLS alias is not defined by
    /// RFC 8705, so the plain one).
    async fn device_endpoint(&self) -> Result<Url, Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let device = provider.device_authorization.ok_or_else(|| {
            Error::config(format!(
                "{}'s spec declares no `device_authorization:` section",
                provider.title
            ))
        })?;
        if let Some(path) = device.path {
            return Ok(self.under_base(path));
        }
        let server = self.server_metadata().ok_or_else(|| {
            Error::config(format!(
                "{}'s spec gives no device authorization path and no server metadata to find one",
                provider.title
            ))
        })?;
        server
            .discover()
            .await?
            .device_authorization_endpoint
            .ok_or_else(|| {
                Error::Discovery(
                    "the document names no `device_authorization_endpoint`, which the spec's \
                     `device_authorization` needs: give its `path`, or ask the provider"
                        .to_owned(),
                )
            })
    }
}
