// Small pictures for the geometry views: MNIST digits from the batch's bytes,
// eigenvectors over the 784 pixels as 28×28 images on a diverging scale, and
// eigenvectors of hidden neurons as bar plots.

import { rgbOf, theme } from './theme.js';
import { hidpi, tile28 as tile, SIDE } from '../canvas.js';

/** A visible canvas of `size` CSS pixels showing `source` (a 28×28 tile) crisply. */
export { crisp as scaled } from '../canvas.js';

export { SIDE };
export const PIXELS = SIDE * SIDE;

/** Digit `row` of `images` (Uint8Array, rows × 784, 0–255) as a 28×28 canvas: ink on the card. */
export function digitTile(images, row, colors = theme()) {
  const ink = rgbOf(colors.ink);
  const base = row * PIXELS;
  return tile((p) => [ink[0], ink[1], ink[2], images[base + p]]);
}

/** The first 784 entries of `vector` as a 28×28 canvas: one colour for positive
 *  weights, another for negative, opacity by |value| / max |value|. */
export function vectorTile(vector, colors = theme()) {
  const pos = rgbOf(colors.positive);
  const neg = rgbOf(colors.negative);
  let max = 0;
  for (let p = 0; p < PIXELS; p++) max = Math.max(max, Math.abs(vector[p]));
  const scale = max > 0 ? 255 / max : 0;
  return tile((p) => {
    const v = vector[p];
    const c = v >= 0 ? pos : neg;
    return [c[0], c[1], c[2], Math.round(Math.abs(v) * scale)];
  });
}

/** An eigenvector of a hidden neuron's metric (inputs, then the bias) as a bar plot. */
export function vectorBars(vector, width, height, label, colors = theme()) {
  const c = document.createElement('canvas');
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  const ctx = hidpi(c, width, height);
  const n = vector.length;
  const max = Math.max(1e-30, ...vector.map(Math.abs));
  const mid = height / 2;
  const bw = width / n;
  ctx.fillStyle = colors.grid;
  ctx.fillRect(0, Math.round(mid) - 0.5, width, 1);
  for (let i = 0; i < n; i++) {
    const v = vector[i] / max;
    ctx.fillStyle = i === n - 1 ? colors.text : v >= 0 ? colors.positive : colors.negative;
    const h = Math.abs(v) * (mid - 2);
    ctx.fillRect(i * bw + (bw > 3 ? 0.5 : 0), v >= 0 ? mid - h : mid, Math.max(1, bw - (bw > 3 ? 1 : 0)), h);
  }
  return c;
}
