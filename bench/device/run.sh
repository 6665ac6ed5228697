#!/usr/bin/env bash
# The one device command: `bash bench/device/run.sh`, passed to the device tool as it is, with
# carry [".whl"] and timeout_s = TOOL_TIMEOUT_S of bench/device/plan.py (the numbers live there).
#
# 1. installs the carried wheels (.whl/, built by bench/device/wheels.sh) into /tmp/sret-site;
# 2. the preflight: one line of versions, exit at once if a package is missing;
# 3. bench.gpu within its budget, under an inner timeout, writing outside the checkout;
# 4. packs the results into $OUT/sret-gpu.tar.gz; the whole output is $OUT/run.log (2 files back).
#
# For a rehearsal off the device: SRET_PYTHON (python3), SRET_DEVICE (cuda), SRET_BUDGET_S (the
# plan's), SRET_GPU_ARGS (more bench.gpu options, word-split), SRET_RESULTS and SRET_SITE (the
# folders for the results and the wheels, under /tmp), OUT (required).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder whose files come back}"
PY=${SRET_PYTHON:-python3}
DEVICE=${SRET_DEVICE:-cuda}
eval "$("$PY" -m bench.device.plan --shell)"
SITE=${SRET_SITE:-/tmp/sret-site}
RESULTS=${SRET_RESULTS:-$PLAN_RESULTS_DIR}
BUDGET_S=${SRET_BUDGET_S:-$PLAN_BUDGET_S}
INNER_TIMEOUT_S=$((BUDGET_S + PLAN_INNER_TIMEOUT_S - PLAN_BUDGET_S))

say() { echo "[run.sh $(date -u +%H:%M:%S)] $*"; }

pack() {
  local files
  files=$(cd "$RESULTS" 2>/dev/null && ls -- *.json 2>/dev/null)
  if [ -z "$files" ]; then say "no results to pack"; return; fi
  # shellcheck disable=SC2086  # file names are bench.gpu's own: <stem>-<slug>.json
  tar -czf "$OUT/$PLAN_ARCHIVE" -C "$RESULTS" $files && say "packed $(echo $files | wc -w) files into \$OUT/$PLAN_ARCHIVE:" && tar -tzvf "$OUT/$PLAN_ARCHIVE"
}

main() {
  local started=$SECONDS rc
  say "device $DEVICE, budget ${BUDGET_S}s, inner timeout ${INNER_TIMEOUT_S}s, results in $RESULTS"
  rm -rf "$RESULTS" "$SITE" && mkdir -p "$RESULTS"
  if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
      || { say "installing the carried wheels failed"; return 3; }
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    say "installed $(ls .whl | wc -l) carried wheels into $SITE"
  else
    say "no .whl/ here: build it with bash bench/device/wheels.sh and carry it"
  fi
  "$PY" -m bench.device.preflight --device "$DEVICE" || { say "preflight failed: nothing run"; return 3; }
  # shellcheck disable=SC2086  # SRET_GPU_ARGS is a list of options
  PYTHONUNBUFFERED=1 timeout -k 10 "$INNER_TIMEOUT_S" "$PY" -m bench.gpu --device "$DEVICE" --out "$RESULTS" \
    --budget-s "$BUDGET_S" --counts "$PLAN_COUNTS" ${SRET_GPU_ARGS:-}
  rc=$?
  [ "$rc" -eq 124 ] && say "bench.gpu hit the inner timeout (${INNER_TIMEOUT_S}s); packing what it wrote"
  pack
  say "done in $((SECONDS - started))s, bench.gpu exit $rc"
  return "$rc"
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/$PLAN_LOG"
