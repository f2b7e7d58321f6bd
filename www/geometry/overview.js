// "Neurons at a glance": three maps of one layer's neurons — condition number,
// largest eigenvalue and trace of each neuron's metric, on log colour scales —
// with the neurons in the same grid cell in each map. A neuron opens by a
// click on any map, or from the keyboard: the maps are one focusable group in
// which the arrow keys move a cursor (Home/End jump) and Enter or Space opens
// the neuron under it. The cursor's numbers are read out in a live region.
//
//   const ov = createOverview(figure, {onOpen(index)});
//   ov.update(diagnostics, {run, layer})   // a layer's diagnostics (worker reply data)
//   ov.select(index | null)                // mark the neuron whose panel is open

import { theme } from './theme.js';
import { hidpi } from '../canvas.js';

const MAPS = ['condition', 'max', 'trace'];
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
const RGB = VIRIDIS.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (RGB.length - 1);
  const j = Math.min(RGB.length - 2, Math.floor(x));
  const f = x - j;
  return `rgb(${[0, 1, 2].map((c) => Math.round(RGB[j][c] + f * (RGB[j + 1][c] - RGB[j][c]))).join(', ')})`;
}

/** Columns of the grid for `n` neurons: about twice as wide as tall. */
const columnsFor = (n) => Math.max(1, Math.min(n, Math.ceil(Math.sqrt(2 * n))));

export function fmt(v) {
  if (v == null || !Number.isFinite(v)) return '∞';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e4) ? v.toExponential(2) : String(+v.toPrecision(3));
}

/** Per-neuron values of one layer: κ (null when singular), λmax, trace, mean ν. */
export function neuronValues(d) {
  const n = d.shared ? (d.nu_mean?.length ?? 0) : d.spectra.length;
  const at = (i) => (d.shared ? d.spectra[0] : d.spectra[i]);
  return Array.from({ length: n }, (_, i) => {
    const s = at(i);
    return { condition: s.condition, max: s.max, trace: s.trace, nu: d.nu_mean?.[i] ?? null };
  });
}

export function createOverview(figure, { onOpen }) {
  const group = figure.querySelector('[data-role="overview"]');
  const cursorText = figure.querySelector('[data-role="cursor"]');
  const canvases = Object.fromEntries(MAPS.map((m) => [m, group.querySelector(`canvas[data-map="${m}"]`)]));
  let values = [];
  let shared = false;
  let cursor = 0;
  let selected = null;
  let focused = false;

  function cols() {
    return columnsFor(values.length);
  }

  function draw() {
    const colors = theme();
    const n = values.length;
    const c = cols();
    const rows = Math.max(1, Math.ceil(n / c));
    for (const m of MAPS) {
      const canvas = canvases[m];
      const w = Math.max(90, Math.floor(canvas.parentElement.clientWidth));
      const cell = Math.max(6, Math.floor(w / c));
      const h = cell * rows;
      const ctx = hidpi(canvas, c * cell, h);
      if (!n) continue;
      const logs = values.map((v) => (v[m] != null && v[m] > 0 && Number.isFinite(v[m]) ? Math.log10(v[m]) : null));
      const finite = logs.filter((x) => x != null);
      const lo = Math.min(...finite);
      const hi = Math.max(...finite);
      for (let i = 0; i < n; i++) {
        const x = (i % c) * cell;
        const y = Math.floor(i / c) * cell;
        // κ = ∞ (singular) gets the warning colour; values on a log scale, min to max of the layer.
        ctx.fillStyle = logs[i] == null ? colors.singular : viridis(hi > lo ? (logs[i] - lo) / (hi - lo) : 0.5);
        ctx.fillRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      }
      for (const [i, style, width] of [
        [selected, colors.mark, 2.5],
        [focused ? cursor : null, colors.ink ?? colors.text, 1.5],
      ]) {
        if (i == null || i >= n) continue;
        ctx.strokeStyle = style;
        ctx.lineWidth = width;
        ctx.strokeRect((i % c) * cell + 1, Math.floor(i / c) * cell + 1, cell - 2, cell - 2);
      }
    }
    group.dataset.neurons = String(n);
    group.dataset.cursor = String(cursor);
    group.dataset.selected = selected == null ? '' : String(selected);
    // The numbers the maps show, for tests and for anyone reading the DOM.
    group.dataset.max = JSON.stringify(values.map((v) => v.max));
    group.dataset.trace = JSON.stringify(values.map((v) => v.trace));
    group.dataset.condition = JSON.stringify(values.map((v) => v.condition));
    describeCursor();
  }

  function describeCursor() {
    const v = values[cursor];
    if (!v) {
      cursorText.textContent = '';
      return;
    }
    const parts = [`Neuron ${cursor}`, `κ = ${fmt(v.condition)}`, `λmax = ${fmt(v.max)}`, `trace = ${fmt(v.trace)}`];
    if (v.nu != null) parts.push(`mean ν = ${v.nu.toFixed(3)}`);
    if (shared) parts.push('(the layer shares one metric)');
    cursorText.textContent = parts.join(' · ') + (focused ? ' — Enter opens it.' : '');
  }

  function move(to) {
    if (!values.length) return;
    cursor = Math.min(values.length - 1, Math.max(0, to));
    draw();
  }

  group.addEventListener('keydown', (ev) => {
    const c = cols();
    const keys = {
      ArrowLeft: cursor - 1,
      ArrowRight: cursor + 1,
      ArrowUp: cursor - c,
      ArrowDown: cursor + c,
      Home: 0,
      End: values.length - 1,
    };
    if (ev.key in keys) {
      ev.preventDefault();
      move(keys[ev.key]);
    } else if ((ev.key === 'Enter' || ev.key === ' ') && values.length) {
      ev.preventDefault();
      onOpen(cursor);
    }
  });
  group.addEventListener('focus', () => {
    focused = true;
    draw();
  });
  group.addEventListener('blur', () => {
    focused = false;
    draw();
  });
  for (const canvas of Object.values(canvases)) {
    canvas.addEventListener('click', (ev) => {
      const rect = canvas.getBoundingClientRect();
      const c = cols();
      const cell = rect.width / c;
      const i = Math.floor((ev.clientY - rect.top) / cell) * c + Math.floor((ev.clientX - rect.left) / cell);
      if (i >= 0 && i < values.length) {
        cursor = i;
        onOpen(i);
      }
    });
  }
  new ResizeObserver(() => draw()).observe(group);

  return {
    update(d) {
      if (!d) {
        values = [];
      } else {
        values = neuronValues(d);
        shared = d.shared;
      }
      if (cursor >= values.length) cursor = 0;
      figure.hidden = false;
      draw();
    },
    select(i) {
      selected = i;
      if (i != null) cursor = i;
      draw();
    },
    redraw: draw,
  };
}
