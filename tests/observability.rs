//! What operators see of token traffic, captured as they would: the tracing spans and events
//! under their documented names and fields (docs/observability.md), taken by a subscriber
//! layer, and the `metrics` counters and histogram, taken by a recorder. Neither ever carries
//! a secret or a token.
#![cfg(all(feature = "metrics", feature = "reqwest-middleware", feature = "bs2"))]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::stack::{Api, BS2_TOKEN_PATH, Issuer};
use tokenspec::bs2;
use tokenspec::middleware::TokenMiddleware;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use wiremock::MockServer;

/// Held by each test for its whole run. The metrics recorder is global to the process, so under
/// a plain `cargo test`, which runs this file's tests on threads of one process, it would also
/// count the token traffic of the tracing test running beside it. (nextest, the README's
/// command, runs each test in a process of its own, where this lock is never contended.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A span or an event, with its fields as text.
#[derive(Clone, Debug)]
struct Entry {
    kind: &'static str,
    name: String,
    fields: BTreeMap<String, String>,
    /// For events: the span they were recorded in.
    within: Option<String>,
}

impl Entry {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// Every span and event, as a subscriber layer sees them.
#[derive(Clone, Default)]
struct Recorded {
    entries: Arc<Mutex<Vec<Entry>>>,
    spans: Arc<Mutex<BTreeMap<u64, usize>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for Recorded
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut entries = self.entries.lock().unwrap();
        entries.push(Entry {
            kind: "span",
            name: attrs.metadata().name().to_owned(),
            fields,
            within: None,
        });
        self.spans
            .lock()
            .unwrap()
            .insert(id.into_u64(), entries.len() - 1);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let Some(&at) = self.spans.lock().unwrap().get(&id.into_u64()) else {
            return;
        };
        values.record(&mut Fields(&mut self.entries.lock().unwrap()[at].fields));
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let name = fields.get("message").cloned().unwrap_or_default();
        self.entries.lock().unwrap().push(Entry {
            kind: "event",
            name,
            fields,
            within: ctx.event_span(event).map(|s| s.name().to_owned()),
        });
    }
}

impl Recorded {
    fn all(&self) -> Vec<Entry> {
        self.entries.lock().unwrap().clone()
    }

    fn spans(&self, name: &str) -> Vec<Entry> {
        self.all()
            .into_iter()
            .filter(|e| e.kind == "span" && e.name == name)
            .collect()
    }

    fn events(&self, prefix: &str) -> Vec<Entry> {
        self.all()
            .into_iter()
            .filter(|e| e.kind == "event" && e.name.starts_with(prefix))
            .collect()
    }
}

async fn servers() -> (MockServer, Issuer, Api) {
    let server = MockServer::start().await;
    let issuer = Issuer::new(300);
    issuer.mount(&server, BS2_TOKEN_PATH).await;
    let api = Api::default();
    api.mount(&server).await;
    (server, issuer, api)
}

fn make_client(
    server: &MockServer,
    environment: bs2::Environment,
    configure: impl FnOnce(tokenspec::Settings) -> tokenspec::Settings,
) -> bs2::Client {
    let base = server.uri();
    bs2::Client::builder()
        .environment(environment)
        .client_id("observed-client")
        .client_secret("observed-secret".to_owned())
        .scopes([bs2::Scope::PixRead])
        .settings(move |s| configure(s.base_url(base)))
        .build()
        .expect("valid client")
}

fn production() -> bs2::Environment {
    bs2::Environment::Production {
        host: "api.bs2.example".into(),
    }
}

fn homologation() -> bs2::Environment {
    bs2::Environment::Homologation {
        host: "api.bs2.example".into(),
    }
}

#[tokio::test]
async fn token_traffic_is_traced_under_the_documented_names_and_fields_and_never_shows_a_secret_or_token()
 {
    let _alone = ONE_AT_A_TIME.lock().await;
    let recorded = Recorded::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorded.clone()));
    let (server, issuer, api) = servers().await;
    api.refuse("tok-1");
    let client = make_client(&server, production(), |s| s);
    client.access_token().await.unwrap(); // first token
    client.access_token().await.unwrap(); // from the cache
    let http =
        reqwest_middleware::ClientBuilder::new(tokenspec::http_client().unwrap().build().unwrap())
            .with(TokenMiddleware::new(&client))
            .build();
    let answer = http
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200); // refused tok-1, renewed, sent again with tok-2
    issuer
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = client_refused(&server).await;
    assert!(refused.is_err());

    let renewals = recorded.spans("tokenspec.renewal");
    let reasons: Vec<_> = renewals.iter().map(|s| s.get("reason").unwrap()).collect();
    assert_eq!(reasons, ["first", "unauthorized", "first"]);
    for renewal in &renewals {
        assert_eq!(renewal.get("provider"), Some("bs2"));
        assert_eq!(renewal.get("session"), Some("false"));
    }
    assert_eq!(renewals[0].get("environment"), Some("production"));
    assert_eq!(renewals[2].get("environment"), Some("homologation"));

    let requests = recorded.spans("tokenspec.token_request");
    assert_eq!(requests.len(), 3);
    for granted in &requests[..2] {
        assert_eq!(granted.get("provider"), Some("bs2"));
        assert_eq!(granted.get("environment"), Some("production"));
        assert_eq!(granted.get("flow"), Some("client_credentials"));
        assert_eq!(granted.get("attempts"), Some("1"));
        assert_eq!(granted.get("outcome"), Some("ok"));
        assert_eq!(granted.get("status"), Some("200"));
        assert_eq!(granted.get("lifetime_s"), Some("300"));
        let latency: f64 = granted.get("latency_ms").unwrap().parse().unwrap();
        assert!(latency > 0.0);
    }
    let failed = &requests[2];
    assert_eq!(failed.get("outcome"), Some("rejected"));
    assert_eq!(failed.get("status"), Some("401"));
    assert_eq!(failed.get("lifetime_s"), None);

    let ends = recorded.events("tokenspec.token_request.end");
    assert_eq!(ends.len(), 3);
    assert!(
        ends.iter()
            .all(|e| e.within.as_deref() == Some("tokenspec.token_request"))
    );
    let attempts = recorded.events("tokenspec.attempt");
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].get("attempt"), Some("1"));
    assert_eq!(attempts[0].get("status"), Some("200"));
    assert_eq!(attempts[2].get("status"), Some("401"));
    assert_eq!(recorded.events("tokenspec.unauthorized").len(), 1);

    for entry in recorded.all() {
        for (field, value) in &entry.fields {
            for secret in ["observed-secret", "tok-1", "tok-2", "Bearer", "Basic "] {
                assert!(
                    !value.contains(secret),
                    "{} `{}` field `{field}` shows {secret:?}: {value}",
                    entry.kind,
                    entry.name
                );
            }
        }
    }
}

/// A homologation client whose token request the endpoint refuses.
async fn client_refused(server: &MockServer) -> Result<tokenspec::Token, bs2::Error> {
    make_client(server, homologation(), |s| {
        s.retry(tokenspec::RetryPolicy::NONE)
    })
    .access_token()
    .await
}

/// A store that never answers, as when Redis is down.
struct Down;

impl tokenspec::store::TokenStore for Down {
    fn load<'a>(
        &'a self,
        _: &'a str,
    ) -> tokenspec::store::StoreFuture<'a, Option<tokenspec::store::StoredToken>> {
        Box::pin(async { Err(down()) })
    }
    fn save<'a>(
        &'a self,
        _: &'a str,
        _: &'a tokenspec::store::StoredToken,
        _: Duration,
    ) -> tokenspec::store::StoreFuture<'a, ()> {
        Box::pin(async { Err(down()) })
    }
    fn try_lock<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
    ) -> tokenspec::store::StoreFuture<'a, bool> {
        Box::pin(async { Err(down()) })
    }
    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> tokenspec::store::StoreFuture<'a, ()> {
        Box::pin(async { Err(down()) })
    }
}

fn down() -> tokenspec::store::StoreError {
    tokenspec::store::StoreError::Unavailable("connection refused".into())
}

/// The value of the metric `name` whose labels include `labels`.
fn metric<'a>(
    snapshot: &'a [(
        metrics_util::CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        metrics_util::debugging::DebugValue,
    )],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a metrics_util::debugging::DebugValue> {
    snapshot.iter().find_map(|(key, _, _, value)| {
        let key = key.key();
        let matches = key.name() == name
            && labels.iter().all(|(k, v)| {
                key.labels()
                    .any(|label| label.key() == *k && label.value() == *v)
            });
        matches.then_some(value)
    })
}

fn counter(value: Option<&metrics_util::debugging::DebugValue>) -> u64 {
    match value {
        Some(metrics_util::debugging::DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("not a counter: {other:?}"),
    }
}

#[tokio::test]
async fn token_traffic_is_counted_and_timed_through_the_metrics_facade() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (server, issuer, api) = servers().await;
    // Built before the recorder is installed, as an application may build its clients before it
    // sets up metrics: its hits reach the recorder from its first renewal on (checked at the end).
    let system = make_client(&server, homologation(), |s| s);
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    api.refuse("tok-1");
    let clock = tokenspec::clock::ManualClock::new();
    let client = make_client(&server, production(), |s| {
        s.clock(clock.clone())
            .store(Arc::new(Down))
            .store_timing(Duration::from_millis(50), Duration::from_secs(5))
    });
    client.access_token().await.unwrap(); // first (store down: fetched locally)
    client.access_token().await.unwrap(); // hit
    client.access_token().await.unwrap(); // hit
    let http =
        reqwest_middleware::ClientBuilder::new(tokenspec::http_client().unwrap().build().unwrap())
            .with(TokenMiddleware::new(&client))
            .build();
    let answer = http
        .get(format!("{}/api/pix", server.uri()))
        .send()
        .await
        .unwrap(); // hit, 401, renewal (unauthorized) the retry waits for
    assert_eq!(answer.status(), 200);
    // 240 s into a 300 s token with the 60 s margin: served from the cache, renewed behind.
    clock.advance(Duration::from_secs(250));
    client.access_token().await.unwrap();
    for _ in 0..100 {
        if issuer.count() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(issuer.count(), 3);
    clock.advance(Duration::from_secs(400)); // past expiry
    client.access_token().await.unwrap();
    issuer
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(client_refused(&server).await.is_err());

    let snapshot = snapshotter.snapshot().into_vec();
    let bs2 = [("provider", "bs2"), ("environment", "production")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        bs2.iter().chain(extra).copied().collect()
    };
    let requests = |outcome| {
        counter(metric(
            &snapshot,
            "tokenspec_token_requests_total",
            &with(&[("flow", "client_credentials"), ("outcome", outcome)]),
        ))
    };
    assert_eq!(requests("ok"), 4);
    assert_eq!(
        counter(metric(
            &snapshot,
            "tokenspec_token_requests_total",
            &[("environment", "homologation"), ("outcome", "rejected")],
        )),
        1
    );
    let renewals = |reason| {
        counter(metric(
            &snapshot,
            "tokenspec_renewals_total",
            &with(&[("reason", reason)]),
        ))
    };
    assert_eq!(renewals("first"), 1);
    assert_eq!(renewals("unauthorized"), 1);
    assert_eq!(renewals("ahead_of_expiry"), 1);
    assert_eq!(renewals("expired"), 1);
    assert_eq!(
        counter(metric(&snapshot, "tokenspec_cache_hits_total", &bs2)),
        4,
        "two plain hits, the middleware's first (its retry waits for the renewal), the one in \
         the renewal window"
    );
    assert_eq!(
        counter(metric(
            &snapshot,
            "tokenspec_store_fallbacks_total",
            &with(&[("what", "token")]),
        )),
        4,
        "every renewal of this client went on without the store"
    );
    match metric(
        &snapshot,
        "tokenspec_token_request_duration_seconds",
        &with(&[("outcome", "ok")]),
    ) {
        Some(metrics_util::debugging::DebugValue::Histogram(samples)) => {
            assert_eq!(samples.len(), 4);
            assert!(samples.iter().all(|s| s.into_inner() > 0.0));
        }
        other => panic!("no latency histogram: {other:?}"),
    }
    for (key, ..) in &snapshot {
        for label in key.key().labels() {
            assert!(!label.value().contains("observed-secret") && !label.value().contains("tok-"));
        }
    }
    // A cached token's hits are tallied per shard of threads and added at most once a second;
    // the first one after a quiet second is added at once, and what is held back is added when
    // the token is replaced.
    issuer
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    system.access_token().await.unwrap();
    system.access_token().await.unwrap(); // the first hit: added at once
    // (A snapshot takes the counters' values and zeroes them.)
    let hits_now = counter(metric(
        &snapshotter.snapshot().into_vec(),
        "tokenspec_cache_hits_total",
        &[("environment", "homologation")],
    ));
    assert_eq!(
        hits_now, 1,
        "the client built before the recorder was installed counts its hits too"
    );
}
