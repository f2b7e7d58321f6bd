// Small canvas plots for the lessons: axes with ticks and labels, lines,
// dots, heat maps and bars, coloured from CSS variables (lessons.css maps them
// onto the page's palette) so that dark mode and the colour-blind-safe palette
// apply here too. Each plot is redrawn from its data on resize and on a
// change of colour scheme.

import { rgbOf } from '../canvas.js';

/** The lesson palette, read from the computed style of `el`. */
export function palette(el) {
  const cs = getComputedStyle(el);
  const v = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
  return {
    text: v('--lesson-text', '#0f172a'),
    muted: v('--lesson-muted', '#64748b'),
    grid: v('--lesson-grid', '#e2e8f0'),
    bg: v('--lesson-bg', '#ffffff'),
    series: [1, 2, 3, 4, 5].map((i) => v(`--lesson-c${i}`, ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00'][i - 1])),
    heatLo: v('--lesson-heat-lo', '#ffffff'),
    heatHi: v('--lesson-heat-hi', '#0072b2'),
  };
}

/** Redraws `draw()` now, when the canvas is resized and when the colour scheme changes. */
export function keepDrawn(canvas, draw) {
  draw();
  let w = canvas.clientWidth;
  new ResizeObserver(() => {
    if (canvas.clientWidth !== w) {
      w = canvas.clientWidth;
      draw();
    }
  }).observe(canvas);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', draw);
}

/** A colour between `lo` (t = 0) and `hi` (t = 1). */
export function mix(lo, hi, t) {
  const a = rgbOf(lo);
  const b = rgbOf(hi);
  const u = Math.min(1, Math.max(0, t));
  return `rgb(${a.map((x, i) => Math.round(x + (b[i] - x) * u)).join(',')})`;
}

/** About `n` round tick values covering [lo, hi]. */
export function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** A short label for a number. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(digits - 1).replace('e+', 'e');
  return Number(x.toPrecision(digits)).toString();
}

/** A lesson's static markup (written in its own module, never from data) as a fragment. */
export function html(markup) {
  const t = document.createElement('template');
  t.innerHTML = markup;
  return t.content;
}

/**
 * A plot on `canvas`: frame, ticks and axis labels for x ∈ xr, y ∈ yr
 * (`logY`: y is drawn on a log10 scale; give yr in data units).
 */
export class Axes {
  constructor(canvas, { x, y, xlabel = '', ylabel = '', logY = false, height = null, title = '' }) {
    const css = canvas.clientWidth || 480;
    const h = height ?? Math.round(Math.min(360, Math.max(220, css * 0.62)));
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(css * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.height = `${h}px`;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.ctx = ctx;
    this.colors = palette(canvas);
    this.w = css;
    this.h = h;
    this.logY = logY;
    this.m = { l: 56, r: 12, t: title ? 22 : 10, b: 40 };
    this.x = x;
    this.y = logY ? y.map((v) => Math.log10(v)) : y;
    ctx.fillStyle = this.colors.bg;
    ctx.fillRect(0, 0, css, h);
    this.frame(xlabel, ylabel, title);
  }

  px(x) {
    const { l, r } = this.m;
    return l + ((x - this.x[0]) / (this.x[1] - this.x[0] || 1)) * (this.w - l - r);
  }

  py(y) {
    const { t, b } = this.m;
    const v = this.logY ? Math.log10(y) : y;
    return this.h - b - ((v - this.y[0]) / (this.y[1] - this.y[0] || 1)) * (this.h - t - b);
  }

  frame(xlabel, ylabel, title) {
    const { ctx, colors, m } = this;
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.muted;
    ctx.lineWidth = 1;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of ticks(this.x[0], this.x[1], Math.max(3, Math.floor(this.w / 90)))) {
      const X = this.px(t);
      ctx.beginPath();
      ctx.moveTo(X, m.t);
      ctx.lineTo(X, this.h - m.b);
      ctx.stroke();
      ctx.fillText(fmt(t), X, this.h - m.b + 4);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const yt = this.logY
      ? ticks(Math.floor(this.y[0]), Math.ceil(this.y[1]), 5).filter((e) => Number.isInteger(e) && e >= this.y[0] - 1e-9 && e <= this.y[1] + 1e-9)
      : ticks(this.y[0], this.y[1], 5);
    for (const t of yt) {
      const Y = this.logY ? this.py(10 ** t) : this.py(t);
      ctx.beginPath();
      ctx.moveTo(m.l, Y);
      ctx.lineTo(this.w - m.r, Y);
      ctx.stroke();
      ctx.fillText(this.logY ? `1e${t}` : fmt(t), m.l - 4, Y);
    }
    ctx.strokeStyle = colors.muted;
    ctx.strokeRect(m.l, m.t, this.w - m.l - m.r, this.h - m.t - m.b);
    ctx.fillStyle = colors.text;
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(xlabel, (m.l + this.w - m.r) / 2, this.h - 4);
    if (title) {
      ctx.textBaseline = 'top';
      ctx.fillText(title, (m.l + this.w - m.r) / 2, 3);
    }
    ctx.save();
    ctx.translate(13, (m.t + this.h - m.b) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(ylabel, 0, 0);
    ctx.restore();
  }

  clip(fn) {
    const { ctx, m } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, this.w - m.l - m.r, this.h - m.t - m.b);
    ctx.clip();
    fn(ctx);
    ctx.restore();
  }

  /** A polyline through [[x, y], …]; `dash` e.g. [6, 4]. */
  line(points, color, { dash = [], width = 2 } = {}) {
    this.clip((ctx) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      ctx.beginPath();
      let started = false;
      for (const [x, y] of points) {
        if (!Number.isFinite(x) || !Number.isFinite(y) || (this.logY && !(y > 0))) {
          started = false;
          continue;
        }
        if (started) ctx.lineTo(this.px(x), this.py(y));
        else ctx.moveTo(this.px(x), this.py(y));
        started = true;
      }
      ctx.stroke();
      ctx.setLineDash([]);
    });
  }

  /** Dots at [[x, y], …]; `shape`: 'circle' | 'square' | 'cross' (told apart by more than colour). */
  dots(points, color, { r = 3, shape = 'circle' } = {}) {
    this.clip((ctx) => {
      ctx.fillStyle = color;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      for (const [x, y] of points) {
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        const X = this.px(x);
        const Y = this.py(y);
        ctx.beginPath();
        if (shape === 'square') ctx.rect(X - r, Y - r, 2 * r, 2 * r);
        else if (shape === 'cross') {
          ctx.moveTo(X - r, Y - r);
          ctx.lineTo(X + r, Y + r);
          ctx.moveTo(X + r, Y - r);
          ctx.lineTo(X - r, Y + r);
          ctx.stroke();
          continue;
        } else ctx.arc(X, Y, r, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }

  /** A heat map of values[j * xs.length + i] at (xs[i], ys[j]); colour(v) per cell. */
  heat(xs, ys, values, colour) {
    const dx = (xs[xs.length - 1] - xs[0]) / (xs.length - 1 || 1);
    const dy = (ys[ys.length - 1] - ys[0]) / (ys.length - 1 || 1);
    this.clip((ctx) => {
      for (let j = 0; j < ys.length; j++) {
        for (let i = 0; i < xs.length; i++) {
          const v = values[j * xs.length + i];
          if (!Number.isFinite(v)) continue;
          ctx.fillStyle = colour(v);
          const x0 = this.px(xs[i] - dx / 2);
          const x1 = this.px(xs[i] + dx / 2);
          const y0 = this.py(ys[j] + dy / 2);
          const y1 = this.py(ys[j] - dy / 2);
          ctx.fillRect(x0, y0, x1 - x0 + 0.6, y1 - y0 + 0.6);
        }
      }
    });
  }

  /** A legend in the top-right corner: [{label, color, dash?, shape?}]. */
  legend(items) {
    const { ctx, colors } = this;
    ctx.font = '11px system-ui, sans-serif';
    const wmax = Math.max(...items.map((it) => ctx.measureText(it.label).width));
    const x0 = this.w - this.m.r - wmax - 40;
    let y = this.m.t + 10;
    ctx.fillStyle = colors.bg;
    ctx.globalAlpha = 0.85;
    ctx.fillRect(x0 - 6, this.m.t + 2, wmax + 44, items.length * 16 + 4);
    ctx.globalAlpha = 1;
    for (const it of items) {
      ctx.strokeStyle = it.color;
      ctx.fillStyle = it.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(it.dash ?? []);
      ctx.beginPath();
      ctx.moveTo(x0, y);
      ctx.lineTo(x0 + 26, y);
      ctx.stroke();
      ctx.setLineDash([]);
      if (it.shape) {
        ctx.beginPath();
        ctx.arc(x0 + 13, y, 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.fillStyle = colors.text;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillText(it.label, x0 + 32, y);
      y += 16;
    }
  }
}

/** [lo, hi] of the finite numbers in `values`, widened by `pad` of the range. */
export function extent(values, pad = 0.05) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

// ------------------------------------------------------------ controls

let uid = 0;

/**
 * A labelled control appended to `parent`: a range slider with its value
 * shown, a <select>, or a checkbox. `onInput(value)` on every change.
 * Returns {el, get(), set(v)}; `el` carries data-testid `testid`.
 */
export function control(parent, { kind = 'range', label, testid, min, max, step, value, options, format = fmt, onInput, hint }) {
  const id = `lesson-ctl-${++uid}`;
  const wrap = document.createElement('div');
  wrap.className = `lesson-control ${kind}`;
  const lab = document.createElement('label');
  lab.htmlFor = id;
  lab.textContent = label;
  wrap.append(lab);
  let el;
  if (kind === 'select') {
    el = document.createElement('select');
    for (const [v, text] of options) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = text;
      el.append(o);
    }
    el.value = value;
  } else if (kind === 'checkbox') {
    el = document.createElement('input');
    el.type = 'checkbox';
    el.checked = Boolean(value);
    wrap.prepend(el);
  } else {
    el = document.createElement('input');
    el.type = 'range';
    Object.assign(el, { min, max, step });
    el.value = value;
  }
  el.id = id;
  if (testid) el.dataset.testid = testid;
  const out = document.createElement('output');
  out.htmlFor = id;
  const show = () => {
    if (kind === 'range') out.textContent = format(Number(el.value));
  };
  if (kind === 'range') wrap.append(el, out);
  else if (kind === 'select') wrap.append(el);
  if (hint) {
    const h = document.createElement('span');
    h.className = 'lesson-hint';
    h.textContent = hint;
    wrap.append(h);
  }
  show();
  const get = () => (kind === 'checkbox' ? el.checked : kind === 'select' ? el.value : Number(el.value));
  el.addEventListener(kind === 'range' ? 'input' : 'change', () => {
    show();
    onInput?.(get());
  });
  parent.append(wrap);
  return {
    el,
    get,
    set(v) {
      if (kind === 'checkbox') el.checked = v;
      else el.value = v;
      show();
    },
  };
}

/** A <table> of `rows` (arrays of cells) under `head`, replacing `table`'s content. */
export function fillTable(table, head, rows) {
  table.replaceChildren();
  const thead = table.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    thead.append(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
}
