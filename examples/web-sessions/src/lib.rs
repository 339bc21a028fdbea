//! A small web application whose users connect their account at an OpenID provider, built on a
//! client generated from `specs/`: `local_openid.yaml` (client secret, plain authorization
//! requests), or `local_fapi.yaml` (the FAPI 2.0 profile: pushed requests, private_key_jwt and
//! DPoP-bound tokens), the same application code over either:
//!
//! - `GET /connect?user=alice` sends the browser to the provider's login and consent pages
//!   (an authorization request with PKCE, state and nonce, kept here until the user comes back);
//! - `GET /callback?state=…&code=…` checks the state and starts the session `alice`, which the
//!   client's store (Redis) keeps for every process of the application;
//! - `GET /me?user=alice` uses the session: the cached token, renewed through the refresh grant
//!   (whichever process rotates it), or, once the provider refuses the session, a page asking the
//!   user to connect again;
//! - `GET /disconnect?user=alice` ends the session: revoked at the provider, removed from Redis.
#![deny(warnings, missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tokenspec::PendingAuthorization;

include!(concat!(env!("OUT_DIR"), "/tokenspec_providers.rs"));

/// What the application needs of a generated client: the methods every generated client of
/// a spec with a code exchange and a refresh grant has, whatever its client authentication or
/// sender constraint.
pub trait Provider: Clone + Send + Sync + 'static {
    /// An authorization request for `scope` with the application's own `parameters`.
    fn authorization_request_with(
        &self,
        scope: &str,
        parameters: &[(&str, &str)],
    ) -> impl Future<Output = Result<PendingAuthorization, tokenspec::Error>> + Send;

    /// Exchanges `code` and keeps the user's tokens as the session `key`.
    fn start_session(
        &self,
        key: String,
        code: tokenspec::AuthorizationCode,
    ) -> impl Future<Output = Result<tokenspec::Session, tokenspec::Error>> + Send;

    /// The session `key`, from memory or the store.
    fn session(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<tokenspec::Session>, tokenspec::Error>> + Send;
}

macro_rules! provider {
    ($($module:ident),*) => {$(
        impl Provider for $module::Client {
            async fn authorization_request_with(
                &self,
                scope: &str,
                parameters: &[(&str, &str)],
            ) -> Result<PendingAuthorization, tokenspec::Error> {
                Ok($module::Client::authorization_request_with(self, scope, parameters).await?)
            }

            async fn start_session(
                &self,
                key: String,
                code: tokenspec::AuthorizationCode,
            ) -> Result<tokenspec::Session, tokenspec::Error> {
                Ok($module::Client::start_session(self, key, code).await?)
            }

            async fn session(&self, key: &str) -> Result<Option<tokenspec::Session>, tokenspec::Error> {
                Ok($module::Client::session(self, key).await?)
            }
        }
    )*};
}

provider!(local_openid, local_fapi);

/// What the handlers share: the provider's client and the authorization requests waiting for
/// their user to come back, by `state` (a real application keeps them in its users' web
/// sessions; they hold the PKCE verifier, so they stay server-side).
#[derive(Clone)]
pub struct App<P> {
    client: P,
    pending: Arc<Mutex<HashMap<String, (String, PendingAuthorization)>>>,
}

impl<P: Provider> App<P> {
    /// The application over `client` (built with the callback URL as its redirect URI).
    pub fn new(client: P) -> Self {
        App {
            client,
            pending: Arc::default(),
        }
    }

    /// Its routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/connect", get(connect::<P>))
            .route("/callback", get(callback::<P>))
            .route("/me", get(me::<P>))
            .route("/disconnect", get(disconnect::<P>))
            .with_state(self)
    }
}

/// `?user=…`
#[derive(Deserialize)]
struct User {
    user: String,
}

/// The provider's redirect back: `?state=…&code=…`, or `?error=…` when the user said no.
#[derive(Deserialize)]
struct Back {
    state: String,
    code: Option<String>,
    error: Option<String>,
    /// The issuer that answered (RFC 9207), which must be the one the login went to.
    iss: Option<String>,
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><title>{title}</title><h1>{title}</h1>{body}"
    ))
}

/// A name safe to show in HTML.
fn shown(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.@".contains(*c))
        .collect()
}

fn failure(what: &str, error: &(dyn std::error::Error + 'static)) -> Response {
    let text = tokenspec::chain(error).to_string().replace('<', "&lt;");
    (
        axum::http::StatusCode::BAD_GATEWAY,
        page(what, &format!("<p>{text}</p>")),
    )
        .into_response()
}

async fn home() -> Html<String> {
    page(
        "Connect your account",
        "<p><a href=\"/connect?user=alice\">Connect as alice</a></p>",
    )
}

async fn connect<P: Provider>(
    State(app): State<App<P>>,
    Query(User { user }): Query<User>,
) -> Response {
    // The provider issues refresh tokens (`offline_access`) only after explicit consent. The
    // parameter goes with the request, pushed or in the URL.
    let pending = match app
        .client
        .authorization_request_with("openid offline_access", &[("prompt", "consent")])
        .await
    {
        Ok(pending) => pending,
        Err(e) => return failure("Cannot reach the provider", &e),
    };
    let url = pending.url().to_string();
    app.pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pending.state().to_owned(), (user, pending));
    Redirect::to(&url).into_response()
}

async fn callback<P: Provider>(State(app): State<App<P>>, Query(back): Query<Back>) -> Response {
    let waiting = app
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&back.state);
    let Some((user, pending)) = waiting else {
        return page(
            "Unknown login",
            "<p>This login was not started here, or was already used. <a href=\"/\">Start again</a>.</p>",
        )
        .into_response();
    };
    let Some(code) = back.code else {
        let reason = shown(back.error.as_deref().unwrap_or("no code"));
        return page(
            "Not connected",
            &format!(
                "<p>The provider said: {reason}. <a href=\"/connect?user={}\">Try again</a>.</p>",
                shown(&user)
            ),
        )
        .into_response();
    };
    let code = match pending.callback_with_issuer(&back.state, code, back.iss.as_deref()) {
        Ok(code) => code,
        Err(e) => return failure("Login refused", &e),
    };
    match app.client.start_session(user.clone(), code).await {
        Ok(_) => page(
            &format!("Connected as {}", shown(&user)),
            &format!(
                "<p><a href=\"/me?user={0}\">Your account</a></p>",
                shown(&user)
            ),
        )
        .into_response(),
        Err(e) => failure("The code exchange failed", &e),
    }
}

async fn me<P: Provider>(State(app): State<App<P>>, Query(User { user }): Query<User>) -> Response {
    let name = shown(&user);
    let reconnect = format!(
        "<p id=\"reconnect\">Your connection to the provider has ended: <a href=\"/connect?user={name}\">connect again</a>.</p>"
    );
    let session = match app.client.session(&user).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return page(
                "Not connected",
                &format!("<p>Connect your account first: <a href=\"/connect?user={name}\">connect</a>.</p>"),
            )
            .into_response();
        }
        Err(e) => return failure("The session store failed", &e),
    };
    match session.access_token().await {
        Ok(token) => page(
            &format!("Signed in as {name}"),
            &format!(
                "<p id=\"token\">A token valid for {} s more.</p><p><a href=\"/disconnect?user={name}\">Disconnect</a></p>",
                token.expires_at().saturating_duration_since(std::time::Instant::now()).as_secs()
            ),
        )
        .into_response(),
        Err(e) if e.ended_session().is_some() => page("Not connected", &reconnect).into_response(),
        Err(e) => failure("The provider could not be reached", &e),
    }
}

async fn disconnect<P: Provider>(
    State(app): State<App<P>>,
    Query(User { user }): Query<User>,
) -> Response {
    if let Ok(Some(session)) = app.client.session(&user).await
        && let Err(e) = session.end().await
    {
        return failure("The provider could not revoke the session", &e);
    }
    page(
        "Disconnected",
        &format!(
            "<p><a href=\"/connect?user={}\">Connect again</a></p>",
            shown(&user)
        ),
    )
    .into_response()
}
