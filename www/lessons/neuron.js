// Lesson (b): one sigmoid neuron on MNIST 3 vs 5, trained by gradient descent,
// by natural gradient (its own Fisher, the RFIM of a sigmoid neuron) and on
// whitened inputs. Computed by the crate (src/lessons/neuron.rs) on the
// bundled digits; this module only draws.

import { Axes, html, keepDrawn, control, fillTable, fmt, extent } from './plot.js';
import { showError } from './index.js';
import { crisp, rgbOf, tile28 } from '../canvas.js';

// GD in SGD's colour, NGD in RNGD's (lessons.css), whitening in a third; the
// line style tells them apart without colour.
const METHODS = [
  { id: 'gd', label: 'GD', color: 0, dash: [] },
  { id: 'ngd', label: 'NGD (RFIM)', color: 1, dash: [7, 3] },
  { id: 'white', label: 'whitened GD', color: 2, dash: [2, 3] },
];


/** A 28×28 image as a canvas of `size` CSS pixels: `rgbaAt(p)` → [r, g, b, a]. */
const tile = (rgbaAt, size, label) => crisp(tile28(rgbaAt), size, label);


export async function mount(article, compute) {
  article.append(
    html(`
    <p class="lesson-lead">
      One sigmoid neuron, p(3 | x) = sigm(wᵀx̃), reads the 784 pixels of a digit (plus a 1 for the bias) and tells
      3s from 5s: logistic regression, the smallest network there is. It is trained three ways from w = 0 on the same
      digits, with the loss mean cross-entropy + β/2·‖w‖²:
      <strong>GD</strong> steps along −g; <strong>NGD</strong> along −(F + εI)⁻¹g, where
      F = mean ν·x̃x̃ᵀ with ν = s(1 − s) is the neuron's Fisher information (its RFIM, the metric RNGD keeps for each
      neuron), recomputed from the current weights every few steps (the control below; 1 = every step);
      <strong>whitened GD</strong> steps along −(M + εI)⁻¹g with M = mean x̃x̃ᵀ, the pixels' second moment: plain GD
      on inputs whitened by M<sup>−½</sup>, and the metric RNGD shares across its input layer. It is F with every ν set
      to 1. Each metric is damped by ε = damping·trace + β.
    </p>
    <div class="lesson-controls" data-role="controls"></div>
    <p class="lesson-status muted" data-role="status" data-testid="neuron-status" aria-live="polite">Computing…</p>
    <div class="lesson-body two">
      <figure>
        <canvas data-testid="neuron-loss" role="img" aria-label="Training loss of GD, NGD and whitened GD against steps, log scale"></canvas>
        <figcaption>Training loss (solid for GD, dashed for NGD, dotted for whitened GD) against steps, log scale. Thin
          lines: the test loss on the 3s and 5s of the test split.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="neuron-accuracy" role="img" aria-label="Test accuracy of the three methods against steps"></canvas>
        <figcaption>Test accuracy (thick) and training accuracy (thin) against steps.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="neuron-spectrum" role="img" aria-label="Eigenvalues of the second moment and of the final Fisher, log scale"></canvas>
        <figcaption>Eigenvalues of the metrics, largest first, log scale: the pixels' second moment M (whitening's
          metric), and the neuron's Fisher F after training (NGD's). Horizontal lines: each one's damping ε. Only n of the
          785 eigenvalues can be nonzero with n digits.</figcaption>
      </figure>
      <figure>
        <div class="neuron-weights" data-role="weights"></div>
        <figcaption>The learnt weights of each method as 28×28 images: ink on orange pixels pushes towards 3, on blue
          pixels towards 5; opacity by size. GD's weights stay smooth and small; the fast methods carve finer detail.</figcaption>
      </figure>
    </div>
    <div class="lesson-numbers" data-testid="neuron-numbers">
      <div class="lesson-table-wrap"><table data-testid="neuron-table"></table></div>
      <div class="lesson-table-wrap"><table data-testid="neuron-metrics"></table></div>
      <p data-role="nu"></p>
      <div class="neuron-digits">
        <div><p class="muted">The training digits NGD weighs most (largest ν: on the decision boundary)</p>
          <div class="relu-thumbs" data-role="nearest"></div></div>
        <div><p class="muted">and least (smallest ν: learnt, far from the boundary)</p>
          <div class="relu-thumbs" data-role="farthest"></div></div>
      </div>
    </div>
    <p class="lesson-look">
      <strong>What to look at.</strong> Each learning rate starts near the best of a grid, as in the paper. With
      these defaults NGD reaches in a few steps the loss GD has after a hundred, and whitened GD in a few dozen (the
      table counts the steps for the settings you chose). The reason is in the spectrum: the pixels' second moment
      is badly conditioned over the directions the digits span (the second table gives its condition number),
      and more digits make it worse. GD's step size must suit the
      steepest direction (λ<sub>max</sub>, the mean digit), so it crawls along the flat ones; both metrics rescale every
      direction alike. Try GD's learning rate: larger overshoots along the steep direction, smaller crawls.
      NGD differs from whitening by ν: at w = 0 every ν is ¼, so F = M/4 and the first steps point the same way; as the neuron grows
      confident, ν fades on the digits it has learnt and F keeps only those near the boundary (shown above), so NGD
      zooms in on the hard cases where whitening still weighs every digit alike. Try refreshing F less often, or a
      larger damping, which pulls both towards GD. The thin lines show the price of speed on so few digits: a few
      hundred digits in 785 dimensions can be fitted exactly, and the fast methods reach that fit, with its rising
      test loss, first; a larger β or more digits narrows the gap. RNGD applies the same ν-weighted metric to every hidden neuron of a
      network; see the live metrics in <a href="#geometry">Geometry</a>.
    </p>`),
  );

  const controls = article.querySelector('[data-role="controls"]');
  const [lossCanvas, accCanvas, specCanvas] = article.querySelectorAll('canvas');
  const status = article.querySelector('[data-role="status"]');
  const state = { samples: 200, steps: 100, lr_gd: 1, lr_ngd: 1, lr_white: 3, damping: 1e-4, refresh: 1, l2: 1e-3 };
  let result = null;

  const recompute = async () => {
    status.textContent = 'Computing…';
    const t0 = performance.now();
    try {
      result = await compute({ ...state }, { mnist: true });
      showError(article, null);
      status.textContent =
        `${result.samples} training digits (${result.test_samples} for testing), ${result.steps} steps per method: ` +
        `computed by the crate in ${fmt(result.compute_ms, 3)} ms (${fmt(performance.now() - t0, 3)} ms with the round trip).`;
      render();
    } catch (e) {
      status.textContent = '';
      showError(article, e);
    }
  };
  const set = (key) => (v) => ((state[key] = v), recompute());
  const log = (v) => fmt(10 ** v);

  control(controls, {
    kind: 'select', label: 'Training digits', testid: 'neuron-samples', value: String(state.samples),
    options: [['100', '100'], ['200', '200'], ['300', '300'], ['500', '500'], ['800', '800 (slower)']],
    onInput: (v) => set('samples')(Number(v)),
  });
  control(controls, {
    label: 'Steps', testid: 'neuron-steps', min: 10, max: 300, step: 10, value: state.steps, onInput: set('steps'),
  });
  control(controls, {
    label: 'GD learning rate', testid: 'neuron-lr-gd', min: -3, max: 1, step: 0.1, value: Math.log10(state.lr_gd),
    format: log, onInput: (v) => set('lr_gd')(10 ** v),
  });
  control(controls, {
    label: 'NGD learning rate', testid: 'neuron-lr-ngd', min: -2, max: 1, step: 0.1, value: Math.log10(state.lr_ngd),
    format: log, onInput: (v) => set('lr_ngd')(10 ** v),
  });
  control(controls, {
    label: 'Whitened GD learning rate', testid: 'neuron-lr-white', min: -2, max: 1, step: 0.1,
    value: Math.log10(state.lr_white), format: log, onInput: (v) => set('lr_white')(10 ** v),
  });
  control(controls, {
    label: 'Damping (× trace)', testid: 'neuron-damping', min: -7, max: -1, step: 0.5, value: Math.log10(state.damping),
    format: log, onInput: (v) => set('damping')(10 ** v),
  });
  control(controls, {
    kind: 'select', label: 'Recompute F every', testid: 'neuron-refresh', value: String(state.refresh),
    options: [['1', '1 step'], ['5', '5 steps'], ['20', '20 steps'], ['500', 'never (F at w = 0)']],
    onInput: (v) => set('refresh')(Number(v)),
  });
  control(controls, {
    kind: 'select', label: 'L2 β', testid: 'neuron-l2', value: String(state.l2),
    options: [['0', '0'], ['0.0001', '10⁻⁴'], ['0.001', '10⁻³'], ['0.01', '10⁻²']],
    onInput: (v) => set('l2')(Number(v)),
  });

  const colorOf = (axes, m) => axes.colors.series[m.color];
  const curve = (ys) => ys.map((y, i) => [i, y]);

  function drawLoss() {
    if (!result) return;
    const all = result.methods.flatMap((m) => m.loss.concat(m.test_loss)).filter((v) => v > 0);
    const lo = Math.max(1e-4, Math.min(...all));
    const hi = Math.max(...all);
    const axes = new Axes(lossCanvas, { x: [0, result.steps], y: [lo * 0.8, hi * 1.25], logY: true, xlabel: 'step', ylabel: 'loss' });
    for (const m of METHODS) {
      const r = result.methods.find((x) => x.id === m.id);
      axes.line(curve(r.test_loss), colorOf(axes, m), { dash: m.dash, width: 1 });
      axes.line(curve(r.loss), colorOf(axes, m), { dash: m.dash, width: 2.5 });
    }
    axes.legend(METHODS.map((m) => ({ label: m.label, color: colorOf(axes, m), dash: m.dash })));
  }

  function drawAccuracy() {
    if (!result) return;
    const all = result.methods.flatMap((m) => m.accuracy.concat(m.test_accuracy));
    const [lo] = extent(all);
    const axes = new Axes(accCanvas, { x: [0, result.steps], y: [Math.max(0, Math.min(lo, 0.9)), 1.005], xlabel: 'step', ylabel: 'accuracy' });
    for (const m of METHODS) {
      const r = result.methods.find((x) => x.id === m.id);
      axes.line(curve(r.accuracy), colorOf(axes, m), { dash: m.dash, width: 1 });
      axes.line(curve(r.test_accuracy), colorOf(axes, m), { dash: m.dash, width: 2.5 });
    }
    axes.legend(METHODS.map((m) => ({ label: `${m.label} (test)`, color: colorOf(axes, m), dash: m.dash })));
  }

  function drawSpectrum() {
    if (!result) return;
    const { second_moment: M, fisher_end: F } = result.metrics;
    const pos = (e) => e.filter((v) => v > 0);
    const all = pos(M.eigenvalues).concat(pos(F.eigenvalues), [M.eps, F.eps]);
    const lo = Math.max(Math.min(...all), M.largest * 1e-12);
    const axes = new Axes(specCanvas, {
      x: [1, M.eigenvalues.length], y: [lo * 0.5, Math.max(...all) * 2], logY: true, xlabel: 'eigenvalue index (largest first)', ylabel: 'eigenvalue',
    });
    const cM = axes.colors.series[2];
    const cF = axes.colors.series[1];
    axes.line(M.eigenvalues.map((v, i) => [i + 1, v]), cM, { dash: [2, 3] });
    axes.line(F.eigenvalues.map((v, i) => [i + 1, v]), cF, { dash: [7, 3] });
    axes.line([[1, M.eps], [M.eigenvalues.length, M.eps]], cM, { width: 1 });
    axes.line([[1, F.eps], [F.eigenvalues.length, F.eps]], cF, { width: 1 });
    axes.legend([
      { label: 'M (second moment)', color: cM, dash: [2, 3] },
      { label: 'F after training', color: cF, dash: [7, 3] },
    ]);
  }

  function drawImages() {
    const box = article.querySelector('[data-role="weights"]');
    const cs = getComputedStyle(lossCanvas);
    const pos = rgbOf(cs.getPropertyValue('--lesson-c5').trim() || '#e69f00');
    const neg = rgbOf(cs.getPropertyValue('--lesson-c1').trim() || '#0072b2');
    box.replaceChildren();
    for (const m of METHODS) {
      const r = result.methods.find((x) => x.id === m.id);
      const max = Math.max(...r.weights.map(Math.abs)) || 1;
      const fig = document.createElement('figure');
      fig.append(
        tile((p) => {
          const v = r.weights[p];
          const c = v >= 0 ? pos : neg;
          return [c[0], c[1], c[2], Math.round((255 * Math.abs(v)) / max)];
        }, 96, `${m.label} weights as an image`),
      );
      const cap = document.createElement('figcaption');
      cap.textContent = `${m.label}: |w|max ${fmt(max)}`;
      fig.append(cap);
      box.append(fig);
    }
    const ink = rgbOf(getComputedStyle(article).color);
    for (const [role, list] of [['nearest', result.nu.nearest], ['farthest', result.nu.farthest]]) {
      const el = article.querySelector(`[data-role="${role}"]`);
      el.replaceChildren();
      for (const d of list) {
        const fig = document.createElement('figure');
        fig.append(tile((p) => [ink[0], ink[1], ink[2], d.pixels[p]], 48, `a ${d.label}, ν ${fmt(d.nu)}`));
        const cap = document.createElement('figcaption');
        cap.textContent = `${d.label}: ν ${fmt(d.nu, 2)}`;
        fig.append(cap);
        el.append(fig);
      }
    }
  }

  function render() {
    const r = result;
    drawLoss();
    drawAccuracy();
    drawSpectrum();
    drawImages();
    const last = (a) => a[a.length - 1];
    const gdFinal = last(r.methods[0].loss);
    fillTable(
      article.querySelector('[data-testid="neuron-table"]'),
      ['method', 'learning rate', 'final loss', 'train accuracy', 'test accuracy', `steps to GD's final loss (${fmt(gdFinal)})`],
      METHODS.map((m) => {
        const x = r.methods.find((y) => y.id === m.id);
        const div = x.diverged_at != null ? ` (diverged at step ${x.diverged_at})` : '';
        return [
          m.label, fmt(x.lr), fmt(last(x.loss), 4) + div, `${(100 * last(x.accuracy)).toFixed(1)} %`,
          `${(100 * last(x.test_accuracy)).toFixed(1)} %`, x.steps_to_gd_final == null ? 'not reached' : String(x.steps_to_gd_final),
        ];
      }),
    );
    const mrow = (name, s) => [
      name, `${s.rank} of ${s.dim}`, fmt(s.largest), fmt(s.smallest_nonzero), fmt(s.condition_nonzero), fmt(s.eps), fmt(s.condition_damped),
    ];
    fillTable(
      article.querySelector('[data-testid="neuron-metrics"]'),
      ['metric', 'rank', 'λmax', 'smallest nonzero λ', 'κ over its rank', 'ε', 'κ of G + εI'],
      [
        mrow('M = mean x̃x̃ᵀ (whitening)', r.metrics.second_moment),
        mrow('F at w = 0 (= M/4)', r.metrics.fisher_start),
        mrow('F after training (NGD)', r.metrics.fisher_end),
      ],
    );
    const nu = article.querySelector('[data-role="nu"]');
    nu.textContent =
      `After training, NGD's ν averages ${fmt(r.nu.mean)} (at most ¼); ${r.nu.informative} of ${r.samples} digits have ` +
      `ν > ${r.nu.threshold}. Those few dominate F. Rank counts eigenvalues above ${r.rank_tolerance} × λmax.`;
    article.dataset.computed = String((Number(article.dataset.computed) || 0) + 1);
  }

  await recompute();
  keepDrawn(lossCanvas, drawLoss);
  keepDrawn(accCanvas, drawAccuracy);
  keepDrawn(specCanvas, drawSpectrum);
}
