#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_SECONDS each, default 60) and prints the
# executions and findings of each. cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP lets the
# stable toolchain build with them, so no other toolchain is needed.
#   bash scripts/fuzz.sh                 # every target, 60 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh spec_to_code
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(token_response jwt_exp spec_to_code)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

printf '%-16s %8s %14s %10s %s\n' target seconds executions exec/s crashes
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="$(mktemp)"
  status=0
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  crashes=$(find "artifacts/$target" -type f | wc -l)
  printf '%-16s %8s %14s %10s %s\n' "$target" "$seconds" "$execs" "$rate" "$crashes"
  if [ "$status" -ne 0 ]; then
    echo "--- $target failed (exit $status); the end of its log:" >&2
    tail -40 "$log" >&2
    exit "$status"
  fi
  rm -f "$log"
done
