#!/bin/sh
# Fails, printing file:line: length, when a TypeScript/JavaScript source line is over 100
# characters (deno fmt's lineWidth, which it does not enforce on strings and comments). The
# generated kernels (src/core/kernels/*.wasm.ts) are left out.
cd "$(dirname "$0")/.." || exit 1
find src tests bench functions bin scripts \( -name '*.ts' -o -name '*.mjs' \) \
  ! -path 'src/core/kernels/*.wasm.ts' \
  -exec awk 'length > 100 { print FILENAME ":" FNR ": " length; bad = 1 } END { exit bad }' {} +
