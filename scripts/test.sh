#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, doc tests, then every test of the
# workspace under cargo-nextest (installed here if the machine lacks it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
# cargo-deny for licences, banned crates and sources (deny.toml); these checks need no advisory
# database, so they run wherever the package registry is reachable.
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install cargo-deny --locked
fi

# The two independent servers of the interoperability tests: node-oidc-provider
# (tests/oidc/package-lock.json) and @node-oauth/oauth2-server (tests/oauth2-server/).
npm ci --prefix tests/oidc --no-audit --no-fund
npm ci --prefix tests/oauth2-server --no-audit --no-fund
# redis-server for the fleet and session tests, PostgreSQL for the durable sessions, chromium
# and its WebDriver for the browser journey of examples/web-sessions (all started by the tests
# themselves on loopback ports).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# PostgreSQL for the durable session tests (tests/support/postgres_server.rs finds its binaries
# on the PATH or in /usr/lib/postgresql/<version>/bin).
command -v pg_isready >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_isready >/dev/null 2>&1 \
  || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

cargo fmt --all -- --check
cargo deny --log-level error check licenses bans sources
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features --doc
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps
# The three crates package, and each builds from its package alone: the runtime and the
# generator against the descriptor's package, the generator against the runtime's (cargo's
# local registry overlay), as `cargo publish` would in that order.
# cargo takes a registry crate of a given version as immutable: it reuses the copy of that
# overlay it unpacked under $CARGO_HOME/registry/src/-<hash>/, and the artifacts it built from
# it, even after the package changed under the same version. So a second run on one machine
# would verify against the first run's crates. The verification builds in its own target
# folder, and our crates' unpacked copies and artifacts are removed first.
verify_target=target/package-verify
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/tokenspec-* \
  "$verify_target"/debug/.fingerprint/tokenspec-* "$verify_target"/debug/deps/*tokenspec*
CARGO_TARGET_DIR="$verify_target" \
  cargo package -p tokenspec-descriptor -p tokenspec -p tokenspec-codegen --allow-dirty --quiet
# The public API against the last release (installs cargo-semver-checks if needed).
bash scripts/semver.sh
# One feature set for every example, so the library is built once for all of them.
for example in efi faciconnect fanbase bs2 bfluence google_service_account middleware tower operations; do
  cargo run -q --example "$example" --features pkcs12,reqwest-middleware,tower,metrics >/dev/null
done
cargo run -q -p tokenspec-own-specs-example >/dev/null
cargo nextest run --workspace --all-features --no-fail-fast
