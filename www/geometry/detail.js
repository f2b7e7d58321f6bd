// One neuron up close, and the input layer's shared metric. Both ask the run
// for themselves through race.call (the worker computes the eigenvectors, with
// faer, on the run's own thread) and are refreshed by the geometry view each
// time it has new diagnostics, so they follow training live.
//
//   const panel = createNeuronPanel(section, {race, onClose});
//   panel.open({run, label, layer, index})   panel.refresh()   panel.close()
//   const input = createInputPanel(section, {race});
//   input.refresh({run, label, layer})

import { theme } from './theme.js';
import { hidpi } from '../canvas.js';
import { digitTile, scaled, vectorBars, vectorTile, PIXELS } from './images.js';
import { fmt } from './overview.js';

/** Eigenvectors shown per neuron, and for the input metric. */
const NEURON_VECTORS = 4;
const INPUT_VECTORS = 8;
/** Informative digits shown for a neuron. */
const INFORMATIVE = 12;

/** A log-scale plot of `eigenvalues` (largest first) on `canvas`. */
export function drawSpectrum(canvas, eigenvalues, height = 150) {
  const colors = theme();
  const w = Math.max(220, Math.floor(canvas.parentElement.clientWidth));
  const ctx = hidpi(canvas, w, height);
  ctx.font = '11px system-ui, sans-serif';
  const plot = { x: 52, y: 8, w: w - 76, h: height - 34 };
  const top = Math.max(...eigenvalues);
  // Eigenvalues at or below 1e-6 of the largest are round-off in an f32 metric: drawn on the floor.
  const floor = top * 1e-6;
  const pos = eigenvalues.filter((v) => v > floor);
  let hi = Math.log10(top);
  let lo = Math.log10(Math.min(...pos));
  if (!(hi - lo >= 1)) {
    lo = Math.floor(lo);
    hi = Math.max(hi, lo + 1);
  }
  const y = (v) => plot.y + plot.h * (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo));
  ctx.fillStyle = colors.grid;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const step = Math.max(1, Math.ceil((Math.floor(hi) - Math.ceil(lo) + 1) / 5));
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e += step) {
    const yy = y(10 ** e);
    ctx.fillStyle = colors.grid;
    ctx.fillRect(plot.x, Math.round(yy) - 0.5, plot.w, 1);
    ctx.fillStyle = colors.text;
    ctx.fillText(`1e${e}`, plot.x - 6, yy);
  }
  const n = eigenvalues.length;
  const dx = plot.w / Math.max(1, n);
  ctx.fillStyle = colors.negative;
  eigenvalues.forEach((v, i) => {
    const x = plot.x + (i + 0.5) * dx;
    ctx.fillStyle = v > floor ? colors.negative : colors.singular;
    ctx.fillRect(x - Math.max(1, Math.min(2, dx / 2)), y(v) - 1.5, Math.max(2, Math.min(4, dx)), 3);
  });
  ctx.strokeStyle = colors.frame;
  ctx.strokeRect(plot.x - 0.5, plot.y - 0.5, plot.w + 1, plot.h + 1);
  ctx.fillStyle = colors.text;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const i of [1, Math.round(n / 2), n]) ctx.fillText(`#${i}`, plot.x + (i - 0.5) * dx, plot.y + plot.h + 4);
  ctx.textAlign = 'right';
  ctx.fillText('eigenvalue index, largest first (log scale)', plot.x + plot.w, plot.y + plot.h + 16);
}

/** Eigenvector pictures: 28×28 images when the layer's input is the pixels, else bar plots. */
function vectorFigures(container, vectors, eigenvalues, pixels) {
  const colors = theme();
  container.replaceChildren(
    ...vectors.map((v, j) => {
      const fig = document.createElement('figure');
      const label = `eigenvector ${j + 1}, eigenvalue ${fmt(eigenvalues[j])}`;
      fig.append(
        pixels
          ? scaled(vectorTile(v, colors), 84, `${label}, as a 28 by 28 image (bias ${fmt(v[PIXELS])})`)
          : vectorBars(v, 160, 60, `${label}, as bars over the ${v.length - 1} inputs and the bias`, colors),
      );
      const cap = document.createElement('figcaption');
      cap.textContent = `#${j + 1} · λ = ${fmt(eigenvalues[j])}` + (pixels ? ` · bias ${fmt(v[PIXELS])}` : '');
      fig.append(cap);
      return fig;
    }),
  );
}

/** Runs `fetch` one at a time; a call while one is in flight runs once more after it. */
function serial(fetch) {
  let busy = false;
  let again = false;
  return async function run() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await fetch();
    } finally {
      busy = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
}

export function createNeuronPanel(section, { race, onClose }) {
  const $ = (sel) => section.querySelector(sel);
  const title = $('[data-role="neuron-title"]');
  const meta = $('[data-role="neuron-meta"]');
  const spectrum = $('canvas[data-plot="neuron-spectrum"]');
  const vectors = $('[data-role="neuron-vectors"]');
  const vectorsCaption = $('[data-role="vectors-caption"]');
  const informative = $('[data-role="informative"]');
  const informativeCaption = $('[data-role="informative-caption"]');
  let target = null; // {run, label, layer, index}
  let last = null;

  $('[data-action="neuron-close"]').addEventListener('click', () => {
    panel.close();
    onClose?.();
  });

  function render(n) {
    last = n;
    const t = target;
    const s = n.spectrum;
    title.textContent = `${t.label} · layer ${n.layer} · neuron ${n.index}`;
    meta.textContent =
      `${n.shared ? `Its layer's shared ${s.eigenvalues.length} × ${s.eigenvalues.length} metric` : `Its own ${s.eigenvalues.length} × ${s.eigenvalues.length} metric`}` +
      ` (${n.source === 'rngd' ? 'learnt by RNGD' : 'tracked read-only, as RNGD would learn it'}): ` +
      `λmax = ${fmt(s.max)}, λmin = ${fmt(s.min)}, κ = ${fmt(s.condition)}, trace = ${fmt(s.trace)}, rank ${s.rank}.`;
    drawSpectrum(spectrum, n.eigenvalues);
    const pixels = n.layer === 0;
    vectorsCaption.textContent = pixels
      ? 'The directions of largest curvature over the 784 pixels (orange positive, blue negative).'
      : `The directions of largest curvature over the ${n.vectors[0]?.length - 1} inputs; the last bar is the bias.`;
    vectorFigures(vectors, n.vectors, n.eigenvalues, pixels);
    if (!n.nu) {
      informativeCaption.textContent =
        n.layer > 0 ? 'The softmax layer has no per-neuron selector ν.' : 'ν appears after the first step.';
      informative.replaceChildren();
    } else {
      informativeCaption.textContent =
        `The ${Math.min(INFORMATIVE, n.informative.length)} samples of the last minibatch with the largest ν for this neuron: ` +
        `the ones its metric counts most.`;
      const colors = theme();
      informative.replaceChildren(
        ...n.informative.slice(0, INFORMATIVE).map((row) => {
          const fig = document.createElement('figure');
          const label = `sample ${row + 1}, digit ${n.batch_labels[row]}, ν = ${n.nu[row].toFixed(3)}`;
          fig.append(scaled(digitTile(n.batch_images, row, colors), 42, label));
          const cap = document.createElement('figcaption');
          cap.textContent = `ν ${n.nu[row].toFixed(2)}`;
          fig.append(cap);
          fig.dataset.row = String(row);
          return fig;
        }),
      );
    }
    // The numbers shown, for tests.
    section.dataset.layer = String(n.layer);
    section.dataset.index = String(n.index);
    section.dataset.run = t.run;
    section.dataset.eigenvalues = JSON.stringify(n.eigenvalues);
    section.dataset.informative = JSON.stringify(n.informative.slice(0, INFORMATIVE));
    section.dataset.nu = JSON.stringify(n.nu);
  }

  const fetch = serial(async () => {
    const t = target;
    if (!t || !race) return;
    section.dataset.busy = 'true';
    try {
      const n = await race.call(t.run, 'neuron', t.layer, t.index, NEURON_VECTORS);
      if (target === t) render(n);
    } catch (e) {
      if (target === t) meta.textContent = `Not available: ${e.message}`;
    } finally {
      delete section.dataset.busy;
    }
  });

  const panel = {
    open(t) {
      target = t;
      section.hidden = false;
      title.textContent = `${t.label} · layer ${t.layer} · neuron ${t.index}`;
      meta.textContent = 'Computing its eigen-decomposition…';
      fetch();
    },
    refresh() {
      if (target) fetch();
    },
    close() {
      target = null;
      last = null;
      section.hidden = true;
    },
    target: () => target,
    redraw() {
      if (last && target) render(last);
    },
  };
  return panel;
}

export function createInputPanel(section, { race }) {
  const meta = section.querySelector('[data-role="input-meta"]');
  const spectrum = section.querySelector('canvas[data-plot="input-spectrum"]');
  const vectors = section.querySelector('[data-role="input-vectors"]');
  let target = null;
  let last = null;

  function render(e) {
    last = e;
    const n = e.eigenvalues.length;
    const top = e.eigenvalues[0];
    const rank = e.eigenvalues.filter((v) => v > 1e-6 * top).length;
    meta.textContent =
      `${target.label}'s ${n} × ${n} input metric (784 pixels and the bias), ` +
      `${e.source === 'rngd' ? 'learnt by RNGD' : 'tracked read-only'}: λmax = ${fmt(top)}, ` +
      `numerical rank ${rank}. Its top ${e.vectors.length} eigenvectors, as images: the pixel patterns ` +
      `along which the input layer's outputs move fastest (orange positive, blue negative).`;
    spectrum.hidden = false;
    drawSpectrum(spectrum, e.eigenvalues);
    vectorFigures(vectors, e.vectors, e.eigenvalues, true);
    section.dataset.run = target.run;
    section.dataset.eigenvalues = JSON.stringify(e.eigenvalues.slice(0, INPUT_VECTORS));
  }

  const fetch = serial(async () => {
    const t = target;
    if (!t || !race) return;
    section.dataset.busy = 'true';
    try {
      const e = await race.call(t.run, 'inputEigenvectors', INPUT_VECTORS);
      if (target === t) render(e);
    } catch (err) {
      if (target === t) meta.textContent = `Not available: ${err.message}`;
    } finally {
      delete section.dataset.busy;
    }
  });

  return {
    /** Follows the view's selection: computed only while layer 0 is shown, as
     *  its 785 × 785 eigen-decomposition takes the run's thread for a while. */
    refresh(t) {
      if (t.layer !== 0) {
        target = null;
        last = null;
        meta.textContent =
          'Choose layer 0 above to see the input layer’s shared 785 × 785 metric: its spectrum and its top ' +
          'eigenvectors drawn as 28 × 28 images.';
        spectrum.hidden = true;
        vectors.replaceChildren();
        delete section.dataset.eigenvalues;
        return;
      }
      if (!target || target.run !== t.run) meta.textContent = 'Computing its eigen-decomposition…';
      target = t;
      fetch();
    },
    redraw() {
      if (last && target) render(last);
    },
  };
}
