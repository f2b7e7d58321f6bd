//! Reading run records: `train` records and `compare` lists, from one file or a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use rngd_lab::optim::RngdConfig;

use super::preset::{role, Role};

/// `null` (how serde_json writes NaN) reads back as NaN.
fn nullable_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Epoch {
    pub epoch: u32,
    #[serde(deserialize_with = "nullable_f64")]
    pub train_loss: f64,
    #[serde(deserialize_with = "nullable_f64")]
    pub test_loss: f64,
    #[serde(deserialize_with = "nullable_f64")]
    pub test_accuracy: f64,
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    #[serde(deserialize_with = "nullable_f64")]
    pub seconds: f64,
}

#[derive(Deserialize)]
struct RawConfig {
    arch: String,
    lr: Option<f64>,
    seed: u64,
    #[serde(default)]
    hidden: Vec<usize>,
    #[serde(default)]
    activation: Option<String>,
    #[serde(default)]
    batch: Option<usize>,
    /// Absent from records older than RNGD's speed options, which all ran the
    /// literal algorithm: the default settings say exactly that.
    #[serde(default)]
    rngd: RngdConfig,
}

#[derive(Deserialize)]
struct RawRecord {
    optimizer: String,
    config: RawConfig,
    epochs: Vec<Epoch>,
    #[serde(default)]
    diverged: Option<String>,
    #[serde(default)]
    inverse_fallbacks: Option<u64>,
}

/// One training run, from a `train` record or one entry of a `compare` list.
#[derive(Clone, Debug)]
pub struct Run {
    /// The file it came from, for messages.
    pub source: String,
    pub arch: String,
    pub optimizer: String,
    pub lr: f64,
    pub seed: u64,
    pub epochs: Vec<Epoch>,
    pub diverged: Option<String>,
    pub inverse_fallbacks: Option<u64>,
    pub hidden: Vec<usize>,
    pub activation: Option<String>,
    pub batch: Option<usize>,
    /// RNGD's settings from the resolved config; its speed settings tell which
    /// preset the run used (see `preset::role`). Meaningless for SGD and Adam.
    pub rngd: RngdConfig,
}

impl Run {
    pub fn completed(&self) -> bool {
        self.diverged.is_none() && !self.epochs.is_empty()
    }
    pub fn last(&self) -> Option<&Epoch> {
        self.epochs.last()
    }
}

/// Parses one file's text: a single record or a list of records.
pub fn parse_records(text: &str, source: &str) -> Result<Vec<Run>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let mut runs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let raw: RawRecord =
            serde_json::from_value(item).map_err(|e| format!("{source}: record {} is not a run record: {e}", i + 1))?;
        let lr = raw.config.lr.ok_or_else(|| format!("{source}: record {} has no config.lr", i + 1))?;
        runs.push(Run {
            source: source.to_string(),
            arch: raw.config.arch,
            optimizer: raw.optimizer,
            lr,
            seed: raw.config.seed,
            epochs: raw.epochs,
            diverged: raw.diverged,
            inverse_fallbacks: raw.inverse_fallbacks,
            hidden: raw.config.hidden,
            activation: raw.config.activation,
            batch: raw.config.batch,
            rngd: raw.config.rngd,
        });
    }
    Ok(runs)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("could not read folder {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("could not read folder {}: {e}", dir.display()))?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every run under `dir`, in file-name order. Two records of the same
/// (arch, optimizer, lr, seed, RNGD speed settings) keep the first, with a warning.
pub fn load_runs(dir: &Path) -> Result<Vec<Run>, String> {
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    files.sort();
    let mut runs = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("could not read {}: {e}", f.display()))?;
        runs.extend(parse_records(&text, &f.display().to_string())?);
    }
    if runs.is_empty() {
        return Err(format!("no run records (*.json) found under {}", dir.display()));
    }
    Ok(dedupe(runs))
}

fn dedupe(runs: Vec<Run>) -> Vec<Run> {
    type Speed = Option<(u32, usize, u32)>;
    let mut seen: BTreeMap<(String, String, u64, u64, Speed), String> = BTreeMap::new();
    let mut out = Vec::with_capacity(runs.len());
    for r in runs {
        // A preset run shares arch, optimizer, lr and seed with the literal run it
        // is measured against; only its speed settings tell the two apart.
        let speed = (r.optimizer == "rngd").then_some((r.rngd.metric_every, r.rngd.input_rank, r.rngd.refresh));
        let key = (r.arch.clone(), r.optimizer.clone(), r.lr.to_bits(), r.seed, speed);
        if let Some(first) = seen.get(&key) {
            let preset = match role(&r) {
                Role::Main => String::new(),
                Role::Preset(p) => format!(" (preset {p})"),
                Role::Unnamed => " (unnamed speed settings)".into(),
            };
            eprintln!(
                "warning: {} repeats {} {}{preset} lr {} seed {} from {first}; keeping the first",
                r.source, r.arch, r.optimizer, r.lr, r.seed
            );
            continue;
        }
        seen.insert(key, r.source.clone());
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIN: &str = r#"{"optimizer":"rngd","config":{"optimizer":"rngd","arch":"bna","activation":"relu","hidden":[80,80,80],
        "lr":0.03,"batch":50,"seed":1,"l2":0.001},"epochs":[{"epoch":1,"train_loss":0.5,"test_loss":0.4,"test_accuracy":0.9,
        "validation_accuracy":0.91,"seconds":0.8}],"inverse_fallbacks":0}"#;

    #[test]
    fn train_records_and_compare_lists_parse_alike() {
        let one = parse_records(TRAIN, "a.json").unwrap();
        let list =
            parse_records(&format!("[{TRAIN}, {}]", TRAIN.replace("\"seed\":1", "\"seed\":2")), "b.json").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(list.len(), 2);
        assert_eq!((one[0].arch.as_str(), one[0].optimizer.as_str(), one[0].lr, one[0].seed), ("bna", "rngd", 0.03, 1));
        assert_eq!(list[0].epochs, one[0].epochs);
        assert_eq!(list[1].seed, 2);
        assert_eq!(one[0].epochs[0].validation_accuracy, Some(0.91));
        // serde_json writes NaN as null.
        let nan = parse_records(&TRAIN.replace("\"test_loss\":0.4", "\"test_loss\":null"), "c.json").unwrap();
        assert!(nan[0].epochs[0].test_loss.is_nan());
    }

    #[test]
    fn bad_records_name_the_file() {
        let e = parse_records("{\"optimizer\": ", "runs/broken.json").unwrap_err();
        assert!(e.starts_with("runs/broken.json: not valid JSON"), "{e}");
        let e = parse_records(r#"[{"optimizer": "sgd"}]"#, "runs/odd.json").unwrap_err();
        assert!(e.contains("runs/odd.json: record 1 is not a run record") && e.contains("config"), "{e}");
        let e = parse_records(&TRAIN.replace("\"lr\":0.03,", ""), "runs/nolr.json").unwrap_err();
        assert!(e.contains("runs/nolr.json: record 1 has no config.lr"), "{e}");
    }

    #[test]
    fn loading_a_folder_reports_empty_and_broken_files() {
        let dir = std::env::temp_dir().join(format!("rngd-report-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let e = load_runs(&dir).unwrap_err();
        assert!(e.contains("no run records"), "{e}");
        std::fs::write(dir.join("sub/a.json"), TRAIN).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a record").unwrap();
        // A duplicate (same arch, optimizer, lr, seed) is kept once.
        std::fs::write(dir.join("z.json"), format!("[{TRAIN}]")).unwrap();
        assert_eq!(load_runs(&dir).unwrap().len(), 1);
        std::fs::write(dir.join("b.json"), "[1, 2").unwrap();
        let e = load_runs(&dir).unwrap_err();
        assert!(e.contains("b.json") && e.contains("not valid JSON"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_preset_run_is_no_repeat_of_the_literal_one() {
        use rngd_lab::optim::RngdPreset;
        let preset = RngdPreset::ALL.into_iter().find(|&p| p != RngdPreset::Literal).unwrap();
        let settings = serde_json::to_string(&preset.apply(RngdConfig::default())).unwrap();
        let dir = std::env::temp_dir().join(format!("rngd-report-preset-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.json"), TRAIN).unwrap();
        // Same arch, optimizer, lr and seed; only the speed settings differ.
        std::fs::write(
            dir.join("b.json"),
            TRAIN.replace("\"l2\":0.001}", &format!("\"l2\":0.001,\"rngd\":{settings}}}")),
        )
        .unwrap();
        let runs = load_runs(&dir).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(role(&runs[1]), Role::Preset(preset));
        // A second copy of the preset run is a repeat like any other.
        std::fs::write(dir.join("c.json"), std::fs::read_to_string(dir.join("b.json")).unwrap()).unwrap();
        assert_eq!(load_runs(&dir).unwrap().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
