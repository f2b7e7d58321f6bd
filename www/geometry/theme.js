// Colours of the geometry views, read from the page's CSS variables (style.css
// defines them, with dark values under prefers-color-scheme), so the canvases
// follow the theme. Canvas code asks again at every draw; the views redraw
// when the scheme changes.

const FALLBACK = {
  text: '#475569',
  grid: 'rgba(100, 116, 139, 0.18)',
  faint: '#94a3b8',
  card: '#ffffff',
  zero: '#e4e4e7',
  singular: '#b91c1c',
  mark: '#d55e00',
  positive: '#e69f00',
  negative: '#0072b2',
  ink: '#0f172a',
  frame: 'rgba(71, 85, 105, 0.5)',
};

export function theme() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
  return {
    text: v('--chart-axis', FALLBACK.text),
    grid: v('--chart-grid', FALLBACK.grid),
    faint: v('--faint', FALLBACK.faint),
    card: v('--card', FALLBACK.card),
    zero: v('--surface-3', FALLBACK.zero),
    singular: v('--danger', FALLBACK.singular),
    mark: v('--oi-vermillion', FALLBACK.mark),
    positive: v('--oi-orange', FALLBACK.positive),
    negative: v('--oi-blue', FALLBACK.negative),
    ink: v('--text', FALLBACK.ink),
    frame: v('--chart-axis', FALLBACK.frame),
  };
}

/** Calls `redraw` when the system switches between light and dark. */
export function onSchemeChange(redraw) {
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', redraw);
}

/** Any CSS colour as [r, g, b] (0–255). */
export { rgbOf } from '../canvas.js';
