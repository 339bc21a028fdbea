//! Generates one module per spec in `specs/` into `OUT_DIR`.
//!
//! A module is declared when its cargo feature is enabled, or when `Cargo.toml` declares no
//! feature for it yet (so a new spec works on the next `cargo build`; the `features_match_specs`
//! test then asks for the feature line).

fn main() {
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
    println!("cargo:rerun-if-changed=Cargo.toml");
}

fn included(module: &str) -> bool {
    let enabled = std::env::var_os(format!("CARGO_FEATURE_{}", module.to_uppercase())).is_some();
    enabled || !declared_features().iter().any(|f| f == module)
}

/// Feature names declared in this crate's `Cargo.toml` `[features]` table.
fn declared_features() -> Vec<String> {
    let manifest = std::fs::read_to_string("Cargo.toml").unwrap_or_default();
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
