//! Shared pieces of the integration tests: descriptors built in code, local servers, JWTs and a
//! tracing capture.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokenspec::__private::descriptor::*;

/// A leaked `'static` copy, for descriptors assembled at run time.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

pub fn slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

/// A provider with one cached flow.
pub fn provider(flow: Flow, errors: Vec<KnownError>) -> &'static Provider {
    let bearer = ApiHeader {
        name: "Authorization",
        prefix: "Bearer ",
        suffix: "",
    };
    provider_with_header(flow, errors, bearer)
}

/// A provider with one cached flow and its own API header.
pub fn provider_with_header(
    flow: Flow,
    errors: Vec<KnownError>,
    api_header: ApiHeader,
) -> &'static Provider {
    leak(Provider {
        name: "test",
        title: "Test Provider",
        // One attempt: these tests count requests; retries are tested with explicit policies.
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        api_header,
        flows: slice(vec![flow]),
        cached_flow: Some(0),
        errors: slice(errors),
        ..Provider::DEFAULT
    })
}

/// A POST flow with the given credentials placement, body, parameters and expiry.
pub fn flow(client_auth: ClientAuth, body: Body, params: Vec<Param>, expiry: Expiry) -> Flow {
    Flow {
        name: "client_credentials",
        path: Some("/oauth/token"),
        body,
        client_auth,
        params: slice(params),
        expiry,
        ..Flow::DEFAULT
    }
}

pub fn auth(basic: Option<BasicEncoding>, params: Vec<Location>) -> ClientAuth {
    ClientAuth {
        name: "client_secret",
        basic,
        params: slice(params),
        ..ClientAuth::NONE
    }
}

pub fn fixed(name: &'static str, location: Location, value: &'static str) -> Param {
    Param {
        name,
        location,
        source: Source::Fixed(Literal::Text(value)),
    }
}

/// A flow of a user's tokens: `grant_type=grant_type` and the per-call `slot` (a code, a
/// refresh token, a device code) in a form body, with `more` fixed parameters, the client
/// authenticating with `auth` at `path` (`None`: the token endpoint of the server's metadata);
/// it reads the refresh token and ID token answered.
pub fn user_flow(
    name: &'static str,
    grant: Grant,
    (grant_type, slot): (&'static str, &'static str),
    auth: ClientAuth,
    path: Option<&'static str>,
    more: Vec<Param>,
) -> Flow {
    let mut params = vec![
        fixed("grant_type", Location::Body, grant_type),
        Param {
            name: slot,
            location: Location::Body,
            source: Source::Call(0),
        },
    ];
    params.extend(more);
    Flow {
        name,
        grant,
        path,
        client_auth: auth,
        params: slice(params),
        call_params: slice(vec![Slot {
            name: slot,
            required: true,
        }]),
        fields: &[
            Field {
                key: "refresh_token",
                paths: &[&["refresh_token"]],
                kind: FieldKind::Secret,
                required: false,
            },
            Field {
                key: "id_token",
                paths: &[&["id_token"]],
                kind: FieldKind::Secret,
                required: false,
            },
        ],
        ..Flow::DEFAULT
    }
}

/// A user login's two flows, `exchange_code` and `refresh` (see [`user_flow`]).
pub fn login_flows(auth: ClientAuth, path: Option<&'static str>) -> &'static [Flow] {
    slice(vec![
        user_flow(
            "exchange_code",
            Grant::AuthorizationCode,
            ("authorization_code", "code"),
            auth,
            path,
            vec![],
        ),
        user_flow(
            "refresh",
            Grant::RefreshToken,
            ("refresh_token", "refresh_token"),
            auth,
            path,
            vec![],
        ),
    ])
}

/// The commonest client-credentials flow: a raw Basic header and
/// `grant_type=client_credentials` in a form body, expiry from `expires_in`.
pub fn client_credentials_flow() -> Flow {
    flow(
        auth(Some(BasicEncoding::Raw), vec![]),
        Body::Form,
        vec![fixed("grant_type", Location::Body, "client_credentials")],
        EXPIRES_IN,
    )
}

pub const EXPIRES_IN: Expiry = Expiry::ExpiresIn {
    path: &["expires_in"],
    when_absent: None,
};

/// An unsigned JWT whose payload is `claims` (tokenspec only reads `exp`).
pub fn jwt(claims: serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Collects everything `tracing` prints, at every level, while the guard lives.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_tracing() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
/// `http://127.0.0.1:<port>` where nothing listens, held for the rest of the test: a socket
/// bound there but never listening makes every connection refused, and no other test (nextest
/// runs them side by side) can take the port and answer in its place.
pub fn dead_port_url() -> String {
    format!("http://127.0.0.1:{}", dead_port())
}

/// A loopback port where nothing listens, held for the rest of the test (see
/// [`dead_port_url`]).
pub fn dead_port() -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let port = socket.local_addr().expect("address").port();
    std::mem::forget(socket);
    port
}

/// A raw TCP server on 127.0.0.1 running `handle` for each connection (at most `max`), for
/// answers no HTTP server library would send. Returns its base URL.
pub async fn raw_server<F, Fut>(max: usize, handle: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..max {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(handle(stream));
        }
    });
    format!("http://{address}")
}

/// Reads (and returns) what arrives of a request within half a second.
pub async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    let n = tokio::time::timeout(std::time::Duration::from_millis(500), stream.read(&mut buf))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

pub mod node_server;
#[cfg(feature = "postgres")]
pub mod postgres_server;
#[cfg(feature = "redis")]
pub mod redis_server;
pub mod seeds;
pub mod stack;
