// Lesson (a): fitting N(μ, σ) by gradient descent and by natural gradient,
// with the scale written as σ, log σ or the precision τ = 1/σ². Computed by
// the crate (src/lessons/gaussian.rs); this module only draws.

import { Axes, html, keepDrawn, mix, control, fillTable, fmt, extent } from './plot.js';
import { showError } from './index.js';

const SCALES = [
  ['sigma', 'σ (standard deviation)'],
  ['log_sigma', 'log σ'],
  ['precision', 'precision τ = 1/σ²'],
];
const PHI = { sigma: 'σ', log_sigma: 'log σ', precision: 'τ = 1/σ²' };
const DASH = { sigma: [], log_sigma: [7, 4], precision: [2, 3] };


export async function mount(article, compute) {
  article.append(
    html(`
    <p class="lesson-lead">
      A Gaussian N(μ, σ) is fitted to a target N(μ*, σ*), or to samples drawn from it, by minimising the
      cross-entropy L(μ, σ) = log σ + (σ*² + (μ − μ*)²) / 2σ². The scale can be written three ways. Plain
      gradient descent (GD) depends on that choice; natural gradient descent (NGD), which divides the gradient by
      the Fisher information F, does not, up to the second-order effect of finite steps: it moves the
      <em>distribution</em>, not the numbers that describe it.
    </p>
    <div class="lesson-controls" data-role="controls"></div>
    <div class="lesson-body two">
      <figure>
        <canvas class="clickable" data-testid="gaussian-surface" role="img"
                aria-label="Loss surface over mu and the chosen scale parameter, with the GD and NGD paths"></canvas>
        <figcaption>Loss over (μ, <span data-role="phi">σ</span>), bluer is lower; GD and NGD paths from the start (○)
          to the optimum (×). Click to move the start.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="gaussian-invariance" role="img"
                aria-label="GD and NGD paths in mu and sigma for the three parameterisations"></canvas>
        <figcaption>The same runs drawn in (μ, σ), for all three ways of writing the scale (line style): NGD's three
          paths lie on one curve, GD's do not.</figcaption>
      </figure>
    </div>
    <div class="lesson-numbers" data-testid="gaussian-numbers">
      <p data-role="summary"></p>
      <p data-role="spread" data-testid="gaussian-spread"></p>
      <p><strong>Fisher information as the curvature of KL</strong>, at the start point, in (μ, <span data-role="phi">σ</span>):
        F = diag(<span data-role="fisher"></span>). For a step δ of length r in the direction chosen below,
        KL(p<sub>θ</sub> ‖ p<sub>θ+δ</sub>) and ½ δᵀFδ:</p>
      <div class="lesson-table-wrap"><table data-testid="gaussian-kl"></table></div>
    </div>
    <p class="lesson-look">
      <strong>What to look at.</strong> Switch the parameterisation: the GD path changes shape, and so does the step size
      it tolerates (from the default start, at η = 0.1 GD in τ jumps below τ = 0 on its first step, while σ and
      log σ are fine); the NGD path
      in (μ, σ) stays put.
      NGD's three curves differ only by the second-order effect of finite steps, which halves when η halves.
      The KL ratio tends to 1 as r shrinks: F is the Hessian of KL, the metric RNGD uses per neuron (see
      <a href="#geometry">Geometry</a>).
    </p>`),
  );
  const controls = article.querySelector('[data-role="controls"]');
  const [surface, inv] = article.querySelectorAll('canvas');
  const state = { scale: 'sigma', eta: 10 ** -1.5, steps: 80, start: [-2, 2.5], target: [1, 0.7], source: 'target', delta: 0.4, angle: 0.7 };
  let result = null;

  const recompute = async () => {
    try {
      result = await compute({ ...state });
      showError(article, null);
      render();
    } catch (e) {
      showError(article, e);
    }
  };

  control(controls, {
    kind: 'select', label: 'Scale written as', testid: 'gaussian-scale', options: SCALES, value: state.scale,
    onInput: (v) => ((state.scale = v), recompute()),
  });
  control(controls, {
    label: 'Step size η', testid: 'gaussian-eta', min: -2.5, max: 0, step: 0.05, value: Math.log10(state.eta),
    format: (v) => fmt(10 ** v), onInput: (v) => ((state.eta = 10 ** v), recompute()),
  });
  control(controls, {
    label: 'Steps', testid: 'gaussian-steps', min: 1, max: 200, step: 1, value: state.steps,
    onInput: (v) => ((state.steps = v), recompute()),
  });
  const mu0 = control(controls, {
    label: 'Start μ', testid: 'gaussian-mu0', min: -4, max: 4, step: 0.05, value: state.start[0],
    onInput: (v) => ((state.start = [v, state.start[1]]), recompute()),
  });
  const s0 = control(controls, {
    label: 'Start σ', testid: 'gaussian-sigma0', min: 0.2, max: 4, step: 0.05, value: state.start[1],
    onInput: (v) => ((state.start = [state.start[0], v]), recompute()),
  });
  control(controls, {
    kind: 'select', label: 'Fit to', testid: 'gaussian-source', value: state.source,
    options: [['target', 'the target N(1, 0.7)'], ['samples', '20 samples of N(1, 0.7)']],
    onInput: (v) => ((state.source = v), recompute()),
  });
  control(controls, {
    label: 'KL check: step r', testid: 'gaussian-delta', min: 0.01, max: 1, step: 0.01, value: state.delta,
    onInput: (v) => ((state.delta = v), recompute()),
  });
  control(controls, {
    label: 'KL check: direction (°)', testid: 'gaussian-angle', min: 0, max: 180, step: 5, value: 40,
    format: (v) => `${v}°`, onInput: (v) => ((state.angle = (v * Math.PI) / 180), recompute()),
  });

  surface.addEventListener('click', (ev) => {
    if (!surface.axes || !result) return;
    const a = surface.axes;
    const rect = surface.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    const mu = a.x[0] + ((x - a.m.l) / (a.w - a.m.l - a.m.r)) * (a.x[1] - a.x[0]);
    const phi = a.y[0] + ((a.h - a.m.b - y) / (a.h - a.m.t - a.m.b)) * (a.y[1] - a.y[0]);
    const sigma = { sigma: phi, log_sigma: Math.exp(phi), precision: phi > 0 ? 1 / Math.sqrt(phi) : NaN }[result.scale];
    if (!(sigma > 0.05 && sigma < 20) || !Number.isFinite(mu)) return;
    state.start = [mu, sigma];
    mu0.set(Math.min(4, Math.max(-4, mu)));
    s0.set(Math.min(4, Math.max(0.2, sigma)));
    recompute();
  });

  function drawSurface() {
    if (!result) return;
    const r = result;
    const g = r.grid;
    const axes = new Axes(surface, {
      x: [g.mu[0], g.mu[g.mu.length - 1]], y: [g.phi[0], g.phi[g.phi.length - 1]],
      xlabel: 'μ', ylabel: PHI[r.scale],
    });
    surface.axes = axes;
    const c = axes.colors;
    // Bands of log(L − L_min): contour-like levels that stay readable near the minimum.
    const rel = g.loss.map((l) => Math.log1p((l - r.min_loss) / 0.02));
    const top = Math.max(...rel.filter(Number.isFinite));
    const bands = 14;
    axes.heat(g.mu, g.phi, rel, (v) => mix(c.heatHi, c.heatLo, Math.floor((v / top) * bands) / bands + 0.02));
    axes.line(r.paths.gd.points, c.series[0], { width: 2 });
    axes.dots(r.paths.gd.points, c.series[0], { r: 2.2, shape: 'square' });
    axes.line(r.paths.ngd.points, c.series[1], { width: 2, dash: [6, 3] });
    axes.dots(r.paths.ngd.points, c.series[1], { r: 2.2 });
    const phiOf = (s) => ({ sigma: s, log_sigma: Math.log(s), precision: 1 / (s * s) })[r.scale];
    axes.dots([[r.start[0], phiOf(r.start[1])]], c.text, { r: 5, shape: 'circle' });
    axes.dots([[r.optimum[0], phiOf(r.optimum[1])]], c.text, { r: 5, shape: 'cross' });
    axes.legend([
      { label: 'GD', color: c.series[0] },
      { label: 'NGD', color: c.series[1], dash: [6, 3] },
    ]);
  }

  function drawInvariance() {
    if (!result) return;
    const r = result;
    const all = [];
    for (const m of ['gd', 'ngd']) for (const s of Object.keys(PHI)) all.push(...r.invariance[m][s].points);
    const xs = extent(all.map((p) => p[0]).concat([r.optimum[0]]), 0.08);
    const ys = extent(all.map((p) => p[1]).concat([r.optimum[1]]).filter((v) => v < 50), 0.08);
    const axes = new Axes(inv, { x: xs, y: [Math.max(0, ys[0]), ys[1]], xlabel: 'μ', ylabel: 'σ' });
    const c = axes.colors;
    const items = [];
    for (const [m, col] of [['gd', c.series[0]], ['ngd', c.series[1]]]) {
      for (const s of Object.keys(PHI)) {
        axes.line(r.invariance[m][s].points, col, { dash: DASH[s], width: m === 'ngd' ? 2.5 : 1.8 });
        items.push({ label: `${m.toUpperCase()}, ${PHI[s]}`, color: col, dash: DASH[s] });
      }
    }
    axes.dots([r.start], c.text, { r: 5 });
    axes.dots([r.optimum], c.text, { r: 5, shape: 'cross' });
    axes.legend(items);
  }

  function render() {
    const r = result;
    for (const el of article.querySelectorAll('[data-role="phi"]')) el.textContent = PHI[r.scale];
    drawSurface();
    drawInvariance();
    const f = r.final;
    const stop = (p) => (p.stopped ? ` (left the domain of ${PHI[r.scale]} at step ${p.stopped})` : '');
    article.querySelector('[data-role="summary"]').textContent =
      `After ${r.steps} steps of η = ${fmt(r.eta)}: GD at μ = ${fmt(f.gd.mu, 4)}, σ = ${fmt(f.gd.sigma, 4)}, ` +
      `loss − min = ${fmt(f.gd.loss - r.min_loss)}${stop(r.paths.gd)}; NGD at μ = ${fmt(f.ngd.mu, 4)}, ` +
      `σ = ${fmt(f.ngd.sigma, 4)}, loss − min = ${fmt(f.ngd.loss - r.min_loss)}${stop(r.paths.ngd)}. ` +
      `Optimum: μ = ${fmt(r.optimum[0], 4)}, σ = ${fmt(r.optimum[1], 4)}.`;
    const sp = article.querySelector('[data-role="spread"]');
    const left = (m) =>
      Object.keys(PHI)
        .filter((s) => r.invariance[m][s].stopped)
        .map((s) => `${m.toUpperCase()} in ${PHI[s]} left its domain at step ${r.invariance[m][s].stopped}`);
    const gone = [...left('gd'), ...left('ngd')];
    const by = (m) => {
      const k = r.invariance.compared[m];
      if (k === 0) return 'cannot be compared';
      return `differ by at most ${fmt(r.invariance.spread[m])} in (μ, σ)${k < r.steps ? ` over the ${k} steps all three made` : ''}`;
    };
    sp.textContent =
      `Across the three parameterisations the NGD paths ${by('ngd')}; the GD paths ${by('gd')}.` +
      (gone.length ? ` ${gone.join('; ')}: the same step size is too large in one parameterisation and fine in another.` : '');
    sp.dataset.gdStopped = String(left('gd').length);
    sp.dataset.ngd = r.invariance.spread.ngd;
    sp.dataset.gd = r.invariance.spread.gd;
    article.querySelector('[data-role="fisher"]').textContent = `${fmt(r.fisher.diag[0], 4)}, ${fmt(r.fisher.diag[1], 4)}`;
    fillTable(
      article.querySelector('[data-testid="gaussian-kl"]'),
      ['r', 'KL(p_θ ‖ p_θ+δ)', '½ δᵀFδ', 'ratio'],
      r.kl_check.rows.map((k) => [fmt(k.r), fmt(k.kl, 6), fmt(k.quad, 6), fmt(k.ratio, 5)]),
    );
    article.dataset.computed = String((Number(article.dataset.computed) || 0) + 1);
  }

  await recompute();
  keepDrawn(surface, drawSurface);
  keepDrawn(inv, drawInvariance);
}
