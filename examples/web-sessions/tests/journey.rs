//! The whole journey in a real headless browser (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/test.sh`), against node-oidc-provider's own login and consent pages
//! and a real `redis-server`, all on 127.0.0.1: connect → login → consent → callback → a session
//! in Redis → a second process uses it and rotates its refresh token → the application adopts
//! the rotation → the provider revokes the session → the application asks the user to connect
//! again. And the same application in front of the provider's FAPI 2.0 profile: pushed
//! requests, private_key_jwt and DPoP-bound tokens.

// The root crate's test helpers: node servers and redis-server on free loopback ports.
#[allow(dead_code)]
#[path = "../../../tests/support/node_server.rs"]
mod node_server;
#[allow(dead_code)]
#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use node_server::NodeServer;
use redis_server::Redis;
use tokenspec::redis_store::RedisStore;
use tokenspec_web_sessions_example::{App, local_fapi, local_openid};

const STORE_KEY: [u8; 32] = *b"journey-test-store-key-012345678";
/// Access tokens live this long, so renewals happen within the test.
const ACCESS_TOKEN_TTL: &str = "4";

/// `chromedriver` on a port it picked, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let mut command = Command::new("chromedriver");
        command.arg("--port=0");
        let (child, port) = node_server::spawn_until_ready(command, "chromedriver", |line| {
            line.split("started successfully on port ")
                .nth(1)
                .map(|rest| rest.trim_end_matches('.').to_owned())
        });
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's client as each process of the application builds it.
fn client(issuer: &str, redis: &str, redirect: &str) -> local_openid::Client {
    let port = url::Url::parse(issuer).unwrap().port().unwrap().to_string();
    let store = RedisStore::new(redis, STORE_KEY).expect("store");
    local_openid::Client::builder()
        .environment(local_openid::Environment::Local { port })
        .client_id("basic-client")
        .client_secret("basic-secret-0123456789abcdef0123456789abcdef")
        .redirect_uri(redirect)
        .settings(|s| s.store(Arc::new(store)))
        .build()
        .expect("client")
}

/// Waits until the text of `selector` on the current page contains `expected`. The page may
/// still be the previous one, or be replaced while it is read (a stale element): both are
/// looked at again until the deadline.
async fn page_shows(browser: &fantoccini::Client, selector: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(element) = browser.find(Locator::Css(selector)).await
            && let Ok(text) = element.text().await
        {
            if text.contains(expected) {
                return text;
            }
            seen = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "`{selector}` never showed {expected:?} (last: {seen:?}) on {:?}:\n{}",
        browser.current_url().await,
        browser.source().await.unwrap_or_default()
    );
}

/// A headless Chromium session through `driver`.
async fn headless(driver: &Driver) -> fantoccini::Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Connects alice: the application's `/connect`, the provider's login page (any login and
/// password), its consent page, then back to the application, which shows her connected.
async fn connect_as_alice(browser: &fantoccini::Client, app_url: &str) {
    browser
        .goto(&format!("{app_url}/connect?user=alice"))
        .await
        .unwrap();
    let login = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's login page");
    login.send_keys("alice").await.unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any password")
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Consent.
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//button[@type='submit' and contains(., 'Continue')]",
        ))
        .await
        .expect("the provider's consent page")
        .click()
        .await
        .unwrap();
    page_shows(browser, "h1", "Connected as alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_connects_in_a_browser_and_the_session_lives_across_processes_until_revoked() {
    let redis = Redis::start();
    let provider = NodeServer::start_with(
        "oidc",
        "oidc-provider",
        &["--interactive"],
        &[("ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL)],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{app_url}/callback");
    let web = client(&provider.issuer, &redis.url(), &callback);
    tokio::spawn(async move {
        axum::serve(listener, App::new(web.clone()).router())
            .await
            .unwrap()
    });

    let driver = Driver::start();
    let browser = headless(&driver).await;

    connect_as_alice(&browser, &app_url).await;

    // A second process of the application finds the session in Redis and, once the access
    // token nears expiry, refreshes it: the provider rotates the refresh token.
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "second_process", "--ignored", "--nocapture"])
        .env("JOURNEY_ISSUER", &provider.issuer)
        .env("JOURNEY_REDIS", redis.url())
        .env("JOURNEY_CALLBACK", &callback)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the second process used and rotated the session"
    );

    // The first process adopts that rotation from Redis instead of spending the old token.
    browser
        .goto(&format!("{app_url}/me?user=alice"))
        .await
        .unwrap();
    page_shows(&browser, "h1", "Signed in as alice").await;

    // The provider revokes the current refresh token (the user withdrew consent there).
    let current = client(&provider.issuer, &redis.url(), &callback)
        .session("alice")
        .await
        .unwrap()
        .expect("in Redis")
        .refresh_token()
        .expect("a refresh token");
    let revoked = NodeServer::http()
        .post(format!("{}/token/revocation", provider.issuer))
        .basic_auth(
            "basic-client",
            Some("basic-secret-0123456789abcdef0123456789abcdef"),
        )
        .form(&[
            ("token", current.expose_secret()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    // Once the access token is due for renewal, the application asks the user to reconnect.
    tokio::time::sleep(Duration::from_secs(4)).await;
    browser
        .goto(&format!("{app_url}/me?user=alice"))
        .await
        .unwrap();
    page_shows(&browser, "#reconnect", "connect again").await;
    browser.close().await.unwrap();
}

/// The same application in front of a FAPI 2.0 provider: node-oidc-provider with its FAPI 2.0
/// profile enforced and DPoP nonces required, and the client generated from
/// `specs/local_fapi.yaml`. The browser is sent with only the client id and the `request_uri` of
/// the pushed request; the code exchange is authenticated with private_key_jwt and bound with
/// DPoP; the redirect's `iss` is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_connects_through_a_fapi_2_provider_in_a_browser() {
    let provider = NodeServer::start_with(
        "oidc",
        "oidc-provider",
        &["--interactive"],
        &[("FAPI", "2.0"), ("DPOP_NONCE", "1")],
    );
    let key: serde_json::Value =
        serde_json::from_str(&provider.text("/test/client-key.pem").await).unwrap();
    let client_key = tokenspec::ClientKey::from_pem(key["pem"].as_str().unwrap())
        .unwrap()
        .with_kid(key["kid"].as_str().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let port = url::Url::parse(&provider.issuer)
        .unwrap()
        .port()
        .unwrap()
        .to_string();
    let client = local_fapi::Client::builder()
        .environment(local_fapi::Environment::Local { port })
        .client_id("fapi-client")
        .client_key(client_key)
        .redirect_uri(format!("{app_url}/callback"))
        .build()
        .expect("client");
    let web = client.clone();
    tokio::spawn(async move { axum::serve(listener, App::new(web).router()).await.unwrap() });
    let driver = Driver::start();
    let browser = headless(&driver).await;
    connect_as_alice(&browser, &app_url).await;
    browser
        .goto(&format!("{app_url}/me?user=alice"))
        .await
        .unwrap();
    page_shows(&browser, "h1", "Signed in as alice").await;
    let session = client.session("alice").await.unwrap().expect("connected");
    assert!(session.access_token().await.unwrap().is_dpop_bound());
    assert_eq!(provider.userinfo(&session).await["sub"], "alice");
    browser.close().await.unwrap();
}

/// The second process of the journey (run by it, with the provider and Redis it started).
#[tokio::test]
#[ignore = "run by the journey test as a separate process"]
async fn second_process() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let client = client(
        &var("JOURNEY_ISSUER"),
        &var("JOURNEY_REDIS"),
        &var("JOURNEY_CALLBACK"),
    );
    let session = client
        .session("alice")
        .await
        .unwrap()
        .expect("the web process stored the session in Redis");
    let first = session.access_token().await.expect("the stored token");
    let issued = session.refresh_token().expect("a refresh token");
    // Past half the token's lifetime, the next call renews it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut renewed = session.access_token().await.unwrap();
    for _ in 0..100 {
        if !renewed.same_as(&first) && renewed.expose_secret() != first.expose_secret() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        renewed = session.access_token().await.unwrap();
    }
    assert_ne!(renewed.expose_secret(), first.expose_secret(), "renewed");
    assert_ne!(
        session.refresh_token().unwrap().expose_secret(),
        issued.expose_secret(),
        "the provider rotated the refresh token"
    );
}
