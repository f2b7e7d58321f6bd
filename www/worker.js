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
// Every Trainer call that may touch the GPU is async (create, step, snapshot,
// diagnostics, loseDevice), and a trainer refuses a second call while one is
// pending. So each run has a lock (a promise chain, `use(r, fn)`): the
// training loop, diagnostics requests and the test hook queue their calls on
// it, and a diagnostics request waits for the step in flight of its run. A
// slice (steps of every run, then the snapshots if one is due) is never cut
// in two: `pause` and `reset` take effect between slices, and `running:
// false` is only sent once the slice in flight has ended, so no point
// arrives after it.
//
// Each run reports the backend that really trains it (`trainer.backend()`,
// read after create and after every step and snapshot): `{kind: 'cpu'|'gpu',
// adapter, reason, lost_steps}`. It changes from gpu to cpu if the GPU device
// is lost mid-run; the run then goes on on the CPU from its last checkpoint.
//
// main → worker
//   {type:'reset', gen, evalEvery, runs:[{id, config}]}  build fresh trainers (stopped);
//                                                         config.backend: 'auto' | 'gpu' | 'cpu'
//   {type:'start', gen}                                   train until paused
//   {type:'pause', gen}
//   {type:'diagnostics', gen, run, layer, req}            geometry of one layer of one run
//   {type:'lose-device', gen, run}                        TEST HOOK: destroy the run's GPU device
//                                                         (trainer.loseDevice()); answered by
//                                                         'lose-device-done'
// worker → main
//   {type:'progress', message}                            while loading
//   {type:'ready', version, trainLen, testLen, defaults:{id: lr}}
//   {type:'gpu', report}                                  gpuSelfTest() result (see web.rs), any time
//   {type:'reset-done', gen, runs:[{id, lr, layers, batchesPerEpoch, backend}]}  the runs built (stopped)
//   {type:'point', gen, run, snapshot, stepsPerSec, wallStepsPerSec, backend}
//   {type:'backend', gen, run, backend, step}             the backend of a run changed (device lost)
//   {type:'running', gen, running}
//   {type:'diagnostics', gen, run, layer, req, step, ms, data | error}
//   {type:'lose-device-done', gen, run, backend | error}  TEST HOOK answer
//   {type:'error', gen, run, phase, message}             phase: init | config | step | internal
//
// `backend` is always trainer.backend() as a plain object. `gen` is the reset
// generation chosen by the page; messages of an older generation that are
// still in flight after a reset are dropped by the page.

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
let runs = []; // [{id, gen, trainer, failed, steps, busyMs, rate, mark, lock, backend}]
let gen = 0;
let evalEvery = 25;
let running = false; // wanted: the loop goes on while this holds
let loop = null; // {gen} of the training loop in progress, null when none
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

/** Queue `fn(trainer)` on run `r`'s lock: it starts once every earlier call
 *  on that trainer has settled. Resolves or rejects with `fn`'s outcome; the
 *  lock itself never rejects. */
function use(r, fn) {
  const result = r.lock.then(() => fn(r.trainer));
  r.lock = result.then(
    () => {},
    () => {},
  );
  return result;
}

/** The trainer's backend as a plain object; null if it cannot be read. */
function backendOf(trainer) {
  try {
    return typeof trainer.backend === 'function' ? plain(trainer.backend()) : null;
  } catch {
    return null;
  }
}

/** Re-read run `r`'s backend (on its lock, after a call); tell the page when it changed. */
function checkBackend(r) {
  const b = backendOf(r.trainer);
  if (!b) return r.backend;
  const before = r.backend;
  r.backend = b;
  if (
    before &&
    (before.kind !== b.kind || before.lost_steps !== b.lost_steps || before.adapter !== b.adapter || before.reason !== b.reason)
  ) {
    if (before.kind === 'gpu' && b.kind !== 'gpu') console.warn(`rngd-lab: the ${r.id} run left the GPU:`, b.reason);
    post({ type: 'backend', gen: r.gen, run: r.id, backend: b, step: r.steps });
  }
  return b;
}

/** Release the trainers once the calls queued on them have settled. */
function freeRuns() {
  for (const r of runs) {
    r.failed = true;
    r.lock.then(() => {
      try {
        r.trainer?.free();
      } catch {
        // already released
      }
    });
  }
  runs = [];
}

function setRunning(value) {
  running = value;
  if (running) {
    if (!loop || loop.gen !== gen) {
      loop = { gen };
      trainLoop(loop);
    }
    post({ type: 'running', gen, running: true });
  } else if (!loop || loop.gen !== gen) {
    post({ type: 'running', gen, running: false });
  }
  // Otherwise the loop says `running: false` when its slice in flight has ended.
}

async function reset(msg) {
  running = false;
  freeRuns();
  gen = msg.gen;
  const myGen = gen;
  evalEvery = Math.max(1, Math.floor(msg.evalEvery || 25));
  chunk = 1;
  wallMark = null;
  const built = [];
  let complete = true;
  for (const { id, config } of msg.runs) {
    let trainer;
    try {
      if (typeof wasm.Trainer.create !== 'function') {
        throw new Error('this build of the wasm package has no Trainer.create: rebuild www/pkg');
      }
      trainer = await wasm.Trainer.create(config, data);
    } catch (e) {
      complete = false;
      post({ type: 'error', gen: myGen, run: id, phase: 'config', message: messageOf(e) });
      continue;
    }
    const r = {
      id,
      gen: myGen,
      trainer,
      failed: false,
      steps: 0,
      busyMs: 0,
      rate: 0,
      mark: { steps: 0, busyMs: 0 },
      lock: Promise.resolve(),
      backend: null,
    };
    r.backend = backendOf(trainer);
    built.push(r);
  }
  runs = built;
  // All or nothing: the runs are meant to be compared side by side.
  if (!complete) freeRuns();
  // Trainers start stopped; `reset-done` implies `running: false`.
  post({
    type: 'reset-done',
    gen: myGen,
    runs: runs.map((r) => {
      let lr = null;
      try {
        lr = plain(r.trainer.config()).lr;
      } catch {
        // older package without config()
      }
      return {
        id: r.id,
        lr,
        layers: r.trainer.layers ?? null,
        batchesPerEpoch: r.trainer.batchesPerEpoch,
        backend: r.backend,
      };
    }),
  });
}

function start() {
  const live = runs.filter((r) => !r.failed);
  if (live.length === 0) {
    post({ type: 'running', gen, running: false });
    return;
  }
  if (!running) wallMark = null;
  setRunning(true);
}

function fail(r, e) {
  r.failed = true;
  post({ type: 'error', gen, run: r.id, phase: 'step', message: messageOf(e), step: r.steps });
}

/** Lets queued messages through between slices. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Trains slice after slice while `running` holds and no reset has happened. */
async function trainLoop(me) {
  const current = () => me.gen === gen;
  try {
    while (running && current()) {
      if (!runs.some((r) => !r.failed)) {
        running = false;
        break;
      }
      await slice(current);
      if (!current()) return;
      if (runs.every((r) => r.failed)) running = false;
      if (running) await breathe();
    }
  } catch (e) {
    if (current()) post({ type: 'error', gen, run: null, phase: 'internal', message: messageOf(e) });
    running = false;
  } finally {
    if (loop === me) loop = null;
  }
  if (current()) {
    post({ type: 'running', gen, running: false });
    // A `start` that came while the last slice was in flight.
    if (running) setRunning(true);
  }
}

/** One slice: the same number of steps for every live run, then their snapshots if one is due. */
async function slice(current) {
  const live = runs.filter((r) => !r.failed);
  const now0 = performance.now();
  const step0 = Math.max(...live.map((r) => r.steps));
  if (!wallMark) wallMark = { time: now0, step: step0 };
  // Never step past the next snapshot, so that every run is evaluated at the same step.
  const n = Math.min(chunk, evalEvery - (step0 % evalEvery));
  for (const r of live) {
    const t = performance.now();
    try {
      await use(r, async (trainer) => {
        try {
          await trainer.step(n);
        } finally {
          checkBackend(r);
        }
      });
    } catch (e) {
      if (!current()) return;
      fail(r, e);
      continue;
    }
    if (!current()) return;
    r.steps += n;
    r.busyMs += performance.now() - t;
  }
  const elapsed = performance.now() - now0;
  if (n === chunk) {
    if (elapsed > 1.5 * SLICE_MS && chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
    else if (elapsed < 0.5 * SLICE_MS) chunk = Math.min(evalEvery, chunk * 2);
  }

  const step = step0 + n;
  if (step % evalEvery !== 0) return;
  const now = performance.now();
  const wall = (now - wallMark.time) / 1000;
  const wallStepsPerSec = wall > 0 ? (step - wallMark.step) / wall : 0;
  for (const r of runs) {
    if (r.failed) continue;
    let snapshot;
    try {
      snapshot = await use(r, async (trainer) => {
        try {
          return plain(await trainer.snapshot());
        } finally {
          checkBackend(r);
        }
      });
    } catch (e) {
      if (!current()) return;
      fail(r, e);
      continue;
    }
    if (!current()) return;
    // Steps per second of this run's own compute (snapshots excluded).
    const ds = r.steps - r.mark.steps;
    const dt = (r.busyMs - r.mark.busyMs) / 1000;
    if (ds > 0 && dt > 0) r.rate = r.rate ? 0.6 * r.rate + 0.4 * (ds / dt) : ds / dt;
    r.mark = { steps: r.steps, busyMs: r.busyMs };
    post({ type: 'point', gen, run: r.id, snapshot, stepsPerSec: r.rate, wallStepsPerSec, backend: r.backend });
  }
  wallMark = { time: performance.now(), step };
}

/** Answers on its own once the run's call in flight has settled; does not hold up other messages. */
async function diagnostics(msg) {
  const r = runs.find((x) => x.id === msg.run);
  const myGen = gen;
  const base = { type: 'diagnostics', gen: myGen, run: msg.run, layer: msg.layer, req: msg.req };
  if (!r) {
    post({ ...base, error: 'this run is not part of the current comparison' });
    return;
  }
  if (typeof r.trainer.diagnostics !== 'function') {
    post({ ...base, error: 'this build of the wasm package has no diagnostics' });
    return;
  }
  let t = 0;
  try {
    const d = await use(r, async (trainer) => {
      t = performance.now();
      try {
        return plain(await trainer.diagnostics(msg.layer));
      } finally {
        checkBackend(r);
      }
    });
    post({ ...base, step: r.steps, failed: r.failed, ms: performance.now() - t, data: d });
  } catch (e) {
    post({ ...base, step: r.steps, failed: r.failed, error: messageOf(e) });
  }
}

/** TEST HOOK: destroys the run's GPU device, as a driver reset would. The run
 *  notices at its next step and goes on on the CPU. */
async function loseDevice(msg) {
  const r = runs.find((x) => x.id === msg.run);
  const base = { type: 'lose-device-done', gen, run: msg.run };
  if (!r) {
    post({ ...base, error: 'this run is not part of the current comparison' });
    return;
  }
  try {
    const backend = await use(r, async (trainer) => {
      await trainer.loseDevice();
      return backendOf(trainer);
    });
    post({ ...base, backend });
  } catch (e) {
    post({ ...base, error: messageOf(e) });
  }
}

async function handle(msg) {
  if (!data) {
    post({ type: 'error', gen: msg.gen ?? gen, run: null, phase: 'init', message: 'Not ready yet.' });
    return;
  }
  switch (msg.type) {
    case 'reset':
      await reset(msg);
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
    case 'lose-device':
      if (msg.gen === gen) loseDevice(msg);
      break;
    default:
      post({ type: 'error', gen, run: null, phase: 'internal', message: `Unknown message type: ${msg.type}` });
  }
}

// Messages are handled strictly in order, after loading has finished; a
// reset holds up the messages after it until its trainers are built.
let queue = load().catch((e) => {
  post({ type: 'error', gen, run: null, phase: 'init', message: messageOf(e) });
});

self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(async () => {
    try {
      await handle(msg);
    } catch (e) {
      post({ type: 'error', gen, run: null, phase: 'internal', message: messageOf(e) });
    }
  });
};
