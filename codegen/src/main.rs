//! `tokenspec-codegen`: generate, check and inspect tokenspec provider specs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokenspec_codegen::{check_file, diagnostics, generate_files, spec_files, write_if_changed};

/// Turns YAML provider specs into typed Rust token clients.
#[derive(Parser)]
#[command(name = "tokenspec-codegen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerates the checked-in code: one `<provider>.rs` per spec and PROVIDERS.md.
    ///
    /// Example: cargo run -p tokenspec-codegen -- generate
    Generate {
        /// Folder of spec files.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Folder to write into.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
    /// Checks specs and prints every problem with its line and a fix; exits 1 on errors.
    ///
    /// Example: cargo run -p tokenspec-codegen -- check specs/acme.yaml
    Check {
        /// Spec files (default: every spec in specs/).
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate { specs, out } => generate(&specs, &out),
        Command::Check { files } => check(files),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn display_dir(dir: &Path) -> String {
    dir.to_string_lossy().replace('\\', "/")
}

fn generate(specs: &Path, out: &Path) -> Result<ExitCode, tokenspec_codegen::Error> {
    let files = spec_files(specs)?;
    let output = generate_files(&files, &display_dir(specs))?;
    eprint!("{}", output.warnings);
    std::fs::create_dir_all(out).map_err(|source| tokenspec_codegen::Error::Io {
        action: "create",
        path: out.to_owned(),
        source,
    })?;
    let mut expected = vec![out.join("PROVIDERS.md")];
    for m in &output.modules {
        let path = out.join(format!("{}.rs", m.module));
        let changed = write_if_changed(&path, &m.source)?;
        println!(
            "{:<24} {} -> {}{}",
            m.module,
            m.spec,
            path.display(),
            if changed { " (updated)" } else { "" }
        );
        expected.push(path);
    }
    write_if_changed(&out.join("PROVIDERS.md"), &output.catalog)?;
    // A spec that was deleted leaves a stale module behind; remove it so the diff shows it.
    if let Ok(entries) = std::fs::read_dir(out) {
        for entry in entries.flatten() {
            let path = entry.path();
            let stale = path.extension().is_some_and(|e| e == "rs") && !expected.contains(&path);
            if stale && std::fs::remove_file(&path).is_ok() {
                println!("{:<24} removed {}", "", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(files: Vec<PathBuf>) -> Result<ExitCode, tokenspec_codegen::Error> {
    let files = if files.is_empty() {
        spec_files(Path::new("specs"))?
    } else {
        files
    };
    let mut all = Vec::new();
    for file in &files {
        all.push(check_file(file, &display_dir(file))?.diagnostics);
    }
    print!("{}", diagnostics::render(&all));
    let errors: usize = all
        .iter()
        .map(|f| {
            f.diagnostics
                .iter()
                .filter(|d| d.severity == diagnostics::Severity::Error)
                .count()
        })
        .sum();
    let warnings: usize = all.iter().map(|f| f.diagnostics.len()).sum::<usize>() - errors;
    println!(
        "checked {} spec(s): {errors} error(s), {warnings} warning(s)",
        files.len()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
