//! `check` passing implies `cargo build` passing: random specs, named with Rust keywords and
//! with every name the generated code uses itself, are checked; the modules of those `check`
//! accepts are compiled together in one scratch crate against this repository's runtime, under
//! `deny(warnings)`. The fuzz target's corpus is compiled the same way, and a spec quoting code
//! in every documented place has its module's doctests run (there must be none).
//!
//! One batch per run, without shrinking (each attempt would be a `cargo check`). The seed is
//! printed on failure; `TOKENSPEC_SPEC_SEED=<seed>` replays it, `TOKENSPEC_SPECS=<n>` changes
//! the batch size, `TOKENSPEC_SPECS_WHY=1` prints why `check` refused the specs it refused.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Names a spec may give to environments, flows, parameters, fields, enum values and errors:
/// Rust keywords (strict, reserved, 2024), the names of what generated modules declare
/// (methods, fields, locals, types) and names that need sanitizing.
const NAMES: &[&str] = &[
    "type",
    "match",
    "self",
    "Self",
    "crate",
    "super",
    "fn",
    "async",
    "await",
    "dyn",
    "try",
    "gen",
    "box",
    "yield",
    "abstract",
    "union",
    "static",
    "ref",
    "move",
    "loop",
    "where",
    "settings",
    "environment",
    "build",
    "builder",
    "client_secret",
    "runtime",
    "access_token",
    "authorize",
    "send",
    "error",
    "client",
    "provider",
    "values",
    "config",
    "template",
    "placeholders",
    "key",
    "code",
    "nonce",
    "state",
    "http_client",
    "client_identity",
    "client_key",
    "redirect_uri",
    "session",
    "start_session",
    "restore_session",
    "validate_id_token",
    "authorization_request",
    "exchange_code",
    "fields",
    "v",
    "value",
    "fmt",
    "as_str",
    "all",
    "default",
    "from_fields",
    "url_template",
    "client_auth_method",
    "scope",
    "token_type",
    "refresh_token",
    "id_token",
    "id_token_claims",
    "grant_type",
    "new",
    "clone",
    "into",
    "result",
    "option",
    "std",
    "tokenspec",
    "other",
    "user-name",
    "2fa",
    "x.y",
    "camelCase",
    "ALLCAPS",
    "ok",
    "some",
    "none",
    "vec",
    "string",
    "production",
    "sandbox",
];

/// What error variants may be called: keywords, and the names of generated types and variants.
const TYPE_NAMES: &[&str] = &[
    "Self",
    "Type",
    "Error",
    "Other",
    "InvalidRequest",
    "InvalidClient",
    "InvalidGrant",
    "Client",
    "ClientBuilder",
    "Environment",
    "Provider",
    "Default",
    "Ok",
    "Err",
    "Some",
    "None",
    "String",
    "Vec",
    "Box",
    "Result",
    "Option",
    "Runtime",
    "Clone",
    "Debug",
    "From",
    "Into",
    "Display",
    "Settings",
    "Token",
    "Session",
    "Fields",
    "Response",
    "ClientAuthMethod",
    "Scope",
    "Match",
];

/// [`NAMES`] and every method generated code defines on `Client` and `ClientBuilder`, from
/// the table the validator reserves them by: a method the table misses is one `check` would
/// let a spec define twice.
fn all_names() -> Vec<&'static str> {
    let mut all = NAMES.to_vec();
    for generated in tokenspec_codegen::surface::GENERATED_NAMES {
        if !all.contains(&generated.name) {
            all.push(generated.name);
        }
    }
    all
}

/// Generated methods' names are drawn often, so each batch names flows and settings after
/// some of them.
fn name() -> impl Strategy<Value = &'static str> {
    let generated: Vec<&'static str> = tokenspec_codegen::surface::GENERATED_NAMES
        .iter()
        .map(|n| n.name)
        .collect();
    prop_oneof![
        3 => prop::sample::select(all_names()),
        1 => prop::sample::select(generated),
    ]
}

/// A name that is already snake_case, as flow names must be.
fn snake_name() -> impl Strategy<Value = &'static str> {
    let snake: Vec<&'static str> = all_names()
        .into_iter()
        .filter(|n| {
            n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    prop::sample::select(snake)
}

/// Distinct names, so a spec's own keys do not repeat (a repeated key is its own check error).
fn names(range: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(all_names(), range).prop_shuffle()
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

#[derive(Debug, Clone)]
struct Param {
    name: &'static str,
    kind: u8,
    values: Vec<&'static str>,
    from_call: bool,
    required: bool,
    with_default: bool,
    /// 0: where the flow sends parameters by default, 1: the query string, 2: a header.
    location: u8,
}

fn param() -> impl Strategy<Value = Param> {
    (
        name(),
        0u8..6,
        names(1..=3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(
            |(name, kind, values, from_call, required, with_default, location)| Param {
                name,
                kind,
                values,
                from_call,
                required,
                with_default,
                location,
            },
        )
}

impl Param {
    /// The parameter as one YAML line, indented by `indent`.
    fn yaml(&self, out: &mut String, indent: &str) {
        let mut body = Vec::new();
        let list = self
            .values
            .iter()
            .map(|v| quoted(v))
            .collect::<Vec<_>>()
            .join(", ");
        match self.kind {
            0 => body.push("type: string".to_owned()),
            1 => body.push("type: integer".to_owned()),
            2 => body.push("type: boolean".to_owned()),
            3 => body.push("type: secret".to_owned()),
            4 => body.push(format!("type: {{ enum: [{list}] }}")),
            _ => body.push(format!("type: {{ set: [{list}] }}")),
        }
        if self.from_call {
            body.push("from: call".into());
        }
        match self.location {
            1 => body.push("in: query".into()),
            2 => body.push("in: header".into()),
            _ => {}
        }
        if !self.required {
            body.push("required: false".into());
        } else if self.with_default && !self.from_call {
            // A secret has no default.
            let default = match self.kind {
                0 => Some("\"a\"".to_owned()),
                1 => Some("7".to_owned()),
                2 => Some("true".to_owned()),
                4 => Some(quoted(self.values[0])),
                5 => Some("all".to_owned()),
                _ => None,
            };
            body.extend(default.map(|d| format!("default: {d}")));
        }
        let _ = writeln!(
            out,
            "{indent}{}: {{ {} }}",
            quoted(self.name),
            body.join(", ")
        );
    }
}

#[derive(Debug, Clone)]
struct Flow {
    name: &'static str,
    grant: u8,
    body: u8,
    params: Vec<Param>,
    fields: Vec<(&'static str, u8, bool)>,
    expiry: u8,
    doc: bool,
}

fn flow() -> impl Strategy<Value = Flow> {
    (
        prop_oneof![
            3 => prop::sample::select(&["tokens", "partner_token", "exchange", "renew", "user_login"][..]),
            1 => snake_name(),
            1 => prop::sample::select(
                tokenspec_codegen::surface::GENERATED_NAMES.iter().map(|n| n.name).collect::<Vec<_>>()
            ),
        ],
        0u8..4,
        0u8..3,
        prop::collection::vec(param(), 0..4),
        prop::collection::vec((name(), 0u8..6, any::<bool>()), 0..4),
        0u8..5,
        any::<bool>(),
    )
        .prop_map(|(name, grant, body, params, fields, expiry, doc)| Flow {
            name,
            grant,
            body,
            params,
            fields,
            expiry,
            doc,
        })
}

impl Flow {
    /// The flow's YAML; `body_credentials`: whether the spec's client authentication puts
    /// something in the body (then the flow must have one).
    fn yaml(&self, out: &mut String, body_credentials: bool) {
        let _ = writeln!(out, "  {}:", quoted(self.name));
        let grant = [
            "client_credentials",
            "custom",
            "authorization_code",
            "refresh_token",
        ][usize::from(self.grant)];
        let _ = writeln!(out, "    grant: {grant}");
        if self.doc {
            let _ = writeln!(out, "    doc: \"Gets a token [for] <the> \\\\ `API`.\"");
        }
        let _ = writeln!(out, "    path: /oauth/token");
        let body = match self.body {
            2 if !body_credentials => "none",
            2 => "multipart",
            1 => "json",
            _ => "form",
        };
        let _ = writeln!(out, "    body: {body}");
        let _ = writeln!(out, "    params:");
        let _ = writeln!(out, "      grant_type: {{ value: {grant} }}");
        match grant {
            // With nothing per call, a custom flow would be a second cached flow.
            "custom" => {
                let _ = writeln!(out, "      subject: {{ from: call }}");
            }
            "authorization_code" => {
                let _ = writeln!(out, "      code: {{ from: call, type: secret }}");
            }
            "refresh_token" => {
                let _ = writeln!(out, "      refresh_token: {{ from: call, type: secret }}");
            }
            _ => {}
        }
        let mut taken = vec!["grant_type", "code", "refresh_token", "subject"];
        for p in &self.params {
            if taken.contains(&p.name) {
                continue;
            }
            taken.push(p.name);
            let mut p = p.clone();
            // The client's own token takes nothing per call.
            p.from_call &= grant != "client_credentials";
            p.yaml(out, "      ");
        }
        let _ = writeln!(out, "    response:");
        let _ = writeln!(out, "      access_token: data.token");
        if !self.fields.is_empty() {
            let _ = writeln!(out, "      fields:");
            let mut taken = Vec::new();
            for (field, kind, required) in &self.fields {
                if taken.contains(field) {
                    continue;
                }
                taken.push(field);
                let kind = ["string", "secret", "integer", "number", "boolean", "json"]
                    [usize::from(*kind)];
                // Optional fields may be in one of two places.
                let path = if *required {
                    format!("data.{}", quoted(field))
                } else {
                    format!("[data.{}, other.{}]", quoted(field), quoted(field))
                };
                let _ = writeln!(
                    out,
                    "        {}: {{ path: {path}, type: {kind}, required: {required} }}",
                    quoted(field)
                );
            }
        }
        let expiry = match self.expiry {
            0 => "expires_in: expires_in",
            1 => "at: { path: data.expires_at, format: rfc3339 }",
            2 => "jwt_exp: data.token",
            3 => "lifetime: 600",
            _ => "never",
        };
        let _ = writeln!(out, "    expiry:");
        let _ = writeln!(out, "      {expiry}");
    }
}

#[derive(Debug, Clone)]
struct Spec {
    environments: Vec<(&'static str, bool)>,
    default_environment: bool,
    client_auth: u8,
    flows: Vec<Flow>,
    errors: Vec<&'static str>,
    openid: bool,
    certificate: bool,
    api_headers: Vec<Param>,
    error_answer: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec((name(), any::<bool>()), 1..4),
        any::<bool>(),
        0u8..6,
        prop::collection::vec(flow(), 1..4),
        prop::sample::subsequence(TYPE_NAMES, 0..=3),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(param(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(
                environments,
                default_environment,
                client_auth,
                flows,
                errors,
                openid,
                certificate,
                api_headers,
                error_answer,
            )| {
                Spec {
                    environments,
                    default_environment,
                    client_auth,
                    flows,
                    errors,
                    openid,
                    certificate,
                    api_headers,
                    error_answer,
                }
            },
        )
}

impl Spec {
    fn yaml(&self, index: usize) -> String {
        let mut out = format!("title: \"Random \\\"{index}\\\" <provider>\"\n");
        out.push_str(
            "description: |\n  A provider made up by a property test.\n  // Not a comment.\n",
        );
        out.push_str("environments:\n");
        let mut taken = Vec::new();
        for (i, (env, placeholder)) in self.environments.iter().enumerate() {
            if taken.contains(env) {
                continue;
            }
            taken.push(env);
            // A default environment cannot have placeholders.
            let url = if *placeholder && !(i == 0 && self.default_environment) {
                format!("https://{{host}}.e{i}.example")
            } else {
                format!("https://e{i}.example")
            };
            let _ = writeln!(out, "  {}: {url}", quoted(env));
        }
        if self.default_environment {
            let _ = writeln!(
                out,
                "default_environment: {}",
                quoted(self.environments[0].0)
            );
        }
        // Certificate client authentication needs an environment that asks for the certificate.
        if self.certificate || self.client_auth == 5 {
            out.push_str("client_certificate: true\n");
        }
        out.push_str(match self.client_auth {
            0 => "client_auth: { basic: raw }\n",
            1 => "client_auth: { params: [body, header] }\n",
            2 => "client_auth: { basic: rfc6749 }\n",
            3 => "client_auth: { assertion: client_secret_jwt }\n",
            4 => "client_auth:\n  - basic: percent\n  - params: [body]\n  - assertion: private_key_jwt\n",
            _ => "client_auth: { certificate: tls_client_auth }\n",
        });
        if self.openid {
            out.push_str("openid:\n  algorithms: [RS256]\n");
        }
        if !self.api_headers.is_empty() {
            out.push_str("api_headers:\n");
            let mut taken = Vec::new();
            for header in &self.api_headers {
                if taken.contains(&header.name) {
                    continue;
                }
                taken.push(header.name);
                // API headers are fixed or builder settings, always headers.
                let header = Param {
                    from_call: false,
                    location: 0,
                    ..header.clone()
                };
                header.yaml(&mut out, "  ");
            }
        }
        if self.error_answer {
            out.push_str(
                "error_answer:\n  code: error.code\n  message: errors.0.message\n  failed_when: { path: ok, equals: false }\n",
            );
        }
        out.push_str("flows:\n");
        let body_credentials = matches!(self.client_auth, 1 | 3 | 4 | 5);
        let mut taken = Vec::new();
        for f in &self.flows {
            if !taken.contains(&f.name) {
                taken.push(f.name);
                f.yaml(&mut out, body_credentials);
            }
        }
        if !self.errors.is_empty() {
            out.push_str("errors:\n");
            for (i, e) in self.errors.iter().enumerate() {
                let _ = writeln!(out, "  - name: {}\n    code: c{i}", quoted(e));
            }
        }
        out
    }
}

fn seed() -> u64 {
    std::env::var("TOKENSPEC_SPEC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A scratch crate `name` that depends on this repository's runtime and declares `modules`.
fn scratch_crate(name: &str, root: &Path, modules: &[(String, String)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("scratch crate folder");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = {name:?}\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ntokenspec = {{ path = {root:?}, default-features = false }}\n\n[workspace]\n",
            root = root.display().to_string()
        ),
    )
    .expect("scratch Cargo.toml");
    // The workspace's lock file: the same versions, nothing to download.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    let mut lib = String::from("#![deny(warnings)]\n");
    for (module, source) in modules {
        std::fs::write(src.join(format!("{module}.rs")), source).expect("module");
        let _ = writeln!(lib, "pub mod {module};");
    }
    std::fs::write(src.join("lib.rs"), lib).expect("lib.rs");
    dir
}

/// Runs cargo in a scratch crate; every scratch crate shares one target folder, so the runtime
/// is compiled once for all of them.
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch-target"),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTDOCFLAGS")
        .output()
        .expect("cargo runs")
}

/// A spec whose text quotes code in every place spec text reaches documentation: fenced
/// blocks with and without a language, a tilde fence, an indented block. Each would be a
/// doctest that fails in the user's crate (JSON is no Rust, and the Rust is for another crate).
const QUOTES_CODE: &str = r#"title: Quotes
description: |
  The token endpoint answers:

  ```json
  {"access_token": "abc", "expires_in": 3600}
  ```

  ```
  curl -X POST https://auth.quotes.example/token
  ```

  ```rust
  let client = other_crate::Client::new();
  ```

  ~~~
  not_rust!
  ~~~

  Or with curl:

      curl --user id:secret https://auth.quotes.example/token
environments:
  production:
    url: https://auth.quotes.example
    doc: |
      Production.

      ```
      undefined_function();
      ```
client_auth: { basic: raw }
flows:
  client_credentials:
    grant: client_credentials
    doc: |
      The app token.

      ```rust
      assert!(false);
      ```
    path: /token
    params:
      grant_type: { value: client_credentials }
      region:
        default: eu
        doc: |
          Where.

              panic!("indented");
    response:
      fields:
        tenant:
          path: tenant
          doc: "```panic!()```"
    expiry: { expires_in: expires_in }
errors:
  - name: Suspended
    code: suspended
    doc: |
      Suspended.

      ```
      compile_error!("no");
      ```
"#;

#[test]
fn code_quoted_in_spec_text_is_no_doctest_of_the_generated_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let checked = tokenspec_codegen::check_source("specs/quotes.yaml", QUOTES_CODE);
    let provider = checked.provider.unwrap_or_else(|| {
        panic!(
            "the spec quoting code passes check:\n{}",
            tokenspec_codegen::diagnostics::render(&[checked.diagnostics])
        )
    });
    let source = tokenspec_codegen::emit::provider_source(&provider);
    let dir = scratch_crate("quoted-code", &root, &[("quotes".into(), source)]);
    let result = cargo(&dir, &["test", "--doc", "--offline"]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && !stdout.contains("test src/"),
        "the generated module's documentation has doctests; crate in {}:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The `spec_to_code` fuzz target parses what every input `check` accepts with syn (a
/// compile per input would be too slow for libFuzzer); this replays its corpus (the checked-in
/// seeds and whatever local fuzzing added) and compiles the module of every entry `check`
/// accepts, all in one scratch crate, under `deny(warnings)`.
#[test]
fn fuzz_corpus_specs_that_pass_check_generate_modules_that_compile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = root.join("fuzz/corpus/spec_to_code");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("the fuzz corpus of spec_to_code")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut modules: Vec<(String, String)> = Vec::new();
    for path in &entries {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        // The target takes inputs as UTF-8 text only.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let checked = tokenspec_codegen::check_source("specs/fuzz.yaml", &text);
        if let Some(provider) = checked.provider {
            let source = tokenspec_codegen::emit::provider_source(&provider);
            if !modules.iter().any(|(_, s)| *s == source) {
                modules.push((format!("corpus_{:04}", modules.len()), source));
            }
        }
    }
    assert!(
        !modules.is_empty(),
        "the corpus in {} holds specs check accepts (its seeds are shipped specs)",
        corpus.display()
    );
    let dir = scratch_crate("fuzz-corpus", &root, &modules);
    let result = cargo(
        &dir,
        &["check", "--offline", "--quiet", "--message-format=short"],
    );
    assert!(
        result.status.success(),
        "{} fuzz corpus entries passed check, but their modules do not compile; crate in {}:\n{}",
        modules.len(),
        dir.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn specs_that_pass_check_generate_modules_that_compile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seed = seed();
    let count: usize = std::env::var("TOKENSPEC_SPECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let specs_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("random-specs-yaml");
    let _ = std::fs::remove_dir_all(&specs_dir);
    std::fs::create_dir_all(&specs_dir).expect("specs folder");

    let mut accepted = Vec::new();
    for index in 0..count {
        let spec = spec()
            .new_tree(&mut runner)
            .expect("a random spec")
            .current();
        let yaml = spec.yaml(index);
        let file = format!("random_{index:03}.yaml");
        let checked = tokenspec_codegen::check_source(&file, &yaml);
        if std::env::var_os("TOKENSPEC_SPECS_WHY").is_some() {
            for d in checked.diagnostics.diagnostics.iter().take(2) {
                eprintln!("{index}: {}", d.message);
            }
        }
        if checked.provider.is_some() {
            let path = specs_dir.join(&file);
            std::fs::write(&path, &yaml).expect("spec file");
            accepted.push(path);
        }
    }
    // The property says nothing if `check` refuses everything: random names collide often,
    // but most specs must get through.
    assert!(
        accepted.len() * 4 >= count,
        "seed {seed}: only {} of {count} random specs passed check; the generator of random specs no longer makes valid ones",
        accepted.len()
    );
    let output = tokenspec_codegen::generate_files(&accepted, "specs")
        .unwrap_or_else(|e| panic!("seed {seed}: specs that passed check failed to generate: {e}"));
    let modules: Vec<(String, String)> = output
        .modules
        .iter()
        .map(|m| (m.module.clone(), m.source.clone()))
        .collect();
    let dir = scratch_crate("random-specs", &root, &modules);
    let result = cargo(
        &dir,
        &["check", "--offline", "--quiet", "--message-format=short"],
    );
    assert!(
        result.status.success(),
        "seed {seed} (replay with TOKENSPEC_SPEC_SEED={seed}): {} specs passed check, but their modules do not compile; specs in {}, crate in {}:\n{}",
        accepted.len(),
        specs_dir.display(),
        dir.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}
