// Page wiring: settings (state.js) → controls (controls.js) → training worker
// (worker.js) → status table and charts (chart.js).

import {
  RUN_DEFS,
  enabledRuns,
  MODEL,
  EVAL_EVERY,
  validateSettings,
  sameSettings,
  trainerConfig,
  architecture,
  readHash,
  writeHash,
} from './state.js';
import { createControls } from './controls.js';

const $ = (sel, root = document) => root.querySelector(sel);

// ---------------------------------------------------------------- formatting
const fmtInt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtFixed = (d) => (n) => (n == null || !Number.isFinite(n) ? '–' : n.toFixed(d));
const fmtLoss = (n) => (n == null || !Number.isFinite(n) ? '–' : n < 1e-3 ? n.toExponential(2) : n.toPrecision(4));
const fmtPct = (n) => (n == null || !Number.isFinite(n) ? '–' : `${(100 * n).toFixed(2)} %`);

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

// --------------------------------------------------------- fixed description
function fillDescription(trainLen, testLen) {
  const fills = {
    arch: architecture(),
    activation: MODEL.activation,
    batch: String(MODEL.batch),
    l2: String(MODEL.l2),
    'init-std': String(MODEL.init_std),
    'eval-every': String(EVAL_EVERY),
    'train-len': trainLen == null ? null : fmtInt(trainLen),
    'test-len': testLen == null ? null : fmtInt(testLen),
  };
  for (const el of document.querySelectorAll('[data-fill]')) {
    const v = fills[el.dataset.fill];
    if (v != null) el.textContent = v;
  }
}
fillDescription();

// ------------------------------------------------------------- app state
const app = {
  mode: 'loading',
  gen: 0,
  info: null, // {version, trainLen, testLen}
  applied: null, // settings of the current trainers, null if there are none
  trainersOk: false,
  running: false,
  runs: new Map(
    enabledRuns().map((def) => [def.id, { def, history: [], last: null, stepsPerSec: 0, failed: false }]),
  ),
};

// ------------------------------------------------------------ status table
const tbody = $('#runs tbody');
for (const { def } of app.runs.values()) {
  const tr = document.createElement('tr');
  tr.dataset.run = def.id;
  tr.innerHTML = `
    <th scope="row"><span class="swatch"></span><span class="run-label"></span></th>
    <td data-col="state" data-testid="run-state"></td>
    <td data-col="step" data-testid="steps" class="num"></td>
    <td data-col="epoch" data-testid="epoch" class="num"></td>
    <td data-col="rate" data-testid="steps-per-second" class="num"></td>
    <td data-col="train-loss" data-testid="train-loss" class="num"></td>
    <td data-col="test-loss" data-testid="test-loss" class="num"></td>
    <td data-col="test-accuracy" data-testid="test-accuracy" class="num strong"></td>`;
  $('.swatch', tr).style.background = def.color;
  $('.run-label', tr).textContent = def.label;
  for (const td of tr.querySelectorAll('td')) td.dataset.run = def.id;
  tbody.append(tr);
}

function renderRun(run) {
  const tr = $(`tr[data-run="${run.def.id}"]`, tbody);
  const s = run.last;
  const cell = (col) => $(`[data-col="${col}"]`, tr);
  let state;
  if (run.failed) state = 'stopped (error)';
  else if (!app.trainersOk) state = app.mode === 'loading' ? 'loading' : '–';
  else if (app.running) state = 'training';
  else state = s ? 'paused' : 'ready';
  cell('state').textContent = state;
  tr.dataset.state = run.failed ? 'failed' : app.running ? 'running' : 'idle';
  cell('step').textContent = fmtInt(s?.step ?? (app.trainersOk ? 0 : null));
  cell('epoch').textContent = fmtFixed(2)(s?.epoch ?? (app.trainersOk ? 0 : null));
  cell('rate').textContent = app.running && !run.failed && run.stepsPerSec ? fmtInt(run.stepsPerSec) : '–';
  cell('train-loss').textContent = fmtLoss(s?.train_loss);
  cell('test-loss').textContent = fmtLoss(s?.test_loss);
  const acc = cell('test-accuracy');
  acc.textContent = fmtPct(s?.test_accuracy);
  // Machine-readable copy for tests: the test accuracy as a fraction in [0, 1].
  if (s && Number.isFinite(s.test_accuracy)) acc.dataset.value = String(s.test_accuracy);
  else delete acc.dataset.value;
  if (s) acc.dataset.step = String(s.step);
  else delete acc.dataset.step;
}
const renderRuns = () => app.runs.forEach(renderRun);

// ------------------------------------------------------------------ charts
let charts = null;
try {
  const { createChart } = await import('./chart.js');
  const runs = [...app.runs.values()].map((r) => r.def);
  const loss = createChart($('#chart-loss'), { yLabel: 'cross-entropy', log: true, format: fmtLoss });
  loss.setSeries(
    runs.flatMap((d) => [
      { key: `${d.id}:train`, label: `${d.label} train`, color: d.color },
      { key: `${d.id}:test`, label: `${d.label} test`, color: d.color, dash: [6, 4], width: 1.5 },
    ]),
  );
  const accuracy = createChart($('#chart-accuracy'), {
    yLabel: 'test accuracy (%)',
    format: (v) => (v == null ? '–' : `${+v.toFixed(2)}`),
    range: (u, min, max) =>
      min == null ? [0, 100] : [Math.max(0, Math.floor((min - 1) / 5) * 5), Math.min(100, Math.ceil((max + 1) / 5) * 5)],
  });
  accuracy.setSeries(runs.map((d) => ({ key: d.id, label: d.label, color: d.color })));
  charts = { loss, accuracy };
} catch (e) {
  showError(
    `The charts could not be loaded (${e.message}). uPlot is copied into www/vendor/ by ` +
      '`npm ci && node scripts/vendor.mjs`.',
  );
}

function clearCharts() {
  charts?.loss.reset();
  charts?.accuracy.reset();
}

function plotPoint(id, s) {
  if (!charts) return;
  charts.loss.addPoint(`${id}:train`, s.step, s.train_loss);
  charts.loss.addPoint(`${id}:test`, s.step, s.test_loss);
  charts.accuracy.addPoint(id, s.step, 100 * s.test_accuracy);
}

// ---------------------------------------------------------------- controls
const controls = createControls($('#controls'), {
  onStart: start,
  onPause: pause,
  onReset: reset,
  onInput: refreshInputs,
});
controls.setRaw(readHash());

function refreshInputs() {
  const v = validateSettings(controls.readRaw());
  controls.showFieldErrors(v.errors);
  const hasPoints = [...app.runs.values()].some((r) => r.last);
  if (v.ok && app.trainersOk && hasPoints && !app.running && !sameSettings(v.values, app.applied)) {
    controls.setHint('Settings changed: Start begins a new run with them.');
    controls.setStartLabel('Start new run');
  } else {
    controls.setHint('');
    if (app.mode === 'paused') controls.setStartLabel('Resume');
  }
  return v;
}

function setMode(mode) {
  app.mode = mode;
  controls.setMode(mode);
  refreshInputs();
  renderRuns();
  const steps = Math.max(0, ...[...app.runs.values()].map((r) => r.last?.step ?? 0));
  const text = {
    loading: null,
    unavailable: 'Training is unavailable (see the error above).',
    idle: 'Ready. Press Start to train.',
    ready: 'Ready. Press Start to train.',
    running: 'Training…',
    paused: `Paused after ${fmtInt(steps)} steps.`,
    finished: 'Stopped.',
  }[mode];
  if (text) setStatus(text);
}

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (msg) => worker.postMessage({ ...msg, gen: app.gen });

function validatedOrReport(action) {
  const v = refreshInputs();
  if (!v.ok) {
    showError(`Cannot ${action}: ${Object.values(v.errors).join(' ')}`);
    return null;
  }
  return v.values;
}

function sendReset(values) {
  app.gen++;
  app.applied = values;
  app.trainersOk = false;
  app.running = false;
  for (const r of app.runs.values()) {
    r.history = [];
    r.last = null;
    r.stepsPerSec = 0;
    r.failed = false;
  }
  clearCharts();
  writeHash(values);
  send({
    type: 'reset',
    evalEvery: EVAL_EVERY,
    runs: [...app.runs.values()].map((r) => ({ id: r.def.id, config: trainerConfig(r.def, values) })),
  });
}

function start() {
  if (app.mode === 'loading' || app.mode === 'unavailable' || app.running) return;
  const values = validatedOrReport('start');
  if (!values) return;
  clearError();
  const anyFailed = [...app.runs.values()].some((r) => r.failed);
  if (!app.trainersOk || anyFailed || !sameSettings(values, app.applied)) sendReset(values);
  send({ type: 'start' });
  // Optimistic; the worker's `running` message confirms or corrects it.
  app.running = true;
  setMode('running');
}

function pause() {
  if (!app.running) return;
  send({ type: 'pause' });
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
const label = (id) => app.runs.get(id)?.def.label ?? RUN_DEFS.find((d) => d.id === id)?.label ?? id;

function idleMode() {
  if (!app.trainersOk) return 'idle';
  const live = [...app.runs.values()].filter((r) => !r.failed);
  if (live.length === 0) return 'finished';
  return live.some((r) => r.last) ? 'paused' : 'ready';
}

const handlers = {
  progress(msg) {
    setStatus(msg.message);
  },

  ready(msg) {
    app.info = { version: msg.version, trainLen: msg.trainLen, testLen: msg.testLen };
    fillDescription(msg.trainLen, msg.testLen);
    $('#version').textContent = `rngd_lab ${msg.version}`;
    document.body.dataset.ready = 'true';
    setMode('idle');
    setStatus(
      `Ready: ${fmtInt(msg.trainLen)} training and ${fmtInt(msg.testLen)} test digits loaded. Press Start to train.`,
    );
  },

  'reset-done'(msg) {
    app.trainersOk = msg.runs.length === app.runs.size;
    if (!app.trainersOk) app.applied = null;
    if (!app.running) setMode(idleMode());
  },

  running(msg) {
    app.running = msg.running && app.trainersOk;
    setMode(app.running ? 'running' : idleMode());
  },

  point(msg) {
    const run = app.runs.get(msg.run);
    if (!run) return;
    const s = msg.snapshot;
    run.last = s;
    run.stepsPerSec = msg.stepsPerSec;
    run.history.push(s);
    plotPoint(msg.run, s);
    renderRun(run);
  },

  error(msg) {
    switch (msg.phase) {
      case 'init':
        setMode('unavailable');
        showError(msg.message);
        break;
      case 'config':
        showError(`The ${label(msg.run)} run could not be created: ${msg.message}`);
        break;
      case 'step': {
        const run = app.runs.get(msg.run);
        if (run) run.failed = true;
        let text = `The ${label(msg.run)} run stopped: ${msg.message.trim()}`;
        if (!/[.!?]$/.test(text)) text += '.';
        if (/diverg|nan|inf/i.test(msg.message) && !/learning rate/i.test(msg.message)) {
          text += ' Try a smaller learning rate.';
        }
        if (run?.last) text += ` The charts show the run up to step ${fmtInt(run.last.step)}.`;
        showError(text);
        renderRuns();
        break;
      }
      default:
        console.error('rngd-lab worker:', msg.message);
        showError(`Internal error in the training worker: ${msg.message}`);
    }
  },
};

worker.addEventListener('message', (ev) => {
  const msg = ev.data;
  // Drop messages that belong to a run that has since been reset.
  if (msg.gen !== undefined && msg.gen !== app.gen && msg.type !== 'error') return;
  if (msg.type === 'error' && msg.gen !== undefined && msg.gen !== app.gen && msg.phase !== 'init') return;
  handlers[msg.type]?.(msg);
});

worker.addEventListener('error', (ev) => {
  ev.preventDefault();
  const detail = ev.message || 'the worker script failed to load';
  console.error('rngd-lab worker crashed:', detail);
  app.running = false;
  setMode('unavailable');
  showError(`The training worker stopped: ${detail}. Reload the page to try again.`);
});

// Editing the URL hash by hand fills the inputs (applied on the next Start or Reset).
window.addEventListener('hashchange', () => {
  if (app.running) return;
  controls.setRaw(readHash());
  refreshInputs();
});

controls.setMode('loading');
refreshInputs();
renderRuns();

// Handle for debugging from the console and for the end-to-end tests.
window.rngdLab = {
  app,
  charts,
  history: (id) => (app.runs.get(id)?.history ?? []).map((s) => ({ ...s })),
  send,
};
