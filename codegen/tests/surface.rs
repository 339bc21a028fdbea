//! `check` passing implies no duplicate method in the user's crate: the table of generated
//! names (`tokenspec_codegen::surface::GENERATED_NAMES`) lists exactly the methods the
//! runtime's macros and the emitter put on `Client` and `ClientBuilder`, and the validator
//! refuses a flow or builder setting under one of them exactly when the spec's module has it.

use std::collections::BTreeSet;
use std::path::Path;

use tokenspec_codegen::check_source;
use tokenspec_codegen::surface::{GENERATED_NAMES, Owner, When, generated_methods};

/// The names each `pub fn` of the runtime macro `macro_name` defines.
fn macro_methods(macro_name: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src/generated.rs");
    let text = std::fs::read_to_string(&path).expect("the runtime's src/generated.rs");
    let start = text
        .find(&format!("macro_rules! {macro_name}"))
        .unwrap_or_else(|| panic!("src/generated.rs defines {macro_name}"));
    let body = &text[start..];
    let end = body[1..].find("macro_rules!").map_or(body.len(), |e| e + 1);
    pub_fns(&body[..end])
}

/// The names of every `pub fn` and `pub async fn` in `text`.
fn pub_fns(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub fn ")
                .or_else(|| line.strip_prefix("pub async fn "))?;
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            Some(rest[..end].to_owned())
        })
        .collect()
}

fn table(on: Owner, by: &str) -> BTreeSet<String> {
    GENERATED_NAMES
        .iter()
        .filter(|n| n.on == on && n.by == by)
        .map(|n| n.name.to_owned())
        .collect()
}

#[test]
fn every_method_the_runtime_macros_define_is_in_the_table_of_generated_names() {
    assert_eq!(
        macro_methods("__tokenspec_builder_basics"),
        table(Owner::Builder, "builder_basics!"),
        "builder_basics! and GENERATED_NAMES disagree: add the macro's new method to the table (codegen/src/surface.rs)"
    );
    assert_eq!(
        macro_methods("__tokenspec_client_basics"),
        table(Owner::Client, "client_basics!"),
        "client_basics! and GENERATED_NAMES disagree: add the macro's new method to the table (codegen/src/surface.rs)"
    );
}

/// The `pub fn`s of every `impl <ty> {` block of a generated module.
fn impl_methods(source: &str, ty: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let head = format!("impl {ty} {{");
    let mut rest = source;
    while let Some(start) = rest.find(&head) {
        let block = &rest[start..];
        let end = block.find("\n}").unwrap_or(block.len());
        found.extend(pub_fns(&block[..end]));
        rest = &block[end..];
    }
    found
}

/// Every shipped spec: the specs folder and the example crates' own specs, as file name and
/// text.
fn shipped_specs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut specs = Vec::new();
    for dir in [
        "specs",
        "examples/own-specs/specs",
        "examples/web-sessions/specs",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("spec is readable");
                specs.push((
                    format!("{dir}/{}", entry.file_name().to_string_lossy()),
                    text,
                ));
            }
        }
    }
    assert!(specs.len() > 20, "the shipped specs are found");
    specs
}

#[test]
fn the_emitter_writes_exactly_the_generated_names_the_table_says_each_spec_has() {
    for (file, text) in shipped_specs() {
        let checked = check_source(&file, &text);
        let provider = checked
            .provider
            .unwrap_or_else(|| panic!("{file} passes check"));
        let source = tokenspec_codegen::emit::provider_source(&provider);
        let secret = source.contains("builder_basics!(ClientBuilder, Environment, secret);");
        let cached = source.contains("client_basics!(Client, ClientBuilder, Error, cached");
        assert_eq!(secret, When::SendsSecret.holds(&provider), "{file}");
        assert_eq!(cached, When::Cached.holds(&provider), "{file}");

        let settings: BTreeSet<String> = provider
            .config_params
            .iter()
            .map(|c| c.ident.clone())
            .collect();
        let flows: BTreeSet<String> = provider
            .flows
            .iter()
            .filter(|f| !f.cached)
            .map(|f| f.method_ident.clone())
            .collect();
        for (ty, on, own) in [
            ("ClientBuilder", Owner::Builder, &settings),
            ("Client", Owner::Client, &flows),
        ] {
            let written: BTreeSet<String> =
                impl_methods(&source, ty).difference(own).cloned().collect();
            let expected: BTreeSet<String> = GENERATED_NAMES
                .iter()
                .filter(|n| n.on == on && n.by == "emitter" && n.when.holds(&provider))
                .map(|n| n.name.to_owned())
                .collect();
            assert_eq!(
                written, expected,
                "{file}: the methods the emitter writes on {ty} are not those GENERATED_NAMES says"
            );
        }
    }
}

/// A spec whose module has every generated method: a cached flow, several client
/// authentication methods (one signing with a key), mutual TLS, DPoP, OpenID, a code exchange
/// and a refresh grant.
const EVERYTHING: &str = r#"title: Everything
dpop: true
environments:
  production:
    url: https://auth.acme.test
    client_certificate: true
client_auth:
  - basic: percent
  - assertion: private_key_jwt
  - assertion: federated
openid:
  algorithms: [RS256]
authorization:
  response_mode: jwt
device_authorization:
  path: /device
flows:
  device:
    grant: device_code
    path: /token
    params:
      grant_type: { value: "urn:ietf:params:oauth:grant-type:device_code" }
      device_code: { from: call, type: secret }
    response: { refresh_token: refresh_token }
    expiry: { expires_in: expires_in }
  client_credentials:
    grant: client_credentials
    path: /token
    params:
      grant_type: { value: client_credentials }
    expiry: { expires_in: expires_in }
  exchange:
    grant: authorization_code
    path: /token
    params:
      grant_type: { value: authorization_code }
      code: { from: call, type: secret }
    response: { id_token: id_token, refresh_token: refresh_token }
    expiry: { expires_in: expires_in }
  refresh:
    grant: refresh_token
    path: /token
    params:
      grant_type: { value: refresh_token }
      refresh_token: { from: call, type: secret }
    expiry: { expires_in: expires_in }
"#;

/// Specs with as few generated methods as can be: one per-call flow, the secret in a Basic
/// header; or the client certificate as the only credential.
const FEW: [&str; 2] = [
    "title: Few\nenvironments:\n  production: https://auth.acme.test\nclient_auth: { basic: raw }\nflows:\n",
    "title: Few\nenvironments:\n  production: https://auth.acme.test\nclient_auth: { certificate: tls_client_auth }\nclient_certificate: true\nflows:\n",
];

/// `base` with one more per-call flow called `flow`, which declares a builder setting
/// `setting`.
fn with_flow(base: &str, flow: &str, setting: &str) -> String {
    format!(
        "{base}  {flow}:\n    grant: custom\n    path: /token\n    params:\n      grant_type: {{ value: custom }}\n      thing: {{ from: call }}\n      {setting}: {{ type: string, default: x }}\n    expiry: {{ expires_in: expires_in }}\n"
    )
}

/// The spec with `name` as a flow (on the client) or a builder setting (on the builder).
fn naming(base: &str, name: &str, on: Owner) -> String {
    match on {
        Owner::Client => with_flow(base, name, "some_setting"),
        Owner::Builder => with_flow(base, "other_call", name),
    }
}

/// [`EVERYTHING`] with hybrid responses instead of JWT-secured ones: a spec has one or the
/// other, so each has the methods of its own.
fn everything_for(when: When) -> String {
    if when == When::HybridResponse {
        EVERYTHING.replace("response_mode: jwt", "response_type: code id_token")
    } else {
        EVERYTHING.to_owned()
    }
}

#[test]
fn a_flow_or_setting_named_like_a_generated_method_is_refused_only_where_the_module_has_it() {
    for name in GENERATED_NAMES {
        let everything = everything_for(name.when);
        let checked = check_source(
            "specs/everything.yaml",
            &with_flow(&everything, "other_call", "some_setting"),
        );
        let provider = checked
            .provider
            .expect("the spec with every method passes check");
        assert!(name.when.holds(&provider), "{} is generated", name.name);
        let spec = naming(&everything, name.name, name.on);
        let checked = check_source("specs/everything.yaml", &spec);
        let refused = checked
            .diagnostics
            .diagnostics
            .iter()
            .any(|d| d.message.contains(&format!("::{}`", name.name)));
        assert!(
            checked.provider.is_none() && refused,
            "`{}` on {:?} is refused where the module has it",
            name.name,
            name.on
        );
    }
    for name in GENERATED_NAMES.iter().filter(|n| n.when != When::Always) {
        let allowed = FEW.iter().any(|base| {
            let checked = check_source("specs/few.yaml", &naming(base, name.name, name.on));
            match checked.provider {
                Some(provider) => {
                    assert!(!generated_methods(&provider, name.on).any(|n| n == name.name));
                    true
                }
                None => false,
            }
        });
        assert!(
            allowed,
            "`{}` on {:?} is allowed in a spec whose module does not have it",
            name.name, name.on
        );
    }
}

#[test]
fn a_type_named_like_the_client_auth_enum_is_refused_only_where_the_module_has_it() {
    let enum_named = |base: &str| {
        base.replace(
            "      thing: { from: call }\n",
            "      thing: { from: call }\n      kind: { type: { enum: [a, b] }, type_name: ClientAuthMethod, default: a }\n",
        )
    };
    // A list of methods generates `ClientAuthMethod`.
    let listed = enum_named(&with_flow(EVERYTHING, "other_call", "some_setting"));
    let checked = check_source("specs/everything.yaml", &listed);
    assert!(checked.provider.is_none(), "refused:\n{listed}");
    // One method generates no such enum.
    let single = enum_named(&with_flow(FEW[0], "other_call", "some_setting"));
    let checked = check_source("specs/few.yaml", &single);
    assert!(
        checked.provider.is_some(),
        "allowed:\n{}",
        tokenspec_codegen::diagnostics::render(&[checked.diagnostics])
    );
}
