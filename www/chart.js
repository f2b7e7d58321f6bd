// A small wrapper around uPlot for live line charts with several named series
// (one or more per run). The rest of the page only calls:
//
//   const c = createChart(el, {yLabel, log, format, axisFormat, range});
//   c.setSeries([{key, label, color, dash}]);   // declare the lines (rebuilds)
//   c.addPoint(key, x, y);                      // append a point, redraws lazily
//   c.reset();                                  // drop all points, keep the lines
//   c.setXAxis(label, name);                    // what x is (rebuilds; reset() and re-add the points)
//   c.xAxis()                                   // {label, name}
//   c.pointCount(key?)
//
// uPlot wants all series on one shared x array, so points of different series
// are merged on x; a series without a value at some x gets null there and the
// line is drawn across the gap.

import uPlot from './vendor/uPlot.esm.js';

const AXIS_STROKE = '#475569';
const GRID_STROKE = 'rgba(100, 116, 139, 0.15)';

const defaultFormat = (v) => (v == null ? '–' : String(+v.toPrecision(4)));

export function createChart(el, opts = {}) {
  let {
    xLabel = 'training step',
    xName = 'step',
  } = opts;
  const {
    title = '',
    yLabel = '',
    log = false,
    format = defaultFormat,
    axisFormat = (v) => String(+v.toPrecision(3)),
    range = null,
    height = 280,
    emptyText = 'No points yet: press Start.',
  } = opts;

  el.classList.add('chart-host');
  const empty = document.createElement('div');
  empty.className = 'chart-empty';
  empty.textContent = emptyText;
  el.append(empty);

  let series = []; // [{key, label, color, dash}]
  let xs = [];
  let ys = new Map(); // key -> (number|null)[] aligned with xs
  let plot = null;
  let frame = 0;

  const width = () => Math.max(200, Math.floor(el.clientWidth || 600));

  function build() {
    plot?.destroy();
    const uSeries = [
      { label: xName, value: (u, v) => (v == null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(2)) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 2,
        dash: s.dash,
        spanGaps: true,
        points: { show: (u, si, i0, i1) => i1 - i0 < 60, size: 5 },
        value: (u, v) => format(v),
      })),
    ];
    const yScale = log ? { distr: 3 } : {};
    if (range) yScale.range = range;
    plot = new uPlot(
      {
        title,
        width: width(),
        height,
        series: uSeries,
        scales: { x: { time: false }, y: yScale },
        axes: [
          { label: xLabel, stroke: AXIS_STROKE, grid: { stroke: GRID_STROKE }, ticks: { stroke: GRID_STROKE } },
          {
            label: yLabel,
            stroke: AXIS_STROKE,
            grid: { stroke: GRID_STROKE },
            ticks: { stroke: GRID_STROKE },
            size: 60,
            values: (u, splits) => splits.map((v) => (v == null ? '' : axisFormat(v))),
          },
        ],
        cursor: { drag: { x: true, y: false } },
        legend: { live: true },
        // While the mouse is not over the plot, the legend shows the latest values.
        hooks: { draw: [showLatest], setCursor: [showLatest] },
      },
      data(),
      el,
    );
  }

  function showLatest(u) {
    if (u.cursor.idx != null || xs.length === 0) return;
    const idxs = [xs.length - 1];
    for (const s of series) {
      const arr = ys.get(s.key);
      let i = arr.length - 1;
      while (i >= 0 && arr[i] == null) i--;
      idxs.push(i >= 0 ? i : null);
    }
    u.setLegend({ idxs }, false);
  }

  function data() {
    return [xs, ...series.map((s) => ys.get(s.key))];
  }

  function redraw() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      plot?.setData(data());
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

  const chart = {
    setSeries(list) {
      const old = ys;
      series = list.map((s) => ({ ...s }));
      ys = new Map(series.map((s) => [s.key, old.get(s.key) ?? new Array(xs.length).fill(null)]));
      build();
      updateCount();
    },

    addPoint(key, x, y) {
      const arr = ys.get(key);
      if (!arr) throw new Error(`chart: unknown series ${key}`);
      const value = Number.isFinite(y) && !(log && y <= 0) ? y : null;
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

    setXAxis(label, name) {
      if (label === xLabel && name === xName) return;
      xLabel = label;
      xName = name;
      build();
    },

    /** Copy of the data of one series as [[x...], [y...]] (for tests and export). */
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

    destroy() {
      observer.disconnect();
      plot?.destroy();
      plot = null;
    },
  };

  const observer = new ResizeObserver(() => {
    if (plot && Math.abs(plot.width - width()) > 1) plot.setSize({ width: width(), height });
  });
  observer.observe(el);

  build();
  updateCount();
  return chart;
}
