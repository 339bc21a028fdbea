//! A token endpoint and an API on 127.0.0.1 for the HTTP stack integrations: the endpoint
//! issues `tok-1`, `tok-2`, … and records the client secret each request carried; the API
//! refuses the tokens it is told to and records what each request carried.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Issues `tok-N` tokens living `lifetime` seconds to any token request.
#[derive(Clone)]
pub struct Issuer {
    pub issued: Arc<AtomicUsize>,
    /// The secret of each request's Basic credentials, in order.
    pub secrets: Arc<Mutex<Vec<String>>>,
    /// How long the n-th answer (from 1) waits.
    pub delays: Arc<Mutex<Vec<(usize, Duration)>>>,
    /// Answer `401 invalid_client` to every request.
    pub refuse: Arc<std::sync::atomic::AtomicBool>,
    pub lifetime: u64,
}

impl Issuer {
    pub fn new(lifetime: u64) -> Self {
        Issuer {
            issued: Arc::default(),
            secrets: Arc::default(),
            delays: Arc::default(),
            refuse: Arc::default(),
            lifetime,
        }
    }

    pub fn count(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    pub fn secrets(&self) -> Vec<String> {
        self.secrets.lock().unwrap().clone()
    }

    /// Serves token requests on `server` at `token_path`.
    pub async fn mount(&self, server: &MockServer, token_path: &str) {
        Mock::given(method("POST"))
            .and(path(token_path))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }
}

impl Respond for Issuer {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let secret = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .and_then(|pair| pair.split_once(':').map(|(_, s)| s.to_owned()))
            .or_else(|| {
                url::form_urlencoded::parse(&r.body)
                    .find(|(k, _)| k == "client_secret")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        self.secrets.lock().unwrap().push(secret);
        if self.refuse.load(Ordering::SeqCst) {
            return ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error": "invalid_client", "error_description": "bad client credentials"
            }));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let delay = self
            .delays
            .lock()
            .unwrap()
            .iter()
            .find(|(i, _)| *i == n)
            .map(|(_, d)| *d)
            .unwrap_or_default();
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({
                "access_token": format!("tok-{n}"),
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "refresh_token": format!("rt-{n}"),
            }))
            .set_delay(delay)
    }
}

/// What an API request carried: its `Authorization` header and its body.
pub type Seen = (String, Vec<u8>);

/// An API at `/api/...`: `401` to the tokens in `refused`, `503` to the first `unavailable`
/// requests, else `200` with body `ok`.
#[derive(Clone, Default)]
pub struct Api {
    pub refused: Arc<Mutex<HashSet<String>>>,
    pub unavailable: Arc<AtomicUsize>,
    /// The `Authorization` header and body of each request, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Api {
    pub fn refuse(&self, token: &str) {
        self.refused
            .lock()
            .unwrap()
            .insert(format!("Bearer {token}"));
    }

    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(a, b)| (a.clone(), String::from_utf8_lossy(b).into_owned()))
            .collect()
    }

    pub async fn mount(&self, server: &MockServer) {
        Mock::given(wiremock::matchers::path_regex("^/api/"))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }
}

impl Respond for Api {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let authorization = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.seen
            .lock()
            .unwrap()
            .push((authorization.clone(), r.body.clone()));
        if self
            .unavailable
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return ResponseTemplate::new(503);
        }
        if self.refused.lock().unwrap().contains(&authorization) {
            return ResponseTemplate::new(401);
        }
        ResponseTemplate::new(200).set_body_string("ok")
    }
}

/// A Bs2 client (the generated module, as applications use it) whose token requests go to
/// `server`.
#[cfg(feature = "bs2")]
pub fn bs2_client(server: &MockServer, secret: &str) -> tokenspec::bs2::Client {
    tokenspec::bs2::Client::builder()
        .environment(tokenspec::bs2::Environment::Production {
            host: "api.bs2.example".into(),
        })
        .client_id("stack-client")
        .client_secret(secret.to_owned())
        .scopes([tokenspec::bs2::Scope::PixRead])
        .settings(|s| s.base_url(server.uri()))
        .build()
        .expect("valid client")
}

/// Where Bs2's token endpoint is.
pub const BS2_TOKEN_PATH: &str = "/auth/oauth/v2/token";
