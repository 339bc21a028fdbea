#!/usr/bin/env bash
# Every benchmark, each with its same-run baseline, as one Markdown table:
# runtime and generator figures (benches/tokenspec.rs), then the compile cost of providers.
#   bash scripts/bench.sh            # everything (about 10 minutes on 2 cores)
#   bash scripts/bench.sh hot fetch  # only some runtime sections (hot, stampede, fetch,
#                                    # generator, memory, lifetimes, fleet, sessions, assertions, mtls,
#                                    # integrations, dpop)
#   bash scripts/bench.sh compile    # only the compile-cost builds
#   bash scripts/bench.sh consumer   # only the cold build of a crate depending on one provider
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# A redis-server on a free loopback port, for the fleet figures.
if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq redis-server
fi
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
redis_pid=$!
export TOKENSPEC_BENCH_REDIS="redis://127.0.0.1:$redis_port/"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(rustc --version)"
echo
calc() { python3 -c "print($1)"; }
met() { if [ "$(calc "$1")" = True ]; then echo yes; else echo '**no**'; fi; }

# Cold build of a new crate that depends on tokenspec with one provider (bs2), from an empty
# target folder with the registry already downloaded: against the revision before consumers
# stopped compiling the generator, against this working tree, and against the floor: a crate
# that depends only on the HTTPS stack tokenspec sits on (reqwest, rustls with ring and the
# platform verifier, tokio, serde_json), at the versions of this lockfile.
consumer() {
  local base_rev="${TOKENSPEC_CONSUMER_BASE:-de0981a}" work dependency seconds crates main
  work="$(mktemp -d)"
  git worktree add -q --detach "$work/before" "$base_rev"
  for side in before after floor; do
    main='fn main() { let _ = tokenspec::bs2::Client::builder(); }'
    case "$side" in
      before) dependency="tokenspec = { path = \"$work/before\", default-features = false, features = [\"bs2\"] }" ;;
      after) dependency="tokenspec = { path = \"$root\", default-features = false, features = [\"bs2\"] }" ;;
      floor)
        dependency=$(sed -n '/^\[dependencies\]/,/^\[/p' "$root/Cargo.toml" | grep -E '^(reqwest|rustls|rustls-platform-verifier|tokio) ')
        dependency="$dependency
serde_json = \"1\""
        main='fn main() { let _ = reqwest::Client::builder(); let _ = rustls::crypto::ring::default_provider(); let _ = rustls_platform_verifier::Verifier::new; let _ = tokio::runtime::Builder::new_current_thread(); let _ = serde_json::from_str::<serde_json::Value>("1"); }'
        ;;
    esac
    mkdir -p "$work/$side-crate/src"
    cat >"$work/$side-crate/Cargo.toml" <<TOML
[package]
name = "tokenspec-consumer"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$dependency

[workspace]
TOML
    echo "$main" >"$work/$side-crate/src/main.rs"
    cp "$root/Cargo.lock" "$work/$side-crate/Cargo.lock"
    local start end
    start=$(date +%s.%N)
    crates=$(cd "$work/$side-crate" && CARGO_TARGET_DIR="$work/$side-target" cargo build --offline 2>&1 | grep -c '^ *Compiling ')
    end=$(date +%s.%N)
    seconds=$(calc "$end - $start")
    eval "${side}_seconds=$seconds; ${side}_crates=$crates"
  done
  git worktree remove --force "$work/before"
  rm -rf "$work"
  local speedup best
  speedup=$(calc "$before_seconds / $after_seconds")
  best=$(calc "$before_seconds / $floor_seconds")
  printf '| cold debug build of a crate using one provider (%s crates compiled) | %.1f s | %.1f s at %s (%s crates, generator included) | %.2f× faster | ≥ 2× faster | %s |\n' \
    "$after_crates" "$after_seconds" "$before_seconds" "$base_rev" "$before_crates" "$speedup" "$(met "$speedup >= 2")"
  printf '|   floor: the HTTPS stack alone (%s crates) | %.1f s | - | at most %.2f× faster | - | - |\n' \
    "$floor_crates" "$floor_seconds" "$best"
}

if [ "${1:-}" = consumer ]; then
  kill "$redis_pid" 2>/dev/null || true
  consumer
  exit 0
fi
if [ "${1:-}" != compile ]; then
  cargo bench -q --features redis,reqwest-middleware,tower,metrics --bench tokenspec -- "$@" 2>/dev/null | grep '^|'
fi
kill "$redis_pid" 2>/dev/null || true
if [ $# -gt 0 ] && [ "$1" != compile ]; then
  exit 0
fi

# Compile cost: a copy of the crate, its dependencies prebuilt, so only tokenspec itself builds.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git ls-files -z | grep -zv '^fuzz/\|^tests/oidc/' | xargs -0 -I{} cp --parents {} "$work/"
export CARGO_TARGET_DIR="$work/target"
cd "$work"
# These builds compile the modules of generated/, as crates depending on tokenspec do.
cargo build -q -p tokenspec 2>/dev/null
cargo build -q -p tokenspec --no-default-features --features bs2 2>/dev/null

# Seconds to rebuild the tokenspec crate (build script included) with the given cargo flags.
rebuild() {
  touch generated src/lib.rs
  local start end
  start=$(date +%s.%N)
  cargo build -q -p tokenspec "$@" 2>/dev/null
  end=$(date +%s.%N)
  calc "$end - $start"
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

shipped=$(ls specs/*.yaml | wc -l)
seed_all=$(median3 "$(rebuild)" "$(rebuild)" "$(rebuild)")
seed_one=$(median3 "$(rebuild --no-default-features --features bs2)" "$(rebuild --no-default-features --features bs2)" "$(rebuild --no-default-features --features bs2)")

cargo run -q -p tokenspec-codegen --example synthetic_specs -- 200 specs >/dev/null 2>&1
cargo run -q -p tokenspec-codegen -- generate >/dev/null 2>&1
features=$(for i in $(seq -f '%04g' 0 199); do printf 'synthetic_%s = []\n' "$i"; done)
defaults=$(for i in $(seq -f '%04g' 0 199); do printf '"synthetic_%s", ' "$i"; done)
python3 - "$features" "$defaults" <<'PY'
import sys
text = open('Cargo.toml').read()
text = text.replace('fanbase = []\n', 'fanbase = []\n' + sys.argv[1] + '\n', 1)
text = text.replace('default = [', 'default = [' + sys.argv[2], 1)
open('Cargo.toml', 'w').write(text)
PY
cargo build -q -p tokenspec 2>/dev/null
many_all=$(median3 "$(rebuild)" "$(rebuild)" "$(rebuild)")
cargo build -q -p tokenspec --no-default-features --features bs2 2>/dev/null
many_one=$(median3 "$(rebuild --no-default-features --features bs2)" "$(rebuild --no-default-features --features bs2)" "$(rebuild --no-default-features --features bs2)")

per_provider_ms=$(calc "($many_all - $seed_all) * 1000 / 200")
one_ratio=$(calc "$many_one / $seed_one")
printf '| debug build, %s shipped specs, all features | %.2f s | - | - | - | - |\n' "$shipped" "$seed_all"
printf '| debug build, %s specs, all features | %.2f s | %.2f s with %s specs | %.0f ms per added provider | ≤ 50 ms per provider | %s |\n' \
  "$((shipped + 200))" "$many_all" "$seed_all" "$shipped" "$per_provider_ms" "$(met "$per_provider_ms <= 50")"
printf '| debug build, %s specs, one feature | %.2f s | %.2f s with %s specs | %.2f× | independent of spec count (≤ 1.1×) | %s |\n' \
  "$((shipped + 200))" "$many_one" "$seed_one" "$shipped" "$one_ratio" "$(met "$one_ratio <= 1.1")"
cd "$root"
