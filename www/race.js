// The race coordinator: one run worker (worker.js) per run, driven from the
// page's main thread. Each worker loads the wasm module and the dataset
// itself and owns one Trainer, so the runs compute in parallel and the pace
// of the comparison is that of its slowest run, not the sum of all three.
//
// Two modes, chosen at reset:
//   lockstep  every slice asks each live run's worker for the same n steps
//             and waits for all of them; n adapts so that the slowest run's
//             slice takes about SLICE_MS. When a slice ends on a multiple of
//             evalEvery, the workers snapshot too, so the points of every
//             run are at the same steps and the curves line up.
//   free      each worker steps at its own pace and reports its own points;
//             the charts can then be read against wall-clock seconds.
//
// Every point carries `seconds`: training time since the start of the runs,
// pauses left out, read on the page's clock (workers' clocks have their own
// origins).
//
// The page sees the messages a single training worker used to send (see
// main.js): progress, ready (once), gpu, reset-done (all runs together),
// point, backend, running, diagnostics, lose-device-done, error, and crash
// when a worker script dies. A run that fails (diverges) stops alone; the
// others go on.
//
// The page asks (race.handle): reset {gen, evalEvery, mode, stepsPerSlice,
// runs: [{id, config}]} (stepsPerSlice: the "steps per frame" setting, null
// adaptive), start, pause, step-once (one step of every live run and a point
// each, while stopped; answered by `running: false`), diagnostics and
// lose-device (forwarded to one run's worker).
// The views read a run directly: race.call(runId, method, ...args) resolves
// to trainer[method](...args) computed in that run's worker between its steps
// (worker.js lists the methods allowed), race.runIds() lists the runs.

/** Target wall time of one lock-step slice (the slowest run's steps), in ms. */
const SLICE_MS = 80;

/**
 * @param {{url: URL, emit: (msg: object) => void}} opts
 *   url: the run worker's script; emit: receives the page-level messages
 */
export function createRace({ url, emit }) {
  /** id → {id, worker, pending: Map<seq, resolve>, waiters: [{match, resolve}]} */
  const workers = new Map();
  let ready = false;
  let selftest = { owner: null, done: false };
  let gen = 0;
  let mode = 'lockstep';
  let evalEvery = 25;
  /** Steps each slice asks of each run; null: adaptive (about SLICE_MS). */
  let stepsPerSlice = null;
  /** Runs of the current generation: [{id, failed, steps}] */
  let runs = [];
  let resetting = Promise.resolve();
  let stepping = Promise.resolve(); // single steps in flight (stepOnce)
  let running = false;
  let loop = null; // lock-step loop in progress: {gen}
  let seq = 0;
  const clock = { total: 0, since: null }; // training seconds, pauses left out

  const now = () => performance.now();
  const seconds = () => (clock.total + (clock.since == null ? 0 : now() - clock.since)) / 1000;
  const clockRun = (on) => {
    if (on && clock.since == null) clock.since = now();
    if (!on && clock.since != null) {
      clock.total += now() - clock.since;
      clock.since = null;
    }
  };

  // ------------------------------------------------------------ workers
  function spawn(id) {
    const worker = new Worker(url, { type: 'module' });
    const w = { id, worker, waiters: [] };
    worker.addEventListener('message', (ev) => receive(w, ev.data));
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      const detail = ev.message || 'the worker script failed to load';
      console.error(`rngd-lab: the ${id} run's worker crashed:`, detail);
      for (const waiter of w.waiters.splice(0)) waiter.resolve({ type: 'error', phase: 'crash', message: detail });
      // A crashed run trains no more: pausing and lock-step slices must not wait for it.
      const r = runs.find((x) => x.id === id);
      if (r) r.failed = true;
      emit({ type: 'crash', run: id, message: detail });
    });
    workers.set(id, w);
    if (!selftest.done && selftest.owner == null) {
      selftest.owner = id;
      worker.postMessage({ type: 'selftest' });
    }
    return w;
  }

  function terminate(id) {
    const w = workers.get(id);
    if (!w) return;
    w.worker.terminate();
    workers.delete(id);
    for (const waiter of w.waiters.splice(0)) waiter.resolve({ type: 'error', phase: 'internal', message: 'the run was removed' });
    // The self-test runs once per page; if its worker goes first, another one runs it.
    if (selftest.owner === id && !selftest.done) {
      selftest.owner = null;
      const next = workers.values().next().value;
      if (next) {
        selftest.owner = next.id;
        next.worker.postMessage({ type: 'selftest' });
      }
    }
  }

  /** Resolves with the first message of worker `w` that `match` accepts. */
  function waitFor(w, match) {
    return new Promise((resolve) => w.waiters.push({ match, resolve }));
  }

  function send(w, msg) {
    w.worker.postMessage(msg);
  }

  function receive(w, msg) {
    const i = w.waiters.findIndex((x) => x.match(msg));
    if (i >= 0) {
      const [waiter] = w.waiters.splice(i, 1);
      waiter.resolve(msg);
      return;
    }
    switch (msg.type) {
      case 'progress':
        if (!ready) emit(msg);
        break;
      case 'ready':
        if (!ready) {
          ready = true;
          emit(msg);
        }
        break;
      case 'gpu':
        selftest.done = true;
        emit(msg);
        break;
      case 'point':
        // Free-running: the worker's own point.
        if (msg.gen !== gen) return;
        setSteps(msg.run, msg.snapshot.step);
        // Free-running, a run's seconds leave out the time it spent tracking
        // a metric for the geometry view (SGD, Adam): its pace is its own.
        emit({ ...msg, snapshot: { ...msg.snapshot, seconds: seconds() - (msg.trackedSeconds ?? 0) } });
        break;
      case 'error':
        if (msg.phase === 'step' && msg.gen === gen) {
          const r = runs.find((x) => x.id === msg.run);
          if (r) r.failed = true;
          emit(msg);
          if (mode === 'free' && running && runs.every((x) => x.failed)) setRunning(false);
          return;
        }
        emit(msg);
        break;
      default:
        emit(msg);
    }
  }

  function setSteps(id, steps) {
    const r = runs.find((x) => x.id === id);
    if (r) r.steps = steps;
  }

  /** Workers for exactly the runs in `ids` (at least one stays for the page's information). */
  function ensure(ids) {
    for (const id of [...workers.keys()]) if (!ids.includes(id) && ids.length > 0) terminate(id);
    for (const id of ids) if (!workers.has(id)) spawn(id);
  }

  function setRunning(value) {
    running = value;
    clockRun(value);
    emit({ type: 'running', gen, running: value });
  }

  // ------------------------------------------------------------ reset
  /** New trainers for `list` ([{id, config}]), stopped; all or nothing. */
  function reset({ gen: g, evalEvery: every = 25, mode: m = 'lockstep', stepsPerSlice: spf = null, runs: list }) {
    gen = g;
    mode = m === 'free' ? 'free' : 'lockstep';
    evalEvery = Math.max(1, Math.floor(every));
    stepsPerSlice = Number.isInteger(spf) && spf >= 1 ? spf : null;
    const wasRunning = running;
    running = false;
    clockRun(false);
    clock.total = 0;
    runs = [];
    ensure(list.map((r) => r.id));
    const myGen = g;
    resetting = (async () => {
      // A free-running loop must end before its trainer is replaced; the
      // workers see the reset after any slice in flight.
      const answers = await Promise.all(
        list.map(({ id, config }) => {
          const w = workers.get(id);
          // Besides its own answer, a worker that failed to load (init), hit a bug
          // (internal) or crashed answers nothing else: take those too, or the reset
          // would wait forever.
          const answer = waitFor(
            w,
            (x) =>
              (x.gen === myGen && x.run === id && (x.type === 'reset-done' || (x.type === 'error' && x.phase === 'config'))) ||
              (x.type === 'error' && ['init', 'internal', 'crash'].includes(x.phase)),
          );
          send(w, { type: 'reset', gen: myGen, run: id, config });
          return answer;
        }),
      );
      if (myGen !== gen) return;
      for (const a of answers) if (a.type === 'error') emit(a);
      const built = answers.filter((a) => a.type === 'reset-done');
      // All or nothing: the runs are meant to be compared side by side.
      const complete = built.length === list.length;
      runs = complete ? built.map((a) => ({ id: a.run, failed: false, steps: 0 })) : [];
      emit({
        type: 'reset-done',
        gen: myGen,
        runs: built.map(({ run, lr, layers, batchesPerEpoch, backend, preset }) => ({ id: run, lr, layers, batchesPerEpoch, backend, preset })),
      });
    })().catch((e) => {
      // Reported, not kept: a rejected `resetting` would make every later call throw.
      emit({ type: 'error', gen: myGen, phase: 'internal', message: e?.message ?? String(e) });
    });
    if (wasRunning) emit({ type: 'running', gen, running: false });
    return resetting;
  }

  // ------------------------------------------------------------ training
  async function start({ gen: g }) {
    await resetting;
    await stepping;
    if (g !== gen || running) return;
    const live = runs.filter((r) => !r.failed);
    if (live.length === 0) {
      emit({ type: 'running', gen, running: false });
      return;
    }
    setRunning(true);
    if (mode === 'free') {
      for (const r of live) send(workers.get(r.id), { type: 'free', gen, evalEvery, stepsPerSlice });
    } else if (!loop || loop.gen !== gen) {
      // A loop of an older generation may still wait for its last slice; it ends on its own.
      loop = { gen };
      lockstep(loop);
    }
  }

  async function pause({ gen: g }) {
    if (g !== gen || !running) return;
    if (mode === 'free') {
      const myGen = gen;
      running = false;
      await Promise.all(
        runs.filter((r) => !r.failed && workers.has(r.id)).map((r) => {
          const w = workers.get(r.id);
          const answer = waitFor(w, (x) => x.type === 'paused' && x.gen === myGen);
          send(w, { type: 'pause', gen: myGen });
          return answer;
        }),
      );
      if (myGen === gen) setRunning(false);
    } else {
      // The lock-step loop says `running: false` once its slice in flight has ended.
      running = false;
    }
  }

  /** One run's slice: n steps, then its snapshot when asked. Resolves to the answer or an error message. */
  function slice(r, n, snapshot) {
    const w = workers.get(r.id);
    const mySeq = ++seq;
    const answer = waitFor(w, (x) => x.seq === mySeq && (x.type === 'stepped' || x.type === 'error'));
    send(w, { type: 'step', gen, seq: mySeq, n, snapshot });
    return answer;
  }

  async function lockstep(me) {
    const current = () => me.gen === gen;
    let chunk = stepsPerSlice ?? 1;
    let mark = { time: now(), step: Math.max(0, ...runs.map((r) => r.steps)) };
    try {
      while (running && current()) {
        const live = runs.filter((r) => !r.failed);
        if (live.length === 0) break;
        const step0 = Math.max(...live.map((r) => r.steps));
        // Never step past the next snapshot, so that every run is evaluated at the same step.
        const n = Math.min(chunk, evalEvery - (step0 % evalEvery));
        const step = step0 + n;
        const due = step % evalEvery === 0;
        const answers = await Promise.all(live.map((r) => slice(r, n, due)));
        if (!current()) return;
        let slowest = 0;
        answers.forEach((a, i) => {
          const r = live[i];
          if (a.type === 'stepped') {
            r.steps = a.steps;
            slowest = Math.max(slowest, a.stepMs);
          } else {
            r.failed = true;
            emit({ ...a, type: 'error', gen, run: r.id, phase: a.phase === 'crash' ? 'internal' : 'step' });
          }
        });
        if (n === chunk && stepsPerSlice == null) {
          if (slowest > 1.5 * SLICE_MS && chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
          else if (slowest < 0.5 * SLICE_MS) chunk = Math.min(evalEvery, chunk * 2);
        }
        if (!due) continue;
        const t = now();
        const wallStepsPerSec = t > mark.time ? (1000 * (step - mark.step)) / (t - mark.time) : 0;
        mark = { time: t, step };
        const at = seconds();
        answers.forEach((a, i) => {
          if (a.type !== 'stepped') return;
          emit({
            type: 'point',
            gen,
            run: live[i].id,
            snapshot: { ...a.snapshot, seconds: at },
            stepsPerSec: a.stepsPerSec,
            wallStepsPerSec,
            backend: a.backend,
            timings: a.timings,
          });
        });
      }
    } catch (e) {
      if (current()) emit({ type: 'error', gen, run: null, phase: 'internal', message: e?.message ?? String(e) });
    } finally {
      if (loop === me) loop = null;
    }
    if (current()) {
      running = false;
      setRunning(false);
    }
  }

  /** One step of every live run and a snapshot of each (a point), while
   *  stopped; answers `running: false` when done, so the page settles. */
  function stepOnce(msg) {
    // Start waits for single steps in flight, so that its slices count from their steps.
    // A failure is reported, never kept in the chain: a rejected `stepping`
    // would make every later Start throw.
    const before = stepping;
    stepping = before.then(() => oneStep(msg)).catch((e) => {
      emit({ type: 'error', gen, phase: 'internal', message: e?.message ?? String(e) });
    });
    return stepping;
  }
  async function oneStep({ gen: g }) {
    await resetting;
    if (g !== gen || running) return;
    const live = runs.filter((r) => !r.failed);
    if (live.length === 0) return;
    clockRun(true);
    const answers = await Promise.all(live.map((r) => slice(r, 1, true)));
    clockRun(false);
    if (g !== gen) return;
    const at = seconds();
    answers.forEach((a, i) => {
      const r = live[i];
      if (a.type === 'stepped') {
        r.steps = a.steps;
        emit({
          type: 'point',
          gen,
          run: r.id,
          snapshot: { ...a.snapshot, seconds: at },
          stepsPerSec: a.stepsPerSec,
          wallStepsPerSec: 0,
          backend: a.backend,
          timings: a.timings,
        });
      } else {
        r.failed = true;
        emit({ ...a, type: 'error', gen, run: r.id, phase: a.phase === 'crash' ? 'internal' : 'step' });
      }
    });
    emit({ type: 'running', gen, running: false });
  }

  // ------------------------------------------------------------ requests
  /** A trainer call that has not answered after this long is given up. */
  const CALL_TIMEOUT_MS = 60_000;
  let callSeq = 0;
  /** trainer[method](...args) in the run's worker, between its steps (see
   *  worker.js, CALLABLE); resolves to the plain result, rejects with an
   *  Error carrying the worker's message. */
  function call(runId, method, ...args) {
    const w = workers.get(runId);
    if (!w || !runs.some((r) => r.id === runId)) {
      return Promise.reject(new Error(`the ${runId} run is not part of the current comparison`));
    }
    const req = ++callSeq;
    const myGen = gen;
    const answer = waitFor(w, (x) => (x.type === 'call-result' && x.req === req) || (x.type === 'error' && x.phase === 'crash'));
    send(w, { type: 'call', gen: myGen, req, method, args });
    // A call waits its turn behind the run's steps; one that never settles
    // (a GPU read-back that never returns) must not hold its caller for ever.
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${method} on the ${runId} run did not answer within ${CALL_TIMEOUT_MS / 1000} s`)),
        CALL_TIMEOUT_MS,
      );
    });
    return Promise.race([answer, timeout])
      .finally(() => clearTimeout(timer))
      .then((x) => {
        if (x.type === 'error') throw new Error(x.message);
        if (x.error !== undefined) throw new Error(x.error);
        return x.data;
      });
  }

  function forward(type, msg) {
    const w = workers.get(msg.run);
    if (!w || !runs.some((r) => r.id === msg.run)) {
      emit({ ...msg, type: type === 'lose-device' ? 'lose-device-done' : type, error: 'this run is not part of the current comparison' });
      return;
    }
    send(w, { ...msg, type });
  }

  return {
    /** Workers for the runs in `ids`, loading in the background (before the first reset). */
    prepare(ids) {
      ensure(ids.length ? ids : ['sgd']);
    },
    reset,
    start,
    pause,
    stepOnce,
    diagnostics: (msg) => forward('diagnostics', msg),
    call,
    /** Ids of the runs of the current comparison ('sgd', 'adam', 'rngd'), once they are built. */
    runIds: () => runs.map((r) => r.id),
    loseDevice: (msg) => forward('lose-device', msg),
    /** Messages in the shape of the old single worker's: the debugging handle's `send`. */
    handle(msg) {
      switch (msg.type) {
        case 'reset':
          return reset(msg);
        case 'start':
          return start(msg);
        case 'pause':
          return pause(msg);
        case 'step-once':
          return stepOnce(msg);
        case 'diagnostics':
          return forward('diagnostics', msg);
        case 'lose-device':
          return forward('lose-device', msg);
        default:
          emit({ type: 'error', gen, run: null, phase: 'internal', message: `Unknown message type: ${msg.type}` });
      }
      return undefined;
    },
    /** The number of live run workers. */
    get workers() {
      return workers.size;
    },
    get mode() {
      return mode;
    },
    /** The common step counter (lock-step) and each run's step. */
    steps() {
      return Object.fromEntries(runs.map((r) => [r.id, r.steps]));
    },
  };
}
