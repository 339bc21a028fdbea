//! Declares one module per provider: the checked-in modules under `generated/` for crates that
//! depend on tokenspec, or, with the `regenerate` feature (this repository's test suite turns it
//! on), modules generated afresh from `specs/`.
//!
//! Consumers compile no generator: `generated/` holds exactly what the generator makes (the
//! `checked_in_generated_code_is_current` test guards it), so parsing YAML and printing Rust
//! again in every consumer's build would only cost time.
//!
//! A module is declared when its cargo feature is enabled (see [`included`]).

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
fn write_if_changed(path: &std::path::Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("could not write {}: {e}", path.display());
        std::process::exit(1);
    }
}

/// Whether `module` is declared: its feature is enabled. While regenerating, a spec whose
/// feature `Cargo.toml` does not declare yet is declared too, so a new spec works on the next
/// build (the `every_spec_has_a_cargo_feature_enabled_by_default` test then asks for the line).
fn included(module: &str) -> bool {
    let enabled = std::env::var_os(format!("CARGO_FEATURE_{}", module.to_uppercase())).is_some();
    #[cfg(feature = "regenerate")]
    let enabled = enabled || !declared_features().iter().any(|f| f == module);
    enabled
}

/// Feature names declared in this crate's `Cargo.toml`.
#[cfg(feature = "regenerate")]
fn declared_features() -> Vec<String> {
    let text = std::fs::read_to_string("Cargo.toml").unwrap_or_default();
    match text.parse::<toml::Table>() {
        Ok(manifest) => manifest
            .get("features")
            .and_then(toml::Value::as_table)
            .map(|features| features.keys().cloned().collect())
            .unwrap_or_default(),
        Err(e) => {
            eprintln!("Cargo.toml is not valid TOML: {e}");
            std::process::exit(1);
        }
    }
}
