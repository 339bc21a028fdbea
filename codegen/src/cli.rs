//! The `tokenspec-codegen` command line: generate, check and inspect tokenspec provider specs.
//! It lives in the library, so the generator's insides stay private to the crate; the binary
//! (`src/main.rs`) only calls [`run`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{check_file, diagnostics, explain, generate_files, spec_files, write_if_changed};
use clap::{Parser, Subcommand};

/// Turns YAML provider specs into typed Rust token clients.
#[derive(Parser)]
#[command(name = "tokenspec-codegen", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  tokenspec-codegen new acme\n  tokenspec-codegen check specs/acme.yaml\n  tokenspec-codegen explain acme\n  tokenspec-codegen generate"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerates the checked-in code: one `<provider>.rs` per spec and PROVIDERS.md.
    #[command(
        after_help = "Examples:\n  cargo run -p tokenspec-codegen -- generate\n  cargo run -p tokenspec-codegen -- generate --check   # in CI\n\nPrints one line per provider; a spec that was removed has its module removed too."
    )]
    Generate {
        /// Folder of spec files.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Folder to write into.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Write nothing: exit 1 and print the difference as a unified diff when the folder
        /// is not what the specs generate.
        #[arg(long)]
        check: bool,
    },
    /// Checks specs and prints every problem with its line and a fix; exits 1 on errors.
    #[command(
        after_help = "Examples:\n  tokenspec-codegen check                      # every spec in specs/\n  tokenspec-codegen check specs/acme.yaml"
    )]
    Check {
        /// Spec files (default: every spec in specs/).
        files: Vec<PathBuf>,
    },
    /// Writes a commented starter spec, `specs/NAME.yaml`, that passes `check`.
    #[command(
        after_help = "Example:\n  tokenspec-codegen new acme_bank   # then edit specs/acme_bank.yaml"
    )]
    New {
        /// Provider name: the Rust module, snake_case (`acme_bank`).
        name: String,
        /// Folder to write into.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
    },
    /// Runs one flow of a spec against the live provider and says whether the answer fits
    /// the spec; when it does not, prints the YAML change that makes it fit (`--fix` writes it;
    /// a change it cannot be sure of is printed as a candidate and never written).
    /// Credentials come from $CLIENT_ID and $CLIENT_SECRET; nothing secret is printed.
    #[command(
        after_help = "Examples:\n  CLIENT_ID=... CLIENT_SECRET=... tokenspec-codegen try acme\n  tokenspec-codegen try specs/acme.yaml --env sandbox --param host=api.acme.example\n  tokenspec-codegen try acme --flow exchange_code --param code=XYZ --param redirect_uri=https://app.example/cb\n  tokenspec-codegen try acme --fix\n  tokenspec-codegen try acme --probe --fix   # also try the other Basic encodings\n\nExit codes: 0 the spec works; 1 the spec is wrong (the change is printed, --fix writes\nit); 2 the provider refused these credentials or could not be reached, and the spec may\nbe right (a candidate change is printed, never written); 3 the command or the spec cannot\nbe used.\nPlain http:// reaches loopback only, unless --allow-insecure-http."
    )]
    Try {
        /// Provider name (looked up in the specs folder) or a spec file.
        name: String,
        /// Folder the provider name is looked up in.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Environment (default: the spec's default, or its only one).
        #[arg(long = "env")]
        environment: Option<String>,
        /// Flow (default: the one behind `access_token()`).
        #[arg(long)]
        flow: Option<String>,
        /// A URL placeholder, builder setting or per-call argument, by wire or Rust name.
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_pair)]
        params: Vec<(String, String)>,
        /// Send to this base URL instead of the environment's.
        #[arg(long)]
        base_url: Option<String>,
        /// PEM private key that signs client assertions (private_key_jwt, JWT-bearer grants).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// A client assertion another identity provider issued (federated credentials), read
        /// from this file.
        #[arg(long, value_name = "FILE")]
        assertion_file: Option<PathBuf>,
        /// PEM client certificate for mutual TLS (with --cert-key).
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
        /// PEM private key of --cert.
        #[arg(long, value_name = "FILE")]
        cert_key: Option<PathBuf>,
        /// PEM certificates to trust besides the system's (a sandbox's own CA).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Allow plain http:// to hosts other than loopback.
        #[arg(long)]
        allow_insecure_http: bool,
        /// Write the suggested change into the spec (comments and layout kept) and check it.
        #[arg(long)]
        fix: bool,
        /// When Basic credentials are refused and the id or secret has characters the Basic
        /// encodings write differently, send the request again to the same endpoint in each
        /// other encoding, every attempt shown; one the provider accepts is a sure change.
        /// Never another host or placement.
        #[arg(long)]
        probe: bool,
    },
    /// Prints, in Markdown for a pull request, what changes on the wire for every spec that
    /// differs between two revisions, with the `explain` diff and the generated diff's size.
    #[command(
        after_help = "Examples:\n  tokenspec-codegen diff                    # merge base with the default branch → work tree\n  tokenspec-codegen diff origin/main HEAD > review.md\n  tokenspec-codegen diff v0.1.0 v0.2.0\n\nRun it inside the git repository that holds the specs."
    )]
    Diff {
        /// Base revision (default: the merge base of HEAD with the default branch).
        base: Option<String>,
        /// Head revision (default: the work tree).
        head: Option<String>,
        /// Folder of spec files.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
    },
    /// Prints the JSON Schema of the spec format (editors use it to validate and complete specs).
    #[command(after_help = "Example:\n  tokenspec-codegen schema > docs/tokenspec.schema.json")]
    Schema,
    /// Prints, as curl commands, exactly what a provider's client sends for each flow and how it
    /// reads the answer; credentials stay in $CLIENT_ID and $CLIENT_SECRET.
    #[command(
        after_help = "Examples:\n  tokenspec-codegen explain fanbase\n  tokenspec-codegen explain acme --specs config/providers\n  tokenspec-codegen explain path/to/acme.yaml"
    )]
    Explain {
        /// Provider name (looked up in the specs folder) or a spec file.
        name: String,
        /// Folder the provider name is looked up in.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
    },
}

pub fn run() -> ExitCode {
    // A command line that cannot be used exits 3 (`try`'s "usage" code) rather than clap's 2,
    // which `try` keeps for a provider that refused.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Generate {
            specs,
            out,
            check: false,
        } => generate(&specs, &out),
        Command::Generate {
            specs,
            out,
            check: true,
        } => generate_check(&specs, &out),
        Command::Check { files } => check(files),
        Command::New { name, specs } => new(&name, &specs),
        Command::Schema => {
            print!("{}", crate::schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { name, specs } => explain_provider(&name, &specs),
        Command::Diff { base, head, specs } => Ok(diff(base, head, &specs)),
        Command::Try {
            name,
            specs,
            environment,
            flow,
            params,
            base_url,
            key,
            assertion_file,
            cert,
            cert_key,
            ca,
            allow_insecure_http,
            fix,
            probe,
        } => {
            let report = crate::live::run(&crate::live::Options {
                spec: spec_path(&name, &specs),
                environment,
                flow,
                params,
                base_url,
                client_id: std::env::var("CLIENT_ID").ok().filter(|s| !s.is_empty()),
                client_secret: std::env::var("CLIENT_SECRET")
                    .ok()
                    .filter(|s| !s.is_empty()),
                key_file: key,
                assertion_file,
                cert_file: cert,
                cert_key_file: cert_key,
                ca_file: ca,
                allow_insecure_http,
                fix,
                probe,
            });
            print!("{}", report.text);
            Ok(ExitCode::from(report.exit))
        }
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

/// `generate --check`: compares what the specs generate with the folder, file by file, and
/// prints a unified diff of every difference (a missing, changed or stale file).
fn generate_check(specs: &Path, out: &Path) -> Result<ExitCode, crate::Error> {
    let files = spec_files(specs)?;
    let output = generate_files(&files, &display_dir(specs))?;
    eprint!("{}", output.warnings);
    let mut expected: Vec<(PathBuf, &str)> = output
        .modules
        .iter()
        .map(|m| (out.join(format!("{}.rs", m.module)), m.source.as_str()))
        .collect();
    expected.push((out.join("PROVIDERS.md"), output.catalog.as_str()));
    let mut stale = 0;
    for (path, wanted) in &expected {
        let found = std::fs::read_to_string(path).unwrap_or_default();
        if found != *wanted {
            stale += 1;
            print_diff(path, &found, wanted);
        }
    }
    if let Ok(entries) = std::fs::read_dir(out) {
        for path in entries.flatten().map(|e| e.path()) {
            let generated = path.extension().is_some_and(|e| e == "rs");
            if generated && !expected.iter().any(|(p, _)| *p == path) {
                stale += 1;
                print_diff(
                    &path,
                    &std::fs::read_to_string(&path).unwrap_or_default(),
                    "",
                );
            }
        }
    }
    if stale == 0 {
        println!("{} is what the specs generate", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{stale} file(s) in {} differ from what the specs generate: run `tokenspec-codegen generate` and commit the result",
        out.display()
    );
    Ok(ExitCode::from(1))
}

/// `path` as it is (`found`) against what it should be (`wanted`), as a unified diff.
fn print_diff(path: &Path, found: &str, wanted: &str) {
    let shown = path.display().to_string();
    let (old, new) = if path.is_absolute() {
        (shown.clone(), shown)
    } else {
        (format!("a/{shown}"), format!("b/{shown}"))
    };
    let diff = similar::TextDiff::from_lines(found, wanted);
    print!(
        "{}",
        diff.unified_diff().context_radius(3).header(&old, &new)
    );
}

fn generate(specs: &Path, out: &Path) -> Result<ExitCode, crate::Error> {
    let files = spec_files(specs)?;
    let output = generate_files(&files, &display_dir(specs))?;
    eprint!("{}", output.warnings);
    std::fs::create_dir_all(out).map_err(|source| crate::Error::Io {
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

fn check(files: Vec<PathBuf>) -> Result<ExitCode, crate::Error> {
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

fn new(name: &str, dir: &Path) -> Result<ExitCode, crate::Error> {
    let ident = crate::naming::snake_ident(name);
    if ident != name {
        eprintln!(
            "`{name}` is not a snake_case Rust module name; try `{}`",
            ident.trim_start_matches("r#").trim_end_matches('_')
        );
        return Ok(ExitCode::FAILURE);
    }
    let path = dir.join(format!("{name}.yaml"));
    if path.exists() {
        eprintln!(
            "{} already exists; remove it or pick another name",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let title = heck_title(name);
    let text = include_str!("starter.yaml").replace("{title}", &title);
    std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })?;
    std::fs::write(&path, text).map_err(|source| crate::Error::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    println!("wrote {}", path.display());
    println!("next: edit it from the provider's documentation, then");
    println!(
        "  cargo run -p tokenspec-codegen -- check {}",
        path.display()
    );
    println!("  cargo run -p tokenspec-codegen -- explain {name}");
    Ok(ExitCode::SUCCESS)
}

fn heck_title(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `diff`: the review of every spec that differs between two revisions; 3 when git cannot
/// give them.
fn diff(base: Option<String>, head: Option<String>, specs: &Path) -> ExitCode {
    use crate::review;
    let run = || -> Result<String, String> {
        let (base, base_shown) = match base {
            Some(rev) => (rev.clone(), format!("`{rev}`")),
            None => review::default_base()?,
        };
        let before = review::specs_at(Some(&base), specs)?;
        let (after, head_shown) = match &head {
            Some(rev) => (review::specs_at(Some(rev), specs)?, format!("`{rev}`")),
            None => (review::specs_at(None, specs)?, "the work tree".to_owned()),
        };
        Ok(review::review(&before, &after, &base_shown, &head_shown))
    };
    match run() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(3)
        }
    }
}

/// `NAME=VALUE`.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {text:?}"))
}

/// A provider name's spec in `specs`, or the file named.
fn spec_path(name: &str, specs: &Path) -> PathBuf {
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        PathBuf::from(name)
    } else {
        let yaml = specs.join(format!("{name}.yaml"));
        let yml = specs.join(format!("{name}.yml"));
        if !yaml.exists() && yml.exists() {
            yml
        } else {
            yaml
        }
    }
}

fn explain_provider(name: &str, specs: &Path) -> Result<ExitCode, crate::Error> {
    let path = spec_path(name, specs);
    let checked = check_file(&path, &display_dir(&path))?;
    match checked.provider {
        Some(provider) => {
            print!("{}", explain::explain(&provider));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprint!("{}", diagnostics::render(&[checked.diagnostics]));
            Ok(ExitCode::FAILURE)
        }
    }
}
