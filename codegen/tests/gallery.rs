//! A gallery of broken specs, each with its rendered diagnostics snapshotted: the messages users
//! see are part of the product.

use tokenspec_codegen::{check_source, diagnostics};

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
    insta::glob!("gallery", "*.yaml", |path| {
        let source = std::fs::read_to_string(path).expect("gallery spec is readable");
        let name = path.file_name().expect("file name").to_string_lossy();
        let checked = check_source(&format!("specs/{name}"), &source);
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
