// Training worker: loads the wasm package and the MNIST subset, owns the
// Trainer objects and trains them in slices so that the page stays responsive
// and `pause` / `reset` messages get through between slices.
//
// main → worker
//   {type:'reset', gen, evalEvery, runs:[{id, config}]}  build fresh trainers (stopped)
//   {type:'start', gen}                                   train until paused
//   {type:'pause', gen}
// worker → main
//   {type:'progress', message}                            while loading
//   {type:'ready', version, trainLen, testLen}
//   {type:'reset-done', gen, runs:[id]}                  the runs built (stopped)
//   {type:'point', gen, run, snapshot, stepsPerSec}
//   {type:'running', gen, running}
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

let wasm = null; // the imported module
let data = null; // Dataset
let runs = []; // [{id, trainer, failed, rate, lastTime}]
let gen = 0;
let evalEvery = 25;
let running = false;
let timer = null;

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
  post({ type: 'progress', message: 'Fetching the MNIST subset…' });
  const bytes = await Promise.all(FILES.map(fetchBytes));
  post({ type: 'progress', message: 'Decoding the MNIST subset…' });
  try {
    data = wasm.Dataset.fromIdx(...bytes);
  } catch (e) {
    throw new Error(`The MNIST files could not be read: ${messageOf(e)}`);
  }
  post({ type: 'ready', version: wasm.version(), trainLen: data.trainLen, testLen: data.testLen });
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
  const built = [];
  for (const { id, config } of msg.runs) {
    let trainer;
    try {
      trainer = new wasm.Trainer(config, data);
    } catch (e) {
      post({ type: 'error', gen, run: id, phase: 'config', message: messageOf(e) });
      continue;
    }
    built.push({ id, trainer, failed: false, rate: 0, lastTime: 0 });
  }
  if (built.length !== msg.runs.length) {
    // All or nothing: the runs are meant to be compared side by side.
    runs = built;
    freeRuns();
  } else {
    runs = built;
  }
  // Trainers start stopped; `reset-done` implies `running: false`.
  post({ type: 'reset-done', gen, runs: runs.map((r) => r.id) });
}

function start() {
  const live = runs.filter((r) => !r.failed);
  if (live.length === 0) {
    post({ type: 'running', gen, running: false });
    return;
  }
  const now = performance.now();
  for (const r of live) r.lastTime = now;
  setRunning(true);
}

function tick() {
  timer = null;
  if (!running) return;
  // Every run does the same number of steps per slice, so the runs stay at
  // the same step count and their points line up on the charts.
  for (const r of runs) {
    if (r.failed) continue;
    let snapshot;
    try {
      r.trainer.step(evalEvery);
      snapshot = plain(r.trainer.snapshot());
    } catch (e) {
      r.failed = true;
      post({ type: 'error', gen, run: r.id, phase: 'step', message: messageOf(e) });
      continue;
    }
    const now = performance.now();
    const dt = (now - r.lastTime) / 1000;
    r.lastTime = now;
    const inst = dt > 0 ? evalEvery / dt : 0;
    r.rate = r.rate ? 0.7 * r.rate + 0.3 * inst : inst;
    post({ type: 'point', gen, run: r.id, snapshot, stepsPerSec: r.rate });
  }
  if (runs.every((r) => r.failed)) {
    setRunning(false);
    return;
  }
  timer = setTimeout(tick, 0);
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
