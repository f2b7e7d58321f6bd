//! The native command line: trains and compares optimizers headless.
//!
//! `rngd-lab train --optimizer sgd --epochs 5 --seed 1 --lr 0.05 --json out.json`

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

// The CLI reads files and the clock, which a browser page cannot; on wasm32 the
// crate is a library only and this binary has nothing to do.
#[cfg(target_arch = "wasm32")]
fn main() {}
