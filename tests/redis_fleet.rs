//! A fleet of token clients sharing tokens through a real `redis-server` on 127.0.0.1 (installed
//! by `scripts/test.sh`, started on a free port per test). Fleet members run as separate
//! processes: this test binary re-run with `--ignored --exact fleet_member`.
#![cfg(feature = "redis")]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::redis_server::Redis;
use support::*;
use tokenspec::__private::descriptor::*;
use tokenspec::redis_store::RedisStore;
use tokenspec::store::{StoreError, StoreFallback};
use tokenspec::{Error, Settings, TokenClient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: [u8; 32] = *b"fleet-test-key-0123456789abcdef!";

fn fleet_provider() -> &'static Provider {
    provider(client_credentials_flow(), vec![])
}

fn fleet_client(token_url: &str, redis_url: &str, margin: Duration) -> TokenClient {
    let store = RedisStore::new(redis_url, KEY)
        .expect("store")
        .timeout(Duration::from_millis(500));
    let settings = Settings::default()
        .client_id("fleet")
        .client_secret("fleet-secret")
        .base_url(token_url)
        .refresh_margin(margin)
        .store(Arc::new(store))
        .store_timing(Duration::from_secs(5), Duration::from_secs(1));
    TokenClient::new(
        fleet_provider(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .expect("client")
}

/// A token server issuing `tok-N` tokens living `lifetime` seconds; the first answer waits
/// `first_delay`.
async fn token_server(lifetime: u64, first_delay: Duration) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let answer = ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": format!("tok-{n}"), "expires_in": lifetime}));
            if n == 1 {
                answer.set_delay(first_delay)
            } else {
                answer
            }
        })
        .mount(&server)
        .await;
    (server, issued)
}

/// One fleet member: asks for a token every 20 ms for `FLEET_MILLIS`, then prints each token it
/// saw and how many calls failed.
#[test]
#[ignore = "a fleet member process, started by the fleet tests"]
fn fleet_member() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the fleet test"))
    };
    let (token_url, redis_url) = (var("FLEET_TOKEN_URL"), var("FLEET_REDIS_URL"));
    let millis: u64 = var("FLEET_MILLIS").parse().expect("millis");
    let margin = Duration::from_millis(var("FLEET_MARGIN_MILLIS").parse().expect("margin"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = fleet_client(&token_url, &redis_url, margin);
        let until = Instant::now() + Duration::from_millis(millis);
        let (mut seen, mut errors) = (Vec::<String>::new(), 0);
        while Instant::now() < until {
            match client.access_token().await {
                Ok(t) if seen.last().map(String::as_str) != Some(t.expose_secret()) => {
                    seen.push(t.expose_secret().to_owned())
                }
                Ok(_) => {}
                Err(_) => errors += 1,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for token in seen {
            println!("token {token}");
        }
        println!("errors {errors}");
    });
}

fn member(token_url: &str, redis_url: &str, millis: u64, margin_millis: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "fleet_member",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLEET_TOKEN_URL", token_url)
        .env("FLEET_REDIS_URL", redis_url)
        .env("FLEET_MILLIS", millis.to_string())
        .env("FLEET_MARGIN_MILLIS", margin_millis.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("member process")
}

/// (tokens seen in order, failed calls) of a finished member.
fn report(child: Child) -> (Vec<String>, usize) {
    let output = child.wait_with_output().expect("member finished");
    assert!(output.status.success(), "member failed");
    let (mut tokens, mut errors) = (Vec::new(), 0);
    for line in BufReader::new(&output.stdout[..])
        .lines()
        .map_while(Result::ok)
    {
        if let Some(t) = line.strip_prefix("token ") {
            tokens.push(t.to_owned());
        } else if let Some(e) = line.strip_prefix("errors ") {
            errors = e.parse().expect("count");
        }
    }
    (tokens, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_processes_share_one_token_request_per_lifetime() {
    let redis = Redis::start();
    // Tokens live 3 s and are renewed 1 s before expiry: one request every 2 s for the fleet.
    let (server, issued) = token_server(3, Duration::ZERO).await;
    let millis = 7_000;
    let members: Vec<_> = (0..16)
        .map(|_| member(&server.uri(), &redis.url(), millis, 1_000))
        .collect();
    let reports: Vec<_> =
        tokio::task::spawn_blocking(move || members.into_iter().map(report).collect())
            .await
            .unwrap();
    let requests = issued.load(Ordering::SeqCst);
    let renewals = (millis as usize).div_ceil(2_000);
    assert!(
        requests <= renewals + 1,
        "{requests} token requests for 16 processes over {millis} ms (one per 2 s expected)"
    );
    for (tokens, errors) in &reports {
        assert_eq!(*errors, 0);
        assert!(
            tokens.len() >= renewals - 1,
            "each member followed the renewals: {tokens:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_holder_killed_mid_renewal_blocks_nobody_for_longer_than_the_lock() {
    let redis = Redis::start();
    // The first token request hangs: its process takes the lock and is killed while waiting.
    let (server, issued) = token_server(60, Duration::from_secs(30)).await;
    let mut holder = member(&server.uri(), &redis.url(), 20_000, 1_000);
    for _ in 0..400 {
        if issued.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "the holder asked for a token"
    );
    holder.kill().expect("SIGKILL"); // it never releases its lock
    let _ = holder.wait();
    let started = Instant::now();
    let other = fleet_client(&server.uri(), &redis.url(), Duration::from_secs(1));
    let token = other
        .access_token()
        .await
        .expect("another process renews once the lock expires");
    assert_eq!(token.expose_secret(), "tok-2");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for the 1 s lock, not more: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_run_costs_no_failed_call() {
    let mut redis = Redis::start();
    let (server, _) = token_server(2, Duration::ZERO).await;
    let fleet: Vec<_> = (0..4)
        .map(|_| member(&server.uri(), &redis.url(), 5_000, 500))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    redis.stop();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    redis.spawn();
    let reports: Vec<_> =
        tokio::task::spawn_blocking(move || fleet.into_iter().map(report).collect())
            .await
            .unwrap();
    for (tokens, errors) in reports {
        assert_eq!(errors, 0, "callers kept getting tokens through the restart");
        assert!(tokens.len() >= 2, "renewals went on: {tokens:?}");
    }
}

#[tokio::test]
async fn redis_down_at_start_falls_back_as_configured_without_hanging() {
    let dead = format!("redis://127.0.0.1:{}/", dead_port());
    let (server, issued) = token_server(60, Duration::ZERO).await;
    let started = Instant::now();
    let local = fleet_client(&server.uri(), &dead, Duration::from_secs(1));
    assert_eq!(
        local.access_token().await.unwrap().expose_secret(),
        "tok-1",
        "fetched locally"
    );
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    let store = RedisStore::new(&dead, KEY)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let settings = Settings::default()
        .client_id("fleet")
        .client_secret("fleet-secret")
        .base_url(server.uri())
        .store(Arc::new(store))
        .store_fallback(StoreFallback::Fail);
    let strict = TokenClient::new(
        fleet_provider(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap();
    let e = strict.access_token().await.unwrap_err();
    assert!(matches!(e, Error::Store(StoreError::Unavailable(_))), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn tokens_are_encrypted_at_rest_and_a_wrong_key_is_a_clear_error() {
    let redis = Redis::start();
    let (server, _) = token_server(60, Duration::ZERO).await;
    let client = fleet_client(&server.uri(), &redis.url(), Duration::from_secs(1));
    client.access_token().await.unwrap();
    let raw = redis::Client::open(redis.url()).unwrap();
    let mut connection = raw.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("tokenspec:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "one key for the client: {keys:?}");
    assert!(
        !keys[0].contains("fleet"),
        "no client id or secret in the key: {}",
        keys[0]
    );
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&value).contains("tok-1"),
        "the token is not readable in Redis"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        (1..=60_000).contains(&ttl),
        "expires with the token: {ttl} ms"
    );

    let other_key = RedisStore::new(&redis.url(), [7u8; 32]).unwrap();
    let settings = Settings::default()
        .client_id("fleet")
        .client_secret("fleet-secret")
        .base_url(server.uri())
        .refresh_margin(Duration::from_secs(1))
        .store(Arc::new(other_key));
    let wrong = TokenClient::new(
        fleet_provider(),
        settings,
        "https://unused.invalid",
        &[],
        vec![],
    )
    .unwrap();
    let e = wrong.access_token().await.unwrap_err();
    assert!(matches!(e, Error::Store(StoreError::WrongKey)), "{e}");
    assert!(e.chain().to_string().contains("same store key"), "{e}");
}

#[tokio::test]
async fn a_provider_that_invalidates_earlier_tokens_is_served_by_the_whole_fleet() {
    let redis = Redis::start();
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": format!("tok-{n}"), "expires_in": 3600}))
        })
        .mount(&server)
        .await;
    // The API accepts only the newest token: issuing one invalidates every earlier one.
    let latest = issued.clone();
    Mock::given(method("GET"))
        .and(path("/api"))
        .respond_with(move |r: &Request| {
            let newest = format!("Bearer tok-{}", latest.load(Ordering::SeqCst));
            let sent = r
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            ResponseTemplate::new(if sent == newest { 200 } else { 401 })
        })
        .mount(&server)
        .await;
    let fleet: Vec<_> = (0..4)
        .map(|_| fleet_client(&server.uri(), &redis.url(), Duration::from_secs(60)))
        .collect();
    let http = tokenspec::http_client().unwrap().build().unwrap();
    let api = format!("{}/api", server.uri());
    for client in &fleet {
        assert_eq!(client.send(http.get(&api)).await.unwrap().status(), 200);
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1, "one token for the fleet");
    // One member is told its token is bad (say, the provider revoked it) and renews…
    let first = fleet[0].access_token().await.unwrap();
    fleet[0].invalidate(&first);
    assert_eq!(
        fleet[0].access_token().await.unwrap().expose_secret(),
        "tok-2"
    );
    // …so every other member's cached token is now rejected: each adopts tok-2 from Redis.
    for client in &fleet[1..] {
        assert_eq!(client.send(http.get(&api)).await.unwrap().status(), 200);
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "no member fetched a token of its own"
    );
}

#[tokio::test]
async fn a_ttl_too_long_for_redis_keeps_the_token_and_the_lock_instead_of_failing() {
    use tokenspec::store::{StoredToken, TokenStore};
    let redis = Redis::start();
    let store = RedisStore::new(&redis.url(), KEY).unwrap();
    let token = StoredToken::new(
        "long-lived".to_owned().into(),
        0,
        u64::MAX,
        serde_json::Map::new(),
    );
    store
        .save("forever", &token, Duration::MAX)
        .await
        .expect("Duration::MAX is saved (as a century), not refused by Redis");
    let loaded = store.load("forever").await.unwrap().expect("still there");
    assert_eq!(loaded.expires_at_ms, u64::MAX);
    assert!(
        store
            .try_lock("forever", "fence", Duration::MAX)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lock("forever", "other", Duration::MAX)
            .await
            .unwrap()
    );
}
