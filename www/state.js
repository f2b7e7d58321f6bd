// Page configuration: the runs that can be shown, the fixed model and
// training settings, the user-editable settings with their validation, and
// the mirror of those settings in the URL hash
// (e.g. `#runs=sgd,adam,rngd&arch=plain&act=relu&seed=1&backend=auto&mode=lockstep&rngd-preset=fast&lr-sgd=0.05`).
//
// Nothing here touches the DOM or the worker, so it is easy to extend: a new
// optimizer is one more entry in RUN_DEFS (plus its row in index.html).

/** Runs the page knows about, trained side by side from the same seed.
 *  Colours: the Okabe–Ito palette, distinguishable with colour-vision
 *  deficiencies; the charts also tell train from test by the dash pattern.
 *  `defaultLr` is only a fallback: the worker reads the crate's defaults. */
export const RUN_DEFS = [
  { id: 'sgd', label: 'SGD', optimizer: 'sgd', color: '#0072B2', defaultLr: 0.1 },
  { id: 'adam', label: 'Adam', optimizer: 'adam', color: '#D55E00', defaultLr: 0.001 },
  { id: 'rngd', label: 'RNGD', optimizer: 'rngd', color: '#009E73', defaultLr: 0.05, presets: true },
];

export const runDef = (id) => RUN_DEFS.find((d) => d.id === id);

/** Choices of the shared architecture and activation (values are the crate's). */
export const ARCHS = [
  { value: 'plain', label: 'Plain', long: 'plain' },
  { value: 'bna', label: 'BNA (batch norm)', long: 'batch-normalised (BNA)' },
];

export const ACTIVATIONS = [
  { value: 'relu', label: 'ReLU' },
  { value: 'prelu:0.25', label: 'PReLU (leak 0.25)' },
  { value: 'elu:1', label: 'ELU (α = 1)' },
  { value: 'tanh', label: 'tanh' },
  { value: 'sigmoid', label: 'sigmoid' },
];

/** Where the runs train (`config.backend`; the crate decides and says why):
 *  auto = a hardware GPU adapter if there is one, else the CPU; gpu = the GPU,
 *  software adapters included (an error without one); cpu = WebAssembly. */
export const BACKENDS = [
  { value: 'auto', label: 'Auto', short: 'auto' },
  { value: 'gpu', label: 'GPU (WebGPU)', short: 'GPU' },
  { value: 'cpu', label: 'CPU (WebAssembly)', short: 'CPU' },
];

/** What the charts' x axis shows; `time` is training seconds, pauses left out.
 *  The runs advance in one of two modes (`values.mode`): lockstep, the same
 *  steps for every run, so points line up by step; or free, each run at its
 *  own pace, best read against seconds. */
export const X_AXES = [
  { value: 'step', label: 'steps', axis: 'training step' },
  { value: 'epoch', label: 'epochs', axis: 'epoch' },
  { value: 'time', label: 'wall-clock seconds', axis: 'wall-clock seconds of training' },
];
export const defaultXAxis = (mode) => (mode === 'free' ? 'time' : 'step');

/** RNGD's presets as the crate lists them (rngdPresets()): [{name,
 *  description, settings}], literal first. Filled once the wasm module is
 *  loaded; the values are the crate's business, never written down here. */
let presets = [];
export const setRngdPresets = (list) => {
  presets = Array.isArray(list) ? list : [];
};
export const rngdPresets = () => presets;
export const DEFAULT_PRESET = 'literal';

export const activationLabel = (v) => ACTIVATIONS.find((a) => a.value === v)?.label ?? v;
export const archLabel = (v) => ARCHS.find((a) => a.value === v)?.long ?? v;

/** The network and the parts of the training setup that the page does not let
 *  the user change. These are sent explicitly to the Trainer, so that the
 *  description on the page is guaranteed to be what is trained. */
export const MODEL = Object.freeze({
  inputs: 784,
  hidden: Object.freeze([80, 80, 80]),
  outputs: 10,
  batch: 50,
  l2: 1e-3,
  init_std: 0.1,
});

/** Training steps between two snapshots (a snapshot evaluates the whole test
 *  split, so it is not taken every step). */
export const EVAL_EVERY = 25;

/** Seconds between two automatic refreshes of the geometry view while training. */
export const GEOMETRY_EVERY_S = 3;

export const DEFAULT_RAW = Object.freeze({
  seed: '1',
  arch: 'plain',
  activation: 'relu',
  backend: 'auto',
  free: false,
  'preset-rngd': DEFAULT_PRESET,
  ...Object.fromEntries(RUN_DEFS.flatMap((d) => [[`on-${d.id}`, true], [`lr-${d.id}`, '']])),
});

const MAX_SEED = 2 ** 32 - 1;

/** Parse a decimal number strictly: no empty strings, no trailing garbage
 *  (`Number('')` is 0 and `parseFloat('1abc')` is 1, both wrong here). */
function parseNumber(text) {
  const s = String(text).trim();
  if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** A learning rate: empty means the optimizer's default (null). The upper
 *  bound is the crate's business; its message is shown when it refuses. */
export function parseLr(text, label) {
  const s = String(text ?? '').trim();
  if (s === '') return { value: null };
  const v = parseNumber(s);
  if (Number.isNaN(v)) return { error: `${label} learning rate must be a number, got "${s}".` };
  if (!Number.isFinite(v)) return { error: `${label} learning rate must be finite.` };
  if (v <= 0) return { error: `${label} learning rate must be greater than 0, got ${v}.` };
  return { value: v };
}

export function parseSeed(text) {
  const s = String(text ?? '').trim();
  if (s === '') return { error: 'Seed is required.' };
  if (!/^\d+$/.test(s)) return { error: `Seed must be a whole number ≥ 0, got "${s}".` };
  const v = Number(s);
  if (v > MAX_SEED) return { error: `Seed must be at most ${MAX_SEED}.` };
  return { value: v };
}

/** Keys of the text inputs that can carry a message. */
export const TEXT_KEYS = ['seed', ...RUN_DEFS.map((d) => `lr-${d.id}`)];

/**
 * Validate the raw form state: strings for text inputs and selects, booleans
 * for the run checkboxes. Learning rates of runs that are not included are
 * not checked.
 * @returns {{ok: boolean, values: object, errors: Record<string,string>}}
 *   values: {seed, arch, activation, backend, mode, preset, runs: [{id, lr (null = default)}]}
 */
export function validateSettings(raw) {
  const errors = {};
  const seed = parseSeed(raw.seed);
  if ('error' in seed) errors.seed = seed.error;
  const arch = ARCHS.some((a) => a.value === raw.arch) ? raw.arch : DEFAULT_RAW.arch;
  const activation = ACTIVATIONS.some((a) => a.value === raw.activation) ? raw.activation : DEFAULT_RAW.activation;
  const backend = BACKENDS.some((b) => b.value === raw.backend) ? raw.backend : DEFAULT_RAW.backend;
  const mode = raw.free ? 'free' : 'lockstep';
  // An unknown preset name (an old link, a package without it) means the literal algorithm.
  const wanted = raw['preset-rngd'];
  // Only an RNGD run uses it: with RNGD off, a change of preset must not count as new settings.
  const preset = raw['on-rngd'] && presets.some((p) => p.name === wanted) ? wanted : DEFAULT_PRESET;
  const runs = [];
  for (const d of RUN_DEFS) {
    if (!raw[`on-${d.id}`]) continue;
    const lr = parseLr(raw[`lr-${d.id}`], d.label);
    if ('error' in lr) errors[`lr-${d.id}`] = lr.error;
    else runs.push({ id: d.id, lr: lr.value });
  }
  if (!RUN_DEFS.some((d) => raw[`on-${d.id}`])) errors.runs = 'Choose at least one optimizer to train.';
  const ok = Object.keys(errors).length === 0;
  return { ok, values: ok ? { seed: seed.value, arch, activation, backend, mode, preset, runs } : null, errors };
}

export function sameSettings(a, b) {
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The config object passed to `Trainer.create(config, data)` for one run. Only
 *  fields of the wasm contract: unknown fields are an error there. `lr` is
 *  left out for the optimizer's default. */
export function trainerConfig(id, settings) {
  const run = settings.runs.find((r) => r.id === id);
  const config = {
    optimizer: runDef(id).optimizer,
    arch: settings.arch,
    activation: settings.activation,
    hidden: [...MODEL.hidden],
    batch: MODEL.batch,
    seed: settings.seed,
    l2: MODEL.l2,
    init_std: MODEL.init_std,
    backend: settings.backend ?? DEFAULT_RAW.backend,
  };
  if (run?.lr != null) config.lr = run.lr;
  // The preset's speed settings go into the run's own RNGD settings; the crate
  // checks them (and says what is wrong) like any other field.
  const preset = runDef(id).presets ? presets.find((p) => p.name === settings.preset) : null;
  if (preset) config.rngd = { ...config.rngd, ...preset.settings };
  return config;
}

/** "784-80-80-80-10" */
export const architecture = () => [MODEL.inputs, ...MODEL.hidden, MODEL.outputs].join('-');

/** Raw form state from the URL hash; missing keys get the defaults. */
export function readHash(hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const raw = { ...DEFAULT_RAW };
  if (params.has('seed')) raw.seed = params.get('seed');
  if (params.has('arch')) raw.arch = params.get('arch');
  if (params.has('act')) raw.activation = params.get('act');
  if (params.has('backend')) raw.backend = params.get('backend');
  if (params.has('mode')) raw.free = params.get('mode') === 'free';
  if (params.has('rngd-preset')) raw['preset-rngd'] = params.get('rngd-preset');
  if (params.has('runs')) {
    const on = new Set(params.get('runs').split(','));
    for (const d of RUN_DEFS) raw[`on-${d.id}`] = on.has(d.id);
  }
  for (const d of RUN_DEFS) if (params.has(`lr-${d.id}`)) raw[`lr-${d.id}`] = params.get(`lr-${d.id}`);
  return raw;
}

/** Mirror valid settings in the URL hash without adding history entries. */
export function writeHash(values) {
  const params = new URLSearchParams();
  params.set('runs', values.runs.map((r) => r.id).join(','));
  params.set('arch', values.arch);
  params.set('act', values.activation);
  params.set('seed', String(values.seed));
  params.set('backend', values.backend ?? DEFAULT_RAW.backend);
  params.set('mode', values.mode ?? 'lockstep');
  if (values.runs.some((r) => runDef(r.id).presets)) params.set('rngd-preset', values.preset ?? DEFAULT_PRESET);
  for (const r of values.runs) if (r.lr != null) params.set(`lr-${r.id}`, String(r.lr));
  const hash = '#' + params.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
  if (location.hash !== hash) history.replaceState(null, '', hash);
}
