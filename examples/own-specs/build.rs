//! Generates this crate's token clients from its own `specs/` folder, as prost-build does for
//! protobuf files.

fn main() {
    let result = tokenspec_codegen::Builder::new()
        .specs_dir("specs")
        .module_attribute("#[deny(warnings)]")
        .generate();
    if let Err(error) = result {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
