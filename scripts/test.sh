#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, doc tests, then every test of the
# workspace under cargo-nextest (installed here if the machine lacks it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

# node-oidc-provider for the OpenID interoperability tests (tests/oidc/package-lock.json).
npm ci --prefix tests/oidc --no-audit --no-fund

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --doc
for example in faciconnect fanbase bs2 bfluence; do
  cargo run -q --example "$example" >/dev/null
done
cargo run -q -p tokenspec-own-specs-example >/dev/null
cargo nextest run --workspace --no-fail-fast
