// Page configuration: the runs that can be shown, the fixed model and
// training settings, the user-editable settings with their validation, and
// the mirror of those settings in the URL hash (e.g. `#lr=0.05&seed=1`).
//
// Nothing here touches the DOM or the worker, so it is easy to extend: a new
// optimizer is one more entry in RUN_DEFS, a new input one more entry in
// FIELDS (plus its <input> in index.html).

/** Runs the page knows about. Only SGD is enabled for now; Adam and RNGD
 *  will be switched on when the wasm side supports them. */
export const RUN_DEFS = [
  { id: 'sgd', label: 'SGD', optimizer: 'sgd', color: '#2563eb', enabled: true },
  { id: 'adam', label: 'Adam', optimizer: 'adam', color: '#d97706', enabled: false },
  { id: 'rngd', label: 'RNGD', optimizer: 'rngd', color: '#059669', enabled: false },
];

export const enabledRuns = () => RUN_DEFS.filter((r) => r.enabled);

/** The network and the parts of the training setup that the page does not let
 *  the user change. These are sent explicitly to the Trainer, so that the
 *  description on the page is guaranteed to be what is trained. */
export const MODEL = Object.freeze({
  inputs: 784,
  hidden: Object.freeze([80, 80, 80]),
  outputs: 10,
  activation: 'ReLU',
  batch: 50,
  l2: 1e-3,
  init_std: 0.1,
});

/** Training steps between two snapshots (a snapshot evaluates the whole test
 *  split, so it is not taken every step). */
export const EVAL_EVERY = 25;

export const DEFAULT_SETTINGS = Object.freeze({ lr: 0.05, seed: 1 });

const MAX_SEED = 2 ** 32 - 1;

/** Parse a decimal number strictly: no empty strings, no trailing garbage
 *  (`Number('')` is 0 and `parseFloat('1abc')` is 1, both wrong here). */
function parseNumber(text) {
  const s = String(text).trim();
  if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** The user-editable settings. `parse(text)` returns `{ value }` or `{ error }`
 *  with a message meant for the page. */
export const FIELDS = [
  {
    key: 'lr',
    label: 'Learning rate',
    parse(text) {
      const v = parseNumber(text);
      if (String(text).trim() === '') return { error: 'Learning rate is required.' };
      if (Number.isNaN(v)) return { error: `Learning rate must be a number, got "${String(text).trim()}".` };
      if (!Number.isFinite(v)) return { error: 'Learning rate must be finite.' };
      if (v <= 0) return { error: `Learning rate must be greater than 0, got ${v}.` };
      return { value: v };
    },
  },
  {
    key: 'seed',
    label: 'Seed',
    parse(text) {
      const s = String(text).trim();
      if (s === '') return { error: 'Seed is required.' };
      if (!/^\d+$/.test(s)) {
        return { error: `Seed must be a whole number ≥ 0, got "${s}".` };
      }
      const v = Number(s);
      if (v > MAX_SEED) return { error: `Seed must be at most ${MAX_SEED}.` };
      return { value: v };
    },
  },
];

/**
 * Validate raw input strings.
 * @param {Record<string,string>} raw
 * @returns {{ok: boolean, values: Record<string,number>, errors: Record<string,string>}}
 */
export function validateSettings(raw) {
  const values = {};
  const errors = {};
  for (const f of FIELDS) {
    const r = f.parse(raw[f.key] ?? '');
    if ('error' in r) errors[f.key] = r.error;
    else values[f.key] = r.value;
  }
  return { ok: Object.keys(errors).length === 0, values, errors };
}

export function sameSettings(a, b) {
  if (!a || !b) return false;
  return FIELDS.every((f) => Object.is(a[f.key], b[f.key]));
}

/** The config object passed to `new Trainer(config, data)` for one run. Only
 *  fields of the wasm contract: unknown fields are an error there. */
export function trainerConfig(runDef, settings) {
  return {
    optimizer: runDef.optimizer,
    hidden: [...MODEL.hidden],
    lr: settings.lr,
    batch: MODEL.batch,
    seed: settings.seed,
    l2: MODEL.l2,
    init_std: MODEL.init_std,
  };
}

/** "784-80-80-80-10" */
export const architecture = () => [MODEL.inputs, ...MODEL.hidden, MODEL.outputs].join('-');

/** Raw setting strings from the URL hash; missing keys get the defaults. */
export function readHash(hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const raw = {};
  for (const f of FIELDS) {
    raw[f.key] = params.has(f.key) ? params.get(f.key) : String(DEFAULT_SETTINGS[f.key]);
  }
  return raw;
}

/** Mirror valid settings in the URL hash without adding history entries. */
export function writeHash(values) {
  const params = new URLSearchParams();
  for (const f of FIELDS) params.set(f.key, String(values[f.key]));
  const hash = '#' + params.toString();
  if (location.hash !== hash) history.replaceState(null, '', hash);
}
