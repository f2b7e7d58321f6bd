#!/usr/bin/env bash
# Sets everything up, then runs every test: native cargo tests (with the WGSL
# kernels on a software Vulkan driver), the wasm tests in headless Chrome with
# WebGPU, and the page's end-to-end tests. Prints each stage's wall time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

native_tests() { RNGD_REQUIRE_GPU=1 cargo test --locked; }
# Not --release: LTO in the release profile cannot link the test harness
# ("failed to get bitcode from object file"); dev builds optimise dependencies anyway.
# The GPU parity test trains 18 runs on SwiftShader, Chrome's software WebGPU,
# far past wasm-bindgen-test's default 20 s per test.
# A subshell: wasm_env's toolchain and linker must not leak into the later
# native stages (the disassembly check runs cargo for the host).
wasm_tests() (
  wasm_env
  CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-1200}" \
    wasm-pack test --headless --chrome
)
e2e_tests() { node --test --test-reporter=spec tests/e2e/; }
# simd128 is a compile-time switch (.cargo/config.toml) whose absence breaks
# nothing but speed: read the page's wasm and insist that the matrix kernel and
# the per-neuron preconditioning compute with f32x4.
wasm_simd_check() {
  cargo run --locked --quiet --example wasm_simd -- www/pkg/rngd_lab_bg.wasm \
    --require sgemm_kernel --require precondition_neuron --require NeuronMetrics::update
}

stage "bootstrap (install what is missing)" bash scripts/bootstrap.sh
stage "native: cargo test" native_tests
stage "wasm: wasm-pack test --headless --chrome" wasm_tests
stage "wasm: wasm-pack build --target web" build_web
stage "wasm: f32x4 in the hot loops (disassembly)" wasm_simd_check
stage "browser end-to-end tests" e2e_tests
print_stage_times
