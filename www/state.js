// Page configuration: the runs that can be shown, the settings the user can
// edit, their parsing, the crate's verdict on them mapped back to the
// controls, the page's presets, and the mirror of every setting in the URL
// hash (e.g. `#runs=sgd,adam,rngd&arch=plain&act=relu&seed=1&backend=auto&mode=lockstep&hidden=32,32&lr-sgd=0.05`).
//
// One source of truth for the limits: the page parses text into numbers (so
// "abc" is caught here, with a message a person reads), then asks the crate
// (`checkConfig`, passed in by main.js) whether each run's config is valid;
// the crate names the bad field, and FIELD_OF maps it to the control.
//
// Nothing here touches the DOM or the worker, so it is easy to extend: a new
// optimizer is one more entry in RUN_DEFS, a new setting one more entry in
// TEXT_FIELDS (plus its place in the config, trainerConfig).

/** Runs the page knows about, trained side by side from the same seed.
 *  Colours: the Okabe–Ito palette, distinguishable with colour-vision
 *  deficiencies; the charts also tell train from test by the dash pattern.
 *  `defaultLr` is only a fallback: the page reads the crate's defaults. */
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
export const FAST_PRESET = 'fast';

/** The crate's default config (defaultConfig('rngd'), every field explicit):
 *  what an empty field means, shown as its placeholder. Null until loaded. */
let crateDefaults = null;
export const setCrateDefaults = (config) => {
  crateDefaults = config ?? null;
};
export const getCrateDefaults = () => crateDefaults;

export const activationLabel = (v) => ACTIVATIONS.find((a) => a.value === v)?.label ?? v;
export const archLabel = (v) => ARCHS.find((a) => a.value === v)?.long ?? v;

/** The network's ends (MNIST) and what the description shows until the
 *  crate's defaults are loaded. */
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

/** Steps per frame: a page setting (how many steps one slice asks of each
 *  run), not the crate's; empty means adaptive. */
export const MAX_STEPS_PER_FRAME = 1000;

/**
 * The text fields besides the learning rates. `kind`: number | int | list;
 * `path`: where the value goes in the run's config (and the crate's name for
 * it in checkConfig's `field`); `rngd`: only RNGD's config has it;
 * `advanced`: in the collapsed group. `hash`: the key in the URL.
 */
export const TEXT_FIELDS = [
  { key: 'hidden', label: 'Hidden sizes', kind: 'list', path: 'hidden', hint: 'Widths, comma-separated', testid: 'hidden-input' },
  { key: 'batch', label: 'Batch size', kind: 'int', path: 'batch', testid: 'batch-input' },
  { key: 'seed', label: 'Seed', kind: 'seed', path: 'seed', testid: 'seed-input', errorTestid: 'seed-error' },
  { key: 'l2', label: 'L2 weight decay', kind: 'number', path: 'l2', advanced: true, testid: 'l2-input' },
  {
    key: 'spf',
    label: 'Steps per frame',
    kind: 'int',
    page: true,
    advanced: true,
    hint: 'Empty: adaptive (about 80 ms of the slowest run). A frame never steps past a test point.',
    testid: 'spf-input',
  },
  { key: 'rngd-lambda', label: 'λ (metric EMA rate)', kind: 'number', path: 'rngd.lambda', rngd: true, testid: 'rngd-lambda' },
  { key: 'rngd-refresh', label: 'T (steps between inverses)', kind: 'int', path: 'rngd.refresh', rngd: true, testid: 'rngd-refresh' },
  { key: 'rngd-eps-rel', label: 'ε_rel (relative damping)', kind: 'number', path: 'rngd.eps_rel', rngd: true, testid: 'rngd-eps-rel' },
  { key: 'rngd-omega', label: 'ω (selector smoothing)', kind: 'number', path: 'rngd.omega', rngd: true, testid: 'rngd-omega' },
  {
    key: 'rngd-metric-every',
    label: 'Metric every k steps',
    kind: 'int',
    path: 'rngd.metric_every',
    rngd: true,
    testid: 'rngd-metric-every',
  },
  {
    key: 'rngd-input-rank',
    label: 'Input rank r (0 = exact)',
    kind: 'int',
    path: 'rngd.input_rank',
    rngd: true,
    testid: 'rngd-input-rank',
  },
];
export const textField = (key) => TEXT_FIELDS.find((f) => f.key === key);

/** The three RNGD fields a speed preset sets (the crate's preset settings). */
export const SPEED_KEYS = { metric_every: 'rngd-metric-every', input_rank: 'rngd-input-rank', refresh: 'rngd-refresh' };

/** The crate's field path → the control that shows its message (lr: per run). */
const FIELD_OF = {
  ...Object.fromEntries(TEXT_FIELDS.filter((f) => f.path).map((f) => [f.path, f.key])),
  'rngd.eps_abs': 'rngd-eps-rel',
};

export const DEFAULT_RAW = Object.freeze({
  preset: 'paper',
  arch: 'plain',
  activation: 'relu',
  backend: 'auto',
  free: false,
  'fast-rngd': false,
  ...Object.fromEntries(TEXT_FIELDS.map((f) => [f.key, ''])),
  seed: '1',
  ...Object.fromEntries(RUN_DEFS.flatMap((d) => [[`on-${d.id}`, true], [`lr-${d.id}`, '']])),
});

/** Keys of the text inputs that can carry a message ('config': the form's own line). */
export const TEXT_KEYS = [...TEXT_FIELDS.map((f) => f.key), ...RUN_DEFS.map((d) => `lr-${d.id}`)];

const MAX_SEED = 2 ** 32 - 1;

/** Parse a decimal number strictly: no empty strings, no trailing garbage
 *  (`Number('')` is 0 and `parseFloat('1abc')` is 1, both wrong here). */
function parseNumber(text) {
  const s = String(text).trim();
  if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** A learning rate: empty means the optimizer's default (null). The upper
 *  bound is the crate's business (checkConfig). */
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

/** One text field's value: null when empty (the default), else the number,
 *  whole number or list of whole numbers; the range is the crate's to check. */
export function parseField(field, text) {
  const s = String(text ?? '').trim();
  if (field.kind === 'seed') return parseSeed(s);
  if (s === '') return { value: null };
  if (field.kind === 'list') {
    const parts = s.split(/\s*,\s*/);
    if (!parts.every((p) => /^\d+$/.test(p))) {
      return { error: `${field.label} must be whole numbers separated by commas (e.g. 80,80,80), got "${s}".` };
    }
    return { value: parts.map(Number) };
  }
  const v = parseNumber(s);
  if (Number.isNaN(v)) return { error: `${field.label} must be a number, got "${s}".` };
  if (!Number.isFinite(v)) return { error: `${field.label} must be finite.` };
  if (field.kind === 'int' && (!Number.isInteger(v) || v < 0)) {
    return { error: `${field.label} must be a whole number ≥ 0, got ${s}.` };
  }
  if (field.key === 'spf' && (v < 1 || v > MAX_STEPS_PER_FRAME)) {
    return { error: `${field.label} must be between 1 and ${MAX_STEPS_PER_FRAME}, or empty, got ${v}.` };
  }
  return { value: v };
}

const sentence = (s) => {
  const t = String(s).trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
};

/** The label a message next to `key` starts with. */
function labelOf(key) {
  const lr = /^lr-(\w+)$/.exec(key);
  if (lr) return `${runDef(lr[1])?.label ?? lr[1]} learning rate`;
  const f = textField(key);
  return f ? (f.rngd ? `RNGD ${f.label}` : f.label) : null;
}

/**
 * Validate the raw form state: strings for text inputs and selects, booleans
 * for the checkboxes. First the page's parsing, then, when `check` is given
 * (the crate's checkConfig bound to the training rows), each included run's
 * config as Trainer.create would get it. Fields of runs that are not included
 * are not checked.
 * @param {object} raw
 * @param {(config: object) => (null | {field: string|null, message: string})} [check]
 * @returns {{ok: boolean, values: object|null, errors: Record<string,string>}}
 *   values: {seed, arch, activation, backend, mode, spf, hidden, batch, l2, rngd, runs: [{id, lr}]}
 *   (null fields: the crate's default)
 */
export function validateSettings(raw, check = null) {
  const errors = {};
  const arch = ARCHS.some((a) => a.value === raw.arch) ? raw.arch : DEFAULT_RAW.arch;
  const activation = ACTIVATIONS.some((a) => a.value === raw.activation) ? raw.activation : DEFAULT_RAW.activation;
  const backend = BACKENDS.some((b) => b.value === raw.backend) ? raw.backend : DEFAULT_RAW.backend;
  const mode = raw.free ? 'free' : 'lockstep';
  const rngdOn = Boolean(raw['on-rngd']);
  const parsed = {};
  for (const f of TEXT_FIELDS) {
    if (f.rngd && !rngdOn) continue;
    const p = parseField(f, raw[f.key]);
    if ('error' in p) errors[f.key] = p.error;
    else parsed[f.key] = p.value;
  }
  const runs = [];
  for (const d of RUN_DEFS) {
    if (!raw[`on-${d.id}`]) continue;
    const lr = parseLr(raw[`lr-${d.id}`], d.label);
    if ('error' in lr) errors[`lr-${d.id}`] = lr.error;
    else runs.push({ id: d.id, lr: lr.value });
  }
  if (!RUN_DEFS.some((d) => raw[`on-${d.id}`])) errors.runs = 'Choose at least one optimizer to train.';
  if (Object.keys(errors).length > 0) return { ok: false, values: null, errors };

  // Only an RNGD run has RNGD settings: with RNGD off, they must not count as new settings.
  const rngd = {};
  if (rngdOn) {
    for (const f of TEXT_FIELDS.filter((x) => x.rngd)) {
      if (parsed[f.key] != null) rngd[f.path.split('.')[1]] = parsed[f.key];
    }
  }
  const values = {
    seed: parsed.seed,
    arch,
    activation,
    backend,
    mode,
    spf: parsed.spf ?? null,
    hidden: parsed.hidden ?? null,
    batch: parsed.batch ?? null,
    l2: parsed.l2 ?? null,
    rngd,
    runs,
  };
  if (check) {
    for (const r of runs) {
      const problem = check(trainerConfig(r.id, values));
      if (!problem) continue;
      const key = problem.field === 'lr' ? `lr-${r.id}` : FIELD_OF[problem.field] ?? 'config';
      if (errors[key]) continue; // shared fields: the first run's message is enough
      const head = labelOf(key);
      // Next to its field, "invalid config: " says nothing the field does not.
      const message = String(problem.message).replace(/^invalid config:\s*/, '');
      errors[key] = sentence(head ? `${head}: ${message}` : problem.message);
    }
  }
  const ok = Object.keys(errors).length === 0;
  return { ok, values: ok ? values : null, errors };
}

export function sameSettings(a, b) {
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The config object passed to `Trainer.create(config, data)` (and to
 *  checkConfig) for one run. Only fields of the wasm contract: unknown fields
 *  are an error there. Empty settings are left out: the crate's defaults. */
export function trainerConfig(id, settings) {
  const run = settings.runs.find((r) => r.id === id);
  const config = {
    optimizer: runDef(id).optimizer,
    arch: settings.arch,
    activation: settings.activation,
    seed: settings.seed,
    backend: settings.backend ?? DEFAULT_RAW.backend,
  };
  if (settings.hidden != null) config.hidden = [...settings.hidden];
  if (settings.batch != null) config.batch = settings.batch;
  if (settings.l2 != null) config.l2 = settings.l2;
  if (run?.lr != null) config.lr = run.lr;
  if (settings.rngd && Object.keys(settings.rngd).length) {
    // RNGD's settings; SGD and Adam take λ and ω from them for the metric they track.
    if (runDef(id).presets) config.rngd = { ...settings.rngd };
    else {
      const { lambda, omega } = settings.rngd;
      if (lambda != null || omega != null) config.rngd = { ...(lambda != null && { lambda }), ...(omega != null && { omega }) };
    }
  }
  // SGD and Adam learn RNGD's metric read-only, so that the geometry view
  // compares like with like; the worker keeps its cost out of their pace.
  if (!runDef(id).presets) config.track_metric = true;
  return config;
}

/** The hidden widths in force: the settings' or the crate's default. */
export const hiddenOf = (settings) => settings?.hidden ?? crateDefaults?.hidden ?? [...MODEL.hidden];

/** "784-80-80-80-10" */
export const architecture = (hidden = hiddenOf(null)) => [MODEL.inputs, ...hidden, MODEL.outputs].join('-');

// ------------------------------------------------------------- defaults
/** The crate's default of a text field, as text ('' while unknown). */
export function defaultText(key) {
  const c = crateDefaults;
  if (!c) return '';
  const f = textField(key);
  if (!f?.path) return '';
  const v = f.path.split('.').reduce((o, k) => o?.[k], c);
  if (v == null) return '';
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** A field's text as a canonical value, the default filled in, for comparisons. */
function canonical(key, text) {
  const s = String(text ?? '').trim();
  const f = textField(key);
  if (s === '') return /^lr-/.test(key) ? '' : defaultText(key);
  if (f?.kind === 'list') return s.split(/\s*,\s*/).map(Number).join(',');
  const n = parseNumber(s);
  return Number.isNaN(n) ? s : String(n);
}

// ------------------------------------------------------- speed presets
/** The crate's speed preset `name` as field texts ({} while unknown). */
export function speedFields(name) {
  const p = presets.find((x) => x.name === name);
  if (!p) return {};
  return Object.fromEntries(Object.entries(SPEED_KEYS).map(([k, key]) => [key, String(p.settings[k])]));
}

/** Whether RNGD's three speed fields match the crate's fast preset. */
export function isFast(raw) {
  const fast = speedFields(FAST_PRESET);
  const keys = Object.values(SPEED_KEYS);
  return keys.every((k) => k in fast) && keys.every((k) => canonical(k, raw[k]) === canonical(k, fast[k]));
}

/** The field texts for the switch: the fast preset's, or empty (the literal algorithm, the defaults). */
export const fastSwitchFields = (on) =>
  on ? speedFields(FAST_PRESET) : Object.fromEntries(Object.values(SPEED_KEYS).map((k) => [k, '']));

// --------------------------------------------------------- page presets
/** The page's presets: each sets the network and the optimizers' settings
 *  (not the runs chosen, the seed, the backend or the pace). Empty texts are
 *  the crate's defaults, so "paper setting" is the crate's (the paper's)
 *  configuration and follows it. */
export const PAGE_PRESETS = [
  {
    value: 'paper',
    label: 'Paper setting',
    description: 'plain 784-80-80-80-10 ReLU network, batch 50, the crate’s default learning rates, the literal RNGD',
    fields: () => ({}),
  },
  {
    value: 'quick',
    label: 'Quick demo',
    description: 'a small 784-32-32-10 network and the fast RNGD: quick on any CPU',
    fields: () => ({ hidden: '32,32', batch: '50', ...speedFields(FAST_PRESET) }),
  },
  {
    value: 'fast',
    label: 'Fast RNGD',
    description: 'the paper’s network with RNGD’s fast preset (metrics every few steps, low-rank input metric)',
    fields: () => speedFields(FAST_PRESET),
  },
  {
    value: 'ill',
    label: 'Ill-conditioned',
    description: 'sigmoid units without batch norm: badly conditioned, where the natural gradient helps most',
    fields: () => ({ arch: 'plain', activation: 'sigmoid' }),
  },
];
export const CUSTOM = 'custom';

/** The keys a page preset decides. */
export const PRESET_KEYS = [
  'arch',
  'activation',
  ...TEXT_FIELDS.filter((f) => !['seed', 'spf'].includes(f.key)).map((f) => f.key),
  ...RUN_DEFS.map((d) => `lr-${d.id}`),
];

/** Every preset key's text under page preset `name`: the preset's own
 *  fields over the defaults (empty texts, plain ReLU). */
export function presetRaw(name) {
  const p = PAGE_PRESETS.find((x) => x.value === name);
  if (!p) return null;
  return Object.fromEntries(PRESET_KEYS.map((k) => [k, p.fields()[k] ?? DEFAULT_RAW[k]]));
}

/** The page preset the form matches, or 'custom'. */
export function matchPreset(raw) {
  for (const p of PAGE_PRESETS) {
    const want = presetRaw(p.value);
    if (PRESET_KEYS.every((k) => canonical(k, raw[k]) === canonical(k, want[k]))) return p.value;
  }
  return CUSTOM;
}

// ------------------------------------------------------------ URL hash
/** The hash key of each form key that is not its own name. */
const HASH_KEY = { activation: 'act' };
const hashKey = (k) => HASH_KEY[k] ?? k;

/** Raw form state from the URL hash; missing keys get the defaults. An old
 *  link's `rngd-preset=fast` fills RNGD's speed fields (once the crate's
 *  presets are known: pendingSpeedPreset). */
/** True when `hash` holds settings (key=value pairs, as hashOf writes them),
 *  false for an in-page link such as #geometry. */
export function isSettingsHash(hash = location.hash) {
  return hash.replace(/^#/, '').includes('=');
}

export function readHash(hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const raw = { ...DEFAULT_RAW };
  for (const k of ['arch', 'activation', 'backend', ...TEXT_KEYS]) if (params.has(hashKey(k))) raw[k] = params.get(hashKey(k));
  if (params.has('mode')) raw.free = params.get('mode') === 'free';
  if (params.has('runs')) {
    const on = new Set(params.get('runs').split(','));
    for (const d of RUN_DEFS) raw[`on-${d.id}`] = on.has(d.id);
  }
  const legacy = params.get('rngd-preset');
  if (legacy && legacy !== DEFAULT_PRESET && !Object.values(SPEED_KEYS).some((k) => params.has(k))) {
    raw.pendingSpeedPreset = legacy;
    Object.assign(raw, speedFields(legacy));
  }
  raw['fast-rngd'] = isFast(raw);
  raw.preset = matchPreset(raw);
  return raw;
}

/** The hash for a form state: every setting that differs from empty, so a
 *  link reproduces the runs (empty fields are the crate's defaults). */
export function hashOf(raw) {
  const params = new URLSearchParams();
  params.set('runs', RUN_DEFS.filter((d) => raw[`on-${d.id}`]).map((d) => d.id).join(','));
  params.set('arch', raw.arch);
  params.set('act', raw.activation);
  params.set('backend', raw.backend ?? DEFAULT_RAW.backend);
  params.set('mode', raw.free ? 'free' : 'lockstep');
  for (const k of TEXT_KEYS) {
    const v = String(raw[k] ?? '').trim();
    if (v !== '') params.set(hashKey(k), v);
  }
  return '#' + params.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
}

/** Mirror the form in the URL hash without adding history entries. */
export function writeHash(raw) {
  const hash = hashOf(raw);
  if (location.hash !== hash) history.replaceState(null, '', hash);
}
