#!/usr/bin/env bash
# The main job on the shipped specs: check them, regenerate generated/ from specs/, then run each
# seed provider's example against its local stand-in token server.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run -q -p tokenspec-codegen -- check
cargo run -q -p tokenspec-codegen -- generate
git diff --stat -- generated/ 2>/dev/null || true
for provider in faciconnect fanbase bs2 bfluence google_service_account; do
  echo
  echo "== cargo run --example $provider"
  cargo run -q --example "$provider"
done
echo
echo "== cargo run --example efi --features pkcs12"
cargo run -q --example efi --features pkcs12
