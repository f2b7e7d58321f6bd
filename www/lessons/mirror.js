// Lesson (e): mirror descent with the log-partition function A is natural
// gradient descent, shown step by step on a Bernoulli or a Gaussian. Computed
// by the crate (src/lessons/mirror.rs); this module only draws.

import { Axes, html, keepDrawn, control, fillTable, fmt, extent } from './plot.js';
import { showError } from './index.js';


const vec = (v) => (v.length === 1 ? fmt(v[0], 6) : `(${v.map((x) => fmt(x, 5)).join(', ')})`);

export async function mount(article, compute) {
  article.append(
    html(`
    <p class="lesson-lead">
      An exponential family p(x | θ) ∝ exp(θ·T(x) − A(θ)) has two coordinate systems: the natural parameters θ
      and the mean parameters μ = ∇A(θ) = E[T(x)]. Its Fisher information is F(θ) = ∇²A(θ) in θ and F(θ)⁻¹ in μ.
      Mirror descent with the log-partition function A as mirror map takes plain gradient steps in the dual
      coordinates: <strong>∇A(θ<sub>t+1</sub>) = ∇A(θ<sub>t</sub>) − η ∇<sub>θ</sub>L</strong>, that is
      μ<sub>t+1</sub> = μ<sub>t</sub> − η ∇<sub>θ</sub>L. Since ∇<sub>θ</sub>L = F(θ) ∇<sub>μ</sub>L, this is
      exactly natural gradient descent in the mean parameters, μ<sub>t+1</sub> = μ<sub>t</sub> − η F<sub>μ</sub>⁻¹∇<sub>μ</sub>L.
      Dually, mirror descent with the conjugate A* (θ<sub>t+1</sub> = θ<sub>t</sub> − η ∇<sub>μ</sub>L) is exactly
      natural gradient in θ. Natural gradient in θ and in μ agree to first order in η. The loss is the
      cross-entropy to a target, L(θ) = A(θ) − θ·μ* = KL(target ‖ p<sub>θ</sub>) + const.
    </p>
    <div class="lesson-controls" data-role="controls"></div>
    <div class="lesson-body two">
      <figure>
        <canvas data-testid="mirror-path" role="img" aria-label="Iterates of mirror descent and natural gradient descent"></canvas>
        <figcaption>The iterates in the natural parameter <span data-role="coord">θ (logit)</span>, step by step.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="mirror-loss" role="img" aria-label="Excess loss of each method per step"></canvas>
        <figcaption>L − min L per step, log scale.</figcaption>
      </figure>
    </div>
    <div class="lesson-numbers">
      <p data-role="summary" data-testid="mirror-summary"></p>
      <div class="lesson-table-wrap"><table data-testid="mirror-table"></table></div>
    </div>
    <p class="lesson-look">
      <strong>What to look at.</strong> The first two columns agree to the last digit (|gap| ≈ 10⁻¹⁶): mirror descent
      with A and natural gradient in μ are one algorithm computed two ways. Natural gradient in θ takes a slightly
      different path; the one-step gap is of order η² (for small η, halve η and it quarters; far from the target, large steps leave that regime). Plain gradient descent in θ is
      slow where F is small (a Bernoulli near p = 0 or 1), which is exactly where natural gradient speeds up.
      RNGD applies the same idea per neuron, with the neuron's Fisher information as F; its effect on training
      shows in the <a href="#charts">curves</a>.
    </p>`),
  );
  const controls = article.querySelector('[data-role="controls"]');
  const [pathCanvas, lossCanvas] = article.querySelectorAll('canvas');
  const state = { family: 'bernoulli', eta: 10 ** -0.5, steps: 12, p0: 0.05, p1: 0.8, m0: -1, s0: 2, m1: 1, s1: 0.5 };
  let result = null;

  const params = () =>
    state.family === 'bernoulli'
      ? { family: 'bernoulli', eta: state.eta, steps: state.steps, start: state.p0, target: state.p1 }
      : { family: 'gaussian', eta: state.eta, steps: state.steps, start: [state.m0, state.s0], target: [state.m1, state.s1] };

  const recompute = async () => {
    try {
      result = await compute(params());
      showError(article, null);
      render();
    } catch (e) {
      showError(article, e);
    }
  };

  const groups = { bernoulli: [], gaussian: [] };
  const showFamily = () => {
    for (const [f, els] of Object.entries(groups)) for (const el of els) el.closest('.lesson-control').hidden = f !== state.family;
  };
  control(controls, {
    kind: 'select', label: 'Family', testid: 'mirror-family', value: state.family,
    options: [['bernoulli', 'Bernoulli (θ = logit p)'], ['gaussian', 'Gaussian N(m, s²)']],
    onInput: (v) => ((state.family = v), showFamily(), recompute()),
  });
  control(controls, {
    label: 'Step size η', testid: 'mirror-eta', min: -2, max: 0, step: 0.05, value: Math.log10(state.eta),
    format: (v) => fmt(10 ** v), onInput: (v) => ((state.eta = 10 ** v), recompute()),
  });
  control(controls, {
    label: 'Steps', testid: 'mirror-steps', min: 1, max: 60, step: 1, value: state.steps,
    onInput: (v) => ((state.steps = v), recompute()),
  });
  const add = (family, spec) => groups[family].push(control(controls, spec).el);
  const range = (key, label, testid, min, max, step) =>
    ({ label, testid, min, max, step, value: state[key], onInput: (v) => ((state[key] = v), recompute()) });
  add('bernoulli', range('p0', 'Start p', 'mirror-start', 0.01, 0.99, 0.01));
  add('bernoulli', range('p1', 'Target p*', 'mirror-target', 0.01, 0.99, 0.01));
  add('gaussian', range('m0', 'Start m', 'mirror-m0', -3, 3, 0.1));
  add('gaussian', range('s0', 'Start s', 'mirror-s0', 0.2, 3, 0.05));
  add('gaussian', range('m1', 'Target m*', 'mirror-m1', -3, 3, 0.1));
  add('gaussian', range('s1', 'Target s*', 'mirror-s1', 0.2, 3, 0.05));
  showFamily();

  const first = (path) => path.map((th, t) => [t, th[0]]);

  function drawPath() {
    if (!result) return;
    const P = result.paths;
    const all = [...P.mirror_a, ...P.natural_natural, ...P.gradient, ...P.mirror_a_star].map((th) => th[0]);
    const axes = new Axes(pathCanvas, {
      x: [0, result.rows.length - 1 || 1], y: extent(all.concat([result.target.natural[0]]), 0.08),
      xlabel: 'step t', ylabel: result.family === 'bernoulli' ? 'θ = logit p' : 'θ₁ = m / s²',
    });
    const c = axes.colors;
    axes.line(first(P.gradient), c.series[0], { dash: [2, 3] });
    axes.line(first(P.natural_natural), c.series[3], { dash: [6, 3] });
    axes.dots(first(P.mirror_a_star), c.series[3], { r: 4, shape: 'cross' });
    axes.line(first(P.mirror_a), c.series[1]);
    axes.dots(first(P.natural_mean), c.series[2], { r: 4.5, shape: 'square' });
    axes.dots(first(P.mirror_a), c.series[1], { r: 2.5 });
    axes.line([[0, result.target.natural[0]], [result.rows.length - 1, result.target.natural[0]]], c.muted, { dash: [1, 3], width: 1 });
    axes.legend([
      { label: 'mirror descent, A', color: c.series[1], shape: true },
      { label: 'natural gradient in μ', color: c.series[2], dash: [1, 6] },
      { label: 'natural gradient in θ', color: c.series[3], dash: [6, 3] },
      { label: 'mirror descent, A* (×)', color: c.series[3], dash: [1, 6] },
      { label: 'gradient descent in θ', color: c.series[0], dash: [2, 3] },
    ]);
  }

  function drawLoss() {
    if (!result) return;
    const E = result.excess_loss;
    const vals = [...E.mirror_a, ...E.natural_natural, ...E.gradient].filter((v) => v > 1e-16);
    const hi = Math.max(...vals, 1e-12);
    const lo = Math.max(Math.min(...vals, hi), hi * 1e-12);
    const axes = new Axes(lossCanvas, {
      x: [0, result.rows.length - 1 || 1], y: [lo / 2, hi * 2], logY: true, xlabel: 'step t', ylabel: 'L − min L',
    });
    const c = axes.colors;
    const pts = (v) => v.map((x, t) => [t, x]);
    axes.line(pts(E.gradient), c.series[0], { dash: [2, 3] });
    axes.line(pts(E.natural_natural), c.series[3], { dash: [6, 3] });
    axes.line(pts(E.mirror_a), c.series[1]);
    axes.legend([
      { label: 'mirror descent, A = NGD in μ', color: c.series[1] },
      { label: 'natural gradient in θ', color: c.series[3], dash: [6, 3] },
      { label: 'gradient descent in θ', color: c.series[0], dash: [2, 3] },
    ]);
  }

  function render() {
    const r = result;
    article.querySelector('[data-role="coord"]').textContent = r.family === 'bernoulli' ? 'θ = logit p' : 'θ₁ = m/s² (of θ = (m/s², −1/2s²))';
    drawPath();
    drawLoss();
    const g = r.max_gap;
    const sum = article.querySelector('[data-role="summary"]');
    sum.textContent =
      `Largest gap over ${r.rows.length - 1} steps of η = ${fmt(r.eta)}: mirror descent with A vs natural gradient in μ ` +
      `${fmt(g.exact, 2)}; mirror descent with A* vs natural gradient in θ ${fmt(g.dual, 2)} (both exact up to rounding); ` +
      `natural gradient in μ vs in θ ${fmt(g.first_order, 3)} over the run, ${fmt(g.one_step, 3)} for a single step ` +
      `from the same point (second order in η).` +
      (r.stopped.mirror_a ? ` Mirror descent left the family's domain after step ${r.stopped.mirror_a - 1}: take a smaller η.` : '');
    sum.dataset.exact = g.exact;
    sum.dataset.oneStep = g.one_step;
    fillTable(
      article.querySelector('[data-testid="mirror-table"]'),
      ['t', 'mirror descent, A: θ', 'natural gradient in μ: θ', '|gap|', 'natural gradient in θ', '|gap|', 'one-step gap'],
      r.rows.map((w) => [
        String(w.t), vec(w.mirror_a), vec(w.natural_mean), fmt(w.exact_gap, 2), vec(w.natural_natural),
        fmt(w.first_order_gap, 3), w.one_step_gap === null ? '–' : fmt(w.one_step_gap, 3),
      ]),
    );
    article.dataset.computed = String((Number(article.dataset.computed) || 0) + 1);
  }

  await recompute();
  keepDrawn(pathCanvas, drawPath);
  keepDrawn(lossCanvas, drawLoss);
}
