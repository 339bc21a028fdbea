//! Declares one module per provider: the checked-in modules under `generated/` for crates that
//! depend on tokenspec, or, with the `regenerate` feature (this repository's test suite turns it
//! on), modules generated afresh from `specs/`.
//!
//! Consumers compile no generator: `generated/` holds exactly what the generator makes (the
//! `checked_in_generated_code_is_current` test guards it), so parsing YAML and printing Rust
//! again in every consumer's build would only cost time.
//!
//! A module is declared when its cargo feature is enabled, or when `Cargo.toml` declares no
//! feature for it yet (so a new spec works on the next `cargo build`; the `features_match_specs`
//! test then asks for the feature line).

use std::path::Path;

/// The index `src/lib.rs` includes (the generator writes the same name).
#[cfg(not(feature = "regenerate"))]
const INDEX_FILE: &str = "tokenspec_providers.rs";

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    #[cfg(feature = "regenerate")]
    regenerate();
    #[cfg(not(feature = "regenerate"))]
    checked_in();
}

/// Generates the modules from `specs/` into `OUT_DIR`.
#[cfg(feature = "regenerate")]
fn regenerate() {
    let result = tokenspec_codegen::Builder::new()
        .specs_dir("specs")
        .include_modules(included)
        // tokenspec vouches for its generated code: any warning in it fails our own build.
        .module_attribute("#[deny(warnings)]")
        .generate();
    if let Err(error) = result {
        // A readable report, not a panic backtrace: cargo shows this text under the build error.
        eprintln!("{error}");
        std::process::exit(1);
    }
}

/// Declares the checked-in modules under `generated/`.
#[cfg(not(feature = "regenerate"))]
fn checked_in() {
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = root.join("generated");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut modules: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "rs"))
                .filter_map(|path| {
                    let module = path.file_stem()?.to_str()?.to_owned();
                    Some((module, path))
                })
                .collect()
        })
        .unwrap_or_default();
    modules.sort();
    let mut index = String::from("// tokenspec: the checked-in provider modules of generated/.\n");
    for (module, path) in modules.iter().filter(|(m, _)| included(m)) {
        index.push_str(&format!(
            "#[path = {:?}]\npub mod {module};\n",
            path.to_string_lossy()
        ));
    }
    let out =
        std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join(INDEX_FILE);
    write_if_changed(&out, &index);
}

#[cfg(not(feature = "regenerate"))]
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("could not write {}: {e}", path.display());
        std::process::exit(1);
    }
}

fn included(module: &str) -> bool {
    let enabled = std::env::var_os(format!("CARGO_FEATURE_{}", module.to_uppercase())).is_some();
    enabled
        || !declared_features(Path::new("Cargo.toml"))
            .iter()
            .any(|f| f == module)
}

/// Feature names declared in this crate's `Cargo.toml` `[features]` table.
fn declared_features(manifest: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(manifest).unwrap_or_default();
    let mut in_features = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_features = line == "[features]";
        } else if in_features
            && let Some((name, _)) = line.split_once('=')
            && !name.trim_start().starts_with('#')
        {
            names.push(name.trim().to_owned());
        }
    }
    names
}
