//! Tokens in a [reqwest-middleware](https://docs.rs/reqwest-middleware) stack (feature
//! `reqwest-middleware`).
//!
//! ```no_run
//! # #[cfg(feature = "bs2")]
//! # async fn demo(client: tokenspec::bs2::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use tokenspec::middleware::TokenMiddleware;
//!
//! let http = reqwest_middleware::ClientBuilder::new(client.runtime().http_client()?)
//!     .with(TokenMiddleware::new(&client))
//!     .build();
//! let answer = http.get("https://api.example.com/pix").send().await?;
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use reqwest_middleware::{Middleware, Next};

use crate::source::{ApiRequest, authorize};
use crate::{Authorizer, TokenSource};

/// Authorizes every request of a [`reqwest_middleware::ClientWithMiddleware`] with the token of
/// a generated client, a [`crate::TokenClient`], a user's [`crate::Session`], or a
/// [`TokenSource`] of your own.
///
/// Each request gets the provider's header (and the other headers its spec gives API calls)
/// with a valid token: the cached one while fresh, else the one renewal in flight, shared with
/// every other caller of the same client. When the API answers `401 Unauthorized`, that token
/// is dropped and the request sent once more with a new one, if its body can be sent again
/// (a streaming body cannot: its `401` is returned, and the next request gets a new token).
/// A second `401` is returned as it is.
///
/// Token errors come back as [`reqwest_middleware::Error::Middleware`] wrapping a
/// [`crate::Error`] (`error.downcast_ref::<tokenspec::Error>()` inside the `anyhow::Error`).
///
/// Put retry middleware (reqwest-retry) before this one, so each retry is authorized with the
/// token current at the time; tracing middleware (reqwest-tracing) can go anywhere.
#[derive(Clone, Debug)]
pub struct TokenMiddleware {
    source: Arc<dyn TokenSource>,
}

impl TokenMiddleware {
    /// Authorizes requests with `holder`'s token: `&client` for a generated client's app token,
    /// or a [`crate::TokenClient`], a [`crate::Session`], an [`Authorizer`].
    pub fn new(holder: impl Into<Authorizer>) -> Self {
        TokenMiddleware::from_source(Arc::new(holder.into()))
    }

    /// Authorizes requests with the tokens of `source`, such as one of your own
    /// (`TokenMiddleware::from_source(Arc::new(my_source))`): its header on each request, and
    /// [`TokenSource::refused`] told of each token an API answers `401` to.
    pub fn from_source(source: Arc<dyn TokenSource>) -> Self {
        TokenMiddleware { source }
    }
}

#[async_trait::async_trait]
impl Middleware for TokenMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        // The copy for a second try, made before the token goes on (it gets its own), also
        // tells the source which request this is; a request whose body cannot be copied has
        // its method and URL copied instead.
        let again = request.try_clone();
        let owned;
        let (method, url) = match &again {
            Some(copy) => (copy.method(), copy.url()),
            None => {
                owned = (request.method().clone(), request.url().clone());
                (&owned.0, &owned.1)
            }
        };
        let at = ApiRequest::from_url(method, url);
        let token = authorize(&*self.source, at, request.headers_mut())
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.clone().run(request, extensions).await?;
        let refused = response.status() == reqwest::StatusCode::UNAUTHORIZED;
        if !self
            .source
            .answered(&token, at, response.headers(), refused)
        {
            return Ok(response);
        }
        let Some(mut again) = again else {
            return Ok(response);
        };
        drop(response);
        let (method, url) = (again.method().clone(), again.url().clone());
        let at = ApiRequest::from_url(&method, &url);
        let token = authorize(&*self.source, at, again.headers_mut())
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.run(again, extensions).await?;
        self.source.answered(&token, at, response.headers(), false);
        Ok(response)
    }
}
