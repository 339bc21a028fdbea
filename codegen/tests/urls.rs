//! `check` refuses every base URL and issuer the runtime's `build()` refuses, before any code
//! is generated: each URL below goes to `check` as a spec's environment (or OpenID issuer), and
//! to the runtime through the descriptor `try` builds (`tokenspec_codegen::descriptor`), as a generated
//! builder would hand it over.

use tokenspec::{Settings, TokenClient};
use tokenspec_codegen::check_source;

/// A spec whose only environment is `url`; `{tenant}` is its placeholder when it has one.
fn spec(url: &str) -> String {
    format!(
        "title: Urls\nenvironments:\n  production: {url:?}\nclient_auth: {{ basic: raw }}\nflows:\n  client_credentials:\n    grant: client_credentials\n    path: /token\n    params:\n      grant_type: {{ value: client_credentials }}\n    expiry: {{ expires_in: expires_in }}\n"
    )
}

/// The spec of [`spec`] with `issuer` as its OpenID issuer, in an environment with the
/// `{tenant}` placeholder the issuer may use.
fn issuer_spec(issuer: &str) -> String {
    spec("https://{tenant}.example.com").replace(
        "title: Urls\n",
        &format!("title: Urls\nopenid:\n  issuer: {issuer:?}\n  algorithms: [RS256]\n"),
    )
}

/// Whether `build()` refuses `url` as the base URL template (or, with `issuer`, as the
/// OpenID issuer), its placeholder filled with a plain value.
fn runtime_refuses(url: &str, issuer: bool) -> Option<String> {
    let valid = if issuer {
        issuer_spec("https://{tenant}.example.com")
    } else {
        spec("https://auth.example.com")
    };
    let valid = check_source("specs/urls.yaml", &valid);
    let provider = valid
        .provider
        .expect("the spec passes check with a good URL");
    let mut descriptor = tokenspec_codegen::descriptor::descriptor(&provider).clone();
    let template = if issuer {
        let openid = descriptor.openid.as_mut().expect("the spec has openid");
        openid.issuer = Some(Box::leak(url.to_owned().into_boxed_str()));
        "https://{tenant}.example.com"
    } else {
        url
    };
    let descriptor = Box::leak(Box::new(descriptor));
    let values: &[(&str, &str)] = if template.contains("{tenant}") || url.contains("{tenant}") {
        &[("tenant", "acme")]
    } else {
        &[]
    };
    let settings = Settings::default().client_id("id").client_secret("secret");
    TokenClient::new_in_environment(descriptor, settings, "production", template, values, vec![])
        .err()
        .map(|e| e.to_string())
}

/// URLs the runtime refuses and `check` must refuse too.
const REFUSED: &[&str] = &[
    "https://auth.example.com:65536",
    "https://auth.example.com:99999/v1",
    "https://auth.example.com:-1",
    "https://auth.example.com:https",
    "https://user:hunter2@auth.example.com",
    "https://user@auth.example.com/v1",
    "https://:hunter2@{tenant}.example.com",
    "https://{tenant}.example.com:70000",
    "https://auth.exa<mple.com",
    "https://auth.example.com^",
    "https://auth|example.com",
    "https://[::1",
    "https://[fe80::zz]/",
    "https://",
    "ftp://auth.example.com",
    "https://auth.example.com/v1?x=1",
    "https://auth.example.com/#top",
    "http://auth.example.com",
];

/// URLs both accept.
const ACCEPTED: &[&str] = &[
    "https://auth.example.com",
    "https://auth.example.com:8443/v1",
    "https://auth.example.com:65535",
    "https://auth.example.com:/v1",
    "https://{tenant}.auth.example.com/oauth",
    "https://auth.example.com/{tenant}/v2",
    "https://[2001:db8::1]:443",
    "https://auth_server.example.com",
    "https://auth.exämple.com",
];

/// URLs `check` refuses though the runtime would take them: plain http to a loopback test
/// server needs `allow_insecure_http` in a spec, where it is meant for production.
/// `https:///token` is read by the runtime as the host `token`, which is no spec author's
/// intent.
const CHECK_STRICTER: &[&str] = &[
    "http://localhost:8080",
    "http://127.0.0.1",
    "https:///token",
];

/// Every URL of the lists whose verdicts differ from what they say, as `check` on the spec
/// `spec` makes of it and the runtime (`issuer`: as the issuer) decides.
fn disagreements(spec: impl Fn(&str) -> String, issuer: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    for url in REFUSED.iter().chain(ACCEPTED).chain(CHECK_STRICTER) {
        let checked = check_source("specs/urls.yaml", &spec(url));
        let check_refuses = checked.provider.is_none();
        let runtime = runtime_refuses(url, issuer);
        if runtime.is_some() != REFUSED.contains(url) {
            wrong.push(format!("the runtime on {url:?}: {runtime:?}"));
        }
        if check_refuses == ACCEPTED.contains(url) {
            wrong.push(format!(
                "check on {url:?} (the runtime says {runtime:?}):\n{}",
                tokenspec_codegen::diagnostics::render(&[checked.diagnostics])
            ));
        }
    }
    wrong
}

#[test]
fn check_refuses_every_base_url_the_runtime_refuses() {
    let wrong = disagreements(spec, false);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn check_refuses_every_issuer_the_runtime_refuses() {
    let wrong = disagreements(issuer_spec, true);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_password_in_a_url_is_refused_and_never_repeated() {
    let refused = [
        spec("https://user:hunter2@auth.example.com"),
        spec("https://auth.example.com").replace(
            "title: Urls\n",
            "title: Urls\ndocs: https://reader:hunter2@docs.example.com/oauth\n",
        ),
        spec("https://auth.example.com").replace(
            "title: Urls\n",
            "title: Urls\ndescription: |\n  Credentials as in https://demo:hunter2@auth.example.com/token.\n",
        ),
        spec("https://auth.example.com").replace(
            "client_auth: { basic: raw }",
            "client_auth: { assertion: private_key_jwt, audience: \"https://me:hunter2@auth.example.com\" }",
        ),
    ];
    for text in refused {
        let checked = check_source("specs/urls.yaml", &text);
        assert!(checked.provider.is_none(), "refused:\n{text}");
        for d in &checked.diagnostics.diagnostics {
            assert!(
                !d.message.contains("hunter2")
                    && !d.help.as_deref().unwrap_or("").contains("hunter2"),
                "{d:?}"
            );
        }
    }
}
