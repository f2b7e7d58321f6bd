//! Bad input to the command line, as a careful new user would try it: every row
//! must fail with an exit code (not a signal or a panic) and a message that
//! names the flag, the field or the limit at fault. `cargo test --test
//! bad_input -- --nocapture` prints the table of inputs and messages.
#![cfg(not(target_arch = "wasm32"))]

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rngd-lab")).args(args).output().expect("the binary runs")
}

/// A scratch folder for path rows, unique per process.
fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rngd-lab-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Rows: the arguments after the binary's name, and what its message must say.
fn rows(dir: &str) -> Vec<(Vec<String>, &'static str)> {
    let file = format!("{dir}/a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let deep = (0..65).map(|_| "1").collect::<Vec<_>>().join(",");
    let forty = (0..40).map(|_| "4096").collect::<Vec<_>>().join(",");
    let a = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    vec![
        // The learning rate and the other numbers of every optimizer.
        (a(&["train", "--lr", "nan"]), "lr must be a positive number, got NaN"),
        (a(&["train", "--lr", "inf"]), "lr must be a positive number, got inf"),
        (a(&["train", "--lr=-inf"]), "lr must be a positive number, got -inf"),
        (a(&["train", "--lr", "-0.5"]), "lr must be a positive number, got -0.5"),
        (a(&["train", "--lr", "0"]), "lr must be a positive number, got 0"),
        (a(&["train", "--lr", "1e9"]), "lr 1e9 is too large (at most 100)"),
        (a(&["train", "--lr", "fast"]), "invalid value 'fast' for '--lr <LR>'"),
        (a(&["train", "--momentum", "1"]), "momentum must be in [0, 1), got 1"),
        (a(&["train", "--momentum", "-0.1"]), "momentum must be in [0, 1), got -0.1"),
        (a(&["train", "--momentum", "nan"]), "momentum must be in [0, 1), got NaN"),
        (a(&["train", "--weight-decay", "1"]), "weight_decay must be in [0, 1), got 1"),
        (a(&["train", "--weight-decay", "nan"]), "weight_decay must be in [0, 1), got NaN"),
        (a(&["train", "--l2", "1e300"]), "l2 must be in [0, 1], got 1e300"),
        (a(&["train", "--l2", "-1"]), "l2 must be in [0, 1], got -1"),
        (a(&["train", "--l2", "inf"]), "l2 must be in [0, 1], got inf"),
        (a(&["train", "--init-std", "0"]), "init_std must be in (0, 10], got 0"),
        (a(&["train", "--init-std", "11"]), "init_std must be in (0, 10], got 11"),
        (a(&["train", "--init-std", "nan"]), "init_std must be in (0, 10], got NaN"),
        (a(&["train", "--optimizer", "adam", "--beta1", "1"]), "adam betas must be in [0, 1), got 1 and 0.999"),
        (a(&["train", "--optimizer", "adam", "--beta2", "-0.5"]), "adam betas must be in [0, 1), got 0.9 and -0.5"),
        (a(&["train", "--optimizer", "adam", "--adam-eps", "0"]), "adam eps must be in (0, 1], got 0"),
        (a(&["train", "--optimizer", "adam", "--adam-eps", "2"]), "adam eps must be in (0, 1], got 2"),
        (a(&["train", "--optimizer", "adam", "--adam-eps", "nan"]), "adam eps must be in (0, 1], got NaN"),
        (a(&["train", "--optimizer", "rngd", "--lambda", "0"]), "rngd lambda must be in (0, 1], got 0"),
        (a(&["train", "--optimizer", "rngd", "--lambda", "1.5"]), "rngd lambda must be in (0, 1], got 1.5"),
        (a(&["train", "--optimizer", "rngd", "--lambda", "nan"]), "rngd lambda must be in (0, 1], got NaN"),
        (a(&["train", "--optimizer", "rngd", "--refresh", "0"]), "rngd refresh T must be in 1..=1000000, got 0"),
        (
            a(&["train", "--optimizer", "rngd", "--refresh", "1000001"]),
            "rngd refresh T must be in 1..=1000000, got 1000001",
        ),
        (a(&["train", "--optimizer", "rngd", "--refresh", "-1"]), "invalid value '-1' for '--refresh <REFRESH>'"),
        (a(&["train", "--optimizer", "rngd", "--metric-every", "0"]), "rngd metric_every must be in 1..=10000, got 0"),
        // Above 2³¹: once wrapped into a negative exponent of the EMA rate.
        (
            a(&["train", "--optimizer", "rngd", "--metric-every", "2147483649"]),
            "rngd metric_every must be in 1..=10000, got 2147483649",
        ),
        (
            a(&["train", "--optimizer", "rngd", "--metric-every", "4294967296"]),
            "invalid value '4294967296' for '--metric-every",
        ),
        (a(&["train", "--optimizer", "rngd", "--eps-rel", "-1"]), "rngd eps_rel must be in [0, 1], got -1"),
        (a(&["train", "--optimizer", "rngd", "--eps-rel", "2"]), "rngd eps_rel must be in [0, 1], got 2"),
        (a(&["train", "--optimizer", "rngd", "--eps-rel", "nan"]), "rngd eps_rel must be in [0, 1], got NaN"),
        (a(&["train", "--optimizer", "rngd", "--eps-abs", "1e300"]), "rngd eps_abs must be in [0, 1000], got 1e300"),
        (a(&["train", "--optimizer", "rngd", "--eps-abs", "-1"]), "rngd eps_abs must be in [0, 1000], got -1"),
        (
            a(&["train", "--optimizer", "rngd", "--eps-rel", "0"]),
            "rngd needs some damping: eps_rel and eps_abs are both 0",
        ),
        (a(&["train", "--optimizer", "rngd", "--omega", "0"]), "rngd omega must be in (0, 100], got 0"),
        (a(&["train", "--optimizer", "rngd", "--omega", "101"]), "rngd omega must be in (0, 100], got 101"),
        (a(&["train", "--optimizer", "rngd", "--omega", "nan"]), "rngd omega must be in (0, 100], got NaN"),
        // An input rank at least the input layer's metric size would silently mean "exact".
        (
            a(&["train", "--optimizer", "rngd", "--input-rank", "785"]),
            "rngd input_rank must be 0 (exact) or below the input layer's metric size 785, got 785",
        ),
        (
            a(&["train", "--optimizer", "rngd", "--input-rank", "100000"]),
            "below the input layer's metric size 785, got 100000",
        ),
        (a(&["train", "--optimizer", "rngd", "--rngd-preset", "fast", "--refresh", "5"]), "cannot be used with"),
        (a(&["train", "--optimizer", "rngd", "--rngd-preset", "fastest"]), "fastest"),
        // The network and its memory.
        (a(&["train", "--hidden", ""]), "hidden"),
        (a(&["train", "--hidden", "0"]), "every hidden width must be in 1..=4096, got [0]"),
        (a(&["train", "--hidden", "80,0"]), "every hidden width must be in 1..=4096, got [80, 0]"),
        (a(&["train", "--hidden", "4097"]), "every hidden width must be in 1..=4096, got [4097]"),
        (a(&["train", "--hidden", "-5"]), "invalid value '-5' for '--hidden <HIDDEN>'"),
        (a(&["train", "--hidden", "8,a"]), "invalid value 'a' for '--hidden <HIDDEN>'"),
        (a(&["train", "--hidden", &deep]), "at most 64 hidden layers, got 65"),
        (a(&["train", "--optimizer", "rngd", "--hidden", "4096,4096"]), "RNGD's per-neuron metrics of layer 1"),
        (
            a(&["train", "--optimizer", "rngd", "--hidden", "1000,1000", "--memory-budget", "2G"]),
            "over the budget of 2 GiB; the largest part is RNGD's per-neuron metrics of layer 1",
        ),
        (
            a(&["train", "--hidden", &forty, "--memory-budget", "1G"]),
            "over the budget of 1 GiB; the largest part is the weights",
        ),
        (a(&["train", "--memory-budget", "1K"]), "over the budget of 1 KiB"),
        (a(&["train", "--memory-budget", "0"]), "--memory-budget"),
        (a(&["train", "--memory-budget=-1G"]), "--memory-budget"),
        (a(&["train", "--memory-budget", "lots"]), "--memory-budget"),
        (a(&["train", "--batch", "0"]), "batch must be in 1..=8000 (the training rows), got 0"),
        (a(&["train", "--batch", "8001"]), "batch must be in 1..=8000 (the training rows), got 8001"),
        (a(&["train", "--batch", "1.5"]), "invalid value '1.5' for '--batch <BATCH>'"),
        (a(&["train", "--arch", "bna", "--batch", "1"]), "batch norm (arch bna) needs a batch of at least 2"),
        (a(&["train", "--seed", "-1"]), "invalid value '-1' for '--seed <SEED>'"),
        (a(&["train", "--seed", "18446744073709551616"]), "invalid value '18446744073709551616' for '--seed <SEED>'"),
        (a(&["train", "--arch", "resnet"]), "unknown architecture"),
        (a(&["train", "--activation", "swish"]), "unknown activation"),
        (a(&["train", "--activation", "prelu:2"]), "PReLU leak"),
        (a(&["train", "--activation", "elu:-1"]), "ELU alpha"),
        (a(&["train", "--optimizer", "lbfgs"]), "unknown optimizer \"lbfgs\""),
        (a(&["train", "--backend", "tpu"]), "unknown backend \"tpu\"; expected auto, gpu or cpu"),
        (a(&["train", "--learning-rate", "0.1"]), "unexpected argument '--learning-rate'"),
        // Counts of the run itself.
        (a(&["train", "--epochs", "0"]), "0 is not in 1..=100000"),
        (a(&["train", "--epochs", "100001"]), "100001 is not in 1..=100000"),
        (a(&["train", "--threads", "5000"]), "5000 is not in 0..=1024"),
        (a(&["train", "--validation", "8000"]), "cannot carve 8000 validation digits from a training split of 8000"),
        (a(&["train", "--validation", "-1"]), "invalid value '-1' for '--validation <VALIDATION>'"),
        // Data and outputs, checked before any training.
        (a(&["train", "--data", "/nonexistent-folder"]), "could not read"),
        (a(&["train", "--data", &file]), "could not read"),
        (a(&["train", "--json", dir]), "--json"),
        (a(&["train", "--json", &format!("{file}/run.json")]), "is a file, not a folder"),
        (a(&["compare", "--json", &format!("{file}/runs.json")]), "is a file, not a folder"),
        (a(&["bench", "--json", &format!("{file}/bench.json")]), "is a file, not a folder"),
        (a(&["train", "--dump", &file]), "a-file: is a file; give a folder"),
        (a(&["train", "--dump", "x", "--dump-steps", "0"]), "--dump-steps must list steps ≥ 1, got [0]"),
        (a(&["train", "--backend", "gpu", "--dump", "x"]), "--dump needs the CPU backend"),
        (a(&["report", "--runs", dir]), "nothing to do"),
        (a(&["report", "--runs", dir, "--table", &format!("{file}/t.md")]), "--table"),
        (a(&["report", "--runs", dir, "--figure", dir]), "--figure"),
        (a(&["report", "--runs", "/nonexistent-folder", "--table", "t.md"]), "/nonexistent-folder"),
        // Divergence ends the command with a non-zero status when nothing else is left.
        (
            a(&["train", "--lr", "100", "--epochs", "1"]),
            "The learning rate (lr = 100; sgd's default is 0.1) is the likely cause",
        ),
        (a(&["compare", "--optimizers", "sgd", "--lr-sgd", "100", "--epochs", "1"]), "every run diverged (sgd)"),
        (a(&["compare", "--optimizers", ""]), "--optimizers"),
        // The benchmark's own counts.
        (a(&["bench", "--steps", "0"]), "0 is not in 1..=100000"),
        (a(&["bench", "--steps", "4294967295"]), "4294967295 is not in 1..=100000"),
        (a(&["bench", "--accuracy-epochs", "5000"]), "5000 is not in 0..=1000"),
        (a(&["bench", "--rounds", "0"]), "0 is not in 1..=1000"),
        (a(&["bench", "--rounds", "1001"]), "1001 is not in 1..=1000"),
        (a(&["bench", "--warmup", "-1"]), "invalid value '-1' for '--warmup <WARMUP>'"),
        (a(&["bench", "--nets", "huge"]), "unknown net \"huge\"; expected paper, wide or large"),
        (a(&["bench", "--nets", "wide", "--hidden", "10"]), "cannot be used with"),
        (a(&["bench", "--backends", "cpu,tpu"]), "unknown backend \"tpu\""),
        (a(&["bench", "--backends", "auto"]), "--backends takes cpu and gpu"),
        (a(&["bench", "--backends", "cpu", "--backend", "gpu"]), "cannot be used with"),
        (a(&["bench", "--variants", "0:0"]), "rngd metric_every must be in 1..=10000, got 0"),
    ]
}

#[test]
fn every_bad_input_fails_with_a_message_that_names_it() {
    let dir = scratch();
    let mut failures = Vec::new();
    println!("| arguments | exit | message |\n|---|---|---|");
    for (args, says) in rows(dir.to_str().unwrap()) {
        let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let shown = args.join(" ").replace(dir.to_str().unwrap(), "DIR");
        let line =
            err.lines().rev().find(|l| l.starts_with("error")).unwrap_or("").replace(dir.to_str().unwrap(), "DIR");
        println!("| `{}` | {:?} | {} |", shown.chars().take(80).collect::<String>(), o.status.code(), line);
        // An exit code, not a signal (SIGABRT from a failed allocation) and no panic.
        let ok = matches!(o.status.code(), Some(1) | Some(2)) && !err.contains("panicked") && err.contains(says);
        if !ok {
            failures.push(format!("{shown}: exit {:?}, wanted {says:?} in:\n{err}", o.status.code()));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}
