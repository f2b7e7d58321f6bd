// Browser benchmark of the wasm trainer: ms/step of each optimizer on the CPU
// path (ndarray compiled to wasm, one thread) and, when the browser offers
// WebGPU, on the GPU; RNGD ÷ SGD on each backend and GPU ÷ CPU per optimizer;
// where each CPU step's time goes (trainer.timings(), the native bench's
// split). RNGD's presets other than the literal algorithm can be timed too,
// as rows of their own ("rngd fast"), with the settings the crate gives them.
// Every round times each optimizer on each backend once, in turn (the order
// rotates from round to round), and the table gives medians over rounds.
//
// Loaded by bench.html as a module. It runs in the page by default, or in a
// module worker with `?worker=1` (the same file: it notices where it runs).
// scripts/bench-web.mjs drives it headless and prints the table.
//
// URL parameters (all optional):
//   rounds=5  steps=100  warmup=120  optimizers=sgd,adam,rngd  backends=cpu,gpu
//   hidden=80,80,80  batch=50  worker=0|1  presets=fast (RNGD presets besides literal)
// `steps` are timed per round in one `await trainer.step(steps)` call: a GPU
// run reads its losses back once per call, and with the default (RNGD's T)
// every round holds exactly one inverse refresh.
//
// When done, the page sets document.body.dataset.state to 'done' (or 'error'),
// window.benchResult to the result object below, and window.benchText to the
// table as plain text.

import { SPLIT_PARTS, splitDelta, splitShares } from './split.js';
import { fetchMnist } from './mnist.js';

const OPTIMIZERS = ['sgd', 'adam', 'rngd'];
const BACKENDS = ['cpu', 'gpu'];

export const DEFAULTS = Object.freeze({
  rounds: 5,
  steps: 100,
  warmup: 120,
  optimizers: OPTIMIZERS,
  backends: BACKENDS,
  hidden: [80, 80, 80],
  batch: 50,
  presets: [],
});

const IN_PAGE = typeof window !== 'undefined' && typeof document !== 'undefined';
const IN_WORKER = !IN_PAGE && typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;

function messageOf(e) {
  if (e instanceof Error) return e.message || String(e);
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

const plain = (obj) => (obj instanceof Map ? Object.fromEntries(obj) : { ...obj });

/** Lets the page paint and other messages through between timed calls. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/** Median over rounds of the per-round ratio a/b (rounds that both finished). */
function ratio(a, b) {
  const n = Math.min(a.length, b.length);
  return median(Array.from({ length: n }, (_, i) => a[i] / b[i]));
}

/** Software adapters: a CPU emulating a GPU, whose times say nothing about a real GPU. */
export function isSoftwareAdapter(adapter) {
  const a = String(adapter ?? '').toLowerCase();
  return (
    a.includes(', cpu)') ||
    ['swiftshader', 'llvmpipe', 'lavapipe', 'softpipe', 'microsoft basic render'].some((s) => a.includes(s))
  );
}

/** Options from URL parameters, checked. */
export function parseOptions(search) {
  const p = new URLSearchParams(search);
  const int = (name, min, max) => {
    if (!p.has(name)) return DEFAULTS[name];
    const v = Number(p.get(name));
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in [${min}, ${max}], got ${p.get(name)}`);
    return v;
  };
  const list = (name, allowed) => {
    if (!p.has(name)) return DEFAULTS[name];
    const v = p.get(name).split(',').map((s) => s.trim()).filter(Boolean);
    const bad = v.filter((x) => !allowed.includes(x));
    if (v.length === 0 || bad.length) throw new Error(`${name} takes ${allowed.join(', ')}; got ${p.get(name)}`);
    return [...new Set(v)];
  };
  let hidden = DEFAULTS.hidden;
  if (p.has('hidden')) {
    hidden = p.get('hidden').split(',').map(Number);
    if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`hidden must list positive widths, got ${p.get('hidden')}`);
  }
  return {
    rounds: int('rounds', 1, 1000),
    steps: int('steps', 1, 100000),
    warmup: int('warmup', 0, 100000),
    optimizers: list('optimizers', OPTIMIZERS),
    backends: list('backends', BACKENDS),
    hidden,
    batch: int('batch', 1, 8000),
    // Checked against the crate's list once the module is loaded.
    presets: p.has('presets') ? [...new Set(p.get('presets').split(',').map((x) => x.trim()).filter((x) => x && x !== 'literal'))] : [],
    worker: p.get('worker') === '1' || p.get('worker') === 'true',
  };
}

/** What WebGPU the browser offers, without creating a trainer. */
async function webgpuInfo() {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) return { available: false, reason: 'this browser has no navigator.gpu (WebGPU is off or unsupported)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() found no adapter' };
    const info = adapter.info ?? {};
    return {
      available: true,
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
    };
  } catch (e) {
    return { available: false, reason: `navigator.gpu.requestAdapter() failed: ${messageOf(e)}` };
  }
}

/**
 * Runs the benchmark. `progress(text)` hears what is going on.
 * @returns {Promise<object>} the result: setup, backends, every round's ms/step, medians and ratios
 */
export async function runBench(opts, progress = () => {}) {
  const o = { ...DEFAULTS, ...opts };
  progress('loading the wasm module');
  let wasm;
  try {
    wasm = await import('./pkg/rngd_lab.js');
  } catch (e) {
    throw new Error(
      'www/pkg/rngd_lab.js could not be loaded; build the wasm package first ' +
        `(source scripts/lib.sh && build_web). Details: ${messageOf(e)}`,
    );
  }
  await wasm.default();
  if (typeof wasm.Trainer.create !== 'function') {
    throw new Error('this build of the wasm package has no Trainer.create: rebuild www/pkg');
  }
  progress('fetching the MNIST subset');
  const data = wasm.Dataset.fromIdx(...(await fetchMnist()));

  // The rows: each optimizer, and RNGD once more per extra preset.
  const presets = typeof wasm.rngdPresets === 'function' ? [...wasm.rngdPresets()].map(plain) : [];
  const rows = o.optimizers.map((optimizer) => ({ name: optimizer, optimizer, rngd: null }));
  for (const name of o.presets) {
    const p = presets.find((x) => x.name === name);
    if (!p) throw new Error(`the wasm package has no RNGD preset "${name}" (it has: ${presets.map((x) => x.name).join(', ') || 'none'})`);
    if (o.optimizers.includes('rngd')) rows.push({ name: `rngd ${name}`, optimizer: 'rngd', rngd: plain(p.settings), preset: name });
  }

  const result = {
    version: wasm.version(),
    userAgent: globalThis.navigator?.userAgent ?? '',
    where: IN_WORKER ? 'worker' : 'page',
    options: { rounds: o.rounds, steps: o.steps, warmup: o.warmup, hidden: o.hidden, batch: o.batch },
    sizes: [784, ...o.hidden, 10],
    webgpu: await webgpuInfo(),
    backends: {}, // backend → {adapter, reason, software} as trainer.backend() says
    skipped: {}, // backend → why it was not timed
    presets, // rngdPresets(): [{name, description, settings}]
    splitParts: SPLIT_PARTS, // [timings key, label], the native bench's column order
    rows: rows.map(({ name, optimizer, rngd, preset }) => ({ name, optimizer, rngd, preset: preset ?? null })),
    cells: {}, // row name → backend → {msRounds, msMedian, backend, problem, split}
    rngdOverSgd: {}, // backend → median per-round ratio
    gpuOverCpu: {}, // optimizer → median per-round ratio
  };
  if (o.backends.includes('gpu') && !result.webgpu.available) result.skipped.gpu = result.webgpu.reason;
  const backends = o.backends.filter((b) => !(b in result.skipped));

  // Build and warm up every trainer first.
  const trainers = {}; // row name → backend → Trainer
  const timingsOf = (t) => (typeof t?.timings === 'function' ? plain(t.timings()) : null);
  try {
    for (const backend of [...backends]) {
      for (const { name: optimizer, optimizer: kind, rngd } of rows) {
        const config = { optimizer: kind, backend, hidden: o.hidden, batch: o.batch };
        if (rngd) config.rngd = rngd;
        progress(`warming up ${optimizer} on ${backend} (${o.warmup} steps)`);
        let trainer;
        try {
          trainer = await wasm.Trainer.create(config, data);
        } catch (e) {
          if (backend === 'gpu' && Object.keys(trainers).every((k) => !trainers[k].gpu)) {
            // No GPU trainer at all: the backend is not there.
            result.skipped.gpu = `Trainer.create with backend gpu failed: ${messageOf(e)}`;
            backends.splice(backends.indexOf('gpu'), 1);
            break;
          }
          (result.cells[optimizer] ??= {})[backend] = { msRounds: [], msMedian: null, backend: null, problem: `could not start: ${messageOf(e)}` };
          continue;
        }
        const info = plain(trainer.backend());
        // An RNGD row times whole refresh periods per round and warms up past its
        // first refresh, as the native bench does (the fast preset's T is 500).
        const cfg = plain(trainer.config());
        const period = cfg.optimizer === 'rngd' ? cfg.rngd.refresh : 0;
        const steps = period ? Math.ceil(o.steps / period) * period : o.steps;
        const warmup = period ? Math.max(o.warmup, period + 20) : o.warmup;
        (trainers[optimizer] ??= {})[backend] = trainer;
        (result.cells[optimizer] ??= {})[backend] = {
          steps,
          warmup,
          msRounds: [],
          msMedian: null,
          backend: info,
          problem: info.kind === backend ? null : `runs on ${info.kind}: ${info.reason}`,
        };
        if (!result.backends[backend]) {
          // Browsers hide most adapter details from wgpu: ask WebGPU's own adapter info too.
          const w = result.webgpu;
          const browserSide = backend === 'gpu' && w.available ? [w.vendor, w.architecture, w.device, w.description].filter(Boolean).join(' ') : '';
          result.backends[backend] = {
            kind: info.kind,
            adapter: info.adapter,
            webgpuAdapter: browserSide || null,
            reason: info.reason,
            software: backend === 'gpu' && (isSoftwareAdapter(info.adapter) || isSoftwareAdapter(browserSide)),
          };
        }
        try {
          if (warmup > 0) await trainer.step(warmup);
          // The split counts the timed rounds only, as the native bench does.
          result.cells[optimizer][backend].timingsStart = timingsOf(trainer);
        } catch (e) {
          result.cells[optimizer][backend].problem = messageOf(e);
          trainer.free();
          trainers[optimizer][backend] = null;
        }
        await breathe();
      }
    }

    // Rounds: each optimizer on each backend once per round; the optimizer
    // order rotates and the backend order alternates from round to round.
    for (let round = 0; round < o.rounds; round++) {
      progress(`round ${round + 1}/${o.rounds}`);
      const names = rows.map((r) => r.name);
      const opts = names.map((_, i) => names[(i + round) % names.length]);
      const order = round % 2 ? [...backends].reverse() : backends;
      for (const optimizer of opts) {
        for (const backend of order) {
          const trainer = trainers[optimizer]?.[backend];
          if (!trainer) continue;
          const cell = result.cells[optimizer][backend];
          const t0 = performance.now();
          try {
            await trainer.step(cell.steps);
          } catch (e) {
            cell.problem = messageOf(e);
            trainer.free();
            trainers[optimizer][backend] = null;
            continue;
          }
          cell.msRounds.push((performance.now() - t0) / cell.steps);
          await breathe();
        }
      }
    }
    for (const { name: optimizer } of rows) {
      for (const backend of backends) {
        const trainer = trainers[optimizer]?.[backend];
        const cell = result.cells[optimizer]?.[backend];
        if (!cell) continue;
        if (trainer) cell.backend = plain(trainer.backend()); // changes after a device loss
        cell.msMedian = median(cell.msRounds);
        cell.split = trainer && cell.msRounds.length ? splitDelta(timingsOf(trainer), cell.timingsStart) : null;
        delete cell.timingsStart;
      }
    }
  } finally {
    for (const byBackend of Object.values(trainers)) {
      for (const t of Object.values(byBackend)) {
        try {
          t?.free();
        } catch {
          // already released
        }
      }
    }
    data.free?.();
  }

  for (const backend of backends) {
    const sgd = result.cells.sgd?.[backend];
    const rngd = result.cells.rngd?.[backend];
    if (sgd && rngd) result.rngdOverSgd[backend] = ratio(rngd.msRounds, sgd.msRounds);
  }
  if (backends.includes('cpu') && backends.includes('gpu')) {
    for (const { name: optimizer } of rows) {
      const c = result.cells[optimizer];
      if (c?.cpu && c?.gpu) result.gpuOverCpu[optimizer] = ratio(c.gpu.msRounds, c.cpu.msRounds);
    }
  }
  result.text = formatResult(result);
  return result;
}

const fmtMs = (ms) => (ms == null ? '-' : ms >= 100 ? ms.toFixed(1) : ms >= 10 ? ms.toFixed(2) : ms.toFixed(3));
const fmtRatio = (r) => (r == null ? '-' : r.toFixed(2));

/** The result as a plain-text table. */
export function formatResult(r) {
  const o = r.options;
  const backends = Object.keys(r.backends);
  const lines = [];
  lines.push(
    `rngd-lab ${r.version}, wasm in the browser (${r.where}): PLAIN relu ${r.sizes.join('-')}, batch ${o.batch}; ` +
      `ms/step, median of ${o.rounds} rounds × ${o.steps} steps after ${o.warmup} warm-up steps (an RNGD row: whole refresh periods per round, warm-up past its first refresh)`,
  );
  lines.push(`browser: ${r.userAgent}`);
  for (const b of backends) {
    const info = r.backends[b];
    if (b === 'cpu') lines.push('  cpu  the CPU path, ndarray compiled to wasm, one thread');
    else
      lines.push(
        `  gpu  ${info.adapter ?? '?'}${info.webgpuAdapter ? ` [WebGPU adapter info: ${info.webgpuAdapter}]` : ''}${info.software ? ': a software adapter, the CPU emulating a GPU, so these times say nothing about a real GPU' : ''}`,
      );
  }
  for (const [b, why] of Object.entries(r.skipped)) lines.push(`  ${b}  not timed: ${why}`);
  const header = ['optimizer'];
  for (const b of backends) header.push(`${b}${r.backends[b].software ? ' (software)' : ''} ms/step`, '÷ sgd');
  if (backends.includes('cpu') && backends.includes('gpu')) header.push('gpu ÷ cpu');
  // The native bench's split columns, for the CPU path.
  if (backends.includes('cpu')) header.push(...SPLIT_PARTS.map(([, label], i) => (i === 0 ? `cpu: ${label}` : label)));
  const rows = [];
  const notes = [];
  for (const [optimizer, cells] of Object.entries(r.cells)) {
    const row = [optimizer];
    for (const b of backends) {
      const c = cells[b];
      let mark = '';
      if (c?.problem) {
        notes.push(`${optimizer} on ${b}: ${c.problem}`);
        mark = ` [${notes.length}]`;
      }
      row.push(fmtMs(c?.msMedian) + mark);
      const sgd = r.cells.sgd?.[b];
      row.push(c && sgd ? fmtRatio(ratio(c.msRounds, sgd.msRounds)) : '-');
    }
    if (backends.includes('cpu') && backends.includes('gpu')) row.push(fmtRatio(r.gpuOverCpu[optimizer]));
    if (backends.includes('cpu')) {
      const shares = splitShares(cells.cpu?.split);
      row.push(...SPLIT_PARTS.map((_, i) => (shares ? `${Math.round(100 * shares[i].share)}%` : '-')));
    }
    rows.push(row);
  }
  const width = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells) => cells.map((s, c) => (c === 0 ? s.padEnd(width[c]) : s.padStart(width[c]))).join('  ').trimEnd();
  lines.push('', line(header), ...rows.map(line));
  notes.forEach((n, i) => lines.push(`  [${i + 1}] ${n}`));
  for (const row of r.rows ?? []) {
    if (!row.preset) continue;
    const p = r.presets.find((x) => x.name === row.preset);
    lines.push(`${row.name}: RNGD's ${row.preset} preset, ${Object.entries(row.rngd).map(([k, v]) => `${k} ${v}`).join(', ')}${p ? ` (${p.description})` : ''}`);
  }
  lines.push('ratios are medians of per-round ratios; each round times every optimizer on every backend in turn');
  return lines.join('\n');
}

// ------------------------------------------------------------------ wiring

if (IN_WORKER) {
  self.onmessage = async (ev) => {
    try {
      const result = await runBench(ev.data, (message) => self.postMessage({ type: 'progress', message }));
      self.postMessage({ type: 'done', result });
    } catch (e) {
      self.postMessage({ type: 'error', message: messageOf(e) });
    }
  };
}

function inWorker(opts, progress) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./bench.js', import.meta.url), { type: 'module' });
    w.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === 'progress') progress(m.message);
      else {
        w.terminate();
        if (m.type === 'done') resolve(m.result);
        else reject(new Error(m.message));
      }
    };
    w.onerror = (ev) => {
      w.terminate();
      reject(new Error(`the benchmark worker failed: ${ev.message || 'could not start'}`));
    };
    w.postMessage(opts);
  });
}

async function page() {
  const status = document.querySelector('#status');
  const table = document.querySelector('#table');
  const progress = (text) => {
    status.textContent = text;
    console.log(`bench: ${text}`);
  };
  document.body.dataset.state = 'running';
  try {
    const opts = parseOptions(location.search);
    const { worker, ...rest } = opts;
    const result = worker ? await inWorker(rest, progress) : await runBench(rest, progress);
    table.textContent = result.text;
    status.textContent = 'done';
    window.benchResult = result;
    window.benchText = result.text;
    document.body.dataset.state = 'done';
  } catch (e) {
    status.textContent = `error: ${messageOf(e)}`;
    window.benchError = messageOf(e);
    document.body.dataset.state = 'error';
    console.warn(`bench: ${messageOf(e)}`);
  }
}

if (IN_PAGE) page();
