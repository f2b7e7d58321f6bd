#!/usr/bin/env bash
# Installs everything the demo and the tests need, and skips what is already there.
# Usage: scripts/bootstrap.sh [--no-browser]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WANT_BROWSER=1
[ "${1:-}" = "--no-browser" ] && WANT_BROWSER=0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# ---- Debian packages -------------------------------------------------------
apt_missing() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  printf '%s\n' "${missing[@]}"
}
apt_install() {
  local missing
  missing=$(apt_missing "$@")
  [ -z "$missing" ] && return 0
  log "apt-get install: $(echo $missing)"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# No binaryen: wasm-opt is off in Cargo.toml (see the README), so wasm-pack never runs it.
pkgs=(mesa-vulkan-drivers libvulkan1)
have_rustup_wasm32 || pkgs+=(rustc-web rust-web-src lld-19)
[ "$WANT_BROWSER" = 1 ] && pkgs+=(chromium chromium-driver)
apt_install "${pkgs[@]}"

# ---- wasm32 standard library ----------------------------------------------
# rustup cannot download the wasm32 target here, so we build std from Debian's
# rust-web-src once, into rustc-web's sysroot. A stamp records which rustc built it.
build_wasm_std() {
  local sysroot=/usr/lib/rustlib/wasm32-unknown-unknown/lib
  local stamp=$sysroot/.rngd-lab-std-stamp
  local want
  want="$(/usr/bin/rustc --version)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "building the wasm32 std for $want (about a minute)"
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/src"
  cat > "$tmp/Cargo.toml" <<'TOML'
[package]
name = "stdbuild"
version = "0.0.0"
edition = "2021"
[lib]
path = "src/lib.rs"
[workspace]
TOML
  echo '#![no_std]' > "$tmp/src/lib.rs"
  (cd "$tmp" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo build -q --release \
     --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort,panic_unwind,test,proc_macro)
  # Replace the folder whole, so no two copies of a crate sit side by side.
  $SUDO rm -rf "$sysroot"
  $SUDO mkdir -p "$sysroot"
  find "$tmp/target/wasm32-unknown-unknown/release/deps" -name 'lib*.rlib' ! -name 'libstdbuild-*' \
    -exec $SUDO cp {} "$sysroot/" \;
  echo "$want" | $SUDO tee "$stamp" >/dev/null
  rm -rf "$tmp"
}
if ! have_rustup_wasm32; then
  build_wasm_std
  rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
fi

# ---- cargo-installed tools -------------------------------------------------
WASM_PACK_VERSION=0.15.1
if ! wasm-pack --version 2>/dev/null | grep -q "$WASM_PACK_VERSION"; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo install -q --locked wasm-pack --version "$WASM_PACK_VERSION"
fi
WB=$(wasm_bindgen_version)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  log "cargo install wasm-bindgen-cli $WB (a few minutes)"
  # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
  cargo install -q wasm-bindgen-cli --version "$WB" --force
fi

# ---- npm packages ----------------------------------------------------------
cd "$ROOT"
# npm ci only when package-lock.json changed since the last install (a stamp holds its hash).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.rngd-lab-lock 2>/dev/null)" != "$lock_sum" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.rngd-lab-lock
fi
node scripts/vendor.mjs
log "bootstrap done"
