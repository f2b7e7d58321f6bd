// Where a run's step time goes, from trainer.timings(): the parts in the
// order `rngd-lab bench` prints them, so the page, the browser benchmark and
// the native benchmark read alike.

/** [key of trainer.timings(), short label] */
export const SPLIT_PARTS = [
  ['forward_backward', 'fwd+bwd'],
  ['metric_update', 'metric'],
  ['precondition', 'precond'],
  ['inverse', 'inverse'],
  ['update', 'other'],
];

/** The seconds spent between two readings of trainer.timings() (`before` may be null). */
export function splitDelta(after, before) {
  if (!after) return null;
  return Object.fromEntries(SPLIT_PARTS.map(([k]) => [k, (after[k] ?? 0) - (before?.[k] ?? 0)]));
}

/** Each part's share of the total, in [0, 1], in SPLIT_PARTS order; null when nothing was timed. */
export function splitShares(timings) {
  if (!timings) return null;
  const parts = SPLIT_PARTS.map(([k, label]) => ({ key: k, label, seconds: Math.max(0, Number(timings[k]) || 0) }));
  const total = parts.reduce((s, p) => s + p.seconds, 0);
  if (!(total > 0)) return null;
  return parts.map((p) => ({ ...p, share: p.seconds / total }));
}
