//! Checks that the wasm build really computes with f32x4: reads the module's
//! code, counts the 128-bit SIMD f32 arithmetic of every function, prints the
//! functions with the most, and fails when a function named by `--require`
//! (a substring of its name in the module's name section) has none.
//!
//! ```text
//! cargo run --example wasm_simd -- www/pkg/rngd_lab_bg.wasm \
//!     --require sgemm_kernel --require precondition_neurons
//! ```
//!
//! Why: `simd128` is a compile-time switch. Without it matrixmultiply falls
//! back to its scalar kernel and LLVM vectorises nothing, and the page still
//! works, only several times slower. Nothing but the disassembly tells.

// wasm-pack's `cargo test` for wasm32 builds the examples too; this one reads
// wasm files from the host and has nothing to do inside a browser.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    host::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use std::collections::HashMap;
    use std::process::ExitCode;

    use wasmparser::{KnownCustom, Name, Operator, Parser, Payload};

    /// f32x4 arithmetic: the instructions a vectorised float loop is made of.
    fn is_f32x4_math(op: &Operator) -> bool {
        use Operator::*;
        matches!(
            op,
            F32x4Add
                | F32x4Sub
                | F32x4Mul
                | F32x4Div
                | F32x4Min
                | F32x4Max
                | F32x4Sqrt
                | F32x4Neg
                | F32x4Abs
                | F32x4RelaxedMadd
                | F32x4RelaxedNmadd
        )
    }

    struct Function {
        name: String,
        f32x4: usize,
        instructions: usize,
    }

    fn scan(bytes: &[u8]) -> Result<Vec<Function>, String> {
        let mut imported = 0u32;
        let mut bodies = Vec::new();
        let mut names = HashMap::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| format!("not a valid wasm module: {e}"))? {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        let import = import.map_err(|e| e.to_string())?;
                        if matches!(import.ty, wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)) {
                            imported += 1;
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
                    let (mut f32x4, mut instructions) = (0, 0);
                    while !reader.eof() {
                        let op = reader.read().map_err(|e| e.to_string())?;
                        instructions += 1;
                        f32x4 += usize::from(is_f32x4_math(&op));
                    }
                    bodies.push((f32x4, instructions));
                }
                Payload::CustomSection(section) => {
                    if let KnownCustom::Name(reader) = section.as_known() {
                        for sub in reader {
                            if let Ok(Name::Function(map)) = sub {
                                for naming in map.into_iter().flatten() {
                                    names.insert(naming.index, naming.name.to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(bodies
            .into_iter()
            .enumerate()
            .map(|(i, (f32x4, instructions))| {
                let index = imported + i as u32;
                let name = names.get(&index).cloned().unwrap_or_else(|| format!("function #{index}"));
                Function { name, f32x4, instructions }
            })
            .collect())
    }

    pub fn main() -> ExitCode {
        let mut args = std::env::args().skip(1);
        let mut path = None;
        let mut required = Vec::new();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--require" => match args.next() {
                    Some(r) => required.push(r),
                    None => return usage("--require needs a name"),
                },
                _ if path.is_none() => path = Some(a),
                _ => return usage(&format!("unexpected argument {a:?}")),
            }
        }
        let Some(path) = path else { return usage("the path of a .wasm file is missing") };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("wasm_simd: cannot read {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut functions = match scan(&bytes) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("wasm_simd: {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let total: usize = functions.iter().map(|f| f.f32x4).sum();
        let with = functions.iter().filter(|f| f.f32x4 > 0).count();
        println!("{path}: {total} f32x4 arithmetic instructions in {with} of {} functions", functions.len());
        functions.sort_by(|a, b| b.f32x4.cmp(&a.f32x4));
        for f in functions.iter().take(12).filter(|f| f.f32x4 > 0) {
            println!("  {:>5} f32x4 / {:>6} instructions  {}", f.f32x4, f.instructions, f.name);
        }
        let mut ok = true;
        for r in &required {
            let matching: Vec<&Function> = functions.iter().filter(|f| f.name.contains(r.as_str())).collect();
            let vectorised = matching.iter().filter(|f| f.f32x4 > 0).count();
            if matching.is_empty() {
                println!("FAIL {r}: no function of that name (inlined away or renamed?)");
                ok = false;
            } else if vectorised == 0 {
                println!("FAIL {r}: {} function(s), none with f32x4 arithmetic", matching.len());
                ok = false;
            } else {
                println!("ok   {r}: f32x4 in {vectorised} of {} function(s)", matching.len());
            }
        }
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn usage(msg: &str) -> ExitCode {
        eprintln!("wasm_simd: {msg}\nusage: cargo run --example wasm_simd -- FILE.wasm [--require NAME]...");
        ExitCode::from(2)
    }
}
