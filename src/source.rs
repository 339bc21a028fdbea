//! What the HTTP stack integrations take a token from: [`TokenSource`], which tokenspec's own
//! clients implement (through [`crate::Authorizer`]) and so can an application's own source.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::{HeaderMap, HeaderValue};

use crate::error::Error;
use crate::secret::Token;

/// The future of [`TokenSource::access_token`]: boxed, so that the integrations can hold any
/// source as `Arc<dyn TokenSource>`.
pub type BoxTokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, Error>> + Send + 'a>>;

/// Where the HTTP stack integrations get tokens from, and how they put them on requests: what
/// Go's `oauth2.TokenSource` is to its `oauth2.Transport`.
///
/// [`crate::middleware::TokenMiddleware`] and [`crate::tower::TokenLayer`] hold one as
/// `Arc<dyn TokenSource>` (`from_source`). Every generated client, [`crate::TokenClient`] and
/// user's [`crate::Session`] is one through [`crate::Authorizer`], which the integrations'
/// `new(&client)` builds. Implement it for a token of your own: one a sidecar or a secret
/// manager hands out, one another library renews, a fixed token in tests.
///
/// For each request, an integration asks [`TokenSource::access_token`] for a valid token,
/// puts it on the request with [`TokenSource::apply`], and, when the API answers `401
/// Unauthorized` (or gRPC's `UNAUTHENTICATED`), tells [`TokenSource::refused`] which token was
/// refused, then asks for a token again and sends the request once more if its body can be
/// sent again. Only [`TokenSource::access_token`] has to be written: the header is
/// `Authorization: Bearer <token>` and a refusal is ignored unless you say otherwise. Methods
/// added to this trait later come with such defaults, so an implementation keeps compiling.
///
/// `Debug` is required so that the integrations can show what they hold; like [`Token`]'s,
/// yours must never show a token or secret.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, Instant};
/// use tokenspec::{BoxTokenFuture, Error, Token, TokenSource};
///
/// /// The token a sidecar hands out at `url`, asked again when it expires or is refused.
/// #[derive(Debug)]
/// struct Sidecar {
///     http: reqwest::Client,
///     url: String,
///     cached: Mutex<Option<Token>>,
/// }
///
/// impl TokenSource for Sidecar {
///     fn access_token(&self) -> BoxTokenFuture<'_> {
///         Box::pin(async move {
///             let cached = self.cached.lock().unwrap().clone();
///             if let Some(token) = cached.filter(|t| Instant::now() < t.expires_at()) {
///                 return Ok(token);
///             }
///             let asked = Instant::now();
///             let answer = async { self.http.get(&self.url).send().await?.error_for_status()?.text().await };
///             let text = answer
///                 .await
///                 .map_err(|e| Error::token_source_caused_by("the sidecar gave no token", e))?;
///             let token = Token::new(text.trim().to_owned(), asked, Duration::from_secs(300));
///             *self.cached.lock().unwrap() = Some(token.clone());
///             Ok(token)
///         })
///     }
///
///     fn refused(&self, token: &Token) {
///         let mut cached = self.cached.lock().unwrap();
///         if cached.as_ref().is_some_and(|c| c.same_as(token)) {
///             *cached = None; // ask the sidecar again
///         }
///     }
/// }
/// ```
pub trait TokenSource: fmt::Debug + Send + Sync {
    /// A valid access token: a cached one while it is fresh, otherwise a new one. A failure is
    /// an [`Error`]; for your own source's, [`Error::token_source`].
    fn access_token(&self) -> BoxTokenFuture<'_>;

    /// Puts `token` on a request's `headers`, replacing any header of the same name. By default
    /// `Authorization: Bearer <token>`, marked sensitive so HTTP logging hides it; a token that
    /// cannot go in a header is an [`Error::Config`].
    fn apply(&self, token: &Token, headers: &mut HeaderMap) -> Result<(), Error> {
        headers.insert(http::header::AUTHORIZATION, bearer(token)?);
        Ok(())
    }

    /// An API refused `token` (`401 Unauthorized`): drop it if it is still the one you hand out,
    /// so the next [`TokenSource::access_token`] gets another. By default, nothing.
    fn refused(&self, token: &Token) {
        let _ = token;
    }

    /// Puts `token` on `request`'s `headers`, for sources that sign each request (a DPoP proof
    /// names its method and URL). The integrations call this one; by default it is
    /// [`TokenSource::apply`].
    fn apply_to(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        let _ = request;
        self.apply(token, headers)
    }

    /// The API answered `request`, which carried `token`, with `answer`'s headers; `refused`
    /// when it refused the token (`401 Unauthorized`, or gRPC's `UNAUTHENTICATED`). Returns
    /// whether to send the request again, with [`TokenSource::access_token`] asked anew.
    ///
    /// The integrations call it for the first answer to each request, and send a request again
    /// at most once; the answer to that repeat comes with `refused: false` (so a source can
    /// read its headers, such as a new DPoP nonce) and its result is ignored. By default:
    /// when refused, [`TokenSource::refused`], and send again.
    fn answered(
        &self,
        token: &Token,
        request: ApiRequest<'_>,
        answer: &HeaderMap,
        refused: bool,
    ) -> bool {
        let _ = (request, answer);
        if refused {
            self.refused(token);
        }
        refused
    }
}

/// The API request a token goes on, as the HTTP stack integrations hand it to a
/// [`TokenSource`]: its method and URL.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    method: &'a http::Method,
    target: Target<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Url(&'a url::Url),
    Uri(&'a http::Uri),
}

impl<'a> ApiRequest<'a> {
    /// A request of `method` to `uri`, as `http` (tower, hyper, tonic) holds it.
    pub fn new(method: &'a http::Method, uri: &'a http::Uri) -> Self {
        ApiRequest {
            method,
            target: Target::Uri(uri),
        }
    }

    /// A request of `method` to `url`, as reqwest holds it.
    pub fn from_url(method: &'a http::Method, url: &'a url::Url) -> Self {
        ApiRequest {
            method,
            target: Target::Url(url),
        }
    }

    /// Its method.
    pub fn method(&self) -> &http::Method {
        self.method
    }

    /// Its absolute URL; a request whose URI has no scheme and host is an [`Error::Config`].
    pub fn url(&self) -> Result<std::borrow::Cow<'a, url::Url>, Error> {
        match self.target {
            Target::Url(url) => Ok(std::borrow::Cow::Borrowed(url)),
            Target::Uri(uri) => {
                if uri.scheme().is_none() || uri.authority().is_none() {
                    return Err(Error::config(
                        "a DPoP proof names the request's absolute URL, and this request's URI has no scheme and host: give the request an absolute URI",
                    ));
                }
                url::Url::parse(&uri.to_string())
                    .map(std::borrow::Cow::Owned)
                    .map_err(|e| Error::config(format!("the request's URI is not a URL: {e}")))
            }
        }
    }
}

/// `Bearer <token>`, marked sensitive.
fn bearer(token: &Token) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| Error::config("the token cannot go in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Puts a valid token of `source` on `headers` (of `request`) and returns it, for
/// [`TokenSource::answered`] to be told of the API's answer.
#[cfg(any(feature = "reqwest-middleware", feature = "tower", test))]
pub(crate) async fn authorize(
    source: &dyn TokenSource,
    request: ApiRequest<'_>,
    headers: &mut HeaderMap,
) -> Result<Token, Error> {
    let token = source.access_token().await?;
    source.apply_to(&token, request, headers)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[derive(Debug)]
    struct Fixed(Token);

    impl TokenSource for Fixed {
        fn access_token(&self) -> BoxTokenFuture<'_> {
            Box::pin(std::future::ready(Ok(self.0.clone())))
        }
    }

    fn request() -> (http::Method, http::Uri) {
        (
            http::Method::GET,
            http::Uri::from_static("https://api.example.test/v1"),
        )
    }

    #[tokio::test]
    async fn a_source_puts_its_token_in_a_sensitive_bearer_header_replacing_any_other() {
        let (method, uri) = request();
        let source = Fixed(Token::new("abc", Instant::now(), Duration::from_secs(60)));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer stale"));
        let token = authorize(&source, ApiRequest::new(&method, &uri), &mut headers)
            .await
            .unwrap();
        assert_eq!(token.expose_secret(), "abc");
        assert_eq!(headers.get_all("authorization").iter().count(), 1);
        assert_eq!(headers["authorization"], "Bearer abc");
        assert!(headers["authorization"].is_sensitive());
        assert!(!format!("{source:?}").contains("abc"));
    }

    #[tokio::test]
    async fn a_token_that_cannot_go_in_a_header_is_an_error_that_does_not_show_it() {
        let source = Fixed(Token::new("a\nb", Instant::now(), Duration::from_secs(60)));
        let (method, uri) = request();
        let error = authorize(
            &source,
            ApiRequest::new(&method, &uri),
            &mut HeaderMap::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("a\nb"));
    }

    #[test]
    fn a_source_told_of_a_refusal_drops_the_token_and_asks_to_send_again_by_default() {
        #[derive(Debug, Default)]
        struct Counting(std::sync::atomic::AtomicUsize);
        impl TokenSource for Counting {
            fn access_token(&self) -> BoxTokenFuture<'_> {
                Box::pin(std::future::ready(Err(Error::token_source("unused"))))
            }
            fn refused(&self, _: &Token) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let source = Counting::default();
        let token = Token::new("abc", Instant::now(), Duration::from_secs(60));
        let (method, uri) = request();
        let at = ApiRequest::new(&method, &uri);
        assert!(!source.answered(&token, at, &HeaderMap::new(), false));
        assert!(source.answered(&token, at, &HeaderMap::new(), true));
        assert_eq!(source.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_request_uri_without_scheme_and_host_has_no_url_to_sign() {
        let method = http::Method::GET;
        let relative = http::Uri::from_static("/v1/items");
        let error = ApiRequest::new(&method, &relative).url().unwrap_err();
        assert!(error.to_string().contains("absolute"), "{error}");
        let (method, uri) = request();
        assert_eq!(
            ApiRequest::new(&method, &uri).url().unwrap().as_str(),
            "https://api.example.test/v1"
        );
    }
}
