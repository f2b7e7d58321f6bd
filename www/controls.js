// The settings form and the start / pause / step / reset buttons. Knows the
// DOM of the controls panel, nothing about the worker: main.js passes
// callbacks.
//
// Built here from state.js's lists: the page's preset menu, the
// per-optimizer tiles (checkbox + learning rate; RNGD's with the "fast RNGD"
// switch and its own settings in a collapsed group), the shared fields, and
// the "More settings" group. index.html has the containers and the buttons.
// Every form element is found by its `name`; every text field has its
// message line next to it (aria-describedby, role=alert).
//
// Two controls are derived from the others, so the form never contradicts
// itself: the preset menu shows the preset the fields match ("custom" when
// none), and the fast switch is on exactly when RNGD's speed fields are the
// crate's fast preset. Choosing either fills the fields.

import {
  RUN_DEFS,
  ARCHS,
  ACTIVATIONS,
  BACKENDS,
  TEXT_FIELDS,
  TEXT_KEYS,
  PAGE_PRESETS,
  PRESET_KEYS,
  CUSTOM,
  FAST_PRESET,
  SPEED_KEYS,
  presetRaw,
  matchPreset,
  isFast,
  fastSwitchFields,
  defaultText,
} from './state.js';

/** A labelled text field with its hint and message lines. */
function textField({ key, label, ariaLabel, hint, testid, narrow, inputmode = 'decimal' }) {
  const field = document.createElement('div');
  field.className = `field${narrow ? ' narrow' : ''}`;
  field.dataset.field = key;
  const described = [`${key}-error`, hint != null ? `${key}-hint` : null].filter(Boolean).join(' ');
  field.innerHTML = `
    <label for="${key}"></label>
    <input id="${key}" name="${key}" type="text" inputmode="${inputmode}" autocomplete="off" spellcheck="false"
           aria-describedby="${described}" data-testid="${testid}" />
    ${hint != null ? `<p class="field-hint" id="${key}-hint"></p>` : ''}
    <p class="field-error" id="${key}-error" data-error-for="${key}" data-testid="${key}-error" role="alert" hidden></p>`;
  field.querySelector('label').textContent = label;
  if (ariaLabel) field.querySelector('input').setAttribute('aria-label', ariaLabel);
  if (hint != null && typeof hint === 'string') field.querySelector('.field-hint').textContent = hint;
  return field;
}

/** A labelled select filled with `options` ([{value, label}]). */
function selectField({ key, label, testid, options, hint }) {
  const field = document.createElement('div');
  field.className = `field ${key}`;
  field.innerHTML = `
    <label for="${key}"></label>
    <select id="${key}" name="${key}" data-testid="${testid}" ${hint ? `aria-describedby="${key}-hint"` : ''}></select>
    ${hint ? `<p class="field-hint" id="${key}-hint"></p>` : ''}`;
  field.querySelector('label').textContent = label;
  if (hint) field.querySelector('.field-hint').textContent = hint;
  const select = field.querySelector('select');
  for (const o of options) select.append(new Option(o.label, o.value));
  return field;
}

const spec = (key) => TEXT_FIELDS.find((f) => f.key === key);
const fieldFor = (f, extra = {}) =>
  textField({
    key: f.key,
    label: f.label,
    ariaLabel: f.rngd ? `RNGD ${f.label}` : null,
    hint: f.hint ?? '',
    testid: f.testid,
    inputmode: f.kind === 'list' ? 'text' : f.kind === 'number' ? 'decimal' : 'numeric',
    ...extra,
  });

/**
 * @param {HTMLElement} root  the controls panel (contains the inputs and buttons)
 * @param {{onStart: Function, onPause: Function, onStep: Function, onReset: Function, onInput: Function}} handlers
 */
export function createControls(root, handlers) {
  const $ = (sel) => root.querySelector(sel);
  const buttons = {
    start: $('[data-action="start"]'),
    pause: $('[data-action="pause"]'),
    step: $('[data-action="step"]'),
    reset: $('[data-action="reset"]'),
  };
  const hint = $('[data-role="hint"]');

  // ---------------------------------------------------- the preset menu
  const presetSelect = $('[name="preset"]');
  for (const p of PAGE_PRESETS) presetSelect.append(new Option(p.label, p.value));
  presetSelect.append(new Option('Custom', CUSTOM));

  // ---------------------------------------------------- optimizer tiles
  const tiles = $('[data-role="optimizers"]');
  for (const d of RUN_DEFS) {
    const tile = document.createElement('div');
    tile.className = 'opt';
    tile.dataset.run = d.id;
    // The theme's colour (style.css, --run-<id>) so the tile follows dark mode.
    tile.style.setProperty('--run-color', `var(--run-${d.id}, ${d.color})`);
    tile.innerHTML = `
      <label class="opt-toggle">
        <input type="checkbox" name="on-${d.id}" data-testid="use-${d.id}" />
        <span class="swatch" aria-hidden="true"></span>
        <span class="opt-name"></span>
      </label>`;
    tile.querySelector('.opt-name').textContent = d.label;
    const lr = textField({
      key: `lr-${d.id}`,
      label: 'Learning rate',
      ariaLabel: `${d.label} learning rate`,
      hint: true,
      testid: `lr-${d.id}`,
    });
    lr.querySelector('.field-hint').innerHTML = 'Empty: the default, <span data-role="default"></span>.';
    tile.append(lr);
    if (d.presets) {
      const fast = document.createElement('div');
      fast.className = 'fast-switch';
      fast.innerHTML = `
        <label class="switch">
          <input type="checkbox" role="switch" name="fast-${d.id}" data-testid="fast-${d.id}"
                 aria-describedby="fast-${d.id}-hint" />
          <span>Fast ${d.label}</span>
        </label>
        <p class="field-hint" id="fast-${d.id}-hint" data-testid="fast-${d.id}-description"></p>`;
      const more = document.createElement('details');
      more.className = 'advanced opt-settings';
      more.dataset.testid = `${d.id}-settings`;
      more.innerHTML = `<summary>${d.label} settings</summary><div class="fields"></div>`;
      for (const f of TEXT_FIELDS.filter((x) => x.rngd)) more.querySelector('.fields').append(fieldFor(f));
      tile.append(fast, more);
    }
    tiles.append(tile);
  }

  // ---------------------------------------------------- shared fields
  const shared = $('[data-role="shared-fields"]');
  shared.append(
    selectField({ key: 'arch', label: 'Architecture', testid: 'arch-select', options: ARCHS }),
    selectField({ key: 'activation', label: 'Activation', testid: 'activation-select', options: ACTIVATIONS }),
    fieldFor(spec('hidden')),
    fieldFor(spec('batch')),
    selectField({
      key: 'backend',
      label: 'Backend',
      testid: 'backend-select',
      options: BACKENDS,
      hint: 'Auto: a hardware GPU, else the CPU.',
    }),
    fieldFor(spec('seed'), { narrow: true, hint: null }),
  );
  const advanced = $('[data-role="advanced-fields"]');
  for (const f of TEXT_FIELDS.filter((x) => x.advanced)) advanced.append(fieldFor(f));

  const form = $('form');
  const elements = () => [...form.querySelectorAll('input[name], select[name]')];
  const byName = (name) => form.querySelector(`[name="${name}"]`);

  // ------------------------------------------------------------- events
  form.addEventListener('submit', (ev) => {
    ev.preventDefault(); // Enter in a field = Start
    if (!buttons.start.disabled) handlers.onStart();
  });
  for (const [name, handler] of [
    ['start', handlers.onStart],
    ['pause', handlers.onPause],
    ['step', handlers.onStep],
    ['reset', handlers.onReset],
  ]) {
    buttons[name].addEventListener('click', (ev) => {
      ev.preventDefault();
      handler();
    });
  }

  /** Fill fields from `values` (form keys → text); the derived controls follow. */
  function fillFields(values) {
    for (const [k, v] of Object.entries(values)) {
      const el = byName(k);
      if (!el) continue;
      if (el.type === 'checkbox') el.checked = Boolean(v);
      else el.value = v;
    }
  }

  /** The preset menu and the fast switch, from the fields. */
  function syncDerived() {
    const raw = readRaw();
    presetSelect.value = matchPreset(raw);
    byName('fast-rngd').checked = isFast(raw);
    describe();
  }

  form.addEventListener('input', (ev) => {
    if (ev.target.type === 'text') syncDerived();
    handlers.onInput(ev.target.name);
  });
  form.addEventListener('change', (ev) => {
    const name = ev.target.name;
    if (name === 'preset') {
      if (presetSelect.value !== CUSTOM) fillFields(presetRaw(presetSelect.value));
    } else if (name === 'fast-rngd') {
      fillFields(fastSwitchFields(ev.target.checked));
    }
    if (ev.target.type === 'checkbox') syncTiles();
    if (ev.target.type !== 'text') syncDerived();
    handlers.onInput(name);
  });

  let speedPresets = [];
  function describe() {
    const p = PAGE_PRESETS.find((x) => x.value === presetSelect.value);
    $('[data-role="preset-description"]').textContent = p
      ? `${p.label}: ${p.description}.`
      : 'Custom: your own settings (a preset fills them all again).';
    const fast = speedPresets.find((x) => x.name === FAST_PRESET);
    const on = byName('fast-rngd').checked;
    const literal = speedPresets.find((x) => x.name !== FAST_PRESET);
    const text = on ? fast?.description : literal?.description;
    root.querySelector('#fast-rngd-hint').textContent = text ? `${on ? 'fast' : 'off'}: ${text}` : '';
  }

  function syncTiles() {
    for (const d of RUN_DEFS) {
      const on = byName(`on-${d.id}`).checked;
      root.querySelector(`.opt[data-run="${d.id}"]`).dataset.on = String(on);
    }
  }

  let mode = 'loading';
  let valid = true;
  function readRaw() {
    const raw = {};
    for (const el of elements()) raw[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    return raw;
  }
  function applyButtons() {
    const usable = mode !== 'loading' && mode !== 'unavailable';
    buttons.start.disabled = !usable || mode === 'running' || !valid;
    buttons.step.disabled = !usable || mode === 'running' || !valid;
    buttons.pause.disabled = mode !== 'running';
    buttons.reset.disabled = !usable || !valid;
  }

  return {
    /** The form state: strings for text fields and selects, booleans for checkboxes. */
    readRaw,

    /** Fill the form (e.g. from the URL hash); the derived controls follow the fields. */
    setRaw(raw) {
      for (const el of elements()) {
        if (!(el.name in raw) || el.name === 'preset' || el.name === 'fast-rngd') continue;
        if (el.type === 'checkbox') el.checked = Boolean(raw[el.name]);
        else if (el.tagName === 'SELECT') {
          if ([...el.options].some((o) => o.value === raw[el.name])) el.value = raw[el.name];
        } else el.value = raw[el.name];
      }
      syncTiles();
      syncDerived();
    },

    /** RNGD's speed presets from the crate ([{name, description, settings}]): the fast switch's meaning. */
    setPresets(list) {
      speedPresets = list;
      syncDerived();
    },

    /** The crate's defaults: learning rates (per run id) as placeholders and
     *  hints, the other fields' (state.js defaultText) as placeholders. */
    setDefaults(lrDefaults) {
      for (const d of RUN_DEFS) {
        const v = lrDefaults[d.id] ?? d.defaultLr;
        byName(`lr-${d.id}`).placeholder = `${v} (default)`;
        root.querySelector(`#lr-${d.id}-hint [data-role="default"]`).textContent = String(v);
      }
      for (const f of TEXT_FIELDS) {
        const d = defaultText(f.key);
        if (d !== '') byName(f.key).placeholder = `${d} (default)`;
      }
      syncDerived();
    },

    /** Show per-field messages; fields not in `errs` are cleared. A closed
     *  group opens when one of its fields has a message. */
    showFieldErrors(errs) {
      for (const key of [...TEXT_KEYS, 'runs', 'config']) {
        const msg = errs[key] || '';
        const el = root.querySelector(`[data-error-for="${key}"]`);
        if (!el) continue;
        if (el.textContent !== msg) el.textContent = msg;
        el.hidden = !msg;
        byName(key)?.setAttribute('aria-invalid', msg ? 'true' : 'false');
        if (msg) {
          const details = el.closest('details');
          if (details) details.open = true;
        }
      }
      valid = Object.keys(errs).length === 0;
      root.dataset.valid = String(valid);
      applyButtons();
    },

    /**
     * @param {'loading'|'unavailable'|'idle'|'ready'|'running'|'paused'|'finished'} m
     */
    setMode(m) {
      mode = m;
      root.dataset.mode = m;
      applyButtons();
      for (const el of elements()) el.disabled = m === 'running' || m === 'loading';
      buttons.start.textContent = m === 'paused' ? 'Resume' : 'Start';
    },

    get mode() {
      return mode;
    },

    /** A short line under the buttons ('' hides it). */
    setHint(text) {
      hint.textContent = text;
      hint.hidden = !text;
    },

    setStartLabel(text) {
      buttons.start.textContent = text;
    },

    /** The keys the page's presets and the fast switch decide (for main.js). */
    presetKeys: PRESET_KEYS,
    speedKeys: Object.values(SPEED_KEYS),
  };
}
