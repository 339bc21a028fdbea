//! Tokens for any [tower](https://docs.rs/tower) service of `http::Request`s (feature
//! `tower`): hyper clients, tonic channels, and whatever stack is built on them.
//!
//! ```no_run
//! # #[cfg(feature = "bs2")]
//! # fn demo(client: tokenspec::bs2::Client) {
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tokenspec::tower::TokenLayer;
//! use tower_layer::Layer;
//!
//! let hyper = Client::builder(TokioExecutor::new())
//!     .build_http::<http_body_util::Full<bytes::Bytes>>();
//! let api = TokenLayer::new(&client).layer(hyper); // a tower `Service` of `http::Request`s
//! # let _ = api;
//! # }
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::source::{ApiRequest, authorize};
use crate::{Authorizer, TokenSource};

/// The error of a [`TokenService`]: the wrapped service's, or a [`crate::Error`] when no token
/// could be had (downcast to tell them apart). It is the error type tower's own middleware and
/// tonic clients expect.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a [`TokenService`] copies a request's body, to send the request once more after an API
/// refused its token: the hook tower-http's `follow_redirect::policy::Policy::clone_body` is for
/// redirects.
///
/// A [`TokenLayer`] starts with [`KnownBodies`]; [`TokenLayer::replay`] sets another: a closure
/// or `fn` taking `&B` and returning `Option<B>` (this trait is implemented for every
/// `Fn(&B) -> Option<B>`), or a type of yours implementing it.
///
/// The copy is asked for before the request is sent (a body is gone once sent), for every
/// request, so it must be cheap and must not consume the body: clone what is held in memory
/// (`Bytes` clones by reference count), and return `None` for a stream. Nothing is ever buffered
/// behind the application's back; a request whose body has no copy gets its refusal back as it
/// is, and the next request gets a new token.
pub trait ReplayBody<B> {
    /// A copy of `body` to send again, or `None` when it cannot be copied without consuming it.
    fn replay(&self, body: &B) -> Option<B>;
}

impl<B, F> ReplayBody<B> for F
where
    F: Fn(&B) -> Option<B>,
{
    fn replay(&self, body: &B) -> Option<B> {
        self(body)
    }
}

/// The [`ReplayBody`] a [`TokenLayer`] starts with, for any body type with a `Default`. It copies:
///
/// - an empty body (its size hint is exactly 0), made anew with the body type's `Default`, as
///   tower-http's redirect policy does;
/// - a `String`, an `http_body_util::Full<Bytes>`, and a `reqwest::Body` held in memory,
///   recognised by type.
///
/// Any other body (a stream, a gRPC message, a boxed body) is not replayed. A replay of your own
/// can call it to keep these: `KnownBodies.replay(body)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct KnownBodies;

impl<B: Body + Default + 'static> ReplayBody<B> for KnownBodies {
    fn replay(&self, body: &B) -> Option<B> {
        if body.size_hint().exact() == Some(0) {
            return Some(B::default());
        }
        let any = body as &dyn Any;
        if let Some(b) = any.downcast_ref::<http_body_util::Full<Bytes>>() {
            return cast(b.clone());
        }
        if let Some(b) = any.downcast_ref::<String>() {
            return cast(b.clone());
        }
        if let Some(b) = any.downcast_ref::<reqwest::Body>() {
            return cast(reqwest::Body::from(Bytes::copy_from_slice(b.as_bytes()?)));
        }
        None
    }
}

/// Wraps a service in a [`TokenService`], which authorizes each request with the token of a
/// generated client, a [`crate::TokenClient`], a user's [`crate::Session`], or a
/// [`TokenSource`] of your own, and replays bodies with `P` (a [`ReplayBody`]).
pub struct TokenLayer<P = KnownBodies> {
    source: Arc<dyn TokenSource>,
    replay: Arc<P>,
}

impl TokenLayer {
    /// Authorizes requests with `holder`'s token: `&client` for a generated client's app token,
    /// or a [`crate::TokenClient`], a [`crate::Session`], an [`Authorizer`].
    pub fn new(holder: impl Into<Authorizer>) -> Self {
        TokenLayer::from_source(Arc::new(holder.into()))
    }

    /// Authorizes requests with the tokens of `source`, such as one of your own
    /// (`TokenLayer::from_source(Arc::new(my_source))`): its header on each request, and
    /// [`TokenSource::refused`] told of each token an API refuses.
    pub fn from_source(source: Arc<dyn TokenSource>) -> Self {
        TokenLayer {
            source,
            replay: Arc::new(KnownBodies),
        }
    }
}

impl<P> TokenLayer<P> {
    /// Copies bodies to send again with `replay` instead of [`KnownBodies`]: for a body type of
    /// your own, or one without a `Default` (which [`KnownBodies`] needs). Name the service's
    /// type with a `fn`, as `TokenService<S, fn(&B) -> Option<B>>`, or with a type of yours
    /// implementing [`ReplayBody`].
    ///
    /// A hyper client sending either bytes held in memory or a stream, replaying the first:
    ///
    /// ```
    /// # #[cfg(feature = "bs2")]
    /// # fn demo(client: tokenspec::bs2::Client) {
    /// use bytes::Bytes;
    /// use http_body_util::{Either, Full, combinators::BoxBody};
    /// use hyper_util::client::legacy::Client;
    /// use hyper_util::rt::TokioExecutor;
    /// use tokenspec::tower::{KnownBodies, ReplayBody, TokenLayer};
    /// use tower_layer::Layer;
    ///
    /// type Payload = Either<Full<Bytes>, BoxBody<Bytes, std::io::Error>>;
    ///
    /// let hyper = Client::builder(TokioExecutor::new()).build_http::<Payload>();
    /// let api = TokenLayer::new(&client)
    ///     .replay(|body: &Payload| -> Option<Payload> {
    ///         match body {
    ///             Either::Left(held) => KnownBodies.replay(held).map(Either::Left),
    ///             Either::Right(_stream) => None,
    ///         }
    ///     })
    ///     .layer(hyper);
    /// # let _ = api;
    /// # }
    /// ```
    pub fn replay<Q>(self, replay: Q) -> TokenLayer<Q>
    where
        Q: Send + Sync + 'static,
    {
        TokenLayer {
            source: self.source,
            replay: Arc::new(replay),
        }
    }
}

impl<P> Clone for TokenLayer<P> {
    fn clone(&self) -> Self {
        TokenLayer {
            source: Arc::clone(&self.source),
            replay: Arc::clone(&self.replay),
        }
    }
}

impl<P> fmt::Debug for TokenLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenLayer")
            .field("source", &self.source)
            .field("replay", &std::any::type_name::<P>())
            .finish()
    }
}

impl<S, P> Layer<S> for TokenLayer<P> {
    type Service = TokenService<S, P>;

    fn layer(&self, inner: S) -> TokenService<S, P> {
        TokenService {
            inner,
            source: Arc::clone(&self.source),
            replay: Arc::clone(&self.replay),
        }
    }
}

/// A service that adds the provider's header (and the other headers its spec gives API calls)
/// with a valid token to each `http::Request` before the service it wraps sends it.
///
/// When the answer refuses the token (HTTP `401 Unauthorized`, or a gRPC status
/// `UNAUTHENTICATED` in the answer's headers), the token is dropped, and the request is sent
/// once more with a new one if `P` (a [`ReplayBody`]) made a copy of its body. By default
/// ([`KnownBodies`]): an empty body, a `String`, an `http_body_util::Full<Bytes>`, a
/// `reqwest::Body` held in memory. Other bodies (streams, gRPC messages) are not copied: their
/// answer is returned as it is, and the next request gets a new token. A second refusal is
/// returned as it is.
///
/// The wrapped service must be `Clone`, as hyper clients and tonic channels are: the request
/// sent again goes through a clone made ready anew. Wrap other services in
/// `tower::buffer::Buffer`. A token that cannot be had fails the call with a [`BoxError`]
/// holding the [`crate::Error`]; tonic reports it as a `Status` carrying its message.
pub struct TokenService<S, P = KnownBodies> {
    inner: S,
    source: Arc<dyn TokenSource>,
    replay: Arc<P>,
}

impl<S: Clone, P> Clone for TokenService<S, P> {
    fn clone(&self) -> Self {
        TokenService {
            inner: self.inner.clone(),
            source: Arc::clone(&self.source),
            replay: Arc::clone(&self.replay),
        }
    }
}

impl<S: fmt::Debug, P> fmt::Debug for TokenService<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("inner", &self.inner)
            .field("source", &self.source)
            .field("replay", &std::any::type_name::<P>())
            .finish()
    }
}

impl<S, P> TokenService<S, P> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, P, B, R> Service<http::Request<B>> for TokenService<S, P>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    P: ReplayBody<B>,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<R>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The service made ready by `poll_ready` takes this request; its clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = Arc::clone(&self.source);
        let (mut parts, body) = request.into_parts();
        let again = self.replay.replay(&body).map(|body| copy(&parts, body));
        Box::pin(async move {
            let (method, uri) = (parts.method.clone(), parts.uri.clone());
            let at = ApiRequest::new(&method, &uri);
            let token = authorize(&*source, at, &mut parts.headers).await?;
            let response = inner
                .call(http::Request::from_parts(parts, body))
                .await
                .map_err(Into::into)?;
            let refused = refuses_token(response.status(), response.headers());
            if !source.answered(&token, at, response.headers(), refused) {
                return Ok(response);
            }
            let Some(mut again) = again else {
                return Ok(response);
            };
            drop(response);
            let token = authorize(&*source, at, again.headers_mut()).await?;
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            let response = inner.call(again).await.map_err(Into::into)?;
            source.answered(&token, at, response.headers(), false);
            Ok(response)
        })
    }
}

/// Whether an API's answer refuses the token it was sent: HTTP `401 Unauthorized`, or a gRPC
/// answer whose status, in its headers, is `UNAUTHENTICATED` (16): a gRPC error without a
/// message body carries its status there ("trailers-only").
fn refuses_token(status: http::StatusCode, headers: &http::HeaderMap) -> bool {
    status == http::StatusCode::UNAUTHORIZED
        || headers
            .get("grpc-status")
            .is_some_and(|s| s.as_bytes() == b"16")
}

/// The request `parts` describe, with `body`.
fn copy<B>(parts: &http::request::Parts, body: B) -> http::Request<B> {
    let mut request = http::Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    request
}

/// `value` as a `B`, which it is.
fn cast<T: 'static, B: 'static>(value: T) -> Option<B> {
    (Box::new(value) as Box<dyn Any>)
        .downcast::<B>()
        .ok()
        .map(|b| *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bodies_held_in_memory_are_replayed_and_streams_are_not() {
        let replay = KnownBodies;
        assert_eq!(replay.replay(&String::from("a=1")).as_deref(), Some("a=1"));
        let full = replay
            .replay(&http_body_util::Full::new(Bytes::from_static(b"f")))
            .unwrap();
        assert_eq!(full.size_hint().exact(), Some(1));
        let held = replay.replay(&reqwest::Body::from("held")).unwrap();
        assert_eq!(held.as_bytes(), Some(&b"held"[..]));
        let empty = replay.replay(&http_body_util::Empty::<Bytes>::new());
        assert!(empty.is_some());
        let stream = reqwest::Body::wrap(http_body_util::Full::new(Bytes::from_static(b"s")));
        assert!(
            replay.replay(&stream).is_none(),
            "a wrapped body is a stream"
        );
    }

    #[test]
    fn a_401_or_a_grpc_unauthenticated_status_refuses_the_token() {
        let mut headers = http::HeaderMap::new();
        assert!(refuses_token(http::StatusCode::UNAUTHORIZED, &headers));
        assert!(!refuses_token(http::StatusCode::FORBIDDEN, &headers));
        headers.insert("grpc-status", http::HeaderValue::from_static("16"));
        assert!(refuses_token(http::StatusCode::OK, &headers));
        headers.insert("grpc-status", http::HeaderValue::from_static("7"));
        assert!(!refuses_token(http::StatusCode::OK, &headers));
    }
}
