// "Draw a digit": a pad to draw on (mouse, touch, pen), the drawing made
// MNIST-like by the crate (preprocessDigit, on the page's main thread), and
// every run's class probabilities for it, asked of each run's worker through
// race.call(runId, 'predict', pixels) while you draw.

import { rgbOf } from './canvas.js';
import { loadCrate } from './crate.js';
import { fetchBytes } from './mnist.js';
import { runDef } from './state.js';

const SIDE = 28;
/** Predictions at most this often while drawing. */
const THROTTLE_MS = 100;
/** While a drawing stays on the pad, the runs keep training: ask again this often. */
const REFRESH_MS = 2000;
/** The pad's own resolution, whatever its size on screen: MNIST's 28 pixels at 10×. */
const PAD = 280;
/** A stroke about as thick as an MNIST stroke (2–3 of its 28 pixels). */
const STROKE = 22;

const pct = (p) => `${(100 * p).toFixed(p >= 0.995 || p < 0.005 ? 0 : 1)} %`;

/**
 * @param {HTMLElement} root  the #draw section
 * @param {{race: {call: Function, runIds: () => string[]} | null, label?: (id: string) => string}} opts
 */
export function createDrawView(root, { race, label = (id) => runDef(id)?.label ?? id }) {
  const $ = (sel) => root.querySelector(sel);
  const pad = $('[data-role="pad"]');
  const preview = $('[data-role="preview"]');
  const list = $('[data-role="predictions"]');
  const status = $('[data-role="draw-status"]');
  const summary = $('[data-role="draw-summary"]');
  const ctx = pad.getContext('2d', { willReadFrequently: true });
  const pctx = preview.getContext('2d');
  pad.width = pad.height = PAD;
  preview.width = preview.height = SIDE;

  const ink = () => getComputedStyle(pad).color || '#000';
  let hasInk = false;
  let pixels = null; // the latest preprocessed digit (Float32Array(784)), null when the pad is empty
  let seq = 0; // the latest prediction request; older answers are dropped
  let timer = null;
  let lastAt = 0;
  let inFlight = false;
  let again = false;
  let source = null; // 'drawn' | {index, label} of a test digit

  // ------------------------------------------------------------ drawing
  let stroke = null; // {id, x, y} of the pointer drawing now
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * PAD, y: ((e.clientY - r.top) / r.height) * PAD };
  };
  function segment(a, b, pressure) {
    ctx.strokeStyle = ctx.fillStyle = ink();
    // A pen's pressure varies the width a little; mouse and touch report 0.5 or 0.
    ctx.lineWidth = STROKE * (pressure > 0 && pressure !== 0.5 ? 0.6 + 0.8 * pressure : 1);
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + (a.x === b.x && a.y === b.y ? 0.01 : 0), b.y);
    ctx.stroke();
    hasInk = true;
  }
  pad.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || stroke) return;
    e.preventDefault();
    pad.setPointerCapture?.(e.pointerId);
    if (source && source !== 'drawn') clearPad(); // drawing over a test digit starts afresh
    source = 'drawn';
    const p = at(e);
    stroke = { id: e.pointerId, ...p };
    segment(p, p, e.pressure);
    schedule();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!stroke || e.pointerId !== stroke.id) return;
    e.preventDefault();
    const events = e.getCoalescedEvents?.() ?? [];
    for (const ev of events.length ? events : [e]) {
      const p = at(ev);
      segment(stroke, p, ev.pressure);
      Object.assign(stroke, p);
    }
    schedule();
  });
  const end = (e) => {
    if (!stroke || e.pointerId !== stroke.id) return;
    stroke = null;
    schedule(true);
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  function clearPad() {
    ctx.clearRect(0, 0, PAD, PAD);
    pctx.clearRect(0, 0, SIDE, SIDE);
    hasInk = false;
    pixels = null;
    source = null;
    delete root.dataset.testLabel;
  }

  // Ink is the alpha channel, so a new colour scheme only recolours what is there.
  function recolour() {
    ctx.save();
    ctx.globalCompositeOperation = 'source-in';
    ctx.fillStyle = ink();
    ctx.fillRect(0, 0, PAD, PAD);
    ctx.restore();
    if (pixels) showPreview(pixels);
  }
  matchMedia('(prefers-color-scheme: dark)').addEventListener?.('change', recolour);

  // ------------------------------------------------------------ buttons
  $('[data-action="draw-clear"]').addEventListener('click', () => {
    clearPad();
    seq++;
    renderEmpty('Draw a digit on the pad, or load a test digit.');
    summary.textContent = 'The pad is clear.';
  });

  let testSet = null; // {images: Uint8Array (n×784), labels: Uint8Array, n}
  $('[data-action="draw-random"]').addEventListener('click', async () => {
    try {
      testSet ??= await loadTestDigits();
    } catch (e) {
      setStatus(`Could not load the test digits: ${e.message}`);
      return;
    }
    const index = Math.floor(Math.random() * testSet.n);
    paintTestDigit(testSet.images.subarray(index * SIDE * SIDE, (index + 1) * SIDE * SIDE));
    source = { index, label: testSet.labels[index] };
    root.dataset.testLabel = String(source.label);
    schedule(true);
  });

  /** A 28×28 digit (0–255) drawn on the pad at 10×, smoothed as a browser scales an image. */
  function paintTestDigit(img) {
    clearPad();
    const small = document.createElement('canvas');
    small.width = small.height = SIDE;
    const sctx = small.getContext('2d');
    const data = sctx.createImageData(SIDE, SIDE);
    const rgb = rgbOf(ink());
    for (let k = 0; k < SIDE * SIDE; k++) data.data.set([...rgb, img[k]], 4 * k);
    sctx.putImageData(data, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, PAD, PAD);
    hasInk = true;
  }

  // ------------------------------------------------------------ predictions
  /** Ask for predictions now, or as soon as THROTTLE_MS has passed since the last. */
  function schedule(now = false) {
    if (inFlight) {
      again = true;
      return;
    }
    if (timer) {
      if (!now) return;
      clearTimeout(timer);
    }
    const wait = now ? 0 : Math.max(0, THROTTLE_MS - (performance.now() - lastAt));
    timer = setTimeout(() => {
      timer = null;
      update();
    }, wait);
  }

  async function update() {
    lastAt = performance.now();
    if (!hasInk) return;
    inFlight = true;
    const mine = ++seq;
    try {
      const crate = await loadCrate();
      const { data, width, height } = ctx.getImageData(0, 0, PAD, PAD);
      try {
        pixels = crate.preprocessDigit(new Uint8Array(data.buffer), width, height);
      } catch (e) {
        pixels = null;
        renderEmpty(e.message);
        return;
      }
      showPreview(pixels);
      const ids = race?.runIds() ?? [];
      if (!ids.length) {
        renderEmpty('Start the runs (or press Step) to see what each network makes of it.');
        return;
      }
      const answers = await Promise.all(
        ids.map((id) =>
          race.call(id, 'predict', pixels).then(
            (p) => ({ id, p }),
            (e) => ({ id, error: e.message }),
          ),
        ),
      );
      if (mine !== seq) return; // cleared or redrawn meanwhile
      render(answers);
    } catch (e) {
      setStatus(`Could not preprocess the drawing: ${e.message}`);
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  // Keep the answers current while the runs train and a drawing stays on the
  // pad, as long as the section is on screen.
  let visible = true;
  if ('IntersectionObserver' in window) {
    new IntersectionObserver((entries) => {
      visible = entries.some((e) => e.isIntersecting);
    }).observe(root);
  }
  setInterval(() => {
    if (pixels && !stroke && !inFlight && document.visibilityState === 'visible' && visible) schedule(true);
  }, REFRESH_MS);

  function showPreview(px) {
    const img = pctx.createImageData(SIDE, SIDE);
    const rgb = rgbOf(ink());
    for (let k = 0; k < SIDE * SIDE; k++) img.data.set([...rgb, Math.round(255 * px[k])], 4 * k);
    pctx.putImageData(img, 0, 0);
  }

  // ------------------------------------------------------------ rendering
  function setStatus(text) {
    status.textContent = text;
  }

  function renderEmpty(text) {
    list.replaceChildren();
    root.dataset.predicted = 'false';
    setStatus(text);
  }

  function render(answers) {
    list.replaceChildren(...answers.map(runBlock));
    root.dataset.predicted = 'true';
    const said = answers
      .filter((a) => a.p)
      .map((a) => `${label(a.id)} says ${a.p.label} (${pct(a.p.probabilities[a.p.label])})`);
    const truth = source && source !== 'drawn' ? `Test digit #${source.index + 1}, labelled ${source.label}. ` : '';
    setStatus(`${truth}${said.join('; ')}.`);
    // Screen readers hear the verdicts once a stroke ends, not every 100 ms.
    if (!stroke) summary.textContent = status.textContent;
  }

  function runBlock({ id, p, error }) {
    const block = document.createElement('section');
    block.className = 'draw-run';
    block.dataset.run = id;
    block.dataset.testid = 'draw-run';
    block.style.setProperty('--run-color', `var(--run-${id}, var(--accent))`);
    const head = document.createElement('h3');
    head.className = 'draw-run-head';
    const name = document.createElement('span');
    name.className = 'draw-run-name';
    name.textContent = label(id);
    const verdict = document.createElement('span');
    verdict.className = 'draw-verdict';
    verdict.dataset.testid = 'draw-verdict';
    head.append(name, verdict);
    block.append(head);
    if (error) {
      verdict.textContent = 'no answer';
      const msg = document.createElement('p');
      msg.className = 'draw-error';
      msg.textContent = error;
      block.append(msg);
      return block;
    }
    const probs = Array.from(p.probabilities);
    block.dataset.label = String(p.label);
    block.dataset.probabilities = JSON.stringify(probs);
    verdict.textContent = `${p.label} · ${pct(probs[p.label])}`;
    const bars = document.createElement('ol');
    bars.className = 'draw-bars';
    bars.setAttribute('aria-label', `${label(id)}: probability of each digit`);
    probs.forEach((q, digit) => {
      const li = document.createElement('li');
      li.dataset.digit = String(digit);
      if (digit === p.label) li.className = 'top';
      const d = document.createElement('span');
      d.className = 'draw-digit';
      d.textContent = String(digit);
      const track = document.createElement('span');
      track.className = 'draw-track';
      const fill = document.createElement('span');
      fill.className = 'draw-fill';
      fill.style.width = `${(100 * q).toFixed(1)}%`;
      track.append(fill);
      const v = document.createElement('span');
      v.className = 'draw-p';
      v.textContent = pct(q);
      li.append(d, track, v);
      bars.append(li);
    });
    block.append(bars);
    return block;
  }

  renderEmpty('Draw a digit on the pad, or load a test digit.');
  return {
    /** Ask again now (e.g. after new points), if there is a drawing. */
    refresh: () => pixels && schedule(true),
  };
}

/** The bundled test digits (the same files the workers test on), read by the crate's IDX parser. */
async function loadTestDigits() {
  const [crate, images, labels] = await Promise.all([
    loadCrate(),
    fetchBytes('test-images-idx3-ubyte.gz'),
    fetchBytes('test-labels-idx1-ubyte.gz'),
  ]);
  return crate.readDigits(images, labels);
}
