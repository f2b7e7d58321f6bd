// Lesson (c): a ReLU neuron's relative Fisher information ν·x̃x̃ᵀ in closed
// form beside a Monte-Carlo estimate, and the samples ν selects. Computed by
// the crate (src/lessons/relu.rs); this module only draws.

import { Axes, html, keepDrawn, palette, mix, control, fillTable, fmt, extent } from './plot.js';
import { showError } from './index.js';


export async function mount(article, compute) {
  article.append(
    html(`
    <p class="lesson-lead">
      A ReLU neuron computes t = wᵀx̃ on each input x (x̃ = x with a 1 appended for the bias). RNGD models its
      output as y ~ N(relu<sub>ω</sub>(t), 1), a ReLU smoothed over a width ω, and its metric is the neuron's
      relative Fisher information G = E[ν(t) · x̃x̃ᵀ] with ν = sigm(t/ω)²: each input counts by its ν, near 1 where the
      neuron is on, near 0 where it is off. Here the crate computes G in closed form and estimates
      E[s sᵀ] from sampled outputs y (s = ∂ log p(y | w, x)/∂w, by finite differences), which knows nothing of ν.
    </p>
    <div class="lesson-controls" data-role="controls"></div>
    <div class="lesson-body two">
      <figure>
        <canvas data-testid="relu-nu" role="img" aria-label="Selector nu of each sample against its pre-activation"></canvas>
        <figcaption>ν of each sample against its pre-activation t. Filled circles: samples that count (ν &gt; ½);
          squares: samples the neuron barely sees.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="relu-spectrum" role="img" aria-label="Eigenvalues of the closed-form and Monte-Carlo metrics"></canvas>
        <figcaption>Eigenvalues of G, largest first, log scale: closed form (line, circles) and Monte Carlo (squares).</figcaption>
      </figure>
    </div>
    <div class="lesson-numbers" data-testid="relu-numbers">
      <p data-role="summary" data-testid="relu-summary"></p>
      <p data-role="agreement" data-testid="relu-agreement"></p>
      <div class="lesson-table-wrap"><table data-testid="relu-entries"></table></div>
    </div>
    <div class="relu-digits" data-role="digits" hidden>
      <p><strong>The digits this neuron learns from</strong> (largest ν) <span class="muted">and those it ignores (smallest ν)</span>:</p>
      <div class="relu-thumbs" data-role="most" data-testid="relu-most"></div>
      <div class="relu-thumbs" data-role="least" data-testid="relu-least"></div>
    </div>
    <p class="lesson-look" data-role="shared" data-testid="relu-shared"></p>
    <p class="lesson-look">
      <strong>What to look at.</strong> Lower the bias: samples drop below the kink, their ν falls towards 0 and
      the spectrum sinks, because G only counts what the neuron responds to. A smaller ω makes ν closer to a
      0/1 switch; a larger one blurs it. The Monte-Carlo estimate follows the closed form within its standard
      errors (more draws, smaller errors). RNGD keeps exactly this matrix per hidden neuron, learnt as a moving
      average; the <a href="#geometry">Geometry</a> view shows ν for every neuron and sample of a live batch.
    </p>`),
  );
  const controls = article.querySelector('[data-role="controls"]');
  const [nuCanvas, specCanvas] = article.querySelectorAll('canvas');
  const state = { inputs: 'random', bias: 0, scale: 1.5, omega: 1, samples: 200, draws: 20, dim: 4 };
  let result = null;

  const recompute = async () => {
    try {
      result = await compute({ ...state }, { mnist: state.inputs === 'mnist' });
      showError(article, null);
      render();
    } catch (e) {
      showError(article, e);
    }
  };

  control(controls, {
    kind: 'select', label: 'Inputs', testid: 'relu-inputs', value: state.inputs,
    options: [['random', 'random, 4 dimensions'], ['mnist', 'MNIST digits, pooled to 7×7']],
    onInput: (v) => ((state.inputs = v), recompute()),
  });
  control(controls, {
    label: 'Bias b', testid: 'relu-bias', min: -5, max: 5, step: 0.1, value: state.bias,
    onInput: (v) => ((state.bias = v), recompute()),
  });
  control(controls, {
    label: 'Weight scale |w|', testid: 'relu-scale', min: 0, max: 5, step: 0.1, value: state.scale,
    onInput: (v) => ((state.scale = v), recompute()),
  });
  control(controls, {
    label: 'Smoothing ω', testid: 'relu-omega', min: -1.3, max: 0.7, step: 0.05, value: 0,
    format: (v) => fmt(10 ** v), onInput: (v) => ((state.omega = 10 ** v), recompute()),
  });
  control(controls, {
    label: 'Samples', testid: 'relu-samples', min: 20, max: 1000, step: 10, value: state.samples,
    onInput: (v) => ((state.samples = v), recompute()),
  });
  control(controls, {
    label: 'Monte-Carlo draws per sample', testid: 'relu-draws', min: 1, max: 100, step: 1, value: state.draws,
    onInput: (v) => ((state.draws = v), recompute()),
  });

  function drawNu() {
    if (!result) return;
    const r = result;
    const tx = extent(r.t, 0.05);
    const axes = new Axes(nuCanvas, { x: tx, y: [0, 1.05], xlabel: 'pre-activation t = wᵀx̃', ylabel: 'ν' });
    const c = axes.colors;
    const on = [];
    const off = [];
    r.t.forEach((t, k) => (r.nu[k] > 0.5 ? on : off).push([t, r.nu[k]]));
    axes.dots(off, c.series[0], { r: 2.5, shape: 'square' });
    axes.dots(on, c.series[1], { r: 3 });
    axes.legend([
      { label: `counts (${on.length})`, color: c.series[1], shape: true },
      { label: `barely seen (${off.length})`, color: c.series[0] },
    ]);
  }

  function drawSpectrum() {
    if (!result) return;
    const a = result.closed.eigenvalues;
    const b = result.mc.eigenvalues;
    const pos = a.concat(b).filter((v) => v > 0);
    const lo = Math.max(Math.min(...pos), Math.max(...pos) * 1e-8);
    const axes = new Axes(specCanvas, {
      x: [0.5, a.length + 0.5], y: [lo / 2, Math.max(...pos) * 2], logY: true,
      xlabel: 'eigenvalue index', ylabel: 'eigenvalue',
    });
    const c = axes.colors;
    const pts = (v) => v.map((e, i) => [i + 1, Math.max(e, lo / 2)]);
    axes.line(pts(a), c.series[1]);
    axes.dots(pts(a), c.series[1], { r: 3.5 });
    axes.dots(pts(b), c.series[2], { r: 3, shape: 'square' });
    axes.legend([
      { label: 'closed form', color: c.series[1], shape: true },
      { label: 'Monte Carlo', color: c.series[2], dash: [2, 2] },
    ]);
  }

  function thumbs(box, list) {
    box.replaceChildren();
    const pal = palette(article);
    for (const d of list) {
      const fig = document.createElement('figure');
      const cv = document.createElement('canvas');
      cv.width = 28;
      cv.height = 28;
      const ctx = cv.getContext('2d');
      const img = ctx.createImageData(28, 28);
      const ink = mix(pal.bg, pal.text, 1).match(/\d+/g).map(Number);
      const paper = mix(pal.bg, pal.bg, 0).match(/\d+/g).map(Number);
      for (let i = 0; i < 784; i++) {
        const u = d.pixels[i] / 255;
        for (let ch = 0; ch < 3; ch++) img.data[4 * i + ch] = Math.round(paper[ch] + (ink[ch] - paper[ch]) * u);
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      cv.setAttribute('role', 'img');
      cv.setAttribute('aria-label', `digit ${d.label}, nu ${fmt(d.nu)}`);
      const cap = document.createElement('figcaption');
      cap.textContent = `ν ${fmt(d.nu, 2)}`;
      fig.append(cv, cap);
      box.append(fig);
    }
  }

  function render() {
    const r = result;
    drawNu();
    drawSpectrum();
    const sum = article.querySelector('[data-role="summary"]');
    sum.textContent =
      `${r.active} of ${r.samples} samples have ν > ½; mean ν = ${fmt(r.mean_nu)}. ` +
      `Trace of G: ${fmt(r.closed.trace, 4)} in closed form, ${fmt(r.mc.trace, 4)} by Monte Carlo ` +
      `(${r.samples} × ${r.draws} sampled outputs, ${r.dim + 1} × ${r.dim + 1} matrix).`;
    sum.dataset.active = r.active;
    sum.dataset.trace = r.closed.trace;
    const ag = article.querySelector('[data-role="agreement"]');
    ag.textContent =
      `Monte Carlo against closed form: ${fmt(100 * r.mc.within2, 3)} % of the entries within 2 standard errors, ` +
      `${fmt(100 * r.mc.within3, 3)} % within 3, the worst at ${fmt(r.mc.worst_se, 3)} SE; ` +
      `relative error ‖MC − G‖/‖G‖ = ${fmt(r.mc.rel_error)}.`;
    ag.dataset.worst = r.mc.worst_se;
    const name = (i) => (i === r.dim ? 'bias' : `x${i + 1}`);
    fillTable(
      article.querySelector('[data-testid="relu-entries"]'),
      ['entry of G', 'closed form', 'Monte Carlo', '± SE'],
      r.entries.map((e) => [`(${name(e.a)}, ${name(e.b)})`, fmt(e.closed, 4), fmt(e.mc, 4), fmt(e.se, 2)]),
    );
    const digits = article.querySelector('[data-role="digits"]');
    digits.hidden = !r.images;
    if (r.images) {
      thumbs(article.querySelector('[data-role="most"]'), r.images.most);
      thumbs(article.querySelector('[data-role="least"]'), r.images.least);
    }
    const sh = r.shared;
    article.querySelector('[data-role="shared"]').textContent =
      'Why the input and softmax layers share one metric. A linear neuron has ν = 1 on every sample, so its ' +
      `metric is E[x̃x̃ᵀ] whatever its weights: for two different weight vectors here the matrices differ by ` +
      `${fmt(sh.linear_diff)}, while the ReLU neuron's moves by ${fmt(100 * sh.relu_diff, 3)} % when its weights turn. ` +
      'One (d+1) × (d+1) matrix therefore serves every neuron of a linear layer. The softmax layer\'s exact metric ' +
      'is not block-diagonal: block (i, j) is E[(η_i δ_ij − η_i η_j) x̃x̃ᵀ], and for three classes on these inputs ' +
      `the off-diagonal blocks are ${fmt(100 * sh.softmax_offdiag_ratio, 3)} % of the diagonal ones in size, coupling ` +
      'the neurons. Keeping it whole would cost (10·(d+1))² entries, so RNGD gives both the input layer (784 + 1 ' +
      'inputs) and the softmax layer the shared E[x̃x̃ᵀ] instead.';
    article.dataset.computed = String((Number(article.dataset.computed) || 0) + 1);
  }

  await recompute();
  keepDrawn(nuCanvas, drawNu);
  keepDrawn(specCanvas, drawSpectrum);
}
