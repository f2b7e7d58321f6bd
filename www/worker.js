// Run worker: loads the wasm package and the MNIST subset itself and owns
// exactly one Trainer, so that the runs of a comparison compute on separate
// threads. The coordinator on the page (race.js) drives it, in one of two
// ways:
//
//   lock-step     the coordinator sends `step` (n steps, then a snapshot when
//                 one is due) to every run's worker and waits for all of them
//                 before the next slice: the runs stay at the same step.
//   free-running  `free` starts a loop here: this run steps at its own pace,
//                 in slices of about SLICE_MS, and reports a point every
//                 `evalEvery` steps until `pause` or `reset`.
//
// Every Trainer call that may touch the GPU is async (create, step, snapshot,
// diagnostics, loseDevice), and a trainer refuses a second call while one is
// pending. So calls are queued on a lock (a promise chain, `use(fn)`): the
// training, diagnostics requests and the test hook take turns.
//
// The run reports the backend that really trains it (`trainer.backend()`,
// read after create and after every step and snapshot): `{kind: 'cpu'|'gpu',
// adapter, reason, lost_steps}`. It changes from gpu to cpu if the GPU device
// is lost mid-run; the run then goes on on the CPU from its last checkpoint.
//
// page → worker
//   {type:'selftest'}                            run gpuSelfTest() (the page asks one worker only)
//   {type:'reset', gen, run, config}              build a fresh trainer (stopped)
//   {type:'step', gen, seq, n, snapshot}          lock-step slice: n steps, then a snapshot if asked
//   {type:'free', gen, evalEvery, stepsPerSlice}  free-running until pause or reset (stepsPerSlice null: adaptive)
//   {type:'pause', gen}                           ends the free-running loop; answered by 'paused'
//   {type:'diagnostics', gen, layer, req}         geometry of one layer
//   {type:'lose-device', gen}                     TEST HOOK: destroy the GPU device (trainer.loseDevice())
//   {type:'call', gen, req, method, args}         trainer[method](...args) on the lock, for the page's views;
//                                                only the methods in CALLABLE (read-only ones)
// worker → page
//   {type:'progress', message}                    while loading
//   {type:'ready', version, trainLen, testLen, defaults:{optimizer: lr}, presets}
//   {type:'gpu', report}                          gpuSelfTest() result (see web.rs)
//   {type:'reset-done', gen, run, lr, layers, batchesPerEpoch, backend, preset}
//   {type:'stepped', gen, seq, run, steps, stepMs, stepsPerSec, snapshot?, backend, timings}
//   {type:'point', gen, run, snapshot, stepsPerSec, wallStepsPerSec, trackedSeconds, backend, timings}  free-running
//                                                 (trackedSeconds: CPU time spent tracking a metric for the views, left out of the run's pace and seconds)
//   {type:'paused', gen, run, steps}
//   {type:'backend', gen, run, backend, step}     the backend changed (device lost)
//   {type:'diagnostics', gen, run, layer, req, step, ms, data | error}
//   {type:'lose-device-done', gen, run, backend | error}
//   {type:'call-result', gen, run, req, data | error}   the call's result, plain (Maps → objects, typed arrays kept)
//   {type:'error', gen, run, phase, message, seq?, step?}  phase: init | config | step | internal
//
// `gen` is the reset generation chosen by the page; the page drops answers of
// an older generation.

import { fetchMnist } from './mnist.js';

const OPTIMIZERS = ['sgd', 'adam', 'rngd'];

/** Target wall time of one free-running slice, in ms. */
const SLICE_MS = 80;
/** The GPU self-test is reported as unfinished after this long. */
const GPU_TIMEOUT_MS = 30_000;

let wasm = null; // the imported module
let data = null; // Dataset
let gen = 0;
/** The run: {id, gen, optimizer, trainer, failed, steps, busyMs, rate, mark, lock, backend}; null before a reset. */
let run = null;
/** The free-running loop in progress: {gen, stop, done}; null when none. */
let free = null;

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

/** wasm-bindgen may hand back a Map for a Rust map; the page wants plain
 *  data that survives postMessage. Typed arrays (pixels, eigenvectors) stay
 *  typed: they are cheap to clone and the page draws from them directly. */
function plain(obj) {
  if (obj instanceof Map) return Object.fromEntries([...obj].map(([k, v]) => [k, plain(v)]));
  if (obj == null || typeof obj !== 'object' || ArrayBuffer.isView(obj)) return obj;
  if (Array.isArray(obj)) return obj.map(plain);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]));
}

/** Trainer methods the page may call through `call`: the ones that read the
 *  run without changing it. Stepping, resets and the device hook keep their
 *  own messages, so the coordinator always knows each run's step. */
const CALLABLE = new Set(['diagnostics', 'neuron', 'inputEigenvectors', 'predict', 'exportWeights', 'config', 'backend', 'timings']);

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

/** RNGD's named speed settings, as the crate lists them; [] from an older package. */
function presets() {
  try {
    if (typeof wasm.rngdPresets !== 'function') return [];
    return [...wasm.rngdPresets()].map((p) => {
      const o = plain(p);
      return { name: o.name, description: o.description, settings: plain(o.settings) };
    });
  } catch {
    return [];
  }
}

async function loadModule() {
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
}

async function loadData() {
  post({ type: 'progress', message: 'Fetching the MNIST subset…' });
  const bytes = await fetchMnist();
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
    presets: presets(),
  });
}

/** Queue `fn(trainer)` on the run's lock: it starts once every earlier call
 *  has settled. Resolves or rejects with `fn`'s outcome; the lock itself
 *  never rejects. */
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

/** Cumulative seconds per part of a step; null from an older package. */
function timingsOf(trainer) {
  try {
    return typeof trainer.timings === 'function' ? plain(trainer.timings()) : null;
  } catch {
    return null;
  }
}

/** Re-read the run's backend (on its lock, after a call); tell the page when it changed. */
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

/** Release the trainer once the calls queued on it have settled. */
function freeRun() {
  const r = run;
  run = null;
  if (!r) return;
  r.failed = true;
  r.lock.then(() => {
    try {
      r.trainer?.free();
    } catch {
      // already released
    }
  });
}

/** Ends the free-running loop, if any; resolves once its slice in flight has ended. */
async function stopFree() {
  const f = free;
  if (!f) return;
  f.stop = true;
  await f.done;
}

async function reset(msg) {
  await stopFree();
  freeRun();
  gen = msg.gen;
  let trainer;
  try {
    if (typeof wasm.Trainer.create !== 'function') {
      throw new Error('this build of the wasm package has no Trainer.create: rebuild www/pkg');
    }
    trainer = await wasm.Trainer.create(msg.config, data);
  } catch (e) {
    post({ type: 'error', gen: msg.gen, run: msg.run, phase: 'config', message: messageOf(e) });
    return;
  }
  if (gen !== msg.gen) {
    trainer.free();
    return;
  }
  run = {
    id: msg.run,
    gen: msg.gen,
    optimizer: msg.config?.optimizer ?? 'sgd',
    trackedMs: 0, // CPU time spent tracking a metric for the views (SGD, Adam)
    trainer,
    failed: false,
    steps: 0,
    busyMs: 0,
    rate: 0,
    mark: { steps: 0, busyMs: 0 },
    lock: Promise.resolve(),
    backend: backendOf(trainer),
  };
  let lr = null;
  let preset = null;
  try {
    lr = plain(trainer.config()).lr;
  } catch {
    // older package without config()
  }
  try {
    if (typeof trainer.rngdPreset === 'function') preset = trainer.rngdPreset() ?? null;
  } catch {
    // older package
  }
  post({
    type: 'reset-done',
    gen: msg.gen,
    run: msg.run,
    lr,
    layers: trainer.layers ?? null,
    batchesPerEpoch: trainer.batchesPerEpoch,
    backend: run.backend,
    preset,
  });
}

function fail(r, e, extra = {}) {
  r.failed = true;
  post({ type: 'error', gen: r.gen, run: r.id, phase: 'step', message: messageOf(e), step: r.steps, ...extra });
}

/** Seconds this run has spent learning a metric it does not step with: the
 *  one SGD and Adam track for the geometry view (`track_metric`); 0 for RNGD,
 *  whose metric is part of its step. */
function trackingSeconds(r, trainer) {
  if (r.optimizer === 'rngd' || typeof trainer.timings !== 'function') return 0;
  return plain(trainer.timings()).metric_update ?? 0;
}

/** n steps on the run's lock; the compute time goes to busyMs, without the
 *  time spent tracking a metric for the views, so that the pace of SGD and
 *  Adam is their own. Throws what step throws. */
async function stepRun(r, n) {
  let ms = 0;
  await use(r, async (trainer) => {
    const tracked = trackingSeconds(r, trainer);
    const t = performance.now();
    try {
      await trainer.step(n);
    } finally {
      const trackedMs = 1000 * (trackingSeconds(r, trainer) - tracked);
      r.trackedMs += trackedMs;
      ms = performance.now() - t - trackedMs;
      checkBackend(r);
    }
  });
  r.steps += n;
  r.busyMs += ms;
  return ms;
}

async function snapshotRun(r) {
  const snapshot = await use(r, async (trainer) => {
    try {
      return plain(await trainer.snapshot());
    } finally {
      checkBackend(r);
    }
  });
  // Steps per second of this run's own compute (snapshots excluded), smoothed.
  const ds = r.steps - r.mark.steps;
  const dt = (r.busyMs - r.mark.busyMs) / 1000;
  if (ds > 0 && dt > 0) r.rate = r.rate ? 0.6 * r.rate + 0.4 * (ds / dt) : ds / dt;
  r.mark = { steps: r.steps, busyMs: r.busyMs };
  return snapshot;
}

/** One lock-step slice, answered by 'stepped' (or 'error' with the same seq). */
async function lockstepSlice(msg) {
  const r = run;
  if (!r || r.failed || r.gen !== msg.gen) {
    post({ type: 'error', gen: msg.gen, run: r?.id ?? null, phase: 'step', seq: msg.seq, message: 'this run has no trainer to step' });
    return;
  }
  let stepMs;
  let snapshot;
  try {
    stepMs = await stepRun(r, msg.n);
    if (msg.snapshot) snapshot = await snapshotRun(r);
  } catch (e) {
    if (r.gen === gen) fail(r, e, { seq: msg.seq });
    return;
  }
  post({
    type: 'stepped',
    gen: r.gen,
    seq: msg.seq,
    run: r.id,
    steps: r.steps,
    stepMs,
    stepsPerSec: r.rate,
    snapshot,
    backend: r.backend,
    timings: timingsOf(r.trainer),
  });
}

/** Lets queued messages through between slices. A message to ourselves
 *  rather than setTimeout(0), which browsers stretch to 4 ms once timers nest. */
const wakeups = [];
const channel = new MessageChannel();
channel.port1.onmessage = () => wakeups.shift()?.();
const breathe = () =>
  new Promise((resolve) => {
    wakeups.push(resolve);
    channel.port2.postMessage(0);
  });

/** Free-running: slice after slice at this run's own pace, a point every evalEvery steps. */
function startFree(msg) {
  const r = run;
  if (free || !r || r.failed || r.gen !== msg.gen) return;
  const evalEvery = Math.max(1, Math.floor(msg.evalEvery || 25));
  const fixed = Number.isInteger(msg.stepsPerSlice) && msg.stepsPerSlice >= 1 ? msg.stepsPerSlice : null;
  const me = { gen: msg.gen, stop: false, done: null };
  free = me;
  me.done = (async () => {
    let chunk = fixed ?? 1;
    let wall = { time: performance.now(), steps: r.steps, trackedMs: r.trackedMs };
    try {
      while (!me.stop && !r.failed && r.gen === gen) {
        const n = Math.min(chunk, evalEvery - (r.steps % evalEvery));
        let ms;
        try {
          ms = await stepRun(r, n);
        } catch (e) {
          if (r.gen === gen) fail(r, e);
          break;
        }
        if (n === chunk && fixed == null) {
          if (ms > 1.5 * SLICE_MS && chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
          else if (ms < 0.5 * SLICE_MS) chunk = Math.min(evalEvery, chunk * 2);
        }
        if (r.steps % evalEvery === 0) {
          let snapshot;
          try {
            snapshot = await snapshotRun(r);
          } catch (e) {
            if (r.gen === gen) fail(r, e);
            break;
          }
          const now = performance.now();
          // Without the time spent tracking a metric for the views (SGD, Adam).
          const spent = now - wall.time - (r.trackedMs - wall.trackedMs);
          const wallStepsPerSec = spent > 0 ? (1000 * (r.steps - wall.steps)) / spent : 0;
          wall = { time: now, steps: r.steps, trackedMs: r.trackedMs };
          post({
            type: 'point',
            gen: r.gen,
            run: r.id,
            snapshot,
            stepsPerSec: r.rate,
            wallStepsPerSec,
            trackedSeconds: r.trackedMs / 1000,
            backend: r.backend,
            timings: timingsOf(r.trainer),
          });
        }
        await breathe();
      }
    } catch (e) {
      post({ type: 'error', gen: r.gen, run: r.id, phase: 'internal', message: messageOf(e) });
    } finally {
      if (free === me) free = null;
    }
  })();
}

async function pause(msg) {
  await stopFree();
  post({ type: 'paused', gen: msg.gen, run: run?.id ?? null, steps: run?.steps ?? 0 });
}

/** Answers on its own once the call in flight has settled; does not hold up other messages. */
async function diagnostics(msg) {
  const r = run;
  const base = { type: 'diagnostics', gen: msg.gen, run: r?.id ?? null, layer: msg.layer, req: msg.req };
  if (!r || r.gen !== msg.gen) {
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

/** A generic read of the run (see CALLABLE), queued on the lock like every
 *  other trainer call; answers on its own, like diagnostics. */
async function call(msg) {
  const r = run;
  const base = { type: 'call-result', gen: msg.gen, run: r?.id ?? null, req: msg.req };
  if (!r || r.gen !== msg.gen) {
    post({ ...base, error: 'this run is not part of the current comparison' });
    return;
  }
  if (!CALLABLE.has(msg.method)) {
    post({ ...base, error: `the page may not call trainer.${msg.method}` });
    return;
  }
  if (typeof r.trainer[msg.method] !== 'function') {
    post({ ...base, error: `this build of the wasm package has no trainer.${msg.method}: rebuild www/pkg` });
    return;
  }
  try {
    const data = await use(r, async (trainer) => {
      try {
        return plain(await trainer[msg.method](...(msg.args ?? [])));
      } finally {
        checkBackend(r);
      }
    });
    post({ ...base, step: r.steps, data });
  } catch (e) {
    post({ ...base, step: r.steps, error: messageOf(e) });
  }
}

/** TEST HOOK: destroys the run's GPU device, as a driver reset would. The run
 *  notices at its next step and goes on on the CPU. */
async function loseDevice(msg) {
  const r = run;
  const base = { type: 'lose-device-done', gen: msg.gen, run: r?.id ?? null };
  if (!r || r.gen !== msg.gen) {
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
    case 'step':
      await lockstepSlice(msg);
      break;
    case 'free':
      startFree(msg);
      break;
    case 'pause':
      // Held until the loop's slice in flight has ended, so that a `free`
      // sent after it starts a fresh loop.
      await pause(msg);
      break;
    case 'diagnostics':
      diagnostics(msg);
      break;
    case 'lose-device':
      loseDevice(msg);
      break;
    case 'call':
      call(msg);
      break;
    default:
      post({ type: 'error', gen, run: run?.id ?? null, phase: 'internal', message: `Unknown message type: ${msg.type}` });
  }
}

post({ type: 'progress', message: 'Loading the wasm module…' });
const moduleLoaded = loadModule();
// Messages are handled strictly in order, after loading has finished; a
// reset holds up the messages after it until its trainer is built.
let queue = moduleLoaded.then(loadData).catch((e) => {
  post({ type: 'error', gen, run: null, phase: 'init', message: messageOf(e) });
});

self.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === 'selftest') {
    // In parallel with the dataset; it reports on its own.
    moduleLoaded.then(gpuCheck, () => {});
    return;
  }
  queue = queue.then(async () => {
    try {
      await handle(msg);
    } catch (e) {
      post({ type: 'error', gen, run: run?.id ?? null, phase: 'internal', message: messageOf(e) });
    }
  });
};
