// Page wiring: settings (state.js) → controls (controls.js) → the race
// coordinator (race.js, one worker.js per run) → status table, charts
// (chart.js) and the geometry view (geometry.js).

import {
  RUN_DEFS,
  runDef,
  MODEL,
  EVAL_EVERY,
  GEOMETRY_EVERY_S,
  validateSettings,
  sameSettings,
  trainerConfig,
  architecture,
  activationLabel,
  archLabel,
  BACKENDS,
  X_AXES,
  defaultXAxis,
  setRngdPresets,
  rngdPresets,
  setCrateDefaults,
  getCrateDefaults,
  hiddenOf,
  speedFields,
  DEFAULT_PRESET,
  readHash,
  isSettingsHash,
  writeHash,
} from './state.js';
import { createControls } from './controls.js';
import { loadCrate } from './crate.js';
import { createGeometryView, fmtSci } from './geometry.js';
import { createRace } from './race.js';
import { createExport } from './export.js';
import { createDrawView } from './draw.js';
import { missingWasmFeature } from './simd.js';
import { splitShares } from './split.js';

const $ = (sel, root = document) => root.querySelector(sel);

// ---------------------------------------------------------------- formatting
const fmtInt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtFixed = (d) => (n) => (n == null || !Number.isFinite(n) ? '–' : n.toFixed(d));
const fmtLoss = (n) => (n == null || !Number.isFinite(n) ? '–' : n < 1e-3 ? n.toExponential(2) : n.toPrecision(4));
const fmtPct = (n) => (n == null || !Number.isFinite(n) ? '–' : `${(100 * n).toFixed(2)} %`);
const fmtRate = (n) => (n == null || !(n > 0) ? '–' : n >= 100 ? fmtInt(n) : n.toFixed(1));
/** wgpu lists every native backend a wasm build leaves out ("vulkan support
 *  not compiled in", …): noise on a web page. */
const dropWgpuNoise = (s) =>
  String(s)
    .replace(/([;,(]\s*)?\b\w+ support not compiled in(?=[;,)]|$)/g, (m, lead) => (lead?.startsWith('(') ? '(' : ''))
    .replace(/\(\s*[;,]\s*/g, '(')
    .replace(/\s*[;,]\s*\)/g, ')');
const sentence = (s) => {
  const t = String(s).trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
};

// --------------------------------------------------------------- error banner
const banner = $('#error');
function showError(message) {
  $('[data-role="message"]', banner).textContent = message;
  banner.hidden = false;
}
function clearError() {
  banner.hidden = true;
  $('[data-role="message"]', banner).textContent = '';
}
$('[data-action="dismiss"]', banner).addEventListener('click', clearError);

const statusLine = $('#status');
const setStatus = (text) => {
  statusLine.textContent = text;
};

// ------------------------------------------------------------- app state
const app = {
  mode: 'loading',
  gen: 0,
  info: null, // {version, trainLen, testLen}
  defaults: Object.fromEntries(RUN_DEFS.map((d) => [d.id, d.defaultLr])),
  applied: null, // settings of the current trainers, null if there are none
  trainersOk: false,
  running: false,
  wallRate: 0,
  layerSizes: [MODEL.inputs, ...MODEL.hidden, MODEL.outputs],
  selftest: null, // gpuSelfTest() report, null until it arrives
  configErrors: [], // [{id, message}] of the current reset
  runs: new Map(
    RUN_DEFS.map((def) => [
      def.id,
      {
        def,
        included: false,
        lr: null,
        history: [],
        last: null,
        stepsPerSec: 0,
        failed: false,
        failure: null,
        failedAt: null, // the step a diverged run stopped at
        backend: null, // trainer.backend(): {kind, adapter, reason, lost_steps}
        notice: null, // {head, reason, lostSteps} once the run has left the GPU
        preset: null, // trainer.rngdPreset(): 'literal' | 'fast' | null
        timings: null, // trainer.timings(), cumulative seconds per part
      },
    ]),
  ),
};
const includedRuns = () => [...app.runs.values()].filter((r) => r.included);
/** "RNGD (fast)" when the run uses a preset other than the literal algorithm. */
const runLabel = (run) => (run.preset && run.preset !== DEFAULT_PRESET ? `${run.def.label} (${run.preset})` : run.def.label);

// --------------------------------------------------------- fixed description
function fillDescription() {
  const raw = controls?.readRaw() ?? {};
  // The runs' settings once there are runs, else the form's when it is valid.
  const shown = app.applied ?? (controls ? validateSettings(raw).values : null);
  const d = getCrateDefaults();
  const fills = {
    arch: architecture(hiddenOf(shown)),
    'arch-long': archLabel(app.applied?.arch ?? raw.arch ?? 'plain'),
    activation: activationLabel(app.applied?.activation ?? raw.activation ?? 'relu'),
    batch: String(shown?.batch ?? d?.batch ?? MODEL.batch),
    l2: String(shown?.l2 ?? d?.l2 ?? MODEL.l2),
    'init-std': String(d?.init_std ?? MODEL.init_std),
    'eval-every': String(EVAL_EVERY),
    'geo-every': String(GEOMETRY_EVERY_S),
    'train-len': app.info ? fmtInt(app.info.trainLen) : null,
    'test-len': app.info ? fmtInt(app.info.testLen) : null,
  };
  for (const el of document.querySelectorAll('[data-fill]')) {
    const v = fills[el.dataset.fill];
    if (v != null) el.textContent = v;
  }
}

// ------------------------------------------------------------ status table
const tbody = $('#runs tbody');
for (const { def } of app.runs.values()) {
  const tr = document.createElement('tr');
  tr.dataset.run = def.id;
  tr.className = 'run-row';
  tr.innerHTML = `
    <th scope="row"><span class="swatch"></span><span class="run-label"></span></th>
    <td data-col="backend" data-testid="run-backend"><span class="backend-badge" data-role="badge"></span><span
      class="backend-detail" data-role="detail"></span></td>
    <td data-col="lr" data-testid="lr-in-force" class="num"></td>
    <td data-col="state" data-testid="run-state"></td>
    <td data-col="step" data-testid="steps" class="num"></td>
    <td data-col="epoch" data-testid="epoch" class="num"></td>
    <td data-col="rate" data-testid="steps-per-second" class="num"></td>
    <td data-col="train-loss" data-testid="train-loss" class="num"></td>
    <td data-col="test-loss" data-testid="test-loss" class="num"></td>
    <td data-col="test-accuracy" data-testid="test-accuracy" class="num strong"></td>
    <td data-col="split" data-testid="time-split"><span class="split-bar" data-role="bar"></span><span
      class="split-text" data-role="text"></span></td>`;
  $('.swatch', tr).style.background = `var(--run-${def.id}, ${def.color})`;
  $('.run-label', tr).textContent = def.label;
  for (const td of tr.querySelectorAll('td')) td.dataset.run = def.id;
  const note = document.createElement('tr');
  note.className = 'run-note';
  note.dataset.run = def.id;
  note.hidden = true;
  note.innerHTML = `<td colspan="11">
    <div class="run-notice" role="status" data-testid="backend-notice" data-run="${def.id}" hidden></div>
    <div class="run-message" role="alert" data-testid="run-message" data-run="${def.id}" hidden></div></td>`;
  tbody.append(tr, note);
}

function renderRun(run) {
  const id = run.def.id;
  const tr = $(`tr.run-row[data-run="${id}"]`, tbody);
  const s = run.last;
  const cell = (col) => $(`[data-col="${col}"]`, tr);
  let state;
  if (!run.included) state = app.trainersOk || app.applied ? 'not included' : '–';
  else if (run.failed) state = 'stopped (error)';
  else if (!app.trainersOk) state = app.mode === 'loading' ? 'loading' : '–';
  else if (app.running) state = 'training';
  else state = s ? 'paused' : 'ready';
  cell('state').textContent = state;
  tr.dataset.state = !run.included ? 'off' : run.failed ? 'failed' : app.running ? 'running' : 'idle';
  const live = run.included && app.trainersOk;
  cell('lr').textContent = run.included && run.lr != null ? String(run.lr) : '–';
  // A run that diverged shows the step it diverged at, even before its first point.
  cell('step').textContent = fmtInt(run.failed && run.failedAt != null ? run.failedAt : s?.step ?? (live ? 0 : null));
  cell('epoch').textContent = fmtFixed(2)(s?.epoch ?? (live ? 0 : null));
  cell('rate').textContent = app.running && !run.failed && run.included ? fmtRate(run.stepsPerSec) : '–';
  cell('train-loss').textContent = fmtLoss(s?.train_loss);
  cell('test-loss').textContent = fmtLoss(s?.test_loss);
  const acc = cell('test-accuracy');
  acc.textContent = fmtPct(s?.test_accuracy);
  // Machine-readable copy for tests: the test accuracy as a fraction in [0, 1].
  if (s && Number.isFinite(s.test_accuracy)) acc.dataset.value = String(s.test_accuracy);
  else delete acc.dataset.value;
  if (s) acc.dataset.step = String(s.step);
  else delete acc.dataset.step;

  $('.run-label', tr).textContent = runLabel(run);
  renderBackendCell(run, cell('backend'));
  renderSplit(run, cell('split'));

  const note = $(`tr.run-note[data-run="${id}"]`, tbody);
  const notice = run.included ? run.notice : null;
  note.hidden = !run.failure && !notice;
  const failure = $('.run-message', note);
  failure.textContent = run.failure ?? '';
  failure.hidden = !run.failure;
  const noticeEl = $('.run-notice', note);
  noticeEl.replaceChildren();
  if (notice) {
    const head = document.createElement('strong');
    head.textContent = notice.head;
    noticeEl.append(head, notice.reason);
  }
  noticeEl.hidden = !notice;
  if (notice?.lostSteps != null) noticeEl.dataset.lostSteps = String(notice.lostSteps);
  else delete noticeEl.dataset.lostSteps;
}

/** Where the run's compute time has gone: a stacked bar and the parts of 5 % or more.
 *  Each part's share is also in data-<part> (percent), for tests. */
function renderSplit(run, td) {
  const shares = run.included ? splitShares(run.timings) : null;
  const bar = $('[data-role="bar"]', td);
  const text = $('[data-role="text"]', td);
  bar.replaceChildren();
  for (const key of Object.keys(td.dataset)) if (key !== 'col' && key !== 'testid' && key !== 'run') delete td.dataset[key];
  if (!shares) {
    text.textContent = '–';
    td.title = '';
    return;
  }
  for (const p of shares) {
    td.dataset[p.key.replace(/_(\w)/g, (m, c) => c.toUpperCase())] = (100 * p.share).toFixed(1);
    if (p.share <= 0) continue;
    const seg = document.createElement('span');
    seg.dataset.part = p.key;
    seg.style.flexGrow = String(p.share);
    bar.append(seg);
  }
  text.replaceChildren(
    ...shares
      .filter((p) => p.share >= 0.05)
      .map((p) => {
        const line = document.createElement('span');
        line.textContent = `${p.label} ${Math.round(100 * p.share)} %`;
        return line;
      }),
  );
  td.title =
    'Since the start of the run: ' +
    shares.map((p) => `${p.label} ${(100 * p.share).toFixed(1)} %`).join(', ') +
    (run.backend?.kind === 'gpu' ? ' (CPU-side work only: the GPU computes the rest)' : '');
}

// ---------------------------------------------------------------- backends
const backendLabel = (b) => (b?.kind === 'gpu' ? 'GPU' : b?.kind === 'cpu' ? 'CPU' : '–');
const sameBackend = (a, b) =>
  a.kind === b.kind && (a.adapter ?? null) === (b.adapter ?? null) && a.reason === b.reason && a.lost_steps === b.lost_steps;

/** Why a run is on the CPU, in a few words for its badge; the note under the
 *  table and the badge's tooltip give the library's full sentence. */
function shortReason(b) {
  const r = String(b.reason ?? '');
  if (b.lost_steps != null) return 'the GPU was lost';
  if (/^cpu:/.test(r)) return 'chosen';
  if (/software adapter/i.test(r)) return 'software GPU declined';
  if (/no (GPU |WebGPU )?adapter|found no adapters/i.test(r)) return 'no WebGPU adapter';
  return r.replace(/; training on the CPU$/, '');
}

/** The run's badge: GPU and the adapter, or CPU and why. */
function renderBackendCell(run, td) {
  const b = run.included ? run.backend : null;
  const badge = $('[data-role="badge"]', td);
  const detail = $('[data-role="detail"]', td);
  badge.textContent = b ? backendLabel(b) : '';
  badge.hidden = !b;
  detail.textContent = !b ? '' : b.kind === 'gpu' ? b.adapter ?? 'unnamed adapter' : shortReason(b);
  td.dataset.kind = b?.kind ?? '';
  if (b?.adapter) td.dataset.adapter = b.adapter;
  else delete td.dataset.adapter;
  if (b) td.dataset.reason = b.reason;
  else delete td.dataset.reason;
  td.title = !b ? '' : b.kind === 'gpu' ? `GPU: ${b.adapter ?? 'unnamed adapter'} (${b.reason})` : `CPU: ${b.reason}`;
}

/** "SGD", "SGD and Adam", "SGD, Adam and RNGD" */
function listLabels(runs) {
  const names = runs.map((r) => (r.included !== undefined ? runLabel(r) : r.def.label));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names.join('');
}

/** Groups of runs with the same backend, kind and adapter and reason alike. */
function backendGroups(runs) {
  const groups = [];
  for (const r of runs) {
    const g = groups.find((x) => sameBackend(x.backend, r.backend));
    if (g) g.runs.push(r);
    else groups.push({ backend: r.backend, runs: [r] });
  }
  return groups;
}

/** The header line (what the runs really train on, the self-test second) and
 *  the note under the table (each backend's reason). */
function renderBackendSummary() {
  const runs = includedRuns().filter((r) => r.backend);
  const el = $('#gpu-status');
  let state;
  let text;
  if (runs.length === 0) {
    state = 'none';
    const choice = controls?.readRaw().backend ?? 'auto';
    const label = BACKENDS.find((b) => b.value === choice)?.short ?? choice;
    text = `No runs yet (backend: ${label})`;
  } else {
    const kinds = new Set(runs.map((r) => r.backend.kind));
    const adapters = [...new Set(runs.filter((r) => r.backend.kind === 'gpu').map((r) => r.backend.adapter ?? 'unnamed adapter'))];
    const all = runs.length === includedRuns().length && runs.length > 1 ? 'All runs' : listLabels(runs);
    if (kinds.size === 1 && kinds.has('gpu')) {
      state = 'gpu';
      text = `${all} ${runs.length > 1 ? 'train' : 'trains'} on the GPU: ${adapters.join(', ')}`;
    } else if (kinds.size === 1) {
      state = 'cpu';
      const why = [...new Set(runs.map((r) => shortReason(r.backend)))];
      text = `${all} ${runs.length > 1 ? 'train' : 'trains'} on the CPU (WebAssembly)${why.length === 1 ? `: ${why[0]}` : ''}`;
    } else {
      state = 'mixed';
      const on = (kind) => runs.filter((r) => r.backend.kind === kind);
      text = `${listLabels(on('gpu'))} on the GPU (${adapters.join(', ')}), ${listLabels(on('cpu'))} on the CPU`;
    }
  }
  el.dataset.state = state;
  $('[data-role="text"]', el).textContent = text;

  const note = $('[data-role="backend-note"]');
  note.replaceChildren();
  for (const g of backendGroups(runs)) {
    const line = document.createElement('span');
    line.className = 'backend-line';
    line.dataset.kind = g.backend.kind;
    const head = document.createElement('strong');
    head.textContent =
      g.backend.kind === 'gpu'
        ? `${listLabels(g.runs)} on the GPU (${g.backend.adapter ?? 'unnamed adapter'}):`
        : `${listLabels(g.runs)} on the CPU:`;
    line.append(head, ` ${sentence(g.backend.reason)}`);
    note.append(line);
  }
  note.hidden = runs.length === 0;
}

/** A run's backend as the worker read it; a move off the GPU mid-run becomes a notice. */
function updateBackend(run, backend) {
  if (!backend) return;
  backend = { ...backend, reason: dropWgpuNoise(backend.reason ?? '') };
  const before = run.backend;
  run.backend = backend;
  if (before?.kind === 'gpu' && backend.kind !== 'gpu') {
    const lost = backend.lost_steps;
    run.notice = {
      lostSteps: lost ?? null,
      head: `The ${runLabel(run)} run lost its GPU and goes on on the CPU`,
      reason:
        (lost != null ? ` (lost steps: ${fmtInt(lost)}, computed again). ` : '. ') +
        sentence(backend.reason).replace(/^\w/, (c) => c.toUpperCase()),
    };
  }
  if (!before || !sameBackend(before, backend)) {
    renderRun(run);
    renderBackendSummary();
  }
}
function renderRuns() {
  app.runs.forEach(renderRun);
  $('[data-role="wall-rate"]').textContent = app.running ? fmtRate(app.wallRate) : '–';
}

// ------------------------------------------------------------------ charts
let charts = null;
try {
  const { createChart } = await import('./chart.js');
  const loss = createChart($('#chart-loss'), {
    name: 'loss',
    exportTitle: 'Loss (cross-entropy)',
    yLabel: 'cross-entropy',
    log: true,
    logToggle: true,
    smoothing: true,
    format: fmtLoss,
  });
  const accuracy = createChart($('#chart-accuracy'), {
    name: 'accuracy',
    exportTitle: 'Test accuracy',
    smoothing: true,
    logToggle: true, // the error on a log scale spreads out late training
    // The error (100 − accuracy) spreads the last percent that matters late in training.
    views: [
      { value: 'accuracy', label: 'accuracy', yLabel: 'test accuracy (%)', map: (v) => v },
      { value: 'error', label: 'error', yLabel: 'test error (%)', map: (v) => 100 - v },
    ],
    format: (v) => (v == null ? '–' : `${+v.toFixed(2)}`),
    range: (u, min, max) =>
      min == null ? [0, 100] : [Math.max(0, Math.floor((min - 1) / 5) * 5), Math.min(100, Math.ceil((max + 1) / 5) * 5)],
  });
  charts = { loss, accuracy };
} catch (e) {
  showError(
    `The charts could not be loaded (${e.message}). uPlot is copied into www/vendor/ by ` +
      '`npm ci && node scripts/vendor.mjs`.',
  );
}

/** One line per included run (train and test for the loss). */
function setChartSeries(runs) {
  if (!charts) return;
  // Colours are the theme's (style.css, --run-<id>), so they follow dark mode; train
  // and test differ by more than colour: solid vs dashed with open circles.
  const lines = runs.map((r) => ({ id: r.def.id, label: runLabel(r), color: `var(--run-${r.def.id}, ${r.def.color})` }));
  charts.loss.setSeries(
    lines.flatMap((d) => [
      { key: `${d.id}:train`, label: `${d.label} train`, color: d.color },
      { key: `${d.id}:test`, label: `${d.label} test`, color: d.color, dash: [6, 4], width: 1.5, marker: 'hollow' },
    ]),
  );
  charts.accuracy.setSeries(lines.map((d) => ({ key: d.id, label: `${d.label} test`, color: d.color, dash: [6, 4], marker: 'hollow' })));
}

// The x axis: steps, epochs or wall-clock seconds of training. A view choice:
// switching redraws the points already there, the runs go on.
const xSelect = $('#x-axis');
for (const x of X_AXES) xSelect.append(new Option(x.label, x.value));
xSelect.value = defaultXAxis(readHash().free ? 'free' : 'lockstep');
const xOf = (s) => (xSelect.value === 'time' ? s.seconds : xSelect.value === 'epoch' ? s.epoch : s.step);
function applyXAxis() {
  const x = X_AXES.find((a) => a.value === xSelect.value) ?? X_AXES[0];
  charts?.loss.setXAxis(x.axis, x.label);
  charts?.accuracy.setXAxis(x.axis, x.label);
  clearCharts();
  for (const r of includedRuns()) for (const s of r.history) plotPoint(r.def.id, s);
}
xSelect.addEventListener('change', applyXAxis);
applyXAxis();

function clearCharts() {
  charts?.loss.reset();
  charts?.accuracy.reset();
}

function plotPoint(id, s) {
  const x = xOf(s);
  if (!charts || !Number.isFinite(x)) return;
  charts.loss.addPoint(`${id}:train`, x, s.train_loss);
  charts.loss.addPoint(`${id}:test`, x, s.test_loss);
  charts.accuracy.addPoint(id, x, 100 * s.test_accuracy);
}

// ------------------------------------------------------- WebGPU self-test
// Secondary information: whether the browser offers WebGPU and whether the
// WGSL metric kernel agrees with the CPU on it. What the runs really train on
// is each run's backend (renderBackendSummary).
function showSelftest(report) {
  app.selftest = report;
  const el = $('#gpu-status');
  let state;
  let text;
  if (report.available && report.ok) {
    state = 'adapter';
    text = `WebGPU self-test: ${report.adapter}, metric kernel agrees with the CPU (max error ${fmtSci(report.max_abs_error, 1)})`;
  } else if (report.available) {
    state = 'mismatch';
    const why = report.reason
      ? `the metric kernel failed: ${report.reason}`
      : `the metric kernel disagrees with the CPU (max error ${fmtSci(report.max_abs_error, 1)})`;
    text = `WebGPU self-test: ${report.adapter}, ${why}`;
  } else {
    state = 'no-adapter';
    // The crate's message is "no GPU adapter is available (…)[; the CPU backend is used instead]"; keep the reason only.
    // wgpu also lists every native backend this wasm build leaves out; those are noise here.
    const full = String(report.reason ?? 'unknown reason');
    const reason =
      dropWgpuNoise(full)
        .replace(/^no GPU adapter is available \((.*)\)(; the CPU backend is used instead)?$/s, '$1')
        .replace(/^[;,\s]+|[;,\s]+$/g, '')
        .trim() || full;
    text = `No WebGPU adapter (${reason})`;
    el.dataset.reason = full;
  }
  el.dataset.selftest = state;
  if (Number.isFinite(report.max_abs_error)) el.dataset.maxError = String(report.max_abs_error);
  el.title =
    'First line: what the runs really train on (each run says why in the table). ' +
    (state === 'adapter'
      ? "Second line: the WGSL kernel that updates RNGD's metrics ran on this adapter and matched the CPU reference."
      : `Second line: ${report.reason ?? 'the WebGPU self-test'}.`);
  $('[data-role="selftest"]', el).textContent = text;
}

// ------------------------------------------------------------------ the race
// One worker per run, driven by the race coordinator. Nothing starts in a
// browser that cannot compile the module: it says so instead. Created before
// the views, which read the runs through `race.call(runId, method, ...args)`
// and `race.runIds()`; its messages reach `receive` once the page is set up.
const missing = missingWasmFeature();
const race = missing ? null : createRace({ url: new URL('./worker.js', import.meta.url), emit: receive });

// ------------------------------------------------------------------ export
// Curves (CSV, JSON) from the runs' histories, weights through race.call; PNGs are the charts' own.
const exporter = createExport($('#export'), {
  race,
  runs: () =>
    includedRuns().map((r) => ({
      id: r.def.id,
      label: runLabel(r),
      config: app.applied ? trainerConfig(r.def.id, app.applied) : null,
      backend: r.backend,
      failure: r.failure,
      history: r.history,
    })),
  meta: () => ({
    version: app.info?.version ?? null,
    mode: app.applied?.mode ?? null,
    eval_every: EVAL_EVERY,
    train_len: app.info?.trainLen ?? null,
    test_len: app.info?.testLen ?? null,
  }),
});

// ------------------------------------------------------------ draw a digit
// Each run's prediction for a drawing, through race.call(runId, 'predict', pixels).
const drawView = createDrawView($('#draw'), {
  race,
  label: (id) => (app.runs.has(id) ? runLabel(app.runs.get(id)) : id),
});

// ---------------------------------------------------------------- geometry
const geometry = {
  view: createGeometryView($('#geometry'), { onChange: () => requestGeometry(true), race }),
  req: 0,
  pending: null, // req id in flight
  again: false, // a newer request is wanted once the pending one returns
  lastAt: 0,
};
$('[data-action="geo-refresh"]').addEventListener('click', () => requestGeometry(true));
geometry.view.setLayers(app.layerSizes);

/** Ask the worker for the selected layer's diagnostics; one request at a time. */
function requestGeometry(force = false) {
  if (!app.trainersOk) return;
  const { run, layer } = geometry.view.selection();
  if (!run || !app.runs.get(run)?.included) return;
  if (geometry.pending != null) {
    if (force) geometry.again = true;
    return;
  }
  geometry.pending = ++geometry.req;
  geometry.lastAt = performance.now();
  $('#geometry').dataset.busy = 'true';
  send({ type: 'diagnostics', run, layer, req: geometry.pending });
}

setInterval(() => {
  if (app.running && performance.now() - geometry.lastAt >= GEOMETRY_EVERY_S * 1000) requestGeometry();
}, 500);

// ---------------------------------------------------------------- controls
const controls = createControls($('#controls'), {
  onStart: start,
  onPause: pause,
  onStep: stepOnce,
  onReset: reset,
  onInput: (name) => {
    // The x axis follows the mode: free-running runs are compared by time.
    if (name === 'free') {
      xSelect.value = defaultXAxis(controls.readRaw().free ? 'free' : 'lockstep');
      applyXAxis();
    }
    refreshInputs();
    if (!app.applied) preview();
  },
});
controls.setRaw(readHash());
controls.setDefaults(app.defaults);
fillDescription();

// The crate on the page's main thread: its checks and defaults (crate.js).
// Training waits for it (handlers.ready), so nothing starts unchecked.
let crate = null;
const crateLoaded = (missing ? Promise.reject(new Error(missing)) : loadCrate())
  .then((c) => {
    crate = c;
    try {
      setCrateDefaults(c.defaultConfig('rngd'));
      for (const d of RUN_DEFS) app.defaults[d.id] = c.defaultConfig(d.optimizer).lr;
    } catch (e) {
      console.warn('rngd-lab: the crate has no defaults:', e);
    }
    controls.setDefaults(app.defaults);
    fillDescription();
  })
  .catch((e) => {
    // Without it the page still parses the fields; the workers report why the package does not load.
    if (!missing) console.warn('rngd-lab: the wasm package is not loaded on the page:', e?.message ?? e);
  });

/** checkConfig bound to the training rows, once both are known; null before. */
const crateCheck = () =>
  crate?.checkConfig && app.info ? (config) => crate.checkConfig(config, app.info.trainLen) : null;

function refreshInputs() {
  const raw = controls.readRaw();
  const v = validateSettings(raw, crateCheck());
  controls.showFieldErrors(v.errors);
  // The link follows the form while it is valid (and nothing runs with other settings).
  if (v.ok && app.mode !== 'loading' && app.mode !== 'unavailable' && !app.running) writeHash(raw);
  if (!includedRuns().some((r) => r.backend)) renderBackendSummary();
  const hasPoints = includedRuns().some((r) => r.last);
  if (v.ok && app.trainersOk && hasPoints && !app.running && !sameSettings(v.values, app.applied)) {
    controls.setHint('Settings changed: Start begins new runs with them.');
    controls.setStartLabel('Start new runs');
  } else {
    controls.setHint('');
    if (app.mode === 'paused') controls.setStartLabel('Resume');
  }
  return v;
}

function statusText() {
  const live = includedRuns().filter((r) => !r.failed);
  const last = live.map((r) => r.last).find(Boolean) ?? includedRuns().map((r) => r.last).find(Boolean);
  const names = live.map(runLabel).join(', ');
  const free = app.applied?.mode === 'free';
  switch (app.mode) {
    case 'unavailable':
      return 'Training is unavailable (see the error above).';
    case 'idle':
    case 'ready':
      return 'Ready. Press Start to train.';
    case 'running':
      if (!last) return `Training ${names}…`;
      if (free) {
        return `Training ${names} free-running: ` + live.map((r) => `${runLabel(r)} at step ${fmtInt(r.last?.step ?? 0)}`).join(', ') + '.';
      }
      return live.length > 1
        ? `Training ${names} in lock-step: step ${fmtInt(last.step)}, epoch ${fmtFixed(2)(last.epoch)}, ` +
            `${fmtRate(app.wallRate)} steps/s together.`
        : `Training ${names}: step ${fmtInt(last.step)}, epoch ${fmtFixed(2)(last.epoch)}, ` +
            `${fmtRate(app.wallRate)} steps/s.`;
    case 'paused':
      if (free) return `Paused: ${includedRuns().map((r) => `${runLabel(r)} after ${fmtInt(r.last?.step ?? 0)} steps`).join(', ')}.`;
      return `Paused after ${fmtInt(last?.step ?? 0)} ${last?.step === 1 ? 'step' : 'steps'}.`;
    case 'finished':
      return 'Stopped: every run has ended with an error.';
    default:
      return null;
  }
}

function setMode(mode) {
  app.mode = mode;
  controls.setMode(mode);
  refreshInputs();
  renderRuns();
  const text = statusText();
  if (text) setStatus(text);
}

function send(msg) {
  race?.handle({ ...msg, gen: app.gen });
}

/** The settings when every field is valid; else null, the messages stay next
 *  to their fields (the buttons are disabled then too) and the first bad
 *  field gets the focus. */
function validatedOrReport() {
  const v = refreshInputs();
  if (!v.ok) {
    const first = $('#controls [aria-invalid="true"]');
    first?.focus();
    return null;
  }
  return v.values;
}

function sendReset(values) {
  app.gen++;
  app.applied = values;
  app.trainersOk = false;
  app.running = false;
  app.wallRate = 0;
  const ids = new Set(values.runs.map((r) => r.id));
  for (const r of app.runs.values()) {
    r.included = ids.has(r.def.id);
    r.lr = values.runs.find((x) => x.id === r.def.id)?.lr ?? app.defaults[r.def.id];
    r.history = [];
    r.last = null;
    r.stepsPerSec = 0;
    r.failed = false;
    r.failure = null;
    r.failedAt = null;
    r.backend = null;
    r.notice = null;
    r.preset = null;
    r.timings = null;
  }
  app.configErrors = [];
  renderBackendSummary();
  const defs = includedRuns().map((r) => r.def);
  setChartSeries(includedRuns());
  clearCharts();
  geometry.pending = null;
  geometry.again = false;
  geometry.view.setRuns(defs, 'rngd');
  geometry.view.clear('No geometry yet: the view appears after the first steps.');
  fillDescription();
  writeHash(controls.readRaw());
  send({
    type: 'reset',
    evalEvery: EVAL_EVERY,
    mode: values.mode,
    stepsPerSlice: values.spf,
    runs: values.runs.map((r) => ({ id: r.id, config: trainerConfig(r.id, values) })),
  });
}

function start() {
  if (app.mode === 'loading' || app.mode === 'unavailable' || app.running) return;
  const values = validatedOrReport('start');
  if (!values) return;
  clearError();
  // Survivors of a divergence resume with the same settings; new settings, or
  // no survivor left, start every run afresh (from the same initialisation).
  const live = includedRuns().filter((r) => !r.failed);
  if (!app.trainersOk || live.length === 0 || !sameSettings(values, app.applied)) sendReset(values);
  send({ type: 'start' });
  // Optimistic; the worker's `running` message confirms or corrects it.
  app.running = true;
  setMode('running');
}

function pause() {
  if (!app.running) return;
  send({ type: 'pause' });
}

/** One step of every live run, then a snapshot of each (a point on the charts).
 *  New settings (or no runs yet) make new runs first, as Start does. */
function stepOnce() {
  if (app.mode === 'loading' || app.mode === 'unavailable' || app.running) return;
  const values = validatedOrReport();
  if (!values) return;
  const live = includedRuns().filter((r) => !r.failed);
  // app.applied: runs with these settings exist or are being built (the race waits for them).
  if (!app.applied || live.length === 0 || !sameSettings(values, app.applied)) {
    clearError();
    sendReset(values);
  }
  send({ type: 'step-once' });
}

function reset() {
  if (app.mode === 'loading' || app.mode === 'unavailable') return;
  const values = validatedOrReport('reset');
  if (!values) return;
  clearError();
  sendReset(values);
  setMode('ready');
}

// ----------------------------------------------------------- worker messages
const testHooks = { pending: new Map() }; // run id → resolvers waiting for 'lose-device-done'
const label = (id) => (app.runs.has(id) ? runLabel(app.runs.get(id)) : runDef(id)?.label ?? id);

function idleMode() {
  if (!app.trainersOk) return 'idle';
  const live = includedRuns().filter((r) => !r.failed);
  if (live.length === 0) return 'finished';
  return live.some((r) => r.last) ? 'paused' : 'ready';
}

/** A run's step error in one plain sentence or two, and the step it stopped
 *  at. The crate's divergence message ("sgd diverged at step 12: the loss
 *  became NaN. This run is stopped. The learning rate (…) is the likely cause:
 *  try a smaller one.") carries the step, what the loss did and the likely
 *  cause from the run's config; other errors are quoted. */
function stepFailure(msg, run) {
  const name = label(msg.run);
  const others = includedRuns().filter((r) => r !== run && !r.failed);
  const goOn = others.length ? `${listLabels(others)} ${others.length > 1 ? 'go' : 'goes'} on` : null;
  const m = /diverged at step (\d+): (.+?)\. This run is stopped\. (.+)$/s.exec(msg.message);
  if (m) {
    const step = Number(m[1]);
    return {
      step,
      text: `${name} diverged at step ${fmtInt(step)} (${m[2]}) and was stopped${goOn ? `; ${goOn}` : ''}. ${m[3]}`,
    };
  }
  return {
    step: Number.isFinite(msg.step) ? msg.step : null,
    text: `The ${name} run stopped: ${sentence(msg.message)}${goOn ? ` ${goOn.replace(/^\w/, (c) => c.toUpperCase())}.` : ''}`,
  };
}

const handlers = {
  progress(msg) {
    setStatus(msg.message);
  },

  async ready(msg) {
    // The crate's checks first: nothing may start before they can run.
    await crateLoaded;
    app.info = { version: msg.version, trainLen: msg.trainLen, testLen: msg.testLen };
    for (const [id, lr] of Object.entries(msg.defaults ?? {})) if (Number.isFinite(lr)) app.defaults[id] = lr;
    controls.setDefaults(app.defaults);
    setRngdPresets(msg.presets ?? []);
    if (msg.presets?.length) controls.setPresets(msg.presets);
    // An old link's `rngd-preset=fast`: the preset's fields, now that they are known.
    const pending = readHash().pendingSpeedPreset;
    if (pending) controls.setRaw({ ...controls.readRaw(), ...speedFields(pending) });
    fillDescription();
    $('#version').textContent = `rngd_lab ${msg.version}`;
    document.body.dataset.ready = 'true';
    setMode('idle');
    setStatus(
      `Ready: ${fmtInt(msg.trainLen)} training and ${fmtInt(msg.testLen)} test digits loaded. Press Start to train.`,
    );
  },

  gpu(msg) {
    showSelftest(msg.report ?? { available: false, reason: 'no report' });
  },

  'reset-done'(msg) {
    app.trainersOk = msg.runs.length === includedRuns().length && msg.runs.length > 0;
    for (const r of msg.runs) {
      const run = app.runs.get(r.id);
      if (run && Number.isFinite(r.lr)) run.lr = r.lr;
      if (run) run.preset = r.preset ?? null;
      if (run && r.backend) run.backend = { ...r.backend, reason: dropWgpuNoise(r.backend.reason ?? '') };
      if (r.layers && r.id === msg.runs[0].id) {
        const sizes = [MODEL.inputs, ...hiddenOf(app.applied), MODEL.outputs];
        app.layerSizes = sizes;
        if (sizes.length - 1 === r.layers) geometry.view.setLayers(sizes);
      }
    }
    if (!app.trainersOk) app.applied = null;
    // New runs are built: an old banner (a refused config, a stopped worker) no longer applies.
    else clearError();
    // The config errors of this reset came before; the next reset starts a fresh banner.
    app.configErrors = [];
    // Labels now say which RNGD preset really runs.
    setChartSeries(includedRuns());
    geometry.view.setRuns(includedRuns().map((r) => ({ ...r.def, label: runLabel(r) })), 'rngd');
    exporter.refresh();
    renderBackendSummary();
    if (!app.running) setMode(idleMode());
    else renderRuns();
  },

  backend(msg) {
    const run = app.runs.get(msg.run);
    if (run) updateBackend(run, msg.backend);
  },

  'lose-device-done'(msg) {
    const waiting = testHooks.pending.get(msg.run) ?? [];
    testHooks.pending.delete(msg.run);
    for (const resolve of waiting) resolve(msg);
  },

  running(msg) {
    app.running = msg.running && app.trainersOk;
    setMode(app.running ? 'running' : idleMode());
    // A fresh picture when training pauses.
    if (!app.running && app.trainersOk) requestGeometry(true);
  },

  point(msg) {
    const run = app.runs.get(msg.run);
    if (!run) return;
    const s = msg.snapshot;
    const first = !includedRuns().some((r) => r.last);
    run.last = s;
    // Free-running, a run's own pace is what counts; in lock-step, its own compute.
    run.stepsPerSec = app.applied?.mode === 'free' ? msg.wallStepsPerSec : msg.stepsPerSec;
    if (msg.timings) run.timings = msg.timings;
    if (msg.wallStepsPerSec > 0 && app.applied?.mode !== 'free') app.wallRate = msg.wallStepsPerSec;
    run.history.push(s);
    updateBackend(run, msg.backend);
    plotPoint(msg.run, s);
    renderRun(run);
    $('[data-role="wall-rate"]').textContent = app.running ? fmtRate(app.wallRate) : '–';
    if (app.mode === 'running') setStatus(statusText());
    if (first) requestGeometry(true);
  },

  crash(msg) {
    app.running = false;
    setMode('unavailable');
    showError(`The ${label(msg.run)} run's worker stopped: ${msg.message}. Reload the page to try again.`);
  },

  diagnostics(msg) {
    if (msg.req !== geometry.pending) return;
    geometry.pending = null;
    delete $('#geometry').dataset.busy;
    const sel = geometry.view.selection();
    if (msg.run === sel.run && msg.layer === sel.layer) geometry.view.show(msg);
    if (geometry.again || msg.run !== sel.run || msg.layer !== sel.layer) {
      geometry.again = false;
      requestGeometry();
    }
  },

  error(msg) {
    switch (msg.phase) {
      case 'init':
        setMode('unavailable');
        showError(msg.message);
        break;
      case 'config': {
        // One banner for the whole reset; runs refused for the same reason share a sentence.
        app.configErrors.push({ id: msg.run, message: msg.message });
        const byMessage = new Map();
        for (const e of app.configErrors) byMessage.set(e.message, [...(byMessage.get(e.message) ?? []), e.id]);
        showError(
          [...byMessage]
            .map(([message, ids]) => {
              // Not created: no preset is in force yet, so the plain names.
              const runs = ids.map((id) => ({ def: runDef(id) ?? { label: id } }));
              return `The ${listLabels(runs)} ${ids.length > 1 ? 'runs' : 'run'} could not be created: ${sentence(dropWgpuNoise(message))}`;
            })
            .join(' '),
        );
        break;
      }
      case 'step': {
        const run = app.runs.get(msg.run);
        const { text, step } = stepFailure(msg, run);
        if (run) {
          run.failed = true;
          run.failure = text;
          run.failedAt = step;
        } else {
          showError(text);
        }
        renderRuns();
        break;
      }
      default:
        console.error('rngd-lab worker:', msg.message);
        showError(`Internal error in the training worker: ${msg.message}`);
    }
  },
};

/** A message from the race coordinator (the runs' workers, gathered). */
function receive(msg) {
  // Drop messages that belong to runs that have since been reset.
  if (msg.gen !== undefined && msg.gen !== app.gen && msg.type !== 'error') return;
  if (msg.type === 'error' && msg.gen !== undefined && msg.gen !== app.gen && msg.phase !== 'init') return;
  handlers[msg.type]?.(msg);
}

// Editing the URL hash by hand fills the inputs (applied on the next Start or Reset).
// A hash that names no setting is an in-page link (#geometry, #lesson-gaussian): it scrolls, nothing more.
window.addEventListener('hashchange', () => {
  if (app.running || !isSettingsHash(location.hash)) return;
  const wasFree = controls.readRaw().free;
  controls.setRaw(readHash());
  if (controls.readRaw().free !== wasFree) {
    xSelect.value = defaultXAxis(controls.readRaw().free ? 'free' : 'lockstep');
    applyXAxis();
  }
  refreshInputs();
});

/** Before the first Start, the table, legends and description follow the form. */
function preview() {
  const raw = controls.readRaw();
  const ids = new Set(RUN_DEFS.filter((d) => raw[`on-${d.id}`]).map((d) => d.id));
  const before = includedRuns().map((r) => r.def.id).join();
  for (const r of app.runs.values()) r.included = ids.has(r.def.id);
  const defs = includedRuns().map((r) => r.def);
  if (defs.map((d) => d.id).join() !== before) setChartSeries(includedRuns());
  geometry.view.setRuns(defs, 'rngd');
  fillDescription();
  renderRuns();
}
preview();
controls.setMode('loading');
refreshInputs();
renderRuns();
if (missing) {
  setMode('unavailable');
  showError(missing);
} else {
  // The workers of the runs the form has on load and fetch while the page settles.
  race.prepare(includedRuns().map((r) => r.def.id));
}

// Handle for debugging from the console and for the end-to-end tests.
window.rngdLab = {
  app,
  charts,
  geometry,
  history: (id) => (app.runs.get(id)?.history ?? []).map((s) => ({ ...s })),
  presets: () => rngdPresets().map((p) => ({ ...p, settings: { ...p.settings } })),
  send,
  race,
};

// TEST HOOKS, for the end-to-end tests and for trying the fall-back by hand;
// not part of the page's interface. loseDevice(runId) destroys that run's
// GPU device (trainer.loseDevice() in the worker, after the call in flight)
// and resolves to the worker's answer {run, backend | error}; the run notices
// at its next step, goes on on the CPU and the page shows a notice.
// `workers` is the number of live run workers (one per run), `steps()` each
// run's step as the coordinator knows it, read between slices.
window.__rngdLab = {
  get workers() {
    return race?.workers ?? 0;
  },
  steps: () => race?.steps() ?? {},
  loseDevice(runId) {
    return new Promise((resolve) => {
      testHooks.pending.set(runId, [...(testHooks.pending.get(runId) ?? []), resolve]);
      send({ type: 'lose-device', run: runId });
    });
  },
};
