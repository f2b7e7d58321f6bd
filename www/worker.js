// Training worker: loads the wasm package and the MNIST subset, owns the
// Trainer objects and trains them in short slices, so that the page stays
// responsive and `pause` / `reset` / `diagnostics` messages get through
// between slices.
//
// The runs are trained in lock-step: every slice advances each live run by
// the same number of minibatch steps, so they stay at the same step (and
// epoch) and their points line up on the charts, although RNGD costs about
// ten times as much per step as SGD. Each run's own compute time is measured
// separately and reported as its steps per second.
//
// main → worker
//   {type:'reset', gen, evalEvery, runs:[{id, config}]}  build fresh trainers (stopped)
//   {type:'start', gen}                                   train until paused
//   {type:'pause', gen}
//   {type:'diagnostics', gen, run, layer, req}            geometry of one layer of one run
// worker → main
//   {type:'progress', message}                            while loading
//   {type:'ready', version, trainLen, testLen, defaults:{id: lr}}
//   {type:'gpu', report}                                  gpuSelfTest() result (see web.rs), any time
//   {type:'reset-done', gen, runs:[{id, lr, layers, batchesPerEpoch}]}  the runs built (stopped)
//   {type:'point', gen, run, snapshot, stepsPerSec, wallStepsPerSec}
//   {type:'running', gen, running}
//   {type:'diagnostics', gen, run, layer, req, step, ms, data | error}
//   {type:'error', gen, run, phase, message}             phase: init | config | step | internal
//
// `gen` is the reset generation chosen by the page; messages of an older
// generation that are still in flight after a reset are dropped by the page.

const ASSET_DIR = 'assets/mnist/';
const FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  'test-images-idx3-ubyte.gz',
  'test-labels-idx1-ubyte.gz',
];
const OPTIMIZERS = ['sgd', 'adam', 'rngd'];

/** Target wall time of one slice (all runs), in ms. */
const SLICE_MS = 80;
/** The GPU self-test is reported as unfinished after this long. */
const GPU_TIMEOUT_MS = 30_000;

let wasm = null; // the imported module
let data = null; // Dataset
let runs = []; // [{id, trainer, failed, steps, busyMs, rate, mark}]
let gen = 0;
let evalEvery = 25;
let running = false;
let timer = null;
let chunk = 1; // steps per run per slice, adapted to SLICE_MS
let wallMark = null; // {time, step} at the previous snapshot

const post = (msg) => self.postMessage(msg);

function messageOf(e) {
  if (e instanceof Error) return e.message || String(e);
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** wasm-bindgen may hand back a Map for a Rust map; the page wants plain data. */
function plain(obj) {
  if (obj instanceof Map) return Object.fromEntries(obj);
  return { ...obj };
}

async function fetchBytes(name) {
  const url = new URL(ASSET_DIR + name, self.location.href);
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`Could not fetch ${url.pathname}: ${messageOf(e)}`);
  }
  if (!res.ok) {
    throw new Error(`Could not fetch ${url.pathname}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Runs the WebGPU self-test and reports it; never throws. A missing adapter
 *  is an expected outcome (console.warn, not console.error). */
async function gpuCheck() {
  let report;
  try {
    if (typeof wasm.gpuSelfTest !== 'function') {
      report = { available: false, reason: 'this build of the wasm package has no GPU self-test' };
    } else {
      let t;
      const timeout = new Promise((resolve) => {
        t = setTimeout(
          () => resolve({ available: false, reason: `the WebGPU self-test did not finish within ${GPU_TIMEOUT_MS / 1000} s` }),
          GPU_TIMEOUT_MS,
        );
      });
      report = plain(await Promise.race([wasm.gpuSelfTest(), timeout]));
      clearTimeout(t);
    }
  } catch (e) {
    report = { available: false, reason: `the WebGPU self-test failed: ${messageOf(e)}` };
  }
  if (!report.available) console.warn('rngd-lab: no WebGPU adapter:', report.reason);
  else if (!report.ok) console.warn('rngd-lab: the WebGPU metric kernel disagrees with the CPU:', report);
  post({ type: 'gpu', report });
}

/** The crate's default learning rate of each optimizer. */
function defaultLearningRates() {
  const out = {};
  for (const optimizer of OPTIMIZERS) {
    try {
      out[optimizer] = plain(wasm.defaultConfig(optimizer)).lr;
    } catch {
      // the page falls back to its own copy
    }
  }
  return out;
}

async function load() {
  post({ type: 'progress', message: 'Loading the wasm module…' });
  try {
    wasm = await import('./pkg/rngd_lab.js');
  } catch (e) {
    throw new Error(
      'The wasm package www/pkg/rngd_lab.js could not be loaded; it must be built first ' +
        `(wasm-pack build --target web --out-dir www/pkg). Details: ${messageOf(e)}`,
    );
  }
  try {
    await wasm.default();
  } catch (e) {
    throw new Error(`The wasm module could not be initialised: ${messageOf(e)}`);
  }
  // In parallel with the rest; it reports on its own.
  gpuCheck();
  post({ type: 'progress', message: 'Fetching the MNIST subset…' });
  const bytes = await Promise.all(FILES.map(fetchBytes));
  post({ type: 'progress', message: 'Decoding the MNIST subset…' });
  try {
    data = wasm.Dataset.fromIdx(...bytes);
  } catch (e) {
    throw new Error(`The MNIST files could not be read: ${messageOf(e)}`);
  }
  post({
    type: 'ready',
    version: wasm.version(),
    trainLen: data.trainLen,
    testLen: data.testLen,
    defaults: defaultLearningRates(),
  });
}

function freeRuns() {
  for (const r of runs) {
    try {
      r.trainer?.free();
    } catch {
      // already released
    }
  }
  runs = [];
}

function setRunning(value) {
  running = value;
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
  if (running) timer = setTimeout(tick, 0);
  post({ type: 'running', gen, running });
}

function reset(msg) {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  running = false;
  freeRuns();
  gen = msg.gen;
  evalEvery = Math.max(1, Math.floor(msg.evalEvery || 25));
  chunk = 1;
  wallMark = null;
  const built = [];
  for (const { id, config } of msg.runs) {
    let trainer;
    try {
      trainer = new wasm.Trainer(config, data);
    } catch (e) {
      post({ type: 'error', gen, run: id, phase: 'config', message: messageOf(e) });
      continue;
    }
    built.push({ id, trainer, failed: false, steps: 0, busyMs: 0, rate: 0, mark: { steps: 0, busyMs: 0 } });
  }
  runs = built;
  // All or nothing: the runs are meant to be compared side by side.
  if (built.length !== msg.runs.length) freeRuns();
  // Trainers start stopped; `reset-done` implies `running: false`.
  post({
    type: 'reset-done',
    gen,
    runs: runs.map((r) => {
      let lr = null;
      try {
        lr = plain(r.trainer.config()).lr;
      } catch {
        // older package without config()
      }
      return { id: r.id, lr, layers: r.trainer.layers ?? null, batchesPerEpoch: r.trainer.batchesPerEpoch };
    }),
  });
}

function start() {
  const live = runs.filter((r) => !r.failed);
  if (live.length === 0) {
    post({ type: 'running', gen, running: false });
    return;
  }
  wallMark = null;
  setRunning(true);
}

function fail(r, e) {
  r.failed = true;
  post({ type: 'error', gen, run: r.id, phase: 'step', message: messageOf(e), step: r.steps });
}

function tick() {
  timer = null;
  if (!running) return;
  const live = runs.filter((r) => !r.failed);
  if (live.length === 0) {
    setRunning(false);
    return;
  }
  const now0 = performance.now();
  const step0 = Math.max(...live.map((r) => r.steps));
  if (!wallMark) wallMark = { time: now0, step: step0 };
  // Never step past the next snapshot, so that every run is evaluated at the same step.
  const n = Math.min(chunk, evalEvery - (step0 % evalEvery));
  for (const r of live) {
    const t = performance.now();
    try {
      r.trainer.step(n);
    } catch (e) {
      fail(r, e);
      continue;
    }
    r.steps += n;
    r.busyMs += performance.now() - t;
  }
  const elapsed = performance.now() - now0;
  if (n === chunk) {
    if (elapsed > 1.5 * SLICE_MS && chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
    else if (elapsed < 0.5 * SLICE_MS) chunk = Math.min(evalEvery, chunk * 2);
  }

  const step = step0 + n;
  if (step % evalEvery === 0) {
    const now = performance.now();
    const wall = (now - wallMark.time) / 1000;
    const wallStepsPerSec = wall > 0 ? (step - wallMark.step) / wall : 0;
    for (const r of runs) {
      if (r.failed) continue;
      let snapshot;
      try {
        snapshot = plain(r.trainer.snapshot());
      } catch (e) {
        fail(r, e);
        continue;
      }
      // Steps per second of this run's own compute (snapshots excluded).
      const ds = r.steps - r.mark.steps;
      const dt = (r.busyMs - r.mark.busyMs) / 1000;
      if (ds > 0 && dt > 0) r.rate = r.rate ? 0.6 * r.rate + 0.4 * (ds / dt) : ds / dt;
      r.mark = { steps: r.steps, busyMs: r.busyMs };
      post({ type: 'point', gen, run: r.id, snapshot, stepsPerSec: r.rate, wallStepsPerSec });
    }
    wallMark = { time: performance.now(), step };
  }
  if (runs.every((r) => r.failed)) {
    setRunning(false);
    return;
  }
  timer = setTimeout(tick, 0);
}

function diagnostics(msg) {
  const r = runs.find((x) => x.id === msg.run);
  const base = { type: 'diagnostics', gen, run: msg.run, layer: msg.layer, req: msg.req };
  if (!r) {
    post({ ...base, error: 'this run is not part of the current comparison' });
    return;
  }
  if (typeof r.trainer.diagnostics !== 'function') {
    post({ ...base, error: 'this build of the wasm package has no diagnostics' });
    return;
  }
  const t = performance.now();
  try {
    const d = plain(r.trainer.diagnostics(msg.layer));
    post({ ...base, step: r.steps, failed: r.failed, ms: performance.now() - t, data: d });
  } catch (e) {
    post({ ...base, step: r.steps, failed: r.failed, error: messageOf(e) });
  }
}

function handle(msg) {
  if (!data) {
    post({ type: 'error', gen: msg.gen ?? gen, run: null, phase: 'init', message: 'Not ready yet.' });
    return;
  }
  switch (msg.type) {
    case 'reset':
      reset(msg);
      break;
    case 'start':
      start();
      break;
    case 'pause':
      if (running) setRunning(false);
      break;
    case 'diagnostics':
      if (msg.gen === gen) diagnostics(msg);
      break;
    default:
      post({ type: 'error', gen, run: null, phase: 'internal', message: `Unknown message type: ${msg.type}` });
  }
}

// Messages are handled strictly in order, after loading has finished.
let queue = load().catch((e) => {
  post({ type: 'error', gen, run: null, phase: 'init', message: messageOf(e) });
});

self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(() => {
    try {
      handle(msg);
    } catch (e) {
      post({ type: 'error', gen, run: null, phase: 'internal', message: messageOf(e) });
    }
  });
};
