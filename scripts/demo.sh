#!/usr/bin/env bash
# Sets everything up, builds the wasm package and serves the page on 127.0.0.1.
# PORT=8080 by default; the URL is printed once the server listens.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
bash scripts/bootstrap.sh --no-browser
build_web
log "open the URL below in a browser with WebGPU (Chrome, Edge); Ctrl-C stops the server"
exec node scripts/serve.mjs --port "${PORT:-8080}"
