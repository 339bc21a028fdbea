//! A gallery of broken specs, each with its rendered diagnostics snapshotted: the messages users
//! see are part of the product.

use tokenspec_codegen::{Checked, check_source, diagnostics};

/// Checks every gallery spec and hands its file name, text and result to `each`.
fn each_gallery_spec(mut each: impl FnMut(&str, &str, &Checked)) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gallery");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("the gallery")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let source = std::fs::read_to_string(&path).expect("gallery spec is readable");
        let name = path.file_name().expect("file name").to_string_lossy();
        let checked = check_source(&format!("specs/{name}"), &source);
        each(&name, &source, &checked);
    }
}

#[test]
fn every_broken_spec_is_rejected_with_its_snapshotted_diagnostics() {
    insta::glob!("gallery", "*.yaml", |path| {
        let source = std::fs::read_to_string(path).expect("gallery spec is readable");
        let name = path.file_name().expect("file name").to_string_lossy();
        let checked = check_source(&format!("specs/{name}"), &source);
        assert!(checked.provider.is_none(), "{name} should be rejected");
        assert!(checked.diagnostics.has_errors());
        insta::assert_snapshot!(diagnostics::render(&[checked.diagnostics]));
    });
}

/// What serde says in terms of Rust types and its own grammar, which no spec author wrote.
const SERDE_WORDING: &[&str] = &[
    "invalid type",
    "invalid value",
    "invalid length",
    "expected struct",
    "expected enum",
    "expected a ",
    "expected an ",
    "expected one of `",
    "expected unit variant",
    "unknown variant",
    "unknown field",
    "missing field",
    "untagged enum",
    "did not match any variant",
    "u64",
    "u32",
    "i64",
    "Spec`",
    "Spec ",
];

#[test]
fn no_serde_wording_reaches_a_user() {
    let mut found = Vec::new();
    each_gallery_spec(|name, _source, checked| {
        for d in &checked.diagnostics.diagnostics {
            let said = format!("{} {}", d.message, d.help.as_deref().unwrap_or(""));
            for words in SERDE_WORDING {
                if said.contains(words) {
                    found.push(format!("{name}: {words:?} in {said:?}"));
                }
            }
        }
    });
    assert!(
        found.is_empty(),
        "serde's wording reaches users:\n{}",
        found.join("\n")
    );
}

/// Every diagnostic is placed on the key or value at fault: never on `title:` or `flows:`
/// (where a problem without a position used to land) unless it is about them, and never
/// without a position inside the file.
#[test]
fn every_diagnostic_points_at_the_key_or_value_at_fault() {
    let mut found = Vec::new();
    each_gallery_spec(|name, source, checked| {
        let map = diagnostics::SourceMap::new(source);
        for d in &checked.diagnostics.diagnostics {
            // Only what concerns the file as a whole (a module name taken from the file's
            // name) has no place in it.
            let Some(offset) = d.offset else {
                if !d.path.0.is_empty() {
                    found.push(format!("{name}: {:?} has no position", d.message));
                }
                continue;
            };
            let at = map.path_at(offset).map(|p| p.to_string());
            for key in ["title", "flows"] {
                if at.as_deref() == Some(key) && !d.message.contains(&format!("`{key}`")) {
                    found.push(format!("{name}: {:?} points at `{key}:`", d.message));
                }
            }
        }
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A catalog spec written before `checked:` existed still builds: its absence is a warning that
/// names the key to add, never an error that would break a user's build on upgrade.
#[test]
fn a_catalog_spec_without_checked_builds_with_a_warning_naming_the_key() {
    let source = "title: Acme
catalog: { kind: payments, region: global }
environments:
  production: https://auth.acme.test
client_auth: { basic: raw }
flows:
  client_credentials:
    grant: client_credentials
    path: /oauth/token
    params: { grant_type: { value: client_credentials } }
    expiry: { expires_in: expires_in }
";
    let checked = check_source("specs/acme.yaml", source);
    let provider = checked.provider.expect("the spec is accepted");
    assert!(provider.checked.is_none());
    let problems = checked.diagnostics.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].severity, diagnostics::Severity::Warning);
    assert!(
        problems[0].message.contains("checked against"),
        "{problems:?}"
    );
    assert!(
        problems[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("checked:")),
        "{problems:?}"
    );
}
