//! The JSON Schema editors use accepts every real spec and rejects the gallery's shape errors.

use std::path::Path;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tokenspec.schema.json"),
    )
    .expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn as_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_yaml::from_str(&text).ok()
}

#[test]
fn the_schema_accepts_every_spec_in_the_repository() {
    let v = validator();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<_> = tokenspec_codegen::spec_files(&root.join("specs")).expect("specs");
    files.push(root.join("examples/own-specs/specs/acme.yaml"));
    files.push(root.join("codegen/src/starter.yaml"));
    for file in files {
        let text = std::fs::read_to_string(&file)
            .expect("readable")
            .replace("{title}", "Starter");
        let doc: serde_json::Value = serde_yaml::from_str(&text).expect("YAML");
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{} is rejected by the schema: {errors:?}",
            file.display()
        );
    }
}

#[test]
fn the_schema_rejects_every_shape_error_of_the_gallery() {
    let v = validator();
    let mut rejected = 0;
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gallery"))
        .expect("gallery")
    {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        // Shape errors: the YAML reads, passes the limits, and serde refuses it.
        let shape_error = tokenspec_codegen::limits::check(&text).is_empty()
            && serde_yaml::from_str::<tokenspec_codegen::spec::Spec>(&text).is_err();
        if let (true, Some(doc)) = (shape_error, as_json(&path)) {
            assert!(
                !v.is_valid(&doc),
                "{} has a shape error the schema accepts",
                path.display()
            );
            rejected += 1;
        }
    }
    assert!(
        rejected >= 4,
        "the gallery has shape errors to check ({rejected})"
    );
}
