//! The checked-in `generated/` folder is exactly what the generator makes today, build.rs makes
//! the same bytes, and the cargo features follow the specs.

use std::collections::BTreeSet;
use std::path::Path;

const REGENERATE: &str = "cargo run -p tokenspec-codegen -- generate";

fn generate() -> tokenspec_codegen::Output {
    let files = tokenspec_codegen::spec_files(Path::new("specs")).expect("specs/ is readable");
    tokenspec_codegen::generate_files(&files, "specs").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn checked_in_generated_code_is_current() {
    let output = generate();
    let mut expected = BTreeSet::new();
    for m in &output.modules {
        let path = format!("generated/{}.rs", m.module);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == m.source,
            "{path} is stale or missing: run `{REGENERATE}` and commit the result"
        );
        expected.insert(path);
    }
    let catalog = std::fs::read_to_string("generated/PROVIDERS.md").unwrap_or_default();
    assert!(
        catalog == output.catalog,
        "generated/PROVIDERS.md is stale: run `{REGENERATE}` and commit the result"
    );
    for entry in std::fs::read_dir("generated").expect("generated/ exists") {
        let path = entry.expect("entry").path();
        let shown = format!(
            "generated/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        if path.extension().is_some_and(|e| e == "rs") {
            assert!(
                expected.contains(&shown),
                "{shown} has no spec in specs/ any more: run `{REGENERATE}` to remove it"
            );
        }
    }
}

#[test]
fn generating_twice_gives_identical_bytes() {
    let (a, b) = (generate(), generate());
    let texts = |o: &tokenspec_codegen::Output| {
        o.modules
            .iter()
            .map(|m| m.source.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(a.catalog, b.catalog);
}

#[test]
fn every_spec_has_a_cargo_feature_enabled_by_default() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string("Cargo.toml").expect("Cargo.toml"))
            .expect("valid TOML");
    let features = manifest["features"].as_table().expect("[features]");
    // Features that switch runtime behaviour rather than a provider.
    const RUNTIME_FEATURES: &[&str] = &["default", "fuzzing", "pkcs12", "redis"];
    let declared: BTreeSet<String> = features
        .keys()
        .filter(|k| !RUNTIME_FEATURES.contains(&k.as_str()))
        .cloned()
        .collect();
    let default: BTreeSet<String> = features["default"]
        .as_array()
        .expect("default is a list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let modules: BTreeSet<String> = generate().modules.into_iter().map(|m| m.module).collect();
    assert_eq!(
        declared, modules,
        "Cargo.toml [features] must have exactly one `name = []` line per spec in specs/"
    );
    assert_eq!(
        default, modules,
        "the default feature must enable every provider"
    );
}
