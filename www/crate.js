// The wasm package on the page's main thread, loaded once: not for training
// (each run trains in its own worker) but for the crate's own word on the
// settings before anything starts: checkConfig (the limits Trainer.create
// enforces), defaultConfig (what an empty field means) and rngdPresets.
// One source of truth: the page never copies a limit or a default.

let loading = null;

/** The crate's answer to checkConfig for the page: null when valid, else
 *  {field, message}. The crate names the exact path (`hidden[2]`); the page
 *  has one control per list, so indices are dropped (`hidden`). A field the
 *  page has no control for (an unknown field, `config` for the config as a
 *  whole) goes to the form's own line (state.js). */
function problemOf(problem) {
  if (problem == null) return null;
  const field = typeof problem.field === 'string' ? problem.field.replace(/\[\d+\]/g, '') : null;
  return { field, message: String(problem.message) };
}

/** Resolves to {checkConfig(config, trainRows), defaultConfig(optimizer), rngdPresets()};
 *  rejects when the package cannot be loaded (the workers report that too). */
export function loadCrate() {
  loading ??= (async () => {
    const wasm = await import('./pkg/rngd_lab.js');
    await wasm.default();
    const has = (name) => typeof wasm[name] === 'function';
    return {
      /** null when valid, else {field, message} (field: the config path without list indices,
       *  e.g. "lr", "rngd.lambda", "hidden"; "config" when the config as a whole is wrong). */
      checkConfig: has('checkConfig') ? (config, trainRows) => problemOf(wasm.checkConfig(config, trainRows)) : null,
      defaultConfig: (optimizer) => wasm.defaultConfig(optimizer),
      rngdPresets: () => (has('rngdPresets') ? [...wasm.rngdPresets()] : []),
      /** A drawing's RGBA pixels → Float32Array(784), MNIST-like; throws "draw something first…" when empty. */
      preprocessDigit: (rgba, width, height) => wasm.preprocessDigit(rgba, width, height),
      /** Gzipped or raw IDX test files → {n, images: Uint8Array (n×784), labels}, by the crate's parser. */
      readDigits: (images, labels) => wasm.readDigits(images, labels),
    };
  })();
  return loading;
}
