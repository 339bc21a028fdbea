//! `tokenspec-codegen diff`: what a change to the specs does on the wire, for a pull request's
//! reviewer. Each spec is checked at both revisions and described as a list of facts (an
//! endpoint, where credentials go, a parameter, the expiry source, the API header…); the facts
//! that differ are the review, in plain words, followed by the `explain` output before and after
//! as a diff and the size of the generated code's diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::emit::{expiry_text, literal_text};
use crate::ir::{self, Provider};

/// One spec file at one revision.
#[derive(Debug, Clone)]
pub struct SpecText {
    /// Path as shown (`specs/acme.yaml`).
    pub path: String,
    /// Its text.
    pub text: String,
}

/// A spec checked: its IR, or the rendered reasons it fails `check`.
enum Checked {
    Good(Box<Provider>),
    Broken(String),
}

fn check(spec: &SpecText) -> Checked {
    let checked = crate::check_source(&spec.path, &spec.text);
    match checked.provider {
        Some(p) => Checked::Good(Box::new(p)),
        None => Checked::Broken(crate::diagnostics::render(&[checked.diagnostics])),
    }
}

fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

fn method(m: ir::Method) -> &'static str {
    match m {
        ir::Method::Get => "GET",
        ir::Method::Post => "POST",
        ir::Method::Put => "PUT",
    }
}

fn body(b: ir::Body) -> &'static str {
    match b {
        ir::Body::Form => "form (application/x-www-form-urlencoded)",
        ir::Body::Json => "JSON",
        ir::Body::Multipart => "multipart/form-data",
        ir::Body::None => "none",
    }
}

fn location(l: ir::Location) -> &'static str {
    match l {
        ir::Location::Query => "query string",
        ir::Location::Body => "body",
        ir::Location::Assertion => "assertion claim",
        ir::Location::Header => "header",
    }
}

fn paths(ps: &[Vec<String>]) -> String {
    ps.iter()
        .map(|p| code(&p.join(".")))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn source(p: &Provider, f: Option<&ir::Flow>, param: &ir::Param) -> String {
    match &param.source {
        ir::ParamSource::Fixed(l) => format!("always {}", code(&literal_text(l))),
        ir::ParamSource::Config(i) => {
            let c = &p.config_params[*i];
            format!(
                "builder setting `{}`{}",
                c.ident.trim_start_matches("r#"),
                if c.required { ", required" } else { "" }
            )
        }
        ir::ParamSource::Call(i) => match f.and_then(|f| f.call_params.get(*i)) {
            Some(c) => format!(
                "argument `{}` of each call",
                c.ident.trim_start_matches("r#")
            ),
            None => "an argument of each call".to_owned(),
        },
    }
}

fn credentials(f: &ir::Flow) -> String {
    let a = &f.client_auth;
    let mut text = crate::docs::credentials(f);
    if text.is_empty() {
        text = "none".to_owned();
    }
    if !a.params.is_empty() && (a.id_param != "client_id" || a.secret_param != "client_secret") {
        text.push_str(&format!(
            " as {} and {}",
            code(&a.id_param),
            code(&a.secret_param)
        ));
    }
    text
}

/// The facts of a provider a reviewer cares about, by a key that names them.
fn facts(p: &Provider) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    let mut put = |key: String, value: String| {
        facts.insert(key, value);
    };
    put("title".into(), p.title.clone());
    if let Some(docs) = &p.docs {
        put("documentation".into(), docs.clone());
    }
    for e in &p.environments {
        put(
            format!("environment `{}`", e.name),
            format!(
                "{}{}",
                code(&e.url),
                if e.client_certificate {
                    ", with a client certificate (mutual TLS)"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(i) = p.default_environment {
        put("default environment".into(), code(&p.environments[i].name));
    }
    put(
        "API header".into(),
        code(&format!(
            "{}: {}<token>{}",
            p.api_header.name, p.api_header.prefix, p.api_header.suffix
        )),
    );
    for h in &p.api_headers {
        put(format!("API header `{}`", h.wire), source(p, None, h));
    }
    let e = &p.error_answer;
    put(
        "error answers".into(),
        match (&e.code, &e.message) {
            (None, None) => "RFC 6749: `error`, `error_description`".to_owned(),
            (c, m) => format!(
                "code at {}, message at {}",
                c.as_ref()
                    .map_or("`error`".to_owned(), |c| code(&c.join("."))),
                m.as_ref()
                    .map_or("`error_description`".to_owned(), |m| code(&m.join(".")))
            ),
        },
    );
    if let Some((path, value)) = &e.failed_when {
        put(
            "successful answers that are errors".into(),
            format!(
                "{} equals {}",
                code(&path.join(".")),
                code(&literal_text(value))
            ),
        );
    }
    for k in &p.errors {
        let mut what = Vec::new();
        if let Some(s) = k.status {
            what.push(format!("HTTP {s}"));
        }
        if let Some(c) = &k.code {
            what.push(format!("code {}", code(c)));
        }
        if let Some(m) = &k.message {
            what.push(format!("message {}", code(m)));
        }
        put(format!("documented error `{}`", k.variant), what.join(", "));
    }
    if p.client_auth_choices.len() > 1 {
        let methods: Vec<String> = p
            .client_auth_choices
            .iter()
            .map(ir::ClientAuth::method_name)
            .collect();
        put(
            "client authentication the builder chooses from".into(),
            methods.join(", "),
        );
    }
    if p.dpop {
        put(
            "DPoP (RFC 9449)".into(),
            "tokens bound to the client's key: a signed proof on every token request and API call"
                .into(),
        );
    }
    if let Some(o) = &p.openid {
        put(
            "OpenID Connect".into(),
            format!(
                "issuer {}, algorithms {}",
                o.issuer.as_deref().map_or("the base URL".to_owned(), code),
                o.algorithms.join(", ")
            ),
        );
    }
    if let Some(a) = &p.authorization {
        put(
            "where users log in".into(),
            format!(
                "{}{}",
                a.issuer.as_deref().map_or("the issuer".to_owned(), code),
                a.path
                    .as_deref()
                    .map_or(String::new(), |path| format!(" at {}", code(path)))
            ),
        );
        if let Some(object) = &a.request_object {
            put(
                "signed request objects (RFC 9101)".into(),
                format!(
                    "{}, audience {}",
                    object.algorithm,
                    object
                        .audience
                        .as_deref()
                        .map_or("the issuer".to_owned(), code)
                ),
            );
        }
        if a.hybrid {
            put(
                "authorization responses".into(),
                "`code id_token` (hybrid): the ID token verified against the code and state".into(),
            );
        }
        if a.jwt_response {
            put(
                "authorization responses".into(),
                "JWT-secured (JARM), verified with the provider's keys".into(),
            );
        }
        if let Some(par) = &a.par {
            put(
                "pushed authorization requests (RFC 9126)".into(),
                par.as_deref().map_or(
                    "to the endpoint the server's metadata names".to_owned(),
                    |path| format!("to {}", code(path)),
                ),
            );
        }
    }
    if let Some(d) = &p.device_authorization {
        put(
            "device authorization".into(),
            d.as_deref()
                .map_or("from the server's metadata".to_owned(), code),
        );
    }
    if let Some(r) = &p.revocation {
        put(
            "token revocation".into(),
            r.as_deref()
                .map_or("from the server's metadata".to_owned(), code),
        );
    }
    put(
        "renewal".into(),
        format!("{} s before expiry", p.refresh_margin),
    );
    let (attempts, initial, max) = p.retry;
    put(
        "retries".into(),
        format!("{attempts} attempts, {initial}–{max} ms apart"),
    );
    for (i, f) in p.flows.iter().enumerate() {
        let key = |what: &str| format!("flow `{}`: {what}", f.name);
        put(key("grant"), format!("{:?}", f.grant));
        put(
            key("endpoint"),
            code(&format!("{} {}", method(f.method), f.shown_path())),
        );
        put(key("body"), body(f.body).to_owned());
        put(key("client credentials"), credentials(f));
        for param in &f.params {
            put(
                key(&format!("parameter `{}`", param.wire)),
                format!(
                    "{}, {}",
                    location(param.location),
                    source(p, Some(f), param)
                ),
            );
        }
        put(key("access token"), paths(&f.response.access_token));
        for field in f.response.fields.iter().filter(|x| !x.derived) {
            put(
                key(&format!("field `{}`", field.key)),
                format!(
                    "{} ({:?}{})",
                    paths(&field.paths),
                    field.ty,
                    if field.required { ", required" } else { "" }
                ),
            );
        }
        put(key("expiry"), expiry_text(&f.expiry));
        if p.cached_flow == Some(i) {
            put(key("role"), "the token behind `access_token()`".into());
        }
    }
    facts
}

/// Lines added and removed between two texts.
fn lines_changed(before: &str, after: &str) -> (usize, usize) {
    let diff = similar::TextDiff::from_lines(before, after);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The review of every spec that differs between `before` and `after` (keyed by module name),
/// in Markdown. `base` and `head` name the revisions in the heading.
pub fn review(
    before: &BTreeMap<String, SpecText>,
    after: &BTreeMap<String, SpecText>,
    base: &str,
    head: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## tokenspec: what the spec changes do on the wire\n");
    let _ = writeln!(out, "Compared: {base} → {head}.\n");
    let names: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut sizes = Vec::new();
    let mut sections = String::new();
    for name in names {
        let (b, a) = (before.get(name), after.get(name));
        if let (Some(b), Some(a)) = (b, a)
            && b.text == a.text
        {
            continue;
        }
        let shown = a.or(b).map(|s| s.path.clone()).unwrap_or_default();
        let (bc, ac) = (b.map(check), a.map(check));
        let state = match (&bc, &ac) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        };
        let title = match (&ac, &bc) {
            (Some(Checked::Good(p)), _) | (_, Some(Checked::Good(p))) => p.title.clone(),
            _ => name.clone(),
        };
        let _ = writeln!(sections, "### {title} (`{shown}`): {state}\n");
        if let Some(Checked::Broken(why)) = &ac {
            let _ = writeln!(
                sections,
                "The spec does not pass `check`, so nothing is generated from it:\n\n```text\n{}```\n",
                why
            );
        }
        if matches!(bc, Some(Checked::Broken(_))) {
            let _ = writeln!(
                sections,
                "At {base} the spec did not pass `check`: nothing was generated from it.\n"
            );
        }
        if ac.is_none() {
            let _ = writeln!(
                sections,
                "The module `{name}` goes away with the spec: remove its feature from `Cargo.toml`, and its users lose `tokenspec::{name}`.\n"
            );
        }
        let good = |c: &Option<Checked>| match c {
            Some(Checked::Good(p)) => Some(p.as_ref().clone()),
            _ => None,
        };
        let (bp, ap) = (good(&bc), good(&ac));
        let before_facts = bp.as_ref().map(facts).unwrap_or_default();
        let after_facts = ap.as_ref().map(facts).unwrap_or_default();
        let keys: std::collections::BTreeSet<&String> =
            before_facts.keys().chain(after_facts.keys()).collect();
        let mut rows = Vec::new();
        for key in keys {
            let (was, is) = (before_facts.get(key), after_facts.get(key));
            if was == is {
                continue;
            }
            rows.push(format!(
                "| {} | {} | {} |",
                cell(key),
                cell(was.map_or("—", String::as_str)),
                cell(is.map_or("—", String::as_str))
            ));
        }
        let both_checked = matches!((&bc, &ac), (Some(Checked::Good(_)), Some(Checked::Good(_))));
        if rows.is_empty() && both_checked {
            let _ = writeln!(
                sections,
                "Nothing changes on the wire (comments, documentation or layout only).\n"
            );
        } else if !rows.is_empty() {
            let _ = writeln!(sections, "| what | before | after |\n|---|---|---|");
            for row in rows {
                let _ = writeln!(sections, "{row}");
            }
            let _ = writeln!(sections);
        }
        let explain_before = bp.as_ref().map(crate::explain::explain).unwrap_or_default();
        let explain_after = ap.as_ref().map(crate::explain::explain).unwrap_or_default();
        if explain_before != explain_after {
            let diff = similar::TextDiff::from_lines(&explain_before, &explain_after);
            let _ = writeln!(
                sections,
                "<details><summary><code>explain</code>, before → after</summary>\n\n```diff\n{}```\n\n</details>\n",
                diff.unified_diff()
                    .context_radius(2)
                    .header("before", "after")
            );
        }
        let source_before = bp
            .as_ref()
            .map(crate::emit::provider_source)
            .unwrap_or_default();
        let source_after = ap
            .as_ref()
            .map(crate::emit::provider_source)
            .unwrap_or_default();
        let (added, removed) = lines_changed(&source_before, &source_after);
        sizes.push(format!("| `{name}` | {state} | +{added} −{removed} |"));
    }
    if sizes.is_empty() {
        let _ = writeln!(out, "No spec changed.");
        return out;
    }
    let _ = writeln!(
        out,
        "| provider | spec | generated code (lines) |\n|---|---|---|"
    );
    for row in sizes {
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(out);
    out.push_str(&sections);
    out
}

/// Runs git with `args` in the current folder and returns what it printed.
fn git(args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The default base: the merge base of `HEAD` with the default branch (`origin/HEAD`, else
/// `main`, else `master`), and how to name it.
pub fn default_base() -> Result<(String, String), String> {
    let branch = git(&["rev-parse", "--abbrev-ref", "origin/HEAD"])
        .map(|b| b.trim().to_owned())
        .ok()
        .filter(|b| !b.is_empty() && b != "origin/HEAD")
        .or_else(|| {
            ["main", "master"]
                .into_iter()
                .find(|b| git(&["rev-parse", "--verify", "-q", b]).is_ok())
                .map(str::to_owned)
        })
        .ok_or("no default branch (origin/HEAD, main or master): name the base revision")?;
    let base = git(&["merge-base", &branch, "HEAD"])?;
    Ok((
        base.trim().to_owned(),
        format!("the merge base with `{branch}`"),
    ))
}

/// The specs in `dir` (`*.yaml`, `*.yml`) at revision `rev`, or in the work tree when `rev` is
/// `None`, by module name (the file stem).
pub fn specs_at(
    rev: Option<&str>,
    dir: &std::path::Path,
) -> Result<BTreeMap<String, SpecText>, String> {
    let is_spec = |name: &str| name.ends_with(".yaml") || name.ends_with(".yml");
    let shown_dir = dir.to_string_lossy().replace('\\', "/");
    let shown_dir = shown_dir.trim_end_matches('/');
    let mut specs = BTreeMap::new();
    match rev {
        None => {
            for file in crate::spec_files(dir).map_err(|e| e.to_string())? {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
                specs.insert(
                    stem.to_owned(),
                    SpecText {
                        path: format!("{shown_dir}/{name}"),
                        text,
                    },
                );
            }
        }
        Some(rev) => {
            git(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")])
                .map_err(|_| format!("`{rev}` is not a revision of this repository"))?;
            let listing = git(&["ls-tree", "--name-only", rev, &format!("{shown_dir}/")])?;
            for path in listing.lines().filter(|p| is_spec(p)) {
                let text = git(&["show", &format!("{rev}:./{path}")])?;
                let name = path.rsplit('/').next().unwrap_or(path);
                let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
                specs.insert(
                    stem.to_owned(),
                    SpecText {
                        path: format!("{shown_dir}/{name}"),
                        text,
                    },
                );
            }
        }
    }
    Ok(specs)
}
