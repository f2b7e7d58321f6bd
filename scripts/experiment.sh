#!/usr/bin/env bash
# Reproduces the MNIST experiment of Sun & Nielsen (ICML 2017, §5.1, Fig. 2) natively:
#   1. builds target/release/rngd-lab (or takes $RNGD_LAB) and runs everything on a copy of it
#      in $RESULTS/logs/;
#   2. runs a learning-rate grid on seed 1 (1,000 training digits held out for validation)
#      for PLAIN and BNA: SGD, Adam and RNGD;
#   3. selects each (arch, optimizer)'s learning rate with `rngd-lab report --print-selection`
#      (the rule lives there: best validation accuracy of the seed-1 run, averaged over its last 10 epochs);
#   4. runs `compare` at the selected rates for the other seeds;
#   5. runs RNGD with each speed preset in $PRESETS (`train --rngd-preset`) at the literal RNGD's
#      selected rate, for every seed, to measure it against the literal algorithm;
#   6. writes $RESULTS/fig2.svg and $RESULTS/table.md with `rngd-lab report`;
#   7. puts the table and the figure into README.md between
#      <!-- results:begin --> and <!-- results:end -->.
# It is resumable: a run whose JSON already exists is skipped, so rerunning the same
# command after an interruption picks up where it stopped.
#
# Settings (environment variables):
#   EPOCHS=100        epochs per run
#   SEEDS="1 2 3"     seeds; the grid always uses seed 1, the others run at the selected rates
#   JOBS=2            runs in parallel
#   PRESETS="fast"    RNGD presets (see `rngd-lab train --help`, --rngd-preset) to run beside the
#                     literal algorithm, space separated; empty skips step 5. The report tells
#                     preset runs apart by the settings in their records, not by file name
#   RESULTS=results   output folder, relative to the repository root
#   UPDATE_README     1 to update README.md (default: 1 when RESULTS=results, else 0)
#   RNGD_LAB=path     run this rngd-lab binary instead of building target/release/rngd-lab, e.g.
#                     target/debug/rngd-lab for a quick check (relative to the repository root;
#                     it is copied into logs/ like the release binary)
#
# Example: a quick check of the whole pipeline in a scratch folder (ignored by git):
#   EPOCHS=2 SEEDS="1 2" RESULTS=results/tmp/smoke bash scripts/experiment.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

EPOCHS="${EPOCHS:-100}"
SEEDS="${SEEDS:-1 2 3}"
JOBS="${JOBS:-2}"
PRESETS="${PRESETS-fast}"
RNGD_LAB="${RNGD_LAB:-}"
RESULTS="${RESULTS:-results}"
RESULTS="${RESULTS%/}"
if [ "$RESULTS" = results ]; then UPDATE_README="${UPDATE_README:-1}"; else UPDATE_README="${UPDATE_README:-0}"; fi

LR_SGD="0.01 0.03 0.1 0.3"
LR_ADAM="3e-4 1e-3 3e-3"
LR_RNGD="0.01 0.03 0.1 0.3"
ARCHS="plain bna"
VALIDATION=1000

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

case "$EPOCHS" in '' | *[!0-9]*) die "EPOCHS must be a positive integer, got '$EPOCHS'" ;; esac
case "$JOBS" in '' | *[!0-9]* | 0) die "JOBS must be a positive integer, got '$JOBS'" ;; esac
for p in $PRESETS; do
  # The literal preset is what the RNGD rows already run; its records would duplicate theirs.
  [ "$p" != literal ] || die "PRESETS lists literal, which the grid and compare runs already are; name only the others"
done
if [ -n "$RNGD_LAB" ] && [ ! -x "$RNGD_LAB" ]; then die "RNGD_LAB=$RNGD_LAB is not an executable file"; fi

T0=$SECONDS
RUNS="$RESULTS/runs"
LOGS="$RESULTS/logs"
BIN="$LOGS/rngd-lab"
mkdir -p "$RUNS" "$LOGS"
[ -f "$RESULTS/.gitignore" ] || printf 'logs/\n' >"$RESULTS/.gitignore"

# One folder holds runs of one length: refuse to mix epochs.
STAMP="$LOGS/epochs"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" != "$EPOCHS" ]; then
  die "$RESULTS already holds runs of $(cat "$STAMP") epochs; use another RESULTS folder or EPOCHS=$(cat "$STAMP")"
fi
echo "$EPOCHS" >"$STAMP"

if [ -n "$RNGD_LAB" ]; then
  log "1. use $RNGD_LAB (RNGD_LAB set: no build)"
  SOURCE_BIN="$RNGD_LAB"
else
  log "1. build target/release/rngd-lab"
  cargo build --release --bin rngd-lab
  SOURCE_BIN=target/release/rngd-lab
fi
# Run every job on a private copy, so that a rebuild of target/ by someone else
# in the middle of the experiment cannot mix two binaries in one set of results.
cp "$SOURCE_BIN" "$BIN.new"
mv "$BIN.new" "$BIN"
# Check the preset names now rather than after hours of grid runs: clap rejects an
# unknown value before it acts on --help, so this trains nothing.
for p in $PRESETS; do
  "$BIN" train --rngd-preset "$p" --help >/dev/null || die "PRESETS: this rngd-lab has no RNGD preset '$p'"
done

# One job: "train ARCH OPT LR", "compare ARCH SEED LR_SGD LR_ADAM LR_RNGD" (a rate of "-" leaves
# that optimizer out) or "preset ARCH SEED PRESET LR" (RNGD with --rngd-preset). Writes its JSON
# atomically, logs into $LOGS, and never fails the batch: a run that ends without a record leaves
# a FAILED marker for the caller to report.
run_job() {
  local kind="$1" arch="$2" name out t0=$SECONDS
  local common=(--arch "$arch" --epochs "$EPOCHS" --validation "$VALIDATION")
  local cmd
  if [ "$kind" = train ]; then
    local opt="$3" lr="$4"
    name="$arch-$opt-lr$lr-seed1"
    cmd=("$BIN" train --optimizer "$opt" --lr "$lr" --seed 1 "${common[@]}")
  elif [ "$kind" = preset ]; then
    local seed="$3" preset="$4" lr="$5"
    # The name is for people; the report reads the preset from the record's config.
    name="$arch-rngd-$preset-seed$seed"
    cmd=("$BIN" train --optimizer rngd --rngd-preset "$preset" --lr "$lr" --seed "$seed" "${common[@]}")
  else
    local seed="$3" opts=() lrs=()
    name="$arch-compare-seed$seed"
    [ "$4" != - ] && opts+=(sgd) && lrs+=(--lr-sgd "$4")
    [ "$5" != - ] && opts+=(adam) && lrs+=(--lr-adam "$5")
    [ "$6" != - ] && opts+=(rngd) && lrs+=(--lr-rngd "$6")
    local IFS=,
    cmd=("$BIN" compare --optimizers "${opts[*]}" "${lrs[@]}" --seed "$seed" "${common[@]}")
    unset IFS
  fi
  out="$RUNS/$name.json"
  if [ -f "$out" ]; then
    echo "skip $name (done)" >&2
    return 0
  fi
  rm -f "$LOGS/$name.FAILED"
  { echo "\$ ${cmd[*]} --json $out"; } >"$LOGS/$name.log"
  # `train` exits non-zero when the run diverged, after writing its record; the record is what counts.
  "${cmd[@]}" --json "$out.partial" >>"$LOGS/$name.log" 2>&1 || true
  if [ -s "$out.partial" ]; then
    mv "$out.partial" "$out"
    echo "done $name in $((SECONDS - t0))s" >&2
  else
    rm -f "$out.partial"
    touch "$LOGS/$name.FAILED"
    echo "FAILED $name after $((SECONDS - t0))s (see $LOGS/$name.log)" >&2
  fi
  return 0
}
export -f run_job
export BIN RUNS LOGS EPOCHS VALIDATION

# Runs the jobs read from stdin, $JOBS at a time; stops the script if any failed.
run_jobs() {
  xargs -P "$JOBS" -L 1 bash -c 'run_job "$@"' _
  local failed
  failed=$(find "$LOGS" -name '*.FAILED' | sort)
  if [ -n "$failed" ]; then
    die "some runs failed; see the logs beside these markers, then rerun to resume:
$failed"
  fi
}

log "2. learning-rate grid on seed 1 ($EPOCHS epochs, validation $VALIDATION, $JOBS at a time)"
t=$SECONDS
{
  # RNGD first: its runs are the longest, so the parallel slots finish together.
  for arch in $ARCHS; do for lr in $LR_RNGD; do echo "train $arch rngd $lr"; done; done
  for arch in $ARCHS; do
    for lr in $LR_SGD; do echo "train $arch sgd $lr"; done
    for lr in $LR_ADAM; do echo "train $arch adam $lr"; done
  done
} | run_jobs
log "grid done in $((SECONDS - t))s"

log "3. learning-rate selection (rngd-lab report --print-selection)"
declare -A SEL=()
selection="$("$BIN" report --runs "$RUNS" --print-selection)"
while read -r arch opt lr; do
  if [ -n "$arch" ]; then SEL["$arch $opt"]="$lr"; fi
done <<<"$selection"
for arch in $ARCHS; do
  line="$arch:"
  for opt in sgd adam rngd; do line+=" $opt ${SEL["$arch $opt"]:-none}"; done
  log "  $line"
done

OTHER_SEEDS=""
for s in $SEEDS; do [ "$s" = 1 ] || OTHER_SEEDS+=" $s"; done
log "4. compare at the selected rates, seeds:${OTHER_SEEDS:- none}"
t=$SECONDS
{
  for s in $OTHER_SEEDS; do
    for arch in $ARCHS; do
      a="${SEL["$arch sgd"]:--}" b="${SEL["$arch adam"]:--}" c="${SEL["$arch rngd"]:--}"
      if [ "$a$b$c" = --- ]; then
        echo "no learning rate selected for $arch; skipping its compare runs" >&2
        continue
      fi
      echo "compare $arch $s $a $b $c"
    done
  done
} | run_jobs
log "compare done in $((SECONDS - t))s"

if [ -z "${PRESETS// /}" ]; then
  log "5. RNGD presets: none (PRESETS is empty)"
else
  log "5. RNGD presets at the literal RNGD's selected rates:$(printf ' %s' $PRESETS), seeds $SEEDS"
  t=$SECONDS
  {
    for arch in $ARCHS; do
      lr="${SEL["$arch rngd"]:-}"
      if [ -z "$lr" ]; then
        echo "no RNGD learning rate selected for $arch; skipping its preset runs" >&2
        continue
      fi
      for p in $PRESETS; do for s in $SEEDS; do echo "preset $arch $s $p $lr"; done; done
    done
  } | run_jobs
  log "presets done in $((SECONDS - t))s"
fi

log "6. report"
"$BIN" report --runs "$RUNS" --figure "$RESULTS/fig2.svg" --table "$RESULTS/table.md"

log "7. README"
BEGIN='<!-- results:begin -->'
END='<!-- results:end -->'
if [ "$UPDATE_README" != 1 ]; then
  log "not updating README.md for RESULTS=$RESULTS (set UPDATE_README=1 to do it anyway)"
elif [ ! -f README.md ]; then
  log "note: README.md does not exist yet; not updating it (add the lines $BEGIN and $END to it)"
elif ! grep -qF "$BEGIN" README.md || ! grep -qF "$END" README.md; then
  log "note: README.md lacks the markers $BEGIN and $END; not updating it"
else
  block="$(mktemp)"
  {
    echo "![Learning curves of SGD, Adam and RNGD, PLAIN and BNA]($RESULTS/fig2.svg)"
    echo
    cat "$RESULTS/table.md"
  } >"$block"
  awk -v b="$BEGIN" -v e="$END" -v f="$block" '
    index($0, b) { print; while ((getline line < f) > 0) print line; skip = 1; next }
    index($0, e) { skip = 0 }
    !skip { print }
  ' README.md >README.md.new
  mv README.md.new README.md
  rm -f "$block"
  log "updated README.md between the markers"
fi

elapsed=$((SECONDS - T0))
log "total wall time: ${elapsed}s ($((elapsed / 60)) min $((elapsed % 60)) s)"
