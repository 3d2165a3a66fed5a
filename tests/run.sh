#!/usr/bin/env bash
# npm test: build, check, export the random-weight test models (cached), then every uvu suite
# of tests/suites.ts under Node, the suites whose subject is the runtime again under Deno, and
# beside them the Python reference tests. Any failure fails the whole run; each stage's time is printed at
# the end. Arguments are substring filters for the uvu suites (the Python tests then do not run).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
times=()
stage() {
  local name=$1
  shift
  echo "== $name"
  local start=$SECONDS
  local rc=0
  "$@" || rc=$?
  times+=("$name $((SECONDS - start)) s")
  [ $rc -eq 0 ] || { status=1; echo "== $name FAILED"; }
  return $rc
}
summary() { echo "== npm test stages: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g')"; }
# without the build or the models nothing after them can pass
fatal() { summary; exit 1; }
# The build first: it copies the .wasm files functions/cloudflare.ts imports (and deno check reads).
stage build npm run -s build || fatal
stage check npm run -s check || true
stage models bash models/make_test_models.sh || fatal
# The Python tests need only the models: they run beside the uvu suites, which leave part of
# the 2 cores idle (subprocess, browser and I/O waits), on one thread that sleeps when idle
# (no OpenMP spinning against the suites); their output goes to a file, printed after the uvu
# stages.
if [ $# -eq 0 ]; then
  pylog=$(mktemp)
  (
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
    stage python /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py'
    rc=$?
    echo "${times[-1]}" > "$pylog.time"
    exit $rc
  ) > "$pylog" 2>&1 &
  python_job=$!
fi
stage node npx tsx tests/runner.ts "$@" || true
# Mesa (Deno's software WebGPU adapter) complains on stderr without a runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
stage deno npx deno run --allow-all tests/runner.ts "$@" || true
if [ $# -eq 0 ]; then
  wait "$python_job" || status=1
  cat "$pylog"
  times+=("$(cat "$pylog.time") (beside node and deno)")
  rm -f "$pylog" "$pylog.time"
fi
summary
exit $status
