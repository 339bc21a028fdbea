//! Everything a client sends to a server and reads back passes through here: one rule for the
//! URLs it may reach, one way to build its HTTP client (never following redirects), and one
//! bounded reader for every answer.
//!
//! Token requests, discovery documents and key sets all go through [`exchange`], so a hostile or
//! broken server can hold a client for at most the timeout and make it read at most the size
//! limit, whatever it sends.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use url::Url;

use crate::error::{Cause, Error, TransportKind};
use crate::response::strip_urls;

/// What an outbound URL may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlRule {
    /// `http://` to hosts other than loopback (the spec's `allow_insecure_http`).
    pub allow_insecure_http: bool,
    /// A query string (endpoints named by a discovery document may carry one; base URLs not).
    pub allow_query: bool,
}

/// Whether `url` names this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `scheme://host` of a URL: enough to recognise it in a message, never its path, query or user
/// info, which may carry credentials.
pub(crate) fn shown(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
}

/// The one rule for every URL a client reaches: the spec's base URL and issuer (placeholders
/// filled), a base URL override, and every endpoint a discovery document names. It must be
/// `https://`, or `http://` to a loopback host (local test servers) unless the spec allows plain
/// http; it must have a host and no user info or fragment, and a query only where `rule` allows.
/// The error text names `what` and the URL's scheme and host only.
pub(crate) fn check_url(text: &str, what: &str, rule: UrlRule) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{what} is not a valid URL: {e}"))?;
    let shown = shown(&url);
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{what} {shown} has no host"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || rule.allow_insecure_http => {}
        _ => {
            return Err(format!(
                "{what} {shown} must use https:// (plain http:// only reaches loopback test servers, unless the spec sets `allow_insecure_http`)"
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} {shown} must not carry user info"));
    }
    if url.fragment().is_some() {
        return Err(format!("{what} {shown} must not carry a fragment"));
    }
    if url.query().is_some() && !rule.allow_query {
        return Err(format!("{what} {shown} must not carry a query"));
    }
    Ok(url)
}

/// Adjusts the HTTP client a token client builds (see [`crate::Settings::http_client`]).
pub(crate) type HttpSetup =
    std::sync::Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

/// How a token client's HTTP clients are made: the application's adjustments, and the TLS
/// identity and extra trust roots of its settings.
#[derive(Clone, Default)]
pub(crate) struct HttpConfig {
    pub setup: Option<HttpSetup>,
    pub identity: Option<crate::identity::ClientIdentity>,
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl HttpConfig {
    /// Whether nothing sets this client apart, so it may share its runtime's pool.
    fn is_plain(&self) -> bool {
        self.setup.is_none() && self.identity.is_none() && self.roots.is_empty()
    }
}

/// A new HTTP client for token, discovery and key requests: TLS as [`crate::tls`] sets it up
/// (with the client's certificate, when it has one), the application's adjustments, then
/// redirects off whatever the adjustments said. A redirected token request would replay the
/// client's credentials to the redirect target before tokenspec could see the answer.
pub(crate) fn http_client(config: &HttpConfig) -> Result<reqwest::Client, Error> {
    let tls = crate::tls::client_config_with(config.identity.as_ref(), &config.roots)?;
    let builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
    let builder = match &config.setup {
        Some(setup) => setup(builder),
        None => builder,
    };
    builder
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::config(format!("could not build the HTTP client: {}", detail(&e))))
}

/// Clients kept per token client: a few runtimes' worth.
const RUNTIMES_KEPT: usize = 4;

/// The runtime the caller runs on, if any.
fn current_runtime() -> Option<tokio::runtime::Id> {
    tokio::runtime::Handle::try_current().ok().map(|h| h.id())
}

/// The HTTP client that token clients built without adjustments share on `runtime`: one pool
/// per runtime, so a thousand tenants' clients of one process hold one idle connection to
/// their token endpoint rather than a thousand. Held weakly here: the pool lives exactly as
/// long as a token client uses it, and nothing stays behind once the last one is dropped.
fn shared_client(runtime: Option<tokio::runtime::Id>) -> Result<Arc<reqwest::Client>, Error> {
    type Shared = Vec<(Option<tokio::runtime::Id>, Weak<reqwest::Client>)>;
    static SHARED: Mutex<Shared> = Mutex::new(Vec::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    shared.retain(|(_, client)| client.strong_count() > 0);
    if let Some(client) = shared
        .iter()
        .filter(|(r, _)| *r == runtime)
        .find_map(|(_, client)| client.upgrade())
    {
        return Ok(client);
    }
    let client = Arc::new(http_client(&HttpConfig::default())?);
    shared.push((runtime, Arc::downgrade(&client)));
    Ok(client)
}

/// The HTTP clients of one token client, one per Tokio runtime it is used from. A reqwest
/// connection pool belongs to the runtime that opened its connections: a token client kept in a
/// `static` and used from one runtime after another (each `#[tokio::test]` has its own) must not
/// hand a connection of a runtime that has shut down to the next.
///
/// Token clients built without [`crate::Settings::http_client`] adjustments, a client
/// certificate or extra trust roots share their runtime's pool with each other (see
/// `shared_client`); the others build their own.
pub(crate) struct Http {
    config: HttpConfig,
    /// A client given whole (not built here), used from every runtime.
    fixed: Option<reqwest::Client>,
    /// Clients by the runtime they serve; a runtime of `None`: built outside any runtime, not
    /// used yet.
    built: Mutex<Vec<(Option<tokio::runtime::Id>, Arc<reqwest::Client>)>>,
}

impl Http {
    /// Checks the setup at once, so one that cannot work fails when the token client is built:
    /// an adjusted client is built now; the shared pools need only the TLS configuration.
    pub(crate) fn new(config: HttpConfig) -> Result<Self, Error> {
        let built = if config.is_plain() {
            crate::tls::client_config()?;
            Vec::new()
        } else {
            vec![(current_runtime(), Arc::new(http_client(&config)?))]
        };
        Ok(Http {
            config,
            fixed: None,
            built: Mutex::new(built),
        })
    }

    /// Always `client`, from every runtime.
    pub(crate) fn fixed(client: reqwest::Client) -> Self {
        Http {
            config: HttpConfig::default(),
            fixed: Some(client),
            built: Mutex::new(Vec::new()),
        }
    }

    /// The client for the runtime this runs on.
    pub(crate) fn client(&self) -> Result<reqwest::Client, Error> {
        if let Some(client) = &self.fixed {
            return Ok(client.clone());
        }
        let runtime = current_runtime();
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = built.iter_mut().find(|(r, _)| *r == runtime || r.is_none()) {
            entry.0 = entry.0.or(runtime);
            return Ok(reqwest::Client::clone(&entry.1));
        }
        let client = if self.config.is_plain() {
            shared_client(runtime)?
        } else {
            Arc::new(http_client(&self.config)?)
        };
        if built.len() >= RUNTIMES_KEPT {
            built.remove(0);
        }
        built.push((runtime, Arc::clone(&client)));
        Ok(reqwest::Client::clone(&client))
    }
}

/// Why an exchange with a server failed, before its answer could be read.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// No (complete) answer: connection, timeout, broken body; what tokenspec saw, and the
    /// HTTP stack's error.
    Transport(TransportKind, String, Option<Cause>),
    /// A 3xx, or an answer from another URL than the one asked.
    Redirect(u16),
    /// More bytes than the limit.
    TooLarge(usize),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Transport(kind, detail, cause) => {
                write!(f, "{kind}")?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                if let Some(cause) = cause {
                    write!(f, ": {}", crate::error::chain(cause))?;
                }
                Ok(())
            }
            Fault::Redirect(status) => write!(
                f,
                "the server redirected (HTTP {status}); redirects are never followed"
            ),
            Fault::TooLarge(limit) => write!(f, "the answer is larger than {limit} bytes"),
        }
    }
}

impl Fault {
    /// The error of a token request that met this fault.
    pub(crate) fn for_token_request(self, provider: &'static str) -> Error {
        match self {
            Fault::Transport(kind, detail, cause) => Error::Transport {
                provider,
                kind,
                detail,
                cause,
            },
            Fault::Redirect(status) => Error::Redirect { provider, status },
            Fault::TooLarge(limit) => Error::BodyTooLarge { provider, limit },
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Fault {
        let kind = kind(&e);
        Fault::Transport(kind, String::new(), Some(Cause::new(e.without_url())))
    }
}

/// What kind of failure a reqwest error is.
pub(crate) fn kind(e: &reqwest::Error) -> TransportKind {
    if certificate_refused(e) {
        TransportKind::CertificateRefused
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Other
    }
}

/// Whether the server ended the TLS handshake with an alert saying it does not accept the
/// client's certificate (RFC 8446 §6.2): none sent where one is required, one it cannot verify,
/// revoked, expired, or not allowed in. Sending the same certificate again cannot succeed.
fn certificate_refused(e: &reqwest::Error) -> bool {
    use rustls::AlertDescription as A;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let tls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::AlertReceived(alert)) = tls {
            return matches!(
                alert,
                A::CertificateRequired
                    | A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::AccessDenied
            );
        }
        source = s.source();
    }
    false
}

/// What went wrong under a reqwest error, without the URL its own message carries (the URL can
/// hold credentials in its query).
pub(crate) fn detail(e: &reqwest::Error) -> String {
    let mut detail = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(&s.to_string());
        source = s.source();
    }
    if detail.is_empty() {
        detail = "request failed".to_owned();
    }
    strip_urls(&detail)
}

/// A server's complete answer.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request` and reads the whole answer, all within `timeout` and at most `limit` bytes
/// of body (a `Content-Length` over the limit is refused before reading; a body that grows past
/// it is cut off as it arrives). A redirect, or an answer from another URL, is refused.
pub(crate) async fn exchange(
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
    timeout: Duration,
) -> Result<Answer, Fault> {
    read_answer(http, request, limit, timeout, false).await
}

/// [`exchange`], or with `keep_redirects` a redirect's own answer (its status, `Location` and
/// body) for tools that show what a server said; redirects are never followed either way.
pub(crate) async fn read_answer(
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
    timeout: Duration,
    keep_redirects: bool,
) -> Result<Answer, Fault> {
    let asked = request.url().clone();
    let read = async {
        let mut answer = http.execute(request).await.map_err(Fault::from_reqwest)?;
        let status = answer.status().as_u16();
        let redirected = answer.status().is_redirection() && !keep_redirects;
        if redirected || answer.url() != &asked {
            return Err(Fault::Redirect(status));
        }
        if answer
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(Fault::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(Fault::from_reqwest)? {
            if body.len() + chunk.len() > limit {
                return Err(Fault::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers: std::mem::take(answer.headers_mut()),
            body,
        })
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(Fault::Transport(
            TransportKind::Timeout,
            format!("no complete answer within {timeout:?}"),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlRule = UrlRule {
        allow_insecure_http: false,
        allow_query: false,
    };

    #[test]
    fn https_anywhere_and_plain_http_only_to_loopback() {
        assert!(check_url("https://id.example/x", "u", STRICT).is_ok());
        for ok in [
            "http://127.0.0.1:8080/t",
            "http://127.9.9.9/t",
            "http://[::1]:1/t",
            "http://LOCALHOST/t",
        ] {
            assert!(check_url(ok, "u", STRICT).is_ok(), "{ok}");
        }
        for bad in [
            "http://id.example/x",
            "http://10.0.0.1/x",
            "http://localhost.evil.example/x",
            "ftp://id.example/x",
            "file:///etc/passwd",
        ] {
            let e = check_url(bad, "the URL", STRICT).unwrap_err();
            assert!(
                e.contains("https://") || e.contains("no host"),
                "{bad}: {e}"
            );
        }
        let allowed = UrlRule {
            allow_insecure_http: true,
            allow_query: false,
        };
        assert!(check_url("http://id.example/x", "u", allowed).is_ok());
    }

    #[test]
    fn user_info_fragments_and_queries_are_refused_without_echoing_them() {
        let e = check_url("https://user:hunter2@id.example/", "the URL", STRICT).unwrap_err();
        assert!(e.contains("user info") && !e.contains("hunter2"), "{e}");
        let e = check_url("https://id.example/#x", "the URL", STRICT).unwrap_err();
        assert!(e.contains("fragment"), "{e}");
        let e = check_url("https://id.example/?secret=hunter2", "the URL", STRICT).unwrap_err();
        assert!(e.contains("query") && !e.contains("hunter2"), "{e}");
        let query_ok = UrlRule {
            allow_insecure_http: false,
            allow_query: true,
        };
        assert!(check_url("https://id.example/jwks?v=2", "u", query_ok).is_ok());
    }
}
