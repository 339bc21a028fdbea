//! Any text as a spec: diagnostics, or generated code that parses as Rust. Never a panic.
//!
//! What is compiled where: this target parses each accepted spec's module with syn, since a
//! `cargo check` per input would be far too slow for libFuzzer. `codegen/tests/compiles.rs`
//! compiles them: `fuzz_corpus_specs_that_pass_check_generate_modules_that_compile` replays
//! this target's corpus (`fuzz/corpus/spec_to_code`, with what local runs added) and compiles
//! the module of every entry `check` accepts in one scratch crate against the runtime, and
//! `specs_that_pass_check_generate_modules_that_compile` does the same for random specs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let checked = tokenspec_codegen::check_source("specs/fuzz.yaml", data);
    let _ = tokenspec_codegen::diagnostics::render(&[checked.diagnostics]);
    if let Some(provider) = checked.provider {
        let source = tokenspec_codegen::emit::provider_source(&provider);
        if let Err(e) = syn::parse_file(&source) {
            panic!("generated code does not parse: {e}\n{source}");
        }
        let _ = tokenspec_codegen::explain::explain(&provider);
    }
});
