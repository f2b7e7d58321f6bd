# Shared helpers for the project's scripts. Source it; do not run it.
# Everything here is idempotent: a second call does no finished work again.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Time a named stage and remember it, so the test script can print a summary.
STAGE_TIMES=()
stage() {
  local name="$1"; shift
  local t0=$SECONDS
  log "$name"
  "$@"
  local rc=$?
  STAGE_TIMES+=("$(printf '%-40s %4ds' "$name" $((SECONDS - t0)))")
  return $rc
}
print_stage_times() {
  log "stage wall times"
  printf '  %s\n' "${STAGE_TIMES[@]}" >&2
}

# wasm-bindgen-cli must match the crate's wasm-bindgen exactly; read it from Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# True when rustup already provides a wasm32 std (a developer laptop, say).
have_rustup_wasm32() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# Export what a wasm32 build needs. Two routes:
#  - rustup's own wasm32 target, when installed;
#  - Debian's rustc-web linked as the `debian-web` toolchain, with a std we built into its sysroot.
wasm_env() {
  if have_rustup_wasm32; then
    return 0
  fi
  export RUSTUP_TOOLCHAIN=debian-web
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
}

# Builds the browser package into www/pkg (wasm-pack, --target web).
build_web() {
  (cd "$ROOT" && wasm_env && wasm-pack build --release --target web --out-dir www/pkg --no-pack --no-typescript)
  log "wasm size: $(stat -c %s "$ROOT/www/pkg/rngd_lab_bg.wasm") bytes ($(gzip -9c "$ROOT/www/pkg/rngd_lab_bg.wasm" | wc -c) gzipped)"
}
