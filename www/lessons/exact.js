// Lesson (d): the exact natural gradient of a tiny MLP with its full Fisher,
// next to RNGD's block-diagonal relative Fisher on the same network and batch.
// Computed by the crate (src/lessons/exact.rs: the crate's MLP, crate::fisher's
// closed forms and RNGD's own preconditioner); this module only draws.

import { Axes, html, keepDrawn, control, fillTable, fmt } from './plot.js';
import { showError } from './index.js';
import { rgbOf } from '../canvas.js';

const STEPS = [
  { id: 'gradient', label: 'gradient g', color: 0 },
  { id: 'exact', label: 'exact NG (F + εI)⁻¹g', color: 4 },
  { id: 'rngd', label: 'RNGD blocks', color: 1 },
];

export async function mount(article, compute) {
  article.append(
    html(`
    <p class="lesson-lead">
      A network small enough to take its whole Fisher information matrix: 2 inputs, one or two hidden layers of a few
      neurons, C classes, a few dozen parameters θ, on a batch of B points of a toy problem (C clouds around a circle).
      The <strong>full FIM</strong> is F = mean<sub>k</sub> J<sub>k</sub>ᵀ(diag p<sub>k</sub> − p<sub>k</sub>p<sub>k</sub>ᵀ)J<sub>k</sub>,
      J<sub>k</sub> the Jacobian of the logits, and the exact natural gradient step is (F + εI)⁻¹g. <strong>RNGD</strong>
      keeps only diagonal blocks, each a neuron's relative Fisher: the input layer and the softmax layer share one
      mean h̃h̃ᵀ across their neurons, a hidden layer fed by a hidden layer has one mean ν·h̃h̃ᵀ per neuron. The step
      shown for RNGD is computed by the crate's RNGD optimizer itself, its metrics set to this batch's. Every matrix is
      damped by ε = damping × its trace, the crate's rule.
    </p>
    <div class="lesson-controls" data-role="controls"></div>
    <p class="lesson-status muted" data-role="status" data-testid="exact-status" aria-live="polite">Computing…</p>
    <div class="lesson-numbers">
      <p data-role="ranks" data-testid="exact-ranks"></p>
    </div>
    <div class="lesson-body two">
      <figure>
        <canvas data-testid="exact-rank-curve" role="img" aria-label="Rank of the full Fisher and of RNGD's blocks against the batch size"></canvas>
        <figcaption>Rank against the batch size B (the first B points of the same sample): the full FIM (circles), its
          bound B·(C − 1) (dashed), and RNGD's block-diagonal metric (squares), whose blocks fill up after a few points
          each. The chosen B is marked.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="exact-spectrum" role="img" aria-label="Eigenvalues of the full Fisher and of RNGD's block-diagonal metric, log scale"></canvas>
        <figcaption>Eigenvalues, largest first, log scale: the full FIM and RNGD's block-diagonal metric (each shared
          block counted once per neuron it serves). Eigenvalues below the rank tolerance are drawn at the floor.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="exact-matrices" role="img" aria-label="Magnitude of the entries of the full Fisher and of RNGD's block-diagonal metric"></canvas>
        <figcaption>|entries| of the full FIM (left) and of RNGD's metric (right), θ in order (layer by layer, neuron by
          neuron, bias last), on a log colour scale; lines mark the layers. RNGD keeps the blocks on the diagonal and
          drops everything that couples two neurons.</figcaption>
      </figure>
      <figure>
        <canvas data-testid="exact-steps" role="img" aria-label="The gradient, the exact natural gradient and the RNGD step, parameter by parameter"></canvas>
        <figcaption>The three steps, parameter by parameter, each scaled to unit length so that their directions can
          be compared (their lengths are in the table).</figcaption>
      </figure>
    </div>
    <div class="lesson-numbers">
      <div class="lesson-table-wrap"><table data-testid="exact-step-table"></table></div>
      <p data-role="cosines" data-testid="exact-cosines"></p>
      <div class="lesson-table-wrap"><table data-testid="exact-blocks"></table></div>
    </div>
    <p class="lesson-look">
      <strong>What to look at.</strong> Move the batch size: each point adds at most C − 1 to the rank of the full FIM,
      so with fewer than P/(C − 1) points it is singular and the damping alone decides the exact step along the
      directions no point has probed; that is why the exact step is so long. However many points, it stays below P:
      the softmax sees only differences of logits, so adding one vector to every class's output weights changes no
      probability, which alone removes (hidden width + 1) directions. RNGD's blocks are small (3 to 7 wide) and
      are full rank after a handful of points, so its inverse is well defined from small batches, at the price of
      ignoring how neurons interact (the off-diagonal part of the left picture). Compare the directions: the cosine
      between the exact and the RNGD step shows how much that costs here. Raise the damping and both steps turn
      towards the gradient (the cosines with g tend to 1). RNGD on the full MNIST network keeps exactly these blocks,
      learnt as moving averages; see them in <a href="#geometry">Geometry</a>.
    </p>`),
  );

  const controls = article.querySelector('[data-role="controls"]');
  const [curveCanvas, specCanvas, matCanvas, stepCanvas] = article.querySelectorAll('canvas');
  const status = article.querySelector('[data-role="status"]');
  const state = { batch: 8, classes: 2, depth: 2, width: 3, activation: 'tanh', damping: 1e-4, lr: 0.1, seed: 1 };
  let result = null;

  const recompute = async () => {
    status.textContent = 'Computing…';
    try {
      result = await compute({ ...state });
      showError(article, null);
      status.textContent = `Network ${result.sizes.join('-')} (${result.activation}), ${result.params} parameters, ` +
        `batch ${result.batch}: computed by the crate in ${fmt(result.compute_ms, 3)} ms.`;
      render();
    } catch (e) {
      status.textContent = '';
      showError(article, e);
    }
  };
  const set = (key) => (v) => ((state[key] = v), recompute());

  control(controls, { label: 'Batch size B', testid: 'exact-batch', min: 1, max: 48, step: 1, value: state.batch, onInput: set('batch') });
  control(controls, {
    kind: 'select', label: 'Classes C', testid: 'exact-classes', value: String(state.classes),
    options: [['2', '2'], ['3', '3'], ['4', '4']], onInput: (v) => set('classes')(Number(v)),
  });
  control(controls, {
    kind: 'select', label: 'Hidden layers', testid: 'exact-depth', value: String(state.depth),
    options: [['1', '1 (input and softmax blocks only)'], ['2', '2 (with per-neuron blocks)']], onInput: (v) => set('depth')(Number(v)),
  });
  control(controls, { label: 'Neurons per hidden layer', testid: 'exact-width', min: 1, max: 6, step: 1, value: state.width, onInput: set('width') });
  control(controls, {
    kind: 'select', label: 'Activation', testid: 'exact-activation', value: state.activation,
    options: [['tanh', 'tanh'], ['relu', 'ReLU'], ['sigmoid', 'sigmoid'], ['elu', 'ELU'], ['prelu', 'PReLU (0.25)']],
    onInput: set('activation'),
  });
  control(controls, {
    label: 'Damping (× trace)', testid: 'exact-damping', min: -8, max: 4, step: 0.5, value: Math.log10(state.damping),
    format: (v) => fmt(10 ** v), onInput: (v) => set('damping')(10 ** v),
  });
  control(controls, {
    label: 'Step size (loss after one step)', testid: 'exact-lr', min: -3, max: 0, step: 0.1, value: Math.log10(state.lr),
    format: (v) => fmt(10 ** v), onInput: (v) => set('lr')(10 ** v),
  });
  control(controls, { label: 'Seed', testid: 'exact-seed', min: 1, max: 20, step: 1, value: state.seed, onInput: set('seed') });

  function drawCurve() {
    if (!result) return;
    const pts = result.rank_curve;
    const top = Math.max(result.params, ...pts.map((p) => p.fisher_bound));
    const axes = new Axes(curveCanvas, { x: [0, pts.length + 1], y: [0, top * 1.08], xlabel: 'batch size B', ylabel: 'rank' });
    const c = axes.colors;
    axes.line([[0, result.params], [pts.length + 1, result.params]], c.muted, { width: 1, dash: [1, 3] });
    axes.line(pts.map((p) => [p.batch, p.fisher_bound]), c.series[4], { dash: [6, 4], width: 1.5 });
    axes.line(pts.map((p) => [p.batch, p.fisher_rank]), c.series[4], { width: 1.5 });
    axes.dots(pts.map((p) => [p.batch, p.fisher_rank]), c.series[4], { r: 2.5 });
    axes.line(pts.map((p) => [p.batch, p.rfim_rank]), c.series[1], { width: 1.5 });
    axes.dots(pts.map((p) => [p.batch, p.rfim_rank]), c.series[1], { r: 2.5, shape: 'square' });
    axes.line([[result.batch, 0], [result.batch, top * 1.08]], c.text, { width: 1, dash: [3, 3] });
    axes.legend([
      { label: 'full FIM', color: c.series[4], shape: 'circle' },
      { label: 'bound B·(C − 1)', color: c.series[4], dash: [6, 4] },
      { label: 'RNGD blocks', color: c.series[1] },
      { label: `P = ${result.params} parameters`, color: c.muted, dash: [1, 3] },
    ]);
  }

  function drawSpectrum() {
    if (!result) return;
    const f = result.fisher.eigenvalues;
    const r = result.rfim.eigenvalues;
    const top = Math.max(f[0], r[0]);
    const floor = top * result.rank_tolerance;
    const clamp = (v) => Math.max(v, floor);
    const axes = new Axes(specCanvas, { x: [1, result.params], y: [floor * 0.5, top * 2], logY: true, xlabel: 'eigenvalue index (largest first)', ylabel: 'eigenvalue' });
    const c = axes.colors;
    axes.line(f.map((v, i) => [i + 1, clamp(v)]), c.series[4], { width: 1.5 });
    axes.dots(f.map((v, i) => [i + 1, clamp(v)]), c.series[4], { r: 2.5 });
    axes.line(r.map((v, i) => [i + 1, clamp(v)]), c.series[1], { width: 1.5, dash: [6, 3] });
    axes.dots(r.map((v, i) => [i + 1, clamp(v)]), c.series[1], { r: 2.5, shape: 'square' });
    axes.line([[1, result.fisher.eps], [result.params, result.fisher.eps]], c.series[4], { width: 1, dash: [1, 3] });
    axes.legend([
      { label: 'full FIM', color: c.series[4], shape: 'circle' },
      { label: 'RNGD blocks', color: c.series[1], dash: [6, 3] },
      { label: 'ε of the full FIM', color: c.series[4], dash: [1, 3] },
    ]);
  }

  function drawMatrices() {
    if (!result) return;
    const P = result.params;
    const css = matCanvas.clientWidth || 480;
    const gap = 16;
    const side = Math.max(60, Math.min((css - gap - 8) / 2, 320));
    const h = side + 24;
    const dpr = window.devicePixelRatio || 1;
    matCanvas.width = Math.round(css * dpr);
    matCanvas.height = Math.round(h * dpr);
    matCanvas.style.height = `${h}px`;
    const ctx = matCanvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const cs = getComputedStyle(matCanvas);
    const v = (n, d) => cs.getPropertyValue(n).trim() || d;
    const lo = rgbOf(v('--lesson-heat-lo', '#fff'));
    const hi = rgbOf(v('--lesson-heat-hi', '#0072b2'));
    const shade = (t) => `rgb(${lo.map((a, i) => Math.round(a + (hi[i] - a) * t)).join(',')})`;
    const text = v('--lesson-text', '#0f172a');
    const grid = v('--lesson-muted', '#64748b');
    ctx.fillStyle = v('--lesson-bg', '#fff');
    ctx.fillRect(0, 0, css, h);
    const mats = [['full FIM', result.fisher.matrix], ['RNGD blocks', result.rfim.matrix]];
    const max = Math.max(...mats.flatMap(([, m]) => m.map(Math.abs)));
    const decades = 6;
    const cell = side / P;
    mats.forEach(([name, m], idx) => {
      const x0 = 4 + idx * (side + gap);
      const y0 = 20;
      for (let i = 0; i < P; i++) {
        for (let j = 0; j < P; j++) {
          const a = Math.abs(m[i * P + j]);
          const t = a > 0 ? Math.max(0, 1 + Math.log10(a / max) / decades) : 0;
          ctx.fillStyle = shade(t);
          ctx.fillRect(x0 + j * cell, y0 + i * cell, cell + 0.5, cell + 0.5);
        }
      }
      ctx.strokeStyle = grid;
      ctx.lineWidth = 1;
      ctx.strokeRect(x0, y0, side, side);
      for (const l of result.layout.slice(1)) {
        const p = x0 + l.offset * cell;
        const q = y0 + l.offset * cell;
        ctx.beginPath();
        ctx.moveTo(p, y0);
        ctx.lineTo(p, y0 + side);
        ctx.moveTo(x0, q);
        ctx.lineTo(x0 + side, q);
        ctx.stroke();
      }
      ctx.fillStyle = text;
      ctx.font = '12px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      ctx.fillText(name, x0, 2);
    });
  }

  function drawSteps() {
    if (!result) return;
    const P = result.params;
    const unit = result.steps.map((s) => s.vector.map((x) => x / (s.norm || 1)));
    const m = Math.max(...unit.flat().map(Math.abs)) || 1;
    const axes = new Axes(stepCanvas, { x: [0, P + 1], y: [-m * 1.1, m * 1.1], xlabel: 'parameter index θ', ylabel: 'step / its length' });
    const c = axes.colors;
    const w = 0.27;
    axes.clip((ctx) => {
      STEPS.forEach((s, si) => {
        ctx.fillStyle = c.series[s.color];
        unit[si].forEach((val, i) => {
          const x = i + 1 + (si - 1) * w;
          const X0 = axes.px(x - w / 2);
          const X1 = axes.px(x + w / 2);
          const Y0 = axes.py(0);
          const Y1 = axes.py(val);
          ctx.fillRect(X0, Math.min(Y0, Y1), Math.max(1, X1 - X0), Math.abs(Y1 - Y0));
        });
      });
    });
    for (const l of result.layout.slice(1)) axes.line([[l.offset + 0.5, -m * 1.1], [l.offset + 0.5, m * 1.1]], c.muted, { width: 1, dash: [2, 3] });
    axes.legend(STEPS.map((s) => ({ label: s.label, color: c.series[s.color] })));
  }

  function render() {
    const r = result;
    drawCurve();
    drawSpectrum();
    drawMatrices();
    drawSteps();
    const ranks = article.querySelector('[data-role="ranks"]');
    ranks.textContent =
      `Full FIM: rank ${r.fisher.rank} of ${r.params} (bound min(B·(C − 1), P) = ${r.fisher.bound}). ` +
      `RNGD's block-diagonal metric: rank ${r.rfim.rank} of ${r.params}. ` +
      `Rank counts eigenvalues above ${r.rank_tolerance} × the largest.`;
    ranks.dataset.fisherRank = r.fisher.rank;
    ranks.dataset.rfimRank = r.rfim.rank;
    const byId = (id) => r.steps.find((s) => s.id === id);
    fillTable(
      article.querySelector('[data-testid="exact-step-table"]'),
      ['step', 'length ‖d‖', 'Fisher length √(dᵀFd)', 'gᵀd', `loss after θ − ${fmt(r.lr)}·d (now ${fmt(r.loss, 4)})`],
      STEPS.map((s) => {
        const x = byId(s.id);
        return [s.label, fmt(x.norm), fmt(x.fisher_norm), fmt(x.descent), fmt(x.loss_after, 4)];
      }),
    );
    const cos = article.querySelector('[data-role="cosines"]');
    cos.textContent =
      `Cosines: exact NG vs RNGD ${fmt(r.cosine.exact_rngd, 3)}; exact NG vs g ${fmt(r.cosine.exact_gradient, 3)}; ` +
      `RNGD vs g ${fmt(r.cosine.rngd_gradient, 3)}.`;
    cos.dataset.exactRngd = r.cosine.exact_rngd;
    fillTable(
      article.querySelector('[data-testid="exact-blocks"]'),
      ['RNGD block', 'size', 'serves', 'rank', 'bound min(B, size)', 'λmax', 'λmin'],
      r.rfim.blocks.map((b) => [
        `layer ${b.layer + 1}${b.neuron == null ? '' : `, neuron ${b.neuron + 1}`}: ${b.kind}`,
        `${b.dim}×${b.dim}`, `${b.serves} neuron${b.serves > 1 ? 's' : ''}`, String(b.rank), String(b.bound),
        fmt(b.eigenvalues[0]), fmt(b.eigenvalues[b.eigenvalues.length - 1]),
      ]),
    );
    article.dataset.computed = String((Number(article.dataset.computed) || 0) + 1);
  }

  await recompute();
  keepDrawn(curveCanvas, drawCurve);
  keepDrawn(specCanvas, drawSpectrum);
  keepDrawn(matCanvas, drawMatrices);
  keepDrawn(stepCanvas, drawSteps);
}
