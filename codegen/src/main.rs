//! `tokenspec-codegen`: generate, check and inspect tokenspec provider specs.

fn main() -> std::process::ExitCode {
    tokenspec_codegen::__command_line()
}
