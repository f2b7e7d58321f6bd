//! Bad input through the JavaScript surface, as a table: each row is a value
//! written in JavaScript, the field or argument its error must name, and the
//! proof that it is refused with an error rather than a trap (a Rust panic in
//! wasm is `RuntimeError: unreachable`, which would end the test run). Every
//! row's message is printed, for the record.

use std::sync::Arc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{console_log, wasm_bindgen_test as test};

use super::dataset::WasmDataset;
use super::trainer::WasmTrainer;
use super::{check_config, draw, lessons};
use crate::data::{idx, Dataset, PIXELS};
use crate::{OptimizerKind, TrainConfig, Trainer};

/// The value of a JavaScript expression.
fn js(source: &str) -> JsValue {
    Function::new_no_args(&format!("return ({source});")).call0(&JsValue::NULL).expect("the row's JavaScript runs")
}

fn data(rows: usize) -> Arc<Dataset> {
    let pixels: Vec<u8> = (0..rows * PIXELS).map(|i| ((i * 37 + i / PIXELS * 11) % 256) as u8).collect();
    let labels: Vec<u8> = (0..rows).map(|i| (i % 10) as u8).collect();
    let img = idx::encode_ubyte(&[rows, 28, 28], &pixels);
    let lbl = idx::encode_ubyte(&[rows], &labels);
    Arc::new(Dataset::from_idx(&img, &lbl, &img, &lbl).unwrap())
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The message of a thrown error, which must be an `Error` and not a trap.
fn message_of(e: &JsValue) -> String {
    assert!(e.is_instance_of::<js_sys::Error>(), "not an Error: {e:?}");
    let name = get(e, "name").as_string().unwrap_or_default();
    assert!(!name.contains("RuntimeError"), "a trap: {e:?}");
    get(e, "message").as_string().expect("an error has a message")
}

async fn settle(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

const TRAIN_ROWS: usize = 100;

/// Config rows: JavaScript, then the field its error names (None: accepted).
fn config_rows() -> Vec<(&'static str, Option<String>)> {
    let f = |s: &str| Some(s.to_string());
    vec![
        ("{lr: NaN}", f("lr")),
        ("{lr: Infinity}", f("lr")),
        ("{lr: -Infinity}", f("lr")),
        ("{lr: '0.1'}", f("lr")),
        ("{lr: () => 1}", f("lr")),
        ("{lr: Symbol('x')}", f("lr")),
        ("{lr: 5n}", f("lr")),
        ("{lr: new Date(0)}", f("lr")),
        ("{lr: new Number(0.1)}", f("lr")),
        ("{lr: [0.1]}", f("lr")),
        ("{lr: {}}", f("lr")),
        ("{lr: 0}", f("lr")),
        ("{lr: -0.1}", f("lr")),
        ("{lr: 1e300}", f("lr")),
        ("{get lr() { throw new Error('no') }}", f("lr")),
        ("{momentum: NaN}", f("momentum")),
        ("{momentum: null}", f("momentum")),
        ("{momentum: true}", f("momentum")),
        ("{weight_decay: -Infinity}", f("weight_decay")),
        ("{l2: Infinity}", f("l2")),
        ("{init_std: NaN}", f("init_std")),
        ("{rngd: {lambda: NaN}}", f("rngd.lambda")),
        ("{rngd: {lambda: 2}}", f("rngd.lambda")),
        ("{rngd: {refresh: 1.5}}", f("rngd.refresh")),
        ("{rngd: {T: 3}}", f("rngd.T")),
        ("{rngd: 1}", f("rngd")),
        ("{rngd: {metric_every: -1}}", f("rngd.metric_every")),
        ("{adam: {beta1: 'x'}}", f("adam.beta1")),
        ("{adam: {eps: () => 0}}", f("adam.eps")),
        ("{hidden: ['a']}", f("hidden[0]")),
        ("{hidden: [80, -1]}", f("hidden[1]")),
        ("{hidden: [80, 80, 1.5]}", f("hidden[2]")),
        ("{hidden: [80, NaN]}", f("hidden[1]")),
        ("{hidden: [80, undefined]}", f("hidden[1]")),
        ("{hidden: [80, , 80]}", f("hidden[1]")),
        ("{hidden: [80, null]}", f("hidden[1]")),
        ("{hidden: new Uint32Array([80])}", f("hidden")),
        ("{hidden: '80,80'}", f("hidden")),
        ("{hidden: []}", f("hidden")),
        ("{hidden: [0]}", f("hidden")),
        ("{hidden: [100000]}", f("hidden")),
        ("{optimizer: 'rngd', hidden: [4096, 4096]}", f("hidden")),
        ("{batch: 1.5}", f("batch")),
        ("{batch: -1}", f("batch")),
        ("{batch: 0}", f("batch")),
        ("{batch: 101}", f("batch")),
        ("{batch: 2**53}", f("batch")),
        ("{seed: -1}", f("seed")),
        ("{seed: 1.5}", f("seed")),
        ("{seed: 2**64}", f("seed")),
        ("{learning_rate: 0.1}", f("learning_rate")),
        ("{optimizer: 'lbfgs'}", f("optimizer")),
        ("{optimizer: '\\ud800'}", f("optimizer")),
        ("{backend: 'tpu'}", f("backend")),
        ("{activation: 'elu:-1'}", f("activation")),
        ("(() => { const o = {}; o.rngd = o; return o; })()", Some(vec!["rngd"; super::input::MAX_DEPTH].join("."))),
        ("42", f("config")),
        ("'x'", f("config")),
        ("[]", f("config")),
        ("true", f("config")),
        ("() => ({})", f("config")),
        ("new Map([['lr', 0.1]])", f("config")),
        ("Symbol('config')", f("config")),
        // Accepted: nothing, every default, null for an optional field, undefined as absent.
        ("null", None),
        ("undefined", None),
        ("{}", None),
        ("{lr: null}", None),
        ("{lr: undefined, momentum: undefined}", None),
        ("{lr: 1}", None),
        ("{seed: 4294967295, batch: 100}", None),
        ("Object.assign(Object.create(null), {lr: 0.2})", None),
        ("{optimizer: 'rngd', lr: 0.05, hidden: [32, 32], rngd: {lambda: 0.01, refresh: 50}, backend: 'cpu'}", None),
        ("{optimizer: 'adam', adam: {beta1: 0.8}, arch: 'bna', activation: 'elu:0.5', track_metric: true}", None),
    ]
}

#[test]
async fn bad_configs_are_refused_by_field_without_a_trap() {
    let dataset = WasmDataset { inner: data(TRAIN_ROWS) };
    console_log!("| config (JavaScript) | field | message |");
    for (source, field) in config_rows() {
        let config = js(source);
        // checkConfig: null, or {field, message}.
        let problem = check_config(config.clone(), (TRAIN_ROWS as f64).into()).expect("checkConfig answers");
        let (got_field, message) = if problem.is_null() {
            (None, String::new())
        } else {
            (get(&problem, "field").as_string(), get(&problem, "message").as_string().unwrap_or_default())
        };
        console_log!("| `{source}` | {} | {message} |", got_field.as_deref().unwrap_or("(accepted)"));
        assert_eq!(got_field, field, "{source}: {message}");
        if let Some(field) = &field {
            let last = field.rsplit(['.', '[']).next().unwrap().trim_end_matches(']');
            // Messages of the shared validation name the field (`field` says which) but not always by its path.
            let validation = ["hidden", "activation"].contains(&field.as_str());
            let names = message.contains(field.as_str()) || message.contains(last) || validation;
            assert!(names, "{source}: the message does not name {field}: {message}");
            // Trainer.create refuses it the same way, with the field on the Error.
            let e = settle(WasmTrainer::create(config, &dataset)).await.expect_err(source);
            assert_eq!(message_of(&e), message, "{source}");
            assert_eq!(get(&e, "field").as_string().as_ref(), Some(field), "{source}");
        }
    }
}

#[test]
async fn a_config_trains_with_what_it_says() {
    // NaN used to become null through JSON, and null the default rate.
    let dataset = WasmDataset { inner: data(TRAIN_ROWS) };
    let t = settle(WasmTrainer::create(js("{lr: 0.25, batch: 10, hidden: [8], backend: 'cpu'}"), &dataset))
        .await
        .expect("a valid config trains");
    let config = Function::new_with_args("t", "return t.config()").call1(&JsValue::NULL, &t).unwrap();
    assert_eq!(get(&config, "lr").as_f64(), Some(0.25));
    assert_eq!(get(&config, "batch").as_f64(), Some(10.0));
}

/// A call's outcome as an error message (None: it succeeded).
fn outcome(r: Result<JsValue, JsValue>) -> Option<String> {
    r.err().map(|e| message_of(&e))
}

#[test]
async fn bad_counts_are_refused_by_argument_without_a_trap() {
    let config = TrainConfig { optimizer: OptimizerKind::Rngd, hidden: vec![8], batch: 10, ..TrainConfig::default() };
    let t = WasmTrainer::from_trainer(Trainer::new(config, data(TRAIN_ROWS)).unwrap());
    settle(t.step(js("2"))).await.expect("two steps");

    let mut rows: Vec<(String, Option<String>, Option<&str>)> = Vec::new();
    let mut row = |call: &str, r: Result<JsValue, JsValue>, names: Option<&'static str>| {
        rows.push((call.to_string(), outcome(r), names));
    };
    for n in ["-1", "NaN", "Infinity", "-Infinity", "1.5", "'5'", "undefined", "null", "2**32", "2**53", "5n"] {
        row(&format!("step({n})"), settle(t.step(js(n))).await, Some("Trainer.step: n"));
    }
    row("step(0)", settle(t.step(js("0"))).await, None);
    row("step(3)", settle(t.step(js("3"))).await, None);
    for (args, names) in [
        ("-1, 0, 1", Some("Trainer.neuron: layer")),
        ("0, -1, 1", Some("Trainer.neuron: index")),
        ("1, 0, NaN", Some("Trainer.neuron: k")),
        ("0.5, 0, 1", Some("Trainer.neuron: layer")),
        ("2**32, 0, 1", Some("Trainer.neuron: layer")),
        ("7, 0, 1", Some("layer 7")),
        ("1, 10, 1", Some("neuron 10")),
        ("0, 8, 1", Some("neuron 8")),
        ("1, 9, 2", None),
    ] {
        let a: Vec<JsValue> = args.split(", ").map(js).collect();
        row(&format!("neuron({args})"), settle(t.neuron(a[0].clone(), a[1].clone(), a[2].clone())).await, names);
    }
    for (layer, names) in [
        ("-1", Some("Trainer.diagnostics: layer")),
        ("1.5", Some("Trainer.diagnostics: layer")),
        ("9", Some("layer 9")),
    ] {
        row(&format!("diagnostics({layer})"), settle(t.diagnostics(js(layer))).await, names);
    }
    row("diagnostics(1)", settle(t.diagnostics(js("1"))).await, None);
    for k in ["-1", "NaN", "'3'"] {
        row(
            &format!("inputEigenvectors({k})"),
            settle(t.input_eigenvectors(js(k))).await,
            Some("Trainer.inputEigenvectors: k"),
        );
    }
    for (pixels, names) in [
        ("42", Some("Trainer.predict: pixels")),
        ("['a', ...new Array(783).fill(0)]", Some("pixels[0]")),
        ("new Array(784)", Some("pixels[0]")),
        ("new Float32Array(10)", Some("784 pixels")),
        ("new Float32Array(784).fill(NaN)", Some("pixel")),
        ("new DataView(new ArrayBuffer(8))", Some("Trainer.predict: pixels")),
        ("new Float32Array(784)", None),
        ("new Array(784).fill(0.5)", None),
    ] {
        row(&format!("predict({pixels})"), settle(t.predict(js(pixels))).await, names);
    }
    let rgba = [0u8, 0, 0, 255].repeat(4);
    for (w, h, names) in [
        ("-1", "2", Some("preprocessDigit: width")),
        ("2", "NaN", Some("preprocessDigit: height")),
        ("2.5", "2", Some("preprocessDigit: width")),
        ("65536", "65536", Some("preprocessDigit: rgba")),
        ("2**32", "1", Some("preprocessDigit: width")),
        ("4", "2", Some("preprocessDigit: rgba")),
        ("2", "2", None),
    ] {
        let r =
            draw::preprocess_digit(&rgba, js(w), js(h)).map(|v| JsValue::from(v.len() as u32)).map_err(JsValue::from);
        row(&format!("preprocessDigit(16 bytes, {w}, {h})"), r, names);
    }
    for rows_arg in ["-1", "NaN", "1.5", "'100'"] {
        let r = check_config(JsValue::NULL, js(rows_arg)).map_err(JsValue::from);
        row(&format!("checkConfig(null, {rows_arg})"), r, Some("checkConfig: trainRows"));
    }
    for (params, names) in [
        ("{eta: NaN}", Some("eta must be a finite number, got NaN")),
        ("{eta: Infinity}", Some("eta")),
        ("{eta: () => 1}", Some("eta")),
        ("{start: [0, NaN]}", Some("start[1]")),
        ("{steps: 5n}", Some("steps")),
        ("42", Some("lesson parameters must be a plain object")),
        ("{eta: undefined}", None),
        ("{eta: 0.2, steps: 3}", None),
    ] {
        let r = lessons::run_lesson("gaussian", js(params)).map_err(JsValue::from);
        row(&format!("runLesson('gaussian', {params})"), r, names);
    }

    console_log!("| call | message |");
    for (call, message, _) in &rows {
        console_log!("| `{call}` | {} |", message.as_deref().unwrap_or("(accepted)"));
    }
    for (call, message, names) in rows {
        match (message, names) {
            (Some(m), Some(n)) => assert!(m.contains(n), "{call}: {m:?} does not name {n:?}"),
            (None, None) => {}
            (m, n) => {
                panic!("{call}: expected {}, got {m:?}", n.map_or("success".into(), |n| format!("an error naming {n}")))
            }
        }
    }
}
