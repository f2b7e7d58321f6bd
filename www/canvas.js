// Canvas helpers the page's views share: a canvas drawn at the screen's pixel
// density, and 28×28 images (digits, eigenvectors) shown sharp at any size.

/** Sizes `canvas` to `w`×`h` CSS pixels at the screen's density and clears it;
 *  returns its 2D context, transformed so that drawing is in CSS pixels. */
export function hidpi(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const pw = Math.round(w * dpr);
  const ph = Math.round(h * dpr);
  // Assigning a size reallocates the canvas: only when it changes.
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

export const SIDE = 28;

/** A 28×28 canvas of RGBA data made by `rgbaAt(pixel) → [r, g, b, a]`. */
export function tile28(rgbaAt) {
  const c = document.createElement('canvas');
  c.width = SIDE;
  c.height = SIDE;
  const img = new ImageData(SIDE, SIDE);
  for (let p = 0; p < SIDE * SIDE; p++) img.data.set(rgbaAt(p), 4 * p);
  c.getContext('2d').putImageData(img, 0, 0);
  return c;
}

/** A new canvas of `size` CSS pixels showing `source` (a small image)
 *  without smoothing, so that its pixels stay sharp; an image for screen readers. */
export function crisp(source, size, label) {
  const dpr = window.devicePixelRatio || 1;
  const c = document.createElement('canvas');
  c.width = Math.round(size * dpr);
  c.height = Math.round(size * dpr);
  c.style.width = `${size}px`;
  c.style.height = `${size}px`;
  const ctx = c.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, c.width, c.height);
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  return c;
}

const parsed = new Map();
let probe = null;
/** Any CSS colour as [r, g, b] (0–255), through the canvas's own parser
 *  (cached: a heat map asks thousands of times). */
export function rgbOf(css) {
  let rgb = parsed.get(css);
  if (!rgb) {
    probe ??= document.createElement('canvas').getContext('2d');
    probe.fillStyle = '#000';
    probe.fillStyle = css;
    const s = probe.fillStyle;
    rgb = s.startsWith('#')
      ? [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16))
      : (s.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map(Number);
    parsed.set(css, rgb);
  }
  return rgb;
}
