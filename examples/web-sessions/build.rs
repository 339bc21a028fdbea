//! Generates the client of the local OpenID provider from `specs/`.

fn main() {
    if let Err(error) = tokenspec_codegen::Builder::new()
        .specs_dir("specs")
        .module_attribute("#[deny(warnings)]")
        .generate()
    {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
