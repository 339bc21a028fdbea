//! Any text as a spec: diagnostics, or generated code that parses as Rust. Never a panic.
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
