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
