//! Times one of the page's lessons natively, three runs, and prints its headline numbers:
//!
//!   cargo run --release --example lesson_timing -- neuron '{"samples": 200}'
//!   cargo run --release --example lesson_timing -- exact '{"batch": 48, "classes": 4, "width": 6}'
//!
//! The bundled MNIST subset is passed to every lesson (those without a use for it ignore it).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::Instant;
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "neuron".into());
    let params: serde_json::Value =
        args.next().map_or(serde_json::Value::Null, |s| serde_json::from_str(&s).expect("parameters as JSON"));
    let data = rngd_lab::data::bundled::mnist_subset().expect("the bundled MNIST subset parses");
    for _ in 0..3 {
        let t = Instant::now();
        let out = match rngd_lab::lessons::run(&name, &params, Some(&data)) {
            Ok(out) => out,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        println!("{name}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        if let Some(methods) = out["methods"].as_array() {
            for m in methods {
                let last =
                    |k: &str| m[k].as_array().and_then(|a| a.last()).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
                println!(
                    "  {:6} loss {:.4}, test accuracy {:.3}, steps to GD's final loss {}",
                    m["id"].as_str().unwrap_or("?"),
                    last("loss"),
                    last("test_accuracy"),
                    m["steps_to_gd_final"]
                );
            }
        }
        if out.get("fisher").is_some() {
            println!(
                "  full FIM rank {} (bound {}), RNGD blocks rank {} of {}; cosines {}",
                out["fisher"]["rank"], out["fisher"]["bound"], out["rfim"]["rank"], out["params"], out["cosine"]
            );
        }
    }
}
