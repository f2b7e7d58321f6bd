//! The command line as a user meets it: exit codes, messages, JSON records and dumps.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array2, Array3};
use ndarray_npy::ReadNpyExt;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rngd-lab"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh folder under the system's temporary directory, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rngd-lab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_npy<D: ndarray::Dimension>(path: &Path) -> ndarray::Array<f32, D>
where
    ndarray::Array<f32, D>: ReadNpyExt,
{
    ndarray::Array::<f32, D>::read_npy(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

#[test]
fn train_writes_the_documented_json_record() {
    let dir = scratch("json");
    let json = dir.join("run.json");
    let o = run(&["train", "--optimizer", "adam", "--epochs", "2", "--hidden", "32", "--json", json.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["optimizer"], "adam");
    assert_eq!(v["config"]["lr"], 0.001, "defaults are written out");
    assert_eq!(v["config"]["hidden"], serde_json::json!([32]));
    let epochs = v["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i as u64 + 1);
        for key in ["train_loss", "test_accuracy", "seconds"] {
            assert!(e[key].as_f64().unwrap().is_finite(), "{key}");
        }
    }
    assert!(epochs[1]["test_accuracy"].as_f64().unwrap() > 0.8);
}

#[test]
fn compare_trains_each_optimizer_and_writes_one_record_each() {
    let dir = scratch("compare");
    let json = dir.join("cmp.json");
    let o = run(&[
        "compare",
        "--optimizers",
        "sgd,rngd",
        "--epochs",
        "1",
        "--hidden",
        "16,16",
        "--validation",
        "500",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("sgd") && table.contains("rngd") && table.contains("valid acc"), "{table}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.iter().map(|r| r["optimizer"].as_str().unwrap()).collect::<Vec<_>>(), ["sgd", "rngd"]);
    assert!(runs[0]["epochs"][0]["validation_accuracy"].as_f64().unwrap() > 0.5);
    assert_eq!(runs[1]["inverse_fallbacks"], 0);
}

#[test]
fn a_diverging_optimizer_is_reported_and_the_others_finish() {
    let o = run(&["compare", "--optimizers", "sgd,adam", "--lr-sgd", "100", "--epochs", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(stderr(&o).contains("sgd diverged at step"), "{}", stderr(&o));
    assert!(out.contains("(diverged)"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("adam") && l.contains('%')), "{out}");
}

#[test]
fn dump_writes_numpy_files_in_the_documented_layout() {
    let dir = scratch("dump");
    let o = run(&[
        "train",
        "--optimizer",
        "rngd",
        "--hidden",
        "12,9",
        "--epochs",
        "1",
        "--refresh",
        "2",
        "--dump",
        dir.to_str().unwrap(),
        "--dump-steps",
        "1,2,3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["sizes"], serde_json::json!([784, 12, 9, 10]));
    assert_eq!(meta["optimizer"], "rngd");
    assert_eq!(meta["config"]["rngd"]["refresh"], 2);
    assert_eq!(meta["metric_layout"], serde_json::json!(["shared", "per_neuron", "shared"]));

    let w0: Array2<f32> = read_npy(&dir.join("init/W0.npy"));
    assert_eq!(w0.dim(), (785, 12));
    let batches = ndarray::Array2::<i64>::read_npy(std::fs::File::open(dir.join("batches.npy")).unwrap()).unwrap();
    assert_eq!(batches.dim(), (3, 50));
    assert!(batches.iter().all(|&r| (0..8000).contains(&r)));

    for step in 1..=3 {
        let s = dir.join(format!("step{step}"));
        let w1: Array2<f32> = read_npy(&s.join("W1.npy"));
        let g1: Array2<f32> = read_npy(&s.join("grad1.npy"));
        assert_eq!((w1.dim(), g1.dim()), ((13, 9), (13, 9)));
        let g0: Array2<f32> = read_npy(&s.join("G0.npy"));
        let ginv0: Array2<f32> = read_npy(&s.join("Ginv0.npy"));
        assert_eq!((g0.dim(), ginv0.dim()), ((785, 785), (785, 785)));
        let g1m: Array3<f32> = read_npy(&s.join("G1.npy"));
        assert_eq!(g1m.dim(), (9, 13, 13));
        // Before the first refresh (T = 2) the stored inverse is the identity; after it, G·G⁻¹ ≈ I up to damping.
        let inv1: Array3<f32> = read_npy(&s.join("Ginv1.npy"));
        let m = g1m.index_axis(ndarray::Axis(0), 0).dot(&inv1.index_axis(ndarray::Axis(0), 0));
        let off = (&m - &Array2::<f32>::eye(13)).mapv(f32::abs).fold(0f32, |a, &b| a.max(b));
        if step < 2 {
            assert_eq!(inv1.index_axis(ndarray::Axis(0), 0), Array2::<f32>::eye(13));
        } else if step == 2 {
            assert!(off < 1e-2, "step {step}: G·G⁻¹ deviates from I by {off}");
        }
    }
    // W after step 1 = W before − lr · update; with the identity inverse, the update is the gradient.
    let w_after: Array2<f32> = read_npy(&dir.join("step1/W2.npy"));
    let w_before: Array2<f32> = read_npy(&dir.join("init/W2.npy"));
    let grad: Array2<f32> = read_npy(&dir.join("step1/grad2.npy"));
    let lr = meta["config"]["lr"].as_f64().unwrap() as f32;
    let err = (&w_before - &(&grad * lr) - &w_after).mapv(f32::abs).fold(0f32, |a, &b| a.max(b));
    assert!(err < 1e-6, "step 1 is a plain gradient step before the first refresh: {err}");
}

#[test]
fn data_folder_of_idx_files_is_read_and_corruption_named() {
    use rngd_lab::data::idx::encode_ubyte;
    let dir = scratch("data");
    let n = 300;
    let pixels: Vec<u8> = (0..n * 784).map(|i| ((i * 31 + i / 784 * 7) % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(dir.join("train-images-idx3-ubyte"), encode_ubyte(&[n, 28, 28], &pixels)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), encode_ubyte(&[n], &labels)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), encode_ubyte(&[n, 28, 28], &pixels)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), encode_ubyte(&[n], &labels)).unwrap();
    let o = run(&["train", "--data", dir.to_str().unwrap(), "--epochs", "1", "--hidden", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("300 training, 300 test"), "{}", stderr(&o));

    let mut bad = labels.clone();
    bad[7] = 11;
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), encode_ubyte(&[n], &bad)).unwrap();
    let o = run(&["train", "--data", dir.to_str().unwrap(), "--epochs", "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("test split: test labels: label 11 at index 7 is out of range 0..10"),
        "{}",
        stderr(&o)
    );
}

/// The JSON record of a one-epoch `train` run with `extra` arguments, or the failed output.
fn train_record(name: &str, extra: &[&str], env: &[(&str, &str)]) -> Result<(serde_json::Value, Output), Output> {
    let dir = scratch(name);
    let json = dir.join("run.json");
    let mut cmd = bin();
    cmd.args(["train", "--epochs", "1", "--hidden", "16,16", "--json", json.to_str().unwrap()]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("the binary runs");
    if !o.status.success() {
        return Err(o);
    }
    let v = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    Ok((v, o))
}

/// Hides every Vulkan driver (natively wgpu uses Vulkan only), so no adapter exists.
const NO_ADAPTER: [(&str, &str); 2] =
    [("VK_ICD_FILENAMES", "/nonexistent/no-icd.json"), ("VK_DRIVER_FILES", "/nonexistent/no-icd.json")];

/// What the library says when it finds no adapter.
const NO_ADAPTER_SAYS: &str = "no GPU adapter";

#[test]
fn backend_cpu_trains_and_the_record_says_so() {
    let (v, o) = train_record("backend-cpu", &["--backend", "cpu"], &[]).unwrap_or_else(|o| panic!("{}", stderr(&o)));
    assert_eq!(v["config"]["backend"], "cpu", "the backend asked for");
    assert_eq!(v["backend"]["kind"], "cpu", "the backend used");
    assert!(v["backend"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
    assert!(stderr(&o).contains("backend cpu: "), "{}", stderr(&o));
    assert!(v["epochs"][0]["test_accuracy"].as_f64().unwrap() > 0.5);
}

#[test]
fn backend_gpu_trains_on_an_adapter_or_says_there_is_none() {
    match train_record("backend-gpu", &["--backend", "gpu"], &[]) {
        Ok((v, o)) => {
            // An adapter exists (lavapipe counts): the run is on it, and says which.
            assert_eq!(v["config"]["backend"], "gpu");
            assert_eq!(v["backend"]["kind"], "gpu", "{v}");
            let adapter = v["backend"]["adapter"].as_str().expect("a GPU run names its adapter");
            assert!(stderr(&o).contains(&format!("backend gpu ({adapter}")), "{}", stderr(&o));
            // It learns what the CPU learns from the same initialisation and batches.
            let (cpu, _) = train_record("backend-gpu-cpu", &["--backend", "cpu"], &[])
                .unwrap_or_else(|o| panic!("{}", stderr(&o)));
            let acc = |r: &serde_json::Value| r["epochs"][0]["test_accuracy"].as_f64().unwrap();
            assert!((acc(&v) - acc(&cpu)).abs() < 0.02, "gpu {} vs cpu {}", acc(&v), acc(&cpu));
        }
        Err(o) => assert!(stderr(&o).contains(NO_ADAPTER_SAYS), "{}", stderr(&o)),
    }
}

#[test]
fn without_an_adapter_gpu_fails_clearly_and_auto_trains_on_the_cpu() {
    let o = match train_record("no-adapter-gpu", &["--backend", "gpu"], &NO_ADAPTER) {
        Ok((v, _)) => panic!("--backend gpu trained without an adapter: {v}"),
        Err(o) => o,
    };
    assert!(stderr(&o).contains(NO_ADAPTER_SAYS), "{}", stderr(&o));
    let (v, o) = train_record("no-adapter-auto", &["--backend", "auto"], &NO_ADAPTER)
        .unwrap_or_else(|o| panic!("{}", stderr(&o)));
    assert_eq!(v["config"]["backend"], "auto");
    assert_eq!(v["backend"]["kind"], "cpu");
    assert!(stderr(&o).contains("backend cpu: auto"), "the reason says why: {}", stderr(&o));

    let o = bin().args(["bench", "--backends", "gpu", "--hidden", "8"]).envs(NO_ADAPTER).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains(NO_ADAPTER_SAYS), "{}", stderr(&o));
}

#[test]
fn bench_times_every_optimizer_on_every_backend() {
    let dir = scratch("bench");
    let json = dir.join("bench.json");
    let o = run(&[
        "bench",
        "--rounds",
        "3",
        "--steps",
        "4",
        "--warmup",
        "2",
        "--hidden",
        "12,12",
        "--batch",
        "20",
        "--variants",
        "1:0,4:0",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!((v["rounds"].as_u64(), v["steps_per_round"].as_u64()), (Some(3), Some(4)));
    let gpu = v["backends"].get("gpu").cloned();
    // Without an adapter the GPU is left out, and the output says why.
    assert_eq!(gpu.is_none(), v["skipped"].get("gpu").is_some(), "{v}");
    let net = &v["nets"][0];
    assert_eq!(net["sizes"], serde_json::json!([784, 12, 12, 10]));
    let names: Vec<&str> = net["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sgd", "adam", "rngd", "rngd k=4 r=0"]);
    for row in net["rows"].as_array().unwrap() {
        let cpu = &row["cells"]["cpu"];
        assert_eq!(cpu["backend"]["kind"], "cpu");
        assert_eq!(cpu["ms_per_step_rounds"].as_array().unwrap().len(), 3, "{row}");
        assert!(cpu["ms_per_step_median"].as_f64().unwrap() > 0.0);
        assert!(cpu["ratio_to_sgd"].as_f64().unwrap() > 0.0);
        assert!(cpu["split_seconds"]["forward_backward"].as_f64().unwrap() > 0.0);
        if let Some(g) = &gpu {
            let cell = &row["cells"]["gpu"];
            assert_eq!(cell["backend"]["kind"], "gpu", "{row}");
            assert_eq!(cell["ms_per_step_rounds"].as_array().unwrap().len(), 3, "{row}");
            assert!(row["gpu_over_cpu"].as_f64().unwrap() > 0.0, "{row}");
            let software = cell["software_adapter"].as_bool().unwrap();
            assert_eq!(software, out.contains("gpu (software) ms/step"), "{out}");
            assert_eq!(g["adapter"], cell["backend"]["adapter"]);
        }
    }
    assert!(out.contains("cpu ms/step") && out.contains("÷ sgd") && out.contains("rngd k=4 r=0"), "{out}");
    assert!(out.contains("median of 3 rounds × 4 steps"), "{out}");
    if gpu.is_some() {
        assert!(out.contains("gpu ÷ cpu"), "{out}");
    } else {
        assert!(out.contains("gpu  not timed: "), "{out}");
    }
}
