// The geometry view: for one layer of one run, the eigenvalue spectrum of
// each neuron's metric with its condition number, and the selectors ν of the
// last minibatch. Plain canvas, no dependencies.
//
//   const view = createGeometryView(root, {onChange});
//   view.setRuns([{id, label, color}], preferredId)   // the run selector
//   view.setLayers(sizes)                             // [784, 80, 80, 80, 10]
//   view.selection()                                  // {run, layer}
//   view.show({run, layer, step, ms, data | error})   // a worker 'diagnostics' reply
//   view.clear(message)
//
// The panels that have one column per neuron (spectrum heat map, condition
// numbers, ν heat map, mean ν) share their horizontal layout, so a neuron is
// the same column in all of them; hovering one highlights it everywhere.
//
// Around them (geometry/*.js): "neurons at a glance" (κ, λmax and trace maps
// that open a neuron by click or keyboard), the chosen neuron's spectrum,
// eigenvectors and informative digits, and the input layer's shared metric
// with its eigenvectors as 28×28 images. Those ask the run directly through
// race.call; this view is fed the 'diagnostics' replies by main.js.

import { createOverview } from './geometry/overview.js';
import { createInputPanel, createNeuronPanel } from './geometry/detail.js';
import { digitTile } from './geometry/images.js';
import { hidpi } from './canvas.js';
import { onSchemeChange, theme } from './geometry/theme.js';

const MARGIN = { left: 58, right: 86, top: 8, bottom: 30 };
const HEIGHTS = { spectrum: 220, condition: 96, nu: 170, 'nu-mean': 84 };
/** Height of one sample's row in the ν map, so that its digit fits beside it. */
const NU_ROW = 14;
/** Width of the column of digits beside the ν map. */
const DIGITS_W = 34;
// Colours from the page's theme (light or dark), read again at every draw.
let TEXT = '#475569';
let FAINT = 'rgba(100, 116, 139, 0.18)';
let MUTED = '#94a3b8';
let FRAME = 'rgba(71, 85, 105, 0.5)';
let MARK = '#d55e00';
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
let NONPOS = '#e4e4e7'; // eigenvalues that are zero up to round-off
let SINGULAR = '#b91c1c';
let NONPOS_RGB = [228, 228, 231];
function readTheme() {
  const c = theme();
  ({ text: TEXT, grid: FAINT, faint: MUTED, frame: FRAME, mark: MARK, zero: NONPOS, singular: SINGULAR } = c);
  const probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = NONPOS;
  const hex = probe.fillStyle;
  NONPOS_RGB = hex.startsWith('#') ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) : [228, 228, 231];
  return c;
}
// The metrics are float32 matrices: an eigenvalue below ZERO_REL × λmax is
// zero up to round-off, and a condition number above 1 / ZERO_REL means the
// matrix is singular in all but name.
const ZERO_REL = 1e-6;
const isZero = (v, max) => !(v > ZERO_REL * max);
const singular = (kappa) => kappa == null || !Number.isFinite(kappa) || kappa > 1 / ZERO_REL;

// Perceptually uniform colour maps given by evenly spaced anchors and
// interpolated linearly: a viridis-like map for log eigenvalues and a
// single-hue blue map for ν in [0, max].
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

function lut(anchors) {
  const rgb = anchors.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (rgb.length - 1);
    const j = Math.min(rgb.length - 2, Math.floor(x));
    const f = x - j;
    for (let c = 0; c < 3; c++) table[3 * i + c] = rgb[j][c] + f * (rgb[j + 1][c] - rgb[j][c]);
  }
  return table;
}
const MAPS = { viridis: lut(VIRIDIS), blues: lut(BLUES) };
const cssOf = (map, t) => {
  const i = 3 * Math.round(255 * Math.min(1, Math.max(0, t)));
  return `rgb(${map[i]}, ${map[i + 1]}, ${map[i + 2]})`;
};

// ------------------------------------------------------------------ numbers
const SUP = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
const sup = (n) => String(n).replace(/[-0-9]/g, (c) => SUP[c]);

/** 0.000123 → "1.2 × 10⁻⁴", 45.6 → "45.6", null → "∞". */
export function fmtSci(v, digits = 2) {
  if (v == null || v === Infinity) return '∞';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -2 && e < 4) return String(+v.toPrecision(digits + 1));
  const m = v / 10 ** e;
  return `${+m.toFixed(digits - 1)} × 10${sup(e)}`;
}
const decade = (e) => (e === 0 ? '1' : e === 1 ? '10' : `10${sup(e)}`);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ------------------------------------------------------------------ canvas
/** `less`: CSS pixels left of the canvas taken by a neighbour (the ν map's
 *  digits), which come off its left margin so that the columns stay aligned
 *  with the full-width plots. */
function prepare(canvas, cssHeight, less = 0) {
  const w = Math.max(240, Math.floor(canvas.parentElement.clientWidth) - less);
  const h = cssHeight;
  const ctx = hidpi(canvas, w, h);
  ctx.font = FONT;
  ctx.fillStyle = TEXT;
  ctx.strokeStyle = TEXT;
  ctx.lineWidth = 1;
  const left = MARGIN.left - less;
  const plot = { x: left, y: MARGIN.top, w: w - left - MARGIN.right, h: h - MARGIN.top - MARGIN.bottom };
  return { ctx, w, h, plot };
}

function message(ctx, w, h, text) {
  ctx.save();
  ctx.fillStyle = MUTED;
  ctx.font = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, w / 2, h / 2, w - 20);
  ctx.restore();
}

/** Draw a rows × cols grid of colours (row-major RGB triples) into `plot`, crisp. */
function heat(ctx, plot, rows, cols, colourAt) {
  const img = new ImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = colourAt(r, c);
      const o = 4 * (r * cols + c);
      img.data[o] = R;
      img.data[o + 1] = G;
      img.data[o + 2] = B;
      img.data[o + 3] = 255;
    }
  }
  const off = document.createElement('canvas');
  off.width = cols;
  off.height = rows;
  off.getContext('2d').putImageData(img, 0, 0);
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, plot.x, plot.y, plot.w, plot.h);
  ctx.restore();
}

function frame(ctx, plot) {
  ctx.save();
  ctx.strokeStyle = FRAME;
  ctx.strokeRect(plot.x - 0.5, plot.y - 0.5, plot.w + 1, plot.h + 1);
  ctx.restore();
}

/** Left axis: `ticks` = [{v (0..1 from the bottom), label}], plus a rotated title. */
function yAxis(ctx, plot, ticks, title) {
  ctx.save();
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks) {
    const y = plot.y + plot.h * (1 - t.v);
    ctx.fillText(t.label, plot.x - 6, y);
    ctx.fillRect(plot.x - 3, Math.round(y) - 0.5, 3, 1);
  }
  ctx.translate(12, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(title, 0, 0);
  ctx.restore();
}

/** Neuron axis under a column plot: a few neuron numbers (in display order). */
function neuronAxis(ctx, plot, order, title = 'neuron') {
  const n = order.length;
  const cw = plot.w / n;
  ctx.save();
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plot.w / 34))));
  for (let i = 0; i < n; i += every) {
    const x = plot.x + (i + 0.5) * cw;
    ctx.fillRect(Math.round(x) - 0.5, plot.y + plot.h, 1, 3);
    ctx.fillText(String(order[i]), x, plot.y + plot.h + 4);
  }
  xTitle(ctx, plot, title);
  ctx.restore();
}

/** Axis title under the tick labels, at the right end of the plot. */
function xTitle(ctx, plot, title) {
  if (!title) return;
  ctx.save();
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  ctx.fillText(title, plot.x + plot.w, plot.y + plot.h + 17);
  ctx.restore();
}

/** Colour bar at the right of `plot`. `ticks` = [{v (0..1), label}]. */
function colourBar(ctx, plot, map, ticks, extra) {
  const x = plot.x + plot.w + 14;
  const bw = 12;
  const top = plot.y + (extra ? 16 : 0);
  const h = plot.h - (extra ? 16 : 0);
  for (let i = 0; i < h; i++) {
    ctx.fillStyle = cssOf(map, 1 - i / Math.max(1, h - 1));
    ctx.fillRect(x, top + i, bw, 1);
  }
  ctx.save();
  ctx.strokeStyle = FRAME;
  ctx.strokeRect(x - 0.5, top - 0.5, bw + 1, h + 1);
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'middle';
  for (const t of ticks) {
    const y = top + h * (1 - t.v);
    ctx.fillRect(x + bw, Math.round(y) - 0.5, 3, 1);
    ctx.fillText(t.label, x + bw + 5, y);
  }
  if (extra) {
    ctx.fillStyle = extra.color;
    ctx.fillRect(x, plot.y, bw, 10);
    ctx.fillStyle = TEXT;
    ctx.fillText(extra.label, x + bw + 5, plot.y + 5);
  }
  ctx.restore();
}

function highlight(ctx, plot, n, col, colour = MARK) {
  if (col == null || col < 0 || col >= n) return;
  const cw = plot.w / n;
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.strokeRect(plot.x + col * cw - 0.5, plot.y - 1.5, Math.max(2, cw) + 1, plot.h + 3);
  ctx.restore();
}

/** Integer decades in [lo, hi] with at most `max` ticks. */
function decadeTicks(lo, hi, max = 6) {
  const a = Math.ceil(lo - 1e-9);
  const b = Math.floor(hi + 1e-9);
  const step = Math.max(1, Math.ceil((b - a + 1) / max));
  const out = [];
  for (let e = a; e <= b; e += step) out.push(e);
  return out;
}

// ------------------------------------------------------------------ view
export function createGeometryView(root, { onChange, race }) {
  const $ = (sel) => root.querySelector(sel);
  const runSelect = $('[name="geo-run"]');
  const layerSelect = $('[name="geo-layer"]');
  const orderSelect = $('[name="geo-order"]');
  const canvases = {
    spectrum: $('canvas[data-plot="spectrum"]'),
    condition: $('canvas[data-plot="condition"]'),
    nu: $('canvas[data-plot="nu"]'),
    'nu-mean': $('canvas[data-plot="nu-mean"]'),
  };
  const digitsCanvas = $('canvas[data-plot="digits"]');
  const healthText = $('[data-role="health"]');
  const fallbacksText = $('[data-role="fallbacks"]');
  const meta = $('[data-role="geo-meta"]');
  const condText = $('[data-role="condition-text"]');
  const readout = $('[data-role="readout"]');
  const captions = {
    spectrum: $('[data-caption="spectrum"]'),
    nu: $('[data-caption="nu"]'),
  };

  let result = null; // the last worker reply with data
  let note = 'No geometry yet: press Start.';
  let hoverCol = null;
  let labels = new Map(); // run id -> label

  const overview = createOverview($('.geo-overview-panel'), { onOpen: (i) => openNeuron(i) });
  const neuronPanel = createNeuronPanel($('[data-role="neuron"]'), {
    race,
    onClose: () => {
      overview.select(null);
      draw();
    },
  });
  const inputPanel = createInputPanel($('[data-role="input"]'), { race });

  /** Opens neuron `index` of the layer on show, and keeps it updated with the view. */
  function openNeuron(index) {
    if (!result?.data) return;
    const n = result.data.nu_mean?.length ?? (result.data.shared ? 0 : result.data.spectra.length);
    if (!(index >= 0 && index < n)) return;
    neuronPanel.open({ run: result.run, label: labels.get(result.run) ?? result.run, layer: result.layer, index });
    overview.select(index);
    draw();
  }

  /** Display column of the open neuron, when it is in the layer on show. */
  function selectedCol(g) {
    const t = neuronPanel.target();
    if (!g || !t || t.run !== result?.run || t.layer !== result?.layer) return null;
    const c = g.order.indexOf(t.index);
    return c < 0 ? null : c;
  }

  for (const sel of [runSelect, layerSelect]) sel.addEventListener('change', () => onChange(view.selection()));
  orderSelect.addEventListener('change', draw);

  // ------------------------------------------------------------ derived
  function derived() {
    const d = result?.data;
    if (!d) return null;
    const perNeuron = !d.shared;
    const nNeurons = d.nu_mean?.length ?? (perNeuron ? d.spectra.length : 0);
    // Display order of the neurons, shared by every column plot.
    let order = Array.from({ length: nNeurons }, (_, i) => i);
    const by = orderSelect.value;
    // (singular metrics sort first under "condition number")
    if (by === 'nu' && d.nu_mean) order.sort((a, b) => d.nu_mean[b] - d.nu_mean[a] || a - b);
    if (by === 'condition' && perNeuron) {
      const k = (i) => (singular(d.spectra[i].condition) ? Infinity : d.spectra[i].condition);
      order.sort((a, b) => k(b) - k(a) || a - b);
    }
    return { d, perNeuron, nNeurons, order };
  }

  // ------------------------------------------------------------ panels
  function drawSpectrum(g) {
    const { ctx, w, h, plot } = prepare(canvases.spectrum, HEIGHTS.spectrum);
    if (!g) return message(ctx, w, h, note);
    const { d, perNeuron, order } = g;
    const all = d.spectra.flatMap((s) => s.eigenvalues);
    if (!all.every(Number.isFinite)) return message(ctx, w, h, 'The metric has non-finite entries: the run has diverged.');
    const top = Math.max(...all);
    if (!(top > 0)) return message(ctx, w, h, 'Every eigenvalue is ≤ 0.');
    const zero = (v) => isZero(v, top);
    const pos = all.filter((v) => !zero(v));
    let hi = Math.log10(top);
    let lo = Math.log10(Math.min(...pos));
    if (hi - lo < 1) {
      lo = Math.floor(lo);
      hi = Math.max(hi, lo + 1);
    }
    const t = (v) => (Math.log10(v) - lo) / (hi - lo);
    const anyNonPos = all.some(zero);
    const barTicks = decadeTicks(lo, hi).map((e) => ({ v: (e - lo) / (hi - lo), label: decade(e) }));
    if (barTicks.length < 3) {
      // Less than a few decades: label the ends too.
      for (const [v, x] of [[0, lo], [1, hi]]) {
        if (barTicks.every((t) => Math.abs(t.v - v) > 0.15)) barTicks.push({ v, label: fmtSci(10 ** x, 1) });
      }
    }
    const extra = anyNonPos ? { color: NONPOS, label: '≈ 0' } : null;

    if (perNeuron) {
      const k = d.spectra[0].eigenvalues.length;
      heat(ctx, plot, k, order.length, (r, c) => {
        const v = d.spectra[order[c]].eigenvalues[r];
        if (zero(v)) return NONPOS_RGB;
        const i = 3 * Math.round(255 * Math.min(1, Math.max(0, t(v))));
        return [MAPS.viridis[i], MAPS.viridis[i + 1], MAPS.viridis[i + 2]];
      });
      frame(ctx, plot);
      const rowTicks = [1, Math.round(k / 4), Math.round(k / 2), Math.round((3 * k) / 4), k].map((r) => ({
        v: 1 - (r - 0.5) / k,
        label: `#${r}`,
      }));
      yAxis(ctx, plot, rowTicks, 'eigenvalue (largest on top)');
      neuronAxis(ctx, plot, order);
      highlight(ctx, plot, order.length, selectedCol(g), TEXT);
      highlight(ctx, plot, order.length, hoverCol);
    } else {
      // One shared metric: its spectrum as a curve, eigenvalue index across.
      const ev = d.spectra[0].eigenvalues;
      const k = ev.length;
      ctx.save();
      for (const e of decadeTicks(lo, hi, 5)) {
        const y = plot.y + plot.h * (1 - (e - lo) / (hi - lo));
        ctx.fillStyle = FAINT;
        ctx.fillRect(plot.x, Math.round(y) - 0.5, plot.w, 1);
      }
      // Fill under the curve with the colour map, then the curve itself.
      const bw = plot.w / k;
      for (let i = 0; i < k; i++) {
        const v = ev[i];
        const x = plot.x + i * bw;
        if (zero(v)) {
          ctx.fillStyle = NONPOS;
          ctx.fillRect(x, plot.y + plot.h - 4, Math.max(1, bw), 4);
          continue;
        }
        const y = plot.y + plot.h * (1 - Math.max(0, t(v)));
        ctx.fillStyle = cssOf(MAPS.viridis, t(v));
        ctx.fillRect(x, y, Math.max(1, bw + 0.5), plot.y + plot.h - y);
      }
      ctx.restore();
      frame(ctx, plot);
      yAxis(
        ctx,
        plot,
        decadeTicks(lo, hi, 5).map((e) => ({ v: (e - lo) / (hi - lo), label: decade(e) })),
        'eigenvalue',
      );
      ctx.save();
      ctx.fillStyle = TEXT;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      for (const i of [1, Math.round(k / 4), Math.round(k / 2), Math.round((3 * k) / 4), k]) {
        ctx.fillText(`#${i}`, plot.x + (i - 0.5) * bw, plot.y + plot.h + 4);
      }
      ctx.restore();
      xTitle(ctx, plot, 'eigenvalue index (largest first)');
    }
    colourBar(ctx, plot, MAPS.viridis, barTicks, extra);
  }

  function drawCondition(g) {
    const panel = canvases.condition.closest('.geo-panel');
    panel.hidden = Boolean(g && !g.perNeuron);
    if (panel.hidden) return;
    const { ctx, w, h, plot } = prepare(canvases.condition, HEIGHTS.condition);
    if (!g) return message(ctx, w, h, '');
    const { d, order } = g;
    const conds = order.map((i) => d.spectra[i].condition);
    const finite = conds.filter((c) => !singular(c) && c > 0);
    const hi = Math.max(1, Math.ceil(Math.log10(Math.max(10, ...finite))));
    const cw = plot.w / order.length;
    for (const e of decadeTicks(0, hi, 4)) {
      const y = plot.y + plot.h * (1 - e / hi);
      ctx.fillStyle = FAINT;
      ctx.fillRect(plot.x, Math.round(y) - 0.5, plot.w, 1);
    }
    conds.forEach((c, i) => {
      const x = plot.x + i * cw + (cw > 4 ? 0.5 : 0);
      const bw = Math.max(1, cw - (cw > 4 ? 1 : 0));
      if (singular(c)) {
        ctx.fillStyle = SINGULAR;
        ctx.globalAlpha = 0.35;
        ctx.fillRect(x, plot.y, bw, plot.h);
        ctx.globalAlpha = 1;
        return;
      }
      const v = Math.max(0, Math.log10(Math.max(1, c))) / hi;
      ctx.fillStyle = cssOf(MAPS.viridis, 0.15 + 0.7 * v);
      ctx.fillRect(x, plot.y + plot.h * (1 - v), bw, plot.h * v);
    });
    frame(ctx, plot);
    yAxis(
      ctx,
      plot,
      decadeTicks(0, hi, 4).map((e) => ({ v: e / hi, label: decade(e) })),
      'κ (log)',
    );
    neuronAxis(ctx, plot, order);
    if (conds.some(singular)) {
      ctx.save();
      ctx.fillStyle = SINGULAR;
      ctx.globalAlpha = 0.35;
      ctx.fillRect(plot.x + plot.w + 14, plot.y, 12, 10);
      ctx.globalAlpha = 1;
      ctx.fillStyle = TEXT;
      ctx.textBaseline = 'middle';
      ctx.fillText('∞', plot.x + plot.w + 31, plot.y + 5);
      ctx.restore();
    }
    highlight(ctx, plot, order.length, selectedCol(g), TEXT);
    highlight(ctx, plot, order.length, hoverCol);
  }

  function nuScale(d) {
    let max = 0;
    for (const row of d.nu) for (const v of row) if (v > max) max = v;
    // ν ≤ 1 for (P)ReLU, ELU(1) and tanh; sigmoid's is at most 1/4.
    return max <= 0.25 + 1e-6 ? 0.25 : Math.max(1, max);
  }

  /** The batch's digits beside the ν map's rows, at the same heights. */
  function drawDigits(d, height, plotY, rowH) {
    const ctx = hidpi(digitsCanvas, DIGITS_W, height);
    const rows = d?.nu?.length ?? 0;
    if (!rows || !d.batch_images?.length) return;
    const size = Math.max(4, Math.min(28, rowH - 1));
    const colors = theme();
    ctx.imageSmoothingEnabled = true;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    for (let r = 0; r < rows; r++) {
      const y = plotY + r * rowH + (rowH - size) / 2;
      ctx.drawImage(digitTile(d.batch_images, r, colors), 2, y, size, size);
      if (rowH >= 10) {
        ctx.fillStyle = MUTED;
        ctx.fillText(String(d.batch_labels[r]), size + 6, y + size / 2);
      }
    }
  }

  function drawNu(g) {
    const rows = g?.d?.nu?.length ?? 0;
    const height = Math.max(HEIGHTS.nu, rows * NU_ROW + MARGIN.top + MARGIN.bottom);
    const { ctx, w, h, plot } = prepare(canvases.nu, height, DIGITS_W);
    drawDigits(g?.d, height, plot.y, rows ? plot.h / rows : 0);
    if (!g) return message(ctx, w, h, note === '' ? '' : 'ν appears after the first training step.');
    const { d, order } = g;
    if (!d.nu) {
      return message(
        ctx,
        w,
        h,
        d.layer === (layerSelect.options.length || 4) - 1
          ? 'The softmax layer has no per-neuron selector ν: its RFIM couples the 10 outputs.'
          : 'ν appears after the first training step.',
      );
    }
    const top = nuScale(d);
    heat(ctx, plot, rows, order.length, (r, c) => {
      const i = 3 * Math.round(255 * Math.min(1, Math.max(0, d.nu[r][order[c]] / top)));
      return [MAPS.blues[i], MAPS.blues[i + 1], MAPS.blues[i + 2]];
    });
    frame(ctx, plot);
    // The rows are labelled by their digits, drawn just left of this canvas.
    yAxis(ctx, plot, [], 'sample');
    neuronAxis(ctx, plot, order);
    colourBar(ctx, plot, MAPS.blues, [0, 0.5, 1].map((v) => ({ v, label: String(+(v * top).toFixed(3)) })));
    highlight(ctx, plot, order.length, selectedCol(g), TEXT);
    highlight(ctx, plot, order.length, hoverCol);
  }

  function drawNuMean(g) {
    const { ctx, w, h, plot } = prepare(canvases['nu-mean'], HEIGHTS['nu-mean']);
    if (!g || !g.d.nu_mean) return message(ctx, w, h, '');
    const { d, order } = g;
    const top = nuScale(d);
    const cw = plot.w / order.length;
    for (const v of [0.5, 1]) {
      ctx.fillStyle = FAINT;
      ctx.fillRect(plot.x, Math.round(plot.y + plot.h * (1 - v)) - 0.5, plot.w, 1);
    }
    order.forEach((n, i) => {
      const v = Math.min(1, Math.max(0, d.nu_mean[n] / top));
      ctx.fillStyle = cssOf(MAPS.blues, 0.25 + 0.75 * v);
      const x = plot.x + i * cw + (cw > 4 ? 0.5 : 0);
      ctx.fillRect(x, plot.y + plot.h * (1 - v), Math.max(1, cw - (cw > 4 ? 1 : 0)), plot.h * v);
    });
    frame(ctx, plot);
    yAxis(ctx, plot, [0, 0.5, 1].map((v) => ({ v, label: String(+(v * top).toFixed(3)) })), 'mean ν');
    // Dead neurons: a mark in the warning colour along the floor; saturated ones: a mark along the top.
    const health = d.selectors;
    if (health) {
      const at = new Map(order.map((n, i) => [n, i]));
      // A saturated rectifier has ν ≈ peak everywhere (marked on top); a saturated sigmoid or tanh ν ≈ 0 (on the floor).
      const rectifier = /dead/.test(health.rule);
      for (const [list, colour, y] of [
        [health.dead, SINGULAR, plot.y + plot.h - 4],
        [health.saturated, MARK, rectifier ? plot.y : plot.y + plot.h - 4],
      ]) {
        ctx.fillStyle = colour;
        for (const n of list) ctx.fillRect(plot.x + at.get(n) * cw, y, Math.max(2, cw), 4);
      }
    }
    neuronAxis(ctx, plot, order);
    highlight(ctx, plot, order.length, selectedCol(g), TEXT);
    highlight(ctx, plot, order.length, hoverCol);
  }

  function healthSummary(g) {
    const h = g?.d?.selectors;
    healthText.hidden = !h;
    if (!h) {
      delete healthText.dataset.dead;
      delete healthText.dataset.saturated;
      return;
    }
    const n = g.d.nu_mean.length;
    const list = (xs) => (xs.length ? `${xs.length} of ${n} (neuron${xs.length > 1 ? 's' : ''} ${xs.slice(0, 12).join(', ')}${xs.length > 12 ? ', …' : ''})` : 'none');
    const rectifier = /dead/.test(h.rule);
    healthText.textContent =
      (rectifier ? `Dead (marked along the floor of the mean-ν plot): ${list(h.dead)}. ` : '') +
      `Saturated (marked along its ${rectifier ? 'top' : 'floor'}): ${list(h.saturated)}. ` +
      `By ν on this batch — ${h.rule}.`;
    healthText.dataset.dead = JSON.stringify(h.dead);
    healthText.dataset.saturated = JSON.stringify(h.saturated);
  }

  function fallbackSummary() {
    const d = result?.data;
    if (!d) {
      fallbacksText.textContent = 'Inverse fallbacks: none yet.';
      fallbacksText.dataset.count = '0';
      return;
    }
    fallbacksText.dataset.count = String(d.inverse_fallbacks);
    fallbacksText.textContent =
      d.source === 'rngd'
        ? `Inverse fallbacks in this layer: ${d.inverse_fallbacks}` +
          (d.inverse_fallbacks > 0
            ? ' — inversions that failed and kept the previous inverse.'
            : ' (every inversion of its metric has succeeded).')
        : `Inverse fallbacks: ${d.inverse_fallbacks} — ${labels.get(result.run) ?? result.run} tracks the metric read-only and never inverts it.`;
  }

  // ------------------------------------------------------------ text
  function conditionSummary(g) {
    if (!g) return '';
    const { d, perNeuron } = g;
    if (!d.spectra.every((s) => s.eigenvalues.every(Number.isFinite))) {
      return 'No condition numbers: the metric has non-finite entries.';
    }
    if (!perNeuron) {
      const s = d.spectra[0];
      const dim = s.eigenvalues.length;
      if (singular(s.condition)) {
        const rank = s.eigenvalues.filter((v) => !isZero(v, s.max)).length;
        return (
          `Condition number of the shared ${dim} × ${dim} metric: ∞ — it is singular, rank ${rank} ` +
          `(λmax ${fmtSci(s.max)}, λmin ${fmtSci(s.min)}, zero up to round-off)` +
          '.'
        );
      }
      return (
        `Condition number of the shared ${dim} × ${dim} metric: κ = ${fmtSci(s.condition)} ` +
        `(λmax ${fmtSci(s.max)}, λmin ${fmtSci(s.min)}).`
      );
    }
    const conds = d.spectra.map((s) => (singular(s.condition) ? Infinity : s.condition));
    const finite = conds.map((c, i) => [c, i]).filter(([c]) => Number.isFinite(c));
    const nSingular = conds.length - finite.length;
    const dim = d.spectra[0].eigenvalues.length;
    let text = `Condition numbers of the ${conds.length} neuron metrics (${dim} × ${dim} each): `;
    if (finite.length) {
      const [cmax, imax] = finite.reduce((a, b) => (b[0] > a[0] ? b : a));
      const [cmin, imin] = finite.reduce((a, b) => (b[0] < a[0] ? b : a));
      text +=
        `median κ = ${fmtSci(median(conds))}, largest ${nSingular ? 'finite ' : ''}${fmtSci(cmax)} (neuron ${imax}), ` +
        `smallest ${fmtSci(cmin)} (neuron ${imin}).`;
    }
    if (nSingular) {
      text +=
        (nSingular === conds.length ? 'all are' : ` ${nSingular} of ${conds.length} are`) +
        ' singular (κ = ∞ up to round-off).';
    }
    return text;
  }

  function describe(g) {
    if (!result) return note;
    const run = labels.get(result.run) ?? result.run;
    const d = result.data;
    if (!d) return `${run}, layer ${result.layer}: ${result.error}`;
    const src =
      d.source === 'rngd'
        ? `the metric ${run} has learnt (moving average of the RFIM)`
        : `the metric RNGD would learn, tracked read-only beside ${run} (the same moving average of the RFIM, never used to step)`;
    const parts = [`${run} · layer ${d.layer} · step ${Number(result.step).toLocaleString('en-US')}: ${src}.`];
    if (result.failed) parts.push(`The run has stopped; this is its last state.`);
    if (result.ms != null) parts.push(`Computed in ${Math.round(result.ms)} ms.`);
    return parts.join(' ');
  }

  function captionsFor(g) {
    if (!g) return;
    const { d, perNeuron } = g;
    const k = d.spectra[0].eigenvalues.length;
    captions.spectrum.textContent = perNeuron
      ? `One column per neuron: the ${k} eigenvalues of its ${k} × ${k} metric (its ${k - 1} inputs and the bias), colour on a log scale.`
      : `The layer's neurons share one ${k} × ${k} metric; its ${k} eigenvalues, largest first, log scale.`;
    captions.nu.textContent = d.nu
      ? `One row per sample of the last minibatch, one column per neuron (same order as above).`
      : `ν is defined for the hidden layers' neurons.`;
  }

  // ------------------------------------------------------------ drawing
  function draw() {
    readTheme();
    const g = derived();
    drawSpectrum(g);
    drawCondition(g);
    drawNu(g);
    drawNuMean(g);
    meta.textContent = describe(g);
    condText.textContent = conditionSummary(g);
    condText.hidden = !condText.textContent;
    captionsFor(g);
    healthSummary(g);
    fallbackSummary();
    root.dataset.drawn = g ? 'true' : 'false';
    if (g) {
      root.dataset.run = result.run;
      root.dataset.layer = String(result.layer);
      root.dataset.step = String(result.step);
      root.dataset.source = g.d.source;
    }
    updateReadout(g);
  }

  function updateReadout(g) {
    if (!g || hoverCol == null || !g.order.length) {
      readout.textContent = g?.order.length
        ? 'Point at a column to read one neuron’s numbers.'
        : '';
      return;
    }
    const n = g.order[hoverCol];
    if (n == null) return;
    const { d, perNeuron } = g;
    const parts = [`Neuron ${n}`];
    if (perNeuron) {
      const s = d.spectra[n];
      parts.push(`κ = ${singular(s.condition) ? '∞' : fmtSci(s.condition)}`, `λmax = ${fmtSci(s.max)}`, `λmin = ${fmtSci(s.min)}`, `trace = ${fmtSci(s.trace)}`);
    }
    if (d.nu_mean) {
      const active = d.nu ? d.nu.filter((row) => row[n] > 0.5).length : null;
      parts.push(`mean ν = ${d.nu_mean[n].toFixed(3)}`);
      if (active != null) parts.push(`ν > ½ on ${active} of ${d.nu.length} samples`);
    }
    readout.textContent = parts.join(' · ');
  }

  function onMove(ev) {
    const g = derived();
    if (!g || !g.order.length) return;
    const canvas = ev.currentTarget;
    if (canvas === canvases.spectrum && !g.perNeuron) return;
    const rect = canvas.getBoundingClientRect();
    const left = canvas === canvases.nu ? MARGIN.left - DIGITS_W : MARGIN.left;
    const x = ev.clientX - rect.left - left;
    const plotW = rect.width - left - MARGIN.right;
    const col = x >= 0 && x < plotW ? Math.floor((x / plotW) * g.order.length) : null;
    if (col !== hoverCol) {
      hoverCol = col;
      draw();
    }
  }
  for (const c of Object.values(canvases)) {
    c.addEventListener('click', (ev) => {
      onMove(ev);
      const g = derived();
      if (g && hoverCol != null && g.order[hoverCol] != null) openNeuron(g.order[hoverCol]);
    });
    c.addEventListener('mousemove', onMove);
    c.addEventListener('mouseleave', () => {
      if (hoverCol != null) {
        hoverCol = null;
        draw();
      }
    });
  }

  onSchemeChange(() => {
    draw();
    overview.redraw();
    neuronPanel.redraw();
    inputPanel.redraw();
  });

  const observer = new ResizeObserver(() => draw());
  observer.observe(root.querySelector('.geo-plots'));

  const view = {
    setRuns(list, preferred) {
      const current = runSelect.value;
      labels = new Map(list.map((r) => [r.id, r.label]));
      runSelect.replaceChildren(...list.map((r) => new Option(r.label, r.id)));
      const pick = list.find((r) => r.id === current) ?? list.find((r) => r.id === preferred) ?? list[0];
      if (pick) runSelect.value = pick.id;
      runSelect.disabled = list.length < 2;
    },

    setLayers(sizes) {
      const n = sizes.length - 1;
      const current = layerSelect.value;
      const options = [];
      for (let l = 0; l < n; l++) {
        const io = `${sizes[l]}→${sizes[l + 1]}`;
        const dim = `${sizes[l] + 1}×${sizes[l] + 1}`;
        let text;
        if (l === 0) text = `Layer 0 · input ${io} · shared ${dim} (slower)`;
        else if (l === n - 1) text = `Layer ${l} · softmax ${io} · shared ${dim}`;
        else text = `Layer ${l} · hidden ${io} · ${dim} each`;
        options.push(new Option(text, String(l)));
      }
      layerSelect.replaceChildren(...options);
      layerSelect.value = current !== '' && Number(current) < n ? current : String(Math.min(1, n - 1));
    },

    selection() {
      return { run: runSelect.value, layer: Number(layerSelect.value) };
    },

    show(reply) {
      if (reply.data) {
        result = reply;
        overview.update(reply.data);
        // The open neuron follows training; it closes when the run or layer changes.
        const t = neuronPanel.target();
        if (t && (t.run !== reply.run || t.layer !== reply.layer)) {
          neuronPanel.close();
          overview.select(null);
        } else {
          neuronPanel.refresh();
        }
        inputPanel.refresh({ run: reply.run, label: labels.get(reply.run) ?? reply.run, layer: reply.layer });
      } else {
        // Keep showing the last good picture of the same selection, with the reason.
        const same = result && result.run === reply.run && result.layer === reply.layer;
        note = reply.error?.startsWith('no step has run yet')
          ? 'No minibatch yet: the view appears after the first steps.'
          : `Not available: ${reply.error}`;
        if (!same) result = null;
        else result = { ...result, failed: true };
        if (!same) meta.textContent = note;
      }
      draw();
      if (!reply.data && !result) meta.textContent = note;
    },

    clear(text = 'No geometry yet: press Start.') {
      result = null;
      note = text;
      hoverCol = null;
      overview.update(null);
      neuronPanel.close();
      draw();
    },

    redraw: draw,
  };
  draw();
  return view;
}
