#!/usr/bin/env bash
# The public API of both crates against the last release: cargo-semver-checks fails on any
# change the version in Cargo.toml does not allow (before 1.0, a breaking change needs the next
# minor version). Items under `#[doc(hidden)]`, such as `tokenspec::__private`, are not API.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo semver-checks --version >/dev/null 2>&1; then
  cargo install cargo-semver-checks --locked
fi

# The last release and the commit its tag names. A clone without tags still has the commit.
release=0.1.0
commit=432479fd276141c56f57ac4a63d56d0098794fbf
baseline=$(git rev-parse -q --verify "refs/tags/$release^{commit}" || echo "$commit")

# tokenspec-descriptor is new since 0.1.0, so it has no release to compare with yet; its
# types are the generated-code contract, whose growth the data form and its tests cover
# (docs/design.md, "Versions and compatibility"). Add it here after the next release.
cargo semver-checks --package tokenspec --package tokenspec-codegen \
  --baseline-rev "$baseline" --all-features
