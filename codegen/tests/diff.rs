//! `tokenspec-codegen diff` on scratch git repositories: every kind of spec edit is named in
//! plain words, with the `explain` diff and the generated diff's size; the Markdown is
//! snapshot-tested so a change in the review's wording shows in review too.

use std::path::{Path, PathBuf};
use std::process::Command;

const ACME: &str = r#"# Acme, as its documentation says.
title: Acme
docs: https://docs.acme.example/auth
environments:
  production: https://api.acme.example
client_auth:
  basic: raw
flows:
  client_credentials:
    grant: client_credentials
    method: PUT
    path: /token
    params:
      grant_type:
        value: client_credentials
      audience:
        value: https://api.acme.example
    expiry:
      expires_in: expires_in
"#;

/// ACME with one edit of every kind a reviewer must see.
const ACME_EDITED: &str = r#"# Acme, as its documentation says.
title: Acme
docs: https://docs.acme.example/oauth
environments:
  production: https://auth.acme.example
  sandbox:
    url: https://sandbox.acme.example
    doc: The sandbox.
default_environment: production
client_auth:
  basic: percent
api_header:
  name: X-Acme-Token
  value: "{token}"
error_answer:
  code: error.code
  message: error.message
authorization:
  par: true
flows:
  client_credentials:
    grant: client_credentials
    method: POST
    path: /oauth/token
    body: json
    params:
      grant_type:
        value: client_credentials
      scope:
        from: config
        type: string
        default: read
    response:
      fields:
        account:
          path: account_id
          type: string
    expiry:
      jwt_exp: access_token
  exchange_code:
    grant: authorization_code
    path: /oauth/token
    params:
      grant_type:
        value: authorization_code
      code:
        from: call
        type: secret
    expiry:
      expires_in: expires_in
errors:
  - name: Locked
    status: 423
    message: Account locked
    doc: The account is locked.
"#;

const LEGACY: &str = "title: Legacy\nenvironments:\n  production: https://legacy.example\nclient_auth:\n  params: [query]\nflows:\n  client_credentials:\n    grant: client_credentials\n    method: GET\n    body: none\n    path: /auth\n    expiry:\n      lifetime: 3600\n";

const NEWCO: &str = "title: Newco\nenvironments:\n  production: https://id.newco.example\nclient_auth:\n  basic: raw\nflows:\n  client_credentials:\n    grant: client_credentials\n    path: /token\n    params:\n      grant_type:\n        value: client_credentials\n    expiry:\n      expires_in: expires_in\n";

/// An empty git repository in a scratch folder, with an identity for commits.
fn repo(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("diff")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("specs")).expect("scratch repo");
    git(&dir, &["init", "-q", "-b", "main"]);
    dir
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=tokenspec",
            "-c",
            "user.email=tokenspec@localhost",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join("specs").join(file), text).expect("write spec");
}

fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

fn diff(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = assert_cmd::Command::cargo_bin("tokenspec-codegen")
        .expect("binary")
        .arg("diff")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn every_kind_of_wire_change_between_two_revisions_is_named_in_plain_words() {
    let dir = repo("kinds");
    write(&dir, "acme.yaml", ACME);
    write(&dir, "legacy.yaml", LEGACY);
    commit(&dir, "base");
    write(&dir, "acme.yaml", ACME_EDITED);
    std::fs::remove_file(dir.join("specs/legacy.yaml")).expect("remove");
    write(&dir, "newco.yaml", NEWCO);
    write(&dir, "broken.yaml", "title: Broken\nflows: {}\n");
    commit(&dir, "head");
    let (exit, text) = diff(&dir, &["main~1", "main"]);
    assert_eq!(exit, 0, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn by_default_the_work_tree_is_compared_with_the_merge_base_of_the_default_branch() {
    let dir = repo("default_base");
    write(&dir, "acme.yaml", ACME);
    write(&dir, "newco.yaml", NEWCO);
    commit(&dir, "base");
    git(&dir, &["checkout", "-q", "-b", "feature"]);
    write(
        &dir,
        "acme.yaml",
        &ACME.replace("path: /token", "path: /v2/token"),
    );
    commit(&dir, "feature: new token path");
    // The default branch moves on after the branch point: not this branch's change.
    git(&dir, &["checkout", "-q", "main"]);
    write(
        &dir,
        "newco.yaml",
        &NEWCO.replace("/token", "/oauth2/token"),
    );
    commit(&dir, "main moves on");
    git(&dir, &["checkout", "-q", "feature"]);
    // Uncommitted: part of the review too.
    write(
        &dir,
        "acme.yaml",
        &ACME
            .replace("path: /token", "path: /v2/token")
            .replace("basic: raw", "params: [body]"),
    );
    let (exit, text) = diff(&dir, &[]);
    assert_eq!(exit, 0, "{text}");
    assert!(!text.contains("newco"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_comment_only_change_says_nothing_changes_on_the_wire() {
    let dir = repo("comments");
    write(&dir, "acme.yaml", ACME);
    commit(&dir, "base");
    write(&dir, "acme.yaml", &format!("# Reviewed 2026-11.\n{ACME}"));
    let (exit, text) = diff(&dir, &["HEAD"]);
    assert_eq!(exit, 0, "{text}");
    assert!(
        text.contains("Nothing changes on the wire (comments, documentation or layout only).")
            && text.contains("| `acme` | changed | +0 −0 |"),
        "{text}"
    );
    let (_, same) = diff(&dir, &["HEAD", "HEAD"]);
    assert!(same.contains("No spec changed."), "{same}");
}

#[test]
fn a_revision_that_does_not_exist_exits_3() {
    let dir = repo("bad_revision");
    write(&dir, "acme.yaml", ACME);
    commit(&dir, "base");
    let (exit, text) = diff(&dir, &["no-such-branch"]);
    assert_eq!(exit, 3, "{text}");
    assert!(
        text.contains("`no-such-branch` is not a revision of this repository"),
        "{text}"
    );
}
