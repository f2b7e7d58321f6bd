// The settings form and the start / pause / reset buttons. Knows the DOM of
// the controls panel, nothing about the worker: main.js passes callbacks.
//
// The per-optimizer tiles (checkbox + learning rate) are built here from
// RUN_DEFS, RNGD's with its preset menu (filled from the crate's list once the
// wasm module is loaded); the shared fields (architecture, activation,
// backend, seed) and the free-running switch are in index.html. Every form
// element is found by its `name`.

import { RUN_DEFS, ARCHS, ACTIVATIONS, BACKENDS, TEXT_KEYS, DEFAULT_PRESET } from './state.js';

/**
 * @param {HTMLElement} root  the controls panel (contains the inputs and buttons)
 * @param {{onStart: Function, onPause: Function, onReset: Function, onInput: Function}} handlers
 */
export function createControls(root, handlers) {
  const $ = (sel) => root.querySelector(sel);
  const buttons = {
    start: $('[data-action="start"]'),
    pause: $('[data-action="pause"]'),
    reset: $('[data-action="reset"]'),
  };
  const hint = $('[data-role="hint"]');

  // ---------------------------------------------------- optimizer tiles
  const tiles = $('[data-role="optimizers"]');
  for (const d of RUN_DEFS) {
    const tile = document.createElement('div');
    tile.className = 'opt';
    tile.dataset.run = d.id;
    tile.style.setProperty('--run-color', d.color);
    tile.innerHTML = `
      <label class="opt-toggle">
        <input type="checkbox" name="on-${d.id}" data-testid="use-${d.id}" />
        <span class="swatch" aria-hidden="true"></span>
        <span class="opt-name"></span>
      </label>
      <div class="field">
        <label for="lr-${d.id}">Learning rate</label>
        <input id="lr-${d.id}" name="lr-${d.id}" type="text" inputmode="decimal" autocomplete="off"
               spellcheck="false" aria-describedby="lr-${d.id}-error lr-${d.id}-hint" data-testid="lr-${d.id}" />
        <p class="field-hint" id="lr-${d.id}-hint">Empty: the default, <span data-role="default"></span>.</p>
        <p class="field-error" id="lr-${d.id}-error" data-error-for="lr-${d.id}" data-testid="lr-${d.id}-error"
           role="alert" hidden></p>
      </div>`;
    if (d.presets) {
      const field = document.createElement('div');
      field.className = 'field preset';
      field.innerHTML = `
        <label for="preset-${d.id}">Preset</label>
        <select id="preset-${d.id}" name="preset-${d.id}" data-testid="preset-${d.id}"
                aria-describedby="preset-${d.id}-hint"></select>
        <p class="field-hint" id="preset-${d.id}-hint" data-role="preset-description"
           data-testid="preset-${d.id}-description"></p>`;
      // Until the crate's list arrives, the default is the only choice.
      field.querySelector('select').append(new Option(DEFAULT_PRESET, DEFAULT_PRESET));
      tile.append(field);
    }
    tile.querySelector('.opt-name').textContent = d.label;
    tiles.append(tile);
  }

  const fill = (select, options) => {
    for (const o of options) select.append(new Option(o.label, o.value));
  };
  fill($('[name="arch"]'), ARCHS);
  fill($('[name="activation"]'), ACTIVATIONS);
  fill($('[name="backend"]'), BACKENDS);

  const form = $('form');
  const elements = () => [...form.querySelectorAll('input[name], select[name]')];
  const byName = (name) => form.querySelector(`[name="${name}"]`);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault(); // Enter in a field = Start
    if (!buttons.start.disabled) handlers.onStart();
  });
  buttons.start.addEventListener('click', (ev) => {
    ev.preventDefault();
    handlers.onStart();
  });
  buttons.pause.addEventListener('click', (ev) => {
    ev.preventDefault();
    handlers.onPause();
  });
  buttons.reset.addEventListener('click', (ev) => {
    ev.preventDefault();
    handlers.onReset();
  });
  form.addEventListener('input', () => handlers.onInput());
  form.addEventListener('change', (ev) => {
    if (ev.target.type === 'checkbox') syncTiles();
    if (ev.target.name?.startsWith('preset-')) describePresets();
    handlers.onInput(ev.target.name);
  });

  let presetList = [];
  /** Select values asked for before their option existed (a preset from the URL). */
  const wanted = {};

  function describePresets() {
    for (const d of RUN_DEFS.filter((x) => x.presets)) {
      const value = byName(`preset-${d.id}`).value;
      const p = presetList.find((x) => x.name === value);
      root.querySelector(`#preset-${d.id}-hint`).textContent = p ? `${p.name}: ${p.description}` : '';
    }
  }

  function syncTiles() {
    for (const d of RUN_DEFS) {
      const on = byName(`on-${d.id}`).checked;
      root.querySelector(`.opt[data-run="${d.id}"]`).dataset.on = String(on);
    }
  }

  let mode = 'loading';

  return {
    /** The form state: strings for text fields and selects, booleans for checkboxes. */
    readRaw() {
      const raw = {};
      for (const el of elements()) raw[el.name] = el.type === 'checkbox' ? el.checked : el.value;
      return raw;
    },

    setRaw(raw) {
      for (const el of elements()) {
        if (!(el.name in raw)) continue;
        if (el.type === 'checkbox') el.checked = Boolean(raw[el.name]);
        else if (el.tagName === 'SELECT') {
          if ([...el.options].some((o) => o.value === raw[el.name])) el.value = raw[el.name];
          else wanted[el.name] = raw[el.name];
        } else el.value = raw[el.name];
      }
      syncTiles();
      describePresets();
    },

    /** RNGD's preset menu from the crate's list ([{name, description, settings}]). */
    setPresets(list) {
      presetList = list;
      for (const d of RUN_DEFS.filter((x) => x.presets)) {
        const select = byName(`preset-${d.id}`);
        const before = wanted[select.name] ?? select.value;
        select.replaceChildren(...list.map((p) => new Option(p.name, p.name)));
        if (list.some((p) => p.name === before)) select.value = before;
        delete wanted[select.name];
      }
      describePresets();
    },

    /** Show the optimizers' default learning rates as placeholders. */
    setDefaults(defaults) {
      for (const d of RUN_DEFS) {
        const v = defaults[d.id] ?? d.defaultLr;
        byName(`lr-${d.id}`).placeholder = `${v} (default)`;
        root.querySelector(`#lr-${d.id}-hint [data-role="default"]`).textContent = String(v);
      }
    },

    /** Show per-field messages; fields not in `errs` are cleared. */
    showFieldErrors(errs) {
      for (const key of TEXT_KEYS) {
        const msg = errs[key] || '';
        const el = root.querySelector(`[data-error-for="${key}"]`);
        el.textContent = msg;
        el.hidden = !msg;
        byName(key).setAttribute('aria-invalid', msg ? 'true' : 'false');
      }
      const runsMsg = root.querySelector('[data-error-for="runs"]');
      runsMsg.textContent = errs.runs || '';
      runsMsg.hidden = !errs.runs;
    },

    /**
     * @param {'loading'|'unavailable'|'idle'|'ready'|'running'|'paused'|'finished'} m
     */
    setMode(m) {
      mode = m;
      root.dataset.mode = m;
      const usable = m !== 'loading' && m !== 'unavailable';
      buttons.start.disabled = !usable || m === 'running';
      buttons.pause.disabled = m !== 'running';
      buttons.reset.disabled = !usable;
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
  };
}
