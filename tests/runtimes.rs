//! A token client is correct under every Tokio runtime it meets: one kept in a `static` and used
//! from one runtime after another (each `#[tokio::test]` has its own), one whose renewal was cut
//! short by its runtime shutting down, one asked for on a runtime that is shutting down, one whose
//! renewal task panicked.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::{Error, Settings, TokenClient};
use tokio::runtime::Runtime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers each token request with a new token (and a new refresh token); the first answer only
/// after `first_delay`.
struct Numbered {
    seen: AtomicUsize,
    first_delay: Duration,
}

impl Respond for Numbered {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("token-{n}"),
            "refresh_token": format!("refresh-{n}"),
            "expires_in": 3600,
        }));
        if n == 1 {
            answer.set_delay(self.first_delay)
        } else {
            answer
        }
    }
}

/// A token server on a runtime of its own that outlives the runtimes under test.
fn server(first_delay: Duration) -> (Runtime, MockServer) {
    let runtime = Runtime::new().expect("server runtime");
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(Numbered {
                seen: AtomicUsize::new(0),
                first_delay,
            })
            .mount(&server)
            .await;
        server
    });
    (runtime, server)
}

fn requests(runtime: &Runtime, server: &MockServer) -> usize {
    runtime
        .block_on(server.received_requests())
        .unwrap_or_default()
        .len()
}

/// The provider reads the refresh token too, so a hook sees each one.
fn provider_keeping_refresh_tokens() -> &'static Provider {
    let mut cached = client_credentials_flow();
    cached.fields = slice(vec![Field {
        key: "refresh_token",
        paths: &[&["refresh_token"]],
        kind: FieldKind::Secret,
        required: false,
    }]);
    provider(cached, vec![])
}

fn client(server: &MockServer, settings: Settings) -> TokenClient {
    client_of(&server.uri(), "runtime-client", settings)
}

fn client_of(base: &str, client_id: &str, settings: Settings) -> TokenClient {
    let settings = settings
        .client_id(client_id)
        .client_secret("runtime-secret")
        .base_url(base)
        .retry(tokenspec::RetryPolicy::NONE);
    TokenClient::new(
        provider_keeping_refresh_tokens(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("valid client")
}

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_renewal_cut_short_by_its_runtime_shutting_down_is_started_anew_from_the_next_runtime() {
    let (server_runtime, server) = server(Duration::from_secs(30));
    // Built outside any runtime, as a client kept in a `static` is.
    let client = client(&server, Settings::default());

    let first = current_thread();
    first.block_on(async {
        // The caller gives up; the renewal goes on in this runtime's task, mid-request.
        let gave_up = tokio::time::timeout(Duration::from_millis(300), client.access_token()).await;
        assert!(gave_up.is_err(), "the first answer is 30 s away");
    });
    assert_eq!(requests(&server_runtime, &server), 1);
    drop(first); // shuts down with the renewal still waiting for its answer

    let token = current_thread()
        .block_on(client.access_token())
        .expect("a new renewal from the new runtime, not an interrupted one forever");
    assert_eq!(token.expose_secret(), "token-2");
    assert_eq!(
        requests(&server_runtime, &server),
        2,
        "exactly one new token request"
    );
}

/// Polls `future` once on this thread, inside `handle`'s runtime context.
fn poll_once_in<F: std::future::Future>(
    handle: &tokio::runtime::Handle,
    future: F,
) -> std::task::Poll<F::Output> {
    let _inside = handle.enter();
    let mut future = std::pin::pin!(future);
    future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn a_renewal_asked_for_on_a_runtime_that_is_shutting_down_fails_at_once_and_blocks_no_one() {
    let (server_runtime, server) = server(Duration::ZERO);
    let client = client(&server, Settings::default());
    // A runtime that has shut down but whose handle is still entered (as code running while a
    // runtime is dropped is): spawning on it drops the renewal task on the spot.
    let dead = current_thread();
    let handle = dead.handle().clone();
    drop(dead);

    let (done, outcome) = std::sync::mpsc::channel();
    let asking = client.clone();
    std::thread::spawn(move || {
        let first = poll_once_in(&handle, asking.access_token());
        // A second caller, as another request of the service would be.
        let second = poll_once_in(&handle, asking.access_token());
        let _ = done.send((first, second));
    });
    // A deadlock would keep this thread waiting forever: give up after a generous minute.
    let (first, second) = outcome
        .recv_timeout(Duration::from_secs(60))
        .expect("access_token() returned instead of deadlocking on the renewal slot");
    for answer in [first, second] {
        match answer {
            std::task::Poll::Ready(Err(Error::Interrupted { .. })) => {}
            other => panic!("expected an interrupted renewal, got {other:?}"),
        }
    }
    assert_eq!(requests(&server_runtime, &server), 0);

    let token = current_thread()
        .block_on(client.access_token())
        .expect("the next runtime renews: the dropped renewal left the slot free");
    assert_eq!(token.expose_secret(), "token-1");
}

#[test]
fn a_renewal_task_that_panics_frees_the_way_for_the_next_call() {
    let (server_runtime, server) = server(Duration::ZERO);
    let panicked = Arc::new(AtomicBool::new(false));
    let once = Arc::clone(&panicked);
    let settings = Settings::default().on_refresh_token(move |_| {
        if !once.swap(true, Ordering::SeqCst) {
            panic!("the application's persistence hook failed");
        }
    });
    let client = client(&server, settings);
    let runtime = current_thread();

    let e = runtime.block_on(client.access_token()).unwrap_err();
    assert!(matches!(e, Error::Interrupted { .. }), "{e}");
    assert!(panicked.load(Ordering::SeqCst));

    let token = runtime
        .block_on(client.access_token())
        .expect("the next call starts a new renewal");
    assert_eq!(token.expose_secret(), "token-2");
    assert_eq!(requests(&server_runtime, &server), 2);
}

#[test]
fn a_client_used_from_one_runtime_after_another_keeps_working() {
    let (server_runtime, server) = server(Duration::ZERO);
    let client = client(&server, Settings::default());
    for round in 1..=4 {
        let runtime = if round % 2 == 0 {
            current_thread()
        } else {
            Runtime::new().expect("runtime")
        };
        let token = runtime.block_on(async {
            if let Ok(previous) = client.access_token().await {
                // An API refused it: the next call renews over this runtime's connections.
                client.invalidate(&previous);
            }
            client.access_token().await
        });
        let token = token.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(token.expose_secret().starts_with("token-"), "round {round}");
        drop(runtime);
    }
    // The first round fetches twice (once to have a token to invalidate), the others once each.
    assert_eq!(requests(&server_runtime, &server), 5);
}

#[test]
fn clients_and_their_http_clients_install_no_process_wide_crypto_provider() {
    // Each test runs in its own process under nextest, so nothing else installed one here.
    let (runtime, server) = server(Duration::ZERO);
    let client = client(&server, Settings::default());
    let token = current_thread().block_on(client.access_token());
    assert!(token.is_ok(), "the client works without a process default");
    let _api = tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("client");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "the application chooses the process-wide provider, not tokenspec"
    );
    drop(runtime);
}

/// A keep-alive token server counting the TCP connections it accepts; it answers every request
/// on a connection with a new token.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let base = raw_server(64, move |mut stream| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            while !read_request(&mut stream).await.is_empty() {
                let body = r#"{"access_token":"shared-pool-token","expires_in":3600}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    (base, connections)
}

#[test]
fn clients_built_without_adjustments_share_one_connection_per_runtime() {
    let server_runtime = Runtime::new().expect("server runtime");
    let (base, connections) = server_runtime.block_on(counting_server());
    let tenants: Vec<_> = (0..3)
        .map(|tenant| client_of(&base, &format!("tenant-{tenant}"), Settings::default()))
        .collect();
    for round in 1..=2 {
        current_thread().block_on(async {
            for client in &tenants {
                if let Ok(previous) = client.access_token().await {
                    client.invalidate(&previous);
                }
            }
        });
        // Each runtime opens its own connection; within one, every tenant's client reuses it.
        assert_eq!(connections.load(Ordering::SeqCst), round, "round {round}");
    }
}

#[test]
fn a_client_with_adjusted_http_settings_keeps_a_pool_of_its_own() {
    let server_runtime = Runtime::new().expect("server runtime");
    let (base, connections) = server_runtime.block_on(counting_server());
    let shared = client_of(&base, "tenant-1", Settings::default());
    let adjusted = client_of(
        &base,
        "tenant-2",
        Settings::default().http_client(|builder| builder.user_agent("tenant-two")),
    );
    current_thread().block_on(async {
        shared.access_token().await.expect("token");
        adjusted.access_token().await.expect("token");
    });
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
