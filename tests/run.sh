#!/usr/bin/env bash
# npm test: export the random-weight test models (cached), then the same uvu suites under
# Node and Deno, then the Python reference tests. Any failure fails the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# The build first: it copies the .wasm files functions/cloudflare.ts imports (and deno check reads).
echo "== npm run build"; npm run -s build
echo "== npm run check"; npm run -s check
bash models/make_test_models.sh
echo "== uvu under Node"; npx tsx tests/runner.ts "$@" || status=1
# Mesa (Deno's software WebGPU adapter) complains on stderr without a runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
echo "== uvu under Deno"; npx deno run --allow-all tests/runner.ts "$@" || status=1
if [ $# -eq 0 ]; then
  echo "== Python reference tests"; /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py' || status=1
fi
exit $status
