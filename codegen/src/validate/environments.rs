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
        if url.contains('?') || url.contains('#') {
            self.error(
                at,
                "a base URL cannot carry a query or fragment",
                "put query parameters under the flow's `params:` with `in: query`",
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
}
