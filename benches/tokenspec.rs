//! tokenspec's performance, each figure next to a baseline measured in the same run.
//!
//! `cargo bench --bench tokenspec` (or `scripts/bench.sh`, which adds the compile-cost figures)
//! prints one table. Each measurement takes the median of several samples; everything talks to
//! a token server of this process on 127.0.0.1.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../codegen/examples/synthetic_specs.rs"]
mod synthetic;

#[path = "../tests/support/tls_server.rs"]
mod tls_server;

/// Counts live heap bytes, for the memory figures.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Counting only while the memory section runs: a shared counter would slow every other figure.
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// SAFETY: every call goes to the system allocator with the caller's own arguments; the
// counters beside it touch no memory the allocator hands out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `layout` is the caller's, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A keep-alive HTTP/1.1 token server on 127.0.0.1 answering every request after `delay`.
async fn token_server(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                let mut chunk = [0u8; 4096];
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let (head_end, length, proven) = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            // A request with a DPoP proof gets a DPoP-bound token (RFC 9449 §5).
                            break (end + 4, length, head.contains("\r\ndpop:"));
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buf.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let token_type = if proven { "DPoP" } else { "Bearer" };
                    let body = format!(
                        r#"{{"access_token":"bench-token-{n}","token_type":"{token_type}","expires_in":3600}}"#
                    );
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{address}"), requests)
}

fn client(base: &str) -> tokenspec::faciconnect::Client {
    let base = base.to_owned();
    tokenspec::faciconnect::Client::builder()
        .environment(tokenspec::faciconnect::Environment::Production {
            host: "bench.example".into(),
        })
        .client_id("bench-client")
        .client_secret("bench-secret")
        .settings(move |s| s.base_url(base))
        .build()
        .expect("client")
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One row of the results table.
struct Row {
    name: String,
    ours: String,
    baseline: String,
    ratio: String,
    target: String,
    met: bool,
}

fn row(name: &str, ours: String, baseline: String, ratio: String, target: &str, met: bool) -> Row {
    Row {
        name: name.into(),
        ours,
        baseline,
        ratio,
        target: target.into(),
        met,
    }
}

fn ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} µs", v / 1e3)
    } else {
        format!("{v:.1} ns")
    }
}

/// A cache as a team would hand-write it: the token behind a lock.
#[derive(Clone)]
struct HandToken {
    value: Arc<str>,
    expires_at: Instant,
}

/// Nanoseconds per call of `$body` on each of `$threads` threads running at once; each thread
/// gets its own clone of `$state` (cloned once, outside the timed loop), bound to `$s`.
macro_rules! per_call_ns {
    ($threads:expr, $iterations:expr, $state:expr, |$s:ident| $body:expr) => {{
        let barrier = Arc::new(std::sync::Barrier::new($threads));
        let handles: Vec<_> = (0..$threads)
            .map(|_| {
                let $s = $state.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        for _ in 0..$iterations / 10 {
                            $body;
                        }
                        barrier.wait();
                        let start = Instant::now();
                        for _ in 0..$iterations {
                            $body;
                        }
                        start.elapsed().as_nanos() as f64 / $iterations as f64
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .sum::<f64>()
            / $threads as f64
    }};
}

fn hot_path(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let ours = client(&base);
    rt.block_on(ours.access_token()).expect("first token");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mutex = Arc::new(Mutex::new(Some(HandToken {
        value: "t".into(),
        expires_at: Instant::now() + Duration::from_secs(3600),
    })));
    let rwlock = Arc::new(RwLock::new(Some(HandToken {
        value: "t".into(),
        expires_at: Instant::now() + Duration::from_secs(3600),
    })));
    // The floor: a bare lock-free cache, one `Instant::now()` to check expiry, one `ArcSwap`
    // load and a clone of what it holds.
    let bare = Arc::new(arc_swap::ArcSwapOption::from_pointee(HandToken {
        value: "t".into(),
        expires_at: Instant::now() + Duration::from_secs(3600),
    }));
    let iterations = 2_000_000;
    let mut results = Vec::new();
    let mut bare_ns = Vec::new();
    for threads in [1, cores] {
        let sample = |measure: &dyn Fn() -> f64| median((0..5).map(|_| measure()).collect());
        // Ours and the floor measured in alternation, each pair a ratio: a neighbour's load on
        // the machine then weighs on both sides of every ratio alike.
        let mut pairs = Vec::new();
        for _ in 0..11 {
            let ours_ns = per_call_ns!(threads, iterations, ours, |c| std::hint::black_box(
                c.access_token().await.expect("cached")
            ));
            let floor_ns = per_call_ns!(threads, iterations, bare, |b| std::hint::black_box(
                b.load()
                    .as_ref()
                    .filter(|t| t.expires_at > Instant::now())
                    .map(|t| t.value.clone())
            ));
            pairs.push((ours_ns, floor_ns));
        }
        let tokenspec_ns = median(pairs.iter().map(|p| p.0).collect());
        bare_ns.push((
            median(pairs.iter().map(|p| p.1).collect()),
            median(pairs.iter().map(|p| p.0 / p.1).collect()),
        ));
        let mutex_ns = sample(&|| {
            per_call_ns!(threads, iterations, mutex, |m| {
                let guard = m.lock().expect("lock");
                let t = guard
                    .as_ref()
                    .filter(|t| t.expires_at > Instant::now())
                    .cloned();
                std::hint::black_box(t.map(|t| t.value))
            })
        });
        let rwlock_ns = sample(&|| {
            per_call_ns!(threads, iterations, rwlock, |r| {
                let guard = r.read().expect("lock");
                let t = guard
                    .as_ref()
                    .filter(|t| t.expires_at > Instant::now())
                    .cloned();
                std::hint::black_box(t.map(|t| t.value))
            })
        });
        // What the machine itself allows: an operation that shares nothing between threads.
        let alone_ns = sample(&|| {
            per_call_ns!(threads, iterations, (), |_unit| std::hint::black_box(
                Instant::now()
            ))
        });
        results.push((threads, tokenspec_ns, mutex_ns, rwlock_ns, alone_ns));
    }
    // What a client without a cache does: one token request per call.
    let http = tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("http");
    let url = format!("{base}/token");
    let fetch_ns = median(
        (0..5)
            .map(|_| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..200 {
                        let answer = http
                            .post(&url)
                            .basic_auth("bench-client", Some("bench-secret"))
                            .form(&[
                                ("grant_type", "client_credentials"),
                                ("validity_period", "3600"),
                            ])
                            .send()
                            .await
                            .expect("send");
                        let body: serde_json::Value = answer.json().await.expect("json");
                        std::hint::black_box(body);
                    }
                    start.elapsed().as_nanos() as f64 / 200.0
                })
            })
            .collect(),
    );
    let (_, one, mutex_one, rwlock_one, alone_one) = results[0];
    let (threads, all, mutex_all, rwlock_all, alone_all) = results[1];
    rows.push(row(
        "cached access_token(), 1 thread",
        ns(one),
        format!("Mutex {} / RwLock {}", ns(mutex_one), ns(rwlock_one)),
        format!("{:.2}× Mutex", one / mutex_one),
        "≤ 100 ns",
        one <= 100.0,
    ));
    for (i, label) in [
        (0, "1 thread".to_owned()),
        (1, format!("{threads} threads")),
    ] {
        let ours = if i == 0 { one } else { all };
        rows.push(row(
            &format!("  vs Instant::now() + a bare ArcSwap load-and-clone, {label}"),
            ns(ours),
            ns(bare_ns[i].0),
            format!("{:.2}× (median of 11 paired runs)", bare_ns[i].1),
            "≤ 1.5×",
            bare_ns[i].1 <= 1.5,
        ));
    }
    rows.push(row(
        "  vs a token request per call",
        ns(one),
        ns(fetch_ns),
        format!("{:.0}× faster", fetch_ns / one),
        "-",
        true,
    ));
    // Scaling: the throughput gained by adding threads, next to what an operation sharing
    // nothing gains on this machine (virtual cores rarely give a full 2×).
    let scaling = one / all * threads as f64;
    let machine = alone_one / alone_all * threads as f64;
    let mutex_scaling = mutex_one / mutex_all * threads as f64;
    rows.push(row(
        &format!("cached access_token(), {threads} threads"),
        format!(
            "{} per call per thread, {scaling:.2}× the 1-thread throughput",
            ns(all)
        ),
        format!("Mutex {mutex_scaling:.2}×; sharing nothing {machine:.2}×"),
        format!("{:.0}% of linear", 100.0 * scaling / threads as f64),
        "near-linear (≥ 80% of linear)",
        scaling >= 0.8 * threads as f64,
    ));
    let _ = (mutex_all, rwlock_all);
}

fn stampede(rows: &mut Vec<Row>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // A realistic token endpoint takes tens of milliseconds; this one takes 50.
    let delay = Duration::from_millis(50);
    let (base, requests) = rt.block_on(token_server(delay));
    let single = median(
        (0..5)
            .map(|_| {
                let c = client(&base);
                rt.block_on(async {
                    let start = Instant::now();
                    c.access_token().await.expect("token");
                    start.elapsed().as_nanos() as f64
                })
            })
            .collect(),
    );
    let mut all_served = Vec::new();
    let mut per_stampede = Vec::new();
    for _ in 0..5 {
        let c = client(&base);
        let before = requests.load(Ordering::SeqCst);
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..10_000)
                .map(|_| {
                    let c = c.clone();
                    tokio::spawn(async move { c.access_token().await.map(|_| ()) })
                })
                .collect();
            for t in tasks {
                t.await.expect("task").expect("token");
            }
            start.elapsed().as_nanos() as f64
        });
        all_served.push(elapsed);
        per_stampede.push(requests.load(Ordering::SeqCst) - before);
    }
    let time = median(all_served);
    let requests_made = *per_stampede.iter().max().unwrap_or(&0);
    rows.push(row(
        "stampede: 10,000 callers at expiry",
        format!("{} for all, {requests_made} request", ns(time)),
        format!("{} one fetch", ns(single)),
        format!("{:.2}×", time / single),
        "1 request, ≤ 2×",
        requests_made == 1 && time <= 2.0 * single,
    ));
}

fn fetch_overhead(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let runtime = client(&base).runtime().clone();
    let http = tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("http");
    let url = format!("{base}/token");
    let rounds = 2_000;
    let mut ours = Vec::new();
    let mut hand = Vec::new();
    for _ in 0..7 {
        ours.push(rt.block_on(async {
            let start = Instant::now();
            for _ in 0..rounds {
                let r = runtime
                    .request::<()>("client_credentials", vec![])
                    .await
                    .expect("token");
                std::hint::black_box(r);
            }
            start.elapsed().as_nanos() as f64 / rounds as f64
        }));
        hand.push(rt.block_on(async {
            let start = Instant::now();
            for _ in 0..rounds {
                // What a team writes by hand for FaciConnect.
                let answer = http
                    .post(&url)
                    .basic_auth("bench-client", Some("bench-secret"))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("validity_period", "3600"),
                    ])
                    .send()
                    .await
                    .expect("send");
                let body: serde_json::Value = answer.json().await.expect("json");
                let token = body["access_token"].as_str().expect("token").to_owned();
                let expires_in = body["expires_in"].as_u64().expect("expiry");
                std::hint::black_box((token, expires_in));
            }
            start.elapsed().as_nanos() as f64 / rounds as f64
        }));
    }
    let (ours, hand) = (median(ours), median(hand));
    rows.push(row(
        "token fetch over loopback",
        ns(ours),
        format!("{} hand-written reqwest", ns(hand)),
        format!("{:.2}×", ours / hand),
        "≤ 1.2×",
        ours / hand <= 1.2,
    ));
}

fn generator(rows: &mut Vec<Row>) {
    // The whole pipeline build.rs runs: read, check, generate and format every spec of a folder.
    let dir = std::env::temp_dir().join(format!("tokenspec-bench-specs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files: Vec<_> = (0..1000)
        .map(|i| {
            let path = dir.join(format!("synthetic_{i:04}.yaml"));
            std::fs::write(&path, synthetic::synthetic_spec(i)).expect("write spec");
            path
        })
        .collect();
    let mut per_spec = Vec::new();
    for count in [1usize, 10, 100, 1000] {
        let samples = if count >= 1000 { 3 } else { 7 };
        let t = median(
            (0..samples)
                .map(|_| {
                    let start = Instant::now();
                    let output = tokenspec_codegen::generate_files(&files[..count], "specs")
                        .expect("valid synthetic specs");
                    std::hint::black_box(output);
                    start.elapsed().as_nanos() as f64
                })
                .collect(),
        );
        per_spec.push((count, t / count as f64));
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The shipped catalog: real specs, with their comments, lists of places and fields.
    let catalog = tokenspec_codegen::spec_files(std::path::Path::new("specs")).expect("specs/");
    let catalog_per_spec = median(
        (0..7)
            .map(|_| {
                let start = Instant::now();
                let output =
                    tokenspec_codegen::generate_files(&catalog, "specs").expect("valid specs");
                std::hint::black_box(output);
                start.elapsed().as_nanos() as f64
            })
            .collect(),
    ) / catalog.len() as f64;
    rows.push(row(
        &format!(
            "generate the shipped catalog ({} specs), wall time",
            catalog.len()
        ),
        format!("{} per spec", ns(catalog_per_spec)),
        "-".into(),
        "-".into(),
        "≤ 1 ms per spec",
        catalog_per_spec <= 1e6,
    ));
    let growth = per_spec[3].1 / per_spec[1].1;
    for (count, t) in &per_spec {
        rows.push(row(
            &format!("generate {count} spec(s), wall time"),
            format!("{} per spec", ns(*t)),
            "-".into(),
            "-".into(),
            "≤ 1 ms per spec",
            *t <= 1e6,
        ));
    }
    rows.push(row(
        "generator growth, 10 → 1,000 specs",
        format!("{growth:.2}× per-spec time"),
        "1.00× is linear".into(),
        "-".into(),
        "linear (≤ 1.5×)",
        growth <= 1.5,
    ));
}

fn memory(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let count = 1_000;
    // Warm the runtime's shared HTTP client and its connection first, and keep them alive: they
    // belong to the runtime (every client built without HTTP adjustments uses them), not to a
    // client.
    let warm = client(&base);
    rt.block_on(warm.access_token()).expect("warm-up");
    COUNTING.store(true, Ordering::SeqCst);
    let before = LIVE.load(Ordering::SeqCst);
    let clients: Vec<_> = (0..count).map(|_| client(&base)).collect();
    let after_clients = LIVE.load(Ordering::SeqCst);
    rt.block_on(async {
        for c in &clients {
            c.access_token().await.expect("token");
        }
    });
    // Let the renewal tasks finish and free what they held.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    let after_tokens = LIVE.load(Ordering::SeqCst);
    let per_client = (after_clients - before) as f64 / count as f64;
    let per_token = (after_tokens - after_clients) as f64 / count as f64;
    drop(clients);
    drop(warm);
    rows.push(row(
        "memory per client",
        format!("{per_client:.0} B"),
        "-".into(),
        "-".into(),
        "-",
        true,
    ));
    rows.push(row(
        "memory per cached token",
        format!("{per_token:.0} B"),
        "-".into(),
        "-".into(),
        "≤ 1 KiB",
        per_token <= 1024.0,
    ));
}

/// Token requests per renewal interval for 16 clients that share nothing but, optionally, a
/// Redis store: what a fleet of 16 processes costs the provider.
#[cfg(feature = "redis")]
fn fleet(rows: &mut Vec<Row>) {
    let Ok(redis_url) = std::env::var("TOKENSPEC_BENCH_REDIS") else {
        rows.push(row(
            "fleet of 16",
            "skipped: set TOKENSPEC_BENCH_REDIS (scripts/bench.sh does)".into(),
            "-".into(),
            "-".into(),
            "-",
            true,
        ));
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let run = |shared: bool| -> f64 {
        rt.block_on(async {
            let (base, requests) = token_server_lifetime(3).await;
            let run_for = Duration::from_secs(6);
            // Tokens live 3 s and are renewed 1 s ahead: a renewal every 2 s.
            let clients: Vec<_> = (0..16)
                .map(|_| {
                    let mut settings = tokenspec::Settings::default()
                        .client_id("bench-client")
                        .client_secret("bench-secret")
                        .base_url(base.clone())
                        .refresh_margin(Duration::from_secs(1));
                    if shared {
                        let store = tokenspec::redis_store::RedisStore::new(&redis_url, [9u8; 32])
                            .expect("store");
                        settings = settings.store(Arc::new(store));
                    }
                    tokenspec::TokenClient::new(
                        tokenspec::__private::read(&tokenspec::faciconnect::PROVIDER)
                            .expect("the module's data reads"),
                        settings,
                        "https://unused.invalid",
                        &[],
                        vec![Some(tokenspec::__private::ParamValue::Integer(3600))],
                    )
                    .expect("client")
                })
                .collect();
            let until = Instant::now() + run_for;
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| {
                    tokio::spawn(async move {
                        while Instant::now() < until {
                            let _ = c.access_token().await;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("client task");
            }
            requests.load(Ordering::SeqCst) as f64 / (run_for.as_secs_f64() / 2.0)
        })
    };
    let (with, without) = (run(true), run(false));
    rows.push(row(
        "fleet of 16: token requests per renewal",
        format!("{with:.1} with Redis"),
        format!("{without:.1} without"),
        format!("{:.0}× fewer", without / with),
        "1 per lifetime",
        with <= 1.5,
    ));
}

#[cfg(not(feature = "redis"))]
fn fleet(rows: &mut Vec<Row>) {
    rows.push(row(
        "fleet of 16",
        "skipped: build with --features redis".into(),
        "-".into(),
        "-".into(),
        "-",
        true,
    ));
}

/// A token server whose tokens live `lifetime` seconds.
#[cfg(feature = "redis")]
async fn token_server_lifetime(lifetime: u64) -> (String, Arc<AtomicUsize>) {
    let server = wiremock::MockServer::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(move |_: &wiremock::Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            wiremock::ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": format!("fleet-{n}"), "expires_in": lifetime}),
            )
        })
        .mount(&server)
        .await;
    let uri = server.uri();
    std::mem::forget(server); // lives for the benchmark run
    (uri, requests)
}

/// The bench's provider, without flows: no retries, the Bearer header, nothing else.
fn session_client_provider() -> tokenspec::__private::descriptor::Provider {
    use tokenspec::__private::descriptor::*;
    Provider {
        name: "bench",
        title: "Bench",
        retry: Retry {
            attempts: 1,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
        },
        ..Provider::DEFAULT
    }
}

/// A provider whose users' sessions start with a code exchange and renew through the refresh
/// grant, both at `/token` of the bench server (which answers every request with a token).
fn session_client(base: &str) -> tokenspec::TokenClient {
    session_client_with(base, tokenspec::Settings::default())
}

/// [`session_client`] with these settings (a clock, a store, a session TTL).
fn session_client_with(base: &str, settings: tokenspec::Settings) -> tokenspec::TokenClient {
    use tokenspec::__private::descriptor::*;
    fn per_call(grant: Grant, grant_type: &'static str, param: &'static str) -> Flow {
        Flow {
            name: grant_type,
            grant,
            path: Some("/token"),
            client_auth: ClientAuth {
                name: "client_secret_basic",
                basic: Some(BasicEncoding::Raw),
                ..ClientAuth::NONE
            },
            params: Box::leak(Box::new([
                Param {
                    name: "grant_type",
                    location: Location::Body,
                    source: Source::Fixed(Literal::Text(grant_type)),
                },
                Param {
                    name: param,
                    location: Location::Body,
                    source: Source::Call(0),
                },
            ])),
            call_params: Box::leak(Box::new([Slot {
                name: param,
                required: true,
            }])),
            ..Flow::DEFAULT
        }
    }
    let mut provider = session_client_provider().clone();
    provider.flows = Box::leak(Box::new([
        per_call(Grant::AuthorizationCode, "authorization_code", "code"),
        per_call(Grant::RefreshToken, "refresh_token", "refresh_token"),
    ]));
    let provider: &'static Provider = Box::leak(Box::new(provider));
    tokenspec::TokenClient::new(
        provider,
        settings
            .client_id("bench-client")
            .client_secret("bench-secret")
            .base_url(base),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("session client")
}

/// The process's resident memory, in bytes (Linux: `/proc/self/statm`).
fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// A row saying whether resident memory stayed flat: `end` against `start`, the figure after
/// the warm-up named `after`.
fn flat_memory_row(name: &str, start: f64, end: f64, after: &str) -> Row {
    let ratio = end / start;
    row(
        name,
        format!("{} resident", mib(end)),
        format!("{} after {after}", mib(start)),
        format!("{ratio:.3}×"),
        "≤ 1.10×",
        ratio <= 1.10,
    )
}

/// What a service that runs for months does to memory: a million users' sessions started and
/// ended or abandoned, the client secret rotated a hundred thousand times, clients built, used
/// and dropped. Resident memory at the end is compared with the same figure after a warm-up
/// (allocator pools, the HTTP pool, the registry's working set), in the same run.
fn lifetimes(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let clock = tokenspec::clock::ManualClock::new();
    let store = Arc::new(tokenspec::store::MemoryStore::with_clock(Arc::new(
        clock.clone(),
    )));
    let users = session_client_with(
        &base,
        tokenspec::Settings::default()
            .clock(clock.clone())
            .store(store.clone())
            .session_ttl(Duration::from_secs(3600)),
    );
    // One user in two logs out (`end`), the other walks away (the handle is dropped); one in a
    // hundred uses the session (a refresh through the token server, written to the store). An
    // hour passes every 10,000 users, so walked-away sessions outlive their TTL.
    let run = |from: usize, to: usize| {
        for i in from..to {
            let session = users.restore_session(
                format!("user-{i}"),
                tokenspec::RefreshToken::from(format!("refresh-{i}")),
            );
            if i % 100 == 0 {
                rt.block_on(session.access_token()).expect("refreshed");
            }
            if i % 2 == 0 {
                rt.block_on(session.end()).expect("ended");
            }
            if i % 10_000 == 9_999 {
                clock.advance(Duration::from_secs(3601));
            }
        }
    };
    let warm_up = 100_000;
    let total = 1_000_000;
    run(0, warm_up);
    let start = resident_bytes();
    let started = Instant::now();
    run(warm_up, warm_up + total);
    let took = started.elapsed();
    rows.push(flat_memory_row(
        &format!(
            "1,000,000 sessions started and ended or abandoned ({:.1} s; {} held at the end, {} in the store)",
            took.as_secs_f64(),
            users.session_count(),
            store.len()
        ),
        start,
        resident_bytes(),
        "100,000",
    ));

    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let rotating = client(&base);
    let rotate = |from: usize, to: usize| {
        for i in from..to {
            rotating
                .runtime()
                .replace_client_secret(format!("rotated-secret-{i:08}"));
            if i % 1_000 == 0 {
                rotating
                    .runtime()
                    .invalidate(&rt.block_on(rotating.access_token()).expect("token"));
            }
        }
    };
    rotate(0, 1_000);
    let start = resident_bytes();
    rotate(1_000, 101_000);
    rows.push(flat_memory_row(
        "client secret replaced 100,000 times (a token fetched every 1,000)",
        start,
        resident_bytes(),
        "1,000",
    ));

    // Clients built, used from two threads and dropped, as a multi-tenant service does with
    // tenants that come and go.
    let churn = |count: usize| {
        for _ in 0..count {
            let tenant = client(&base);
            rt.block_on(tenant.access_token()).expect("token");
            let other = tenant.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(other.access_token())
                    .expect("cached");
            })
            .join()
            .expect("thread");
        }
    };
    churn(1_000);
    let start = resident_bytes();
    churn(20_000);
    rows.push(flat_memory_row(
        "20,000 clients built, used on two threads and dropped",
        start,
        resident_bytes(),
        "1,000",
    ));
}

/// A client-credentials client of the bench server authenticating as `auth` says.
fn authenticating_client(
    base: &str,
    auth: tokenspec::__private::descriptor::ClientAuth,
    settings: tokenspec::Settings,
) -> tokenspec::TokenClient {
    use tokenspec::__private::descriptor::*;
    let flow = Flow {
        name: "client_credentials",
        path: Some("/token"),
        client_auth: auth,
        params: &[Param {
            name: "grant_type",
            location: Location::Body,
            source: Source::Fixed(Literal::Text("client_credentials")),
        }],
        ..Flow::DEFAULT
    };
    let mut provider = session_client_provider().clone();
    provider.flows = Box::leak(Box::new([flow]));
    provider.cached_flow = Some(0);
    tokenspec::TokenClient::new(
        Box::leak(Box::new(provider)),
        settings
            .client_id("bench-client")
            .client_secret("bench-secret-of-at-least-32-bytes!!")
            .base_url(base),
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("client")
}

/// Token requests authenticated by a signed assertion against the same requests with Basic
/// credentials, in the same run: what signing costs per request over loopback, against a
/// server that answers at once and against one that answers in 10 ms, as a token endpoint a
/// few network hops away does.
fn assertions(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    use tokenspec::__private::descriptor::*;
    let basic = ClientAuth {
        name: "client_secret_basic",
        basic: Some(BasicEncoding::Raw),
        ..ClientAuth::NONE
    };
    let signed = |signer, algorithm| ClientAuth {
        name: "signed_assertion",
        basic: None,
        assertion: Some(Assertion {
            signer,
            algorithm,
            audience: None,
            lifetime_secs: 60,
        }),
        ..basic
    };
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .expect("key");
    use base64::Engine as _;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
    );
    let ec_key = tokenspec::ClientKey::from_pem(pem).expect("EC key");
    // The 2048-bit RSA key of the test service account (tests/fixtures).
    let account: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/service-account.json").expect("key file"),
    )
    .expect("JSON");
    let rsa_key = tokenspec::ClientKey::from_pem(account["private_key"].as_str().expect("PEM"))
        .expect("RSA key");
    let methods = [
        ("Basic", basic, tokenspec::Settings::default()),
        (
            "client_secret_jwt (HS256)",
            signed(Signer::ClientSecret, "HS256"),
            tokenspec::Settings::default(),
        ),
        (
            "private_key_jwt (ES256)",
            signed(Signer::PrivateKey, "ES256"),
            tokenspec::Settings::default().client_key(ec_key),
        ),
        (
            "private_key_jwt (RS256)",
            signed(Signer::PrivateKey, "RS256"),
            tokenspec::Settings::default().client_key(rsa_key),
        ),
    ];
    for (delay, rounds, place) in [
        (Duration::ZERO, 1_000, "server answering at once"),
        (Duration::from_millis(10), 40, "server answering in 10 ms"),
    ] {
        let (base, _) = rt.block_on(token_server(delay));
        let clients: Vec<_> = methods
            .iter()
            .map(|(_, auth, settings)| authenticating_client(&base, *auth, settings.clone()))
            .collect();
        // Samples interleaved client by client, so the machine's drift affects all alike.
        let mut samples = vec![Vec::new(); clients.len()];
        for _ in 0..7 {
            for (client, taken) in clients.iter().zip(samples.iter_mut()) {
                taken.push(rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..rounds {
                        let r = client
                            .request::<()>("client_credentials", vec![])
                            .await
                            .expect("token");
                        std::hint::black_box(r);
                    }
                    start.elapsed().as_nanos() as f64 / rounds as f64
                }));
            }
        }
        let per_request: Vec<f64> = samples.into_iter().map(median).collect();
        for (i, (name, ..)) in methods.iter().enumerate().skip(1) {
            let ratio = per_request[i] / per_request[0];
            rows.push(row(
                &format!("token request, {name}, {place}"),
                ns(per_request[i]),
                format!("{} Basic", ns(per_request[0])),
                format!("{ratio:.2}×"),
                "≤ 1.1×",
                ratio <= 1.1,
            ));
        }
    }
}

/// Token requests over mutual TLS against the same requests over plain TLS (a server that asks
/// for no certificate), in the same run, and the TLS handshakes 100 renewals take.
fn mtls(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    use tokenspec::__private::descriptor::*;
    let pki = tls_server::Pki::new("bench CA");
    let issued = pki.client("bench-client");
    let answer = |_: &tls_server::Seen| {
        (
            200,
            serde_json::json!({"access_token": "bench-token", "expires_in": 3600}).to_string(),
        )
    };
    let mutual = rt.block_on(tls_server::TlsServer::start(&pki, true, answer));
    let plain = rt.block_on(tls_server::TlsServer::start(&pki, false, answer));
    let basic = ClientAuth {
        name: "client_secret_basic",
        basic: Some(BasicEncoding::Raw),
        ..ClientAuth::NONE
    };
    let identity =
        tokenspec::ClientIdentity::from_pem(&issued.cert_pem, &issued.key_pem).expect("identity");
    let with_ca = tokenspec::Settings::default().root_certificates(pki.ca_pem());
    let clients = [
        authenticating_client(&plain.url, basic, with_ca.clone()),
        authenticating_client(&mutual.url, basic, with_ca.client_identity(identity)),
    ];
    let rounds = 1_000;
    let mut samples = vec![Vec::new(); clients.len()];
    for _ in 0..7 {
        for (client, taken) in clients.iter().zip(samples.iter_mut()) {
            taken.push(rt.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    let r = client
                        .request::<()>("client_credentials", vec![])
                        .await
                        .expect("token");
                    std::hint::black_box(r);
                }
                start.elapsed().as_nanos() as f64 / rounds as f64
            }));
        }
    }
    let per_request: Vec<f64> = samples.into_iter().map(median).collect();
    let ratio = per_request[1] / per_request[0];
    rows.push(row(
        "token request over mutual TLS",
        ns(per_request[1]),
        format!("{} plain TLS", ns(per_request[0])),
        format!("{ratio:.2}×"),
        "-",
        true,
    ));
    // 100 renewals of a fresh client: each drops the cached token and fetches a new one.
    let before = mutual.handshakes();
    let identity =
        tokenspec::ClientIdentity::from_pem(&issued.cert_pem, &issued.key_pem).expect("identity");
    let fresh = authenticating_client(
        &mutual.url,
        basic,
        tokenspec::Settings::default()
            .root_certificates(pki.ca_pem())
            .client_identity(identity),
    );
    rt.block_on(async {
        for _ in 0..100 {
            let token = fresh.access_token().await.expect("token");
            fresh.invalidate(&token);
        }
    });
    let handshakes = mutual.handshakes() - before;
    rows.push(row(
        "TLS handshakes per 100 renewals, mutual TLS",
        handshakes.to_string(),
        "-".into(),
        "-".into(),
        "1",
        handshakes == 1,
    ));
}

/// DPoP (RFC 9449): what a proof signed ES256 adds to a cached `authorize` and to an API call
/// over loopback, each against the same call of the same client without DPoP, in the same run.
fn dpop(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    use tokenspec::__private::descriptor::*;
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let basic = ClientAuth {
        name: "client_secret_basic",
        basic: Some(BasicEncoding::Raw),
        ..ClientAuth::NONE
    };
    let bearer = authenticating_client(&base, basic, tokenspec::Settings::default());
    let bound = {
        let mut provider = bearer.provider().clone();
        provider.dpop = true;
        tokenspec::TokenClient::new(
            Box::leak(Box::new(provider)),
            tokenspec::Settings::default()
                .client_id("bench-client")
                .client_secret("bench-secret-of-at-least-32-bytes!!")
                .base_url(base.clone()),
            "https://unused.invalid",
            &[],
            vec![],
        )
        .expect("client")
    };
    let clients = [bearer, bound];
    for client in &clients {
        rt.block_on(client.access_token()).expect("token");
    }
    assert!(
        rt.block_on(clients[1].access_token())
            .expect("token")
            .is_dpop_bound()
    );
    let http = tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("http");
    let url = format!("{base}/api/items");
    // Ours and the baseline taken alternately, each sample a median's worth of calls.
    let paired = |rounds: u32, call: &dyn Fn(&tokenspec::TokenClient)| {
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..9 {
            for (client, taken) in clients.iter().zip(samples.iter_mut()) {
                let start = Instant::now();
                for _ in 0..rounds {
                    call(client);
                }
                taken.push(start.elapsed().as_nanos() as f64 / f64::from(rounds));
            }
        }
        let [plain, signed] = samples;
        (median(plain), median(signed))
    };
    let (plain, signed) = paired(20_000, &|client| {
        let request = rt
            .block_on(client.authorize(http.get(&url)))
            .expect("authorized");
        let _ = std::hint::black_box(request);
    });
    let ratio = signed / plain;
    rows.push(row(
        "cached authorize() with a DPoP proof (ES256)",
        ns(signed),
        format!("{} without DPoP", ns(plain)),
        format!("{ratio:.2}×, +{}", ns(signed - plain)),
        "≤ 1.2×",
        ratio <= 1.2,
    ));
    // The floor: one ES256 signature (ring) of a proof-sized message, against the whole
    // proof (claims, jti, ath, base64url, signature, header value) the client makes.
    let token = rt.block_on(clients[1].access_token()).expect("token");
    let parsed = url::Url::parse(&url).expect("url");
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &random,
    )
    .expect("key");
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &random,
    )
    .expect("key");
    let message = [b'x'; 420];
    let (mut proof_ns, mut sign_ns) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let start = Instant::now();
        for _ in 0..2_000 {
            std::hint::black_box(
                clients[1]
                    .dpop_proof("GET", &parsed, &token)
                    .expect("proof"),
            );
        }
        proof_ns.push(start.elapsed().as_nanos() as f64 / 2_000.0);
        let start = Instant::now();
        for _ in 0..2_000 {
            std::hint::black_box(pair.sign(&random, &message).expect("signature"));
        }
        sign_ns.push(start.elapsed().as_nanos() as f64 / 2_000.0);
    }
    let (proof, sign) = (median(proof_ns), median(sign_ns));
    rows.push(row(
        "  one DPoP proof, against a bare ES256 signature (the floor)",
        ns(proof),
        ns(sign),
        format!("{:.2}×", proof / sign),
        "≤ 1.2×",
        proof / sign <= 1.2,
    ));
    let (plain_call, signed_call) = paired(1_000, &|client| {
        let answer = rt.block_on(client.send(http.get(&url))).expect("answer");
        std::hint::black_box(rt.block_on(answer.bytes()).expect("body"));
    });
    let ratio = signed_call / plain_call;
    rows.push(row(
        "  an API call over loopback through send(), with the proof",
        ns(signed_call),
        format!("{} without DPoP", ns(plain_call)),
        format!("{ratio:.2}×, +{}", ns(signed_call - plain_call)),
        "≤ 1.2×",
        ratio <= 1.2,
    ));
}

/// Users' sessions: a cached `session.access_token()` against the app token's in the same run,
/// the memory of idle sessions, and a refresh stampede on one session.
fn sessions(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let app = client(&base);
    rt.block_on(app.access_token()).expect("app token");
    let users = session_client(&base);
    let session = rt
        .block_on(users.start_session(
            "authorization_code",
            "user-1",
            tokenspec::AuthorizationCode::external("code"),
            vec![],
        ))
        .expect("session");
    let iterations = 2_000_000;
    let sample = |measure: &dyn Fn() -> f64| median((0..5).map(|_| measure()).collect());
    let app_ns = sample(&|| {
        per_call_ns!(1, iterations, app, |c| std::hint::black_box(
            c.access_token().await.expect("cached")
        ))
    });
    let session_ns = sample(&|| {
        per_call_ns!(1, iterations, session, |s| std::hint::black_box(
            s.access_token().await.expect("cached")
        ))
    });
    rows.push(row(
        "session.access_token(), cached, 1 thread",
        ns(session_ns),
        format!("app token {}", ns(app_ns)),
        format!("{:.2}×", session_ns / app_ns),
        "≤ 1.2×",
        session_ns <= 1.2 * app_ns,
    ));

    // Idle sessions: each holds its access token, refresh token and answer fields.
    let count = 100_000;
    let memory_users = session_client(&base);
    rt.block_on(memory_users.start_session(
        "authorization_code",
        "warm-up",
        tokenspec::AuthorizationCode::external("code"),
        vec![],
    ))
    .expect("warm-up");
    COUNTING.store(true, Ordering::SeqCst);
    let before = LIVE.load(Ordering::SeqCst);
    rt.block_on(async {
        for i in 0..count {
            let refresh = tokenspec::RefreshToken::from(format!("refresh-token-{i:08}"));
            let session = memory_users.restore_session(format!("user-{i:08}"), refresh);
            session.access_token().await.expect("refreshed");
        }
        // Let the renewal tasks finish and free what they held.
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    let per_session = (LIVE.load(Ordering::SeqCst) - before) as f64 / count as f64;
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(memory_users.session_count(), count + 1);
    drop(memory_users);
    rows.push(row(
        "memory per idle session, 100,000 sessions",
        format!("{per_session:.0} B"),
        "-".into(),
        "-".into(),
        "≤ 1 KiB",
        per_session <= 1024.0,
    ));

    // 1,000 callers on one session that has no access token yet: one refresh request.
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (slow_base, slow_requests) = multi.block_on(token_server(Duration::from_millis(50)));
    let stampede_users = session_client(&slow_base);
    let one =
        stampede_users.restore_session("user-1", tokenspec::RefreshToken::from("r".to_owned()));
    let sent = multi.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let one = one.clone();
                tokio::spawn(async move { one.access_token().await.map(|_| ()) })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("token");
        }
        slow_requests.load(Ordering::SeqCst)
    });
    rows.push(row(
        "refresh stampede: 1,000 callers on one session",
        format!("{sent} request"),
        "-".into(),
        "-".into(),
        "1 request",
        sent == 1,
    ));
}

/// The HTTP stack integrations: an API call through `TokenMiddleware` (reqwest-middleware) and
/// through `TokenLayer` (tower, around a hyper client), each against the same call with the
/// header set by hand; then the cached path's cost of counting cache hits once a `metrics`
/// recorder is installed. Runs last: the recorder it installs stays for the process.
fn integrations(rt: &tokio::runtime::Runtime, rows: &mut Vec<Row>) {
    use http_body_util::{BodyExt, Empty};
    use tower_layer::Layer;
    use tower_service::Service;

    let (base, _) = rt.block_on(token_server(Duration::ZERO));
    let ours = client(&base);
    let token = rt.block_on(ours.access_token()).expect("first token");
    let bearer = format!("Bearer {}", token.expose_secret());
    // The token server answers any request: here it stands for an API.
    let url = format!("{base}/api");
    let rounds = 2_000;
    // Medians of 9 samples, taken alternately with the baseline's, so that this virtual
    // machine's drift affects both sides alike.
    let interleaved = |ours: &mut dyn FnMut() -> f64, baseline: &mut dyn FnMut() -> f64| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            a.push(ours());
            b.push(baseline());
        }
        (median(a), median(b))
    };

    let http = tokenspec::http_client()
        .expect("TLS")
        .build()
        .expect("http");
    let stack = reqwest_middleware::ClientBuilder::new(http.clone())
        .with(tokenspec::middleware::TokenMiddleware::new(&ours))
        .build();
    let (with_middleware, by_hand) = interleaved(
        &mut || {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    let answer = stack.get(&url).send().await.expect("send");
                    std::hint::black_box(answer.bytes().await.expect("body"));
                }
                start.elapsed().as_nanos() as f64 / rounds as f64
            })
        },
        &mut || {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    let answer = http
                        .get(&url)
                        .header("authorization", &bearer)
                        .send()
                        .await
                        .expect("send");
                    std::hint::black_box(answer.bytes().await.expect("body"));
                }
                start.elapsed().as_nanos() as f64 / rounds as f64
            })
        },
    );
    rows.push(row(
        "API call through TokenMiddleware (reqwest-middleware), over loopback",
        ns(with_middleware),
        format!("{} reqwest, header set by hand", ns(by_hand)),
        format!("{:.2}×", with_middleware / by_hand),
        "-",
        true,
    ));
    // The middleware's own cost, without a network: the stack's last middleware answers at
    // once; the baseline is the middleware a team would write, setting a fixed header.
    let calls = 200_000;
    let answering = |first: Arc<dyn reqwest_middleware::Middleware>| {
        reqwest_middleware::ClientBuilder::new(http.clone())
            .with_arc(first)
            .with(AnswerAtOnce)
            .build()
    };
    let token_stack = answering(Arc::new(tokenspec::middleware::TokenMiddleware::new(&ours)));
    let header_stack = answering(Arc::new(FixedHeader(
        http::HeaderValue::from_str(&bearer).expect("header"),
    )));
    let time_stack = |stack: &reqwest_middleware::ClientWithMiddleware| {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(stack.get(&url).send().await.expect("answer"));
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        })
    };
    let (token_alone, header_alone) = interleaved(&mut || time_stack(&token_stack), &mut || {
        time_stack(&header_stack)
    });
    rows.push(row(
        "  TokenMiddleware's own cost per call (a stack answering at once)",
        ns(token_alone),
        format!("{} a middleware setting a fixed header", ns(header_alone)),
        format!("+{}", ns(token_alone - header_alone)),
        "≤ +1 µs",
        token_alone - header_alone <= 1_000.0,
    ));

    let hyper = rt.block_on(async {
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Empty<bytes::Bytes>>()
    });
    let uri: http::Uri = url.parse().expect("URI");
    let layered = tokenspec::tower::TokenLayer::new(&ours).layer(hyper.clone());
    let (with_layer, hyper_by_hand) = interleaved(
        &mut || {
            let mut service = layered.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    std::future::poll_fn(|cx| service.poll_ready(cx))
                        .await
                        .expect("ready");
                    let request = http::Request::get(uri.clone())
                        .body(Empty::new())
                        .expect("request");
                    let answer = service.call(request).await.expect("send");
                    std::hint::black_box(answer.into_body().collect().await.expect("body"));
                }
                start.elapsed().as_nanos() as f64 / rounds as f64
            })
        },
        &mut || {
            let hyper = hyper.clone();
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..rounds {
                    let request = http::Request::get(uri.clone())
                        .header("authorization", &bearer)
                        .body(Empty::new())
                        .expect("request");
                    let answer = hyper.request(request).await.expect("send");
                    std::hint::black_box(answer.into_body().collect().await.expect("body"));
                }
                start.elapsed().as_nanos() as f64 / rounds as f64
            })
        },
    );
    rows.push(row(
        "API call through TokenLayer (tower, hyper client), over loopback",
        ns(with_layer),
        format!("{} hyper, header set by hand", ns(hyper_by_hand)),
        format!("{:.2}×", with_layer / hyper_by_hand),
        "-",
        true,
    ));

    // The layer's own cost, without a network: a service that answers at once.
    let (layer_alone, bare_alone) = interleaved(
        &mut || {
            let mut service = tokenspec::tower::TokenLayer::new(&ours).layer(Immediate);
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..calls {
                    let request = http::Request::get(uri.clone())
                        .body(Empty::<bytes::Bytes>::new())
                        .expect("request");
                    std::hint::black_box(service.call(request).await.expect("answer"));
                }
                start.elapsed().as_nanos() as f64 / calls as f64
            })
        },
        &mut || {
            let mut service = Immediate;
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..calls {
                    let request = http::Request::get(uri.clone())
                        .header("authorization", &bearer)
                        .body(Empty::<bytes::Bytes>::new())
                        .expect("request");
                    std::hint::black_box(service.call(request).await.expect("answer"));
                }
                start.elapsed().as_nanos() as f64 / calls as f64
            })
        },
    );
    rows.push(row(
        "  TokenLayer's own cost per call (a service answering at once)",
        ns(layer_alone),
        format!("{} the service, header set by hand", ns(bare_alone)),
        format!("+{}", ns(layer_alone - bare_alone)),
        "≤ +1 µs",
        layer_alone - bare_alone <= 1_000.0,
    ));

    // The cached path without a recorder (the `metrics` facade's handles are no-ops), then with
    // one whose counters are atomics, as Prometheus exporters' are; each client is built after
    // its recorder is in place, as docs/observability.md asks.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let iterations = 2_000_000;
    let hot = |client: &tokenspec::faciconnect::Client, threads: usize| {
        median(
            (0..5)
                .map(|_| {
                    per_call_ns!(threads, iterations, client, |c| std::hint::black_box(
                        c.access_token().await.expect("cached")
                    ))
                })
                .collect(),
        )
    };
    let without: Vec<f64> = [1, cores].iter().map(|&t| hot(&ours, t)).collect();
    metrics::set_global_recorder(Atomics).expect("the bench's only recorder");
    let counted = client(&base);
    rt.block_on(counted.access_token()).expect("first token");
    let with: Vec<f64> = [1, cores].iter().map(|&t| hot(&counted, t)).collect();
    for (i, threads) in [1, cores].into_iter().enumerate() {
        rows.push(row(
            &format!(
                "cached access_token() counting hits in a metrics recorder, {threads} thread(s)"
            ),
            ns(with[i]),
            format!("{} without a recorder", ns(without[i])),
            format!("+{}", ns(with[i] - without[i])),
            "≤ +25 ns",
            with[i] - without[i] <= 25.0,
        ));
    }
}

/// The last middleware of a stack, answering `200` at once, to time what comes before it.
struct AnswerAtOnce;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for AnswerAtOnce {
    async fn handle(
        &self,
        request: reqwest::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        std::hint::black_box(request);
        Ok(reqwest::Response::from(http::Response::new("")))
    }
}

/// The middleware a team writes by hand: one fixed `Authorization` header.
struct FixedHeader(http::HeaderValue);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for FixedHeader {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, self.0.clone());
        next.run(request, extensions).await
    }
}

/// A service of `http::Request`s that answers `200` at once, to time what wraps it.
#[derive(Clone)]
struct Immediate;

impl tower_service::Service<http::Request<http_body_util::Empty<bytes::Bytes>>> for Immediate {
    type Response = http::Response<http_body_util::Empty<bytes::Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(
        &mut self,
        request: http::Request<http_body_util::Empty<bytes::Bytes>>,
    ) -> Self::Future {
        std::hint::black_box(request);
        std::future::ready(Ok(http::Response::new(http_body_util::Empty::new())))
    }
}

/// A `metrics` recorder whose counters are shared atomics (as exporters keep them); the rest
/// records nothing.
struct Atomics;

impl metrics::Recorder for Atomics {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(std::sync::atomic::AtomicU64::new(0)))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument runs only the matching sections.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    if wanted("hot") {
        hot_path(&rt, &mut rows);
    }
    if wanted("stampede") {
        stampede(&mut rows);
    }
    if wanted("fetch") {
        fetch_overhead(&rt, &mut rows);
    }
    if wanted("generator") {
        generator(&mut rows);
    }
    if wanted("memory") {
        memory(&rt, &mut rows);
    }
    if wanted("lifetimes") {
        lifetimes(&rt, &mut rows);
    }
    if wanted("fleet") {
        fleet(&mut rows);
    }
    if wanted("sessions") {
        sessions(&rt, &mut rows);
    }
    if wanted("assertions") {
        assertions(&rt, &mut rows);
    }
    if wanted("mtls") {
        mtls(&rt, &mut rows);
    }
    if wanted("integrations") {
        integrations(&rt, &mut rows);
    }
    if wanted("dpop") {
        dpop(&rt, &mut rows);
    }
    println!("| benchmark | tokenspec | baseline (same run) | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            r.ours,
            r.baseline,
            r.ratio,
            r.target,
            if r.met { "yes" } else { "**no**" }
        );
    }
}
