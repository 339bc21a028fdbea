//! The `tokenspec-codegen` binary as users run it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cli() -> Command {
    let mut cmd = Command::cargo_bin("tokenspec-codegen").expect("binary is built");
    cmd.current_dir(repo());
    cmd
}

fn stdout(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenspec-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn check_passes_the_shipped_specs() {
    let out = stdout(cli().arg("check").assert().success());
    let specs = tokenspec_codegen::spec_files(&repo().join("specs"))
        .expect("specs/")
        .len();
    assert!(
        out.contains(&format!("checked {specs} spec(s): 0 error(s)")),
        "{out}"
    );
}

#[test]
fn check_fails_a_broken_spec_naming_file_line_and_fix() {
    let out = cli()
        .args(["check", "codegen/tests/gallery/unknown_key_typo.yaml"])
        .assert()
        .failure();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("codegen/tests/gallery/unknown_key_typo.yaml:12:7"),
        "{text}"
    );
    assert!(text.contains("did you mean `expires_in`?"), "{text}");
    assert!(text.contains("1 error(s)"), "{text}");
}

#[test]
fn new_writes_a_starter_spec_that_passes_check_and_explain() {
    let dir = temp("new");
    let specs = dir.to_string_lossy().into_owned();
    let out = stdout(
        cli()
            .args(["new", "acme_bank", "--specs", &specs])
            .assert()
            .success(),
    );
    assert!(out.contains("acme_bank.yaml"), "{out}");
    let file = dir.join("acme_bank.yaml");
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "editors find the schema"
    );
    assert!(text.contains("title: Acme Bank"));
    let out = stdout(
        cli()
            .args(["check", &file.to_string_lossy()])
            .assert()
            .success(),
    );
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");
    cli()
        .args(["explain", &file.to_string_lossy()])
        .assert()
        .success();
    cli()
        .args(["new", "acme_bank", "--specs", &specs])
        .assert()
        .failure();
    cli()
        .args(["new", "Acme-Bank", "--specs", &specs])
        .assert()
        .failure();
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let printed = stdout(cli().arg("schema").assert().success());
    let checked_in =
        std::fs::read_to_string(repo().join("docs/tokenspec.schema.json")).unwrap_or_default();
    assert!(
        printed == checked_in,
        "docs/tokenspec.schema.json is stale: run `cargo run -p tokenspec-codegen -- schema > docs/tokenspec.schema.json`"
    );
}

#[test]
fn explain_prints_runnable_curl_without_credentials() {
    let out = stdout(cli().args(["explain", "fanbase"]).assert().success());
    assert!(
        out.contains("--url-query \"client_secret=$CLIENT_SECRET\""),
        "{out}"
    );
    assert!(
        out.contains("'https://security.fantest.com.br/api/token/v2'"),
        "{out}"
    );
    assert!(
        out.contains("# API calls carry: AccessToken: <token>"),
        "{out}"
    );
    cli()
        .args(["explain", "no_such_provider"])
        .assert()
        .failure();
}

#[test]
fn explain_sends_header_parameters_and_header_credentials_with_curl_h() {
    let specs = temp("header-specs");
    std::fs::write(
        specs.join("gateway.yaml"),
        "title: Gateway\nenvironments:\n  production: https://gw.example\n\
         client_auth: { params: [header] }\nflows:\n  client_credentials:\n\
         \x20   grant: client_credentials\n    path: /token\n    params:\n\
         \x20     grant_type: { value: client_credentials }\n\
         \x20     X-Channel: { value: partner, in: header }\n\
         \x20   expiry: { expires_in: expires_in }\n",
    )
    .expect("spec");
    let out = stdout(
        cli()
            .args(["explain", "gateway", "--specs", &specs.to_string_lossy()])
            .assert()
            .success(),
    );
    assert!(out.contains("-H 'X-Channel: partner'"), "{out}");
    assert!(out.contains("-H \"client_id: $CLIENT_ID\""), "{out}");
    assert!(
        out.contains("-H \"client_secret: $CLIENT_SECRET\""),
        "{out}"
    );
    assert!(!out.contains("--data-urlencode 'X-Channel"), "{out}");
}

#[test]
fn generate_check_exits_1_with_a_diff_when_the_folder_is_stale() {
    cli().args(["generate", "--check"]).assert().success();
    let out = temp("check");
    cli()
        .args(["generate", "--out", &out.to_string_lossy()])
        .assert()
        .success();
    let bs2 = out.join("bs2.rs");
    let edited = std::fs::read_to_string(&bs2)
        .expect("bs2.rs")
        .replace("Bs2 Pix Direto access tokens.", "Bs2 access tokens.");
    std::fs::write(&bs2, edited).expect("edit");
    std::fs::write(
        out.join("removed_provider.rs"),
        "// a module whose spec is gone\n",
    )
    .expect("stale file");
    let assert = cli()
        .args(["generate", "--check", "--out", &out.to_string_lossy()])
        .assert()
        .code(1);
    let text = stdout(assert);
    assert!(text.contains("-//! Bs2 access tokens."), "{text}");
    assert!(
        text.contains("+//! Bs2 Pix Direto access tokens."),
        "{text}"
    );
    assert!(text.contains("-// a module whose spec is gone"), "{text}");
    assert!(
        std::fs::read_to_string(&bs2)
            .expect("bs2.rs")
            .contains("Bs2 access tokens."),
        "--check writes nothing"
    );
}

#[test]
fn generate_writes_modules_and_catalog_into_a_folder() {
    let out = temp("generate");
    let text = stdout(
        cli()
            .args(["generate", "--out", &out.to_string_lossy()])
            .assert()
            .success(),
    );
    let specs = tokenspec_codegen::spec_files(&repo().join("specs"))
        .expect("specs/")
        .len();
    assert_eq!(
        text.lines().filter(|l| l.contains(" -> ")).count(),
        specs,
        "{text}"
    );
    assert!(out.join("fanbase.rs").is_file() && out.join("PROVIDERS.md").is_file());
}

#[test]
fn explain_finds_a_provider_in_the_folder_given() {
    let out = stdout(
        cli()
            .args(["explain", "acme", "--specs", "examples/own-specs/specs"])
            .assert()
            .success(),
    );
    assert!(out.contains("curl -X POST"), "{out}");
}

#[test]
fn generated_headers_name_the_spec_the_same_way_on_every_machine() {
    // An absolute `--specs` folder (as CI scripts and build scripts write it) is shown relative
    // to where the command runs, never as this machine's path.
    let out = temp("absolute-specs");
    let specs = std::fs::canonicalize(repo().join("specs")).expect("specs folder");
    cli()
        .args([
            "generate",
            "--specs",
            &specs.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ])
        .assert()
        .success();
    let module = std::fs::read_to_string(out.join("bs2.rs")).expect("module");
    let header = module.lines().next().expect("header");
    assert_eq!(
        header,
        "// @generated by tokenspec-codegen from specs/bs2.yaml. Do not edit: change the spec and generate again."
    );
    assert!(
        !module.contains(&*specs.to_string_lossy()),
        "no absolute path in the output"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in ["generate", "check", "new", "schema", "explain"] {
        let out = stdout(cli().args([command, "--help"]).assert().success());
        assert!(
            out.contains("Example"),
            "`{command} --help` shows an example:\n{out}"
        );
    }
    let out = stdout(cli().arg("--help").assert().success());
    assert!(out.contains("Examples:"), "{out}");
}

/// The CI job docs/ offers runs `check`, `generate --check` and `diff`, each a command this
/// binary has, with the arguments it takes.
#[test]
fn the_documented_ci_job_runs_commands_that_exist() {
    let text = std::fs::read_to_string(repo().join("docs/ci/tokenspec-review.yml"))
        .expect("docs/ci/tokenspec-review.yml");
    let job: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let steps = job["jobs"]["specs"]["steps"]
        .as_sequence()
        .expect("jobs.specs.steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let mut commands = Vec::new();
    for run in &runs {
        for line in run.lines() {
            if let Some((_, rest)) = line.split_once("tokenspec-codegen -- ") {
                commands.push(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    }
    for wanted in ["check", "generate", "diff"] {
        assert!(
            commands.iter().any(|c| c == wanted),
            "{wanted} missing: {runs:?}"
        );
    }
    assert!(runs.iter().any(|r| r.contains("generate --check")));
    for command in commands {
        cli().args([command.as_str(), "--help"]).assert().success();
    }
    cli()
        .args(["generate", "--check", "--help"])
        .assert()
        .success();
}

#[test]
fn usage_errors_exit_3() {
    cli().args(["try"]).assert().code(3);
    cli().args(["no-such-command"]).assert().code(3);
    cli().args(["--help"]).assert().success();
}
