//! The `rust-version` declared in the workspace's `Cargo.toml` (the MSRV) is at least the
//! `rust-version` of every package in the locked dependency graph, optional features included.
//!
//! Why this test and not a build with the old toolchain: CI cannot download another Rust
//! toolchain, so it can never compile the crate with the declared minimum to prove it. What it
//! can check is the lockfile's own requirements: every locked package states the oldest Rust it
//! builds with, and cargo refuses (or a user's resolver picks other versions) when that is newer
//! than the toolchain. A declared MSRV below any of them is a claim nobody can keep, so this test
//! fails with the list of packages that need more, and the fix is to raise `rust-version` (or to
//! lock older versions of those packages).
//!
//! The graph comes from `cargo metadata --all-features --offline`, walked from the workspace
//! members through `resolve` (normal, build and dev dependencies). Packages for other platforms
//! (Windows, macOS, wasm, ...) are only in that answer when their sources are already in the
//! local cargo registry; when they are not, the offline call fails and the test checks the graph
//! for the host platform instead, saying so on stderr.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A Rust version as `major.minor.patch`, missing parts being 0 (`"1.85"` is `1.85.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RustVersion([u64; 3]);

impl RustVersion {
    fn parse(text: &str) -> RustVersion {
        let mut parts = [0; 3];
        let fields: Vec<&str> = text.trim().split('.').collect();
        assert!(
            (1..=3).contains(&fields.len()),
            "`{text}` is not a Rust version (major[.minor[.patch]])"
        );
        for (part, field) in parts.iter_mut().zip(fields) {
            *part = field.parse().unwrap_or_else(|_| {
                panic!("`{text}` is not a Rust version (major[.minor[.patch]])")
            });
        }
        RustVersion(parts)
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `workspace.package.rust-version` from the workspace's `Cargo.toml`.
fn declared_rust_version() -> (String, RustVersion) {
    let path = manifest_dir().join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()));
    let declared = manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| {
            panic!(
                "{} declares no `rust-version` under [workspace.package]",
                path.display()
            )
        });
    (declared.to_owned(), RustVersion::parse(declared))
}

/// Runs `cargo metadata --format-version 1 --all-features --offline` plus `extra` arguments.
fn metadata(extra: &[&str]) -> Result<Value, String> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--offline",
        ])
        .args(extra)
        .current_dir(manifest_dir())
        .output()
        .map_err(|e| format!("cannot run `{} metadata`: {e}", cargo()))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata's answer: {e}"))
}

/// The host target triple, from the `host:` line of `cargo -vV`.
fn host_triple() -> String {
    let output = Command::new(cargo())
        .arg("-vV")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{} -vV`: {e}", cargo()));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .expect("`cargo -vV` names the host triple")
}

/// The whole graph for every platform when the offline registry has all of it, else the graph
/// for the host platform.
fn locked_graph() -> Value {
    match metadata(&[]) {
        Ok(graph) => graph,
        Err(all_platforms) => {
            let host = host_triple();
            eprintln!(
                "cargo metadata for every platform failed offline, so only the packages built \
                 for {host} are checked:\n{all_platforms}"
            );
            metadata(&["--filter-platform", &host]).unwrap_or_else(|for_host| {
                panic!(
                    "cargo metadata failed for every platform:\n{all_platforms}\n\
                     and for {host}:\n{for_host}"
                )
            })
        }
    }
}

fn ids(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

#[test]
fn the_declared_rust_version_covers_every_locked_dependency() {
    let (declared_text, declared) = declared_rust_version();
    let graph = locked_graph();

    let packages: HashMap<&str, &Value> = graph["packages"]
        .as_array()
        .expect("cargo metadata lists packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("package id"), p))
        .collect();
    let dependencies: HashMap<&str, Vec<&str>> = graph["resolve"]["nodes"]
        .as_array()
        .expect("cargo metadata has a resolve graph")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["pkg"].as_str())
                .collect();
            (node["id"].as_str().expect("node id"), deps)
        })
        .collect();

    let mut reachable = BTreeSet::new();
    let mut to_visit: Vec<&str> = ids(&graph["workspace_members"]).collect();
    assert!(
        !to_visit.is_empty(),
        "cargo metadata names no workspace members"
    );
    while let Some(id) = to_visit.pop() {
        if reachable.insert(id) {
            to_visit.extend(dependencies.get(id).into_iter().flatten());
        }
    }

    // (needed version, as written, "name version needs Rust x")
    let mut too_new: Vec<(RustVersion, &str, String)> = reachable
        .iter()
        .filter_map(|id| {
            let package = packages.get(id)?;
            let needs = package["rust_version"].as_str()?;
            let version = RustVersion::parse(needs);
            (version > declared).then(|| {
                let name = package["name"].as_str().unwrap_or(id);
                let locked = package["version"].as_str().unwrap_or("?");
                (
                    version,
                    needs,
                    format!("{name} {locked} needs Rust {needs}"),
                )
            })
        })
        .collect();
    too_new.sort();
    too_new.reverse();

    if let Some((_, highest, _)) = too_new.first() {
        let list: Vec<&str> = too_new.iter().map(|(_, _, line)| line.as_str()).collect();
        panic!(
            "Cargo.toml declares rust-version = \"{declared_text}\", but these locked packages \
             ({} of {}) need a newer Rust; raise [workspace.package] rust-version to at least \
             \"{highest}\" (or lock older versions of them):\n  {}",
            list.len(),
            reachable.len(),
            list.join("\n  ")
        );
    }
}

#[test]
fn rust_versions_compare_by_number_with_missing_parts_as_zero() {
    assert_eq!(RustVersion::parse("1.85"), RustVersion::parse("1.85.0"));
    assert!(RustVersion::parse("1.9") < RustVersion::parse("1.85"));
    assert!(RustVersion::parse("1.85.1") > RustVersion::parse("1.85"));
    assert!(RustVersion::parse("2") > RustVersion::parse("1.99.9"));
}
