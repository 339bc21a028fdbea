//! `tokenspec-codegen try`: one flow of a spec against the live provider, through the runtime
//! its generated client uses, printed with every secret masked, and, when the answer does not
//! fit the spec, the YAML change that makes it fit.
//!
//! Exit codes: 0 the spec works; 1 the answer does not fit the spec; 2 the provider refused
//! the request or could not be reached; 3 the command or the spec cannot be used.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use tokenspec::__private::ParamValue;
use tokenspec::__private::trial::Trial;
use tokenspec::{ExposeSecret, Settings, TokenClient};

use crate::diagnostics;
use crate::ir;

pub mod diagnose;
pub mod mask;

pub use diagnose::Weight;

/// What to try, and how.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// The spec file.
    pub spec: PathBuf,
    /// Environment name (default: the spec's default, or its only one).
    pub environment: Option<String>,
    /// Flow name (default: the cached flow, else the first).
    pub flow: Option<String>,
    /// `name=value` pairs: URL placeholders, builder settings and per-call arguments, by wire
    /// or Rust name.
    pub params: Vec<(String, String)>,
    /// A base URL in place of the environment's.
    pub base_url: Option<String>,
    /// Client id (from `$CLIENT_ID`).
    pub client_id: Option<String>,
    /// Client secret (from `$CLIENT_SECRET`).
    pub client_secret: Option<String>,
    /// PEM private key for signed assertions.
    pub key_file: Option<PathBuf>,
    /// A client assertion another identity provider issued (`assertion: federated`).
    pub assertion_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub cert_key_file: Option<PathBuf>,
    /// Extra trust roots (PEM), for a provider's sandbox CA.
    pub ca_file: Option<PathBuf>,
    /// Allow plain `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Write the suggested change into the spec.
    pub fix: bool,
    /// After a refusal of Basic credentials whose encodings differ, try the other encodings
    /// against the same endpoint (`--probe`).
    pub probe: bool,
}

/// What `try` printed and how it ends.
#[derive(Debug)]
pub struct Report {
    /// The text for standard output.
    pub text: String,
    /// The exit code.
    pub exit: u8,
}

/// Exit code: the spec works.
pub const WORKS: u8 = 0;
/// Exit code: the answer does not fit the spec.
pub const MISMATCH: u8 = 1;
/// Exit code: the provider refused the request, or could not be reached.
pub const REFUSED: u8 = 2;
/// Exit code: the command or the spec cannot be used.
pub const USAGE: u8 = 3;

fn usage(text: impl Into<String>) -> Report {
    Report {
        text: format!("error: {}\n", text.into()),
        exit: USAGE,
    }
}

/// Runs `try`.
pub fn run(options: &Options) -> Report {
    let source = match std::fs::read_to_string(&options.spec) {
        Ok(s) => s,
        Err(e) => return usage(format!("cannot read {}: {e}", options.spec.display())),
    };
    let shown = options.spec.to_string_lossy().replace('\\', "/");
    let checked = crate::check_source(&shown, &source);
    let Some(provider) = checked.provider else {
        return Report {
            text: format!(
                "{}error: {shown} does not pass `check`; fix it first\n",
                diagnostics::render(&[checked.diagnostics])
            ),
            exit: USAGE,
        };
    };
    let raw: serde_yaml::Value = serde_yaml::from_str(&source).unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(format!("cannot start the async runtime: {e}")),
    };
    let prepared = match prepare(&provider, options, None) {
        Ok(p) => p,
        Err(text) => return usage(text),
    };
    let flow = &provider.flows[prepared.flow];
    let environment = provider.environments[prepared.environment].name.clone();
    let (trial, discovered) = runtime.block_on(async {
        let trial = prepared
            .client
            .trial(&flow.name, prepared.call.clone(), prepared.extra.clone())
            .await;
        let needs_metadata = trial.answer.as_ref().is_some_and(|a| {
            a.status == 404
                || a.headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.contains("html"))
        });
        let discovered = if needs_metadata {
            token_endpoint(&prepared.client).await
        } else {
            None
        };
        (trial, discovered)
    });
    // The token the client read is masked wherever else it shows up, whatever its key.
    let mut secrets = prepared.secrets.clone();
    if let Ok(parsed) = &trial.outcome {
        secrets.push(parsed.token.expose_secret().to_owned());
    }
    let masker = mask::Masker::new(secrets);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} ({}), flow `{}`, environment `{environment}`",
        provider.title, shown, flow.name
    );
    show_request(&mut out, &trial, &masker, flow);
    show_answer(&mut out, &trial, &masker);
    show_parsed(&mut out, &trial, flow);
    let probed = options
        .probe
        .then(|| {
            probe(
                &runtime, &provider, options, &prepared, &trial, &masker, &mut out,
            )
        })
        .flatten();
    let cx = diagnose::Context {
        provider: &provider,
        flow,
        spec: &raw,
        environment: &environment,
        trial: &trial,
        discovered_token_endpoint: discovered,
        basic_encodings_differ: [&options.client_id, &options.client_secret]
            .into_iter()
            .flatten()
            .any(|s| diagnose::basic_encodings_differ(s)),
        probed,
    };
    let findings = diagnose::diagnose(&cx);
    let worst = findings.iter().map(|f| f.weight).max();
    let exit = match (worst, trial.outcome.is_ok()) {
        (Some(Weight::Mismatch), _) => MISMATCH,
        (Some(Weight::Refused), _) => REFUSED,
        (_, true) => WORKS,
        (_, false) => MISMATCH,
    };
    let _ = writeln!(out, "\n## Verdict");
    let _ = writeln!(
        out,
        "{}",
        match exit {
            WORKS => "works: the answer fits the spec",
            MISMATCH => "mismatch: the answer does not fit the spec",
            _ => "refused: the provider did not issue a token",
        }
    );
    // Only changes `try` is sure of are written; candidates are shown for the user to weigh.
    let edits: Vec<crate::edit::Edit> = findings
        .iter()
        .filter(|f| !f.candidate)
        .flat_map(|f| f.edits.clone())
        .collect();
    for f in &findings {
        let label = match f.weight {
            Weight::Note => "note",
            Weight::Refused => "refused",
            Weight::Mismatch => "mismatch",
        };
        let _ = writeln!(out, "- {label}: {}", masker.text(&f.message));
        if !f.edits.is_empty() {
            let what = if f.candidate {
                "candidate change (not written by --fix)"
            } else {
                "change"
            };
            let _ = writeln!(
                out,
                "  {what} in {shown}:\n```yaml\n{}```",
                crate::edit::as_yaml(&f.edits)
            );
        }
    }
    let candidates = findings.iter().any(|f| f.candidate);
    if options.fix && !edits.is_empty() {
        fix(&mut out, &options.spec, &shown, &source, &edits);
    } else if options.fix && candidates {
        let _ = writeln!(
            out,
            "\n--fix wrote nothing: the only change above is a candidate, which `try` cannot tell apart from wrong credentials."
        );
    } else if !edits.is_empty() {
        let _ = writeln!(
            out,
            "\nRun again with --fix to write the change into {shown} (comments and layout kept)."
        );
    }
    Report { text: out, exit }
}

/// `--probe`: after the provider refused Basic credentials, the flow's request again to the
/// same endpoint in each other Basic encoding that writes these credentials differently,
/// until one is answered with a token. Each attempt is shown. Nothing else changes: not the
/// host, not the placement, not the values.
fn probe(
    runtime: &tokio::runtime::Runtime,
    provider: &ir::Provider,
    options: &Options,
    prepared: &Prepared,
    trial: &Trial,
    masker: &mask::Masker,
    out: &mut String,
) -> Option<diagnose::Probed> {
    let _ = writeln!(out, "\n## Probe");
    let flow = &provider.flows[prepared.flow];
    let auth = &flow.client_auth;
    let why_not = match (auth.basic, &trial.answer, &trial.outcome) {
        (_, _, Ok(_)) => Some("nothing to probe: the provider issued a token"),
        (_, None, _) => Some("nothing to probe: the provider did not answer"),
        (None, _, _) => Some(
            "nothing to probe: the spec sends the credentials as parameters, and `--probe` tries Basic encodings only (it never moves credentials elsewhere)",
        ),
        _ if auth.assertion.is_some() || auth.certificate.is_some() => {
            Some("nothing to probe: the client authenticates with an assertion or a certificate")
        }
        (Some(_), Some(a), Err(_)) if !(400..500).contains(&a.status) => {
            Some("nothing to probe: the provider did not refuse the request (no 4xx answer)")
        }
        _ => None,
    };
    if let Some(why) = why_not {
        let _ = writeln!(out, "{why}");
        return None;
    }
    let current = auth.basic?;
    let id = options.client_id.as_deref().unwrap_or_default();
    let secret = options.client_secret.as_deref().unwrap_or_default();
    let header = |e: ir::BasicEncoding| {
        tokenspec::__private::basic_header(crate::descriptor::basic_encoding(e), id, secret)
    };
    let mut sent = vec![header(current)];
    let mut probed = diagnose::Probed::default();
    for encoding in ir::BasicEncoding::ALL {
        let this = header(encoding);
        if sent.contains(&this) {
            continue;
        }
        sent.push(this);
        let mut other = provider.clone();
        other.flows[prepared.flow].client_auth.basic = Some(encoding);
        let attempt = match prepare(&other, options, None) {
            Ok(p) => runtime.block_on(p.client.trial(&flow.name, p.call, p.extra)),
            Err(e) => {
                let _ = writeln!(out, "- `basic: {}`: not sent: {e}", encoding.name());
                continue;
            }
        };
        // A 2xx answer accepted the credentials, whether or not its token fits the spec yet
        // (what does not fit is the next `try`'s finding).
        let worked = attempt
            .answer
            .as_ref()
            .is_some_and(|a| (200..300).contains(&a.status));
        let answered = match (&attempt.answer, &attempt.outcome) {
            (Some(a), Ok(_)) => format!("HTTP {}, a token", a.status),
            (Some(a), Err(_)) if worked => format!("HTTP {}, accepted", a.status),
            (Some(a), Err(e)) => format!("HTTP {}, refused: {}", a.status, e.chain()),
            (None, Err(e)) => format!("not answered: {}", e.chain()),
            (None, Ok(_)) => "a token".to_owned(),
        };
        let target = attempt.request.as_ref().map_or(String::new(), |r| {
            let mut url = r.url.clone();
            url.set_query(None);
            format!("{} {} ", r.method, url)
        });
        let _ = writeln!(
            out,
            "- `basic: {}`: {}→ {}",
            encoding.name(),
            masker.text(&target),
            masker.text(&answered)
        );
        probed.attempts.push((encoding, worked));
        if worked {
            break;
        }
    }
    if probed.attempts.is_empty() {
        let _ = writeln!(
            out,
            "nothing to probe: every Basic encoding writes these credentials the same way"
        );
    }
    Some(probed)
}

/// Writes `edits` into the spec when the result passes `check`.
fn fix(
    out: &mut String,
    path: &std::path::Path,
    shown: &str,
    source: &str,
    edits: &[crate::edit::Edit],
) {
    let _ = writeln!(out, "\n## Fix");
    let edited = match crate::edit::apply(source, edits) {
        Ok(text) => text,
        Err(e) => {
            let _ = writeln!(out, "not written: {e}");
            return;
        }
    };
    let checked = crate::check_source(shown, &edited);
    if checked.diagnostics.has_errors() {
        let _ = writeln!(
            out,
            "not written: the changed spec would not pass `check`:\n{}",
            diagnostics::render(&[checked.diagnostics])
        );
        return;
    }
    match std::fs::write(path, &edited) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "wrote {shown}; `check` passes. Run `tokenspec-codegen try` again to see it work."
            );
        }
        Err(e) => {
            let _ = writeln!(out, "not written: cannot write {shown}: {e}");
        }
    }
}

/// The client, the flow and the values a trial runs with.
pub struct Prepared {
    /// The client, built as a generated builder would.
    pub client: TokenClient,
    /// The flow's index.
    pub flow: usize,
    /// The environment's index.
    pub environment: usize,
    /// The flow's per-call values.
    pub call: Vec<Option<ParamValue>>,
    /// What a code exchange sends beside the code (`redirect_uri`, `code_verifier`).
    pub extra: Vec<(&'static str, ParamValue)>,
    /// Every secret value handed over, to mask wherever it shows up.
    pub secrets: Vec<String>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// A parameter value of type `ty` from text.
fn value(
    p: &ir::Provider,
    ty: &ir::ParamType,
    name: &str,
    text: &str,
) -> Result<ParamValue, String> {
    Ok(match ty {
        ir::ParamType::String => ParamValue::Text(text.to_owned()),
        ir::ParamType::Secret => ParamValue::Secret(text.to_owned().into()),
        ir::ParamType::SecretFile => ParamValue::File(text.into()),
        ir::ParamType::Integer => ParamValue::Integer(
            text.trim()
                .parse()
                .map_err(|_| format!("`{name}` takes a whole number, not {text:?}"))?,
        ),
        ir::ParamType::Boolean => ParamValue::Boolean(match text.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(format!("`{name}` takes true or false, not {text:?}")),
        }),
        ir::ParamType::Enum(i) => {
            let values = &p.enums[*i].values;
            let found = values
                .iter()
                .find(|(wire, _)| wire == text)
                .ok_or_else(|| {
                    let all: Vec<&str> = values.iter().map(|(w, _)| w.as_str()).collect();
                    format!("`{name}` takes one of {}, not {text:?}", all.join(", "))
                })?;
            ParamValue::Word(leak(&found.0))
        }
        ir::ParamType::Set(i, separator) => {
            let values = &p.enums[*i].values;
            let mut words = Vec::new();
            for part in text.split([',', ' ']).filter(|s| !s.is_empty()) {
                let found = values
                    .iter()
                    .find(|(wire, _)| wire == part)
                    .ok_or_else(|| {
                        let all: Vec<&str> = values.iter().map(|(w, _)| w.as_str()).collect();
                        format!("`{name}` takes values of {}, not {part:?}", all.join(", "))
                    })?;
                words.push(leak(&found.0));
            }
            ParamValue::Words(words, leak(separator))
        }
    })
}

fn default_value(
    p: &ir::Provider,
    ty: &ir::ParamType,
    default: &ir::Default,
) -> Option<ParamValue> {
    Some(match (default, ty) {
        (ir::Default::Literal(ir::Literal::Str(s)), ir::ParamType::Secret) => {
            ParamValue::Secret(s.clone().into())
        }
        (ir::Default::Literal(ir::Literal::Str(s)), _) => ParamValue::Text(s.clone()),
        (ir::Default::Literal(ir::Literal::Int(i)), _) => ParamValue::Integer(*i),
        (ir::Default::Literal(ir::Literal::Bool(b)), _) => ParamValue::Boolean(*b),
        (ir::Default::Enum(v), ir::ParamType::Enum(e)) => {
            ParamValue::Word(leak(&p.enums[*e].values.get(*v)?.0))
        }
        (ir::Default::Set(vs), ir::ParamType::Set(e, sep)) => ParamValue::Words(
            vs.iter()
                .filter_map(|v| p.enums[*e].values.get(*v).map(|w| leak(&w.0)))
                .collect(),
            leak(sep),
        ),
        _ => return None,
    })
}

/// The client `o` describes for provider `p`, driven by `descriptor` (by default the one made
/// from `p`, which equals its generated `PROVIDER` static; the catalog tests pass that static).
/// Plain http reaches loopback only unless `o.allow_insecure_http`.
pub fn prepare(
    p: &ir::Provider,
    o: &Options,
    descriptor: Option<&'static tokenspec::__private::descriptor::Provider>,
) -> Result<Prepared, String> {
    let names = |items: &mut dyn Iterator<Item = &str>| items.collect::<Vec<_>>().join(", ");
    let environment = match &o.environment {
        Some(name) => p
            .environments
            .iter()
            .position(|e| &e.name == name)
            .ok_or_else(|| {
                format!(
                    "no environment `{name}`; the spec has {}",
                    names(&mut p.environments.iter().map(|e| e.name.as_str()))
                )
            })?,
        None => p
            .default_environment
            .or((p.environments.len() == 1).then_some(0))
            .ok_or_else(|| {
                format!(
                    "pick an environment with --env: {}",
                    names(&mut p.environments.iter().map(|e| e.name.as_str()))
                )
            })?,
    };
    let flow = match &o.flow {
        Some(name) => p
            .flows
            .iter()
            .position(|f| &f.name == name)
            .ok_or_else(|| {
                format!(
                    "no flow `{name}`; the spec has {}",
                    names(&mut p.flows.iter().map(|f| f.name.as_str()))
                )
            })?,
        None => p.cached_flow.unwrap_or(0),
    };
    let mut used = vec![false; o.params.len()];
    let mut take = |wire: &str, ident: &str| {
        let ident = ident.trim_start_matches("r#");
        o.params.iter().enumerate().find_map(|(i, (k, v))| {
            (k == wire || k == ident).then(|| {
                used[i] = true;
                v.clone()
            })
        })
    };
    let env = &p.environments[environment];
    let mut placeholders = Vec::new();
    for (name, ident) in &env.placeholders {
        match take(name, ident) {
            Some(v) => placeholders.push((leak(name), leak(&v))),
            None if o.base_url.is_some() => {}
            None => {
                return Err(format!(
                    "the `{}` environment's URL ({}) needs `{name}`: pass --param {name}=VALUE (or --base-url)",
                    env.name, env.url
                ));
            }
        }
    }
    let mut secrets: Vec<String> = o.client_secret.iter().cloned().collect();
    let mut config = Vec::new();
    for c in &p.config_params {
        let v = match take(&c.wire, &c.ident) {
            Some(text) => {
                if c.ty == ir::ParamType::Secret {
                    secrets.push(text.clone());
                }
                Some(value(p, &c.ty, &c.wire, &text)?)
            }
            None => c.default.as_ref().and_then(|d| default_value(p, &c.ty, d)),
        };
        if v.is_none() && c.required {
            return Err(format!(
                "the builder setting `{}` is required: pass --param {}=VALUE",
                c.ident.trim_start_matches("r#"),
                c.wire
            ));
        }
        config.push(v);
    }
    let f = &p.flows[flow];
    let mut call = Vec::new();
    for c in &f.call_params {
        let v = match take(&c.wire, &c.ident) {
            Some(text) => {
                if c.ty == ir::ParamType::Secret
                    || matches!(
                        c.wire.as_str(),
                        "code" | "refresh_token" | "password" | "code_verifier"
                    )
                {
                    secrets.push(text.clone());
                }
                Some(value(p, &c.ty, &c.wire, &text)?)
            }
            None => None,
        };
        if v.is_none() && c.required {
            return Err(format!(
                "flow `{}` needs `{}` on each call: pass --param {}=VALUE",
                f.name,
                c.ident.trim_start_matches("r#"),
                c.wire
            ));
        }
        call.push(v);
    }
    // A code exchange sends the PKCE verifier and the redirect URI beside the code even when
    // the spec does not declare them, as the generated client does.
    let mut extra = Vec::new();
    if f.grant == ir::Grant::AuthorizationCode {
        for (i, (name, value)) in o.params.iter().enumerate() {
            let wanted = match name.as_str() {
                "redirect_uri" => ParamValue::Text(value.clone()),
                "code_verifier" => {
                    secrets.push(value.clone());
                    ParamValue::Secret(value.clone().into())
                }
                _ => continue,
            };
            if !used[i] {
                used[i] = true;
                extra.push((leak(name), wanted));
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(format!(
            "`{}` is neither a placeholder of the environment URL, a builder setting nor an argument of flow `{}`",
            o.params[i].0, f.name
        ));
    }
    // A trial sends one request (no retries) and waits at most this long for it.
    let mut settings = Settings::default()
        .timeout(Duration::from_secs(20))
        .deadline(Duration::from_secs(30));
    match &o.client_id {
        Some(id) => settings = settings.client_id(id.clone()),
        None => return Err("set CLIENT_ID to the client id the provider issued".into()),
    }
    if let Some(secret) = &o.client_secret {
        settings = settings.client_secret(secret.clone());
    }
    if let Some(url) = &o.base_url {
        settings = settings.base_url(url.clone());
    }
    if let Some(path) = &o.assertion_file {
        settings = settings.client_assertion_file(path.clone());
    } else if f
        .client_auth
        .assertion
        .as_ref()
        .is_some_and(|(kind, _, _)| *kind == crate::spec::AssertionSpec::Federated)
    {
        return Err(format!(
            "flow `{}` sends a client assertion another identity provider issued: pass --assertion-file FILE, the file the platform writes it to",
            f.name
        ));
    }
    if let Some(path) = &o.key_file {
        let key = tokenspec::ClientKey::from_pem_file(path).map_err(|e| e.to_string())?;
        settings = settings.client_key(key);
    } else if f
        .client_auth
        .assertion
        .as_ref()
        .is_some_and(|(kind, _, _)| *kind == crate::spec::AssertionSpec::PrivateKeyJwt)
        || f.assertion
            .as_ref()
            .is_some_and(ir::GrantAssertion::signs_with_key)
    {
        return Err(format!(
            "flow `{}` signs a JWT with the client's private key: pass --key FILE, the PEM private key whose public key the provider has registered",
            f.name
        ));
    }
    match (&o.cert_file, &o.cert_key_file) {
        (Some(cert), Some(key)) => {
            let identity =
                tokenspec::ClientIdentity::from_pem_files(cert, key).map_err(|e| e.to_string())?;
            settings = settings.client_identity(identity);
        }
        (None, None) => {}
        _ => return Err("--cert and --cert-key go together".into()),
    }
    if let Some(path) = &o.ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        settings = settings.root_certificates(pem);
    }
    if env.client_certificate && o.cert_file.is_some() {
        settings = settings.client_identity_required();
    }
    let descriptor = descriptor.unwrap_or_else(|| crate::descriptor::descriptor(p));
    // Plain http reaches loopback only unless asked, whatever the spec allows.
    let descriptor: &'static _ = Box::leak(Box::new(tokenspec::__private::descriptor::Provider {
        allow_insecure_http: o.allow_insecure_http,
        ..descriptor.clone()
    }));
    let client = TokenClient::new_in_environment(
        descriptor,
        settings,
        leak(&env.name),
        &env.url,
        &placeholders,
        config,
    )
    .map_err(|e| e.chain().to_string())?;
    Ok(Prepared {
        client,
        flow,
        environment,
        call,
        extra,
        secrets,
    })
}

/// The token endpoint the server's metadata names (RFC 8414, then OpenID discovery), if it
/// publishes either at the base URL.
async fn token_endpoint(client: &TokenClient) -> Option<String> {
    let http = client.http_client().ok()?;
    let base = client.base_url().as_str().trim_end_matches('/').to_owned();
    for well_known in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let Ok(answer) = http
            .get(format!("{base}{well_known}"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
        else {
            continue;
        };
        if !answer.status().is_success() {
            continue;
        }
        let Ok(bytes) = answer.bytes().await else {
            continue;
        };
        if let Ok(json) =
            serde_json::from_slice::<serde_json::Value>(&bytes[..bytes.len().min(1 << 20)])
            && let Some(endpoint) = json.get("token_endpoint").and_then(|v| v.as_str())
        {
            return Some(endpoint.to_owned());
        }
    }
    None
}

fn show_request(out: &mut String, trial: &Trial, masker: &mask::Masker, flow: &ir::Flow) {
    let _ = writeln!(out, "\n## Request");
    let Some(request) = &trial.request else {
        let _ = writeln!(out, "(not sent)");
        return;
    };
    let mut url = request.url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_string(), masker.param(&k, &v)))
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = writeln!(out, "{} {}", request.method, masker.text(url.as_str()));
    for (name, value) in &request.headers {
        let text = value.to_str().unwrap_or("(not text)");
        let shown = if value.is_sensitive() || name == "authorization" {
            match text.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} ****"),
                None => "****".to_owned(),
            }
        } else {
            masker.text(text)
        };
        let _ = writeln!(out, "{name}: {shown}");
    }
    match (&request.body, flow.body) {
        (Some(body), ir::Body::Json) => {
            let shown = serde_json::from_slice::<serde_json::Value>(body)
                .map(|v| serde_json::to_string_pretty(&mask_object(&v, masker)).unwrap_or_default())
                .unwrap_or_else(|_| masker.text(&String::from_utf8_lossy(body)));
            let _ = writeln!(out, "\n{shown}");
        }
        (Some(body), _) if body.is_empty() => {
            let _ = writeln!(out, "\n(empty body)");
        }
        (Some(body), _) => {
            let pairs: Vec<String> = url::form_urlencoded::parse(body)
                .map(|(k, v)| format!("{k}={}", masker.param(&k, &v)))
                .collect();
            let _ = writeln!(out, "\n{}", pairs.join("&"));
        }
        (None, ir::Body::Multipart) => {
            let names: Vec<&str> = flow
                .params
                .iter()
                .filter(|p| p.location == ir::Location::Body)
                .map(|p| p.wire.as_str())
                .collect();
            let _ = writeln!(
                out,
                "\n(multipart/form-data with parts: {})",
                names.join(", ")
            );
        }
        (None, _) => {}
    }
}

/// A JSON request body with credential-named members masked whole.
fn mask_object(v: &serde_json::Value, masker: &mask::Masker) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = match v {
                        serde_json::Value::String(s) => {
                            serde_json::Value::String(masker.param(k, s))
                        }
                        other => mask_object(other, masker),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        other => masker.json(other),
    }
}

fn show_answer(out: &mut String, trial: &Trial, masker: &mask::Masker) {
    let _ = writeln!(out, "\n## Answer");
    let Some(answer) = &trial.answer else {
        if let Err(e) = &trial.outcome {
            let _ = writeln!(out, "(none) {}", masker.text(&e.chain().to_string()));
        }
        return;
    };
    let _ = writeln!(out, "HTTP {}", answer.status);
    for name in [
        "content-type",
        "location",
        "www-authenticate",
        "allow",
        "retry-after",
    ] {
        if let Some(value) = answer.headers.get(name).and_then(|v| v.to_str().ok()) {
            let value = if name == "location" {
                value.split('?').next().unwrap_or_default().to_owned()
                    + if value.contains('?') { "?…" } else { "" }
            } else {
                value.to_owned()
            };
            let _ = writeln!(out, "{name}: {}", masker.text(&value));
        }
    }
    let body = answer
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&answer.body);
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => {
            let _ = writeln!(
                out,
                "\n{}",
                serde_json::to_string_pretty(&masker.json(&json)).unwrap_or_default()
            );
        }
        Err(_) if body.is_empty() => {
            let _ = writeln!(out, "\n(empty body)");
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(400).collect();
            let more = if text.chars().count() > 400 {
                " …"
            } else {
                ""
            };
            let _ = writeln!(out, "\n{}{more}", masker.text(&excerpt));
        }
    }
}

/// `2026-11-26T13:00:00Z` for Unix seconds (the proleptic Gregorian calendar, UTC).
fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn show_parsed(out: &mut String, trial: &Trial, flow: &ir::Flow) {
    let _ = writeln!(out, "\n## What the client read");
    match &trial.outcome {
        Ok(parsed) => {
            let _ = writeln!(
                out,
                "access token: {}",
                mask::token_prefix(parsed.token.expose_secret())
            );
            let secs = parsed.lifetime.as_secs();
            let at = trial
                .sent_at
                .checked_add(parsed.lifetime)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or_else(String::new, |d| utc(d.as_secs()));
            let _ = writeln!(out, "expires in: {secs} s (at {at})");
            for field in flow.response.fields.iter().filter(|f| !f.derived) {
                let shown = match parsed.fields.get(&field.key) {
                    None => "missing".to_owned(),
                    Some(serde_json::Value::String(s))
                        if field.ty == ir::FieldType::Secret || field.secret_kind.is_some() =>
                    {
                        mask::token_prefix(s)
                    }
                    Some(v) => v.to_string(),
                };
                let _ = writeln!(out, "{}: {shown}", field.key);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "error: {}", e.chain());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates_follow_the_calendar() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
