//! Declares one module per provider: the checked-in modules under `generated/`, each when its
//! cargo feature is enabled (see [`included`]).
//!
//! Consumers compile no generator: `generated/` holds exactly what the generator makes (the
//! `checked_in_generated_code_is_current` test and `tokenspec-codegen generate --check` guard
//! it), so parsing YAML and printing Rust again in every consumer's build would only cost time.
//! Without a build dependency on the generator, the generator's command line can depend on this
//! runtime: `tokenspec-codegen try` runs a spec's flows through the very code its generated
//! client uses.

/// The index `src/lib.rs` includes (the generator writes the same name).
const INDEX_FILE: &str = "tokenspec_providers.rs";

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    checked_in();
}

/// Declares the checked-in modules under `generated/`.
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
    let enabled: Vec<&(String, std::path::PathBuf)> =
        modules.iter().filter(|(m, _)| included(m)).collect();
    for (module, path) in &enabled {
        index.push_str(&format!(
            "#[cfg(feature = {module:?})]\n#[path = {:?}]\npub mod {module};\n",
            path.to_string_lossy()
        ));
    }
    // Every enabled provider's descriptor, for tools and the catalog's table-driven tests.
    index.push_str("/// The descriptor of every provider module compiled in.\n#[doc(hidden)]\npub static __PROVIDERS: &[&crate::descriptor::Provider] = &[");
    for (module, _) in &enabled {
        index.push_str(&format!("&{module}::PROVIDER, "));
    }
    index.push_str("];\n");
    let out =
        std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join(INDEX_FILE);
    write_if_changed(&out, &index);
}

fn write_if_changed(path: &std::path::Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("could not write {}: {e}", path.display());
        std::process::exit(1);
    }
}

/// Whether `module` is declared: its feature is enabled.
fn included(module: &str) -> bool {
    std::env::var_os(format!("CARGO_FEATURE_{}", module.to_uppercase())).is_some()
}
