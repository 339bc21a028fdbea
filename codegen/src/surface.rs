//! The one table of the methods generated code puts on a provider's `Client` and
//! `ClientBuilder`, whether the generator writes them or a runtime macro does
//! (`builder_basics!`, `client_basics!` in the runtime's `src/generated.rs`), and when a module
//! has each.
//!
//! The emitter writes a conditional method exactly when [`When::holds`] says so, and the
//! validator refuses a flow or builder setting whose identifier is a method the spec's module
//! has ([`generated_methods`]); a name that clashes only with a method this spec does not
//! generate stays allowed. `codegen/tests/surface.rs` keeps the table in step with the
//! runtime's macros and with what the emitter writes.

use crate::ir::{self, Provider};
use crate::spec::AssertionSpec;

/// The generated type a method is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `ClientBuilder`: builder settings (`from: config` parameters) share its namespace.
    Builder,
    /// `Client`: per-call flows' methods share its namespace.
    Client,
}

/// When a generated module has a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every module.
    Always,
    /// Some flow sends the client secret or signs with it.
    SendsSecret,
    /// The spec has a flow for the client's own, cached token.
    Cached,
    /// Users are sent to log in (an authorization endpoint, OpenID, or a code exchange).
    SendsUsers,
    /// `client_auth` lists several methods for the builder to choose from.
    ClientAuthChoices,
    /// Some flow signs with the client's private key.
    SignsWithKey,
    /// An environment wants mutual TLS, or a method authenticates by the client certificate.
    Certificate,
    /// The spec says where users log in (`authorization:`, or an `openid:` issuer URL).
    AuthorizationRequest,
    /// The spec validates ID tokens (`openid:`).
    OpenId,
    /// The spec has a code exchange, which starts users' sessions.
    Sessions,
    /// The spec has a code exchange and a refresh grant, which restores sessions.
    RestoreSession,
    /// Tokens are DPoP-bound (`dpop: true`).
    Dpop,
    /// Authorization responses come back as signed JWTs (`response_mode: jwt`).
    JwtResponse,
    /// Authorization responses carry an ID token beside the code (`code id_token`).
    HybridResponse,
    /// The spec has a device authorization grant (`device_authorization:`).
    DeviceFlow,
    /// Some method sends a client assertion another identity provider issued
    /// (`assertion: federated`).
    FederatedAssertion,
    /// Users' sessions can be looked up: a code exchange or a device flow starts them.
    SessionLookup,
}

/// One method generated code defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratedName {
    /// The method's name.
    pub name: &'static str,
    /// The type it is on.
    pub on: Owner,
    /// When a module has it.
    pub when: When,
    /// Who writes it: `"emitter"`, or the runtime macro (`"builder_basics!"`,
    /// `"client_basics!"`).
    pub by: &'static str,
}

const fn name(name: &'static str, on: Owner, when: When, by: &'static str) -> GeneratedName {
    GeneratedName { name, on, when, by }
}

const B: Owner = Owner::Builder;
const C: Owner = Owner::Client;
const BUILDER_MACRO: &str = "builder_basics!";
const CLIENT_MACRO: &str = "client_basics!";
const EMITTER: &str = "emitter";

/// Every method generated code puts on `ClientBuilder` and `Client`. The builder's fields
/// `settings` and `environment` share their setters' names, so a builder setting (a field and
/// a setter) is refused under either.
pub const GENERATED_NAMES: &[GeneratedName] = &[
    name("environment", B, When::Always, BUILDER_MACRO),
    name("client_id", B, When::Always, BUILDER_MACRO),
    name("settings", B, When::Always, BUILDER_MACRO),
    name(
        "client_secret_from_env",
        B,
        When::SendsSecret,
        BUILDER_MACRO,
    ),
    name(
        "client_secret_from_file",
        B,
        When::SendsSecret,
        BUILDER_MACRO,
    ),
    name("client_secret", B, When::Always, EMITTER),
    name("redirect_uri", B, When::SendsUsers, EMITTER),
    name("client_auth_method", B, When::ClientAuthChoices, EMITTER),
    name("client_key", B, When::SignsWithKey, EMITTER),
    name("client_assertion_file", B, When::FederatedAssertion, EMITTER),
    name("client_identity", B, When::Certificate, EMITTER),
    name("dpop_key", B, When::Dpop, EMITTER),
    name("build", B, When::Always, EMITTER),
    name("builder", C, When::Always, CLIENT_MACRO),
    name("runtime", C, When::Always, CLIENT_MACRO),
    name("replace_client_secret", C, When::Always, CLIENT_MACRO),
    name("token_response", C, When::Cached, CLIENT_MACRO),
    name("invalidate", C, When::Cached, CLIENT_MACRO),
    name("access_token", C, When::Cached, EMITTER),
    name("authorize", C, When::Cached, EMITTER),
    name("send", C, When::Cached, EMITTER),
    name(
        "authorization_request",
        C,
        When::AuthorizationRequest,
        EMITTER,
    ),
    name(
        "authorization_request_with",
        C,
        When::AuthorizationRequest,
        EMITTER,
    ),
    name("callback_jwt", C, When::JwtResponse, EMITTER),
    name("callback_hybrid", C, When::HybridResponse, EMITTER),
    name("validate_id_token", C, When::OpenId, EMITTER),
    name("start_session", C, When::Sessions, EMITTER),
    name("device_authorization", C, When::DeviceFlow, EMITTER),
    name("device_session", C, When::DeviceFlow, EMITTER),
    name("session", C, When::SessionLookup, EMITTER),
    name("restore_session", C, When::RestoreSession, EMITTER),
    name("http_client", C, When::Certificate, EMITTER),
];

impl When {
    /// Whether the module generated for `p` has the methods this condition guards.
    pub fn holds(self, p: &Provider) -> bool {
        match self {
            When::Always => true,
            When::SendsSecret => sends_secret(p),
            When::Cached => p.cached_flow.is_some(),
            When::SendsUsers => {
                p.openid.is_some()
                    || p.authorization.is_some()
                    || p.flows.iter().any(|f| code_slot(f).is_some())
            }
            When::ClientAuthChoices => !p.client_auth_choices.is_empty(),
            When::SignsWithKey => signs_with_key(p),
            When::Certificate => {
                p.environments.iter().any(|e| e.client_certificate)
                    || auths(p).any(|a| a.certificate.is_some())
            }
            When::AuthorizationRequest => {
                p.authorization.is_some()
                    || p.openid.as_ref().is_some_and(ir::OpenId::issuer_is_url)
            }
            When::OpenId => p.openid.is_some(),
            When::Sessions => session_flow(p).is_some(),
            When::RestoreSession => {
                When::SessionLookup.holds(p) && refresh_flow(p).is_some()
            }
            When::DeviceFlow => p.device_authorization.is_some(),
            When::FederatedAssertion => {
                auths(p).any(|a| matches!(a.assertion, Some((AssertionSpec::Federated, ..))))
            }
            When::SessionLookup => session_flow(p).is_some() || p.device_authorization.is_some(),
            When::Dpop => p.dpop,
            When::JwtResponse => p.authorization.as_ref().is_some_and(|a| a.jwt_response),
            When::HybridResponse => p.authorization.as_ref().is_some_and(|a| a.hybrid),
        }
    }
}

/// The methods the module generated for `p` defines on `on`.
pub fn generated_methods(p: &Provider, on: Owner) -> impl Iterator<Item = &'static str> + '_ {
    GENERATED_NAMES
        .iter()
        .filter(move |n| n.on == on && n.when.holds(p))
        .map(|n| n.name)
}

/// Every client authentication method the flows may use: each flow's, and the builder's
/// choices.
fn auths(p: &Provider) -> impl Iterator<Item = &ir::ClientAuth> {
    p.flows
        .iter()
        .map(|f| &f.client_auth)
        .chain(&p.client_auth_choices)
}

/// Whether some method sends the secret or signs with it (a JWT-bearer grant without
/// `client_auth` sends no client credentials).
fn sends_secret(p: &Provider) -> bool {
    auths(p).any(|a| {
        a.basic.is_some()
            || !a.params.is_empty()
            || matches!(a.assertion, Some((AssertionSpec::ClientSecretJwt, ..)))
    }) || p
        .flows
        .iter()
        .filter_map(|f| f.assertion.as_ref())
        .chain(
            p.authorization
                .as_ref()
                .and_then(|a| a.request_object.as_ref()),
        )
        .any(|a| !a.signs_with_key())
}

/// Whether some flow signs with the client's private key: a `private_key_jwt` client
/// assertion, or a JWT-bearer grant signed with a key.
fn signs_with_key(p: &Provider) -> bool {
    auths(p).any(|a| matches!(a.assertion, Some((AssertionSpec::PrivateKeyJwt, ..))))
        || p.flows
            .iter()
            .filter_map(|f| f.assertion.as_ref())
            .chain(
                p.authorization
                    .as_ref()
                    .and_then(|a| a.request_object.as_ref()),
            )
            .any(ir::GrantAssertion::signs_with_key)
}

/// The per-call slot of an authorization-code flow's `code`: the exchange takes it as an
/// `AuthorizationCode`, which carries the PKCE verifier, redirect URI and nonce of its
/// authorization request to the runtime.
pub(crate) fn code_slot(f: &ir::Flow) -> Option<usize> {
    (f.grant == ir::Grant::AuthorizationCode)
        .then(|| {
            f.params.iter().find_map(|param| match param.source {
                ir::ParamSource::Call(i) if param.wire == "code" => Some(i),
                _ => None,
            })
        })
        .flatten()
}

/// The code exchange that starts users' sessions: the first per-call flow with a code, its
/// index and the code's slot.
pub(crate) fn session_flow(p: &Provider) -> Option<(usize, &ir::Flow, usize)> {
    p.flows
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.cached)
        .find_map(|(i, f)| code_slot(f).map(|c| (i, f, c)))
}

/// The flow that renews sessions: the cached flow's `renew_with`, else the first refresh grant.
pub(crate) fn refresh_flow(p: &Provider) -> Option<usize> {
    p.renew_with.or_else(|| {
        p.flows
            .iter()
            .position(|f| f.grant == ir::Grant::RefreshToken)
    })
}
