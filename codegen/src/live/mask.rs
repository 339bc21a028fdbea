//! What `try` prints of a request and an answer, with every secret and token masked: a secret
//! the user handed over never appears, and a token shows only its first characters and its
//! length, enough to recognise it and never enough to use it.

use serde_json::Value;

/// Names whose values are credentials wherever they appear (parameters, JSON keys); a
/// token's type or lifetime is not one.
fn sensitive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    if n.ends_with("type") || n.starts_with("expires") {
        return false;
    }
    n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("assertion")
        || n.contains("apikey")
        || n == "codeverifier"
        || n == "jwt"
}

/// Parameter names whose values are credentials: those above, and an authorization `code`
/// (which, in an answer, is usually an error code).
fn sensitive_param(name: &str) -> bool {
    sensitive_name(name) || name.eq_ignore_ascii_case("code")
}

/// The first characters of `value` and its length: `eyJhbG… (812 characters)`. At most a
/// quarter of the value, and never more than 6 characters, is shown.
pub fn token_prefix(value: &str) -> String {
    let count = value.chars().count();
    let shown: String = value.chars().take((count / 4).min(6)).collect();
    format!("{shown}… ({count} characters)")
}

/// Masks secrets in text: every value in `secrets` (as is and form-encoded), and every run
/// of characters that looks like a token, as the runtime finds them in text nobody parsed.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// A masker for these values (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut all = Vec::new();
        for s in secrets.into_iter().filter(|s| !s.is_empty()) {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            if encoded != s {
                all.push(encoded);
            }
            all.push(s);
        }
        // Longest first, so a secret containing another is masked whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker { secrets: all }
    }

    /// `text` with every known secret replaced by `****` and token-like runs shortened.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "****");
        }
        mask_runs(&out)
    }

    /// A parameter's value: masked whole when its name says it is a credential, else as text.
    pub fn param(&self, name: &str, value: &str) -> String {
        if sensitive_param(name) {
            if value.is_empty() {
                String::new()
            } else {
                "****".into()
            }
        } else {
            self.text(value)
        }
    }

    /// A JSON value with every credential-named member masked and every string masked as text;
    /// tokens show their first characters.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let masked = match v {
                            Value::String(s) if sensitive_name(k) => Value::String(token_prefix(s)),
                            other => self.json(other),
                        };
                        (k.clone(), masked)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }
}

/// Shortens every token-like run (by the runtime's own rule) to its first characters.
fn mask_runs(text: &str) -> String {
    tokenspec::__private::replace_token_like(text, token_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_show_a_quarter_at_most_and_secrets_never() {
        assert_eq!(token_prefix("abcdefgh"), "ab… (8 characters)");
        let m = Masker::new(["s3cr3t value".to_owned()]);
        assert_eq!(m.text("id:s3cr3t value"), "id:****");
        assert_eq!(m.text("s3cr3t+value"), "****");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig";
        assert!(!m.text(jwt).contains("eyJzdWIi"));
        let v = m.json(&serde_json::json!({"data": {"accessToken": "abcdefghijkl", "n": 3}}));
        assert_eq!(v["data"]["accessToken"], "abc… (12 characters)");
        assert_eq!(v["data"]["n"], 3);
        assert_eq!(m.param("client_secret", "x"), "****");
        assert_eq!(
            m.param("grant_type", "client_credentials"),
            "client_credentials"
        );
    }
}
