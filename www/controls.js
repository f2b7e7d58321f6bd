// The settings form and the start / pause / reset buttons. Knows the DOM of
// the controls panel, nothing about the worker: main.js passes callbacks.

import { FIELDS } from './state.js';

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
  const inputs = Object.fromEntries(FIELDS.map((f) => [f.key, $(`[name="${f.key}"]`)]));
  const errors = Object.fromEntries(FIELDS.map((f) => [f.key, $(`[data-error-for="${f.key}"]`)]));
  const hint = $('[data-role="hint"]');

  const form = $('form');
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
  for (const input of Object.values(inputs)) {
    input.addEventListener('input', () => handlers.onInput());
  }

  return {
    /** @returns {Record<string,string>} the raw text of every input */
    readRaw() {
      return Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
    },

    setRaw(raw) {
      for (const [k, el] of Object.entries(inputs)) if (k in raw) el.value = raw[k];
    },

    /** Show per-field messages; fields not in `errs` are cleared. */
    showFieldErrors(errs) {
      for (const f of FIELDS) {
        const msg = errs[f.key] || '';
        errors[f.key].textContent = msg;
        errors[f.key].hidden = !msg;
        inputs[f.key].setAttribute('aria-invalid', msg ? 'true' : 'false');
      }
    },

    /**
     * @param {'loading'|'unavailable'|'idle'|'ready'|'running'|'paused'|'finished'} mode
     */
    setMode(mode) {
      root.dataset.mode = mode;
      const usable = mode !== 'loading' && mode !== 'unavailable';
      buttons.start.disabled = !usable || mode === 'running';
      buttons.pause.disabled = mode !== 'running';
      buttons.reset.disabled = !usable;
      for (const el of Object.values(inputs)) el.disabled = mode === 'running' || mode === 'loading';
      buttons.start.textContent = mode === 'paused' ? 'Resume' : 'Start';
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
