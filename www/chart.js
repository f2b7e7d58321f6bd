// Live line charts on uPlot, with the few tools a reader of training curves
// needs. The rest of the page only calls:
//
//   const c = createChart(el, {name, yLabel, log, logToggle, smoothing, views, format, axisFormat, range});
//   c.setSeries([{key, label, color, dash, width, marker}]); // declare the lines (rebuilds)
//   c.addPoint(key, x, y);                      // append a raw point, redraws lazily
//   c.reset();                                  // drop all points, keep the lines
//   c.setXAxis(label, name);                    // what x is (rebuilds; reset() and re-add the points)
//   c.xAxis(), c.pointCount(key?), c.seriesData(key)   // raw points, for tests and export
//
// Tools (a bar built above the chart): log scale, EMA smoothing, a choice of
// views (a map of the raw values, e.g. accuracy → error), zoom by dragging
// across the plot with its reset (button and double-click), series shown or
// hidden by clicking their legend entries, and a PNG of the chart.
//
// uPlot wants all series on one shared x array, so points of different series
// are merged on x; a series without a value at some x gets null there and the
// line is drawn across the gap. Only raw values are stored: smoothing, the view
// and the log scale's refusal of values ≤ 0 are applied when drawing.
//
// Colours come from CSS custom properties (style.css), so a colour given as
// `var(--run-sgd)` follows the light/dark theme; the chart rebuilds itself
// when the system's colour scheme changes.

import uPlot from './vendor/uPlot.esm.js';
import { downloadBlob, fileStamp } from './export.js';

const defaultFormat = (v) => (v == null ? '–' : String(+v.toPrecision(4)));
const xFormat = (v) => (v == null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(2));

const darkQuery = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

/** The value of a CSS colour, `var(--name[, fallback])` resolved against the root element. */
export function cssColor(value, root = document.documentElement) {
  const m = /^var\(\s*(--[\w-]+)\s*(?:,\s*(.+))?\)$/.exec(String(value ?? '').trim());
  if (!m) return value;
  return getComputedStyle(root).getPropertyValue(m[1]).trim() || m[2] || '#888';
}

/** Exponential moving average of the non-null values of `arr`, bias-corrected
 *  (as Adam corrects its moments) so that the first points are not pulled
 *  towards zero; `alpha` is the weight of the past (0 = no smoothing). */
export function smoothEma(arr, alpha) {
  if (!(alpha > 0)) return arr;
  const out = new Array(arr.length).fill(null);
  let m = 0;
  let w = 0;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v == null) continue;
    m = alpha * m + (1 - alpha) * v;
    w = alpha * w + (1 - alpha);
    out[i] = m / w;
  }
  return out;
}

let nextId = 0;

export function createChart(el, opts = {}) {
  let { xLabel = 'training step', xName = 'step', log = false } = opts;
  const {
    name = `chart${++nextId}`,
    title = '',
    yLabel = '',
    logToggle = false,
    smoothing: withSmoothing = false,
    views = null, // [{value, label, yLabel, map: (v) => v}]
    format = defaultFormat,
    axisFormat = (v) => String(+v.toPrecision(3)),
    range = null,
    height = 280,
    emptyText = 'No points yet: press Start.',
  } = opts;
  let view = views?.[0] ?? null;
  let alpha = 0; // EMA smoothing weight
  let zoom = null; // {min, max} of x while zoomed in

  el.classList.add('chart-host');
  el.dataset.log = String(log);
  if (view) el.dataset.view = view.value;
  const empty = document.createElement('div');
  empty.className = 'chart-empty';
  empty.textContent = emptyText;
  el.append(empty);

  let series = []; // [{key, label, color, dash, width, marker, show}]
  let xs = [];
  let ys = new Map(); // key -> raw (number|null)[] aligned with xs
  let plot = null;
  let frame = 0;
  let strokes = []; // the series' colours as last resolved from CSS

  const width = () => Math.max(200, Math.floor(el.clientWidth || 600));
  const currentYLabel = () => view?.yLabel ?? yLabel;

  // ------------------------------------------------------------- the tools
  const tools = document.createElement('div');
  tools.className = 'chart-tools';
  tools.dataset.toolsFor = name;
  const ids = (role) => `${el.id || name}-${role}`;
  const testid = (role) => `${name}-${role}`;

  function control(labelText, input, role) {
    const label = document.createElement('label');
    label.className = `tool tool-${role}`;
    input.id = ids(role);
    input.dataset.role = role;
    input.dataset.testid = testid(role);
    label.htmlFor = input.id;
    label.append(labelText);
    return label;
  }

  let logBox = null;
  if (logToggle) {
    logBox = document.createElement('input');
    logBox.type = 'checkbox';
    logBox.checked = log;
    const label = control('', logBox, 'log');
    label.prepend(logBox);
    label.append(' log scale');
    tools.append(label);
    logBox.addEventListener('change', () => chart.setLog(logBox.checked));
  }

  let viewSelect = null;
  if (views) {
    viewSelect = document.createElement('select');
    for (const v of views) viewSelect.append(new Option(v.label, v.value));
    const label = control('Show ', viewSelect, 'view');
    label.append(viewSelect);
    tools.append(label);
    viewSelect.addEventListener('change', () => chart.setView(viewSelect.value));
  }

  let smoothInput = null;
  let smoothOut = null;
  if (withSmoothing) {
    smoothInput = document.createElement('input');
    smoothInput.type = 'range';
    smoothInput.min = '0';
    smoothInput.max = '0.95';
    smoothInput.step = '0.05';
    smoothInput.value = '0';
    smoothOut = document.createElement('output');
    smoothOut.htmlFor = ids('smoothing');
    smoothOut.textContent = 'off';
    const label = control('Smoothing ', smoothInput, 'smoothing');
    label.title = 'Exponential moving average of the points shown (bias-corrected); exports keep the raw values';
    label.append(smoothInput, smoothOut);
    tools.append(label);
    smoothInput.addEventListener('input', () => chart.setSmoothing(Number(smoothInput.value)));
  }

  const zoomButton = document.createElement('button');
  zoomButton.type = 'button';
  zoomButton.textContent = 'Reset zoom';
  zoomButton.title = 'Drag across the plot to zoom in on the x axis; double-click the plot or press this to see everything';
  zoomButton.dataset.testid = testid('reset-zoom');
  zoomButton.disabled = true;
  zoomButton.addEventListener('click', () => chart.resetZoom());

  const pngButton = document.createElement('button');
  pngButton.type = 'button';
  pngButton.textContent = 'PNG';
  pngButton.title = 'Download this chart, with its legend, as a PNG image';
  pngButton.dataset.testid = testid('png');
  pngButton.setAttribute('aria-label', `Download the ${name} chart as PNG`);
  pngButton.addEventListener('click', async () => {
    try {
      downloadBlob(await chart.toPNG(), `rngd-lab-${name}-${fileStamp()}.png`);
      pngButton.title = 'Download this chart, with its legend, as a PNG image';
    } catch (e) {
      pngButton.title = `The PNG could not be made: ${e?.message ?? e}`;
    }
  });
  const buttons = document.createElement('span');
  buttons.className = 'tool-buttons';
  buttons.append(zoomButton, pngButton);
  tools.append(buttons);
  el.before(tools);

  // Zoom and pan from the keyboard, as dragging does with a mouse: the plot
  // takes focus; + and − zoom the x axis about its middle, ← and → pan by a
  // quarter of the range, 0 (or Escape) shows everything.
  el.tabIndex = 0;
  el.setAttribute('role', 'group');
  el.setAttribute('aria-label', `${name} chart: + and − zoom the x axis, arrow keys pan, 0 shows everything`);
  el.addEventListener('keydown', (e) => {
    if (xs.length < 2 || e.altKey || e.ctrlKey || e.metaKey) return;
    const all = { min: xs[0], max: xs[xs.length - 1] };
    const cur = zoom ?? all;
    const span = cur.max - cur.min;
    const mid = (cur.min + cur.max) / 2;
    let next;
    if (e.key === '+' || e.key === '=') next = { min: mid - span / 4, max: mid + span / 4 };
    else if (e.key === '-' || e.key === '_') next = { min: mid - span, max: mid + span };
    else if (e.key === 'ArrowLeft') next = { min: cur.min - span / 4, max: cur.max - span / 4 };
    else if (e.key === 'ArrowRight') next = { min: cur.min + span / 4, max: cur.max + span / 4 };
    else if (e.key === '0' || e.key === 'Escape') next = all;
    else return;
    e.preventDefault();
    // Kept within the data: a range that covers it all is no zoom.
    const width = Math.min(next.max - next.min, all.max - all.min);
    const min = Math.max(all.min, Math.min(next.min, all.max - width));
    if (width >= all.max - all.min) chart.resetZoom();
    else chart.zoom(min, min + width);
  });

  // ----------------------------------------------------------------- plot
  function yRange(u, min, max) {
    if (min == null || max == null || !Number.isFinite(min) || !Number.isFinite(max)) {
      // No points yet: empty axes with a sensible span.
      return log ? [0.01, 10] : range ? range(u, null, null) : [0, 1];
    }
    // A little room around the lines; whole decades would squash them.
    if (log) return min > 0 ? [min / 1.25, max * 1.25] : uPlot.rangeLog(min, max, 10, false);
    if (range) return range(u, min, max);
    return uPlot.rangeNum(min, max, 0.1, true);
  }

  function build() {
    const shown = plot ? plot.series.slice(1).map((s) => s.show) : null;
    plot?.destroy();
    const axis = cssColor('var(--chart-axis, #475569)');
    const grid = cssColor('var(--chart-grid, rgba(100, 116, 139, 0.15))');
    const bg = cssColor('var(--card, #fff)');
    const font = '12px system-ui, sans-serif';
    const labelFont = 'bold 12px system-ui, sans-serif';
    const uSeries = [
      { label: xName, value: (u, v) => xFormat(v) },
      ...series.map((s, i) => {
        const color = cssColor(s.color);
        const hollow = s.marker === 'hollow';
        return {
          label: s.label,
          stroke: color,
          width: s.width ?? 2,
          dash: s.dash,
          spanGaps: true,
          show: shown?.[i] ?? s.show ?? true,
          // Test points are marked by hollow circles at every point; training
          // points by filled dots only while they are few.
          points: {
            show: hollow ? true : (u, si, i0, i1) => i1 - i0 < 60,
            size: hollow ? 6 : 5,
            width: 1.5,
            stroke: color,
            fill: hollow ? bg : color,
          },
          value: (u, v) => format(v),
        };
      }),
    ];
    const yScale = { distr: log ? 3 : 1, range: yRange };
    const axisOpts = { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, font, labelFont };
    plot = new uPlot(
      {
        title,
        width: width(),
        height,
        series: uSeries,
        scales: { x: { time: false }, y: yScale },
        axes: [
          { ...axisOpts, label: xLabel },
          {
            ...axisOpts,
            label: currentYLabel(),
            size: 60,
            values: (u, splits) => splits.map((v) => (v == null ? '' : axisFormat(v))),
          },
        ],
        cursor: {
          drag: { x: true, y: false, setScale: false },
          bind: {
            // uPlot's double-click shows the whole x range; the zoom state follows.
            dblclick: (u, targ, handler) => (e) => {
              zoom = null;
              syncZoomState();
              return handler(e);
            },
          },
        },
        legend: { live: true, markers: { dash: (u, i) => (u.series[i].dash ? 'dashed' : 'solid') } },
        hooks: {
          // While the mouse is not over the plot, the legend shows the latest values.
          draw: [showLatest],
          setCursor: [showLatest],
          setSelect: [onSelect],
          setSeries: [
            (u, i) => {
              if (i != null && series[i - 1]) series[i - 1].show = u.series[i].show;
              if (i != null) u.root.querySelectorAll('.u-legend .u-series')[i]?.querySelector('th')?.setAttribute('aria-pressed', String(u.series[i].show));
              el.dataset.hidden = series.filter((s) => s.show === false).map((s) => s.key).join(' ');
            },
          ],
        },
      },
      data(),
      el,
    );
    strokes = uSeries.slice(1).map((s) => s.stroke);
    keyboardLegend();
    applyZoom();
  }

  /** Legend entries toggle their series on a click (uPlot's); make them keys too. */
  function keyboardLegend() {
    const rows = plot.root.querySelectorAll('.u-legend .u-series');
    rows.forEach((row, i) => {
      if (i === 0) return;
      const th = row.querySelector('th');
      th.tabIndex = 0;
      th.setAttribute('role', 'button');
      th.setAttribute('aria-pressed', String(plot.series[i].show));
      th.title = 'Show or hide this line';
      th.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        plot.setSeries(i, { show: !plot.series[i].show });
      });
    });
  }

  /** A drag across the plot: zoom the x axis to it. */
  function onSelect(u) {
    if (u.select.width < 2) return;
    const min = u.posToVal(u.select.left, 'x');
    const max = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    chart.zoom(min, max);
  }

  function applyZoom() {
    if (zoom && plot) plot.setScale('x', { min: zoom.min, max: zoom.max });
  }

  function syncZoomState() {
    zoomButton.disabled = !zoom;
    el.dataset.zoomed = String(!!zoom);
  }

  function showLatest(u) {
    if (u.cursor.idx != null || xs.length === 0) return;
    const idxs = [xs.length - 1];
    const shown = u.data;
    for (let k = 1; k < shown.length; k++) {
      const arr = shown[k];
      let i = arr.length - 1;
      while (i >= 0 && arr[i] == null) i--;
      idxs.push(i >= 0 ? i : null);
    }
    u.setLegend({ idxs }, false);
  }

  /** What is drawn: the view's map of each raw series, smoothed, without values a log scale cannot show. */
  function shownSeries(raw) {
    let arr = view?.map ? raw.map((v) => (v == null ? null : view.map(v))) : raw;
    arr = smoothEma(arr, alpha);
    if (log) arr = arr.map((v) => (v != null && v > 0 ? v : null));
    return arr;
  }

  function data() {
    // Before the first point: two x positions and no values, so that uPlot draws empty axes.
    if (xs.length === 0) return [[0, 1], ...series.map(() => [null, null])];
    return [xs, ...series.map((s) => shownSeries(ys.get(s.key)))];
  }

  function redraw() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!plot) return;
      plot.setData(data());
      applyZoom();
    });
  }

  function updateCount() {
    const n = pointCount();
    el.dataset.points = String(n);
    empty.hidden = n > 0;
  }

  function pointCount(key) {
    if (key !== undefined) return (ys.get(key) || []).filter((v) => v != null).length;
    let n = 0;
    for (const arr of ys.values()) for (const v of arr) if (v != null) n++;
    return n;
  }

  /** The chart drawn on one canvas: title, uPlot's canvas (plot and axes) and a legend. */
  function composeCanvas() {
    const ratio = window.devicePixelRatio || 1;
    const src = plot.ctx.canvas;
    const pad = 12;
    const titleH = 26;
    const rowH = 20;
    const bg = cssColor('var(--card, #fff)');
    const text = cssColor('var(--text, #0f172a)');
    const visible = plot.series.map((s, i) => ({ s, i })).filter(({ s, i }) => i > 0 && s.show);
    const w = plot.width;
    const perRow = Math.max(1, Math.floor((w - 2 * pad) / 210));
    const legendH = Math.ceil(visible.length / perRow) * rowH + pad;
    const h = titleH + plot.height + legendH;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = text;
    ctx.font = 'bold 14px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const head = [opts.exportTitle ?? name, smoothing() > 0 ? `EMA smoothing ${smoothing()}` : '', zoom ? 'zoomed' : '']
      .filter(Boolean)
      .join(' · ');
    ctx.fillText(head, pad, titleH / 2 + 2);
    // uPlot's canvas holds the plot area and the axes, in device pixels.
    ctx.drawImage(src, 0, titleH, plot.width, plot.height);
    ctx.font = '12px system-ui, sans-serif';
    const latest = data();
    visible.forEach(({ s, i }, k) => {
      const col = k % perRow;
      const row = Math.floor(k / perRow);
      const x = pad + col * 210;
      const y = titleH + plot.height + pad / 2 + row * rowH + rowH / 2;
      ctx.strokeStyle = cssColor(series[i - 1].color);
      ctx.lineWidth = 2;
      ctx.setLineDash(series[i - 1].dash ?? []);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + 26, y);
      ctx.stroke();
      ctx.setLineDash([]);
      if (series[i - 1].marker === 'hollow') {
        ctx.fillStyle = bg;
        ctx.beginPath();
        ctx.arc(x + 13, y, 3, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
      const arr = latest[i];
      let j = arr.length - 1;
      while (j >= 0 && arr[j] == null) j--;
      ctx.fillStyle = text;
      ctx.fillText(`${s.label}: ${j >= 0 ? format(arr[j]) : '–'}`, x + 32, y);
    });
    return canvas;
  }

  const smoothing = () => alpha;

  const chart = {
    name,

    setSeries(list) {
      const old = ys;
      const oldShow = new Map(series.map((s) => [s.key, s.show]));
      series = list.map((s) => ({ ...s, show: oldShow.get(s.key) ?? s.show ?? true }));
      ys = new Map(series.map((s) => [s.key, old.get(s.key) ?? new Array(xs.length).fill(null)]));
      plot?.destroy();
      plot = null;
      build();
      updateCount();
    },

    series: () => series.map((s) => ({ key: s.key, label: s.label, show: s.show !== false })),

    addPoint(key, x, y) {
      const arr = ys.get(key);
      if (!arr) throw new Error(`chart: unknown series ${key}`);
      const value = Number.isFinite(y) ? y : null;
      let i;
      if (xs.length === 0 || x > xs[xs.length - 1]) {
        i = xs.length;
        xs.push(x);
        for (const a of ys.values()) a.push(null);
      } else {
        // binary search for x
        let lo = 0;
        let hi = xs.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (xs[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
        if (xs[i] !== x) {
          xs.splice(i, 0, x);
          for (const a of ys.values()) a.splice(i, 0, null);
        }
      }
      arr[i] = value;
      updateCount();
      redraw();
    },

    reset() {
      xs = [];
      for (const key of ys.keys()) ys.set(key, []);
      zoom = null;
      syncZoomState();
      updateCount();
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      plot?.setData(data());
    },

    pointCount,

    /** What x is: {label (the axis title), name (the legend's)}. */
    xAxis() {
      return { label: xLabel, name: xName };
    },

    setXAxis(label, nameX) {
      if (label === xLabel && nameX === xName) return;
      xLabel = label;
      xName = nameX;
      zoom = null;
      syncZoomState();
      build();
    },

    /** Copy of the raw data of one series as [[x...], [y...]] (for tests and export). */
    seriesData(key) {
      const arr = ys.get(key) || [];
      const outX = [];
      const outY = [];
      arr.forEach((v, i) => {
        if (v != null) {
          outX.push(xs[i]);
          outY.push(v);
        }
      });
      return [outX, outY];
    },

    /** Log scale on y (a rebuild: uPlot fixes a scale's distribution when it is made). */
    setLog(on) {
      on = !!on;
      if (logBox) logBox.checked = on;
      if (on === log) return;
      log = on;
      el.dataset.log = String(log);
      build();
    },
    isLog: () => log,

    /** The y scale's distribution as uPlot has it: 1 linear, 3 logarithmic. */
    scaleDistr: () => plot?.scales.y.distr ?? null,

    setSmoothing(a) {
      alpha = Math.min(0.99, Math.max(0, Number(a) || 0));
      if (smoothInput) smoothInput.value = String(alpha);
      if (smoothOut) smoothOut.textContent = alpha > 0 ? alpha.toFixed(2) : 'off';
      el.dataset.smoothing = String(alpha);
      plot?.setData(data());
      applyZoom();
    },
    smoothing,

    setView(value) {
      const v = views?.find((x) => x.value === value);
      if (!v || v === view) return;
      view = v;
      if (viewSelect) viewSelect.value = v.value;
      el.dataset.view = v.value;
      build();
    },
    view: () => view?.value ?? null,

    /** The values drawn for a series (after view, smoothing and log), aligned with `xValues()`. */
    shownData: (key) => {
      const i = series.findIndex((s) => s.key === key);
      return i < 0 ? [] : data()[i + 1].slice();
    },

    /** Show or hide a series (as a click on its legend entry does). */
    setVisible(key, show) {
      const i = series.findIndex((s) => s.key === key);
      if (i >= 0) plot.setSeries(i + 1, { show: !!show });
    },
    isVisible: (key) => series.find((s) => s.key === key)?.show !== false,

    zoom(min, max) {
      if (!(max > min)) return;
      zoom = { min, max };
      syncZoomState();
      applyZoom();
    },

    resetZoom() {
      zoom = null;
      syncZoomState();
      plot?.setData(data());
    },

    /** The x range on screen: {min, max}. */
    xRange: () => ({ min: plot?.scales.x.min ?? null, max: plot?.scales.x.max ?? null }),
    isZoomed: () => !!zoom,

    /** The chart as a PNG blob: title, plot with its axes, and a legend with the latest values. */
    async toPNG() {
      if (frame) {
        cancelAnimationFrame(frame);
        frame = 0;
        plot.setData(data());
        applyZoom();
      }
      // uPlot commits its drawing in a microtask; let it finish.
      await new Promise((resolve) => requestAnimationFrame(() => resolve()));
      const canvas = composeCanvas();
      return new Promise((resolve, reject) =>
        canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the chart could not be drawn as PNG'))), 'image/png'),
      );
    },

    /** The series' line colours as drawn (CSS variables resolved). */
    strokes: () => strokes.slice(),

    /** Colours are read from CSS variables: read them again (after a theme change). */
    rebuild: () => build(),

    destroy() {
      observer.disconnect();
      darkQuery?.removeEventListener('change', onScheme);
      plot?.destroy();
      plot = null;
      tools.remove();
    },
  };

  const observer = new ResizeObserver(() => {
    if (plot && Math.abs(plot.width - width()) > 1) plot.setSize({ width: width(), height });
  });
  observer.observe(el);

  // The theme's colours change with the system's colour scheme.
  const onScheme = () => build();
  darkQuery?.addEventListener('change', onScheme);

  syncZoomState();
  build();
  updateCount();
  return chart;
}
