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
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::source::authorize;
use crate::{Authorizer, TokenSource};

/// The error of a [`TokenService`]: the wrapped service's, or a [`crate::Error`] when no token
/// could be had (downcast to tell them apart). It is the error type tower's own middleware and
/// tonic clients expect.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a service in a [`TokenService`], which authorizes each request with the token of a
/// generated client, a [`crate::TokenClient`], a user's [`crate::Session`], or a
/// [`TokenSource`] of your own.
#[derive(Clone, Debug)]
pub struct TokenLayer {
    source: Arc<dyn TokenSource>,
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
        TokenLayer { source }
    }
}

impl<S> Layer<S> for TokenLayer {
    type Service = TokenService<S>;

    fn layer(&self, inner: S) -> TokenService<S> {
        TokenService {
            inner,
            source: Arc::clone(&self.source),
        }
    }
}

/// A service that adds the provider's header (and the other headers its spec gives API calls)
/// with a valid token to each `http::Request` before the service it wraps sends it.
///
/// When the answer refuses the token (HTTP `401 Unauthorized`, or a gRPC status
/// `UNAUTHENTICATED` in the answer's headers), the token is dropped, and the request is sent
/// once more with a new one if its body can be sent again: an empty body, a `String`, an
/// `http_body_util::Full<Bytes>`, a `reqwest::Body` held in memory.
/// Other bodies (streams, gRPC messages) cannot be: their answer is returned as it is, and the
/// next request gets a new token. A second refusal is returned as it is.
///
/// The wrapped service must be `Clone`, as hyper clients and tonic channels are: the request
/// sent again goes through a clone made ready anew. Wrap other services in
/// `tower::buffer::Buffer`. A token that cannot be had fails the call with a [`BoxError`]
/// holding the [`crate::Error`]; tonic reports it as a `Status` carrying its message.
#[derive(Clone, Debug)]
pub struct TokenService<S> {
    inner: S,
    source: Arc<dyn TokenSource>,
}

impl<S> TokenService<S> {
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

impl<S, B, R> Service<http::Request<B>> for TokenService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body + Default + Send + 'static,
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
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let again = replay(&body).map(|body| copy(&parts, body));
            let token = authorize(&*source, &mut parts.headers).await?;
            let response = inner
                .call(http::Request::from_parts(parts, body))
                .await
                .map_err(Into::into)?;
            if !refuses_token(response.status(), response.headers()) {
                return Ok(response);
            }
            source.refused(&token);
            let Some(mut again) = again else {
                return Ok(response);
            };
            drop(response);
            authorize(&*source, again.headers_mut()).await?;
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner.call(again).await.map_err(Into::into)
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

/// A copy of `body` to send again, when it can be made without consuming it.
fn replay<B: Body + Default + 'static>(body: &B) -> Option<B> {
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
    fn bodies_held_in_memory_are_replayed_and_streams_are_not() {
        assert_eq!(replay(&String::from("a=1")).as_deref(), Some("a=1"));
        let full = replay(&http_body_util::Full::new(Bytes::from_static(b"f"))).unwrap();
        assert_eq!(full.size_hint().exact(), Some(1));
        let held = replay(&reqwest::Body::from("held")).unwrap();
        assert_eq!(held.as_bytes(), Some(&b"held"[..]));
        let empty = replay(&http_body_util::Empty::<Bytes>::new());
        assert!(empty.is_some());
        let stream = reqwest::Body::wrap(http_body_util::Full::new(Bytes::from_static(b"s")));
        assert!(replay(&stream).is_none(), "a wrapped body is a stream");
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
