//! One handle on "whoever holds the token" for the HTTP stack integrations: a generated client,
//! a [`TokenClient`] or a user's [`Session`], each of which renews its own token. It is their
//! [`TokenSource`].

use std::fmt;

use http::HeaderMap;

use crate::client::{Session, TokenClient};
use crate::error::Error;
use crate::secret::Token;
use crate::source::{ApiRequest, BoxTokenFuture, TokenSource};

/// Puts a provider's token on API requests: the token of a generated client (its app token), of
/// a [`TokenClient`], or of one user's [`Session`]. It is the [`TokenSource`] of each, which the
/// reqwest-middleware and tower integrations' `new(&client)` make; your own code can use it too.
///
/// Every generated client with a token of its own converts into one (`Authorizer::from(&client)`),
/// as do [`TokenClient`] and [`Session`]. Cheap to clone: clones share the token cache of what
/// they were made from.
///
/// The rule it implements with [`Authorizer::refused`] is the one [`TokenClient::send`] follows:
/// when an API answers `401 Unauthorized`, the token it was sent is dropped (if it is still the
/// cached one; a newer token is left alone), and the request is sent again, once, with a new
/// token when its body can be sent again.
///
/// ```
/// # #[cfg(feature = "bs2")]
/// # fn demo(client: tokenspec::bs2::Client) {
/// let authorizer = tokenspec::Authorizer::from(&client);
/// assert_eq!(authorizer.provider(), "bs2");
/// # }
/// ```
#[derive(Clone)]
pub struct Authorizer {
    holder: Holder,
}

#[derive(Clone)]
enum Holder {
    Client(TokenClient),
    Session(Session),
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.holder {
            Holder::Client(client) => f.debug_tuple("Authorizer").field(client).finish(),
            Holder::Session(session) => f.debug_tuple("Authorizer").field(session).finish(),
        }
    }
}

impl Authorizer {
    /// The token client underneath (a session's is its client's).
    pub fn client(&self) -> &TokenClient {
        match &self.holder {
            Holder::Client(client) => client,
            Holder::Session(session) => session.client(),
        }
    }

    /// The provider's name in its spec (`bs2`).
    pub fn provider(&self) -> &'static str {
        self.client().provider().name
    }

    /// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result
    /// of the one renewal in flight.
    pub async fn access_token(&self) -> Result<Token, Error> {
        match &self.holder {
            Holder::Client(client) => client.access_token().await,
            Holder::Session(session) => session.access_token().await,
        }
    }

    /// Sets the provider's token header (marked sensitive, so HTTP logging hides it) and the
    /// other headers its spec gives API calls, replacing any of the same names.
    pub fn apply(&self, token: &Token, headers: &mut HeaderMap) -> Result<(), Error> {
        self.client().apply_headers(token, headers)
    }

    /// [`Authorizer::apply`] for `request`, with a DPoP proof naming it when the token is
    /// DPoP-bound.
    pub fn apply_to(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        if !token.is_dpop_bound() {
            return self.apply(token, headers);
        }
        let url = request.url()?;
        self.client().apply_headers_for(
            self.dpop(),
            token,
            request.method().as_str(),
            &url,
            headers,
        )
    }

    /// The DPoP key and nonces of the holder: a session's own, or the client's.
    fn dpop(&self) -> Option<&crate::dpop::Dpop> {
        match &self.holder {
            Holder::Client(client) => crate::client::client_dpop(client),
            Holder::Session(session) => session.dpop(),
        }
    }

    /// The API answered `request`, which carried `token`: keeps the API server's DPoP nonce,
    /// and, when the answer refused the token, drops it unless the refusal was a DPoP nonce
    /// challenge (the same token goes again with a new proof). Returns whether to send the
    /// request again.
    pub fn answered(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        answer: &HeaderMap,
        refused: bool,
    ) -> bool {
        let dpop = self.dpop();
        let challenged = dpop.is_some()
            && answer.contains_key(crate::dpop::DPOP_NONCE)
            && request.url().is_ok_and(|url| {
                crate::client::answer_with(dpop, &url, if refused { 401 } else { 200 }, answer)
            });
        if refused && !challenged {
            self.refused(token);
        }
        refused
    }

    /// Sets the provider's headers with a valid token in `headers` (as
    /// [`Authorizer::access_token`] then [`Authorizer::apply`]) and returns that token, for
    /// [`Authorizer::refused`] should the API refuse it.
    pub async fn authorize(&self, headers: &mut HeaderMap) -> Result<Token, Error> {
        let token = self.access_token().await?;
        self.apply(&token, headers)?;
        Ok(token)
    }

    /// An API answered `401 Unauthorized` to `token`: drops it if it is still the cached one,
    /// so the next [`Authorizer::access_token`] renews.
    pub fn refused(&self, token: &Token) {
        match &self.holder {
            Holder::Client(client) => client.invalidate(token),
            Holder::Session(session) => session.invalidate(token),
        }
    }
}

impl From<TokenClient> for Authorizer {
    fn from(client: TokenClient) -> Self {
        Authorizer {
            holder: Holder::Client(client),
        }
    }
}

impl From<&TokenClient> for Authorizer {
    fn from(client: &TokenClient) -> Self {
        Authorizer::from(client.clone())
    }
}

impl From<Session> for Authorizer {
    fn from(session: Session) -> Self {
        Authorizer {
            holder: Holder::Session(session),
        }
    }
}

impl From<&Session> for Authorizer {
    fn from(session: &Session) -> Self {
        Authorizer::from(session.clone())
    }
}

/// The provider's header and `401` rule, as [`Authorizer`]'s own methods of the same names.
impl TokenSource for Authorizer {
    fn access_token(&self) -> BoxTokenFuture<'_> {
        Box::pin(Authorizer::access_token(self))
    }

    fn apply(&self, token: &Token, headers: &mut HeaderMap) -> Result<(), Error> {
        Authorizer::apply(self, token, headers)
    }

    fn refused(&self, token: &Token) {
        Authorizer::refused(self, token);
    }

    fn apply_to(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        Authorizer::apply_to(self, token, request, headers)
    }

    fn answered(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        answer: &HeaderMap,
        refused: bool,
    ) -> bool {
        Authorizer::answered(self, token, request, answer, refused)
    }
}
