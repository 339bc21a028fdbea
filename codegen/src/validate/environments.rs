//! Environments: base URL templates, their placeholders and the default environment.

use super::*;

impl Cx {
    pub(super) fn environments(&mut self, spec: &Spec) -> Vec<ir::Environment> {
        let mut out = Vec::new();
        let mut variants = Names::default();
        if spec.environments.is_empty() {
            self.error(
                &root().key("environments"),
                "the spec has no environments",
                "add one, e.g. `production: https://api.example.com`",
            );
        }
        for (name, env) in &spec.environments {
            let at = root().key("environments").key(name);
            let variant = camel_ident(name);
            if let Err(previous) = variants.claim(&variant, name) {
                self.error(
                    &at,
                    format!(
                        "environments `{previous}` and `{name}` both become variant `{variant}`"
                    ),
                    "rename one of them",
                );
            }
            let url = env.url();
            let placeholders = self.url_template(url, &at, spec.allow_insecure_http);
            out.push(ir::Environment {
                name: name.clone(),
                variant,
                url: url.to_owned(),
                doc: env.doc().map(str::to_owned),
                placeholders,
                client_certificate: spec.client_certificate || env.client_certificate(),
            });
        }
        out
    }

    /// Checks a base URL template and returns its placeholders.
    pub(super) fn url_template(
        &mut self,
        url: &str,
        at: &YamlPath,
        insecure: bool,
    ) -> Vec<(String, String)> {
        // Never repeated in a message: what comes before `@` may be a password.
        if !self.without_user_info(url, at) {
            return Vec::new();
        }
        let scheme_ok = url.starts_with("https://") || (insecure && url.starts_with("http://"));
        if url.starts_with("http://") && !insecure {
            self.error(
                at,
                format!("`{url}` is plain http: credentials would cross the network unencrypted"),
                "use https://, or set `allow_insecure_http: true` for a local test server",
            );
        } else if !scheme_ok {
            self.error(
                at,
                format!("`{url}` is not an absolute https:// URL"),
                "write the full base URL, e.g. https://api.example.com",
            );
        }
        if let Some(bad) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
            let what = if bad == ' ' {
                "a space".to_owned()
            } else {
                format!("the character {bad:?}")
            };
            self.error(
                at,
                format!("`{}` has {what} in it; URLs have none", url.escape_debug()),
                "remove it (a space inside a host or path is written %20, but a host never has one)",
            );
        } else if scheme_ok
            && url
                .split_once("://")
                .is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with(['/', ':']))
        {
            self.error(
                at,
                format!("`{url}` has no host"),
                "write the host after the scheme, e.g. https://api.example.com",
            );
        }
        if scheme_ok && let Some((_, rest)) = url.split_once("://") {
            self.host_and_port(url, authority(rest), at);
        }
        if url.contains('?') || url.contains('#') {
            let base = url.split(['?', '#']).next().unwrap_or(url);
            self.error(
                at,
                format!("`{url}` carries a query or fragment, which a base URL cannot"),
                format!(
                    "write `{base}`, and put query parameters under the flow's `params:` with `in: query`"
                ),
            );
        }
        let mut placeholders = Vec::new();
        let mut names = Names::default();
        let mut rest = url;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                self.error(
                    at,
                    format!("`{url}` has a `}}` without a matching `{{`"),
                    "placeholders look like `{tenant}`",
                );
                break;
            }
            let Some(close) = rest[open..].find('}') else {
                self.error(
                    at,
                    format!("`{url}` has a `{{` without a matching `}}`"),
                    "placeholders look like `{tenant}`",
                );
                break;
            };
            let name = &rest[open + 1..open + close];
            let ident = snake_ident(name);
            if name.is_empty() || ident.trim_start_matches("r#") != name {
                self.error(
                    at,
                    format!("placeholder `{{{name}}}` is not a snake_case name"),
                    format!(
                        "call it `{{{}}}`",
                        ident.trim_start_matches("r#").trim_end_matches('_')
                    ),
                );
            } else if names.claim(&ident, name).is_ok() {
                placeholders.push((name.to_owned(), ident));
            }
            rest = &rest[open + close + 1..];
        }
        placeholders
    }

    /// Refuses a URL with user info (`https://user:password@host`) where the spec's text
    /// reaches generated code (a `docs:` link, an assertion's audience); `true` if it has none.
    pub(super) fn without_user_info(&mut self, text: &str, at: &YamlPath) -> bool {
        let found = carries_user_info(text);
        if found {
            self.error(
                at,
                "the URL carries user info (a name or password before `@`)",
                "remove it: a password in a spec would reach the generated code",
            );
        }
        !found
    }

    /// A path appended to the base URL or the issuer (`under`): it starts with `/` and holds
    /// no query, fragment, placeholder or space. Placeholders are filled in base URLs and
    /// issuers only; in a path they would be sent as written.
    pub(super) fn url_path(&mut self, path: &str, at: &YamlPath, under: &str) {
        let shown = path.escape_debug();
        let (problem, help) = if path.contains(['{', '}']) {
            (
                "cannot hold a placeholder: only base URLs and issuers have them".to_owned(),
                format!(
                    "it is appended to {under} as written; put the part that varies in the environment's URL (`https://{{tenant}}.example.com/v1`)"
                ),
            )
        } else if !path.starts_with('/') || path.contains(['?', '#']) {
            let fixed = path.trim().split(['?', '#']).next().unwrap_or("");
            let what = if path.starts_with('/') {
                "cannot carry a query or fragment"
            } else {
                "must start with `/`"
            };
            (
                what.to_owned(),
                format!(
                    "it is appended to {under}: write `/{}`; query parameters go under `params:` with `in: query`",
                    fixed.trim_start_matches('/')
                ),
            )
        } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            (
                "cannot hold a space or a control character".to_owned(),
                "write a space inside a path segment as `%20`".to_owned(),
            )
        } else {
            return;
        };
        self.error(at, format!("path `{shown}` {problem}"), help);
    }

    /// The host and port of a base URL template, as the runtime's URL rule reads them once
    /// the placeholders are filled: a host of letters, digits, `-`, `.` and `_` (or an IPv6
    /// address in brackets), and a port from 0 to 65535.
    fn host_and_port(&mut self, url: &str, authority: &str, at: &YamlPath) {
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((address, rest)) => {
                    if address.parse::<std::net::Ipv6Addr>().is_err() {
                        self.error(
                            at,
                            format!("`[{address}]` in `{url}` is not an IPv6 address"),
                            "write the address as `[2001:db8::1]`, or use a host name",
                        );
                    }
                    ("", rest.strip_prefix(':'))
                }
                None => {
                    self.error(
                        at,
                        format!("`{url}` has a `[` without a matching `]`"),
                        "an IPv6 address is written in brackets, e.g. `https://[2001:db8::1]`",
                    );
                    return;
                }
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let outside_placeholders = without_placeholders(host);
        if let Some(bad) = outside_placeholders
            .chars()
            .find(|&c| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_') || c.is_whitespace()))
        {
            self.error(
                at,
                format!("the host of `{url}` has `{bad}` in it"),
                "a host is letters, digits, `-` and `.`, e.g. `auth.example.com`",
            );
        }
        if let Some(port) = port.filter(|p| !p.is_empty() && !p.contains('{')) {
            let number = port
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| port.parse::<u32>().ok())
                .flatten();
            if number.is_none_or(|n| n > 65_535) {
                self.error(
                    at,
                    format!("port `{port}` of `{url}` is not a number from 0 to 65535"),
                    "write the port the provider documents, e.g. `:8443`, or leave it out for 443",
                );
            }
        }
    }
}

/// Whether any URL in `text` carries user info (`https://user:password@host`).
pub(crate) fn carries_user_info(text: &str) -> bool {
    text.match_indices("://")
        .any(|(i, _)| authority(&text[i + 3..]).contains('@'))
}

/// The authority of what follows a URL's `scheme://`: up to its path, query or fragment.
pub(super) fn authority(rest: &str) -> &str {
    rest.split(['/', '?', '#', '\\']).next().unwrap_or("")
}

/// `text` with every `{placeholder}` taken out.
fn without_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
