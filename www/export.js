// Export of what the page shows: the curves of every run as CSV or JSON (all
// points, raw, with each run's config), each chart as PNG (chart.js builds the
// image, this module saves it) and a run's weights with its config as JSON
// (trainer.exportWeights() in the run's worker, through race.call).
//
// Everything is saved as a Blob through an object URL and an <a download>:
// no request leaves the page.
//
//   const ex = createExport(root, {race, runs: () => [{id, label, config, history, ...}], meta: () => ({...})});
//   ex.refresh();                 // the runs changed: refill the weights' run choice
//   curvesRecord(runs, meta), curvesCSV(record)   // pure, for tests

/** Save `blob` as a file named `filename`. */
export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the URL; give it a moment before letting go.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "20261123-142501": local time, for file names. */
export function fileStamp(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Columns of a snapshot, in this order first; any other numeric field follows. */
const POINT_COLUMNS = ['step', 'epoch', 'seconds', 'train_loss', 'test_loss', 'test_accuracy'];

/** The curves of all runs as one JSON-able record. */
export function curvesRecord(runs, meta = {}) {
  return {
    kind: 'rngd-lab curves',
    exported: new Date().toISOString(),
    ...meta,
    runs: runs.map((r) => ({
      id: r.id,
      label: r.label,
      config: r.config ?? null,
      backend: r.backend ?? null,
      failure: r.failure ?? null,
      points: r.history.map((s) => ({ ...s })),
    })),
  };
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
function csvField(v) {
  if (v == null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Flatten a config to `config.a.b` columns (arrays stay one JSON field). */
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = `${prefix}.${k}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

/** The curves as CSV in long form: one row per run and point, with the run's config in `config.*` columns. */
export function curvesCSV(record) {
  const configs = record.runs.map((r) => flatten(r.config, 'config', {}));
  const extra = new Set();
  for (const r of record.runs) {
    for (const p of r.points) {
      for (const [k, v] of Object.entries(p)) if (!POINT_COLUMNS.includes(k) && (typeof v === 'number' || v == null)) extra.add(k);
    }
  }
  const pointCols = [...POINT_COLUMNS, ...[...extra].sort()];
  const configCols = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const lines = [['run', 'label', ...pointCols, ...configCols].join(',')];
  record.runs.forEach((r, i) => {
    for (const p of r.points) {
      lines.push([r.id, r.label, ...pointCols.map((c) => p[c]), ...configCols.map((c) => configs[i][c])].map(csvField).join(','));
    }
  });
  return `${lines.join('\n')}\n`;
}

/** JSON with typed arrays written as plain arrays. */
const toJSON = (value) =>
  JSON.stringify(value, (k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v) : v), 2);

/**
 * The export bar in `root`: buttons [data-action="export-csv"], [data-action="export-json"],
 * a run choice [data-role="export-run"] and [data-action="export-weights"], and a
 * status line [data-role="export-status"].
 */
export function createExport(root, { race, runs, meta = () => ({}) }) {
  const $ = (sel) => root.querySelector(sel);
  const status = $('[data-role="export-status"]');
  const runSelect = $('[data-role="export-run"]');
  const weightsButton = $('[data-action="export-weights"]');
  const say = (text, kind = 'info') => {
    if (!status) return;
    status.textContent = text;
    status.dataset.kind = kind;
  };

  function withPoints() {
    return runs().filter((r) => r.history.length > 0);
  }

  $('[data-action="export-csv"]')?.addEventListener('click', () => {
    const list = withPoints();
    if (!list.length) return say('No points to export yet: press Start.', 'error');
    const text = curvesCSV(curvesRecord(list, meta()));
    downloadBlob(new Blob([text], { type: 'text/csv' }), `rngd-lab-curves-${fileStamp()}.csv`);
    say(`Saved the curves of ${list.length} ${list.length > 1 ? 'runs' : 'run'} as CSV.`);
  });

  $('[data-action="export-json"]')?.addEventListener('click', () => {
    const list = withPoints();
    if (!list.length) return say('No points to export yet: press Start.', 'error');
    const text = toJSON(curvesRecord(list, meta()));
    downloadBlob(new Blob([text], { type: 'application/json' }), `rngd-lab-curves-${fileStamp()}.json`);
    say(`Saved the curves of ${list.length} ${list.length > 1 ? 'runs' : 'run'} as JSON.`);
  });

  weightsButton?.addEventListener('click', async () => {
    const id = runSelect?.value;
    const run = runs().find((r) => r.id === id);
    if (!race || !run) return say('No run to export: press Start first.', 'error');
    weightsButton.disabled = true;
    say(`Reading the ${run.label} run's weights…`);
    try {
      const data = await race.call(id, 'exportWeights');
      const record = { kind: 'rngd-lab weights', exported: new Date().toISOString(), ...meta(), run: id, label: run.label, ...data };
      if (record.config == null) record.config = run.config ?? null;
      downloadBlob(new Blob([toJSON(record)], { type: 'application/json' }), `rngd-lab-weights-${id}-${fileStamp()}.json`);
      say(`Saved the ${run.label} run's weights and config${data?.step != null ? ` at step ${data.step}` : ''}.`);
    } catch (e) {
      say(`The ${run.label} run's weights could not be exported: ${e?.message ?? e}`, 'error');
    } finally {
      refresh();
    }
  });

  /** Refill the run choice with the current runs (those with a trainer). */
  function refresh() {
    if (!runSelect) return;
    const ids = race?.runIds?.() ?? [];
    const list = runs().filter((r) => ids.includes(r.id));
    const before = runSelect.value;
    runSelect.replaceChildren(...list.map((r) => new Option(r.label, r.id)));
    if (list.some((r) => r.id === before)) runSelect.value = before;
    runSelect.disabled = list.length === 0;
    if (weightsButton) weightsButton.disabled = list.length === 0;
  }

  refresh();
  return { refresh, say };
}
