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

/// The provider features of tokenspec 0.1.0, which `default` keeps (Cargo.toml says why).
const DEFAULT_PROVIDERS: &[&str] = &[
    "bfluence",
    "bs2",
    "efi",
    "faciconnect",
    "fanbase",
    "google_service_account",
];

#[test]
fn every_spec_has_a_cargo_feature_in_catalog_and_default_keeps_the_first_providers() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string("Cargo.toml").expect("Cargo.toml"))
            .expect("valid TOML");
    let features = manifest["features"].as_table().expect("[features]");
    // Features that switch runtime behaviour or group providers rather than name one.
    const OTHER_FEATURES: &[&str] = &[
        "default",
        "catalog",
        "fuzzing",
        "metrics",
        "pkcs12",
        "postgres",
        "redis",
        "reqwest-middleware",
        "sqlite",
        "tower",
    ];
    let declared: BTreeSet<String> = features
        .keys()
        .filter(|k| !OTHER_FEATURES.contains(&k.as_str()))
        .cloned()
        .collect();
    let list = |name: &str| -> BTreeSet<String> {
        features[name]
            .as_array()
            .unwrap_or_else(|| panic!("`{name}` is a list"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let modules: BTreeSet<String> = generate().modules.into_iter().map(|m| m.module).collect();
    assert_eq!(
        declared, modules,
        "Cargo.toml [features] must have exactly one `name = []` line per spec in specs/"
    );
    assert_eq!(
        list("catalog"),
        modules,
        "the `catalog` feature must enable every provider"
    );
    let first: BTreeSet<String> = DEFAULT_PROVIDERS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        list("default"),
        first,
        "`default` keeps exactly the providers of 0.1.0: new providers are opt-in"
    );
}
