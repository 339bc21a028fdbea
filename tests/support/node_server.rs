//! Node.js servers from the package registry (installed by `scripts/test.sh` with `npm ci`),
//! started on 127.0.0.1 for the interoperability tests and stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `server.mjs` running under node, on a port it picked itself.
pub struct NodeServer {
    child: Child,
    /// Its base URL (the issuer), as it printed it.
    pub issuer: String,
}

/// Starts `command` and waits (60 s at most) for the first line of its standard output that
/// `ready` recognises, such as the line that gives the port it picked; returns the process
/// and what `ready` read from that line.
pub fn spawn_until_ready(
    mut command: Command,
    what: &str,
    ready: impl Fn(&str) -> Option<String> + Send + 'static,
) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{what} could not start (is it installed? scripts/test.sh installs it): {e}")
        });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(found) = ready(&line) {
                let _ = tx.send(found);
            }
        }
    });
    let found = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} started within 60 s"));
    (child, found)
}

impl NodeServer {
    /// Starts `tests/<folder>/server.mjs` and waits for its "ready <issuer>" line; `package`
    /// is the npm package it needs, checked to be installed.
    pub fn start(folder: &str, package: &str) -> Self {
        Self::start_with(folder, package, &[], &[])
    }

    /// [`NodeServer::start`] with arguments and environment variables for the server.
    pub fn start_with(folder: &str, package: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        // This file is also compiled into the example crates' tests, two folders down.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = if root.join("tests").join(folder).is_dir() {
            root.to_path_buf()
        } else {
            root.join("../..")
        };
        let dir = root.join("tests").join(folder);
        assert!(
            dir.join("node_modules").join(package).is_dir(),
            "{package} is not installed: run `npm ci --prefix tests/{folder}` (scripts/test.sh does)"
        );
        let mut command = Command::new("node");
        command
            .arg("server.mjs")
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(&dir);
        let (child, issuer) = spawn_until_ready(command, package, |line| {
            line.strip_prefix("ready ").map(str::to_owned)
        });
        NodeServer { child, issuer }
    }

    /// A plain HTTP client for the test's own requests to the server.
    pub fn http() -> reqwest::Client {
        // tokenspec installs no process-wide crypto provider, so plain `reqwest::get` has none.
        tokenspec::http_client().unwrap().build().unwrap()
    }

    /// The text `GET <issuer><path>` answers.
    pub async fn text(&self, path: &str) -> String {
        Self::http()
            .get(format!("{}{path}", self.issuer))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The claims the provider's userinfo endpoint (`/me`) gives for `session`'s token, sent
    /// through the session (with a DPoP proof when the token is bound); panics on a refusal.
    pub async fn userinfo(&self, session: &tokenspec::Session) -> serde_json::Value {
        session
            .send(Self::http().get(format!("{}/me", self.issuer)))
            .await
            .unwrap()
            .error_for_status()
            .expect("userinfo accepts the session's token")
            .json()
            .await
            .unwrap()
    }

    /// Refreshes `session`'s refresh token once through `client`'s flow `refresh` (the
    /// refresh token as its one per-call value).
    pub async fn refresh(
        client: &tokenspec::TokenClient,
        session: &tokenspec::Session,
    ) -> Result<(), tokenspec::Error> {
        let refresh = session
            .refresh_token()
            .expect("a refresh token (offline_access)");
        let value = tokenspec::__private::ParamValue::Secret(refresh.expose_secret().into());
        client
            .request::<()>("refresh", vec![Some(value)])
            .await
            .map(drop)
    }

    /// Follows `url` as a browser would, through the provider's login and consent, until the
    /// provider redirects to `redirect` (the client's redirect URI): the redirect's parameters,
    /// or the HTTP status of the page where the provider stopped instead.
    pub async fn follow(
        url: &str,
        redirect: &str,
    ) -> Result<std::collections::HashMap<String, String>, u16> {
        Self::follow_to(url, redirect)
            .await
            .map(|back| back.query_pairs().into_owned().collect())
    }

    /// A browser for the provider's pages: it keeps cookies and shows each redirect.
    fn browser() -> reqwest::Client {
        tokenspec::http_client()
            .unwrap()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// [`follow`](Self::follow), returning the whole URL the provider redirected back to (a
    /// hybrid response is in its fragment).
    pub async fn follow_to(url: &str, redirect: &str) -> Result<url::Url, u16> {
        let browser = Self::browser();
        let mut next = url.to_owned();
        for _ in 0..10 {
            let answer = browser.get(&next).send().await.unwrap();
            let Some(location) = answer.headers().get("location") else {
                return Err(answer.status().as_u16());
            };
            let location = answer.url().join(location.to_str().unwrap()).unwrap();
            if location.as_str().starts_with(redirect) {
                return Ok(location);
            }
            next = location.to_string();
        }
        panic!("the provider never redirected back");
    }

    /// Approves (or, with `approve: false`, aborts) a device authorization as its user would
    /// at `verification_uri_complete`: the provider's own pages, through its confirmation form
    /// (with its anti-forgery token), then login and consent. Returns the status of the page
    /// where the provider stopped.
    pub async fn answer_device(verification_uri_complete: &str, approve: bool) -> u16 {
        let browser = Self::browser();
        let hidden = |html: &str, name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html
                .find(&marker)
                .unwrap_or_else(|| panic!("no `{name}` in the page: {html}"))
                + marker.len();
            html[start..].split('"').next().unwrap().to_owned()
        };
        // The code in the URL: the provider answers with a form that posts it back.
        let page = browser.get(verification_uri_complete).send().await.unwrap();
        let action = page.url().clone();
        let html = page.text().await.unwrap();
        let (xsrf, user_code) = (hidden(&html, "xsrf"), hidden(&html, "user_code"));
        let html = browser
            .post(action.clone())
            .form(&[("xsrf", &xsrf), ("user_code", &user_code)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let xsrf = hidden(&html, "xsrf");
        let answer = if approve { "confirm" } else { "abort" };
        let mut answered = browser
            .post(action.clone())
            .form(&[
                ("xsrf", xsrf.as_str()),
                ("user_code", user_code.as_str()),
                (answer, "yes"),
            ])
            .send()
            .await
            .unwrap();
        // Login and consent complete on their own; follow them back to the device pages.
        for _ in 0..10 {
            let Some(location) = answered.headers().get("location") else {
                return answered.status().as_u16();
            };
            let next = answered.url().join(location.to_str().unwrap()).unwrap();
            answered = browser.get(next).send().await.unwrap();
        }
        panic!("the provider never finished the device confirmation");
    }

    /// Follows `url` (an authorization request) one step, without following the redirect, and
    /// returns the `state` and `code` of the redirect back.
    pub async fn redirect_back(url: &str) -> (String, String) {
        let browser = tokenspec::http_client()
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = browser.get(url).send().await.unwrap();
        let location = answer
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("a redirect, not HTTP {}", answer.status()))
            .to_str()
            .unwrap()
            .to_owned();
        let back = url::Url::parse(&location).unwrap();
        let get = |name: &str| {
            back.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no `{name}` in {back}"))
        };
        (get("state"), get("code"))
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
